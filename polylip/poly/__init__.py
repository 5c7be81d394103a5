"""Sparse multivariate polynomials: :class:`Polynomial`, monomial index rows, sympy I/O."""

from polylip.poly.polynomial import Polynomial, variables
from polylip.poly.sympy_io import from_sympy, to_sympy

__all__ = ["Polynomial", "variables", "from_sympy", "to_sympy"]

"""Conversion between sympy expressions and :class:`~polylip.poly.polynomial.Polynomial`.

sympy is used only here, at the edge: expressions are checked, expanded once with
``sympy.Poly`` and turned into exponent arrays; nothing downstream touches sympy.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import sympy

from polylip.errors import ModelError
from polylip.poly.polynomial import Polynomial


def _offending_subexpression(expr):
    """Return the first subexpression that makes ``expr`` non-polynomial, or None."""
    if isinstance(expr, sympy.Symbol):
        return None
    if isinstance(expr, sympy.Number):
        if not expr.is_real or expr.is_infinite or expr is sympy.nan:
            return expr
        return None
    if isinstance(expr, sympy.NumberSymbol):  # pi, E: real constants
        return None
    if expr.is_number:
        # a constant expression such as sqrt(2) or sin(1): fine if it evaluates to a real number
        value = complex(expr.evalf())
        return expr if value.imag != 0 or not np.isfinite(value.real) else None
    if isinstance(expr, (sympy.Add, sympy.Mul)):
        for arg in expr.args:
            bad = _offending_subexpression(arg)
            if bad is not None:
                return bad
        return None
    if isinstance(expr, sympy.Pow):
        base, exp = expr.args
        if not (exp.is_Integer and exp >= 0):
            return expr
        return _offending_subexpression(base)
    return expr


def from_sympy(expr, variables: Sequence | None = None) -> Polynomial:
    """Convert a sympy expression that expands to a polynomial.

    Parameters
    ----------
    expr : sympy expression, number, or string parsed by sympy
    variables : sequence of sympy symbols or names, optional
        The variable order. Defaults to the free symbols of ``expr`` sorted by name. A symbol of
        ``expr`` missing from ``variables`` is an error.

    Examples
    --------
    >>> a, d = sympy.symbols("a d")
    >>> from_sympy((a + d**2)**2).nterms
    3
    >>> from_sympy(sympy.sin(a))
    Traceback (most recent call last):
    ...
    polylip.errors.ModelError: not a polynomial: the subexpression sin(a) is not allowed (only +, -, *, non-negative integer powers and real numbers are)
    """
    if isinstance(expr, Polynomial):
        return expr if variables is None else expr.with_variables([str(v) for v in variables])
    if isinstance(expr, str):
        try:
            expr = sympy.sympify(expr)
        except (sympy.SympifyError, SyntaxError, TypeError) as exc:
            raise ModelError(f"cannot parse {expr!r} as an expression: {exc}") from None
    try:
        expr = sympy.sympify(expr)
    except (sympy.SympifyError, SyntaxError, TypeError):
        raise ModelError(f"cannot interpret {expr!r} as an expression") from None
    if isinstance(expr, (sympy.logic.boolalg.BooleanFunction, sympy.logic.boolalg.BooleanAtom,
                         sympy.core.relational.Relational)):
        raise ModelError(f"expected a polynomial expression, got the relation {expr}")
    if not isinstance(expr, sympy.Expr):
        raise ModelError(f"expected a polynomial expression, got {expr!r}")
    bad = _offending_subexpression(expr)
    if bad is not None:
        raise ModelError(f"not a polynomial: the subexpression {bad} is not allowed "
                         "(only +, -, *, non-negative integer powers and real numbers are)")
    free = sorted(expr.free_symbols, key=lambda s: s.name)
    if variables is None:
        symbols = free
    else:
        symbols = [v if isinstance(v, sympy.Symbol) else sympy.Symbol(str(v)) for v in variables]
        names = {s.name for s in symbols}
        unknown = [s.name for s in free if s.name not in names]
        if unknown:
            raise ModelError(f"the expression {expr} uses variables {unknown} that are not in the "
                             f"variable list {[s.name for s in symbols]}")
    names = [s.name for s in symbols]
    if not symbols:
        return Polynomial.constant(float(expr), ())
    poly = sympy.Poly(expr, *symbols)
    terms = poly.terms()
    exps = np.array([m for m, _ in terms], dtype=np.int64).reshape(len(terms), len(symbols))
    coeffs = np.array([float(c) for _, c in terms], dtype=float)
    return Polynomial.from_exponents(names, exps, coeffs)


def to_sympy(poly: Polynomial, symbols: Mapping[str, object] | None = None):
    """Convert a polynomial to a sympy expression.

    Examples
    --------
    >>> x = Polynomial.variable("x")
    >>> to_sympy(2 * x**2 + 1)
    2.0*x**2 + 1.0
    """
    symbols = dict(symbols or {})
    syms = [symbols.get(v) or sympy.Symbol(v) for v in poly.variables]
    expr = sympy.Integer(0)
    terms = []
    for exps, c in poly.terms():
        term = sympy.Float(c)
        for v, e in exps.items():
            term = term * syms[poly.variables.index(v)] ** e
        terms.append(term)
    return sympy.Add(*terms) if terms else expr

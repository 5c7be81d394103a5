"""Exact symmetric rational matrices as one integer matrix over one denominator.

An exact Gram matrix of an :class:`~polylip.solve.certificate.SOSCertificate` (the blocks the
exact faces prove, :mod:`polylip.solve.certificate_rational`) is a :class:`RationalMatrix`:
``X = N / D`` with ``N`` a symmetric matrix of Python ints and ``D`` a positive int, in lowest
terms (``gcd(D, N) = 1``, which makes the form unique: ``D`` is then the least common
denominator of the entries). The exact checks read ``N`` and ``D`` directly (the batched PSD
test, the exact residual), so nothing builds one ``Fraction`` per entry; the entries are
Fractions only when read as rows (``X[p][q]``, the JSON export, the exact ``verify()``).

Why not a tuple of tuples of Fractions, as before: on chained singular n = 1,000 the route's
998 exact blocks were 45,000 Fractions, built (0.08 s), validated (0.02 s) and turned back
into integers over one denominator by every check (0.07 s), against a certify stage of about
1 s (benchmarks/RESULTS.md, "The cost of certification").
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction

import numpy as np

from polylip.errors import ModelError


class RationalMatrix(Sequence):
    """A symmetric rational matrix ``nums / den`` in lowest terms, read as rows of Fractions.

    Parameters
    ----------
    nums : array_like of int
        A symmetric ``k x k`` matrix of integers (Python or numpy ints; not floats, not bools).
    den : int
        A positive integer, the common denominator.

    Examples
    --------
    >>> X = RationalMatrix([[2, 1], [1, 4]], 6)
    >>> X.den, X.nums.tolist(), X[0][1]
    (6, [[2, 1], [1, 4]], Fraction(1, 6))
    >>> RationalMatrix([[2, 0], [0, 4]], 6) == ((Fraction(1, 3), 0), (0, Fraction(2, 3)))
    True
    >>> RationalMatrix.from_rows([[Fraction(1, 2), 1], [1, Fraction(1, 3)]]).den
    6
    """

    __slots__ = ("nums", "den", "_rows")

    def __init__(self, nums, den: int = 1):
        N = np.asarray(nums, dtype=object)
        if N.size == 0 and N.ndim <= 2:
            N = N.reshape(0, 0)                          # the empty matrix (a block of size 0)
        if N.ndim != 2 or N.shape[0] != N.shape[1]:
            raise ModelError(f"an exact matrix is not square (shape {N.shape})")
        if type(den) is not int and not isinstance(den, np.integer) or isinstance(den, bool) or den <= 0:
            raise ModelError(f"an exact matrix's denominator must be a positive integer, got {den!r}")
        flat = N.ravel().tolist()
        if not all(type(v) is int for v in flat):
            if not all(isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) for v in flat):
                raise ModelError("an exact matrix's numerators must be integers")
            N = np.array([int(v) for v in flat], dtype=object).reshape(N.shape)
        if not (N == N.T).all():
            raise ModelError("an exact matrix is not symmetric")
        self._set(N, int(den))

    @classmethod
    def _lowest(cls, N: np.ndarray, den: int) -> "RationalMatrix":
        """Internal: ``N / den`` from a symmetric object array of Python ints and an int
        ``den > 0`` already known to be such (the exact faces' blocks), without the checks."""
        out = object.__new__(cls)
        out._set(N, den)
        return out

    def _set(self, N, den):
        g = math.gcd(den, *N.ravel().tolist())
        if g > 1:
            N, den = N // g, den // g
        self.nums, self.den, self._rows = N, den, None

    @classmethod
    def from_rows(cls, rows) -> "RationalMatrix":
        """The matrix of rows of rationals (Fractions or ints), checked square and symmetric."""
        vals = [[v if type(v) is Fraction else Fraction(v) for v in row] for row in rows]
        k = len(vals)
        if any(len(row) != k for row in vals):
            raise ModelError(f"an exact matrix is not square ({k} rows of other lengths)")
        den = math.lcm(*(v.denominator for row in vals for v in row)) if k else 1
        return cls([[v.numerator * (den // v.denominator) for v in row] for row in vals], den)

    def __len__(self) -> int:
        return self.nums.shape[0]

    def __getitem__(self, p):
        if self._rows is None:
            self._rows = tuple(tuple(Fraction(int(v), self.den) for v in row) for row in self.nums.tolist())
        return self._rows[p]

    def floats(self) -> np.ndarray:
        """The nearest floats of the entries (each an exact int / int division)."""
        return np.array([[v / self.den for v in row] for row in self.nums.tolist()], dtype=float).reshape(self.nums.shape)

    def __eq__(self, other) -> bool:
        if isinstance(other, RationalMatrix):
            return self.den == other.den and np.array_equal(self.nums, other.nums)
        try:
            return len(other) == len(self) and all(tuple(a) == b for a, b in zip(other, self))
        except TypeError:
            return NotImplemented

    def __hash__(self) -> int:
        return hash((self.den, tuple(self.nums.ravel().tolist())))

    def __repr__(self) -> str:
        return f"RationalMatrix({self.nums.tolist()!r}, {self.den})"

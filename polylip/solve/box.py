"""The box a POP's constraints imply: per-variable bounds ``l <= x <= u``, each float bound
proven by an exact rational check (used to bound a certificate's residual over the feasible
set, and to scale a problem before it is relaxed).

Examples
--------
>>> from polylip.poly import Polynomial
>>> x, y = Polynomial.variable("x"), Polynomial.variable("y")
>>> lo, hi = box_from_constraints(2, [(x - 1).with_variables("xy"), (9 - y**2).with_variables("xy")])
>>> lo.tolist(), hi.tolist()
([1.0, -3.0], [inf, 3.0])
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from polylip.poly import monomials as mono

__all__ = ["box_from_constraints"]

TINY = 2.0 ** -1000


def _outward(approx: float, valid, up: bool) -> float:
    """Nudge a float outward until ``valid(Fraction(value))`` holds exactly (or give inf)."""
    v = float(approx)
    for _ in range(64):
        if np.isfinite(v) and valid(Fraction(v)):
            return v
        step = max(abs(v) * 2.0 ** -40, TINY)
        v = v + step if up else v - step
    return np.inf if up else -np.inf


def box_from_constraints(nvars: int, ineqs=(), eqs=(), binary=None, spin=None):
    """``(lower, upper)`` bounds implied by constraints ``g >= 0`` and ``h = 0`` (each read
    as ``h >= 0`` and ``-h >= 0``): univariate constraints of degree <= 2, and
    ``c - sum_i a_i x_i^(2k_i) >= 0`` with ``c, a_i > 0`` (balls). Each float bound is proven
    by an exact rational check. ``+-inf`` where nothing bounds a variable.

    Examples
    --------
    >>> from polylip.poly import Polynomial
>>> x, y = Polynomial.variable("x"), Polynomial.variable("y")
    >>> lo, hi = box_from_constraints(2, [(x + 2).with_variables("xy"), (4 - x**2 - y**2).with_variables("xy")])
    >>> lo.tolist(), hi.tolist()
    ([-2.0, -2.0], [2.0, 2.0])
    """
    lo, hi = np.full(nvars, -np.inf), np.full(nvars, np.inf)
    for p in list(ineqs) + [s * h for h in eqs for s in (1.0, -1.0)]:
        if p.nterms == 0:
            continue
        used = p.variable_indices()
        deg = mono.degrees(p.rows)
        nz = p.rows != mono.PAD
        single = np.array([len(set(r[m].tolist())) <= 1 for r, m in zip(p.rows, nz)])
        if used.size == 1 and deg.max() <= 2:
            i = int(used[0])
            co = {int(d): Fraction(float(c)) for c, d in zip(p.coeffs, deg)}
            a, b, c = co.get(2, Fraction(0)), co.get(1, Fraction(0)), co.get(0, Fraction(0))
            if a == 0 and b != 0:
                root = -c / b
                if b > 0:
                    lo[i] = max(lo[i], _outward(float(root), lambda v: v <= root, up=False))
                else:
                    hi[i] = min(hi[i], _outward(float(root), lambda v: v >= root, up=True))
            elif a < 0 and b * b - 4 * a * c >= 0:
                vert = -b / (2 * a)
                disc = float(b * b - 4 * a * c) ** 0.5
                r1, r2 = sorted([(-float(b) + disc) / (2 * float(a)), (-float(b) - disc) / (2 * float(a))])
                q = lambda v: a * v * v + b * v + c  # noqa: E731
                lo[i] = max(lo[i], _outward(r1, lambda v: v <= vert and q(v) <= 0, up=False))
                hi[i] = min(hi[i], _outward(r2, lambda v: v >= vert and q(v) <= 0, up=True))
            continue
        const = p.constant_term()
        rest = deg > 0
        if const > 0 and single.all() and np.all(deg[rest] % 2 == 0) and np.all(p.coeffs[rest] < 0):
            c = Fraction(const)
            for row, a, d in zip(p.rows[rest], p.coeffs[rest], deg[rest]):
                i, d, ratio = int(row[0]), int(d), c / Fraction(-float(a))
                bnd = _outward(float(ratio) ** (1.0 / d), lambda v: v >= 0 and v ** d >= ratio, up=True)
                lo[i], hi[i] = max(lo[i], -bnd), min(hi[i], bnd)
    for mask, (a, b) in ((binary, (0.0, 1.0)), (spin, (-1.0, 1.0))):
        if mask is not None:
            mask = np.asarray(mask, bool)
            lo[mask], hi[mask] = np.maximum(lo[mask], a), np.minimum(hi[mask], b)
    return lo, hi


# ---------------------------------------------------------------------- exact verification

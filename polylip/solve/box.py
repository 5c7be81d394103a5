"""The box a POP's constraints imply: per-variable bounds ``l <= x <= u``, each float bound
proven by an exact rational check (used to bound a certificate's residual over the feasible
set, and to scale a problem before it is relaxed).

Two passes: bounds read off single constraints (univariate ones of degree <= 2, balls), then
propagation: a variable that occurs in a constraint only as one linear term ``a x_i`` is bounded
by the range of the other terms over the box found so far (``a x_i >= -sup(rest)``), for a
few rounds. Propagation is what bounds ``x2`` in ``x1 + x2 + x3 <= 4, x1, x2, x3 >= 0``
(Lasserre's and GloptiPoly's ``-2 x1 + x2 - x3`` example: without it the certificate could not
pay for its residual and the bound stayed numerical only) and the epigraph variable of
``objvar + q(x) = 0`` with ``x`` in a box (the GLOBALLib form).

Examples
--------
>>> from polylip.poly import Polynomial
>>> x, y = Polynomial.variable("x"), Polynomial.variable("y")
>>> lo, hi = box_from_constraints(2, [(x - 1).with_variables("xy"), (9 - y**2).with_variables("xy")])
>>> lo.tolist(), hi.tolist()
([1.0, -3.0], [inf, 3.0])
"""

from __future__ import annotations

import math
from collections import Counter
from fractions import Fraction

import numpy as np

from polylip.poly import monomials as mono
from polylip.runtime import check_deadline

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


def box_from_constraints(nvars: int, ineqs=(), eqs=(), binary=None, spin=None, timed: bool = False):
    """``(lower, upper)`` bounds implied by constraints ``g >= 0`` and ``h = 0`` (each read
    as ``h >= 0`` and ``-h >= 0``): univariate constraints of degree <= 2, and
    ``c - sum_i a_i x_i^(2k_i) >= 0`` with ``c, a_i > 0`` (balls). Each float bound is proven
    by an exact rational check. ``+-inf`` where nothing bounds a variable. ``timed``: the
    loops check the deadline of an enclosing :class:`polylip.runtime.Deadline` (the scaling
    before a solve; not the certify stage, which has its own clock, nor ``verify()``).

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
        if timed:  # 20,000 constraints: 3 s a pass at load 6 (QA round 3)
            check_deadline("finding the box the constraints imply")
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
    both = list(ineqs) + [s * h for h in eqs for s in (1.0, -1.0)]
    _propagate(both, lo, hi, timed)
    if _polytope(both, lo, hi):
        _propagate(both, lo, hi, timed)
    for _ in range(2):
        if not _univariate(both, lo, hi, timed):
            break
        _propagate(both, lo, hi, timed)
    return lo, hi


#: The LP step (:func:`_polytope`) runs when at most this many bounds are missing and the
#: linear constraints have at most POLYTOPE_MAX_ROWS rows (one small HiGHS LP per missing
#: bound, about a millisecond each at these sizes).
POLYTOPE_MAX_MISSING = 200
POLYTOPE_MAX_ROWS = 5000
#: Margin asked of the LP multipliers (A^T y >= e_i + margin on every column) so that the
#: float y passes the exact check A^T y >= 0 after rounding.
POLYTOPE_MARGIN = 1e-9


def _polytope(polys, lo, hi) -> bool:
    """Bounds from the linear constraints taken together, in place; whether any changed.

    For a missing upper bound of ``x_i`` where every variable of the linear constraints
    ``A x <= b`` has a lower bound ``l``: with ``s = x - l >= 0``, any ``y >= 0`` gives
    ``(A^T y)^T s <= y^T (b - A l)``, so ``x_i <= l_i + y^T (b - A l) / (A^T y)_i`` when
    ``A^T y >= 0``. ``y`` comes from the LP ``min y^T (b - A l)`` s.t.
    ``A^T y >= e_i + margin``, ``y >= 0`` (HiGHS); the bound is then recomputed from ``y`` in
    exact rational arithmetic (a negative column of ``A^T y`` is paid with that variable's
    upper bound, or the bound is dropped), so it holds whatever the LP solver's accuracy.
    Lower bounds the same way in ``-x``. This bounds ``x1, x2 <= 3`` in
    ``x >= 0, 2 x1 - x2 <= 3, -x1 + 2 x2 <= 3`` (GLOBALLib st_qpk1), where propagation one
    constraint at a time goes round in circles.
    """
    linear = [p for p in polys if p.nterms and mono.degrees(p.rows).max(initial=0) <= 1]
    if not linear or len(linear) > POLYTOPE_MAX_ROWS:
        return False
    used = np.unique(np.concatenate([p.variable_indices() for p in linear]))
    missing = [i for i in used if not np.isfinite(hi[i])] + [~i for i in used if not np.isfinite(lo[i])]
    # the exact recheck costs about (missing x columns^2) rational products: kept small
    if not missing or len(missing) > POLYTOPE_MAX_MISSING or len(missing) * used.size ** 2 > 4e6:
        return False
    where = {int(v): c for c, v in enumerate(used)}
    A, b = np.zeros((len(linear), used.size)), np.zeros(len(linear))
    for r, p in enumerate(linear):
        for row, c in zip(p.rows, p.coeffs):
            idx = row[row != mono.PAD]
            if idx.size:
                A[r, where[int(idx[0])]] -= float(c)  # p = c0 + sum c_j x_j >= 0  <=>  -c.x <= c0
        b[r] = float(p.constant_term())
    cols = used
    changed = False
    for m in missing:
        up = m >= 0
        i = m if up else ~m
        # x' = x (upper) or -x (lower): A' = A diag(sign), l' = l or -u, u' = u or -l
        sign = 1.0 if up else -1.0
        low = lo if up else -hi
        high = hi if up else -lo
        if not np.all(np.isfinite(low[cols])):
            continue
        # A has one column per variable of the linear constraints (cols), in that order
        v = _lp_upper(A * sign, b, low[cols], high[cols], where[int(i)])
        if v is None:
            continue
        if up and v < hi[i] and v >= lo[i]:
            hi[i], changed = v, True
        elif not up and -v > lo[i] and -v <= hi[i]:
            lo[i], changed = -v, True
    return changed


def _lp_upper(A, b, low, high, k):
    """A proven float upper bound of ``x_k`` over ``{A x <= b, x >= low}`` (see
    :func:`_polytope`), or None."""
    from scipy.optimize import linprog  # noqa: PLC0415 - the LP step is rarely needed

    shifted = b - A @ low  # float guide for the LP only; the bound is recomputed exactly
    # the margin only where some row can pay it: a column without a positive entry (a
    # variable no linear constraint bounds from above) must get (A^T y)_c = 0 exactly, which
    # the LP's zero multipliers give
    target = np.where(np.any(A > 0, axis=0), POLYTOPE_MARGIN, 0.0)
    target[k] += 1.0
    try:
        res = linprog(shifted, A_ub=-A.T, b_ub=-target, bounds=(0, None), method="highs")
    except (ValueError, ArithmeticError):
        return None
    if res.status != 0 or res.x is None:
        return None
    y = [Fraction(float(v)) for v in np.maximum(res.x, 0.0)]
    nz = [j for j, v in enumerate(y) if v]
    F = [[Fraction(float(A[j, c])) for c in range(A.shape[1])] for j in nz]
    cols = [sum((y[j] * F[t][c] for t, j in enumerate(nz)), Fraction(0)) for c in range(A.shape[1])]
    if cols[k] <= 0:
        return None
    lows = [Fraction(float(v)) for v in low]
    total = sum((y[j] * (Fraction(float(b[j])) - sum((F[t][c] * lows[c] for c in range(A.shape[1])
                                                     if F[t][c]), Fraction(0)))
                 for t, j in enumerate(nz)), Fraction(0))
    for c, rc in enumerate(cols):  # r_c s_c >= r_c (u_c - l_c) for a negative column
        if c == k or rc >= 0:
            continue
        if not np.isfinite(high[c]):
            return None
        total -= rc * (Fraction(float(high[c])) - lows[c])
    bound = lows[k] + total / cols[k]
    v = float(bound)
    if Fraction(v) < bound:
        v = math.nextafter(v, math.inf)
    return v if np.isfinite(v) else None


#: Rounds of propagation (each pass over the constraints uses the bounds of the one before).
PROPAGATION_ROUNDS = 4
#: Propagation reads at most this many terms in all (exact rational arithmetic: about 10 us a
#: term), and terms of degree at most PROPAGATION_MAX_DEGREE (a higher power of a bound is a
#: long rational); a larger problem keeps the bounds of the first pass.
PROPAGATION_MAX_TERMS = 20_000
PROPAGATION_MAX_DEGREE = 8


def _term_range(row, coeff: float, lo, hi):
    """Exact range ``(inf, sup)`` of ``coeff * prod_{j in row} x_j`` over the box, as
    Fractions; an end that is infinite is None (one-sided bounds still give the other end
    of ``c x_j`` and ``c x_j^(2k)``: ``-5 x2 <= 0`` for ``x2 >= 0``, which bounds ``x1`` in
    ``34.8 - 12 x1 - 5 x2 >= 0``); None when neither end is finite."""
    powers = Counter(int(v) for v in row if v >= 0)
    c = Fraction(float(coeff))
    if len(powers) == 1:
        (j, k), = powers.items()
        if not (np.isfinite(lo[j]) and np.isfinite(hi[j])):
            if k == 1:
                ends = [None if not np.isfinite(b) else c * Fraction(float(b)) for b in (lo[j], hi[j])]
                ends = ends if c >= 0 else ends[::-1]
            elif k % 2 == 0:  # c x^k: the end at the smallest |x| is finite
                m = 0 if lo[j] <= 0 <= hi[j] else min(abs(float(lo[j])), abs(float(hi[j])))
                low = c * Fraction(m) ** k
                ends = [low, None] if c >= 0 else [None, low]
            else:
                return None
            return None if ends == [None, None] else tuple(ends)
    a = b = Fraction(1)
    for j, k in powers.items():
        if not (np.isfinite(lo[j]) and np.isfinite(hi[j])):
            return None
        lj, uj = Fraction(float(lo[j])) ** k, Fraction(float(hi[j])) ** k
        if k % 2 == 0 and lo[j] < 0 < hi[j]:
            pa, pb = Fraction(0), max(lj, uj)
        else:
            pa, pb = min(lj, uj), max(lj, uj)
        ends = (a * pa, a * pb, b * pa, b * pb)
        a, b = min(ends), max(ends)
    return (c * a, c * b) if c >= 0 else (c * b, c * a)


def _propagatable(polys, timed: bool, what: str):
    """``(p, term degrees)`` of the non-zero constraints of degree at most
    :data:`PROPAGATION_MAX_DEGREE` (with ``timed``, the deadline checked before each)."""
    for p in polys:
        if timed:
            check_deadline(what)
        if p.nterms == 0:
            continue
        deg = mono.degrees(p.rows)
        if deg.max(initial=0) <= PROPAGATION_MAX_DEGREE:
            yield p, deg


def _propagate(polys, lo, hi, timed: bool = False) -> None:
    """Tighten ``lo``/``hi`` in place from constraints ``p >= 0`` (see the module): for a
    variable ``x_i`` whose only occurrence in ``p`` is one term ``a x_i``, ``a x_i >= -sup``
    of the other terms over the box, proven in exact arithmetic and rounded outward."""
    work = []  # (poly, rows as lists, [(term index, variable, a)]) for polys with such a variable
    total = 0
    for p, deg in _propagatable(polys, timed, "propagating the box through the constraints"):
        rows = p.rows.tolist()
        seen = Counter(v for r in rows for v in r if v >= 0)
        linear = [(t, r[0] if r else -1) for t, r in enumerate(rows) if deg[t] == 1]
        cands = [(t, i, float(p.coeffs[t])) for t, i in linear if seen[i] == 1]
        if not cands:
            continue
        total += p.nterms
        if total > PROPAGATION_MAX_TERMS:
            return
        work.append((p, rows, cands))
    for _ in range(PROPAGATION_ROUNDS):
        changed = False
        for p, rows, cands in work:
            ranges = [_term_range(r, c, lo, hi) for r, c in zip(rows, p.coeffs.tolist())]
            unbounded = [t for t, rg in enumerate(ranges) if rg is None or rg[1] is None]
            if len(unbounded) > 1:
                continue
            sup_all = sum((rg[1] for rg in ranges if rg is not None and rg[1] is not None),
                          Fraction(0))
            for t, i, a in cands:
                if unbounded and unbounded != [t]:
                    continue
                own = ranges[t][1] if ranges[t] is not None and ranges[t][1] is not None else 0
                rest = sup_all - own
                bound = -rest / Fraction(a)  # a x_i >= -rest
                if a > 0:
                    v = float(bound)
                    if Fraction(v) > bound:
                        v = math.nextafter(v, -math.inf)
                    if v > lo[i] and v <= hi[i]:
                        lo[i], changed = v, changed or v > lo[i] + 1e-9 * max(1.0, abs(v))
                else:
                    v = float(bound)
                    if Fraction(v) < bound:
                        v = math.nextafter(v, math.inf)
                    if v < hi[i] and v >= lo[i]:
                        hi[i], changed = v, changed or v < hi[i] - 1e-9 * max(1.0, abs(v))
        if not changed:
            break


def _shifted_nonpositive(coeffs, v: Fraction, sign: int) -> bool:
    """Whether ``u(v + sign w) = sum_k b_k w^k`` has every ``b_k <= 0`` and some ``b_k < 0``
    (then ``u < 0`` for every ``w > 0``); ``coeffs[k]`` is the exact coefficient of ``t^k``."""
    shifted = [Fraction(0)] * len(coeffs)
    for k, a in enumerate(coeffs):
        if not a:
            continue
        for j in range(k + 1):  # a (v + s w)^k = a sum_j C(k, j) v^(k - j) (s w)^j
            shifted[j] += a * math.comb(k, j) * v ** (k - j) * sign ** j
    return all(b <= 0 for b in shifted) and any(b < 0 for b in shifted)


def _beyond(coeffs, root: float, sign: int) -> float:
    """``sign * v`` for a float ``v`` at or past ``root`` (in direction ``sign``) beyond which
    ``u < 0`` (proven by :func:`_shifted_nonpositive`), or inf: the root nudged outward first,
    then steps of up to 4 (1 + |root|) past it (``-(t - 1)((t - 2)^2 + 1)`` has mixed shifted
    signs at its root 1 and none at 2)."""
    valid = lambda f: _shifted_nonpositive(coeffs, f, sign)  # noqa: E731
    v = _outward(root, valid, up=sign > 0)
    if np.isfinite(v):
        return sign * v
    for step in (2.0 ** -20, 2.0 ** -10, 2.0 ** -5, 0.25, 1.0, 4.0):
        w = root + sign * step * (1.0 + abs(root))
        if np.isfinite(w) and valid(Fraction(w)):
            return sign * w
    return np.inf


def _univariate(polys, lo, hi, timed: bool = False) -> bool:
    """Bounds of variables that occur in a constraint only in pure powers, in place; whether any
    changed. For ``p = q(x_i) + r(x_rest) >= 0`` with ``sup r = S`` finite over the box found so
    far, every feasible ``x_i`` has ``u(x_i) = q(x_i) + S >= 0``; beyond the last real root ``t0``
    of ``u``, ``u < 0`` when the coefficients of ``u(t0 + w)`` (``u(t0 - w)`` for a lower bound)
    are all negative, checked exactly at a float ``t0`` nudged outward. This bounds ``x1 <= 1``
    in HS 13 (``(1 - x1)^3 - x2 >= 0``, ``x2 >= 0``: ``u = (1 - t)^3``) and ``|x1|, |x2| <= 5``
    in HS 33 (the cone ``x3^2 - x1^2 - x2^2 >= 0`` with ``0 <= x3 <= 5``), whose certificates
    could not pay for their residuals without them. Only bounds still missing are sought."""
    if np.isfinite(lo).all() and np.isfinite(hi).all():
        return False
    changed, total = False, 0
    for p, deg in _propagatable(polys, timed, "bounding variables from univariate parts of the constraints"):
        total += p.nterms
        if total > PROPAGATION_MAX_TERMS:
            return changed
        rows = p.rows.tolist()
        used = [int(v) for v in p.variable_indices()]
        for i in used:
            if np.isfinite(lo[i]) and np.isfinite(hi[i]):
                continue
            mine = [t for t, r in enumerate(rows) if i in r]
            if any(any(v != i for v in rows[t] if v >= 0) for t in mine):
                continue  # x_i in a product with another variable
            sup = Fraction(0)
            for t, r in enumerate(rows):
                if t in mine:
                    continue
                rg = _term_range(r, float(p.coeffs[t]), lo, hi)
                if rg is None or rg[1] is None:
                    break
                sup += rg[1]
            else:
                coeffs = [Fraction(0)] * (int(deg.max()) + 1)
                coeffs[0] = sup
                for t in mine:
                    coeffs[sum(1 for v in rows[t] if v == i)] += Fraction(float(p.coeffs[t]))
                while len(coeffs) > 1 and coeffs[-1] == 0:
                    coeffs.pop()
                if len(coeffs) < 2:
                    continue
                roots = np.roots([float(c) for c in coeffs[::-1]])
                real = roots[np.abs(roots.imag) <= 1e-7 * np.maximum(1.0, np.abs(roots))].real
                if real.size == 0 or not np.all(np.isfinite(real)):
                    continue
                if not np.isfinite(hi[i]):
                    v = _beyond(coeffs, float(real.max()), 1)
                    if np.isfinite(v) and v >= lo[i]:
                        hi[i], changed = v, True
                if not np.isfinite(lo[i]):
                    v = -_beyond(coeffs, float(real.min()), -1)
                    if np.isfinite(v) and v <= hi[i]:
                        lo[i], changed = v, True
    return changed


# ---------------------------------------------------------------------- exact verification

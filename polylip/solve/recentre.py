"""Recentring: variables with no bound, far from 0 at the minimizer, are moved there and the
problem is solved again.

The scaling stage (:mod:`polylip.solve.scaling`) maps a variable with a known box to
``[-1, 1]``; a variable with no box stays as written. When its minimizer is far from 0 the
relaxation is conditioned like the distance squared: ``min (x - 1e6)^2`` has the moment
matrix ``[[1, 1e6], [1e6, 1e12]]`` at the optimum, the solver's relative error (1e-8) becomes
an absolute one of about 1e4 in the objective, and the certified bound was -2.3e11 (valid, and
of no use: the minimum is 0). Written in ``z = x - c`` with ``c`` near the minimizer, the same
problem is ``min z^2``: certified 0.

:func:`recentre` does that after a first solve whose bound is loose (not certified, or more
than :data:`LOOSE` below the value at its own candidate, relative): the candidate, polished by
the local solver of :func:`polylip.solve.minimizers.polish`, gives the centres ``c_i`` of the
unbounded continuous variables whose moments there, ``|x_i|^(2k)`` at order k, are beyond
:data:`FAR` squared; the problem is
scaled with them (:func:`~polylip.solve.scaling.scale_pop` with ``centers``) and solved again,
and the better of the two certified bounds is returned (the first result when the second
proves nothing better).

The shift must round nothing: a term of an unbounded variable cannot have its rounding paid
for (it is not bounded), so a substitution that rounds one proves nothing about the original
problem (``Scaling.exact`` False). The centres are therefore tried with
:data:`CENTER_BITS` significant bits, from the most to the fewest, and the first whose
substitution is exact in rationals (checked by ``scale_pop``) is used; a centre of few bits
shifts polynomials with short coefficients (integers, short decimals times powers of two)
exactly. When none is exact, nothing is recentred.

Examples
--------
>>> from polylip import POP
>>> from polylip.poly import variables
>>> x, = variables("x")
>>> res = POP((x - 1e6)**2).solve()
>>> res.certified, abs(res.bound) < 1e-6        # it was -2.3e11 before recentring
(True, True)
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace

import numpy as np

from polylip.runtime import TimeLimitReached
from polylip.solve.box import box_from_constraints
from polylip.solve.minimizers import polish
from polylip.solve.scaling import BOX_MAX, scale_pop

__all__ = ["recentre", "centers_for", "radii_for", "FAR", "LOOSE"]

log = logging.getLogger(__name__)

#: An unbounded variable is recentred when ``|x_i|^(2k)`` at the candidate, the size of its
#: moments in a relaxation of order k, is beyond ``FAR^2`` (FAR = the scaling stage's BOX_MAX,
#: 10): at order 1 beyond 10 as before, at order 3 beyond 10^(1/3) = 2.15. MGH's
#: Freudenstein-Roth, x* = (5, 4) at order 3, was certified -3.31 / -2.36 with Clarabel /
#: CVXOPT (5^6 = 15,625); recentred at (5, 4), -6.6e-7 / -1.4e-5 (POP QA round 5). A flat
#: threshold of 1 did the same but recentred every loose result with a coordinate beyond 1
#: (the numerical-only HS problems on unbounded sets: +10% on the literature tests, no gain).
FAR = BOX_MAX
#: A certified bound is loose when it is below the value at the candidate by more than this,
#: relative to max(1, |value|); a tight one is not solved again.
LOOSE = 1e-6
#: Significant bits of the centres, tried in turn until the substitution is exact; None is
#: the full centre with its rounding paid for by an envelope (scale_pop's ``envelope``), tried
#: after the centres that round nothing and are still close, before the coarse ones.
CENTER_BITS = (53, 40, 30, 20, None, 12, 8, 4, 2, 1)
#: No recentring above this many terms (objective and constraints): each try checks the
#: substitution in exact rationals, pure Python.
MAX_TERMS = 2_000
#: An unbounded variable is also rescaled when its curvature at the candidate is more than
#: this times the flattest one's (see radii_for).
CURVATURE_SPAN = 2.0 ** 20
#: Recentring rounds at most (each from the best candidate so far: a first candidate far
#: off, from an "inaccurate" solve, gives a better one once recentred).
ROUNDS = 3
#: Recentre only when this fraction of the time limit is left (the second solve costs about
#: what the first did).
MIN_TIME_LEFT = 0.25


def _round_bits(v: np.ndarray, bits: int) -> np.ndarray:
    """``v`` rounded to ``bits`` significant bits (a dyadic: exact in floats)."""
    m, e = np.frexp(v)
    return np.ldexp(np.round(np.ldexp(m, bits)), e - bits)


def _free(pop) -> np.ndarray:
    """Continuous variables that have no finite box (the ones the scaling leaves as written)."""
    lo, hi = box_from_constraints(pop.nvars, pop.ineqs, pop.eqs, pop.binary_mask, pop.spin_mask)
    return ~(np.isfinite(lo) & np.isfinite(hi) & (hi > lo)) & ~pop.binary_mask & ~pop.spin_mask


def _loose(result) -> bool:
    """Whether ``result`` may be improved: no certified bound (an uncertified value, an
    "inaccurate" solve, an "unbounded" that no ray proves), or a certified one more than
    :data:`LOOSE` below the value at its candidate."""
    if result.status == "unbounded":
        return not result.certified
    if result.status not in ("optimal", "inaccurate"):
        return False
    if not result.certified or result.bound is None or result.candidate_value is None:
        return True
    sign = 1.0 if result.sense == "min" else -1.0
    gap = sign * (result.candidate_value - result.bound)
    return gap > LOOSE * max(1.0, abs(result.candidate_value))


def _point(pop, result):
    """The candidate of ``result`` polished by the local solver, or the local solver's point
    from the origin when there is no candidate (an "inaccurate" side, an "unbounded" claim);
    None when neither gives a finite point."""
    point = None
    if result.candidate is not None:
        try:
            point = np.array([float(result.candidate[v]) for v in pop.variables])
        except (KeyError, TypeError, ValueError):
            point = None
    polished = polish(pop, np.zeros(pop.nvars) if point is None else point)
    if polished is not None:
        point = polished
    return point if point is not None and np.isfinite(point).all() else None


def _hessian_diagonal(p, point: np.ndarray) -> np.ndarray:
    """``d^2 p / dx_i^2`` at ``point``, every ``i`` (from the exponent matrix)."""
    e = p.exponents.astype(float)
    c = p.coeffs
    out = np.zeros(e.shape[1])
    with np.errstate(all="ignore"):
        for i in range(e.shape[1]):
            a = e[:, i]
            keep = a >= 2
            if not keep.any():
                continue
            ee = e[keep].copy()
            ee[:, i] -= 2
            out[i] = float(np.sum(c[keep] * a[keep] * (a[keep] - 1)
                                  * np.prod(point[None, :] ** ee, axis=1)))
    return out


def radii_for(pop, point) -> np.ndarray:
    """Power-of-two radii for the unbounded continuous variables whose curvature at ``point``
    (the objective's ``d^2 f / dx_i^2``) is more than :data:`CURVATURE_SPAN` times the least
    positive one among them: ``r_i`` about ``sqrt(H_min / H_ii)``, so ``z_i`` has the
    curvature of the flattest variable (MGH's Brown badly scaled function, ``x2* = 2e-6``:
    ``H_22 = 2e12`` beside ``H_11 = 2``, radius 2^-20); NaN elsewhere (left at 1)."""
    point = np.asarray(point, dtype=float)
    free = _free(pop)
    out = np.full(pop.nvars, np.nan)
    obj = pop.objective.with_variables(pop.variables)
    H = _hessian_diagonal(obj, point) * (1.0 if pop.sense == "min" else -1.0)
    pos = free & np.isfinite(H) & (H > 0)
    if pos.sum() < 2:
        return out
    ref = H[pos].min()
    steep = pos & (H > CURVATURE_SPAN * ref)
    out[steep] = 2.0 ** np.round(0.5 * np.log2(ref / H[steep]))
    return out


def centers_for(pop, point, order: int | None = None):
    """The centres for ``scale_pop`` from ``point`` (the original variables): NaN but for the
    unbounded continuous variables with ``|x_i|^(2 order) > FAR^2``, rounded to the most bits
    of :data:`CENTER_BITS` whose substitution is exact; ``(centers, scaled, scaling)``, or None
    when there is nothing to recentre or no exact centre."""
    point = np.asarray(point, dtype=float)
    if point.size != pop.nvars or not np.isfinite(point).all():
        return None
    move = _free(pop) & (np.abs(point) > FAR ** (1.0 / (order or 1)))   # |x|^(2k) > FAR^2
    radii = radii_for(pop, point)
    if not move.any() and not np.isfinite(radii).any():
        return None
    radii = radii if np.isfinite(radii).any() else None
    for bits in CENTER_BITS:
        if bits is None and order is None:
            continue
        centers = np.where(move, point if bits is None else _round_bits(point, bits), np.nan)
        scaled, how = scale_pop(pop, centers=centers, envelope=0 if bits else 2 * order,
                                radii=radii)
        if how.exact and np.array_equal(how.center[move], centers[move]):
            return centers, scaled, how
        log.debug("recentring with %s bits rounds: %s", bits or "53 (envelope)",
                  how.why or "an equality rounds")
    return None


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    fa, fb = np.isfinite(a), np.isfinite(b)
    if not np.array_equal(fa, fb):
        return False
    return bool(np.all(np.abs(a[fa] - b[fb]) <= 1e-9 * np.maximum(1.0, np.abs(a[fa]))))


def _better(first, second) -> bool:
    """Whether ``second`` proves more than ``first`` (a higher certified bound for min)."""
    if second.status != "optimal" or not second.certified or second.bound is None:
        return False
    if first.status != "optimal" or not first.certified or first.bound is None:
        return True
    sign = 1.0 if first.sense == "min" else -1.0
    return sign * (second.bound - first.bound) > 0


def recentre(pop, result, solve, time_left=None):
    """``result`` or, when its bound is loose and some unbounded variable is far from 0 at its
    candidate, the result of ``solve(scaled_pop, time_limit)`` in recentred variables mapped
    back to ``pop``, whichever proves more (see the module docstring); up to :data:`ROUNDS`
    times, each from the best candidate so far.

    Parameters
    ----------
    pop : POP
        The problem as the user wrote it.
    result : Result
        The first solve's result, in the variables of ``pop``.
    solve : callable
        ``solve(scaled_pop, time_limit)`` -> Result of the scaled problem.
    time_left : float or None
        Seconds left of the whole solve's limit (None: no limit).
    """
    if not _loose(result) or result.order is None:
        return result
    if sum(p.nterms for p in (pop.objective, *pop.ineqs, *pop.eqs)) > MAX_TERMS:
        return result
    t0 = time.perf_counter()
    best, seed, tried, notes = result, result, [], []
    for _ in range(ROUNDS):
        point = _point(pop, seed)
        found = None if point is None else centers_for(pop, point, result.order)
        if found is None:
            break
        centers, scaled, how = found
        if any(_same(centers, c) for c in tried):
            break   # the same centres again (to 1e-9): the same solve
        tried.append(centers)
        limit = None
        if time_left is not None:
            limit = time_left - (time.perf_counter() - t0)
            if limit <= MIN_TIME_LEFT * time_left:
                log.info("no time left to recentre")
                break
        moved = ", ".join(f"{v} = {c:.6g}" for v, c in zip(pop.variables, centers)
                          if np.isfinite(c))
        log.info("recentring at %s and solving again", moved)
        try:
            second = how.unscale_result(solve(scaled, limit), pop)
        except TimeLimitReached:
            break
        seed = second  # the next round starts from the latest candidate
        if not _better(best, second):
            log.info("recentred solve ended %s, bound %s: no better", second.status, second.bound)
            notes.append(f"solved again recentred at {moved}: no better bound ({second.status})")
            continue
        notes = [f"recentred at {moved} (unbounded variables far from 0; the first solve "
                 f"ended {result.status} with the bound {result.bound})"]
        best = replace(second, build_seconds=second.build_seconds + best.build_seconds,
                       solve_seconds=second.solve_seconds + best.solve_seconds)
        if not _loose(best):
            break
    if not notes:
        return result
    return replace(best, message="; ".join([best.message, *notes]))

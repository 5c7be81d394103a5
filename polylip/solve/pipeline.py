"""The pipeline run: a POP and a certificate (:class:`~polylip.relax.hierarchy.Putinar` or
:class:`~polylip.relax.hierarchy.Krivine`) become a relaxation, the relaxation goes to a
backend, and a :class:`~polylip.solve.result.Result` comes back. ``POP.solve`` is this.

Two choices are made here, once, for both hierarchies:

* **Sparsity "auto"** (the default of ``POP.solve``): correlative sparsity when its cliques are
  much smaller than the problem, else dense (:func:`polylip.sparsity.choose.choose_sparsity`).
* **Scaling**: a badly scaled POP (wide boxes, coefficients over many orders of magnitude) is
  solved in scaled variables and the result mapped back (:mod:`polylip.solve.scaling`).
* **order=None** (the default): the smallest valid order; when its relaxation has no finite
  bound although the feasible set is bounded (every variable in a box the constraints imply),
  the next orders, up to ``AUTO_EXTRA_ORDERS`` more within the time limit (a quartic on a box
  given by linear constraints has no Putinar certificate at order 2: 17 of 30 random such
  problems came back "unbounded" at the default order, every one certified at order 3).
* **order="auto"**: the order is raised from the smallest valid one until the bound is
  certified (status "optimal"), an infeasibility is found, the time runs out, or
  ``max_order`` is reached (see :mod:`polylip.relax.hierarchy`).

Examples
--------
>>> import sympy
>>> from polylip import POP
>>> from polylip.relax.hierarchy import Putinar
>>> x = sympy.Symbol("x")
>>> round(solve_pop(POP(x**4 - 3*x**2 + x), Putinar(order=2)).bound, 4)
-3.5139
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace

import numpy as np

from polylip.errors import EmptySetError, RelaxationError, SolverError
from polylip.runtime import Deadline, TimeLimitReached
from polylip.relax.hierarchy import AUTO_EXTRA_ORDERS, Krivine, Putinar
from polylip.relax.polytope import check_linear_inequalities
from polylip.solve.lp import LPRelaxation
from polylip.solve.box import box_from_constraints
from polylip.solve.estimate import too_slow
from polylip.solve.relaxation import Relaxation, check_time_limit
from polylip.solve.recentre import recentre
from polylip.solve.refute import refute_numerical_bound
from polylip.solve.result import Result
from polylip.solve.scaling import needs_scaling, scale_pop
from polylip.solve.unbounded import TIME_BUDGET, find_ray, settle_unbounded
from polylip.solve.unbounded import hints as _hints

#: The LP hierarchy is scaled (solve/scaling.py) as soon as a box is wider than [-1, 1] or
#: off-centre by more than 1, not only past BOX_MAX as the moment-SOS side: its rows match
#: coefficients in the monomial basis, so a box [-10, 10] makes them range over 10^8 at degree 8
#: and the certificate check fails (x^4 - 3x^3 + x - 2 on [-10, 10], degree 8: residual bound
#: 861, "inaccurate"; on [0, 1000] every degree came back "infeasible" from HiGHS). The factors
#: (x - a) / (b - a) are affine-invariant, so the LP is the same in exact arithmetic; [0, 1]
#: boxes (LiPopt's) are not touched.
LP_BOX_MAX = 1.0

__all__ = ["SolverSettings", "solve_pop", "relax_pop"]

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class SolverSettings:
    """The solve stage's options, typed and validated once.

    Attributes
    ----------
    solver : "auto", "clarabel", a PICOS solver name ("cvxopt", ...); for the LP hierarchy also
        "highs", "highs-ds", "highs-ipm".
    side : "auto", "moment" or "sos" (moment-SOS hierarchy only).
    tol, max_iters : the backend's tolerance and iteration cap (None: its default).
    time_limit : seconds for the whole solve, retries included (None: none).
    verbose : the solver's own output.
    strategy : "auto", "direct" or "colgen" (LP hierarchy only).
    """

    solver: str = "auto"
    side: str = "auto"
    tol: float | None = None
    max_iters: int | None = None
    time_limit: float | None = None
    verbose: bool = False
    strategy: str = "auto"

    def __post_init__(self):
        if not isinstance(self.solver, str) or not self.solver:
            raise SolverError(f"solver must be a name such as 'auto', 'cvxopt', 'clarabel' or "
                              f"'highs', not {self.solver!r}")
        if self.side not in ("auto", "moment", "sos"):
            raise SolverError(f"side must be 'auto', 'moment' or 'sos', not {self.side!r}")
        if self.tol is not None and (isinstance(self.tol, bool) or not isinstance(self.tol, (int, float))
                                     or not 0 < self.tol < 1):
            raise SolverError(f"tol must be a number in (0, 1), not {self.tol!r}")
        if self.max_iters is not None and (isinstance(self.max_iters, bool)
                                           or not isinstance(self.max_iters, int) or self.max_iters < 1):
            raise SolverError(f"max_iters must be a positive integer, not {self.max_iters!r}")
        if self.time_limit is not None:
            object.__setattr__(self, "time_limit", check_time_limit(self.time_limit))
        if self.strategy not in ("auto", "direct", "colgen"):
            raise SolverError(f"strategy must be 'auto', 'direct' or 'colgen', not {self.strategy!r}")

    @classmethod
    def of(cls, solver="auto", **options) -> "SolverSettings":
        """Settings from keyword options; an unknown keyword is a clear error."""
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(options) - known)
        if unknown:
            raise SolverError(f"unknown solver option(s) {', '.join(unknown)}; the options are "
                              f"{', '.join(sorted(known))}")
        return cls(solver=solver, **options)


def relax_pop(pop, certificate=None):
    """The relaxation of ``pop`` for a certificate (default: Putinar at the smallest order):
    a :class:`~polylip.solve.relaxation.Relaxation` or :class:`~polylip.solve.lp.LPRelaxation`."""
    certificate = Putinar() if certificate is None else certificate
    if isinstance(certificate, Krivine):
        return LPRelaxation.build(pop, degree=certificate.degree,
                                  sparsity=certificate.sparsity)
    if isinstance(certificate, Putinar):
        order = None if certificate.order == "auto" else certificate.order
        return Relaxation.build(pop, order=order, sparsity=certificate.sparsity)
    raise SolverError(f"the certificate must be Putinar(...) or Krivine(...), not {certificate!r}")


def _build_or_refuse(pop, certificate: Putinar, settings: SolverSettings, left):
    """The relaxation of ``pop``, or a "time_limit" :class:`Result` returned before building
    it when its estimate (:mod:`polylip.solve.estimate`) exceeds the ``left`` seconds by more
    than the rule allows; a relaxation too large for the memory limit raises
    :class:`~polylip.errors.RelaxationError` (both from the block structure, before assembly)."""
    t0 = time.perf_counter()
    order = None if certificate.order == "auto" else certificate.order
    blocks, estimate = Relaxation.plan(pop, order, certificate.sparsity, settings.solver)
    why = too_slow(estimate, left)
    if why is not None:
        return Result(status="time_limit", bound=None, order=blocks.order,
                      solver=estimate.solver, sense=pop.sense, sparsity=blocks.kind,
                      build_seconds=time.perf_counter() - t0, message=why,
                      sizes=estimate.to_dict())
    return Relaxation.build(pop, order=order, sparsity=blocks, solver=settings.solver)


def _left(start: float, time_limit) -> float | None:
    """Seconds left of ``time_limit`` counted from ``start`` (None: no limit)."""
    return None if time_limit is None else time_limit - (time.perf_counter() - start)


def _solve_one(relaxation, settings: SolverSettings, time_limit) -> Result:
    if isinstance(relaxation, LPRelaxation):
        return relaxation.solve(solver=settings.solver, tol=settings.tol,
                                max_iters=settings.max_iters, verbose=settings.verbose,
                                time_limit=time_limit, strategy=settings.strategy)
    return relaxation.solve(solver=settings.solver, side=settings.side, tol=settings.tol,
                            max_iters=settings.max_iters, verbose=settings.verbose,
                            time_limit=time_limit)


def solve_pop(pop, certificate=None, settings: SolverSettings | None = None) -> Result:
    """Relax ``pop`` with ``certificate`` and solve it with ``settings``.

    The whole run, building included, is inside a :class:`polylip.runtime.Deadline` of
    ``settings.time_limit``: a loop that checks it (the chordal extension) stops there, and the
    result is then status "time_limit" without a bound."""
    settings = SolverSettings() if settings is None else settings
    certificate = Putinar() if certificate is None else certificate
    if not isinstance(certificate, (Putinar, Krivine)):  # certificate="putinar": AttributeError
        raise SolverError(f"the certificate must be Putinar(...) or Krivine(...) from "
                          f"polylip.relax.hierarchy, not {certificate!r}")
    start = time.perf_counter()
    try:
        with Deadline(settings.time_limit):
            result = _solve_pop(pop, certificate, settings)
    except TimeLimitReached as exc:
        return Result(status="time_limit", bound=None, order=None, solver=settings.solver,
                      sense=pop.sense, build_seconds=time.perf_counter() - start,
                      method="lp" if isinstance(certificate, Krivine) else "sos",
                      message=f"{exc}; no bound")
    if isinstance(certificate, Putinar):
        # a value or an "unbounded" without proof: a feasible ray of the POP settles it
        # (solve/unbounded.py); within the time left, at most its own small budget
        left = _left(start, settings.time_limit)
        if left is None or left > 0:
            budget = TIME_BUDGET if left is None else min(TIME_BUDGET, left)
            result = settle_unbounded(pop, result, time_budget=budget)
    # a numerical bound above the value at a feasible point is no bound (solve/refute.py)
    return refute_numerical_bound(pop, result)


def _solve_pop(pop, certificate, settings: SolverSettings) -> Result:
    if isinstance(certificate, Putinar):
        start = time.perf_counter()
        result = _solve_scaled(pop, certificate, settings)
        # unbounded variables far from 0 at the candidate: moved there and solved again when
        # the bound is loose (solve/recentre.py), at the order the first solve ended at
        again = certificate if certificate.order not in ("auto", None) or result.order is None else \
            replace(certificate, order=result.order)

        def solve(scaled, limit):
            return _solve_putinar(scaled, again, replace(settings, time_limit=limit))

        return recentre(pop, result, solve, _left(start, settings.time_limit))
    if isinstance(certificate, Krivine) and needs_scaling(pop, box_max=LP_BOX_MAX, timed=True):
        check_linear_inequalities(pop)   # a refusal quotes the constraints as written, not scaled
        scaled, how = scale_pop(pop, timed=True)
        log.info("LP hierarchy in scaled variables (objective / %.3g)", how.objective_scale)
        return how.unscale_result(_solve_krivine(scaled, certificate, settings), pop)
    if isinstance(certificate, Krivine):
        return _solve_krivine(pop, certificate, settings)
    raise SolverError(f"the certificate must be Putinar(...) or Krivine(...), not {certificate!r}")


def _solve_scaled(pop, certificate: Putinar, settings: SolverSettings) -> Result:
    if needs_scaling(pop, timed=True):   # before the solve: stopped at the time limit
        scaled, how = scale_pop(pop, timed=True)
        log.info("solving in scaled variables (objective / %.3g)", how.objective_scale)
        return how.unscale_result(_solve_putinar(scaled, certificate, settings), pop)
    return _solve_putinar(pop, certificate, settings)


def _solve_krivine(pop, certificate, settings: SolverSettings) -> Result:
    """The LP hierarchy of ``pop``: built, then solved in the time left (building counts)."""
    start = time.perf_counter()
    try:
        relaxation = relax_pop(pop, certificate)
    except EmptySetError as exc:
        return _certify_empty(pop, settings, start, str(exc))
    left = _left(start, settings.time_limit)  # building counts, as for the SOS side
    if left is not None and left <= 0:
        return Result(status="time_limit", bound=None, order=None, degree=relaxation.degree,
                      method="lp",
                      solver=settings.solver, sense=pop.sense,
                      build_seconds=time.perf_counter() - start,
                      message=f"stopped at the time limit: building the relaxation took "
                              f"the {settings.time_limit:g} s")
    return _solve_one(relaxation, settings, left)


def _certify_empty(pop, settings: SolverSettings, start: float, why: str) -> Result:
    """The LP hierarchy's building found the polytope empty, in floating point (HiGHS, or a
    bound above its opposite bound): a claim, so the answer is the SOS relaxation's at the
    smallest order instead, which says "infeasible" only with a checked Positivstellensatz
    certificate (for linear constraints it holds the Farkas combinations: constant
    multipliers) and gives its own certified bound where the claim was wrong."""
    left = _left(start, settings.time_limit)
    if left is not None and left <= 0:
        return Result(status="time_limit", bound=None, order=None, method="lp", solver=settings.solver,
                      sense=pop.sense, message=f"{why}; no time left to check it; no bound")
    log.info("%s: checking it with the SOS relaxation at the smallest order", why)
    # (scaled as the SOS path scales: a no-op on a problem the LP path has scaled already)
    res = _solve_scaled(pop, Putinar(order=pop.min_order()), replace(settings, time_limit=left))
    return replace(res, message=f"{why}; the SOS relaxation of order {res.order} instead: {res.message}")


def _solve_fixed(pop, certificate: Putinar, settings: SolverSettings, start: float,
                 time_limit) -> Result:
    """One order: refused at once when the estimate says it cannot end in the time left,
    else built and solved in the time left after building (the limit covers both)."""
    built = _build_or_refuse(pop, certificate, settings, _left(start, time_limit))
    if isinstance(built, Result):
        return built
    left = _left(start, time_limit)
    if left is not None and left <= 0:
        return Result(status="time_limit", bound=None, order=built.order,
                      solver=settings.solver, sense=pop.sense, sparsity=built.blocks.kind,
                      build_seconds=built.build_seconds, sizes=dict(built.sizes),
                      message=f"stopped at the time limit: building the relaxation took "
                              f"{built.build_seconds:.3g} s of the {time_limit:g} s")
    return _solve_one(built, settings, left)


def _bounded(pop) -> bool:
    """Whether every variable of ``pop`` lies in a box its constraints imply."""
    lo, hi = box_from_constraints(pop.nvars, pop.ineqs, pop.eqs, pop.binary_mask, pop.spin_mask)
    return bool(np.isfinite(lo).all() and np.isfinite(hi).all())


def _solve_default(pop, certificate: Putinar, settings: SolverSettings, start: float) -> Result:
    """``order=None``: the smallest order, then (module text) the next ones while the
    relaxation says "unbounded" of a POP whose feasible set is bounded: that claim is then
    about the order (no sum-of-squares certificate there), never about the POP."""
    result = _solve_fixed(pop, certificate, settings, start, settings.time_limit)
    if result.status != "unbounded" or result.certified or result.order is None \
            or not _bounded(pop):
        return result
    first = result.order
    why = (f"order {first} gave no finite bound although the feasible set is bounded (every "
           f"variable lies in a box the constraints imply): no sum-of-squares certificate "
           f"exists at that order")
    for order in range(first + 1, first + AUTO_EXTRA_ORDERS + 1):
        left = _left(start, settings.time_limit)
        if left is not None and left <= 0:
            break
        try:
            nxt = _solve_fixed(pop, replace(certificate, order=order), settings, start,
                               settings.time_limit)
        except RelaxationError as exc:   # too large to build: the answer so far stands
            return replace(result, message=f"{result.message}; {why}; order {order} "
                                           f"refused: {exc}")
        log.info("order=None: order %d ended %s", order, nxt.status)
        if nxt.status != "unbounded":
            return replace(nxt, message=f"{why}, so order {order} was solved (pass order="
                                        f"{first} to keep it): {nxt.message}")
        result = nxt
    return replace(result, message=f"{result.message}; {why}; orders {first}.."
                                   f"{result.order} tried (order=None goes at most "
                                   f"{AUTO_EXTRA_ORDERS} orders up, within the time limit)")


def _solve_putinar(pop, certificate: Putinar, settings: SolverSettings) -> Result:
    start = time.perf_counter()
    if certificate.order is None:
        return _solve_default(pop, certificate, settings, start)
    if certificate.order != "auto":
        return _solve_fixed(pop, certificate, settings, start, settings.time_limit)
    first = pop.min_order()
    last = certificate.max_order or first + AUTO_EXTRA_ORDERS
    if last < first:
        # (as an explicit order below the smallest valid one: refused, not silently raised)
        raise RelaxationError(f"max_order {last} is too low: the problem has degree {pop.degree}, "
                              f"so the smallest valid order is {first}")
    result = numerical = None
    for order in range(first, last + 1):
        left = None
        if settings.time_limit is not None:
            left = settings.time_limit - (time.perf_counter() - start)
            if left <= 0:
                break
        step = replace(certificate, order=order)
        try:
            relaxation = _build_or_refuse(pop, step, settings, left)
        except RelaxationError as exc:  # too large to build: the last order's answer stands
            if result is None:
                raise
            log.info("order='auto': order %d refused (%s)", order, exc)
            result = replace(result, message=f"{result.message}; order {order} refused: {exc}")
            break
        if isinstance(relaxation, Result):  # refused for time: the last answer stands
            if result is None:
                result = relaxation
            else:
                result = replace(result, message=f"{result.message}; order {order} "
                                                 f"{relaxation.message}")
            break
        left = _left(start, settings.time_limit)
        if left is not None and left <= 0:  # building took what was left (as in _solve_fixed)
            why = (f"stopped at the time limit: building the relaxation of order {order} took "
                   f"{relaxation.build_seconds:.3g} s of the {settings.time_limit:g} s")
            result = Result(status="time_limit", bound=None, order=relaxation.order,
                            solver=settings.solver, sense=pop.sense,
                            sparsity=relaxation.blocks.kind,
                            build_seconds=relaxation.build_seconds,
                            sizes=dict(relaxation.sizes), message=why) if result is None else \
                replace(result, message=f"{result.message}; order {order} {why}")
            break
        try:
            step_result = _solve_one(relaxation, settings, left)
        except RelaxationError as exc:  # no solver fits its memory: the last answer stands
            if result is None and numerical is None:
                raise
            log.info("order='auto': order %d refused (%s)", order, exc)
            result = replace(result or numerical, message=f"{(result or numerical).message}; "
                                                          f"order {order} refused: {exc}")
            break
        result = step_result
        log.info("order='auto': order %d ended %s", order, result.status)
        if result.status == "optimal" and not result.certified:
            # a numerical bound only: not where "auto" stops (until the bound is certified);
            # kept in case no higher order answers (the highest such order: the tightest)
            numerical = result
            continue
        if result.status in ("optimal", "infeasible", "time_limit"):
            break
        if result.status == "unbounded" and find_ray(pop, _hints(result, pop),
                                                     time_budget=TIME_BUDGET) is not None:
            break  # the POP itself is unbounded (solve/unbounded.py): no order has a bound
    if result is None:
        return Result(status="time_limit", bound=None, order=None, solver=settings.solver,
                      sense=pop.sense, message="no time left to build a relaxation")
    tried = result.order
    if result.status != "optimal" and numerical is not None:
        result = replace(numerical, message=f"{numerical.message}; order {tried} ended "
                                            f"{result.status}")
    if result.status != "optimal" or not result.certified:
        # the per-order hints name order='auto' itself: say what is left to try instead
        text = (result.message or "").replace(" or order='auto'", "").replace(
            ", order='auto',", ",")
        if tried is not None and tried >= last:
            text += (f"; order='auto' stops at order {last}, its max_order (raise it to go "
                     "further: Putinar(order='auto', max_order=...) from Python, --max-order "
                     "on the command line)")
        result = replace(result, message=f"order='auto' tried orders {first}..{tried}: {text}")
    return result

"""The pipeline run: a POP and a certificate (:class:`~polylip.relax.hierarchy.Putinar` or
:class:`~polylip.relax.hierarchy.Krivine`) become a relaxation, the relaxation goes to a
backend, and a :class:`~polylip.solve.result.Result` comes back. ``POP.solve`` is this.

Two choices are made here, once, for both hierarchies:

* **Sparsity "auto"** (the default of ``POP.solve``): correlative sparsity when its cliques are
  much smaller than the problem, else dense (:func:`polylip.sparsity.choose.choose_sparsity`).
* **Scaling**: a badly scaled POP (wide boxes, coefficients over many orders of magnitude) is
  solved in scaled variables and the result mapped back (:mod:`polylip.solve.scaling`).
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

from polylip.errors import RelaxationError, SolverError
from polylip.relax.hierarchy import AUTO_EXTRA_ORDERS, Krivine, Putinar
from polylip.solve.lp import LPRelaxation
from polylip.solve.relaxation import Relaxation, check_time_limit
from polylip.solve.result import Result
from polylip.solve.scaling import needs_scaling, scale_pop

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
            check_time_limit(self.time_limit)
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


def _solve_one(relaxation, settings: SolverSettings, time_limit) -> Result:
    if isinstance(relaxation, LPRelaxation):
        return relaxation.solve(solver=settings.solver, tol=settings.tol,
                                max_iters=settings.max_iters, verbose=settings.verbose,
                                time_limit=time_limit, strategy=settings.strategy)
    return relaxation.solve(solver=settings.solver, side=settings.side, tol=settings.tol,
                            max_iters=settings.max_iters, verbose=settings.verbose,
                            time_limit=time_limit)


def solve_pop(pop, certificate=None, settings: SolverSettings | None = None) -> Result:
    """Relax ``pop`` with ``certificate`` and solve it with ``settings``."""
    settings = SolverSettings() if settings is None else settings
    certificate = Putinar() if certificate is None else certificate
    if isinstance(certificate, Putinar) and needs_scaling(pop):
        scaled, how = scale_pop(pop)
        log.info("solving in scaled variables (objective / %.3g)", how.objective_scale)
        return how.unscale_result(_solve_putinar(scaled, certificate, settings), pop)
    if isinstance(certificate, Krivine):
        return _solve_one(relax_pop(pop, certificate), settings, settings.time_limit)
    return _solve_putinar(pop, certificate, settings)


def _solve_putinar(pop, certificate: Putinar, settings: SolverSettings) -> Result:
    if certificate.order != "auto":
        return _solve_one(relax_pop(pop, certificate), settings, settings.time_limit)
    start = time.perf_counter()
    first = pop.min_order()
    last = certificate.max_order or first + AUTO_EXTRA_ORDERS
    result = None
    for order in range(first, max(first, last) + 1):
        left = None
        if settings.time_limit is not None:
            left = settings.time_limit - (time.perf_counter() - start)
            if left <= 0:
                break
        step = replace(certificate, order=order)
        try:
            relaxation = relax_pop(pop, step)
        except RelaxationError as exc:  # too large to build: the last order's answer stands
            if result is None:
                raise
            log.info("order='auto': order %d refused (%s)", order, exc)
            result = replace(result, message=f"{result.message}; order {order} refused: {exc}")
            break
        result = _solve_one(relaxation, settings, left)
        log.info("order='auto': order %d ended %s", order, result.status)
        if result.status in ("optimal", "infeasible", "time_limit"):
            break
    if result is None:
        return Result(status="time_limit", bound=None, order=None, solver=settings.solver,
                      sense=pop.sense, message="no time left to build a relaxation")
    if result.status != "optimal":
        result = replace(result, message=f"order='auto' tried orders {first}..{result.order}: "
                                         f"{result.message}")
    return result

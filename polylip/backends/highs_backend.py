"""Solve LPs with HiGHS through ``scipy.optimize.linprog`` (no extra dependency).

The LP form is :class:`polylip.relax.krivine.LPProblem`: ``minimize c @ z s.t. A z = b`` with
``z[0]`` free and ``z[1:] >= 0``. Statuses are mapped explicitly from linprog's status codes
(:data:`STATUS_MAP`); the equality duals (``res.eqlin.marginals``, the sensitivities of the
optimal value to ``b``) are returned as ``eq_duals``.
"""

from __future__ import annotations

import logging
import time

import numpy as np

from polylip.backends.base import BackendSolution
from polylip.runtime import quiet_native_stdout

log = logging.getLogger(__name__)

#: scipy.optimize.linprog status codes -> polylip statuses.
STATUS_MAP = {
    0: "optimal",      # optimization terminated successfully
    1: "inaccurate",   # iteration limit reached ("time_limit" when the message says time)
    2: "infeasible",   # problem appears to be infeasible
    3: "unbounded",    # problem appears to be unbounded
    4: "inaccurate",   # numerical difficulties encountered
}

#: Solver names this backend answers to, and the linprog method each one selects.
METHODS = {"highs": "highs", "highs-ds": "highs-ds", "highs-ipm": "highs-ipm"}


def solve_lp(problem, solver: str = "highs", tol: float | None = None, max_iters: int | None = None,
             verbose: bool = False, time_limit: float | None = None) -> BackendSolution:
    """Solve ``minimize c @ z s.t. A z = b, z[0] free, z[1:] >= 0`` with HiGHS.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> from polylip.relax.krivine import LPProblem
    >>> lp = LPProblem(sp.csr_matrix([[1.0, 1.0]]), np.array([2.0]), np.array([-1.0, 0.0]))
    >>> solve_lp(lp).value
    -2.0
    """
    from scipy.optimize import linprog

    method = METHODS.get(solver, "highs")
    n = problem.nvars
    bounds = np.zeros((n, 2))
    bounds[:, 1] = np.inf
    bounds[0, 0] = -np.inf
    options = dict(disp=bool(verbose), presolve=True)
    if tol is not None:
        options.update(primal_feasibility_tolerance=tol, dual_feasibility_tolerance=tol)
        if method == "highs-ipm":
            options["ipm_optimality_tolerance"] = tol
    if max_iters is not None:
        options["maxiter"] = int(max_iters)
    if time_limit is not None:
        options["time_limit"] = float(time_limit)
    t0 = time.perf_counter()
    try:
        with quiet_native_stdout(not verbose):
            res = linprog(problem.c, A_eq=problem.A.tocsc(), b_eq=problem.b, bounds=bounds,
                          method=method, options=options)
    except (ValueError, MemoryError) as exc:  # malformed data or out of memory
        return BackendSolution("failed", solver, time.perf_counter() - t0,
                               raw_status=type(exc).__name__, message=str(exc))
    seconds = time.perf_counter() - t0
    status = STATUS_MAP.get(int(res.status), "failed")
    if int(res.status) == 1 and "time limit" in str(res.message).lower():
        status = "time_limit"
    raw = f"linprog status {res.status}: {res.message}"
    x = np.asarray(res.x, dtype=float) if res.x is not None else None
    value = float(res.fun) if res.fun is not None and x is not None else None
    duals = None
    eqlin = getattr(res, "eqlin", None)
    if eqlin is not None and getattr(eqlin, "marginals", None) is not None:
        duals = np.asarray(eqlin.marginals, dtype=float)
    log.info("HiGHS (%s): %s in %.3f s", method, raw, seconds)
    return BackendSolution(status, solver, seconds, raw_status=raw, value=value, x=x,
                           eq_duals=duals, message="" if status == "optimal" else raw)

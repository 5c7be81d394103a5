"""Solve LMI problems and LPs through PICOS (CVXOPT by default, or any PICOS solver).

Each LMI is passed as one matrix-valued affine expression ``(G @ x).reshaped((k, k)) + H``
built from a sparse matrix: never entry by entry. Statuses are mapped explicitly from PICOS's
solution states (see :data:`_PRIMAL_STATUS`).
"""

from __future__ import annotations

import logging
import time

import numpy as np

from polylip.backends.base import BackendSolution
from polylip.errors import SolverError
from polylip.relax.conic import LMIProblem, independent_rows

log = logging.getLogger(__name__)


def available_solvers() -> list[str]:
    import picos

    return list(picos.available_solvers())


#: Tolerance handed to CVXOPT when the caller gives none: CVXOPT's own default feasibility
#: tolerance. PICOS's default (1e-8) makes CVXOPT iterate past the point its KKT systems stay
#: well conditioned and end "unknown" on problems it has solved to 1e-7.
CVXOPT_TOL = 1e-7

#: Iteration cap handed to CVXOPT when the caller gives none. PICOS passes no cap at all by
#: default, and CVXOPT then never stops on relaxations with no interior point (measured: the
#: Motzkin polynomial at order 3 ran past 11 minutes; capped, it ends "inaccurate" in 0.3 s).
#: CVXOPT's own documented default is 100; every relaxation in the test suite converges in
#: fewer than 60 iterations.
CVXOPT_MAX_ITERS = 100

#: The "ldl" retry after a "chol" breakdown (see :func:`solve_lmi`) stops after this many
#: iterations. "ldl" factors the whole KKT matrix (the free variables, the equality rows and
#: every entry of every PSD block) densely at each iteration: 1.4-5x the time per iteration of
#: "chol" (measured on GLOBALLib and literature relaxations, 2 cores, load 5-10). Where it
#: recovered it took 15-56 iterations; where it did not it ran to the cap of 100 (122 s on
#: GLOBALLib ex2_1_4's SOS side at order 2, 48-150 s in all on a 3-variable GloptiPoly example).
LDL_MAX_ITERS = 60

#: "ldl" is assumed to cost this many times "chol"'s measured seconds per iteration (the
#: measured ratio was 1.4-5); the retry is skipped when LDL_MAX_ITERS such iterations do not
#: fit in the time left.
LDL_COST_FACTOR = 3.0


def ldl_kkt_size(problem: LMIProblem) -> int:
    """The order of the dense matrix CVXOPT's "ldl" KKT solver factors at each iteration: the
    free variables, the equality rows and the packed entries of every PSD block (its cost is
    cubic in it; "chol" factors a Schur complement over the free variables only).

    Examples
    --------
    >>> from polylip.relax.conic import LMIProblem
    >>> import numpy as np, scipy.sparse as sp
    >>> lmi = LMIProblem(c=np.zeros(2), offset=0.0, G=[sp.csr_matrix((9, 2))], h=[np.zeros(9)],
    ...                  sizes=(3,), A=sp.csr_matrix((1, 2)), b=np.zeros(1))
    >>> ldl_kkt_size(lmi)
    9
    """
    return int(problem.nvars + problem.A.shape[0] + sum(k * (k + 1) // 2 for k in problem.sizes))


def _check_solver(name: str) -> None:
    avail = available_solvers()
    if name not in avail:
        raise SolverError(f"PICOS solver {name!r} is not available; installed PICOS solvers: "
                          f"{', '.join(avail) or 'none'} (plus polylip's own 'clarabel' and 'highs')")


def _options(solver: str, tol: float | None, max_iters: int | None, verbose: bool) -> dict:
    opts = dict(solver=solver, primals=None, duals=None, verbosity=1 if verbose else 0)
    if solver == "cvxopt" and tol is None:
        tol = CVXOPT_TOL
    if solver == "cvxopt":
        # "chol" reduces CVXOPT's KKT system to a Schur complement over the free variables;
        # PICOS's default ("ldl" on the full KKT matrix) factors a dense matrix as large as the
        # PSD cones: a Shor relaxation with a 113 x 113 block took 50 s with "ldl", 1.2 s with
        # "chol" (measured on 2 cores). solve_lmi falls back to "ldl" if "chol" breaks down.
        opts["cvxopt_kktsolver"] = "chol"
    if tol is not None:
        opts.update(abs_prim_fsb_tol=tol, abs_dual_fsb_tol=tol, rel_prim_fsb_tol=tol,
                    rel_dual_fsb_tol=tol, abs_ipm_opt_tol=tol, rel_ipm_opt_tol=tol)
    if solver == "cvxopt" and max_iters is None:
        max_iters = CVXOPT_MAX_ITERS
    if max_iters is not None:
        opts["max_iterations"] = int(max_iters)
    return opts


def _map_status(sol) -> tuple[str, str]:
    """Translate a PICOS solution into (status, raw description)."""
    from picos.modeling import solution as s

    raw = f"claimed={sol.claimedStatus} primal={sol.primalStatus} dual={sol.dualStatus} problem={sol.problemStatus}"
    if sol.problemStatus == s.PS_INFEASIBLE:
        return "infeasible", raw
    if sol.problemStatus == s.PS_UNBOUNDED:
        return "unbounded", raw
    if sol.primalStatus == s.SS_OPTIMAL and sol.dualStatus == s.SS_OPTIMAL:
        return "optimal", raw
    if sol.primalStatus in (s.SS_FEASIBLE, s.SS_PREMATURE, s.SS_UNKNOWN, s.SS_OPTIMAL):
        return "inaccurate", raw
    return "failed", raw


def _solve_once(P, options):
    """One PICOS solve: (solution or None, status, raw status, error message)."""
    import picos

    try:
        sol = P.solve(**options)
    except (ArithmeticError, ValueError, picos.SolutionFailure) as exc:  # solver breakdown
        return None, "failed", type(exc).__name__, str(exc)
    status, raw = _map_status(sol)
    return sol, status, raw, ""


def _iterations(sol) -> int | None:
    """CVXOPT's iteration count of a PICOS solution, when PICOS kept CVXOPT's result."""
    info = getattr(sol, "info", None)
    raw = info.get("cvxopt_sol") if isinstance(info, dict) else None
    it = raw.get("iterations") if isinstance(raw, dict) else None
    return int(it) if isinstance(it, (int, np.integer)) else None


def _ldl_retry(sol, options, seconds: float, time_limit: float | None, elapsed: float) -> str:
    """Why the "ldl" retry after a failed "chol" solve is skipped ("" to run it).

    "chol" that ran to its iteration cap did not break down: the relaxation itself stalls
    (no interior point, a diverging primal), and "ldl" never recovered such a solve in the
    measurements (:data:`LDL_MAX_ITERS`). Nor is it run when its estimated time,
    :data:`LDL_MAX_ITERS` iterations at :data:`LDL_COST_FACTOR` times "chol"'s measured time
    per iteration, exceeds the time left."""
    its = _iterations(sol)
    cap = options.get("max_iterations")
    if its is not None and cap is not None and its >= cap:
        return f"'chol' ran to its {cap} iterations (a stall, not a breakdown)"
    if time_limit is not None:
        left = time_limit - elapsed
        per_iteration = seconds / max(its or 1, 1)
        need = LDL_COST_FACTOR * per_iteration * min(LDL_MAX_ITERS, cap or LDL_MAX_ITERS)
        if need > left:
            return f"about {need:.3g} s needed, {max(left, 0.0):.3g} s left"
    return ""


def solve_lmi(problem: LMIProblem, solver: str = "cvxopt", tol: float | None = None,
              max_iters: int | None = None, verbose: bool = False,
              time_limit: float | None = None, ldl: bool = True) -> BackendSolution:
    """Solve ``minimize c @ x + offset s.t. mat(G_j x + h_j) PSD, A x = b`` with PICOS.

    With CVXOPT, a "chol" solve that breaks down is retried with the "ldl" KKT solver, within
    :data:`LDL_MAX_ITERS` iterations, unless "chol" ran to its iteration cap or the retry
    does not fit in ``time_limit`` (seconds from the call; the caller enforces the deadline
    itself, this only decides whether the retry is worth starting). ``ldl=False``: no retry;
    a breakdown where it would have run is marked ``extra["chol_breakdown"] = True`` (solver
    "auto" then hands the problem to Clarabel, see
    :func:`polylip.backends.registry.solve_sdp`)."""
    import picos

    _check_solver(solver)
    t0 = time.perf_counter()
    A, b, consistent = independent_rows(problem.A, problem.b)
    if not consistent:
        return BackendSolution("infeasible", solver, time.perf_counter() - t0,
                               raw_status="inconsistent equality rows (detected before solving)")
    n = problem.nvars
    P = picos.Problem()
    x = picos.RealVariable("x", n)
    lmis = []
    for G, h, k in zip(problem.G, problem.h, problem.sizes):
        expr = (picos.Constant(G) * x).reshaped((k, k)) + picos.Constant(h.reshape(k, k))
        lmis.append(P.add_constraint(expr >> 0))
    eq = None
    if A.shape[0]:
        eq = P.add_constraint(picos.Constant(A) * x == picos.Constant(b))
    P.set_objective("min", picos.Constant(problem.c).T * x)
    build = time.perf_counter() - t0
    options = _options(solver, tol, max_iters, verbose)
    t_chol = time.perf_counter()
    sol, status, raw, error = _solve_once(P, options)
    breakdown = False
    if status not in ("optimal", "infeasible", "unbounded") and options.get("cvxopt_kktsolver") == "chol":
        skip = _ldl_retry(sol, options, time.perf_counter() - t_chol, time_limit,
                          time.perf_counter() - t0)
        if not skip and not ldl:
            breakdown = True
            log.info("CVXOPT with the 'chol' KKT solver ended %s; no 'ldl' retry (ldl=False)",
                     error or raw)
        elif skip:
            log.info("CVXOPT with the 'chol' KKT solver ended %s; no 'ldl' retry: %s",
                     error or raw, skip)
        else:
            log.info("CVXOPT with the 'chol' KKT solver ended %s; retrying with 'ldl'", error or raw)
            chol = (sol, status, raw, error)
            options["cvxopt_kktsolver"] = "ldl"
            options["max_iterations"] = min(int(options.get("max_iterations") or LDL_MAX_ITERS),
                                            LDL_MAX_ITERS)
            sol, status, raw, error = _solve_once(P, options)
            if sol is None and chol[0] is not None:  # keep chol's point when ldl has none
                sol, status, raw, error = chol
    if sol is None:
        return BackendSolution("failed", solver, time.perf_counter() - t0, raw_status=raw, message=error,
                               extra=dict(chol_breakdown=breakdown))
    seconds = time.perf_counter() - t0
    xval = np.array(x.value, dtype=float).ravel() if x.value is not None else None
    value = float(problem.c @ xval + problem.offset) if xval is not None else None
    duals = None
    if all(c.dual is not None for c in lmis):
        duals = [np.array(c.dual, dtype=float).reshape(k, k) for c, k in zip(lmis, problem.sizes)]
    eq_duals = np.array(eq.dual, dtype=float).ravel() if eq is not None and eq.dual is not None else None
    log.info("PICOS/%s: %s in %.3f s (build %.3f s): primal %.10g", solver, raw, seconds, build,
             value if value is not None else float("nan"))
    return BackendSolution(status, solver, seconds, raw_status=raw, value=value, x=xval,
                           tolerance=options.get("abs_prim_fsb_tol", 1e-8),
                           lmi_duals=duals, eq_duals=eq_duals,
                           extra=dict(build_seconds=build, chol_breakdown=breakdown))

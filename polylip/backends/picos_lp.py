"""Solve LPs through PICOS (CVXOPT by default, or any PICOS LP solver: glpk, gurobi, mosek, ...).

The equality constraints are one vector constraint ``A_rest @ lam + e * theta == b`` built from
one sparse matrix, never scalar by scalar. Statuses are mapped by
:func:`polylip.backends.picos_backend._map_status`.
"""

from __future__ import annotations

import logging
import time

import numpy as np

from polylip.backends.base import BackendSolution
from polylip.backends.picos_backend import _check_solver, _map_status, _options

log = logging.getLogger(__name__)


def _cvxopt_sparse(A):
    import cvxopt

    A = A.tocoo()
    return cvxopt.spmatrix(A.data.astype(float), A.row.astype(int), A.col.astype(int), size=A.shape)


def solve_lp(problem, solver: str = "cvxopt", tol: float | None = None, max_iters: int | None = None,
             verbose: bool = False) -> BackendSolution:
    """Solve ``minimize c @ z s.t. A z = b, z[0] free, z[1:] >= 0`` with PICOS.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> from polylip.relax.krivine import LPProblem
    >>> lp = LPProblem(sp.csr_matrix([[1.0, 1.0]]), np.array([2.0]), np.array([-1.0, 0.0]))
    >>> round(solve_lp(lp).value, 6)
    -2.0
    """
    import picos

    _check_solver(solver)
    t0 = time.perf_counter()
    A = problem.A.tocsc()
    n = problem.nvars
    P = picos.Problem()
    theta = picos.RealVariable("theta")
    lam = picos.RealVariable("lam", n - 1, lower=0)
    first = picos.Constant("e", _cvxopt_sparse(A[:, :1]))
    rest = picos.Constant("A", _cvxopt_sparse(A[:, 1:]))
    eq = P.add_constraint(rest * lam + first * theta == picos.Constant("b", problem.b.reshape(-1, 1)))
    P.set_objective("min", float(problem.c[0]) * theta)
    if np.any(problem.c[1:] != 0):
        P.set_objective("min", float(problem.c[0]) * theta + picos.Constant(problem.c[1:]).T * lam)
    build = time.perf_counter() - t0
    opts = _options(solver, tol, max_iters, verbose)
    try:
        sol = P.solve(**opts)
    except (ArithmeticError, ValueError, picos.SolutionFailure) as exc:  # solver breakdown
        return BackendSolution("failed", solver, time.perf_counter() - t0,
                               raw_status=type(exc).__name__, message=str(exc))
    status, raw = _map_status(sol)
    seconds = time.perf_counter() - t0
    x = None
    if theta.value is not None and lam.value is not None:
        x = np.concatenate([[float(theta.value)], np.array(lam.value, dtype=float).ravel()])
    value = float(problem.c @ x) if x is not None else None
    duals = None
    if eq.dual is not None:
        # PICOS duals of "lhs == rhs" are the multipliers of the Lagrangian; linprog's marginals
        # are d(value)/d(b). For a minimization they agree up to sign: marginals = -PICOS dual.
        duals = -np.array(eq.dual, dtype=float).ravel()
    log.info("PICOS/%s LP: %s in %.3f s (build %.3f s)", solver, raw, seconds, build)
    return BackendSolution(status, solver, seconds, raw_status=raw, value=value, x=x,
                           eq_duals=duals, message="" if status == "optimal" else raw,
                           extra=dict(build_seconds=build))

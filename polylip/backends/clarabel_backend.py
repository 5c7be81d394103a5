"""Solve LMI problems directly with Clarabel (sparse KKT: the path for large sparse relaxations).

Clarabel solves ``minimize q @ x  s.t.  A x + s = b,  s in K``. An LMI ``mat(G x + h) PSD`` is
written in Clarabel's PSD-triangle cone, whose vectorization (pinned down here, once) is the
upper triangle read column by column, with off-diagonal entries multiplied by sqrt(2):
``s = svec(G x + h)``, so ``A = -svec(G)`` and ``b = svec(h)``. Equalities go in a zero cone
first. All matrices are assembled as one sparse CSC matrix; no per-entry Python loop.
"""

from __future__ import annotations

import logging
import time

import numpy as np
import scipy.sparse as sp

from polylip.backends.base import BackendSolution
from polylip.errors import require
from polylip.relax.conic import LMIProblem

log = logging.getLogger(__name__)

SQRT2 = np.sqrt(2.0)


def svec_selector(k: int) -> sp.csr_matrix:
    """Sparse map from a full ``k*k`` (row-major) vector to Clarabel's scaled upper triangle."""
    cols, rows = np.triu_indices(k)  # upper triangle, column-major: for column j, rows i <= j
    order = np.lexsort((cols, rows))  # sort by column (the 'rows' array here), then row
    i, j = cols[order], rows[order]
    scale = np.where(i == j, 1.0, SQRT2)
    return sp.csr_matrix((scale, (np.arange(i.size), i * k + j)), shape=(i.size, k * k))


def svec_to_matrix(v: np.ndarray, k: int) -> np.ndarray:
    """Inverse of :func:`svec_selector` for a symmetric matrix."""
    cols, rows = np.triu_indices(k)
    order = np.lexsort((cols, rows))
    i, j = cols[order], rows[order]
    M = np.zeros((k, k))
    vals = np.where(i == j, v, v / SQRT2)
    M[i, j] = vals
    M[j, i] = vals
    return M


def _status_map(clarabel):
    S = clarabel.SolverStatus
    table = {
        "Solved": "optimal",
        "AlmostSolved": "inaccurate",
        "PrimalInfeasible": "infeasible",
        "DualInfeasible": "unbounded",
        "AlmostPrimalInfeasible": "inaccurate",
        "AlmostDualInfeasible": "inaccurate",
        "MaxIterations": "inaccurate",
        "MaxTime": "inaccurate",
        "NumericalError": "failed",
        "InsufficientProgress": "inaccurate",
        "CallbackTerminated": "failed",
    }
    return {getattr(S, name): status for name, status in table.items() if hasattr(S, name)}


def solve_lmi(problem: LMIProblem, tol: float | None = None, max_iters: int | None = None,
              verbose: bool = False) -> BackendSolution:
    """Solve an :class:`~polylip.relax.conic.LMIProblem` with Clarabel."""
    clarabel = require("clarabel", "the Clarabel backend")
    t0 = time.perf_counter()
    blocks_A, blocks_b, cones = [], [], []
    if problem.neq:
        blocks_A.append(problem.A)
        blocks_b.append(problem.b)
        cones.append(clarabel.ZeroConeT(problem.neq))
    for G, h, k in zip(problem.G, problem.h, problem.sizes):
        sel = svec_selector(k)
        blocks_A.append(-(sel @ G))
        blocks_b.append(sel @ h)
        cones.append(clarabel.PSDTriangleConeT(k) if k > 1 else clarabel.NonnegativeConeT(1))
    A = sp.vstack(blocks_A, format="csc")
    b = np.concatenate(blocks_b)
    n = problem.nvars
    P = sp.csc_matrix((n, n))
    settings = clarabel.DefaultSettings()
    settings.verbose = bool(verbose)
    if tol is not None:
        settings.tol_gap_abs = settings.tol_gap_rel = tol
        settings.tol_feas = tol
    if max_iters is not None:
        settings.max_iter = int(max_iters)
    build = time.perf_counter() - t0
    solver = clarabel.DefaultSolver(P, problem.c, A, b, cones, settings)
    sol = solver.solve()
    seconds = time.perf_counter() - t0
    status = _status_map(clarabel).get(sol.status, "failed")
    raw = str(sol.status)
    x = np.array(sol.x, dtype=float)
    z = np.array(sol.z, dtype=float)
    value = float(problem.c @ x + problem.offset) if status in ("optimal", "inaccurate") else None
    duals = []
    pos = problem.neq
    for k in problem.sizes:
        ntri = k * (k + 1) // 2
        duals.append(svec_to_matrix(z[pos:pos + ntri], k))
        pos += ntri
    log.info("Clarabel: %s in %.3f s (build %.3f s)", raw, seconds, build)
    return BackendSolution(status, "clarabel", seconds, raw_status=raw, value=value,
                           x=x if status in ("optimal", "inaccurate") else None,
                           lmi_duals=duals, eq_duals=z[:problem.neq],
                           extra=dict(build_seconds=build, iterations=sol.iterations))

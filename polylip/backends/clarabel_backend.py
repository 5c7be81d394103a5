"""Solve LMI problems directly with Clarabel (sparse KKT: the path for large sparse relaxations).

Clarabel solves ``minimize q @ x  s.t.  A x + s = b,  s in K``. An LMI ``mat(G x + h) PSD`` is
written in Clarabel's PSD-triangle cone, whose vectorization (pinned down here, once) is the
upper triangle read column by column, with off-diagonal entries multiplied by sqrt(2):
``s = svec(G x + h)``, so ``A = -svec(G)`` and ``b = svec(h)``. Equalities go in a zero cone
first, then one non-negative cone for all 1 x 1 blocks, then one PSD-triangle cone per larger
block. All matrices are assembled as one sparse CSC matrix; no per-entry or per-block Python
loop (only per distinct block size).
"""

from __future__ import annotations

import logging
import time
from functools import lru_cache

import numpy as np
import scipy.sparse as sp

from polylip.backends.base import BackendSolution
from polylip.errors import SolverError, require
from polylip.runtime import call_with_deadline, fork_available, fork_supported, run_forked
from polylip.relax.conic import LMIProblem, triangles

log = logging.getLogger(__name__)

SQRT2 = np.sqrt(2.0)


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
        "MaxTime": "time_limit",
        "NumericalError": "failed",
        "InsufficientProgress": "inaccurate",
        "CallbackTerminated": "failed",
    }
    return {getattr(S, name): status for name, status in table.items() if hasattr(S, name)}


@lru_cache(maxsize=256)
def _svec_order(k: int):
    """For a k x k block: which ``np.triu_indices`` coordinate each svec slot reads, its scale."""
    iu, ju = np.triu_indices(k)
    order = np.lexsort((iu, ju))  # column-major upper triangle: by column j, then row i
    scale = np.where(iu[order] == ju[order], 1.0, SQRT2)
    return order, scale


def _layout(sizes: np.ndarray, offsets: np.ndarray):
    """Row permutation from stacked triangles to Clarabel's cone rows, scales, block order.

    Blocks of size 1 go first (they form one non-negative cone); the others keep their order.
    Returns ``(perm, scale, border, new_offsets)``: cone row ``r`` reads triangle row
    ``perm[r]`` times ``scale[r]``; ``border`` lists the blocks in cone order and
    ``new_offsets[j]`` is the first cone row of block ``j``.
    """
    ntri = sizes * (sizes + 1) // 2
    border = np.concatenate([np.nonzero(sizes == 1)[0], np.nonzero(sizes > 1)[0]])
    new_off = np.empty(sizes.size, dtype=np.int64)
    new_off[border] = np.concatenate([[0], np.cumsum(ntri[border])[:-1]]).astype(np.int64)
    total = int(ntri.sum())
    perm = np.empty(total, dtype=np.int64)
    scale = np.empty(total)
    for k in np.unique(sizes):
        js = np.nonzero(sizes == k)[0]
        order, sc = _svec_order(int(k))
        pos = (new_off[js][:, None] + np.arange(order.size)[None, :]).ravel()
        perm[pos] = (offsets[js][:, None] + order[None, :]).ravel()
        scale[pos] = np.tile(sc, js.size)
    return perm, scale, border, new_off


def _duals(z: np.ndarray, sizes: np.ndarray, new_off: np.ndarray) -> list:
    """Dual matrices of every block (in the problem's block order) from Clarabel's z."""
    out: list = [None] * sizes.size
    for k in np.unique(sizes):
        k = int(k)
        js = np.nonzero(sizes == k)[0]
        order, sc = _svec_order(k)
        iu, ju = np.triu_indices(k)
        i, j = iu[order], ju[order]
        vals = z[(new_off[js][:, None] + np.arange(order.size)[None, :])] / sc[None, :]
        M = np.zeros((js.size, k, k))
        M[:, i, j] = vals
        M[:, j, i] = vals
        for t, b in enumerate(js):
            out[b] = M[t]
    return out


#: Solves whose KKT estimate (:func:`kkt_bytes`) exceeds this run in a forked child whose
#: address space is capped at half the memory (:mod:`polylip.runtime`): Clarabel aborts the
#: whole process when an allocation fails. Below it the fork (about 10-30 ms) is not worth it.
ISOLATE_KKT_BYTES = 256 << 20
#: With a time limit, solves whose KKT estimate exceeds this also run in a forked child, stopped
#: at the deadline: Clarabel checks its own limit only between iterations, and one iteration
#: grows like the 1.5th power of this estimate. Measured (2 cores, dense quartics at order 2,
#: one PSD block): 3.4 MiB 0.2 s per iteration, 18 MiB 1.3 s, 72 MiB 5.3 s; Broyden banded n = 8
#: at order 3 (one 165 x 165 block, 1.5 GiB) spent 396 s in its first iteration with a limit of
#: 60 s. Below 8 MiB an iteration takes well under a second, and the fork (10-30 ms) is not
#: worth it.
DEADLINE_KKT_BYTES = 8 << 20
#: Share of the time left given to Clarabel's own limit when a hard deadline stops the child at
#: the full time left: Clarabel then normally stops first and returns its last iterate (which
#: may still certify a bound); the deadline only acts when one iteration outlasts the rest.
OWN_LIMIT_SHARE = 0.9


def kkt_bytes(sizes) -> int:
    """Memory Clarabel needs for the scaling blocks of its KKT system, in bytes.

    Each PSD-triangle cone of size k contributes a dense block of (k(k+1)/2)^2 entries.
    """
    ntri = np.asarray(sizes, dtype=np.float64)
    ntri = ntri * (ntri + 1) / 2
    return int(8 * float(np.sum(ntri[ntri > 1] ** 2)))


def _memory_limit() -> int:
    """Half of the machine's physical memory (bytes), or 8 GiB if it cannot be read."""
    import os

    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2)
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return 8 << 30


def solve_lmi(problem: LMIProblem, tol: float | None = None, max_iters: int | None = None,
              verbose: bool = False, time_limit: float | None = None,
              refine: bool = True) -> BackendSolution:
    """Solve an :class:`~polylip.relax.conic.LMIProblem` with Clarabel.

    The PSD blocks are read as stacked upper triangles (:func:`polylip.relax.conic.triangles`),
    permuted and scaled to Clarabel's svec order by one sparse row selection; 1 x 1 blocks are
    merged into one non-negative cone. ``refine=False`` turns off Clarabel's iterative
    refinement of each KKT solve (its stopping test is unchanged): for small auxiliary
    problems whose answer is checked afterwards (the exact faces' SDPs: 16-24% of their time).
    """
    clarabel = require("clarabel", "the Clarabel backend")
    t0 = time.perf_counter()
    sizes = np.asarray(problem.sizes, dtype=np.int64)
    need, limit = kkt_bytes(sizes), _memory_limit()
    if need > limit:
        # Clarabel aborts the whole process when an allocation fails (measured: Broyden banded,
        # n = 1,000, order 3, asked for 210 GB), so refuse before calling it.
        raise SolverError(
            f"Clarabel would need about {need / 2**30:.0f} GiB for its KKT system ({sizes.size} PSD "
            f"blocks, the largest {int(sizes.max())} x {int(sizes.max())}), more than the "
            f"{limit / 2**30:.0f} GiB allowed (half the memory); use smaller blocks (term sparsity, "
            "a lower order) or the LP hierarchy")
    Gt, ht, offsets = triangles(problem)
    perm, scale, border, new_off = _layout(sizes, np.asarray(offsets, dtype=np.int64))
    A_psd = -(sp.diags(scale) @ sp.csr_matrix(Gt)[perm])
    b_psd = scale * np.asarray(ht, dtype=float)[perm]
    cones = []
    if problem.neq:
        cones.append(clarabel.ZeroConeT(problem.neq))
    n1 = int((sizes == 1).sum())
    if n1:
        cones.append(clarabel.NonnegativeConeT(n1))
    cones.extend(clarabel.PSDTriangleConeT(int(k)) for k in sizes[border[n1:]])
    A = sp.vstack([sp.csr_matrix(problem.A), A_psd], format="csc") if problem.neq else A_psd.tocsc()
    b = np.concatenate([np.asarray(problem.b, dtype=float), b_psd]) if problem.neq else b_psd
    n = problem.nvars
    P = sp.csc_matrix((n, n))
    settings = clarabel.DefaultSettings()
    settings.verbose = bool(verbose)
    if tol is not None:
        settings.tol_gap_abs = settings.tol_gap_rel = tol
        settings.tol_feas = tol
    if max_iters is not None:
        settings.max_iter = int(max_iters)
    if not refine:
        settings.iterative_refinement_enable = False
    # the hard deadline needs call_with_deadline's worker, which a daemonic process (itself a
    # worker) cannot start: there it would run Clarabel in this process, uncapped by a child,
    # and an allocation failure aborts it (the 3x10 order-2 "sdp" in a 4 GiB worker, once "sdp"
    # passed its default time limit); run_forked's capped child still isolates it there
    hard = (time_limit is not None and np.isfinite(time_limit) and need > DEADLINE_KKT_BYTES
            and fork_available())
    if time_limit is not None:
        left = max(0.0, float(time_limit) - (time.perf_counter() - t0))
        settings.time_limit = left * OWN_LIMIT_SHARE if hard else left
    build = time.perf_counter() - t0
    c = np.asarray(problem.c, dtype=float)

    def run() -> dict:
        sol = clarabel.DefaultSolver(P, c, A, b, cones, settings).solve()
        dual = getattr(sol, "obj_val_dual", None)
        # r_prim / r_dual: the primal and dual residuals of Clarabel's own stopping test
        # (compared with tol_feas for "Solved"); a caller may check an "AlmostSolved" point
        # against a looser tolerance with them (Relaxation._tighter)
        res = [getattr(sol, a, None) for a in ("r_prim", "r_dual")]
        return dict(status=_status_map(clarabel).get(sol.status, "failed"), raw=str(sol.status),
                    x=np.array(sol.x, dtype=float),
                    z=np.array(sol.z, dtype=float), iterations=int(sol.iterations),
                    dual=None if dual is None else float(dual),
                    residuals=None if None in res else tuple(float(r) for r in res))

    if hard or need > ISOLATE_KKT_BYTES and fork_supported():
        # Clarabel aborts the process when an allocation fails, and its real need (the
        # factorization's fill) can be many times the estimate above (measured: a 172 x 172
        # block estimated at 1.8 GB grew past 23 GB); a child with a capped address space
        # fails alone. With a time limit the child is also stopped at the deadline.
        if hard:   # (never in a daemonic process: see where hard is set)
            left = max(0.0, float(time_limit) - (time.perf_counter() - t0))
            step = call_with_deadline(run, left, memory=limit)
            if step.status == "time_limit":
                seconds = time.perf_counter() - t0
                log.info("Clarabel: stopped at the deadline after %.3f s (an iteration outlasted "
                         "its own time limit)", seconds)
                return BackendSolution("time_limit", "clarabel", seconds, raw_status="MaxTime",
                                       message=f"stopped at the time limit of {time_limit:g} s "
                                               "(hard deadline: an iteration outlasted it)")
            how, out = {"done": ("done", step.value), "error": ("error", step.error),
                        "died": ("died", step.message)}[step.status]
        else:
            how, out = run_forked(run, memory=limit)
        if how == "died":
            raise SolverError(
                f"Clarabel stopped ({out}) after {time.perf_counter() - t0:.1f} s, most likely "
                f"out of memory: the relaxation ({sizes.size} PSD blocks, the largest "
                f"{int(sizes.max())} x {int(sizes.max())}) needs more than the "
                f"{limit / 2**30:.0f} GiB allowed (half the memory); use smaller blocks (term "
                "sparsity, a lower order) or the LP hierarchy")
        if how == "error":
            raise out
    else:
        out = run()
    seconds = time.perf_counter() - t0
    status, raw = out["status"], out["raw"]
    x, z = out["x"], out["z"]
    value = dual_value = None
    if status in ("optimal", "inaccurate"):
        # Clarabel's gap test is relative to |q @ x|, which omits the offset (large for sparse
        # relaxations: it grows with n); both objectives are returned and the relaxation
        # reports the conservative one with an accuracy estimate (see Relaxation._result).
        value = float(c @ x + problem.offset)
        dual = out["dual"]
        if dual is not None and np.isfinite(dual):
            dual_value = float(dual) + problem.offset
    duals = _duals(z[problem.neq:], sizes, new_off)
    gap = (abs(value - dual_value) / max(1.0, abs(value))
           if value is not None and dual_value is not None else float("nan"))
    log.info("Clarabel: %s in %.3f s (build %.3f s, %d iterations): primal %.10g, dual %.10g, "
             "relative gap %.2g", raw, seconds, build, out["iterations"],
             value if value is not None else float("nan"),
             dual_value if dual_value is not None else float("nan"), gap)
    return BackendSolution(status, "clarabel", seconds, raw_status=raw, value=value,
                           dual_value=dual_value, tolerance=float(settings.tol_gap_rel),
                           x=x if status in ("optimal", "inaccurate") else None,
                           lmi_duals=duals, eq_duals=z[:problem.neq],
                           extra=dict(build_seconds=build, iterations=out["iterations"],
                                      residuals=out.get("residuals"),
                                      # the improving ray of a "DualInfeasible" (unbounded)
                                      # problem, its certificate (the z of a
                                      # "PrimalInfeasible" one is in lmi_duals/eq_duals)
                                      ray=x if status == "unbounded" else None))

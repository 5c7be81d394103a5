"""Solve LPs with HiGHS's first-order method (PDLP) through ``highspy``: the backend for the
largest Krivine/Handelman LPs, whose interior-point solves fill in (``solver="pdlp"``).

The LP form is :class:`polylip.relax.krivine.LPProblem`: ``minimize c @ z s.t. A z = b`` with
``z[0]`` free and ``z[1:] >= 0``. First-order solutions are accurate to about the tolerance
(1e-7..1e-5 relative), not to round-off: the bound is made valid downstream by the certificate
check (:meth:`polylip.solve.lp.LPRelaxation._result`), which accepts any point, clips it and
subtracts a rigorous bound of what its identity misses.

What is handed to HiGHS
-----------------------
* **The free variable is eliminated first.** In the LiPopt LPs ``z[0] = theta`` appears in one
  row only (the constant monomial, the densest row: every product has a constant term), so
  ``theta = (b_r - A_r z') / a`` is substituted and that row dropped, leaving
  ``min c' z' s.t. A' z' = b', z' >= 0``. HiGHS's presolve does the same reduction, and it is
  what makes PDLP converge: without it (``presolve="off"`` on the original LP) PDLP needed 3,560
  iterations instead of 440 (width 20, sparsity 16, degree 4). Doing it here lets presolve stay
  off (3 s saved at width 80 sparsity 20, same iterations, and warm starts are then honoured).
  A column 0 with several entries is passed as a free variable and presolve is left on.
* The model is passed in one call (:meth:`highspy.Highs.passModel` of a ``HighsLp`` whose CSC
  arrays are numpy arrays), never entry by entry.
* The memory of the copies is estimated before any is made (:func:`estimate_bytes`) and a
  problem above polylip's memory limit (:func:`polylip.runtime.memory_limit`) is refused with
  :class:`~polylip.errors.RelaxationError` naming the sizes and the estimate.

Which first-order solver, measured (highspy 1.16; 2 cores shared with other engineers' jobs,
so wall-clock seconds are noisy: the 80x20 rows ran at load average about 1; LiPopt degree-4
LPs of the CertDNN networks, anchored cliques, seed 0, tolerance 1e-6; "cert" is the
certified bound minus the published LiPopt-4 value):

============================  ===========================  ===========================  ===================
LP (columns, non-zeros)       ``"pdlp"`` (cuPDLP-C)        ``"hipdlp"`` (HiGHS's PDLP)  interior point
============================  ===========================  ===========================  ===================
20x16 (85 k, 1.0 M)           440 it, 2.3 s cpu, +5e-7     680 it, 2.5 s cpu, +4e-7     IPX 26 s, Clarabel 22-63 s
40x20 (458 k, 5.5 M)          760 it, 24 s cpu, -6e-8      760 it, 16.5 s cpu, -5e-8    Clarabel 283-488 s
80x20 (1.08 M, 12.9 M)        960 it, 75-83 s, +1.3e-6     1160 it, 72 s, +2e-8         not run (hours)
============================  ===========================  ===========================  ===================

OR-Tools' PDLP (ortools 9.15, ``primal_dual_hybrid_gradient`` with 2 threads, default
parameters, the same reduced LP, 20x16 degree 4 at 1e-6) needed 3,008 iterations and 14.4 s of
CPU against cuPDLP-C's 440 iterations and 3.1 s (same certified bound to 5e-7), so it is not
used (and it would be one more dependency).

Both HiGHS methods converge in a few hundred to about a thousand iterations, almost
independently of the tolerance (80x20 at 1e-5: 880 iterations instead of 960, certified bound
+2.6e-5 instead of +1.3e-6; HiGHS's PDLP at 1e-5: 1,080 instead of 1,160, +6.6e-6; 20x16 seed 0:
360 at 1e-4 to 1e-5, 440 at 1e-6; seed 1: 480 at 1e-4 with the certified bound +1.0e-4 from
the published one, 520 at 1e-6 with -5e-9; at 3e-4 and 1e-3 the certified bound is 9e-4 and
1.6e-3 off), so the tolerance is a small lever that costs accuracy quickly: the default stays
1e-6; an iteration is a few sparse products with the
matrix, serial on CPU in this highspy (60-80 ms at 12.4 M non-zeros). The HiGHS options
``pdlp_restart_strategy``, ``pdlp_scaling_mode``, ``pdlp_step_size_strategy`` and
``pdlp_cupdlpc_restart_method`` changed nothing (same iterations at 40x20): cuPDLP-C ignores
the scaling ones (``pdlp_scaling_mode`` 0, 1, 4 and ``pdlp_ruiz_iterations`` 0, 40: the same
440 iterations and bound at 20x16); HiGHS's PDLP honours the scaling and its default is best
(Ruiz only: 3,000 iterations, Ruiz + L2: 1,760, default: 680), and ignores the restart
(Halpern) and step-size choices. The dual LP handed to cuPDLP-C needs 600 iterations instead
of 440 (20x16). Restricted masters and column generation: docs/lp.md, "Smaller LPs and other
settings, measured".

cuPDLP-C (``"pdlp"``) is the default for robustness: HiGHS's own PDLP (``"hipdlp"``, new in
highspy 1.16) has somewhat cheaper iterations and a more accurate primal point, but it ran
into its 100,000-iteration cap on a 16-column multilinear LP that cuPDLP-C solves in 720, and
it never detects infeasibility (cuPDLP-C reports "infeasible or unbounded" after 200
iterations); it stays available as ``method="hipdlp"``. HiGHS's interior points are no match
on these LPs (their factorization fills in, see :mod:`polylip.solve.lp_colgen`): IPX 26 s
against 2.3 s at 20x16, and HiPO is not built into this highspy (it falls back to dual
simplex). ``presolve`` is off because the one reduction that matters is done here (see above).

Reformulations measured and not used (20x16 degree 4, same optimum): (a) a free variable
``v_j = M_j mu_j`` per clique for the ``(1 - s_j) q`` columns, 30 % fewer non-zeros but 8x
(cuPDLP-C) / 5x (HiGHS PDLP) more iterations; (b) the spin variables written as
``t = 2u - 1`` with ``u`` binary, 2.4x fewer non-zeros (a product of ``(1 +- t_i) / 2`` has
``2^k`` monomials, of ``u_i`` / ``1 - u_i`` on average ``1.5^k``) but 4x / 1.9x more
iterations: PDLP converges best on the +-1 basis.

When PDLP beats the interior point (for ``solver="auto"``; CPU seconds of the solve, LiPopt
LPs of the CertDNN networks, seed 0, Clarabel against cuPDLP-C at 1e-6; "rows/clique" is the
LP's rows divided by its cliques, which tracks the dense block that each clique brings into
the interior point's factorization):

=============  =========  ===========  ========  ======
LP             non-zeros  rows/clique  Clarabel  PDLP
=============  =========  ===========  ========  ======
40x20 deg 3    262 k      169          1.9       2.5
80x20 deg 3    590 k      190          4.1       6.9
80x10 deg 4    1.21 M     157          ~4        7.6
10x20 deg 4    230 k      194          1.9       0.3
40x30 deg 3    541 k      325          12.8      1.9
80x30 deg 3    1.32 M     395          42.9      5.4
20x16 deg 4    1.02 M     406          20.6      2.3
40x20 deg 4    5.5 M      990          283-488   24
=============  =========  ===========  ========  ======

(``solver="auto"`` now hands these LPs to polylip's own PDLP, :mod:`polylip.backends.pdhg_lp`,
measured faster in CPU time than cuPDLP-C on them; the rule below is unchanged.)

So: PDLP when the LP has more than 200,000 non-zeros and more than 250 rows per clique (the
one exception, 10x20 degree 4, is under 2 s either way); Clarabel otherwise. PDLP's certified
bounds are then within about 1e-6 (relative) of the interior point's, not 1e-9.

Warm starts (``warm_start``, e.g. the previous degree's solution lifted onto the new columns:
``p = p l + p (1 - l)``): cuPDLP-C takes them when presolve is off (a start at the optimum
stops after 0 iterations), HiGHS's PDLP ignores them. They do not pay on these LPs: width 20
sparsity 16, degree 4 started from the lifted degree-3 optimum (primal and duals, objective
1.0152991 against the optimum 1.0152983): 440 iterations, the same as from zero (520 with the
primal point only). So nothing warm-starts automatically.

Statuses are mapped explicitly (:data:`STATUS_MAP`, every ``HighsModelStatus``); a time or
iteration limit, or PDLP stopping short of its tolerances ("Unknown"), is "inaccurate" and the
last primal-dual point is returned, so the certificate check can still certify a bound from it.
Equality duals are returned in linprog's convention (sensitivity of the optimal value to ``b``,
as :mod:`polylip.backends.highs_backend`), checked against it in tests/backends/test_pdlp.py.
"""

from __future__ import annotations

import importlib.util
import logging
import time

import numpy as np
import scipy.sparse as sp

from polylip import runtime
from polylip.backends.base import BackendSolution
from polylip.errors import RelaxationError, require
from polylip.runtime import quiet_native_stdout

log = logging.getLogger(__name__)

#: Solver names this backend answers to and the HiGHS ``solver`` option each one selects.
METHODS = {"pdlp": "pdlp", "cupdlp": "pdlp", "hipdlp": "hipdlp"}

#: Default relative tolerance (HiGHS ``kkt_tolerance``: primal and dual feasibility and the
#: duality gap). See :func:`solve_lp` for how it was chosen.
DEFAULT_TOL = 1e-6

#: PDLP iteration cap when the caller gives none. HiGHS's PDLP does not detect infeasibility (an
#: infeasible 2-row LP ran 49.5 M iterations in 5 s until the time limit; cuPDLP-C stops after
#: 200 with "infeasible or unbounded"), so it always gets a cap; the LiPopt LPs converge in
#: 440-1,200 iterations. At the cap the status is "inaccurate" and the point is still returned.
DEFAULT_MAX_ITERS = 100_000

#: HighsModelStatus name -> polylip status. "inaccurate" statuses return the last point.
STATUS_MAP = {
    "kNotset": "failed",
    "kLoadError": "failed",
    "kModelError": "failed",
    "kPresolveError": "failed",
    "kSolveError": "failed",
    "kPostsolveError": "failed",
    "kModelEmpty": "optimal",            # nothing to optimize (handled before HiGHS is called)
    "kOptimal": "optimal",
    "kInfeasible": "infeasible",
    "kUnboundedOrInfeasible": "failed",  # not decided which: no honest single status
    "kUnbounded": "unbounded",
    "kObjectiveBound": "inaccurate",
    "kObjectiveTarget": "inaccurate",
    "kTimeLimit": "inaccurate",
    "kIterationLimit": "inaccurate",
    "kUnknown": "inaccurate",           # PDLP stopped without meeting its tolerances
    "kSolutionLimit": "inaccurate",
    "kInterrupt": "inaccurate",
    "kHighsInterrupt": "inaccurate",
    "kMemoryLimit": "failed",
}


def available() -> bool:
    """Whether ``highspy`` can be imported (the "auto" rule of :mod:`polylip.backends.registry`
    only chooses PDLP when it can)."""
    return importlib.util.find_spec("highspy") is not None


def estimate_bytes(nrows: int, ncols: int, nnz: int) -> int:
    """Bytes this backend needs beyond the caller's own LP, for an LP of these sizes.

    Our reduced CSC copy (8-byte values, 4-byte indices), HiGHS's model copy (the same), the
    PDLP solver's scaled copy in both orientations, and about 16 vectors of the iterates::

        4 * 12 * nnz + 16 * 8 * (nrows + ncols)

    Measured peaks of a whole run (``ru_maxrss``: build, the LP, this backend and the
    certificate check; benchmarks/bench_lp_pdlp.py, LiPopt degree 4, seed 0): width 80
    sparsity 20 (1.08 M columns, 12.9 M non-zeros): 1.76 GB, of which this estimate is 0.77 GB;
    width 40 sparsity 30 (1.42 M, 17.0 M): 2.29 GB (estimate 1.01 GB); width 80 sparsity 30
    (3.76 M, 45.1 M): 5.85 GB (estimate 2.68 GB). The rest is the LP as built (the build alone
    peaks at 1.0 GB and 3.1 GB for the two width-80 LPs); the estimate of the whole run, made
    before the LP is built, is :func:`polylip.relax.krivine.estimate_peak_bytes`.

    Examples
    --------
    >>> estimate_bytes(92_871, 1_078_560, 12_403_440) // 10**6
    745
    """
    return int(48 * nnz + 128 * (nrows + ncols))


def check_memory(nrows: int, ncols: int, nnz: int) -> int:
    """Raise :class:`~polylip.errors.RelaxationError` when :func:`estimate_bytes` exceeds the
    memory limit (:func:`polylip.runtime.memory_limit`); return the estimate otherwise."""
    need = estimate_bytes(nrows, ncols, nnz)
    runtime.check_memory(
        need, f"solving the LP of {nrows:,} rows, {ncols:,} columns and {nnz:,} non-zeros by PDLP",
        "lower the degree or use smaller cliques", error=RelaxationError)
    return need


def _eliminate_free(problem):
    """``(A', b', c', offset, r, a, z0_row)`` with the free ``z[0]`` substituted out when it has
    a single entry ``a`` in row ``r``, else None.

    Done on the CSC arrays in O(non-zeros) with numpy (no scipy row slicing: ``A[keep]`` of a
    CSC matrix took most of the 3 s this step cost at width 80 sparsity 20, now 0.3 s).
    """
    A = problem.A.tocsc()
    A.sort_indices()
    ptr, idx, val = A.indptr, A.indices, A.data
    if ptr[1] - ptr[0] != 1:
        return None
    r = int(idx[ptr[0]])
    a = float(val[ptr[0]])
    n = A.shape[1] - 1
    ptr = ptr[1:] - ptr[1]
    idx = idx[A.indptr[1]:]
    val = val[A.indptr[1]:]
    hit = np.flatnonzero(idx == r)
    cols = np.searchsorted(ptr, hit, side="right") - 1
    row = np.zeros(n)
    np.add.at(row, cols, val[hit])
    keep = idx != r
    counts = np.diff(ptr) - np.bincount(cols, minlength=n)
    new_idx = idx[keep]
    new_idx -= (new_idx > r).astype(new_idx.dtype)
    new_ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=new_ptr[1:])
    Ar = sp.csc_matrix((val[keep], new_idx, new_ptr), shape=(A.shape[0] - 1, n))
    Ar.has_sorted_indices = True
    c0 = float(problem.c[0])
    cr = np.asarray(problem.c[1:], dtype=float) - (c0 / a) * row
    br = np.delete(np.asarray(problem.b, dtype=float), r)
    offset = c0 * float(problem.b[r]) / a
    return Ar, br, cr, offset, r, a, row


def solve_lp(problem, tol: float | None = None, max_iters: int | None = None,
             verbose: bool = False, time_limit: float | None = None, warm_start=None,
             method: str = "pdlp") -> BackendSolution:
    """Solve ``minimize c @ z s.t. A z = b, z[0] free, z[1:] >= 0`` with HiGHS's PDLP.

    Parameters
    ----------
    tol : relative tolerance (HiGHS ``kkt_tolerance`` and ``pdlp_optimality_tolerance``),
        default :data:`DEFAULT_TOL`.
    max_iters : PDLP iteration cap (``pdlp_iteration_limit``), default :data:`DEFAULT_MAX_ITERS`.
    time_limit : seconds (HiGHS ``time_limit``); at the limit the status is "inaccurate" and the
        last point is returned.
    warm_start : a :class:`BackendSolution` (or a pair ``(x, eq_duals)``) of an LP of the same
        shape, in this LP's variables; honoured by cuPDLP-C (``method="cupdlp"``) only.
    method : "pdlp" (default) or "cupdlp": cuPDLP-C; "hipdlp": HiGHS's own PDLP (see the
        module docstring for the choice).
    Raises :class:`~polylip.errors.RelaxationError` before any copy is made when
    :func:`estimate_bytes` exceeds :func:`polylip.runtime.memory_limit`.

    Examples
    --------
    >>> from polylip.relax.krivine import LPProblem
    >>> lp = LPProblem(sp.csr_matrix([[1.0, 1.0]]), np.array([2.0]), np.array([-1.0, 0.0]))
    >>> round(solve_lp(lp).value, 6)
    -2.0
    """
    highspy = require("highspy", "the PDLP LP backend", "pdlp")
    t0 = time.perf_counter()
    if method not in METHODS:
        raise ValueError(f"unknown PDLP method {method!r}; choose from {sorted(METHODS)}")
    name = method
    tol = DEFAULT_TOL if tol is None else float(tol)
    m, n = problem.A.shape
    need = check_memory(m, n, int(problem.A.nnz))
    reduced = _eliminate_free(problem)
    if reduced is not None:
        Ar, br, cr, offset, r0, a0, row0 = reduced
        lower = np.zeros(Ar.shape[1])
    else:
        Ar = problem.A.tocsc()
        Ar.sort_indices()
        br = np.asarray(problem.b, dtype=float)
        cr = np.asarray(problem.c, dtype=float)
        offset = 0.0
        lower = np.zeros(n)
        lower[0] = -np.inf
    mr, nr = Ar.shape
    if nr == 0:  # nothing to optimize: feasible iff b' = 0
        return _trivial(problem, reduced, br, offset, time.perf_counter() - t0)
    inf = highspy.kHighsInf
    lp = highspy.HighsLp()
    lp.num_col_ = nr
    lp.num_row_ = mr
    lp.col_cost_ = cr
    lp.col_lower_ = np.where(np.isfinite(lower), lower, -inf)
    lp.col_upper_ = np.full(nr, inf)
    lp.row_lower_ = br
    lp.row_upper_ = br
    lp.offset_ = offset
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.num_col_ = nr
    lp.a_matrix_.num_row_ = mr
    lp.a_matrix_.start_ = Ar.indptr
    lp.a_matrix_.index_ = Ar.indices
    lp.a_matrix_.value_ = Ar.data
    with quiet_native_stdout(not verbose):  # HiGHS prints its banner at the first instance
        h = highspy.Highs()
    h.setOptionValue("output_flag", bool(verbose))
    status = h.passModel(lp)
    del lp
    if status == highspy.HighsStatus.kError:
        return BackendSolution("failed", name, time.perf_counter() - t0, raw_status="passModel error",
                               message="HiGHS refused the model (passModel returned an error)")
    h.setOptionValue("solver", METHODS[method])
    h.setOptionValue("presolve", "off" if reduced is not None else "choose")
    h.setOptionValue("kkt_tolerance", tol)
    h.setOptionValue("pdlp_optimality_tolerance", tol)
    h.setOptionValue("pdlp_iteration_limit", int(DEFAULT_MAX_ITERS if max_iters is None else max_iters))
    if time_limit is not None:
        h.setOptionValue("time_limit", max(float(time_limit) - (time.perf_counter() - t0), 1e-3))
    if warm_start is not None:
        _set_warm_start(highspy, h, warm_start, reduced, mr, nr)
    build = time.perf_counter() - t0
    try:
        with quiet_native_stdout(not verbose):  # lines HiGHS prints whatever output_flag says
            h.run()
    except MemoryError as exc:
        return BackendSolution("failed", name, time.perf_counter() - t0, raw_status="MemoryError",
                               message=str(exc))
    seconds = time.perf_counter() - t0
    model_status = h.getModelStatus()
    sname = getattr(model_status, "name", str(model_status))
    status = STATUS_MAP.get(sname, "failed")
    info = h.getInfo()
    iters = int(getattr(info, "pdlp_iteration_count", 0) or 0)
    raw = f"HiGHS {METHODS[method]} {h.modelStatusToString(model_status)} after {iters} iterations"
    sol = h.getSolution()
    x = y = value = dual_value = None
    if sol.value_valid and len(sol.col_value) == nr:
        xr = np.asarray(sol.col_value, dtype=float)
        if reduced is not None:
            z0 = (float(problem.b[r0]) - float(row0 @ xr)) / a0
            x = np.concatenate([[z0], xr])
        else:
            x = xr
        value = float(np.asarray(problem.c, dtype=float) @ x)
    if sol.dual_valid and len(sol.row_dual) == mr:
        yr = np.asarray(sol.row_dual, dtype=float)
        if reduced is not None:
            y = np.insert(yr, r0, float(problem.c[0]) / a0)
        else:
            y = yr
        dual_value = float(np.asarray(problem.b, dtype=float) @ y)
    if status == "optimal" and x is None:
        status = "failed"
    del h
    log.info("HiGHS %s: %s in %.3f s (model %.3f s)", METHODS[method], raw, seconds, build)
    return BackendSolution(status, name, seconds, raw_status=raw, value=value, dual_value=dual_value,
                           tolerance=tol, x=x, eq_duals=y,
                           message="" if status == "optimal" else raw,
                           extra=dict(iterations=iters, model_seconds=build, method=METHODS[method],
                                      estimated_bytes=need, reduced=reduced is not None,
                                      highs_status=sname))


def _trivial(problem, reduced, br, offset, seconds) -> BackendSolution:
    """The LP has no column left after the elimination: feasible iff the other rows read 0 = 0."""
    if br.size and np.abs(br).max() > 0:
        return BackendSolution("infeasible", "pdlp", seconds, raw_status="no columns, b != 0")
    if reduced is None:
        x = np.zeros(problem.nvars)
    else:
        _, _, _, _, r0, a0, _ = reduced
        x = np.array([float(problem.b[r0]) / a0])
    y = np.zeros(problem.A.shape[0])
    if reduced is not None:
        y[reduced[4]] = float(problem.c[0]) / reduced[5]
    value = float(np.asarray(problem.c, dtype=float) @ x)
    return BackendSolution("optimal", "pdlp", seconds, raw_status="no columns", value=value,
                           dual_value=value, x=x, eq_duals=y)


def _set_warm_start(highspy, h, warm, reduced, mr, nr) -> None:
    """Hand a primal-dual start, mapped to the reduced LP, to HiGHS."""
    if isinstance(warm, BackendSolution):
        x, y = warm.x, warm.eq_duals
    else:
        x, y = warm
    if x is None:
        return
    x = np.asarray(x, dtype=float)
    sol = highspy.HighsSolution()
    if reduced is not None:
        x = x[1:]
    if x.size != nr:
        raise ValueError(f"warm start has {x.size} values for {nr} columns")
    sol.col_value = np.maximum(x, 0.0) if reduced is not None else x
    sol.value_valid = True
    if y is not None:
        y = np.asarray(y, dtype=float)
        if reduced is not None:
            y = np.delete(y, reduced[4])
        if y.size == mr:
            sol.row_dual = y
            sol.dual_valid = True
    h.setSolution(sol)


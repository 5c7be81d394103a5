"""The backend registry: every solver polylip can hand a problem to, and every ``solver="auto"``
rule, in one place.

Two kinds of problems reach a backend, both plain values built by :mod:`polylip.relax`:

* an :class:`~polylip.relax.conic.LMIProblem` (a moment-SOS relaxation, from either side, or
  any SDP such as LipSDP): :func:`solve_sdp`;
* an :class:`~polylip.relax.krivine.LPProblem` (the Krivine/Handelman hierarchy, column
  generation masters): :func:`solve_lp`.

Each backend module (one file per solver) translates polylip's settings into the solver's own
options and maps the solver's statuses explicitly to :data:`~polylip.backends.base.STATUSES`.
This module only chooses and dispatches; it never looks at the result.

Adding a backend: write ``polylip/backends/<name>.py`` with a ``solve_lmi(problem, *, tol,
max_iters, verbose, time_limit)`` or ``solve_lp(...)`` returning a
:class:`~polylip.backends.base.BackendSolution`, add its name to :data:`SDP_SOLVERS` or
:data:`LP_SOLVERS` and a branch to :func:`solve_sdp` / :func:`solve_lp`, and tests in
``tests/backends/``.

Examples
--------
>>> choose_lp_solver(nnz=100)
'highs'
>>> choose_lp_solver(nnz=10**6)
'clarabel'
>>> choose_lp_solver(nnz=10**6, rows=40_000, cliques=40)
'pdhg-single'
"""

from __future__ import annotations

import logging
import time

import numpy as np

from polylip.backends import (clarabel_backend, clarabel_lp, highs_backend, highspy_lp, pdhg_lp,
                              picos_backend, picos_lp)
from polylip.backends.base import BackendSolution
from polylip.errors import SolverError
from polylip.runtime import call_with_deadline, fork_available, in_deadline_worker

log = logging.getLogger(__name__)

#: polylip's own SDP backends; any other name is taken as a PICOS solver ("cvxopt", "mosek", ...).
SDP_SOLVERS = ("auto", "clarabel")
#: polylip's own LP backends; any other name is taken as a PICOS LP solver. "highs" is scipy's
#: linprog (HiGHS's choice of simplex or interior point; "highs-ds" dual simplex, "highs-ipm"
#: interior point), "clarabel" an interior point with sparse LDL, and the first-order ones
#: (:data:`FIRST_ORDER_LP_SOLVERS`): HiGHS's PDLP (:mod:`polylip.backends.highspy_lp`) and
#: polylip's own PDLP in numpy/scipy with threaded products (:mod:`polylip.backends.pdhg_lp`;
#: "pdhg" in double precision, "pdhg-single" with float32 products).
LP_SOLVERS = ("auto", "highs", "highs-ds", "highs-ipm", "clarabel", "pdlp", "cupdlp", "hipdlp", "pdhg",
              "pdhg-single")
#: LP backends whose points are first-order accurate (about the tolerance, 1e-7..1e-5): "pdlp"
#: and "cupdlp" are cuPDLP-C, "hipdlp" HiGHS's own PDLP (see :mod:`polylip.backends.highspy_lp`
#: for the choice), "pdhg" / "pdhg-single" polylip's own (:mod:`polylip.backends.pdhg_lp`).
#: Their bounds are made valid by the certificate check of the caller.
FIRST_ORDER_LP_SOLVERS = ("pdlp", "cupdlp", "hipdlp", "pdhg", "pdhg-single")
#: The first-order backends that need ``highspy``.
HIGHSPY_LP_SOLVERS = ("pdlp", "cupdlp", "hipdlp")

# ---------------------------------------------------------------------------------------------
# solver="auto" for SDPs
# ---------------------------------------------------------------------------------------------
#: Clarabel when the side handed to the solver has more than AUTO_CLARABEL_MIN_VARS free
#: variables (CVXOPT's dense Schur complement is cubic in them), or when the relaxation is
#: sparse-shaped: at least AUTO_SPARSE_MIN_BLOCKS PSD blocks, none larger than
#: AUTO_SPARSE_MAX_BLOCK, and more than AUTO_SPARSE_MIN_VARS free variables. Otherwise
#: PICOS/CVXOPT. Measured on these 2-core machines (benchmarks/bench_dense.py and
#: bench_sparse.py): dense quartics with 494-1000 moments solve 3-4x faster in CVXOPT; Broyden
#: tridiagonal with correlative sparsity (blocks of 10) is 30-400x faster in Clarabel from 374
#: free variables on.
AUTO_CLARABEL_MIN_VARS = 1500
AUTO_SPARSE_MIN_BLOCKS = 10
AUTO_SPARSE_MAX_BLOCK = 30
AUTO_SPARSE_MIN_VARS = 200
#: With solver "auto", a CVXOPT "chol" breakdown is retried with CVXOPT's "ldl" KKT solver only
#: when the dense matrix "ldl" factors (:func:`~polylip.backends.picos_backend.ldl_kkt_size`)
#: has at most this order; above it Clarabel solves the same problem instead. "ldl" is cubic in
#: it: GloptiPoly's Lasserre example 2 at order 3 (SOS side, order 1,217) recovers in 56
#: iterations, about 3 s; the digits MLP's lifted Shor relaxation (one 113 x 113 block, order
#: 6,586) took 60 s with "ldl", 1.7 s with Clarabel, the same bound. At 2,500, 60 "ldl"
#: iterations are about 25 s on these 2-core machines (scaled from the first). Below it Clarabel
#: is not the better fallback: on the degenerate sums of squares of
#: tests/solve/test_certificate_face.py "ldl" gives the point the exact faces certify, Clarabel
#: one they do not.
AUTO_LDL_MAX_KKT = 2500

# ---------------------------------------------------------------------------------------------
# solver="auto" for LPs
# ---------------------------------------------------------------------------------------------
#: HiGHS (scipy's linprog) for LPs with at most this many non-zeros in the coefficient matrix,
#: Clarabel (interior point, sparse LDL) above. Measured on the LiPopt LPs of the CertDNN
#: networks (benchmarks/bench_lp_certdnn.py, 2 cores): at 1,760 non-zeros HiGHS 0.010 s,
#: Clarabel 0.009 s; at 12,128: 0.049 s vs 0.019 s; at 31,808: 0.27 s vs 0.04 s; at 0.53 M:
#: 134 s vs 3.6 s. PICOS/CVXOPT is never chosen automatically (0.21 s at 1,760 non-zeros, 12.9 s
#: at 12,128: it forms dense normal equations); it stays available with solver="cvxopt" as an
#: independent cross-check, like any other PICOS LP solver.
AUTO_HIGHS_MAX_NNZ = 2_000
#: A first-order PDLP (:data:`AUTO_FIRST_ORDER`) instead of Clarabel for an
#: LP with more than AUTO_PDLP_MIN_NNZ non-zeros AND more than AUTO_PDLP_MIN_ROWS_PER_CLIQUE rows
#: per clique (the LP's rows divided by the cliques of its sparsity; only known for the Krivine
#: LPs, so an LP of unknown structure stays on the interior point). Why rows per clique: each
#: clique brings a dense block of about that many rows into the interior point's factorization
#: (its cost grows like their cube), while a PDLP iteration costs a few products with the matrix
#: (linear in the non-zeros) and the iteration counts stay at a few hundred to about a thousand.
#: Measured (CPU seconds of the solve, LiPopt LPs of the CertDNN networks, seed 0, Clarabel
#: against cuPDLP-C at tolerance 1e-6; the table in polylip/backends/highspy_lp.py and
#: benchmarks/RESULTS.md "Which LP solver for solver='auto'"): Clarabel faster at 40x20 degree 3
#: (262 k non-zeros, 169 rows/clique: 1.9 s vs 2.5 s), 80x20 degree 3 (590 k, 190: 4.1 vs 6.9),
#: 80x10 degree 4 (1.21 M, 157: 4 vs 7.6); PDLP faster at 40x30 degree 3 (541 k, 325: 12.8 vs
#: 1.9), 80x30 degree 3 (1.32 M, 395: 42.9 vs 5.4), 20x16 degree 4 (1.02 M, 406: 20.6 vs 2.3),
#: 40x20 degree 4 (5.5 M, 990: 283-488 vs 24). The one LP the rule gets wrong, 10x20 degree 4
#: (230 k, 194: Clarabel 1.9 s, PDLP 0.3 s), is under 2 s either way; the non-zero threshold
#: keeps small LPs (where Clarabel's 1e-8 accuracy costs nothing) on the interior point.
AUTO_PDLP_MIN_NNZ = 200_000
AUTO_PDLP_MIN_ROWS_PER_CLIQUE = 250
#: The first-order backend "auto" takes for those LPs: polylip's own PDLP with float32 products
#: (:mod:`polylip.backends.pdhg_lp`), which needs no optional dependency. Measured against
#: cuPDLP-C (highspy) on the LiPopt-4 LPs of the CertDNN networks, seed 0, tolerance 1e-6, the
#: whole run (build, solve, certificate check) in CPU seconds at the same load (about 9-10,
#: benchmarks/RESULTS.md "polylip's own PDLP"): see the table there; the certified bounds of
#: both are within 1e-5 of the published LiPopt-4 values.
AUTO_FIRST_ORDER = "pdhg-single"


def choose_sdp_solver(nvars: int, sizes, requested: str = "auto") -> str:
    """The backend for an SDP with ``nvars`` free variables and PSD blocks of ``sizes``.

    Examples
    --------
    >>> choose_sdp_solver(100, [10, 10])
    'cvxopt'
    >>> choose_sdp_solver(5000, [3])
    'clarabel'
    """
    requested = _name(requested)
    if requested in LP_SOLVERS and requested not in ("auto", "clarabel"):
        # was: "PICOS solver 'highs' is not available; installed PICOS solvers: cvxopt (plus
        # polylip's own 'clarabel' and 'highs')", which contradicts itself (POP QA round)
        raise SolverError(f"solver {requested!r} solves linear programs only (method='lp', "
                          "`polylip solve --method lp`); the moment-SOS hierarchy takes 'auto', "
                          "'clarabel' or a PICOS SDP solver such as 'cvxopt'")
    if requested != "auto":
        return requested
    sizes = list(sizes)
    sparse_shaped = (len(sizes) >= AUTO_SPARSE_MIN_BLOCKS and max(sizes, default=0) <= AUTO_SPARSE_MAX_BLOCK
                     and nvars > AUTO_SPARSE_MIN_VARS)
    return "clarabel" if nvars > AUTO_CLARABEL_MIN_VARS or sparse_shaped else "cvxopt"


def choose_lp_solver(nnz: int, requested: str = "auto", *, rows: int | None = None,
                     cliques: int | None = None) -> str:
    """The backend for an LP whose coefficient matrix has ``nnz`` non-zeros and ``rows`` rows,
    from a relaxation with ``cliques`` cliques (both None when unknown: then never PDLP).

    Examples
    --------
    >>> choose_lp_solver(1_000), choose_lp_solver(300_000, rows=20_000, cliques=100)
    ('highs', 'clarabel')
    >>> choose_lp_solver(10, "PDLP")
    'pdlp'
    """
    requested = _name(requested)
    if requested != "auto":
        return requested
    if nnz <= AUTO_HIGHS_MAX_NNZ:
        return "highs"
    if (rows is not None and cliques and nnz > AUTO_PDLP_MIN_NNZ
            and rows / cliques > AUTO_PDLP_MIN_ROWS_PER_CLIQUE):
        return AUTO_FIRST_ORDER
    return "clarabel"


def _name(solver) -> str:
    if not isinstance(solver, str) or not solver:
        raise SolverError(f"solver must be a name such as 'auto', 'cvxopt', 'clarabel' or "
                          f"'highs', not {solver!r}")
    return solver.lower()


# ---------------------------------------------------------------------------------------------
# dispatch
# ---------------------------------------------------------------------------------------------
def solve_sdp(problem, solver: str = "auto", *, tol: float | None = None,
              max_iters: int | None = None, verbose: bool = False,
              time_limit: float | None = None) -> BackendSolution:
    """Solve an :class:`~polylip.relax.conic.LMIProblem` with the chosen backend.

    ``time_limit`` (seconds) is honoured by every backend: Clarabel's own limit; PICOS solvers
    (CVXOPT has none) run in a forked worker stopped at the deadline
    (:func:`polylip.runtime.call_with_deadline`), which gives status "time_limit" and no value.
    """
    name = choose_sdp_solver(problem.nvars, problem.sizes, solver)
    if problem.nvars == 0:
        return _no_variables(problem, name)
    if name == "clarabel":
        return clarabel_backend.solve_lmi(problem, tol=tol, max_iters=max_iters, verbose=verbose,
                                          time_limit=time_limit)
    # solver "auto": a CVXOPT "chol" breakdown goes to Clarabel, not to CVXOPT's "ldl" retry,
    # when "ldl"'s dense KKT matrix is large (AUTO_LDL_MAX_KKT)
    auto = (_name(solver) == "auto" and name == "cvxopt"
            and picos_backend.ldl_kkt_size(problem) > AUTO_LDL_MAX_KKT)
    t0 = time.perf_counter()
    sol = _with_deadline(lambda: picos_backend.solve_lmi(problem, solver=name, tol=tol,
                                                         max_iters=max_iters, verbose=verbose,
                                                         time_limit=time_limit, ldl=not auto),
                         name, time_limit)
    if not (auto and sol.extra.get("chol_breakdown")):
        return sol
    left = None if time_limit is None else time_limit - (time.perf_counter() - t0)
    if left is not None and left <= 0:
        return sol
    log.info("solver 'auto': CVXOPT's 'chol' broke down (%s); Clarabel on the same problem",
             sol.raw_status)
    out = clarabel_backend.solve_lmi(problem, tol=tol, max_iters=max_iters, verbose=verbose,
                                     time_limit=left)
    out.extra["after"] = f"cvxopt: {sol.raw_status}"
    return out


def solve_lp(problem, solver: str = "auto", *, tol: float | None = None,
             max_iters: int | None = None, verbose: bool = False,
             time_limit: float | None = None, cliques: int | None = None,
             warm_start=None) -> BackendSolution:
    """Solve an :class:`~polylip.relax.krivine.LPProblem` with the chosen backend.

    ``cliques`` (the relaxation's clique count, when known) feeds the "auto" rule
    (:func:`choose_lp_solver`); ``warm_start`` (a :class:`BackendSolution` of an LP of the same
    shape) is passed to the first-order backends only, the others ignore it.
    """
    name = choose_lp_solver(problem.A.nnz, solver, rows=problem.A.shape[0], cliques=cliques)
    if name in ("pdhg", "pdhg-single"):
        out = pdhg_lp.solve_lp(problem, tol=tol, max_iters=max_iters, verbose=verbose,
                               time_limit=time_limit, warm_start=warm_start,
                               precision="single" if name == "pdhg-single" else "double")
        return BackendSolution(out.status, name, out.seconds, raw_status=out.raw_status, value=out.value,
                               dual_value=out.dual_value, tolerance=out.tolerance, x=out.x,
                               eq_duals=out.eq_duals, message=out.message, extra=out.extra)
    if name in HIGHSPY_LP_SOLVERS:
        return highspy_lp.solve_lp(problem, tol=tol, max_iters=max_iters, verbose=verbose,
                                   time_limit=time_limit, method=name, warm_start=warm_start)
    if name in ("highs", "highs-ds", "highs-ipm"):
        return highs_backend.solve_lp(problem, solver=name, tol=tol, max_iters=max_iters,
                                      verbose=verbose, time_limit=time_limit)
    if name == "clarabel":
        return clarabel_lp.solve_lp(problem, tol=tol, max_iters=max_iters, verbose=verbose,
                                    time_limit=time_limit)
    return _with_deadline(lambda: picos_lp.solve_lp(problem, solver=name, tol=tol,
                                                    max_iters=max_iters, verbose=verbose),
                          name, time_limit)


def _no_variables(problem, name: str) -> BackendSolution:
    """An LMI problem with no free variable (a POP whose objective and constraints are constant)
    is a check, not an optimization: feasible when every block is PSD and ``b = 0``, with the
    value ``offset``. Solvers refuse such problems (PICOS: "zero-dimensional axis")."""
    b = np.asarray(problem.b, dtype=float).ravel()
    grams = [np.zeros((k, k)) for k in problem.sizes]
    failed = False
    for j, (h, k) in enumerate(zip(problem.h, problem.sizes)):
        H = np.asarray(h, dtype=float).reshape(k, k)
        w, v = np.linalg.eigh(H) if k else (np.zeros(0), np.zeros((0, 0)))
        if k and w[0] < -1e-12 * max(1.0, float(np.abs(H).max(initial=0.0))):
            grams[j] = np.outer(v[:, 0], v[:, 0])
            failed = True
            break
    bad_b = bool(np.any(np.abs(b) > 1e-12))
    if failed or bad_b:
        # the Farkas ray of this empty problem, for the certify stage to check exactly
        # (solve/infeasibility.py): the eigenvector of a negative eigenvalue of a constant
        # block, or the multipliers b of a non-zero constant equality (was: no ray, so
        # "minimize: 1, subject to: -1 >= 0" ended "inaccurate"; found by the POP QA round)
        return BackendSolution("infeasible", name, 0.0, raw_status="constant problem",
                               lmi_duals=grams if failed else [np.zeros((k, k)) for k in problem.sizes],
                               eq_duals=np.zeros_like(b) if failed else b.copy(),
                               message="no free variable, and the constant constraints fail")
    value = float(problem.offset)
    # the dual point of a problem with no variable: every multiplier zero (the certificate of
    # a constant objective c is f - c = 0, which the certify stage checks exactly)
    duals = [np.zeros((k, k)) for k in problem.sizes]
    return BackendSolution("optimal", name, 0.0, raw_status="constant problem", value=value,
                           dual_value=value, tolerance=0.0, x=np.zeros(0), lmi_duals=duals,
                           eq_duals=np.zeros(len(np.asarray(problem.b))),
                           message="no free variable: the value is the constant objective")


def _with_deadline(run, name: str, time_limit: float | None) -> BackendSolution:
    """Run a backend that has no time limit of its own under a hard deadline."""
    if time_limit is None:
        return run()
    if not fork_available():
        if in_deadline_worker():
            # a worker of call_with_deadline (a step of Lipschitz method "auto"): it cannot
            # fork again, and needs not: it is stopped at its own deadline (the warning below
            # was printed for every such solve). Not any daemonic process: a daemonic Dask
            # worker has no deadline
            log.debug("the %s solve runs under the deadline of this worker", name)
        else:  # no fork on this platform: the limit is checked after
            log.warning("no fork here: the %s solve runs without a hard time limit", name)
        return run()
    out = call_with_deadline(run, float(time_limit))
    if out.status == "done":
        return out.value
    if out.status == "time_limit":
        return BackendSolution("time_limit", name, out.seconds, raw_status="time limit",
                               message=f"stopped at the time limit of {time_limit:g} s")
    if out.status == "error" and out.error is not None:
        raise out.error
    return BackendSolution("failed", name, out.seconds, raw_status="died", message=out.message)

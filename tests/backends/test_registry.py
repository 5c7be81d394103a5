"""The backend registry: its "auto" choices, its dispatch, the time limit every backend
honours, and the constant-problem path."""

import numpy as np
import pytest
import scipy.sparse as sp

from polylip.backends import registry
from polylip.backends.base import STATUSES
from polylip.errors import SolverError
from polylip.relax.conic import LMIProblem
from polylip.relax.krivine import LPProblem


def _lmi_min_x():
    """minimize x s.t. [[x, 1], [1, x]] PSD: value 1 at x = 1."""
    G = sp.csr_matrix(np.array([[1.0], [0.0], [0.0], [1.0]]))
    h = np.array([0.0, 1.0, 1.0, 0.0])
    return LMIProblem(c=np.array([1.0]), offset=0.5, G=(G,), h=(h,), sizes=(2,),
                      A=sp.csr_matrix((0, 1)), b=np.zeros(0))


def _lp():
    """minimize -z0 s.t. z0 + z1 = 2, z1 >= 0: value -2."""
    return LPProblem(sp.csr_matrix([[1.0, 1.0]]), np.array([2.0]), np.array([-1.0, 0.0]))


def test_sdp_auto_rule():
    r = registry
    assert r.choose_sdp_solver(10, [3]) == "cvxopt"
    assert r.choose_sdp_solver(r.AUTO_CLARABEL_MIN_VARS + 1, [3]) == "clarabel"
    sparse = [r.AUTO_SPARSE_MAX_BLOCK] * r.AUTO_SPARSE_MIN_BLOCKS
    assert r.choose_sdp_solver(r.AUTO_SPARSE_MIN_VARS + 1, sparse) == "clarabel"
    assert r.choose_sdp_solver(r.AUTO_SPARSE_MIN_VARS + 1, sparse[:-1]) == "cvxopt"
    assert r.choose_sdp_solver(r.AUTO_SPARSE_MIN_VARS + 1, sparse[:-1] + [r.AUTO_SPARSE_MAX_BLOCK + 1]) == "cvxopt"
    assert r.choose_sdp_solver(5, [2], "MOSEK") == "mosek"


def test_lp_auto_rule(monkeypatch):
    from polylip.backends import highspy_lp

    r = registry
    assert r.choose_lp_solver(r.AUTO_HIGHS_MAX_NNZ) == "highs"
    assert r.choose_lp_solver(r.AUTO_HIGHS_MAX_NNZ + 1) == "clarabel"
    assert r.choose_lp_solver(10, "highs-ipm") == "highs-ipm"
    assert {"pdlp", "cupdlp", "hipdlp", "highs-ipm", "highs-ds"} <= set(r.LP_SOLVERS)
    assert set(r.FIRST_ORDER_LP_SOLVERS) <= set(r.LP_SOLVERS)
    big, per = r.AUTO_PDLP_MIN_NNZ + 1, r.AUTO_PDLP_MIN_ROWS_PER_CLIQUE
    fo = r.AUTO_FIRST_ORDER
    assert fo in r.FIRST_ORDER_LP_SOLVERS and fo not in r.HIGHSPY_LP_SOLVERS  # no optional dependency
    # first-order only when both the non-zeros and the rows per clique are above their thresholds
    assert r.choose_lp_solver(big, rows=80 * (per + 1), cliques=80) == fo
    assert r.choose_lp_solver(big, rows=80 * per, cliques=80) == "clarabel"
    assert r.choose_lp_solver(big - 1, rows=80 * (per + 1), cliques=80) == "clarabel"
    assert r.choose_lp_solver(10**8, rows=10**6, cliques=None) == "clarabel"  # structure unknown
    assert r.choose_lp_solver(10**8, rows=None, cliques=3) == "clarabel"
    assert r.choose_lp_solver(r.AUTO_HIGHS_MAX_NNZ, rows=10**6, cliques=1) == "highs"
    # the LiPopt-4 LPs of the measurements (non-zeros, rows, cliques)
    assert r.choose_lp_solver(12_942_720, rows=92_872, cliques=80) == fo           # 80x20
    assert r.choose_lp_solver(1_210_000, rows=80 * 157, cliques=80) == "clarabel"  # 80x10
    assert r.choose_lp_solver(12_942_720, "Clarabel", rows=92_872, cliques=80) == "clarabel"
    assert r.choose_lp_solver(12_942_720, "pdlp", rows=92_872, cliques=80) == "pdlp"
    monkeypatch.setattr(highspy_lp, "available", lambda: False)  # highspy is not needed for it
    assert r.choose_lp_solver(12_942_720, rows=92_872, cliques=80) == fo


@pytest.mark.parametrize("bad", [None, 3, "", ["clarabel"]])
def test_bad_solver_names(bad):
    with pytest.raises(SolverError):
        registry.choose_sdp_solver(1, [1], bad)
    with pytest.raises(SolverError):
        registry.choose_lp_solver(1, bad)


@pytest.mark.parametrize("solver", ["clarabel", "cvxopt"])
def test_sdp_dispatch(solver):
    out = registry.solve_sdp(_lmi_min_x(), solver)
    assert out.status == "optimal" and out.solver == solver
    assert out.value == pytest.approx(1.5, abs=1e-6)
    assert out.status in STATUSES


@pytest.mark.parametrize("solver", ["highs", "highs-ds", "highs-ipm", "clarabel", "cvxopt"])
def test_lp_dispatch(solver):
    out = registry.solve_lp(_lp(), solver)
    assert out.status == "optimal"
    assert out.value == pytest.approx(-2.0, abs=1e-6)


def test_lp_dispatch_first_order():
    pytest.importorskip("highspy")
    for name in registry.FIRST_ORDER_LP_SOLVERS:
        out = registry.solve_lp(_lp(), name)
        assert out.status == "optimal" and out.solver == name
        assert out.value == pytest.approx(-2.0, abs=1e-5)


def test_constant_sdp_is_a_check():
    G = sp.csr_matrix((4, 0))
    feasible = LMIProblem(c=np.zeros(0), offset=2.0, G=(G,), h=(np.array([1.0, 0, 0, 1.0]),),
                          sizes=(2,), A=sp.csr_matrix((0, 0)), b=np.zeros(0))
    out = registry.solve_sdp(feasible, "cvxopt")
    assert out.status == "optimal" and out.value == 2.0
    infeasible = LMIProblem(c=np.zeros(0), offset=2.0, G=(G,), h=(np.array([1.0, 0, 0, -1.0]),),
                            sizes=(2,), A=sp.csr_matrix((0, 0)), b=np.zeros(0))
    assert registry.solve_sdp(infeasible, "clarabel").status == "infeasible"


def test_time_limit_stops_a_solver_without_one(monkeypatch):
    """CVXOPT has no time limit: the registry runs it under a hard deadline."""
    import time

    from polylip.backends import picos_backend

    def slow(*args, **kwargs):
        time.sleep(30)

    monkeypatch.setattr(picos_backend, "solve_lmi", slow)
    out = registry.solve_sdp(_lmi_min_x(), "cvxopt", time_limit=0.5)
    assert out.status == "time_limit" and out.value is None


def test_time_limit_is_handed_to_clarabel():
    out = registry.solve_sdp(_lmi_min_x(), "clarabel", time_limit=0.0)
    assert out.status in ("time_limit", "optimal")  # a trivial SDP may finish in no time
    out = registry.solve_lp(_lp(), "clarabel", time_limit=60.0)
    assert out.status == "optimal"


def test_milp_backend_statuses_and_limits():
    from polylip.backends.highs_milp import STATUS_MAP, solve_milp

    assert set(STATUS_MAP.values()) <= set(STATUSES)
    rng = np.random.default_rng(0)
    n = 30
    w, v = rng.integers(1, 20, n).astype(float), rng.integers(1, 20, n).astype(float)
    knap = dict(A_ub=sp.csr_matrix(w[None, :]), b_ub=np.array([w.sum() / 3]), lb=np.zeros(n),
                ub=np.ones(n), integrality=np.ones(n))
    full = solve_milp(-v, **knap)
    assert full.status == "optimal" and full.dual_bound <= full.value + 1e-9
    stopped = solve_milp(-v, node_limit=1, **knap)  # a work limit: the same on every machine
    assert stopped.status in ("time_limit", "optimal")
    if stopped.dual_bound is not None:
        assert stopped.dual_bound <= full.value + 1e-9  # still a valid bound on the minimum
    bad = solve_milp(np.ones(1), A_ub=sp.csr_matrix([[1.0]]), b_ub=np.array([-1.0]),
                     lb=np.zeros(1), ub=np.ones(1), integrality=np.ones(1))
    assert bad.status == "infeasible" and bad.dual_bound is None


def test_clarabel_iteration_longer_than_the_limit_is_stopped(monkeypatch):
    """Clarabel checks its own time limit only between iterations; one iteration of a large
    dense block can outlast it many times (Broyden banded n = 8 at order 3: 396 s in its first
    iteration with a limit of 60 s). Above DEADLINE_KKT_BYTES the solve runs in a child
    stopped at the deadline; here a stand-in solver that ignores its time limit."""
    import time

    import clarabel

    from polylip.backends import clarabel_backend

    class Stuck:
        def __init__(self, *args):
            pass

        def solve(self):
            time.sleep(60)

    monkeypatch.setattr(clarabel_backend, "DEADLINE_KKT_BYTES", -1)
    monkeypatch.setattr(clarabel, "DefaultSolver", Stuck)
    out = registry.solve_sdp(_lmi_min_x(), "clarabel", time_limit=0.5)
    assert out.status == "time_limit" and out.value is None


def test_clarabel_under_a_deadline_returns_its_solution(monkeypatch):
    from polylip.backends import clarabel_backend

    direct = registry.solve_sdp(_lmi_min_x(), "clarabel", time_limit=60.0)
    monkeypatch.setattr(clarabel_backend, "DEADLINE_KKT_BYTES", -1)
    forked = registry.solve_sdp(_lmi_min_x(), "clarabel", time_limit=60.0)
    assert forked.status == direct.status == "optimal"
    assert forked.value == pytest.approx(direct.value, abs=1e-9)
    assert np.allclose(forked.x, direct.x)


def test_no_warning_for_a_solve_inside_a_worker_that_has_its_own_deadline(monkeypatch, caplog):
    """Inside a step of Lipschitz method "auto" (a worker of call_with_deadline, stopped at its
    deadline) a CVXOPT solve cannot fork again: it is still under a hard limit, the worker's.
    The warning "no fork here: ... without a hard time limit" was printed for every such solve
    (dozens on stderr in a run of benchmarks/qa_lipschitz_fuzz.py); it stays where it is true
    (no fork on the platform, a daemonic Dask worker)."""
    import logging

    from polylip import runtime
    from polylip.backends import registry

    def run_in_worker():
        records = []

        class Keep(logging.Handler):
            def emit(self, record):
                records.append((record.levelno, record.getMessage()))

        logger = logging.getLogger("polylip.backends.registry")
        logger.addHandler(Keep())
        logger.setLevel(logging.DEBUG)
        assert registry._with_deadline(lambda: 42, "cvxopt", 5.0) == 42
        return records

    if runtime.fork_available():
        done = runtime.call_with_deadline(run_in_worker, 30.0)
        assert done.status == "done", done.message
        assert not [m for level, m in done.value if level >= logging.WARNING]
    monkeypatch.setattr(registry, "fork_available", lambda: False)  # no fork, no deadline
    with caplog.at_level(logging.INFO, logger="polylip.backends.registry"):
        assert registry._with_deadline(lambda: 42, "cvxopt", 5.0) == 42
    assert any("without a hard time limit" in r.getMessage() for r in caplog.records
               if r.levelno == logging.WARNING)


@pytest.mark.parametrize("name", ["highs", "HiGHS", "highs-ipm", "pdlp", "pdhg"])
def test_an_lp_solver_for_the_sos_hierarchy_is_named_as_such(name):
    """`polylip solve --solver highs` (method sos) said "PICOS solver 'highs' is not available
    ... (plus polylip's own 'clarabel' and 'highs')": it is available, for LPs only."""
    with pytest.raises(SolverError, match="solves linear programs only"):
        registry.choose_sdp_solver(10, [3], name)

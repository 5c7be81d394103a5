"""Hard problems on the default path (``POP.solve()``): chained singular, whose minimizer 0 is
degenerate, and the TSSOS polynomial system (a constant objective subject to equalities).

See ``Relaxation._tighter`` (a numerical-only bound is solved again at a tighter tolerance) and
``polylip/solve/feasibility.py`` (a constant objective is a feasibility question), and
``benchmarks/bench_hard_problems.py`` for the measured table.
"""

import time

import numpy as np
import pytest

from polylip import POP
from polylip.model.problems import (TSSOS_POLYNOMIAL_SYSTEM_MIN, TSSOS_POLYNOMIAL_SYSTEM_ORDER,
                                    TSSOS_POLYNOMIAL_SYSTEM_SOLUTIONS, chained_singular,
                                    tssos_polynomial_system)
from polylip.poly import variables
from polylip.solve import feasibility
from polylip.solve.relaxation import TIGHTER_TOL_FACTOR, Relaxation
from polylip.solve.scaling import scale_pop


@pytest.fixture
def float_only(monkeypatch):
    """The certify stage without the exact faces of solve/certificate_rational.py: chained
    singular is then numerical only, the example of the tighter retry's tests."""
    from polylip.solve import extract

    monkeypatch.setattr(extract, "exact_face_certificate", lambda *a, **k: None)


def _default_solve(pop, limit):
    t0 = time.perf_counter()
    res = pop.solve(time_limit=limit)
    return res, time.perf_counter() - t0


def test_chained_singular_100_default_path():
    # the time limit makes it end; the times are in benchmarks/RESULTS.md (no wall-clock
    # assertion: the machine is shared)
    res, _ = _default_solve(chained_singular(100), 120)
    assert res.status == "optimal", res.message
    assert -1e-5 <= res.bound <= 0.0, (res.bound, res.message)   # the minimum is 0
    # certified through exact faces of every block (solve/certificate_rational.py): no float
    # certificate can prove it (docs/relaxations.md, "Why no float certificate")
    assert res.certified, res.message
    assert len(res.certificate.exact) == len(res.certificate.blocks)


def test_chained_singular_100_float_only(float_only):
    res, _ = _default_solve(chained_singular(100), 120)
    assert res.status == "optimal", res.message
    assert abs(res.bound) <= 1e-5, (res.bound, res.message)
    assert res.bound <= res.accuracy  # on the right side of the optimum 0, within its accuracy
    assert not res.certified and "numerical only" in res.message


@pytest.mark.slow
def test_chained_singular_1000_default_path():
    """Certified 0 through the exact faces (solve/certificate_rational.py), with no tighter
    retry (the bound is attained by the rounded candidate 0). About 46 s at load 9, 18 s of
    CPU (RESULTS.md)."""
    res, _ = _default_solve(chained_singular(1000), 300)
    assert res.status == "optimal", res.message
    assert -1e-5 <= res.bound <= 0.0, (res.bound, res.message)
    assert res.certified, res.message


@pytest.mark.slow
def test_chained_singular_1000_float_only(float_only):
    """Within 1e-5 through the tighter retry: Clarabel ends "AlmostSolved" at 1e-10 under the
    2^17 objective scale, at a point that meets the default 1e-8 (Relaxation._meets): -9.3e-7
    (the default-tolerance answer alone was -1.33e-4). About 44 s at load 10 (RESULTS.md)."""
    res, _ = _default_solve(chained_singular(1000), 300)
    assert res.status == "optimal", res.message
    assert abs(res.bound) <= 1e-5, (res.bound, res.message)
    assert res.bound <= res.accuracy


def test_numerical_only_bound_is_solved_again_tighter(monkeypatch, float_only):
    """Chained singular's bound cannot be certified (rank-deficient Gram matrices, variables
    unbounded), so the same side is solved again at TIGHTER_TOL_FACTOR times the tolerance."""
    from polylip.backends import registry

    tols = []
    real = registry.solve_sdp

    def spy(problem, solver="auto", **kw):
        tols.append(kw.get("tol"))
        return real(problem, solver, **kw)

    monkeypatch.setattr(registry, "solve_sdp", spy)
    # as POP.solve hands it over: scaled (objective / 1e5; unscaled, Clarabel breaks down)
    relaxation = Relaxation.build(scale_pop(chained_singular(20))[0], order=2, sparsity="cs")
    res = relaxation.solve(solver="clarabel")
    assert res.status == "optimal" and not res.certified
    assert tols == [None, pytest.approx(TIGHTER_TOL_FACTOR * 1e-8)]
    assert "at tolerance 1e-10" in res.message


def test_a_certified_bound_is_not_solved_again(monkeypatch):
    from polylip.backends import registry

    calls = []
    real = registry.solve_sdp
    monkeypatch.setattr(registry, "solve_sdp",
                        lambda *a, **kw: calls.append(kw.get("tol")) or real(*a, **kw))
    x, = variables("x")
    res = POP(x**4 - 3 * x**2 + x, ineqs=[2 - x, x + 2]).solve(solver="clarabel")
    assert res.status == "optimal" and res.certified
    assert calls == [None]


def test_a_given_tolerance_is_kept(monkeypatch):
    from polylip.backends import registry

    tols = []
    real = registry.solve_sdp
    monkeypatch.setattr(registry, "solve_sdp",
                        lambda *a, **kw: tols.append(kw.get("tol")) or real(*a, **kw))
    Relaxation.build(scale_pop(chained_singular(20))[0], order=2, sparsity="cs").solve(solver="clarabel",
                                                                          side="moment", tol=1e-8)
    assert tols == [1e-8]


# ----------------------------------------------------------------------------- the TSSOS system
def test_tssos_system_solutions_solve_it():
    pop = tssos_polynomial_system()
    for point in TSSOS_POLYNOMIAL_SYSTEM_SOLUTIONS:
        assert pop.is_feasible(point, tol=1e-9)
    ls = tssos_polynomial_system("least_squares")
    assert max(float(ls.evaluate(p)) for p in TSSOS_POLYNOMIAL_SYSTEM_SOLUTIONS) < 1e-12
    with pytest.raises(ValueError):
        tssos_polynomial_system("other")


@pytest.mark.parametrize("solver", ["auto", "clarabel"])
def test_tssos_system_at_order_3_is_feasible(solver):
    """Both solvers broke down on this relaxation (CVXOPT: a division by zero in its scaling
    update; Clarabel: NumericalError at its first iteration), on either side."""
    pop = tssos_polynomial_system()
    res = pop.solve(order=TSSOS_POLYNOMIAL_SYSTEM_ORDER, solver=solver, time_limit=120)
    assert res.status == "optimal", res.message
    assert res.bound == pytest.approx(TSSOS_POLYNOMIAL_SYSTEM_MIN, abs=1e-12)
    assert "relaxation is feasible" in res.message
    # the certificate is f - 1 = 0 with all-zero Gram blocks (an empty block needs no shift)
    assert res.certified, res.message
    assert res.certificate is not None and res.certificate.verify()
    # the trace-minimal moments point at one of the two real solutions
    if res.minimizers:
        point = np.array([res.minimizers[0][v] for v in pop.variables])
        assert min(np.abs(point - np.array(s)).max() for s in TSSOS_POLYNOMIAL_SYSTEM_SOLUTIONS) < 1e-3


def test_all_zero_gram_block_is_certified():
    """An all-zero Gram block is PSD (its minimal eigenvalue bound is +inf, not "not finite")."""
    from polylip.poly import Polynomial
    from polylip.solve.certificate import SOSCertificate

    x = Polynomial.variable("x")
    one = Polynomial.constant(1.0, ("x",))
    basis = np.array([[-1], [0]])
    cert = SOSCertificate(("x",), x**2 + 1, 1.0, ((one, basis, np.diag([0.0, 1.0])),
                                                   (one, basis, np.zeros((2, 2)))))
    cb = cert.certified_bound()
    assert cb.certified and cb.bound == 1.0
    assert cert.sealed().verify()


def test_tssos_system_least_squares_at_order_3():
    pop = tssos_polynomial_system("least_squares")
    res = pop.solve(order=TSSOS_POLYNOMIAL_SYSTEM_ORDER, time_limit=120)
    assert res.status == "optimal", res.message
    assert abs(res.bound) <= 1e-5
    assert res.bound <= res.accuracy


# ----------------------------------------------------------------------------- constant objectives
def test_constant_objective_infeasible_system():
    x, = variables("x")
    res = POP(1 + 0 * x, eqs=[x**2 + 1]).solve(order=1)
    assert res.status == "infeasible" and res.bound is None


def test_constant_objective_infeasible_before_solving():
    x, y = variables("x y")
    # x = 1 and x = 2 at once: the equality rows are inconsistent
    res = POP(5 + 0 * x, eqs=[x - 1, x - 2, y]).solve(order=1)
    assert res.status == "infeasible"


def test_constant_objective_feasible_is_the_constant():
    x, y = variables("x y")
    for sense, value in (("min", 2.0), ("max", -3.0)):
        res = POP(value + 0 * x, eqs=[x**2 + y**2 - 1], sense=sense).solve(order=2)
        assert res.status == "optimal", res.message
        assert res.bound == pytest.approx(value, abs=1e-12)


def test_constant_objective_side_given_takes_the_usual_path(monkeypatch):
    called = []
    monkeypatch.setattr("polylip.solve.relaxation.solve_feasibility",
                        lambda *a, **k: called.append(1))
    x, y = variables("x y")
    POP(1 + 0 * x, eqs=[x**2 + y**2 - 1]).solve(order=1, side="moment")
    assert called == []


def test_trace_objective_is_the_sum_of_the_diagonals():
    x, y = variables("x y")
    relaxation = POP(1 + 0 * x, eqs=[x**2 + y**2 - 1]).relax(order=1)
    assert feasibility.is_feasibility(relaxation.data)
    lmi = relaxation.to_lmi("moment")
    c = feasibility.trace_objective(lmi)
    rng = np.random.default_rng(0)
    z = rng.normal(size=lmi.nvars)
    traces = sum(np.trace((G @ z).reshape(k, k)) for G, k in zip(lmi.G, lmi.sizes))
    assert c @ z == pytest.approx(traces)
    assert not feasibility.is_feasibility(POP(x + 0 * y).relax(order=1).data)


def test_no_tighter_solve_without_the_time_it_takes(monkeypatch, float_only):
    """The tighter retry repeats the first solve with more iterations: it is not started when
    the time left is less than the first solve took (it would be stopped by the solver's own
    deadline after the limit, as sum of x_i^2 at n = 100,000 was)."""
    from dataclasses import replace

    from polylip.backends import registry

    tols = []
    real = registry.solve_sdp

    def slow(problem, solver="auto", **kw):   # as if each solve had taken 1000 s
        tols.append(kw.get("tol"))
        return replace(real(problem, solver, **kw), seconds=1000.0)

    monkeypatch.setattr(registry, "solve_sdp", slow)
    relaxation = Relaxation.build(scale_pop(chained_singular(20))[0], order=2, sparsity="cs")
    res = relaxation.solve(solver="clarabel", time_limit=600)
    assert res.status == "optimal" and not res.certified
    assert tols == [None]
    assert "not solved again at a tighter tolerance" in res.message


def test_meets_the_default_tolerance():
    from polylip.backends.base import BackendSolution

    def sol(raw_status="AlmostSolved", residuals=(1e-9, 2e-9), value=3.9e-11, dual=-7.1e-12):
        return BackendSolution("inaccurate", "clarabel", 1.0, raw_status=raw_status, value=value,
                               dual_value=dual, tolerance=1e-10, extra=dict(residuals=residuals))

    assert "primal residual 1e-09" in Relaxation._meets(sol(), 1e-8)
    assert Relaxation._meets(sol(residuals=(1e-9, 1e-7)), 1e-8) is None       # dual residual
    assert Relaxation._meets(sol(value=1.0, dual=0.9), 1e-8) is None           # the gap
    assert Relaxation._meets(sol(raw_status="MaxIterations"), 1e-8) is None
    assert Relaxation._meets(sol(residuals=None), 1e-8) is None                # not reported
    assert Relaxation._meets(sol(residuals=(float("nan"), 0.0)), 1e-8) is None


@pytest.mark.parametrize("residuals, accepted", [((1e-9, 1e-9), True), ((1e-5, 1e-9), False)])
def test_an_almost_solved_tighter_solve_counts_only_within_the_default(monkeypatch, residuals,
                                                                      accepted, float_only):
    """Clarabel's tighter retry at 1e-10 may stop "AlmostSolved" (chained singular n = 1,000);
    its point is kept only when its own residuals and gap meet the first solve's 1e-8."""
    from dataclasses import replace

    from polylip.backends import registry

    real = registry.solve_sdp

    def almost(problem, solver="auto", **kw):
        out = real(problem, solver, **kw)
        if kw.get("tol") is None:
            return out
        return replace(out, status="inaccurate", raw_status="AlmostSolved",
                       extra=dict(out.extra, residuals=residuals))

    monkeypatch.setattr(registry, "solve_sdp", almost)
    relaxation = Relaxation.build(scale_pop(chained_singular(20))[0], order=2, sparsity="cs")
    res = relaxation.solve(solver="clarabel", side="moment")
    assert res.status == "optimal" and res.bound <= res.accuracy    # 0 is the optimum
    assert ("AlmostSolved at tolerance 1e-10, within the default 1e-08" in res.message) == accepted

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


def _default_solve(pop, limit):
    t0 = time.perf_counter()
    res = pop.solve(time_limit=limit)
    return res, time.perf_counter() - t0


def test_chained_singular_100_default_path():
    res, seconds = _default_solve(chained_singular(100), 120)
    assert res.status == "optimal", res.message
    assert abs(res.bound) <= 1e-5, (res.bound, res.message)
    assert res.bound <= res.accuracy  # on the right side of the optimum 0, within its accuracy
    assert seconds < 60


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason=(
    "objective scale now a power of two (2^17, exact scaling) instead of 1e5: Clarabel's "
    "tighter retry at 1e-10 ends 'inaccurate' (measured 2026-12-01; with 1e5 it was 'Solved' "
    "at -1.58e-6), so the default-tolerance answer -1.013e-9 * 2^17 = -1.33e-4 is kept (at "
    "1e-9: -1.84e-5); numerical only either way (benchmarks/RESULTS.md, chained singular)"))
def test_chained_singular_1000_default_path():
    # about 20 s on an idle 2-core machine, 43 s at load 6: marked slow (run with -m slow)
    res, seconds = _default_solve(chained_singular(1000), 300)
    assert res.status == "optimal", res.message
    assert abs(res.bound) <= 1e-5, (res.bound, res.message)
    assert seconds < 60


def test_numerical_only_bound_is_solved_again_tighter(monkeypatch):
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


def test_no_tighter_solve_without_the_time_it_takes(monkeypatch):
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

"""Dense moment-SOS relaxations against independently known values."""

import itertools

import numpy as np
import pytest
import sympy

from polylip import POP, Polynomial, RelaxationError
from polylip.poly import monomials as mono

x, y, z = sympy.symbols("x y z")


def univariate_minimum(coeffs):
    """Global minimum of a univariate polynomial from the real roots of its derivative."""
    p = np.polynomial.Polynomial(coeffs)
    crit = p.deriv().roots()
    crit = crit[np.abs(crit.imag) < 1e-9].real
    return min(p(crit))


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("solver", ["cvxopt", "clarabel"])
def test_univariate_global_minimum(seed, solver):
    rng = np.random.default_rng(seed)
    deg = 4 + 2 * (seed % 2)
    coeffs = list(rng.standard_normal(deg)) + [1.0 + rng.random()]  # positive leading coefficient
    f = sum(c * x ** k for k, c in enumerate(coeffs))
    res = POP(f).solve(solver=solver)
    assert res.status == "optimal"
    expected = univariate_minimum(coeffs)
    assert res.bound == pytest.approx(expected, rel=1e-6, abs=1e-6)
    # univariate SOS is exact: the bound is certified global
    assert res.is_global
    assert res.candidate_value == pytest.approx(expected, rel=1e-5, abs=1e-5)


def vertex_minimum(f, syms):
    return min(float(f.subs(dict(zip(syms, v)))) for v in itertools.product([-1, 1], repeat=len(syms)))


@pytest.mark.parametrize("n, seed", [(4, 0), (5, 1), (6, 2)])
def test_box_concave_quadratic_is_exact(n, seed):
    """A concave quadratic over a box attains its minimum at a vertex: brute force."""
    rng = np.random.default_rng(seed)
    X = sympy.symbols(f"x0:{n}")
    A = rng.standard_normal((n, n))
    Q = -(A @ A.T) - 0.1 * np.eye(n)
    q = rng.standard_normal(n)
    f = sum(Q[i, j] * X[i] * X[j] for i in range(n) for j in range(n)) + sum(q[i] * X[i] for i in range(n))
    expected = vertex_minimum(f, X)
    pop = POP(f, ineqs=[1 - v ** 2 for v in X])
    bounds = [pop.solve(order=d).bound for d in (1, 2)]
    tol = 1e-6 * max(1.0, abs(expected))  # the 1e-6 relative criterion
    assert bounds[0] <= bounds[1] + tol  # non-decreasing in the order
    assert bounds[1] <= expected + tol
    assert bounds[1] == pytest.approx(expected, rel=1e-6)


def test_maxcut_spin_exact_at_high_order():
    rng = np.random.default_rng(3)
    n = 5
    W = np.triu(rng.integers(0, 4, (n, n)), 1)
    s = sympy.symbols(f"s0:{n}")
    cut = sum(W[i, j] * (1 - s[i] * s[j]) / 2 for i in range(n) for j in range(i + 1, n))
    best = max(float(cut.subs(dict(zip(s, v)))) for v in itertools.product([-1, 1], repeat=n))
    pop = POP(cut, sense="max", spin=s)
    previous = np.inf
    for d in (1, 2, 3):
        res = pop.solve(order=d)
        assert res.status == "optimal"
        assert res.bound >= best - 1e-6  # an upper bound on the maximum
        assert res.bound <= previous + 1e-6  # non-increasing for max
        previous = res.bound
    assert previous == pytest.approx(best, rel=1e-6)


def test_equality_constraint_circle():
    res = POP(x + y, eqs=[x ** 2 + y ** 2 - 1]).solve()
    assert res.status == "optimal"
    assert res.bound == pytest.approx(-np.sqrt(2), rel=1e-6)
    assert res.is_global
    assert res.minimizer["x"] == pytest.approx(-np.sqrt(0.5), abs=1e-5)


def test_maximize_and_constraints_as_relations():
    res = POP(x * y, ineqs=[x ** 2 + y ** 2 <= 2], sense="max").solve()
    assert res.bound == pytest.approx(1.0, rel=1e-6)


def test_infeasible_relaxation_has_no_bound():
    for pop in (POP(x + y, ineqs=[x - 2, 1 - x ** 2]), POP(x + y, eqs=[x ** 2 + 1])):
        for side in ("moment", "sos"):
            res = pop.solve(side=side)
            assert res.status == "infeasible"
            assert res.bound is None


def test_unbounded_relaxation_has_no_bound():
    for pop, order in ((POP(x ** 3), 2), (POP(x + y ** 2), 1)):
        for side in ("moment", "sos"):
            res = pop.solve(order=order, side=side)
            assert res.status == "unbounded"
            assert res.bound is None


def random_quartic_on_box(n, seed):
    rng = np.random.default_rng(seed)
    names = [f"x{i}" for i in range(n)]
    rows = mono.basis(range(n), 4)
    f = Polynomial(names, rows, rng.standard_normal(rows.shape[0]))
    X = sympy.symbols(names)
    return POP(f.to_sympy(), ineqs=[1 - v ** 2 for v in X], variables=X), rng


@pytest.mark.parametrize("seed", range(3))
def test_bound_below_objective_at_feasible_points(seed):
    pop, rng = random_quartic_on_box(4, seed)
    res = pop.solve(order=2)
    assert res.status == "optimal"
    pts = rng.uniform(-1, 1, size=(2000, 4))
    assert res.bound <= pop.evaluate(pts).min() + 1e-7


def test_sides_and_solvers_agree():
    pop, _ = random_quartic_on_box(4, 7)
    relaxation = pop.relax(2)
    bounds = [relaxation.solve(solver=s, side=side).bound
              for s in ("cvxopt", "clarabel") for side in ("moment", "sos")]
    assert np.ptp(bounds) < 1e-5 * max(1, abs(bounds[0]))


def test_sizes_are_reported_before_solving():
    pop = POP(x ** 4 + y ** 4 + z ** 2, ineqs=[1 - x ** 2 - y ** 2])
    sizes = pop.relax(2).sizes
    assert sizes["nmoments"] == 35  # binom(3 + 4, 4)
    assert sizes["psd_sizes"] == [10, 4]
    assert sizes["equality_rows"] == 0


def test_order_validation():
    with pytest.raises(RelaxationError, match="smallest valid order is 2"):
        POP(x ** 4).relax(1)
    with pytest.raises(RelaxationError, match="positive integer"):
        POP(x ** 2).relax(0)


def test_accuracy_brackets_the_optimum_on_an_exact_sparse_relaxation():
    """Chained Wood (optimum 1) is solved exactly by CS at order 2: the bound lies within its
    reported accuracy of the optimum, on every solver and side."""
    from polylip.model.problems import chained_wood

    pop = chained_wood(16)
    for solver, side in (("cvxopt", "moment"), ("cvxopt", "sos"), ("clarabel", "moment"), ("clarabel", "sos")):
        res = pop.solve(order=2, sparsity="cs", solver=solver, side=side)
        assert res.status == "optimal"
        assert res.accuracy is not None and res.accuracy > 0
        assert abs(res.bound - 1.0) <= res.accuracy
        assert res.bound - res.accuracy <= 1.0


def test_side_fallback_when_one_side_stalls():
    """Clarabel stalls on the moment side of generalized Rosenbrock; side="auto" retries the SOS
    side and certifies the bound."""
    from polylip.model.problems import generalized_rosenbrock

    res = generalized_rosenbrock(40).solve(order=2, sparsity="cs", solver="clarabel")
    assert res.status == "optimal"
    assert res.bound == pytest.approx(1.0, abs=1e-6)
    stalled = generalized_rosenbrock(40).solve(order=2, sparsity="cs", solver="clarabel", side="moment")
    assert stalled.status in ("optimal", "inaccurate")
    if stalled.status != "optimal":
        assert stalled.bound is None


def test_clarabel_refuses_relaxations_too_large_for_memory(monkeypatch):
    """Clarabel aborts the process when an allocation fails; polylip refuses beforehand."""
    from polylip import SolverError
    from polylip.backends import clarabel_backend

    monkeypatch.setattr(clarabel_backend, "_memory_limit", lambda: 1000)
    with pytest.raises(SolverError, match="GiB for its KKT system"):
        POP(x ** 4 + y ** 4 - x * y).solve(solver="clarabel")
    assert clarabel_backend.kkt_bytes([3, 1]) == 8 * 36


def test_global_claim_needs_a_feasible_point_at_the_bound():
    """Under term sparsity a rank-one block certifies nothing: is_global only when a feasible
    candidate's value meets the bound (regression: box quartic with cs+ts was called global with
    a gap of 4)."""
    from polylip.model.textformat import load_problem
    from pathlib import Path

    pop = load_problem(Path(__file__).resolve().parents[2] / "examples" / "box_quartic.pop")
    for sparsity in ("dense", "cs+ts"):
        res = pop.solve(sparsity=sparsity)
        assert res.status == "optimal"
        if res.is_global:
            assert abs(res.candidate_value - res.bound) <= 1e-6 * max(1.0, abs(res.bound))
        else:
            assert res.minimizer is None


def test_looser_tolerance_retry_when_every_side_stalls(monkeypatch):
    """When both sides end "inaccurate" at the default tolerance, the closer side is solved once
    more at LOOSER_TOL_FACTOR times it; the bound stays valid and its accuracy reflects the
    looser tolerance. With a tolerance given by the caller there is no retry and no bound."""
    from dataclasses import replace as dc_replace

    from polylip.backends import clarabel_backend
    from polylip.solve import relaxation

    real = clarabel_backend.solve_lmi
    calls = []

    def stalls_at_default(lmi, tol=None, **kw):
        sol = real(lmi, tol=tol, **kw)
        calls.append((lmi.side, tol))
        return dc_replace(sol, status="inaccurate") if tol is None or tol < 1e-8 else sol

    monkeypatch.setattr(clarabel_backend, "solve_lmi", stalls_at_default)
    # the policy under test is the retries: a stalled point whose certificate holds would
    # already be an answer (tested below), so here stalled points certify nothing
    real_certify = relaxation.certify_sos
    monkeypatch.setattr(relaxation, "certify_sos", lambda res, *a: res if res.status != "optimal"
                        else real_certify(res, *a))
    pop = POP(x ** 4 + y ** 4 - x * y + 1)          # minimum 7/8, at x = y = +-1/2
    res = pop.solve(solver="clarabel")
    assert [c[1] for c in calls] == [None, None, relaxation.LOOSER_TOL_FACTOR * 1e-8]
    assert res.status == "optimal" and "tolerance 1e-07" in res.message
    assert res.bound == pytest.approx(0.875, abs=1e-5) and res.bound <= 0.875 + res.accuracy
    assert res.accuracy >= 1e-7

    calls.clear()
    stuck = pop.solve(solver="clarabel", tol=1e-9)
    assert len(calls) == 2 and stuck.status == "inaccurate" and stuck.bound is None


def test_a_stalled_point_that_certifies_is_an_answer(monkeypatch):
    """A solve that ends "inaccurate" at a point whose certificate holds gives that certified
    bound (status "optimal", certified) without further retries."""
    from dataclasses import replace as dc_replace

    from polylip.backends import clarabel_backend

    real = clarabel_backend.solve_lmi
    calls = []

    def stalls(lmi, tol=None, **kw):
        calls.append(lmi.side)
        return dc_replace(real(lmi, tol=tol, **kw), status="inaccurate")

    monkeypatch.setattr(clarabel_backend, "solve_lmi", stalls)
    res = POP(x ** 4 + y ** 4 - x * y + 1).solve(solver="clarabel")
    assert len(calls) == 1
    assert res.status == "optimal" and res.certified
    assert res.bound <= 0.875 and res.bound == pytest.approx(0.875, abs=1e-5)
    assert "stopped short" in res.message


def test_large_clarabel_solves_run_in_a_capped_child(monkeypatch):
    """Above ISOLATE_KKT_BYTES the solve runs in a forked child (polylip.runtime): same bound;
    a child that dies (Clarabel aborting on a failed allocation) gives a SolverError, never a
    dead caller."""
    from polylip import SolverError
    from polylip.backends import clarabel_backend
    from polylip.runtime import fork_supported, run_forked

    if not fork_supported():
        pytest.skip("needs fork")
    pop = POP(x ** 4 + y ** 4 - x * y + 1)
    inproc = pop.solve(solver="clarabel")
    monkeypatch.setattr(clarabel_backend, "ISOLATE_KKT_BYTES", 0)
    child = pop.solve(solver="clarabel")
    assert child.status == inproc.status == "optimal" and child.bound == inproc.bound
    assert run_forked(lambda: __import__("os").abort())[0] == "died"
    monkeypatch.setattr(clarabel_backend, "run_forked", lambda fn, memory=None: ("died", "killed by signal 6"))
    with pytest.raises(SolverError, match="most likely out of memory"):
        pop.solve(solver="clarabel")

"""CS, TS and CS+TS bounds against known optima, brute force and the dense relaxation."""

import itertools

import numpy as np
import pytest
import sympy

from polylip import POP
from polylip.sparsity import Correlative, CorrelativeTerm, Term
from polylip.model.problems import (broyden_tridiagonal, chained_wood,
                                       generalized_rosenbrock)


def test_chain_of_coupled_quartics_cs_below_dense_and_valid():
    x = sympy.symbols("x0:6")
    f = sum((x[i]**2 - 1)**2 for i in range(6)) + sum(x[i] * x[i + 1] for i in range(5)) + x[0]
    pop = POP(f)
    dense = pop.solve(order=2, solver="cvxopt")
    cs = pop.solve(order=2, sparsity="cs", solver="cvxopt")
    csts = pop.solve(order=2, sparsity="cs+ts", solver="cvxopt")
    assert dense.status == cs.status == csts.status == "optimal"
    assert cs.bound <= dense.bound + 1e-6
    assert csts.bound <= cs.bound + 1e-6
    # every bound is below the value at sampled points
    rng = np.random.default_rng(0)
    pts = rng.uniform(-1.5, 1.5, size=(4000, 6))
    assert dense.bound <= pop.evaluate(pts).min() + 1e-9
    assert cs.sparsity == "cs" and csts.sparsity == "cs+ts"


@pytest.mark.parametrize("sparsity", ["cs", "cs+ts", "cs+ts:chordal"])
def test_broyden_tridiagonal_optimum_zero(sparsity):
    res = broyden_tridiagonal(8).solve(order=2, sparsity=sparsity, solver="cvxopt")
    assert res.status == "optimal"
    assert abs(res.bound) < 1e-5


def test_broyden_tridiagonal_clarabel_larger():
    res = broyden_tridiagonal(60).solve(order=2, sparsity="cs", solver="clarabel")
    assert res.status == "optimal" and abs(res.bound) < 1e-4
    assert res.sizes["cliques"] == 58


@pytest.mark.parametrize("sparsity", ["cs", "cs+ts", "cs+ts:chordal"])
def test_generalized_rosenbrock_optimum_one(sparsity):
    res = generalized_rosenbrock(8).solve(order=2, sparsity=sparsity, solver="cvxopt")
    assert res.status == "optimal"
    assert abs(res.bound - 1.0) < 1e-5


def test_chained_wood_clarabel_and_auto():
    pop = chained_wood(16)
    a = pop.solve(order=2, sparsity="cs", solver="clarabel")
    b = pop.solve(order=2, sparsity="cs", solver="cvxopt")
    assert a.status == b.status == "optimal"
    # the solvers' values are this close; the certified bounds are proofs, never above 1
    assert abs(a.numerical_bound - 1.0) < 1e-4 and abs(b.numerical_bound - 1.0) < 1e-5
    assert a.certified and b.certified and a.bound <= 1.0 and b.bound <= 1.0


def test_chordal_term_sparsity_at_scale_is_valid():
    """CS + TS with chordal completion (the benchmark's choice at n = 1,000 .. 10,000) on
    Clarabel: valid bounds close to the known optima, from smaller blocks than CS."""
    for make, optimum, tol in ((broyden_tridiagonal, 0.0, 1e-4), (generalized_rosenbrock, 1.0, 1e-6),
                               (chained_wood, 1.0, 1e-3)):
        res = make(200).solve(order=2, sparsity="cs+ts:chordal", solver="clarabel")
        assert res.status == "optimal", make.__name__
        if res.certified:
            # a proof: never above the optimum; what certification takes off the solver's value
            # is part of the accuracy (Rosenbrock: the moment side stalls at AlmostSolved, and
            # its point certifies 0.99896, preferred to the SOS side's uncertified 1.0000000054)
            assert res.bound <= optimum and optimum - res.bound <= max(tol, res.accuracy)
        else:
            assert res.bound <= optimum + res.accuracy and abs(res.bound - optimum) < tol


def _maxcut(n, seed):
    rng = np.random.default_rng(seed)
    edges = [(i, (i + 1) % n) for i in range(n)] + [(0, n // 2)]
    w = rng.uniform(0.5, 2.0, size=len(edges))
    s = sympy.symbols(f"s0:{n}")
    f = sum(wk * (1 - s[i] * s[j]) / 2 for wk, (i, j) in zip(w, edges))
    best = max(sum(wk * (1 - v[i] * v[j]) / 2 for wk, (i, j) in zip(w, edges))
               for v in itertools.product((-1, 1), repeat=n))
    return POP(f, sense="max", spin=s), best


@pytest.mark.parametrize("seed", [0, 1])
def test_maxcut_spin_cs_exact_against_brute_force(seed):
    # The chordal extension of a cycle with a chord has triangle cliques; order 2 is exact on
    # each triangle (3 spin variables) and the cliques satisfy the running intersection
    # property, so the CS bound is the max cut itself.
    pop, best = _maxcut(7, seed)
    cs = pop.solve(order=2, sparsity="cs", solver="cvxopt")
    assert cs.status == "optimal"
    assert max(len(c) for c in pop.relax(2, "cs").blocks.cliques) == 3
    assert abs(cs.bound - best) < 1e-5
    shor = pop.solve(order=1, solver="cvxopt")
    assert shor.status == "optimal" and shor.bound >= best - 1e-6
    csts = pop.solve(order=2, sparsity="cs+ts", solver="cvxopt")
    assert csts.status == "optimal" and csts.bound >= cs.bound - 1e-6


def _ts_gap_problem():
    # found by search: TS step 1 is strictly weaker than the dense bound
    x = sympy.symbols("x0:4")
    f = -3 * x[0] * x[1] * x[3] + 3 * x[0] * x[1] + 2 * x[0] + x[2] - 3 * x[3]**3
    return POP(f, ineqs=[1 - x[0]**2 - x[1]**2, 1 - x[2]**2 - x[3]**2])


def test_ts_bounds_non_decreasing_and_reach_dense():
    pop = _ts_gap_problem()
    dense = pop.solve(order=2, solver="cvxopt").bound
    bounds, converged = [], []
    for steps in (1, 2, 3):
        r = pop.relax(2, Term("block", steps))
        res = r.solve(solver="cvxopt")
        assert res.status == "optimal"
        bounds.append(res.bound)
        converged.append(r.blocks.info["ts"]["converged"])
    assert all(b2 >= b1 - 1e-7 for b1, b2 in zip(bounds, bounds[1:]))
    assert bounds[0] < dense - 1e-2  # step 1 is weaker here
    assert converged[-1]
    assert abs(bounds[-1] - dense) < 1e-6
    chordal = [pop.solve(order=2, sparsity=Term("chordal", s), solver="cvxopt").bound for s in (1, 2)]
    assert chordal[1] >= chordal[0] - 1e-7
    assert all(c <= dense + 1e-6 for c in chordal)


def test_cs_ts_steps_reach_cs_bound():
    x = sympy.symbols("x0:6")
    f = sum(-3 * x[i] * x[i + 1] * x[i + 2] + 2 * x[i] - x[i + 2]**3 for i in range(4))
    pop = POP(f, ineqs=[1 - x[i]**2 - x[i + 1]**2 for i in range(5)])
    cs = pop.solve(order=2, sparsity="cs", solver="cvxopt").bound
    prev = -np.inf
    for steps in (1, 2, 3):
        r = pop.relax(2, CorrelativeTerm(Correlative(), Term("block", steps)))
        res = r.solve(solver="cvxopt")
        assert res.status == "optimal" and res.bound >= prev - 1e-7 and res.bound <= cs + 1e-6
        prev = res.bound
    assert r.blocks.info["ts"]["converged"]
    assert abs(prev - cs) < 1e-6


def test_solvers_agree_with_many_small_blocks():
    # TS gives 1x1 blocks: Clarabel gets them as one non-negative cone
    pop = _ts_gap_problem()
    r = pop.relax(2, Term("block", 1))
    assert 1 in r.sizes["psd_sizes"]
    a = r.solve(solver="clarabel")
    b = r.solve(solver="cvxopt")
    assert a.status == b.status == "optimal"
    assert abs(a.bound - b.bound) < 1e-5
    c = r.solve(solver="clarabel", side="sos")
    assert c.status == "optimal" and abs(c.bound - b.bound) < 1e-5

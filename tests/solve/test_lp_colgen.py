"""Delayed column generation (polylip.solve.lp_colgen) gives the bound of the direct LP."""

import itertools
import os

import numpy as np
import pytest
import sympy

from polylip import POP, Polynomial, SolverError
from polylip.solve import lp_colgen
from polylip.solve.lp import LPRelaxation, LPSparsity

x, y, z, w = sympy.symbols("x y z w")
from support.reference import NETS


def lipopt_relaxation(width, sparsity, seed, degree):
    W, c = (np.load(os.path.join(NETS, f"w{width}_s{sparsity}.npz"))[k][seed] for k in ("W", "c"))
    h, n = W.shape
    names = [f"t{i}" for i in range(n)] + [f"s{j}" for j in range(h)]
    J, I = np.nonzero(W)
    pop = POP(Polynomial(names, np.stack([I, n + J], 1), W[J, I] * c[J]), sense="max",
              variables=names, spin=names[:n], binary=names[n:])
    cl = [[n + j] + np.flatnonzero(W[j]).tolist() for j in range(h)]
    spars = LPSparsity.of(pop, cl, anchors=[n + j for j in range(h)])
    return LPRelaxation.build(pop, degree=degree, sparsity=spars)


@pytest.fixture
def small_batches(monkeypatch):
    # a few columns per round, so the pricing has to find most of the basis over many rounds
    monkeypatch.setattr(lp_colgen, "MIN_BATCH", 3)
    monkeypatch.setattr(lp_colgen, "GROWTH", 0.0)
    monkeypatch.setattr(lp_colgen, "MAX_ITERATIONS", 400)


@pytest.mark.parametrize("seed", range(3))
def test_colgen_equals_direct_on_small_box_problems(seed, small_batches):
    rng = np.random.default_rng(seed)
    f = sum(rng.normal() * x**i * y**j for i in range(4) for j in range(4) if 0 < i + j <= 3)
    pop = POP(f, ineqs=[x + 1, 2 - x, y + 1, 2 - y])
    R = LPRelaxation.build(pop, degree=4)
    direct = R.solve(solver="highs", strategy="direct")
    cg = R.solve(solver="highs", strategy="colgen")
    assert direct.status == cg.status == "optimal"
    assert cg.bound == pytest.approx(direct.bound, abs=1e-6)
    raw = lp_colgen.solve_colgen(R, solver="highs", max_iterations=400)
    hist = raw.extra["colgen"]
    assert raw.status == "optimal" and len(hist) >= 3  # columns found by pricing, round after round
    assert 0 < raw.extra["master_columns"] <= R.nproducts
    assert all(h["min_reduced_cost"] < 0 for h in hist[:-1])


@pytest.mark.parametrize("seed", range(2))
def test_colgen_binary_spin_multilinear(seed, small_batches):
    rng = np.random.default_rng(seed)
    f = sum(rng.normal() * sympy.Mul(*S) for r in range(1, 3) for S in itertools.combinations([x, y, z, w], r))
    pop = POP(f, sense="max", binary=[x, y], spin=[z, w])
    for k in (2, 3):
        R = LPRelaxation.build(pop, degree=k)
        a, b = R.solve(strategy="direct"), R.solve(strategy="colgen")
        assert b.status == "optimal" and b.bound == pytest.approx(a.bound, abs=1e-6)


@pytest.mark.parametrize("width,sparsity,degree", [(10, 8, 3), (10, 8, 4), (20, 8, 3), (20, 8, 4)])
def test_colgen_equals_direct_on_certdnn(width, sparsity, degree):
    if not os.path.exists(os.path.join(NETS, f"w{width}_s{sparsity}.npz")):
        pytest.skip("CertDNN reference networks not available")
    R = lipopt_relaxation(width, sparsity, 0, degree)
    a, b = R.solve(strategy="direct"), R.solve(strategy="colgen")
    assert a.status == b.status == "optimal"
    assert b.bound == pytest.approx(a.bound, abs=1e-6)
    assert b.bound >= a.bound - 1e-9 - 1e-6  # never (noticeably) tighter than the direct LP


def test_colgen_unconverged_reports_no_bound():
    pop = POP(x * y - x + y / 2, ineqs=[x + 1, 1 - x, y + 1, 1 - y])
    R = LPRelaxation.build(pop, degree=3)
    res = R.solve(solver="highs", strategy="colgen", max_iters=1)
    assert res.status == "inaccurate" and res.bound is None
    assert "column generation" in res.message


def test_strategy_choice():
    pop = POP(x * y, ineqs=[x + 1, 1 - x, y + 1, 1 - y])
    R = LPRelaxation.build(pop, degree=2)
    assert R.choose_strategy("auto") == "direct"
    assert R.choose_strategy("colgen") == "colgen"
    with pytest.raises(SolverError):
        R.solve(strategy="columns")
    assert R.solve(strategy="colgen").bound == pytest.approx(-1.0, abs=1e-7)

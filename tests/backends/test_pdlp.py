"""The PDLP backend (polylip.backends.highspy_lp) and the certificate check behind it: bounds
valid whatever the solver's accuracy, close to the interior-point ones, never above known
optima; explicit statuses; limits that stop the solver still give a valid bound or none."""

import itertools
import os

import numpy as np
import pytest
import scipy.sparse as sp
import sympy

pytest.importorskip("highspy")

from polylip import POP, Polynomial, RelaxationError  # noqa: E402
from polylip.backends import highs_backend, highspy_lp  # noqa: E402
from polylip.backends.base import STATUSES, BackendSolution  # noqa: E402
from polylip.relax.krivine import LPProblem  # noqa: E402
from polylip.solve.lp import LPRelaxation, LPSparsity  # noqa: E402
from support.reference import NETS  # noqa: E402

x, y, z, w = sympy.symbols("x y z w")


def box(vars_, lo=-1.0, hi=1.0):
    return [v - lo for v in vars_] + [hi - v for v in vars_]


def grid_min(pop, lo, hi, n=41):
    """min of the objective on a grid of the box (endpoints included): >= the true minimum."""
    axes = [np.unique(np.concatenate([np.linspace(a, b, n), [a, b]])) for a, b in zip(lo, hi)]
    pts = np.stack([g.ravel() for g in np.meshgrid(*axes, indexing="ij")], axis=1)
    return float(pop.objective.evaluate(pts).min())


def agree(pd, ref):
    """PDLP's certified bound lies within its reported accuracy of the interior-point bound."""
    assert pd.bound is not None and ref.bound is not None
    assert abs(pd.bound - ref.bound) <= pd.accuracy + 1e-7 * max(1.0, abs(ref.bound))


def test_every_highs_status_is_mapped():
    import highspy

    names = set(highspy.HighsModelStatus.__members__)
    assert names <= set(highspy_lp.STATUS_MAP)
    assert set(highspy_lp.STATUS_MAP.values()) <= set(STATUSES)
    assert highspy_lp.STATUS_MAP["kTimeLimit"] == highspy_lp.STATUS_MAP["kIterationLimit"] == "inaccurate"
    assert highspy_lp.STATUS_MAP["kInfeasible"] == "infeasible"
    assert highspy_lp.STATUS_MAP["kOptimal"] == "optimal"


def test_duals_follow_the_linprog_convention():
    pop = POP(x * y - x + y / 2, ineqs=box([x, y]))
    lp = LPRelaxation.build(pop, degree=3).to_lp()
    a = highs_backend.solve_lp(lp, solver="highs-ipm")
    b = highspy_lp.solve_lp(lp, tol=1e-9)
    assert a.status == b.status == "optimal"
    assert b.value == pytest.approx(a.value, abs=1e-6)
    assert b.dual_value == pytest.approx(a.value, abs=1e-6)
    np.testing.assert_allclose(b.eq_duals, a.eq_duals, atol=1e-5)
    assert b.extra["reduced"] and b.extra["iterations"] > 0


def test_free_variable_in_several_rows_and_infeasible_lp():
    # z0 free in both rows (not eliminated): min z0 + z1 s.t. z0 + z1 = 1, z0 - z1 = 0 -> 1
    lp = LPProblem(sp.csr_matrix([[1.0, 1.0], [1.0, -1.0]]), np.array([1.0, 0.0]), np.array([1.0, 1.0]))
    res = highspy_lp.solve_lp(lp, tol=1e-8)
    assert res.status == "optimal" and not res.extra["reduced"]
    assert res.value == pytest.approx(1.0, abs=1e-6)
    # z1 + z2 = -1 with z >= 0: infeasible (z0 eliminated through the first row)
    bad = LPProblem(sp.csr_matrix([[1.0, 1.0, 0.0], [0.0, 1.0, 1.0]]), np.array([0.0, -1.0]),
                    np.array([-1.0, 0.0, 0.0]))
    out = highspy_lp.solve_lp(bad)  # cuPDLP-C: "infeasible or unbounded"
    assert out.status in ("infeasible", "failed")
    # HiGHS's own PDLP never detects it: stopped by the default iteration cap, not "optimal"
    assert highspy_lp.solve_lp(bad, method="hipdlp", max_iters=2000).status == "inaccurate"


@pytest.mark.parametrize("k", [2, 4])
def test_interior_optimum_known_rate(k):
    # max x - x^2 on [0, 1]: the degree-k Handelman bound is k / (4 (k - 1)) (even k), an upper
    # bound: PDLP's certified one is never below it and within its accuracy
    pop = POP(x - x**2, ineqs=[x, 1 - x], sense="max")
    res = pop.solve(method="lp", degree=k, solver="pdlp")
    exact = k / (4 * (k - 1))
    assert res.status == "optimal" and res.solver == "pdlp"
    assert exact - 1e-12 <= res.bound <= exact + res.accuracy + 1e-7


@pytest.mark.parametrize("seed", range(3))
def test_multilinear_box_never_above_the_minimum(seed):
    rng = np.random.default_rng(seed)
    vs = [x, y, z]
    lo = rng.uniform(-2, 0, 3)
    hi = lo + rng.uniform(0.5, 2, 3)  # non-dyadic boxes: the float factors are checked exactly
    f = sum(rng.normal() * sympy.Mul(*S) for r in range(4) for S in itertools.combinations(vs, r))
    pop = POP(f, ineqs=[v - a for v, a in zip(vs, lo)] + [b - v for v, b in zip(vs, hi)])
    best = min(float(f.subs(dict(zip(vs, v)))) for v in itertools.product(*zip(lo, hi)))
    R = LPRelaxation.build(pop, degree=3)
    ref, pd = R.solve(solver="highs"), R.solve(solver="pdlp")
    agree(pd, ref)
    assert pd.bound <= best  # exact minimum at a vertex; the LP is exact at degree n
    assert pd.bound == pytest.approx(best, abs=pd.accuracy + 1e-6)


@pytest.mark.parametrize("seed", range(3))
def test_random_box_polynomial_valid_against_a_grid(seed):
    rng = np.random.default_rng(seed)
    f = sum(rng.normal() * x**i * y**j for i in range(3) for j in range(3) if i + j <= 3)
    pop = POP(f, ineqs=box([x, y], -1, 2))
    R = LPRelaxation.build(pop, degree=5)
    ref, pd = R.solve(solver="clarabel"), R.solve(solver="pdlp")
    agree(pd, ref)
    assert pd.bound <= grid_min(pop, [-1, -1], [2, 2])


@pytest.mark.parametrize("seed", range(2))
def test_binary_and_spin_exact(seed):
    rng = np.random.default_rng(seed)
    f = sum(rng.normal() * sympy.Mul(*S) for r in range(3) for S in itertools.combinations([x, y, z, w], r))
    pop = POP(f, sense="max", binary=[x, y], spin=[z, w])
    best = max(float(f.subs({x: a, y: b, z: c, w: d}))
               for a, b in itertools.product((0, 1), repeat=2) for c, d in itertools.product((-1, 1), repeat=2))
    res = pop.solve(method="lp", degree=4, solver="pdlp")
    assert res.ok and best <= res.bound <= best + res.accuracy + 1e-6


@pytest.mark.parametrize("width,sparsity,degree", [(10, 8, 3), (10, 8, 4)])
def test_certdnn_agrees_with_interior_point(width, sparsity, degree):
    path = os.path.join(NETS, f"w{width}_s{sparsity}.npz")
    if not os.path.exists(path):
        pytest.skip("CertDNN reference networks not available")
    data = np.load(path)
    W, c = data["W"][0], data["c"][0]
    n = W.shape[1]
    names = [f"t{i}" for i in range(n)] + [f"s{j}" for j in range(n)]
    J, I = np.nonzero(W)
    pop = POP(Polynomial(names, np.stack([I, n + J], 1), W[J, I] * c[J]), sense="max",
              variables=names, spin=names[:n], binary=names[n:])
    cl = [[n + j] + np.flatnonzero(W[j]).tolist() for j in range(n)]
    R = LPRelaxation.build(pop, degree=degree, sparsity=LPSparsity.of(pop, cl, anchors=[n + j for j in range(n)]))
    ref, pd = R.solve(solver="clarabel"), R.solve(solver="pdlp", tol=1e-7)
    agree(pd, ref)
    assert pd.bound >= ref.bound - 1e-6  # a valid upper bound is not far below the LP optimum
    if hasattr(pd, "certified"):
        assert pd.certified and pd.numerical_bound is not None


def test_limits_give_a_valid_bound_or_an_honest_status():
    rng = np.random.default_rng(5)
    f = sum(rng.normal() * x**i * y**j for i in range(4) for j in range(4) if 0 < i + j <= 3)
    pop = POP(f, ineqs=box([x, y], -1, 2))
    R = LPRelaxation.build(pop, degree=4)
    true = grid_min(pop, [-1, -1], [2, 2])
    for kw in (dict(max_iters=1), dict(max_iters=40), dict(time_limit=1e-4)):
        res = R.solve(solver="pdlp", **kw)
        assert res.status in ("inaccurate", "optimal", "failed")
        if res.bound is not None:
            assert res.bound <= true
            assert np.isfinite(res.bound)
        if res.status != "optimal":
            assert res.message
    stopped = R.solve(solver="pdlp", max_iters=1)
    assert stopped.status == "inaccurate" and stopped.bound is not None and stopped.bound <= true


def test_first_order_point_is_certified_not_refused():
    # theta = 5 with no multipliers: "inaccurate" on the interior-point path (its point should
    # have been exact) with the point's certified bound, "optimal" on the first-order path;
    # valid on both (min xy = -1)
    pop = POP(x * y, ineqs=box([x, y]))
    R = LPRelaxation.build(pop, degree=2)
    lp = R.to_lp()
    z = np.zeros(lp.nvars)
    z[0] = 5.0
    ipm = R._result(lp, BackendSolution("optimal", "highs", 0.0, value=-5.0, x=z))
    assert ipm.status == "inaccurate" and ipm.certified and ipm.bound <= -1.0
    fo = R._result(lp, BackendSolution("optimal", "pdlp", 0.0, value=-5.0, x=z))
    assert fo.status == "optimal" and fo.bound <= -1.0
    # a perturbed optimum: negative and inflated multipliers are clipped, the bound stays valid
    good = R.solve(solver="highs")
    raw = highs_backend.solve_lp(lp)
    bad = raw.x + np.random.default_rng(0).normal(scale=1e-3, size=raw.x.size)
    res = R._result(lp, BackendSolution("optimal", "pdlp", 0.0, x=bad))
    assert res.bound is not None and res.bound <= -1.0 and res.bound == pytest.approx(good.bound, abs=0.05)
    nan = raw.x.copy()
    nan[1] = np.nan
    assert R._result(lp, BackendSolution("optimal", "pdlp", 0.0, x=nan)).bound is None


def test_certificate_accounts_for_rounding():
    # every error term is non-negative, and the exact optimum's certificate costs ~round-off
    pop = POP(x * y - x + y / 2, ineqs=box([x, y], -1, 3))
    R = LPRelaxation.build(pop, degree=3)
    raw = highs_backend.solve_lp(R.to_lp(), solver="highs-ds")
    cert = R.certify(raw.x[0], raw.x[1:])
    assert cert["rounding"] > 0 and cert["model"] >= 0 and cert["slack"] >= cert["rounding"]
    assert cert["bound"] < raw.x[0] and raw.x[0] - cert["bound"] < 1e-9
    assert cert["bound"] <= grid_min(pop, [-1, -1], [3, 3])


def test_memory_limit_refuses_early():
    from polylip.runtime import MemoryLimit

    pop = POP(x * y - z, ineqs=box([x, y, z]))
    R = LPRelaxation.build(pop, degree=3)
    lp = R.to_lp()
    need = highspy_lp.estimate_bytes(*lp.A.shape, lp.A.nnz)
    assert need > 48 * lp.A.nnz
    with MemoryLimit(need - 1):  # the backend refuses before it copies anything
        with pytest.raises(RelaxationError, match=f"{lp.A.shape[0]:,} rows.*non-zeros.*MiB"):
            highspy_lp.solve_lp(lp)
    with MemoryLimit(need + 1):
        assert highspy_lp.solve_lp(lp).status == "optimal"
    assert R.solve(solver="pdlp").ok


def test_warm_start_is_taken_by_cupdlp():
    pop = POP(x * y - x + y / 2 + x * z, ineqs=box([x, y, z]))
    lp = LPRelaxation.build(pop, degree=3).to_lp()
    cold = highspy_lp.solve_lp(lp, method="cupdlp", tol=1e-7)
    warm = highspy_lp.solve_lp(lp, method="cupdlp", tol=1e-7, warm_start=cold)
    assert cold.status == warm.status == "optimal"
    assert warm.extra["iterations"] <= cold.extra["iterations"]
    assert warm.value == pytest.approx(cold.value, abs=1e-5)
    with pytest.raises(ValueError):
        highspy_lp.solve_lp(lp, warm_start=(np.zeros(3), None))


def test_general_polytope_agrees_and_is_valid():
    # the triangle x, y >= 0, x + y <= 1 (factors scaled by ranges that HiGHS computes)
    lin = POP(x - 2 * y, ineqs=[x, y, 1 - x - y])
    res = lin.solve(method="lp", degree=1, solver="pdlp")
    assert res.ok and -2.0 - res.accuracy - 1e-7 <= res.bound <= -2.0  # exact minimum -2 at (0, 1)
    quad = POP((x - 0.3)**2 + (y - 0.2)**2 - x * y, ineqs=[x, y, 1 - x - y])
    pts = np.random.default_rng(0).dirichlet([1, 1, 1], size=3000)[:, :2]
    true_min = float(quad.objective.evaluate(pts).min())
    for k in (2, 4):
        R = LPRelaxation.build(quad, degree=k)
        ref, pd = R.solve(solver="highs"), R.solve(solver="pdlp")
        agree(pd, ref)
        assert pd.bound <= true_min


def test_sparse_cliques_agree_with_interior_point():
    rng = np.random.default_rng(1)
    vs = sympy.symbols("v0:6")
    f = sum(rng.normal() * vs[i] * vs[i + 1] + rng.normal() * vs[i] for i in range(5))
    pop = POP(f, ineqs=box(vs))
    R = LPRelaxation.build(pop, degree=3, sparsity=[[vs[i], vs[i + 1]] for i in range(5)])
    ref, pd = R.solve(solver="clarabel"), R.solve(solver="pdlp")
    agree(pd, ref)
    best = min(float(f.subs(dict(zip(vs, v)))) for v in itertools.product((-1, 1), repeat=6))
    assert pd.bound <= best  # multilinear: the minimum is at a vertex


def certdnn_pop(width, sparsity, seed):
    path = os.path.join(NETS, f"w{width}_s{sparsity}.npz")
    if not os.path.exists(path):
        pytest.skip("CertDNN reference networks not available")
    data = np.load(path)
    W, c = data["W"][seed], data["c"][seed]
    n = W.shape[1]
    names = [f"t{i}" for i in range(n)] + [f"s{j}" for j in range(n)]
    J, I = np.nonzero(W)
    pop = POP(Polynomial(names, np.stack([I, n + J], 1), W[J, I] * c[J]), sense="max",
              variables=names, spin=names[:n], binary=names[n:])
    cl = [[n + j] + np.flatnonzero(W[j]).tolist() for j in range(n)]
    return W, c, pop, LPSparsity.of(pop, cl, anchors=[n + j for j in range(n)])


@pytest.mark.parametrize("seed,degree", [(0, 3), (1, 3), (0, 4)])
def test_certdnn_never_below_the_exact_maximum(seed, degree):
    # the LiPopt POP's exact maximum by enumeration: for each t in {-1, 1}^10 the best s_j is
    # [c_j (W t)_j > 0]; an upper bound by PDLP is never below it, and close to the LP's value
    W, c, pop, spars = certdnn_pop(10, 4, seed)
    T = np.array(list(itertools.product((-1.0, 1.0), repeat=W.shape[1])))
    exact = float(np.maximum((T @ W.T) * c, 0.0).sum(axis=1).max())
    R = LPRelaxation.build(pop, degree=degree, sparsity=spars)
    ref, pd = R.solve(solver="clarabel"), R.solve(solver="pdlp")
    agree(pd, ref)
    assert pd.bound >= exact and ref.bound >= exact - 1e-9

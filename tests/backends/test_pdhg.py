"""polylip's own PDLP (polylip.backends.pdhg_lp, solver "pdhg") behind the LP certificate check:
on the LPs of the existing LP tests its certified bounds lie within its reported accuracy of
the interior-point ones and never on the wrong side of known optima; limits give an honest
status; threads and float32 products change the point, not what the bound means."""

import itertools
import os

import numpy as np
import pytest
import scipy.sparse as sp
import sympy

from polylip import POP, Polynomial, RelaxationError
from polylip.backends import highs_backend, pdhg_lp, registry
from polylip.relax.krivine import LPProblem
from polylip.solve.lp import LPRelaxation, LPSparsity
from support.reference import NETS

x, y, z, w = sympy.symbols("x y z w")


def box(vars_, lo=-1.0, hi=1.0):
    return [v - lo for v in vars_] + [hi - v for v in vars_]


def grid_min(pop, lo, hi, n=41):
    axes = [np.unique(np.concatenate([np.linspace(a, b, n), [a, b]])) for a, b in zip(lo, hi)]
    pts = np.stack([g.ravel() for g in np.meshgrid(*axes, indexing="ij")], axis=1)
    return float(pop.objective.evaluate(pts).min())


def agree(pd, ref):
    assert pd.bound is not None and ref.bound is not None
    assert pd.certified
    assert abs(pd.bound - ref.bound) <= pd.accuracy + 1e-7 * max(1.0, abs(ref.bound))


def test_registered_as_a_first_order_solver():
    assert {"pdhg", "pdhg-single"} <= set(registry.LP_SOLVERS)
    assert {"pdhg", "pdhg-single"} <= set(registry.FIRST_ORDER_LP_SOLVERS)
    assert registry.choose_lp_solver(10, "PDHG") == "pdhg"


def test_duals_follow_the_linprog_convention():
    pop = POP(x * y - x + y / 2, ineqs=box([x, y]))
    lp = LPRelaxation.build(pop, degree=3).to_lp()
    a = highs_backend.solve_lp(lp, solver="highs-ipm")
    b = pdhg_lp.solve_lp(lp, tol=1e-9)
    assert a.status == b.status == "optimal"
    assert b.value == pytest.approx(a.value, abs=1e-6)
    assert b.dual_value == pytest.approx(a.value, abs=1e-6)
    np.testing.assert_allclose(b.eq_duals, a.eq_duals, atol=1e-5)
    assert b.extra["reduced"] and b.extra["iterations"] > 0


def test_free_variable_in_several_rows():
    # z0 free in both rows (split into two non-negative columns): min z0 + z1 s.t.
    # z0 + z1 = 1, z0 - z1 = 0 -> 1 at z0 = z1 = 1/2
    lp = LPProblem(sp.csr_matrix([[1.0, 1.0], [1.0, -1.0]]), np.array([1.0, 0.0]), np.array([1.0, 1.0]))
    res = pdhg_lp.solve_lp(lp, tol=1e-9)
    assert res.status == "optimal" and not res.extra["reduced"]
    assert res.value == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_allclose(res.x, [0.5, 0.5], atol=1e-6)


def test_infeasible_lp_is_not_called_optimal():
    # z1 + z2 = -1 with z >= 0: infeasible; stopped by the iteration cap
    bad = LPProblem(sp.csr_matrix([[1.0, 1.0, 0.0], [0.0, 1.0, 1.0]]), np.array([0.0, -1.0]),
                    np.array([-1.0, 0.0, 0.0]))
    out = pdhg_lp.solve_lp(bad, max_iters=400)
    assert out.status == "inaccurate" and out.extra["iterations"] == 400


@pytest.mark.parametrize("k", [2, 4])
def test_interior_optimum_known_rate(k):
    # max x - x^2 on [0, 1]: the degree-k Handelman bound is k / (4 (k - 1)) (even k)
    pop = POP(x - x**2, ineqs=[x, 1 - x], sense="max")
    res = pop.solve(method="lp", degree=k, solver="pdhg")
    exact = k / (4 * (k - 1))
    assert res.status == "optimal" and res.solver == "pdhg"
    assert exact - 1e-12 <= res.bound <= exact + res.accuracy + 1e-7


@pytest.mark.parametrize("solver", ["pdhg", "pdhg-single"])
@pytest.mark.parametrize("seed", range(2))
def test_multilinear_box_never_above_the_minimum(seed, solver):
    rng = np.random.default_rng(seed)
    vs = [x, y, z]
    lo = rng.uniform(-2, 0, 3)
    hi = lo + rng.uniform(0.5, 2, 3)
    f = sum(rng.normal() * sympy.Mul(*S) for r in range(4) for S in itertools.combinations(vs, r))
    pop = POP(f, ineqs=[v - a for v, a in zip(vs, lo)] + [b - v for v, b in zip(vs, hi)])
    best = min(float(f.subs(dict(zip(vs, v)))) for v in itertools.product(*zip(lo, hi)))
    R = LPRelaxation.build(pop, degree=3)
    ref, pd = R.solve(solver="highs"), R.solve(solver=solver)
    agree(pd, ref)
    assert pd.bound <= best  # the exact minimum is at a vertex; the LP is exact at degree n
    assert pd.bound == pytest.approx(best, abs=pd.accuracy + 1e-6)


@pytest.mark.parametrize("seed", range(2))
def test_random_box_polynomial_valid_against_a_grid(seed):
    rng = np.random.default_rng(seed)
    f = sum(rng.normal() * x**i * y**j for i in range(3) for j in range(3) if i + j <= 3)
    pop = POP(f, ineqs=box([x, y], -1, 2))
    R = LPRelaxation.build(pop, degree=5)
    ref, pd = R.solve(solver="clarabel"), R.solve(solver="pdhg")
    agree(pd, ref)
    assert pd.bound <= grid_min(pop, [-1, -1], [2, 2])


@pytest.mark.parametrize("seed", range(2))
def test_binary_and_spin_exact(seed):
    rng = np.random.default_rng(seed)
    f = sum(rng.normal() * sympy.Mul(*S) for r in range(3) for S in itertools.combinations([x, y, z, w], r))
    pop = POP(f, sense="max", binary=[x, y], spin=[z, w])
    best = max(float(f.subs({x: a, y: b, z: c, w: d}))
               for a, b in itertools.product((0, 1), repeat=2) for c, d in itertools.product((-1, 1), repeat=2))
    res = pop.solve(method="lp", degree=4, solver="pdhg")
    assert res.ok and best <= res.bound <= best + res.accuracy + 1e-6


def test_general_polytope_agrees_and_is_valid():
    lin = POP(x - 2 * y, ineqs=[x, y, 1 - x - y])
    res = lin.solve(method="lp", degree=1, solver="pdhg")
    assert res.ok and -2.0 - res.accuracy - 1e-7 <= res.bound <= -2.0  # exact minimum -2
    quad = POP((x - 0.3)**2 + (y - 0.2)**2 - x * y, ineqs=[x, y, 1 - x - y])
    pts = np.random.default_rng(0).dirichlet([1, 1, 1], size=3000)[:, :2]
    true_min = float(quad.objective.evaluate(pts).min())
    R = LPRelaxation.build(quad, degree=4)
    ref, pd = R.solve(solver="highs"), R.solve(solver="pdhg")
    agree(pd, ref)
    assert pd.bound <= true_min


def test_sparse_cliques_agree_with_interior_point():
    rng = np.random.default_rng(1)
    vs = sympy.symbols("v0:6")
    f = sum(rng.normal() * vs[i] * vs[i + 1] + rng.normal() * vs[i] for i in range(5))
    pop = POP(f, ineqs=box(vs))
    R = LPRelaxation.build(pop, degree=3, sparsity=[[vs[i], vs[i + 1]] for i in range(5)])
    ref, pd = R.solve(solver="clarabel"), R.solve(solver="pdhg")
    agree(pd, ref)
    best = min(float(f.subs(dict(zip(vs, v)))) for v in itertools.product((-1, 1), repeat=6))
    assert pd.bound <= best


def certdnn(width, sparsity, seed):
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


@pytest.mark.parametrize("seed,degree", [(0, 3), (0, 4)])
def test_certdnn_never_below_the_exact_maximum(seed, degree):
    # the LiPopt POP's exact maximum by enumeration over t in {-1, 1}^10
    W, c, pop, spars = certdnn(10, 4, seed)
    T = np.array(list(itertools.product((-1.0, 1.0), repeat=W.shape[1])))
    exact = float(np.maximum((T @ W.T) * c, 0.0).sum(axis=1).max())
    R = LPRelaxation.build(pop, degree=degree, sparsity=spars)
    ref, pd = R.solve(solver="clarabel"), R.solve(solver="pdhg")
    agree(pd, ref)
    assert pd.bound >= exact and ref.bound >= exact - 1e-9


def test_certdnn_threads_and_precision_agree_with_interior_point():
    _, _, pop, spars = certdnn(10, 8, 0)
    R = LPRelaxation.build(pop, degree=4, sparsity=spars)
    lp = R.to_lp()
    ref = R.solve(solver="clarabel")
    for threads, precision in ((1, "double"), (2, "double"), (2, "single")):
        raw = pdhg_lp.solve_lp(lp, tol=1e-7, threads=threads, precision=precision)
        assert raw.extra["threads"] == threads and raw.extra["precision"] == precision
        assert raw.solver == "pdhg"  # first-order: the certificate check certifies its point
        res = R._result(lp, raw)
        agree(res, ref)
        assert res.bound >= ref.bound - 1e-6  # a valid upper bound, not far below the LP optimum


def test_single_precision_only_for_tolerances_it_can_reach():
    pop = POP(x * y - x + y / 2, ineqs=box([x, y]))
    lp = LPRelaxation.build(pop, degree=3).to_lp()
    assert pdhg_lp.solve_lp(lp, precision="single").extra["precision"] == "single"
    tight = pdhg_lp.solve_lp(lp, tol=pdhg_lp.SINGLE_MIN_TOL / 10, precision="single")
    assert tight.extra["precision"] == "double" and tight.status == "optimal"


def test_limits_give_a_valid_bound_or_an_honest_status():
    rng = np.random.default_rng(5)
    f = sum(rng.normal() * x**i * y**j for i in range(4) for j in range(4) if 0 < i + j <= 3)
    pop = POP(f, ineqs=box([x, y], -1, 2))
    R = LPRelaxation.build(pop, degree=4)
    true = grid_min(pop, [-1, -1], [2, 2])
    for kw in (dict(max_iters=1), dict(max_iters=40), dict(time_limit=1e-4), dict(time_limit=0.0)):
        res = R.solve(solver="pdhg", **kw)
        assert res.status in ("inaccurate", "optimal")
        if res.bound is not None:
            assert res.bound <= true and np.isfinite(res.bound)
        if res.status != "optimal":
            assert res.message
    stopped = R.solve(solver="pdhg", max_iters=1)
    assert stopped.status == "inaccurate" and stopped.bound is not None and stopped.bound <= true
    raw = pdhg_lp.solve_lp(R.to_lp(), max_iters=7)
    assert raw.status == "inaccurate" and raw.extra["iterations"] == 7


def test_memory_limit_refuses_early():
    from polylip.runtime import MemoryLimit

    pop = POP(x * y - z, ineqs=box([x, y, z]))
    lp = LPRelaxation.build(pop, degree=3).to_lp()
    need = pdhg_lp.estimate_bytes(*lp.A.shape, lp.A.nnz)
    with MemoryLimit(need - 1):
        with pytest.raises(RelaxationError, match=f"{lp.A.shape[0]:,} rows.*non-zeros.*MiB"):
            pdhg_lp.solve_lp(lp)
    with MemoryLimit(need + 1):
        assert pdhg_lp.solve_lp(lp).status == "optimal"


def test_warm_start_from_the_optimum_stops_at_once():
    pop = POP(x * y - x + y / 2 + x * z, ineqs=box([x, y, z]))
    lp = LPRelaxation.build(pop, degree=3).to_lp()
    cold = pdhg_lp.solve_lp(lp, tol=1e-7)
    warm = pdhg_lp.solve_lp(lp, tol=1e-7, warm_start=cold)
    assert cold.status == warm.status == "optimal"
    assert warm.extra["iterations"] <= cold.extra["iterations"]
    assert warm.value == pytest.approx(cold.value, abs=1e-5)
    with pytest.raises(ValueError):
        pdhg_lp.solve_lp(lp, warm_start=(np.zeros(3), None))


def test_halpern_scheme_solves_a_small_lp():
    # the experimental reflected Halpern scheme (measured, not the default): the same optimum
    pop = POP(x * y - x + y / 2 + x * z, ineqs=box([x, y, z]))
    lp = LPRelaxation.build(pop, degree=3).to_lp()
    A, b, c, offset = pdhg_lp._eliminate_free(lp)[:4]
    ref = highs_backend.solve_lp(lp, solver="highs-ipm")
    for scheme in ("adaptive", "halpern"):
        out = pdhg_lp.pdhg(A.tocsr(), b, c, tol=1e-8, threads=1, scheme=scheme)
        assert out["status"] == "optimal" and out["iterations"] > 0
        assert float(c @ out["x"]) + offset == pytest.approx(ref.value, abs=1e-6)
    with pytest.raises(ValueError):
        pdhg_lp.pdhg(A.tocsr(), b, c, precision="half")


# ------------------------------------------------------------------ per-clique templates
def _blocky(rng, reps=4, extra=3):
    """A matrix of ``reps`` copies of one random block (on overlapping random row sets), one
    block of the same shape with one value changed, and ``extra`` unlabelled columns."""
    from polylip.backends import pdhg_blocks  # noqa: F401

    m, mloc, nloc = 30, 8, 6
    M = sp.random(mloc, nloc, density=0.5, random_state=1, format="csc") + sp.eye(mloc, nloc)
    cols, labels = [], []
    for b in range(reps + 1):
        rows = np.sort(rng.choice(m, mloc, replace=False))
        Mb = M.tolil(copy=True)
        if b == reps:
            Mb[0, 0] += 1.0  # same pattern, other value: not the template
        Pb = sp.csr_matrix((np.ones(mloc), (rows, np.arange(mloc))), shape=(m, mloc))
        cols.append(Pb @ Mb.tocsc())
        labels += [b] * nloc
    cols.append(sp.random(m, extra, density=0.3, random_state=2))
    labels += [-1] * extra
    return sp.hstack(cols).tocsr(), np.array(labels), reps * nloc


def test_templates_found_and_checked():
    from polylip.backends import pdhg_blocks

    A, labels, ntempl = _blocky(np.random.default_rng(0))
    n = A.shape[1]
    # interleave the blocks (local column k of every block, then k + 1, ...): a block's columns
    # need not be contiguous, only in the same order in every block
    local = np.concatenate([np.arange(6)] * 5 + [np.arange(3) + 100])
    perm = np.lexsort((labels, local))
    A, labels = A[:, perm], labels[perm]

    def exact(A, tm, rest):
        """Every template block is P_b M exactly, and the columns are split once."""
        seen = [rest]
        for t in tm:
            for cols, rows in zip(t["cols"], t["rows"]):
                np.testing.assert_array_equal(A[:, cols][rows].toarray(), t["M"].toarray())
                assert A[:, cols].nnz == t["M"].nnz  # nothing outside the block's rows
                seen.append(cols)
        np.testing.assert_array_equal(np.sort(np.concatenate(seen)), np.arange(A.shape[1]))

    tm, rest = pdhg_blocks.find_templates(A, labels)
    assert len(tm) == 1 and tm[0]["cols"].shape == (4, 6)
    assert rest.size == n - ntempl  # the altered block and the unlabelled columns
    exact(A, tm, rest)
    # other hints: no labels (nothing); every column its own block (equal columns only); one
    # block's columns in another order than the others' (the check compares the local
    # matrices as they are, so that block stays out)
    assert pdhg_blocks.find_templates(A, -np.ones(n, int))[0] == []
    exact(A, *pdhg_blocks.find_templates(A, np.arange(n)))
    shuffled = np.arange(n)
    b0 = np.flatnonzero(labels == 0)
    shuffled[b0] = b0[::-1]
    tm2, rest2 = pdhg_blocks.find_templates(A[:, shuffled], labels)
    assert len(tm2) == 1 and tm2[0]["cols"].shape == (3, 6) and rest2.size == n - 18
    exact(A[:, shuffled], tm2, rest2)
    with pytest.raises(ValueError):
        pdhg_blocks.find_templates(A, labels[:-1])


@pytest.mark.parametrize("threads", [1, 2])
def test_template_products_equal_the_explicit_ones(threads):
    from concurrent.futures import ThreadPoolExecutor

    from polylip.backends import pdhg_blocks

    rng = np.random.default_rng(3)
    A, labels, _ = _blocky(rng)
    m, n = A.shape
    tm, rest = pdhg_blocks.find_templates(A, labels)
    order = pdhg_blocks.column_order(tm, rest)
    r, s = rng.uniform(0.5, 2.0, m), rng.uniform(0.5, 2.0, n)
    As = (sp.diags(r) @ A[:, order] @ sp.diags(s)).tocsc()
    o = n - rest.size
    for dtype, tol in ((np.float64, 1e-13), (np.float32, 1e-5)):
        pool = ThreadPoolExecutor(threads) if threads > 1 else None
        P = pdhg_blocks.TemplateProducts(tm, m, n, r, s, As[:, o:], pool, threads, dtype)
        for _ in range(3):
            xv, yv = rng.standard_normal(n), rng.standard_normal(m)
            np.testing.assert_allclose(P.Ax(xv), As @ xv, rtol=0, atol=tol * np.abs(As @ xv).max())
            np.testing.assert_allclose(P.ATy(yv), As.T @ yv, rtol=0, atol=tol * np.abs(As.T @ yv).max())
        P.close()


def test_relaxation_labels_columns_by_clique_and_pdhg_uses_them():
    _, _, pop, spars = certdnn(10, 8, 0)
    R = LPRelaxation.build(pop, degree=3, sparsity=spars)
    lp = R.to_lp()
    assert lp.column_blocks is not None and lp.column_blocks.size == lp.A.shape[1]
    assert lp.column_blocks[0] == -1
    # every product lies in the clique it is labelled with
    gv, _ = R.polytope.generators()
    for p in np.random.default_rng(0).choice(R.products.shape[0], 50, replace=False):
        clique = set(spars.cliques[lp.column_blocks[p + 1]])
        for g in R.products[p][R.products[p] >= 0]:
            assert {int(v) for v in np.atleast_1d(gv[g]) if v >= 0} <= clique
    ref = R.solve(solver="clarabel")
    raw = pdhg_lp.solve_lp(lp, tol=1e-7, threads=2, precision="single")
    assert raw.extra["template_columns"] > 0
    plain = pdhg_lp.solve_lp(dataclasses_replace(lp, column_blocks=None), tol=1e-7, threads=2,
                             precision="single")
    assert plain.extra["template_columns"] == 0
    for out in (raw, plain):
        res = R._result(lp, out)
        assert res.status == "optimal"
        agree(res, ref)


def dataclasses_replace(obj, **kw):
    import dataclasses

    return dataclasses.replace(obj, **kw)


def test_pid_primal_weight_solves_a_small_lp():
    # cuPDLPx's PID weight update (measured, not the default): the same optimum
    pop = POP(x * y - x + y / 2 + x * z, ineqs=box([x, y, z]))
    lp = LPRelaxation.build(pop, degree=3).to_lp()
    A, b, c, offset = pdhg_lp._eliminate_free(lp)[:4]
    ref = highs_backend.solve_lp(lp, solver="highs-ipm")
    seen = []
    out = pdhg_lp.pdhg(A.tocsr(), b, c, tol=1e-8, threads=1, weight="pid", monitor=seen.append)
    assert out["status"] == "optimal"
    assert float(c @ out["x"]) + offset == pytest.approx(ref.value, abs=1e-6)
    assert seen and seen[-1]["it"] <= out["iterations"] and max(seen[-1]["cur_rel"]) > 0
    with pytest.raises(ValueError):
        pdhg_lp.pdhg(A.tocsr(), b, c, weight="integral")


def test_templates_with_warm_start_and_limits():
    # the permuted column order is undone on return: a warm start from the optimum stops at
    # once, and a point stopped by the iteration cap still certifies a valid bound
    W, c, pop, spars = certdnn(10, 4, 1)
    T = np.array(list(itertools.product((-1.0, 1.0), repeat=W.shape[1])))
    exact = float(np.maximum((T @ W.T) * c, 0.0).sum(axis=1).max())
    R = LPRelaxation.build(pop, degree=3, sparsity=spars)
    lp = R.to_lp()
    cold = pdhg_lp.solve_lp(lp, tol=1e-7, threads=2)
    assert cold.status == "optimal" and cold.extra["template_columns"] > 0
    warm = pdhg_lp.solve_lp(lp, tol=1e-7, threads=2, warm_start=cold)
    assert warm.status == "optimal" and warm.extra["iterations"] < cold.extra["iterations"]
    assert warm.value == pytest.approx(cold.value, abs=1e-5)
    stopped = pdhg_lp.solve_lp(lp, max_iters=30, threads=2)
    assert stopped.status == "inaccurate" and stopped.extra["iterations"] == 30
    res = R._result(lp, stopped)
    assert res.status == "inaccurate" and res.bound is not None and res.bound >= exact

"""The Krivine/Handelman LP hierarchy against values known independently (by hand or by vertex
enumeration), and the guarantees the theory gives (monotone in the degree, valid bounds)."""

import itertools
import os

import numpy as np
import pytest
import sympy

from polylip import POP, Polynomial, RelaxationError
from polylip.solve.lp import LPRelaxation, LPSparsity, polytope_of
from support.reference import NETS

x, y, z, w = sympy.symbols("x y z w")


def box(vars_, lo=-1.0, hi=1.0):
    return [v - lo for v in vars_] + [hi - v for v in vars_]


@pytest.mark.parametrize("k", [2, 4, 6])
def test_univariate_interior_optimum_known_rate(k):
    # max x - x^2 on [0, 1] is 1/4 (inside). By hand: the degree-k Handelman bound is
    # k / (4 (k - 1)) for even k (k = 2: 1/2 from theta - x + x^2 = a x^2 + b x(1-x) + c(1-x)^2).
    res = POP(x - x**2, ineqs=[x, 1 - x], sense="max").solve(method="lp", degree=k, solver="highs")
    assert res.status == "optimal"
    assert res.bound == pytest.approx(k / (4 * (k - 1)), abs=1e-7)
    assert res.method == "lp" and res.degree == k and res.order is None


@pytest.mark.parametrize("width", [8, 1000, 2.0 ** 20])
@pytest.mark.parametrize("k", [2, 4, 6])
def test_known_rate_on_wide_boxes(width, k):
    # The Handelman hierarchy is affine-invariant: max u - u^2 with u = x / width on [0, width]
    # has the degree-k bound k / (4 (k - 1)) of the [0, 1] case. Unscaled, [0, 1000] came back
    # "infeasible" from HiGHS (the rows matched coefficients of x^k, up to 1000^k).
    u = x / width
    res = POP(u - u**2, ineqs=[x, width - x], sense="max").solve(method="lp", degree=k,
                                                                 solver="highs")
    assert res.status == "optimal" and res.certified
    assert res.bound == pytest.approx(k / (4 * (k - 1)), rel=1e-7)
    assert res.bound >= 0.25                       # an upper bound on the maximum 1/4


@pytest.mark.parametrize("lo, hi", [(-10, 10), (-50, 200), (0, 1000), (1e4, 1e4 + 3)])
def test_wide_and_off_centre_boxes_give_certified_valid_bounds(lo, hi):
    # x^4 - 3x^3 + x - 2: its minimum on [lo, hi] from the real roots of f' (closed form
    # up to numpy's roots) and the ends. Before the LP was scaled, each of these boxes ended
    # "inaccurate" (residual bounds up to 2e17) or "infeasible" at some degree in 4, 6, 8.
    f = x**4 - 3 * x**3 + x - 2
    cands = [lo, hi] + [r.real for r in np.roots([4, -9, 0, 1])
                        if abs(r.imag) < 1e-12 and lo <= r.real <= hi]
    fmin = min(float(f.subs(x, c)) for c in cands)
    bounds = []
    for k in (4, 6, 8):
        res = POP(f, ineqs=[x - lo, hi - x]).solve(method="lp", degree=k)
        assert res.status == "optimal" and res.certified, res.message
        assert res.bound <= fmin
        bounds.append(res.bound)
    # monotone in the degree, up to the certificate's float slack (off-centre box: the bound
    # 1e16 at degree 8 pays 3.7e3 for a residual 4e-10 of the scaled objective, times 8.8e12)
    slack = 1e-9 * max(1.0, abs(fmin))
    assert all(b2 >= b1 - slack for b1, b2 in zip(bounds, bounds[1:]))


def vertex_min(f, vars_, lo, hi):
    best = np.inf
    for v in itertools.product(*[(a, b) for a, b in zip(lo, hi)]):
        best = min(best, float(f.subs(dict(zip(vars_, v)))))
    return best


@pytest.mark.parametrize("seed", range(3))
def test_multilinear_on_box_exact_at_full_degree(seed):
    # A multilinear polynomial attains its minimum over a box at a vertex; at degree n the
    # products include the indicator of every vertex, so the LP bound is exact.
    rng = np.random.default_rng(seed)
    vs = [x, y, z]
    lo = rng.uniform(-2, 0, 3)
    hi = lo + rng.uniform(0.5, 2, 3)
    f = sum(rng.normal() * sympy.Mul(*S) for r in range(4) for S in itertools.combinations(vs, r))
    ineqs = [v - a for v, a in zip(vs, lo)] + [b - v for v, b in zip(vs, hi)]
    res = POP(f, ineqs=ineqs).solve(method="lp", degree=3, solver="highs")
    assert res.bound == pytest.approx(vertex_min(f, vs, lo, hi), abs=1e-6)
    assert res.is_global


@pytest.mark.parametrize("seed", range(3))
def test_binary_and_spin_multilinear_exact(seed):
    rng = np.random.default_rng(seed)
    f = sum(rng.normal() * sympy.Mul(*S) for r in range(3) for S in itertools.combinations([x, y, z, w], r))
    pop = POP(f, sense="max", binary=[x, y], spin=[z, w])
    best = max(float(f.subs({x: a, y: b, z: c, w: d}))
               for a, b in itertools.product((0, 1), repeat=2) for c, d in itertools.product((-1, 1), repeat=2))
    res = pop.solve(method="lp", degree=4)
    assert res.bound == pytest.approx(best, abs=1e-6)
    # lower degrees: valid and monotone
    bounds = [pop.solve(method="lp", degree=k).bound for k in (2, 3, 4)]
    assert all(b >= best - 1e-7 for b in bounds)
    assert bounds[0] >= bounds[1] - 1e-7 >= bounds[2] - 2e-7


@pytest.mark.parametrize("seed", range(3))
def test_monotone_in_degree_and_valid_at_random_points(seed):
    rng = np.random.default_rng(seed)
    f = sum(rng.normal() * x**i * y**j for i in range(3) for j in range(3) if i + j <= 3)
    pop = POP(f, ineqs=box([x, y], -1, 2))
    bounds = [pop.solve(method="lp", degree=k, solver="highs").bound for k in range(3, 7)]
    assert all(b2 >= b1 - 1e-7 for b1, b2 in zip(bounds, bounds[1:]))
    pts = rng.uniform(-1, 2, size=(2000, 2))
    assert bounds[-1] <= float(pop.objective.evaluate(pts).min()) + 1e-7


def test_general_polytope_simplex():
    # min x - 2y over the triangle x, y >= 0, x + y <= 1: -2 at the vertex (0, 1), exact at degree 1
    pop = POP(x - 2 * y, ineqs=[x, y, 1 - x - y])
    P = polytope_of(pop)
    assert P.kind == "polytope" and P.nfactors == 3
    res = pop.solve(method="lp", degree=1)
    assert res.bound == pytest.approx(-2.0, abs=1e-7)
    # a quadratic on the triangle: bound valid and monotone
    pop2 = POP((x - 0.3)**2 + (y - 0.2)**2 - x * y, ineqs=[x, y, 1 - x - y])
    pts = np.random.default_rng(0).dirichlet([1, 1, 1], size=3000)[:, :2]
    true_min = float(pop2.objective.evaluate(pts).min())
    b = [pop2.solve(method="lp", degree=k).bound for k in (2, 3, 4)]
    assert b[0] <= b[1] + 1e-7 <= b[2] + 2e-7 and b[2] <= true_min + 1e-7


def test_unreachable_monomial_is_reported_before_solving():
    pop = POP(x**3 - x, ineqs=[x + 1, 1 - x])
    with pytest.raises(RelaxationError, match=r"x\*\*3.*degree >= 3"):
        LPRelaxation.build(pop, degree=2)
    # sparse: x*y lies in no clique, whatever the degree
    pop2 = POP(x * y, ineqs=box([x, y]))
    with pytest.raises(RelaxationError, match="no common clique"):
        LPRelaxation.build(pop2, degree=4, sparsity=[["x"], ["y"]])


@pytest.mark.parametrize("ineqs, eqs, match", [
    ([1 - x**2], [], "degree 2"),                 # not linear
    ([x, y, 1 - x], [], "not a bounded polytope"),  # y unbounded above
    ([x, 1 - x, y, 1 - y], [x - y], "equality"),
])
def test_non_polytope_inputs_are_refused(ineqs, eqs, match):
    with pytest.raises(RelaxationError, match=match):
        POP(x * y, ineqs=ineqs, eqs=eqs).solve(method="lp", degree=2)


@pytest.mark.parametrize("ineqs, eqs, quoted", [
    ([], [x**2 + y**2 - 25, x * y - 9], "-25 + x**2 + y**2 == 0"),
    ([25 - x**2 - y**2, 100 * x + 7], [], "25 - x**2 - y**2 >= 0"),
])
def test_a_refusal_quotes_the_constraint_as_written(ineqs, eqs, quoted):
    """POP QA round 4: HS 8 (x^2 + y^2 = 25, xy = 9) was refused quoting the scaled problem's
    constraint, "-0.390625 + x1**2 + x2**2 == 0"; the check now runs before the scaling."""
    with pytest.raises(RelaxationError) as err:
        POP(x + 1000 * y, ineqs=ineqs, eqs=eqs).solve(method="lp")
    assert quoted in str(err.value)


@pytest.mark.parametrize("ineqs", [[], [x + 1, 1 - x], [sympy.Integer(1)]])
def test_constant_objective_is_its_own_bound(ineqs):
    """A constant objective has no degree-one moment: the LP's candidate point is the middle
    of the ranges (raised IndexError with no variable in any row; found by QA of degenerate
    POPs)."""
    res = POP(sympy.Integer(-2), ineqs=ineqs, variables=[x]).solve(method="lp")
    assert res.status == "optimal" and res.certified
    assert res.bound <= -2.0 and res.bound == pytest.approx(-2.0)


def test_unbounded_general_polytope_is_refused():
    with pytest.raises(RelaxationError, match="not a bounded polytope"):
        POP(x * y, ineqs=[x, y, 1 - x + y]).solve(method="lp", degree=2)


def chain(n, rng):
    vs = sympy.symbols(f"v0:{n}")
    f = sum(rng.normal() * vs[i] * vs[i + 1] + rng.normal() * vs[i] for i in range(n - 1))
    return vs, POP(f, ineqs=box(vs))


def test_sparse_cliques_valid_and_smaller():
    rng = np.random.default_rng(1)
    vs, pop = chain(6, rng)
    cliques = [[vs[i], vs[i + 1]] for i in range(5)]
    dense = LPRelaxation.build(pop, degree=2)
    sparse = LPRelaxation.build(pop, degree=2, sparsity=cliques)
    assert sparse.sizes["products"] < dense.sizes["products"]
    assert sparse.structure.sparsity == "cliques" and dense.structure.sparsity == "dense"
    rd, rs = dense.solve(), sparse.solve()
    pts = rng.uniform(-1, 1, size=(3000, 6))
    fmin = float(pop.objective.evaluate(pts).min())
    # both are lower bounds; with cliques = every variable the sparse LP is the dense one
    assert rd.bound <= fmin + 1e-7 and rs.bound <= fmin + 1e-7
    full = LPRelaxation.build(pop, degree=2, sparsity=[list(range(6))]).solve()
    assert full.bound == pytest.approx(rd.bound, abs=1e-8)


def test_sparsity_value_object():
    pop = POP(x * y + y * z, ineqs=box([x, y, z]))
    a = LPSparsity.of(pop, [["x", "y"], [y, z]])
    b = LPSparsity.of(pop, [[0, 1], [2, 1]])
    assert a.cliques == b.cliques == ((0, 1), (1, 2))
    assert LPSparsity.of(pop, "dense").cliques == ((0, 1, 2),)
    assert LPSparsity.of(pop, a) is a
    with pytest.raises(RelaxationError):
        LPSparsity.of(pop, [["x", "nope"]])
    with pytest.raises(RelaxationError):
        LPSparsity.of(pop, "ts")


@pytest.mark.parametrize("solver", ["cvxopt", "clarabel"])
def test_backends_agree_with_highs(solver):
    rng = np.random.default_rng(3)
    f = sum(rng.normal() * x**i * y**j * z**l for i in range(3) for j in range(3) for l in range(2)
            if i + j + l <= 3)
    pop = POP(f, ineqs=box([x, y, z], -1, 1), sense="max")
    relaxation = LPRelaxation.build(pop, degree=4)
    ref = relaxation.solve(solver="highs")
    other = relaxation.solve(solver=solver)
    assert ref.status == other.status == "optimal"
    assert other.bound == pytest.approx(ref.bound, abs=1e-6)
    assert other.solver == solver


def test_structure_report_and_sizes():
    pop = POP(x * y - z, ineqs=box([x, y, z]))
    relaxation = LPRelaxation.build(pop, degree=3)
    s = relaxation.structure
    d = s.to_dict()
    assert d["products"] == relaxation.sizes["products"] == relaxation.matrix.shape[1]
    assert d["rows"] == relaxation.matrix.shape[0]
    assert d["nonzeros"] == relaxation.matrix.nnz
    assert sum(d["rows_by_degree"].values()) == d["rows"]
    text = str(s)
    assert "products" in text and "non-zeros" in text and "degree 3" in text


def test_inaccurate_solution_gives_no_bound():
    from polylip.backends.base import BackendSolution

    pop = POP(x * y, ineqs=box([x, y]))
    relaxation = LPRelaxation.build(pop, degree=2)
    lp = relaxation.to_lp()
    good = relaxation.solve(solver="highs")
    assert good.ok
    zbad = np.zeros(lp.nvars)
    zbad[0] = 5.0  # theta = 5 with no multipliers: the certificate does not hold
    raw = BackendSolution("optimal", "highs", 0.0, value=-5.0, x=zbad)
    res = relaxation._result(lp, raw)
    # not the solver's word: "inaccurate", but the point's own certified bound stays, valid
    # (theta - slack = 5 - 6, slack = max |xy - 5| on the box: 6; min xy = -1)
    assert res.status == "inaccurate" and res.certified
    assert res.bound <= -1.0 and res.numerical_bound == 5.0
    assert "certificate check failed" in res.message and "valid, not tight" in res.message
    zbad[0] = np.inf        # no finite certified bound: no bound at all
    raw = BackendSolution("optimal", "highs", 0.0, value=-np.inf, x=zbad)
    assert relaxation._result(lp, raw).bound is None


@pytest.mark.parametrize("claim", ["infeasible", "unbounded"])
def test_unchecked_infeasible_or_unbounded_lp_is_not_a_status(claim):
    """The LP solver's "infeasible" / "unbounded" comes with no Farkas ray polylip checks, and
    an empty polytope is refused before the LP is built: the claim is "inaccurate" with the
    reason, never the POP's status."""
    from polylip.backends.base import BackendSolution

    relaxation = LPRelaxation.build(POP(x * y, ineqs=box([x, y])), degree=2)
    raw = BackendSolution(claim, "highs", 0.0, raw_status="fake", message=f"fake {claim}")
    res = relaxation._result(relaxation.to_lp(), raw)
    assert res.status == "inaccurate" and res.bound is None
    assert claim in res.message and "not checked" in res.message


@pytest.mark.parametrize("pop, degree, minimum", [
    # [1, 1 + 1e-13]: HiGHS answered "infeasible" at degrees 2 and 3
    (POP(x, ineqs=[x - 1, sympy.Rational(10**13 + 1, 10**13) - x]), 2, 1.0),
    # a box of radius 1e-6: "Model error", mapped to infeasible, at degree 3
    (POP(x + y, ineqs=[sympy.Rational(1, 10**6) - x, x + sympy.Rational(1, 10**6),
                       sympy.Rational(1, 10**6) - y, y + sympy.Rational(1, 10**6)]), 3, -2e-6),
])
def test_thin_feasible_polytopes_are_never_infeasible(pop, degree, minimum):
    """Found by QA of degenerate POPs: feasible polytopes reported "infeasible"."""
    res = pop.solve(method="lp", degree=degree)
    assert res.status != "infeasible"
    if res.bound is not None and res.certified:
        assert res.bound <= minimum


@pytest.mark.parametrize("degree", [2, 3, 4])
@pytest.mark.parametrize("ineqs, point", [([x, y, -x - y], (0, 0)), ([x, -x, y, -y], (0, 0)),
                                          ([x - 1, 1 - x, y - 2, 2 - y], (1, 2))])
def test_single_point_polytope_every_degree(ineqs, point, degree):
    """Every factor degenerate (a single point): l_j and -l_j no longer sum to 1, so products
    of exactly ``degree`` factors reached no lower monomial and degree >= 2 was refused as
    "no product produces x" (found by QA of degenerate POPs)."""
    pop = POP(x * y + x + y, ineqs=ineqs)
    minimum = point[0] * point[1] + point[0] + point[1]
    res = pop.solve(method="lp", degree=degree)
    assert res.status == "optimal" and res.certified
    assert res.bound <= minimum and res.bound == pytest.approx(minimum, abs=1e-9)


def test_certdnn_w10_s4_matches_published_lipopt3():
    # seed 0 of the CertDNN width-10, sparsity-4 networks; published LiPopt-3 bound 0.6098883923
    data = np.load(os.path.join(NETS, "w10_s4.npz")) if \
        os.path.exists(os.path.join(NETS, "w10_s4.npz")) else None
    if data is None:
        pytest.skip("reference networks not available")
    W, c = data["W"][0], data["c"][0]
    n = W.shape[1]
    names = [f"t{i}" for i in range(n)] + [f"s{j}" for j in range(n)]
    J, I = np.nonzero(W)
    f = Polynomial(names, np.stack([I, n + J], 1), W[J, I] * c[J])
    pop = POP(f, sense="max", variables=names, spin=names[:n], binary=names[n:])
    cliques = [[n + j] + np.flatnonzero(W[j]).tolist() for j in range(n)]
    res = pop.solve(method="lp", degree=3, sparsity=cliques)
    assert res.ok and abs(res.bound - 0.6098883923) <= 1e-4


def test_cs_cliques_from_the_analyzer():
    pytest.importorskip("polylip.sparsity.correlative")
    rng = np.random.default_rng(2)
    vs, pop = chain(5, rng)
    relaxation = LPRelaxation.build(pop, degree=2, sparsity="cs")
    assert relaxation.sparsity.kind == "cs" and relaxation.sparsity.max_clique <= 2
    res = relaxation.solve()
    pts = rng.uniform(-1, 1, size=(2000, 5))
    assert res.ok and res.bound <= float(pop.objective.evaluate(pts).min()) + 1e-7


def test_anchored_cliques_lipopt_family():
    # f = s * (t0 - t1) with s binary, t spin: max 2. Anchor s: products s or (1 - s) times
    # degree-(k-1) products of the t's.
    pop = POP(y * (x - z), sense="max", binary=[y], spin=[x, z])
    sp_ = LPSparsity.of(pop, [["x", "y", "z"]], anchors=["y"])
    relaxation = LPRelaxation.build(pop, degree=3, sparsity=sp_)
    assert (relaxation.products >= 0).sum(axis=1).min() == 3
    assert relaxation.solve().bound == pytest.approx(2.0, abs=1e-7)
    with pytest.raises(RelaxationError):
        LPSparsity.of(pop, [["x", "z"]], anchors=["y"])


def test_memory_estimate_refuses_before_the_lp_is_built(monkeypatch):
    from polylip.relax import krivine
    from polylip.runtime import MemoryLimit

    pop = POP(x * y * z - x, ineqs=box([x, y, z]))
    R = LPRelaxation.build(pop, degree=4)
    rows, cols, nnz = R.matrix.shape[0], R.nproducts + 1, R.matrix.nnz
    bounds = {}
    real = krivine._size_bounds
    real_expand = krivine._expand_box

    def spy(*args):
        bounds["nnz"], bounds["rows"] = out = real(*args)
        return out

    monkeypatch.setattr(krivine, "_size_bounds", spy)
    LPRelaxation.build(pop, degree=4)
    # the sizes known before expanding bound the built LP's (exact non-zeros on a box)
    assert bounds["nnz"] >= nnz and bounds["rows"] >= rows
    est = krivine.estimate_peak_bytes(bounds["rows"], cols, bounds["nnz"])
    assert est >= krivine.estimate_peak_bytes(rows, cols, nnz)

    def never(*args, **kwargs):
        raise AssertionError("the products were expanded before the memory check")

    monkeypatch.setattr(krivine, "_expand_box", never)
    with MemoryLimit(est - 1):
        with pytest.raises(RelaxationError, match=f"{R.nproducts:,} products.*non-zeros.*MiB"):
            LPRelaxation.build(pop, degree=4)
    monkeypatch.setattr(krivine, "_expand_box", real_expand)
    with MemoryLimit(est + 1):
        assert LPRelaxation.build(pop, degree=4).matrix.nnz == nnz


@pytest.mark.parametrize("first_order", ["pdhg-single", "pdlp"])
def test_auto_chooses_pdlp_by_size_through_the_registry(monkeypatch, first_order):
    if first_order == "pdlp":
        pytest.importorskip("highspy")
    from polylip.backends import registry

    monkeypatch.setattr(registry, "AUTO_FIRST_ORDER", first_order)

    pop = POP(x * y - x + y / 2 + x * z, ineqs=box([x, y, z]))
    R = LPRelaxation.build(pop, degree=3)
    assert R.choose_solver("auto") == "highs"  # a small LP
    ref = R.solve(solver="highs")
    monkeypatch.setattr(registry, "AUTO_HIGHS_MAX_NNZ", 0)
    monkeypatch.setattr(registry, "AUTO_PDLP_MIN_NNZ", 0)
    monkeypatch.setattr(registry, "AUTO_PDLP_MIN_ROWS_PER_CLIQUE", R.matrix.shape[0] - 1)
    assert R.choose_solver("auto") == first_order
    res = R.solve()
    assert res.solver == first_order and res.ok and res.certified
    assert abs(res.bound - ref.bound) <= res.accuracy + 1e-9
    monkeypatch.setattr(registry, "AUTO_PDLP_MIN_ROWS_PER_CLIQUE", R.matrix.shape[0])
    assert R.choose_solver("auto") == "clarabel"


@pytest.mark.parametrize("ineqs", [
    [x - 1, -x, y, 1 - y],                        # a bound above its opposite bound
    [x, 1 - x, y, 1 - y, x + y - 3],              # HiGHS: the polytope is empty
    [x, 1 - x, y, 1 - y, -1 + 0 * x],             # a negative constant
])
def test_an_empty_polytope_is_infeasible_with_a_certificate(ineqs):
    """Building the LP hierarchy found these empty in floating point, and the solve raised a
    RelaxationError (the CLI's exit 2, bad input); the claim is now checked: the SOS
    relaxation at the smallest order certifies it (a Farkas combination)."""
    res = POP(x + y, ineqs=ineqs).solve(method="lp")
    assert res.status == "infeasible" and res.certified and res.certificate.verify()
    assert "empty" in res.message and "SOS relaxation of order 1 instead" in res.message

"""Exact / product / lower bound against brute-force enumeration done by the test itself."""

import numpy as np
import pytest

from polylip.nn import (BallRegion, BoxRegion, ExactTooLargeError, GlobalRegion, MarginOutput,
                        Network, VectorOutput, exact_values, lipschitz, lower_bound,
                        product_bound)
from support.nn import brute_force, dual_norm, grad_for_pattern, patterns, random_net

CASES = [(seed, sizes) for seed in range(3)
         for sizes in ([2, 3, 1], [3, 4, 1], [2, 3, 3, 1], [2, 2, 2, 2, 1])]


def net_of(Ws, bs, act="relu"):
    return Network.from_weights(Ws, bs, activation=act)


@pytest.mark.parametrize("seed,sizes", CASES)
@pytest.mark.parametrize("norm", ["inf", 2])
def test_exact_matches_enumeration_global(seed, sizes, norm):
    Ws, bs = random_net(seed, sizes)
    net = net_of(Ws, bs)
    p = np.inf if norm == "inf" else 2.0
    formal, true = brute_force(Ws, bs, p)
    res = lipschitz(net, norm=norm, method="exact")
    assert res.details["formal"] == pytest.approx(formal, rel=1e-9)
    assert res.upper == pytest.approx(true, rel=1e-9)
    assert res.lower == pytest.approx(true, rel=1e-9)
    assert res.status == "optimal"
    # product bound >= formal >= true >= lower-bound search (which reaches it on tiny nets)
    prod = lipschitz(net, norm=norm, method="product", lower=False).upper
    assert prod >= formal * (1 - 1e-12)
    lb = lower_bound(net, norm)
    assert lb.value <= true * (1 + 1e-9)
    if sum(sizes[1:-1]) <= 4:
        assert lb.value == pytest.approx(true, rel=1e-9)
    # the witness attains the lower bound
    assert net.local_lipschitz(lb.witness[None, :], norm)[0] == pytest.approx(lb.value)


def test_formal_exceeds_true_on_known_network():
    # neuron 1 is on iff x > 1, neuron 2 iff x < -1: never both; the formal value allows it
    Ws = [np.array([[1.0], [-1.0]]), np.array([[1.0, -1.0]])]
    bs = [np.array([-1.0, -1.0]), np.zeros(1)]
    net = net_of(Ws, bs)
    ev = exact_values(net, "inf")
    assert ev.formal == pytest.approx(2.0) and ev.true == pytest.approx(1.0)
    res = lipschitz(net, method="exact")
    assert res.upper == pytest.approx(1.0) and res.details["formal"] == pytest.approx(2.0)
    assert lipschitz(net, method="product").upper >= 2.0


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("sizes", [[2, 3, 1], [2, 3, 2, 1]])
def test_local_box(seed, sizes):
    Ws, bs = random_net(seed, sizes)
    net = net_of(Ws, bs)
    rng = np.random.default_rng(100 + seed)
    x0 = rng.standard_normal(sizes[0]) * 0.5
    r = 0.4
    region = BoxRegion(x0, r)
    formal_ref, true_ref = brute_force(Ws, bs, np.inf, box=(x0 - r, x0 + r))
    res = lipschitz(net, method="exact", region=region)
    glob = lipschitz(net, method="exact")
    assert res.upper == pytest.approx(true_ref, rel=1e-9, abs=1e-12)
    assert res.details["formal"] <= formal_ref * (1 + 1e-12)  # IBP fixes stable neurons
    assert res.upper <= glob.upper * (1 + 1e-12)
    assert res.details["formal"] <= glob.details["formal"] * (1 + 1e-12)
    # lower bound at least the local constants at independently sampled points of the box
    X = x0 + r * rng.uniform(-1, 1, (400, sizes[0]))
    sampled = net.local_lipschitz(X, "inf").max()
    lb = lower_bound(net, "inf", region)
    assert lb.value >= sampled * (1 - 1e-9)
    assert lb.value <= res.upper * (1 + 1e-9)
    assert np.max(np.abs(lb.witness - x0)) <= r + 1e-12
    # local product <= global product, and >= the local formal value
    pl = product_bound(net, "inf", region)
    assert res.details["formal"] <= pl * (1 + 1e-12) <= product_bound(net, "inf") * (1 + 1e-12)


def test_local_ball_l2():
    Ws, bs = random_net(7, [3, 4, 1])
    net = net_of(Ws, bs)
    x0 = np.array([0.2, -0.1, 0.3])
    region = BallRegion(x0, 0.5)
    res = lipschitz(net, norm=2, method="exact", region=region)
    glob = lipschitz(net, norm=2, method="exact")
    rng = np.random.default_rng(3)
    X = region.sample(2000, rng)
    assert np.all(np.linalg.norm(X - x0, axis=1) <= 0.5 + 1e-12)
    sampled = net.local_lipschitz(X, 2).max()
    assert sampled <= res.upper * (1 + 1e-9)
    assert res.upper <= glob.upper * (1 + 1e-12)
    assert res.lower == pytest.approx(res.upper)
    assert np.linalg.norm(res.witness - x0) <= 0.5 + 1e-7


@pytest.mark.parametrize("seed", range(3))
def test_leaky_relu_exact(seed):
    alpha = 0.2
    Ws, bs = random_net(seed, [2, 3, 2, 1])
    net = net_of(Ws, bs, f"leaky_relu:{alpha}")
    formal, true = brute_force(Ws, bs, np.inf, values=(alpha, 1.0))
    res = lipschitz(net, method="exact")
    assert res.details["formal"] == pytest.approx(formal, rel=1e-9)
    assert res.upper == pytest.approx(true, rel=1e-9)
    assert lipschitz(net, method="product").upper >= formal * (1 - 1e-12)


def test_tanh_exact_is_formal_upper_bound():
    Ws, bs = random_net(1, [2, 3, 2, 1])
    net = net_of(Ws, bs, "tanh")
    formal, _ = brute_force(Ws, bs, np.inf, values=(0.0, 1.0))
    res = lipschitz(net, method="exact")
    assert res.details["true"] is None
    assert res.upper == pytest.approx(formal, rel=1e-9)
    assert res.lower <= res.upper
    # the sampled lower bound beats the constants at random points
    X = np.random.default_rng(0).standard_normal((500, 2)) * 2
    assert res.lower >= net.local_lipschitz(X).max() * (1 - 1e-9)


def test_vector_and_margin_outputs():
    Ws, bs = random_net(4, [3, 4, 3])
    u_rows = np.eye(3)
    for outnorm in ("inf", 2):
        net = Network.from_weights(Ws, bs, output=VectorOutput(outnorm))
        ref = 0.0
        for pat in patterns([4]):
            J = np.stack([grad_for_pattern(Ws, pat, u) for u in u_rows])
            ref = max(ref, np.abs(J).sum(axis=1).max() if outnorm == "inf"
                      else np.linalg.norm(J, 2))
        p = "inf" if outnorm == "inf" else "2"
        res = lipschitz(net, norm=p, method="exact")
        assert res.details["formal"] == pytest.approx(ref, rel=1e-9)
        assert lipschitz(net, norm=p, method="product").upper >= ref * (1 - 1e-12)
        assert res.lower <= res.upper * (1 + 1e-9)
    net = Network.from_weights(Ws, bs, output=MarginOutput(0, 2))
    u = np.array([1.0, 0.0, -1.0])
    formal, true = brute_force(Ws, bs, np.inf, u=u)
    res = lipschitz(net, method="exact")
    assert res.details["formal"] == pytest.approx(formal)
    assert res.upper == pytest.approx(true)


def test_exact_refuses_large_networks():
    Ws, bs = random_net(0, [4, 30, 1])
    net = net_of(Ws, bs)
    with pytest.raises(ExactTooLargeError, match="at most K = 22"):
        lipschitz(net, method="exact")
    with pytest.raises(ExactTooLargeError):
        lipschitz(net, method="exact", options={"max_unstable": 10})


def test_result_fields_and_registry():
    from polylip.nn.estimate import METHODS, MethodOutput, register_method
    Ws, bs = random_net(0, [2, 3, 1])
    net = net_of(Ws, bs)
    for norm in ("inf", "2", "1", np.inf, 2, 1):
        res = lipschitz(net, norm=norm, method="product")
        assert res.method == "product" and res.upper >= res.lower > 0
        assert res.gap == pytest.approx(res.upper - res.lower)
        assert res.seconds >= 0 and res.status in ("ok", "optimal")
    res = lipschitz(net, method="product", lower=False)
    assert res.lower is None and res.gap is None and res.upper > 0
    d = res.to_dict()
    assert d["method"] == "product" and d["norm"] == "inf"

    @register_method("test-constant", replace=True)
    def _const(problem, value=5.0):
        return MethodOutput(upper=value, details={"dual": problem.dual_norm})

    try:
        res = lipschitz(net, norm=2, method="test-constant", options={"value": 7.0})
        assert res.upper == 7.0 and res.details["dual"] == 2.0
    finally:
        del METHODS["test-constant"]


def test_global_region_explicit_equals_default():
    Ws, bs = random_net(2, [2, 3, 1])
    net = net_of(Ws, bs)
    a = lipschitz(net, method="exact", region=GlobalRegion())
    b = lipschitz(net, method="exact")
    assert a.upper == b.upper and a.lower == b.lower


def test_lower_bound_deterministic():
    Ws, bs = random_net(5, [6, 8, 6, 1])
    net = net_of(Ws, bs)
    a, b = lower_bound(net, "inf"), lower_bound(net, "inf")
    assert a.value == b.value and np.array_equal(a.witness, b.witness)
    assert dual_norm(net.gradient(a.witness), np.inf) == pytest.approx(a.value)


def _tiny_cells_net(radius):
    """A 3-6-6-1 ReLU network whose first-layer hyperplanes pass through the center (0, -1, 0)
    or within ``radius`` of it: its cells there are ``radius`` wide."""
    W1 = np.array([[0, -1, -2], [2, -2, 2], [-1, 2, -2], [-2, 1, 1], [-1, -1, -1], [1, 0, 2]],
                  float)
    W2 = np.array([[0, 0, -2, -1, 0, -2], [-2, 2, 2, -2, -1, 1], [-1, 2, -2, -1, 1, -2],
                   [-2, -1, 1, 1, 1, 2], [-2, -1, -1, 0, 0, 0], [0, -2, 1, -2, 1, 1]], float)
    W3 = np.array([[-1, -1, -1, -2, 0, -1]], float)
    c0 = np.array([0.0, -1.0, 0.0])
    b1 = -(W1 @ c0) + np.array([0, 0, -1, -1, 0, 1]) * radius
    return Network.from_weights([W1, W2, W3], [b1, np.array([0, 0, 2, 1, 0, 1.0]), None]), c0


@pytest.mark.parametrize("radius", [1e-11, 1e-9, 1e-3])
@pytest.mark.parametrize("kind", ["box", "ball"])
def test_true_value_on_a_tiny_region(radius, kind):
    """The realizability LPs worked in the units of x, with an absolute margin threshold of
    1e-9 and HiGHS's absolute tolerances: over a box of radius 1e-11 every cell's margin was
    below them, and "exact" called 12 the true constant where 200,000 samples of the box
    reach 33 (an upper bound below the constant). They now work in the region's own units."""
    net, c0 = _tiny_cells_net(radius)
    region = BoxRegion(c0, radius) if kind == "box" else BallRegion(c0, radius)
    rng = np.random.default_rng(0)
    S = region.project(c0 + radius * rng.uniform(-1, 1, (200_000, 3)))
    sampled = net.local_lipschitz(S, "inf").max()
    assert sampled == pytest.approx(33.0)
    ev = exact_values(net, "inf", region)
    assert ev.true >= sampled - 1e-9
    res = lipschitz(net, "inf", method="exact", region=region)
    assert res.upper >= sampled - 1e-9 and res.status != "inconsistent"
    assert res.lower <= res.upper


@pytest.mark.parametrize("method", ["exact", "milp", "bab", "interval", "auto"])
def test_every_method_on_a_tiny_box(method):
    """Over a box of radius 1e-11 "milp" gave 18.0018 and "bab" 16 with status "optimal",
    below the 20 that samples of the box reach ("exact": 20): HiGHS's absolute tolerances and
    the linear bounds worked in the units of x. The methods now see the region in its own
    units (``x = c + r y``)."""
    radius = 1e-11
    W1 = np.array([[2.0, -1.0], [0.0, 1.0], [-2.0, 0.0], [2.0, 2.0]])
    W2 = np.array([[0.0, 1.0, -1.0, -2.0], [2.0, -2.0, 1.0, 2.0], [2.0, 0.0, -2.0, 2.0],
                   [-1.0, 2.0, 2.0, -2.0]])
    c0 = np.array([-1.0, 0.5])
    b1 = -(W1 @ c0) + np.array([-1, 0, 1, 0]) * radius
    net = Network.from_weights([W1, W2, np.array([[1.0, 1.0, 0.0, -2.0]])],
                               [b1, np.array([1.0, -1.0, -2.0, 1.0]), None])
    region = BoxRegion(c0, radius)
    rng = np.random.default_rng(0)
    S = c0 + radius * rng.uniform(-1, 1, (200_000, 2))
    sampled = net.local_lipschitz(S, "inf").max()
    assert sampled == pytest.approx(20.0)
    res = lipschitz(net, "inf", method=method, region=region, budget=20)
    assert res.upper is not None and res.upper >= sampled - 1e-9, (res.upper, sampled)
    assert res.status != "inconsistent" and res.lower <= res.upper
    assert region.contains(res.witness[None, :], tol=1e-15)[0]  # 0.5 + 1e-11 rounds up
    assert res.lower == pytest.approx(net.local_lipschitz(res.witness[None, :], "inf")[0])


@pytest.mark.parametrize("radius", [1e12, 1e18])
@pytest.mark.parametrize("kind", ["box", "ball"])
def test_true_value_on_a_huge_region(radius, kind):
    """The margin LPs in units of the radius lost every cell of the network's own size
    (about 1 in x) over a large region: over a ball of radius 1e12 "exact" gave 0.9387
    "optimal" and "milp" 0.9387 "ok" where the true constant, the global one (every cell lies
    near 0), is 0.9431; a ball of radius 1e15 stopped even "product" with Clarabel's
    InsufficientProgress. The LPs now work in units of min(r, 1) (QA round 4)."""
    rng = np.random.default_rng(0)
    Ws = [rng.standard_normal((4, 2)), rng.standard_normal((1, 4))]
    bs = [rng.standard_normal(4), np.zeros(1)]
    net = net_of(Ws, bs)
    _, true = brute_force(Ws, bs, np.inf)
    c0 = np.array([0.3, -0.2])
    region = BoxRegion(c0, radius) if kind == "box" else BallRegion(c0, radius)
    res = lipschitz(net, "inf", method="exact", region=region)
    assert res.upper == pytest.approx(true, rel=1e-9) and res.status == "optimal"
    if kind == "ball":
        milp = lipschitz(net, "inf", method="milp", region=region).upper
        assert milp is None or milp >= true * (1 - 1e-9)   # big-M of 1e18: no bound, said
    assert lipschitz(net, "inf", method="product", region=region).upper >= true


@pytest.mark.parametrize("method,radius,lower", [("exact", 1e15, True), ("bab", 1e12, False)])
def test_huge_box_of_a_deeper_network_gives_its_bound(method, radius, lower):
    """Pattern LPs with bounds of 1e12..1e15 got HiGHS's "model status Unknown", a
    SolverError that stopped even "product" (through the lower-bound search) on a 3-6-6-1
    network (QA round 4); a large box is tried without its bounds first."""
    rng = np.random.default_rng(3)
    Ws = [rng.standard_normal((6, 3)), rng.standard_normal((6, 6)), rng.standard_normal((1, 6))]
    bs = [rng.standard_normal(6), rng.standard_normal(6), np.zeros(1)]
    net = net_of(Ws, bs)
    true = lipschitz(net, "inf", method="exact").upper
    res = lipschitz(net, "inf", method=method, region=BoxRegion(rng.uniform(-.5, .5, 3), radius),
                    lower=lower)
    assert res.upper >= true * (1 - 1e-9)

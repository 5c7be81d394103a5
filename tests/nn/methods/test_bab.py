"""Method "bab" (true local l_inf constant by branch and bound over activation patterns with
linear bounds through the Jacobian) and its node bounds (polylip.nn.jacobian_bounds), against
brute force: dense sampling of gradients in the box and exact enumeration of the patterns."""

import doctest
import math

import numpy as np
import pytest

from polylip.errors import ModelError
from polylip.nn import BoxRegion, Network, exact_values, lipschitz
from polylip.nn import jacobian_bounds as jb
from polylip.nn.methods import bab as bab_method


def random_net(sizes, seed, activation="relu", scale=0.5, integer=False):
    rng = np.random.default_rng(seed)
    if integer:
        Ws = [rng.integers(-2, 3, size=(b, a)).astype(float) for a, b in
              zip(sizes[:-1], sizes[1:])]
        bs = [rng.integers(-1, 2, size=b).astype(float) for b in sizes[1:]]
    else:
        Ws = [rng.normal(size=(b, a)) for a, b in zip(sizes[:-1], sizes[1:])]
        bs = [rng.normal(size=b) * scale for b in sizes[1:]]
    return Network.from_weights(Ws, bs, activation=activation)


def sampled_max(net, region, n=40000, seed=1):
    """Largest ||grad||_1 at random points of the box and its corners' neighbourhood (a lower
    estimate of the true local constant, independent of polylip's bounds)."""
    rng = np.random.default_rng(seed)
    c, r = region.center, region.radius
    X = np.vstack([c + r * rng.uniform(-1, 1, (n, c.size)),
                   c + r * rng.choice([-1.0, 1.0], (n // 4, c.size)) * rng.uniform(0.9, 1.0, (
                       n // 4, c.size))])
    return float(np.max(net.local_lipschitz(X, "inf")))


def run(net, region, **options):
    return lipschitz(net, "inf", method="bab", region=region, options=options)


CASES = [([2, 6, 5, 1], 0, 0.8), ([3, 5, 4, 1], 1, 0.6), ([2, 8, 1], 2, 1.0),
         ([4, 4, 4, 4, 1], 3, 0.5), ([3, 6, 6, 1], 4, 0.7), ([2, 5, 5, 5, 1], 5, 0.9)]


@pytest.mark.parametrize("sizes,seed,radius", CASES)
def test_bab_brackets_the_true_constant(sizes, seed, radius):
    net = random_net(sizes, seed)
    rng = np.random.default_rng(seed + 10)
    region = BoxRegion(rng.normal(size=sizes[0]) * 0.3, radius)
    true = exact_values(net, "inf", region).true
    res = run(net, region)
    assert res.upper >= true * (1 - 1e-9) - 1e-9
    assert res.upper >= sampled_max(net, region) * (1 - 1e-9)
    assert res.lower <= true * (1 + 1e-9) + 1e-9
    assert res.details["exact"] and res.status in ("ok", "optimal")
    assert res.upper <= true * (1 + 2e-4) + 1e-9  # closed to its gap
    assert res.constant == "true"


@pytest.mark.parametrize("sizes,seed,radius", CASES)
def test_stopped_early_still_an_upper_bound(sizes, seed, radius):
    net = random_net(sizes, seed)
    rng = np.random.default_rng(seed + 10)
    region = BoxRegion(rng.normal(size=sizes[0]) * 0.3, radius)
    true = exact_values(net, "inf", region).true
    res = lipschitz(net, "inf", method="bab", region=region, lower=False,
                    options={"node_limit": 3, "exact_unstable": 0})
    assert res.upper >= true * (1 - 1e-9) - 1e-9
    if res.details["open"]:
        assert res.status == "time_limit"


def test_node_bounds_hold_on_random_nodes():
    """Random sign fixings: every sampled point of the box with those signs has its
    pre-activations in the node's intervals and its gradient norm below the node's bound."""
    for seed in range(6):
        net = random_net([3, 7, 6, 1], seed)
        rng = np.random.default_rng(seed)
        c = rng.normal(size=3) * 0.3
        lo, hi = c - 0.7, c + 0.7
        X = c + 0.7 * rng.uniform(-1, 1, (30000, 3))
        Z = net.pre_activations(X)
        G = np.abs(net.gradient(X)).sum(axis=1)
        root = jb.forward_bounds(net, lo, hi)
        for trial in range(8):
            fixed, mask = [], np.ones(X.shape[0], dtype=bool)
            for k, n in enumerate(net.widths):
                un = (root.zl[k] < 0) & (root.zh[k] > 0)
                f = np.where(un & (rng.uniform(size=n) < 0.4),
                             rng.choice([-1, 1], size=n), 0).astype(np.int8)
                fixed.append(f)
                mask &= np.all(np.where(f > 0, Z[k] >= 0, np.where(f < 0, Z[k] <= 0, True)),
                               axis=1)
            fwd = jb.forward_bounds(net, lo, hi, fixed)
            if not mask.any():
                continue
            assert not fwd.empty
            for k in range(net.num_hidden):
                assert np.all(Z[k][mask] >= fwd.zl[k] - 1e-9)
                assert np.all(Z[k][mask] <= fwd.zh[k] + 1e-9)
                assert np.all(Z[k][mask] <= X[mask] @ fwd.Au[k].T + fwd.cu[k] + 1e-9)
                assert np.all(Z[k][mask] >= X[mask] @ fwd.Al[k].T + fwd.cl[k] - 1e-9)
            s = bab_method._Search.__new__(bab_method._Search)
            s.lo, s.hi = lo, hi
            G_rows = s._rows(fwd, fixed)
            for rows in (None, G_rows):
                nb = jb.node_bound(net, net.functional(), fwd, rows=rows)
                assert G[mask].max() <= nb.upper * (1 + 1e-9) + 1e-12
                assert nb.upper <= nb.interval


def test_tightened_bound_never_above_the_interval_bound():
    net = random_net([5, 12, 12, 12, 1], 7)
    region = BoxRegion(np.zeros(5), 0.3)
    fwd = jb.forward_bounds(net, region.center - 0.3, region.center + 0.3)
    plain = jb.node_bound(net, net.functional(), fwd, tighten=False)
    tight = jb.node_bound(net, net.functional(), fwd)
    interval = lipschitz(net, "inf", method="interval", region=region, lower=False).upper
    assert tight.upper <= plain.upper * (1 + 1e-12)
    assert plain.upper <= interval * (1 + 1e-7)  # the same intervals, with rounding margins
    assert tight.upper >= sampled_max(net, region) * (1 - 1e-9)


def test_certified_max_is_an_upper_bound_whatever_the_multipliers():
    rng = np.random.default_rng(0)
    for _ in range(20):
        n, m = 4, 6
        lam, G = rng.normal(size=n), rng.normal(size=(m, n))
        lo, hi = -np.ones(n), np.ones(n)
        h = G @ rng.uniform(-0.5, 0.5, n) + 0.1
        bound, x = jb.certified_max(lam, 0.3, lo, hi, G, h)
        X = rng.uniform(-1, 1, (50000, n))
        ok = np.all(X @ G.T <= h, axis=1)
        assert (X[ok] @ lam + 0.3).max() <= bound + 1e-12
        assert bound <= np.abs(lam).sum() + 0.3 + 1e-9


@pytest.mark.parametrize("seed", range(3))
def test_integer_weights_and_coincident_hyperplanes(seed):
    """Integer weights put kinks on exact values; repeated and proportional rows put several
    neurons on one hyperplane (their patterns are tied): the bounds stay valid and exact."""
    net = random_net([2, 5, 4, 1], seed, integer=True)
    W1, b1 = (np.asarray(v, float).copy() for v in net.affine_layers[0])
    W1[1], b1[1] = W1[0], b1[0]               # a repeated neuron
    W1[2], b1[2] = 2.0 * W1[0], 2.0 * b1[0]   # a proportional one
    W2, b2 = (np.asarray(v, float) for v in net.affine_layers[1])
    W3 = np.asarray(net.affine_layers[2][0], float)
    net = Network.from_weights([W1, W2, W3], [b1, b2, None])
    region = BoxRegion([0.0, 0.0], 1.0)       # integer corners: kinks through them
    true = exact_values(net, "inf", region).true
    res = run(net, region)
    assert res.upper >= true - 1e-9
    assert res.upper >= sampled_max(net, region) - 1e-9
    assert res.lower <= true + 1e-9
    assert res.upper <= true * (1 + 2e-4) + 1e-9


def test_zero_network_and_point_box():
    net = Network.from_weights([np.zeros((3, 2)), np.zeros((1, 3))], [np.zeros(3), None])
    res = run(net, BoxRegion([0.5, -0.5], 0.2))
    assert res.upper == pytest.approx(0.0, abs=1e-9)
    net = random_net([2, 4, 1], 0)
    with pytest.raises(ModelError, match="radius must be > 0"):  # one point: no constant
        run(net, BoxRegion([0.1, 0.2], 0.0))


def test_leaky_relu_and_smooth_activations():
    for act in ("leaky_relu:0.1", "tanh"):
        net = random_net([3, 6, 5, 1], 3, activation=act)
        region = BoxRegion([0.1, -0.2, 0.3], 0.6)
        res = lipschitz(net, "inf", method="bab", region=region,
                        options={"time_limit": 5.0, "node_limit": 40})
        assert res.upper >= sampled_max(net, region) * (1 - 1e-9)
        assert res.lower <= res.upper * (1 + 1e-9)


def test_margin_output_and_errors():
    rng = np.random.default_rng(0)
    net = Network.from_weights([rng.normal(size=(6, 3)), rng.normal(size=(3, 6))],
                               [rng.normal(size=6), None], output="margin:0,2")
    region = BoxRegion(np.zeros(3), 0.5)
    true = exact_values(net, "inf", region).true
    res = run(net, region)
    assert true - 1e-9 <= res.upper <= true * (1 + 2e-4) + 1e-9
    with pytest.raises(ModelError):
        lipschitz(net, 2, method="bab", region=region)
    with pytest.raises(ModelError):
        lipschitz(net, "inf", method="bab")
    with pytest.raises(ModelError):
        lipschitz(net.with_output("vector"), "inf", method="bab", region=region)
    with pytest.raises(ModelError):
        lipschitz(net, "inf", method="bab", region=region, options={"gap": -1})


def test_budget_status():
    net = random_net([6, 20, 20, 1], 0)
    region = BoxRegion(np.zeros(6), 1.0)
    res = lipschitz(net, "inf", method="bab", region=region, budget=2.0)
    assert res.status in ("time_limit", "ok", "optimal")
    assert res.upper >= sampled_max(net, region, n=4000) * (1 - 1e-9)
    res = lipschitz(net, "inf", method="bab", region=region, lower=False,
                    options={"node_limit": 5})
    assert res.status == "time_limit" and res.details["nodes"] <= 7


def test_doctests():
    for mod in (jb, bab_method):
        assert doctest.testmod(mod).failed == 0


def test_auto_runs_bab_on_a_box_and_deterministic_mode_gives_it_nodes():
    from polylip.nn.methods import plan

    net = random_net([3, 6, 5, 1], 0)
    region = BoxRegion(np.zeros(3), 0.7)
    true = exact_values(net, "inf", region).true
    res = lipschitz(net, "inf", region=region, budget=20)
    assert res.details["best_step"] == "bab" and res.details["true_within"] is not None
    assert true - 1e-9 <= res.upper <= true * (1 + 2e-4) + 1e-9
    runs = [lipschitz(net, "inf", region=region, budget=20, deterministic=True)
            for _ in range(2)]
    assert runs[0].upper == runs[1].upper and runs[0].lower == runs[1].lower
    tried = [t for t in runs[0].details["tried"] if t["method"] == "bab"]
    assert tried and tried[0]["node_limit"] >= 1 and "time_limit" not in tried[0]
    assert plan.BAB_NODE_SECONDS > 0


def test_an_affine_network_is_its_gradient():
    """A network without hidden layers (a torch nn.Linear alone) raised IndexError in the
    node bounds (QA round 4): its constant is ||W^T u||_1, attained everywhere."""
    net = Network.from_weights([np.array([[1.0, -2.0, 0.5], [0.5, 1.0, 1.0]])],
                               output="margin:0,1")
    res = lipschitz(net, "inf", method="bab", region=BoxRegion(np.zeros(3), 0.5))
    assert res.upper == res.lower == 4.0 and res.status == "optimal"

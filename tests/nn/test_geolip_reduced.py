"""GeoLIP with the stable neurons eliminated (polylip/nn/geolip_reduced.py): never below the
formal local constant enumerated over the slope ranges, nor below the true local constant
(dense sampling, the exact method) or an attained lower bound; equal to the layered relaxation
up to the solvers' accuracy; degenerate networks (integer weights, dead neurons, every neuron
stable, leaky ReLU) handled."""

import itertools

import numpy as np
import pytest

from polylip.nn import Network, lipschitz
from polylip.nn.geolip import geolip_bound
from polylip.nn.geolip_reduced import reduce_data, reduced_geolip
from polylip.nn.lipsdp import lipsdp_data
from polylip.nn.regions import BoxRegion


def _net(sizes, seed, scale=0.5, activation="relu"):
    rng = np.random.default_rng(seed)
    Ws = [rng.standard_normal((sizes[i + 1], sizes[i])) / np.sqrt(sizes[i])
          for i in range(len(sizes) - 1)]
    bs = [scale * rng.standard_normal(sizes[i + 1]) for i in range(len(sizes) - 1)]
    return Network.from_weights(Ws, bs, activation=activation)


def _formal_local(net, db):
    """max over the slope-range vertices of ||grad||_1 (independent of the package)."""
    Ws = [np.asarray(W, dtype=float) for W, _ in net.affine_layers]
    free = [np.flatnonzero(h > lo) for lo, h in db]
    best = 0.0
    for bits in itertools.product((0, 1), repeat=sum(f.size for f in free)):
        bits, off, S = np.asarray(bits), 0, []
        for (lo, h), f in zip(db, free):
            s = np.asarray(lo, float).copy()
            s[f] = np.where(bits[off:off + f.size] > 0, h[f], lo[f])
            off += f.size
            S.append(s)
        g = Ws[-1].T @ net.functional()
        for W, s in zip(reversed(Ws[:-1]), reversed(S)):
            g = W.T @ (s * g)
        best = max(best, float(np.abs(g).sum()))
    return best


def _sampled_true(net, box, n=20000, seed=0):
    X = box.sample(n, np.random.default_rng(seed))
    return float(np.max(net.local_lipschitz(X, "inf")))


@pytest.mark.parametrize("seed", range(5))
def test_valid_and_equal_to_the_layered_relaxation(seed):
    rng = np.random.default_rng(100 + seed)
    net = _net((5, 8, 8, 1), seed)
    box = BoxRegion(rng.standard_normal(5), 0.3)
    db = box.propagate(net).derivative_bounds
    out = reduced_geolip(net, db)
    if out is None:  # nothing stable on this box
        pytest.skip("no neuron of fixed slope")
    assert out["bound"] is not None and out["reduced_size"] < out["lmi_size"]
    formal = _formal_local(net, db)
    assert out["bound"] >= formal * (1 - 1e-9)
    assert formal >= _sampled_true(net, box) * (1 - 1e-9)
    layered = geolip_bound(net, db, form="dense")["bound"]
    # the limit of the layered LMI: never above it beyond the solvers' accuracy
    assert out["bound"] <= layered * (1 + 1e-3)
    assert out["bound"] >= layered * (1 - 1e-2)


def test_through_lipschitz_above_the_true_constant_and_the_lower_bound():
    net = _net((4, 6, 6, 1), 7)
    box = BoxRegion(np.array([0.2, -0.1, 0.4, 0.0]), 0.2)
    res = lipschitz(net, "inf", method="geolip", region=box)
    assert res.details["form"] == "reduced"
    true = lipschitz(net, "inf", method="exact", region=box, lower=False).upper
    assert res.upper >= true * (1 - 1e-9)
    assert res.upper >= res.lower * (1 - 1e-9)
    off = lipschitz(net, "inf", method="geolip", region=box, options={"reduce": False},
                    lower=False)
    assert off.details["form"] != "reduced"
    assert res.upper == pytest.approx(off.upper, rel=1e-3)


def test_integer_weights_and_a_dead_neuron():
    W1 = np.array([[1.0, -1.0], [2.0, 1.0], [1.0, 1.0], [0.0, 1.0]])
    b1 = np.array([0.0, 0.0, 5.0, -9.0])   # neuron 3 stably on, neuron 4 dead on the box
    W2 = np.array([[1.0, 1.0, -1.0, 3.0], [1.0, -2.0, 1.0, 1.0]])
    W3 = np.array([[1.0, -1.0]])
    net = Network.from_weights([W1, W2, W3], [b1, np.array([0.0, 4.0]), None])
    box = BoxRegion([0.0, 0.0], 1.0)
    db = box.propagate(net).derivative_bounds
    out = reduced_geolip(net, db)
    assert out["bound"] >= _formal_local(net, db) * (1 - 1e-9)
    assert out["bound"] >= _sampled_true(net, box) * (1 - 1e-9)


def test_every_neuron_stable_is_the_linear_map():
    # far from every kink: the network is affine on the box, its constant ||c||_1
    W1 = np.array([[1.0, 2.0], [-1.0, 1.0], [0.5, -0.5]])
    W2 = np.array([[1.0, -1.0, 2.0], [0.5, 0.5, 0.5]])
    net = Network.from_weights([W1, W2, np.array([[1.0, 1.0]])],
                               [np.array([10.0, 10.0, -10.0]), np.array([20.0, 20.0]), None])
    box = BoxRegion([0.0, 0.0], 0.5)
    db = box.propagate(net).derivative_bounds
    out = reduced_geolip(net, db)
    exact = float(np.abs(np.array([1.0, 1.0]) @ W2[:, :2] @ W1[:2]).sum())
    assert out["reduced_size"] == 2
    assert out["bound"] >= exact * (1 - 1e-12)
    assert out["bound"] == pytest.approx(exact, rel=1e-4)


def test_constant_on_the_box_and_no_stable_neuron_fall_back():
    W1 = np.array([[1.0, -1.0], [2.0, 1.0]])
    net = Network.from_weights([W1, np.array([[1.0, 1.0]])], [np.array([-9.0, -9.0]), None])
    db = BoxRegion([0.0, 0.0], 1.0).propagate(net).derivative_bounds
    assert reduced_geolip(net, db) is None            # every neuron dead: constant
    assert reduced_geolip(net, None) is None          # global ranges: nothing fixed


def test_leaky_relu_against_its_slopes():
    net = _net((4, 6, 5, 1), 3, activation="leaky_relu:0.1")
    box = BoxRegion(np.array([0.3, -0.2, 0.1, 0.5]), 0.3)
    db = box.propagate(net).derivative_bounds
    out = reduced_geolip(net, db)
    assert out is not None and out["bound"] >= _formal_local(net, db) * (1 - 1e-9)
    assert out["bound"] >= _sampled_true(net, box) * (1 - 1e-9)


def test_reduced_maps_compose_the_stable_neurons():
    net = _net((3, 5, 5, 1), 11)
    box = BoxRegion(np.array([0.1, 0.2, -0.3]), 0.2)
    data = lipsdp_data(net, box.propagate(net).derivative_bounds)
    Arows, al, be, c, un = reduce_data(data)
    # at a random slope vector in the ranges, the reduced gradient equals the layered one
    rng = np.random.default_rng(0)
    s = [a + (b - a) * rng.uniform(size=a.size) for a, b in zip(data.alpha, data.beta)]
    t = rng.standard_normal(data.n0)
    v, vals, zs = t, [], []
    for W, sk, u in zip(data.weights, s, un):
        z = W @ v
        zs.append(z[u])
        v = sk * z
        vals.append(v[u])
    y = np.concatenate([t] + vals)
    assert float(c @ y) == pytest.approx(float((data.wout @ v)[0]), rel=1e-10)
    np.testing.assert_allclose(Arows @ y, np.concatenate(zs), rtol=1e-10, atol=1e-12)
    assert np.all(al < be)

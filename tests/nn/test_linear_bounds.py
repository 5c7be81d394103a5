"""Pre-activation bounds by linear bound propagation (polylip.nn.linear_bounds, CROWN)."""

import doctest

import numpy as np
import pytest

from polylip.errors import ModelError
from polylip.nn import BallRegion, BoxRegion, Network, lipschitz
from polylip.nn import linear_bounds
from polylip.nn.activations import get_activation

ACTIVATIONS = ["relu", "leaky_relu:0.1", "leaky_relu:2.0", "tanh", "sigmoid", "elu:1.0",
               "elu:2.0", "softplus"]


def deep_net(seed, sizes, activation="relu"):
    rng = np.random.default_rng(seed)
    Ws = [rng.normal(0, np.sqrt(2.0 / a), size=(b, a)) for a, b in zip(sizes[:-1], sizes[1:])]
    bs = [rng.normal(0, 0.5, size=b) for b in sizes[1:]]
    return Network.from_weights(Ws, bs, activation=activation)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_lines_enclose_the_function(name):
    act = get_activation(name)
    rng = np.random.default_rng(0)
    lo = rng.normal(0, 2, 400)
    hi = lo + np.abs(rng.normal(0, 2, 400)) * (rng.random(400) < 0.9)  # some point intervals
    sl, bl, su, bu = act.linear_bounds(lo, hi)
    for t in np.linspace(0, 1, 41):
        z = lo + t * (hi - lo)
        a = act(z)
        tol = 1e-12 * (1 + np.abs(a) + np.abs(z))
        assert np.all(sl * z + bl <= a + tol) and np.all(a <= su * z + bu + tol)


@pytest.mark.parametrize("name", ACTIVATIONS)
@pytest.mark.parametrize("kind", ["box", "ball"])
def test_bounds_contain_every_sampled_pre_activation(name, kind):
    net = deep_net(1, [6, 12, 12, 12, 1], name)
    center = np.random.default_rng(2).normal(size=6)
    region = (BoxRegion if kind == "box" else BallRegion)(center, 0.4)
    rb = region.propagate(net)
    X = region.sample(4000, np.random.default_rng(3))
    X = np.vstack([X, region.project(center + 0.4 * np.sign(np.random.default_rng(4).normal(
        size=(500, 6))))])  # corners (box) / boundary points (ball)
    Z = net.pre_activations(X)
    for z, lo, hi in zip(Z, rb.pre_lo, rb.pre_hi):
        assert np.all(z >= lo - 1e-12) and np.all(z <= hi + 1e-12)


@pytest.mark.parametrize("name", ["relu", "tanh", "leaky_relu:0.1"])
def test_never_wider_than_ibp_and_tighter_in_depth(name):
    net = deep_net(5, [10, 20, 20, 20, 1], name)
    center = np.random.default_rng(6).normal(size=10)
    crown = BoxRegion(center, 0.1).propagate(net)
    ibp = BoxRegion(center, 0.1, bounds="ibp").propagate(net)
    for k in range(3):
        assert np.all(crown.pre_lo[k] >= ibp.pre_lo[k]) and np.all(crown.pre_hi[k] <= ibp.pre_hi[k])
    assert np.allclose(crown.pre_lo[0], ibp.pre_lo[0])  # the first layer is exact either way
    width = lambda rb: (rb.pre_hi[2] - rb.pre_lo[2]).sum()  # noqa: E731
    assert width(crown) < 0.8 * width(ibp)


def test_more_stable_neurons_and_smaller_local_bounds():
    net = deep_net(7, [10, 20, 20, 20, 1])
    center = np.random.default_rng(8).normal(size=10)
    crown, ibp = BoxRegion(center, 0.1), BoxRegion(center, 0.1, bounds="ibp")
    assert crown.propagate(net).num_unstable < ibp.propagate(net).num_unstable
    for method in ("product", "interval"):
        tight = lipschitz(net, "inf", method=method, region=crown, lower=False).upper
        loose = lipschitz(net, "inf", method=method, region=ibp, lower=False).upper
        assert tight <= loose * (1 + 1e-12)
    res = lipschitz(net, "inf", method="interval", region=crown)
    assert res.upper >= res.lower  # still a bound: the sampled local constant lies below it


def test_large_layers_keep_ibp(monkeypatch):
    net = deep_net(9, [5, 8, 8, 1])
    center = np.zeros(5)
    monkeypatch.setattr(linear_bounds, "MAX_ENTRIES", 0)
    crown = BoxRegion(center, 0.5).propagate(net)
    ibp = BoxRegion(center, 0.5, bounds="ibp").propagate(net)
    for a, b in zip(crown.pre_hi + crown.pre_lo, ibp.pre_hi + ibp.pre_lo):
        assert np.array_equal(a, b)


def test_point_region_is_exact():
    net = deep_net(10, [4, 6, 6, 1], "tanh")
    x = np.random.default_rng(11).normal(size=4)
    rb = BoxRegion(x, 0.0).propagate(net)
    for z, lo, hi in zip(net.pre_activations(x[None, :]), rb.pre_lo, rb.pre_hi):
        assert np.allclose(lo, z[0], atol=1e-9) and np.allclose(hi, z[0], atol=1e-9)
        assert np.all(lo <= hi)


def test_bad_bounds_option():
    with pytest.raises(ModelError, match="bounds must be"):
        BoxRegion(np.zeros(2), 0.1, bounds="deeppoly")
    with pytest.raises(ModelError, match="bounds must be"):
        BallRegion(np.zeros(2), 0.1, bounds=None)


def test_module_doctests():
    assert doctest.testmod(linear_bounds).failed == 0

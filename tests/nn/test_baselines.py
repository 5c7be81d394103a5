"""The interval-Jacobian baseline (method "interval", polylip.nn.baselines.interval_bound)."""

import doctest
import itertools

import numpy as np
import pytest

from polylip.errors import ModelError
from polylip.nn import BoxRegion, Network, exact_values, lipschitz
from polylip.nn import baselines
from polylip.nn.baselines import interval_bound, interval_jacobian, product_bound


def random_net(sizes, seed, activation="relu", output=None):
    rng = np.random.default_rng(seed)
    Ws = [rng.normal(size=(b, a)) for a, b in zip(sizes[:-1], sizes[1:])]
    bs = [rng.normal(size=b) * 0.5 for b in sizes[1:]]
    return Network.from_weights(Ws, bs, activation=activation, output=output)


CASES = [([3, 4, 1], 0), ([4, 5, 1], 1), ([3, 3, 3, 1], 2), ([2, 4, 3, 1], 3), ([3, 2, 2, 2, 1], 4)]


@pytest.mark.parametrize("sizes,seed", CASES)
@pytest.mark.parametrize("activation", ["relu", "leaky_relu:0.1", "tanh"])
@pytest.mark.parametrize("norm", ["inf", 2, 1])
def test_at_least_the_formal_constant(sizes, seed, activation, norm):
    net = random_net(sizes, seed, activation)
    region = BoxRegion(np.random.default_rng(seed).normal(size=sizes[0]), 0.3)
    for reg in (None, region):
        formal = exact_values(net, norm, reg).formal
        assert interval_bound(net, norm, reg) >= formal * (1 - 1e-12)
    # local at most global (the ranges only shrink)
    assert interval_bound(net, norm, region) <= interval_bound(net, norm) * (1 + 1e-12)


def test_one_hidden_layer_closed_form():
    """f = c . relu(W x + b), global: J_i ranges over [sum_j min(0, c_j W_ji),
    sum_j max(0, c_j W_ji)], so the l_inf bound is sum_i max(P_i, N_i)."""
    rng = np.random.default_rng(5)
    W, c = rng.normal(size=(6, 4)), rng.normal(size=6)
    net = Network.from_weights([W, c[None, :]], [rng.normal(size=6), None])
    V = c[:, None] * W
    P, N = np.maximum(V, 0).sum(axis=0), -np.minimum(V, 0).sum(axis=0)
    assert interval_bound(net, "inf") == pytest.approx(np.maximum(P, N).sum(), rel=1e-12)
    assert interval_bound(net, 2) == pytest.approx(np.linalg.norm(np.maximum(P, N)), rel=1e-12)
    lo, hi = interval_jacobian(net)
    assert np.allclose(lo, -N) and np.allclose(hi, P)


def test_every_pattern_lies_in_the_interval_jacobian():
    net = random_net([3, 4, 3, 2], 7, output="vector:inf")
    lo, hi = interval_jacobian(net)
    Ws = [np.asarray(W) for W, _ in net.affine_layers]
    for s1 in itertools.product([0.0, 1.0], repeat=4):
        for s2 in itertools.product([0.0, 1.0], repeat=3):
            J = Ws[2] @ np.diag(s2) @ Ws[1] @ np.diag(s1) @ Ws[0]
            assert np.all(J >= lo - 1e-12) and np.all(J <= hi + 1e-12)


def test_exact_when_every_neuron_is_stable():
    """A box so small that no neuron changes sign: the Jacobian is one matrix, and the interval
    bound is its norm."""
    net = random_net([3, 5, 4, 1], 8)
    x0 = np.array([0.3, -0.2, 0.5])
    region = BoxRegion(x0, 1e-6)
    assert region.propagate(net).num_unstable == 0
    Ws = [np.asarray(W) for W, _ in net.affine_layers]
    bs = [np.asarray(b) for _, b in net.affine_layers]
    z1 = Ws[0] @ x0 + bs[0]
    z2 = Ws[1] @ np.maximum(z1, 0) + bs[1]
    J = Ws[2] @ np.diag((z2 > 0) * 1.0) @ Ws[1] @ np.diag((z1 > 0) * 1.0) @ Ws[0]
    assert interval_bound(net, "inf", region) == pytest.approx(np.abs(J).sum(), rel=1e-12)
    assert interval_bound(net, 2, region) == pytest.approx(np.linalg.norm(J), rel=1e-12)


@pytest.mark.parametrize("output,norm", [("vector:inf", "inf"), ("vector:2", 2),
                                         ("vector:1", "inf"), ("margin:0,2", 2)])
def test_vector_and_margin_outputs(output, norm):
    net = random_net([3, 4, 3], 9, output=output)
    assert interval_bound(net, norm) >= exact_values(net, norm).formal * (1 - 1e-12)


def test_sparse_weights_give_the_same_bound():
    import scipy.sparse as sp

    rng = np.random.default_rng(10)
    Ws = [rng.normal(size=(6, 5)) * (rng.random((6, 5)) < 0.4), rng.normal(size=(1, 6))]
    dense = Network.from_weights(Ws)
    sparse = Network.from_weights([sp.csr_matrix(W) for W in Ws])
    for norm in ("inf", 2, 1):
        assert interval_bound(sparse, norm) == pytest.approx(interval_bound(dense, norm))


def test_below_the_product_on_a_deep_network():
    """No norm is taken before the end: on a 3x10 random network it is several times below
    the product of layer norms (l_inf)."""
    net = random_net([10, 10, 10, 10, 1], 11)
    assert interval_bound(net, "inf") < 0.5 * product_bound(net, "inf")


def test_method_and_auto():
    net = random_net([3, 4, 3, 1], 12)
    res = lipschitz(net, "inf", method="interval")
    assert res.upper == pytest.approx(interval_bound(net, "inf"))
    assert res.lower is not None and res.upper >= res.lower
    auto = lipschitz(net, "inf", lower=False, options={"budget": 10, "isolate": False})
    assert auto.upper <= res.upper * (1 + 1e-12)
    assert [t["method"] for t in auto.details["tried"][:2]] == ["product", "interval"]
    with pytest.raises(ModelError):
        lipschitz(net, 3, method="interval")


def test_module_doctests():
    assert doctest.testmod(baselines).failed == 0

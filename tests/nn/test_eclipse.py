"""ECLipsE-Fast (polylip.nn.eclipse): a certified l_2 bound without an SDP, never above the
product of spectral norms, never below LipSDP-Neuron, the true constant or a sampled
gradient norm; fast on deep networks."""

import numpy as np
import pytest

from polylip.errors import ModelError
from polylip.nn import BoxRegion, Network
from polylip.nn.eclipse import eclipse_fast, eclipse_multipliers, product_l2
from polylip.nn.exact import exact_values
from polylip.nn.lipsdp import lipsdp_data, lipsdp_neuron


def net_of(sizes, seed, output=None, activation="relu"):
    rng = np.random.default_rng(seed)
    Ws = [rng.standard_normal((sizes[i + 1], sizes[i])) / np.sqrt(sizes[i])
          for i in range(len(sizes) - 1)]
    bs = [rng.standard_normal(sizes[i + 1]) * 0.3 for i in range(len(sizes) - 1)]
    return Network.from_weights(Ws, bs, activation=activation, output=output)


def plain_product(net, slope=1.0):
    """||u^T W_L|| prod ||W_k|| * slope^H, straight from the weights."""
    layers = [np.asarray(W) for W, _ in net.affine_layers]
    u = net.functional()
    last = u @ layers[-1] if u is not None else layers[-1]
    val = np.linalg.norm(np.atleast_2d(last), 2)
    for W in layers[:-1]:
        val *= np.linalg.norm(W, 2) * slope
    return float(val)


def sampled_max_grad(net, n=3000, seed=0, radius=3.0):
    X = np.random.default_rng(seed).uniform(-radius, radius, size=(n, net.input_dim))
    if net.functional() is None:
        return float(max(np.linalg.norm(J, 2) for J in net.jacobian(X)))
    return float(np.linalg.norm(net.gradient(X), axis=1).max())


CASES = [([3, 5, 4, 1], None, "relu", 1.0), ([6, 8, 8, 8, 3], "margin:0,2", "relu", 1.0),
         ([4, 6, 6, 2], "vector:2", "relu", 1.0), ([5, 7, 7, 1], None, "tanh", 1.0),
         ([5, 7, 7, 1], None, "sigmoid", 0.25), ([5, 7, 7, 1], None, "leaky_relu:0.1", 1.0),
         ([5, 7, 7, 1], None, "softplus", 1.0)]


@pytest.mark.parametrize("sizes,output,activation,slope", CASES)
@pytest.mark.parametrize("seed", range(3))
def test_never_worse_than_the_product_and_never_below_lipsdp(sizes, output, activation, slope,
                                                              seed):
    net = net_of(sizes, seed, output, activation)
    out = eclipse_fast(net)
    assert out["bound"] <= out["product"] * (1 + 1e-12)
    assert out["product"] <= plain_product(net, slope) * (1 + 1e-9)
    lip = lipsdp_neuron(net)["bound"]
    assert out["bound"] >= lip * (1 - 1e-6)  # its multipliers are feasible for LipSDP
    assert out["bound"] >= sampled_max_grad(net) * (1 - 1e-9)


@pytest.mark.parametrize("seed", range(4))
def test_the_recursion_itself_is_below_the_product(seed):
    """The induction of the module docstring (S_k^{-1} <= pi_k I), on the uncertified value."""
    net = net_of([4, 9, 7, 6, 1], seed)
    data = lipsdp_data(net)
    _, F = eclipse_multipliers(data)
    assert np.sqrt(F) <= product_l2(data) * (1 + 1e-12)


@pytest.mark.parametrize("seed", range(3))
def test_valid_against_the_true_constant(seed):
    net = net_of([3, 4, 3, 1], seed)
    true = exact_values(net, 2).true
    assert eclipse_fast(net)["bound"] >= true * (1 - 1e-12)


def test_valid_over_a_box_with_stable_neurons():
    net = net_of([3, 6, 5, 1], 5)
    region = BoxRegion(np.zeros(3), 0.2)
    db = region.propagate(net).derivative_bounds
    assert any(np.any(lo == hi) for lo, hi in db)
    loc = eclipse_fast(net, db)
    true = exact_values(net, 2, region).true
    assert true * (1 - 1e-12) <= loc["bound"] <= eclipse_fast(net)["bound"] * (1 + 1e-12)
    assert loc["bound"] <= loc["product"] * (1 + 1e-12)


def test_linear_layers_give_the_operator_norm():
    rng = np.random.default_rng(3)
    Ws = [rng.standard_normal((4, 3)), rng.standard_normal((5, 4)), rng.standard_normal((1, 5))]
    net = Network.from_weights(Ws, activation="identity")
    exact = np.linalg.norm(Ws[2] @ Ws[1] @ Ws[0], 2)
    out = eclipse_fast(net)
    assert exact * (1 - 1e-12) <= out["bound"] <= plain_product(net) * (1 + 1e-12)


def test_deep_network_100_layers_of_160():
    """The issue's size: 100 hidden layers of 160 neurons (about 1 s); far below the product,
    which grows with every layer."""
    net = net_of([160] * 101 + [10], 0, output="margin:0,1")
    out = eclipse_fast(net)
    assert out["layers"] == 100 and out["neurons"] == 16000
    assert out["source"] == "eclipse"
    assert out["bound"] < 1e-8 * out["product"]


def test_negative_slope_products_are_refused_by_the_recursion():
    net = net_of([3, 4, 1], 0)
    data = lipsdp_data(net, [(np.full(4, -0.5), np.full(4, 1.0))])
    with pytest.raises(ModelError, match="alpha \\* beta >= 0"):
        eclipse_multipliers(data)
    out = eclipse_fast(net, [(np.full(4, -0.5), np.full(4, 1.0))])
    assert out["source"] == "product"  # still a valid bound


def test_a_constant_network():
    net = Network.from_weights([np.zeros((3, 2)), np.ones((1, 3))])
    assert eclipse_fast(net)["bound"] == 0.0

"""Lower-bound witnesses are points of differentiability (issue 12 item 6).

A lower bound is the norm of a gradient at a point where the network is differentiable; on a
kink (a pre-activation exactly 0) the network's one-sided derivative can exceed every gradient
norm of the region (the issue's network: 6 at a kink, 5 everywhere else).
"""

import numpy as np
import pytest

from polylip.nn import BoxRegion, GlobalRegion, Network, exact_values, lipschitz
from polylip.nn.lower import (MAX_TIES, LowerOptions, _off_kinks, differentiable_witness,
                              lower_bound)

from nn.methods.test_degenerate import (ISSUE_CENTER, assert_differentiable_witness,
                                        degenerate_net, issue_net, sampled)

KINK = np.array([0.34055, -0.3189])  # z_1 = z_4 = 0 there (issue 12 item 6)


def test_the_issue_witness_is_on_a_kink():
    net = issue_net()
    z = net.pre_activations(KINK[None, :])[0][0]
    assert z[0] == 0.0 and z[3] == 0.0
    assert not _off_kinks(net, KINK)
    assert net.local_lipschitz(KINK[None, :], "inf")[0] == pytest.approx(6.0)


def test_differentiable_witness_moves_the_issue_witness_into_a_cell():
    net = issue_net()
    region = BoxRegion(ISSUE_CENTER, 1.5)
    value, x = differentiable_witness(net, KINK, region, "inf")
    assert value == pytest.approx(5.0)  # both cells around the kink are worth 5
    assert region.contains(x[None, :])[0]
    assert_differentiable_witness(net, x, value)
    z = net.pre_activations(x[None, :])[0][0]
    assert np.sign(z[1]) == 1 and np.sign(z[2]) == -1  # the neurons off the kink keep sides
    assert np.sign(z[0]) == -np.sign(z[3])  # one side of the shared hyperplane


def test_lower_bound_with_the_center_on_the_kink():
    """The region's center is the search's first sample: at the kink its one-sided value 6
    used to be returned as the lower bound, above the true constant 5."""
    net = issue_net()
    region = BoxRegion(KINK, 0.1)
    true = exact_values(net, "inf", region).true
    assert true == pytest.approx(5.0)
    lb = lower_bound(net, "inf", region)
    assert lb.value <= true + 1e-9
    assert lb.value == pytest.approx(5.0)
    assert_differentiable_witness(net, lb.witness, lb.value)
    assert lb.details["sampled"] == pytest.approx(6.0) and lb.details["kinks"] >= 1
    res = lipschitz(net, "inf", method="product", region=region)
    assert res.lower <= true + 1e-9
    assert_differentiable_witness(net, res.witness, res.lower)


def test_one_kink_gives_the_better_side():
    """f = relu(x) + 2 relu(-x) at x = 0: the cells on either side are worth 1 and 2."""
    net = Network.from_weights([np.array([[1.0], [-1.0]]), np.array([[1.0, 2.0]])])
    region = BoxRegion([0.0], 1.0)
    value, x = differentiable_witness(net, [0.0], region, "inf")
    assert value == pytest.approx(2.0) and x[0] < 0
    assert_differentiable_witness(net, x, value)


def test_a_kink_on_the_region_boundary():
    """relu(x) on [0, 1]: at x = 0 the network's derivative is 0, which no point of
    differentiability has; the witness moves inside."""
    net = Network.from_weights([np.array([[1.0]]), np.array([[1.0]])])
    region = BoxRegion([0.5], 0.5)
    value, x = differentiable_witness(net, [0.0], region, "inf")
    assert value == pytest.approx(1.0) and 0.0 < x[0] <= 1.0
    lb = lower_bound(net, "inf", region)
    assert lb.value == pytest.approx(1.0)
    assert_differentiable_witness(net, lb.witness, lb.value)


def test_global_region_at_the_origin():
    """No biases: every hyperplane passes through 0, where the pattern is all-off."""
    rng = np.random.default_rng(5)
    W1 = rng.integers(-2, 3, size=(5, 2)).astype(float)
    W1[0] = [1.0, 1.0]
    W1[1] = [-1.0, -1.0]
    net = Network.from_weights([W1, rng.integers(-2, 3, size=(1, 5)).astype(float)])
    true = exact_values(net, "inf").true
    value, x = differentiable_witness(net, [0.0, 0.0], GlobalRegion(), "inf")
    assert value <= true + 1e-9
    assert_differentiable_witness(net, x, value)
    lb = lower_bound(net, "inf")
    assert lb.value <= true + 1e-9
    assert_differentiable_witness(net, lb.witness, lb.value)


def test_more_ties_than_enumerated():
    """MAX_TIES + 2 distinct hyperplanes through one point: the sign combinations are not
    enumerated; a seeded perturbation lands in a cell."""
    k = MAX_TIES + 2
    ang = np.pi * (np.arange(k) + 0.5) / k
    W1 = np.stack([np.cos(ang), np.sin(ang)], axis=1)
    net = Network.from_weights([W1, np.ones((1, k))])
    region = BoxRegion([0.0, 0.0], 1.0)
    got = differentiable_witness(net, [0.0, 0.0], region, "inf")
    assert got is not None
    value, x = got
    assert value <= exact_values(net, "inf", region).true + 1e-9
    assert_differentiable_witness(net, x, value)


def test_zero_rows_and_identical_rows_are_not_kinks():
    """A zero row with zero bias is 0 everywhere (locally constant, not a kink); a point off
    every other hyperplane is kept as it is."""
    W1 = np.array([[1.0, 2.0], [0.0, 0.0], [1.0, 2.0]])
    net = Network.from_weights([W1, np.array([[1.0, 3.0, -2.0]])], [np.array([0.5, 0.0, 0.5]),
                                                                    None])
    x = np.array([0.3, 0.1])
    assert _off_kinks(net, x)
    value, y = differentiable_witness(net, x, BoxRegion([0.0, 0.0], 1.0), "inf")
    assert np.array_equal(x, y)
    assert value == pytest.approx(net.local_lipschitz(x[None, :], "inf")[0])


def test_deeper_kink_and_leaky_relu():
    """A second-layer neuron on its kink (its pre-activation 0 at the point), leaky ReLU."""
    W1 = np.array([[1.0, 0.0], [0.0, 1.0]])
    W2 = np.array([[1.0, -1.0], [2.0, 1.0]])
    net = Network.from_weights([W1, W2, np.array([[3.0, -1.0]])],
                               [np.array([0.0, 0.0]), np.array([0.0, 0.0]), None],
                               activation="leaky_relu:0.1")
    x = np.array([0.5, 0.5])  # z_2 = h_1 - h_2 = 0
    assert net.pre_activations(x[None, :])[1][0][0] == 0.0
    region = BoxRegion([0.5, 0.5], 0.25)
    value, y = differentiable_witness(net, x, region, "inf")
    assert value <= exact_values(net, "inf", region).true + 1e-9
    assert_differentiable_witness(net, y, value)


def test_margin_and_vector_outputs():
    net = Network.from_weights([np.array([[2.0, -1.0], [-2.0, 1.0], [1.0, 1.0]]),
                                np.array([[1.0, -1.0, 2.0], [0.0, 1.0, -1.0]])],
                               [np.array([-1.0, 1.0, 0.0]), None], output="margin:0,1")
    region = BoxRegion([0.5, 0.0], 1.0)
    for out in ("margin:0,1", "vector:inf"):
        net = net.with_output(out)
        value, x = differentiable_witness(net, [0.5, 0.0], region, "inf")  # z_1 = z_2 = 0
        assert value <= exact_values(net, "inf", region).true + 1e-9
        assert_differentiable_witness(net, x, value)


@pytest.mark.parametrize("sizes,seed", [([2, 4, 1], 0), ([2, 6, 1], 1), ([3, 5, 1], 2),
                                        ([2, 4, 1], 3), ([2, 6, 1], 4), ([3, 5, 1], 5),
                                        ([2, 4, 3, 1], 6), ([3, 4, 4, 1], 7)])
def test_random_integer_networks_centered_on_kinks(sizes, seed):
    """Degenerate integer networks and boxes centered where several hyperplanes meet (the
    first hidden layer's biases chosen so that half its rows pass through the center)."""
    net = degenerate_net(sizes, seed)
    rng = np.random.default_rng(seed + 50)
    center = rng.integers(-2, 3, size=sizes[0]).astype(float)
    W1, b1 = net.affine_layers[0]
    b1 = np.asarray(b1, float).copy()
    rows = np.asarray(W1) @ center
    through = rng.permutation(b1.size)[: max(2, b1.size // 2)]
    b1[through] = -rows[through]
    layers = [(np.asarray(W), np.asarray(b)) for W, b in net.affine_layers]
    layers[0] = (np.asarray(W1), b1)
    net = Network.from_weights([W for W, _ in layers], [b for _, b in layers])
    region = BoxRegion(center, 1.0)
    true = exact_values(net, "inf", region).true
    assert sampled(net, region) <= true + 1e-9
    lb = lower_bound(net, "inf", region, LowerOptions(seed=seed))
    assert lb.value <= true + 1e-9
    assert_differentiable_witness(net, lb.witness, lb.value)
    value, x = differentiable_witness(net, center, region, "inf")
    assert value <= true + 1e-9
    assert_differentiable_witness(net, x, value)


def test_sparse_weights():
    import scipy.sparse as sp

    W1 = sp.csr_matrix(np.array([[2.0, -1.0], [-1.0, -2.0], [0.0, -2.0], [-2.0, 1.0]]))
    W2 = sp.csr_matrix(np.array([[1.0, 2.0, -1.0, -1.0]]))
    net = Network.from_weights([W1, W2], [np.array([-1.0, 0.0, -1.0, 1.0]), np.array([1.9012])])
    value, x = differentiable_witness(net, KINK, BoxRegion(ISSUE_CENTER, 1.5), "inf")
    assert value == pytest.approx(5.0)
    assert_differentiable_witness(issue_net(), x, value)


@pytest.mark.parametrize("alpha", [3.0, 0.2])
def test_elu_kink_is_a_kink(alpha):
    """ELU with alpha != 1 has a kink at 0 (slopes alpha and 1). f = elu(x) - elu(-x): its
    derivative is 1 + alpha e^-|x| off 0, so the local constant of any box around 0 is the
    supremum 1 + alpha, not attained; at x = 0 the left derivatives give 2 alpha (6 for
    alpha = 3), which was returned as the lower bound (status "optimal" at 6)."""
    net = Network.from_weights([np.array([[1.0], [-1.0]]), np.array([[1.0, -1.0]])],
                               [np.zeros(2), None], activation=f"elu:{alpha}")
    assert not _off_kinks(net, np.array([0.0]))
    for region in (BoxRegion([0.0], 1.0), BoxRegion([0.0], 1e-3)):
        lb = lower_bound(net, "inf", region)
        assert lb.value <= 1.0 + alpha
        assert lb.witness[0] != 0.0
        assert lb.value == pytest.approx(net.local_lipschitz(lb.witness[None, :], "inf")[0])
        res = lipschitz(net, "inf", method="interval", region=region)
        assert res.lower <= 1.0 + alpha and res.status != "optimal"

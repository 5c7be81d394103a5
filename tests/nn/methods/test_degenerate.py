"""Degenerate ReLU networks (integer weights, coincident hyperplanes, identical and zero rows):
the true local constant is the largest gradient norm over points of the region where the
network is differentiable, and patterns realized only on the kinks must not count.

References here are the test's own: a brute force over sign patterns of one hidden layer
with an LP (scipy HiGHS) for the largest margin of each pattern's cell in the box, method
"exact", and dense seeded sampling.
"""

import itertools

import numpy as np
import pytest
from scipy.optimize import linprog

from polylip.nn import BallRegion, BoxRegion, Network, exact_values, lipschitz
from polylip.nn.methods import milp as milp_method
from polylip.nn.methods import milp_cells

# issue 12 item 6: "milp" and "auto" returned 8.000009 and a lower bound of 6 attained at
# (0.3405, -0.3189), where z_1 = z_4 = 0 (rows 1 and 4 are opposite: one hyperplane)
ISSUE_W1 = np.array([[2.0, -1.0], [-1.0, -2.0], [0.0, -2.0], [-2.0, 1.0]])
ISSUE_B1 = np.array([-1.0, 0.0, -1.0, 1.0])
ISSUE_W2 = np.array([[1.0, 2.0, -1.0, -1.0]])
ISSUE_B2 = np.array([1.9012])
ISSUE_CENTER = np.array([-0.3558, 1.1811])


def issue_net():
    return Network.from_weights([ISSUE_W1, ISSUE_W2], [ISSUE_B1, ISSUE_B2])


def brute_true(W1, b1, w2, lo, hi, norm="inf"):
    """Largest gradient norm over sign patterns of one hidden ReLU layer whose cell has
    interior in the box [lo, hi] (largest margin > 1e-9, rows normalized)."""
    m, n = W1.shape
    best = -np.inf
    q = 1 if norm == "inf" else np.inf
    for signs in itertools.product([1.0, -1.0], repeat=m):
        signs = np.array(signs)
        nr = np.linalg.norm(W1, axis=1)
        zero = nr == 0
        if np.any(zero & (signs * b1 < 0)):
            continue
        A = -(signs[~zero, None] * W1[~zero]) / nr[~zero, None]
        rhs = signs[~zero] * b1[~zero] / nr[~zero]
        if A.shape[0]:
            res = linprog(np.r_[np.zeros(n), -1.0], A_ub=np.hstack([A, np.ones((A.shape[0], 1))]),
                          b_ub=rhs, bounds=list(zip(lo, hi)) + [(None, 1.0)], method="highs")
            assert res.status == 0
            if -res.fun <= 1e-9:
                continue
        g = (w2 * (signs > 0)) @ W1
        best = max(best, np.linalg.norm(g, q))
    return best


def sampled(net, region, norm="inf", n=100_000, seed=1):
    X = region.sample(n, np.random.default_rng(seed))
    return float(net.local_lipschitz(X, norm).max())


def assert_differentiable_witness(net, x, value, norm="inf"):
    """``value`` is the gradient norm at ``x`` and ``x`` is off every kink: each hidden
    pre-activation is nonzero (beyond rounding), or locally constant (zero Jacobian row
    with the derivatives at ``x``: a zero row, or a deeper neuron whose inputs cancel)."""
    x = np.asarray(x, float)
    assert value == pytest.approx(float(net.local_lipschitz(x[None, :], norm)[0]), rel=1e-9,
                                  abs=1e-12)
    h, J = x, np.eye(x.size)
    for (W, b), act in zip(net.affine_layers[:-1], net.activations):
        W = np.asarray(W.todense() if hasattr(W, "todense") else W, float)
        b = np.zeros(W.shape[0]) if b is None else np.asarray(b, float)
        z = W @ h + b
        Jz = W @ J
        scale = np.abs(W) @ np.abs(h) + np.abs(b)
        constant = np.abs(Jz).sum(axis=1) <= 1e-12 * (np.abs(W) @ np.abs(J)).sum(axis=1)
        on_kink = (np.abs(z) <= 1e-12 * scale) & ~constant
        assert not on_kink.any(), f"witness {x} on a kink: z = {z}"
        s = act.derivative(z)
        h, J = act(z), s[:, None] * Jz


def degenerate_net(sizes, seed):
    """Integer weights and biases in {-2..2}; in each hidden layer of width >= 3 a neuron
    copies another (identical row), one negates it (the same hyperplane, opposite side), one
    doubles it, and with width >= 5 one row is zero (bias 0)."""
    rng = np.random.default_rng(seed)
    Ws, bs = [], []
    for k, (a, m) in enumerate(zip(sizes[:-1], sizes[1:])):
        W = rng.integers(-2, 3, size=(m, a)).astype(float)
        b = rng.integers(-2, 3, size=m).astype(float)
        if k < len(sizes) - 2 and m >= 3:
            while not W[0].any():
                W[0] = rng.integers(-2, 3, size=a)
            W[1], b[1] = -W[0], -b[0]
            if m >= 4:
                W[3], b[3] = W[0], b[0]
            if m >= 5:
                W[4], b[4] = 0.0, 0.0
            if m >= 6:
                W[5], b[5] = 2 * W[2], 2 * b[2]
            perm = rng.permutation(m)
            W, b = W[perm], b[perm]
        Ws.append(W)
        bs.append(b)
    return Network.from_weights(Ws, bs)


def region_for(sizes, seed):
    rng = np.random.default_rng(seed + 1000)
    center = rng.integers(-4, 5, size=sizes[0]) / 2.0 + rng.choice([0.0, 0.1]) * rng.normal(
        size=sizes[0])
    return BoxRegion(center, float(rng.choice([0.5, 1.0, 1.5, 2.0])))


GAP = 1e-4  # milp's default relative gap


def tight(upper, true):
    """milp's upper bound with gap 0: HiGHS's bound plus its margin 1e-6 (1 + |bound|)."""
    return upper <= true + 2e-6 * (1 + abs(true)) + 1e-9


def close_enough(upper, true, gap=GAP):
    """milp's upper bound: HiGHS's bound (within ``gap`` of the best pattern, twice for the
    cutoff round) plus its safety margin 1e-6 (1 + |bound|)."""
    return upper <= true * (1 + 2 * gap) + 2 * gap + 2e-6


# ----------------------------------------------------------------------- the issue's network
def test_issue_network_exact_and_sampling_give_5():
    net = issue_net()
    region = BoxRegion(ISSUE_CENTER, 1.5)
    lo, hi = region.input_box()
    assert brute_true(ISSUE_W1, ISSUE_B1, ISSUE_W2[0], lo, hi) == pytest.approx(5.0)
    assert exact_values(net, "inf", region).true == pytest.approx(5.0)
    assert sampled(net, region, n=400_000) == pytest.approx(5.0)
    # the old witness: z_1 = z_4 = 0, where the network's one-sided gradient norm is 6
    z = net.pre_activations(np.array([[0.34055, -0.3189]]))[0][0]
    assert z[0] == 0 and z[3] == 0
    assert net.local_lipschitz(np.array([[0.34055, -0.3189]]), "inf")[0] == pytest.approx(6.0)


@pytest.mark.parametrize("method", ["milp", "auto"])
def test_issue_network_milp_and_auto(method):
    net = issue_net()
    region = BoxRegion(ISSUE_CENTER, 1.5)
    res = lipschitz(net, "inf", method=method, region=region)
    assert res.upper >= 5.0 - 1e-9
    assert res.lower <= 5.0 + 1e-9
    assert res.lower == pytest.approx(5.0)
    assert close_enough(res.upper, 5.0)
    assert_differentiable_witness(net, res.witness, res.lower)
    assert region.contains(res.witness[None, :])[0]


@pytest.mark.parametrize("presolve", [True, False])
def test_issue_network_milp_alone_rejects_the_kink_pattern(presolve, monkeypatch):
    """Without the lower-bound search. Rows 1 and 4 are one hyperplane: the MILP ties their
    binaries (d_4 = 1 - d_1) from the start; without that presolve, the plain MILP's pattern
    (value 8, realized only where z_1 = z_4 = 0) is cut by the margin LP's check, and the
    bound still closes at 5, attained at a point of differentiability."""
    if not presolve:
        monkeypatch.setattr(milp_cells, "coincident", lambda net, unstable: [])
    net = issue_net()
    region = BoxRegion(ISSUE_CENTER, 1.5)
    res = lipschitz(net, "inf", method="milp", region=region, lower=False,
                    options={"gap": 0.0})
    part = res.details["parts"][0]
    assert res.status == "ok" and res.details["constant"] == "true"
    if presolve:
        assert part["coincident"] == 1 and res.details["cuts"] == 0
    else:
        assert part["rounds"][0]["value"] == pytest.approx(8.0)
        assert part["rounds"][0]["interior"] is False
        assert res.details["cuts"] >= 1
    assert 5.0 - 1e-9 <= res.upper and tight(res.upper, 5.0)
    assert res.lower == pytest.approx(5.0)
    assert_differentiable_witness(net, res.witness, res.lower)


def test_concurrent_hyperplanes_are_cut():
    """x = 0, y = 0 and x + y = 0 meet at the origin (no two parallel): of the 8 sign
    patterns 6 are sectors; (+, +, -) and (-, -, +) hold only at the origin. With output
    weights (2, 2, -1) the first is worth 4, every sector 2 at most."""
    net = Network.from_weights([np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]),
                                np.array([[2.0, 2.0, -1.0]])])
    region = BoxRegion([0.0, 0.0], 1.0)
    lo, hi = region.input_box()
    assert brute_true(np.asarray(net.affine_layers[0][0]), np.zeros(3), np.array([2.0, 2, -1]),
                      lo, hi) == pytest.approx(2.0)
    assert exact_values(net, "inf", region).formal == pytest.approx(4.0)
    res = lipschitz(net, "inf", method="milp", region=region, options={"gap": 0.0})
    assert res.details["cuts"] >= 1 and res.details["parts"][0]["coincident"] == 0
    assert 2.0 - 1e-9 <= res.upper and tight(res.upper, 2.0) and res.lower == pytest.approx(2.0)
    assert_differentiable_witness(net, res.witness, res.lower)
    # the lower-bound search alone: its sample at the center (the origin) is on every kink
    lb = lipschitz(net, "inf", method="product", region=region)
    assert lb.lower <= 2.0 + 1e-9
    assert_differentiable_witness(net, lb.witness, lb.lower)


def test_issue_network_formal_constant_is_unchanged():
    net = issue_net()
    region = BoxRegion(ISSUE_CENTER, 1.5)
    formal = exact_values(net, "inf", region).formal
    res = lipschitz(net, "inf", method="milp", region=region, lower=False,
                    options={"constant": "formal", "gap": 0.0})
    assert formal == pytest.approx(8.0)
    assert res.upper == pytest.approx(formal, rel=1e-5) and res.upper >= formal


# ------------------------------------------------------- random degenerate integer networks
ONE_LAYER = [([2, 4, 1], s) for s in range(4)] + [([2, 6, 1], s) for s in range(4, 8)] + \
    [([3, 5, 1], s) for s in range(8, 12)]


@pytest.mark.parametrize("sizes,seed", ONE_LAYER)
def test_one_hidden_layer_against_brute_force(sizes, seed):
    net = degenerate_net(sizes, seed)
    region = region_for(sizes, seed)
    lo, hi = region.input_box()
    W1, b1 = net.affine_layers[0]
    true = brute_true(np.asarray(W1), np.asarray(b1), np.asarray(net.affine_layers[1][0])[0],
                      lo, hi)
    assert exact_values(net, "inf", region).true == pytest.approx(true, rel=1e-9, abs=1e-12)
    assert sampled(net, region) <= true + 1e-9
    for method in ("milp", "auto"):
        res = lipschitz(net, "inf", method=method, region=region)
        assert res.lower <= true + 1e-9 <= res.upper + 2e-9, (method, res)
        assert_differentiable_witness(net, res.witness, res.lower)
        if method == "milp":
            assert res.details["constant"] == "true"
            assert close_enough(res.upper, true), (res.upper, true)


DEEP = [([2, 4, 3, 1], 20), ([2, 5, 4, 1], 21), ([3, 4, 4, 1], 22), ([2, 6, 3, 1], 23)]


@pytest.mark.parametrize("sizes,seed", DEEP)
@pytest.mark.parametrize("norm", ["inf", 1])
def test_two_hidden_layers_against_exact(sizes, seed, norm):
    net = degenerate_net(sizes, seed)
    region = region_for(sizes, seed)
    true = exact_values(net, norm, region).true
    assert sampled(net, region, norm) <= true + 1e-9
    res = lipschitz(net, norm, method="milp", region=region)
    assert res.lower <= true + 1e-9 <= res.upper + 2e-9
    assert close_enough(res.upper, true), (res.upper, true)
    assert_differentiable_witness(net, res.witness, res.lower, norm)


def test_l1_norm_on_the_issue_network():
    net = issue_net()
    region = BoxRegion(ISSUE_CENTER, 1.5)
    true = exact_values(net, 1, region).true
    res = lipschitz(net, 1, method="milp", region=region)
    assert res.lower <= true + 1e-9 <= res.upper + 2e-9 and close_enough(res.upper, true)
    assert_differentiable_witness(net, res.witness, res.lower, 1)


# --------------------------------------------------------------- what the margin must not lose
def test_a_cell_thinner_than_the_margin_still_counts():
    """Two hyperplanes 1e-7 apart bound a slab where both neurons are active and the gradient
    is 2 (1 elsewhere). The margin MILP (delta = 1e-4 of the range) cannot enter the slab; the
    bound must still cover it."""
    w = 1e-7
    net = Network.from_weights([np.array([[1.0], [-1.0]]), np.array([[1.0, -1.0]])],
                               [np.array([0.0, w]), None])
    region = BoxRegion([0.0], 1.0)
    assert exact_values(net, "inf", region).true == pytest.approx(2.0)
    res = lipschitz(net, "inf", method="milp", region=region, lower=False,
                    options={"gap": 0.0})
    assert res.upper >= 2.0 - 1e-9 and tight(res.upper, 2.0)
    assert res.lower == pytest.approx(2.0)
    assert_differentiable_witness(net, res.witness, res.lower)
    assert 0.0 < res.witness[0] < w


def test_a_deeper_neuron_identically_zero_on_a_cell():
    """Identical first-layer rows feed a second-layer neuron their difference, identically 0
    though its interval bounds say unstable: no point has it away from 0, so the margin MILP
    has no point at all; the cells with interior (where its slope does not matter) count."""
    W1 = np.array([[1.0, 1.0], [1.0, 1.0], [1.0, -2.0]])
    b1 = np.array([0.5, 0.5, 0.0])
    W2 = np.array([[1.0, -1.0, 0.0], [0.0, 1.0, 1.0]])
    W3 = np.array([[3.0, 1.0]])
    net = Network.from_weights([W1, W2, W3], [b1, np.zeros(2), None])
    region = BoxRegion([0.0, 0.0], 1.0)
    bounds = region.propagate(net)
    assert bounds.deriv_hi[1][0] > bounds.deriv_lo[1][0]  # "unstable" by the bounds
    true = exact_values(net, "inf", region).true
    assert sampled(net, region) == pytest.approx(true)
    res = lipschitz(net, "inf", method="milp", region=region, options={"gap": 0.0})
    assert res.lower <= true + 1e-9 <= res.upper + 2e-9 and tight(res.upper, true)
    assert_differentiable_witness(net, res.witness, res.lower)


def test_many_identical_neurons():
    """Six copies of one neuron with alternating output signs: patterns where copies
    disagree have no interior (the formal constant counts them); the true constant is that
    of the two sides of the hyperplane."""
    w = np.array([[1.0, -1.0]])
    W1 = np.vstack([w] * 6 + [np.array([[0.0, 1.0]])])
    b1 = np.r_[np.full(6, 0.25), 0.0]
    W2 = np.array([[1.0, -1.0] * 3 + [1.0]])
    net = Network.from_weights([W1, W2], [b1, None])
    region = BoxRegion([0.0, 0.0], 1.0)
    lo, hi = region.input_box()
    true = brute_true(W1, b1, W2[0], lo, hi)
    ev = exact_values(net, "inf", region)
    assert ev.true == pytest.approx(true) and ev.formal > true + 1
    res = lipschitz(net, "inf", method="milp", region=region, options={"gap": 0.0})
    assert res.lower <= true + 1e-9 <= res.upper + 2e-9 and tight(res.upper, true)
    assert_differentiable_witness(net, res.witness, res.lower)


def test_a_ball_with_coincident_hyperplanes():
    net = issue_net()
    region = BallRegion(ISSUE_CENTER, 1.2)
    ev = exact_values(net, "inf", region)
    res = lipschitz(net, "inf", method="milp", region=region, options={"gap": 0.0})
    assert res.lower <= ev.true + 1e-9 <= res.upper + 2e-9
    assert tight(res.upper, ev.true)
    assert_differentiable_witness(net, res.witness, res.lower)
    assert region.contains(res.witness[None, :])[0]


def test_cells_and_cuts():
    """The pattern check: an open cell gives an interior point; the pattern of both opposite
    neurons on gives a cut on just those two."""
    net = issue_net()
    region = BoxRegion(ISSUE_CENTER, 1.5)
    unstable = [np.arange(4)]
    ok, x = milp_cells.cell(net, region, [np.array([1.0, 1.0, 0.0, 0.0])], unstable)
    assert ok and region.contains(x[None, :])[0]
    z = net.pre_activations(x[None, :])[0][0]
    assert z[0] > 0 and z[1] > 0 and z[2] < 0 and z[3] < 0
    ok, cut = milp_cells.cell(net, region, [np.array([1.0, 0.0, 0.0, 1.0])], unstable)
    assert not ok and cut == {(0, 0): 1.0, (0, 3): 1.0}


def test_presolve_regression():
    """Found by the random search below: scipy 1.17's HiGHS presolve returned 'optimal' 4 on
    this network's MILP with its two identical first-layer neurons tied (the true constant
    is 12); the bound must not drop below it."""
    W1 = np.array([[-2.0, 0, -2], [0, -1, 2], [-1, 0, -2], [-2, 0, -2]])
    W2 = np.array([[0.0, 0, -2, 1], [0, -1, 0, -1], [4, 0, 0, -4], [2, 0, 0, -2]])
    net = Network.from_weights([W1, W2, np.array([[2.0, -1, 0, -2]])],
                               [np.array([1.0, -1, -2, 1]), np.array([1.0, 2, 2, 1]),
                                np.array([2.0])])
    region = BoxRegion([1.0, 0.0, 0.0], 2.0)
    true = exact_values(net, "inf", region).true
    assert true == pytest.approx(12.0)
    res = lipschitz(net, "inf", method="milp", region=region, options={"gap": 0.0})
    assert res.lower <= true + 1e-9 <= res.upper + 2e-9 and tight(res.upper, true)
    assert_differentiable_witness(net, res.witness, res.lower)


def test_coincident_neurons_in_every_layer():
    """Proportional rows of one layer, in terms of its own inputs, give proportional
    pre-activations whatever the earlier layers do: identical and scaled copies get
    d_j = d_i, negated copies d_j = 1 - d_i, in the first and in deeper layers."""
    W1 = np.array([[1.0, 2.0], [-2.0, -4.0], [1.0, -1.0], [1.0, 2.0]])
    b1 = np.array([0.5, -1.0, 0.0, 0.5])
    W2 = np.array([[1.0, -1.0, 2.0, 0.0], [2.0, -2.0, 4.0, 0.0], [0.0, 1.0, 1.0, 1.0]])
    b2 = np.array([0.25, 0.5, -0.5])
    net = Network.from_weights([W1, W2, np.array([[1.0, -2.0, 3.0]])], [b1, b2, None])
    pairs = milp_cells.coincident(net, [np.arange(4), np.arange(3)])
    assert set(pairs) == {(0, 0, 1, False), (0, 0, 3, True), (1, 0, 1, True)}
    region = BoxRegion([0.0, 0.0], 1.0)
    true = exact_values(net, "inf", region).true
    res = lipschitz(net, "inf", method="milp", region=region, options={"gap": 0.0})
    assert res.details["parts"][0]["coincident"] == 3
    assert res.lower <= true + 1e-9 <= res.upper + 2e-9 and tight(res.upper, true)
    assert_differentiable_witness(net, res.witness, res.lower)


def test_a_deeper_conflict_is_cut_on_the_neurons_feeding_it():
    """Second-layer neurons 0 and 1 read only first-layer neurons 0 and 1; a conflict between
    them is cut on those four neurons, not on the whole first layer."""
    W1 = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 3.0], [-3.0, 1.0]])
    W2 = np.array([[1.0, -1.0, 0.0, 0.0], [-2.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 1.0]])
    net = Network.from_weights([W1, W2, np.ones((1, 3))], [np.array([0.0, 0.0, 0.5, 0.5]),
                                                           None, None])
    region = BoxRegion([0.0, 0.0], 1.0)
    unstable = [np.arange(4), np.arange(3)]
    # first layer all on: h_0 = x > 0, h_1 = y > 0; then z_0 = x - y > 0 and z_1 = y - 2x > 0
    # cannot both hold
    S = [np.array([1.0, 1.0, 1.0, 1.0]), np.array([1.0, 1.0, 1.0])]
    ok, cut = milp_cells.cell(net, region, S, unstable)
    assert not ok
    assert (1, 0) in cut and (1, 1) in cut and (1, 2) not in cut
    assert (0, 2) not in cut and (0, 3) not in cut  # they do not feed z_0, z_1


def test_module_doctests():
    import doctest

    from polylip.nn import lower
    from polylip.nn.methods import milp_model

    for mod in (milp_method, milp_model, milp_cells):
        assert doctest.testmod(mod).failed == 0
    runner = doctest.DocTestRunner()
    for test in doctest.DocTestFinder().find(lower.differentiable_witness,
                                             globs=vars(lower).copy()):
        runner.run(test)
    assert runner.summarize(verbose=False).failed == 0


@pytest.mark.parametrize("method", ["lp", "sdp", "shor"])
def test_every_neuron_dead_on_the_region_gives_zero(method):
    """Every hidden neuron stable off over the box (biases -50): the gradient POP's objective
    is the zero polynomial and the constant is 0. "lp" answered no bound with status
    "unreachable" ("an explicit sparsity needs at least one non-empty clique"), a false
    statement about a problem whose maximum is exactly 0."""
    net = Network.from_weights([np.array([[1.0], [2.0], [-1.0]]), np.ones((1, 3))],
                               [np.full(3, -50.0), np.zeros(1)])
    res = lipschitz(net, "inf", method=method, region=BoxRegion([0.3], 0.5))
    assert res.upper == 0.0 and res.lower == 0.0 and res.status in ("ok", "optimal")


@pytest.mark.parametrize("norm, dim", [("inf", 1), ("inf", 2), ("2", 2)])
def test_exact_over_a_ball_rejects_a_cell_of_coincident_hyperplanes(norm, dim):
    """Two first-layer neurons on the same hyperplane x_1 = 0 (rows -2 and -4), the pattern
    "one on, one off" realizable only at x_1 = 0: over a ball "exact" took it (Clarabel's
    margin ~1e-9 above the tolerance) and called 8 the true constant, which is 6 (found by
    benchmarks/qa_lipschitz_fuzz.py, seed 1091); over the box it was right."""
    W0 = np.array([[-2.0], [-4.0], [0.0]])
    W0 = np.hstack([W0, np.zeros((3, dim - 1))])
    net = Network.from_weights([W0, np.array([[-1.0, 2, -1], [-1, 2, -1], [0, 0, 0]]),
                                np.array([[-2.0, 1, 2]])],
                               [np.array([0.0, 0, -1]), np.array([1.0, 1, 0]), np.zeros(1)])
    for center in (np.zeros(dim), np.full(dim, 0.01)):
        ev = exact_values(net, norm, BallRegion(center, 0.1))
        assert ev.formal == pytest.approx(8.0) and ev.true == pytest.approx(6.0)
    # sampled: the slope is 6 for x_1 < 0 and 0 for x_1 > 0
    res = lipschitz(net, norm, method="exact", region=BallRegion(np.zeros(dim), 0.1))
    assert res.upper == pytest.approx(6.0) and res.lower == pytest.approx(6.0)

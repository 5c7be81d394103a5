"""The formal-pattern lower bound (polylip.nn.formal): its value is the gradient norm of the
pattern it returns (an independent backward pass), never above the formal constant found by
enumerating every vertex pattern, equal to it on small networks, and never above LipSDP (which
bounds the formal constant); method "lipsdp" reports it."""

import itertools

import numpy as np
import pytest

from polylip.nn import BoxRegion, Network, lipschitz
from polylip.nn.formal import formal_pattern_lower, sweep_cost
from polylip.nn.lipsdp import lipsdp_neuron


def net_of(sizes, seed, activation="relu", output=None):
    rng = np.random.default_rng(seed)
    Ws = [rng.standard_normal((sizes[i + 1], sizes[i])) / np.sqrt(sizes[i])
          for i in range(len(sizes) - 1)]
    bs = [rng.standard_normal(sizes[i + 1]) * 0.3 for i in range(len(sizes) - 1)]
    return Network.from_weights(Ws, bs, activation=activation, output=output)


def enumerated_formal(net, q, lo, hi):
    """Largest ||grad||_q over every vertex pattern (brute force)."""
    widths = net.widths
    best = 0.0
    for bits in itertools.product((0, 1), repeat=int(sum(widths))):
        b = np.array(bits, dtype=bool)
        S, o = [], 0
        for k, n in enumerate(widths):
            S.append(np.where(b[o:o + n], hi[k], lo[k]))
            o += n
        g = net.backward(S, net.functional())[0]
        best = max(best, float(np.linalg.norm(g, q)))
    return best


def ranges(net):
    lo, hi = [], []
    for act, n in zip(net.activations, net.widths):
        a, b = act.derivative_range(np.full(n, -np.inf), np.full(n, np.inf))
        lo.append(np.broadcast_to(a, (n,)).astype(float))
        hi.append(np.broadcast_to(b, (n,)).astype(float))
    return lo, hi


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("sizes,activation", [([3, 4, 4, 1], "relu"), ([2, 5, 3, 1], "relu"),
                                              ([3, 4, 3, 1], "leaky_relu")])
@pytest.mark.parametrize("norm,q", [(2, 2), ("inf", 1)])
def test_never_above_enumeration_and_equal_on_small_nets(seed, sizes, activation, norm, q):
    net = net_of(sizes, seed, activation)
    lo, hi = ranges(net)
    exact = enumerated_formal(net, q, lo, hi)
    res = formal_pattern_lower(net, norm, starts=64, seed=seed)
    g = net.backward(res.pattern, net.functional())[0]
    assert res.value == pytest.approx(float(np.linalg.norm(g, q)), rel=1e-12)
    for s, a, b in zip(res.pattern, lo, hi):  # every slope at an end of its range
        assert np.all((s == a) | (s == b))
    assert res.value <= exact * (1 + 1e-12)
    assert res.value == pytest.approx(exact, rel=1e-12)  # 64 starts find it on 8-10 neurons


def test_margin_output_and_slope_ranges():
    net = net_of([3, 4, 4, 5], 3, output="margin:0,2")
    db = [(np.array([0.0, 0.0, 1.0, 0.0]), np.array([1.0, 0.0, 1.0, 1.0])),
          (np.zeros(4), np.ones(4))]
    lo = [a for a, _ in db]
    hi = [b for _, b in db]
    res = formal_pattern_lower(net, 2, db, starts=64)
    assert res.pattern[0][1] == 0.0 and res.pattern[0][2] == 1.0  # fixed slopes kept
    assert res.value == pytest.approx(enumerated_formal(net, 2, lo, hi), rel=1e-12)


@pytest.mark.parametrize("seed", range(4))
def test_not_above_lipsdp(seed):
    net = net_of([4, 6, 6, 1], seed)
    res = formal_pattern_lower(net, 2)
    out = lipsdp_neuron(net, form="dense", solver="clarabel")
    assert res.value <= out["bound"] * (1 + 1e-9)


def test_vector_output_and_work_limit():
    assert formal_pattern_lower(net_of([3, 4, 3], 0), 2) is None  # no fixed functional
    net = net_of([3, 4, 4, 1], 0)
    assert formal_pattern_lower(net, 2, work=0.5 * sweep_cost(net)) is None
    one = formal_pattern_lower(net, 2, starts=32, work=10 * sweep_cost(net))
    assert one.starts == 1  # what ten sweeps of one start cost


def test_lipsdp_method_reports_it():
    net = net_of([4, 6, 6, 1], 1)
    res = lipschitz(net, 2, method="lipsdp", lower=False)
    d = res.details
    assert d["formal_lower"] <= res.upper * (1 + 1e-9)
    assert d["formal_gap"] == pytest.approx(res.upper / d["formal_lower"] - 1)
    box = lipschitz(net, 2, method="lipsdp", lower=False,
                    region=BoxRegion(np.zeros(4), 0.1))
    assert box.details["formal_lower"] <= box.upper * (1 + 1e-9)
    assert box.details["formal_lower"] <= d["formal_lower"] * (1 + 1e-12)  # narrower ranges


def test_explain_says_where_the_formal_constant_lies():
    net = net_of([4, 6, 6, 1], 1)
    res = lipschitz(net, 2, method="lipsdp")
    text = res.explain()
    assert f"formal constant >= {res.details['formal_lower']:.6g}" in text
    assert "the lower bound" in text


def test_a_spent_deadline_still_gives_a_valid_floor():
    net = net_of([3, 4, 4, 1], 2)
    res = formal_pattern_lower(net, 2, deadline=0.0)  # long past: no sweep
    assert res.stopped and res.sweeps == 0
    lo, hi = ranges(net)
    assert res.value <= enumerated_formal(net, 2, lo, hi) * (1 + 1e-12)


def test_sparse_layers_stay_sparse_and_give_the_same_floor():
    import scipy.sparse as sp

    net = net_of([3, 5, 4, 1], 4)
    sparse = Network([(sp.csr_matrix(W), b) for W, b in net.affine_layers], net.activations,
                     net.output)
    a, b = formal_pattern_lower(net, 2, starts=16), formal_pattern_lower(sparse, 2, starts=16)
    assert b.value == pytest.approx(a.value, rel=1e-12)

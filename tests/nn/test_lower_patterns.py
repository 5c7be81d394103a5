"""The pattern-space ascent of the lower-bound search (polylip/nn/lower_patterns.py), against
the true constant by enumeration of realizable patterns (polylip.nn.exact, independent of the
ascent's ray test and LP rows): never above it, attained at a point of differentiability, and
on small networks it reaches it from a few starts."""

import numpy as np
import pytest

from polylip.nn import BoxRegion, GlobalRegion, Network, exact_values
from polylip.nn.lower import _sample, local_constants, lower_bound
from polylip.nn.lower_patterns import _Cell, pattern_ascent

from nn.methods.test_degenerate import assert_differentiable_witness, degenerate_net


def random_net(sizes, seed, bias=0.5, output=None):
    rng = np.random.default_rng(seed)
    Ws = [rng.standard_normal((b, a)) for a, b in zip(sizes[:-1], sizes[1:])]
    bs = [bias * rng.standard_normal(b) for b in sizes[1:]]
    return Network.from_weights(Ws, bs, output=output)


def starts(net, region, norm, k, seed):
    """The ``k`` best of a few random samples (a weak start, so the ascent has work to do)."""
    X = _sample(net, region, 16, np.random.default_rng(seed))
    v = local_constants(net, X, norm)
    return X[np.argsort(-v)[:k]]


def test_one_flip_values_are_the_gradients_of_the_flipped_patterns():
    """The closed-form rank-one values equal the backward pass of each flipped pattern."""
    net = random_net([4, 6, 5, 1], 3)
    x = np.array([0.3, -0.2, 0.5, 0.1])
    cell = _Cell(net, x, np.array([1.0]), [True, True])
    vals = cell.flip_values(2.0)
    for i in range(cell.z.size):
        S, _ = cell.pattern(i)
        g = net.backward([s[None, :] for s in S], np.array([[1.0]]))[0]
        assert vals[i] == pytest.approx(np.linalg.norm(g), rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("norm", ["inf", 2])
def test_never_above_the_true_constant_and_often_equal(norm):
    reached, nets = 0, 10
    for seed in range(nets):
        net = random_net([3, 5, 5, 1], seed)
        true = exact_values(net, norm).true
        res = pattern_ascent(net, GlobalRegion(), float(norm) if norm == 2 else np.inf,
                             starts(net, GlobalRegion(), norm, 3, seed), work=3e7)
        assert res.witness is not None
        assert res.value <= true * (1 + 1e-9) + 1e-12
        assert_differentiable_witness(net, res.witness, res.value, norm)
        reached += res.value >= true * (1 - 1e-9)
    assert reached >= 7, f"reached the true constant on {reached}/{nets} networks"


def test_box_region():
    reached = 0
    for seed in range(8):
        net = random_net([3, 6, 4, 1], 10 + seed)
        region = BoxRegion(np.zeros(3), 0.7)
        true = exact_values(net, "inf", region).true
        res = pattern_ascent(net, region, np.inf, starts(net, region, "inf", 2, seed), work=3e7)
        assert res.value <= true * (1 + 1e-9) + 1e-12
        assert region.contains(res.witness[None, :])[0]
        assert_differentiable_witness(net, res.witness, res.value)
        reached += res.value >= true * (1 - 1e-9)
    assert reached >= 5


@pytest.mark.parametrize("seed", range(4))
def test_degenerate_nets_never_exceed_the_true_constant(seed):
    """Integer weights, copied / negated / doubled / zero rows: hyperplanes coincide, so a
    flip's pattern may have no interior (the same hyperplane's two sides at once)."""
    net = degenerate_net([3, 6, 5, 1], seed)
    for norm, p in (("inf", np.inf), (2, 2.0)):
        for region in (GlobalRegion(), BoxRegion(np.zeros(3), 1.5)):
            true = exact_values(net, norm, region).true
            X = starts(net, region, norm, 3, seed)
            res = pattern_ascent(net, region, p, X, work=3e7)
            if res.witness is None:
                continue
            assert res.value <= true * (1 + 1e-9) + 1e-12
            assert_differentiable_witness(net, res.witness, res.value, norm)


@pytest.mark.parametrize("lps", [1, 3, 6, 10])
def test_lps_per_cell_keeps_the_bound_valid(lps):
    """More LPs per cell (the further search of a budgeted call takes 6) reach other cells,
    never past the true constant; the LPs a cell tries are at most ``lps_per_cell`` and
    counted in the work."""
    for seed in range(4):
        net = random_net([3, 6, 6, 1], 40 + seed)
        true = exact_values(net, 2).true
        res = pattern_ascent(net, GlobalRegion(), 2.0, starts(net, GlobalRegion(), 2, 2, seed),
                             work=3e7, lps_per_cell=lps, center=False)
        assert res.witness is not None
        assert res.value <= true * (1 + 1e-9) + 1e-12
        assert_differentiable_witness(net, res.witness, res.value, 2)
        d = res.details
        assert d["lps"] <= lps * d["cells"] and d["work"] <= 3e7


def test_lower_bound_passes_lps_per_cell_on(monkeypatch):
    import polylip.nn.lower_patterns as lp
    from polylip.errors import ModelError

    seen = []
    real = lp.pattern_ascent

    def spy(*args, **kwargs):
        seen.append(kwargs.get("lps_per_cell"))
        return real(*args, **kwargs)
    monkeypatch.setattr(lp, "pattern_ascent", spy)
    net = random_net([4, 6, 6, 1], 21)
    true = exact_values(net, 2).true
    for given in (None, 6):
        lb = lower_bound(net, 2, None, {"samples": 32, "smooth_points": 0, "restarts": 2,
                                        "steps": 1, "lps_per_cell": given})
        assert lb.value <= true * (1 + 1e-9)
    assert seen == [None, 6]  # None: the ascent's own default, LPS_PER_CELL
    with pytest.raises(ModelError):
        lower_bound(net, 2, None, {"lps_per_cell": -1})


def test_vector_output_values_are_measured():
    """Vector output (operator norm): the ascent ranks flips with the start's output
    functional; what it returns is the operator norm measured at its witness."""
    net = random_net([3, 5, 4, 2], 5, output="vector:2")
    true = exact_values(net, "inf").true
    res = pattern_ascent(net, GlobalRegion(), np.inf, starts(net, GlobalRegion(), "inf", 2, 0),
                         work=3e7)
    assert res.value <= true * (1 + 1e-9)
    assert res.value == pytest.approx(float(local_constants(net, res.witness, "inf")[0]))


def test_work_limit_stops_it():
    net = random_net([6, 30, 30, 1], 2)
    X = starts(net, GlobalRegion(), 2, 4, 0)
    small = pattern_ascent(net, GlobalRegion(), 2.0, X, work=1.0)
    assert small.details["cells"] == 0 and small.details["lps"] == 0
    big = pattern_ascent(net, GlobalRegion(), 2.0, X, work=3e7)
    assert big.details["cells"] > 0 and big.value >= small.value
    assert big.details["work"] <= 3e7


def test_lower_bound_uses_it_and_stays_valid():
    for seed in range(3):
        net = random_net([4, 6, 6, 1], 20 + seed)
        true = exact_values(net, 2).true
        lb = lower_bound(net, 2, None, {"samples": 32, "smooth_points": 0, "restarts": 2,
                                        "steps": 1})
        assert lb.details["patterns"]["cells"] >= 1
        assert lb.value <= true * (1 + 1e-9)
        assert_differentiable_witness(net, lb.witness, lb.value, 2)


def test_too_large_a_network_is_skipped(monkeypatch):
    import polylip.nn.lower_patterns as lp

    net = random_net([4, 6, 6, 1], 0)
    monkeypatch.setattr(lp, "MAX_DENSE_ENTRIES", lp.dense_entries(net) - 1)
    res = pattern_ascent(net, GlobalRegion(), 2.0, starts(net, GlobalRegion(), 2, 2, 0),
                         work=1e9)
    assert res.witness is None and res.details["skipped"] == "size"
    lb = lower_bound(net, 2)  # the search goes on without it
    assert_differentiable_witness(net, lb.witness, lb.value, 2)


def test_center_never_returns_a_non_finite_point():
    """Rows within 1e-170 of the point: the barrier's Hessian overflows (found on the digits
    MLP: "invalid value encountered in matmul"); the damped Newton step must give up and keep
    the cell's point, not return NaN (NaN passes every ``<= 0`` sign check)."""
    from types import SimpleNamespace

    from polylip.nn.lower_patterns import _center

    cell = SimpleNamespace(x=np.array([0.0, 0.0]), flat=np.zeros(2, bool), sg=np.ones(2),
                           Z=np.array([[1.0, 0.0], [0.0, 1.0]]), z=np.array([1e-170, 1e-170]))
    y = _center(cell, GlobalRegion(2))
    assert np.all(np.isfinite(y))

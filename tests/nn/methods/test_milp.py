"""Lipschitz method "milp" (formal constant by mixed-integer LP, polylip.nn.methods.milp)."""

import doctest
import itertools
import math
import os

import numpy as np
import pytest

from polylip.errors import ModelError
from polylip.nn import BallRegion, BoxRegion, Network, exact_values, lipschitz, method_names
from polylip.nn.methods import milp as milp_method
from polylip.nn.methods import plan

from support.reference import NETS, REF


def random_net(sizes, seed, activation="relu", output=None):
    rng = np.random.default_rng(seed)
    Ws = [rng.normal(size=(b, a)) for a, b in zip(sizes[:-1], sizes[1:])]
    bs = [rng.normal(size=b) * 0.5 for b in sizes[1:]]
    return Network.from_weights(Ws, bs, activation=activation, output=output)


def milp(net, norm, region=None, **options):
    return lipschitz(net, norm, method="milp", region=region, lower=False, options=options)


def brute_formal(net, norm, region=None):
    """Formal constant by enumerating every vertex of the derivative box (test's own code)."""
    from polylip.nn.regions import as_region

    bounds = as_region(region).propagate(net)
    ranges = [(np.asarray(lo), np.asarray(hi)) for lo, hi in bounds.derivative_bounds]
    sizes = [lo.size for lo, _ in ranges]
    Ws = [np.asarray(W.todense() if hasattr(W, "todense") else W) for W, _ in net.affine_layers]
    u = net.functional()
    best = -math.inf
    for bits in itertools.product([0, 1], repeat=sum(sizes)):
        bits = np.array(bits)
        J = Ws[0]
        start = 0
        for (lo, hi), W, m in zip(ranges, Ws[1:], sizes):
            s = lo + (hi - lo) * bits[start:start + m]
            start += m
            J = W @ (s[:, None] * J)
        g = u @ J
        best = max(best, np.abs(g).sum() if norm == "inf" else np.abs(g).max())
    return best


def test_registered():
    assert "milp" in method_names()


CASES = [([3, 4, 1], 0), ([4, 5, 1], 1), ([3, 3, 3, 1], 2), ([2, 4, 3, 1], 3), ([3, 2, 2, 2, 1], 4)]


@pytest.mark.parametrize("sizes,seed", CASES)
@pytest.mark.parametrize("activation", ["relu", "leaky_relu:0.1"])
@pytest.mark.parametrize("norm", ["inf", 1])
def test_equals_exact_formal_global(sizes, seed, activation, norm):
    net = random_net(sizes, seed, activation)
    res = milp(net, norm, gap=0.0)
    formal = exact_values(net, norm).formal
    assert res.status == "ok"
    assert res.upper >= formal  # a valid bound of the formal constant (hence of the true one)
    assert res.upper == pytest.approx(formal, rel=1e-5, abs=2e-6)  # closes: margin 1e-6
    assert res.details["formal_lower"] == pytest.approx(formal, rel=1e-9)


@pytest.mark.parametrize("sizes,seed", CASES)
@pytest.mark.parametrize("norm", ["inf", 1])
def test_equals_exact_formal_local(sizes, seed, norm):
    net = random_net(sizes, seed)
    region = BoxRegion(np.random.default_rng(seed).normal(size=sizes[0]), 0.3)
    res = milp(net, norm, region, gap=0.0, constant="formal")
    formal = exact_values(net, norm, region).formal
    assert res.status == "ok"
    assert formal <= res.upper <= formal * (1 + 1e-5) + 2e-6
    glob = milp(net, norm, gap=0.0)
    assert res.details["formal_lower"] <= glob.upper  # local at most global


@pytest.mark.parametrize("norm", ["inf", 1])
def test_tanh_matches_vertex_enumeration(norm):
    net = random_net([3, 3, 2, 1], 7, "tanh")
    region = BoxRegion(np.array([0.2, -0.1, 0.4]), 0.5)
    for reg in (None, region):
        res = milp(net, norm, reg, gap=0.0)  # tanh: the formal constant even on a box
        assert res.details["constant"] == "formal"
        formal = brute_formal(net, norm, reg)
        assert res.status == "ok"
        assert formal <= res.upper <= formal * (1 + 1e-5) + 2e-6


def test_upper_never_below_the_lower_bound():
    net = random_net([4, 6, 5, 1], 11)
    res = lipschitz(net, "inf", method="milp", options={"gap": 0.0})
    assert res.lower is not None and res.upper >= res.lower
    assert res.status in ("ok", "optimal")


@pytest.mark.parametrize("norm", ["inf", 1])
def test_vector_output_takes_the_max_over_functionals(norm):
    net = random_net([3, 4, 3], 5, output="vector:inf")
    res = milp(net, norm, gap=0.0)
    formal = exact_values(net, norm).formal
    assert res.details["functionals"] > 1
    assert formal <= res.upper <= formal * (1 + 1e-5) + 2e-6


def test_margin_output_matches_exact():
    net = random_net([3, 5, 4], 6, output="margin:1,3")
    res = milp(net, "inf", gap=0.0)
    formal = exact_values(net, "inf").formal
    assert formal <= res.upper <= formal * (1 + 1e-5) + 2e-6


def test_witness_pattern_attains_formal_lower():
    net = random_net([3, 4, 3, 1], 9)
    res = milp(net, "inf", gap=0.0)
    t, pattern = res.details["t"], res.details["pattern"]
    assert set(np.unique(t)) <= {-1.0, 1.0}
    Ws = [np.asarray(W) for W, _ in net.affine_layers]
    g = Ws[0]
    for W, s in zip(Ws[1:], pattern):
        g = W @ (s[:, None] * g)
    assert float(net.functional() @ g @ t) == pytest.approx(res.details["formal_lower"])


@pytest.mark.skipif(not os.path.exists(os.path.join(NETS, "w80_s20.npz")),
                    reason="reference networks not available")
def test_time_limit_gives_a_valid_dual_bound_or_none():
    """CertDNN width 80 does not close in a fraction of a second: the dual bound at the time
    limit must still lie above the exact formal constant ("dp")."""
    d = np.load(os.path.join(NETS, "w80_s20.npz"))
    net = Network.from_weights([d["W"][0], d["c"][0][None, :]], [d["b"][0], None])
    exact = lipschitz(net, "inf", method="dp", lower=False)
    res = milp(net, "inf", time_limit=0.5)
    assert res.status == "time_limit"
    assert res.upper is None or res.upper >= exact.details["formal"]
    assert "time limit" in res.details["message"]


def test_bad_options_and_norms_are_refused():
    net = random_net([3, 4, 1], 0)
    with pytest.raises(ModelError, match="input norms inf and 1"):
        milp(net, 2)
    with pytest.raises(ModelError, match="gap"):
        milp(net, "inf", gap=2.0)
    with pytest.raises(ModelError, match="time_limit"):
        milp(net, "inf", time_limit=-1)
    with pytest.raises(ModelError, match="fixed output functional"):
        milp(random_net([3, 4, 2], 0, output="vector:2"), "inf")


def test_auto_uses_milp_when_dp_does_not_fit(monkeypatch):
    """"dp" made too small (its table forced to 2^4 entries): "auto" goes on to "milp", which closes
    and ends the search within its gap of the formal constant (computed by the real "dp")."""
    from polylip.nn.estimate import METHODS

    net = random_net([6, 8, 8, 1], 12)  # as 8-12-12-1 did, in a tenth of its time
    exact = lipschitz(net, "inf", method="dp", lower=False)
    real_dp = METHODS["dp"]
    monkeypatch.setitem(METHODS, "dp", lambda problem, **kw: real_dp(problem, max_table_entries=16))
    # budget 300: the MILP closes in under a second at load 1 (8-12-12-1: 2.5 s), but its share
    # of a 60-s budget ran out under load 15+ (status time_limit); a larger budget costs nothing
    # when it closes
    res = lipschitz(net, "inf", options={"budget": 300, "isolate": False})
    tried = {t["method"]: t for t in res.details["tried"]}
    assert tried["dp"]["status"] == "too_large"
    assert tried["milp"]["status"] == "ok"
    assert res.details["best_method"] == "milp"
    assert res.details["formal_within"] == pytest.approx(plan.AUTO_MILP_GAP)
    formal = exact.details["formal"]
    assert formal <= res.upper <= formal * (1 + 2e-6) + 2e-6
    assert "shor" not in tried  # the search ended at the closed MILP


def test_module_doctests():
    assert doctest.testmod(milp_method).failed == 0


def test_the_milps_go_through_the_solve_stage(monkeypatch):
    """Every MILP of the method is solved by the solve stage's entry (no direct scipy call)."""
    import polylip.backends.highs_milp as backend
    from polylip.nn.methods import milp_model

    assert not hasattr(milp_model, "milp") and not hasattr(milp_model, "LinearConstraint")
    calls, real = [], backend.solve_milp
    monkeypatch.setattr(backend, "solve_milp", lambda c, **kw: calls.append(kw) or real(c, **kw))
    net = random_net([3, 5, 1], 3)
    for region in (None, BoxRegion(np.zeros(3), 0.5)):
        calls.clear()
        res = milp(net, "inf", region)
        assert res.upper is not None and len(calls) >= 1


# ------------------------------------------------------------- the true local constant (box)
TRUE_CASES = [([3, 5, 1], 20, "relu"), ([4, 6, 5, 1], 21, "relu"), ([3, 4, 4, 4, 1], 22, "relu"),
              ([4, 5, 5, 1], 23, "leaky_relu:0.1"), ([3, 6, 2], 24, "relu")]


@pytest.mark.parametrize("sizes,seed,activation", TRUE_CASES)
@pytest.mark.parametrize("norm", ["inf", 1])
def test_true_local_constant_matches_enumeration(sizes, seed, activation, norm):
    """Over a box, the pattern is tied to an input: the MILP closes at the *true* local
    constant that "exact" finds by enumerating realizable patterns (LPs)."""
    out = "vector:inf" if sizes[-1] > 1 else None
    net = random_net(sizes, seed, activation, output=out)
    region = BoxRegion(np.random.default_rng(seed).normal(size=sizes[0]), 0.6)
    ev = exact_values(net, norm, region)
    res = lipschitz(net, norm, method="milp", region=region, options={"gap": 0.0})
    assert res.details["constant"] == "true"
    assert ev.true - 1e-9 <= res.upper <= ev.true * (1 + 1e-5) + 2e-6
    assert res.lower is not None and res.lower <= ev.true + 1e-9  # attained at an input
    assert res.upper <= ev.formal * (1 + 1e-5) + 2e-6


def he_net_3x10():
    """A 3x10 He-scaled ReLU network and a box of radius 0.1 around a random point."""
    rng = np.random.default_rng(3010)
    Ws = [rng.normal(0, np.sqrt(0.2), (10, 10)) for _ in range(3)] + [
        rng.normal(0, np.sqrt(0.2), (1, 10))]
    bs = [rng.normal(0, 0.5, 10) for _ in range(3)] + [None]
    return Network.from_weights(Ws, bs), BoxRegion(rng.normal(size=10), 0.1)


def test_true_constant_is_below_the_formal_one_where_patterns_are_unrealizable():
    """A 3x10 He-scaled random network (drawn like the deep benchmark's) on a box of radius 0.1,
    where many patterns in the derivative ranges are not realizable: the realizable MILP
    reaches the true value, which "exact" confirms, well below the formal one."""
    net, region = he_net_3x10()
    ev = exact_values(net, "inf", region)
    formal = milp(net, "inf", region, gap=0.0, constant="formal")
    true = lipschitz(net, "inf", method="milp", region=region, options={"gap": 0.0})
    assert ev.true < 0.9 * ev.formal  # unrealizable patterns matter here
    assert true.upper == pytest.approx(ev.true, rel=1e-5, abs=2e-6) and true.upper >= ev.true
    assert formal.upper >= ev.formal
    assert true.lower == pytest.approx(ev.true, rel=1e-6)  # attained at the MILP's input


def test_true_constant_on_a_ball_is_a_valid_bound():
    net = random_net([3, 6, 4, 1], 25)
    region = BallRegion(np.random.default_rng(25).normal(size=3), 0.5)
    ev = exact_values(net, "inf", region)
    res = lipschitz(net, "inf", method="milp", region=region, options={"gap": 0.0})
    assert res.details["constant"] == "true"
    assert res.upper >= ev.true - 1e-9 and res.upper <= ev.formal * (1 + 1e-5) + 2e-6
    assert res.lower <= ev.true + 1e-9


def test_true_constant_refusals():
    net = random_net([3, 4, 1], 0)
    with pytest.raises(ModelError, match="bounded region"):
        milp(net, "inf", constant="true")
    tanh = random_net([3, 4, 1], 0, "tanh")
    with pytest.raises(ModelError, match="ReLU-type"):
        milp(tanh, "inf", BoxRegion(np.zeros(3), 0.1), constant="true")
    with pytest.raises(ModelError, match="constant must be"):
        milp(net, "inf", constant="exact")
    assert milp(net, "inf", BoxRegion(np.zeros(3), 0.1)).details["constant"] == "true"
    assert milp(net, "inf").details["constant"] == "formal"


def test_auto_on_a_box_ends_at_the_true_constant(monkeypatch):
    """Over a box with ReLU, "milp" ties the pattern to an input: auto runs it first (before
    "dp", which stops at the formal constant) and ends at the true local constant, with the
    lower bound attained at the MILP's input."""
    net, region = he_net_3x10()
    ev = exact_values(net, "inf", region)
    from polylip.nn.estimate import METHODS
    monkeypatch.delitem(METHODS, "bab")  # the step before milp-true, which closes it too
    res = lipschitz(net, "inf", region=region, options={"budget": 60})
    methods = [t["method"] for t in res.details["tried"]]
    assert methods == ["product", "interval", "geolip", "milp"]
    assert res.details["true_within"] == pytest.approx(plan.AUTO_MILP_GAP)
    assert ev.true < 0.9 * ev.formal
    assert ev.true - 1e-9 <= res.upper <= ev.true * (1 + 2e-6) + 2e-6
    assert ev.true * (1 - 1e-9) <= res.upper and res.lower <= ev.true * (1 + 1e-9)
    assert res.upper - res.lower <= 2e-6 * res.upper + 2e-6  # closed to auto's milp gap


# ------------------------------------------------------------- work and time limits
def test_node_limit_gives_the_same_result_twice_and_is_shared():
    # 4-8-8-3: the limit binds on every functional as on 6-12-12-3, whose full solve below
    # took 3.7 times as long
    net = random_net([4, 8, 8, 3], 5, output="vector:inf")
    box = BoxRegion(np.full(4, 0.2), 0.6)
    runs = [lipschitz(net, "inf", region=box, method="milp", lower=False,
                      options={"node_limit": 6, "time_limit": None}) for _ in range(2)]
    a, b = runs
    assert (a.upper, a.status, a.details["nodes"]) == (b.upper, b.status, b.details["nodes"])
    assert a.status == "time_limit"  # the limit stopped it: a work limit, the same twice
    assert a.details["node_limit"] == 6 and a.upper is not None
    assert len(a.details["parts"]) == a.details["functionals"] > 1  # each functional ran
    full = milp(net, "inf", box)
    assert a.upper >= full.upper * (1 - 2e-4) - 1e-6  # a valid bound, if looser


def test_deterministic_milp_runs_with_a_node_limit():
    net = random_net([4, 6, 1], 3)
    a = lipschitz(net, "inf", method="milp", deterministic=True, budget=2.0)
    b = lipschitz(net, "inf", method="milp", deterministic=True, budget=2.0)
    assert a.details["node_limit"] == int(plan.MILP_NODES_PER_SECOND * 2.0)
    assert a.details["time_limit"] is None
    assert (a.upper, a.lower, a.status) == (b.upper, b.lower, b.status)


def test_the_time_limit_is_shared_by_the_functionals(monkeypatch):
    """Each functional gets the time left over the functionals left (no functional takes it
    all and leaves the others without a bound)."""
    from polylip.nn.methods import milp_model

    given, real = [], milp_model.solve_formal_milp
    monkeypatch.setattr(milp_method, "solve_formal_milp",
                        lambda model, **kw: given.append(kw["time_limit"]) or real(model, **kw))
    net = random_net([3, 5, 4], 2, output="vector:inf")
    res = milp(net, "inf", constant="formal", time_limit=40.0)
    k = res.details["functionals"]
    assert k > 1 and len(given) == k
    assert given[0] <= 40.0 / k + 1e-9
    assert all(g <= 40.0 / (k - i) + 1e-9 for i, g in enumerate(given))

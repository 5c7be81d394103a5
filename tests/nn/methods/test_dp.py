"""Lipschitz method "dp" (exact formal constant by variable elimination, polylip.nn.methods.dp)."""

import csv
import doctest
import os

import numpy as np
import pytest

from polylip.errors import ModelError
from polylip.nn import BoxRegion, Network, exact_values, gradient_pop, lipschitz, method_names
from polylip.nn.methods import dp as dp_method

from support.reference import NETS, REF


def random_net(sizes, seed, activation="relu", output=None, density=1.0):
    rng = np.random.default_rng(seed)
    Ws = [rng.normal(size=(b, a)) * (rng.uniform(size=(b, a)) < density)
          for a, b in zip(sizes[:-1], sizes[1:])]
    bs = [rng.normal(size=b) * 0.5 for b in sizes[1:]]
    return Network.from_weights(Ws, bs, activation=activation, output=output)


def dp(net, norm, region=None, **options):
    return lipschitz(net, norm, method="dp", region=region, lower=False, options=options)


def test_registered():
    assert "dp" in method_names()


CASES = [([3, 4, 1], 0), ([4, 5, 1], 1), ([3, 3, 3, 1], 2), ([2, 4, 3, 1], 3)]


@pytest.mark.parametrize("sizes,seed", CASES)
@pytest.mark.parametrize("activation", ["relu", "leaky_relu:0.1"])
@pytest.mark.parametrize("norm", ["inf", 2])
def test_equals_exact_formal_global(sizes, seed, activation, norm):
    net = random_net(sizes, seed, activation)
    res = dp(net, norm)
    formal = exact_values(net, norm).formal
    assert res.status == "ok"
    assert res.details["formal"] == pytest.approx(formal, rel=1e-10, abs=1e-12)
    assert formal <= res.upper <= formal * (1 + 1e-12) + 1e-14


@pytest.mark.parametrize("sizes,seed", CASES)
@pytest.mark.parametrize("activation", ["relu", "leaky_relu:0.1"])
@pytest.mark.parametrize("norm", ["inf", 2])
def test_equals_exact_formal_local(sizes, seed, activation, norm):
    net = random_net(sizes, seed, activation)
    region = BoxRegion(np.random.default_rng(seed).normal(size=sizes[0]), 0.3)
    res = dp(net, norm, region)
    formal = exact_values(net, norm, region).formal
    assert res.status == "ok"
    assert res.details["formal"] == pytest.approx(formal, rel=1e-10, abs=1e-12)
    assert res.upper >= formal


def test_local_region_with_every_neuron_stable():
    net = random_net([3, 4, 1], 7)
    region = BoxRegion(np.zeros(3), 1e-9)  # every neuron stable (radius 0 is refused)
    for norm in ("inf", 2):
        assert dp(net, norm, region).details["formal"] == pytest.approx(
            exact_values(net, norm, region).formal, rel=1e-12)


@pytest.mark.parametrize("norm", ["inf", 2])
def test_vector_output_takes_the_max_over_functionals(norm):
    net = random_net([3, 4, 2], 8, output="vector:inf")
    res = dp(net, norm)
    assert res.details["functionals"] == 2
    assert res.details["formal"] == pytest.approx(exact_values(net, norm).formal, rel=1e-10)


def test_unsupported_cases_refused():
    with pytest.raises(ModelError, match="fixed output functional"):
        dp(random_net([2, 3, 2], 9, output="vector:2"), 2)
    with pytest.raises(ModelError, match="norm 3"):
        dp(random_net([2, 3, 1], 9), 3)


@pytest.mark.parametrize("sizes, seed", [([4, 5, 1], 1), ([3, 4, 3, 1], 2), ([5, 6, 1], 3)])
def test_l1_equals_the_exact_formal_value(sizes, seed):
    """l_1 input norm (dual l_inf): max over the vertices of max_i |g_i|, two eliminations per
    input; equal to method "exact"'s formal value, globally and over a box; local <= global."""
    net = random_net(sizes, seed)
    for region in (None, BoxRegion(np.full(sizes[0], 0.2), 0.3)):
        res = lipschitz(net, 1, method="dp", region=region, lower=False)
        formal = lipschitz(net, 1, method="exact", region=region, lower=False).details["formal"]
        assert res.status == "ok"
        assert formal <= res.upper <= formal * (1 + 1e-12) + 1e-12
    glob = lipschitz(net, 1, method="dp", lower=False).upper
    assert lipschitz(net, 1, method="dp", region=BoxRegion(np.zeros(sizes[0]), 0.1),
                     lower=False).upper <= glob


def test_too_large_is_a_status_not_a_bound():
    net = random_net([8, 8, 1], 10)  # dense: every t meets every sigma
    res = dp(net, "inf", max_table_entries=2 ** 6)
    assert res.upper is None and res.status == "too_large"
    assert "budget" in res.details["message"] and res.details["width"] > 6
    assert dp(net, "inf").status == "ok"
    res = dp(random_net([3, 3, 3, 1], 11), "inf", max_terms=2)
    assert res.upper is None and res.status == "too_large" and "terms" in res.details["message"]


def test_pattern_attains_the_value():
    net = random_net([4, 5, 1], 12)
    res = dp(net, "inf")
    (s,) = res.details["pattern"]
    grad = net.affine_layers[0][0].T @ (s * net.affine_layers[1][0].ravel())
    assert np.abs(grad).sum() == pytest.approx(res.details["formal"], rel=1e-12)


def test_squared_gradient_norm_matches_evaluation():
    net = random_net([3, 4, 1], 13)
    gp = gradient_pop(net, 2)
    sq = dp_method.squared_gradient_norm(gp)
    rng = np.random.default_rng(0)
    W1, w2 = net.affine_layers[0][0], net.affine_layers[1][0].ravel()
    for _ in range(5):
        sig = rng.integers(0, 2, size=4).astype(float)
        g = W1.T @ (sig * w2)
        pt = {n: 0.0 for n in sq.variables}
        pt.update({f"s1_{j}": sig[j] for j in range(4)})
        assert sq.evaluate(pt) == pytest.approx(g @ g, rel=1e-12)


def _published(width, sparsity, method):
    out = {}
    with open(os.path.join(REF, "certdnn_1hidden_runs.csv")) as fh:
        for row in csv.DictReader(fh):
            if (row["scope"], row["width"], row["sparsity"], row["method"]) == \
                    ("global", str(width), str(sparsity), method):
                out[int(row["seed"])] = float(row["bound"])
    return out


def _certdnn(width, sparsity, seed):
    d = np.load(os.path.join(NETS, f"w{width}_s{sparsity}.npz"))
    return Network.from_weights([d["W"][seed], d["c"][seed][None, :]], [d["b"][seed], None])


@pytest.mark.skipif(not os.path.exists(os.path.join(NETS, "w10_s4.npz")),
                    reason="reference networks not available")
def test_certdnn_w10_s4_equals_published_lipopt3():
    pub = _published(10, 4, "LiPopt-3")
    assert sorted(pub) == list(range(10))
    for seed, bound in pub.items():
        res = dp(_certdnn(10, 4, seed), "inf")
        assert res.status == "ok" and res.details["width"] == 3
        assert res.upper == pytest.approx(bound, rel=1e-6)


@pytest.mark.skipif(not os.path.exists(os.path.join(NETS, "w40_s20.npz")),
                    reason="reference networks not available")
def test_certdnn_w40_s20_below_published_lipopt4():
    res = dp(_certdnn(40, 20, 0), "inf")
    assert res.status == "ok" and res.details["width"] <= 20
    assert res.upper <= _published(40, 20, "LiPopt-4")[0] * (1 + 1e-7)


def test_module_doctests():
    result = doctest.testmod(dp_method)
    assert result.failed == 0 and result.attempted > 0


def test_dp_on_a_margin_output_matches_exact():
    """Regression: a margin output's functional is an array (comparing the list of functionals
    to [None] raised); dp and exact agree on it, l_inf and l_2."""
    rng = np.random.default_rng(5)
    net = Network.from_weights([rng.standard_normal((5, 4)), rng.standard_normal((3, 5))],
                               output="margin:0,2")
    for norm in ("inf", 2):
        dp = lipschitz(net, norm, method="dp", lower=False)
        formal = lipschitz(net, norm, method="exact", lower=False).details["formal"]
        assert dp.status == "ok" and formal <= dp.upper <= formal * (1 + 1e-9) + 1e-12


def test_tiny_derivative_ranges_stay_free():
    """A saturated sigmoid (z = x - 50 on [-1, 1]): its derivative range [7e-23, 5.2e-22] is
    narrower than 1e-12, and the gradient POP fixed such a neuron at the midpoint of its
    range in absolute terms: "dp" returned 3.3e-23 below the lower bound 6.0e-23 attained
    (status "inconsistent"). A range is fixed only when it is narrow relative to its end."""
    from polylip.nn import BoxRegion, Network, lipschitz

    net = Network.from_weights([np.array([[1.0], [1.0]]), np.array([[1.0, 1.0]])],
                               [np.array([-50.0, -52.0]), None], activation="sigmoid")
    region = BoxRegion([0.0], 1.0)
    true = float(net.local_lipschitz(np.array([[1.0]]), "inf")[0])  # the derivative grows in x
    for method in ("dp", "exact", "interval"):
        res = lipschitz(net, "inf", method=method, region=region)
        assert res.upper >= true * (1 - 1e-9), (method, res.upper, true)
        assert res.status != "inconsistent"


def test_squared_norm_of_a_wide_layer_refused_before_planning():
    """A 2-2000-1 network's squared gradient norm has one clique of 2,000 neurons per input:
    its width is at least 2,000 whatever the order, so it is refused from the cliques alone
    (it took 2.7 s to plan the order, and "auto" in deterministic mode, which had estimated
    the step at 0.4 s, ran to its safety deadline; QA round 4)."""
    rng = np.random.default_rng(0)
    net = Network.from_weights([rng.standard_normal((2000, 2)), rng.standard_normal((1, 2000))],
                               [rng.standard_normal(2000), None])
    res = lipschitz(net, "2", method="dp", lower=False)
    assert res.status == "too_large" and res.upper is None
    assert res.details["width"] == 2000 and "at least 2^2000" in res.details["message"]


def test_cliques_drop_exactly_the_contained_groups():
    """gradient_terms._groups (indexed by variable since QA round 4) against the definition."""
    from polylip.nn.gradient_terms import _groups
    rng = np.random.default_rng(3)
    pairs = np.unique(np.column_stack([rng.integers(0, 40, 300), rng.integers(0, 12, 300)]),
                      axis=0)
    got = set(_groups(pairs))
    groups = {tuple(int(v) for v in pairs[pairs[:, 0] == g, 1]) for g in np.unique(pairs[:, 0])}
    want = {g for g in groups if not any(set(g) < set(h) for h in groups)}
    assert got == want

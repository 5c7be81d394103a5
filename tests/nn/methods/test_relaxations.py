"""Lipschitz upper bounds by polynomial optimization (issue 6) on tiny networks.

The test enumerates the activation patterns itself: the formal constant is the maximum of the
dual norm of ``W_1^T D_1 ... W_L^T u`` over every vertex of the derivative box, and the true
constant is at most it (and at least every sampled local constant).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from polylip.nn import BoxRegion, GlobalRegion, Network, lipschitz
from polylip.nn.exact import exact_values
from polylip.nn.gradient_pop import functionals, gradient_pop

TOL = 1e-5


def enumerate_formal(net, norm, region=None):
    """Formal constant by brute force over the vertices of the derivative box."""
    region = region or GlobalRegion()
    rb = region.propagate(net)
    q = {np.inf: 1, 2.0: 2}[float(norm)]
    choices = [list(zip(lo, hi)) for lo, hi in zip(rb.deriv_lo, rb.deriv_hi)]
    flat = [pair for layer in choices for pair in layer]
    best = 0.0
    for bits in itertools.product((0, 1), repeat=len(flat)):
        S, pos = [], 0
        for layer in choices:
            S.append(np.array([layer[j][bits[pos + j]] for j in range(len(layer))]))
            pos += len(layer)
        for u in functionals(net):
            g = net.backward(S, u)[0]
            best = max(best, float(np.linalg.norm(g, ord=q)))
    return best


def sampled_lower(net, norm, region=None, n=2000, seed=0):
    rng = np.random.default_rng(seed)
    if region is None:
        X = rng.standard_normal((n, net.input_dim)) * 3
    else:
        X = region.sample(n, rng)
    return float(np.max(net.local_lipschitz(X, norm)))


def random_net(sizes, seed, activation="relu", output=None):
    rng = np.random.default_rng(seed)
    Ws = [rng.standard_normal((sizes[i + 1], sizes[i])) for i in range(len(sizes) - 1)]
    bs = [rng.standard_normal(sizes[i + 1]) * 0.5 for i in range(len(sizes) - 1)]
    return Network.from_weights(Ws, bs, activation=activation, output=output)


def upper(net, norm, method, region=None, **options):
    res = lipschitz(net, norm=norm, method=method, region=region, lower=False, options=options)
    assert res.upper is not None, (method, res.status, res.details)
    return res.upper


# ------------------------------------------------------------------------------ the POP itself
@pytest.mark.parametrize("activation", ["relu", "leaky_relu:0.2", "tanh"])
@pytest.mark.parametrize("formulation", ["expanded", "lifted"])
def test_pop_objective_is_the_gradient_at_vertices(activation, formulation):
    net = random_net([3, 4, 3, 1], 1, activation)
    gp = gradient_pop(net, "inf", formulation=formulation)
    rng = np.random.default_rng(0)
    for _ in range(5):
        sigma = [rng.integers(0, 2, n).astype(float) for n in net.widths]
        S = [lo + (hi - lo) * s for lo, hi, s in zip(gp.s_lo, gp.s_hi, sigma)]
        t = rng.choice([-1.0, 1.0], net.input_dim)
        g = net.backward(S, net.functional())[0]
        x = np.zeros(gp.nvars)
        x[list(gp.t)] = t
        for idx, s in zip(gp.s, sigma):
            x[idx[idx >= 0]] = s[idx >= 0]
        if formulation == "lifted":
            # fill z layer by layer from the equalities (each is z - f(later variables) = 0)
            for _ in range(len(gp.z) + 1):
                for h in gp.pop.eqs:
                    zi = h.rows[np.argmax((h.coeffs == 1.0) & ((h.rows >= 0).sum(axis=1) == 1)), 0]
                    x[zi] = 0.0
                    x[zi] = -h.evaluate(x)
            assert gp.pop.is_feasible(x)
        assert abs(gp.pop.objective.evaluate(x) - t @ g) < 1e-9


def test_pop_cliques_cover_every_monomial_and_stable_neurons_are_constants():
    net = random_net([4, 5, 1], 3)
    gp = gradient_pop(net, "inf")
    sets = [set(c) for c in gp.cliques]
    for row in gp.pop.objective.rows:
        assert any(set(row[row >= 0].tolist()) <= s for s in sets)
    region = BoxRegion(np.zeros(4), 0.05)
    loc = gradient_pop(net, "inf", region)
    assert loc.num_fixed_neurons > 0
    assert loc.nvars == 4 + loc.num_free_neurons
    assert set(gp.pop.spin) == {f"t{i}" for i in range(4)}


def test_pop_one_hidden_layer_coefficients():
    W = np.array([[1.0, -2.0], [0.0, 3.0]])
    net = Network.from_weights([W, np.array([[2.0, -1.0]])])
    gp = gradient_pop(net, "inf")
    # t^T W^T diag(s) c: terms t_i s_j with coefficient W_ji c_j
    coef = dict(((tuple(r[r >= 0]), c) for r, c in zip(gp.pop.objective.rows, gp.pop.objective.coeffs)))
    t0, t1, s0, s1 = (gp.pop.variables.index(v) for v in ("t0", "t1", "s1_0", "s1_1"))
    assert coef[tuple(sorted((t0, s0)))] == 2.0
    assert coef[tuple(sorted((t1, s0)))] == -4.0
    assert coef[tuple(sorted((t1, s1)))] == -3.0
    assert len(coef) == 3


# ------------------------------------------------------------------------------ bounds
@pytest.mark.parametrize("norm", ["inf", 2])
@pytest.mark.parametrize("seed", [0, 1])
def test_every_method_bounds_the_formal_value_one_hidden_layer(norm, seed):
    net = random_net([3, 4, 1], seed)
    formal = enumerate_formal(net, norm)
    assert formal >= sampled_lower(net, norm) - 1e-9
    methods = ["shor", "sdp"] + (["lp"] if norm == "inf" else ["lipsdp"])
    for method in methods:
        u = upper(net, norm, method)
        if method == "lipsdp":  # LipSDP bounds the true constant, not the formal one
            assert u >= exact_values(net, norm).true - TOL
        else:
            assert u >= formal - TOL, method


@pytest.mark.parametrize("norm", ["inf", 2])
def test_sdp_order_two_is_exact_on_the_smallest_networks(norm):
    for seed in range(3):
        net = random_net([3, 3, 1], seed)
        formal = enumerate_formal(net, norm)
        assert upper(net, norm, "sdp", order=2) == pytest.approx(formal, abs=1e-5, rel=1e-5)
        assert upper(net, norm, "sdp", order=2, sparsity="dense") == pytest.approx(formal, rel=1e-5)


def test_sdp_two_hidden_layers_reaches_the_formal_value():
    net = random_net([3, 3, 2, 1], 0)
    formal = enumerate_formal(net, "inf")
    assert upper(net, "inf", "sdp", order=2) == pytest.approx(formal, rel=1e-5)
    assert upper(net, "inf", "shor") >= formal - TOL  # lifted Shor: valid, looser


def test_lp_reaches_the_formal_value_at_a_known_degree():
    # dense Sherali-Adams / Krivine LP of degree = number of boolean variables is exact
    net = random_net([2, 2, 1], 4)
    formal = enumerate_formal(net, "inf")
    gp = gradient_pop(net, "inf")
    assert upper(net, "inf", "lp", degree=gp.nvars, sparsity="dense") == pytest.approx(formal, rel=1e-6)
    # with the network's cliques, degree 3 (objective degree + 1) already reaches it here
    net = random_net([3, 4, 1], 0)
    assert upper(net, "inf", "lp", degree=3) == pytest.approx(enumerate_formal(net, "inf"), rel=1e-6)


def test_lp_unreachable_degree_is_reported_without_a_bound():
    net = random_net([3, 3, 2, 1], 0)  # objective of degree 3
    res = lipschitz(net, "inf", method="lp", options={"degree": 2}, lower=False)
    assert res.upper is None and res.status == "unreachable"


@pytest.mark.parametrize("norm", ["inf", 2])
def test_local_bounds_are_at_most_global_and_valid(norm):
    net = random_net([3, 5, 1], 2)
    region = BoxRegion(np.array([0.3, -0.2, 0.1]), 0.3)
    formal_local = enumerate_formal(net, norm, region)
    for method in ["shor", "sdp"]:
        glob = upper(net, norm, method)
        loc = upper(net, norm, method, region)
        assert loc <= glob + TOL
        assert loc >= formal_local - TOL
        assert loc >= sampled_lower(net, norm, region) - TOL


@pytest.mark.parametrize("activation", ["leaky_relu:0.1", "tanh"])
def test_leaky_relu_and_tanh(activation):
    net = random_net([2, 3, 1], 5, activation)
    for norm in ["inf", 2]:
        formal = enumerate_formal(net, norm)
        assert upper(net, norm, "sdp") == pytest.approx(formal, rel=1e-5)
        assert upper(net, norm, "shor") >= formal - TOL
    assert upper(net, "inf", "lp", degree=3) >= enumerate_formal(net, "inf") - TOL


def test_vector_output_takes_the_maximum_over_functionals():
    net = random_net([3, 3, 2], 6, output="vector:inf")
    formal = enumerate_formal(net, "inf")
    assert upper(net, "inf", "sdp") == pytest.approx(formal, rel=1e-5)


def test_l2_vector_output_and_lipsdp():
    net = random_net([2, 3, 2], 7, output="vector:2")
    lip = upper(net, 2, "lipsdp")
    shor = upper(net, 2, "shor")
    samp = sampled_lower(net, 2)
    assert lip >= samp - TOL and shor >= samp - TOL


def test_auto_is_best_of_what_it_tried_and_below_product():
    net = random_net([3, 4, 1], 8)
    res = lipschitz(net, "inf", method="auto", lower=False, options={"budget": 30})
    prod = lipschitz(net, "inf", method="product", lower=False).upper
    assert res.upper <= prod + 1e-12
    assert res.upper >= enumerate_formal(net, "inf") - TOL
    tried = [t["upper"] for t in res.details["tried"] if t.get("upper") is not None]
    assert res.upper == pytest.approx(min(tried))


def test_structure_is_reported():
    net = random_net([3, 4, 1], 0)
    res = lipschitz(net, "inf", method="sdp", lower=False)
    part = res.details["relaxations"][0]
    assert part["structure"]["psd_sizes"] and part["pop"]["cliques"] == 4


@pytest.mark.parametrize("method", ["sdp", "shor"])
def test_a_numerical_only_relaxation_bound_is_no_upper_bound(method, monkeypatch):
    """A relaxation that ends optimal with a bound neither its certificate nor the a-posteriori
    check proves: it was the solver's number plus an accuracy margin, reported as a certified
    upper bound; now no upper bound, status "inaccurate"."""
    from dataclasses import replace

    from polylip.nn.methods import bound, shor

    real = bound.solve_certified

    def unproven(relaxation, *args, **kwargs):
        outcome, _ = real(relaxation, *args, **kwargs)
        return replace(outcome, result=replace(outcome.result, certified=False)), \
            {"kind": "accuracy", "reason": "made so by the test"}

    monkeypatch.setattr(bound, "solve_certified", unproven)
    monkeypatch.setattr(shor, "solve_certified", unproven)
    net = Network.from_weights([np.array([[1.0, -1.0], [2.0, 1.0]]), np.array([[1.0, 1.0]])])
    res = lipschitz(net, norm="inf", method=method, lower=False)
    assert res.upper is None and res.status == "inaccurate"
    assert "numerical only" in res.explain()
    monkeypatch.undo()
    assert lipschitz(net, norm="inf", method=method, lower=False).upper >= 3.0 - 1e-9

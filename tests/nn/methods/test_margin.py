"""The soundness margin of the SDP-based Lipschitz upper bounds (issue 6).

A floating-point solver meets its optimality conditions only to a tolerance: the returned value
can lie slightly below the relaxation's optimum. Every SDP-based upper bound therefore carries a
margin (recorded in ``details``) and must stay at or above the true constant and the lower bound.
"""

from __future__ import annotations

import numpy as np
import pytest

from polylip.nn import Network, lipschitz
from polylip.nn.exact import exact_values


def random_net(sizes, seed):
    rng = np.random.default_rng(seed)
    Ws = [rng.standard_normal((sizes[i + 1], sizes[i])) for i in range(len(sizes) - 1)]
    bs = [rng.standard_normal(sizes[i + 1]) * 0.5 for i in range(len(sizes) - 1)]
    return Network.from_weights(Ws, bs)


CASES = [("shor", {}), ("sdp", {"order": 2}),
         ("sdp", {"sparsity": "neuron", "side": "sos"}),
         ("sdp", {"order": 2, "side": "moment"})]


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("method,options", CASES)
def test_margin_keeps_the_bound_above_the_true_value_and_the_lower_bound(seed, method, options):
    net = random_net([4, 5, 1], seed)
    res = lipschitz(net, norm="inf", method=method, options=options)
    assert res.upper is not None, res.details
    true = exact_values(net, "inf").true
    assert res.upper >= true, (res.upper, true)
    assert res.upper >= res.lower
    assert res.status != "inconsistent"
    rel = res.details["relaxations"][0]
    assert rel["margin"] > 0
    assert res.details["margin"] >= rel["margin"]
    assert res.upper == pytest.approx(rel["bound"] + rel["margin"], rel=0, abs=1e-15)
    assert rel["margin"] < 1e-4 * max(1.0, res.upper)
    assert rel["margin_kind"] == "certificate"  # the expanded POP lives in [-1, 1]^n


@pytest.mark.parametrize("side", ["sos", "moment"])
def test_certificate_is_sound_with_a_loose_solver_tolerance(side):
    """With tol = 1e-3 the solver's own value may undershoot; the certified bound may not."""
    net = random_net([4, 5, 1], 4)
    true = exact_values(net, "inf").true
    res = lipschitz(net, norm="inf", method="sdp", lower=False,
                    options={"order": 2, "sparsity": "dense", "side": side, "tol": 1e-3})
    assert res.upper is not None
    rel = res.details["relaxations"][0]
    assert rel["margin_kind"] == "certificate"
    assert res.upper >= true
    assert res.upper - true < 1e-1


def test_lifted_formulation_falls_back_to_the_accuracy_margin():
    net = random_net([3, 4, 4, 1], 5)
    res = lipschitz(net, norm="inf", method="shor", lower=False, options={"formulation": "lifted"})
    rel = res.details["relaxations"][0]
    assert rel["margin_kind"] == "accuracy"
    assert rel["margin"] >= rel["accuracy"] > 0
    assert res.upper >= exact_values(net, "inf").true


def test_margin_l2():
    net = random_net([3, 4, 1], 3)
    res = lipschitz(net, norm=2, method="sdp", options={"order": 2})
    assert res.upper is not None
    assert res.upper >= exact_values(net, 2).true
    assert res.details["relaxations"][0]["margin"] > 0


@pytest.mark.parametrize("seed", [1, 2])
def test_lipsdp_rho_is_certified_by_the_schur_complement(seed):
    rng = np.random.default_rng(seed)
    net = Network.from_weights([rng.standard_normal((6, 3)), rng.standard_normal((5, 6)),
                                rng.standard_normal((1, 5))])
    res = lipschitz(net, norm=2, method="lipsdp")
    assert res.upper is not None and res.status != "inconsistent"
    assert res.details["margin_kind"] == "schur"
    assert res.upper >= res.lower
    assert abs(res.details["margin"]) < 1e-5 * res.upper


@pytest.mark.parametrize("seed", [0, 1])
def test_shor_with_mccormick_products_is_valid_and_at_most_shor(seed):
    net = random_net([5, 6, 1], seed)
    true = exact_values(net, "inf").true
    plain = lipschitz(net, norm="inf", method="shor", lower=False).upper
    res = lipschitz(net, norm="inf", method="shor", lower=False, options={"rlt": True})
    assert res.details["rlt"] is True
    assert res.details["relaxations"][0]["margin_kind"] == "certificate"
    assert true <= res.upper <= plain + 1e-6
    every = lipschitz(net, norm="inf", method="shor", lower=False, options={"rlt": "all"}).upper
    assert true <= every <= res.upper + 1e-6


def test_shor_with_mccormick_cuts_improves_on_shor_and_stays_valid():
    net = random_net([6, 6, 1], 2)
    true = exact_values(net, "inf").true
    plain = lipschitz(net, norm="inf", method="shor", lower=False).upper
    res = lipschitz(net, norm="inf", method="shor", lower=False,
                    options={"rlt": "cuts", "rounds": 2, "cuts": 4})
    rel = res.details["relaxations"][0]
    assert [c["round"] for c in rel["cuts"]][0] == 0
    assert rel["cuts"][0]["products"] == 0
    assert true <= res.upper <= plain + 1e-6
    assert res.upper == pytest.approx(min(c["upper"] for c in rel["cuts"]))

"""The plan of method "auto": its order, when each step applies, and the reasons recorded for
every step not run (details["plan"])."""

import math
import time

import numpy as np
import pytest

from polylip.nn import METHODS, BoxRegion, GlobalRegion, Network, lipschitz
from polylip.nn.methods import BY_NAME, plan
from polylip.nn.methods.auto import WITHOUT_POPS, AutoOptions, Facts, Run
from polylip.nn.problem import LipschitzProblem

ORDER = ["product", "interval", "geolip", "bab", "eclipse", "lipsdp", "milp-true", "dp",
         "milp-formal", "shor-cuts-l2", "lp-low", "shor-cuts", "shor", "lp-high", "sdp-neuron",
         "sdp-network", "milp-rest"]
STATUSES = {"ok", "no bound", "time_limit", "error", "skipped", "too large", "not applicable",
            "not run"}


def small_net(seed=8, sizes=(3, 4, 1), activation="relu"):
    rng = np.random.default_rng(seed)
    Ws = [rng.standard_normal((sizes[k + 1], sizes[k])) for k in range(len(sizes) - 1)]
    return Network.from_weights(Ws, activation=activation)


def applicable(net, norm, region=None):
    """The ids of the steps whose conditions hold at the start (before any step ran)."""
    problem = LipschitzProblem(net, norm, region or GlobalRegion(), methods=METHODS)
    run = Run(problem, AutoOptions())
    run.facts = Facts.of(problem)
    return [s.id for s in plan.PLAN if s.blocked(run) is None], run


# ------------------------------------------------------------------ the plan as data
def test_the_order_and_every_step_says_why():
    assert [s.id for s in plan.PLAN] == ORDER
    assert len({s.id for s in plan.PLAN}) == len(plan.PLAN)
    for s in plan.PLAN:
        assert s.method in BY_NAME, s.id  # every step runs a method of the table
        assert len(s.why) > 40, s.id
        assert s.share is None or 0 < s.share <= 1
    assert [s.id for s in plan.PLAN if s.inline] == ["product", "interval"]
    assert [s.id for s in plan.PLAN if s.ends] == ["bab", "milp-true", "dp", "milp-formal"]
    # the shares are the measured constants
    assert plan.step("milp-true").share == plan.AUTO_MILP_TRUE_SHARE
    assert plan.step("bab").share == plan.AUTO_BAB_SHARE
    assert plan.step("milp-formal").share == plan.AUTO_MILP_SHARE
    assert plan.step("geolip").share == plan.AUTO_GEOLIP_SHARE
    assert plan.step("lipsdp").share == plan.AUTO_LIPSDP_SHARE
    # the l_2 steps on the weights run before the gradient POPs are built
    assert {"eclipse", "lipsdp"} <= WITHOUT_POPS


def test_geolip_is_l_inf_only_and_estimated_from_inputs_plus_neurons():
    ids, run = applicable(small_net(sizes=(3, 4, 4, 1)), math.inf)
    assert "geolip" in ids
    assert plan.step("geolip").blocked(applicable(small_net(), 2.0)[1]) == \
        "needs the l_inf input norm"
    kw = plan.step("geolip").options(run, plan.step("geolip"))
    est = plan.estimate(run, plan.step("geolip"), kw)
    assert est["lmi_size"] == 3 + 8 and est["functionals"] == 1 and est["seconds"] > 0
    assert kw["time_limit"] == pytest.approx(plan.AUTO_GEOLIP_SHARE * run.time_left(), rel=1e-2)


def test_global_l_inf_one_hidden_layer():
    ids, run = applicable(small_net(), math.inf)
    # lp-high and milp-rest depend on earlier steps' outputs
    assert ids == ["product", "interval", "geolip", "dp", "milp-formal", "lp-low", "shor-cuts",
                   "sdp-neuron", "sdp-network"]
    assert plan.step("milp-true").blocked(run) == "needs a box or a ball region"
    assert plan.step("lipsdp").blocked(run) == "needs the l_2 input norm"
    assert plan.step("lp-high").blocked(run).startswith("needs a bound from lp-low")
    assert plan.step("milp-rest").blocked(run).startswith("needs an earlier milp step stopped")


def test_box_with_relu_runs_the_true_milp_first_and_no_formal_milp():
    net = small_net()
    ids, run = applicable(net, math.inf, BoxRegion(np.zeros(3), 0.1))
    assert ids[:6] == ["product", "interval", "geolip", "bab", "milp-true", "dp"]
    assert "milp-formal" not in ids
    assert "milp-true bounds the true constant" in plan.step("milp-formal").blocked(run)


def test_tanh_on_a_box_bounds_the_formal_constant():
    ids, run = applicable(small_net(activation="tanh"), math.inf, BoxRegion(np.zeros(3), 0.1))
    assert "milp-true" not in ids and "milp-formal" in ids
    assert "bab" in ids  # valid for any activation (smooth ones: s free in its range)
    assert plan.step("milp-true").blocked(run).startswith("needs ReLU-type activations")


def test_l2_one_hidden_layer_runs_lipsdp_with_a_share_then_shor():
    ids, _ = applicable(small_net(), 2.0)
    assert ids == ["product", "interval", "eclipse", "lipsdp", "dp", "shor-cuts-l2",
                   "sdp-neuron", "sdp-network"]


def test_deeper_networks_use_plain_shor_and_no_neuron_blocks():
    ids, run = applicable(small_net(3, (3, 4, 3, 1)), math.inf)
    assert "shor" in ids and "shor-cuts" not in ids and "sdp-neuron" not in ids
    assert plan.step("sdp-neuron").blocked(run) == "needs one hidden layer"
    assert plan.step("shor-cuts").blocked(run).startswith("needs the expanded gradient POP of "
                                                          "degree 2")


def test_l1_has_no_gradient_pop_steps():
    ids, run = applicable(small_net(), 1.0)
    assert ids == ["product", "interval", "dp", "milp-formal"]
    assert run.facts.pops is None and "inf and 2" in run.facts.pops_error
    assert plan.step("sdp-network").blocked(run).startswith("needs the gradient POP")


def test_vector_l2_output_refuses_dp_and_milp():
    rng = np.random.default_rng(0)
    net = Network.from_weights([rng.standard_normal((3, 2)), rng.standard_normal((2, 3))],
                               output="vector:2")
    ids, run = applicable(net, 2.0)
    assert "dp" not in ids and "milp-formal" not in ids and "lipsdp" in ids
    assert "eclipse" in ids
    assert plan.step("dp").blocked(run).startswith("needs a fixed output functional")


def test_l2_weight_steps_on_vector_outputs_with_finite_functionals():
    """l_inf (and small l_1) vector outputs: one LipSDP / ECLipsE per extreme functional;
    an l_1 vector output with more than 16 outputs has too many (2^(m-1)): not applicable."""
    rng = np.random.default_rng(0)
    net = Network.from_weights([rng.standard_normal((3, 2)), rng.standard_normal((2, 3))],
                               output="vector:inf")
    ids, run = applicable(net, 2.0)
    assert "lipsdp" in ids and "eclipse" in ids
    wide = Network.from_weights([rng.standard_normal((3, 2)), rng.standard_normal((20, 3))],
                                output="vector:1")
    from types import SimpleNamespace

    run = SimpleNamespace(problem=SimpleNamespace(net=wide))
    assert not plan.FIXED_OR_L2.holds(run)
    assert plan.FIXED_OR_L2.needs.startswith("a scalar or margin output")


def test_dp_refuses_l2_by_reachability_before_any_pop():
    # every input reaches all 2 x 30 hidden neurons: the squared gradient norm's clique has 60
    rng = np.random.default_rng(1)
    net = Network.from_weights([rng.standard_normal((30, 4)), rng.standard_normal((30, 30)),
                                rng.standard_normal((1, 30))])
    problem = LipschitzProblem(net, 2.0, GlobalRegion(), methods=METHODS)
    run = Run(problem, AutoOptions())
    reason = plan.step("dp").too_large(run, {})
    assert reason is not None and "reaches 60 hidden neurons" in reason
    assert ("pop_estimate",) in problem.cache or reason  # counted, nothing built
    assert ("gradient_pops", "auto", None) not in problem.cache
    # a banded network of the same depth fits: input i reaches at most 2 + 3 neurons
    W = np.eye(3) + np.eye(3, k=1)
    banded = Network.from_weights([W, W, np.ones((1, 3))])
    run = Run(LipschitzProblem(banded, 2.0, GlobalRegion(), methods=METHODS), AutoOptions())
    assert plan._l2_clique(banded) == 5
    assert plan.step("dp").too_large(run, {}) is None


def test_size_tests_of_huge_networks_do_not_overflow():
    # one input reaching 1,500 hidden neurons: 2.0 ** 1499 overflowed (OverflowError out of
    # lipschitz(), 784-1000-1000-1000-10, l_2, auto); and 20,000 unstable neurons in milp's
    # first-bound estimate
    net = Network.from_weights([np.ones((750, 1)), np.ones((750, 750)), np.ones((1, 750))])
    run = Run(LipschitzProblem(net, 2.0, GlobalRegion(), methods=METHODS), AutoOptions())
    reason = plan.step("dp").too_large(run, {})
    assert reason is not None and "2^1499" in reason
    wide = Network.from_weights([np.ones((20000, 1)), np.ones((1, 20000))])
    problem = LipschitzProblem(wide, "inf", GlobalRegion(), methods=METHODS)
    assert plan.milp_first_bound(problem) == math.inf or plan.milp_first_bound(problem) > 1e300


# ------------------------------------------------------------------ what a run records
def plan_log(res):
    log = res.details["plan"]
    assert [p["step"] for p in log] == ORDER  # one record per step, in order
    for p in log:
        assert set(p) == {"step", "method", "status", "reason", "seconds", "estimate"}
        assert p["status"] in STATUSES and p["reason"]
    return {p["step"]: p for p in log}


def test_the_step_that_ends_the_search_and_why_the_others_did_not_run():
    res = lipschitz(small_net(), "inf", lower=False, options={"budget": 30})
    log = plan_log(res)
    assert res.details["best_step"] == "dp" and res.details["best_method"] == "dp"
    assert log["dp"]["status"] == "ok" and "the bound returned" in log["dp"]["reason"]
    assert "ends the search" in log["dp"]["reason"]
    assert log["milp-true"] == {"step": "milp-true", "method": "milp",
                                "status": "not applicable",
                                "reason": "needs a box or a ball region", "seconds": 0.0,
                                "estimate": None}
    for sid in ORDER[ORDER.index("dp") + 1:]:
        assert log[sid]["status"] == "not run"
        assert log[sid]["reason"] == "the search ended at dp (exact_formal)"


def test_unregistered_too_large_and_budget_spent_are_reasons(monkeypatch):
    monkeypatch.delitem(METHODS, "dp")
    monkeypatch.delitem(METHODS, "milp")
    monkeypatch.setattr(plan, "AUTO_MAX_LP_PRODUCTS", 0)  # every LP is "too large"
    monkeypatch.setattr(plan, "AUTO_MAX_BLOCK", 1)  # and every SDP beyond Shor
    res = lipschitz(small_net(), "inf", lower=False, options={"budget": 30, "isolate": False})
    log = plan_log(res)
    assert log["dp"]["status"] == "not applicable" and "'dp' is not registered" in log["dp"]["reason"]
    assert log["lp-low"]["status"] == "too large" and "box products" in log["lp-low"]["reason"]
    lp = [t for t in res.details["tried"] if t["method"] == "lp"]
    assert lp and lp[0]["skipped"].startswith("too large")
    assert log["shor-cuts"]["status"] == "ok" and log["shor-cuts"]["seconds"] > 0
    assert log["lp-high"]["status"] == "not applicable"  # lp-low gave no bound
    # measured in the worker, on the built relaxation / counted from the cliques before
    assert log["sdp-neuron"]["status"] == "too large" and "free variables" in log["sdp-neuron"]["reason"]
    assert log["sdp-network"]["status"] == "too large"
    assert "a clique's moment matrix" in log["sdp-network"]["reason"]
    best = res.details["best_step"]
    assert best in log and "the bound returned" in log[best]["reason"]


def test_a_spent_budget_skips_the_rest(monkeypatch):
    monkeypatch.delitem(METHODS, "dp")
    monkeypatch.delitem(METHODS, "milp")
    real = METHODS["lp"]

    def slow_lp(problem, **kw):  # in process: the budget is checked between steps
        time.sleep(1.5)
        return real(problem, **kw)
    monkeypatch.setitem(METHODS, "lp", slow_lp)
    res = lipschitz(small_net(), "inf", lower=False, options={"budget": 1.0, "isolate": False})
    log = plan_log(res)
    assert log["lp-low"]["status"] == "ok"
    assert log["shor-cuts"]["status"] == "skipped" and log["shor-cuts"]["reason"] == "budget spent"
    assert all(log[s]["reason"] == "budget spent" for s in ("sdp-neuron", "sdp-network"))


def test_milp_runs_again_with_the_time_left_when_it_stopped_at_its_share(monkeypatch):
    from polylip.nn.problem import MethodOutput

    limits = []

    def stopped_milp(problem, time_limit=60.0, **kw):  # stops at once "at its time limit"
        limits.append(time_limit)
        return MethodOutput(upper=None, status="time_limit")

    monkeypatch.delitem(METHODS, "dp")
    monkeypatch.setitem(METHODS, "milp", stopped_milp)
    res = lipschitz(small_net(), "inf", lower=False, options={"budget": 20, "isolate": False})
    log = plan_log(res)
    assert log["milp-formal"]["status"] == "no bound"
    assert log["milp-rest"]["status"] == "no bound"  # it ran
    assert len(limits) == 2 and limits[1] > 1.5 * limits[0]
    assert limits[0] <= plan.AUTO_MILP_SHARE * 20 + 1e-9
    assert [t["method"] for t in res.details["tried"]].count("milp") == 2

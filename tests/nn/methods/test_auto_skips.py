"""Method "auto" skips work that cannot improve its bound (issue 14, batches of local
certificates): a "milp" step whose limit is below the least time to a first bound is not
started, the gradient POPs are built only at the first step that reads them, and lifted POPs
not at all when lifted Shor could not run. Each skip keeps every bound valid (checked against
brute force) and says why in the plan."""

import numpy as np
from polylip.nn import BoxRegion, Network, lipschitz
from polylip.nn.estimate import METHODS
from polylip.nn.methods import plan
from support.nn import brute_force, random_net


def net_and_box(seed=4, sizes=(3, 5, 4, 1)):
    Ws, bs = random_net(seed, list(sizes))
    return Network.from_weights(Ws, bs), Ws, bs


def record(res, step_id):
    return next(p for p in res.details["plan"] if p["step"] == step_id)


def test_milp_below_its_first_bound_time_is_not_started(monkeypatch):
    net, Ws, bs = net_and_box()
    box = BoxRegion(np.zeros(3), 0.5)
    monkeypatch.setattr(plan, "MILP_FIRST_BOUND_SECONDS", 1e6)  # no limit can reach it
    monkeypatch.delitem(METHODS, "bab")  # it would close first
    res = lipschitz(net, "inf", region=box, budget=10, options={"isolate": False})
    milp = record(res, "milp-true")
    assert milp["status"] == "too large" and "first bound" in milp["reason"]
    assert all(t["method"] != "milp" or "skipped" in t for t in res.details["tried"])
    _, true = brute_force(Ws, bs, np.inf, box=(np.full(3, -0.5), np.full(3, 0.5)))
    assert res.upper >= true - 1e-9 and res.lower <= true + 1e-9


def test_milp_within_its_time_runs_and_the_pops_are_not_built_when_it_closes(monkeypatch):
    monkeypatch.delitem(METHODS, "bab")  # it would close first
    net, Ws, bs = net_and_box()
    box = BoxRegion(np.zeros(3), 0.5)
    res = lipschitz(net, "inf", region=box, budget=30, options={"isolate": False})
    assert record(res, "milp-true")["status"] == "ok"
    if res.details.get("true_within") is not None:  # closed: the search ended there
        assert res.details["pops"]["status"] == "not built"
        assert record(res, "dp")["status"] == "not run"
    _, true = brute_force(Ws, bs, np.inf, box=(np.full(3, -0.5), np.full(3, 0.5)))
    assert res.upper >= true - 1e-9 and res.lower <= true + 1e-9


def test_bab_closes_a_box_first_and_the_pops_are_not_built():
    net, Ws, bs = net_and_box()
    box = BoxRegion(np.zeros(3), 0.5)
    res = lipschitz(net, "inf", region=box, budget=30, options={"isolate": False})
    assert record(res, "bab")["status"] == "ok" and res.details["best_step"] == "bab"
    assert res.details["true_within"] is not None and res.constant == "true"
    assert record(res, "milp-true")["status"] == "not run"
    assert res.details["pops"]["status"] == "not built"
    _, true = brute_force(Ws, bs, np.inf, box=(np.full(3, -0.5), np.full(3, 0.5)))
    assert true - 1e-9 <= res.upper <= true * (1 + 2e-4) + 1e-9
    assert res.lower <= true + 1e-9


def test_lifted_pops_are_not_built_when_lifted_shor_cannot_fit(monkeypatch):
    net, Ws, bs = net_and_box()
    monkeypatch.setattr(plan, "MAX_TERMS", 0)  # every POP of two hidden layers is lifted
    monkeypatch.setattr(plan, "SHOR_SECONDS_161", 1e9)  # and Shor on it out of reach
    for name in ("dp", "milp"):  # they would close first
        monkeypatch.delitem(METHODS, name)
    res = lipschitz(net, "inf", budget=5, options={"isolate": False})
    assert res.details["pops"]["status"] == "too large"
    shor = record(res, "shor")
    assert shor["status"] == "not applicable" and "lifted" in shor["reason"]
    formal, _ = brute_force(Ws, bs, np.inf)
    assert res.upper >= formal - 1e-9


def test_milp_first_bound_grows_with_the_unstable_neurons():
    from polylip.nn.problem import LipschitzProblem

    net, _, _ = net_and_box()
    small = plan.milp_first_bound(LipschitzProblem(net, np.inf, BoxRegion(np.zeros(3), 1e-3)))
    large = plan.milp_first_bound(LipschitzProblem(net, np.inf, BoxRegion(np.zeros(3), 10.0)))
    assert plan.MILP_FIRST_BOUND_SECONDS <= small <= large

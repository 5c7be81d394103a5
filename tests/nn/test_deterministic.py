"""Deterministic mode (issue 14 item 6 of the brief's numbering: reproducible figures):
``lipschitz(..., deterministic=True)`` and ``polylip lipschitz --deterministic`` replace
wall-clock limits by work limits, so the same call gives the same numbers on every run.

No test asserts a wall-clock time.
"""

import json
from dataclasses import dataclass

import numpy as np
import pytest

from polylip.cli import main
from polylip.errors import ModelError
from polylip.nn import BoxRegion, Network, lipschitz
from polylip.nn.estimate import METHODS, MethodOutput
from polylip.nn.lower import LowerOptions
from polylip.nn.methods import MILPOptions, plan
from polylip.nn.methods.base import Method, MethodOptions, number
from polylip.runtime import fork_available

needs_fork = pytest.mark.skipif(not fork_available(), reason="steps run in a forked worker")


def net_of(sizes=(4, 6, 5, 1), seed=2):
    rng = np.random.default_rng(seed)
    Ws = [rng.standard_normal((sizes[k + 1], sizes[k])) for k in range(len(sizes) - 1)]
    bs = [rng.standard_normal(sizes[k + 1]) for k in range(len(sizes) - 1)]
    return Network.from_weights(Ws, bs)


def figures(res):
    """What must not change between two runs: the numbers, the witness, and what each step
    of the plan did with which options (not the seconds it took)."""
    tried = [{k: v for k, v in t.items() if k != "seconds"} for t in res.details.get("tried", [])]
    plan_ = [(p["step"], p["status"], p["reason"]) for p in res.details.get("plan", [])]
    return (res.upper, res.lower, res.status, None if res.witness is None
            else res.witness.tolist(), tried, plan_)


NodeMILPOptions = MILPOptions  # the milp method takes a work limit, node_limit


@dataclass(frozen=True)
class ClockMILPOptions(MethodOptions):
    """The options of a milp method without a work limit (stopped only by the clock)."""

    method = "milp"
    time_limit: float | None = number(60.0, low=0, low_open=True, optional=True)
    gap: float = number(1e-4, low=0, high=1, high_open=True)


def fake_milp(problem, options):
    """A stand-in for "milp" that records what it was given (and bounds nothing better)."""
    return MethodOutput(upper=None, status="time_limit",
                        details={"time_limit": options.time_limit,
                                 "node_limit": getattr(options, "node_limit", None),
                                 "gap": options.gap,
                                 "constant": "formal", "message": "fake"})


# ------------------------------------------------------------------ the same figures
@needs_fork
def test_auto_gives_the_same_figures_twice():
    net = net_of()
    a = lipschitz(net, budget=10, deterministic=True, options={"rel_gap": 0.0})
    b = lipschitz(net, budget=10, deterministic=True, options={"rel_gap": 0.0})
    assert figures(a) == figures(b)
    assert a.deterministic and a.details["deterministic"] is True
    assert 0 < a.details["work_charged"] <= 10.0
    assert a.status in ("ok", "optimal") and a.upper is not None


@needs_fork
def test_auto_without_its_exact_steps_runs_the_relaxations_the_same_way(monkeypatch):
    """Without "dp" and "milp" (which end the search on small networks) the SDP and LP steps
    run, with their time shares taken from the virtual clock: Shor's cut rounds get no time
    cap, and both runs record the same options."""
    monkeypatch.delitem(METHODS, "dp")
    monkeypatch.delitem(METHODS, "milp")
    net = net_of((3, 5, 1), seed=4)
    a = lipschitz(net, budget=20, deterministic=True, lower=False, options={"rel_gap": 0.0})
    b = lipschitz(net, budget=20, deterministic=True, lower=False, options={"rel_gap": 0.0})
    assert figures(a) == figures(b)
    cuts = [t for t in a.details["tried"] if t.get("rlt") == "cuts"]
    assert cuts and all(t["cut_seconds"] is None for t in cuts)


def test_the_lower_bound_search_is_the_same_twice():
    net = net_of((8, 30, 30, 1), seed=1)
    a = lipschitz(net, method="product", deterministic=True)
    b = lipschitz(net, method="product", deterministic=True)
    assert (a.lower, a.witness.tolist()) == (b.lower, b.witness.tolist())
    assert a.deterministic and not lipschitz(net, method="product").deterministic


# ------------------------------------------------------------------ work limits, not clocks
def test_wall_clock_options_are_refused_in_deterministic_mode():
    net = net_of((3, 4, 1))
    with pytest.raises(ModelError, match="time_limit"):
        lipschitz(net, method="milp", options={"time_limit": 5}, deterministic=True)
    with pytest.raises(ModelError, match="seconds"):
        lipschitz(net, method="shor", options={"rlt": "cuts", "seconds": 2},
                  deterministic=True)
    with pytest.raises(ModelError, match="time_limit"):
        lipschitz(net, method="product", lower=LowerOptions(time_limit=1.0),
                  deterministic=True)
    with pytest.raises(ModelError, match="deterministic"):
        lipschitz(net, method="product", deterministic="yes")


def test_a_method_loses_its_time_limit_and_milp_gets_nodes(monkeypatch):
    net = net_of((3, 4, 1))
    monkeypatch.setitem(METHODS, "milp", Method("milp", fake_milp, NodeMILPOptions, "fake"))
    res = lipschitz(net, method="milp", deterministic=True, lower=False)
    assert res.details["time_limit"] is None
    assert res.details["node_limit"] == int(plan.MILP_NODES_PER_SECOND * 60.0)  # its default
    res = lipschitz(net, method="milp", deterministic=True, lower=False, budget=4.0)
    assert res.details["node_limit"] == int(plan.MILP_NODES_PER_SECOND * 4.0)
    res = lipschitz(net, method="milp", deterministic=True, lower=False,
                    options={"node_limit": 7})
    assert res.details["node_limit"] == 7


@needs_fork
def test_auto_gives_milp_a_node_limit_from_its_share_of_the_work(monkeypatch):
    net = net_of((3, 4, 1))
    monkeypatch.setitem(METHODS, "milp", Method("milp", fake_milp, NodeMILPOptions, "fake"))
    monkeypatch.delitem(METHODS, "dp")
    monkeypatch.delitem(METHODS, "bab")  # it would close the box first
    monkeypatch.delitem(METHODS, "geolip")  # its estimate is charged before milp-true
    box = BoxRegion(np.zeros(3), 0.5)
    runs = [lipschitz(net, region=box, budget=30, deterministic=True, lower=False)
            for _ in range(2)]
    assert figures(runs[0]) == figures(runs[1])
    milp = [t for t in runs[0].details["tried"] if t["method"] == "milp"]
    # its share of the work left (the gradient POPs, charged when built, are built after it)
    # less its root node, which the node limit does not count (one functional)
    root = next(p for p in runs[0].details["plan"]
                if p["step"] == "milp-true")["estimate"]["root_seconds"]
    assert abs(milp[0]["node_limit"] - plan.MILP_NODES_PER_SECOND
               * (plan.AUTO_MILP_TRUE_SHARE * 30.0 - root)) <= 1
    # charged its whole share (20 of 30 s), the virtual clock leaves too little for a rerun
    rest = next(p for p in runs[0].details["plan"] if p["step"] == "milp-rest")
    assert rest["status"] == "not applicable" and "share" in rest["reason"]
    assert runs[0].details["work_charged"] >= 20.0


@needs_fork
def test_without_a_work_limit_milp_is_left_out(monkeypatch):
    net = net_of((3, 4, 1))
    monkeypatch.setitem(METHODS, "milp", Method("milp", fake_milp, ClockMILPOptions,
                                                "no nodes"))
    monkeypatch.delitem(METHODS, "dp")
    res = lipschitz(net, budget=10, deterministic=True, lower=False)
    steps = {p["step"]: p for p in res.details["plan"]}
    assert steps["milp-formal"]["status"] == "not applicable"
    assert "node_limit" in steps["milp-formal"]["reason"]
    assert all(t["method"] != "milp" for t in res.details["tried"])
    # not deterministic: it runs, by the clock
    res = lipschitz(net, budget=10, lower=False)
    assert any(t["method"] == "milp" for t in res.details["tried"])


def test_a_step_estimated_beyond_the_work_left_is_skipped(monkeypatch):
    monkeypatch.setitem(plan.COSTS, "dp", lambda run, options: {"seconds": 11.0})
    res = lipschitz(net_of((3, 4, 1)), budget=10, deterministic=True, lower=False,
                    options={"isolate": False})
    dp = next(p for p in res.details["plan"] if p["step"] == "dp")
    assert dp["status"] == "too large" and "work" in dp["reason"]
    assert dp["estimate"] == {"seconds": pytest.approx(11.0 + plan.STEP_SECONDS)}


def _only(monkeypatch, step_id):
    """The plan reduced to the closed forms and one step."""
    monkeypatch.setattr(plan, "PLAN", tuple(s for s in plan.PLAN
                                            if s.id in ("product", "interval", step_id)))


def test_work_estimates_follow_what_the_steps_compute():
    """QA round 5: "bab" and "lipsdp" estimated at ~1 s ran past 3x the budget on deep narrow
    networks (20-12x30-1: bab 0.16 s a node against a fixed 30 nodes/s; lipsdp's dense N x N
    iterations against the layer pairs' cubes). A node costs its loops and flops, so a deep
    narrow network costs more per node than a shallow one with more weights, and the node
    limit times the node's cost is the share."""
    from polylip.nn.methods.auto import AutoOptions, Facts, Run
    from polylip.nn.problem import LipschitzProblem
    deep, shallow = net_of((3,) + (6,) * 12 + (1,)), net_of((3, 60, 1))
    c = np.zeros(3)
    runs = []
    for net in (deep, shallow):
        run = Run(LipschitzProblem(net, np.inf, BoxRegion(c, 0.1), methods=METHODS),
                  AutoOptions(budget=4, deterministic=True))
        run.facts = Facts.of(run.problem, (None, "not needed"))
        runs.append(run)
    assert plan.bab_node_seconds(runs[0].problem) > 2 * plan.bab_node_seconds(runs[1].problem)
    kw = plan._bab_options(runs[0], plan.step("bab"))
    cost = plan.estimate(runs[0], plan.step("bab"), kw)
    assert cost["seconds"] - plan.STEP_SECONDS <= plan.step("bab").share * 4 + 1e-12
    model = plan.lipsdp_model(LipschitzProblem(deep, 2.0, BoxRegion(c, 0.1)))
    assert model["form"] == "structured" and model["depth"] <= 12


def test_deterministic_bab_called_alone_gets_nodes_at_their_cost():
    """Called alone with deterministic=True, "bab" got 25 nodes a second of budget (milp's
    rate): 0.16 s a node on 20-12x30-1 made budget 3 take 13 s. Its node limit is the budget
    over the cost of one of its nodes on the network now."""
    from polylip.nn.problem import LipschitzProblem
    from polylip.nn.regions import GlobalRegion
    net = net_of((3,) + (6,) * 12 + (1,))
    res = lipschitz(net, method="bab", region=BoxRegion(np.zeros(3), 0.5), lower=False,
                    budget=0.5, deterministic=True)
    per = plan.bab_node_seconds(LipschitzProblem(net, np.inf, GlobalRegion()))
    assert per > 1.0 / plan.MILP_NODES_PER_SECOND / 2
    assert res.details["nodes"] <= max(1, int(0.5 / per)) + 1


def test_deterministic_lipsdp_called_alone_gets_the_iterations_its_budget_buys():
    """Called alone with deterministic=True, "lipsdp" lost its time limit and ran up to 100
    iterations (2-1000-1, 0.55 s each: to the safety net of budget 3, no bound). It gets the
    iterations the budget buys at the counted cost now."""
    from polylip.nn.problem import LipschitzProblem
    from polylip.nn.regions import GlobalRegion
    net = net_of((3,) + (8,) * 8 + (1,), seed=3)
    res = lipschitz(net, 2, method="lipsdp", lower=False, budget=0.3, deterministic=True)
    model = plan.lipsdp_model(LipschitzProblem(net, 2.0, GlobalRegion()))
    cap = max(1, int((0.3 - plan.LIPSDP_BASE_SECONDS) // model["iteration_seconds"]))
    assert model["form"] == "structured" and cap < plan.LIPSDP_MAX_ITERS
    assert res.upper is not None and res.details["iterations"] <= cap


def test_deterministic_milp_counts_the_root_nodes_of_every_functional():
    """QA round 5: "milp-true" on 64-30-30-10 vector:inf over a box, estimated at 1.6 s of
    work (its node limit alone), ran 14.7 s (ten functionals, a HiGHS root each) and was
    stopped by the safety net. The roots are counted now: subtracted from the share before the
    node limit, added to the estimate, and a share that does not cover them is refused."""
    from polylip.nn.methods.auto import AutoOptions, Facts, Run
    from polylip.nn.problem import LipschitzProblem
    rng = np.random.default_rng(0)
    net = Network.from_weights([rng.standard_normal((6, 3)), rng.standard_normal((4, 6))],
                               [rng.standard_normal(6), None], output="vector:inf")
    run = Run(LipschitzProblem(net, np.inf, BoxRegion(np.zeros(3), 1.0), methods=METHODS),
              AutoOptions(budget=2, deterministic=True))
    run.facts = Facts.of(run.problem, (None, "not needed"))
    roots = plan.milp_root_seconds(run)
    assert roots == pytest.approx(4 * plan.milp_first_bound(run.problem))  # 4 functionals
    step = plan.step("milp-true")
    kw = step.options(run, step)
    cost = plan.estimate(run, step, kw)
    assert cost["seconds"] == pytest.approx(
        kw["node_limit"] / plan.MILP_NODES_PER_SECOND + roots + plan.STEP_SECONDS)
    run.charged = 2.0 - 1.5 * roots  # a share (2/3 of the work left) below the roots
    kw = step.options(run, step)
    assert kw["node_limit"] == 1 and "root nodes" in plan.milp_too_short(run, kw)


@needs_fork
def test_deterministic_lipsdp_gets_an_iteration_limit_and_a_step_beyond_the_work_is_skipped(
        monkeypatch):
    _only(monkeypatch, "lipsdp")
    net = net_of((3,) + (8,) * 8 + (1,), seed=3)
    res = lipschitz(net, 2, budget=2, deterministic=True, lower=False,
                    options={"rel_gap": 0.0})
    step = next(p for p in res.details["plan"] if p["step"] == "lipsdp")
    tried = next(t for t in res.details["tried"] if t["method"] == "lipsdp")
    assert step["status"] == "ok" and 1 <= tried["max_iters"] <= plan.LIPSDP_MAX_ITERS
    assert res.details["best_details"]["iterations"] <= tried["max_iters"]
    assert step["estimate"]["seconds"] <= 2.0
    # the same with a budget below the cost of the iteration limit's one iteration: skipped
    monkeypatch.setattr(plan, "LIPSDP_ITER_SECONDS", 5.0)
    res = lipschitz(net, 2, budget=2, deterministic=True, lower=False,
                    options={"rel_gap": 0.0})
    step = next(p for p in res.details["plan"] if p["step"] == "lipsdp")
    assert step["status"] == "too large" and "of work, more than the" in step["reason"]
    assert all(t["method"] != "lipsdp" or "skipped" in t for t in res.details["tried"])


# ------------------------------------------------------------------ the command line
@needs_fork
def test_cli_deterministic_twice(tmp_path, capsys):
    path = tmp_path / "net.npz"
    net_of().save(path)
    outs = []
    for _ in range(2):
        assert main(["lipschitz", str(path), "--json", "--budget", "10", "--deterministic"]) == 0
        outs.append(json.loads(capsys.readouterr().out))
    a, b = outs
    assert a["deterministic"] is True and a["budget"] == 10.0
    assert (a["upper"], a["lower"], a["witness"]) == (b["upper"], b["lower"], b["witness"])
    assert [p["status"] for p in a["plan"]] == [p["status"] for p in b["plan"]]


def test_deterministic_lower_search_work_follows_the_budget(monkeypatch):
    # the search gets the work its share of the budget buys at WORK_RATE (as the timed
    # search gets the share in seconds), at least LOWER_WORK; an explicit work is kept
    import polylip.nn.estimate as est
    from polylip.nn.lower import LOWER_WORK, WORK_RATE

    seen = []
    real = est.lower_bound

    def spy(net, p, region, opts):
        seen.append(opts)
        return real(net, p, region, opts)

    monkeypatch.setattr(est, "lower_bound", spy)
    net = net_of()
    for budget in (0.01, 20.0, 1000.0):
        lipschitz(net, "inf", method="product", budget=budget, deterministic=True)
    share = [min(est.LOWER_SHARE * b, est.LOWER_MAX_SECONDS) for b in (0.01, 20.0, 1000.0)]
    assert [o.work for o in seen] == [max(LOWER_WORK, WORK_RATE * s) for s in share]
    assert seen[0].work == LOWER_WORK and seen[2].work > seen[1].work > LOWER_WORK
    assert all(o.time_limit is None for o in seen)
    seen.clear()
    lipschitz(net, "inf", method="product", budget=20.0, deterministic=True,
              lower=LowerOptions(work=1e6))
    assert seen[0].work == 1e6

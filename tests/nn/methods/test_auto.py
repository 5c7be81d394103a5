"""Method "auto": the default of lipschitz() and the CLI, and a budget that holds.

No test asserts a wall-clock time; the tests check that a step still running at the deadline
is stopped, and that nothing it computed (or would have computed) becomes a bound.
"""

import dataclasses
import json
import os
import time
from pathlib import Path

import numpy as np
import pytest

from polylip.cli import main
from polylip.errors import ModelError, SolverError
from polylip.nn import Network, lipschitz
from polylip.nn.estimate import METHODS, MethodOutput
from polylip.nn.methods import bound, plan, relax
from polylip.runtime import call_with_deadline, fork_available

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
needs_fork = pytest.mark.skipif(not fork_available(), reason="steps run in a forked worker")


def small_net(seed=8, sizes=(3, 4, 1)):
    rng = np.random.default_rng(seed)
    Ws = [rng.standard_normal((sizes[k + 1], sizes[k])) for k in range(len(sizes) - 1)]
    return Network.from_weights(Ws)


def product(net, norm="inf"):
    return lipschitz(net, norm, method="product", lower=False).upper


def baseline(net, norm="inf"):
    """The better of the two bounds that answer at once ("product", "interval")."""
    return min(product(net, norm), lipschitz(net, norm, method="interval", lower=False).upper)


def without_dp(monkeypatch):
    """Auto ends at a certified "dp" or a closed "milp" (both give the formal constant of
    these small networks): tests of the later steps take them out of the registry."""
    from polylip.nn.estimate import METHODS

    monkeypatch.delitem(METHODS, "dp")
    monkeypatch.delitem(METHODS, "milp")


def uncertified_uppers(res):
    """Every number a step recorded as an upper bound, except the product's."""
    return [t["upper"] for t in res.details["tried"]
            if t.get("upper") is not None and t["method"] not in ("product", "interval")]


# ------------------------------------------------------------------ the worker with a deadline
@needs_fork
def test_call_with_deadline_stops_returns_and_reports():
    assert call_with_deadline(lambda: 6 * 7, 30.0).value == 42
    out = call_with_deadline(lambda: time.sleep(30) or 1.0, 0.3)
    assert out.status == "time_limit" and out.value is None and out.isolated

    def bad():
        raise SolverError("broken solver")
    out = call_with_deadline(bad, 30.0)
    assert out.status == "error" and isinstance(out.error, SolverError)
    assert "broken solver" in str(out.error)
    out = call_with_deadline(lambda: os._exit(3), 30.0)  # a solver aborting the process
    assert out.status == "died" and "exit code 3" in out.message
    assert call_with_deadline(lambda: 1, 0.0).status == "time_limit"  # nothing left: not started
    out = call_with_deadline(lambda: np.ones(10 ** 9).sum(), 30.0, memory=1 << 30)  # 8 GB
    assert out.status == "error" and isinstance(out.error, MemoryError)


def test_call_with_deadline_in_process():
    out = call_with_deadline(lambda: 5, 30.0, isolate=False)
    assert out.status == "done" and out.value == 5 and not out.isolated


# ------------------------------------------------------------------ the default
def test_auto_is_the_default_and_at_most_product():
    net = small_net()
    res = lipschitz(net, "inf", lower=False, options={"budget": 30})
    assert res.method == "auto"
    assert res.upper <= product(net) + 1e-12
    assert res.details["best_method"] != "product"
    ups = [t["upper"] for t in res.details["tried"] if t.get("upper") is not None]
    assert res.upper == pytest.approx(min(ups))
    assert res.details["best_details"]  # the winning method's own details (relaxations, ...)
    assert all(t.get("status") in (None, "ok") for t in res.details["tried"])


def test_cli_default_method_is_auto(tmp_path, capsys):
    path = tmp_path / "net.npz"
    small_net().save(path)
    assert main(["lipschitz", str(path), "--json", "--no-lower", "--budget", "30"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["method"] == "auto" and out["details"]["budget"] == 30.0
    # --budget is the call's budget for every method (lipschitz(budget=)), not auto's only
    assert main(["lipschitz", str(path), "--method", "product", "--budget", "5", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["budget"] == 5.0


def test_bad_budget_is_a_model_error():
    for budget in (0, -1, "soon"):
        with pytest.raises(ModelError, match="budget"):
            lipschitz(small_net(), lower=False, options={"budget": budget})


# ------------------------------------------------------------------ the budget holds
def _slow_shor(value, seconds):
    def fake(problem, **kw):
        time.sleep(seconds)
        return MethodOutput(upper=value, status="ok")  # never certified: must not leak
    return fake


@needs_fork
def test_a_step_running_at_the_deadline_is_stopped_and_gives_no_bound(monkeypatch):
    # a "shor" step that would return a (bogus, tiny) number after 60 s; budget 4 s (1 s was
    # spent before the shor step by the earlier steps at load 15+, which then skipped it)
    monkeypatch.setitem(METHODS, "shor", _slow_shor(1e-6, 60.0))
    without_dp(monkeypatch)
    net = small_net()
    res = lipschitz(net, "inf", lower=False, options={"budget": 4.0})
    shor = [t for t in res.details["tried"] if t["method"] == "shor"]
    assert shor and shor[0]["status"] == "time_limit" and shor[0]["upper"] is None
    assert res.upper > 1e-3 and res.upper <= product(net) + 1e-12
    assert 1e-6 not in [t.get("upper") for t in res.details["tried"]]
    # what followed was skipped (budget spent) or still gave certified bounds of its own
    after = res.details["tried"][res.details["tried"].index(shor[0]) + 1:]
    assert all(t.get("skipped") == "budget spent" for t in after)


@needs_fork
def test_small_budget_on_a_network_whose_next_step_exceeds_it():
    # digits MLP, ten classes: one Shor SDP per class (seconds each); 0.5 s leaves only the
    # bounds that answer at once, and geolip (one small SDP per class, about 0.05 s each on
    # this 64-16-16-10 net) when the machine is quiet enough for it to finish in its share
    net = Network.load(EXAMPLES / "digits_mlp.npz")
    res = lipschitz(net, "inf", lower=False, options={"budget": 0.5})
    assert res.details["best_method"] in ("product", "interval", "geolip")
    if res.details["best_method"] == "geolip":
        assert res.upper <= baseline(net)
    else:
        assert res.upper == pytest.approx(baseline(net), rel=1e-12)
    # no step but the closed forms and geolip (certified from its multipliers even when
    # stopped at its time limit) recorded an upper bound
    assert [t["method"] for t in res.details["tried"] if t.get("upper") is not None
            and t["method"] not in ("product", "interval", "geolip")] == []
    # the other steps were stopped, or refused at once: the budget spent, or their estimate
    # (or the POPs' they read) above the time left
    stopped = [p for p in res.details["plan"][2:] if p["status"] in ("time_limit", "too large")
               or p["reason"] == "budget spent" or p["reason"].startswith("needs the gradient POPs")]
    assert stopped, res.details["plan"]


@needs_fork
def test_failing_and_dying_steps_cost_only_their_time(monkeypatch):
    without_dp(monkeypatch)
    net = small_net()

    def failing(problem, **kw):
        raise SolverError("no solver today")
    monkeypatch.setitem(METHODS, "shor", failing)
    res = lipschitz(net, "inf", lower=False, options={"budget": 30})
    shor = next(t for t in res.details["tried"] if t["method"] == "shor")
    assert "no solver today" in shor["error"] and res.details["best_method"] != "shor"

    monkeypatch.setitem(METHODS, "shor", lambda problem, **kw: os._exit(1))
    res = lipschitz(net, "inf", lower=False, options={"budget": 30})
    shor = next(t for t in res.details["tried"] if t["method"] == "shor")
    assert "without an answer" in shor["error"] and res.upper <= product(net)

    def buggy(problem, **kw):
        raise KeyError("a bug")
    monkeypatch.setitem(METHODS, "shor", buggy)
    with pytest.raises(KeyError):  # a bug is not hidden behind the product bound
        lipschitz(net, "inf", lower=False, options={"budget": 30})


def test_in_process_steps_give_the_same_bound():
    net = small_net()
    a = lipschitz(net, 2, lower=False, options={"budget": 30})
    b = lipschitz(net, 2, lower=False, options={"budget": 30, "isolate": False})
    assert not b.details["isolated"]
    assert b.upper == pytest.approx(a.upper, rel=1e-6)


def test_lp_time_limit_gives_no_bound():
    net = Network.load(EXAMPLES / "digits_cnn.npz").with_output("margin:3,8")
    res = lipschitz(net, "inf", method="lp", lower=False,
                    options={"degree": 3, "solver": "highs", "time_limit": 1e-6})
    assert res.upper is None and res.status == "time_limit"


def test_stops_once_the_bound_meets_the_lower_bound():
    # one hidden neuron: every method is exact and the search finds the constant
    net = Network.from_weights([np.array([[1.0, -2.0]]), np.array([[3.0]])])
    res = lipschitz(net, "inf", options={"budget": 30})
    assert res.status == "optimal" and res.upper == pytest.approx(9.0)
    assert res.details["best_method"] == "product"  # 3 * 3, already the constant
    assert all(t.get("skipped") == "the bound meets the lower bound"
               for t in res.details["tried"][2:])  # after product and interval (at once)


@pytest.mark.parametrize("norm", ["inf", 2])
def test_clique_block_counts_the_built_relaxation(norm):
    from polylip.nn.estimate import LipschitzProblem
    from polylip.nn.regions import as_region

    net = small_net(3, (4, 5, 3, 1))
    problem = LipschitzProblem(net, float("inf") if norm == "inf" else 2.0, as_region(None))
    pops = bound.gradient_pops(problem, "expanded")
    order = max(2, pops[0].pop.min_order())
    block, _ = relax.predict(pops, order, "network")
    assert relax.clique_block(pops[0], order) == block


@needs_fork
def test_auto_ends_at_an_exact_dp_and_goes_on_when_dp_is_too_large(monkeypatch):
    """"dp" is tried first; its exact formal value ends the search (no relaxation of the POP
    can be smaller). When its width exceeds its budget ("too_large", no number), auto goes on."""
    from polylip.nn.estimate import METHODS

    net = small_net(seed=3, sizes=(4, 5, 1))
    formal = lipschitz(net, "inf", method="exact", lower=False).details["formal"]
    res = lipschitz(net, "inf", lower=False)
    assert res.details["best_method"] == "dp" and res.details["exact_formal"]
    assert [t["method"] for t in res.details["tried"]] == ["product", "interval", "geolip", "dp"]
    assert formal <= res.upper <= formal + 1e-9
    real = METHODS["dp"]
    monkeypatch.setitem(METHODS, "dp", lambda problem, **kw: real(problem, budget=2, **kw))
    res = lipschitz(net, "inf", lower=False)
    dp = [t for t in res.details["tried"] if t["method"] == "dp"]
    assert dp[0]["status"] == "too_large" and dp[0]["upper"] is None
    assert not res.details["exact_formal"] and len(res.details["tried"]) > 2
    assert res.upper >= formal - 1e-7


@needs_fork
def test_a_solver_time_limit_ends_before_the_deadline(monkeypatch):
    """A step with a solver time limit (here a stand-in for "milp" that overshoots its limit by
    0.5 s, as a branch and bound may) is given the time left minus a reserve, so it returns its
    bound at the limit instead of being stopped with nothing at the deadline."""
    from polylip.nn.estimate import METHODS

    net = small_net()
    prod = product(net)

    def overshooting_milp(problem, time_limit=60.0, **kw):
        time.sleep(time_limit + 0.5)
        return MethodOutput(upper=0.5 * prod, status="time_limit")

    monkeypatch.delitem(METHODS, "dp")
    monkeypatch.setitem(METHODS, "milp", overshooting_milp)
    monkeypatch.setattr(plan, "PLAN", tuple(  # milp-formal gets all the time left
        dataclasses.replace(s, share=1.0) if s.id == "milp-formal" else s for s in plan.PLAN))
    res = lipschitz(net, "inf", lower=False, options={"budget": 4.0})
    milp = next(t for t in res.details["tried"] if t["method"] == "milp")
    assert milp["status"] == "time_limit" and milp["upper"] == 0.5 * prod
    assert res.upper == 0.5 * prod and res.details["best_method"] == "milp"


def _alive(pid: int) -> bool:
    """Running (not gone, not a zombie waiting for a reaper)."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            state = next(line for line in fh if line.startswith("State:"))
        return "Z" not in state.split()[1]
    except (FileNotFoundError, StopIteration, ProcessLookupError):
        return False


@needs_fork
def test_a_stopped_step_takes_its_own_children_with_it(tmp_path):
    """A step stopped at the deadline while a forked child of its own runs (a large Clarabel
    solve goes through polylip.runtime) must not leave that child running."""
    from polylip.runtime import fork_supported, run_forked

    if not fork_supported() or not os.path.isdir("/proc"):
        pytest.skip("needs Linux")
    pid_file = tmp_path / "grandchild.pid"

    def step():
        def grandchild():
            pid_file.write_text(str(os.getpid()))
            time.sleep(30)
        return run_forked(grandchild)

    out = call_with_deadline(step, 1.0)
    assert out.status == "time_limit"
    pid = int(pid_file.read_text())
    for _ in range(50):
        if not _alive(pid):
            break
        time.sleep(0.1)
    assert not _alive(pid)

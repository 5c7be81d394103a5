"""Results that explain themselves (issue 14): which constant the upper bound bounds, what the
status means, which step of "auto" gave the bound and why the others did not, as text
(``explain()``), as a dict (``to_dict()``) and as JSON (``to_json()``), and in the CLI's JSON.
"""

import json

import numpy as np
import pytest

from polylip.cli import main
from polylip.nn import BoxRegion, Network, lipschitz
from polylip.nn.estimate import CONSTANT_MEANINGS, STATUS_MEANINGS
from polylip.runtime import fork_available

needs_fork = pytest.mark.skipif(not fork_available(), reason="steps run in a forked worker")


def gap_net():
    """Two neurons never on together: formal constant 2, true constant 1 (docs/lipschitz.md)."""
    return Network.from_weights([np.array([[1.0], [-1.0]]), np.array([[1.0, -1.0]])],
                                [np.array([-1.0, -1.0]), None])


def small_net(seed=8, sizes=(3, 4, 1)):
    rng = np.random.default_rng(seed)
    return Network.from_weights([rng.standard_normal((sizes[k + 1], sizes[k]))
                                 for k in range(len(sizes) - 1)])


def test_the_relaxations_bound_the_formal_constant_exact_the_true_one():
    net = gap_net()
    prod = lipschitz(net, method="product")
    assert prod.constant == "formal" and "formal constant" in prod.meaning()
    ex = lipschitz(net, method="exact")
    assert ex.constant == "true" and ex.upper == pytest.approx(1.0)
    assert ex.details["formal"] == pytest.approx(2.0) and ex.status == "optimal"
    assert "true constant" in ex.meaning() and "over all inputs" in ex.meaning()
    dp = lipschitz(net, method="dp")
    assert dp.constant == "formal" and dp.upper == pytest.approx(2.0, rel=1e-6)
    tanh = Network.from_weights([np.array([[1.0], [-1.0]]), np.array([[1.0, -1.0]])],
                                activation="tanh")
    assert lipschitz(tanh, method="exact").constant == "formal"  # smooth: the formal value


def test_milp_over_a_box_bounds_the_true_constant():
    net = gap_net()
    res = lipschitz(net, method="milp", region=BoxRegion([0.0], 3.0))
    assert res.constant == "true" and res.details["constant"] == "true"
    assert res.region.startswith("BoxRegion") and "over BoxRegion" in res.meaning()
    assert res.upper == pytest.approx(1.0, rel=1e-5)
    glob = lipschitz(net, method="milp")
    assert glob.constant == "formal" and glob.upper == pytest.approx(2.0, rel=1e-5)


@needs_fork
def test_auto_says_which_step_gave_the_bound_and_why_the_others_did_not():
    res = lipschitz(small_net(), "inf", budget=20)
    assert res.best_step == res.details["best_step"] and res.best_step
    assert res.constant == "formal"
    assert len(res.plan) == len(res.details["plan"]) > 5
    text = res.explain()
    assert f"bound from step {res.best_step}" in text
    for p in res.plan:  # one line per step (steps not run after the end share one line)
        assert p["step"] in text or p["status"] == "not run"
        assert p["reason"].split(":")[0] in text
    assert STATUS_MEANINGS[res.status] in text or res.status not in STATUS_MEANINGS


@needs_fork
def test_to_dict_and_to_json_carry_the_meaning_and_the_plan():
    res = lipschitz(small_net(), "inf", budget=20)
    d = res.to_dict()
    for key in ("upper", "lower", "gap", "status", "method", "seconds", "norm", "region",
                "constant", "meaning", "status_meaning", "budget", "deterministic", "witness",
                "best_step", "plan", "details"):
        assert key in d, key
    assert d["constant"] == "formal" and d["meaning"] == res.meaning()
    assert d["best_step"] == res.best_step and d["plan"][0]["step"] == "product"
    assert d["budget"] == 20.0 and d["deterministic"] is False and d["norm"] == "inf"
    back = json.loads(res.to_json())
    assert back["upper"] == pytest.approx(res.upper) and back["plan"] == d["plan"]
    assert json.loads(res.to_json(indent=None)) == back
    # a method without a plan has none in its dict
    prod = lipschitz(small_net(), method="product").to_dict()
    assert "plan" not in prod and prod["constant"] == "formal" and prod["budget"] is None


def test_no_bound_says_so():
    res = lipschitz(small_net(), method="lp", options={"degree": 1}, lower=False)
    assert res.upper is None
    assert res.meaning().startswith("no certified upper bound")
    assert "upper -" in str(res) and "constant)" not in str(res)


def test_every_meaning_is_written_down():
    assert set(CONSTANT_MEANINGS) == {"formal", "true"}
    for status in ("optimal", "ok", "time_limit", "inconsistent"):
        assert STATUS_MEANINGS[status]
    assert "[lower, upper]" in STATUS_MEANINGS["ok"]


@needs_fork
def test_the_cli_json_says_which_constant(tmp_path, capsys):
    path = tmp_path / "net.npz"
    small_net().save(path)
    assert main(["lipschitz", str(path), "--json", "--budget", "20"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["constant"] == "formal" and "formal constant" in out["meaning"]
    assert out["best_step"] and [p["step"] for p in out["plan"]][:2] == ["product", "interval"]
    assert all("estimate" in p for p in out["plan"])

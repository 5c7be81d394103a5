"""The ``polylip lipschitz`` subcommand: results, and every failure ending in one line on
stderr with exit code 2 (bad input) or 1 (no certified upper bound)."""

import io
import json
import logging
import os

import numpy as np
import pytest

from polylip.cli import main
from polylip.nn import Network
from support.cli import assert_one_line_error, run_module
from support.nn import brute_force, random_net


@pytest.fixture
def model(tmp_path):
    Ws, bs = random_net(0, [3, 4, 1])
    path = tmp_path / "net.npz"
    Network.from_weights(Ws, bs).save(path)
    return path, Ws, bs


def test_cli_exact_json(model, capsys):
    path, Ws, bs = model
    assert main(["lipschitz", str(path), "--method", "exact", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    formal, true = brute_force(Ws, bs, np.inf)
    assert out["upper"] == pytest.approx(true) and out["lower"] == pytest.approx(true)
    assert out["details"]["formal"] == pytest.approx(formal)
    assert out["method"] == "exact" and out["status"] == "optimal"


def test_cli_text_local_and_norm(model, tmp_path, capsys):
    path, _, _ = model
    np.save(tmp_path / "x0.npy", np.zeros(3))
    assert main(["lipschitz", str(path), "--norm", "2", "--center", str(tmp_path / "x0.npy"),
                 "--radius", "0.1", "--region", "ball"]) == 0
    out = capsys.readouterr().out
    for word in ("upper:", "lower:", "gap:", "method:", "time:"):
        assert word in out


def test_cli_errors(model, tmp_path, capsys):
    path, _, _ = model
    assert main(["lipschitz", str(tmp_path / "none.npz")]) == 2
    assert "no such" in capsys.readouterr().err
    np.save(tmp_path / "x0.npy", np.zeros(5))
    assert main(["lipschitz", str(path), "--center", str(tmp_path / "x0.npy"),
                 "--radius", "0.1"]) == 2
    assert "dimension 5" in capsys.readouterr().err
    assert main(["lipschitz", str(path), "--radius", "0.1"]) == 2
    assert main(["lipschitz", str(path), "--method", "nope"]) == 2
    assert main(["lipschitz", str(path), "--method", "exact", "--option", "max_unstable=2"]) == 2
    assert "at most K = 2" in capsys.readouterr().err


# ------------------------------------------------------------------ the failure contract
@pytest.mark.parametrize("kind, message", [
    ("empty_npz", "no weights"), ("fake_npz", "fake.npz"), ("directory", "directory"),
    ("missing", "no such model file"), ("binary", "binary.pop"), ("latin1", "latin1.pop"),
])
def test_bad_network_files(cli, bad_files, kind, message):
    assert_one_line_error(cli("lipschitz", bad_files[kind], "--method", "product"), 2, message)


def test_dev_zero_is_not_a_network(cli):
    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero")
    assert_one_line_error(cli("lipschitz", "/dev/zero"), 2, "not a regular file")


def test_nan_weights(cli, tmp_path):
    np.savez(tmp_path / "nan.npz", W0=np.array([[np.nan, 1.0]]))
    assert_one_line_error(cli("lipschitz", tmp_path / "nan.npz"), 2, "NaN")


@pytest.mark.parametrize("flags, message", [
    (["--budget", "inf"], "--budget"), (["--budget", "nan"], "--budget"),
    (["--budget", "-1"], "--budget"), (["--budget", "0"], "--budget"),
    (["--seed", "-1"], "--seed"), (["--seed", "1.5"], "--seed"),
    (["--method", "nope"], "unknown method 'nope'"), (["--norm", "3"], "--norm"),
    (["--radius", "-0.1", "--center", "x0.npy"], "--radius"), (["--radius", "nan"], "--radius"),
    (["--order", "0", "--method", "sdp"], "--order"), (["--degree", "-2", "--method", "lp"], "--degree"),
    (["--input-shape", "1,x"], "--input-shape"), (["--option", "oops"], "--option"),
    (["--radius", "0.1"], "both --center and --radius"),
])
def test_bad_flag_values(cli, model, flags, message):
    path, _, _ = model
    assert_one_line_error(cli("lipschitz", path, *flags), 2, message)


def test_bad_center_file(cli, model, tmp_path, bad_files):
    path, _, _ = model
    assert_one_line_error(cli("lipschitz", path, "--center", bad_files["binary"],
                              "--radius", "0.1"), 2, "center")


def test_no_upper_bound_is_exit_1(cli, model):
    """Method lp below the needed degree certifies nothing: the result is printed, one line
    on stderr says why, and the exit code is 1 (not 0)."""
    path, _, _ = model
    run = cli("lipschitz", path, "--method", "lp", "--degree", "1", "--no-lower")
    assert "upper:   -" in run.out
    assert_one_line_error(run, 1, "no certified upper bound: method lp, status unreachable")
    run = cli("lipschitz", path, "--method", "lp", "--degree", "1", "--no-lower", "--json")
    assert json.loads(run.out)["upper"] is None and run.code == 1


def test_success_writes_nothing_on_stderr(cli, model):
    path, _, _ = model
    run = cli("lipschitz", path, "--method", "exact")
    assert run.code == 0 and run.err == ""
    run = cli("lipschitz", path, "--method", "product", "-v")
    assert run.code == 0 and "polylip: info:" in run.err and "method product" in run.err


def test_ctrl_c(cli, model, monkeypatch):
    import polylip.nn.estimate as estimate

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(estimate, "lipschitz", interrupted)
    path, _, _ = model
    assert assert_one_line_error(cli("lipschitz", path), 130) == "polylip: interrupted"


def test_trust_pickle(cli, tmp_path):
    torch = pytest.importorskip("torch")
    module = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1))
    path = tmp_path / "whole.pt"
    torch.save(module, path)
    assert_one_line_error(cli("lipschitz", path, "--method", "product"), 2, "--trust-pickle")
    run = cli("lipschitz", path, "--method", "product", "--trust-pickle", "--json")
    assert run.code == 0 and json.loads(run.out)["network"]["sizes"] == [3, 4, 1]
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a pickle at all")
    assert_one_line_error(cli("lipschitz", bad, "--trust-pickle"), 2, "bad.pt")


def test_as_a_subprocess(model, bad_files):
    path, _, _ = model
    assert_one_line_error(run_module("lipschitz", path, "--budget", "inf"), 2, "--budget")
    assert_one_line_error(run_module("lipschitz", bad_files["empty_npz"], "--seed", "3"), 2,
                          "no weights")


# ------------------------------------------------------------------ progress
def test_progress_lines_are_info_logs(caplog, monkeypatch):
    from polylip.cli import common

    monkeypatch.setattr(common, "PROGRESS_EVERY", 0.0)
    with caplog.at_level(logging.INFO, logger="polylip.cli"):
        with common.Progress(bars=False) as progress:
            progress("milp", 1, 3)
    assert "milp 1/3" in caplog.text


def test_progress_bars_with_tqdm():
    pytest.importorskip("tqdm")
    from polylip.cli.common import Progress

    stream = io.StringIO()
    with Progress(stream=stream, bars=True) as progress:
        progress("dp", 1, 4)
        progress("dp", 4, 4)
        progress("milp", 2, 5)
    assert "polylip: dp" in stream.getvalue() and "polylip: milp" in stream.getvalue()


# ------------------------------------------------------------------ results that explain themselves
def test_text_output_says_what_the_bound_bounds_and_the_plan(model, tmp_path, cli):
    from polylip.nn.estimate import CONSTANT_MEANINGS, STATUS_MEANINGS
    from polylip.nn.methods.plan import PLAN

    path, _, _ = model
    np.save(tmp_path / "x0.npy", np.zeros(3))
    local = ["--center", tmp_path / "x0.npy", "--radius", "0.5"]
    run = cli("lipschitz", path, *local, "--budget", "20")
    assert run.code == 0, run.err
    as_json = cli("lipschitz", path, *local, "--budget", "20", "--json")
    out = json.loads(as_json.out)
    # which constant, what the status means, and one line per step of auto's plan
    assert out["constant"] in ("formal", "true") and out["meaning"] in run.out
    assert CONSTANT_MEANINGS[out["constant"]] in run.out
    assert f"status {out['status']}: {STATUS_MEANINGS[out['status']]}" in run.out
    assert f"bound from step {out['best_step']}" in run.out
    plan_text = run.out.split("the plan:", 1)[1]
    for record in out["plan"]:  # one line a step (steps alike in a row share one: "a .. b")
        assert record["status"] in plan_text and record["reason"].split(":")[0] in plan_text
    assert plan_text.split()[0] == PLAN[0].id and PLAN[-1].id in plan_text
    assert [p["step"] for p in out["plan"]] == [s.id for s in PLAN]
    assert {"upper", "lower", "status", "constant", "meaning", "status_meaning", "details",
            "budget", "deterministic", "witness"} <= set(out)


def test_exact_says_true_constant_in_text_and_json(model, tmp_path, cli):
    path, Ws, bs = model
    np.save(tmp_path / "x0.npy", np.zeros(3))
    args = ["lipschitz", path, "--method", "exact", "--center", tmp_path / "x0.npy",
            "--radius", "0.5"]
    text, js = cli(*args), cli(*args, "--json")
    out = json.loads(js.out)
    assert out["constant"] == "true" and "the true constant" in text.out
    assert "status optimal: upper and lower meet" in text.out and out["status"] == "optimal"


def test_budget_and_deterministic_apply_to_every_method(model, cli):
    path, _, _ = model
    run = cli("lipschitz", path, "--method", "product", "--budget", "5", "--json")
    assert run.code == 0, run.err
    out = json.loads(run.out)
    assert out["budget"] == 5.0 and out["method"] == "product"
    runs = [json.loads(cli("lipschitz", path, "--method", "interval", "--deterministic",
                           "--json").out) for _ in range(2)]
    assert runs[0]["deterministic"] is True
    assert (runs[0]["upper"], runs[0]["lower"]) == (runs[1]["upper"], runs[1]["lower"])


def test_option_words_that_json_reads_as_booleans():
    # milp's constant takes the words 'auto', 'formal', 'true': --option constant=true is the
    # word, not JSON's boolean (it was refused: "constant must be one of ..., got True")
    from polylip.cli.lipschitz import _options
    assert _options(["constant=true"], "milp") == {"constant": "true"}
    assert _options(["gap=0.001", "node_limit=null"], "milp") == {"gap": 0.001, "node_limit": None}
    # where the option takes the decoded value, it stays decoded; unknown methods: JSON
    assert _options(["constant=true"], None) == {"constant": True}


def test_option_word_true_runs_milp(cli, model):
    path, _, _ = model
    center = path.parent / "x0.npy"
    np.save(center, np.zeros(3))
    run = cli("lipschitz", path, "--method", "milp", "--option", "constant=true",
              "--center", center, "--radius", "0.1")
    assert run.code == 0, run.err

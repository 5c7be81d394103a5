"""The ``polylip lipschitz`` subcommand."""

import json

import numpy as np
import pytest

from polylip.cli import main
from polylip.nn import Network
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

"""The bundled examples: the training script runs, the saved networks load and are analysed."""

import importlib.util
import json
import os

import numpy as np
import pytest

from polylip.cli import main
from polylip.nn import BoxRegion, Network, lipschitz

EXAMPLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples")


def test_training_script_quick(tmp_path):
    pytest.importorskip("sklearn")
    spec = importlib.util.spec_from_file_location("train_digits",
                                                  os.path.join(EXAMPLES, "train_digits.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    accs = mod.main(["--out", str(tmp_path), "--quick"])
    assert accs["digits_mlp"] > 0.8 and accs["digits_cnn"] > 0.5
    for name in ("digits_mlp", "digits_mlp_pruned", "digits_cnn"):
        assert Network.load(tmp_path / f"{name}.npz").output_dim == 10


@pytest.mark.parametrize("name,sizes", [("digits_mlp", [64, 16, 16, 10]),
                                        ("digits_mlp_pruned", [64, 16, 16, 10]),
                                        ("digits_cnn", [64, 64, 10])])
def test_bundled_networks(name, sizes):
    net = Network.load(os.path.join(EXAMPLES, f"{name}.npz"))
    assert net.layer_sizes == sizes
    x0 = np.load(os.path.join(EXAMPLES, "digits_x0.npy"))
    res = lipschitz(net, norm="inf", method="product")
    assert res.upper >= res.lower > 0
    margin = net.with_output("margin:0,1")
    region = BoxRegion(x0, 0.01)
    local = lipschitz(margin, method="exact", region=region)
    assert local.upper == pytest.approx(local.lower)
    assert local.details["formal"] >= local.upper
    assert local.upper <= lipschitz(margin, method="product", region=region).upper * (1 + 1e-12)


def test_readme_command(capsys):
    path = os.path.join(EXAMPLES, "digits_mlp.npz")
    assert main(["lipschitz", path, "--json", "--budget", "1"]) == 0  # method auto, 1 s
    out = json.loads(capsys.readouterr().out)
    assert out["upper"] >= out["lower"] > 0 and out["method"] == "auto"

"""CLI flags of the polynomial-optimization methods (issue 6)."""

import json
import subprocess
import sys

import numpy as np

from polylip.nn import Network


def run(*args):
    out = subprocess.run([sys.executable, "-m", "polylip", "lipschitz", *args],
                         capture_output=True, text=True, check=True)
    return out.stdout


def test_cli_order_degree_sparsity_budget(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "net.npz"
    Network.from_weights([rng.standard_normal((4, 3)), rng.standard_normal((1, 4))]).save(path)
    sdp = json.loads(run(str(path), "--method", "sdp", "--order", "2", "--sparsity", "network",
                         "--json", "--no-lower"))
    lp = json.loads(run(str(path), "--method", "lp", "--degree", "3", "--json", "--no-lower"))
    assert abs(sdp["upper"] - lp["upper"]) < 1e-5
    structure = sdp["details"]["relaxations"][0]["structure"]
    assert structure["psd_sizes"] and sdp["details"]["order"] == 2
    auto = json.loads(run(str(path), "--method", "auto", "--budget", "20", "--json", "--no-lower"))
    assert auto["upper"] <= lp["upper"] + 1e-6

"""CLI flags of the polynomial-optimization methods (issue 6)."""

import json

import numpy as np
import pytest

from polylip.nn import Network


@pytest.fixture
def run(cli):
    """``polylip lipschitz *args`` in-process (tests/cli/conftest.py; the subprocess entry point
    is tested once in tests/cli/test_lipschitz.py): its stdout, after checking it exited 0."""
    def lipschitz(*args):
        out = cli("lipschitz", *args)
        assert out.code == 0, out.err
        return out.out
    return lipschitz


def test_cli_order_degree_sparsity_budget(tmp_path, run):
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

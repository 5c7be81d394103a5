"""Bad ``--center`` / ``--centers`` files are one ``polylip: error`` line and exit code 2
(QA regressions: string, empty and ``.npz`` files were internal errors, exit 1)."""

import numpy as np
import pytest

from polylip.nn import Network
from support.cli import assert_one_line_error
from support.nn import random_net


@pytest.fixture
def net_path(tmp_path):
    Ws, bs = random_net(0, [3, 4, 1])
    path = tmp_path / "net.npz"
    Network.from_weights(Ws, bs).save(path)
    return path


@pytest.mark.parametrize("flag", ["--center", "--centers"])
@pytest.mark.parametrize("make, message", [
    (lambda p: np.save(p, np.array(["a", "b", "c"])), "real numbers"),
    (lambda p: p.write_bytes(b""), "not a valid .npy"),
    (lambda p: np.save(p, np.zeros(3, complex)), "real numbers"),
])
def test_bad_center_files(cli, net_path, tmp_path, flag, make, message):
    path = tmp_path / "c.npy"
    make(path)
    run = cli("lipschitz", net_path, flag, path, "--radius", "0.1", "--method", "product")
    assert_one_line_error(run, 2, message)

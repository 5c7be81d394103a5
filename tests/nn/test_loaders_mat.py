"""LipSDP's .mat networks (a cell array 'weights' of (out, in) matrices): read as LipSDP's own
examples write them (scipy.io.savemat of an object array), checked against the matrices, and
every malformed file a ModelError naming the problem. Before, a .mat file was "unknown model
file type"."""

import os

import numpy as np
import pytest
from scipy.io import savemat

from polylip.errors import ModelError
from polylip.nn import lipschitz
from polylip.nn.loaders import load_model

REFERENCE = "/work/shared/reference/lipsdp/random_weights.npz"


def cells(mats):
    out = np.empty(len(mats), dtype=object)  # what np.array(weights, dtype=object) gives
    for k, m in enumerate(mats):
        out[k] = m
    return out


def forward(Ws, bs, X):
    h = X
    for W, b in zip(Ws[:-1], bs[:-1]):
        h = np.maximum(h @ W.T + b, 0.0)
    return h @ Ws[-1].T + bs[-1]


def test_lipsdp_format_reads_the_matrices(tmp_path):
    rng = np.random.default_rng(0)
    if os.path.exists(REFERENCE):  # LipSDP's own example network [2, 10, 30, 20, 2]
        ref = np.load(REFERENCE)
        Ws = [ref[f"W{k}"] for k in range(4)]
    else:  # pragma: no cover - outside this project's machines
        Ws = [rng.standard_normal(s) for s in ((10, 2), (30, 10), (20, 30), (2, 20))]
    path = tmp_path / "random_weights.mat"
    savemat(path, {"weights": cells(Ws)})
    net = load_model(path)
    assert net.layer_sizes == [W.shape[1] for W in Ws] + [Ws[-1].shape[0]]
    X = rng.standard_normal((50, Ws[0].shape[1])) * 3
    zeros = [np.zeros(W.shape[0]) for W in Ws]
    assert np.allclose(net.forward(X), forward(Ws, zeros, X), rtol=1e-12, atol=1e-12)
    # biases, activation and net_dims when given; MATLAB column vectors are read as vectors
    bs = [rng.standard_normal((W.shape[0], 1)) for W in Ws]
    savemat(path, {"weights": cells(Ws), "biases": cells(bs), "activation": "relu",
                   "net_dims": np.array([net.layer_sizes], dtype=float)})
    net = load_model(path)
    assert np.allclose(net.forward(X), forward(Ws, [b[:, 0] for b in bs], X), rtol=1e-12)
    # equal shapes: numpy would stack them into one 3-D array; a cell array keeps them
    square = [rng.standard_normal((3, 3)) for _ in range(3)]
    savemat(path, {"weights": cells(square), "activation": "tanh"})
    net = load_model(path)
    assert net.layer_sizes == [3, 3, 3, 3] and net.activations[0].name == "tanh"
    res = lipschitz(load_model(path, output="vector:2"), "2", method="product", lower=False)
    assert res.upper == pytest.approx(np.prod([np.linalg.norm(W, 2) for W in square]))


@pytest.mark.parametrize("content, match", [
    ({"W": np.ones((3, 2))}, "no cell array 'weights'"),
    ({"weights": np.ones((3, 2))}, "must be a cell array"),
    ({"weights": cells([np.ones((3, 2)), np.ones((1, 4))])}, "expects 4 inputs"),
    ({"weights": cells([np.ones((3, 2)), np.ones((1, 3))]), "net_dims": np.array([[2, 4, 1]])},
     "do not match"),
    ({"weights": cells([np.ones((3, 2)), np.ones((1, 3))]), "extra": np.ones(2)},
     "unknown variable 'extra'"),
    ({"weights": cells([np.full((3, 2), np.nan), np.ones((1, 3))])}, "NaN"),
    ({"weights": cells([np.ones((3, 2)), np.ones((1, 3))]), "biases": cells([np.ones(3)])},
     "1 biases for 2"),
    ({"weights": cells([np.ones((3, 2)), np.ones((1, 3))]), "activation": "gelu"},
     "unknown activation"),
    ({"weights": cells([np.ones((3, 2, 2)), np.ones((1, 3))])}, "numeric matrix"),
])
def test_malformed_mat_files_are_model_errors(tmp_path, content, match):
    path = tmp_path / "net.mat"
    savemat(path, content)
    with pytest.raises(ModelError, match=match):
        load_model(path)


@pytest.mark.parametrize("data, match", [
    (b"", "is empty"),
    (b"not a mat file at all" * 10, "cannot read"),
    (b"\x89HDF\r\n\x1a\n" + b"\0" * 200, "v7.3"),
])
def test_unreadable_mat_files_are_model_errors(tmp_path, data, match):
    path = tmp_path / "net.mat"
    path.write_bytes(data)
    with pytest.raises(ModelError, match=match):
        load_model(path)


def test_random_bytes_after_a_mat_header_are_model_errors(tmp_path):
    """A file that starts like a MAT v5 file and continues with noise: a ModelError, never
    another exception (scipy's parser raises ValueError, TypeError, OverflowError, ...)."""
    rng = np.random.default_rng(0)
    good = tmp_path / "good.mat"
    savemat(good, {"weights": cells([np.ones((3, 2)), np.ones((1, 3))])})
    data = good.read_bytes()
    path = tmp_path / "net.mat"
    for trial in range(40):
        cut = int(rng.integers(128, len(data)))
        noise = rng.integers(0, 256, int(rng.integers(0, 200)), dtype=np.uint8).tobytes()
        path.write_bytes(data[:cut] + noise)
        try:
            net = load_model(path)
        except ModelError:
            continue
        assert net.layer_sizes[0] >= 1  # read something: it was validated as a network

""".npz networks are validated before use: malformed sparse parts, huge or lying headers,
pickled object arrays, empty or corrupt files, inconsistent shapes are ModelErrors naming the
problem (never a crash, an EOFError or a BadZipFile)."""

import io
import warnings
import zipfile

import numpy as np
import pytest
import scipy.sparse as sp

from polylip.errors import ModelError
from polylip.nn import Network
from polylip.nn.loaders import load_model, load_npz


def _sparse_arrays(**override):
    W = sp.csr_matrix(np.array([[1.0, 0.0, 2.0], [0.0, 3.0, 0.0]]))
    arrays = {"W0_data": W.data, "W0_indices": W.indices, "W0_indptr": W.indptr,
              "W0_shape": np.array(W.shape), "W1": np.ones((1, 2))}
    arrays.update(override)
    return arrays


def _raises(tmp_path, match, name="bad.npz", **arrays):
    path = tmp_path / name
    np.savez(path, **arrays)
    with pytest.raises(ModelError, match=match):
        Network.load(path)


def test_valid_sparse_loads(tmp_path):
    np.savez(tmp_path / "ok.npz", **_sparse_arrays())
    net = Network.load(tmp_path / "ok.npz")
    assert sp.issparse(net.affine_layers[0][0])
    assert net(np.array([[1.0, 1.0, 1.0]])).tolist() == [[6.0]]


@pytest.mark.parametrize("override, match", [
    ({"W0_indices": np.array([0, 7, 1])}, r"W0_indices must lie in \[0, 3\)"),
    ({"W0_indices": np.array([0, -1, 1])}, r"W0_indices must lie in \[0, 3\)"),
    ({"W0_indptr": np.array([0, 3, 2])}, "never decrease"),
    ({"W0_indptr": np.array([1, 2, 3])}, "start at 0"),
    ({"W0_indptr": np.array([0, 2])}, "expected rows \\+ 1 = 3"),
    ({"W0_indptr": np.array([0, 2, 9])}, "do not agree"),
    ({"W0_data": np.array([1.0, 2.0])}, "do not agree"),
    ({"W0_shape": np.array([2, 3, 4])}, "two positive integers"),
    ({"W0_shape": np.array([2, 0])}, "two positive integers"),
    ({"W0_shape": np.array([2, 3]), "W0_indices": np.array([[0, 2, 1]])}, "must be 1-D"),
    ({"W0_indices": np.array([0.5, 2.0, 1.0])}, "must hold integers"),
    ({"W0_data": np.array(["a", "b", "c"])}, "must be numeric"),
])
def test_malformed_sparse_matrix(tmp_path, override, match):
    _raises(tmp_path, match, **_sparse_arrays(**override))


def test_missing_sparse_part(tmp_path):
    arrays = _sparse_arrays()
    del arrays["W0_indptr"]
    _raises(tmp_path, "lacks W0_indptr", **arrays)


def test_shapes_must_chain(tmp_path):
    _raises(tmp_path, "expects 3 inputs but layer 0 has 2 outputs", W0=np.ones((2, 2)),
            W1=np.ones((1, 3)))
    _raises(tmp_path, r"b0 has shape \(3,\), expected \(2,\)", W0=np.ones((2, 2)),
            b0=np.ones(3), W1=np.ones((1, 2)))
    _raises(tmp_path, "W1 missing", W0=np.ones((2, 2)), W2=np.ones((1, 2)))
    _raises(tmp_path, "b1 has no weight matrix", W0=np.ones((1, 2)), b1=np.ones(1))
    _raises(tmp_path, "must be 2-D", W0=np.ones((2, 2, 2)))
    _raises(tmp_path, "both dense and sparse", **_sparse_arrays(W0=np.ones((2, 3))))
    _raises(tmp_path, "activations given for 1 hidden", W0=np.ones((2, 2)), W1=np.ones((1, 2)),
            activations=np.array(["relu", "tanh"]))
    _raises(tmp_path, "must be a string array", W0=np.ones((2, 2)), W1=np.ones((1, 2)),
            activation=np.array(3.0))
    _raises(tmp_path, "NaN", W0=np.array([[np.nan, 1.0]]))


def test_pickled_object_array_refused(tmp_path):
    path = tmp_path / "obj.npz"
    np.savez(path, W0=np.array([np.ones(2), "x"], dtype=object))
    with pytest.raises(ModelError, match="object array, stored with pickle"):
        Network.load(path)


def _npy_member(header_shape, payload, dtype="<f8"):
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": dtype, "fortran_order": False, "shape": header_shape})
    return buf.getvalue() + payload


def _zip(path, members):
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def test_huge_shape_header_refused_before_allocation(tmp_path):
    path = tmp_path / "huge.npz"
    _zip(path, {"W0.npy": _npy_member((10 ** 6, 10 ** 6), b"\x00" * 16)})
    with pytest.raises(ModelError, match=r"W0 declares shape \(1000000, 1000000\).*above the "
                                         r"limit of 2\.0 GiB.*before allocating"):
        Network.load(path)
    # the limit is settable, for the whole file
    np.savez(tmp_path / "ok.npz", W0=np.ones((64, 64)), W1=np.ones((1, 64)))
    assert Network.load(tmp_path / "ok.npz").layer_sizes == [64, 64, 1]
    with pytest.raises(ModelError, match="above the limit of 16.0 KiB"):
        load_npz(tmp_path / "ok.npz", max_bytes=16 * 1024)
    with pytest.raises(ModelError, match="above the limit"):
        Network.load(tmp_path / "ok.npz", max_bytes=1000)


def test_header_that_lies_about_the_data(tmp_path):
    path = tmp_path / "lie.npz"
    _zip(path, {"W0.npy": _npy_member((100, 100), b"\x00" * 16)})
    with pytest.raises(ModelError, match="the archive holds 16 bytes for it: the file is corrupt"):
        Network.load(path)
    _zip(path, {"W0.npy": b"\x93NUMPY\x01\x00garbage"})
    with pytest.raises(ModelError, match="malformed header"):
        Network.load(path)
    _zip(path, {"W0.npy": _npy_member((2, 2), b"\x00" * 32, dtype="|V8")})
    with pytest.raises(ModelError, match="numeric and string arrays only"):
        Network.load(path)


def test_empty_and_corrupt_files(tmp_path):
    (tmp_path / "empty.npz").write_bytes(b"")
    with pytest.raises(ModelError, match="is empty"):
        Network.load(tmp_path / "empty.npz")
    (tmp_path / "junk.npz").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ModelError):
        Network.load(tmp_path / "junk.npz")
    np.savez(tmp_path / "good.npz", W0=np.ones((20, 20)), W1=np.ones((1, 20)))
    data = (tmp_path / "good.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError):
        Network.load(tmp_path / "cut.npz")
    # a bad CRC in an otherwise well-formed archive
    raw = bytearray(data)
    at = raw.index(b"\x93NUMPY") + 200
    raw[at] ^= 0xFF
    (tmp_path / "crc.npz").write_bytes(bytes(raw))
    with pytest.raises(ModelError, match="cannot read"):
        Network.load(tmp_path / "crc.npz")
    np.save(tmp_path / "plain.npy", np.ones(3))
    (tmp_path / "plain.npz").write_bytes((tmp_path / "plain.npy").read_bytes())
    with pytest.raises(ModelError, match="not a .npz"):
        Network.load(tmp_path / "plain.npz")
    with pytest.raises(ModelError, match="directory"):
        Network.load(tmp_path)


def test_load_model_dispatch(tmp_path):
    np.savez(tmp_path / "m.npz", W0=np.ones((2, 4)), W1=np.ones((3, 2)))
    net = load_model(tmp_path / "m.npz", output="margin:0,2", input_shape=(1, 2, 2))
    assert net.output.spec() == "margin:0,2" and net.input_shape == (1, 2, 2)
    (tmp_path / "m.bin").write_bytes((tmp_path / "m.npz").read_bytes())  # sniffed
    assert load_model(tmp_path / "m.bin").layer_sizes == [4, 2, 3]
    (tmp_path / "m.txt").write_text("W0 = 1")
    with pytest.raises(ModelError, match="unknown model file type"):
        load_model(tmp_path / "m.txt")
    with pytest.raises(ModelError, match="no such"):
        load_model(tmp_path / "none.npz")


# ---- QA regressions (adversarial files) ---------------------------------------------------
def test_a_huge_layer_number_is_refused_at_once(tmp_path):
    # W10**20 once made the gap check build range(10**20) (a hang on a 1 KB file)
    _raises(tmp_path, "W2 missing between W0 and W99999999999999999999", W0=np.ones((2, 3)),
            W1=np.ones((1, 2)), W99999999999999999999=np.ones((1, 1)))


def test_one_based_numbering_is_named(tmp_path):
    _raises(tmp_path, "numbering starts at W1", W1=np.ones((2, 3)), W2=np.ones((1, 2)))


@pytest.mark.parametrize("key", ["activaton", "activation_fn", "w0", "b0_data", "seeds"])
def test_unknown_arrays_are_refused_not_ignored(tmp_path, key):
    # a misspelt activation key was ignored and the network read as ReLU without a word
    _raises(tmp_path, f"unknown array '{key}'", W0=np.ones((2, 3)), W1=np.ones((1, 2)),
            **{key: np.array("tanh")})


def test_dense_weights_with_a_sparse_part_are_refused(tmp_path):
    _raises(tmp_path, "both dense and sparse", W0=np.ones((2, 3)), W1=np.ones((1, 2)),
            W1_shape=np.array([1, 2]))


def test_transposed_weights_get_a_hint(tmp_path):
    _raises(tmp_path, r"look stored as \(in, out\)", W0=np.ones((5, 8)), b0=np.ones(8),
            W1=np.ones((8, 1)))
    _raises(tmp_path, r"look stored as \(in, out\)", W0=np.ones((5, 8)), W1=np.ones((8, 1)))


def test_duplicate_members_are_refused(tmp_path):
    path = tmp_path / "dup.npz"
    with zipfile.ZipFile(path, "w") as zf, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate name
        for shape in ((2, 3), (5, 5)):
            buf = io.BytesIO()
            np.save(buf, np.ones(shape))
            zf.writestr("W0.npy", buf.getvalue())
    with pytest.raises(ModelError, match="more than once"):
        Network.load(path)


@pytest.mark.parametrize("shape", [[-1, -2, 2], [[1, 2], [2, 1]], []])
def test_bad_input_shapes_are_refused(tmp_path, shape):
    _raises(tmp_path, "input_shape must be a vector of positive integers", W0=np.ones((2, 4)),
            W1=np.ones((1, 2)), input_shape=np.array(shape, dtype=np.int64))


def test_network_refuses_non_positive_input_shape():
    with pytest.raises(ModelError, match="positive"):
        Network([(np.ones((2, 4)), None)], input_shape=(-1, -2, 2))


def test_a_sparse_layer_too_wide_for_memory_is_refused(tmp_path):
    # a (1, 2**40) CSR matrix is a few bytes, but every input vector would be 8 TiB
    arrays = {"W0_data": np.ones(1), "W0_indices": np.array([0]), "W0_indptr": np.array([0, 1]),
              "W0_shape": np.array([1, 2 ** 40]), "W1": np.ones((1, 1))}
    _raises(tmp_path, "a layer that wide", **arrays)


def test_float_integers_that_overflow_int64_are_refused(tmp_path):
    arrays = _sparse_arrays(W0_shape=np.array([2.0, 2.0 ** 70]))
    _raises(tmp_path, "integer too large", **arrays)


@pytest.mark.parametrize("offset, value, match", [(6, b"\x01\x00", "encrypted"),
                                                  (8, b"\x63\x00", "compression method")])
def test_encrypted_or_unknown_compression_members_are_model_errors(tmp_path, offset, value, match):
    """One flipped bit of a valid file (QA round 4): zipfile raises RuntimeError for an
    encrypted member and NotImplementedError for an unknown method; both are a ModelError."""
    np.savez(tmp_path / "good.npz", W0=np.ones((2, 2)), W1=np.ones((1, 2)))
    raw = bytearray((tmp_path / "good.npz").read_bytes())
    for sig, shift in ((b"PK\x03\x04", 0), (b"PK\x01\x02", 2)):  # local header, central directory
        at = raw.find(sig)
        while at >= 0:
            raw[at + offset + shift:at + offset + shift + 2] = value
            at = raw.find(sig, at + 4)
    (tmp_path / "bad.npz").write_bytes(bytes(raw))
    with pytest.raises(ModelError, match=match):
        load_model(tmp_path / "bad.npz")

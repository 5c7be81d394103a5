"""``load_npy``: the ``.npy`` reader of ``--center`` / ``--centers``, validated from the header
before anything is allocated or unpickled (QA regressions: a string, empty, ``.npz`` or
complex file gave an internal error, a huge header a MemoryError, complex values were cast
to real with only a warning)."""

import io
import pickle

import numpy as np
import pytest

from polylip.errors import ModelError
from polylip.nn.loaders.npz import load_npy
from polylip.runtime import call_with_deadline


def _header_only(path, shape):
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "<f8", "fortran_order": False,
                                               "shape": shape})
    path.write_bytes(buf.getvalue())


def test_reads_a_numeric_array(tmp_path):
    np.save(tmp_path / "c.npy", np.arange(6, dtype=np.int32).reshape(2, 3))
    assert load_npy(tmp_path / "c.npy").tolist() == [[0, 1, 2], [3, 4, 5]]


@pytest.mark.parametrize("make, match", [
    (lambda p: np.save(p, np.array(["a", "b"])), "real numbers"),
    (lambda p: np.save(p, np.zeros(2, complex)), "real numbers"),
    (lambda p: np.save(p, np.array([1, None], dtype=object), allow_pickle=True), "never unpickles"),
    (lambda p: p.write_bytes(b""), "not a valid .npy"),
    (lambda p: p.write_text("0 0 0"), "not a valid .npy"),
    (lambda p: p.write_bytes(pickle.dumps([0.0, 1.0])), "not a valid .npy"),
    (lambda p: np.savez(p, a=np.zeros(2)), "zip"),
    (lambda p: _header_only(p, (10 ** 7, 10 ** 7)), "refused before reading"),
    (lambda p: _header_only(p, (4,)), "corrupt"),
])
def test_bad_files_are_one_model_error(tmp_path, make, match):
    path = tmp_path / "c.npy"
    make(path)
    if not path.exists():  # np.savez appends .npz
        path = tmp_path / "c.npy.npz"
    with pytest.raises(ModelError, match=match):
        load_npy(path, what="the center")


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(ModelError, match="no such file"):
        load_npy(tmp_path / "none.npy")
    with pytest.raises(ModelError, match="not a file"):
        load_npy(tmp_path)


def test_a_deadline_beyond_any_clock_is_no_limit():
    # a budget of 1e308 s overflowed the selector's millisecond timeout (OverflowError)
    out = call_with_deadline(lambda: 42, 1e308, isolate=True)
    assert (out.status, out.value) == ("done", 42)

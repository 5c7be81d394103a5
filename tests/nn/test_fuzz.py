"""Fuzzing the inputs of the Lipschitz layer (bounded, deterministic): random .npz contents into
the loader, random bytes as a network file, random option values into lipschitz(). Each call
ends in a result or a polylip error, never another exception."""

import io
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from polylip.errors import PolylipError
from polylip.nn import Network, lipschitz
from polylip.nn.methods import TABLE

BY_NAME = {m.name: m for m in TABLE}

FUZZ = settings(max_examples=60, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

_KEYS = ["W0", "W1", "W2", "b0", "b1", "b2", "activation", "activations", "output", "format",
         "W0_data", "W0_indices", "W0_indptr", "W0_shape", "junk"]
_DTYPES = [np.float64, np.float32, np.int64, np.int8, np.bool_, np.complex128, "U3"]


@st.composite
def npz_contents(draw):
    arrays = {}
    for key in draw(st.lists(st.sampled_from(_KEYS), min_size=0, max_size=6, unique=True)):
        shape = tuple(draw(st.lists(st.integers(0, 5), min_size=0, max_size=3)))
        dtype = draw(st.sampled_from(_DTYPES))
        if dtype == "U3":
            arrays[key] = np.array(draw(st.sampled_from(["relu", "tanh", "x", "", "margin:0,1"])))
            continue
        values = draw(st.sampled_from([0.0, 1.0, -3.0, np.nan, np.inf, 1e300, 7.0]))
        with np.errstate(invalid="ignore"):
            arrays[key] = np.full(shape, values).astype(dtype)
    return arrays


@FUZZ
@given(npz_contents())
def test_random_npz_contents(tmp_path, arrays):
    path = tmp_path / "net.npz"
    np.savez(path, **arrays)
    try:
        net = Network.load(path)
    except PolylipError:
        return
    assert isinstance(net, Network)


@FUZZ
@given(st.binary(max_size=2000))
def test_random_bytes_as_a_network_file(tmp_path, data):
    path = tmp_path / "net.npz"
    path.write_bytes(data)
    with pytest.raises(PolylipError):
        Network.load(path)


@FUZZ
@given(st.binary(max_size=300))
def test_random_zip_members(tmp_path, data):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("W0.npy", data)
    path = tmp_path / "net.npz"
    path.write_bytes(buf.getvalue())
    with pytest.raises(PolylipError):
        Network.load(path)


def _net():
    rng = np.random.default_rng(0)
    return Network.from_weights([rng.standard_normal((4, 2)), rng.standard_normal((1, 4))],
                                [rng.standard_normal(4), rng.standard_normal(1)])


_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-5, 10**6),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8),
                    st.lists(st.integers(0, 3), max_size=3), st.sampled_from(["auto", "dense", "cs", "highs"]))
_CHEAP = ["product", "interval", "exact", "dp", "milp", "lp"]


@FUZZ
@given(method=st.sampled_from(_CHEAP), data=st.data())
def test_random_options_into_lipschitz(method, data):
    known = list(BY_NAME[method].options.names()) if BY_NAME[method].options else []
    keys = data.draw(st.lists(st.sampled_from(known + ["bogus", "budget", "order"]), max_size=3,
                              unique=True))
    options = {k: data.draw(_VALUES) for k in keys}
    if "time_limit" in options:
        options["time_limit"] = 2.0  # bounded: the fuzz is about validation, not long solves
    try:
        res = lipschitz(_net(), norm="inf", method=method, options=options, lower=False)
    except PolylipError:
        return
    assert res.upper is None or res.upper >= 0


@FUZZ
@given(options=st.one_of(st.lists(st.integers()), st.text(max_size=5), st.integers(), st.floats()))
def test_options_that_are_not_a_mapping(options):
    with pytest.raises(PolylipError):
        lipschitz(_net(), method="product", options=options)

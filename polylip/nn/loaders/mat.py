"""Networks in MATLAB ``.mat`` files, in LipSDP's format (Fazlyab et al. 2019, repository
arobey1/LipSDP): a cell array ``weights = {W1, ..., WL}`` of matrices of shape (out, in),
first layer first, as LipSDP's examples save it from Python
(``savemat(path, {"weights": np.array(weights, dtype=object)})``).

Optional variables: ``biases`` (a cell array of vectors, one per layer, as Local-LipSDP's
networks carry them), ``activation`` (a name such as ``"relu"``, default ``"relu"``: LipSDP's
own files do not say), ``net_dims`` (the layer sizes, checked against the weights). Any other
variable is refused: polylip never guesses what an array means.

**A LipSDP file has no biases**, and the network read has none. LipSDP's bound, and every
global bound of the formal constant (all activation patterns), does not depend on the biases;
local bounds, lower bounds and the true constant do. The load says so in the log (INFO).

The file is read with :func:`scipy.io.loadmat` (a parser of the MAT format; nothing is
unpickled), after a size check (:data:`~polylip.nn.loaders.npz.MAX_NPZ_BYTES` by default);
MATLAB v7.3 files (HDF5) are refused with the way to convert them. The matrices then go
through the validation of ``.npz`` networks (:func:`~polylip.nn.loaders.npz.network_from_arrays`).

Examples
--------
>>> import numpy as np, os, tempfile
>>> from scipy.io import savemat
>>> path = os.path.join(tempfile.mkdtemp(), "weights.mat")
>>> weights = np.empty(2, dtype=object)
>>> weights[0], weights[1] = np.ones((3, 2)), np.ones((1, 3))
>>> savemat(path, {"weights": weights})
>>> load_mat(path).layer_sizes
[2, 3, 1]
"""

from __future__ import annotations

import logging
import os

import numpy as np

from polylip.errors import ModelError
from polylip.nn.loaders.npz import check_network_file, network_from_arrays
from polylip.nn.network import Network

__all__ = ["load_mat"]

log = logging.getLogger(__name__)

_FORMAT = ("LipSDP's .mat format: a cell array 'weights' = {W1, ..., WL} of (out, in) "
           "matrices, optional 'biases' (a cell array of vectors), 'activation' and "
           "'net_dims'")
_KNOWN = ("weights", "biases", "activation", "net_dims")


def _cells(value, path, name):
    """The entries of a MATLAB cell array (a numpy object array), in order."""
    if not isinstance(value, np.ndarray) or value.dtype != object:
        raise ModelError(f"{path}: {name!r} must be a cell array (one matrix a layer), got "
                         f"{'an array of dtype ' + str(value.dtype) if isinstance(value, np.ndarray) else type(value).__name__}"
                         f" of shape {np.shape(value)}; {_FORMAT}")
    if value.ndim != 2 or min(value.shape) != 1:
        raise ModelError(f"{path}: {name!r} must be a 1 x L cell array, got shape "
                         f"{value.shape}; {_FORMAT}")
    return list(value.reshape(-1))


def _text(value, path, name):
    if isinstance(value, np.ndarray) and value.dtype.kind == "U" and value.size == 1:
        return str(value.reshape(-1)[0]).strip()
    raise ModelError(f"{path}: {name!r} must be a character array such as 'relu'")


def load_mat(path, *, max_bytes=None) -> Network:
    """Load a network from a ``.mat`` file in LipSDP's format (see the module docstring).

    Raises
    ------
    ModelError
        A missing, unreadable, v7.3 or oversized file; no ``weights`` cell array; an unknown
        variable; matrices that do not chain; NaN or infinite entries.
    """
    path, limit = check_network_file(path, ".mat", max_bytes)
    size = os.path.getsize(path)
    if size > limit:
        raise ModelError(f"{path} holds {size} bytes, above the limit of {limit} (max_bytes)")
    with open(path, "rb") as fh:
        head = fh.read(128)
    if not head:
        raise ModelError(f"{path} is empty, not a .mat network")
    if head.startswith(b"\x89HDF") or b"MATLAB 7.3" in head:
        raise ModelError(f"{path} is a MATLAB v7.3 (HDF5) file, which polylip does not read: "
                         "save it with save(path, 'weights', '-v7'), or write the matrices to "
                         "a .npz (W0, W1, ...)")
    from scipy.io import loadmat  # lazy: scipy.io is loaded only by this format

    try:
        data = loadmat(path, squeeze_me=False, chars_as_strings=True)
    except Exception as exc:  # noqa: BLE001 - scipy raises many types on bad files
        text = str(exc).splitlines()[0] if str(exc) else ""
        raise ModelError(f"cannot read {path} as a MATLAB .mat file ({type(exc).__name__}: "
                         f"{text})") from exc
    names = sorted(k for k in data if not k.startswith("__"))
    if "weights" not in data:
        raise ModelError(f"{path} holds no cell array 'weights' (found {names[:20]}); {_FORMAT}")
    unknown = [k for k in names if k not in _KNOWN]
    if unknown:
        raise ModelError(f"{path}: unknown variable{'s' * (len(unknown) > 1)} "
                         f"{', '.join(repr(k) for k in unknown[:10])}; {_FORMAT} (polylip never "
                         "guesses what an array means)")
    arrays = {}
    for k, W in enumerate(_cells(data["weights"], path, "weights")):
        if not isinstance(W, np.ndarray) or W.dtype == object or W.ndim != 2:
            raise ModelError(f"{path}: weights{{{k + 1}}} must be a numeric matrix (out, in), "
                             f"got {type(W).__name__} of shape {np.shape(W)}")
        arrays[f"W{k}"] = W
    if "biases" in data:
        biases = _cells(data["biases"], path, "biases")
        if len(biases) != len(arrays):
            raise ModelError(f"{path}: {len(biases)} biases for {len(arrays)} weight matrices")
        for k, b in enumerate(biases):
            b = np.asarray(b)
            if b.dtype == object or b.ndim > 2 or (b.ndim == 2 and min(b.shape) > 1):
                raise ModelError(f"{path}: biases{{{k + 1}}} must be a vector, got shape "
                                 f"{b.shape}")
            arrays[f"b{k}"] = b.reshape(-1)
    else:
        log.info("%s: LipSDP's format has no biases; the network read has none (global bounds "
                 "of the formal constant do not depend on them, local and lower bounds do)",
                 path)
    if "activation" in data:
        arrays["activation"] = np.array(_text(data["activation"], path, "activation"))
    net = network_from_arrays(arrays, path, limit)
    if "net_dims" in data:
        dims = np.asarray(data["net_dims"], dtype=float).reshape(-1)
        if dims.tolist() != [float(v) for v in net.layer_sizes]:
            raise ModelError(f"{path}: net_dims {dims.astype(int).tolist()} do not match the "
                             f"weights' layer sizes {net.layer_sizes}")
    return net

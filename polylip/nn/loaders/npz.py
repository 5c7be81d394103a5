"""Networks in ``.npz`` files, validated before use.

The convention (:func:`save_npz` / :func:`load_npz`)
----------------------------------------------------
* ``W0, W1, ..., W{L-1}``: weight matrices of shape (out, in), layer 0 first. A sparse matrix is
  stored in CSR form as ``W{k}_data``, ``W{k}_indices``, ``W{k}_indptr``, ``W{k}_shape``.
* ``b0, b1, ...``: biases (optional; a missing bias is zero).
* ``activation``: one activation name for every hidden layer (default ``"relu"``), e.g.
  ``"relu"``, ``"leaky_relu:0.1"``, ``"tanh"``; or ``activations``: one name per hidden layer.
* ``output`` (optional): ``"scalar"``, ``"vector:inf"``, ``"vector:2"``, ``"vector:1"`` or
  ``"margin:i,j"``; default scalar for one output, else ``vector:inf``.
* ``input_shape`` (optional): (C, H, W) of image inputs.

What :func:`load_npz` checks, before it builds anything
-------------------------------------------------------
The file is read as a zip archive of ``.npy`` arrays, never with pickle. Every array's header
is read first (:mod:`numpy.lib.format`, no data loaded): object (pickled) arrays are refused,
as are dtypes other than numbers and strings, a header whose shape does not match the bytes
the archive holds, and arrays above ``max_bytes`` in total (default :data:`MAX_NPZ_BYTES`,
2 GiB). Then the layers: 2-D weights whose shapes chain, biases of the right length, no gap
in the numbering, and each sparse matrix's parts (indices within the column count, ``indptr``
starting at 0, non-decreasing, of length rows + 1 and ending at the number of stored values)
before scipy sees them. An empty, truncated or corrupt file is a :class:`ModelError`.

Examples
--------
>>> import numpy as np, tempfile, os
>>> from polylip.nn.network import Network
>>> path = os.path.join(tempfile.mkdtemp(), "net.npz")
>>> save_npz(Network.from_weights([np.ones((2, 3)), np.ones((1, 2))]), path)
>>> load_npz(path).layer_sizes
[3, 2, 1]
"""

from __future__ import annotations

import logging
import os
import re
import zipfile
import zlib

import numpy as np
import scipy.sparse as sp

from polylip.errors import ModelError
from polylip.nn.network import Network

__all__ = ["save_npz", "load_npz", "load_npy", "MAX_NPZ_BYTES", "network_from_arrays"]

log = logging.getLogger(__name__)

#: Default limit on the total size of the arrays of one ``.npz`` network (2 GiB).
MAX_NPZ_BYTES = 2 * 1024 ** 3

_KINDS = "biufUS"  # bool, int, uint, float, unicode and byte strings
_NAME = re.compile(r"^(W|b)(\d+)(?:_(data|indices|indptr|shape))?$")


def save_npz(net: Network, path) -> None:
    """Save ``net`` in the ``.npz`` convention of this module."""
    arrays = {}
    for k, (W, b) in enumerate(net.affine_layers):
        if sp.issparse(W):
            W = sp.csr_matrix(W)
            arrays[f"W{k}_data"] = W.data
            arrays[f"W{k}_indices"] = W.indices
            arrays[f"W{k}_indptr"] = W.indptr
            arrays[f"W{k}_shape"] = np.array(W.shape)
        else:
            arrays[f"W{k}"] = W
        arrays[f"b{k}"] = b
    specs = [a.spec() for a in net.activations]
    if len(set(specs)) <= 1:
        arrays["activation"] = np.array(specs[0] if specs else "relu")
    else:
        arrays["activations"] = np.array(specs)
    arrays["output"] = np.array(net.output.spec())
    if net.input_shape is not None:
        arrays["input_shape"] = np.array(net.input_shape)
    np.savez(path, **arrays)


def _fmt_bytes(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)  # pragma: no cover


def _read_arrays(path, max_bytes) -> dict:
    """The arrays of the archive, each header validated before its data is read."""
    if os.path.getsize(path) == 0:
        raise ModelError(f"{path} is empty, not a .npz network")
    if not zipfile.is_zipfile(path):
        raise ModelError(f"{path} is not a .npz (zip) archive of arrays")
    fmt = np.lib.format
    arrays, total = {}, 0
    try:
        with zipfile.ZipFile(path) as zf:
            members = [i for i in zf.infolist() if i.filename.endswith(".npy")]
            names = [i.filename for i in members]
            dup = sorted({n for n in names if names.count(n) > 1}) if len(set(names)) < len(
                names) else []
            if dup:  # zip tools and numpy would disagree on which copy is the array
                raise ModelError(f"{path}: the archive holds {dup[0]!r} more than once; "
                                 "refused (which copy is the network is ambiguous)")
            headers = {}
            for info in members:
                key = info.filename[:-4]
                with zf.open(info) as f:
                    try:
                        version = fmt.read_magic(f)
                        if version == (1, 0):
                            shape, fortran, dtype = fmt.read_array_header_1_0(f)
                        elif version == (2, 0):
                            shape, fortran, dtype = fmt.read_array_header_2_0(f)
                        else:
                            raise ValueError(f"unsupported .npy format version {version}")
                    except ValueError as exc:
                        raise ModelError(f"{path}: array {key} has a malformed header: {exc}"
                                         ) from exc
                    offset = f.tell()
                if dtype.hasobject:
                    raise ModelError(f"{path}: array {key} is an object array, stored with "
                                     "pickle; polylip never unpickles .npz content (numeric "
                                     "and string arrays only)")
                if dtype.kind not in _KINDS or dtype.fields is not None:
                    raise ModelError(f"{path}: array {key} has dtype {dtype}; a network holds "
                                     "numeric and string arrays only")
                if any(int(d) < 0 for d in shape):
                    raise ModelError(f"{path}: array {key} declares a negative dimension in "
                                     f"its shape {tuple(shape)}")
                count = 1
                for d in shape:
                    count *= int(d)
                nbytes = count * dtype.itemsize
                if nbytes > max_bytes or total + nbytes > max_bytes:
                    raise ModelError(
                        f"{path}: array {key} declares shape {tuple(shape)} ({_fmt_bytes(nbytes)}"
                        f"), above the limit of {_fmt_bytes(max_bytes)} for a network's arrays "
                        "(max_bytes); refused before allocating it")
                if info.file_size != offset + nbytes:
                    raise ModelError(
                        f"{path}: array {key} declares shape {tuple(shape)} and dtype {dtype} "
                        f"({nbytes} bytes) but the archive holds {info.file_size - offset} bytes "
                        "for it: the file is corrupt")
                total += nbytes
                headers[key] = info
            for key, info in headers.items():
                with zf.open(info) as f:
                    arrays[key] = fmt.read_array(f, allow_pickle=False)
    except ModelError:
        raise
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, KeyError,
            NotImplementedError, RuntimeError) as exc:
        # zipfile raises NotImplementedError for an unknown compression method and
        # RuntimeError for an encrypted member (QA round 4: one flipped bit of a valid file)
        raise ModelError(f"cannot read {path} as a .npz network: {type(exc).__name__}: {exc}"
                         ) from exc
    return arrays


_OTHER = ("activation", "activations", "output", "input_shape")
_CONVENTION = ("polylip's .npz convention: W0, b0, W1, b1, ... (weights of shape (out, in), "
               "biases), optional activation or activations, output, input_shape "
               "(see docs/lipschitz.md)")
_TRANSPOSED = ("; the weights look stored as (in, out): polylip's convention is (out, in), "
               "like torch's Linear.weight, so transpose them")


def _transposed_hint(arrays, k):
    """The transposition hint when W{k-1}.T, W{k}.T would chain (dense weights only)."""
    a, b = arrays.get(f"W{k - 1}"), arrays.get(f"W{k}")
    if a is None or b is None or np.ndim(a) != 2 or np.ndim(b) != 2:
        return ""
    return _TRANSPOSED if np.shape(b)[0] == np.shape(a)[1] else ""


def _header(f, label):
    """(shape, dtype) of the ``.npy`` stream ``f`` from its header alone (no data read)."""
    fmt = np.lib.format
    try:
        version = fmt.read_magic(f)
        if version == (1, 0):
            shape, _, dtype = fmt.read_array_header_1_0(f)
        elif version == (2, 0):
            shape, _, dtype = fmt.read_array_header_2_0(f)
        else:
            raise ValueError(f"unsupported .npy format version {version}")
    except (ValueError, EOFError, OSError) as exc:
        raise ModelError(f"{label} is not a valid .npy array ({exc})") from None
    return shape, dtype


def load_npy(path, *, what="array", max_bytes=None) -> np.ndarray:
    """A real numeric array from a ``.npy`` file, validated from its header first.

    What the command line's ``--center`` and ``--centers`` read. Refused with a
    :class:`ModelError` naming ``what``: a missing file or a directory, anything but a
    ``.npy`` file (an ``.npz`` archive, text, a pickle), object, string or complex arrays, a
    header whose shape does not match the bytes stored, and arrays above ``max_bytes``
    (default :data:`MAX_NPZ_BYTES`), before any allocation. Never unpickles.

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "c.npy")
    >>> np.save(path, np.zeros(3))
    >>> load_npy(path, what="the center").tolist()
    [0.0, 0.0, 0.0]
    """
    path = os.fspath(path)
    label = f"{what} {path}"
    if not os.path.exists(path):
        raise ModelError(f"{label}: no such file")
    if not os.path.isfile(path):
        raise ModelError(f"{label} is not a file")
    limit = MAX_NPZ_BYTES if max_bytes is None else int(max_bytes)
    if zipfile.is_zipfile(path):
        raise ModelError(f"{label} is a zip (.npz) archive; give one array saved with "
                         "numpy.save (.npy)")
    with open(path, "rb") as f:
        shape, dtype = _header(f, label)
        if dtype.hasobject or dtype.kind not in "biuf" or dtype.fields is not None:
            pickled = " (pickled objects: polylip never unpickles)" if dtype.hasobject else ""
            raise ModelError(f"{label}: expected an array of real numbers, got dtype "
                             f"{dtype}{pickled}")
        count = 1
        for d in shape:
            count *= int(d)
        nbytes = count * dtype.itemsize
        if nbytes > limit:
            raise ModelError(f"{label} declares shape {tuple(shape)} ({_fmt_bytes(nbytes)}), "
                             f"above the limit of {_fmt_bytes(limit)}; refused before reading it")
        offset = f.tell()
        if os.path.getsize(path) - offset != nbytes:
            raise ModelError(f"{label} declares shape {tuple(shape)} ({nbytes} bytes) but holds "
                             f"{os.path.getsize(path) - offset} bytes of data: the file is corrupt")
        try:
            f.seek(0)
            return np.lib.format.read_array(f, allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise ModelError(f"cannot read {label}: {exc}") from None


def _ints(a, path, name):
    a = np.asarray(a)
    if a.dtype.kind == "u" and a.size and a.max() > np.iinfo(np.int64).max:
        raise ModelError(f"{path}: {name} holds an integer too large ({int(a.max())})")
    if a.dtype.kind in "iu":
        return a.astype(np.int64, copy=False)
    if a.dtype.kind == "f" and np.all(np.isfinite(a)) and np.all(a == np.round(a)):
        if a.size and np.abs(a).max() >= 2.0 ** 62:  # the cast would wrap around
            raise ModelError(f"{path}: {name} holds an integer too large ({np.abs(a).max():g})")
        return a.astype(np.int64)
    raise ModelError(f"{path}: {name} must hold integers, got dtype {a.dtype}")


def _numeric(a, path, name):
    a = np.asarray(a)
    if a.dtype.kind not in "biuf":
        raise ModelError(f"{path}: {name} must be numeric, got dtype {a.dtype}")
    return a.astype(float, copy=False)


def _sparse(arrays, k, path):
    names = [f"W{k}_{p}" for p in ("data", "indices", "indptr", "shape")]
    missing = [n for n in names if n not in arrays]
    if missing:
        raise ModelError(f"{path}: sparse matrix W{k} lacks {', '.join(missing)}")
    data = _numeric(arrays[names[0]], path, names[0])
    indices = _ints(arrays[names[1]], path, names[1])
    indptr = _ints(arrays[names[2]], path, names[2])
    shape = _ints(arrays[names[3]], path, names[3])
    for name, a in zip(names[:3], (data, indices, indptr)):
        if a.ndim != 1:
            raise ModelError(f"{path}: {name} must be 1-D, got shape {a.shape}")
    if shape.shape != (2,) or np.any(shape < 1):
        raise ModelError(f"{path}: W{k}_shape must be two positive integers (rows, columns), "
                         f"got {shape.tolist()}")
    rows, cols = int(shape[0]), int(shape[1])
    if indptr.size != rows + 1:
        raise ModelError(f"{path}: W{k}_indptr has {indptr.size} entries, expected rows + 1 = "
                         f"{rows + 1}")
    if indptr[0] != 0 or np.any(np.diff(indptr) < 0):
        raise ModelError(f"{path}: W{k}_indptr must start at 0 and never decrease")
    if data.size != indices.size or indptr[-1] != indices.size:
        raise ModelError(f"{path}: sparse matrix W{k}: {data.size} values, {indices.size} "
                         f"indices and indptr ending at {int(indptr[-1])} do not agree")
    if indices.size and (indices.min() < 0 or indices.max() >= cols):
        raise ModelError(f"{path}: W{k}_indices must lie in [0, {cols}) (the column count), got "
                         f"values in [{int(indices.min())}, {int(indices.max())}]")
    index = np.int32 if max(rows, cols, indices.size) < 2 ** 31 - 1 else np.int64
    W = sp.csr_matrix((data, indices.astype(index), indptr.astype(index)), shape=(rows, cols))
    W.sum_duplicates()
    return W


def _text(a, path, name):
    a = np.asarray(a)
    if a.dtype.kind not in "US":
        raise ModelError(f"{path}: {name} must be a string array, got dtype {a.dtype}")
    return [v.decode() if isinstance(v, bytes) else str(v) for v in a.reshape(-1).tolist()]


def load_npz(path, *, max_bytes=None) -> Network:
    """Load a network from an ``.npz`` file in the convention of this module, validating it
    first (see the module docstring); ``max_bytes`` caps the total size of its arrays
    (default :data:`MAX_NPZ_BYTES`)."""
    path, limit = check_network_file(path, ".npz", max_bytes)
    return network_from_arrays(_read_arrays(path, limit), path, limit)


def check_network_file(path, kind: str, max_bytes=None):
    """``(path, limit)`` for a network file that exists and is not a directory (else a
    :class:`ModelError` naming it); ``limit`` is ``max_bytes`` or :data:`MAX_NPZ_BYTES`."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise ModelError(f"no such network file: {path}")
    if os.path.isdir(path):
        raise ModelError(f"{path} is a directory, not a {kind} network")
    return path, MAX_NPZ_BYTES if max_bytes is None else int(max_bytes)


def network_from_arrays(arrays, path, limit=MAX_NPZ_BYTES) -> Network:
    """The network that ``arrays`` (names of this module's convention -> numpy arrays) hold,
    validated as :func:`load_npz` validates a file's (``path`` names it in errors; ``limit``
    caps a layer's width at ``limit / 8``). Also the last step of other array formats
    (:mod:`polylip.nn.loaders.mat`)."""
    files = set(arrays)
    indices, unknown = {}, []
    for name in files:
        m = _NAME.match(name)
        if m and not (m.group(1) == "b" and m.group(3)):
            indices.setdefault(m.group(1), set()).add(int(m.group(2)))
        elif name not in _OTHER:
            unknown.append(name)
    ws = indices.get("W", set())
    if not ws:
        raise ModelError(f"{path} holds no weights W0, W1, ... (found {sorted(files)[:20]}); "
                         f"{_CONVENTION}")
    if unknown:  # a misspelt 'activation' would otherwise be read as the default ReLU
        shown = ", ".join(repr(n) for n in sorted(unknown)[:10])
        raise ModelError(f"{path}: unknown array{'s' * (len(unknown) > 1)} {shown} in a .npz "
                         f"network; {_CONVENTION}. Remove or rename {'them' if len(unknown) > 1 else 'it'}"
                         " (polylip never guesses what an array means)")
    order = sorted(ws)
    L = order[-1] + 1
    if len(order) != L:  # never materialize range(L): a name such as W10**20 costs nothing
        gap = next(i for i, k in enumerate(order) if k != i)
        hint = (" (the numbering starts at W1: polylip's starts at W0 for the first layer)"
                if gap == 0 and order == list(range(1, len(order) + 1)) else "")
        raise ModelError(f"{path}: weights W{gap} missing between W0 and W{L - 1}{hint}")
    extra_b = sorted(i for i in indices.get("b", set()) if i >= L)
    if extra_b:
        raise ModelError(f"{path}: bias b{extra_b[0]} has no weight matrix W{extra_b[0]}")
    max_dim = max(1, limit // 8)  # a width implies float vectors of that length
    weights, biases = [], []
    for k in range(L):
        dense = f"W{k}" in arrays
        if dense and any(f"W{k}_{p}" in arrays for p in ("data", "indices", "indptr", "shape")):
            raise ModelError(f"{path}: W{k} is stored both dense and sparse")
        if dense:
            W = _numeric(arrays[f"W{k}"], path, f"W{k}")
            if W.ndim != 2:
                raise ModelError(f"{path}: W{k} must be 2-D (out, in), got shape {W.shape}")
        else:
            W = _sparse(arrays, k, path)
        if W.shape[0] == 0 or W.shape[1] == 0:
            raise ModelError(f"{path}: W{k} is empty, shape {W.shape}")
        if max(W.shape) > max_dim:
            raise ModelError(f"{path}: W{k} has shape {W.shape}: a layer that wide needs vectors "
                             f"of more than {_fmt_bytes(limit)} (max_bytes); refused")
        if k > 0 and W.shape[1] != weights[-1].shape[0]:
            raise ModelError(f"{path}: layer {k} (W{k}) expects {W.shape[1]} inputs but layer "
                             f"{k - 1} has {weights[-1].shape[0]} outputs"
                             f"{_transposed_hint(arrays, k)}")
        b = arrays.get(f"b{k}")
        if b is not None:
            b = _numeric(b, path, f"b{k}").reshape(-1) if np.ndim(b) <= 1 else None
            if b is None or b.size != W.shape[0]:
                hint = (_TRANSPOSED if b is not None and b.size == W.shape[1]
                        and W.shape[0] != W.shape[1] else "")
                raise ModelError(f"{path}: b{k} has shape {np.shape(arrays[f'b{k}'])}, expected "
                                 f"({W.shape[0]},) for W{k} of shape {W.shape}{hint}")
        weights.append(W)
        biases.append(b)
    if "activations" in arrays:
        acts = _text(arrays["activations"], path, "activations")
    elif "activation" in arrays:
        names = _text(arrays["activation"], path, "activation")
        if len(names) != 1:
            raise ModelError(f"{path}: activation must be one name; use 'activations' for one "
                             "per hidden layer")
        acts = names[0]
    else:
        acts = "relu"
    output = None
    if "output" in arrays:
        out = _text(arrays["output"], path, "output")
        if len(out) != 1:
            raise ModelError(f"{path}: output must be one string such as 'margin:3,5'")
        output = out[0]
    input_shape = None
    if "input_shape" in arrays:
        shape = _ints(arrays["input_shape"], path, "input_shape")
        if shape.ndim != 1 or shape.size == 0 or np.any(shape < 1):
            raise ModelError(f"{path}: input_shape must be a vector of positive integers such "
                             f"as (C, H, W), got {shape.tolist()}")
        input_shape = tuple(int(v) for v in shape)
    try:
        net = Network(list(zip(weights, biases)), acts, output, input_shape=input_shape)
    except ModelError as exc:
        raise ModelError(f"{path}: {exc}") from exc
    log.info("loaded %r from %s", net, path)
    return net

"""Reading and writing networks: ``.npz`` files, PyTorch modules and files, ONNX models.

* :func:`load_model` reads a file by its extension (``.npz``, ``.onnx``, ``.pt``/``.pth``);
  this is what the command line calls.
* :func:`load_npz` / :func:`save_npz`: the ``.npz`` convention (:mod:`polylip.nn.loaders.npz`:
  ``W0, b0, W1, b1, ...``, ``activation``, ``output``, ``input_shape``), validated before use.
* :func:`load_mat`: LipSDP's ``.mat`` files (a cell array ``weights`` of (out, in) matrices;
  :mod:`polylip.nn.loaders.mat`), read with :func:`scipy.io.loadmat`, never unpickled.
* :func:`from_torch` (extra ``torch``; :mod:`polylip.nn.loaders.torch`): ``nn.Sequential``,
  modules whose forward is a chain of supported layers (traced with ``torch.fx``),
  TorchScript, a module plus a ``state_dict``; BatchNorm folded, Dropout ignored.
* :func:`from_onnx` (extra ``onnx``; :mod:`polylip.nn.loaders.onnx`): the chain of operators
  up to the graph's declared output.
* :func:`as_network`: a :class:`Network`, a ``torch.nn.Module`` or an ``onnx.ModelProto`` as a
  :class:`Network` (what :func:`polylip.lipschitz` accepts).

Every network read from torch or ONNX is checked against the framework's own forward pass
(and, for torch, its autograd gradient) on seeded random inputs in float64, relative
tolerance 1e-6: a network polylip might have misread is refused, never bounded. Nothing is
unpickled unless ``trust_pickle=True`` is given (see ``docs/security.md``).

Examples
--------
>>> import numpy as np, tempfile, os
>>> from polylip.nn.network import Network
>>> net = Network.from_weights([np.ones((2, 3)), np.ones((1, 2))], activation="tanh")
>>> path = os.path.join(tempfile.mkdtemp(), "net.npz")
>>> net.save(path)
>>> Network.load(path).activations[0].name
'tanh'
>>> load_model(path, output="scalar").layer_sizes
[3, 2, 1]
"""

from __future__ import annotations

import os
import sys
import zipfile

from polylip.errors import ModelError
from polylip.nn.loaders.mat import load_mat
from polylip.nn.loaders.npz import MAX_NPZ_BYTES, load_npz, save_npz
from polylip.nn.loaders.onnx import from_onnx
from polylip.nn.loaders.torch import from_torch, load_torch_file
from polylip.nn.network import Network

__all__ = ["load_model", "save_npz", "load_npz", "load_mat", "from_torch", "from_onnx",
           "load_torch_file", "as_network", "MAX_NPZ_BYTES"]

_TORCH_EXT = (".pt", ".pth")


def _sniff(path):
    """'npz', 'torch' or None from the content of a file without a known extension."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        # ValueError: a member name flagged UTF-8 that is not (one flipped bit of a torch
        # file, QA round 4): no sniffed kind, the extension's reader says what is wrong
        return None
    if names and all(n.endswith(".npy") for n in names):
        return "npz"
    if any(n.endswith("data.pkl") for n in names):
        return "torch"
    return None


def load_model(path, *, trust_pickle=False, input_shape=None, output=None) -> Network:
    """Load a network file: ``.npz``, ``.mat`` (LipSDP's), ``.onnx``, or ``.pt``/``.pth``
    (torch).

    Parameters
    ----------
    path : str or os.PathLike
    trust_pickle : bool
        Allow a torch file that holds a whole pickled module or a TorchScript archive.
        Unpickling runs code named by the file: give True only for files you trust. By
        default torch files are read with ``torch.load(weights_only=True)``.
    input_shape : tuple, optional
        (C, H, W) of image inputs, for a torch or ONNX model whose first layer is a
        convolution and whose file does not say it; for ``.npz`` it is recorded on the network.
    output : optional output functional (``"scalar"``, ``"margin:i,j"``, ``"vector:inf"``,
        ...); default as in :class:`Network`.

    Raises
    ------
    ModelError
        Missing, unreadable or unsupported file; a file that needs ``trust_pickle``; a model
        whose network does not reproduce its framework's forward pass.
    MissingDependencyError
        ``.pt`` without torch, ``.onnx`` without onnx installed.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise ModelError(f"no such model file: {path}")
    low = path.lower()
    kind = ("onnx" if low.endswith(".onnx") else "torch" if low.endswith(_TORCH_EXT)
            else "npz" if low.endswith(".npz") else "mat" if low.endswith(".mat") else None)
    if kind != "onnx" and os.path.isfile(path):
        # the content wins over the extension (both readers are safe): a .npz saved as
        # "net.pt" once reached torch.load, which failed with an inline_container error
        kind = _sniff(path) or kind
    if kind == "onnx":
        return from_onnx(path, output=output, input_shape=input_shape)
    if kind == "torch":
        return load_torch_file(path, trust_pickle=trust_pickle, input_shape=input_shape,
                               output=output)
    if kind in ("npz", "mat"):
        net = load_npz(path) if kind == "npz" else load_mat(path)
        if input_shape is not None:
            net = Network(net.affine_layers, net.activations, net.output, input_shape)
        return net if output is None else net.with_output(output)
    raise ModelError(f"{path}: unknown model file type; expected .npz, .mat, .onnx, .pt or .pth")


def as_network(model, *, input_shape=None, output=None):
    """``model`` as a :class:`Network` when it is one, a ``torch.nn.Module`` (read with
    :func:`from_torch`) or an ``onnx.ModelProto`` (:func:`from_onnx`); anything else is
    returned unchanged, for the caller to refuse."""
    if isinstance(model, Network):
        return model if output is None else model.with_output(output)
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(model, torch.nn.Module):
        return from_torch(model, input_shape=input_shape, output=output)
    onnx = sys.modules.get("onnx")
    if onnx is not None and isinstance(model, onnx.ModelProto):
        return from_onnx(model, output=output, input_shape=input_shape)
    return model

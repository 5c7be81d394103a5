"""PyTorch models to :class:`~polylip.nn.network.Network` (extra ``torch``).

What is read
------------
* ``nn.Sequential`` (nested allowed), walked child by child;
* any other module, traced with :func:`torch.fx.symbolic_trace`: its forward must be a chain
  (each step uses the result of the step before, and forward returns the last one) of the
  supported layers and functions; an ``nn.Sequential`` subclass is traced too, so a forward of
  its own (say ``100 * super().forward(x)``) is read as written, never as the plain chain;
* TorchScript (``torch.jit.ScriptModule``, scripted or traced): the graph of the frozen module
  (:func:`torch.jit.freeze`), read under the same chain rule;
* a module to fill plus a ``state_dict`` (a mapping, or a ``.pt`` file holding one, read with
  ``torch.load(weights_only=True)``).

Layers: ``Linear``, ``Conv2d`` (any stride, dilation, groups; zero padding, ``"same"``),
``Conv1d`` (as the 2-D convolution of height 1; ``input_shape=(C, L)``),
``AvgPool2d`` and ``AdaptiveAvgPool2d`` (exact linear maps, composed into the neighbouring
affine layer; also ``F.avg_pool2d``, ``F.adaptive_avg_pool2d`` and ``x.mean((2, 3))`` in a
traced forward), ``BatchNorm1d`` and
``BatchNorm2d`` (inference mode: running statistics and eps, folded into the affine layer
before them), ``Flatten``, ``ReLU``, ``LeakyReLU``, ``ELU``, ``Tanh``, ``Sigmoid``,
``Softplus`` (any beta > 0), ``Identity`` and ``Dropout`` (ignored); a final element-wise
activation is read as a hidden layer followed by the identity. In a traced forward also their
functional forms (``F.relu``, ``torch.tanh``, ``F.linear``, ...), ``flatten``/``view``/
``reshape`` to ``(batch, -1)``, ``squeeze(-1)`` of a one-column output (last), and
multiplication, division, addition and subtraction by constants (folded into the
neighbouring affine layer). The readers: :mod:`polylip.nn.loaders._torch_reader` (layers and
``torch.fx`` graphs) and :mod:`polylip.nn.loaders._torchscript`.

Every network read is checked against the module itself: forward pass and autograd gradient
on seeded random inputs, in float64 on a copy of the module put in evaluation mode; a
relative difference above 1e-6 is a :class:`~polylip.errors.ModelError`. The module passed
in is never modified.

Files (:func:`load_torch_file`): ``torch.load(..., weights_only=True)`` by default, which reads
tensors and plain containers only. A whole pickled module, or a TorchScript archive, holds
code that loading runs: it needs ``trust_pickle=True``.
"""

from __future__ import annotations

import copy
import logging
import os
import warnings
import zipfile
from collections.abc import Mapping

from polylip.errors import ModelError, require
from polylip.nn.loaders._build import Builder, verify
from polylip.nn.loaders._torch_reader import SUPPORTED_LAYERS, _Reader
from polylip.nn.network import Network

__all__ = ["from_torch", "load_torch_file", "load_state_dict", "SUPPORTED_LAYERS"]

log = logging.getLogger(__name__)

TRUST_RISK = ("unpickling runs whatever code the file names, with your permissions: pass "
              "trust_pickle=True (CLI: --trust-pickle) only for a file from a source you trust; "
              "or save model.state_dict() and load it with Network.from_torch(module, "
              "state_dict=path)")


# --------------------------------------------------------------------------------------------
# entry points
# --------------------------------------------------------------------------------------------
def _torch_load(torch, path, weights_only):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.load(path, map_location="cpu", weights_only=weights_only)


def load_state_dict(state_dict):
    """A state_dict from a mapping, or from a ``.pt`` file read with
    ``torch.load(weights_only=True)`` (a checkpoint dict with a ``"state_dict"`` or
    ``"model_state_dict"`` entry is accepted)."""
    torch = require("torch", "loading a state_dict", "torch")
    source = "the state_dict"
    if isinstance(state_dict, (str, os.PathLike)):
        path = os.fspath(state_dict)
        source = path
        if not os.path.exists(path):
            raise ModelError(f"no such state_dict file: {path}")
        try:
            state_dict = _torch_load(torch, path, True)
        except Exception as exc:  # noqa: BLE001
            raise ModelError(f"{path}: cannot read a state_dict with torch.load(weights_only="
                             f"True) ({type(exc).__name__}: {str(exc).splitlines()[0]}); a "
                             "state_dict file holds tensors only") from exc
    if isinstance(state_dict, Mapping) and not all(torch.is_tensor(v)
                                                   for v in state_dict.values()):
        for key in ("state_dict", "model_state_dict"):
            if isinstance(state_dict.get(key), Mapping):
                state_dict = state_dict[key]
                break
    if not isinstance(state_dict, Mapping) or not all(
            isinstance(k, str) and torch.is_tensor(v) for k, v in state_dict.items()):
        raise ModelError(f"{source} is not a state_dict (a mapping of parameter names to "
                         "tensors)")
    return state_dict


def _refuse_hooks(torch, module, source):
    """Refuse a module whose forward runs hooks (its own or any submodule's, or torch's
    global module hooks): a hook may change what a layer computes, and the layers, which is
    what polylip reads, do not say so. The check on random inputs does not catch every hook
    (a clamp above the inputs' range was read as plain ReLU: relative error 1.8 at inputs of
    scale 3; found by the QA round of issue 14)."""
    from torch.nn.modules import module as torch_module  # torch's global hook registries
    for kind in ("_global_forward_hooks", "_global_forward_pre_hooks"):
        if getattr(torch_module, kind, None):
            raise ModelError(f"{source}: a global torch module {kind[8:].replace('_', ' ')[:-1]} "
                             "is registered (torch.nn.modules.module.register_module_"
                             f"{kind[8:-1]}): it may change every layer's output; remove it "
                             "to read the network")
    if isinstance(module, torch.jit.ScriptModule):
        return  # TorchScript runs no Python hooks
    for name, sub in module.named_modules():
        for kind in ("_forward_hooks", "_forward_pre_hooks"):
            if getattr(sub, kind, None):
                where = f"layer {name!r} ({type(sub).__name__})" if name else \
                    f"the module itself ({type(sub).__name__})"
                raise ModelError(f"{source}: {where} has a {kind[1:].replace('_', ' ')[:-1]} "
                                 "(register_" + kind[1:-1] + "), which may change what it "
                                 "computes: polylip reads the layers, not the hooks; remove it "
                                 "(handle.remove()) or bake it into the layers")


def _warn_training_mode(torch, module, source):
    """A module in training mode whose BatchNorm or Dropout layers then compute something else
    than in evaluation mode (batch statistics, random masks) is read in evaluation mode, as
    documented; say so, since ``module(x)`` as given does not compute that network (QA round
    of issue 14: a BatchNorm2d network in training mode, relative difference 0.71 between
    ``module(x)`` and the network read)."""
    nn = torch.nn
    kinds = (nn.modules.batchnorm._BatchNorm, nn.modules.dropout._DropoutNd)
    found = [name or type(sub).__name__ for name, sub in module.named_modules()
             if isinstance(sub, kinds) and sub.training
             and not (isinstance(sub, nn.modules.dropout._DropoutNd) and sub.p == 0)]
    if found:
        log.warning("%s is in training mode: its layer%s %s compute%s with batch statistics "
                    "or random masks there; polylip reads it in evaluation mode "
                    "(module.eval(): running statistics, no dropout)", source,
                    "s" if len(found) > 1 else "", ", ".join(repr(f) for f in found[:5]),
                    "" if len(found) > 1 else "s")


#: The prefix ``torch.nn.DataParallel`` and ``DistributedDataParallel`` give every key of the
#: state_dict of the module they wrap (``model.module``).
WRAPPER_PREFIX = "module."


def _strip_module_prefix(sd, module, source):
    """A state_dict saved from a DataParallel / DistributedDataParallel wrapper has every key
    prefixed by ``module.``: stripped when every key has it and the module's own keys do not
    (said in the log); any other mismatch is left to ``load_state_dict(strict=True)``."""
    own = module.state_dict().keys()
    if sd and all(k.startswith(WRAPPER_PREFIX) for k in sd) and not all(
            k.startswith(WRAPPER_PREFIX) for k in own):
        log.warning("the state_dict for %s has every key prefixed by %r (saved from a "
                    "DataParallel / DistributedDataParallel wrapper): the prefix is stripped",
                    source, WRAPPER_PREFIX)
        return {k[len(WRAPPER_PREFIX):]: v for k, v in sd.items()}
    return sd


def _working_copy(torch, module):
    """A deep copy of ``module`` in evaluation mode, on the CPU, in float64."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            work = copy.deepcopy(module)
    except Exception as exc:  # noqa: BLE001
        raise ModelError(f"cannot copy the torch module {type(module).__name__} to read it "
                         f"({type(exc).__name__}: {exc})") from exc
    work.eval()
    try:
        with warnings.catch_warnings():  # a TorchScript module's .to() warns about .grad of
            warnings.simplefilter("ignore")  # non-leaf tensors: noise on the CLI's stderr
            work.to(device="cpu", dtype=torch.float64)
    except Exception as exc:  # noqa: BLE001
        raise ModelError(f"cannot convert the torch module {type(module).__name__} to float64 "
                         f"on the CPU ({type(exc).__name__}: {exc})") from exc
    return work


def from_torch(module, input_shape=None, output=None, *, state_dict=None) -> Network:
    """Convert a torch model to a :class:`Network` (extra ``torch``); see the module docstring.

    Parameters
    ----------
    module : torch.nn.Module
        ``nn.Sequential``, a module whose forward is a chain of supported layers, or a
        TorchScript module. It is not modified (a copy is read, in evaluation mode).
    input_shape : tuple, optional
        (C, H, W) when the first layer is a 2-D convolution, (C, L) for a 1-D one.
    output : optional output functional (see :class:`Network`).
    state_dict : mapping or path, optional
        Parameters to load into (a copy of) ``module`` first, strictly: every key must match
        (after stripping the ``module.`` prefix of a DataParallel / DistributedDataParallel
        state_dict, when every key has it; said in the log).

    Raises
    ------
    ModelError
        An unsupported layer (named, with its position), a forward that is not a chain, a
        state_dict that does not fit, or a network that does not reproduce the module's own
        forward pass and gradient.
    """
    torch = require("torch", "Network.from_torch", "torch")
    if not isinstance(module, torch.nn.Module):
        raise ModelError(f"from_torch expects a torch.nn.Module, got {type(module).__name__}")
    source = f"torch module {getattr(module, 'original_name', None) or type(module).__name__}"
    _refuse_hooks(torch, module, source)
    _warn_training_mode(torch, module, source)
    work = _working_copy(torch, module)
    if state_dict is not None:
        sd = _strip_module_prefix(load_state_dict(state_dict), work, source)
        try:
            work.load_state_dict(sd, strict=True)
        except Exception as exc:  # noqa: BLE001 - RuntimeError with the key lists
            raise ModelError(f"the state_dict does not fit {source}: {exc}") from exc
    reader = _Reader(torch, Builder(input_shape))
    reader.module(work, "")
    net = reader.b.build(output)
    shape = net.input_shape or (net.input_dim,)

    def forward(X):
        with torch.no_grad():
            return work(torch.tensor(X.reshape((len(X),) + shape))).detach().numpy()

    def gradient(X, u):
        x = torch.tensor(X.reshape((len(X),) + shape), requires_grad=True)
        y = work(x).reshape(len(X), -1)
        (y @ torch.tensor(u)).sum().backward()
        return x.grad.detach().numpy()

    verify(net, forward, gradient, source=source, framework="torch")
    log.info("read %r from %s", net, source)
    return net


def _is_torchscript_archive(path):
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return False  # ValueError: a member name that is not UTF-8 (one flipped bit)
    return any("/code/" in n for n in names) and any(n.endswith("constants.pkl") for n in names)


def load_torch_file(path, *, trust_pickle=False, input_shape=None, output=None) -> Network:
    """Read a ``.pt``/``.pth`` file holding a torch module (see :func:`from_torch`).

    By default the file is read with ``torch.load(weights_only=True)``, which loads tensors
    and plain containers and never runs code from the file; a whole pickled module or a
    TorchScript archive needs ``trust_pickle=True`` (loading it can run arbitrary code). A
    file holding only a state_dict needs the module's class:
    ``Network.from_torch(module, state_dict=path)``.
    """
    torch = require("torch", "loading .pt models", "torch")
    path = os.fspath(path)
    if not os.path.exists(path):
        raise ModelError(f"no such model file: {path}")
    with open(path, "rb") as fh:
        head = fh.read(4)
    if not head:
        raise ModelError(f"{path} is empty, not a torch model file")
    if not (head.startswith(b"PK\x03\x04") or head[:1] == b"\x80"):
        # torch files are zip archives (torch >= 1.6) or pickles (protocol 2+, b"\x80");
        # anything else is not one, whatever torch's weights_only message suggests
        raise ModelError(f"{path} is not a torch file (neither a zip archive nor a pickle)")
    if _is_torchscript_archive(path):
        if not trust_pickle:
            raise ModelError(f"{path} is a TorchScript archive: it holds a program that torch "
                             f"runs, and polylip loads it only when told to trust it; "
                             f"{TRUST_RISK}")
        try:
            obj = torch.jit.load(path, map_location="cpu")
        except Exception as exc:  # noqa: BLE001
            raise ModelError(f"cannot load {path} with torch.jit.load: {exc}") from exc
    else:
        try:
            obj = _torch_load(torch, path, not trust_pickle)
        except Exception as exc:  # noqa: BLE001 - torch raises many types on bad files
            text = str(exc)
            if not trust_pickle and ("Weights only load failed" in text
                                     or "weights_only" in text):
                raise ModelError(
                    f"{path} holds pickled Python objects (e.g. a whole torch module), not only "
                    f"tensors, so torch.load(weights_only=True) refuses it; {TRUST_RISK}"
                ) from exc
            raise ModelError(f"cannot load {path} with torch: {type(exc).__name__}: "
                             f"{text.splitlines()[0] if text else ''}") from exc
    if isinstance(obj, Mapping):
        raise ModelError(f"{path} holds a state_dict (parameters only), not a module: build "
                         "the module in Python and call Network.from_torch(module, "
                         f"state_dict={path!r})")
    if not isinstance(obj, torch.nn.Module):
        raise ModelError(f"{path} holds a {type(obj).__name__}, not a torch module")
    return from_torch(obj, input_shape=input_shape, output=output)

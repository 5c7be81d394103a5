"""Reading and writing networks: ``.npz`` files, PyTorch modules, ONNX models.

The ``.npz`` convention (:func:`save_npz` / :func:`load_npz`)
----------------------------------------------------------------
* ``W0, W1, ..., W{L-1}``: weight matrices of shape (out, in), layer 0 first. A sparse matrix is
  stored in CSR form as ``W{k}_data``, ``W{k}_indices``, ``W{k}_indptr``, ``W{k}_shape``.
* ``b0, b1, ...``: biases (optional; a missing bias is zero).
* ``activation``: one activation name for every hidden layer (default ``"relu"``), e.g.
  ``"relu"``, ``"leaky_relu:0.1"``, ``"tanh"``; or ``activations``: one name per hidden layer.
* ``output`` (optional): ``"scalar"``, ``"vector:inf"``, ``"vector:2"``, ``"vector:1"`` or
  ``"margin:i,j"``; default scalar for one output, else ``vector:inf``.
* ``input_shape`` (optional): (C, H, W) of image inputs.

PyTorch (extra ``torch``): a ``torch.nn.Sequential`` (nested allowed) of ``Linear``,
``Conv2d`` (groups 1, dilation 1, zero padding), ``Flatten``, ``ReLU``, ``LeakyReLU``, ``ELU``,
``Tanh``, ``Sigmoid``, ``Softplus`` (beta 1), ``Identity`` and ``Dropout`` (ignored: evaluation
mode). ONNX (extra ``onnx``): a chain of ``Gemm``, ``MatMul`` (+ ``Add``), ``Conv``,
``Flatten``, ``Reshape`` (to a flat vector), ``Relu``, ``LeakyRelu``, ``Elu``, ``Tanh``,
``Sigmoid``, ``Softplus``, ``Identity``, ``Dropout``, with weights as initializers. Two affine
layers in a row (e.g. convolution, flatten, linear) get an ``identity`` activation between them.

Examples
--------
>>> import numpy as np, tempfile, os
>>> from polylip.nn.network import Network
>>> net = Network.from_weights([np.ones((2, 3)), np.ones((1, 2))], activation="tanh")
>>> path = os.path.join(tempfile.mkdtemp(), "net.npz")
>>> net.save(path)
>>> Network.load(path).activations[0].name
'tanh'
"""

from __future__ import annotations

import logging
import os
import zipfile

import numpy as np
import scipy.sparse as sp

from polylip.errors import ModelError, require
from polylip.nn.activations import get_activation
from polylip.nn.network import Conv2d, Dense, Network

__all__ = ["save_npz", "load_npz", "from_torch", "from_onnx"]

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------------
# npz
# --------------------------------------------------------------------------------------------
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


def load_npz(path) -> Network:
    """Load a network from an ``.npz`` file in the convention of this module."""
    if not os.path.exists(path):
        raise ModelError(f"no such network file: {path}")
    try:
        data = np.load(path, allow_pickle=False)
        files = set(data.files)
        arrays = {k: data[k] for k in files}
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise ModelError(f"cannot read {path} as a .npz network: {exc}") from exc
    weights, biases = [], []
    k = 0
    while True:
        if f"W{k}" in arrays:
            weights.append(arrays[f"W{k}"])
        elif f"W{k}_data" in arrays:
            try:
                shape = tuple(int(v) for v in arrays[f"W{k}_shape"])
                weights.append(sp.csr_matrix((arrays[f"W{k}_data"], arrays[f"W{k}_indices"],
                                              arrays[f"W{k}_indptr"]), shape=shape))
            except (KeyError, ValueError, TypeError) as exc:
                raise ModelError(f"{path}: bad sparse matrix W{k}: {exc}") from exc
        else:
            break
        biases.append(arrays.get(f"b{k}"))
        k += 1
    if not weights:
        raise ModelError(f"{path} holds no weights W0, W1, ... (found {sorted(files)})")
    if "activations" in arrays:
        acts = [str(a) for a in np.atleast_1d(arrays["activations"])]
    else:
        acts = str(arrays["activation"]) if "activation" in arrays else "relu"
    output = str(arrays["output"]) if "output" in arrays else None
    input_shape = arrays.get("input_shape")
    net = Network(list(zip(weights, biases)), acts, output,
                  input_shape=None if input_shape is None else tuple(input_shape))
    log.info("loaded %r from %s", net, path)
    return net


# --------------------------------------------------------------------------------------------
# shared assembly
# --------------------------------------------------------------------------------------------
class _Builder:
    """Collects affine layers and activations, tracking the tensor shape."""

    def __init__(self, input_shape):
        self.items = []
        self.shape = tuple(int(v) for v in input_shape) if input_shape is not None else None
        self.input_shape = self.shape
        self.last = None  # "affine" or "act"

    def affine(self, layer, where):
        if self.last == "affine":
            self.items.append(get_activation("identity"))
        if isinstance(layer, Conv2d):
            if self.shape is None or len(self.shape) != 3:
                raise ModelError(f"{where}: a convolution needs a (C, H, W) input shape; pass "
                                 "input_shape=(C, H, W)")
            W, b, out_shape = layer.affine(self.shape)
        else:
            W, b, out_shape = layer.affine()
            if self.shape is not None and int(np.prod(self.shape)) != W.shape[1]:
                raise ModelError(f"{where}: expects {W.shape[1]} inputs but receives a tensor "
                                 f"of shape {self.shape}")
            if self.shape is not None and len(self.shape) > 1:
                raise ModelError(f"{where}: a dense layer on a (C, H, W) tensor needs a "
                                 "Flatten before it")
        self.items.append(Dense(W, b))
        self.shape = out_shape
        self.last = "affine"

    def add_bias(self, c, where):
        if self.last != "affine":
            raise ModelError(f"{where}: a bias addition must follow an affine layer")
        W, b = self.items[-1].weight, self.items[-1].bias
        c = np.asarray(c, dtype=float)
        try:
            if len(self.shape) == 3 and c.size == self.shape[0]:
                c = np.repeat(c.reshape(-1), self.shape[1] * self.shape[2])
            c = np.broadcast_to(c.reshape(-1), b.shape) if c.size in (1, b.size) else None
        except ValueError:
            c = None
        if c is None:
            raise ModelError(f"{where}: bias shape does not match the layer output {self.shape}")
        self.items[-1] = Dense(W, b + c)

    def activation(self, act, where):
        if self.last != "affine":
            raise ModelError(f"{where}: an activation must follow an affine layer (two "
                             "activations in a row, or an activation first, are not supported)")
        self.items.append(get_activation(act))
        self.last = "act"

    def flatten(self):
        if self.shape is not None:
            self.shape = (int(np.prod(self.shape)),)

    def build(self, output):
        if self.last != "affine":
            raise ModelError("the network must end with an affine layer (Linear / Gemm), not "
                             "with an activation")
        return Network.from_layers(self.items, output=output, input_shape=self.input_shape)


# --------------------------------------------------------------------------------------------
# torch
# --------------------------------------------------------------------------------------------
def _tnp(t):
    return t.detach().cpu().double().numpy()


def from_torch(module, input_shape=None, output=None) -> Network:
    """Convert a ``torch.nn.Sequential`` to a :class:`Network` (extra ``torch``).

    Parameters
    ----------
    module : torch.nn.Module
        A Sequential (nested Sequentials allowed) of the layers listed in the module docstring.
    input_shape : tuple, optional
        (C, H, W) when the first layer is a convolution.
    output : optional output functional (see :class:`Network`).
    """
    torch = require("torch", "Network.from_torch", "torch")
    nn = torch.nn
    if not isinstance(module, nn.Module):
        raise ModelError(f"from_torch expects a torch.nn.Module, got {type(module).__name__}")
    b = _Builder(input_shape)

    def walk(mod, name):
        where = f"layer {name} ({type(mod).__name__})"
        if isinstance(mod, nn.Sequential):
            for child_name, child in mod.named_children():
                walk(child, f"{name}.{child_name}" if name else child_name)
        elif isinstance(mod, nn.Linear):
            bias = None if mod.bias is None else _tnp(mod.bias)
            b.affine(Dense(_tnp(mod.weight), bias), where)
        elif isinstance(mod, nn.Conv2d):
            if mod.groups != 1 or tuple(mod.dilation) != (1, 1):
                raise ModelError(f"{where}: only groups=1 and dilation=1 are supported")
            if mod.padding_mode != "zeros":
                raise ModelError(f"{where}: only zero padding is supported")
            pad = mod.padding
            if isinstance(pad, str):
                if pad != "valid":
                    raise ModelError(f"{where}: padding={pad!r} is not supported")
                pad = (0, 0)
            bias = None if mod.bias is None else _tnp(mod.bias)
            b.affine(Conv2d(_tnp(mod.weight), bias, tuple(mod.stride), tuple(pad)), where)
        elif isinstance(mod, nn.Flatten):
            if mod.start_dim != 1 or mod.end_dim != -1:
                raise ModelError(f"{where}: only Flatten(start_dim=1, end_dim=-1) is supported")
            b.flatten()
        elif isinstance(mod, (nn.Dropout, nn.Identity)):
            pass
        elif isinstance(mod, nn.ReLU):
            b.activation("relu", where)
        elif isinstance(mod, nn.LeakyReLU):
            b.activation(("leaky_relu", float(mod.negative_slope)), where)
        elif isinstance(mod, nn.ELU):
            b.activation(("elu", float(mod.alpha)), where)
        elif isinstance(mod, nn.Tanh):
            b.activation("tanh", where)
        elif isinstance(mod, nn.Sigmoid):
            b.activation("sigmoid", where)
        elif isinstance(mod, nn.Softplus):
            if float(mod.beta) != 1.0:
                raise ModelError(f"{where}: only Softplus(beta=1) is supported")
            b.activation("softplus", where)
        else:
            raise ModelError(f"unsupported torch layer {where}; supported: Sequential, Linear, "
                             "Conv2d, Flatten, ReLU, LeakyReLU, ELU, Tanh, Sigmoid, Softplus, "
                             "Identity, Dropout")

    walk(module, "")
    return b.build(output)


# --------------------------------------------------------------------------------------------
# onnx
# --------------------------------------------------------------------------------------------
def from_onnx(model, output=None) -> Network:
    """Load an ONNX model (path or ``onnx.ModelProto``) made of the operators listed in the
    module docstring (extra ``onnx``)."""
    onnx = require("onnx", "Network.from_onnx", "onnx")
    from onnx import numpy_helper

    if isinstance(model, (str, os.PathLike)):
        if not os.path.exists(model):
            raise ModelError(f"no such ONNX file: {model}")
        try:
            model = onnx.load(str(model))
        except Exception as exc:  # noqa: BLE001 - onnx raises several types on bad files
            raise ModelError(f"cannot read {model} as an ONNX model: {exc}") from exc
    if not isinstance(model, onnx.ModelProto):
        raise ModelError(f"from_onnx expects a path or onnx.ModelProto, got {type(model)}")
    g = model.graph
    inits = {t.name: numpy_helper.to_array(t).astype(float) for t in g.initializer}
    for node in g.node:  # Constant nodes hold arrays too
        if node.op_type == "Constant":
            for a in node.attribute:
                if a.name == "value":
                    inits[node.output[0]] = numpy_helper.to_array(a.t).astype(float)
    inputs = [i for i in g.input if i.name not in inits]
    if len(inputs) != 1:
        raise ModelError(f"the ONNX graph must have exactly one data input, found {len(inputs)}")
    dims = [d.dim_value if d.HasField("dim_value") else None
            for d in inputs[0].type.tensor_type.shape.dim]
    shape = tuple(dims[1:])
    if len(shape) not in (1, 3) or any(d is None or d <= 0 for d in shape):
        shape = None  # unknown: a first convolution will then ask for it
    b = _Builder(shape)
    current = inputs[0].name

    def attrs(node):
        out = {}
        for a in node.attribute:
            v = onnx.helper.get_attribute_value(a)
            if a.type == onnx.AttributeProto.FLOAT:  # stored as float32: shortest decimal
                v = float(np.format_float_positional(np.float32(v), unique=True))
            out[a.name] = v
        return out

    for node in g.node:
        op, where = node.op_type, f"ONNX node {node.name or node.op_type}"
        if op == "Constant":
            continue
        data_inputs = [i for i in node.input if i and i not in inits]
        if data_inputs != [current]:
            raise ModelError(f"{where}: only a chain of operators on one tensor is supported")
        at = attrs(node)
        params = [inits[i] for i in node.input if i in inits]
        if op == "Gemm":
            if at.get("transA", 0):
                raise ModelError(f"{where}: transA=1 is not supported")
            if node.input[0] != current or len(params) < 1:
                raise ModelError(f"{where}: Gemm must be x * B (+ C) with B an initializer")
            B = params[0]
            Bp = B.T if at.get("transB", 0) else B  # y = x Bp
            W = float(at.get("alpha", 1.0)) * Bp.T
            bias = float(at.get("beta", 1.0)) * params[1].reshape(-1) if len(params) > 1 else None
            if bias is not None and bias.size == 1:
                bias = np.full(W.shape[0], bias[0])
            b.affine(Dense(W, bias), where)
        elif op == "MatMul":
            if node.input[0] != current or len(params) != 1 or params[0].ndim != 2:
                raise ModelError(f"{where}: MatMul must be x * B with B a 2-D initializer")
            b.affine(Dense(params[0].T), where)
        elif op == "Add":
            if len(params) != 1:
                raise ModelError(f"{where}: Add must add an initializer to the data")
            b.add_bias(params[0], where)
        elif op == "Conv":
            if at.get("group", 1) != 1 or any(d != 1 for d in at.get("dilations", [1, 1])):
                raise ModelError(f"{where}: only group=1 and dilation=1 are supported")
            if at.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET", b"VALID", "VALID"):
                raise ModelError(f"{where}: auto_pad is not supported; give explicit pads")
            pads = list(at.get("pads", [0, 0, 0, 0]))
            if len(pads) != 4 or pads[0] != pads[2] or pads[1] != pads[3]:
                raise ModelError(f"{where}: only symmetric 2-D padding is supported")
            bias = params[1] if len(params) > 1 else None
            b.affine(Conv2d(params[0], bias, tuple(at.get("strides", [1, 1])),
                            (pads[0], pads[1])), where)
        elif op == "Flatten":
            if at.get("axis", 1) != 1:
                raise ModelError(f"{where}: only Flatten(axis=1) is supported")
            b.flatten()
        elif op == "Reshape":
            target = params[0].astype(int).reshape(-1) if params else None
            if target is None or target.size != 2:
                raise ModelError(f"{where}: only a Reshape to (batch, features) is supported")
            b.flatten()
        elif op in ("Identity", "Dropout"):
            pass
        elif op == "Relu":
            b.activation("relu", where)
        elif op == "LeakyRelu":
            b.activation(("leaky_relu", float(at.get("alpha", 0.01))), where)
        elif op == "Elu":
            b.activation(("elu", float(at.get("alpha", 1.0))), where)
        elif op == "Tanh":
            b.activation("tanh", where)
        elif op == "Sigmoid":
            b.activation("sigmoid", where)
        elif op == "Softplus":
            b.activation("softplus", where)
        else:
            raise ModelError(f"unsupported ONNX operator {op!r} ({where}); supported: Gemm, "
                             "MatMul, Add, Conv, Flatten, Reshape, Relu, LeakyRelu, Elu, Tanh, "
                             "Sigmoid, Softplus, Identity, Dropout")
        current = node.output[0]
    return b.build(output)

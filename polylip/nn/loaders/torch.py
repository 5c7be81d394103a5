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

Layers: ``Linear``, ``Conv2d`` (groups 1, dilation 1, zero padding), ``BatchNorm1d`` and
``BatchNorm2d`` (inference mode: running statistics and eps, folded into the affine layer
before them), ``Flatten``, ``ReLU``, ``LeakyReLU``, ``ELU``, ``Tanh``, ``Sigmoid``,
``Softplus`` (beta 1), ``Identity`` and ``Dropout`` (ignored). In a traced forward also their
functional forms (``F.relu``, ``torch.tanh``, ``F.linear``, ...), ``flatten``/``view``/
``reshape`` to ``(batch, -1)``, and multiplication, division, addition and subtraction by
constants (folded into the neighbouring affine layer).

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
import inspect
import logging
import operator
import os
import warnings
import zipfile
from collections.abc import Mapping

import numpy as np

from polylip.errors import ModelError, require
from polylip.nn.loaders._build import Builder, verify
from polylip.nn.network import Conv2d, Dense, Network

__all__ = ["from_torch", "load_torch_file", "load_state_dict", "SUPPORTED_LAYERS"]

log = logging.getLogger(__name__)

SUPPORTED_LAYERS = ("Sequential, Linear, Conv2d, BatchNorm1d, BatchNorm2d, Flatten, ReLU, "
                    "LeakyReLU, ELU, Tanh, Sigmoid, Softplus, Identity, Dropout")

TRUST_RISK = ("unpickling runs whatever code the file names, with your permissions: pass "
              "trust_pickle=True (CLI: --trust-pickle) only for a file from a source you trust; "
              "or save model.state_dict() and load it with Network.from_torch(module, "
              "state_dict=path)")


class _Data:
    """The tensor flowing through the chain."""


DATA = _Data()


class _Meta:
    """A value derived from the tensor's metadata (its batch size, its shape), never data."""

    def __init__(self, what="meta"):
        self.what = what

    def __repr__(self):
        return f"<{self.what}>"


BATCH = _Meta("batch size")
SIZES = _Meta("shape")


def _tnp(t):
    return t.detach().cpu().double().numpy()


def _join(prefix, name):
    return f"{prefix}.{name}" if prefix else str(name)


def _label(name):
    return f"layer {name!r}" if name else "the model itself"


# signatures used to bind the arguments of functional calls (fx) by name
def _s_unary(input, inplace=False): ...
def _s_leaky(input, negative_slope=0.01, inplace=False): ...
def _s_elu(input, alpha=1.0, inplace=False): ...
def _s_softplus(input, beta=1.0, threshold=20.0): ...
def _s_flatten(input, start_dim=0, end_dim=-1): ...
def _s_linear(input, weight, bias=None): ...
def _s_conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1): ...
def _s_dropout(input, p=0.5, training=True, inplace=False): ...
def _s_batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
                  momentum=0.1, eps=1e-5): ...
def _s_binary(input, other, *, alpha=1, out=None): ...
def _s_div(input, other, *, rounding_mode=None, out=None): ...
def _s_neg(input): ...
def _s_size(input, dim=None): ...


class _Reader:
    """Walks a torch model and feeds its layers to a :class:`Builder`."""

    def __init__(self, torch, builder):
        self.torch = torch
        self.nn = nn = torch.nn
        self.b = builder
        self.pos = 0
        self.leaves = {
            nn.Linear: self._linear, nn.Conv2d: self._conv, nn.BatchNorm1d: self._bn,
            nn.BatchNorm2d: self._bn, nn.Flatten: self._flatten_layer,
            nn.Identity: None, nn.Dropout: None, nn.Dropout1d: None, nn.Dropout2d: None,
            nn.ReLU: lambda m, w: self.b.activation("relu", w),
            nn.LeakyReLU: lambda m, w: self.b.activation(("leaky_relu",
                                                          float(m.negative_slope)), w),
            nn.ELU: lambda m, w: self.b.activation(("elu", float(m.alpha)), w),
            nn.Tanh: lambda m, w: self.b.activation("tanh", w),
            nn.Sigmoid: lambda m, w: self.b.activation("sigmoid", w),
            nn.Softplus: self._softplus,
        }
        F = nn.functional
        self.functions = {
            torch.relu: ("relu", _s_unary), F.relu: ("relu", _s_unary),
            torch.tanh: ("tanh", _s_unary), F.tanh: ("tanh", _s_unary),
            torch.sigmoid: ("sigmoid", _s_unary), F.sigmoid: ("sigmoid", _s_unary),
            F.leaky_relu: ("leaky_relu", _s_leaky), F.elu: ("elu", _s_elu),
            F.softplus: ("softplus", _s_softplus), torch.flatten: ("flatten", _s_flatten),
            F.linear: ("linear", _s_linear), F.conv2d: ("conv2d", _s_conv2d),
            F.dropout: ("dropout", _s_dropout), F.batch_norm: ("batch_norm", _s_batch_norm),
            operator.mul: ("mul", _s_binary), torch.mul: ("mul", _s_binary),
            operator.truediv: ("div", _s_div), torch.div: ("div", _s_div),
            operator.add: ("add", _s_binary), torch.add: ("add", _s_binary),
            operator.sub: ("sub", _s_binary), torch.sub: ("sub", _s_binary),
            operator.neg: ("neg", _s_neg), torch.neg: ("neg", _s_neg),
            torch.reshape: ("reshape", None),
        }
        self.methods = {
            "relu": ("relu", _s_unary), "relu_": ("relu", _s_unary),
            "tanh": ("tanh", _s_unary), "sigmoid": ("sigmoid", _s_unary),
            "flatten": ("flatten", _s_flatten), "mul": ("mul", _s_binary),
            "div": ("div", _s_div), "add": ("add", _s_binary), "sub": ("sub", _s_binary),
            "neg": ("neg", _s_neg), "view": ("reshape", None), "reshape": ("reshape", None),
            "contiguous": ("identity", None), "size": ("size", _s_size),
            "dim": ("dim", None),
        }

    def where(self, mod, name):
        return f"{_label(name)} ({type(mod).__name__}, position {self.pos} in the chain)"

    def unsupported(self, what, name):
        return ModelError(f"unsupported torch layer {what} ({_label(name)}, position {self.pos} "
                          f"in the chain); supported: {SUPPORTED_LAYERS}")

    # ---- modules -----------------------------------------------------------------------------
    def module(self, mod, name):
        torch, nn = self.torch, self.nn
        cls = type(mod)
        patched = "forward" in vars(mod)  # an instance whose forward was replaced
        if isinstance(mod, torch.jit.ScriptModule):
            return self.script(mod, name)
        if isinstance(mod, torch.fx.GraphModule) and not patched:
            return self.fx_graph(mod, name)
        if cls is nn.Sequential and not patched:
            for child_name, child in mod.named_children():
                self.module(child, _join(name, child_name))
            return
        if cls in self.leaves and not patched:
            handler = self.leaves[cls]
            if handler is not None:
                handler(mod, self.where(mod, name))
            self.pos += 1
            return
        if cls.__module__.split(".")[0] == "torch" or patched:
            raise self.unsupported(cls.__name__, name)
        self.trace(mod, name)

    def _linear(self, mod, where):
        bias = None if mod.bias is None else _tnp(mod.bias)
        self.b.affine(Dense(_tnp(mod.weight), bias), where)

    def _conv(self, mod, where):
        if mod.padding_mode != "zeros":
            raise ModelError(f"{where}: only zero padding is supported")
        self.conv(mod.weight, mod.bias, mod.stride, mod.padding, mod.dilation, mod.groups, where)

    def conv(self, weight, bias, stride, padding, dilation, groups, where):
        w = _tnp(weight) if not isinstance(weight, np.ndarray) else weight
        if w.ndim != 4:
            raise ModelError(f"{where}: only 2-D convolutions are supported")
        if int(groups) != 1 or any(int(d) != 1 for d in np.broadcast_to(dilation, 2)):
            raise ModelError(f"{where}: only groups=1 and dilation=1 are supported")
        if isinstance(padding, str):
            kh, kw = w.shape[2:]
            if padding == "valid":
                padding = (0, 0)
            elif padding == "same" and kh % 2 == 1 and kw % 2 == 1:
                padding = ((kh - 1) // 2, (kw - 1) // 2)
            else:
                raise ModelError(f"{where}: padding={padding!r} is not supported")
        stride = tuple(int(v) for v in np.broadcast_to(stride, 2))
        padding = tuple(int(v) for v in np.broadcast_to(padding, 2))
        bias = None if bias is None else (_tnp(bias) if not isinstance(bias, np.ndarray)
                                          else bias)
        self.b.affine(Conv2d(w, bias, stride, padding), where)

    def _bn(self, mod, where):
        if mod.running_mean is None or mod.running_var is None:
            raise ModelError(f"{where}: track_running_stats=False normalizes with the batch's "
                             "own statistics even in evaluation mode; not a fixed function")
        ndim = 1 if isinstance(mod, self.nn.BatchNorm1d) else 3
        self.batch_norm(mod.running_mean, mod.running_var, mod.weight, mod.bias, mod.eps, ndim,
                        where)

    def batch_norm(self, mean, var, weight, bias, eps, ndim, where):
        mean, var = _tnp(mean), _tnp(var)
        s = 1.0 / np.sqrt(var + float(eps))
        if weight is not None:
            s = s * _tnp(weight)
        t = -mean * s + (0.0 if bias is None else _tnp(bias))
        if ndim is None:  # functional form: from the tensor's shape
            ndim = 1 if self.b.shape is None else len(self.b.shape)
        self.b.channelwise(s, t, ndim, where)

    def _flatten_layer(self, mod, where):
        if mod.start_dim != 1 or mod.end_dim != -1:
            raise ModelError(f"{where}: only Flatten(start_dim=1, end_dim=-1) is supported")
        self.b.flatten()

    def _softplus(self, mod, where):
        if float(mod.beta) != 1.0:
            raise ModelError(f"{where}: only Softplus(beta=1) is supported")
        self.b.activation("softplus", where)

    # ---- the operations of a traced or scripted chain ----------------------------------------
    def apply(self, op, a, where):
        """One step of a chain; ``a`` holds its arguments by name, the tensor as ``DATA``."""
        b = self.b
        if op == "identity":
            return
        if op in ("relu", "tanh", "sigmoid"):
            return b.activation(op, where)
        if op == "leaky_relu":
            return b.activation(("leaky_relu", float(a["negative_slope"])), where)
        if op == "elu":
            if float(a.get("scale", 1.0)) != 1.0 or float(a.get("input_scale", 1.0)) != 1.0:
                raise ModelError(f"{where}: only elu with scale 1 is supported")
            return b.activation(("elu", float(a["alpha"])), where)
        if op == "softplus":
            if float(a["beta"]) != 1.0:
                raise ModelError(f"{where}: only softplus with beta=1 is supported")
            return b.activation("softplus", where)
        if op == "dropout":
            if a["training"] is not False:
                raise ModelError(f"{where}: dropout with training={a['training']!r} is random; "
                                 "only dropout in evaluation mode (ignored) is supported")
            return
        if op == "flatten":
            start, end = int(a["start_dim"]), int(a["end_dim"])
            ndim = None if b.shape is None else len(b.shape) + 1
            if start != 1 or end not in (-1, (ndim or 0) - 1):
                raise ModelError(f"{where}: only flatten(start_dim=1, end_dim=-1) is "
                                 f"supported, got ({start}, {end})")
            return b.flatten()
        if op == "reshape":
            target = list(a["shape"])
            n = b.size
            ok = len(target) == 2 and (
                (target[0] is BATCH and (target[1] == -1 or (n is not None and target[1] == n)))
                or (target[0] == -1 and n is not None and target[1] == n))
            if not ok:
                raise ModelError(f"{where}: only a reshape to (batch, -1) is supported, got "
                                 f"{tuple(target)}")
            return b.flatten()
        if op == "linear":
            W = self.const(a["weight"], where, "weight")
            bias = None if a.get("bias") is None else self.const(a["bias"], where, "bias")
            if W.ndim != 2:
                raise ModelError(f"{where}: linear weights must be 2-D")
            return b.affine(Dense(W, None if bias is None else bias.reshape(-1)), where)
        if op == "conv2d":
            w = self.const(a["weight"], where, "weight")
            bias = None if a.get("bias") is None else self.const(a["bias"], where, "bias")
            return self.conv(w, bias, a["stride"], a["padding"], a["dilation"], a["groups"],
                             where)
        if op == "batch_norm":
            if a["training"] is not False:
                raise ModelError(f"{where}: batch_norm with training={a['training']!r} uses "
                                 "the batch's statistics; only inference mode is supported")
            args = [a[k] for k in ("running_mean", "running_var", "weight", "bias")]
            if any(self.torch.is_tensor(v) is False and v is not None for v in args):
                raise ModelError(f"{where}: batch_norm statistics must be constants")
            return self.batch_norm(args[0], args[1], args[2], args[3], a["eps"], None, where)
        if op == "neg":
            return b.elementwise(-1.0, 0.0, where)
        if op in ("mul", "div", "add", "sub"):
            swapped = a["input"] is not DATA
            other = a["input"] if swapped else a["other"]
            c = self.const(other, where, "operand")
            alpha = float(a.get("alpha", 1))
            if op == "mul":
                return b.elementwise(c, 0.0, where)
            if op == "div":
                if swapped:
                    raise ModelError(f"{where}: dividing by the data is not an affine map")
                if a.get("rounding_mode") is not None:
                    raise ModelError(f"{where}: division with rounding is not supported")
                if np.any(c == 0):
                    raise ModelError(f"{where}: division by zero")
                return b.elementwise(1.0 / c, 0.0, where)
            sign = 1.0 if op == "add" else -1.0
            if swapped:  # c + alpha * x, c - alpha * x
                return b.elementwise(sign * alpha, c, where)
            return b.elementwise(1.0, sign * alpha * c, where)
        raise ModelError(f"{where}: unsupported operation {op}")  # pragma: no cover

    def const(self, v, where, what):
        if v is DATA:
            raise ModelError(f"{where}: the {what} is the data itself; not an affine map")
        if isinstance(v, _Meta) or v is None:
            raise ModelError(f"{where}: the {what} is not a constant ({v!r})")
        if self.torch.is_tensor(v):
            return _tnp(v)
        try:
            return np.asarray(v, dtype=float)
        except (TypeError, ValueError) as exc:
            raise ModelError(f"{where}: the {what} {v!r} is not a numeric constant") from exc

    # ---- torch.fx ----------------------------------------------------------------------------
    def trace(self, mod, name):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                gm = self.torch.fx.symbolic_trace(mod)
        except Exception as exc:  # noqa: BLE001 - fx raises many types
            raise ModelError(
                f"{_label(name)} ({type(mod).__name__}): its forward is not the plain chain of "
                f"an nn.Sequential and torch.fx cannot trace it ({type(exc).__name__}: {exc}); "
                "polylip reads nn.Sequential, modules whose forward is a chain of supported "
                "layers, and TorchScript") from exc
        self.fx_graph(gm, name)

    def fx_graph(self, gm, prefix):
        nodes = list(gm.graph.nodes)
        inputs = [n for n in nodes if n.op == "placeholder"]
        label = f"{_label(prefix)} ({type(gm).__name__ if prefix else 'traced forward'})"
        if len(inputs) != 1:
            raise ModelError(f"{label}: forward takes {len(inputs)} inputs; polylip reads a "
                             "forward of one tensor")
        current = inputs[0]
        env = {current: DATA}

        def value(a):
            if isinstance(a, self.torch.fx.Node):
                return env.get(a, _Meta("unknown"))
            if isinstance(a, (list, tuple)):
                return type(a)(value(v) for v in a)
            return a

        for node in nodes:
            if node.op == "placeholder":
                continue
            what = getattr(node.target, "__name__", node.target)
            where = f"{label}, node {node.name!r} ({node.op} {what})"
            if node.op == "output":
                res = node.args[0]
                if res is not current:
                    raise ModelError(f"{label}: forward does not return the result of its chain "
                                     f"of layers (it returns {res!r}); polylip reads chains only")
                return
            data_in = [i for i in node.all_input_nodes if env.get(i) is DATA]
            stale = [i for i in data_in if i is not current]
            if stale:
                raise ModelError(f"{where} uses the tensor {stale[0].name!r} computed before "
                                 "the last step: forward is not a chain (a skip connection, a "
                                 "branch, a reused input); polylip reads chains of layers only")
            if node.op == "get_attr":
                obj = gm
                for part in node.target.split("."):
                    obj = getattr(obj, part)
                env[node] = obj
                continue
            if not data_in:
                env[node] = self._fx_const(node, value)
                continue
            if node.op == "call_module":
                if list(node.args) != [current] or node.kwargs:
                    raise ModelError(f"{where}: a layer must be called on the tensor alone")
                sub = gm.get_submodule(node.target)
                self.module(sub, _join(prefix, node.target))
            else:
                out = self._fx_call(node, value, where)
                if out is not DATA:  # metadata (x.size(0), x.shape, x.dim())
                    env[node] = out
                    continue
                self.pos += 1
            env[node] = DATA
            current = node
        raise ModelError(f"{label}: the traced graph has no output")  # pragma: no cover

    def _fx_const(self, node, value):
        """A node that does not touch the data: evaluate it on constants, else unknown."""
        args, kwargs = value(node.args), {k: value(v) for k, v in node.kwargs.items()}
        if node.op == "call_function" and node.target is operator.getitem and args[0] is SIZES:
            return BATCH if args[1] == 0 else _Meta()
        flat = list(args) + list(kwargs.values())
        if any(isinstance(v, _Meta) for v in flat):
            return _Meta()
        try:
            if node.op == "call_function":
                return node.target(*args, **kwargs)
            if node.op == "call_method":
                return getattr(args[0], node.target)(*args[1:], **kwargs)
        except Exception:  # noqa: BLE001 - then it is simply not a constant
            pass
        return _Meta("unknown")

    def _fx_call(self, node, value, where):
        args, kwargs = value(node.args), {k: value(v) for k, v in node.kwargs.items()}
        if node.op == "call_function" and node.target is getattr:
            if args[0] is DATA and args[1] == "shape":
                return SIZES
            raise ModelError(f"{where}: attribute {args[1]!r} of the tensor is not supported")
        if node.op == "call_function":
            entry = self.functions.get(node.target)
        else:
            entry = self.methods.get(node.target)
        if entry is None:
            what = getattr(node.target, "__name__", str(node.target))
            raise ModelError(f"{where}: unsupported {node.op.replace('_', ' ')} {what!r} on the "
                             f"tensor; supported layers: {SUPPORTED_LAYERS}, their functional "
                             "forms, flatten/view/reshape to (batch, -1), and arithmetic with "
                             "constants")
        op, sig = entry
        if op == "dim":
            return _Meta()
        if op == "reshape":
            rest = list(args[1:]) + list(kwargs.values())
            if len(rest) == 1 and isinstance(rest[0], (list, tuple)):
                rest = list(rest[0])
            if args[0] is not DATA:
                raise ModelError(f"{where}: reshape must apply to the tensor")
            return self.apply("reshape", {"shape": rest}, where) or DATA
        if op == "identity":
            return DATA
        try:
            bound = inspect.signature(sig).bind(*args, **kwargs)
        except TypeError as exc:
            raise ModelError(f"{where}: unexpected arguments ({exc})") from exc
        bound.apply_defaults()
        a = dict(bound.arguments)
        if op == "size":
            if a["input"] is not DATA:
                raise ModelError(f"{where}: size() of something else than the tensor")
            return SIZES if a["dim"] is None else (BATCH if a["dim"] == 0 else _Meta())
        if op not in ("mul", "add", "sub", "div") and a["input"] is not DATA:
            raise ModelError(f"{where}: the tensor must be the first argument")
        if op in ("mul", "add", "sub", "div") and a["input"] is DATA and a["other"] is DATA:
            raise ModelError(f"{where}: an operation of the tensor with itself is not affine")
        self.apply(op, a, where)
        return DATA

    # ---- TorchScript -------------------------------------------------------------------------
    def script(self, mod, name):
        torch = self.torch
        label = f"TorchScript {_label(name)} ({getattr(mod, 'original_name', type(mod).__name__)})"
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                frozen = torch.jit.freeze(mod, optimize_numerics=False)
        except Exception as exc:  # noqa: BLE001
            raise ModelError(f"{label}: cannot freeze it to read its graph ({type(exc).__name__}:"
                             f" {exc})") from exc
        g = frozen.graph
        ins = list(g.inputs())
        if len(ins) != 2:
            raise ModelError(f"{label}: forward takes {len(ins) - 1} inputs; polylip reads a "
                             "forward of one tensor")
        env = {ins[0].unique(): frozen, ins[1].unique(): DATA}
        current = ins[1].unique()
        for n in g.nodes():
            kind = n.kind()
            where = f"{label}, node {kind}"
            inputs = list(n.inputs())
            vals = [env.get(v.unique(), _Meta("unknown")) for v in inputs]
            data_pos = [k for k, v in enumerate(vals) if v is DATA]
            stale = [inputs[k].debugName() for k in data_pos if inputs[k].unique() != current]
            if stale:
                raise ModelError(f"{where} uses the tensor %{stale[0]} computed before the last "
                                 "step: forward is not a chain (a skip connection, a branch, a "
                                 "reused input); polylip reads chains of layers only")
            outs = list(n.outputs())
            if kind == "prim::Constant":
                try:
                    env[outs[0].unique()] = outs[0].toIValue()
                except Exception:  # noqa: BLE001 - functions, classes: not values
                    env[outs[0].unique()] = _Meta("constant")
                continue
            if kind == "prim::GetAttr":
                obj = vals[0]
                env[outs[0].unique()] = (getattr(obj, n.s("name"))
                                         if isinstance(obj, torch.nn.Module) else _Meta())
                continue
            if kind in ("prim::ListConstruct", "prim::TupleConstruct") and not data_pos:
                env[outs[0].unique()] = list(vals)
                continue
            if kind == "prim::If" and not data_pos:
                if any(o.type().kind() == "TensorType" for o in outs) or not all(
                        self._guard(blk, env) for blk in n.blocks()):
                    raise ModelError(f"{where}: forward has a branch that computes tensors; "
                                     "polylip reads chains of layers only")
                for o in outs:  # a check on the input's shape: it may raise, not change data
                    env[o.unique()] = _Meta()
                continue
            if kind == "prim::RaiseException":
                raise ModelError(f"{where}: forward raises an exception unconditionally")
            if kind == "aten::__getitem__" and vals and vals[0] is SIZES:
                env[outs[0].unique()] = BATCH if vals[1] == 0 else _Meta()
                continue
            if not data_pos:
                if any(o.type().kind() == "TensorType" for o in outs):
                    for o in outs:
                        env[o.unique()] = _Meta("computed tensor")
                else:
                    for o in outs:
                        env[o.unique()] = _Meta()
                continue
            out = self._ts_op(kind, vals, data_pos, where)
            if out is not DATA:
                env[outs[0].unique()] = out
                continue
            if len(outs) != 1:
                raise ModelError(f"{where}: an operation with {len(outs)} outputs")
            self.pos += 1
            env[outs[0].unique()] = DATA
            current = outs[0].unique()
        ret = list(g.return_node().inputs())
        if len(ret) != 1 or ret[0].unique() != current:
            raise ModelError(f"{label}: forward does not return the result of its chain of "
                             "layers; polylip reads chains only")

    def _guard(self, block, env):
        """True if a block of an ``if`` computes no tensor from the data (a shape check)."""
        for n in block.nodes():
            if any(env.get(v.unique()) is DATA for v in n.inputs()):
                return False
            if any(o.type().kind() == "TensorType" for o in n.outputs()):
                return False
            if not all(self._guard(b, env) for b in n.blocks()):
                return False
        return True

    def _ts_op(self, kind, v, data_pos, where):
        ns, _, op = kind.partition("::")
        if ns != "aten":
            raise ModelError(f"{where}: unsupported TorchScript node on the tensor")
        op = op[:-1] if op.endswith("_") and not op.startswith("_") else op  # in-place forms
        first = data_pos[0] == 0
        if op in ("size", "dim", "numel", "len"):
            if op == "size" and len(v) == 1:
                return SIZES
            return BATCH if op == "size" and v[1] == 0 else _Meta()
        if op in ("mul", "add", "sub", "div", "rsub") and len(data_pos) > 1:
            raise ModelError(f"{where}: an operation of the tensor with itself is not affine")
        if not first and op not in ("mul", "add", "sub", "addmm"):
            raise ModelError(f"{where}: the tensor must be the first argument")
        table = {
            "relu": lambda: ("relu", {}), "tanh": lambda: ("tanh", {}),
            "sigmoid": lambda: ("sigmoid", {}),
            "leaky_relu": lambda: ("leaky_relu", {"negative_slope": v[1]}),
            "elu": lambda: ("elu", {"alpha": v[1], "scale": v[2], "input_scale": v[3]}),
            "softplus": lambda: ("softplus", {"beta": v[1]}),
            "flatten": lambda: ("flatten", {"start_dim": v[1], "end_dim": v[2]}),
            "view": lambda: ("reshape", {"shape": v[1]}),
            "reshape": lambda: ("reshape", {"shape": v[1]}),
            "contiguous": lambda: ("identity", {}), "clone": lambda: ("identity", {}),
            "detach": lambda: ("identity", {}),
            "dropout": lambda: ("dropout", {"training": v[2]}),
            "feature_dropout": lambda: ("dropout", {"training": v[2]}),
            "alpha_dropout": lambda: ("dropout", {"training": v[2]}),
            "linear": lambda: ("linear", {"weight": v[1], "bias": v[2]}),
            "conv2d": lambda: ("conv2d", dict(zip(
                ("weight", "bias", "stride", "padding", "dilation", "groups"), v[1:7]))),
            "batch_norm": lambda: ("batch_norm", {
                "weight": v[1], "bias": v[2], "running_mean": v[3], "running_var": v[4],
                "training": v[5], "eps": v[7]}),
            "neg": lambda: ("neg", {}),
            "mul": lambda: ("mul", {"input": v[0], "other": v[1]}),
            "div": lambda: ("div", {"input": v[0], "other": v[1],
                                    "rounding_mode": v[2] if len(v) > 2 else None}),
            "add": lambda: ("add", {"input": v[0], "other": v[1],
                                    "alpha": v[2] if len(v) > 2 else 1}),
            "sub": lambda: ("sub", {"input": v[0], "other": v[1],
                                    "alpha": v[2] if len(v) > 2 else 1}),
        }
        if op == "_convolution":
            if v[6] is not False:
                raise ModelError(f"{where}: transposed convolutions are not supported")
            self.apply("conv2d", {"weight": v[1], "bias": v[2], "stride": v[3],
                                  "padding": v[4], "dilation": v[5], "groups": v[8]}, where)
            return DATA
        if op in ("matmul", "mm"):
            B = self.const(v[1], where, "matrix")
            if B.ndim != 2:
                raise ModelError(f"{where}: matmul with a {B.ndim}-D constant")
            self.b.affine(Dense(B.T), where)
            return DATA
        if op == "addmm":
            if data_pos != [1]:
                raise ModelError(f"{where}: addmm must multiply the tensor by a constant")
            B = self.const(v[2], where, "matrix")
            beta, alpha = float(v[3]), float(v[4])
            bias = beta * self.const(v[0], where, "bias").reshape(-1)
            self.b.affine(Dense(alpha * B.T, np.broadcast_to(bias, (B.shape[1],))), where)
            return DATA
        if op == "rsub":  # other - alpha * x
            self.b.elementwise(-float(v[2]), self.const(v[1], where, "operand"), where)
            return DATA
        if op not in table:
            raise ModelError(f"{where}: unsupported TorchScript operation aten::{op} on the "
                             f"tensor; supported layers: {SUPPORTED_LAYERS}")
        name, a = table[op]()
        a.setdefault("input", DATA)
        self.apply(name, a, where)
        return DATA


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
        (C, H, W) when the first layer is a convolution.
    output : optional output functional (see :class:`Network`).
    state_dict : mapping or path, optional
        Parameters to load into (a copy of) ``module`` first, strictly: every key must match.

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
    work = _working_copy(torch, module)
    if state_dict is not None:
        sd = load_state_dict(state_dict)
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
    except (zipfile.BadZipFile, OSError):
        return False
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

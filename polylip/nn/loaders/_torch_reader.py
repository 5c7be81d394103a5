"""Reading torch modules layer by layer and torch.fx graphs (private; see
:mod:`polylip.nn.loaders.torch`).

Why this module is long: one reader serves the three ways a torch model reaches polylip
(modules, torch.fx graphs, TorchScript through :mod:`polylip.nn.loaders._torchscript`), and
each operation is translated in one place (:meth:`_Reader.apply`) for all three; split, the
rules for a layer and its functional form would drift apart.
"""

from __future__ import annotations

import inspect
import operator
import warnings

import numpy as np

from polylip.errors import ModelError
from polylip.nn.layers import adaptive_avg_pool2d_matrix, avg_pool2d_matrix
from polylip.nn.network import Conv2d, Dense

SUPPORTED_LAYERS = ("Sequential, Linear, Conv1d, Conv2d, AvgPool2d, AdaptiveAvgPool2d, BatchNorm1d, "
                    "BatchNorm2d, Flatten, ReLU, LeakyReLU, ELU, Tanh, Sigmoid, Softplus, "
                    "Identity, Dropout")

#: Layers people use that polylip refuses, with the reason (the message names them).
REFUSED_LAYERS = {
    "MaxPool2d": "max pooling is not an element-wise activation (its derivative picks one "
                 "input of each window); no method of polylip bounds it; use AvgPool2d",
    "MaxPool1d": "max pooling is not an element-wise activation",
    "AdaptiveMaxPool2d": "max pooling is not an element-wise activation",
    "GELU": "GELU is not monotone, and every method relies on non-decreasing activations",
    "SiLU": "SiLU is not monotone, and every method relies on non-decreasing activations",
    "Mish": "Mish is not monotone, and every method relies on non-decreasing activations",
    "Hardtanh": "a two-kink activation (slope 0, 1, 0): the methods know one kink at 0",
    "ReLU6": "a two-kink activation (slope 0, 1, 0): the methods know one kink at 0",
    "Hardsigmoid": "a two-kink activation: the methods know one kink at 0",
    "Hardswish": "not monotone, and every method relies on non-decreasing activations",
    "PReLU": "its slope is a trained parameter per channel; export it as LeakyReLU if shared",
    "Softmax": "not element-wise; bound the logits (polylip's output functionals) instead",
    "LogSoftmax": "not element-wise; bound the logits (polylip's output functionals) instead",
}


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
def _s_avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
                  count_include_pad=True, divisor_override=None): ...
def _s_adaptive_avg_pool2d(input, output_size): ...
def _s_mean(input, dim=None, keepdim=False, *, dtype=None): ...
def _s_squeeze(input, dim=None): ...


class _Reader:
    """Walks a torch model and feeds its layers to a :class:`Builder`."""

    def __init__(self, torch, builder):
        self.torch = torch
        self.nn = nn = torch.nn
        self.b = builder
        self.pos = 0
        self.squeezed = None  # where the output was squeezed: nothing may follow
        self.leaves = {
            nn.Linear: self._linear, nn.Conv2d: self._conv, nn.Conv1d: self._conv1d,
            nn.BatchNorm1d: self._bn,
            nn.BatchNorm2d: self._bn, nn.Flatten: self._flatten_layer,
            nn.Identity: None, nn.Dropout: None, nn.Dropout1d: None, nn.Dropout2d: None,
            nn.ReLU: lambda m, w: self.b.activation("relu", w),
            nn.LeakyReLU: lambda m, w: self.b.activation(("leaky_relu",
                                                          float(m.negative_slope)), w),
            nn.ELU: lambda m, w: self.b.activation(("elu", float(m.alpha)), w),
            nn.Tanh: lambda m, w: self.b.activation("tanh", w),
            nn.Sigmoid: lambda m, w: self.b.activation("sigmoid", w),
            nn.Softplus: self._softplus,
            nn.AvgPool2d: lambda m, w: self.apply("avg_pool2d", {
                "kernel_size": m.kernel_size, "stride": m.stride, "padding": m.padding,
                "ceil_mode": m.ceil_mode, "count_include_pad": m.count_include_pad,
                "divisor_override": m.divisor_override}, w),
            nn.AdaptiveAvgPool2d: lambda m, w: self.apply(
                "adaptive_avg_pool2d", {"output_size": m.output_size}, w),
        }
        F = nn.functional
        self.functions = {
            torch.relu: ("relu", _s_unary), F.relu: ("relu", _s_unary),
            torch.tanh: ("tanh", _s_unary), F.tanh: ("tanh", _s_unary),
            torch.sigmoid: ("sigmoid", _s_unary), F.sigmoid: ("sigmoid", _s_unary),
            F.leaky_relu: ("leaky_relu", _s_leaky), F.elu: ("elu", _s_elu),
            F.softplus: ("softplus", _s_softplus), torch.flatten: ("flatten", _s_flatten),
            F.linear: ("linear", _s_linear), F.conv2d: ("conv2d", _s_conv2d),
            F.conv1d: ("conv2d", _s_conv2d),
            F.dropout: ("dropout", _s_dropout), F.batch_norm: ("batch_norm", _s_batch_norm),
            operator.mul: ("mul", _s_binary), torch.mul: ("mul", _s_binary),
            operator.truediv: ("div", _s_div), torch.div: ("div", _s_div),
            operator.add: ("add", _s_binary), torch.add: ("add", _s_binary),
            operator.sub: ("sub", _s_binary), torch.sub: ("sub", _s_binary),
            operator.neg: ("neg", _s_neg), torch.neg: ("neg", _s_neg),
            torch.reshape: ("reshape", None), torch.squeeze: ("squeeze", _s_squeeze),
            operator.matmul: ("matmul", _s_binary), torch.matmul: ("matmul", _s_binary),
            torch.mm: ("matmul", _s_binary),
            F.avg_pool2d: ("avg_pool2d", _s_avg_pool2d),
            F.adaptive_avg_pool2d: ("adaptive_avg_pool2d", _s_adaptive_avg_pool2d),
            torch.mean: ("mean", _s_mean),
        }
        self.methods = {
            "relu": ("relu", _s_unary), "relu_": ("relu", _s_unary),
            "tanh": ("tanh", _s_unary), "sigmoid": ("sigmoid", _s_unary),
            "flatten": ("flatten", _s_flatten), "mul": ("mul", _s_binary),
            "div": ("div", _s_div), "add": ("add", _s_binary), "sub": ("sub", _s_binary),
            "neg": ("neg", _s_neg), "view": ("reshape", None), "reshape": ("reshape", None),
            "contiguous": ("identity", None), "size": ("size", _s_size),
            "squeeze": ("squeeze", _s_squeeze), "matmul": ("matmul", _s_binary),
            "mm": ("matmul", _s_binary), "mean": ("mean", _s_mean),
            "dim": ("dim", None),
        }

    def where(self, mod, name):
        return f"{_label(name)} ({type(mod).__name__}, position {self.pos} in the chain)"

    def unsupported(self, what, name):
        why = f" ({REFUSED_LAYERS[what]})" if what in REFUSED_LAYERS else ""
        return ModelError(f"unsupported torch layer {what}{why} ({_label(name)}, position "
                          f"{self.pos} in the chain); supported: {SUPPORTED_LAYERS}")

    # ---- modules -----------------------------------------------------------------------------
    def module(self, mod, name):
        torch, nn = self.torch, self.nn
        self.after_squeeze(f"{_label(name)} ({type(mod).__name__})")
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

    def _conv1d(self, mod, where):
        if mod.padding_mode != "zeros":
            raise ModelError(f"{where}: only zero padding is supported")
        self.conv(mod.weight, mod.bias, mod.stride, mod.padding, mod.dilation, mod.groups, where)

    def conv1d(self, w, bias, stride, padding, dilation, groups, where):
        """A 1-D convolution as the 2-D one of height 1: the tensor (C, L) is (C, 1, L), with
        the same flat order, and kernel, stride, padding and dilation act on the last axis."""
        b = self.b
        if b.shape is not None and len(b.shape) == 2:
            b.shape = (b.shape[0], 1, b.shape[1])
        elif b.shape is None or len(b.shape) != 3 or b.shape[1] != 1:
            raise ModelError(f"{where}: a 1-D convolution needs a (C, L) input shape; pass "
                             "input_shape=(C, L)")
        one = lambda v: int(np.ravel(v)[0])  # noqa: E731 - (k,) or k
        pad = padding if isinstance(padding, str) else (0, one(padding))
        self.conv(w[:, :, None, :], bias, (1, one(stride)), pad, (1, one(dilation)), groups,
                  where)

    def conv(self, weight, bias, stride, padding, dilation, groups, where):
        w = _tnp(weight) if not isinstance(weight, np.ndarray) else weight
        if w.ndim == 3:
            return self.conv1d(w, bias, stride, padding, dilation, groups, where)
        if w.ndim != 4:
            raise ModelError(f"{where}: only 1-D and 2-D convolutions are supported")
        dilation = tuple(int(v) for v in np.broadcast_to(dilation, 2))
        if isinstance(padding, str):
            if padding == "valid":
                padding = (0, 0)
            elif padding == "same":
                # torch: total padding d (k - 1) per axis, the smaller half first
                tot = [d * (k - 1) for d, k in zip(dilation, w.shape[2:])]
                padding = tuple((t // 2, t - t // 2) for t in tot)
            else:
                raise ModelError(f"{where}: padding={padding!r} is not supported")
        else:
            padding = tuple(int(v) for v in np.broadcast_to(padding, 2))
        stride = tuple(int(v) for v in np.broadcast_to(stride, 2))
        bias = None if bias is None else (_tnp(bias) if not isinstance(bias, np.ndarray)
                                          else bias)
        self.b.affine(Conv2d(w, bias, stride, padding, dilation=dilation, groups=int(groups)),
                      where)

    def _bn(self, mod, where):
        if mod.running_mean is None or mod.running_var is None:
            raise ModelError(f"{where}: track_running_stats=False normalizes with the batch's "
                             "own statistics even in evaluation mode; not a fixed function")
        ndim = 1 if isinstance(mod, self.nn.BatchNorm1d) else 3
        if ndim == 1 and self.b.shape is not None and len(self.b.shape) == 3 \
                and self.b.shape[1] == 1:
            ndim = 3  # BatchNorm1d of a (C, L) tensor after a Conv1d: per channel
        self.batch_norm(mod.running_mean, mod.running_var, mod.weight, mod.bias, mod.eps, ndim,
                        where)

    def batch_norm(self, mean, var, weight, bias, eps, ndim, where):
        mean, var = _tnp(mean), _tnp(var)
        if not np.all(var + float(eps) > 0):  # NaN or negative: no running statistics
            raise ModelError(f"{where}: running_var + eps must be positive and finite (the "
                             f"smallest: {float(np.min(var + float(eps))):g}; NaN is neither)")
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
        self.apply("softplus", {"beta": mod.beta, "threshold": mod.threshold}, where)

    # ---- the operations of a traced or scripted chain ----------------------------------------
    def apply(self, op, a, where):
        """One step of a chain; ``a`` holds its arguments by name, the tensor as ``DATA``."""
        b = self.b
        self.after_squeeze(where)
        if op == "identity":
            return
        if op == "squeeze":  # (batch, 1) -> (batch,): the scalar output, as the last step
            dim = a.get("dim")
            dim = dim[0] if isinstance(dim, (list, tuple)) and len(dim) == 1 else dim
            if b.shape != (1,) or dim not in (1, -1):
                raise ModelError(f"{where}: only squeeze(dim=1 or -1) of a (batch, 1) output "
                                 "is supported")
            self.squeezed = where
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
            beta = float(a["beta"])
            if not (np.isfinite(beta) and beta > 0):
                raise ModelError(f"{where}: softplus needs a finite beta > 0, got {beta:g}")
            if float(a.get("threshold", 20.0)) < 20.0:  # torch: x itself where x > threshold
                raise ModelError(f"{where}: only softplus with threshold >= 20 is supported "
                                 f"(threshold {float(a['threshold']):g} makes torch's function "
                                 "x above it, far from log(1 + e^x))")
            if beta == 1.0:
                return b.activation("softplus", where)
            # softplus(beta x) / beta: the factors folded into the affine layers around it
            b.elementwise(beta, 0.0, where)
            b.activation("softplus", where)
            return b.elementwise(1.0 / beta, 0.0, where)
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
        if op == "avg_pool2d":
            if b.shape is None or len(b.shape) != 3:
                raise ModelError(f"{where}: average pooling needs a (C, H, W) tensor, receives "
                                 f"{'an unknown shape' if b.shape is None else b.shape}")
            M, shape = avg_pool2d_matrix(b.shape, a["kernel_size"], a["stride"], a["padding"],
                                         bool(a["ceil_mode"]), bool(a["count_include_pad"]),
                                         a["divisor_override"])
            return b.linear_map(M, shape, where)
        if op == "adaptive_avg_pool2d":
            if b.shape is None or len(b.shape) != 3:
                raise ModelError(f"{where}: average pooling needs a (C, H, W) tensor, receives "
                                 f"{'an unknown shape' if b.shape is None else b.shape}")
            M, shape = adaptive_avg_pool2d_matrix(b.shape, a["output_size"])
            return b.linear_map(M, shape, where)
        if op == "mean":  # x.mean((2, 3)): global average pooling of a (C, H, W) tensor
            dims = a.get("dim")
            dims = [dims] if isinstance(dims, int) else list(dims or [])
            nd = None if b.shape is None else len(b.shape) + 1
            norm = sorted({d % nd for d in dims}) if nd and all(
                isinstance(d, int) for d in dims) else None
            if nd != 4 or norm != [2, 3] or a.get("dtype") is not None:
                raise ModelError(f"{where}: only mean over the spatial dimensions (2, 3) of a "
                                 "(batch, C, H, W) tensor is supported")
            M, shape = adaptive_avg_pool2d_matrix(b.shape, 1)
            b.linear_map(M, shape, where)
            if not a.get("keepdim"):
                b.flatten()
            return None
        if op == "batch_norm":
            if a["training"] is not False:
                raise ModelError(f"{where}: batch_norm with training={a['training']!r} uses "
                                 "the batch's statistics; only inference mode is supported")
            args = [a[k] for k in ("running_mean", "running_var", "weight", "bias")]
            if any(self.torch.is_tensor(v) is False and v is not None for v in args):
                raise ModelError(f"{where}: batch_norm statistics must be constants")
            return self.batch_norm(args[0], args[1], args[2], args[3], a["eps"], None, where)
        if op == "matmul":  # x @ B with a constant 2-D B: the layer x -> B^T x
            if a["input"] is not DATA:
                raise ModelError(f"{where}: only the tensor times a constant matrix (x @ B) "
                                 "is supported")
            B = self.const(a["other"], where, "matrix")
            if B.ndim != 2:
                raise ModelError(f"{where}: matmul with a {B.ndim}-D constant is not supported")
            return b.affine(Dense(B.T), where)
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

    def after_squeeze(self, where):
        if self.squeezed is not None:
            raise ModelError(f"{where}: nothing may follow the squeeze of the output "
                             f"({self.squeezed})")

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
        self.fx_graph(gm, name, type(mod).__name__)

    def fx_graph(self, gm, prefix, cls_name="GraphModule"):
        nodes = list(gm.graph.nodes)
        inputs = [n for n in nodes if n.op == "placeholder"]
        label = f"{_label(prefix)} ({cls_name}, traced with torch.fx)"
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
            kind = "function" if node.op == "call_function" else "method"
            raise ModelError(f"{where}: unsupported torch {kind} {what!r} on the "
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
        if op not in ("mul", "add", "sub", "div", "matmul") and a["input"] is not DATA:
            raise ModelError(f"{where}: the tensor must be the first argument")
        if op in ("mul", "add", "sub", "div", "matmul") and a["input"] is DATA and (
                a["other"] is DATA):
            raise ModelError(f"{where}: an operation of the tensor with itself is not affine")
        self.apply(op, a, where)
        return DATA

    # ---- TorchScript -------------------------------------------------------------------------
    def script(self, mod, name):
        # lazy: _torchscript imports this module's reader (a cycle inside the loaders)
        from polylip.nn.loaders._torchscript import read_script
        read_script(self, mod, name)


"""Reading TorchScript modules (private; see :mod:`polylip.nn.loaders.torch`).

The module is frozen (:func:`torch.jit.freeze`, on the caller's evaluation-mode copy), which
inlines its submodules and turns parameters and attributes into constants. Its graph is then
read node by node: each node that uses the data must use the result of the node before and is
one supported operation; ``if`` nodes that compute no tensor (shape checks that may raise)
are skipped; forward must return the last result. Anything else is refused.
"""

from __future__ import annotations

import warnings

import numpy as np

from polylip.errors import ModelError
from polylip.nn.loaders._torch_reader import BATCH, DATA, SIZES, SUPPORTED_LAYERS, _label, _Meta
from polylip.nn.network import Dense


def read_script(r, mod, name):
    """Read a TorchScript module: the graph of its frozen copy, a chain (see the module
    docstring)."""
    torch = r.torch
    cls_name = getattr(mod, "original_name", None) or type(mod).__name__
    label = f"{_label(name)} (TorchScript {cls_name})"
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
                    _guard(blk, env) for blk in n.blocks()):
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
        out = _ts_op(r, kind, vals, data_pos, where)
        if out is not DATA:
            env[outs[0].unique()] = out
            continue
        if len(outs) != 1:
            raise ModelError(f"{where}: an operation with {len(outs)} outputs")
        r.pos += 1
        env[outs[0].unique()] = DATA
        current = outs[0].unique()
    ret = list(g.return_node().inputs())
    if len(ret) != 1 or ret[0].unique() != current:
        raise ModelError(f"{label}: forward does not return the result of its chain of "
                         "layers; polylip reads chains only")

def _guard(block, env):
    """True if a block of an ``if`` computes no tensor from the data (a shape check)."""
    for n in block.nodes():
        if any(env.get(v.unique()) is DATA for v in n.inputs()):
            return False
        if any(o.type().kind() == "TensorType" for o in n.outputs()):
            return False
        if not all(_guard(b, env) for b in n.blocks()):
            return False
    return True

def _ts_op(r, kind, v, data_pos, where):
    ns, _, op = kind.partition("::")
    if ns != "aten":
        raise ModelError(f"{where}: unsupported TorchScript node on the tensor")
    op = op[:-1] if op.endswith("_") and not op.startswith("_") else op  # in-place forms
    first = data_pos[0] == 0
    if op in ("size", "dim", "numel", "len"):
        if op == "size" and len(v) == 1:
            return SIZES
        return BATCH if op == "size" and v[1] == 0 else _Meta()
    r.after_squeeze(where)
    if op in ("mul", "add", "sub", "div", "rsub") and len(data_pos) > 1:
        raise ModelError(f"{where}: an operation of the tensor with itself is not affine")
    if not first and op not in ("mul", "add", "sub", "addmm"):
        raise ModelError(f"{where}: the tensor must be the first argument")
    table = {
        "relu": lambda: ("relu", {}), "tanh": lambda: ("tanh", {}),
        "sigmoid": lambda: ("sigmoid", {}),
        "leaky_relu": lambda: ("leaky_relu", {"negative_slope": v[1]}),
        "elu": lambda: ("elu", {"alpha": v[1], "scale": v[2], "input_scale": v[3]}),
        "softplus": lambda: ("softplus", {"beta": v[1], "threshold": v[2]}),
        "flatten": lambda: ("flatten", {"start_dim": v[1], "end_dim": v[2]}),
        "view": lambda: ("reshape", {"shape": v[1]}),
        "reshape": lambda: ("reshape", {"shape": v[1]}),
        "contiguous": lambda: ("identity", {}), "clone": lambda: ("identity", {}),
        "detach": lambda: ("identity", {}),
        "squeeze": lambda: ("squeeze", {"dim": v[1] if len(v) > 1 else None}),
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
        "avg_pool2d": lambda: ("avg_pool2d", dict(zip(
            ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad",
             "divisor_override"), v[1:7]))),
        "adaptive_avg_pool2d": lambda: ("adaptive_avg_pool2d", {"output_size": v[1]}),
        "mean": lambda: ("mean", {"dim": v[1] if len(v) > 2 else None,
                                  "keepdim": v[2] if len(v) > 2 else False,
                                  "dtype": v[3] if len(v) > 3 else v[1]}),
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
        r.apply("conv2d", {"weight": v[1], "bias": v[2], "stride": v[3],
                              "padding": v[4], "dilation": v[5], "groups": v[8]}, where)
        return DATA
    if op == "_convolution_mode":  # a traced Conv2d(padding="same" / "valid")
        r.apply("conv2d", {"weight": v[1], "bias": v[2], "stride": v[3], "padding": v[4],
                           "dilation": v[5], "groups": v[6]}, where)
        return DATA
    if op in ("matmul", "mm"):
        B = r.const(v[1], where, "matrix")
        if B.ndim != 2:
            raise ModelError(f"{where}: matmul with a {B.ndim}-D constant")
        r.b.affine(Dense(B.T), where)
        return DATA
    if op == "addmm":
        if data_pos != [1]:
            raise ModelError(f"{where}: addmm must multiply the tensor by a constant")
        B = r.const(v[2], where, "matrix")
        beta, alpha = float(v[3]), float(v[4])
        bias = beta * r.const(v[0], where, "bias").reshape(-1)
        r.b.affine(Dense(alpha * B.T, np.broadcast_to(bias, (B.shape[1],))), where)
        return DATA
    if op == "rsub":  # other - alpha * x
        r.b.elementwise(-float(v[2]), r.const(v[1], where, "operand"), where)
        return DATA
    if op not in table:
        raise ModelError(f"{where}: unsupported TorchScript operation aten::{op} on the "
                         f"tensor; supported layers: {SUPPORTED_LAYERS}")
    name, a = table[op]()
    a.setdefault("input", DATA)
    r.apply(name, a, where)
    return DATA

"""ONNX models to :class:`~polylip.nn.network.Network` (extra ``onnx``).

The network is the function from the graph's one data input to its DECLARED output
(``graph.output``, exactly one): the nodes that output depends on must form a chain of
``Gemm``, ``MatMul``, ``Add``/``Sub``/``Mul``/``Div``/``Neg`` with constants, ``Conv`` (any
group, dilation and padding), ``AveragePool``, ``GlobalAveragePool``, ``ReduceMean`` over the
spatial axes, ``BatchNormalization`` (inference), ``Flatten``, ``Reshape`` (to a flat
vector), ``Relu``, ``LeakyRelu``, ``Elu``, ``Tanh``, ``Sigmoid``, ``Softplus``, ``Identity``, ``Dropout``, with
weights as initializers or ``Constant`` nodes. Nodes the declared output does not depend on
are ignored; a declared output that the chain does not reach is refused.

The network read is checked against :class:`onnx.reference.ReferenceEvaluator` (on the model
converted to float64) on seeded random inputs, relative tolerance 1e-6.
"""

from __future__ import annotations

import logging
import os

import numpy as np

from polylip.errors import ModelError, require
from polylip.nn.loaders._build import CHECK_INPUTS, Builder, verify
from polylip.nn.layers import adaptive_avg_pool2d_matrix, avg_pool2d_matrix
from polylip.nn.network import Conv2d, Dense, Network

__all__ = ["from_onnx"]

log = logging.getLogger(__name__)

SUPPORTED_OPS = ("Gemm, MatMul, Add, Sub, Mul, Div, Neg, Conv, AveragePool, GlobalAveragePool, "
                 "ReduceMean (over H, W), BatchNormalization, Flatten, Reshape, Relu, LeakyRelu, "
                 "Elu, Tanh, Sigmoid, Softplus, Identity, Dropout")


def _attrs(onnx, node):
    out = {}
    for a in node.attribute:
        v = onnx.helper.get_attribute_value(a)
        if a.type == onnx.AttributeProto.FLOAT:  # stored as float32: shortest decimal
            v = float(np.format_float_positional(np.float32(v), unique=True))
        if isinstance(v, bytes):
            v = v.decode()
        out[a.name] = v
    return out


def _constants(onnx, g):
    from onnx import numpy_helper

    consts = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    for node in g.node:  # Constant nodes hold arrays too
        if node.op_type == "Constant":
            at = {a.name: a for a in node.attribute}
            if "value" in at:
                consts[node.output[0]] = numpy_helper.to_array(at["value"].t)
            elif "value_float" in at:
                consts[node.output[0]] = np.array(at["value_float"].f)
            elif "value_floats" in at:
                consts[node.output[0]] = np.array(list(at["value_floats"].floats))
            elif "value_int" in at:
                consts[node.output[0]] = np.array(at["value_int"].i)
            elif "value_ints" in at:
                consts[node.output[0]] = np.array(list(at["value_ints"].ints))
    return consts


def _needed(g, target):
    """The nodes the value ``target`` depends on, in graph order."""
    producer = {}
    for node in g.node:
        for o in node.output:
            if o:
                producer[o] = node
    seen, stack = set(), [target]
    while stack:
        node = producer.get(stack.pop())
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        stack.extend(i for i in node.input if i)
    return [n for n in g.node if id(n) in seen]


def _load(onnx, model):
    source = "the ONNX model"
    if isinstance(model, (str, os.PathLike)):
        source = os.fspath(model)
        if not os.path.exists(source):
            raise ModelError(f"no such ONNX file: {source}")
        try:
            model = onnx.load(source, load_external_data=False)
        except Exception as exc:  # noqa: BLE001 - onnx raises several types on bad files
            raise ModelError(f"cannot read {source} as an ONNX model: {exc}") from exc
        _external_data(onnx, model, source)
    if not isinstance(model, onnx.ModelProto):
        raise ModelError(f"from_onnx expects a path or onnx.ModelProto, got {type(model)}")
    return model, source


def _external_data(onnx, model, source):
    """Load tensors stored beside the model file, only from files inside its folder."""
    from onnx import TensorProto
    from onnx.external_data_helper import _get_all_tensors, load_external_data_for_model

    base = os.path.dirname(os.path.abspath(source))
    external = [t for t in _get_all_tensors(model)
                if t.data_location == TensorProto.EXTERNAL]
    for t in external:
        info = {e.key: e.value for e in t.external_data}
        loc = info.get("location", "")
        full = os.path.realpath(os.path.join(base, loc))
        if os.path.isabs(loc) or not full.startswith(os.path.realpath(base) + os.sep):
            raise ModelError(f"{source}: tensor {t.name!r} names external data {loc!r} outside "
                             "the model's folder; refused")
    if external:
        try:
            load_external_data_for_model(model, base)
        except Exception as exc:  # noqa: BLE001
            raise ModelError(f"{source}: cannot read its external data: {exc}") from exc


def from_onnx(model, output=None, *, input_shape=None) -> Network:
    """Load an ONNX model (path or ``onnx.ModelProto``) as the network from its data input to
    its declared output (see the module docstring; extra ``onnx``).

    ``input_shape`` (C, H, W) is needed when the graph does not declare it and the first
    layer is a convolution.
    """
    onnx = require("onnx", "Network.from_onnx", "onnx")
    model, source = _load(onnx, model)
    g = model.graph
    consts = _constants(onnx, g)
    inputs = [i for i in g.input if i.name not in consts]
    if len(inputs) != 1:
        raise ModelError(f"{source}: the ONNX graph must have exactly one data input, found "
                         f"{len(inputs)}")
    if len(g.output) != 1:
        raise ModelError(f"{source}: the ONNX graph declares {len(g.output)} outputs "
                         f"({', '.join(o.name for o in g.output)}); polylip bounds a graph "
                         "with one declared output")
    target = g.output[0].name
    dims = [d.dim_value if d.HasField("dim_value") else None
            for d in inputs[0].type.tensor_type.shape.dim]
    shape = tuple(dims[1:])
    if len(shape) not in (1, 3) or any(d is None or d <= 0 for d in shape):
        shape = None  # unknown: a first convolution will then ask for it
    if input_shape is not None:
        shape = tuple(int(v) for v in input_shape)
    b = Builder(shape)
    current = inputs[0].name
    nodes = [n for n in _needed(g, target) if n.op_type != "Constant"]
    for node in nodes:
        op, where = node.op_type, f"ONNX node {node.name or node.op_type} ({node.op_type})"
        data_inputs = [i for i in node.input if i and i not in consts]
        if data_inputs != [current]:
            raise ModelError(f"{where}: only a chain of operators on one tensor is supported "
                             f"(its inputs {list(node.input)} do not continue the chain at "
                             f"{current!r})")
        at = _attrs(onnx, node)
        params = [consts[i].astype(float) for i in node.input if i in consts]
        _step(b, op, node, at, params, current, consts, where)
        current = node.output[0]
    if current != target:
        raise ModelError(f"{source}: the declared output {target!r} is not reached by the "
                         f"supported chain from the input {inputs[0].name!r} (the chain ends at "
                         f"{current!r})")
    net = b.build(output)
    _check(onnx, model, net, inputs[0], target, nodes, source)
    log.info("read %r from %s", net, source)
    return net


def _pads(at, hw, kernel, strides, dilations, where):
    """``((top, bottom), (left, right))`` from a node's ``pads`` / ``auto_pad`` (ONNX order
    of ``pads``: the begins of the axes, then their ends)."""
    auto = at.get("auto_pad", "NOTSET")
    if auto in ("NOTSET", "VALID"):
        pads = list(at.get("pads", [0, 0, 0, 0])) if auto == "NOTSET" else [0, 0, 0, 0]
        if len(pads) != 4:
            raise ModelError(f"{where}: only 2-D padding is supported")
        return (int(pads[0]), int(pads[2])), (int(pads[1]), int(pads[3]))
    if auto not in ("SAME_UPPER", "SAME_LOWER"):
        raise ModelError(f"{where}: auto_pad={auto!r} is not supported")
    out = []
    for n, k, s, d in zip(hw, kernel, strides, dilations):  # output ceil(n / s)
        total = max(0, (-(-n // s) - 1) * s + (k - 1) * d + 1 - n)
        small, big = total // 2, total - total // 2
        out.append((small, big) if auto == "SAME_UPPER" else (big, small))
    return tuple(out)


def _step(b, op, node, at, params, current, consts, where):
    if op == "Gemm":
        if at.get("transA", 0):
            raise ModelError(f"{where}: transA=1 is not supported")
        if node.input[0] != current or len(params) < 1:
            raise ModelError(f"{where}: Gemm must be x * B (+ C) with B an initializer")
        B = params[0]
        Bp = B.T if at.get("transB", 0) else B  # y = x Bp
        W = float(at.get("alpha", 1.0)) * Bp.T
        bias = None
        if len(params) > 1:
            bias = float(at.get("beta", 1.0)) * params[1].reshape(-1)
            if bias.size == 1:
                bias = np.full(W.shape[0], bias[0])
        b.affine(Dense(W, bias), where)
    elif op == "MatMul":
        if node.input[0] != current or len(params) != 1 or params[0].ndim != 2:
            raise ModelError(f"{where}: MatMul must be x * B with B a 2-D initializer")
        b.affine(Dense(params[0].T), where)
    elif op in ("Add", "Sub", "Mul", "Div"):
        if len(params) != 1:
            raise ModelError(f"{where}: {op} must combine the data with one initializer")
        c, first = params[0], node.input[0] == current
        if op == "Add":
            b.elementwise(1.0, c, where)
        elif op == "Sub":
            b.elementwise(1.0, -c, where) if first else b.elementwise(-1.0, c, where)
        elif op == "Mul":
            b.elementwise(c, 0.0, where)
        else:
            if not first:
                raise ModelError(f"{where}: dividing by the data is not an affine map")
            if np.any(c == 0):
                raise ModelError(f"{where}: division by zero")
            b.elementwise(1.0 / c, 0.0, where)
    elif op == "Neg":
        b.elementwise(-1.0, 0.0, where)
    elif op == "BatchNormalization":
        if at.get("training_mode", 0):
            raise ModelError(f"{where}: training_mode=1 is not supported (inference only)")
        if len(params) != 4 or node.input[0] != current:
            raise ModelError(f"{where}: scale, B, mean and var must be initializers")
        scale, bias, mean, var = params
        s = scale / np.sqrt(var + float(at.get("epsilon", 1e-5)))
        ndim = 1 if b.shape is None else len(b.shape)
        b.channelwise(s, bias - mean * s, ndim, where)
    elif op == "Conv":
        if not params or params[0].ndim != 4:
            raise ModelError(f"{where}: only 2-D convolutions (4-D weights) are supported")
        if node.input[0] != current or len(params) < 1:
            raise ModelError(f"{where}: Conv weights must be an initializer")
        if b.shape is None or len(b.shape) != 3:
            raise ModelError(f"{where}: a convolution needs a (C, H, W) input shape; pass "
                             "input_shape=(C, H, W)")
        kernel = params[0].shape[2:]
        strides = tuple(at.get("strides", [1, 1]))
        dil = tuple(at.get("dilations", [1, 1]))
        pads = _pads(at, b.shape[1:], kernel, strides, dil, where)
        bias = params[1] if len(params) > 1 else None
        b.affine(Conv2d(params[0], bias, strides, pads, dilation=dil,
                        groups=int(at.get("group", 1))), where)
    elif op in ("AveragePool", "GlobalAveragePool", "ReduceMean"):
        if b.shape is None or len(b.shape) != 3:
            raise ModelError(f"{where}: average pooling needs a (C, H, W) tensor; pass "
                             "input_shape=(C, H, W)")
        if op == "AveragePool":
            kernel = tuple(at.get("kernel_shape", ()))
            strides = tuple(at.get("strides", [1, 1]))
            if len(kernel) != 2 or any(d != 1 for d in at.get("dilations", [1, 1])):
                raise ModelError(f"{where}: only 2-D AveragePool without dilation is supported")
            (pt, pb), (pl, pr) = _pads(at, b.shape[1:], kernel, strides, (1, 1), where)
            if pt != pb or pl != pr:
                raise ModelError(f"{where}: only symmetric padding is supported for "
                                 "AveragePool")
            M, shape = avg_pool2d_matrix(b.shape, kernel, strides, (pt, pl),
                                         bool(at.get("ceil_mode", 0)),
                                         bool(at.get("count_include_pad", 0)))
            b.linear_map(M, shape, where)
        elif op == "GlobalAveragePool":
            M, shape = adaptive_avg_pool2d_matrix(b.shape, 1)
            b.linear_map(M, shape, where)
        else:
            axes = at.get("axes")
            if axes is None and len(node.input) > 1 and node.input[1] in consts:
                axes = consts[node.input[1]].astype(int).reshape(-1).tolist()
            axes = sorted({int(a) % 4 for a in axes}) if axes is not None else None
            if axes != [2, 3] or at.get("noop_with_empty_axes", 0):
                raise ModelError(f"{where}: only ReduceMean over the spatial axes (2, 3) of a "
                                 "(batch, C, H, W) tensor is supported")
            M, shape = adaptive_avg_pool2d_matrix(b.shape, 1)
            b.linear_map(M, shape, where)
            if not at.get("keepdims", 1):
                b.flatten()
    elif op == "Flatten":
        if at.get("axis", 1) != 1:
            raise ModelError(f"{where}: only Flatten(axis=1) is supported")
        b.flatten()
    elif op == "Reshape":
        target = params[0].astype(int).reshape(-1) if params else None
        n = b.size
        if target is None or target.size != 2 or (
                target[1] != -1 and n is not None and target[1] != n):
            raise ModelError(f"{where}: only a Reshape to (batch, features) is supported")
        b.flatten()
    elif op in ("Identity", "Dropout"):
        if op == "Dropout" and at.get("training_mode", 0):
            raise ModelError(f"{where}: Dropout in training mode is random")
        if op == "Dropout" and len(node.input) > 2 and node.input[2]:
            mode = consts.get(node.input[2])
            if mode is None or bool(np.asarray(mode).reshape(-1)[0]):
                raise ModelError(f"{where}: Dropout in training mode is random")
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
        raise ModelError(f"unsupported ONNX operator {op!r} ({where}); supported: "
                         f"{SUPPORTED_OPS}")


def _as_double(onnx, model, nodes, target):
    """The model restricted to ``nodes`` with every float tensor made float64."""
    from onnx import TensorProto, numpy_helper

    floats = {TensorProto.FLOAT, TensorProto.FLOAT16, TensorProto.BFLOAT16, TensorProto.DOUBLE}
    m = onnx.ModelProto()
    m.CopyFrom(model)
    g = m.graph
    keep = {id(n) for n in nodes}
    kept = [n for n, orig in zip(g.node, model.graph.node)
            if id(orig) in keep or orig.op_type == "Constant"]
    del g.node[:]
    g.node.extend(kept)
    for t in g.initializer:
        if t.data_type in floats:
            t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(t).astype(np.float64),
                                               t.name))
    for vi in list(g.input) + list(g.output) + list(g.value_info):
        if vi.type.tensor_type.elem_type in floats:
            vi.type.tensor_type.elem_type = TensorProto.DOUBLE
    for node in g.node:
        if node.op_type != "Constant":
            continue
        for a in node.attribute:
            if a.name == "value" and a.t.data_type in floats:
                a.t.CopyFrom(numpy_helper.from_array(
                    numpy_helper.to_array(a.t).astype(np.float64), a.t.name))
            elif a.name in ("value_float", "value_floats"):
                arr = np.array(a.f if a.name == "value_float" else list(a.floats), np.float64)
                a.CopyFrom(onnx.helper.make_attribute("value", numpy_helper.from_array(arr)))
    return m


def _check(onnx, model, net, inp, target, nodes, source):
    try:
        from onnx.reference import ReferenceEvaluator
    except ImportError:  # pragma: no cover - onnx < 1.13
        log.warning("onnx.reference is not available: the network read from %s is not checked "
                    "against the ONNX model", source)
        return
    m64 = _as_double(onnx, model, nodes, target)
    dims = [d.dim_value if d.HasField("dim_value") else None
            for d in inp.type.tensor_type.shape.dim]
    rest = dims[1:]
    if rest and all(d for d in rest) and int(np.prod(rest)) == net.input_dim:
        shape = tuple(rest)
    else:
        shape = net.input_shape or (net.input_dim,)
    batch = dims[0] if dims and dims[0] else None
    try:
        sess = ReferenceEvaluator(m64)
    except Exception as exc:  # noqa: BLE001
        raise ModelError(f"{source}: cannot build onnx's ReferenceEvaluator to check the "
                         f"network read ({type(exc).__name__}: {exc})") from exc

    def forward(X):
        step = batch or len(X)
        outs = []
        for i in range(0, len(X), step):
            xb = X[i:i + step].reshape((-1,) + shape)
            outs.append(np.asarray(sess.run([target], {inp.name: xb})[0]).reshape(len(xb), -1))
        return np.concatenate(outs)

    n = CHECK_INPUTS if not batch or batch == 1 else batch
    verify(net, forward, None, source=source, framework="onnx's ReferenceEvaluator", n=n)

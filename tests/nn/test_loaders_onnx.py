"""ONNX loader: the network ends at the graph's DECLARED output; graphs whose declared output
the chain does not reach are refused; the check against onnx's ReferenceEvaluator."""

import numpy as np
import pytest

from polylip.errors import ModelError
from polylip.nn import Network
from polylip.nn.loaders import _build, load_model
from support.nn import random_net

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402
from onnx.reference import ReferenceEvaluator  # noqa: E402


def _model(nodes, inits, out, n_in, out_dims=None, in_dims=None, dtype=TensorProto.DOUBLE):
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", dtype, in_dims or [None, n_in])],
        [helper.make_tensor_value_info(out, dtype, out_dims)], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _mlp_nodes(Ws, bs, dtype=np.float64):
    nodes, inits = [], []
    for k, (W, b) in enumerate(zip(Ws, bs)):
        inits += [numpy_helper.from_array(W.astype(dtype), f"W{k}"),
                  numpy_helper.from_array(b.astype(dtype), f"b{k}")]
        src = "x" if k == 0 else f"a{k - 1}"
        nodes.append(helper.make_node("Gemm", [src, f"W{k}", f"b{k}"], [f"y{k}"], transB=1))
        nodes.append(helper.make_node("Relu", [f"y{k}"], [f"a{k}"]))
    return nodes, inits


def _ref(model, X):
    return ReferenceEvaluator(model).run(None, {"x": X})[0]


def test_declared_output_is_an_intermediate_node():
    Ws, bs = random_net(0, [3, 4, 3, 2])
    nodes, inits = _mlp_nodes(Ws, bs)  # Gemm, Relu, Gemm, Relu, Gemm, Relu
    model = _model(nodes, inits, "y1", 3)  # declared: the second Gemm, nodes go on after it
    net = Network.from_onnx(model)
    assert net.layer_sizes == [3, 4, 3]
    ref = Network.from_weights(Ws[:2], bs[:2])
    X = np.random.default_rng(0).standard_normal((5, 3))
    assert np.allclose(net(X), ref(X), rtol=1e-12)
    assert np.allclose(net(X), _ref(model, X), rtol=1e-12)
    # declaring the last Gemm instead gives the whole chain
    assert Network.from_onnx(_model(nodes, inits, "y2", 3)).layer_sizes == [3, 4, 3, 2]


def test_declared_output_not_reached_by_the_chain():
    Ws, bs = random_net(1, [3, 4, 2])
    nodes, inits = _mlp_nodes(Ws, bs)
    # declared output: a side branch computed from the input, not from the chain's end
    nodes.append(helper.make_node("Gemm", ["a0", "W1", "b1"], ["side"], transB=1))
    nodes.append(helper.make_node("Add", ["side", "y0"], ["z"]))
    with pytest.raises(ModelError, match="chain"):
        Network.from_onnx(_model(nodes, inits, "z", 3))
    # declared output: the Dropout mask (second output), not its data
    nodes, inits = _mlp_nodes(Ws, bs)
    nodes.append(helper.make_node("Dropout", ["y1"], ["d", "mask"]))
    with pytest.raises(ModelError, match="declared output 'mask' is not reached"):
        Network.from_onnx(_model(nodes, inits, "mask", 3, dtype=TensorProto.DOUBLE))
    # declared output computed by no node
    nodes, inits = _mlp_nodes(Ws, bs)
    with pytest.raises(ModelError, match="declared output 'nowhere' is not reached"):
        Network.from_onnx(_model(nodes, inits, "nowhere", 3))


def test_two_declared_outputs_refused():
    Ws, bs = random_net(1, [3, 4, 2])
    nodes, inits = _mlp_nodes(Ws, bs)
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.DOUBLE, [None, 3])],
        [helper.make_tensor_value_info("y1", TensorProto.DOUBLE, None),
         helper.make_tensor_value_info("y0", TensorProto.DOUBLE, None)], inits)
    with pytest.raises(ModelError, match="declares 2 outputs"):
        Network.from_onnx(helper.make_model(graph))


def test_float32_model_constants_and_batchnorm(tmp_path):
    rng = np.random.default_rng(2)
    W0, W1 = rng.standard_normal((4, 3)), rng.standard_normal((1, 4))
    scale, bias = rng.standard_normal(4), rng.standard_normal(4)
    mean, var = rng.standard_normal(4), rng.random(4) + 0.5
    f = np.float32
    inits = [numpy_helper.from_array(a.astype(f), n) for a, n in [
        (W0.T, "W0"), (W1, "W1"), (scale, "s"), (bias, "B"), (mean, "m"), (var, "v"),
        (np.array([0.5, 1.0, 2.0]), "k"), (np.array(3.0), "c")]]
    nodes = [helper.make_node("Mul", ["x", "k"], ["xs"]),
             helper.make_node("MatMul", ["xs", "W0"], ["h"]),
             helper.make_node("BatchNormalization", ["h", "s", "B", "m", "v"], ["hb"],
                              epsilon=1e-3),
             helper.make_node("Tanh", ["hb"], ["t"]),
             helper.make_node("Sub", ["c", "t"], ["u"]),  # 3 - tanh(...)
             helper.make_node("Gemm", ["u", "W1"], ["y"], transB=1)]
    model = _model(nodes, inits, "y", 3, dtype=TensorProto.FLOAT)
    path = tmp_path / "m.onnx"
    onnx.save(model, str(path))
    net = load_model(path)
    assert net.layer_sizes == [3, 4, 1]
    X = np.random.default_rng(0).standard_normal((4, 3))
    W0f, W1f = W0.astype(f).astype(float), W1.astype(f).astype(float)
    s = scale.astype(f) / np.sqrt(var.astype(f).astype(float) + 1e-3)
    h = (X * np.array([0.5, 1.0, 2.0])) @ W0f.T
    want = (3.0 - np.tanh(s * (h - mean.astype(f)) + bias.astype(f))) @ W1f.T
    assert np.allclose(net(X), want, rtol=1e-6)
    out = _ref(model, X.astype(f))
    assert np.allclose(net(X), out, rtol=1e-4)  # float32 evaluation


def test_mismatch_with_the_reference_is_a_model_error(monkeypatch):
    Ws, bs = random_net(3, [3, 4, 1])
    nodes, inits = _mlp_nodes(Ws, bs)
    model = _model(nodes, inits, "y1", 3)
    real = _build.Builder.activation

    def misread(self, act, where):  # a reader bug: every ReLU read as leaky
        return real(self, "leaky_relu:0.01" if act == "relu" else act, where)

    monkeypatch.setattr(_build.Builder, "activation", misread)
    with pytest.raises(ModelError, match=r"ReferenceEvaluator's forward pass: max difference"):
        Network.from_onnx(model)


def test_verify_names_the_max_difference():
    net = Network.from_weights([np.eye(2), np.ones((1, 2))])
    with pytest.raises(ModelError, match=r"max difference .*tolerance 1e-06"):
        _build.verify(net, lambda X: net(X) * (1 + 1e-5), source="s", framework="f")
    _build.verify(net, lambda X: net(X) * (1 + 1e-8), source="s", framework="f")
    with pytest.raises(ModelError, match="gradient"):
        _build.verify(net, lambda X: net(X), lambda X, u: 2 * net.gradient(X) * u[0],
                      source="s", framework="f")


def test_unsafe_external_data_location_refused(tmp_path):
    W = numpy_helper.from_array(np.ones((1, 3)), "W")
    W.data_location = TensorProto.EXTERNAL
    W.ClearField("raw_data")
    entry = W.external_data.add()
    entry.key, entry.value = "location", "../../etc/passwd"
    nodes = [helper.make_node("Gemm", ["x", "W"], ["y"], transB=1)]
    model = _model(nodes, [W], "y", 3)
    path = tmp_path / "ext.onnx"
    path.write_bytes(model.SerializeToString())
    with pytest.raises(ModelError, match="outside the model's folder"):
        Network.from_onnx(str(path))


def test_a_1d_convolution_is_named_as_such():
    # it was refused as "only symmetric 2-D padding is supported"
    w = numpy_helper.from_array(np.ones((2, 1, 3)), "w")
    node = helper.make_node("Conv", ["x", "w"], ["y"], pads=[0, 0])
    with pytest.raises(ModelError, match="only 2-D convolutions"):
        Network.from_onnx(_model([node], [w], "y", 6, in_dims=[1, 1, 6]))


def test_a_tiny_file_declaring_a_huge_image_is_refused_before_unrolling():
    # 64 3x3 kernels on a declared 3x1000x1000 input: the unrolled convolution's index tables
    # would take ~130 GB; refused with the size named, nothing allocated
    w = numpy_helper.from_array(np.ones((64, 3, 3, 3)), "w")
    node = helper.make_node("Conv", ["x", "w"], ["y"], pads=[0, 0, 0, 0])
    model = _model([node], [w], "y", 3, in_dims=[1, 3, 1000, 1000])
    with pytest.raises(ModelError, match="unrolling the 3x3 convolution"):
        Network.from_onnx(model)

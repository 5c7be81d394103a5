"""npz / torch / onnx loaders: identical gradients and bounds; clear errors."""

import sys

import numpy as np
import pytest
import scipy.sparse as sp

from polylip.errors import MissingDependencyError, ModelError
from polylip.nn import Network, lipschitz
from support.nn import random_net


def _same(a, b, X):
    assert a.layer_sizes == b.layer_sizes
    assert np.allclose(a(X), b(X), atol=1e-10)
    assert np.allclose(a.gradient(X), b.gradient(X), atol=1e-10)
    for m in ("product", "exact"):
        ra, rb = lipschitz(a, method=m), lipschitz(b, method=m)
        assert ra.upper == pytest.approx(rb.upper, rel=1e-9)
        assert ra.lower == pytest.approx(rb.lower, rel=1e-9)


def test_npz_roundtrip(tmp_path):
    Ws, bs = random_net(0, [3, 4, 3, 1])
    net = Network.from_weights([Ws[0], sp.csr_matrix(Ws[1]), Ws[2]], bs,
                               activation=["leaky_relu:0.1", "relu"])
    path = tmp_path / "net.npz"
    net.save(path)
    back = Network.load(path)
    assert [a.spec() for a in back.activations] == ["leaky_relu:0.1", "relu"]
    assert sp.issparse(back.affine_layers[1][0])
    _same(net, back, np.random.default_rng(0).standard_normal((5, 3)))
    vec = Network.from_weights(Ws[:2], bs[:2], output="margin:0,2")
    vec.save(tmp_path / "v.npz")
    assert Network.load(tmp_path / "v.npz").output.spec() == "margin:0,2"


def test_npz_minimal_and_errors(tmp_path):
    np.savez(tmp_path / "m.npz", W0=np.ones((2, 2)), W1=np.ones((1, 2)))
    net = Network.load(tmp_path / "m.npz")
    assert net.layer_sizes == [2, 2, 1] and net.activations[0].name == "relu"
    with pytest.raises(ModelError, match="no such"):
        Network.load(tmp_path / "missing.npz")
    (tmp_path / "junk.npz").write_text("not a zip")
    with pytest.raises(ModelError):
        Network.load(tmp_path / "junk.npz")
    np.savez(tmp_path / "e.npz", X=np.ones(2))
    with pytest.raises(ModelError, match="no weights"):
        Network.load(tmp_path / "e.npz")
    np.savez(tmp_path / "bad.npz", W0=np.ones((2, 2)), W1=np.ones((1, 3)))
    with pytest.raises(ModelError, match="expects 3 inputs"):
        Network.load(tmp_path / "bad.npz")


def test_missing_extra_is_clear(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(MissingDependencyError, match=r"polylip\[torch\]"):
        Network.from_torch(object())
    with pytest.raises(MissingDependencyError, match=r"polylip\[onnx\]"):
        Network.from_onnx("x.onnx")


def test_torch_mlp_and_cnn():
    torch = pytest.importorskip("torch")
    nn = torch.nn
    torch.manual_seed(0)
    mlp = nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Sequential(nn.Linear(5, 3), nn.ReLU()),
                        nn.Dropout(0.1), nn.Linear(3, 1)).double().eval()
    net = Network.from_torch(mlp)
    Ws = [mlp[0].weight, mlp[2][0].weight, mlp[4].weight]
    bs = [mlp[0].bias, mlp[2][0].bias, mlp[4].bias]
    ref = Network.from_weights([w.detach().numpy() for w in Ws], [b.detach().numpy() for b in bs])
    X = np.random.default_rng(0).standard_normal((6, 4))
    _same(net, ref, X)
    xt = torch.tensor(X, requires_grad=True)
    mlp(xt).sum().backward()
    assert np.allclose(net.gradient(X), xt.grad.numpy(), atol=1e-10)
    cnn = nn.Sequential(nn.Conv2d(1, 2, 3, stride=2, padding=1), nn.Tanh(), nn.Flatten(),
                        nn.Linear(2 * 3 * 3, 3), nn.LeakyReLU(0.2), nn.Linear(3, 1)).double()
    cnet = Network.from_torch(cnn, input_shape=(1, 5, 5))
    assert [a.spec() for a in cnet.activations] == ["tanh", "leaky_relu:0.2"]
    X = np.random.default_rng(1).standard_normal((4, 25))
    xt = torch.tensor(X.reshape(4, 1, 5, 5), requires_grad=True)
    out = cnn(xt)
    out.sum().backward()
    assert np.allclose(cnet(X), out.detach().numpy(), atol=1e-10)
    assert np.allclose(cnet.gradient(X), xt.grad.numpy().reshape(4, 25), atol=1e-10)
    with pytest.raises(ModelError, match="input shape"):
        Network.from_torch(cnn)
    with pytest.raises(ModelError, match="unsupported torch layer"):
        Network.from_torch(nn.Sequential(nn.Linear(2, 2), nn.GELU(), nn.Linear(2, 1)))
    # a final activation is a hidden layer followed by the identity (QA round 5)
    tail = Network.from_torch(nn.Sequential(nn.Linear(2, 2), nn.ReLU()))
    assert tail.layer_sizes == [2, 2, 2] and tail.activations[0].name == "relu"


def _onnx_mlp(Ws, bs, acts, use_matmul=False):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper
    nodes, inits, cur = [], [], "x"
    for k, (W, b) in enumerate(zip(Ws, bs)):
        inits.append(numpy_helper.from_array(W.astype(np.float64), f"W{k}"))
        inits.append(numpy_helper.from_array(b.astype(np.float64), f"b{k}"))
        if use_matmul:
            inits[-2] = numpy_helper.from_array(W.T.astype(np.float64), f"W{k}")
            nodes.append(helper.make_node("MatMul", [cur, f"W{k}"], [f"m{k}"]))
            nodes.append(helper.make_node("Add", [f"m{k}", f"b{k}"], [f"y{k}"]))
        else:
            nodes.append(helper.make_node("Gemm", [cur, f"W{k}", f"b{k}"], [f"y{k}"], transB=1))
        cur = f"y{k}"
        if k < len(acts):
            op, attrs = acts[k]
            nodes.append(helper.make_node(op, [cur], [f"a{k}"], **attrs))
            cur = f"a{k}"
    graph = helper.make_graph(
        nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.DOUBLE, [None, Ws[0].shape[1]])],
        [helper.make_tensor_value_info(cur, TensorProto.DOUBLE, [None, Ws[-1].shape[0]])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


@pytest.mark.parametrize("use_matmul", [False, True])
def test_onnx_matches_arrays(tmp_path, use_matmul):
    onnx = pytest.importorskip("onnx")
    from onnx.reference import ReferenceEvaluator
    Ws, bs = random_net(1, [3, 4, 3, 1])
    model = _onnx_mlp(Ws, bs, [("Relu", {}), ("LeakyRelu", {"alpha": 0.1})], use_matmul)
    path = tmp_path / "m.onnx"
    onnx.save(model, str(path))
    net = Network.from_onnx(str(path))
    ref = Network.from_weights(Ws, bs, activation=["relu", "leaky_relu:0.1"])
    X = np.random.default_rng(0).standard_normal((5, 3))
    _same(net, ref, X)
    out = ReferenceEvaluator(model).run(None, {"x": X})[0]
    assert np.allclose(net(X), out)


def test_torch_onnx_arrays_identical(tmp_path):
    torch = pytest.importorskip("torch")
    pytest.importorskip("onnx")
    nn = torch.nn
    torch.manual_seed(3)
    mlp = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1)).double()
    Ws = [mlp[0].weight.detach().numpy(), mlp[2].weight.detach().numpy()]
    bs = [mlp[0].bias.detach().numpy(), mlp[2].bias.detach().numpy()]
    a = Network.from_torch(mlp)
    b = Network.from_onnx(_onnx_mlp(Ws, bs, [("Relu", {})]))
    c = Network.from_weights(Ws, bs)
    X = np.random.default_rng(0).standard_normal((5, 3))
    _same(a, b, X)
    _same(a, c, X)


def test_onnx_conv_and_errors(tmp_path):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper
    from onnx.reference import ReferenceEvaluator
    rng = np.random.default_rng(0)
    w = rng.standard_normal((2, 1, 3, 3))
    cb = rng.standard_normal(2)
    W = rng.standard_normal((1, 2 * 2 * 2))
    inits = [numpy_helper.from_array(w, "w"), numpy_helper.from_array(cb, "cb"),
             numpy_helper.from_array(W, "W"), numpy_helper.from_array(np.zeros(1), "b")]
    nodes = [helper.make_node("Conv", ["x", "w", "cb"], ["c"], strides=[2, 2], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("Flatten", ["r"], ["f"], axis=1),
             helper.make_node("Gemm", ["f", "W", "b"], ["y"], transB=1)]
    graph = helper.make_graph(nodes, "cnn",
                              [helper.make_tensor_value_info("x", TensorProto.DOUBLE, [1, 1, 4, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.DOUBLE, [1, 1])],
                              inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    net = Network.from_onnx(model)
    assert net.layer_sizes == [16, 8, 1]
    x = rng.standard_normal((1, 1, 4, 4))
    out = ReferenceEvaluator(model).run(None, {"x": x})[0]
    assert np.allclose(net(x.reshape(1, 16)), out)
    bad = helper.make_graph([helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[2, 2])],
                            "bad", [helper.make_tensor_value_info("x", TensorProto.DOUBLE,
                                                                  [1, 1, 4, 4])],
                            [helper.make_tensor_value_info("y", TensorProto.DOUBLE, None)])
    with pytest.raises(ModelError, match="unsupported ONNX operator 'MaxPool'"):
        Network.from_onnx(helper.make_model(bad))
    with pytest.raises(ModelError, match="no such"):
        Network.from_onnx(str(tmp_path / "none.onnx"))
    (tmp_path / "junk.onnx").write_bytes(b"\x00\x01garbage")
    with pytest.raises(ModelError):
        Network.from_onnx(str(tmp_path / "junk.onnx"))


@pytest.mark.parametrize("suffix", [".npz", ".pt"])
def test_a_member_name_that_is_not_utf8_is_a_model_error(tmp_path, suffix):
    """One flipped bit in a torch file's member name (flagged UTF-8, QA round 4): the content
    sniffing raised a raw UnicodeDecodeError; now the reader of the extension refuses it."""
    import io
    import zipfile

    from polylip.nn.loaders import load_model
    if suffix == ".pt":
        pytest.importorskip("torch")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("archive/d\u00e9ta.pkl", b"x")   # a non-ASCII name: stored with the UTF-8 flag
    raw = buf.getvalue().replace("d\u00e9ta".encode(), b"d\xe9\xe9ta"[:5])
    path = tmp_path / f"net{suffix}"
    path.write_bytes(raw)
    with pytest.raises(ModelError):
        load_model(path)

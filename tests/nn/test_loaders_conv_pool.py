"""Convolutions with dilation, groups and asymmetric padding, and average pooling, read
exactly (they are linear maps): the unrolled matrices against torch's own functions, and the
networks read from torch modules, TorchScript and ONNX exports against torch's outputs; the
layers polylip cannot bound (max pooling, GELU, Hardtanh, ...) refused by name."""

import itertools

import numpy as np
import pytest

from polylip.errors import ModelError
from polylip.nn import Network, lipschitz
from polylip.nn.layers import adaptive_avg_pool2d_matrix, avg_pool2d_matrix, conv2d_matrix


torch = pytest.importorskip("torch")
nn = torch.nn
F = nn.functional
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning",
                                        "ignore::FutureWarning")


def _x(shape, seed=0, n=1):
    return torch.tensor(np.random.default_rng(seed).standard_normal((n,) + tuple(shape)))


@pytest.mark.parametrize("cin,cout,groups", [(4, 6, 2), (3, 3, 3), (2, 4, 1), (6, 3, 3)])
def test_conv_matrix_matches_torch_with_dilation_and_groups(cin, cout, groups):
    rng = np.random.default_rng(cin * cout)
    w = torch.tensor(rng.standard_normal((cout, cin // groups, 3, 2)))
    x = _x((cin, 9, 8), seed=groups)
    for d, s, p in itertools.product([1, 2, 3], [1, 2], [0, 2]):
        ref = F.conv2d(x, w, None, s, p, d, groups)
        M, shape = conv2d_matrix(w.numpy(), (cin, 9, 8), s, p, d, groups)
        assert shape == tuple(ref.shape[1:])
        assert np.allclose(M @ x.numpy().reshape(-1), ref.numpy().reshape(-1), atol=1e-12)


def test_conv_matrix_asymmetric_padding():
    w = torch.tensor(np.random.default_rng(1).standard_normal((3, 2, 2, 4)))
    x = _x((2, 6, 6))
    ref = F.conv2d(F.pad(x, (1, 2, 0, 1)), w)  # (left, right, top, bottom)
    M, shape = conv2d_matrix(w.numpy(), (2, 6, 6), 1, ((0, 1), (1, 2)))
    assert shape == tuple(ref.shape[1:])
    assert np.allclose(M @ x.numpy().reshape(-1), ref.numpy().reshape(-1), atol=1e-12)


def test_pooling_matrices_match_torch():
    for (H, W), k, s, p, ceil, cip in itertools.product(
            [(6, 7), (1, 4)], [1, 2, 3], [None, 2, 3], [0, 1],
            [False, True], [True, False]):
        if 2 * p > k:
            continue
        x = _x((3, H, W), seed=H * W)
        try:
            ref = F.avg_pool2d(x, k, s, p, ceil, cip)
        except RuntimeError:  # torch: the output would be empty
            with pytest.raises(ModelError):
                avg_pool2d_matrix((3, H, W), k, s, p, ceil, cip)
            continue
        M, shape = avg_pool2d_matrix((3, H, W), k, s, p, ceil, cip)
        assert shape == tuple(ref.shape[1:]), (H, W, k, s, p, ceil, cip)
        assert np.allclose(M @ x.numpy().reshape(-1), ref.numpy().reshape(-1))
    ref = F.avg_pool2d(_x((2, 6, 6)), 3, 2, 1, divisor_override=2)
    M, _ = avg_pool2d_matrix((2, 6, 6), 3, 2, 1, divisor_override=2)
    assert np.allclose(M @ _x((2, 6, 6)).numpy().reshape(-1), ref.numpy().reshape(-1))
    for (H, W), out in itertools.product([(5, 5), (6, 7), (7, 3)], [1, 2, 3, (2, None)]):
        x = _x((3, H, W), seed=H)
        ref = F.adaptive_avg_pool2d(x, out)
        M, shape = adaptive_avg_pool2d_matrix((3, H, W), out)
        assert shape == tuple(ref.shape[1:])
        assert np.allclose(M @ x.numpy().reshape(-1), ref.numpy().reshape(-1))


class MeanHead(nn.Module):
    """Global average pooling written as ``x.mean((2, 3))``, then a linear head."""

    def __init__(self, keepdim=False):
        super().__init__()
        self.keepdim = keepdim
        self.c = nn.Conv2d(2, 4, 3, padding=1, dilation=1, groups=2)
        self.l = nn.Linear(4, 3)

    def forward(self, x):
        x = torch.relu(self.c(x)).mean(dim=(-1, -2), keepdim=self.keepdim)
        return self.l(torch.flatten(x, 1))


class FunctionalPool(nn.Module):
    def __init__(self):
        super().__init__()
        self.c = nn.Conv2d(2, 4, 3, dilation=2, padding="same")
        self.l = nn.Linear(4 * 4 * 4, 2)

    def forward(self, x):
        x = F.avg_pool2d(torch.relu(self.c(x)), 3, 2, 1, ceil_mode=True,
                         count_include_pad=False)
        return self.l(x.view(x.size(0), -1))


def _bn(c, seed):
    bn = nn.BatchNorm2d(c)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        bn.running_mean.copy_(torch.randn(c, generator=g))
        bn.running_var.copy_(torch.rand(c, generator=g) + 0.5)
        bn.weight.copy_(torch.randn(c, generator=g))
    return bn


MODELS = {
    "dilation+groups": (lambda: nn.Sequential(
        nn.Conv2d(2, 4, 3, dilation=2, padding=2, groups=2), nn.ReLU(), nn.Flatten(),
        nn.Linear(4 * 6 * 6, 2)), (2, 6, 6)),
    "depthwise, same padding, even kernel": (lambda: nn.Sequential(
        nn.Conv2d(3, 3, 2, padding="same", groups=3), nn.Tanh(), nn.Flatten(),
        nn.Linear(3 * 5 * 5, 2)), (3, 5, 5)),
    "avgpool after relu": (lambda: nn.Sequential(
        nn.Conv2d(1, 2, 3), nn.ReLU(), nn.AvgPool2d(2), nn.Flatten(), nn.Linear(2 * 3 * 3, 2)),
        (1, 8, 8)),
    "avgpool after conv, adaptive, batchnorm": (lambda: nn.Sequential(
        nn.Conv2d(2, 3, 3), nn.AvgPool2d(2, 1), nn.ReLU(), nn.AdaptiveAvgPool2d((2, 1)),
        _bn(3, 0), nn.Flatten(), nn.Linear(3 * 2 * 1, 2)), (2, 7, 7)),
    "pool first": (lambda: nn.Sequential(
        nn.AvgPool2d(2), nn.Flatten(), nn.Linear(8, 3), nn.ReLU(), nn.Linear(3, 1)),
        (2, 4, 4)),
    "batchnorm after pool after relu": (lambda: nn.Sequential(
        nn.Conv2d(1, 2, 3), nn.ReLU(), nn.AvgPool2d(2), _bn(2, 1), nn.ReLU(), nn.Flatten(),
        nn.Linear(2 * 3 * 3, 2)), (1, 8, 8)),
    "x.mean((2, 3))": (MeanHead, (2, 5, 5)),
    "x.mean(keepdim) then flatten": (lambda: MeanHead(True), (2, 5, 5)),
    "F.avg_pool2d, ceil mode": (FunctionalPool, (2, 7, 7)),
}


def _agrees(net, module, shape):
    X = _x(shape, seed=3, n=6) * 2
    with torch.no_grad():
        ref = module.double().eval()(X).reshape(6, -1).numpy()
    y = net(X.reshape(6, -1).numpy())
    assert np.max(np.abs(y - ref)) <= 1e-9 * np.max(np.abs(ref))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_modules_torchscript_and_onnx_read_exactly(name, tmp_path):
    make, shape = MODELS[name]
    torch.manual_seed(0)
    module = make().double().eval()
    net = Network.from_torch(module, input_shape=shape)
    _agrees(net, module, shape)
    # composed into the neighbouring affine layers: no identity layers of pooled neurons
    # (a pooling between two activations is an affine layer of its own)
    extra = name == "batchnorm after pool after relu"
    assert len(net.affine_layers) == extra + sum(isinstance(m, (nn.Linear, nn.Conv2d))
                                                 for m in module.modules())
    assert all(a.name != "identity" for a in net.activations)
    for ts in (torch.jit.script(module),
               torch.jit.trace(module, _x(shape))):
        _agrees(Network.from_torch(ts, input_shape=shape), module, shape)
    onnx = pytest.importorskip("onnx")
    path = tmp_path / "m.onnx"
    torch.onnx.export(module.float(), (_x(shape).float(),), str(path), dynamo=False)
    mp = onnx.load(str(path))
    net = Network.from_onnx(mp)
    X = _x(shape, seed=4, n=5)
    with torch.no_grad():
        ref = module(X.float()).reshape(5, -1).double().numpy()
    assert np.max(np.abs(net(X.reshape(5, -1).numpy()) - ref)) <= 1e-5 * np.abs(ref).max()


def test_a_pooled_network_is_bounded_soundly():
    """The bound of a network read with pooling is at least its sampled gradient norms."""
    torch.manual_seed(1)
    module = nn.Sequential(nn.Conv2d(1, 2, 3, dilation=2, padding=1), nn.ReLU(),
                           nn.AvgPool2d(2), nn.Flatten(), nn.Linear(2 * 2 * 2, 1)).double()
    net = Network.from_torch(module, input_shape=(1, 6, 6))
    res = lipschitz(net, "inf", method="interval")
    X = _x((1, 6, 6), seed=5, n=300).requires_grad_(True)
    module(X).sum().backward()
    sampled = X.grad.reshape(300, -1).abs().sum(dim=1).max().item()
    assert res.upper >= sampled * (1 - 1e-9)
    assert res.lower <= res.upper


@pytest.mark.parametrize("layer,reason", [
    (lambda: nn.MaxPool2d(2), "max pooling is not an element-wise activation"),
    (lambda: nn.GELU(), "not monotone"), (lambda: nn.SiLU(), "not monotone"),
    (lambda: nn.Hardtanh(), "two-kink"), (lambda: nn.ReLU6(), "two-kink"),
    (lambda: nn.Softmax(dim=1), "bound the logits")])
def test_layers_polylip_cannot_bound_are_refused_by_name(layer, reason):
    lay = layer()
    if isinstance(lay, nn.MaxPool2d):
        m = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), lay, nn.Flatten(), nn.Linear(2, 1))
        shape = (1, 4, 4)
    else:
        m, shape = nn.Sequential(nn.Linear(3, 4), lay, nn.Linear(4, 2)), None
    with pytest.raises(ModelError, match=f"unsupported torch layer {type(lay).__name__}") as e:
        Network.from_torch(m, input_shape=shape)
    assert reason in str(e.value)


def test_onnx_max_pool_and_clip_refused_by_name(tmp_path):
    onnx = pytest.importorskip("onnx")
    for lay, op in ((nn.MaxPool2d(2), "MaxPool"), (nn.Hardtanh(), "Clip")):
        m = nn.Sequential(nn.Conv2d(1, 2, 3), lay, nn.Flatten(), nn.Linear(2 * 3 * 3, 1)) \
            if op == "MaxPool" else nn.Sequential(nn.Conv2d(1, 2, 3), lay, nn.Flatten(),
                                                  nn.Linear(2 * 6 * 6, 1))
        path = tmp_path / f"{op}.onnx"
        torch.onnx.export(m.eval(), (torch.randn(1, 1, 8, 8),), str(path), dynamo=False)
        with pytest.raises(ModelError, match=f"unsupported ONNX operator '{op}'"):
            Network.from_onnx(onnx.load(str(path)))

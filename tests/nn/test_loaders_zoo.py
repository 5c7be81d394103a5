"""Networks nobody here wrote: a zoo of torch modules people train and save. For each, polylip
either reads it, and its forward pass and Jacobian equal torch's (checked here independently
of the loader's own check, on other random points), or refuses it with a ModelError whose
message names the layer and the reason. Never a misread, never another exception."""

import warnings

import numpy as np
import pytest

from polylip.errors import ModelError
from polylip.nn import Network

torch = pytest.importorskip("torch")
nn = torch.nn
F = nn.functional


def _bn(bn):
    with torch.no_grad():
        bn.running_mean.uniform_(-1, 1)
        bn.running_var.uniform_(0.2, 3)
        if bn.weight is not None:
            bn.weight.uniform_(-2, 2)
            bn.bias.uniform_(-1, 1)
    return bn


class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(4, 4), nn.Linear(4, 4)

    def forward(self, x):
        return x + self.b(torch.relu(self.a(x)))


class Standardized(nn.Module):
    def __init__(self):
        super().__init__()
        self.l, self.m = nn.Linear(4, 5), nn.Linear(5, 2)
        self.register_buffer("mu", torch.randn(4))
        self.register_buffer("sd", torch.rand(4) + 0.5)

    def forward(self, x):
        return self.m(F.elu(self.l((x - self.mu) / self.sd), alpha=0.5))


class Transposed(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.randn(4, 3))

    def forward(self, x):
        return x @ self.w


class Chunked(nn.Module):
    def __init__(self):
        super().__init__()
        self.l = nn.Linear(4, 4)

    def forward(self, x):
        return self.l(x)[:, :2]


def S(*m):
    return nn.Sequential(*m)


L = nn.Linear
ZOO = {  # name: (module, input shape, None if read, else a phrase of the refusal)
    "relu": (S(L(4, 6), nn.ReLU(), L(6, 2)), (4,), None),
    "flatten": (S(nn.Flatten(), L(6, 3), nn.Tanh(), L(3, 1)), (2, 3), None),
    "leaky": (S(L(4, 6), nn.LeakyReLU(0.2), L(6, 1)), (4,), None),
    "sigmoid_elu_softplus": (S(L(4, 5), nn.Sigmoid(), L(5, 5), nn.ELU(0.7), L(5, 5),
                               nn.Softplus(), L(5, 1)), (4,), None),
    "dropout_identity": (S(L(4, 6), nn.Dropout(0.5), nn.Identity(), nn.ReLU(), L(6, 1)), (4,),
                         None),
    "bn1d_everywhere": (S(_bn(nn.BatchNorm1d(4)), L(4, 6), _bn(nn.BatchNorm1d(6)), nn.ReLU(),
                          _bn(nn.BatchNorm1d(6, affine=False)), L(6, 3), _bn(nn.BatchNorm1d(3))),
                        (4,), None),
    "conv_bn2d": (S(nn.Conv2d(2, 3, 3, stride=2, padding=1, bias=False), _bn(nn.BatchNorm2d(3)),
                    nn.ReLU(), nn.Flatten(), L(27, 2)), (2, 6, 6), None),
    "conv_rect_same": (S(nn.Conv2d(2, 2, (3, 1), padding=(1, 0)), nn.ReLU(),
                         nn.Conv2d(2, 3, 3, padding="same"), nn.Flatten(), L(3 * 25, 1)),
                       (2, 5, 5), None),
    "nested": (S(S(L(4, 5), nn.ReLU()), S(S(L(5, 3), nn.Tanh()), L(3, 2))), (4,), None),
    "two_linear": (S(L(4, 4), L(4, 2)), (4,), None),
    "standardized": (Standardized(), (4,), None),
    "transposed_param": (Transposed(), (4,), None),
    "float16": (S(L(4, 6), nn.ReLU(), L(6, 2)).half(), (4,), None),
    "residual": (S(L(4, 4), nn.ReLU(), Residual(), L(4, 1)), (4,), "not a chain"),
    "gelu": (S(L(4, 6), nn.GELU(), L(6, 1)), (4,), "GELU"),
    "hardtanh": (S(L(4, 6), nn.Hardtanh(), L(6, 1)), (4,), "Hardtanh"),
    "maxpool": (S(nn.Conv2d(1, 2, 3), nn.MaxPool2d(2), nn.Flatten(), L(8, 1)), (1, 6, 6),
                "MaxPool2d"),
    "avgpool": (S(nn.Conv2d(1, 2, 3), nn.AvgPool2d(2), nn.Flatten(), L(8, 1)), (1, 6, 6),
                None),
    "adaptive_avgpool": (S(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                           L(2, 1)), (1, 6, 6), None),
    "dilation": (S(nn.Conv2d(1, 2, 3, dilation=2), nn.Flatten(), L(8, 1)), (1, 6, 6), None),
    "groups": (S(nn.Conv2d(2, 2, 3, groups=2), nn.Flatten(), L(32, 1)), (2, 6, 6), None),
    "same_even_kernel": (S(nn.Conv2d(1, 2, 2, padding="same"), nn.ReLU(), nn.Flatten(),
                           L(72, 1)), (1, 6, 6), None),
    "silu": (S(L(4, 6), nn.SiLU(), L(6, 1)), (4,), "not monotone"),
    "relu6": (S(L(4, 6), nn.ReLU6(), L(6, 1)), (4,), "two-kink"),
    "reflect": (S(nn.Conv2d(1, 1, 3, padding=1, padding_mode="reflect"), nn.Flatten(),
                  L(36, 1)), (1, 6, 6), "zero padding"),
    "last_softmax": (S(L(4, 3), nn.ReLU(), L(3, 2), nn.Softmax(dim=1)), (4,), "Softmax"),
    # a final element-wise activation: a hidden layer followed by the identity (QA round 5)
    "last_sigmoid": (S(L(4, 3), nn.ReLU(), L(3, 1), nn.Sigmoid()), (4,), None),
    "conv1d": (S(nn.Conv1d(2, 3, 3, stride=2, padding=1, dilation=2), nn.BatchNorm1d(3),
                 nn.ReLU(), nn.Conv1d(3, 2, 2, padding="same", groups=1), nn.Flatten(),
                 L(8, 2), nn.Tanh()), (2, 9), None),
    "two_activations": (S(L(4, 3), nn.ReLU(), nn.Tanh(), L(3, 1)), (4,), "two activations"),
    "negative_leak": (S(L(4, 3), nn.LeakyReLU(-0.1), L(3, 1)), (4,), "alpha >= 0"),
    "softplus_beta": (S(L(4, 3), nn.Softplus(beta=2), L(3, 1)), (4,), None),
    "softplus_beta_0": (S(L(4, 3), nn.Softplus(beta=-1.0), L(3, 1)), (4,), "beta > 0"),
    "slice": (Chunked(), (4,), "getitem"),
    "layernorm": (S(L(4, 4), nn.LayerNorm(4), L(4, 1)), (4,), "LayerNorm"),
}


def _variants(module, shape):
    yield "module", module
    ex = torch.randn((2,) + shape, dtype=next(module.parameters()).dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield "trace", torch.jit.trace(module.eval(), ex)


def _independent_check(net, module, shape):
    ref = module.double().eval()
    rng = np.random.default_rng(7)
    X = 3 * rng.standard_normal((5, int(np.prod(shape))))
    with torch.no_grad():
        y = ref(torch.tensor(X.reshape((5,) + shape))).reshape(5, -1).numpy()
    np.testing.assert_allclose(net.forward(X), y, rtol=1e-6, atol=1e-9 * np.abs(y).max())
    for x in X[:2]:
        J = torch.autograd.functional.jacobian(
            lambda t: ref(t.reshape((1,) + shape)).reshape(-1), torch.tensor(x)).numpy()
        np.testing.assert_allclose(net.jacobian(x[None])[0], J.reshape(net.output_dim, -1),
                                   rtol=1e-6, atol=1e-9 * max(np.abs(J).max(), 1.0))


@pytest.mark.parametrize("name", sorted(ZOO))
def test_zoo(name):
    torch.manual_seed(0)
    module, shape, refusal = ZOO[name]
    for how, m in _variants(module, shape):
        kwargs = {"input_shape": shape} if len(shape) in (2, 3) and name.startswith("conv") \
            or len(shape) == 3 else {}
        if refusal is None:
            net = Network.from_torch(m, **kwargs)
            _independent_check(net, module, shape)
            continue
        try:
            Network.from_torch(m, **kwargs)
        except ModelError as exc:
            # the module path names the layer; a traced graph names the aten operation
            if how == "module":
                assert refusal in str(exc), str(exc)
            continue
        pytest.fail(f"{name} ({how}) was read, but polylip cannot represent it")

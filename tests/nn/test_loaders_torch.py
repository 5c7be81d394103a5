"""torch loaders: state_dict, traced modules, Sequential subclasses with their own forward,
BatchNorm folding, Dropout, TorchScript, .pt files (weights_only by default), the check
against torch's forward pass and autograd gradient."""

import numpy as np
import pytest

from polylip.errors import ModelError
from polylip.nn import Network, lipschitz
from polylip.nn.loaders import load_model

torch = pytest.importorskip("torch")
nn = torch.nn
F = nn.functional

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning",
                                        "ignore:The .grad attribute:UserWarning")

RTOL = 1e-6


def _torch_ref(module, X, shape=None):
    """torch's own outputs and gradient of sum(u . y) in float64, on a copy."""
    import copy
    m = copy.deepcopy(module).double().eval()
    x = torch.tensor(X.reshape((len(X),) + (shape or (X.shape[1],))), requires_grad=True)
    y = m(x).reshape(len(X), -1)
    u = torch.linspace(1.0, -1.0, y.shape[1], dtype=torch.float64)
    (y @ u).sum().backward()
    return y.detach().numpy(), x.grad.numpy().reshape(len(X), -1), u.numpy()


def _agrees(net, module, X, shape=None):
    y, g, u = _torch_ref(module, X, shape)
    assert np.max(np.abs(net(X) - y)) <= RTOL * np.max(np.abs(y))
    G = net.backward(net.derivatives(X), u[None, :])
    assert np.max(np.abs(G - g)) <= RTOL * np.max(np.abs(g))


def _X(n, d, seed=0):
    return np.random.default_rng(seed).standard_normal((n, d))


class Hundred(nn.Sequential):
    """A Sequential whose forward is NOT the chain of its children."""

    def forward(self, x):
        return 100 * super().forward(x)


class Sine(nn.Sequential):
    def forward(self, x):
        return torch.sin(super().forward(x))


class Chain(nn.Module):
    """A custom module whose forward is a chain of supported layers and functions."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(6, 5)
        self.fc2 = nn.Linear(5, 4)
        self.out = nn.Linear(4, 2)

    def forward(self, x):
        x = x.view(x.size(0), -1)
        h = F.leaky_relu(self.fc1(x), 0.1)
        h = torch.tanh(self.fc2(h) - 0.5) * 2.0
        return self.out(h).flatten(1)


class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 3)

    def forward(self, x):
        return x + self.fc(x)


class Normalized(nn.Module):
    """Input normalization by buffers, constants on both sides of the operators."""

    def __init__(self):
        super().__init__()
        self.register_buffer("mean", torch.randn(4))
        self.register_buffer("std", torch.rand(4) + 0.5)
        self.fc = nn.Linear(4, 3)
        self.out = nn.Linear(3, 1)

    def forward(self, x):
        x = torch.flatten((x - self.mean) / self.std, 1)
        h = 1.0 - torch.sigmoid(self.fc(x))
        return self.out(h) / 3.0


class Scaled(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))

    def forward(self, x):
        return 100 * self.body(x)


def _mlp(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Linear(5, 4), nn.Tanh(), nn.Linear(4, 1))


# ---- Sequential subclasses and traced modules ------------------------------------------------
def test_sequential_subclass_with_own_forward_is_traced_not_read_as_the_chain():
    torch.manual_seed(0)
    m = Hundred(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    plain = nn.Sequential(*m)  # the same layers, the plain chain
    net = Network.from_torch(m)
    X = _X(6, 3)
    assert np.allclose(net(X), 100 * Network.from_torch(plain)(X), rtol=1e-12)
    _agrees(net, m, X)  # polylip's gradient is torch's autograd gradient
    assert net.layer_sizes == [3, 4, 1]  # the factor is folded into the last layer
    # the bound sees the factor too
    assert lipschitz(m, method="product").upper == pytest.approx(
        100 * lipschitz(plain, method="product").upper, rel=1e-9)


def test_sequential_subclass_with_unsupported_forward_is_refused():
    m = Sine(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    with pytest.raises(ModelError, match="sin"):
        Network.from_torch(m)


def test_custom_module_forward_chain():
    torch.manual_seed(1)
    m = Chain()
    net = Network.from_torch(m)
    assert net.layer_sizes == [6, 5, 4, 2]
    assert [a.spec() for a in net.activations] == ["leaky_relu:0.1", "tanh"]
    _agrees(net, m, _X(5, 6))


def test_constants_fold_into_affine_layers():
    torch.manual_seed(7)
    m = Normalized()
    X = _X(5, 4)
    for model in (m, torch.jit.script(m), nn.Sequential(m, nn.ReLU(), nn.Linear(1, 2))):
        net = Network.from_torch(model)
        assert net.num_hidden == len(net.layer_sizes) - 2
        _agrees(net, model, X)
    assert Network.from_torch(m).layer_sizes == [4, 3, 1]
    # an element-wise map between two activations becomes an affine layer of its own
    tail = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.BatchNorm1d(4)).eval()
    _randomize_bn(tail[2], 9)
    net = Network.from_torch(tail)
    assert net.layer_sizes == [3, 4, 4]
    _agrees(net, tail, _X(4, 3))


class Regressor(nn.Module):
    def __init__(self, then=None):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
        self.then = then

    def forward(self, x):
        y = self.body(x).squeeze(-1)
        return y if self.then is None else self.then(y)


def test_squeezed_scalar_output():
    torch.manual_seed(8)
    m = Regressor()
    for model in (m, torch.jit.script(m)):
        net = Network.from_torch(model)
        assert net.layer_sizes == [3, 4, 1]
        _agrees(net, model, _X(4, 3))
    with pytest.raises(ModelError, match="nothing may follow the squeeze"):
        Network.from_torch(Regressor(nn.Linear(1, 1)))


def test_not_a_chain_is_refused():
    with pytest.raises(ModelError, match="not a chain"):
        Network.from_torch(Residual())
    with pytest.raises(ModelError, match="not a chain"):
        Network.from_torch(torch.jit.script(Residual()))


def test_forward_hook_changes_the_output_and_is_refused():
    m = _mlp()
    m[4].register_forward_hook(lambda mod, inp, out: out * 1.001)
    with pytest.raises(ModelError, match=r"forward hook"):  # before, caught by the check
        Network.from_torch(m)


def test_unsupported_layer_is_named_with_its_position():
    m = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.Linear(2, 2), nn.GELU()),
                      nn.Linear(2, 1))
    with pytest.raises(ModelError) as err:
        Network.from_torch(m)
    msg = str(err.value)
    assert msg.startswith("unsupported torch layer GELU")
    assert "layer '1.1'" in msg and "position 2" in msg
    assert "layer  (" not in msg  # the old garbled message


def test_functional_dropout_in_training_mode_is_refused():
    class Drop(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(2, 2), nn.Linear(2, 1)

        def forward(self, x):
            return self.b(F.dropout(torch.relu(self.a(x)), 0.5))  # training=True: random

    with pytest.raises(ModelError, match="random"):
        Network.from_torch(Drop())


# ---- BatchNorm, Dropout --------------------------------------------------------------------
def _randomize_bn(bn, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        bn.running_mean.copy_(torch.randn(bn.num_features, generator=g))
        bn.running_var.copy_(torch.rand(bn.num_features, generator=g) + 0.5)
        bn.weight.copy_(torch.randn(bn.num_features, generator=g))
        bn.bias.copy_(torch.randn(bn.num_features, generator=g))


def test_batchnorm1d_folded_into_linear():
    torch.manual_seed(2)
    m = nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6, eps=1e-3), nn.ReLU(), nn.Linear(6, 5),
                      nn.ReLU(), nn.BatchNorm1d(5), nn.Linear(5, 1))
    _randomize_bn(m[1], 0)
    _randomize_bn(m[5], 1)
    m.train()
    net = Network.from_torch(m)
    assert m.training  # the module given is not modified
    assert net.layer_sizes == [4, 6, 5, 1]  # both folded: no extra layer
    _agrees(net, m, _X(6, 4))
    W, b = net.affine_layers[0]
    s = m[1].weight / torch.sqrt(m[1].running_var + 1e-3)
    assert np.allclose(W, (s[:, None] * m[0].weight).detach().numpy(), rtol=1e-6)


def test_batchnorm2d_folded_into_conv():
    torch.manual_seed(3)
    m = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.BatchNorm2d(3), nn.ReLU(),
                      nn.Conv2d(3, 2, 3, stride=2), nn.BatchNorm2d(2), nn.Tanh(), nn.Flatten(),
                      nn.Linear(2 * 2 * 2, 1))
    _randomize_bn(m[1], 2)
    _randomize_bn(m[4], 3)
    net = Network.from_torch(m, input_shape=(2, 5, 5))
    assert net.layer_sizes == [50, 75, 8, 1]
    _agrees(net, m, _X(4, 50), (2, 5, 5))


def test_batchnorm_without_running_stats_is_refused():
    m = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3, track_running_stats=False),
                      nn.ReLU(), nn.Linear(3, 1))
    with pytest.raises(ModelError, match="track_running_stats"):
        Network.from_torch(m)


def test_dropout_identity_flatten_ignored():
    torch.manual_seed(4)
    m = nn.Sequential(nn.Flatten(), nn.Linear(4, 3), nn.Dropout(0.5), nn.ReLU(), nn.Identity(),
                      nn.Dropout(0.2), nn.Linear(3, 1)).train()
    net = Network.from_torch(m)
    assert net.layer_sizes == [4, 3, 1]
    _agrees(net, m, _X(5, 4))


# ---- state_dict ----------------------------------------------------------------------------
def test_state_dict_mapping_and_file(tmp_path):
    trained, fresh = _mlp(0), _mlp(1)
    before = [p.detach().clone() for p in fresh.parameters()]
    X = _X(5, 3)
    ref = Network.from_torch(trained)
    net = Network.from_torch(fresh, state_dict=trained.state_dict())
    assert np.allclose(net(X), ref(X), rtol=1e-12)
    assert all(torch.equal(a, b) for a, b in zip(before, fresh.parameters()))  # not filled
    path = tmp_path / "w.pt"
    torch.save(trained.state_dict(), path)
    assert np.allclose(Network.from_torch(fresh, state_dict=str(path))(X), ref(X), rtol=1e-12)
    ckpt = tmp_path / "ckpt.pt"
    torch.save({"epoch": 3, "state_dict": trained.state_dict()}, ckpt)
    assert np.allclose(Network.from_torch(fresh, state_dict=ckpt)(X), ref(X), rtol=1e-12)
    _agrees(net, trained, X)


def test_state_dict_that_does_not_fit(tmp_path):
    sd = nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 1)).state_dict()
    with pytest.raises(ModelError, match="does not fit"):
        Network.from_torch(_mlp(), state_dict=sd)
    with pytest.raises(ModelError, match="not a state_dict"):
        Network.from_torch(_mlp(), state_dict={"a": 1})
    with pytest.raises(ModelError, match="no such"):
        Network.from_torch(_mlp(), state_dict=str(tmp_path / "none.pt"))


# ---- TorchScript ---------------------------------------------------------------------------
def test_torchscript_scripted_and_traced():
    torch.manual_seed(5)
    m = nn.Sequential(nn.Conv2d(1, 2, 3, stride=2, padding=1), nn.BatchNorm2d(2), nn.ReLU(),
                      nn.Flatten(), nn.Linear(18, 4), nn.LeakyReLU(0.2), nn.Dropout(0.1),
                      nn.Linear(4, 2)).eval()
    _randomize_bn(m[1], 5)
    X = _X(4, 25)
    eager = Network.from_torch(m, input_shape=(1, 5, 5))
    for ts in (torch.jit.script(m), torch.jit.trace(m, torch.randn(2, 1, 5, 5))):
        net = Network.from_torch(ts, input_shape=(1, 5, 5))
        assert net.layer_sizes == eager.layer_sizes
        assert np.allclose(net(X), eager(X), rtol=1e-12)
        _agrees(net, ts, X, (1, 5, 5))


def test_torchscript_own_forward_is_read_as_written():
    torch.manual_seed(6)
    m = Scaled()
    X = _X(5, 3)
    for ts in (torch.jit.script(m), torch.jit.trace(m, torch.randn(2, 3))):
        net = Network.from_torch(ts)
        assert np.allclose(net(X), 100 * Network.from_torch(m.body)(X), rtol=1e-12)
        _agrees(net, ts, X)


def test_torchscript_unsupported_op_refused():
    class Odd(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 1)

        def forward(self, x):
            return torch.exp(self.fc(x))

    with pytest.raises(ModelError, match="aten::exp"):
        Network.from_torch(torch.jit.script(Odd()))


# ---- .pt files -----------------------------------------------------------------------------
def test_pickled_module_needs_trust_pickle(tmp_path):
    m = _mlp()
    path = tmp_path / "full.pt"
    torch.save(m, path)
    with pytest.raises(ModelError, match="trust_pickle=True") as err:
        load_model(path)
    assert "arbitrary code" in str(err.value) or "runs whatever code" in str(err.value)
    assert "--trust-pickle" in str(err.value)
    net = load_model(path, trust_pickle=True)
    _agrees(net, m, _X(4, 3))


def test_torchscript_file_needs_trust_pickle(tmp_path):
    m = _mlp()
    path = tmp_path / "s.pt"
    torch.jit.save(torch.jit.script(m), str(path))
    with pytest.raises(ModelError, match="TorchScript archive.*trust_pickle=True"):
        load_model(path)
    _agrees(load_model(path, trust_pickle=True), m, _X(4, 3))


def test_state_dict_file_is_not_a_model(tmp_path):
    path = tmp_path / "sd.pth"
    torch.save(_mlp().state_dict(), path)
    with pytest.raises(ModelError, match=r"state_dict.*Network.from_torch\(module, state_dict="):
        load_model(path)
    (tmp_path / "junk.pt").write_bytes(b"\x80\x04garbage")
    with pytest.raises(ModelError):
        load_model(tmp_path / "junk.pt")
    with pytest.raises(ModelError, match="no such"):
        load_model(tmp_path / "none.pt")


def test_lipschitz_accepts_a_module():
    m = _mlp()
    net = Network.from_torch(m)
    a, b = lipschitz(m, method="exact"), lipschitz(net, method="exact")
    assert a.upper == pytest.approx(b.upper, rel=1e-12)
    assert a.lower == pytest.approx(b.lower, rel=1e-12)


# ---- QA regressions ---------------------------------------------------------------------
@pytest.mark.parametrize("make", ["module", "script", "trace"])
def test_softplus_with_a_low_threshold_is_refused_by_name(make):
    # torch's softplus is x above its threshold: threshold 0.5 was only caught by the
    # generic forward-pass mismatch; now the layer and the reason are named
    m = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Softplus(threshold=0.5),
                            torch.nn.Linear(4, 1)).double()
    if make == "script":
        m = torch.jit.script(m)
    elif make == "trace":
        m = torch.jit.trace(m, torch.randn(2, 3, dtype=torch.float64))
    with pytest.raises(ModelError, match="threshold >= 20"):
        Network.from_torch(m)
    ok = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Softplus(threshold=30),
                             torch.nn.Linear(4, 1))
    assert Network.from_torch(ok).activations[0].name == "softplus"


def test_files_that_are_no_torch_files(tmp_path):
    (tmp_path / "empty.pt").write_bytes(b"")
    with pytest.raises(ModelError, match="is empty"):
        load_model(tmp_path / "empty.pt")
    # random bytes were reported as "holds pickled Python objects ... --trust-pickle"
    (tmp_path / "junk.pt").write_bytes(bytes(range(7, 200)))
    with pytest.raises(ModelError, match="not a torch file"):
        load_model(tmp_path / "junk.pt")


def test_content_wins_over_the_extension(tmp_path):
    # a .npz saved under a .pt name reached torch.load (an inline_container error)
    np.savez(tmp_path / "net.npz", W0=np.ones((2, 3)), W1=np.ones((1, 2)))
    (tmp_path / "net.npz").rename(tmp_path / "net.pt")
    assert load_model(tmp_path / "net.pt").layer_sizes == [3, 2, 1]
    # and a pickled module saved as .npz is still refused without trust_pickle
    m = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.ReLU(), torch.nn.Linear(2, 1))
    torch.save(m, tmp_path / "module.npz")
    with pytest.raises(ModelError, match="trust_pickle"):
        load_model(tmp_path / "module.npz")
    assert load_model(tmp_path / "module.npz", trust_pickle=True).layer_sizes == [3, 2, 1]


# ---- hooks (QA round of issue 14): a hook changes what the module computes, the layers do not
# say it; a clamp above the 4 check inputs' range was read as plain ReLU (relative error 1.8
# at inputs of scale 3)
def _mlp3():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))


@pytest.mark.parametrize("where,kind", [(1, "forward"), (0, "forward_pre"), (None, "forward"),
                                        (2, "forward_pre")])
def test_a_module_with_hooks_is_refused(where, kind):
    m = _mlp3()
    target = m if where is None else m[where]
    if kind == "forward":
        target.register_forward_hook(lambda mod, inp, out: torch.clamp(out, max=50.0))
    else:
        target.register_forward_pre_hook(lambda mod, inp: (torch.clamp(inp[0], max=50.0),))
    with pytest.raises(ModelError, match="hook"):
        Network.from_torch(m)


def test_a_global_forward_hook_is_refused():
    from torch.nn.modules.module import register_module_forward_hook
    handle = register_module_forward_hook(lambda mod, inp, out: out)
    try:
        with pytest.raises(ModelError, match="hook"):
            Network.from_torch(_mlp3())
    finally:
        handle.remove()
    Network.from_torch(_mlp3())  # removed: read


def test_a_removed_hook_does_not_matter():
    m = _mlp3()
    handle = m[1].register_forward_hook(lambda mod, inp, out: out * 2)
    handle.remove()
    net = Network.from_torch(m)
    X = np.random.default_rng(0).standard_normal((5, 4)) * 3
    assert np.allclose(net.forward(X), _torch_ref(m, X)[0], rtol=RTOL, atol=1e-9)


def test_a_module_in_training_mode_is_read_in_evaluation_mode_with_a_warning(caplog):
    """BatchNorm in training mode uses batch statistics (module(x) differs from the network
    read: relative 0.71 on a BatchNorm2d CNN); read in evaluation mode as documented, and
    said (QA round of issue 14)."""
    import logging
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.2),
                      nn.Linear(8, 3))
    m.train()
    m(torch.randn(16, 4))  # running statistics move
    with caplog.at_level(logging.WARNING, logger="polylip.nn.loaders.torch"):
        net = Network.from_torch(m)
    assert m.training  # not modified
    assert "training mode" in caplog.text and "'1'" in caplog.text and "'3'" in caplog.text
    X = np.random.default_rng(0).standard_normal((5, 4))
    assert np.allclose(net.forward(X), _torch_ref(m, X)[0], rtol=RTOL, atol=1e-9)  # eval
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="polylip.nn.loaders.torch"):
        Network.from_torch(m.eval())
    assert "training mode" not in caplog.text


# ------------------------------------------------------------------ QA round 5
def test_a_dataparallel_state_dict_is_read_with_its_prefix_stripped(caplog):
    """DataParallel / DistributedDataParallel save every key as 'module.<key>': refused
    before (missing and unexpected keys); stripped now when every key has it, said in the
    log. A partial prefix is still a mismatch."""
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1)).double()
    sd = {"module." + k: v for k, v in m.state_dict().items()}
    fresh = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    with caplog.at_level("WARNING", logger="polylip.nn.loaders.torch"):
        net = Network.from_torch(fresh, state_dict={"state_dict": sd})
    assert "prefix is stripped" in caplog.text
    _agrees(net, m, _X(5, 3))
    sd["0.weight"] = sd.pop("module.0.weight")
    with pytest.raises(ModelError, match="does not fit"):
        Network.from_torch(fresh, state_dict=sd)


def test_a_final_sigmoid_is_read_and_bounded_soundly():
    """A classifier ending in Sigmoid was refused ("must end with an affine layer"); it is
    the same function as the sigmoid as a hidden layer followed by the identity. The certified
    bound is at least the largest gradient norm autograd finds, and at most the logits' bound
    times the sigmoid's largest slope 1/4."""
    torch.manual_seed(1)
    logits = nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Linear(5, 1)).double()
    m = nn.Sequential(logits, nn.Sigmoid())
    net = Network.from_torch(m)
    X = _X(400, 3, seed=2)
    _agrees(net, m, X)
    x = torch.tensor(X, requires_grad=True)
    g, = torch.autograd.grad(m(x).sum(), x)
    sampled = float(g.abs().sum(1).max())
    res = lipschitz(net, "inf", method="exact")
    plain = lipschitz(Network.from_torch(logits), "inf", method="exact")
    assert sampled <= res.upper * (1 + 1e-9) <= 0.25 * plain.upper * (1 + 1e-6) + 1e-12
    assert res.lower <= res.upper


def test_conv1d_softplus_beta_and_batchnorm_checks():
    torch.manual_seed(2)
    m = nn.Sequential(nn.Conv1d(1, 2, 3, padding=1), nn.Softplus(beta=3.0), nn.Flatten(),
                      nn.Linear(12, 1)).double()
    net = Network.from_torch(m, input_shape=(1, 6))
    _agrees(net, m, _X(6, 6), shape=(1, 6))
    with pytest.raises(ModelError, match=r"input_shape=\(C, L\)"):
        Network.from_torch(m)
    bn = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2), nn.ReLU(), nn.Linear(2, 1)).eval()
    with torch.no_grad():
        bn[1].running_var[0] = -1.0
    with pytest.raises(ModelError, match="running_var"):
        Network.from_torch(bn)

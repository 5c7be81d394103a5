"""QA of the torch reader, second round (run by hand): what the first round
(qa_torch_loaders.py) did not try. Hooks (forward and pre-forward), weight_norm and
spectral_norm parametrizations, pruning masks, stale weights, conv layers with dilation /
groups / padding="same" / asymmetric padding / tuple strides, transposed weights in forward
(``x @ W``, ``torch.matmul``, ``torch.addmm``, ``einsum``), BatchNorm in training mode,
LeakyReLU with slopes < 0 or > 1, PReLU per channel, modules in double/half precision with
weights out of float16 range, NaN/inf weights, zero-width and one-neuron layers, deep nesting,
ModuleDict, tuple outputs, Hardswish / SiLU / Mish. Each case: read and forward-checked here
(16 inputs of scale 3, the module in eval mode unless the case says otherwise; ``MISREAD`` is a
network read wrongly without a word, ``WARNED`` one read otherwise than the module computes as
given, with a warning saying so: training mode), or refused (the message's first 160
characters).

    PYTHONPATH=. python3 benchmarks/qa_torch_loaders_2.py
"""
import collections
import logging
import traceback

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from polylip.errors import PolylipError
from polylip.nn import Network

torch.manual_seed(0)
RESULTS = collections.Counter()


class _Warnings(logging.Handler):
    """The loader's warnings (a module read otherwise than it computes now must say so)."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.seen = []

    def emit(self, record):
        self.seen.append(record.getMessage())


WARNED = _Warnings()
logging.getLogger("polylip").addHandler(WARNED)


def check(name, mod, shape, train=False, scale=3.0):
    if not train:
        mod.eval()
    WARNED.seen.clear()
    try:
        net = Network.from_torch(mod) if len(shape) == 1 else Network.from_torch(mod, input_shape=shape)
    except PolylipError as e:
        RESULTS["REFUSED"] += 1
        print(f"REFUSED {name}: {str(e)[:160]}")
        return
    except Exception as e:  # noqa: BLE001
        RESULTS["CRASH"] += 1
        print(f"CRASH {name}: {type(e).__name__}: {e}")
        traceback.print_exc()
        return
    X = np.random.default_rng(5).standard_normal((16,) + tuple(shape)) * scale
    with torch.no_grad():
        m = mod
        p = next(iter(m.parameters()), None)
        dt = torch.float64 if p is None else p.dtype
        ref = m(torch.tensor(X, dtype=dt))
        if isinstance(ref, (tuple, list)):
            ref = ref[0]
        ref = ref.double().numpy().reshape(16, -1)
    mine = net.forward(X.reshape(16, -1))
    if mine.shape != ref.shape:
        RESULTS["MISREAD"] += 1
        print(f"MISREAD {name}: shapes {mine.shape} vs {ref.shape}")
        return
    err = np.max(np.abs(mine - ref)) / max(np.max(np.abs(ref)), 1e-12)
    low = dt in (torch.float16, torch.bfloat16)
    tag = "OK" if err < 1e-5 else ("LOWP" if low and err < 1e-2 else
                                   "WARNED" if WARNED.seen else "MISREAD")
    RESULTS[tag] += 1
    print(f"{tag} {name}: rel err {err:.2e} sizes {net.layer_sizes} acts {[a.name for a in net.activations]}"
          + (f" | warning: {WARNED.seen[0][:120]}" if WARNED.seen else ""))


def lin(a=4, b=8, c=3, act=None):
    return nn.Sequential(nn.Linear(a, b), act or nn.ReLU(), nn.Linear(b, c))


cases = []

# ---- hooks: the module's forward is not its layers' forwards
m = lin()
m[0].register_forward_hook(lambda mod, inp, out: out * 2)
cases.append(("forward hook x2 on Linear", m, (4,)))
m = lin()
m[2].register_forward_pre_hook(lambda mod, inp: (inp[0] + 1.0,))
cases.append(("forward pre-hook +1 on Linear", m, (4,)))
m = lin()
m.register_forward_hook(lambda mod, inp, out: out - out.mean())
cases.append(("forward hook on the Sequential", m, (4,)))
m = lin()
m[1].register_forward_hook(lambda mod, inp, out: torch.clamp(out, max=1.0))
cases.append(("forward hook clamp on ReLU", m, (4,)))

# ---- parametrizations, weight_norm, pruning
from torch.nn.utils import parametrizations, prune  # noqa: E402
m = lin()
parametrizations.weight_norm(m[0])
with torch.no_grad():
    m[0].parametrizations.weight.original0.mul_(3.0)
cases.append(("parametrizations.weight_norm (g scaled)", m, (4,)))
m = lin()
parametrizations.spectral_norm(m[0])
m.train()
for _ in range(5):
    m(torch.randn(2, 4))
cases.append(("parametrizations.spectral_norm", m, (4,)))
m = lin()
try:
    from torch.nn.utils import weight_norm as old_weight_norm  # deprecated API
    old_weight_norm(m[0])
    m(torch.randn(2, 4))
    with torch.no_grad():
        m[0].weight_g.mul_(2.0)  # the stored .weight is stale until the next forward
    cases.append(("old weight_norm, stale .weight", m, (4,)))
except Exception as e:  # noqa: BLE001
    print("skip old weight_norm:", e)
m = lin()
prune.l1_unstructured(m[0], "weight", amount=0.5)
cases.append(("prune l1 0.5", m, (4,)))
m = lin()
prune.random_unstructured(m[2], "weight", amount=0.3)
with torch.no_grad():
    m[2].weight_orig.mul_(-1.0)  # the mask is applied in a pre-hook at each forward
cases.append(("prune, weight_orig changed after", m, (4,)))

# ---- conv variants
def conv(*args, **kw):
    return nn.Conv2d(*args, **kw)
for label, c, hw in [
        ("conv dilation 2", conv(2, 3, 3, dilation=2), (2, 8, 8)),
        ("conv groups 2", conv(4, 4, 3, groups=2), (4, 6, 6)),
        ("conv depthwise", conv(3, 3, 3, groups=3, padding=1), (3, 5, 5)),
        ("conv padding same", conv(2, 3, 3, padding="same"), (2, 6, 6)),
        ("conv padding same k4", conv(2, 3, 4, padding="same"), (2, 6, 6)),
        ("conv padding (1,2)", conv(2, 3, 3, padding=(1, 2)), (2, 6, 6)),
        ("conv stride (1,2)", conv(2, 3, 3, stride=(1, 2)), (2, 7, 7)),
        ("conv kernel (1,3)", conv(2, 3, (1, 3)), (2, 5, 5)),
        ("conv bias False", conv(2, 3, 3, bias=False), (2, 5, 5)),
        ("conv stride 3 pad 2 dil 2", conv(1, 2, 3, stride=3, padding=2, dilation=2), (1, 9, 9))]:
    with torch.no_grad():
        out = c(torch.zeros((1,) + hw))
    n = int(np.prod(out.shape[1:]))
    cases.append((label, nn.Sequential(c, nn.ReLU(), nn.Flatten(), nn.Linear(n, 3)), hw))
m = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Conv2d(2, 2, 3), nn.ReLU(), nn.Flatten(),
                  nn.Linear(2 * 2 * 2, 2))
cases.append(("two convs", m, (1, 6, 6)))
m = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2, 2))
cases.append(("adaptive avg pool 1", m, (1, 6, 6)))
m = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.AvgPool2d(2, divisor_override=1), nn.Flatten(),
                  nn.Linear(2 * 2 * 2, 2))
cases.append(("avgpool divisor_override", m, (1, 6, 6)))
m = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 4 * 4, 2))
cases.append(("conv, input_shape wrong (1,5,5)", m, (1, 5, 5)))
m = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU(), nn.Flatten(), nn.Linear(32, 2))
m.train()
m(torch.randn(8, 1, 6, 6))
cases.append(("BatchNorm2d in training mode (module not eval)", m, (1, 6, 6), True))
m = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))
m.train()
cases.append(("BatchNorm1d training mode", m, (4,), True))
m = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8, momentum=None), nn.ReLU(), nn.Linear(8, 3))
with torch.no_grad():
    m[1].running_var.zero_()  # a neuron of zero variance: 1/sqrt(eps)
cases.append(("BatchNorm1d zero running var", m, (4,)))

# ---- transposed weights in forward
class XW(nn.Module):
    def __init__(s):
        super().__init__(); s.W = nn.Parameter(torch.randn(4, 8)); s.V = nn.Parameter(torch.randn(8, 3))
    def forward(s, x): return F.relu(x @ s.W) @ s.V
class MatMul(nn.Module):
    def __init__(s):
        super().__init__(); s.W = nn.Parameter(torch.randn(4, 8)); s.b = nn.Parameter(torch.randn(8)); s.o = nn.Linear(8, 3)
    def forward(s, x): return s.o(torch.relu(torch.matmul(x, s.W) + s.b))
class AddMM(nn.Module):
    def __init__(s):
        super().__init__(); s.W = nn.Parameter(torch.randn(4, 8)); s.b = nn.Parameter(torch.randn(8)); s.o = nn.Linear(8, 3)
    def forward(s, x): return s.o(torch.relu(torch.addmm(s.b, x, s.W)))
class Einsum(nn.Module):
    def __init__(s):
        super().__init__(); s.W = nn.Parameter(torch.randn(8, 4)); s.o = nn.Linear(8, 3)
    def forward(s, x): return s.o(torch.relu(torch.einsum("oi,bi->bo", s.W, x)))
class LinearT(nn.Module):
    def __init__(s):
        super().__init__(); s.W = nn.Parameter(torch.randn(4, 8)); s.o = nn.Linear(8, 3)
    def forward(s, x): return s.o(F.relu(F.linear(x, s.W.t())))
class ConvF(nn.Module):
    def __init__(s):
        super().__init__(); s.w = nn.Parameter(torch.randn(2, 1, 3, 3)); s.o = nn.Linear(2 * 2 * 2, 2)
    def forward(s, x): return s.o(F.relu(F.conv2d(x, s.w, stride=2)).flatten(1))
class ConvFDil(nn.Module):
    def __init__(s):
        super().__init__(); s.w = nn.Parameter(torch.randn(2, 1, 3, 3)); s.o = nn.Linear(2 * 2 * 2, 2)
    def forward(s, x): return s.o(F.relu(F.conv2d(x, s.w, dilation=2)).flatten(1))
class ViewNeg(nn.Module):
    def __init__(s):
        super().__init__(); s.a = nn.Linear(4, 8); s.b = nn.Linear(8, 3)
    def forward(s, x): return s.b(F.relu(s.a(x.view(-1, 4))))
class TupleOut(nn.Module):
    def __init__(s):
        super().__init__(); s.a = nn.Linear(4, 8); s.b = nn.Linear(8, 3)
    def forward(s, x):
        h = F.relu(s.a(x)); return s.b(h), h
class DictOut(nn.Module):
    def __init__(s):
        super().__init__(); s.a = nn.Linear(4, 8); s.b = nn.Linear(8, 3)
    def forward(s, x): return {"logits": s.b(F.relu(s.a(x)))}
class MDict(nn.Module):
    def __init__(s):
        super().__init__(); s.d = nn.ModuleDict({"z": nn.Linear(8, 3), "a": nn.Linear(4, 8)})
    def forward(s, x): return s.d["z"](F.relu(s.d["a"](x)))
class Branch(nn.Module):
    def __init__(s):
        super().__init__(); s.a = nn.Linear(4, 8); s.b = nn.Linear(8, 3); s.flag = True
    def forward(s, x):
        if x.sum() > 0:
            return s.b(F.relu(s.a(x)))
        return s.b(torch.tanh(s.a(x)))
class Leaky(nn.Module):
    def __init__(s, a):
        super().__init__(); s.l = nn.Linear(4, 8); s.o = nn.Linear(8, 3); s.alpha = a
    def forward(s, x): return s.o(F.leaky_relu(s.l(x), s.alpha))
for label, mod in [("x @ W", XW()), ("torch.matmul + b", MatMul()), ("torch.addmm", AddMM()),
                   ("einsum", Einsum()), ("F.linear(x, W.t())", LinearT()),
                   ("F.conv2d stride 2", ConvF()), ("F.conv2d dilation 2", ConvFDil()),
                   ("x.view(-1, 4)", ViewNeg()), ("tuple output", TupleOut()),
                   ("dict output", DictOut()), ("ModuleDict", MDict()),
                   ("data-dependent branch", Branch()), ("F.leaky_relu(-0.5)", Leaky(-0.5)),
                   ("F.leaky_relu(2.0)", Leaky(2.0))]:
    shape = (1, 6, 6) if "conv2d" in label else (4,)
    cases.append((label, mod, shape))

# ---- activations and odd layers
for label, act in [("LeakyReLU(-0.3)", nn.LeakyReLU(-0.3)), ("LeakyReLU(1.5)", nn.LeakyReLU(1.5)),
                   ("LeakyReLU(1.0)", nn.LeakyReLU(1.0)), ("LeakyReLU(0)", nn.LeakyReLU(0.0)),
                   ("PReLU(8)", nn.PReLU(8)), ("PReLU init -1", nn.PReLU(1, init=-1.0)),
                   ("Hardswish", nn.Hardswish()), ("SiLU", nn.SiLU()), ("Mish", nn.Mish()),
                   ("Hardsigmoid", nn.Hardsigmoid()), ("GELU tanh", nn.GELU("tanh")),
                   ("Softplus beta 0.5 thr 50", nn.Softplus(beta=0.5, threshold=50)),
                   ("Sigmoid", nn.Sigmoid()), ("Tanh", nn.Tanh()), ("ELU(1)", nn.ELU()),
                   ("RReLU", nn.RReLU()), ("Hardshrink", nn.Hardshrink()),
                   ("Softshrink", nn.Softshrink())]:
    cases.append((label, lin(act=act), (4,)))
cases.append(("nested 4 deep", nn.Sequential(nn.Sequential(nn.Sequential(nn.Sequential(
    nn.Linear(4, 8), nn.ReLU()))), nn.Sequential(nn.Identity(), nn.Linear(8, 3))), (4,)))
cases.append(("OrderedDict Sequential", nn.Sequential(collections.OrderedDict(
    [("fc1", nn.Linear(4, 8)), ("act", nn.ReLU()), ("fc2", nn.Linear(8, 3))])), (4,)))
cases.append(("one neuron hidden, one output", nn.Sequential(nn.Linear(4, 1), nn.ReLU(), nn.Linear(1, 1)), (4,)))
cases.append(("one input", nn.Sequential(nn.Linear(1, 3), nn.ReLU(), nn.Linear(3, 2)), (1,)))
cases.append(("zero-width hidden", nn.Sequential(nn.Linear(4, 0), nn.ReLU(), nn.Linear(0, 3)), (4,)))
cases.append(("zero outputs", nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 0)), (4,)))
cases.append(("two ReLUs in a row", nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.ReLU(), nn.Linear(8, 3)), (4,)))
cases.append(("ReLU then Tanh", nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Tanh(), nn.Linear(8, 3)), (4,)))
cases.append(("Linear Linear (no act)", nn.Sequential(nn.Linear(4, 8), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 3)), (4,)))
cases.append(("starts with ReLU", nn.Sequential(nn.ReLU(), nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3)), (4,)))
cases.append(("Dropout p=1 eval", nn.Sequential(nn.Linear(4, 8), nn.Dropout(1.0), nn.ReLU(), nn.Linear(8, 3)), (4,)))
m = lin()
with torch.no_grad():
    m[0].weight[0, 0] = float("nan")
cases.append(("NaN weight", m, (4,)))
m = lin()
with torch.no_grad():
    m[2].bias[1] = float("inf")
cases.append(("inf bias", m, (4,)))
m = lin().double()
with torch.no_grad():
    m[0].weight.mul_(1e6)
cases.append(("float64 weights 1e6 (out of float16 range)", m, (4,)))
m = lin().half()
cases.append(("float16 module", m, (4,)))
m = lin()
m[0].weight.requires_grad_(False)
cases.append(("frozen weights", m, (4,)))
m = lin()
m.to(memory_format=torch.channels_last) if False else None
m = nn.Sequential(nn.Flatten(0), nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
cases.append(("Flatten(0)", m, (4,)))
m = nn.Sequential(nn.Unflatten(1, (1, 2, 2)), nn.Conv2d(1, 2, 2), nn.ReLU(), nn.Flatten(), nn.Linear(2, 2))
cases.append(("Unflatten to image then conv", m, (4,)))

for case in cases:
    name, mod, shape = case[:3]
    train = case[3] if len(case) > 3 else False
    check(name, mod, shape, train=train)
print(dict(RESULTS))

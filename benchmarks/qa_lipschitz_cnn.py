"""QA of the Lipschitz methods on small random CNNs read from torch (run by hand): the
reference is torch's own autograd, independent of polylip's convolution matrices.

For each seed: a torch ``nn.Sequential`` of one or two ``Conv2d`` (random stride 1-2, padding
0-1, dilation 1-2, groups 1 or the channel count, bias on or off), ReLU / LeakyReLU(alpha in
{0.1, 1.5}) / Tanh, optionally an ``AvgPool2d(2)``, then ``Flatten`` and ``Linear`` to 2 or 3
classes; a margin or scalar output, norm l_inf / l_2 / l_1, region global or a box / ball.
Every method is run and checked as in qa_lipschitz_fuzz.py: upper >= the largest gradient norm
over 20,000 inputs of the region (torch autograd), lower attained at its witness (the
gradient norm there, by torch), witness in the region, lower <= upper.

    PYTHONPATH=. python3 benchmarks/qa_lipschitz_cnn.py FIRST_SEED COUNT [METHODS]
"""
import sys
import time
import traceback

import numpy as np
import torch
import torch.nn as nn

from polylip.errors import PolylipError
from polylip.nn import BallRegion, BoxRegion, Network, lipschitz

METHODS = ["product", "interval", "eclipse", "exact", "lipsdp", "geolip", "dp", "milp", "bab",
           "lp", "auto"]
torch.set_default_dtype(torch.float64)


def make(rng):
    C, H = int(rng.integers(1, 3)), int(rng.integers(4, 7))
    layers, shape = [], (C, H, H)
    for k in range(int(rng.integers(1, 3))):
        out = int(rng.integers(1, 3))
        groups = 1
        if rng.random() < 0.3 and shape[0] > 1:
            groups, out = shape[0], shape[0]
        conv = nn.Conv2d(shape[0], out, int(rng.integers(2, 4)), stride=int(rng.integers(1, 3)),
                         padding=int(rng.integers(0, 2)), dilation=int(rng.integers(1, 3)),
                         groups=groups, bias=bool(rng.random() < 0.8))
        try:
            with torch.no_grad():
                y = conv(torch.zeros((1,) + shape))
        except RuntimeError:  # the kernel does not fit
            break
        layers.append(conv)
        act = rng.choice(["relu", "relu", "leaky0.1", "leaky1.5", "tanh"])
        layers.append({"relu": nn.ReLU(), "leaky0.1": nn.LeakyReLU(0.1),
                       "leaky1.5": nn.LeakyReLU(1.5), "tanh": nn.Tanh()}[act])
        shape = tuple(y.shape[1:])
    if not layers:
        return None
    if rng.random() < 0.3 and min(shape[1:]) >= 2:
        layers.append(nn.AvgPool2d(2))
        with torch.no_grad():
            shape = tuple(nn.Sequential(*layers)(torch.zeros((1, C, H, H))).shape[1:])
    layers += [nn.Flatten(), nn.Linear(int(np.prod(shape)), int(rng.integers(1, 4)))]
    m = nn.Sequential(*layers).eval()
    torch.manual_seed(int(rng.integers(1 << 30)))
    for p in m.parameters():
        with torch.no_grad():
            p.copy_(torch.randn_like(p))
    return m, (C, H, H)


def grads(m, X, shape, u):
    x = torch.tensor(X.reshape((len(X),) + shape), requires_grad=True)
    y = m(x).reshape(len(X), -1)
    (y @ torch.tensor(u)).sum().backward()
    return x.grad.numpy().reshape(len(X), -1)


def main(seed0, count, methods):
    fails = []
    for seed in range(seed0, seed0 + count):
        rng = np.random.default_rng(seed)
        made = make(rng)
        if made is None:
            continue
        m, shape = made
        try:
            net0 = Network.from_torch(m, input_shape=shape)
        except PolylipError as e:
            print(seed, "refused", str(e)[:100])
            continue
        k = net0.output_dim
        out = "scalar" if k == 1 else "margin:0,1"
        net = net0.with_output(out)
        u = np.zeros(k); u[0] = 1.0
        if k > 1:
            u[1] = -1.0
        p = float(rng.choice([np.inf, 2.0, 1.0]))
        q = {np.inf: 1.0, 2.0: 2.0, 1.0: np.inf}[p]
        n0 = net.input_dim
        reg = str(rng.choice(["global", "box", "ball"]))
        c = rng.standard_normal(n0)
        rad = float(rng.choice([0.05, 0.3, 1.0]))
        region = None if reg == "global" else (BoxRegion(c, rad) if reg == "box" else BallRegion(c, rad))
        N = 20000
        if reg == "global":
            S = rng.standard_normal((N, n0)) * rng.choice([0.3, 1, 3, 10], (N, 1))
        elif reg == "box":
            S = c + rad * rng.uniform(-1, 1, (N, n0))
        else:
            D = rng.standard_normal((N, n0)); D /= np.linalg.norm(D, axis=1, keepdims=True)
            S = c + rad * D * rng.uniform(0, 1, (N, 1)) ** (1 / n0)
        sampled = float(np.linalg.norm(grads(m, S, shape, u), q, axis=1).max())
        line = []
        for meth in methods:
            tag = f"{seed} {[type(l).__name__ for l in m]} in={shape} p={p} {reg} {meth}"
            try:
                r = lipschitz(net, {np.inf: "inf", 2.0: "2", 1.0: "1"}[p], method=meth,
                              region=region, **({"budget": 4} if meth == "auto" else {}))
            except PolylipError as e:
                line.append(f"{meth}=R")
                continue
            except Exception as e:  # noqa: BLE001
                fails.append((tag, "CRASH", repr(e))); traceback.print_exc(); continue
            tol = 1e-6 * max(1.0, sampled)
            if r.upper is not None and r.upper < sampled - tol:
                fails.append((tag, "upper<sampled", r.upper, sampled))
            if r.lower is not None:
                x = np.asarray(r.witness, float)
                if region is not None and not region.contains(x[None, :], tol=1e-9)[0]:
                    fails.append((tag, "witness outside"))
                val = float(np.linalg.norm(grads(m, x[None, :], shape, u), q, axis=1)[0])
                if abs(val - r.lower) > 1e-7 * max(1.0, val):
                    fails.append((tag, "lower not attained", r.lower, val))
                if r.upper is not None and r.lower > r.upper * (1 + 1e-9) + 1e-12:
                    fails.append((tag, "lower>upper", r.lower, r.upper))
            line.append(f"{meth}={None if r.upper is None else round(r.upper, 4)}")
        print(seed, shape, [type(l).__name__ for l in m], f"p={p}", reg, f"sampled={sampled:.5g}",
              " ".join(line), flush=True)
        for f in fails[-5:]:
            if str(seed) == f[0].split()[0]:
                print("FAIL", f, flush=True)
    print("FAILURES", len(fails))
    for f in fails:
        print("FAIL", f)


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]),
         sys.argv[3].split(",") if len(sys.argv) > 3 else METHODS)

"""QA of the torch reader, round 3 (issue 12; run by hand): random chains nobody wrote.

Each seed draws a module: an image chain (Conv2d with random stride / padding / dilation /
groups / bias, AvgPool2d with ceil_mode / count_include_pad / padding, AdaptiveAvgPool2d,
BatchNorm2d with random running statistics) or none, then a Flatten (start_dim 1, or -3 / 1..-1
spellings, sometimes twice or in odd places: first, after a Linear), then Linear layers with or
without bias, BatchNorm1d, Dropout, Identity, nested Sequentials, activations (ReLU, LeakyReLU,
ELU, Tanh, Sigmoid, Softplus, and ReLU6 / Hardtanh / GELU that must be refused), and sometimes
parameters or a submodule the forward never uses. Every module is either read exactly (the
Network's output against torch's float64 forward on 32 random inputs, relative difference at
most 1e-6: else MISREAD) or refused with a PolylipError (REFUSED, the first line); anything
else is a CRASH.

    PYTHONPATH=. nice -n 10 python3 benchmarks/qa_torch_loaders_3.py FIRST_SEED COUNT
"""
import collections
import sys
import traceback

import numpy as np
import torch
import torch.nn as nn

from polylip.errors import PolylipError
from polylip.nn import Network

ACTS = [nn.ReLU, nn.ReLU, lambda: nn.LeakyReLU(0.2), lambda: nn.ELU(0.5), nn.Tanh, nn.Sigmoid,
        nn.Softplus, nn.ReLU6, nn.Hardtanh, nn.GELU, nn.Identity]


def conv_out(n, k, s, p, d):
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


def pool_out(n, k, s, p, ceil):
    num = n + 2 * p - k
    o = (-(-num // s) if ceil else num // s) + 1
    if ceil and (o - 1) * s >= n + p:
        o -= 1
    return o


def make(rng):
    layers, notes = [], []
    image = rng.random() < 0.5
    if image:
        C, H = int(rng.integers(1, 4)), int(rng.integers(5, 10))
        shape = (C, H, H)
        for _ in range(int(rng.integers(1, 4))):
            what = rng.choice(["conv", "conv", "pool", "bn", "act", "apool", "drop"])
            if what == "conv":
                g = int(rng.choice([1, 1, C])) if C > 1 else 1
                out = g * int(rng.integers(1, 3))
                k, s = int(rng.integers(1, 4)), int(rng.integers(1, 3))
                p, d = int(rng.integers(0, 2)), int(rng.integers(1, 3))
                if conv_out(H, k, s, p, d) < 1:
                    continue
                layers.append(nn.Conv2d(C, out, k, stride=s, padding=p, dilation=d, groups=g,
                                        bias=bool(rng.random() < 0.7)))
                C, H = out, conv_out(H, k, s, p, d)
                notes.append(f"conv{k}s{s}p{p}d{d}g{g}")
            elif what == "pool" and H >= 2:
                k = int(rng.integers(2, min(H, 3) + 1))
                s = int(rng.integers(1, k + 1))
                p = int(rng.integers(0, k // 2 + 1))
                ceil, cip = bool(rng.random() < 0.5), bool(rng.random() < 0.5)
                layers.append(nn.AvgPool2d(k, s, p, ceil_mode=ceil, count_include_pad=cip))
                H = pool_out(H, k, s, p, ceil)
                notes.append(f"avg{k}s{s}p{p}{'c' if ceil else ''}{'i' if cip else ''}")
            elif what == "apool":
                o = int(rng.integers(1, H + 1))
                layers.append(nn.AdaptiveAvgPool2d(o))
                H = o
                notes.append(f"apool{o}")
            elif what == "bn":
                bn = nn.BatchNorm2d(C)
                bn.running_mean.uniform_(-1, 1)
                bn.running_var.uniform_(0.2, 2)
                bn.weight.data.uniform_(-2, 2)
                bn.bias.data.uniform_(-1, 1)
                layers.append(bn)
                notes.append("bn2d")
            elif what == "act":
                layers.append(ACTS[int(rng.integers(0, 7))]())
                notes.append(type(layers[-1]).__name__)
            else:
                layers.append(nn.Dropout2d(0.3) if rng.random() < 0.5 else nn.Dropout(0.3))
                notes.append("drop")
        flat = rng.choice(["f1", "f1", "fm3", "f1m1", "twice"])
        if flat == "f1":
            layers.append(nn.Flatten())
        elif flat == "fm3":
            layers.append(nn.Flatten(-3))
        elif flat == "f1m1":
            layers.append(nn.Flatten(1, -1))
        else:
            layers += [nn.Flatten(), nn.Flatten()]
        notes.append(flat)
        n = C * H * H
    else:
        n = int(rng.integers(1, 7))
        shape = (n,)
        if rng.random() < 0.2:
            layers.append(nn.Flatten())
            notes.append("flat-first")
    for k in range(int(rng.integers(1, 4))):
        m = int(rng.integers(1, 7))
        lin = nn.Linear(n, m, bias=bool(rng.random() < 0.7))
        block = [lin]
        if rng.random() < 0.25:
            bn = nn.BatchNorm1d(m)
            bn.running_mean.uniform_(-1, 1)
            bn.running_var.uniform_(0.2, 2)
            block.append(bn)
        block.append(ACTS[int(rng.integers(0, len(ACTS)))]())
        if rng.random() < 0.2:
            block.append(nn.Dropout(0.5))
        if rng.random() < 0.2:
            block.append(nn.Flatten())
        if rng.random() < 0.3:
            layers.append(nn.Sequential(*block))
            notes.append("nested[" + ",".join(type(b).__name__ for b in block) + "]")
        else:
            layers += block
            notes += [type(b).__name__ for b in block]
        n = m
    layers.append(nn.Linear(n, int(rng.integers(1, 4)), bias=bool(rng.random() < 0.7)))
    mod = nn.Sequential(*layers)
    if rng.random() < 0.2:  # a parameter and a submodule the forward never uses
        mod.register_parameter("unused", nn.Parameter(torch.randn(3)))
        notes.append("unused-param")
    if rng.random() < 0.2:
        class Wrapped(nn.Module):
            def __init__(self, body):
                super().__init__()
                self.body = body
                self.spare = nn.Linear(4, 4)

            def forward(self, x):
                return self.body(x)
        mod = Wrapped(mod)
        notes.append("wrapped+spare")
    return mod.eval(), shape, notes


def main(seed0, count):
    results = collections.Counter()
    for seed in range(seed0, seed0 + count):
        rng = np.random.default_rng(seed)
        torch.manual_seed(seed)
        mod, shape, notes = make(rng)
        tag = f"{seed} {shape} {' '.join(notes)}"
        try:
            net = Network.from_torch(mod, input_shape=shape if len(shape) == 3 else None)
        except PolylipError as e:
            results["REFUSED"] += 1
            print(f"REFUSED {tag}: {str(e).splitlines()[0][:160]}")
            continue
        except Exception as e:  # noqa: BLE001
            results["CRASH"] += 1
            print(f"CRASH {tag}: {type(e).__name__}: {e}")
            traceback.print_exc()
            continue
        X = np.random.default_rng(seed + 1).normal(0, 2, (32,) + shape)
        with torch.no_grad():
            ref = mod.double()(torch.tensor(X)).numpy().reshape(32, -1)
        got = net(X.reshape(32, -1))
        err = np.abs(got - ref).max() / max(1.0, np.abs(ref).max())
        if not err <= 1e-6:
            results["MISREAD"] += 1
            print(f"MISREAD {tag}: relative difference {err:.3g}")
        else:
            results["READ"] += 1
            print(f"READ {tag}: {net.layer_sizes}")
    print("SUMMARY", dict(results))


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))

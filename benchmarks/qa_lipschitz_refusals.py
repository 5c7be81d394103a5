"""QA: which method refuses which problem, and how fast (run by hand).

Part 1: every method (but "auto") on a 2-3-k ReLU network, each output (scalar, margin,
vector:2, vector:inf) x norm (inf, 2, 1) x region (global, box, ball), without lower-bound
search: one line per refusal (method, the error's first words); a refusal must name why.
Part 2: the inapplicable methods on a random 784-500-500-10 network (margin 0 - 1) with the
lower-bound search on: the seconds until the refusal (a refusal is due before any work).

    PYTHONPATH=. python3 benchmarks/qa_lipschitz_refusals.py
"""
import time

import numpy as np

from polylip.errors import PolylipError
from polylip.nn import BallRegion, BoxRegion, Network, lipschitz
from polylip.nn.methods import TABLE

rng = np.random.default_rng(1)
Ws = [rng.standard_normal((3, 2)), rng.standard_normal((3, 3))]
count = 0
for out in ["scalar", "margin:0,1", "vector:2", "vector:inf"]:
    net = Network.from_weights([Ws[0], Ws[1][:1] if out == "scalar" else Ws[1]], output=out)
    for p in ["inf", "2", "1"]:
        for reg in [None, BoxRegion([0, 0], 0.5), BallRegion([0, 0], 0.5)]:
            for m in [t.name for t in TABLE if t.name != "auto"]:
                try:
                    lipschitz(net, p, method=m, region=reg, lower=False)
                except PolylipError as e:
                    count += 1
                    print(out, p, type(reg).__name__, m, "REFUSED", str(e)[:90])
print("refusals:", count)

sizes = [784, 500, 500, 10]
Ws = [rng.standard_normal((b, a)) / np.sqrt(a) for a, b in zip(sizes[:-1], sizes[1:])]
bs = [0.1 * rng.standard_normal(b) for b in sizes[1:]]
net = Network.from_weights(Ws, bs, output="margin:0,1")
for meth, norm, reg in [("lipsdp", "inf", None), ("eclipse", "inf", None), ("geolip", "2", None),
                        ("bab", "inf", None), ("bab", "2", BoxRegion(np.zeros(784), 0.05)),
                        ("milp", "2", None), ("lp", "2", None), ("exact", "inf", None)]:
    t = time.perf_counter()
    try:
        r = lipschitz(net, norm, method=meth, region=reg)
        print(meth, norm, "ran", r.status, f"{time.perf_counter() - t:.2f}s")
    except PolylipError as e:
        print(meth, norm, f"refused in {time.perf_counter() - t:.2f}s:", str(e)[:80])

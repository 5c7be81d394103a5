"""QA round 4: is ``lipschitz(..., budget=B)`` honoured on shapes the budget benchmark
(bench_lipschitz_budget.py: MNIST-shaped) does not cover? Run by hand.

Shapes: deep and narrow (20 inputs, 30 hidden layers of 12), wide and shallow (2-2000-1),
several outputs (10-50-50-50-50-50-3, vector:inf and vector:2), and the ELU / tanh versions of
the deep one. Every method, l_inf and l_2, global and a box of radius 0.1 (ball for l_2),
``budget=B``; also ``deterministic=True`` for "auto". Prints wall seconds; OVER marks a call
longer than 2 B + 1 s (the brief's limit; the documented aim is B + max(1 s, 5%)).

    PYTHONPATH=. python3 benchmarks/qa_lipschitz_round4_budget.py [B]
"""
import sys
import time

import numpy as np

from polylip.errors import PolylipError
from polylip.nn import BallRegion, BoxRegion, Network, lipschitz
from polylip.nn.methods import TABLE


def net_of(sizes, act="relu", output=None, seed=0):
    rng = np.random.default_rng(seed)
    Ws = [rng.standard_normal((o, i)) * np.sqrt(2.0 / i) for i, o in zip(sizes[:-1], sizes[1:])]
    bs = [0.1 * rng.standard_normal(o) for o in sizes[1:]]
    return Network.from_weights(Ws, bs, activation=act, output=output), rng.uniform(-1, 1, sizes[0])


def main(B):
    cases = [("20-12x30-1 relu", *net_of([20] + [12] * 30 + [1])),
             ("20-12x30-1 elu", *net_of([20] + [12] * 30 + [1], act="elu:1")),
             ("20-12x30-1 tanh", *net_of([20] + [12] * 30 + [1], act="tanh")),
             ("2-2000-1 relu", *net_of([2, 2000, 1])),
             ("10-50x5-3 vector:inf", *net_of([10] + [50] * 5 + [3], output="vector:inf")),
             ("10-50x5-3 vector:2", *net_of([10] + [50] * 5 + [3], output="vector:2"))]
    methods = [m.name for m in TABLE]
    over, n = 0, 0
    print("| network | method | norm | region | wall (s) | status | upper | lower |")
    print("|---|---|---|---|---|---|---|---|")
    for name, net, c in cases:
        for p in ["inf", "2"]:
            for reg in [None, BoxRegion(c, 0.1) if p == "inf" else BallRegion(c, 0.1)]:
                for m in methods + ["auto-det"]:
                    t0 = time.perf_counter()
                    try:
                        res = lipschitz(net, p, method=m.replace("-det", ""), region=reg,
                                        budget=B, deterministic=m.endswith("-det"))
                        st, up, lw = res.status, res.upper, res.lower
                    except PolylipError as e:
                        st, up, lw = "refused: " + str(e)[:50], None, None
                    dt = time.perf_counter() - t0
                    n += 1
                    flag = " **OVER**" if dt > 2 * B + 1 else ""
                    over += bool(flag)
                    if st.startswith("refused") and dt < 0.5:
                        continue  # refusals before work: not listed
                    fmt = (lambda v: "-" if v is None else f"{v:.4g}")
                    print(f"| {name} | {m} | {p} | {'global' if reg is None else 'local'} | "
                          f"{dt:.2f}{flag} | {st} | {fmt(up)} | {fmt(lw)} |", flush=True)
    print(f"\n{n} calls, {over} over 2 B + 1 s (B = {B})")


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 3.0)

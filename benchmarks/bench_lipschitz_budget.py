"""Does ``lipschitz(..., budget=B)`` return within ``B + max(1 s, 5%)`` for every method?

Random MNIST-shaped ReLU networks (weights N(0, 1/fan_in), seed 0; class margin 0 - 1), every
method of the table, l_inf and l_2, global and local (box r = 0.05 for l_inf, ball r = 0.5 for
l_2, center uniform in [0, 1]^n). Prints wall and CPU seconds (this process only; the workers'
CPU is not counted), the status, the bounds, whether the lower-bound search was stopped at
its hard deadline, and OVER where the budget was overrun. A method that does not apply
(wrong norm or region, too large for "exact") answers at once with its reason.

Run by hand::

    PYTHONPATH=. python3 benchmarks/bench_lipschitz_budget.py --budget 5 \\
        --sizes 784-500-500-10 64-200-200-200-10
"""

import argparse
import logging
import os
import time
import warnings

import numpy as np

from polylip.errors import PolylipError
from polylip.nn import BallRegion, BoxRegion, Network, lipschitz
from polylip.nn.methods import TABLE


def network(sizes, seed=0):
    rng = np.random.default_rng(seed)
    Ws = [rng.standard_normal((o, i)) / np.sqrt(i) for i, o in zip(sizes[:-1], sizes[1:])]
    bs = [0.1 * rng.standard_normal(o) for o in sizes[1:]]
    return Network.from_weights(Ws, bs, output="margin:0,1"), rng.uniform(0, 1, sizes[0])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--budget", type=float, default=5.0)
    ap.add_argument("--sizes", nargs="+", default=["784-500-500-10", "64-200-200-200-10"])
    ap.add_argument("--methods", nargs="*", default=[m.name for m in TABLE])
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    B = args.budget
    print(f"budget {B:g} s, allowed {B + max(1.0, 0.05 * B):g} s; load {os.getloadavg()}")
    print("| network | norm | region | method | wall s | cpu s | status | upper | lower | "
          "lower stopped |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    over = 0
    for spec in args.sizes:
        sizes = [int(v) for v in spec.split("-")]
        net, c = network(sizes)
        for norm in ("inf", "2"):
            for local in (False, True):
                region = None if not local else (BoxRegion(c, 0.05) if norm == "inf"
                                                 else BallRegion(c, 0.5))
                for m in args.methods:
                    t0, c0 = time.perf_counter(), time.process_time()
                    try:
                        r = lipschitz(net, norm, method=m, region=region, budget=B)
                        row = (r.status, f"{r.upper:.4g}" if r.upper is not None else "-",
                               f"{r.lower:.4g}" if r.lower is not None else "-",
                               "yes" if r.details.get("lower_stopped") else "")
                    except PolylipError as exc:
                        row = ("refused: " + str(exc)[:40], "-", "-", "")
                    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
                    flag = " OVER" if dt > B + max(1.0, 0.05 * B) else ""
                    over += bool(flag)
                    print(f"| {spec} | {norm} | {'local' if local else 'global'} | {m} | "
                          f"{dt:.2f}{flag} | {cpu:.2f} | {' | '.join(row)} |", flush=True)
    print(f"overruns: {over}; load {os.getloadavg()}")


if __name__ == "__main__":
    main()

"""polylip's LP hierarchy (LiPopt-k) on the CertDNN one-hidden-layer networks, against the
published LiPopt-3 / LiPopt-4 bounds (Chen et al. 2020, raw data of Fig. 1).

The LiPopt POP for the l_inf norm: maximize t^T W^T diag(s) c over t in [-1, 1]^w,
s in [0, 1]^w. It is multilinear, so its maximum over the box is attained at a vertex: t is
declared spin and s binary, which gives the multilinear (boolean-reduced) products, never
weaker than LiPopt's unreduced ones at the same degree. Cliques from the connectivity, as
LiPopt: for hidden unit j, {s_j} + {t_i : W_ji != 0}; with --anchored (default) each clique keeps
LiPopt's product family (s_j or 1 - s_j exactly once); --cliques cs uses polylip's generic
correlative-sparsity analyzer instead.

Usage:
    python benchmarks/bench_lp_certdnn.py --degree 3 --configs 10x4 10x8 20x8 --seeds 0-9
    python benchmarks/bench_lp_certdnn.py --degree 4 --configs 20x16 --seeds 0-2 --strategy colgen
Prints one line per network and a summary per configuration (markdown).
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import time

import numpy as np

from polylip import POP, Polynomial
from polylip.solve.lp import LPRelaxation, LPSparsity

REF = os.environ.get("POLYLIP_REFERENCE", "/work/shared/reference")


def lipopt_pop(W: np.ndarray, c: np.ndarray) -> POP:
    h, n = W.shape
    names = [f"t{i}" for i in range(n)] + [f"s{j}" for j in range(h)]
    J, I = np.nonzero(W)
    f = Polynomial(names, np.stack([I, n + J], 1), W[J, I] * c[J])
    return POP(f, sense="max", variables=names, spin=names[:n], binary=names[n:])


def published(method: str) -> dict:
    out = {}
    with open(os.path.join(REF, "certdnn_1hidden_runs.csv")) as fh:
        for r in csv.DictReader(fh):
            if r["scope"] == "global" and r["method"] == method:
                out[(int(r["width"]), int(r["sparsity"]), int(r["seed"]))] = (float(r["bound"]), float(r["seconds"]))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--degree", type=int, default=3)
    ap.add_argument("--configs", nargs="+", default=["10x4"])
    ap.add_argument("--seeds", default="0-9")
    ap.add_argument("--cliques", choices=["network", "cs"], default="network")
    ap.add_argument("--no-anchored", dest="anchored", action="store_false")
    ap.add_argument("--solver", default="auto")
    ap.add_argument("--strategy", choices=["auto", "direct", "colgen"], default="auto",
                    help="LPRelaxation.solve strategy: whole LP, or delayed column generation")
    ap.add_argument("--time-limit", type=float, default=None, help="seconds per network (solver)")
    args = ap.parse_args(argv)
    a, _, b = args.seeds.partition("-")
    seeds = range(int(a), int(b or a) + 1)
    pub = published(f"LiPopt-{args.degree}")
    print(f"| width | sparsity | seeds | worst (ours - published) | ours better on | median s (build+solve) | published median s |")
    print("|---|---|---|---|---|---|---|")
    for cfg in args.configs:
        w, s = (int(v) for v in cfg.split("x"))
        data = np.load(os.path.join(REF, "certdnn_nets", f"w{w}_s{s}.npz"))
        diffs, times, ptimes, better = [], [], [], 0
        for seed in seeds:
            W, c = data["W"][seed], data["c"][seed]
            pop = lipopt_pop(W, c)
            t0 = time.perf_counter()
            if args.cliques == "cs":
                sparsity = "cs"
            else:
                cl = [[w + j] + np.flatnonzero(W[j]).tolist() for j in range(W.shape[0])]
                sparsity = LPSparsity.of(pop, cl, anchors=[w + j for j in range(W.shape[0])]) \
                    if args.anchored else cl
            res = LPRelaxation.build(pop, degree=args.degree, sparsity=sparsity).solve(solver=args.solver, strategy=args.strategy,
                                                                               time_limit=args.time_limit)
            sec = time.perf_counter() - t0
            pb, pt = pub.get((w, s, seed), (float("nan"), float("nan")))
            d = (res.bound - pb) if res.bound is not None else float("nan")
            diffs.append(d)
            better += d < -1e-4
            times.append(sec)
            ptimes.append(pt)
            print(f"# w{w} s{s} seed {seed}: {res.status} bound {res.bound!r} published {pb!r} "
                  f"diff {d:+.2e} time {sec:.2f} s ({res.solver}, {res.sizes['products']} products)", flush=True)
        print(f"| {w} | {s} | {len(diffs)} | {max(diffs, key=lambda v: -np.inf if v != v else v):+.2e} | {better} | {statistics.median(times):.2f} | "
              f"{statistics.median(ptimes):.2f} |", flush=True)


if __name__ == "__main__":
    main()

"""Lower bounds and exact values on the CertDNN one-hidden-layer networks.

Usage::

    python3 benchmarks/bench_nn_certdnn.py [--ref ../shared/reference] [--exact-max-width 20]

For every network ``w{width}_s{sparsity}.npz`` / seed: the lower bound of
``polylip.nn.lower_bound`` (l_inf input norm, global, default options) against the published
LBS row of ``certdnn_1hidden_runs.csv``, and for widths up to ``--exact-max-width`` the time of
method "exact" (formal and true values) and its agreement with the published LiPopt-3 bound.
"""

import argparse
import csv
import os
import time
from collections import defaultdict

import numpy as np

from polylip.nn import Network, exact_values, lower_bound

#: "At least as high" up to float32 rounding: on three w10 networks the published LBS exceeds
#: the exact maximum (formal = true, computed in float64) by 3e-8 to 5e-8 relative, which no
#: lower bound can beat; the published values were computed in float32.
TOL = 1e-7


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--ref", default=os.path.join(here, "..", "..", "shared", "reference"))
    ap.add_argument("--exact-max-width", type=int, default=20)
    args = ap.parse_args()
    pub = {}
    with open(os.path.join(args.ref, "certdnn_1hidden_runs.csv")) as f:
        for r in csv.DictReader(f):
            if r["scope"] == "global":
                pub[(r["method"], int(r["width"]), int(r["sparsity"]), int(r["seed"]))] = \
                    float(r["bound"])
    files = sorted(os.listdir(os.path.join(args.ref, "certdnn_nets")),
                   key=lambda s: (int(s[1:].split("_")[0]), int(s.split("_s")[1][:-4])))
    rows = []
    for name in files:
        w, s = int(name[1:].split("_")[0]), int(name.split("_s")[1][:-4])
        d = np.load(os.path.join(args.ref, "certdnn_nets", name))
        for seed in range(10):
            net = Network.from_weights([d["W"][seed], d["c"][seed][None, :]], [d["b"][seed], None])
            t = time.perf_counter()
            lb = lower_bound(net, "inf")
            tl = time.perf_counter() - t
            row = {"width": w, "sparsity": s, "seed": seed, "lower": lb.value, "lower_s": tl,
                   "lbs": pub.get(("LBS", w, s, seed))}
            if w <= args.exact_max_width:
                ev = exact_values(net, "inf", hint=lb.witness)
                row.update(formal=ev.formal, true=ev.true, exact_s=ev.seconds,
                           lipopt3=pub.get(("LiPopt-3", w, s, seed)))
            rows.append(row)
    print("| width | sparsity | nets | lower >= LBS | mean lower / LBS | min lower / LBS "
          "| lower s (mean) | exact s (mean, max) | true = formal | LiPopt-3 / formal (min, max) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    groups = defaultdict(list)
    for r in rows:
        groups[(r["width"], r["sparsity"])].append(r)
    allok = True
    for (w, s), rs in groups.items():
        ratio = np.array([r["lower"] / r["lbs"] for r in rs])
        ok = int(np.sum(ratio >= 1 - TOL))
        allok &= ok == len(rs)
        ex = "-" if "exact_s" not in rs[0] else (
            f"{np.mean([r['exact_s'] for r in rs]):.3f}, {max(r['exact_s'] for r in rs):.3f}")
        eq = "-" if "exact_s" not in rs[0] else str(sum(
            abs(r["true"] - r["formal"]) <= 1e-9 * r["formal"] for r in rs))
        lp = "-" if "exact_s" not in rs[0] or rs[0]["lipopt3"] is None else \
            (f"{min(r['lipopt3'] / r['formal'] for r in rs):.7f}, "
             f"{max(r['lipopt3'] / r['formal'] for r in rs):.4f}")
        reach = ""
        if "exact_s" in rs[0]:
            reach = f" (lower = true on {sum(r['lower'] >= r['true'] * (1 - 1e-9) for r in rs)})"
        print(f"| {w} | {s} | {len(rs)} | {ok}/{len(rs)}{reach} | {ratio.mean():.3f} | "
              f"{ratio.min():.3f} | {np.mean([r['lower_s'] for r in rs]):.3f} | {ex} | {eq} | {lp} |")
    print(f"\nlower >= LBS (relative tolerance {TOL:g}) on every network: {allok}")
    print("\nTime of 'exact' by number of unstable neurons K (random nets, seed 0, global):\n")
    print("| hidden widths | K | patterns | LPs | exact s | formal | true |")
    print("|---|---|---|---|---|---|---|")
    rng = np.random.default_rng(0)
    for widths in ([10], [14], [18], [20], [22], [6, 6], [8, 8], [10, 10], [11, 11]):
        sizes = [10] + widths + [1]
        Ws = [rng.standard_normal((sizes[k + 1], sizes[k])) for k in range(len(sizes) - 1)]
        bs = [rng.standard_normal(sizes[k + 1]) for k in range(len(sizes) - 1)]
        net = Network.from_weights(Ws, bs)
        lb = lower_bound(net, "inf")
        ev = exact_values(net, "inf", hint=lb.witness)
        print(f"| {widths} | {ev.num_unstable} | {ev.num_patterns} | {ev.num_lps} | "
              f"{ev.seconds:.2f} | {ev.formal:.6g} | {ev.true:.6g} |")


if __name__ == "__main__":
    main()

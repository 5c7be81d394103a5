"""Local l_inf Lipschitz bounds over a box (issue 14 item 3, the local part): method "bab"
(branch and bound with linear bounds through the Jacobian), "geolip" (with the stable neurons
eliminated over the box) and "auto", on the digits MLPs
of the project's recipe (benchmarks/bench_lipschitz_l2.py ``digits_mlp``: inputs scaled to
[0, 1], so a radius of 0.05 is 0.8 of the 0..16 raw pixel scale), margin 3 - 8, the box of
radius 0.05 around the first test image. Run by hand::

    timeout 900 python benchmarks/bench_lipschitz_local.py [--nets digits-100 digits-200]
        [--budgets 10 60] [--methods interval bab geolip auto]

Columns: network, region, method, budget, upper, lower (the call's own: lower-bound search and
the method's witnesses), upper / lower, the step that gave the bound ("auto"; "bab": its nodes;
"geolip": its form and LMI size), wall seconds of the call.
"""

from __future__ import annotations

import argparse
import os
import time

from bench_lipschitz_l2 import NETS
from polylip.nn import BoxRegion, lipschitz
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nets", nargs="+", default=["digits-100", "digits-200"])
    ap.add_argument("--budgets", nargs="+", type=float, default=[10.0, 60.0])
    ap.add_argument("--methods", nargs="+", default=["interval", "bab", "geolip", "auto"])
    ap.add_argument("--radius", type=float, default=0.05)
    args = ap.parse_args()
    X, y = load_digits(return_X_y=True)
    _, Xte, _, _ = train_test_split(X / 16.0, y, test_size=0.25, random_state=0)
    box = BoxRegion(Xte[0], args.radius)
    print(f"<!-- load: {os.getloadavg()} -->")
    print("| network | region | method | budget (s) | upper | lower | upper/lower | from | "
          "wall (s) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name in args.nets:
        net = NETS[name]()
        for method in args.methods:
            for budget in args.budgets:
                t0 = time.perf_counter()
                r = lipschitz(net, "inf", method=method, region=box, budget=budget)
                dt = time.perf_counter() - t0
                if method == "auto":
                    src = r.details.get("best_step", method)
                elif method == "bab":
                    src = f"{r.details.get('nodes')} nodes"
                elif method == "geolip":
                    src = (f"{r.details.get('form')}, LMI {r.details.get('reduced_size')}"
                           if r.details.get("form") == "reduced" else r.details.get("form"))
                else:
                    src = "-"
                print(f"| {name} | box {args.radius:g}, l_inf | {method} | {budget:g} | "
                      f"{r.upper:.4g} | {r.lower:.4g} | {r.upper / r.lower:.3f} | {src} | "
                      f"{dt:.1f} |", flush=True)


if __name__ == "__main__":
    main()

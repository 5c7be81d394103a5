"""Lower bounds inside ``lipschitz(..., method="auto", budget=B)`` as a user calls it, on the
digits MLPs (issue 14): global l_2, global l_inf and the box of radius 0.05 around the first
test image (l_inf), margin 3 - 8. Run by hand::

    timeout 1800 python benchmarks/bench_lipschitz_lower.py                  # the table
    timeout 600 python benchmarks/bench_lipschitz_lower.py --nets digits-200 --budgets 10

Columns: upper (auto's certified bound and the step that gave it), lower (the call's own: the
lower-bound search in its budget share, or a larger witness a step attained), upper / lower,
wall seconds of the call, seconds of the lower-bound search (``details["lower_seconds"]``), and
the load (one-minute load average).
"""

from __future__ import annotations

import argparse
import os
import time

from bench_lipschitz_l2 import digits_mlp
from polylip.nn import BoxRegion, lipschitz


def box(radius):
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    _, Xte, _, _ = train_test_split(X / 16.0, y, test_size=0.25, random_state=0)
    return BoxRegion(Xte[0], radius)


NETS = {"digits-100": (100, 100), "digits-200": (200, 200, 200)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nets", nargs="+", default=list(NETS))
    ap.add_argument("--budgets", nargs="+", type=float, default=[10.0, 60.0])
    ap.add_argument("--cases", nargs="+", default=["global-2", "global-inf", "box-inf"])
    ap.add_argument("--radius", type=float, default=0.05)
    args = ap.parse_args()
    print("| network | region, norm | budget (s) | upper (step) | lower | upper/lower | wall (s) "
          "| lower search s | load |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name in args.nets:
        net = digits_mlp(NETS[name])
        for case in args.cases:
            where, norm = case.split("-")
            region = box(args.radius) if where == "box" else None
            label = f"box r = {args.radius:g}, l_{norm}" if where == "box" else f"global, l_{norm}"
            for B in args.budgets:
                t = time.perf_counter()
                r = lipschitz(net, norm, method="auto", region=region, budget=B)
                wall = time.perf_counter() - t
                step = r.details.get("best_step", "-")
                print(f"| {name} | {label} | {B:g} | {r.upper:.4g} ({step}) | {r.lower:.4g} | "
                      f"{r.upper / r.lower:.3f} | {wall:.1f} | "
                      f"{r.details.get('lower_seconds', 0.0):.2f} | "
                      f"{os.getloadavg()[0]:.1f} |", flush=True)


if __name__ == "__main__":
    main()

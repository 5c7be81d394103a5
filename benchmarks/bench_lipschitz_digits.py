"""Lipschitz bounds of the digits networks in examples/ (margin output 0 - 1) per method.

    python benchmarks/bench_lipschitz_digits.py [--nets digits_mlp digits_cnn] [--budget 30] [--cap 60]
    python benchmarks/bench_lipschitz_digits.py --auto 10 30 60 [--outputs margin:3,8 vector]

For each network, input norm (inf, 2) and region (global; the box of radius 0.05 around
examples/digits_x0.npy): every applicable method's certified upper bound and seconds, and the
lower bound. A method that fails or does not apply prints "-" and the reason as a comment.

With ``--auto B1 B2 ...``: method "auto" (the default of ``lipschitz()``) with each budget, as
a user calls it (lower-bound search included in the budget): wall time of the whole call, the
bound, the method that gave it, the steps stopped at the deadline, the lower bound.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from polylip.nn import BoxRegion, lipschitz, lower_bound
from polylip.runtime import call_with_deadline
from polylip.nn.loaders import load_npz

EX = os.path.join(os.path.dirname(__file__), "..", "examples")
METHODS = {
    "product": ("product", {}),
    "shor": ("shor", {}),
    "shor-cuts": ("shor", {"rlt": "cuts", "rounds": 2}),
    "lp3": ("lp", {"degree": 3}),
    "lipsdp": ("lipsdp", {"solver": "clarabel"}),
    "dp": ("dp", {}),
}


def auto_rows(nets, budgets, outputs):
    """One table row per network, output, norm, region and budget of method "auto"."""
    x0 = np.load(os.path.join(EX, "digits_x0.npy")).ravel()
    print(f"<!-- load: {os.getloadavg()} -->")
    print("| network | output | norm | region | budget (s) | elapsed (s) | upper | from | "
          "stopped at the deadline | lower |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name in nets:
        base = load_npz(os.path.join(EX, f"{name}.npz"))
        for out in outputs:
            net = base if out == "vector" else base.with_output(out)
            for norm in ("inf", 2):
                for label, region in (("global", None), ("box 0.05", BoxRegion(x0, 0.05))):
                    for budget in budgets:
                        t0 = time.perf_counter()
                        r = lipschitz(net, norm, region=region, options={"budget": budget})
                        dt = time.perf_counter() - t0
                        stopped = [t["method"] + (f" {t['order']}" if "order" in t else "")
                                   + (f" {t['degree']}" if "degree" in t else "")
                                   for t in r.details["tried"] if t.get("status") == "time_limit"]
                        print(f"| {name} | {net.output.spec()} | {norm} | {label} | {budget:g} | "
                              f"{dt:.1f} | {r.upper:.5g} | {r.details['best_method']} | "
                              f"{', '.join(stopped) or '-'} | {r.lower:.5g} |", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nets", nargs="+", default=["digits_mlp", "digits_mlp_pruned", "digits_cnn"])
    ap.add_argument("--methods", nargs="+", default=list(METHODS))
    ap.add_argument("--budget", type=float, default=30.0)
    ap.add_argument("--cap", type=float, default=None,
                    help="stop each method run after this many seconds (a forked worker): "
                         "the cell then reads 'cap'")
    ap.add_argument("--auto", type=float, nargs="+", metavar="BUDGET",
                    help="only method auto, with these budgets (seconds)")
    ap.add_argument("--outputs", nargs="+", default=["margin:3,8", "vector"],
                    help="with --auto: output functionals (vector = the network's own)")
    args = ap.parse_args()
    if args.auto:
        auto_rows(args.nets, args.auto, args.outputs)
        return
    x0 = np.load(os.path.join(EX, "digits_x0.npy")).ravel()
    print(f"<!-- load: {os.getloadavg()} -->")
    print("| network | norm | region | " + " | ".join(f"{m} (s)" for m in args.methods)
          + f" | auto {args.budget:g} s (best) | lower (s) |")
    print("|---|---|---|" + "---|" * len(args.methods) + "---|---|")
    for name in args.nets:
        net = load_npz(os.path.join(EX, f"{name}.npz"))
        net = net.with_output("margin:0,1")
        for norm in ("inf", 2):
            for label, region in (("global", None), ("box 0.05", BoxRegion(x0, 0.05))):
                cells = []
                for m in args.methods:
                    meth, opt = METHODS[m]
                    t0 = time.perf_counter()
                    capped = False
                    try:
                        def run(meth=meth, opt=opt, region=region, norm=norm):
                            return lipschitz(net, norm, method=meth, region=region, options=opt,
                                             lower=False)
                        if args.cap:
                            step = call_with_deadline(run, args.cap)
                            if step.status == "error":
                                raise step.error
                            capped = step.status != "done"
                            r = step.value if step.status == "done" else None
                        else:
                            r = run()
                        up = None if r is None else r.upper
                        if r is not None and up is None:
                            print(f"<!-- {name} {norm} {label} {m}: {r.status} -->")
                    except Exception as exc:  # noqa: BLE001 - a benchmark records failures
                        up = None
                        print(f"<!-- {name} {norm} {label} {m}: {str(exc)[:120]} -->")
                    dt = time.perf_counter() - t0
                    cells.append(f"{up:.5g} ({dt:.1f})" if up is not None
                                 else f"cap ({dt:.1f})" if capped else f"- ({dt:.1f})")
                t0 = time.perf_counter()
                a = lipschitz(net, norm, method="auto", region=region,
                              options={"budget": args.budget}, lower=False)
                dta = time.perf_counter() - t0
                t0 = time.perf_counter()
                lb = lower_bound(net, norm, region).value
                dtl = time.perf_counter() - t0
                print(f"| {name} {net.layer_sizes} | {norm} | {label} | "
                      + " | ".join(cells)
                      + f" | {a.upper:.5g} ({dta:.1f}, {a.details.get('best_method')}) | {lb:.5g} ({dtl:.1f}) |",
                      flush=True)


if __name__ == "__main__":
    main()

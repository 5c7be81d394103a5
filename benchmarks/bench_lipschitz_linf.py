"""Global l_inf Lipschitz bounds (issue 14 item 3): GeoLIP (method "geolip") and "auto" at two
budgets, against the interval bound, on the digits MLPs. Run by hand::

    timeout 1200 python benchmarks/bench_lipschitz_linf.py
    timeout 1200 python benchmarks/bench_lipschitz_linf.py --nets digits-100 --budgets 10

Networks: ``digits-100`` (64-100-100-10) and ``digits-200`` (64-200-200-200-10), trained with
the recipe of ``bench_lipschitz_l2.digits_mlp`` (scikit-learn, fixed seeds), output the margin
between classes 3 and 8; ``--small`` adds random 5-8-8-1 and 6-8-8-8-1 networks where "shor"
(the Shor relaxation of the lifted gradient POP) also runs, for the comparison with GeoLIP.
``--speed`` prints instead the cost of method "geolip" alone (no lower bound) on the margin and
on the vector output in l_inf (the 10 outputs, one SDP each): iterations summed over the
functionals, how many stopped once below the largest ("dominated"), wall and CPU seconds::

    timeout 1800 python benchmarks/bench_lipschitz_linf.py --speed

Columns: network, method (for "auto": the step that gave the bound), certified upper bound,
lower bound (attained; for "auto" the one of the call, for the single methods the default
search of ``lipschitz``), upper / lower, wall seconds of the whole call, budget, load
(``uptime``'s one-minute average at the end of the row).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_lipschitz_l2 import digits_mlp  # noqa: E402

from polylip.nn import Network, lipschitz  # noqa: E402


def load() -> str:
    return f"{os.getloadavg()[0]:.1f}"


def random_net(sizes, seed) -> Network:
    rng = np.random.default_rng(seed)
    Ws = [rng.standard_normal((sizes[i + 1], sizes[i])) for i in range(len(sizes) - 1)]
    return Network.from_weights(Ws)


def row(name, net, method, budget=None):
    t0 = time.perf_counter()
    res = lipschitz(net, "inf", method=method, budget=budget)
    wall = time.perf_counter() - t0
    step = res.details.get("best_step") if method == "auto" else method
    ratio = res.upper / res.lower if res.upper is not None and res.lower else float("nan")
    up = f"{res.upper:.4g}" if res.upper is not None else "-"
    lo = f"{res.lower:.4g}" if res.lower is not None else "-"
    print(f"| {name} | {method} ({step}) | {up} | {lo} | {ratio:.3g} | {wall:.1f} | "
          f"{budget if budget is not None else '-'} | {load()} |", flush=True)


def speed_row(name, net, output):
    if output == "vector":
        net = Network.from_weights([np.asarray(W.toarray() if hasattr(W, "toarray") else W)
                                    for W, _ in net.affine_layers],
                                   [np.asarray(b) for _, b in net.affine_layers],
                                   output="vector:inf")
    t0, c0 = time.perf_counter(), time.process_time()
    res = lipschitz(net, "inf", method="geolip", lower=False)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    parts = res.details.get("parts", [res.details])
    its = sum(p.get("iterations") or 0 for p in parts)
    dom = sum(p.get("status") == "dominated" for p in parts)
    print(f"| {name} | {output} | {res.upper:.10g} | {its} | {dom} | {wall:.1f} | {cpu:.1f} | "
          f"{load()} |", flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nets", nargs="+", default=["digits-100", "digits-200"])
    ap.add_argument("--budgets", nargs="+", type=float, default=[10.0, 60.0])
    ap.add_argument("--small", action="store_true")
    ap.add_argument("--speed", action="store_true")
    args = ap.parse_args(argv)
    nets = {"digits-100": lambda: digits_mlp((100, 100)),
            "digits-200": lambda: digits_mlp((200, 200, 200))}
    if args.speed:
        print("| network | output | geolip upper | iterations | dominated | wall s | CPU s "
              "| load |")
        print("|---|---|---|---|---|---|---|---|")
        for name in args.nets:
            net = nets[name]()
            for output in ("margin", "vector"):
                speed_row(name, net, output)
        return
    print("| network | method (step) | upper | lower | upper / lower | wall s | budget s | "
          "load |")
    print("|---|---|---|---|---|---|---|---|")
    if args.small:
        for sizes, seed in (((5, 8, 8, 1), 5), ((6, 8, 8, 8, 1), 5)):
            net = random_net(sizes, seed)
            name = "-".join(map(str, sizes))
            for m in ("interval", "shor", "geolip"):
                row(name, net, m)
    for name in args.nets:
        net = nets[name]()
        row(name, net, "interval")
        row(name, net, "geolip")
        for b in args.budgets:
            row(name, net, "auto", b)


if __name__ == "__main__":
    main()

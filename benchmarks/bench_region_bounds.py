"""Baselines that answer at once, and what the region's pre-activation bounds do to them.

For the deep random networks of ``bench_lipschitz_deep.py`` (2 and 3 hidden layers, widths 10
to 50): the l_inf "product" and "interval" bounds globally, and over the box of radius 0.1
with interval bound propagation (``bounds="ibp"``) and with linear bound propagation
(``bounds="crown"``, the default), the number of unstable neurons of each, the time of
``propagate`` and the lower bound.

    python benchmarks/bench_region_bounds.py [--norm inf] [--depths 2 3] [--widths 10 20 30 40 50]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))

from bench_lipschitz_deep import RADIUS, deep_net  # noqa: E402

from polylip.nn import BoxRegion, lower_bound  # noqa: E402
from polylip.nn.baselines import interval_bound, product_bound  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--norm", default="inf", choices=["inf", "2", "1"])
    ap.add_argument("--depths", type=int, nargs="+", default=[2, 3])
    ap.add_argument("--widths", type=int, nargs="+", default=[10, 20, 30, 40, 50])
    args = ap.parse_args()
    print(f"<!-- load: {os.getloadavg()} -->")
    print("| network | global product | global interval | global lower | box unstable ibp / crown "
          "| crown ms | box product ibp / crown | box interval ibp / crown | box lower |")
    print("|---|---|---|---|---|---|---|---|---|")
    for depth in args.depths:
        for width in args.widths:
            net, x0 = deep_net(depth, width)
            ibp, crown = BoxRegion(x0, RADIUS, bounds="ibp"), BoxRegion(x0, RADIUS)
            t0 = time.perf_counter()
            rb = crown.propagate(net)
            ms = 1e3 * (time.perf_counter() - t0)
            n = args.norm
            cells = [f"{product_bound(net, n):.5g}", f"{interval_bound(net, n):.5g}",
                     f"{lower_bound(net, n).value:.5g}",
                     f"{ibp.propagate(net).num_unstable} / {rb.num_unstable}", f"{ms:.1f}",
                     f"{product_bound(net, n, ibp):.5g} / {product_bound(net, n, crown):.5g}",
                     f"{interval_bound(net, n, ibp):.5g} / {interval_bound(net, n, crown):.5g}",
                     f"{lower_bound(net, n, crown).value:.5g}"]
            print(f"| {depth}x{width} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()

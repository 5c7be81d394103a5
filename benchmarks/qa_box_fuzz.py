"""QA: random polynomials on boxes and on a box cut by a half-plane, against a grid.

Each trial draws a polynomial in two variables (degree 2-4, coefficients N(0, 3) rounded to
0.01), a box of random width and centre (scale 10^-2 .. 10^3) and, with ``--cut``, one linear
inequality through the box. The minimum over a 201 x 201 grid of the feasible set is an
upper estimate of the true minimum, so a bound above it is wrong. Solved with the default
path (``POP.solve()``), the moment-SOS hierarchy at the next order, and the LP hierarchy at
degree d + 1 and d + 3. Prints one line per unusual result and a table of
(method, status, certified) counts.

    python3 benchmarks/qa_box_fuzz.py --seed 2 --trials 30 --cut
"""

import argparse
import itertools
import time
from collections import Counter

import numpy as np
import sympy as sp

from polylip import POP


def problem(rng, cut: bool):
    x, y = sp.symbols("x y")
    deg = int(rng.integers(2, 5))
    sc = 10.0 ** rng.integers(-2, 4)
    c0 = rng.normal(size=2) * sc * rng.integers(0, 2)
    lo, hi = c0 - rng.uniform(0.5, 3, 2) * sc, c0 + rng.uniform(0.5, 3, 2) * sc
    mons = [m for m in itertools.product(range(deg + 1), repeat=2) if sum(m) <= deg]
    f = sum(float(np.round(rng.normal() * 3, 2)) * x**m[0] * y**m[1] for m in mons
            if rng.random() < 0.7)
    ineqs = [x - float(lo[0]), y - float(lo[1]), float(hi[0]) - x, float(hi[1]) - y]
    X, Y = np.meshgrid(np.linspace(lo[0], hi[0], 201), np.linspace(lo[1], hi[1], 201))
    feas = np.ones_like(X, dtype=bool)
    if cut:
        a = rng.normal(size=2)
        b = float(a @ ((lo + hi) / 2) + np.abs(a) @ (hi - lo) / 4)
        ineqs.append(b - float(a[0]) * x - float(a[1]) * y)
        feas = (b - a[0] * X - a[1] * Y) >= 0
    return f, ineqs, deg, X, Y, feas


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--trials", type=int, default=30)
    ap.add_argument("--cut", action="store_true", help="add a half-plane through the box")
    ap.add_argument("--time-limit", type=float, default=60.0)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    x, y = sp.symbols("x y")
    counts, wrong, slow = Counter(), 0, 0
    for trial in range(args.trials):
        f, ineqs, deg, X, Y, feas = problem(rng, args.cut)
        if f == 0 or not f.free_symbols or not feas.any():
            continue
        vals = np.broadcast_to(sp.lambdify((x, y), f, "numpy")(X, Y), X.shape).astype(float)
        fmin = float(vals[feas].min())
        runs = {"default": {}, "sos next order": dict(order=(deg + 1) // 2 + 1),
                "lp d+1": dict(method="lp", degree=deg + 1),
                "lp d+3": dict(method="lp", degree=deg + 3)}
        for name, kw in runs.items():
            t = time.perf_counter()
            res = POP(f, ineqs=ineqs).solve(time_limit=args.time_limit, **kw)
            dt = time.perf_counter() - t
            counts[(name, res.status, bool(res.certified))] += 1
            bad = res.bound is not None and res.bound > fmin + 1e-9 * max(1.0, abs(fmin))
            wrong += bad
            slow += dt > args.time_limit + 5
            if bad or res.status != "optimal" or not res.certified:
                print(f"trial {trial} {name}: {res.status} certified={res.certified} "
                      f"bound={res.bound} grid min={fmin:.8g}{'  WRONG' if bad else ''}: "
                      f"{(res.message or '')[:160]}")
    print(f"\n| run | status | certified | count |\n|---|---|---|---|")
    for (name, status, cert), k in sorted(counts.items()):
        print(f"| {name} | {status} | {cert} | {k} |")
    print(f"\nbounds above the grid minimum: {wrong}; runs past the time limit + 5 s: {slow}")


if __name__ == "__main__":
    main()

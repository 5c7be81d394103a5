"""Random univariate POPs whose minimum is known exactly (the real roots of f', and the ends of
an interval): polylip's certified bound must never be above it, and no status may be
"infeasible" or "unbounded" (every problem is feasible and bounded).

Kinds: ``free`` (even degree, positive leading coefficient, unconstrained: non-negative
univariate polynomials are sums of squares, so order deg/2 is exact), ``interval`` (even
degree on [a, b]), ``odd_interval`` (odd degree on [a, b]), ``eq_line`` (the free problem with a
second variable tied by ``y = 2x + 1``: an unbounded set, so the bound may be numerical only).
Coefficients are scaled by 10^U(-3, 3).

Usage::

    python benchmarks/qa_univariate_fuzz.py SEED COUNT
"""

from __future__ import annotations

import sys
import time

import numpy as np


def true_min(c, lo=None, hi=None) -> float:
    p = np.polynomial.Polynomial(c)
    pts = [r.real for r in p.deriv().roots() if abs(r.imag) < 1e-9]
    if lo is not None:
        pts = [t for t in pts if lo <= t <= hi] + [lo, hi]
    return float(min(p(t) for t in pts))


def main(seed: int, count: int) -> None:
    from polylip import POP
    from polylip.poly import variables

    x, y = variables("x y")
    rng = np.random.default_rng(seed)
    bad = 0
    print("| # | kind | degree | scale | order | status | certified | minimum | bound | rel. gap | s | flag |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for k in range(count):
        kind = str(rng.choice(["free", "interval", "eq_line", "odd_interval"]))
        deg = int(rng.choice([3, 5, 7] if kind == "odd_interval" else [2, 4, 6, 8]))
        scale = 10.0 ** rng.uniform(-3, 3)
        c = rng.normal(size=deg + 1) * scale
        if kind != "odd_interval":
            c[-1] = abs(c[-1]) + 0.1 * scale
        f = sum(float(ci) * x**i for i, ci in enumerate(c))
        lo = hi = None
        if kind in ("interval", "odd_interval"):
            lo, hi = (float(v) for v in sorted(rng.uniform(-3, 3, 2)))
            pop, order = POP(f, ineqs=[x - lo, hi - x]), (deg + 1) // 2 + 1
        elif kind == "eq_line":
            pop, order = POP(f, eqs=[y - 2 * x - 1]), deg // 2 + 1
        else:
            pop, order = POP(f), deg // 2
        truth = true_min(c, lo, hi)
        t0 = time.perf_counter()
        r = pop.solve(order=order, time_limit=30)
        sec = time.perf_counter() - t0
        flag = ""
        if r.status == "optimal" and r.certified and r.bound > truth + 1e-9 * max(1, abs(truth)):
            flag = "WRONG_SIDE"
        elif r.status in ("infeasible", "unbounded"):
            flag = "WRONG_STATUS"
        bad += bool(flag)
        gap = "" if r.bound is None else f"{abs(r.bound - truth) / max(1, abs(truth)):.2g}"
        bound = "" if r.bound is None else f"{r.bound:.10g}"
        print(f"| {k} | {kind} | {deg} | {scale:.3g} | {order} | {r.status} | {r.certified} | "
              f"{truth:.10g} | {bound} | {gap} | {sec:.1f} | {flag} |", flush=True)
    print(f"\n{count} problems, {bad} wrong")


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))

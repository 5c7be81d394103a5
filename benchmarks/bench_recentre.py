"""Minimizers far from 0 in variables no constraint bounds (issue 12's leftover): the bound
certified by the default solve against the known optimum, one row per problem.

The problems are those of ``tests/solve/test_recentre.py`` (each optimum known independently:
closed forms, or the exact stationary point of a quadratic), plus the unbounded cases of the
POP QA round and MGH's Brown badly scaled function. The script imports nothing that older
versions of polylip lack, so the same command measures before and after a change.

Usage::

    python benchmarks/bench_recentre.py [--time-limit 60] [--solver auto]
"""

from __future__ import annotations

import argparse
import time
from fractions import Fraction


def _coupled_optimum():
    e = Fraction(1e-6)
    a, b = Fraction(10**6), Fraction(-3 * 10**4)
    det = 4 - e * e
    xs = (4 * a - 2 * e * b) / det
    ys = (4 * b - 2 * e * a) / det
    return float((xs - a) ** 2 + (ys - b) ** 2 + e * xs * ys)


def cases():
    from polylip import POP
    from polylip.model.literature import LITERATURE
    from polylip.poly import variables

    x, y, z = variables("x y z")
    brown = LITERATURE["mgh_brown_badly_scaled"]
    return {
        "(x - 1e6)^2": (POP((x - 1e6) ** 2), 0.0),
        "(x - 1e3)^2": (POP((x - 1e3) ** 2), 0.0),
        "(x - 1e6)^2 on [-1e7, 1e7]": (POP((x - 1e6) ** 2, ineqs=[1e14 - x**2]), 0.0),
        "(x - 1e3)^2 + (y + 2.5e4)^2 + 1": (POP((x - 1e3) ** 2 + (y + 2.5e4) ** 2 + 1), 1.0),
        "(x - 1e8)^2 + (y - 4)^2": (POP((x - 1e8) ** 2 + (y - 4) ** 2), 0.0),
        "(x - 1e6)^2 + (y + 3e4)^2 + 1e-6 xy": (
            POP((x - 1e6) ** 2 + (y + 3e4) ** 2 + 1e-6 * x * y), _coupled_optimum()),
        "half-plane x + y >= 4e5": (
            POP((x - 3e5) ** 2 + (y - 7e3) ** 2, ineqs=[x + y - 4e5]), 93_000.0**2 / 2),
        "line x - y = 1e6": (POP((x - 2e6) ** 2 + y**2, eqs=[x - y - 1e6]), 5e11),
        "quartic, 3 variables at 5e3, -7e3, 3e3": (
            POP(((x - 5e3) ** 2 - 1) ** 2 + ((y + 7e3) ** 2 - 1) ** 2
                + ((z - 3e3) ** 2 - 1) ** 2), 0.0),
        "max -(x - 4e4)^2 - 2": (POP(-(x - 4e4) ** 2 - 2, sense="max"), -2.0),
        "MGH Brown badly scaled": (brown.build(), brown.optimum),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--solver", default="auto")
    args = ap.parse_args()
    print("| problem | optimum | status | certified | bound | s |")
    print("|---|---|---|---|---|---|")
    for name, (pop, optimum) in cases().items():
        t0 = time.perf_counter()
        r = pop.solve(solver=args.solver, time_limit=args.time_limit)
        sec = time.perf_counter() - t0
        b = "" if r.bound is None else f"{r.bound:.10g}"
        print(f"| {name} | {optimum:.6g} | {r.status} | {r.certified} | {b} | {sec:.2f} |",
              flush=True)


if __name__ == "__main__":
    main()

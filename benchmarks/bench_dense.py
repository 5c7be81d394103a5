"""Dense order-2 relaxations of random quartics over the unit box: polylip vs SumOfSquares.py.

Both use CVXOPT through PICOS and must agree on the bound to 1e-5. Prints a Markdown table.

    python benchmarks/bench_dense.py                # n = 4 6 8 10
    python benchmarks/bench_dense.py --n 4 6 --no-sos

SumOfSquares.py (`pip install sumofsquares`) is optional: without it only polylip runs.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import sympy

from polylip import POP, Polynomial
from polylip.poly import monomials as mono


def random_box_quartic(n: int, seed: int = 0):
    """The benchmark problem: dense random quartic (normal coefficients), 1 - x_i^2 >= 0."""
    rng = np.random.default_rng(seed)
    names = [f"x{i}" for i in range(n)]
    rows = mono.basis(range(n), 4)
    f = Polynomial(names, rows, rng.standard_normal(rows.shape[0]))
    X = sympy.symbols(names)
    return X, f.to_sympy(dict(zip(names, X))), [1 - v ** 2 for v in X]


def run_polylip(X, f, g):
    t0 = time.perf_counter()
    pop = POP(f, ineqs=g, variables=X)
    t1 = time.perf_counter()
    relaxation = pop.relax(order=2)
    res = relaxation.solve(solver="cvxopt")
    return dict(model=t1 - t0, build=res.build_seconds, solve=res.solve_seconds,
                total=time.perf_counter() - t0, bound=res.bound, status=res.status, side=res.side)


def run_sumofsquares(X, f, g):
    from SumOfSquares import poly_opt_prob

    t0 = time.perf_counter()
    prob = poly_opt_prob(list(X), f, ineqs=g, deg=2)
    t1 = time.perf_counter()
    prob.solve(solver="cvxopt")
    t2 = time.perf_counter()
    return dict(build=t1 - t0, solve=t2 - t1, total=t2 - t0, bound=prob.value)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, nargs="+", default=[4, 6, 8, 10])
    ap.add_argument("--no-sos", action="store_true", help="skip SumOfSquares.py")
    args = ap.parse_args()
    X, f, g = random_box_quartic(2)  # warm-up: imports and first-call costs are not timed
    run_polylip(X, f, g)
    if not args.no_sos:
        run_sumofsquares(X, f, g)
    print("| n | polylip model s | build s | solve s | total s | SoS.py build s | solve s | total s "
          "| speed-up | bound polylip | bound SoS.py | diff |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for n in args.n:
        X, f, g = random_box_quartic(n)
        p = run_polylip(X, f, g)
        s = None if args.no_sos else run_sumofsquares(X, f, g)
        if s:
            print(f"| {n} | {p['model']:.3f} | {p['build']:.3f} | {p['solve']:.3f} | {p['total']:.3f} | "
                  f"{s['build']:.2f} | {s['solve']:.2f} | {s['total']:.2f} | {s['total'] / p['total']:.0f}x | "
                  f"{p['bound']:.6f} | {s['bound']:.6f} | {abs(p['bound'] - s['bound']):.1e} |", flush=True)
        else:
            print(f"| {n} | {p['model']:.3f} | {p['build']:.3f} | {p['solve']:.3f} | {p['total']:.3f} | - | - | - | - "
                  f"| {p['bound']:.6f} | - | - |", flush=True)


if __name__ == "__main__":
    main()

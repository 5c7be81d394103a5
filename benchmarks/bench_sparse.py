"""Sparse moment-SOS benchmarks: the standard problems of SparsePOP / TSSOS at n = 100 .. 10,000.

For each problem, size and sparsity pattern: relaxation sizes (moments, PSD blocks, largest
block), the dense relaxation's sizes (counted, never built), build and solve times, bound and
status. Times are wall clock on whatever machine runs it (note its load).

Usage::

    python benchmarks/bench_sparse.py --problems broyden_tridiagonal --n 1000 5000 \\
        --sparsity cs cs+ts --solvers clarabel
    python benchmarks/bench_sparse.py --crossover     # auto-solver crossover CVXOPT vs Clarabel
"""

from __future__ import annotations

import argparse
import os
import time

from polylip.model.problems import STANDARD, broyden_tridiagonal
from polylip.sparsity.report import dense_counts


def run_one(name, n, sparsity, solver):
    make, order, optimum = STANDARD[name]
    t0 = time.perf_counter()
    pop = make(n)
    model = time.perf_counter() - t0
    t1 = time.perf_counter()
    relax = pop.relax(order, sparsity)
    build = time.perf_counter() - t1
    sizes = relax.sizes
    row = dict(problem=name, n=n, order=order, sparsity=sparsity, solver=solver,
               moments=sizes["nmoments"], blocks=len(sizes["psd_sizes"]),
               largest=max(sizes["psd_sizes"]), dense_moments=dense_counts(pop, order)["moments"],
               dense_largest=dense_counts(pop, order)["largest_block"], model=model, build=build)
    if solver != "none":
        t2 = time.perf_counter()
        res = relax.solve(solver=solver)
        row.update(solve=time.perf_counter() - t2, status=res.status, bound=res.bound,
                   error=None if res.bound is None else abs(res.bound - optimum))
    row["total"] = build + row.get("solve", 0.0)
    return row


HEADER = ("| problem | n | order | sparsity | solver | moments | PSD blocks | largest | dense moments "
          "| dense largest | model s | build s | solve s | build+solve s | status | bound | error |")


def fmt(r):
    b = "—" if r.get("bound") is None else f"{r['bound']:.7f}"
    e = "—" if r.get("error") is None else f"{r['error']:.1e}"
    s = "—" if "solve" not in r else f"{r['solve']:.2f}"
    return (f"| {r['problem']} | {r['n']:,} | {r['order']} | {r['sparsity']} | {r['solver']} | "
            f"{r['moments']:,} | {r['blocks']:,} | {r['largest']} | {r['dense_moments']:.2e} | "
            f"{r['dense_largest']:,} | {r['model']:.2f} | {r['build']:.2f} | {s} | {r['total']:.2f} | "
            f"{r.get('status', '—')} | {b} | {e} |")


def crossover(ns):
    print("| n | moments | cvxopt s | clarabel s | cvxopt bound | clarabel bound |")
    print("|---|---|---|---|---|---|")
    for n in ns:
        r = broyden_tridiagonal(n).relax(2, "cs")
        out = []
        for solver in ("cvxopt", "clarabel"):
            t = time.perf_counter()
            res = r.solve(solver=solver, side="moment")
            out.append((time.perf_counter() - t, res.bound))
        print(f"| {n} | {r.sizes['nmoments']} | {out[0][0]:.2f} | {out[1][0]:.2f} | "
              f"{out[0][1]:.2e} | {out[1][1]:.2e} |", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--problems", nargs="+", default=list(STANDARD), choices=list(STANDARD))
    ap.add_argument("--n", nargs="+", type=int, default=[100, 1000])
    ap.add_argument("--sparsity", nargs="+", default=["cs", "cs+ts"])
    ap.add_argument("--solvers", nargs="+", default=["clarabel"],
                    help="clarabel, cvxopt, auto, or none (sizes only)")
    ap.add_argument("--crossover", action="store_true")
    ap.add_argument("--crossover-n", nargs="+", type=int, default=[5, 10, 20, 30, 40, 60])
    args = ap.parse_args()
    print(f"<!-- load average at start: {os.getloadavg()} -->")
    if args.crossover:
        crossover(args.crossover_n)
        return
    print(HEADER)
    print("|" + "---|" * (HEADER.count("|") - 1))
    for name in args.problems:
        for n in args.n:
            if name in ("chained_singular", "chained_wood") and n % 4:
                continue
            for sparsity in args.sparsity:
                for solver in args.solvers:
                    print(fmt(run_one(name, n, sparsity, solver)), flush=True)


if __name__ == "__main__":
    main()

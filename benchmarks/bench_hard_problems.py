"""Hard problems for the moment-SOS pipeline: chained singular (degenerate minimizer), the TSSOS
polynomial system, and the other standard problems as a regression check.

Every row is one ``POP.solve(...)`` call (the library's default path unless a pattern, side or
solver is named), timed from building the POP to the result, run one at a time. The table has
the problem, n, the pattern asked for, the solver and side that produced the result, status,
bound, its distance to the known optimum, the reported ``accuracy``, whether the bound is
certified (``Result.certified``) and the wall-clock time.
Times are wall clock on whatever machine runs it: the load average is printed first.

Usage::

    python benchmarks/bench_hard_problems.py                       # the default table
    python benchmarks/bench_hard_problems.py --problems chained_singular --n 100 1000 \\
        --sparsity auto cs cs+ts:chordal --solvers auto cvxopt
"""

from __future__ import annotations

import argparse
import os
import resource
import time

from polylip.model import problems

#: name -> (constructor taking n, order or None for the default, known optimum, the n to run)
PROBLEMS = {
    "chained_singular": (problems.chained_singular, None, 0.0, (100, 1000)),
    "broyden_tridiagonal": (problems.broyden_tridiagonal, None, 0.0, (100, 1000)),
    "generalized_rosenbrock": (problems.generalized_rosenbrock, None, 1.0, (100, 1000)),
    "chained_wood": (problems.chained_wood, None, 1.0, (100, 1000)),
    "broyden_banded": (problems.broyden_banded, None, 0.0, (100, 1000)),
}


PROBLEMS["chained_singular_shifted"] = (problems.chained_singular_shifted, None, 3.0, (100, 1000))
PROBLEMS["tssos_system"] = (lambda n: problems.tssos_polynomial_system(),
                           problems.TSSOS_POLYNOMIAL_SYSTEM_ORDER,
                           problems.TSSOS_POLYNOMIAL_SYSTEM_MIN, (3,))
PROBLEMS["tssos_system_ls"] = (lambda n: problems.tssos_polynomial_system("least_squares"),
                              problems.TSSOS_POLYNOMIAL_SYSTEM_ORDER, 0.0, (3,))


def run_one(name, n, sparsity, solver, side, time_limit, order=None):
    make, default_order, optimum, _ = PROBLEMS[name]
    order = order or default_order
    t0, c0 = time.perf_counter(), _cpu()
    pop = make(n)
    try:
        res = pop.solve(order=order, sparsity=sparsity, solver=solver, side=side,
                        time_limit=time_limit)
    except Exception as exc:  # noqa: BLE001 - a benchmark row, not library code
        return dict(problem=name, n=n, sparsity=sparsity, solver=solver, status=type(exc).__name__,
                    bound=None, error=None, accuracy=None, side=side, seconds=time.perf_counter() - t0,
                    certified=None, message=str(exc)[:80], cpu=_cpu() - c0)
    return dict(problem=name, n=n, sparsity=sparsity, solver=res.solver, side=res.side,
                status=res.status, bound=res.bound, accuracy=res.accuracy,
                error=None if res.bound is None else res.bound - optimum,
                seconds=time.perf_counter() - t0, message=res.message,
                certified=getattr(res, "certified", None), cpu=_cpu() - c0)


def _cpu():
    """CPU seconds of this process and its finished children (Clarabel runs in a forked
    child for large relaxations: ``time.process_time`` alone misses it)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


HEADER = ("| problem | n | pattern | solver | side | status | bound | bound - optimum | accuracy "
          "| certified | time s | CPU s |")


def fmt(r):
    def e(v):
        return "-" if v is None else f"{v:.2e}"
    b = "-" if r["bound"] is None else f"{r['bound']:.8g}"
    return (f"| {r['problem']} | {r['n']:,} | {r['sparsity']} | {r['solver']} | {r['side'] or '-'} | "
            f"{r['status']} | {b} | {e(r['error'])} | {e(r['accuracy'])} | "
            f"{'-' if r['certified'] is None else ('yes' if r['certified'] else 'no')} | {r['seconds']:.2f} | "
            f"{r['cpu']:.2f} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--problems", nargs="+", default=list(PROBLEMS), choices=list(PROBLEMS))
    ap.add_argument("--n", nargs="+", type=int, default=None,
                    help="sizes (default: each problem's own list)")
    ap.add_argument("--sparsity", nargs="+", default=["auto"])
    ap.add_argument("--solvers", nargs="+", default=["auto"])
    ap.add_argument("--side", default="auto")
    ap.add_argument("--order", type=int, default=None)
    ap.add_argument("--time-limit", type=float, default=120.0,
                    help="seconds per solve (default 120)")
    ap.add_argument("--messages", action="store_true", help="print each result's message")
    args = ap.parse_args()
    print(f"load average at start: {os.getloadavg()}")
    print(HEADER)
    print("|" + "---|" * (HEADER.count("|") - 1))
    for name in args.problems:
        ns = args.n or PROBLEMS[name][3]
        for n in ns:
            if name in ("chained_singular", "chained_wood") and n % 4:
                continue
            for sparsity in args.sparsity:
                for solver in args.solvers:
                    r = run_one(name, n, sparsity, solver, args.side, args.time_limit, args.order)
                    print(fmt(r), flush=True)
                    if args.messages:
                        print(f"  {r['message']}", flush=True)
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()

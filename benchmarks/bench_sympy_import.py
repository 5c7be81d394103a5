"""sympy import at scale: the standard problems written in sympy (unexpanded, as a user writes
them) against the native constructions of :mod:`polylip.model.problems`, in the same run.

Columns: the time sympy takes to build the expression, :func:`polylip.from_sympy` on it,
``POP(expression)`` (symbol collection, variable order and conversion), the native
construction, the number of terms, and whether the two polynomials are equal: ``equal``
(exactly, Polynomial ``==``) or ``allclose`` with the largest coefficient difference (the
problem has non-dyadic coefficients such as 0.1, and sums in another order round differently).
The sympy expressions are those of ``tests/support/sympy_problems.py`` (sums built with
``sympy.Add(*terms)``; Python's ``sum`` would rebuild the growing sum at every step). Times are
wall clock on whatever machine runs it: the load average is printed first.

Usage::

    python benchmarks/bench_sympy_import.py                       # Broyden tridiagonal, chained Wood
    python benchmarks/bench_sympy_import.py --n 1000 10000 --problems broyden_tridiagonal
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from support.sympy_problems import SYMPY_PROBLEMS  # noqa: E402

from polylip import POP, from_sympy  # noqa: E402
from polylip.model.problems import STANDARD  # noqa: E402


def timed(fn):
    gc.collect()
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def run_one(name: str, n: int) -> dict:
    build = SYMPY_PROBLEMS[name][0]
    native, t_native = timed(lambda: STANDARD[name][0](n).objective)
    expr, t_sympy = timed(lambda: build(n))
    poly, t_from = timed(lambda: from_sympy(expr, native.variables))
    pop, t_pop = timed(lambda: POP(expr, variables=native.variables))
    if poly == native and pop.objective == native:
        check = "equal"
    else:
        diff = float(max(abs((poly - native).coeffs).max(initial=0.0),
                         abs((pop.objective - native).coeffs).max(initial=0.0)))
        check = f"allclose ({diff:.1e})" if poly.allclose(native, atol=1e-9) else f"DIFFERENT ({diff:.1e})"
    return dict(problem=name, n=n, sympy=t_sympy, from_sympy=t_from, pop=t_pop, native=t_native,
                terms=native.nterms, check=check)


HEADER = ("| problem | n | sympy build s | from_sympy s | POP(f) s | native s | terms | "
          "from_sympy == native |")


def fmt(r: dict) -> str:
    return (f"| {r['problem']} | {r['n']:,} | {r['sympy']:.2f} | {r['from_sympy']:.2f} | "
            f"{r['pop']:.2f} | {r['native']:.3f} | {r['terms']:,} | {r['check']} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--problems", nargs="+", default=["broyden_tridiagonal", "chained_wood"],
                    choices=sorted(SYMPY_PROBLEMS))
    ap.add_argument("--n", nargs="+", type=int, default=[100, 1000, 10000])
    args = ap.parse_args()
    print(f"<!-- load average at start: {os.getloadavg()} -->")
    print(HEADER)
    print("|" + "---|" * (HEADER.count("|") - 1))
    for name in args.problems:
        for n in args.n:
            if name in ("chained_singular", "chained_wood") and n % 4:
                continue
            print(fmt(run_one(name, n)), flush=True)


if __name__ == "__main__":
    main()

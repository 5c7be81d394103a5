"""The cost of the certify stage, and what it takes off the bound (issue 12).

Every moment-SOS bound crosses :func:`polylip.solve.certify.certify_sos` (extraction of the
Gram matrices, the float repairs, the rigorous float bound; the exact ``verify()`` is not part
of it). Each row is one ``POP.solve(...)`` on the default path (solver "auto", side "auto"),
with every call of the certify stage timed (a solve may certify twice: a loose moment-side
certificate tries the SOS side). Columns:

* ``solve s``: ``Result.solve_seconds`` (the solver, every side tried);
* ``certify s``: the certify stage, all calls of it (``Result.certify_seconds`` is the one
  that produced the answer, in brackets when it differs);
* ``cert/solve``: their ratio, the target is under 20 %;
* ``numerical``, ``certified``: the solver's bound and the certified one; ``lost``: their
  difference (what certification costs the bound); ``optimum`` where known;
* with ``--verify``: the exact re-check's time (not part of the stage).

Times are wall clock; the load average is printed first and last.

Usage::

    python benchmarks/bench_certify.py                            # n = 1,000 and 5,000, cs
    python benchmarks/bench_certify.py --problems chained_wood --n 1000 --verify
    python benchmarks/bench_certify.py --literature               # the literature suite only
    python benchmarks/bench_certify.py --problems sum_of_squares --n 100000 --time-limit 30 \
        --no-literature                                           # the stage under a deadline

``wall s`` and ``CPU s`` are the whole call's (the machine is shared: CPU seconds beside wall);
``certify CPU s`` is the stage's. CPU seconds count this process and its children (the
solver's forked child); the stage's CPU time can exceed its wall time where BLAS or a
solver runs threads.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from polylip.model import problems
from polylip.model.literature import LITERATURE
from polylip.solve import certify, relaxation

def sum_of_squares(n):
    """sum_i x_i^2 (minimum 0 at 0): n blocks of 2 under "cs", a certificate of 4n terms."""
    from polylip import POP
    from polylip.poly import Polynomial
    names = tuple(f"x{i}" for i in range(n))
    return POP(Polynomial(names, np.arange(n).reshape(n, 1).repeat(2, axis=1), np.ones(n)))


#: name -> (constructor taking n, known optimum)
SPARSE = {
    "broyden_tridiagonal": (problems.broyden_tridiagonal, 0.0),
    "generalized_rosenbrock": (problems.generalized_rosenbrock, 1.0),
    "chained_wood": (problems.chained_wood, 1.0),
    "chained_singular": (problems.chained_singular, 0.0),
    "broyden_banded": (problems.broyden_banded, 0.0),
    "sum_of_squares": (sum_of_squares, 0.0),
}
LIT = ("goldstein_price", "six_hump_camel", "floudas_2_1", "maxcut_c5", "knapsack_4",
       "lasserre_nonsos_box", "chained_wood_20", "broyden_tridiagonal_20")

_calls = []
_cpu = []


def _cpu_now():
    """CPU seconds of this process and of its reaped children (the solver's forked child)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _timed(real):
    def wrapper(*args, **kwargs):
        t0, c0 = time.perf_counter(), _cpu_now()
        try:
            return real(*args, **kwargs)
        finally:
            _calls.append(time.perf_counter() - t0)
            _cpu.append(_cpu_now() - c0)
    return wrapper


def run(name, pop, optimum, sparsity, order, time_limit, verify):
    _calls.clear()
    _cpu.clear()
    t0, c0 = time.perf_counter(), _cpu_now()
    try:
        res = pop.solve(order=order, sparsity=sparsity, time_limit=time_limit)
    except Exception as exc:  # noqa: BLE001 - a benchmark row, not library code
        return dict(problem=name, status=type(exc).__name__, message=str(exc)[:100],
                    wall=time.perf_counter() - t0)
    wall = time.perf_counter() - t0
    row = dict(problem=name, status=res.status, side=res.side, solver=res.solver,
               solve=res.solve_seconds, cert=sum(_calls), cert_result=res.certify_seconds,
               calls=len(_calls), numerical=res.numerical_bound, bound=res.bound,
               certified=res.certified, optimum=optimum, wall=wall, cpu=_cpu_now() - c0,
               cert_cpu=sum(_cpu),
               message=res.message)
    if verify and res.certificate is not None and res.certified:
        t1 = time.perf_counter()
        row["verified"] = res.certificate.verify()
        row["verify"] = time.perf_counter() - t1
    return row


HEADER = ("| problem | n | status | solver/side | solve s | certify s | cert/solve | certify CPU s | "
          "numerical | certified | lost | optimum | verify s | wall s | CPU s |")


def fmt(r, n):
    if "solve" not in r:
        return f"| {r['problem']} | {n} | {r['status']} | | | | | | | | | | {r['message']} |"
    f8 = lambda v: "-" if v is None else f"{v:.8g}"  # noqa: E731
    cert = f"{r['cert']:.3f}"
    if r["calls"] > 1 or abs(r["cert"] - r["cert_result"]) > 5e-4:
        cert += f" ({r['cert_result']:.3f}, {r['calls']} calls)"
    ratio = f"{100 * r['cert'] / r['solve']:.1f} %" if r["solve"] > 0 else "-"
    lost = "-" if r["bound"] is None or r["numerical"] is None else f"{r['numerical'] - r['bound']:.2e}"
    bound = f8(r["bound"]) + ("" if r["certified"] or r["bound"] is None else " (numerical only)")
    ver = "-" if "verify" not in r else f"{r['verify']:.2f}" + ("" if r["verified"] else " FAILED")
    return (f"| {r['problem']} | {n} | {r['status']} | {r['solver']}/{r['side']} | {r['solve']:.2f} | "
            f"{cert} | {ratio} | {r['cert_cpu']:.3f} | {f8(r['numerical'])} | {bound} | {lost} | {f8(r['optimum'])} | {ver} | "
            f"{r['wall']:.2f} | {r['cpu']:.2f} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--problems", nargs="*", default=list(SPARSE), choices=list(SPARSE))
    ap.add_argument("--n", nargs="+", type=int, default=[1000, 5000])
    ap.add_argument("--sparsity", default="cs")
    ap.add_argument("--literature", action="store_true", help="only the literature problems")
    ap.add_argument("--no-literature", action="store_true")
    ap.add_argument("--time-limit", type=float, default=600.0, help="seconds per solve")
    ap.add_argument("--verify", action="store_true", help="time the exact verify() too")
    ap.add_argument("--messages", action="store_true")
    args = ap.parse_args()
    # every call of the certify stage, timed (Relaxation imports it by name)
    relaxation.certify_sos = _timed(certify.certify_sos)
    print(f"load average at start: {os.getloadavg()}")
    print(HEADER)
    print("|" + "---|" * (HEADER.count("|") - 1))
    if not args.literature:
        for name in args.problems:
            make, optimum = SPARSE[name]
            for n in args.n:
                if name in ("chained_singular", "chained_wood") and n % 4:
                    continue
                r = run(name, make(n), optimum, args.sparsity, None, args.time_limit, args.verify)
                print(fmt(r, f"{n:,}"), flush=True)
                if args.messages:
                    print(f"  {r.get('message', '')}", flush=True)
    if not args.no_literature:
        for name in LIT:
            p = LITERATURE[name]
            r = run(name, p.build(), p.optimum, p.sparsity, p.order, args.time_limit, args.verify)
            print(fmt(r, "-"), flush=True)
            if args.messages:
                print(f"  {r.get('message', '')}", flush=True)
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()

"""GLOBALLib problems (YALMIP's conversions, ``tests/support/globallib/*.pop``) through
``polylip solve``'s path: read the file, ``POP.solve(order=..., time_limit=...)``, and check the
answer against the optimum YALMIP asserts and against feasible points found by a local solver.

Each problem runs in its own process, killed 30 s after its time limit (a run still alive then
is a time limit not honoured, row status "KILLED"). The checks of a row:

- ``WRONG``: a certified bound above a known feasible value (the best of YALMIP's asserted
  optimum, polylip's candidate and a multistart SLSQP), or an "infeasible" status (every problem
  here is feasible), or "optimal" with ``is_global`` and a bound far from the optimum;
- ``late``: the solve took more than its time limit plus 10 s.

Usage::

    python benchmarks/bench_globallib.py --time-limit 20 [--order 2] [--max-vars 10] [NAMES...]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import re
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent.parent / "tests" / "support" / "globallib"


def header(path):
    text = path.read_text()
    opt = float(re.search(r"^# optimum: (\S+)", text, re.M).group(1))
    tol = float(re.search(r"^# tolerance: (\S+)", text, re.M).group(1))
    return opt, tol


def local_best(pop, starts=20, seed=0):
    """Best objective value at a feasible point from multistart SLSQP (min sense)."""
    from scipy.optimize import minimize  # noqa: PLC0415

    n = len(pop.variables)
    rng = np.random.default_rng(seed)
    cons = [{"type": "ineq", "fun": (lambda x, g=g: float(g.evaluate(x)))} for g in pop.ineqs]
    cons += [{"type": "eq", "fun": (lambda x, h=h: float(h.evaluate(x)))} for h in pop.eqs]
    sign = 1.0 if pop.sense == "min" else -1.0
    best = np.inf
    for _ in range(starts):
        x0 = rng.uniform(-1, 1, n) * 10 ** rng.uniform(0, 3)
        try:
            r = minimize(lambda x: sign * float(pop.evaluate(x)), x0, method="SLSQP",
                         constraints=cons, options={"maxiter": 300})
        except Exception:  # noqa: BLE001
            continue
        if pop.is_feasible(r.x, tol=1e-7):
            best = min(best, sign * float(pop.evaluate(r.x)))
    return sign * best if np.isfinite(best) else None


def run(path, order, time_limit, solver, sparsity, queue):
    from polylip.model.textformat import load_problem  # noqa: PLC0415

    t0 = time.perf_counter(), time.process_time()
    row = {"name": path.stem}
    try:
        pop = load_problem(path)
        row["n"] = len(pop.variables)
        res = pop.solve(order=order, time_limit=time_limit, solver=solver, sparsity=sparsity)
        row.update(status=res.status, bound=res.bound, certified=res.certified,
                   numerical=res.numerical_bound, candidate_value=res.candidate_value,
                   is_global=res.is_global, order=res.order, solver=res.solver,
                   message=res.message[:200])
    except Exception as exc:  # noqa: BLE001
        row.update(status="EXC " + type(exc).__name__, message=str(exc)[:200])
    row["seconds"] = time.perf_counter() - t0[0]
    row["cpu"] = time.process_time() - t0[1]
    queue.put(row)


def one(path, args):
    queue = mp.Queue()
    proc = mp.Process(target=run, args=(path, args.order, args.time_limit, args.solver,
                                        args.sparsity, queue))
    t0 = time.perf_counter()
    proc.start()
    proc.join(args.time_limit + 30)
    if proc.is_alive():
        proc.kill()
        proc.join()
        return {"name": path.stem, "status": "KILLED", "seconds": time.perf_counter() - t0}
    return queue.get() if not queue.empty() else {"name": path.stem, "status": "CRASH",
                                                   "seconds": time.perf_counter() - t0}


def verdict(row, path, args):
    from polylip.model.textformat import load_problem  # noqa: PLC0415

    opt, tol = header(path)
    pop = load_problem(path)
    sign = 1.0 if pop.sense == "min" else -1.0
    feasible = [opt + sign * tol]  # YALMIP's asserted optimum, as loose as its test
    if row.get("candidate_value") is not None:
        feasible.append(row["candidate_value"])
    if args.local:
        lb = local_best(pop)
        row["local"] = lb
        if lb is not None:
            feasible.append(lb)
    best = min(feasible) if sign > 0 else max(feasible)
    row["best_known"] = best
    flags = []
    b = row.get("bound")
    if row.get("status") == "infeasible":
        flags.append("WRONG: infeasible")
    if b is not None and row.get("certified"):
        slack = 1e-9 * max(1.0, abs(best))
        if sign * (b - best) > slack:
            flags.append(f"WRONG: certified bound {b:.8g} beyond {best:.8g}")
    if row.get("is_global") and b is not None and abs(b - opt) > tol + 1e-6 * max(1, abs(opt)):
        flags.append(f"WRONG? global {b:.8g} vs optimum {opt:.8g}")
    if row.get("seconds", 0) > args.time_limit + 10:
        flags.append("late")
    if row["status"] in ("KILLED", "CRASH") or row["status"].startswith("EXC"):
        flags.append(row["status"])
    row["flags"] = "; ".join(flags)
    row["optimum"] = opt
    return row


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("names", nargs="*")
    ap.add_argument("--order", type=int, default=None)
    ap.add_argument("--time-limit", type=float, default=20.0)
    ap.add_argument("--solver", default="auto")
    ap.add_argument("--sparsity", default="auto")
    ap.add_argument("--max-vars", type=int, default=1000)
    ap.add_argument("--local", action="store_true", help="also run multistart SLSQP")
    ap.add_argument("--json", default=None, help="append rows as JSON lines to this file")
    args = ap.parse_args()
    print(f"load: {os.getloadavg()}")
    paths = sorted(HERE.glob("*.pop"))
    if args.names:
        paths = [p for p in paths if p.stem in args.names]
    print("| problem | n | order | solver | status | certified | bound | numerical | optimum "
          "| candidate | s | cpu s | flags |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for path in paths:
        nvars = len(re.search(r"^variables: (.*)$", path.read_text(), re.M).group(1).split())
        if nvars > args.max_vars:
            continue
        try:
            row = verdict(one(path, args), path, args)
        except Exception as exc:  # noqa: BLE001 - a row, not a crash of the table
            row = {"name": path.stem, "status": "EXC " + type(exc).__name__, "seconds": 0.0,
                   "optimum": header(path)[0], "flags": str(exc)[:100]}

        def f(v):
            return "" if v is None else (f"{v:.8g}" if isinstance(v, float) else str(v))
        print(f"| {row['name']} | {f(row.get('n'))} | {f(row.get('order'))} | {f(row.get('solver'))} "
              f"| {row['status']} | {f(row.get('certified'))} | {f(row.get('bound'))} "
              f"| {f(row.get('numerical'))} | {f(row['optimum'])} | {f(row.get('candidate_value'))} "
              f"| {row['seconds']:.1f} | {f(row.get('cpu'))[:5]} | {row['flags']} |", flush=True)
        if args.json:
            with open(args.json, "a") as fh:
                fh.write(json.dumps(row, default=str) + "\n")


if __name__ == "__main__":
    main()

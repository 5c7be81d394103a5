"""Every problem of the literature suite (``polylip/model/literature.py``) with each solver and
each side forced: the certified bound must never be on the wrong side of the known optimum,
its certificate must verify in exact arithmetic, and no status may claim what is false
("infeasible" or a proven "unbounded" on these feasible, bounded problems).

Each solve runs in its own process, killed 60 s after its time limit (row "KILLED"). Flags of a
row: ``WRONG_SIDE``, ``VERIFY_FAILS``, ``WRONG_STATUS``, ``EXCEPTION``, ``late`` (past the
limit plus 5 s). The summary counts certified and numerical-only bounds.

Usage::

    python benchmarks/qa_literature_sweep.py [--time-limit 40] [--solvers clarabel,cvxopt] [NAMES...]
    python benchmarks/qa_literature_sweep.py --order default --solvers auto --sides auto
    python benchmarks/qa_literature_sweep.py --order auto --solvers auto --sides auto
    python benchmarks/qa_literature_sweep.py --non-sos --order default   # NON_SOS forms
    python benchmarks/qa_literature_sweep.py --hard-equalities            # HARD_EQUALITIES

``--order stated`` (default) relaxes at each problem's stated order, ``default`` calls
``POP.solve()`` with no order (the smallest valid one), ``auto`` passes ``order="auto"``.
Rows of ``--non-sos`` (no SOS certificate of the optimum at any order) and of
``--hard-equalities`` (HS equality problems with no certified bound at their order) are flagged
``NO_HINT`` when a bound is not certified and the message names no order to try.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import time


def _table(which):
    from polylip.model import literature

    return {"non_sos": literature.NON_SOS, "hard": literature.HARD_EQUALITIES}.get(
        which, literature.LITERATURE)


def _run(name, solver, side, time_limit, order, non_sos, sparsity, queue):
    p = _table(non_sos)[name]
    pop = p.build()
    t0 = time.perf_counter()
    try:
        kw = {} if order == "default" else {"order": p.order if order == "stated" else order}
        r = pop.solve(sparsity=sparsity or p.sparsity, solver=solver, side=side, time_limit=time_limit, **kw)
        verified = r.certificate.verify() if r.certified and r.certificate is not None else None
        queue.put((r.status, r.bound, r.certified, verified, time.perf_counter() - t0,
                   f"[order {r.order}, {r.sparsity}, {len(r.minimizers)} minimizer(s)] {r.message}"))
    except Exception as exc:  # a row, not a crash of the sweep
        queue.put(("EXCEPTION", None, False, None, time.perf_counter() - t0, f"{type(exc).__name__}: {exc}"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*")
    ap.add_argument("--time-limit", type=float, default=40.0)
    ap.add_argument("--solvers", default="clarabel,cvxopt")
    ap.add_argument("--sides", default="moment,sos")
    ap.add_argument("--order", default="stated", choices=["stated", "default", "auto"])
    ap.add_argument("--non-sos", action="store_true", help="sweep literature.NON_SOS")
    ap.add_argument("--hard-equalities", action="store_true",
                    help="sweep literature.HARD_EQUALITIES")
    ap.add_argument("--sparsity", default=None, help="instead of each problem's own")
    args = ap.parse_args()
    args.non_sos = "non_sos" if args.non_sos else "hard" if args.hard_equalities else ""
    table = _table(args.non_sos)
    names = args.names or sorted(table)
    counts = dict(rows=0, certified=0, numerical=0, other=0, flagged=0)
    print(f"| problem | solver | side | status | bound | optimum | certified | s | flags |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name in names:
        p = table[name]
        sense = p.build().sense
        tiny = 1e-9 * max(1.0, abs(p.optimum))
        for solver in args.solvers.split(","):
            for side in args.sides.split(","):
                q = mp.Queue()
                proc = mp.Process(target=_run, args=(name, solver, side, args.time_limit, args.order,
                                                        args.non_sos, args.sparsity, q))
                proc.start()
                proc.join(args.time_limit + 60)
                if proc.is_alive():
                    proc.kill()
                    row = ("KILLED", None, False, None, args.time_limit + 60, "")
                else:
                    row = q.get() if not q.empty() else ("DIED", None, False, None, 0.0, "")
                status, bound, cert, verified, sec, msg = row
                flags = []
                if status in ("EXCEPTION", "KILLED", "DIED"):
                    flags.append(status)
                if status == "infeasible" or (status == "unbounded" and cert):
                    flags.append("WRONG_STATUS")
                if status == "optimal" and cert and bound is not None and (
                        bound > p.optimum + tiny if sense == "min" else bound < p.optimum - tiny):
                    flags.append("WRONG_SIDE")
                if verified is False:
                    flags.append("VERIFY_FAILS")
                if sec > args.time_limit + 5:
                    flags.append("late")
                if args.non_sos and not cert and status in ("optimal", "inaccurate", "unbounded") \
                        and "order=" not in msg:
                    flags.append("NO_HINT")
                counts["rows"] += 1
                counts["flagged"] += bool(flags)
                key = "certified" if status == "optimal" and cert else \
                    "numerical" if status == "optimal" else "other"
                counts[key] += 1
                b = "" if bound is None else f"{bound:.10g}"
                print(f"| {name} | {solver} | {side} | {status} | {b} | {p.optimum:.10g} | {cert} | "
                      f"{sec:.1f} | {' '.join(flags)}{(' ' + msg[:160]) if flags else ' ' + msg[:40]} |", flush=True)
    print(f"\n{counts['rows']} solves: {counts['certified']} certified, {counts['numerical']} "
          f"optimal but numerical only, {counts['other']} other statuses, {counts['flagged']} flagged")


if __name__ == "__main__":
    main()

"""POP QA round 5: the problems the round added to the literature suite
(``polylip/model/literature.py``, section "added by the POP QA round 5", and ``ROUND5_EXTRA``)
through every order x sparsity x solver, each checked against its known optimum.

Paths (a row each): order 1, 2 and ``auto`` (1 and 2 only where valid: an order below half
the degree is refused, a row "refused"), sparsity ``default`` (none given), ``cs`` and
``cs+ts`` (the latter two only where meaningful: more than 4 variables), solver ``clarabel``
and ``cvxopt``.

Flags of a row: ``WRONG_SIDE`` (a certified bound above the minimum, below the maximum: a
wrong proof), ``VERIFY_FAILS`` (the exact ``verify()`` fails), ``WRONG_STATUS``
("infeasible", or "unbounded" with certified=True, on these feasible bounded problems),
``FALSE_GLOBAL`` (a global-optimum claim away from the optimum), ``EXCEPTION`` (not a
PolylipError), ``KILLED``/``DIED``, ``late`` (5 s past the limit).

``--verify`` instead re-derives each optimum independently (enumeration of the spin states;
the vertices and 300 bounded L-BFGS-B starts for boxes; SLSQP starts on simplices) and
prints it beside the stated one.

Each solve in its own process, one at a time. Usage::

    python benchmarks/qa_pop_round5.py [--time-limit 30] [--verify] [NAMES...]
"""

from __future__ import annotations

import argparse
import itertools
import multiprocessing as mp
import time

ORDERS = [1, 2, "auto"]
SPARSITIES = ["default", "cs", "cs+ts"]
SOLVERS = ["clarabel", "cvxopt"]


def _problems():
    from polylip.model.literature import LITERATURE, ROUND5_EXTRA

    names = list(LITERATURE)
    table = {n: LITERATURE[n] for n in names[names.index("bernstein_butcher"):]}
    table.update(ROUND5_EXTRA)
    return table


def _paths(pop):
    for order, sp, solver in itertools.product(ORDERS, SPARSITIES, SOLVERS):
        if sp != "default" and pop.nvars <= 4:
            continue
        yield order, sp, solver


def _run(name, order, sp, solver, time_limit, queue):
    from polylip.errors import PolylipError

    p = _problems()[name]
    pop = p.build()
    kw = {"order": order, "solver": solver, "time_limit": time_limit}
    if sp != "default":
        kw["sparsity"] = sp
    t0 = time.perf_counter()
    try:
        r = pop.solve(**kw)
    except PolylipError as exc:
        queue.put({"status": "refused", "message": f"{type(exc).__name__}: {exc}",
                   "seconds": time.perf_counter() - t0})
        return
    except Exception as exc:  # a row, not a crash of the sweep
        queue.put({"status": "EXCEPTION", "message": f"{type(exc).__name__}: {exc}",
                   "seconds": time.perf_counter() - t0})
        return
    verified = r.certificate.verify() if r.certified and r.certificate is not None else None
    queue.put({"status": r.status, "bound": r.bound, "certified": r.certified, "verified": verified,
               "order": r.order, "is_global": r.is_global, "seconds": time.perf_counter() - t0,
               "message": r.message})


def _flags(row, p, sense, time_limit):
    flags = []
    st = row["status"]
    if st in ("EXCEPTION", "KILLED", "DIED"):
        flags.append(st)
    if st == "infeasible" or (st == "unbounded" and row.get("certified")):
        flags.append("WRONG_STATUS")
    tiny = 1e-9 * max(1.0, abs(p.optimum))
    b = row.get("bound")
    if row.get("certified") and b is not None and (
            b > p.optimum + tiny if sense == "min" else b < p.optimum - tiny):
        flags.append("WRONG_SIDE")
    if row.get("verified") is False:
        flags.append("VERIFY_FAILS")
    if row.get("is_global") and b is not None and abs(b - p.optimum) > 1e-6 * max(1.0, abs(p.optimum)):
        flags.append("FALSE_GLOBAL")
    if row["seconds"] > time_limit + 5:
        flags.append("late")
    return flags


def _verify(names) -> None:
    import numpy as np
    from scipy.optimize import minimize

    from polylip.solve.box import box_from_constraints

    rng = np.random.default_rng(0)
    table = _problems()
    for name in names:
        p = table[name]
        pop = p.build()
        sign = 1.0 if pop.sense == "min" else -1.0
        if pop.spin:
            n, best = pop.nvars, np.inf
            for start in range(0, 2 ** n, 2 ** 16):
                idx = np.arange(start, min(start + 2 ** 16, 2 ** n))
                states = 1.0 - 2.0 * ((idx[:, None] >> np.arange(n)) & 1)
                best = min(best, float((sign * pop.evaluate(states)).min()))
            how = "enumeration"
        else:
            lo, hi = box_from_constraints(pop.nvars, pop.ineqs, pop.eqs)
            f = lambda x: sign * float(pop.evaluate(x))  # noqa: E731
            best = np.inf
            if pop.eqs:
                cons = [{"type": "ineq", "fun": (lambda x, g=g: float(g.evaluate(x)))} for g in pop.ineqs]
                cons += [{"type": "eq", "fun": (lambda x, h=h: float(h.evaluate(x)))} for h in pop.eqs]
                for _ in range(300):
                    r = minimize(f, rng.dirichlet(np.ones(pop.nvars)), method="SLSQP", constraints=cons,
                                 options={"ftol": 1e-14, "maxiter": 500})
                    if r.success and pop.is_feasible(r.x, tol=1e-8):
                        best = min(best, float(r.fun))
                how = "300 SLSQP starts"
            else:
                if pop.nvars <= 8:
                    vertices = np.array(list(itertools.product(*zip(lo, hi))))
                    best = float((sign * pop.evaluate(vertices)).min())
                pts = lo + (hi - lo) * rng.random((200_000, pop.nvars))
                starts = list(pts[np.argsort(sign * pop.evaluate(pts))[:150]])
                starts += list(lo + (hi - lo) * rng.random((150, pop.nvars)))
                for x0 in starts:
                    r = minimize(f, x0, method="L-BFGS-B", bounds=list(zip(lo, hi)),
                                 options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 2000})
                    best = min(best, float(r.fun))
                how = "vertices + 300 L-BFGS-B starts"
        found = sign * best
        ok = (found >= p.optimum - 1e-7 * max(1, abs(p.optimum)) if pop.sense == "min"
              else found <= p.optimum + 1e-7 * max(1, abs(p.optimum)))
        print(f"| {name} | {p.optimum:.10g} | {found:.10g} | {how} | {'ok' if ok else 'LOWER FOUND'} |",
              flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*")
    ap.add_argument("--time-limit", type=float, default=30.0)
    ap.add_argument("--verify", action="store_true")
    args = ap.parse_args()
    table = _problems()
    names = args.names or list(table)
    if args.verify:
        print("| problem | stated | found here | how | |\n|---|---|---|---|---|")
        _verify(names)
        return
    counts = dict(rows=0, certified=0, numerical=0, refused=0, other=0, flagged=0)
    print("| problem | order | sparsity | solver | status | bound | optimum | certified | s | flags, message |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name in names:
        p = table[name]
        pop = p.build()
        for order, sp, solver in _paths(pop):
            q = mp.Queue()
            proc = mp.Process(target=_run, args=(name, order, sp, solver, args.time_limit, q))
            proc.start()
            proc.join(args.time_limit + 60)
            if proc.is_alive():
                proc.kill()
                row = {"status": "KILLED", "seconds": args.time_limit + 60, "message": ""}
            else:
                row = q.get() if not q.empty() else {"status": "DIED", "seconds": 0.0, "message": ""}
            flags = _flags(row, p, pop.sense, args.time_limit)
            counts["rows"] += 1
            counts["flagged"] += bool(flags)
            st = row["status"]
            key = ("certified" if st == "optimal" and row.get("certified") else "numerical"
                   if st == "optimal" else "refused" if st == "refused" else "other")
            counts[key] += 1
            b = "" if row.get("bound") is None else f"{row['bound']:.10g}"
            msg = row.get("message", "")
            print(f"| {name} | {order} | {sp} | {solver} | {st} | {b} | {p.optimum:.10g} | "
                  f"{row.get('certified')} | {row['seconds']:.1f} | "
                  f"{' '.join(flags)} {msg[:150] if flags or st != 'optimal' else msg[:50]} |", flush=True)
    print(f"\n{counts['rows']} runs: {counts['certified']} certified, {counts['numerical']} optimal "
          f"but numerical only, {counts['refused']} refused (a PolylipError), {counts['other']} "
          f"other statuses, {counts['flagged']} flagged")


if __name__ == "__main__":
    main()

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
import time

# the flags, the child-process runner and the tally are round 4's (run from benchmarks/)
from qa_pop_round4 import _flags, run_isolated, summary, tally

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
            row = run_isolated(_run, (name, order, sp, solver, args.time_limit), args.time_limit + 60)
            flags = _flags(row, p, pop.sense, args.time_limit)
            b, st = tally(counts, row, flags), row["status"]
            msg = row.get("message", "")
            print(f"| {name} | {order} | {sp} | {solver} | {st} | {b} | {p.optimum:.10g} | "
                  f"{row.get('certified')} | {row['seconds']:.1f} | "
                  f"{' '.join(flags)} {msg[:150] if flags or st != 'optimal' else msg[:50]} |", flush=True)
    print(summary(counts))


if __name__ == "__main__":
    main()

"""Random badly scaled box problems against brute force: ``f = s q((x - c)/R, (y - c)/R) + c0``
with a random quartic ``q``, on ``[c - R, c + R]^2`` written as ball-form constraints
``R^2 - (x - c)^2 >= 0`` (odd rows: the linear box constraints too), ``s`` from 1e-12 to
1e12, ``R`` 1, 100 or 10^4, ``c`` 0 or 1-3 R, ``c0`` up to 1e12; order 2. Each result is
checked against a 201 x 201 grid minimum polished by L-BFGS-B (an upper bound on the minimum):
a certified bound above it, or "infeasible", is WRONG. One JSON line per problem, then
"bad N".

Usage::

    python benchmarks/bench_scaled_random.py SEED COUNT [SOLVER]
"""
import sys, time, json
import numpy as np
from scipy.optimize import minimize
from polylip import POP
from polylip.poly import variables
x, y = variables("x y")
rng = np.random.default_rng(int(sys.argv[1]))
N = int(sys.argv[2]); solver = sys.argv[3] if len(sys.argv) > 3 else "auto"
exps = [(i, j) for i in range(5) for j in range(5) if 0 < i + j <= 4]
bad = 0
for k in range(N):
    R = float(10 ** rng.choice([0, 2, 4]))
    shift = float(rng.choice([0, 0, 1])) * R * rng.uniform(1, 3)
    s = float(10 ** rng.uniform(-12, 12))
    c0 = float(rng.choice([0, 0, 10 ** rng.uniform(-6, 12)]))
    co = rng.normal(size=len(exps)); co[-5:] = np.abs(co[-5:])
    f = sum(float(c) * s / R ** (i + j) * (x - shift) ** i * (y - shift) ** j for c, (i, j) in zip(co, exps)) + c0
    lo, hi = shift - R, shift + R
    pop = POP(f, ineqs=[R**2 - (x - shift)**2, R**2 - (y - shift)**2] if k % 2 == 0 else [x - lo, hi - x, y - lo, hi - y, R**2 - (x - shift)**2, R**2 - (y - shift)**2])
    g = np.linspace(lo, hi, 201)
    X, Y = np.meshgrid(g, g)
    vals = pop.evaluate(np.column_stack([X.ravel(), Y.ravel()]))
    best = float(vals.min()); p0 = np.array([X.ravel()[vals.argmin()], Y.ravel()[vals.argmin()]])
    r = minimize(lambda p: float(pop.evaluate(p)), p0, bounds=[(lo, hi)] * 2, method="L-BFGS-B")
    if pop.is_feasible(r.x): best = min(best, float(r.fun))
    t = time.time()
    res = pop.solve(order=2, time_limit=60, solver=solver)
    dt = time.time() - t
    scale = max(abs(best), 1.0)
    flag = ""
    if res.status == "infeasible": flag = "WRONG infeasible"
    elif res.status == "optimal" and res.certified and res.bound > best + 1e-9 * scale: flag = f"WRONG certified {res.bound!r} > {best!r}"
    elif res.status == "optimal" and res.is_global and abs(res.candidate_value - best) > 1e-6 * scale and res.candidate_value > best: flag = "WRONG? global"
    elif res.status != "optimal": flag = "status " + res.status
    if flag.startswith("WRONG"): bad += 1
    print(json.dumps(dict(k=k, R=R, shift=shift, s=s, c0=c0, status=res.status, certified=res.certified,
                          bound=res.bound, best=best, rel_gap=None if res.bound is None else (best - res.bound) / scale,
                          seconds=round(dt, 2), flag=flag, solver=res.solver)), flush=True)
print("bad", bad)

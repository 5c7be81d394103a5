"""Mixed-integer LPs through HiGHS's branch and bound (``scipy.optimize.milp``).

``minimize c @ x  s.t.  A_eq x = b_eq,  A_ub x <= b_ub,  lb <= x <= ub,  x_i integer where
integrality_i = 1``. The answer is a :class:`MILPSolution`: the best point found (``value``, an
upper bound on the minimum) and HiGHS's dual bound (``dual_bound``, a lower bound on it), with a
status mapped explicitly from scipy's codes. ``time_limit`` (seconds) and ``node_limit``
(branch-and-bound nodes: a work limit, the same on every machine and load) stop it with status
"time_limit" and both bounds as far as it got.

Examples
--------
>>> import numpy as np, scipy.sparse as sp
>>> # minimize -x - y  s.t.  2x + 2y <= 3, x, y in {0, 1}: the optimum -1, the LP bound -1.5
>>> sol = solve_milp(np.array([-1.0, -1.0]), A_ub=sp.csr_matrix([[2.0, 2.0]]), b_ub=np.array([3.0]),
...                  lb=np.zeros(2), ub=np.ones(2), integrality=np.ones(2))
>>> sol.status, sol.value, sol.dual_bound >= -1.0 - 1e-9
('optimal', -1.0, True)
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

__all__ = ["MILPSolution", "solve_milp", "STATUS_MAP"]

#: scipy.optimize.milp status codes -> polylip statuses (1: an iteration, time or node limit).
STATUS_MAP = {0: "optimal", 1: "time_limit", 2: "infeasible", 3: "unbounded", 4: "failed"}


@dataclass(frozen=True)
class MILPSolution:
    """``value``: the best point's objective (None without a point); ``dual_bound``: a lower
    bound on the minimum (None when none is known); ``gap`` the relative gap HiGHS reports."""

    status: str
    value: float | None
    dual_bound: float | None
    x: np.ndarray | None
    gap: float | None
    nodes: int
    seconds: float
    message: str


def solve_milp(c, *, A_eq=None, b_eq=None, A_ub=None, b_ub=None, lb=None, ub=None,
               integrality=None, gap: float = 1e-4, time_limit: float | None = None,
               node_limit: int | None = None, presolve: bool = True) -> MILPSolution:
    """Minimize a mixed-integer LP with HiGHS (see the module text); ``presolve=False`` runs
    it without HiGHS's presolve (scipy 1.17's presolve fails or errs on some degenerate
    models: see :func:`polylip.nn.methods.milp._solve_true`)."""
    t0 = time.perf_counter()
    c = np.asarray(c, dtype=float)
    n = c.size
    constraints = []
    if A_eq is not None and A_eq.shape[0]:
        constraints.append(LinearConstraint(sp.csr_matrix(A_eq), b_eq, b_eq))
    if A_ub is not None and A_ub.shape[0]:
        constraints.append(LinearConstraint(sp.csr_matrix(A_ub), -np.inf, b_ub))
    lb = np.full(n, -np.inf) if lb is None else np.asarray(lb, dtype=float)
    ub = np.full(n, np.inf) if ub is None else np.asarray(ub, dtype=float)
    options = {"disp": False, "mip_rel_gap": float(gap), "presolve": bool(presolve)}
    if time_limit is not None:
        options["time_limit"] = max(float(time_limit), 1e-3)
    if node_limit is not None:
        options["node_limit"] = int(node_limit)
    res = milp(c, constraints=constraints, integrality=integrality, bounds=Bounds(lb, ub),
               options=options)
    status = STATUS_MAP.get(int(res.status), "failed")
    if int(res.status) == 4 and "limit" in str(res.message).lower():
        # scipy 1.17 reports HiGHS's node and solution limits as 4 ("Solution limit reached"):
        # a limit, with the bounds as far as it got, not a failure
        status = "time_limit"
    value = None if res.x is None else float(c @ res.x)
    dual = getattr(res, "mip_dual_bound", None)
    dual = None if dual is None or not np.isfinite(dual) else float(dual)
    if status == "optimal" and dual is None and value is not None:
        # no dual bound reported (e.g. solved in presolve): "optimal" means within the relative
        # gap of the best point, so the minimum is at least this
        dual = value - float(gap) * max(abs(value), 1.0)
    if status in ("failed", "infeasible", "unbounded"):
        dual = None
    mgap = getattr(res, "mip_gap", None)
    return MILPSolution(status=status, value=value, dual_bound=dual, x=res.x,
                        gap=None if mgap is None or not np.isfinite(mgap) else float(mgap),
                        nodes=int(getattr(res, "mip_node_count", 0) or 0),
                        seconds=time.perf_counter() - t0, message=str(res.message))

"""Mixed-integer LPs through HiGHS's branch and bound (``scipy.optimize.milp``).

``minimize c @ x  s.t.  A_eq x = b_eq,  A_ub x <= b_ub,  lb <= x <= ub,  x_i integer where
integrality_i = 1``. The answer is a :class:`MILPSolution`: the best point found (``value``, an
upper bound on the minimum) and HiGHS's dual bound (``dual_bound``, a lower bound on it), with a
status mapped explicitly from scipy's codes. ``time_limit`` (seconds) and ``node_limit``
(branch-and-bound nodes: a work limit, the same on every machine and load) stop it with status
"time_limit" and both bounds as far as it got.

**Small entries.** HiGHS treats matrix entries with ``|a| <= 1e-9`` (its option
``small_matrix_value``) as zero, without a word: the model it solves is then not the one given,
and with column bounds tight to within that scale it can lose feasible points, so its
"infeasible" and its dual bound are wrong (measured: a true-constant MILP of a 64-100-100-10
digits MLP trained with L2 regularization, whose dead neurons have weights of 1e-26 to 1e-8 and
pre-activation intervals 4e-9 wide, was "infeasible" without presolve although the box's center
is a feasible point; issue 12 item 6). So :func:`solve_milp` drops those entries itself
(:data:`SMALL_ENTRY`, a little above HiGHS's threshold) and widens each row they leave by their
largest contribution over the column bounds (``sum |a_ij| max(|lb_j|, |ub_j|)``): the model
HiGHS solves is a relaxation of the one given, so its dual bound stays a lower bound on the
minimum (and a point it returns may violate a widened row by at most that amount). An entry in
a column without finite bounds is kept (no finite widening exists; HiGHS ignores it as before).
For the same reason a continuous column whose bounds are closer than HiGHS's feasibility
tolerance, but not equal, is widened to :data:`NARROW_COLUMN` (a relaxation too): with such
columns (pre-activations of dead neurons, known to within 1e-10) HiGHS without presolve
returned "optimal" 1.2703 for a model whose maximum is 1.6223, even with no small entries.

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

from polylip.runtime import quiet_native_stdout

__all__ = ["MILPSolution", "solve_milp", "STATUS_MAP", "SMALL_ENTRY", "NARROW_COLUMN",
           "drop_small_entries", "widen_narrow_columns"]

#: Matrix entries with ``|a| <=`` this are dropped by :func:`solve_milp` and their rows widened
#: (see the module text): HiGHS ignores entries up to 1e-9 (``small_matrix_value``); twice that
#: leaves no entry to its own rounding.
SMALL_ENTRY = 2e-9
#: Continuous columns whose bounds are closer than this (but not equal) are widened to it,
#: centred (see the module text): HiGHS's primal feasibility tolerance. Measured on the MILP of
#: a 20-16-16-1 network with dead neurons (pre-activation intervals 1.4e-10 wide): widened to
#: 1e-9 HiGHS (no presolve) still answered "optimal" 1.2703 for a maximum of 1.6223; to 1e-8,
#: 1e-7 or 1e-6 it found 1.6223.
NARROW_COLUMN = 1e-7

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


def drop_small_entries(A, row_lo, row_hi, lb, ub, small: float = SMALL_ENTRY):
    """``(A', lo', hi')``: the rows ``row_lo <= A x <= row_hi`` without the entries
    ``|a_ij| <= small`` of columns with finite bounds, each row widened by what those entries
    can contribute over ``lb <= x <= ub``. Every ``x`` of the box that satisfies the given rows
    satisfies the new ones (a relaxation).

    Examples
    --------
    >>> A = sp.csr_matrix([[1.0, 1e-12], [1.0, 1.0]])
    >>> B, lo, hi = drop_small_entries(A, np.array([0.0, -np.inf]), np.array([0.0, 1.0]),
    ...                                np.zeros(2), np.array([1.0, 3.0]))
    >>> B.nnz, lo.tolist(), hi.tolist()
    (3, [-3e-12, -inf], [3e-12, 1.0])
    """
    A = sp.csr_matrix(A, dtype=float, copy=True)
    bound = np.maximum(np.abs(lb), np.abs(ub))
    tiny = (np.abs(A.data) <= small) & np.isfinite(bound[A.indices])
    if not tiny.any():
        return A, row_lo, row_hi
    rows = np.repeat(np.arange(A.shape[0]), np.diff(A.indptr))
    slack = np.bincount(rows[tiny], weights=np.abs(A.data[tiny]) * bound[A.indices[tiny]],
                        minlength=A.shape[0])
    A.data[tiny] = 0.0
    A.eliminate_zeros()
    return A, np.asarray(row_lo, float) - slack, np.asarray(row_hi, float) + slack


def widen_narrow_columns(lb, ub, integrality=None, width: float = NARROW_COLUMN):
    """Bounds with every continuous column narrower than ``width`` (and not fixed) widened to
    ``width`` about its middle: a relaxation (see the module text).

    Examples
    --------
    >>> lo, hi = widen_narrow_columns(np.array([0.0, 1.0, 2.0]), np.array([1e-10, 1.0, 3.0]))
    >>> (hi - lo).tolist()
    [1e-07, 0.0, 1.0]
    """
    lb, ub = np.asarray(lb, dtype=float), np.asarray(ub, dtype=float)
    cont = np.ones(lb.size, bool) if integrality is None else np.asarray(integrality) == 0
    narrow = cont & (ub > lb) & (ub - lb < width)
    if not narrow.any():
        return lb, ub
    mid = 0.5 * (lb + ub)
    return np.where(narrow, mid - 0.5 * width, lb), np.where(narrow, mid + 0.5 * width, ub)


def solve_milp(c, *, A_eq=None, b_eq=None, A_ub=None, b_ub=None, lb=None, ub=None,
               integrality=None, gap: float = 1e-4, time_limit: float | None = None,
               node_limit: int | None = None, presolve: bool = True) -> MILPSolution:
    """Minimize a mixed-integer LP with HiGHS (see the module text); ``presolve=False`` runs
    it without HiGHS's presolve (scipy 1.17's presolve fails or errs on some degenerate
    models: see :func:`polylip.nn.methods.milp._solve_true`)."""
    t0 = time.perf_counter()
    c = np.asarray(c, dtype=float)
    n = c.size
    lb = np.full(n, -np.inf) if lb is None else np.asarray(lb, dtype=float)
    ub = np.full(n, np.inf) if ub is None else np.asarray(ub, dtype=float)
    lb, ub = widen_narrow_columns(lb, ub, integrality)
    constraints = []
    if A_eq is not None and A_eq.shape[0]:
        b_eq = np.asarray(b_eq, dtype=float)
        constraints.append(LinearConstraint(*drop_small_entries(A_eq, b_eq, b_eq, lb, ub)))
    if A_ub is not None and A_ub.shape[0]:
        constraints.append(LinearConstraint(*drop_small_entries(
            A_ub, np.full(A_ub.shape[0], -np.inf), np.asarray(b_ub, dtype=float), lb, ub)))
    options = {"disp": False, "mip_rel_gap": float(gap), "presolve": bool(presolve)}
    if time_limit is not None:
        options["time_limit"] = max(float(time_limit), 1e-3)
    if node_limit is not None:
        options["node_limit"] = int(node_limit)
    with quiet_native_stdout():  # HiGHS prints some debug lines whatever disp says
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

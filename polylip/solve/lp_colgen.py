"""Delayed column generation for large Krivine/Handelman LPs (used by :mod:`polylip.solve.lp`).

Why
---
At degree 4 the LiPopt LPs of the CertDNN networks have 10^6 - 10^7 columns (products) and
10^5 rows; an interior-point method on the whole LP fills in its KKT factor (width 40, sparsity
20: 283-488 s per network). Almost all multipliers are zero at the optimum, so we solve the LP
over a small, growing subset of the columns and prove at the end that the rest could not help.

Decision (and why not a smaller equivalent reformulation)
--------------------------------------------------------
We use delayed column generation over the *same* LP that :class:`~polylip.solve.lp.LPRelaxation`
builds (same products, same rows, same matrix), rather than a reformulation: it works for every
polytope, sparsity and anchor choice, and the bound it certifies is exactly the bound of the
direct LP (up to the pricing tolerance), which the tests check. The full coefficient-matching
matrix is still assembled (vectorized; 3.6 s and about 1 GB for width 80 sparsity 20 degree 4)
because pricing all candidates is then one sparse matrix-vector product ``M^T y``.

Measured outcome (``benchmarks/bench_lp_certdnn.py --strategy colgen``, 2 cores): correct (same
bounds as the direct LP to 1e-7) but not faster on the LiPopt-4 LPs (width 20, sparsity 16:
66 s against 22 s direct; width 40, sparsity 20: not converged in 600 s against 283-488 s), so
it is opt-in (``strategy="colgen"``), not the default: the masters are solved by an
interior-point method whose cost is the fill of
``M_J D M_J^T``, and an optimal basis touches almost every row, so the master's per-clique
blocks are as dense as the full LP's. A smaller *equivalent* reformulation was looked for and
not found: with the anchored products of LiPopt the certificate splits per hidden unit j into
``B_j`` and ``B_j - g_j`` both in the cone of sums of non-negative (k-1)-juntas of the receptive
field (``theta = sum_j B_j``), and that cone has no known compact description (its dual is the
Sherali-Adams local-consistency polytope).

The LP, in the backends' form: ``minimize -theta  s.t.  theta e_0 + M lambda = f, lambda >= 0``.

Algorithm
---------
1. *Restricted master* over the columns ``J`` (initially empty), the rows that the columns of
   ``J`` or ``f`` touch, and a pair of artificial columns ``+-e_r`` of cost ``BIG`` on every row
   with ``f_r != 0`` (except the constant row, which has the free ``theta``). With the
   artificials the master is always feasible and its duals ``|y_r| <= BIG`` are bounded.
2. *Pricing*: the duals ``y`` (linprog convention, ``-y`` is a pseudo-moment vector with
   ``-y_0 = 1``), extended by 0 on the rows absent from the master (those rows read ``0 = 0``
   in the master, so 0 is a valid dual value for them), give the reduced cost of every product
   at once: ``d = -M^T y``. The most negative ones (at most a batch that grows with the master)
   are added to ``J``.
3. Stop when ``min d >= -tol_price``. If then the artificials are zero, the master solution is
   feasible for the full LP, and (``theta``, ``lambda``) with the dual ``y`` is a primal-dual
   optimal pair of the full LP: primal feasible, dual feasible up to ``tol_price`` per column
   (the artificials' reduced costs ``BIG -+ y_r`` are >= 0 by construction), equal objectives.
   Artificials still positive at that point mean ``BIG`` was too small (or the LP is
   infeasible): ``BIG`` grows by 100 and the loop continues, at most :data:`MAX_BIG_RAISES`
   times.

Soundness
---------
A bound is reported only when the last master is "optimal", no column prices out beyond the
tolerance and the artificials are zero; in any other case (iteration or time limit, solver
failure, duals missing) the result has status "inaccurate" (or the solver's status) and no
bound. Independently of optimality, the reported bound goes through the same certificate check
as the direct path (:meth:`~polylip.solve.lp.LPRelaxation._result`): the residual of the
coefficient matching with the multipliers clipped at 0 is bounded on the polytope and
subtracted, so the bound is valid even when the pricing tolerance lets it be slightly weaker
than the direct LP's.
"""

from __future__ import annotations

import logging
import time

import numpy as np
import scipy.sparse as sp

from polylip.backends import registry
from polylip.backends.base import BackendSolution
from polylip.relax.krivine import LPProblem

log = logging.getLogger(__name__)

#: A column prices out when its reduced cost is below -PRICE_TOL * max(1, |theta|).
PRICE_TOL = 1e-8
#: An artificial value above ART_TOL * max(1, |f|_inf) counts as non-zero.
ART_TOL = 1e-9
#: Columns added per iteration: max(MIN_BATCH, GROWTH * current columns), the most negative first.
MIN_BATCH = 2_000
GROWTH = 1.0
MAX_ITERATIONS = 60
MAX_BIG_RAISES = 3
#: Artificial penalty, times the bound of the row's monomial on the bounding box.
PENALTY = 4.0


def _solve_master(lp, solver, tol, verbose, time_limit):
    return registry.solve_lp(lp, solver, tol=tol, verbose=verbose, time_limit=time_limit)


def solve_colgen(relaxation, solver: str = "auto", tol: float | None = None,
                 verbose: bool = False, time_limit: float | None = None,
                 max_iterations: int = MAX_ITERATIONS) -> BackendSolution:
    """Solve the relaxation's LP by delayed column generation.

    Returns a :class:`~polylip.backends.base.BackendSolution` in the full LP's form (``x`` of
    length 1 + nproducts, zero outside the final master; ``eq_duals`` over all rows), so the
    caller's certificate check applies unchanged. ``extra`` records the iterations, the final
    master size and the most negative reduced cost.
    """
    t0 = time.perf_counter()
    M = relaxation.matrix
    Mc = M.tocsc()
    MT = Mc.T  # a CSR view (no copy): pricing is MT @ y
    f = relaxation.target
    m, n = M.shape
    fscale = max(1.0, float(np.abs(f).max(initial=0.0)))
    # Penalty of the artificials on row r: PENALTY * (bound of |monomial r| on the polytope's
    # bounding box), a bound on |y_r| at an optimal dual when the products of each product's
    # factor set form a partition of unity (every box case). Exact penalty when large enough;
    # if not, the artificials stay positive at convergence and the penalty grows.
    P = relaxation.polytope
    mag = np.append(np.nan_to_num(np.maximum(np.abs(P.lower), np.abs(P.upper)), nan=0.0), 1.0)
    mono = relaxation.monomials
    weight = mag[mono].prod(axis=1) if mono.shape[1] else np.ones(m)
    weight = np.maximum(weight, 1e-3 * weight.max(initial=1.0))
    big = PENALTY
    in_master = np.zeros(n, dtype=bool)
    cols = np.zeros(0, dtype=np.int64)
    history = []
    raises = 0
    raw = None
    dmin = -np.inf
    solver_name = solver
    for it in range(1, max_iterations + 1):
        remaining = None if time_limit is None else time_limit - (time.perf_counter() - t0)
        if remaining is not None and remaining <= 0:
            return _fail("inaccurate", solver_name, t0, f"column generation: time limit after {it - 1} "
                         f"iterations (min reduced cost {dmin:.3g})", history)
        sub = Mc[:, cols]
        touched = np.zeros(m, dtype=bool)
        touched[sub.indices] = True
        touched[f != 0.0] = True
        touched[0] = True
        rows = np.flatnonzero(touched)
        art_rows = rows[1:]  # row 0 (the constant) has the free theta
        na = art_rows.size
        sub = sub[rows]
        pos = np.arange(1, rows.size)
        art = sp.csc_matrix((np.concatenate([np.ones(na), -np.ones(na)]),
                             (np.concatenate([pos, pos]), np.arange(2 * na))), shape=(rows.size, 2 * na))
        e0 = sp.csc_matrix((np.ones(1), (np.zeros(1, int), np.zeros(1, int))), shape=(rows.size, 1))
        A = sp.hstack([e0, sub, art], format="csr")
        pen = big * weight[art_rows]
        c = np.concatenate([[-1.0], np.zeros(cols.size), pen, pen])
        lp = LPProblem(A, f[rows].copy(), c)
        raw = _solve_master(lp, solver, tol, verbose, remaining)
        solver_name = raw.solver
        if raw.status != "optimal" or raw.x is None or raw.eq_duals is None:
            why = "no duals" if raw.status == "optimal" else raw.status
            return _fail("inaccurate" if raw.status == "optimal" else raw.status, solver_name, t0,
                         f"column generation: master LP {why} at iteration {it} ({raw.message or raw.raw_status})",
                         history)
        theta = float(raw.x[0])
        y = np.zeros(m)
        y[rows] = raw.eq_duals
        d = -(MT @ y)
        d[in_master] = np.inf  # already in: their reduced costs are >= 0 up to solver tolerance
        dmin = float(d.min(initial=np.inf))
        artval = float(raw.x[1 + cols.size:].max(initial=0.0))
        history.append(dict(iteration=it, columns=int(cols.size), rows=int(rows.size), theta=theta,
                            min_reduced_cost=dmin, artificial=artval, master_seconds=raw.seconds))
        log.info("colgen it %d: %d columns, %d rows, theta %.9g, min reduced cost %.3g, "
                 "artificial %.3g, master %.2f s", it, cols.size, rows.size, theta, dmin, artval, raw.seconds)
        ptol = PRICE_TOL * max(1.0, abs(theta))
        if dmin >= -ptol:
            if artval <= ART_TOL * fscale:
                x = np.zeros(n + 1)
                x[0] = theta
                x[1 + cols] = raw.x[1:1 + cols.size]
                return BackendSolution("optimal", solver_name, time.perf_counter() - t0,
                                       raw_status=(f"column generation converged in {it} iterations, "
                                                   f"{cols.size} of {n} columns: {raw.raw_status}"),
                                       value=-theta, x=x, eq_duals=y,
                                       extra=dict(colgen=history, master_columns=int(cols.size)))
            if raises >= MAX_BIG_RAISES:
                return _fail("inaccurate", solver_name, t0,
                             f"column generation: artificial variables stay at {artval:.3g} with "
                             f"penalty {big:.3g} (LP infeasible or badly scaled)", history)
            big *= 10.0
            raises += 1
            continue
        neg = np.flatnonzero(d < -ptol)
        batch = int(max(MIN_BATCH, GROWTH * cols.size))
        if neg.size > batch:
            neg = neg[np.argpartition(d[neg], batch)[:batch]]
        in_master[neg] = True
        cols = np.sort(np.concatenate([cols, neg]))
    return _fail("inaccurate", solver_name, t0, f"column generation: no convergence in "
                 f"{max_iterations} iterations (min reduced cost {dmin:.3g})", history)


def _fail(status, solver, t0, message, history) -> BackendSolution:
    log.warning(message)
    return BackendSolution(status, solver, time.perf_counter() - t0, raw_status=message,
                           message=message, extra=dict(colgen=history))

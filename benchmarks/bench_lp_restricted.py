"""Smaller LPs and other PDLP settings for LiPopt-4 (issue 15), measured against the direct PDLP
solve of benchmarks/bench_lp_pdlp.py. Run by hand; prints one markdown row per run.

Three experiments on the same POP and anchored cliques as bench_lp_pdlp.py (seed 0):

* ``--mode lifted``: a restricted master. The degree-3 LP is solved (Clarabel), its support is
  lifted to degree 4 (each product ``p`` with ``lambda_p > 0`` becomes ``p l + p (1 - l)`` for
  ``--lifts`` factors ``l`` of its clique, so the lifted point is feasible with the degree-3
  value), and the degree-4 LP restricted to those columns is solved (``--solver pdlp`` or
  ``clarabel``). Its certified bound is valid for the full degree-4 LP (the certificate check
  runs on the full LP with the other multipliers 0) but may be looser than the full LP's.
* ``--mode dual``: cuPDLP-C on the dual LP (``max b'y s.t. A'^T y <= c'``, theta eliminated
  as in polylip.backends.highspy_lp) instead of the primal.
* ``--mode options``: the direct LP with extra HiGHS options, e.g.
  ``--options '{"pdlp_scaling_mode": 1}'`` (with ``--method hipdlp`` for HiGHS's own PDLP).

Usage:
    python benchmarks/bench_lp_restricted.py --mode lifted --configs 40x20 80x20 --solver clarabel
    python benchmarks/bench_lp_restricted.py --mode dual --configs 20x16
    python benchmarks/bench_lp_restricted.py --mode options --configs 20x16 --options '{"pdlp_ruiz_iterations": 0}'
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_lp_certdnn import REF, lipopt_pop, published  # noqa: E402

from polylip.backends import highspy_lp, registry  # noqa: E402
from polylip.backends.base import BackendSolution  # noqa: E402
from polylip.relax.krivine import LPProblem  # noqa: E402
from polylip.solve.lp import LPRelaxation, LPSparsity  # noqa: E402


def relaxation(w, s, degree, seed=0):
    data = np.load(os.path.join(REF, "certdnn_nets", f"w{w}_s{s}.npz"))
    W, c = data["W"][seed], data["c"][seed]
    pop = lipopt_pop(W, c)
    cl = [[w + j] + np.flatnonzero(W[j]).tolist() for j in range(W.shape[0])]
    return LPRelaxation.build(pop, degree=degree, sparsity=LPSparsity.of(pop, cl, anchors=[w + j for j in range(w)]))


def lift(low, lam_low, high, lifts=1, seed=None):
    """Multipliers of ``high`` (degree k) equal, as a polynomial identity, to those of ``low``
    (degree k - 1): each parent ``p`` goes to ``p l + p (1 - l)`` for up to ``lifts`` factors
    ``l`` whose two products are in ``high``, its multiplier split evenly. The factors are the
    first ones found (``seed=None``: removing the lowest generator of a degree-k product first,
    which reuses few factors and keeps the master's rows few) or chosen at random (``seed``).
 Returns ``(lam_high, unlifted)``, ``unlifted`` the parents with lambda > 0
    that no factor lifts (then the lifted point is not feasible)."""
    P, Q = high.products.astype(np.int64), low.products.astype(np.int64)
    base = int(max(P.max(initial=0), Q.max(initial=0))) + 3

    def keys(rows):
        key = np.zeros(rows.shape[0], np.int64)
        for i in range(rows.shape[1]):
            key = key * base + (rows[:, i] + 1)
        return key

    kq = keys(Q)
    oq = np.argsort(kq)
    kqs = kq[oq]
    kp = keys(P)
    op = np.argsort(kp)
    kps = kp[op]
    child, sibling, parent = [], [], []
    for i in range(P.shape[1]):
        par = np.sort(np.delete(P, i, axis=1), axis=1)
        kpar = keys(par)
        pos = np.minimum(np.searchsorted(kqs, kpar), kqs.size - 1)
        ok = (kqs[pos] == kpar) & (P[:, i] >= 0) & (P[:, i] % 2 == 0)
        sib = P.copy()
        sib[:, i] ^= 1
        sib.sort(axis=1)
        ks = keys(sib)
        ps = np.minimum(np.searchsorted(kps, ks), kps.size - 1)
        ok &= kps[ps] == ks
        rows = np.flatnonzero(ok)
        child.append(rows)
        sibling.append(op[ps[rows]])
        parent.append(oq[pos[rows]])
    child, sibling, parent = (np.concatenate(a) for a in (child, sibling, parent))
    if seed is not None:
        perm = np.random.default_rng(seed).permutation(child.size)
        child, sibling, parent = child[perm], sibling[perm], parent[perm]
    order = np.argsort(parent, kind="stable")
    child, sibling, parent = child[order], sibling[order], parent[order]
    rank = np.arange(parent.size) - np.searchsorted(parent, parent)
    count = np.minimum(np.bincount(parent, minlength=Q.shape[0]), lifts)
    take = rank < lifts
    child, sibling, parent = child[take], sibling[take], parent[take]
    lam_low = np.maximum(np.asarray(lam_low, dtype=float), 0.0)
    share = lam_low[parent] / count[parent]
    lam = np.zeros(P.shape[0])
    np.add.at(lam, child, share)
    np.add.at(lam, sibling, share)
    unlifted = int(np.count_nonzero((lam_low > 0) & (count == 0)))
    return lam, unlifted


def run_lifted(w, s, solver, lifts, tol, seed=None):
    c0, t0 = time.process_time(), time.perf_counter()
    R3 = relaxation(w, s, 3)
    raw3 = registry.solve_lp(R3.to_lp(), "clarabel")
    R = relaxation(w, s, 4)
    lam, unlifted = lift(R3, raw3.x[1:], R, lifts, seed)
    pre = time.process_time() - c0
    M = R.matrix.tocsc()
    f = R.target
    cols = np.flatnonzero(lam > 0)
    sub = M[:, cols]
    touched = np.zeros(M.shape[0], bool)
    touched[sub.indices] = True
    touched[0] = True
    touched[f != 0] = True
    rows = np.flatnonzero(touched)
    e0 = sp.csc_matrix((np.ones(1), (np.zeros(1, int), np.zeros(1, int))), shape=(rows.size, 1))
    A = sp.hstack([e0, sub[rows]], format="csr")
    c = np.zeros(A.shape[1])
    c[0] = -1.0
    c1 = time.process_time()
    if solver in registry.FIRST_ORDER_LP_SOLVERS:
        raw = highspy_lp.solve_lp(LPProblem(A, f[rows].copy(), c), tol=tol, max_iters=20_000, method=solver)
    else:
        raw = registry.solve_lp(LPProblem(A, f[rows].copy(), c), solver, tol=tol)
    master = time.process_time() - c1
    x = np.zeros(R.nproducts + 1)
    x[0] = raw.x[0]
    x[1 + cols] = raw.x[1:]
    cert = R.certify(float(x[0]), x[1:])
    return dict(bound=-cert["bound"], numerical=-float(x[0]), raw=raw.raw_status, cpu=time.process_time() - c0,
                wall=time.perf_counter() - t0, master_cpu=master, pre_cpu=pre,
                what=f"{cols.size:,} of {R.nproducts:,} columns, {rows.size:,} of {M.shape[0]:,} rows, "
                     f"{A.nnz:,} nnz; unlifted {unlifted}; degree 3 {-raw3.x[0]:.7f}")


def _highs(lp_arrays, method, tol, options):
    import highspy
    ncol, nrow, cost, clo, cup, rlo, rup, Acsc = lp_arrays
    L = highspy.HighsLp()
    L.num_col_, L.num_row_ = ncol, nrow
    L.col_cost_, L.col_lower_, L.col_upper_ = cost, clo, cup
    L.row_lower_, L.row_upper_ = rlo, rup
    L.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    L.a_matrix_.num_col_, L.a_matrix_.num_row_ = ncol, nrow
    L.a_matrix_.start_, L.a_matrix_.index_, L.a_matrix_.value_ = Acsc.indptr, Acsc.indices, Acsc.data
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.passModel(L)
    for k, v in dict(solver=highspy_lp.METHODS[method], presolve="off", kkt_tolerance=tol,
                     pdlp_optimality_tolerance=tol, pdlp_iteration_limit=100_000, **options).items():
        if h.setOptionValue(k, v) != highspy.HighsStatus.kOk:
            raise ValueError(f"HiGHS refused option {k}={v!r}")
    h.run()
    return h


def run_direct(w, s, method, tol, options, dual):
    import highspy
    inf = highspy.kHighsInf
    c0, t0 = time.process_time(), time.perf_counter()
    R = relaxation(w, s, 4)
    lp = R.to_lp()
    Ar, br, cr, offset, r0, a0, row0 = highspy_lp._eliminate_free(lp)
    m, n = Ar.shape
    if dual:
        arrays = (m, n, -br, np.full(m, -inf), np.full(m, inf), np.full(n, -inf), cr, Ar.T.tocsc())
    else:
        arrays = (n, m, cr, np.zeros(n), np.full(n, inf), br, br, Ar)
    h = _highs(arrays, method, tol, options)
    sol = h.getSolution()
    z = -np.asarray(sol.row_dual) if dual else np.asarray(sol.col_value)
    z = np.maximum(z, 0.0)
    x = np.concatenate([[(float(lp.b[r0]) - float(row0 @ z)) / a0], z])
    res = R._result(lp, BackendSolution("optimal", "pdlp", 0.0, x=x, value=float(lp.c @ x), tolerance=tol))
    iters = h.getInfo().pdlp_iteration_count
    return dict(bound=res.bound, numerical=res.numerical_bound, cpu=time.process_time() - c0,
                wall=time.perf_counter() - t0, raw=f"{h.modelStatusToString(h.getModelStatus())} after {iters} iterations",
                what=("dual LP" if dual else "primal LP") + (f" {options}" if options else "") + f", {method}")


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=["lifted", "dual", "options"], default="lifted")
    ap.add_argument("--configs", nargs="+", default=["40x20"])
    ap.add_argument("--solver", default="clarabel", help="lifted: solver of the restricted master")
    ap.add_argument("--lifts", type=int, default=1, help="lifted: factors per degree-3 product")
    ap.add_argument("--random-lifts", type=int, default=None, metavar="SEED",
                    help="lifted: choose the factors at random (default: the first found)")
    ap.add_argument("--method", default="pdlp", help="dual/options: pdlp (cuPDLP-C) or hipdlp")
    ap.add_argument("--options", default="{}", help="options: extra HiGHS options as JSON")
    ap.add_argument("--tol", type=float, default=1e-6)
    args = ap.parse_args(argv)
    pub = published("LiPopt-4")
    print(f"<!-- load before: {os.getloadavg()} -->")
    print("| LP | mode | what | solver says | certified | diff | cpu s | wall s |")
    print("|---|---|---|---|---|---|---|---|")
    for cfg in args.configs:
        w, s = (int(v) for v in cfg.split("x"))
        if args.mode == "lifted":
            r = run_lifted(w, s, args.solver, args.lifts, args.tol, args.random_lifts)
            r["what"] += f"; master {args.solver} {r['master_cpu']:.1f} cpu s"
        else:
            r = run_direct(w, s, args.method, args.tol, json.loads(args.options), args.mode == "dual")
        pb = pub.get((w, s, 0), (float("nan"),))[0]
        print(f"| {w}x{s} deg 4 | {args.mode} | {r['what']} | {r['raw']} | {r['bound']:.7f} | "
              f"{r['bound'] - pb:+.1e} | {r['cpu']:.1f} | {r['wall']:.1f} |", flush=True)
        print(f"<!-- load: {os.getloadavg()} -->", flush=True)


if __name__ == "__main__":
    main()

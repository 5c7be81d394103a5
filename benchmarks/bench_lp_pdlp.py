"""LiPopt-k by PDLP: polylip's Krivine/Handelman LP of degree 3 and 4 on the CertDNN networks,
solved by the first-order backend (polylip.backends.highspy_lp) behind the certificate check,
against the published LiPopt-3 / LiPopt-4 bounds (Chen et al. 2020, raw data of Fig. 1).

Same POP and cliques as benchmarks/bench_lp_certdnn.py (t spin, s binary, receptive-field
cliques anchored on s_j: LiPopt's product family). Each network runs in its own forked process
so that "peak GB" is that network's peak resident memory (ru_maxrss: build + solve + check).
Run by hand, one benchmark at a time (2 shared cores); every run is capped by --time-limit.

Usage:
    python benchmarks/bench_lp_pdlp.py --configs 80x20 --degrees 4 --seeds 0
    python benchmarks/bench_lp_pdlp.py --configs 40x10 40x20 40x30 80x10 80x20 80x30 --degrees 3 4 --seeds 0
    python benchmarks/bench_lp_pdlp.py --configs 80x20 --degrees 4 --seeds 0 --method hipdlp --tol 1e-5
    python benchmarks/bench_lp_pdlp.py --configs 40x10 80x10 --degrees 3 4 --method auto   # the registry's choice
    python benchmarks/bench_lp_pdlp.py --rule 40x20:3 40x30:3 80x20:3 20x16:4 80x10:4  # Clarabel vs PDLP
    python benchmarks/bench_lp_pdlp.py --micro 80x20:4 --repeats 5   # pdhg per-iteration: threads, float32
    python benchmarks/bench_lp_pdlp.py --trace 80x20:4 --seeds 8 --certify   # per-check trace, bounds
    python benchmarks/bench_lp_pdlp.py --trace 40x20:4 --seeds 0-5 --weight pid   # primal weight rule

The machine is shared: "solve s" is wall-clock, with the process's CPU seconds beside it
(a loaded machine stretches the first, much less the second). Prints one markdown row per network: "certified" is the bound polylip reports (valid whatever
PDLP's accuracy), "numerical" PDLP's own objective, "diff" certified minus published (a
positive value: polylip is looser; the target is <= 1e-4).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_lp_certdnn import REF, lipopt_pop, published  # noqa: E402

from polylip.backends import highspy_lp, registry  # noqa: E402
from polylip.relax.krivine import estimate_peak_bytes  # noqa: E402
from polylip.solve.lp import LPRelaxation, LPSparsity  # noqa: E402


def run_one(w, s, seed, degree, method, tol, time_limit, queue):
    try:
        data = np.load(os.path.join(REF, "certdnn_nets", f"w{w}_s{s}.npz"))
        W, c = data["W"][seed], data["c"][seed]
        pop = lipopt_pop(W, c)
        cl = [[w + j] + np.flatnonzero(W[j]).tolist() for j in range(W.shape[0])]
        spars = LPSparsity.of(pop, cl, anchors=[w + j for j in range(W.shape[0])])
        t0 = time.perf_counter()
        c0 = time.process_time()
        R = LPRelaxation.build(pop, degree=degree, sparsity=spars)
        build = time.perf_counter() - t0
        est = estimate_peak_bytes(R.matrix.shape[0], R.matrix.shape[1] + 1, R.matrix.nnz)
        t1 = time.perf_counter()
        lp = R.to_lp()
        raw = registry.solve_lp(lp, method, tol=tol, time_limit=time_limit, cliques=len(spars.cliques))
        t2 = time.perf_counter()
        res = R._result(lp, raw)
        check = time.perf_counter() - t2
        queue.put(dict(status=res.status, bound=res.bound, numerical=getattr(res, "numerical_bound", None),
                       accuracy=res.accuracy, build=build, solve=t2 - t1, model=raw.extra.get("model_seconds"),
                       check=check, cpu=time.process_time() - c0, total=time.perf_counter() - t0,
                       iters=raw.extra.get("iterations"), sizes=R.sizes, estimate=est, solver=raw.solver,
                       peak=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6))
    except Exception as exc:  # report, do not hang the parent
        queue.put(dict(error=f"{type(exc).__name__}: {exc}"))


def rule(specs):
    """Clarabel against PDLP (CPU seconds of LPRelaxation.solve, seed 0) on LPs given as
    WxS:DEGREE, with the registry's "auto" choice beside them: the measurements behind
    polylip.backends.registry.AUTO_PDLP_MIN_NNZ / AUTO_PDLP_MIN_ROWS_PER_CLIQUE."""
    print("| LP | non-zeros | rows/clique | auto | Clarabel cpu s | PDLP cpu s (iters) | bounds apart |")
    print("|---|---|---|---|---|---|---|")
    for spec in specs:
        cfg, _, d = spec.partition(":")
        w, s = (int(v) for v in cfg.split("x"))
        data = np.load(os.path.join(REF, "certdnn_nets", f"w{w}_s{s}.npz"))
        W, c = data["W"][0], data["c"][0]
        pop = lipopt_pop(W, c)
        cl = [[w + j] + np.flatnonzero(W[j]).tolist() for j in range(W.shape[0])]
        R = LPRelaxation.build(pop, degree=int(d), sparsity=LPSparsity.of(pop, cl, anchors=[w + j for j in range(w)]))
        out = {}
        for solver in ("clarabel", "pdlp"):
            c0 = time.process_time()
            res = R.solve(solver=solver)
            out[solver] = (time.process_time() - c0, res)
        msg = out["pdlp"][1].message
        iters = msg.split("after ")[1].split(" ")[0] if "after " in msg else "?"
        print(f"| {w}x{s} deg {d} | {R.matrix.nnz:,} | {R.matrix.shape[0] / len(R.sparsity.cliques):.0f} | "
              f"{R.choose_solver('auto')} | {out['clarabel'][0]:.1f} | {out['pdlp'][0]:.1f} ({iters}) | "
              f"{abs(out['clarabel'][1].bound - out['pdlp'][1].bound):.1e} |", flush=True)
    print(f"<!-- load: {os.getloadavg()} -->")


def micro(specs, repeats, iters):
    """Per-iteration microbenchmark of polylip's PDLP (polylip.backends.pdhg_lp) on the reduced
    LiPopt LPs given as WxS:DEGREE: the bare products (one ``A x`` and one ``A^T y``) and whole
    iterations (no restart check inside), 1 and 2 threads, float64 and float32, with the
    explicit matrix and with the per-clique templates (polylip.backends.pdhg_blocks); best and median
    of ``repeats`` runs of ``iters`` iterations, wall-clock and the process's CPU ms."""
    from concurrent.futures import ThreadPoolExecutor

    from polylip.backends import pdhg_blocks, pdhg_lp

    print("| LP | what | precision | threads | best ms wall (cpu) | median ms wall | load |")
    print("|---|---|---|---|---|---|---|")
    for spec in specs:
        cfg, _, d = spec.partition(":")
        w, s = (int(v) for v in cfg.split("x"))
        data = np.load(os.path.join(REF, "certdnn_nets", f"w{w}_s{s}.npz"))
        W, c = data["W"][0], data["c"][0]
        pop = lipopt_pop(W, c)
        cl = [[w + j] + np.flatnonzero(W[j]).tolist() for j in range(W.shape[0])]
        R = LPRelaxation.build(pop, degree=int(d), sparsity=LPSparsity.of(pop, cl, anchors=[w + j for j in range(w)]))
        lp = R.to_lp()
        A, b, cc = highspy_lp._eliminate_free(lp)[:3]
        A = A.tocsr()
        blocks = lp.column_blocks[1:]
        del R, lp
        pat = pdhg_lp._Pattern(A)
        tm, rest = pdhg_blocks.find_templates(A, blocks)
        order = pdhg_blocks.column_order(tm, rest)
        m, n = A.shape
        rng = np.random.default_rng(0)
        x, y = rng.random(n), rng.random(m)
        for prec, dt in (("double", np.float64), ("single", np.float32)):
            for threads in (1, 2):
                for kind in ("explicit", "template"):
                    rows = {}
                    with pdhg_lp._one_blas_thread():
                        if kind == "explicit":
                            P = pdhg_lp._Products(pat, pat.data, threads, dt)
                        else:
                            pool = ThreadPoolExecutor(threads) if threads > 1 else None
                            rest_csc = A[:, order[n - rest.size:]].tocsc() if rest.size else None
                            P = pdhg_blocks.TemplateProducts(tm, m, n, np.ones(m), np.ones(n), rest_csc, pool,
                                                             threads, dt)
                        ax, aty = np.empty(m), np.empty(n)
                        res = []
                        for _ in range(repeats):
                            t, cpu = time.perf_counter(), time.process_time()
                            for _ in range(iters):
                                P.Ax(x, ax)
                                P.ATy(y, aty)
                            res.append((time.perf_counter() - t, time.process_time() - cpu))
                        P.close()
                    rows["A x + A^T y"] = res
                    res = []
                    for _ in range(repeats):
                        out = pdhg_lp.pdhg(A, b, cc, tol=1e-12, threads=threads, precision=prec,
                                           max_iters=iters, check_every=10**9,
                                           blocks=blocks if kind == "template" else None)
                        res.append((out["loop_seconds"], out["loop_cpu_seconds"]))
                    rows["iteration"] = res
                    for what, res in rows.items():
                        res.sort()
                        k = 1e3 / iters
                        print(f"| {cfg} deg {d} | {what}, {kind} | {prec} | {threads} | {res[0][0] * k:.1f} "
                              f"({res[0][1] * k:.1f}) | {res[len(res) // 2][0] * k:.1f} | {os.getloadavg()[0]:.1f} |",
                              flush=True)


def trace(spec, seeds, weight, certify, tol):
    """The run of polylip's PDLP ("pdhg-single", templates on) on the LiPopt LP WxS:DEGREE of
    each seed, one line per check: the relative residuals of the current and average point,
    the primal weight, and with ``certify`` the certified bound of both points minus the
    published value (the certificate check at every check: slow). Then the iterations."""
    import json

    from polylip.backends import pdhg_lp

    cfg, _, d = spec.partition(":")
    w, s = (int(v) for v in cfg.split("x"))
    data = np.load(os.path.join(REF, "certdnn_nets", f"w{w}_s{s}.npz"))
    pub = published(f"LiPopt-{d}")
    for seed in seeds:
        W, c = data["W"][seed], data["c"][seed]
        pop = lipopt_pop(W, c)
        cl = [[w + j] + np.flatnonzero(W[j]).tolist() for j in range(W.shape[0])]
        R = LPRelaxation.build(pop, degree=int(d), sparsity=LPSparsity.of(pop, cl, anchors=[w + j for j in range(w)]))
        lp = R.to_lp()
        A, b, cc, _, r0, a0, row0 = highspy_lp._eliminate_free(lp)
        pb = pub.get((w, s, seed), (float("nan"),))[0]

        def bound(xr):
            z0 = (float(lp.b[r0]) - float(row0 @ xr)) / a0
            return -R.certify(z0, xr)["bound"] - pb

        def mon(info):
            line = (f"{cfg} seed {seed} it {info['it']:5d} restarts {info['restarts']:3d} omega {info['omega']:.3g} "
                    f"current {' '.join('%.1e' % v for v in info['cur_rel'])} "
                    f"average {' '.join('%.1e' % v for v in info['avg_rel'])}")
            if certify:
                for name in ("cur", "avg"):
                    if info[name] is not None:
                        line += f" | {name} certified {bound(info['to_orig'](*info[name])[0]):+.2e}"
            print(line, flush=True)

        c0 = time.process_time()
        out = pdhg_lp.pdhg(A.tocsr(), b, cc, tol=tol or pdhg_lp.DEFAULT_TOL, precision="single",
                           weight=weight, blocks=lp.column_blocks[1:], monitor=mon)
        print(json.dumps(dict(config=cfg, seed=seed, weight=weight, iterations=out["iterations"],
                              status=out["status"], certified_minus_published=bound(out["x"]),
                              cpu=time.process_time() - c0, load=os.getloadavg()[0])), flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--configs", nargs="+", default=["80x20"])
    ap.add_argument("--degrees", nargs="+", type=int, default=[4])
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--method", default="pdlp", help="an LP solver name of the registry: pdlp, hipdlp, auto, "
                    "clarabel, ...")
    ap.add_argument("--tol", type=float, default=None, help=f"default {highspy_lp.DEFAULT_TOL}")
    ap.add_argument("--time-limit", type=float, default=900.0, help="seconds per network (solver)")
    ap.add_argument("--rule", nargs="+", metavar="WxS:DEGREE", help="compare Clarabel and PDLP instead")
    ap.add_argument("--micro", nargs="+", metavar="WxS:DEGREE", help="pdhg per-iteration microbenchmark instead")
    ap.add_argument("--trace", metavar="WxS:DEGREE", help="per-check trace of pdhg-single instead")
    ap.add_argument("--weight", default="smooth", help="with --trace: primal weight rule, smooth or pid")
    ap.add_argument("--certify", action="store_true", help="with --trace: certified bound at every check")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--iters", type=int, default=10)
    args = ap.parse_args(argv)
    if args.rule:
        return rule(args.rule)
    if args.micro:
        return micro(args.micro, args.repeats, args.iters)
    a, _, b = args.seeds.partition("-")
    seeds = range(int(a), int(b or a) + 1)
    if args.trace:
        return trace(args.trace, seeds, args.weight, args.certify, args.tol)
    print(f"<!-- load before: {os.getloadavg()}; solver {args.method}, tol {args.tol or 'default'} -->")
    print("| width | sparsity | degree | seed | products | rows | non-zeros | solver | build s | solve s | check s | "
          "total s (cpu) | iters | status | certified | numerical | published | diff | published s | peak GB | est. GB |")
    print("|" + "---|" * 21)
    ctx = mp.get_context("fork")
    for degree in args.degrees:
        pub = published(f"LiPopt-{degree}")
        for cfg in args.configs:
            w, s = (int(v) for v in cfg.split("x"))
            for seed in seeds:
                q = ctx.Queue()
                p = ctx.Process(target=run_one, args=(w, s, seed, degree, args.method, args.tol,
                                                      args.time_limit, q))
                p.start()
                r = q.get()
                p.join()
                pb, ps = pub.get((w, s, seed), (float("nan"), float("nan")))
                if "error" in r:
                    print(f"| {w} | {s} | {degree} | {seed} | | | | | | | | | | error: {r['error']} | | | {pb:.6f} | | | | |", flush=True)
                    continue
                z = r["sizes"]
                bound = r["bound"]
                num = "-" if r["numerical"] is None else f"{r['numerical']:.7f}"
                cert = "-" if bound is None else f"{bound:.7f}"
                diff = f"{bound - pb:+.1e}" if bound is not None else "-"
                print(f"| {w} | {s} | {degree} | {seed} | {z['products']:,} | {z['rows']:,} | {z['nnz']:,} | "
                      f"{r['solver']} | {r['build']:.1f} | {r['solve']:.1f} | {r['check']:.1f} | "
                      f"{r['total']:.1f} ({r['cpu']:.1f}) | {r['iters'] or '-'} | {r['status']} | "
                      f"{cert} | {num} | {pb:.7f} | {diff} | {ps:.1f} | "
                      f"{r['peak']:.2f} | {r['estimate'] / 1e9:.2f} |", flush=True)
                print(f"<!-- load: {os.getloadavg()} -->", flush=True)
    print(f"<!-- load after: {os.getloadavg()} -->")


if __name__ == "__main__":
    main()

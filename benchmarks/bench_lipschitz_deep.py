"""Lipschitz bounds of deeper random ReLU networks (2 and 3 hidden layers) per method (issue 6).

    python benchmarks/bench_lipschitz_deep.py --table [--depths 2 3] [--widths 10 20 30 40 50] \
        [--cap 60] [--methods product dp shor sdp2 lp lipsdp exact auto]
    python benchmarks/bench_lipschitz_deep.py --ladder --cap 600 [--methods lp sdp2] \
        [--depths 2 3] [--widths 10 20 30 40 50 60 80 100] [--norms inf 2]

Networks (fixed, reproducible): ``deep_net(depth, width)`` draws from
``numpy.random.default_rng(1000 * depth + width)`` a scalar-output ReLU network with input
dimension = width and ``depth`` hidden layers of ``width`` neurons: He-scaled Gaussian weights
``W_k ~ N(0, 2 / fan_in)`` (output row too), biases ``b_k ~ N(0, 0.5^2)`` on the hidden layers,
no output bias. The local region is the box (``BoxRegion``) of radius 0.1 around the point
``x0 ~ N(0, I)`` drawn from the same generator after the weights.

Methods (column -> ``lipschitz`` method and options):

* ``product``: "product"; ``interval``: "interval" (interval Jacobian); ``dp``: "dp" (exact formal constant by elimination, refuses above its
  table budget: ``too_large``); ``shor``: "shor" (order-1 SDP; lifted formulation when deep);
* ``sdp2``: "sdp" at order 2 with the network's cliques (``sparsity="network"``);
* ``lp``: "lp" (LiPopt-k) of degree k = max(3, depth + 1): 3 at depth 2, 4 at depth 3 (degree 3
  cannot produce the degree-4 monomials of a 3-hidden-layer objective); l_inf only;
* ``lipsdp``: "lipsdp" (l_2 only); ``exact``: "exact" (enumeration; refuses above 22 unstable
  neurons); ``milp``: "milp" (formal constant by branch and bound, l_inf; its own time limit
  is 0.9 times the cap, after which HiGHS's dual bound is the bound); ``auto``: "auto" with its default budget (60 s) and the lower-bound search, as a
  user calls it (it stops itself at the budget, see below);
* ``lower``: ``lower_bound(net, norm, region)`` (default options).

Every (network, norm, region, method) runs in a forked worker (``call_with_deadline`` of
``polylip.runtime``) with a hard cap (``--cap``, seconds) and a memory cap (``--memory`` GB
beyond the parent's mapping); a run over the cap prints ``timeout (cap s)`` and no number. Other
statuses: ``too_large`` / ``unreachable`` / ``failed`` / ... (the method's own status, or its
``ExactTooLargeError``; no bound), ``refused (memory)`` (the solver backend's own memory
estimate exceeds what it allows), ``out of memory`` (``MemoryError`` under the worker's memory
cap), ``error`` (another exception); the message is printed as an HTML comment; ``n/a`` (norm
not supported, reason printed once), ``died`` (the worker ended without an answer, e.g. a
solver aborting the process). In ``--table`` mode a method that timed out, ran out of memory,
was refused or died at some width is not run on larger widths of the same depth, norm and region
(``skip (timeout at w)``; ``--no-skip`` runs them). Method "auto" runs in this process (it
forks its own workers, stopped at its budget, and a daemonic worker may not fork): its time is
the whole call's (lower-bound search included), and a call longer than budget + 30 s would
count as a timeout; its cell also names the step that gave the bound. Cells are
"bound (seconds)"; seconds are the worker's wall time (fork included). An upper bound below the lower bound (beyond 1e-7 relative) is marked ``!!`` and listed at the
end: it must never happen.

``--ladder``: per method, depth and norm (global region), widths upward until the first run
that fails or exceeds the cap; prints the largest width handled within the cap and its time.
"""

from __future__ import annotations

import argparse
import math
import os
import time

import numpy as np

from polylip.nn import BoxRegion, Network, lipschitz, lower_bound
from polylip.runtime import call_with_deadline
from polylip.nn.estimate import method_names

#: column -> (lipschitz method, options, input norms it supports, why not the others)
METHODS = {
    "product": ("product", {}, ("inf", "2"), ""),
    "interval": ("interval", {}, ("inf", "2"), ""),
    "dp": ("dp", {}, ("inf", "2"), ""),
    "shor": ("shor", {}, ("inf", "2"), ""),
    "sdp2": ("sdp", {"order": 2, "sparsity": "network"}, ("inf", "2"), ""),
    "lp": ("lp", {}, ("inf",), "the Krivine/Handelman LP (LiPopt) is an l_inf method"),
    "lipsdp": ("lipsdp", {}, ("2",), "LipSDP-Neuron bounds the l_2 constant only"),
    "exact": ("exact", {}, ("inf", "2"), ""),
    "milp": ("milp", {}, ("inf",), "a MILP covers the l_inf and l_1 input norms only"),
    "auto": ("auto", {}, ("inf", "2"), ""),
}
AUTO_GRACE = 30.0
T0 = time.perf_counter()
#: statuses after which --table does not run the method on larger widths (same depth/norm/region)
STOPPERS = {"timeout": "timeout", "out of memory": "out of memory",
            "refused (memory)": "refused", "died": "died"}
RADIUS = 0.1


def deep_net(depth: int, width: int):
    """The benchmark network (``depth`` hidden layers of ``width``) and its local center."""
    rng = np.random.default_rng(1000 * depth + width)
    weights, biases = [], []
    fan_in = width
    for _ in range(depth):
        weights.append(rng.normal(0.0, math.sqrt(2.0 / fan_in), (width, fan_in)))
        biases.append(rng.normal(0.0, 0.5, width))
        fan_in = width
    weights.append(rng.normal(0.0, math.sqrt(2.0 / fan_in), (1, fan_in)))
    biases.append(None)
    x0 = rng.normal(0.0, 1.0, width)
    return Network.from_weights(weights, biases), x0


def lp_degree(depth: int) -> int:
    return max(3, depth + 1)


def method_options(col: str, depth: int, cap: float) -> tuple[str, dict]:
    meth, opt = METHODS[col][:2]
    opt = dict(opt)
    if col == "lp":
        opt["degree"] = lp_degree(depth)
    if col == "milp":
        opt["time_limit"] = 0.9 * cap  # stop before the cap: the dual bound is returned
    return meth, opt


def col_label(col: str, depth: int) -> str:
    return f"lp{lp_degree(depth)}" if col == "lp" else col


def run_one(net, norm, region, col, depth, cap, memory):
    """One capped run: dict(status, upper, seconds, message)."""
    if col == "lower":
        fn = (lambda: ("ok", float(lower_bound(net, norm, region).value), ""))
    else:
        meth, opt = method_options(col, depth, cap)

        def fn():
            r = lipschitz(net, norm, method=meth, region=region, options=opt,
                          lower=(col == "auto"))
            extra = r.details.get("best_method", "") if col == "auto" else ""
            if col == "auto":
                extra += f"; lower {r.lower:.5g}" if r.lower is not None else ""
            msg = r.details.get("message", r.details.get("skipped", ""))
            return (r.status, r.upper, f"{extra}|{msg}")
    run_cap = cap + AUTO_GRACE if col == "auto" else cap
    if col == "auto":
        # "auto" forks its own workers and stops them at its budget: it runs in this process
        # (a daemonic worker may not fork), and a run past budget + grace counts as a timeout.
        t0 = time.perf_counter()
        try:
            status, upper, msg = fn()
        except Exception as exc:  # noqa: BLE001 - a benchmark records failures
            return {"status": "error", "upper": None, "seconds": time.perf_counter() - t0,
                    "message": f"{type(exc).__name__}: {exc}"[:200]}
        dt = time.perf_counter() - t0
        if dt > run_cap:
            return {"status": "timeout", "upper": None, "seconds": dt, "message": msg,
                    "cap": run_cap}
        return {"status": status, "upper": upper, "seconds": dt, "message": msg}
    out = call_with_deadline(fn, run_cap, memory=memory)
    if out.status == "time_limit":
        return {"status": "timeout", "upper": None, "seconds": out.seconds, "message": "",
                "cap": run_cap}
    if out.status in ("error", "died"):
        text = out.message.replace("\n", " ")
        kind = "error"
        if "ExactTooLargeError" in text:
            kind = "too_large"
        elif "would need about" in text:
            kind = "refused (memory)"
        elif "MemoryError" in text or "ArrayMemoryError" in text:
            kind = "out of memory"
        elif out.status == "died":
            kind = "died"
        return {"status": kind, "upper": None, "seconds": out.seconds, "message": text[:200]}
    status, upper, msg = out.value
    return {"status": status, "upper": upper, "seconds": out.seconds, "message": msg}


def cell(res) -> str:
    if res["status"] == "timeout":
        return f"timeout ({res['cap']:g} s)"
    if res["upper"] is not None:
        return f"{res['upper']:.5g} ({res['seconds']:.1f})"
    return f"{res['status']} ({res['seconds']:.1f})"


def regions(net, x0, which):
    out = []
    if "global" in which:
        out.append(("global", None))
    if "box" in which:
        out.append((f"box {RADIUS:g}", BoxRegion(x0, RADIUS)))
    return out


def table(args, memory):
    violations = []
    for depth in args.depths:
        cols = [c for c in args.methods]
        print(f"\n### Depth {depth} (hidden layers of equal width; input dimension = width)\n")
        print(f"<!-- load before: {os.getloadavg()} -->")
        print("| network | norm | region | " + " | ".join(col_label(c, depth) for c in cols)
              + " | lower |")
        print("|---|---|---|" + "---|" * (len(cols) + 1), flush=True)
        timed_out = {}
        said_na = set()
        for width in args.widths:
            net, x0 = deep_net(depth, width)
            for norm in args.norms:
                for label, region in regions(net, x0, args.regions):
                    lo = run_one(net, norm, region, "lower", depth, args.cap, memory)
                    cells = []
                    for c in cols:
                        if norm not in METHODS[c][2]:
                            if c not in said_na:
                                print(f"<!-- {col_label(c, depth)}: not run for l_{norm}: "
                                      f"{METHODS[c][3]} -->")
                                said_na.add(c)
                            cells.append("n/a")
                            continue
                        key = (c, norm, label)
                        if key in timed_out and not args.no_skip:
                            cells.append(f"skip ({timed_out[key]})")
                            continue
                        res = run_one(net, norm, region, c, depth, args.cap, memory)
                        if res["status"] in STOPPERS:
                            timed_out[key] = f"{STOPPERS[res['status']]} at {width}"
                        txt = cell(res)
                        if (res["upper"] is not None and lo["upper"] is not None
                                and res["upper"] < lo["upper"] - 1e-7 * max(1.0, lo["upper"])):
                            txt = "!! " + txt
                            violations.append((depth, width, norm, label, c, res["upper"],
                                               lo["upper"]))
                        if c == "auto" and res["upper"] is not None:
                            best = res["message"].split("|")[0].split(";")[0]
                            txt = txt[:-1] + f", {best})"
                        msg = res["message"].split("|")[-1] if res["message"] else ""
                        if msg and res["upper"] is None:
                            print(f"<!-- {depth}x{width} l_{norm} {label} {c}: {res['status']}: "
                                  f"{msg[:160]} -->")
                        cells.append(txt)
                    print(f"| {depth}x{width} | {norm} | {label} | " + " | ".join(cells)
                          + f" | {cell(lo)} |", flush=True)
        print(f"<!-- load after: {os.getloadavg()} -->")
    if violations:
        print("\n**UPPER BELOW LOWER** (depth, width, norm, region, method, upper, lower):")
        for v in violations:
            print(f"- {v}")
    else:
        print("\nNo upper bound below its lower bound.")


def ladder(args, memory):
    print(f"<!-- load before: {os.getloadavg()} -->")
    print("| method | norm | depth | widths run: bound (s) | largest width within the cap (s) |")
    print("|---|---|---|---|---|", flush=True)
    for col in args.methods:
        for norm in args.norms:
            if norm not in METHODS[col][2]:
                continue
            for depth in args.depths:
                runs, best = [], None
                for width in args.widths:
                    if args.total and time.perf_counter() - T0 > args.total:
                        runs.append(f"{width}: not run (--total {args.total:g} s spent)")
                        break
                    net, _ = deep_net(depth, width)
                    res = run_one(net, norm, None, col, depth, args.cap, memory)
                    runs.append(f"{width}: {cell(res)}")
                    if res["upper"] is None:
                        msg = res["message"].split("|")[-1] if res["message"] else ""
                        if msg:
                            print(f"<!-- {col} l_{norm} {depth}x{width}: {res['status']}: "
                                  f"{msg[:160]} -->")
                        break
                    best = (width, res["seconds"])
                top = "none" if best is None else f"{depth}x{best[0]} ({best[1]:.1f})"
                if best is not None and best[0] == args.widths[-1]:
                    top += " (largest tried)"
                print(f"| {col_label(col, depth)} | {norm} | {depth} | {'; '.join(runs)} | "
                      f"{top} |", flush=True)
    print(f"<!-- load after: {os.getloadavg()} -->")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--table", action="store_true")
    mode.add_argument("--ladder", action="store_true")
    ap.add_argument("--depths", type=int, nargs="+", default=[2, 3])
    ap.add_argument("--widths", type=int, nargs="+")
    ap.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    ap.add_argument("--norms", nargs="+", default=["inf", "2"], choices=["inf", "2"])
    ap.add_argument("--regions", nargs="+", default=["global", "box"], choices=["global", "box"])
    ap.add_argument("--cap", type=float, help="seconds per run (default 60, ladder 600)")
    ap.add_argument("--memory", type=float, default=6.0, help="GB per worker (default 6)")
    ap.add_argument("--total", type=float, default=0.0,
                    help="ladder: start no run after this many seconds in all (0: no limit)")
    ap.add_argument("--no-skip", action="store_true",
                    help="table: run a method on larger widths after it timed out")
    args = ap.parse_args()
    if args.cap is None:
        args.cap = 600.0 if args.ladder else 60.0
    if args.widths is None:
        args.widths = ([10, 20, 30, 40, 50, 60, 80, 100] if args.ladder
                       else [10, 20, 30, 40, 50])
    known = method_names()
    unused = sorted(set(known) - {METHODS[c][0] for c in METHODS})
    print(f"<!-- registered methods: {', '.join(sorted(known))}"
          + (f"; not in this benchmark: {', '.join(unused)}" if unused else "") + " -->")
    print(f"<!-- cap {args.cap:g} s per run (auto: + {AUTO_GRACE:g} s), memory "
          f"{args.memory:g} GB per worker, started {time.strftime('%Y-%m-%d %H:%M:%S')} -->")
    memory = int(args.memory * 2 ** 30)
    t0 = T0
    if args.table:
        table(args, memory)
    else:
        ladder(args, memory)
    print(f"<!-- total {time.perf_counter() - t0:.0f} s, load {os.getloadavg()} -->")


if __name__ == "__main__":
    main()

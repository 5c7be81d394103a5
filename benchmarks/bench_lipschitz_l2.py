"""Global l_2 Lipschitz bounds at scale (issue 14 item 2): LipSDP-Neuron in its three forms and
ECLipsE-Fast, against the product bound and the lower bound. Run by hand, one at a time::

    timeout 1800 python benchmarks/bench_lipschitz_l2.py                 # the table
    timeout 1800 python benchmarks/bench_lipschitz_l2.py --nets digits-100 --dense
    timeout 3600 python benchmarks/bench_lipschitz_l2.py --crossover     # the form="auto" rule
    timeout 1800 python benchmarks/bench_lipschitz_l2.py --nets digits-100 digits-200 \
        --budgets 10 60                                                   # auto as a user calls it

Networks (fixed seeds, built in seconds):

* ``digits-100``, ``digits-200``: scikit-learn ``MLPClassifier`` on the digits data (8x8,
  recipe of examples/train_digits.py: converges in 137 and 73 epochs, 2-4 s on one BLAS
  thread), 64-100-100-10 and 64-200-200-200-10, ReLU; output the
  margin between classes 3 and 8.
* ``digits-100-nobias``, ``digits-200-nobias``: the same weights without the biases (the
  global LipSDP and ECLipsE bounds do not change; the true constant, and so the lower bound,
  does: fewer activation patterns are realizable with the biases).
* ``mnist-100``, ``mnist-500``: random 784-100-100-10 and 784-500-500-10 (N(0, 1/fan_in)),
  margin 0 - 1.
* ``random-64-200``: random 64-200-200-200-10 (N(0, 1.96/fan_in), seed 7), margin 3 - 8: the
  digits-200 shape without its training.
* ``deep``: random 100 hidden layers of 160 neurons (ECLipsE and the product only).

Columns: method, certified upper bound, lower bound (polylip.nn.lower, the best of a few
settings and seeds, their seconds),
upper / lower, wall seconds of the method. ``--dense`` adds LipSDP's dense form (CVXOPT), which
took 127-220 s on digits-100; ``--cap`` stops any method after that many seconds.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import numpy as np

from polylip.nn import Network, lipschitz
from polylip.nn.lower import lower_bound
from polylip.runtime import call_with_deadline


def _one_thread():
    from threadpoolctl import threadpool_limits

    return threadpool_limits(1, user_api="blas")


def digits_mlp(hidden, iters=600, seed=0, bias=True) -> Network:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier

    X, y = load_digits(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X / 16.0, y, test_size=0.25, random_state=0)
    clf = MLPClassifier(hidden_layer_sizes=hidden, activation="relu", max_iter=iters,
                        random_state=seed, alpha=1e-3)
    with warnings.catch_warnings(), _one_thread():
        warnings.simplefilter("ignore")
        clf.fit(Xtr, ytr)
    biases = list(clf.intercepts_) if bias else None
    net = Network.from_weights([W.T for W in clf.coefs_], biases, output="margin:3,8")
    print(f"<!-- digits {hidden}: test accuracy {clf.score(Xte, yte):.3f} -->")
    return net


def random_net(sizes, seed=0, output="margin:0,1", scale=1.0) -> Network:
    rng = np.random.default_rng(seed)
    Ws = [scale * rng.standard_normal((sizes[i + 1], sizes[i])) / np.sqrt(sizes[i])
          for i in range(len(sizes) - 1)]
    bs = [0.1 * rng.standard_normal(sizes[i + 1]) for i in range(len(sizes) - 1)]
    return Network.from_weights(Ws, bs, output=output if sizes[-1] > 1 else None)


NETS = {
    "digits-100": lambda: digits_mlp((100, 100)),
    "digits-200": lambda: digits_mlp((200, 200, 200)),
    "digits-100-nobias": lambda: digits_mlp((100, 100), bias=False),
    "digits-200-nobias": lambda: digits_mlp((200, 200, 200), bias=False),
    "mnist-100": lambda: random_net([784, 100, 100, 10]),
    "mnist-500": lambda: random_net([784, 500, 500, 10]),
    "random-64-200": lambda: random_net([64, 200, 200, 200, 10], seed=7, output="margin:3,8",
                                        scale=1.4),
    "deep": lambda: random_net([160] * 101 + [10]),
}


def run_method(net, method, options, cap):
    def run():
        r = lipschitz(net, 2, method=method, options=options, lower=False)
        d = r.details
        keep = {k: d.get(k) for k in ("form", "iterations", "solver", "source", "status",
                                      "message", "block_sizes", "best_step")}
        return r.upper, keep
    t0 = time.perf_counter()
    if cap:
        step = call_with_deadline(run, cap)
        if step.status == "error":
            return None, {"message": str(step.error)[:100]}, time.perf_counter() - t0
        if step.status != "done":
            return None, {"message": f"stopped at {cap:g} s"}, time.perf_counter() - t0
        up, d = step.value
    else:
        up, d = run()
    return up, d, time.perf_counter() - t0


#: The lower-bound searches of the table, the best of them is reported (the default, and
#: larger counted work with the smoothed ascent; measured 2026-12-01: digits-100 30.0 / 30.3,
#: digits-200 29.4 / 30.9).
LOWER = ({}, dict(work=3e9), dict(work=3e9, seed=1), dict(work=1e10, smooth_points=32))


def best_lower(net, seconds):
    return max(lower_bound(net, 2, None, dict(o, time_limit=seconds)).value for o in LOWER)


def table(names, dense, cap, lower_seconds, auto):
    print(f"<!-- load: {os.getloadavg()} -->")
    print("| network | neurons | method | upper | lower (s) | upper/lower | wall (s) | note |")
    print("|---|---|---|---|---|---|---|---|")
    for name in names:
        t0 = time.perf_counter()
        net = NETS[name]()
        build = time.perf_counter() - t0
        print(f"<!-- {name}: built in {build:.1f} s, sizes {net.layer_sizes[:4]}... -->")
        t0 = time.perf_counter()
        lb = best_lower(net, lower_seconds)
        dtl = time.perf_counter() - t0
        methods = [("product", {}), ("eclipse", {})]
        if name != "deep":
            methods.append(("lipsdp", {}))
            if dense:
                methods.append(("lipsdp", {"form": "dense"}))
        if auto:
            methods.append(("auto", {"budget": auto}))
        for method, options in methods:
            up, d, dt = run_method(net, method, options, cap)
            label = method + (f" {d.get('form')}" if method == "lipsdp" and d.get("form") else "")
            if method == "auto":
                label += f" {options['budget']:g} s"
            note = ", ".join(f"{k} {v}" for k, v in d.items() if v is not None and k != "form")
            ratio = f"{up / lb:.4g}" if up is not None and lb > 0 else "-"
            print(f"| {name} | {sum(net.widths)} | {label} | "
                  f"{'-' if up is None else f'{up:.6g}'} | {lb:.6g} ({dtl:.1f}) | {ratio} | "
                  f"{dt:.2f} | {note[:90]} |", flush=True)


def formal_pattern_lower(net, starts=200, seed=0) -> float:
    """A lower bound on the *formal* l_2 constant (the largest gradient norm over every
    activation pattern, realizable or not; LipSDP cannot go below it):
    :func:`polylip.nn.formal.formal_pattern_lower` with more starts and no work limit. A
    diagnostic: when the upper bound meets this value and the lower bound (realizable
    patterns) stays below, the gap is the formal constant's, which no slope-restricted
    relaxation closes."""
    from polylip.nn.formal import formal_pattern_lower as ascent

    return ascent(net, 2, starts=starts, seed=seed, work=None).value


def budgets(names, budgets_, lower_seconds):
    """``lipschitz(net, 2, method="auto", budget=B)`` as a user calls it (its own lower-bound
    search inside the budget), against the best lower bound of a longer search and the formal
    pattern diagnostic."""
    print(f"<!-- load: {os.getloadavg()} -->")
    print("| network | budget (s) | upper | lower (in budget) | upper/lower | step | wall (s) | "
          "best lower, longer search | formal >= | upper/best lower |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name in names:
        net = NETS[name]()
        lb = best_lower(net, lower_seconds) if lower_seconds > 0 else 0.0
        formal = formal_pattern_lower(net) if net.functional() is not None else None
        for B in budgets_:
            t0 = time.perf_counter()
            r = lipschitz(net, 2, method="auto", budget=B)
            dt = time.perf_counter() - t0
            best = max(lb, r.lower or 0.0)
            print(f"| {name} | {B:g} | {r.upper:.6g} | {r.lower:.6g} | {r.upper / r.lower:.4f} | "
                  f"{r.details.get('best_step')} | {dt:.1f} | {best:.6g} | "
                  f"{'-' if formal is None else f'{formal:.6g}'} | {r.upper / best:.4f} |",
                  flush=True)


def crossover(cap):
    """Seconds of each LipSDP form on a ladder of sizes (the form="auto" rule)."""
    from polylip.nn.lipsdp import lipsdp_neuron

    print(f"<!-- load: {os.getloadavg()} -->")
    print("| sizes | N | dense (s) | chordal (s) | structured (s) | bounds agree |")
    print("|---|---|---|---|---|---|")
    ladder = [[4, 5, 5, 1], [8, 10, 10, 1], [10, 20, 20, 1], [16, 30, 30, 1], [20, 40, 40, 1],
              [30, 60, 60, 1], [10] + [10] * 10 + [1], [10] + [10] * 30 + [1],
              [10] + [20] * 30 + [1], [10] + [10] * 100 + [1], [10] + [30] * 80 + [1]]
    for sizes in ladder:
        net = random_net(sizes, output=None)
        cells, vals = [], []
        for form in ("dense", "chordal", "structured"):
            def run(form=form):
                out = lipsdp_neuron(net, form=form)
                return out["bound"]
            t0 = time.perf_counter()
            step = call_with_deadline(run, cap)
            dt = time.perf_counter() - t0
            if step.status == "done" and step.value is not None:
                vals.append(step.value)
                cells.append(f"{dt:.2f}")
            else:
                cells.append(f"- ({step.status}, {dt:.0f})")
        agree = (f"{(max(vals) - min(vals)) / min(vals):.1e}" if len(vals) > 1 else "-")
        short = f"{sizes[:3]}...x{len(sizes) - 2}" if len(sizes) > 6 else str(sizes)
        print(f"| {short} | {sum(sizes[:-1])} | " + " | ".join(cells) + f" | {agree} |",
              flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nets", nargs="+", default=list(NETS), choices=list(NETS))
    ap.add_argument("--dense", action="store_true", help="also LipSDP's dense form (CVXOPT)")
    ap.add_argument("--cap", type=float, default=600.0, help="seconds per method run")
    ap.add_argument("--lower-seconds", type=float, default=20.0,
                    help="time limit of the lower-bound search (0 with --budgets: none, the "
                         "calls' own lower bounds only)")
    ap.add_argument("--crossover", action="store_true", help="the form ladder instead")
    ap.add_argument("--auto", type=float, default=None, metavar="BUDGET",
                    help="also method auto with this budget (lower-bound search excluded)")
    ap.add_argument("--budgets", type=float, nargs="+", default=None, metavar="B",
                    help="the budget table instead: auto at these budgets, lower bound inside")
    args = ap.parse_args()
    if args.budgets:
        budgets(args.nets, args.budgets, args.lower_seconds)
    elif args.crossover:
        crossover(args.cap)
    else:
        table(args.nets, args.dense, args.cap, args.lower_seconds, args.auto)


if __name__ == "__main__":
    main()

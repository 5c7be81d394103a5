"""QA round 5: are the work estimates of "auto" right, and do budgets hold? Run by hand.

``estimates``: for each step of deterministic "auto" that was seen overrunning ("bab",
"lipsdp", "sdp-neuron"; and "milp", "geolip", "eclipse" beside them), over a grid of network
sizes, the plan's estimate (``details["plan"][...]["estimate"]["seconds"]``) against the step's
measured seconds: the plan is replaced by "product", "interval" and that one step, so that the
step runs alone with deterministic limits from ``--budget`` (default 4). Prints ratio
actual / estimate.

``budgets``: every method with a time budget, non-deterministic, on networks of varying
width and depth, l_inf and l_2, global and local: ratio wall / budget per method and size.

    PYTHONPATH=. python3 benchmarks/qa_lipschitz_round5.py estimates [--budget B]
    PYTHONPATH=. python3 benchmarks/qa_lipschitz_round5.py budgets [--budget B]
"""
import argparse
import math
import time

import numpy as np

from polylip.errors import PolylipError
from polylip.nn import BallRegion, BoxRegion, Network, lipschitz
from polylip.nn.methods import plan as planning


def net_of(sizes, act="relu", output=None, seed=0):
    rng = np.random.default_rng(seed)
    Ws = [rng.standard_normal((o, i)) * np.sqrt(2.0 / i) for i, o in zip(sizes[:-1], sizes[1:])]
    bs = [0.1 * rng.standard_normal(o) for o in sizes[1:]]
    return Network.from_weights(Ws, bs, activation=act, output=output), rng.uniform(-1, 1, sizes[0])


def shape(n0, width, depth, out=1):
    return [n0] + [width] * depth + [out]


def label(sizes):
    inner = sizes[1:-1]
    if len(inner) > 2 and len(set(inner)) == 1:
        return f"{sizes[0]}-{inner[0]}x{len(inner)}-{sizes[-1]}"
    return "-".join(map(str, sizes))


#: step id -> (norm, region kind, network shapes)
GRID = {
    "bab": ("inf", "box", [shape(10, 10, 1), shape(10, 30, 2), shape(20, 12, 8),
                           shape(20, 12, 30), shape(10, 50, 4), shape(64, 100, 2),
                           shape(2, 2000, 1), shape(10, 200, 1), shape(30, 60, 6)]),
    "lipsdp": ("2", "ball", [shape(10, 10, 1), shape(10, 30, 2), shape(20, 12, 8),
                             shape(20, 12, 30), shape(10, 50, 4), shape(64, 100, 2),
                             shape(10, 50, 5, 3), shape(2, 300, 1), shape(30, 60, 6)]),
    "sdp-neuron": ("2", "ball", [shape(2, 50, 1), shape(2, 300, 1), shape(2, 2000, 1),
                                 shape(10, 20, 1), shape(10, 60, 1), shape(20, 100, 1),
                                 shape(5, 500, 1)]),
}
#: the same step also over the global region (None) where it applies
GLOBAL_TOO = {"lipsdp", "sdp-neuron"}


def one_step(step_id, net, region, norm, budget):
    saved = planning.PLAN
    planning.PLAN = tuple(s for s in saved if s.id in ("product", "interval", step_id))
    try:
        t0 = time.perf_counter()
        res = lipschitz(net, norm, region=region, lower=False, options={
            "budget": budget, "deterministic": True, "rel_gap": 0.0})
        wall = time.perf_counter() - t0
    finally:
        planning.PLAN = saved
    entry = next(e for e in res.details["plan"] if e["step"] == step_id)
    est = (entry.get("estimate") or {}).get("seconds")
    return entry, est, wall, res


def estimates(budget):
    print(f"| step | network | region | estimate (s) | actual (s) | actual / estimate | wall (s) "
          f"| status | reason |")
    print("|---|---|---|---|---|---|---|---|---|")
    worst = {}
    for step_id, (norm, kind, shapes) in GRID.items():
        for sizes in shapes:
            net, c = net_of(sizes)
            regions = [BoxRegion(c, 0.1) if kind == "box" else BallRegion(c, 0.1)]
            if step_id in GLOBAL_TOO:
                regions.append(None)
            for reg in regions:
                try:
                    entry, est, wall, res = one_step(step_id, net, reg, norm, budget)
                except PolylipError as exc:
                    print(f"| {step_id} | {label(sizes)} | - | - | - | - | - | refused | {exc} |")
                    continue
                act = entry["seconds"]
                ratio = act / est if est else math.nan
                ran = entry["status"] not in ("too large", "not applicable", "skipped")
                if ran and est:
                    worst[step_id] = max(worst.get(step_id, 0.0), ratio)
                print(f"| {step_id} | {label(sizes)} | {'global' if reg is None else kind} | "
                      f"{est if est is None else f'{est:.3g}'} | {act:.3g} | "
                      f"{ratio:.2f} | {wall:.2f} | {entry['status']} | "
                      f"{entry['reason'][:70]} |", flush=True)
    print("\nlargest actual / estimate per step:", {k: round(v, 2) for k, v in worst.items()})


BUDGET_METHODS = ["auto", "shor", "sdp", "lp", "lipsdp", "geolip", "dp", "milp", "bab", "eclipse",
                  "exact", "product", "interval"]
BUDGET_SHAPES = [shape(10, 20, 2), shape(20, 12, 30), shape(2, 2000, 1), shape(64, 100, 2),
                 shape(30, 60, 6), shape(10, 50, 5, 3)]


def budgets(budget):
    print("| network | norm | region | method | wall (s) | wall / budget | status |")
    print("|---|---|---|---|---|---|---|")
    worst = {}
    for sizes in BUDGET_SHAPES:
        out = None if sizes[-1] == 1 else "vector:inf"
        net, c = net_of(sizes, output=out)
        for norm in ["inf", "2"]:
            for reg in [None, BoxRegion(c, 0.1) if norm == "inf" else BallRegion(c, 0.1)]:
                for m in BUDGET_METHODS:
                    t0 = time.perf_counter()
                    try:
                        res = lipschitz(net, norm, method=m, region=reg, budget=budget)
                        st = res.status
                    except PolylipError as exc:
                        st = "refused: " + str(exc)[:40]
                    dt = time.perf_counter() - t0
                    if st.startswith("refused") and dt < 0.3:
                        continue
                    worst[m] = max(worst.get(m, 0.0), dt / budget)
                    print(f"| {label(sizes)} | {norm} | {'global' if reg is None else 'local'} | "
                          f"{m} | {dt:.2f} | {dt / budget:.2f} | {st} |", flush=True)
    print("\nlargest wall / budget per method:", {k: round(v, 2) for k, v in worst.items()})


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["estimates", "budgets"])
    ap.add_argument("--budget", type=float, default=4.0)
    ap.add_argument("--only", default=None, help="estimates: one step id")
    a = ap.parse_args()
    if a.only:
        GRID = {a.only: GRID[a.only]}
    estimates(a.budget) if a.mode == "estimates" else budgets(a.budget)

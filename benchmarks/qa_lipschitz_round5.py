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
    PYTHONPATH=. python3 benchmarks/qa_lipschitz_round5.py torch [--budget B]

``torch``: torch models as people train them (final Sigmoid/Tanh/ReLU, Conv1d, Conv2d,
BatchNorm1d/2d in eval mode with running statistics, Dropout, Flatten, Identity, LeakyReLU,
Tanh, Sigmoid, ELU, GELU, SiLU, Softplus, Linear without bias, train() mode, float32/16,
bfloat16, NaN/inf weights, bad running statistics): reading vs torch's forward, bounds vs
autograd's largest gradient norm.
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


def torch_zoo(budget):
    """Torch models people train: polylip's reading against torch's forward (relative
    difference), and for l_inf and l_2 the certified bounds of "auto" against the largest
    gradient norm autograd finds at 2,000 random inputs (OK: upper >= sampled, lower <=
    upper)."""
    import logging
    import torch
    import torch.nn as nn
    logging.basicConfig(level=logging.WARNING, format="LOG %(levelname)s %(name)s: %(message)s")
    torch.manual_seed(0)

    def sampled(model, d, X, p):
        X = torch.tensor(X, dtype=torch.float64, requires_grad=True)
        y = model(X).sum()
        g, = torch.autograd.grad(y, X)
        q = 1.0 if p == "inf" else 2.0
        return float(torch.linalg.vector_norm(g, ord=q, dim=1).max())

    def case(name, build, d, shape=None, dtype=torch.float64, prep=None):
        try:
            m = build().to(dtype)
            if prep: prep(m)
            else: m.eval()
            kw = {} if shape is None else {"input_shape": shape}
            net = Network.from_torch(m, **kw)
        except PolylipError as e:
            print(f"| {name} | REFUSED: {e}")
            return
        except Exception as e:
            print(f"| {name} | CRASH {type(e).__name__}: {e}")
            return
        m64 = m.double().eval()
        rng = np.random.default_rng(1)
        X = rng.uniform(-1, 1, (2000, d))
        with torch.no_grad():
            ref = m64(torch.tensor(X).reshape((-1,) + (shape or (d,)))).reshape(2000, -1).numpy()
        mine = np.asarray(net.forward(X)).reshape(2000, -1)
        rel = np.abs(mine - ref).max() / max(1e-300, np.abs(ref).max())
        out = []
        for p in ["inf", "2"]:
            f = lambda Z: m64(Z.reshape((-1,) + (shape or (d,)))).reshape(Z.shape[0], -1).sum(1)
            s = sampled(f, d, X, p)
            try:
                r = lipschitz(net, p, budget=budget)
                ok = r.upper >= s * (1 - 1e-9) and (r.lower is None or r.lower <= r.upper)
                out.append(f"{p}: up {r.upper:.5g} low {r.lower if r.lower is None else round(r.lower,5)} samp {s:.5g} {'OK' if ok else 'WRONG'}")
            except PolylipError as e:
                out.append(f"{p}: refused {e}")
        print(f"| {name} | rel {rel:.1e} | acts {[a.name if hasattr(a,'name') else a for a in net.activations]} | " + " | ".join(out))

    d = 4
    case("Linear-ReLU-Linear", lambda: nn.Sequential(nn.Linear(d, 8), nn.ReLU(), nn.Linear(8, 1)), d)
    case("final Sigmoid", lambda: nn.Sequential(nn.Linear(d, 8), nn.ReLU(), nn.Linear(8, 1), nn.Sigmoid()), d)
    case("final Tanh", lambda: nn.Sequential(nn.Linear(d, 8), nn.ReLU(), nn.Linear(8, 1), nn.Tanh()), d)
    case("final ReLU", lambda: nn.Sequential(nn.Linear(d, 8), nn.ReLU(), nn.Linear(8, 1), nn.ReLU()), d)
    case("Conv1d", lambda: nn.Sequential(nn.Conv1d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8, 1)), 6, shape=(1, 6))
    case("Conv2d", lambda: nn.Sequential(nn.Conv2d(1, 2, 2), nn.ReLU(), nn.Flatten(), nn.Linear(2*2*2, 1)), 9, shape=(1, 3, 3))
    def bnprep(m):
        m.train()
        with torch.no_grad():
            for _ in range(5): m(torch.randn(32, d, dtype=m[0].weight.dtype) * 3 + 1)
        m.eval()
    case("BatchNorm1d eval", lambda: nn.Sequential(nn.Linear(d, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 1)), d, prep=bnprep)
    def bn2prep(m):
        m.train()
        with torch.no_grad():
            for _ in range(5): m(torch.randn(16, 1, 3, 3, dtype=torch.float64) * 3 + 1)
        m.eval()
    case("BatchNorm2d eval", lambda: nn.Sequential(nn.Conv2d(1, 2, 2), nn.BatchNorm2d(2), nn.ReLU(), nn.Flatten(), nn.Linear(8, 1)), 9, shape=(1, 3, 3), prep=bn2prep)
    case("BN before linear (first)", lambda: nn.Sequential(nn.BatchNorm1d(d), nn.Linear(d, 8), nn.ReLU(), nn.Linear(8, 1)), d, prep=bnprep)
    case("Dropout", lambda: nn.Sequential(nn.Linear(d, 8), nn.ReLU(), nn.Dropout(0.3), nn.Linear(8, 1)), d)
    case("Flatten+Identity", lambda: nn.Sequential(nn.Flatten(), nn.Identity(), nn.Linear(d, 8), nn.ReLU(), nn.Linear(8, 1)), d)
    case("LeakyReLU", lambda: nn.Sequential(nn.Linear(d, 8), nn.LeakyReLU(0.1), nn.Linear(8, 1)), d)
    case("LeakyReLU 2.0", lambda: nn.Sequential(nn.Linear(d, 8), nn.LeakyReLU(2.0), nn.Linear(8, 1)), d)
    case("LeakyReLU -0.5", lambda: nn.Sequential(nn.Linear(d, 8), nn.LeakyReLU(-0.5), nn.Linear(8, 1)), d)
    case("Tanh", lambda: nn.Sequential(nn.Linear(d, 8), nn.Tanh(), nn.Linear(8, 1)), d)
    case("Sigmoid hidden", lambda: nn.Sequential(nn.Linear(d, 8), nn.Sigmoid(), nn.Linear(8, 1)), d)
    case("ELU", lambda: nn.Sequential(nn.Linear(d, 8), nn.ELU(), nn.Linear(8, 1)), d)
    case("ELU 2.0", lambda: nn.Sequential(nn.Linear(d, 8), nn.ELU(2.0), nn.Linear(8, 1)), d)
    case("GELU", lambda: nn.Sequential(nn.Linear(d, 8), nn.GELU(), nn.Linear(8, 1)), d)
    case("SiLU", lambda: nn.Sequential(nn.Linear(d, 8), nn.SiLU(), nn.Linear(8, 1)), d)
    case("Softplus b2", lambda: nn.Sequential(nn.Linear(d, 8), nn.Softplus(beta=2), nn.Linear(8, 1)), d)
    case("Linear no bias", lambda: nn.Sequential(nn.Linear(d, 8, bias=False), nn.ReLU(), nn.Linear(8, 1, bias=False)), d)
    def trainprep(m): m.train()
    case("train() mode no BN", lambda: nn.Sequential(nn.Linear(d, 8), nn.ReLU(), nn.Linear(8, 1)), d, prep=trainprep)
    case("train() mode with BN", lambda: nn.Sequential(nn.Linear(d, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 1)), d, prep=trainprep)
    case("train() mode with Dropout", lambda: nn.Sequential(nn.Linear(d, 8), nn.ReLU(), nn.Dropout(0.5), nn.Linear(8, 1)), d, prep=trainprep)
    case("float32", lambda: nn.Sequential(nn.Linear(d, 8), nn.ReLU(), nn.Linear(8, 1)), d, dtype=torch.float32)
    case("float16", lambda: nn.Sequential(nn.Linear(d, 8), nn.ReLU(), nn.Linear(8, 1)), d, dtype=torch.float16)
    case("bfloat16", lambda: nn.Sequential(nn.Linear(d, 8), nn.ReLU(), nn.Linear(8, 1)), d, dtype=torch.bfloat16)
    def nanprep(m):
        m.eval()
        with torch.no_grad(): m[0].weight[0, 0] = float("nan")
    case("NaN weight", lambda: nn.Sequential(nn.Linear(d, 8), nn.ReLU(), nn.Linear(8, 1)), d, prep=nanprep)
    def infprep(m):
        m.eval()
        with torch.no_grad(): m[2].bias[0] = float("inf")
    case("inf bias", lambda: nn.Sequential(nn.Linear(d, 8), nn.ReLU(), nn.Linear(8, 1)), d, prep=infprep)
    def bnnan(m):
        m.eval()
        with torch.no_grad(): m[1].running_var[0] = float("nan")
    case("BN NaN running var", lambda: nn.Sequential(nn.Linear(d, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 1)), d, prep=bnnan)
    def bnneg(m):
        m.eval()
        with torch.no_grad(): m[1].running_var[0] = -0.5
    case("BN negative running var", lambda: nn.Sequential(nn.Linear(d, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 1)), d, prep=bnneg)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["estimates", "budgets", "torch"])
    ap.add_argument("--budget", type=float, default=4.0)
    ap.add_argument("--only", default=None, help="estimates: one step id")
    a = ap.parse_args()
    if a.only:
        GRID = {a.only: GRID[a.only]}
    {"estimates": estimates, "budgets": budgets, "torch": torch_zoo}[a.mode](a.budget)

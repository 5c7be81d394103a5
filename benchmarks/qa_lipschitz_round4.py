"""QA round 4 of the Lipschitz methods (run by hand): networks of ONE input, deep and narrow
or wide and shallow, against their exact constant computed here without polylip.

A network of one input is piecewise linear on the line (ReLU-type activations): this script
follows its pieces layer by layer (each pre-activation is affine on a piece; its zeros split
it), so the true constant over the line or an interval is the largest slope magnitude of a
piece of positive length (pieces shorter than 1e-9 of the scale make the truth an interval
[truth_lo, truth_hi]). With one input every input norm gives the same constant (|f'|; for a
vector output the r-norm of the Jacobian's column), so l_inf, l_2 and l_1 are checked against
one number, and against each other. Smooth activations (tanh, sigmoid, softplus, ELU): the
largest |f'| over 200,001 points of the interval (the global region: of [-60, 60]) is what
an upper bound must reach.

Families: "deep" (6-24 hidden layers of 1-4 units), "wide" (one hidden layer of 50-400 units,
or two of 30-80), "dup" (deep or wide with duplicated, negated and zero rows and integer
weights), "scale" (weights times 1e-3 or 1e3 per layer). Outputs scalar, margin:0,1,
vector:inf, vector:2, vector:1. Regions global, box and ball of radius 0.05, 2, 1e4 (on the
line box = ball). Every method runs with ``budget=BUDGET`` seconds and is timed: a run longer
than 2 x BUDGET + 1 s is flagged OVERRUN.

Checks: upper >= truth_lo (1e-7 relative) and >= the sampled value, lower <= truth_hi
(1e-9 relative), the witness in the region, lower equal to |f'| recomputed there,
status "optimal" only when upper equals the truth, lower <= upper.

    PYTHONPATH=. nice -n 10 python3 benchmarks/qa_lipschitz_round4.py FIRST_SEED COUNT [METHODS]
    PYTHONPATH=. python3 benchmarks/qa_lipschitz_round4.py huge    # huge boxes and balls
"""
import sys
import time
import traceback

import numpy as np

sys.path.insert(0, "benchmarks")
import qa_lipschitz_fuzz_3 as q3  # noqa: E402  (activation functions, Jacobians)

from polylip.errors import PolylipError  # noqa: E402
from polylip.nn import BallRegion, BoxRegion, Network, lipschitz  # noqa: E402

METHODS = ["product", "interval", "eclipse", "exact", "lipsdp", "geolip", "dp", "milp", "bab",
           "lp", "sdp", "shor", "auto"]
PWL = ["relu", "relu", "leaky_relu:0.1", "leaky_relu:2", "leaky_relu:0"]
SMOOTH = ["tanh", "sigmoid", "softplus", "elu:1", "elu:0.5"]
OUTPUTS = ["scalar", "margin:0,1", "vector:inf", "vector:2", "vector:1"]
BUDGET = 4.0
MAX_PIECES = 200_000


def slopes_of(act):
    kind, _, a = act.partition(":")
    if kind == "relu":
        return 0.0, 1.0
    if kind == "leaky_relu":
        return float(a), 1.0
    return None


def pieces(Ws, bs, act, lo, hi):
    """Pieces of the network on [lo, hi] (may be infinite): list of (a, b, J) with J the
    (m,) slope of the outputs on (a, b). None if more than MAX_PIECES."""
    left, right = slopes_of(act)
    # each piece: (a, b, A (width,), C (width,)) with the layer input h = A x + C
    cur = [(lo, hi, np.ones(1), np.zeros(1))]
    for W, b in zip(Ws[:-1], bs[:-1]):
        nxt = []
        for a0, b0, A, C in cur:
            sa, sc = W @ A, W @ C + b
            cuts = []
            nz = sa != 0
            xs = -sc[nz] / sa[nz]
            cuts = np.unique(xs[(xs > a0) & (xs < b0)])
            ends = np.concatenate([[a0], cuts, [b0]])
            for u, v in zip(ends[:-1], ends[1:]):
                if np.isfinite(u) and np.isfinite(v):
                    mid = 0.5 * (u + v)
                elif np.isfinite(u):
                    mid = u + 1.0 + abs(u)
                elif np.isfinite(v):
                    mid = v - 1.0 - abs(v)
                else:
                    mid = 0.0
                z = sa * mid + sc
                d = np.where(z > 0, right, left)
                nxt.append((u, v, d * sa, d * sc))
        cur = nxt
        if len(cur) > MAX_PIECES:
            return None
    return [(a0, b0, Ws[-1] @ A) for a0, b0, A, C in cur]


def functional(J, out):
    """|f'| of the output functional from the (m,) Jacobian column (any input norm)."""
    if out == "scalar":
        return abs(J[0])
    if out.startswith("margin"):
        return abs(J[0] - J[1])
    r = {"vector:inf": np.inf, "vector:2": 2, "vector:1": 1}[out]
    return float(np.linalg.norm(J, r))


def truth(Ws, bs, act, out, lo, hi):
    ps = pieces(Ws, bs, act, lo, hi)
    if ps is None:
        return None
    scale = max(1.0, abs(lo) if np.isfinite(lo) else 1.0, abs(hi) if np.isfinite(hi) else 1.0)
    vals = [(functional(J, out), (b0 - a0) > 1e-9 * scale) for a0, b0, J in ps]
    t_hi = max(v for v, _ in vals)
    t_lo = max((v for v, ok in vals if ok), default=0.0)
    return t_lo, t_hi, len(ps)


def make_net(rng, family):
    fam = family
    if fam == "dup":
        fam = str(rng.choice(["deep", "wide"]))
    if fam in ("deep", "scale"):
        L = int(rng.integers(6, 25))
        widths = [int(rng.integers(1, 5)) for _ in range(L)]
    else:
        widths = ([int(rng.integers(50, 401))] if rng.random() < 0.5
                  else [int(rng.integers(30, 81)) for _ in range(2)])
    m = 2
    sizes = [1] + widths + [m]
    Ws, bs = [], []
    for k in range(len(sizes) - 1):
        W = rng.standard_normal((sizes[k + 1], sizes[k])) * np.sqrt(2.0 / sizes[k])
        b = rng.standard_normal(sizes[k + 1]) * 0.5
        if family == "dup":
            W = np.round(W * 2)
            b = np.round(b * 2) / 2
            for i in range(1, W.shape[0]):
                u = rng.random()
                if u < 0.2:
                    W[i], b[i] = W[i - 1], b[i - 1]
                elif u < 0.35:
                    W[i], b[i] = -W[i - 1], -b[i - 1]
                elif u < 0.45:
                    W[i] = 0
        if family == "scale":
            s = float(rng.choice([1e-3, 1e3]))
            W, b = W * s, b * s
        Ws.append(W)
        bs.append(b)
    return Ws, bs


def run_one(seed, methods, log):
    rng = np.random.default_rng(seed)
    family = ["deep", "wide", "dup", "scale"][seed % 4]
    Ws, bs = make_net(rng, family)
    act = str(rng.choice(PWL if rng.random() < 0.7 else SMOOTH))
    out = str(rng.choice(OUTPUTS))
    if out == "scalar":
        Ws[-1], bs[-1] = Ws[-1][:1], bs[-1][:1]
    regname = str(rng.choice(["global", "box", "ball"]))
    r = float(rng.choice([0.05, 2.0, 1e4]))
    c0 = np.array([float(np.round(rng.standard_normal() * 2, 2))])
    if regname == "global":
        lo, hi, region = -np.inf, np.inf, None
    else:
        lo, hi = c0[0] - r, c0[0] + r
        region = BoxRegion(c0, r) if regname == "box" else BallRegion(c0, r)
    net = Network.from_weights(Ws, bs, activation=act, output=out)
    # forward pass: polylip's against this script's
    X = rng.standard_normal((64, 1)) * 3
    H = X
    f, _, _ = q3.act_fns(act)
    for W, b in zip(Ws[:-1], bs[:-1]):
        H = f(H @ W.T + b)
    ref = H @ Ws[-1].T + bs[-1]
    pwl = slopes_of(act) is not None
    t = truth(Ws, bs, act, out, lo, hi) if pwl else None
    a, b = (lo, hi) if np.isfinite(lo) else (-60.0, 60.0)
    grid = np.linspace(a, b, 200_001)[:, None]
    J, _ = q3.jacobians(Ws, bs, act, grid)
    sampled = max(functional(Jr[:, 0], out) for Jr in J[np.argsort(
        -np.abs(J[:, :, 0]).max(axis=1))[:2000]])
    tag = (f"seed {seed} {family} {act} 1-{'-'.join(str(W.shape[0]) for W in Ws[:-1])}-2 "
           f"{out} {regname}{'' if region is None else f' r={r:g} c={c0[0]:g}'}")
    if t is None and pwl:
        print(f"{tag}: too many pieces, skipped", flush=True)
        return []
    t_lo, t_hi = (t[0], t[1]) if t else (sampled, np.inf)
    print(f"{tag}: truth [{t_lo:.6g}, {t_hi:.6g}]"
          f"{f' ({t[2]} pieces)' if t else ' (sampled)'} sampled {sampled:.6g}", flush=True)
    fails = []
    if pwl and sampled > t_hi * (1 + 1e-7) + 1e-300:
        fails.append(f"REFERENCE sampled {sampled} above truth {t_hi}")
    ok_net = True
    try:
        got = np.asarray(net.forward(X))
        if got.shape != ref.shape or not np.allclose(got, ref, rtol=1e-9,
                                                      atol=1e-9 * np.abs(ref).max()):
            fails.append("MISREAD forward pass differs")
            ok_net = False
    except Exception as e:  # noqa: BLE001
        fails.append(f"CRASH forward {type(e).__name__}: {e}")
    if not ok_net:
        return [f"{tag}: {x}" for x in fails]
    per_norm = {}
    for m in methods:
        for p in ["inf", "2", "1"]:
            t0 = time.perf_counter()
            try:
                res = lipschitz(net, p, method=m, region=region, budget=BUDGET)
            except PolylipError as e:
                log.append((m, p, "refused", time.perf_counter() - t0))
                continue
            except Exception as e:  # noqa: BLE001
                fails.append(f"{m} {p}: CRASH {type(e).__name__}: {e}")
                traceback.print_exc()
                continue
            dt = time.perf_counter() - t0
            log.append((m, p, res.status, dt))
            if dt > 2 * BUDGET + 1:
                fails.append(f"{m} {p}: OVERRUN {dt:.1f} s for budget {BUDGET}")
            up, lw = res.upper, res.lower
            per_norm.setdefault(m, {})[p] = (up, lw)
            if up is not None:
                if up < t_lo * (1 - 1e-7) - 1e-300:
                    fails.append(f"{m} {p}: UPPER {up!r} below truth {t_lo!r} ({res.status})")
                if up < sampled * (1 - 1e-7) - 1e-300:
                    fails.append(f"{m} {p}: UPPER {up!r} below sampled {sampled!r}")
                if res.status == "optimal" and t and not (
                        t_lo * (1 - 1e-6) - 1e-300 <= up <= t_hi * (1 + 1e-6) + 1e-300):
                    fails.append(f"{m} {p}: 'optimal' {up!r} but truth [{t_lo}, {t_hi}]")
            if lw is not None and lw > 0:
                if lw > t_hi * (1 + 1e-9):
                    fails.append(f"{m} {p}: LOWER {lw!r} above truth {t_hi!r}")
                if up is not None and lw > up * (1 + 1e-9):
                    fails.append(f"{m} {p}: lower {lw} above upper {up} ({res.status})")
                w = res.witness
                if w is None:
                    fails.append(f"{m} {p}: lower {lw} without a witness")
                else:
                    w = np.asarray(w, float).reshape(1, -1)
                    if np.isfinite(lo) and not (lo - 1e-12 * max(1, abs(lo)) <= w[0, 0]
                                                <= hi + 1e-12 * max(1, abs(hi))):
                        fails.append(f"{m} {p}: witness {w[0, 0]} outside [{lo}, {hi}]")
                    Jw, _ = q3.jacobians(Ws, bs, act, w)
                    v = functional(Jw[0, :, 0], out)
                    if abs(v - lw) > 1e-7 * max(v, lw):
                        fails.append(f"{m} {p}: lower {lw} but |f'| at its witness is {v}")
    # one input: every norm has the same constant, so every upper >= every lower
    lowers = [lw for d in per_norm.values() for _, lw in d.values() if lw is not None]
    best_lower = max(lowers, default=0.0)
    for m, d in per_norm.items():
        for p, (up, _) in d.items():
            if up is not None and up < best_lower * (1 - 1e-7):
                fails.append(f"{m} {p}: UPPER {up} below the lower bound {best_lower} of "
                             "another norm or method (one input: the same constant)")
    line = " ".join(f"{m}:" + "/".join("-" if p not in d or d[p][0] is None else f"{d[p][0]:.4g}"
                                       for p in ["inf", "2", "1"]) for m, d in per_norm.items())
    print("   ", line, flush=True)
    return [f"{tag}: {x}" for x in fails]


def main(seed0, count, methods):
    log, fails = [], []
    t0 = time.time()
    for seed in range(seed0, seed0 + count):
        try:
            got = run_one(seed, methods, log)
        except Exception as e:  # noqa: BLE001
            got = [f"seed {seed}: SCRIPT {type(e).__name__}: {e}"]
            traceback.print_exc()
        for f in got:
            print("FAIL", f, flush=True)
        fails += got
    print(f"\n{count} networks, {len(log)} calls, {len(fails)} failures, "
          f"{time.time() - t0:.0f} s")
    by = {}
    for m, p, st, dt in log:
        e = by.setdefault(m, [0, 0, 0.0])
        e[0] += 1
        e[1] += st == "refused"
        e[2] = max(e[2], dt)
    print("| method | calls | refused | longest call (s) |")
    print("|---|---|---|---|")
    for m, (n, nr, mx) in by.items():
        print(f"| {m} | {n} | {nr} | {mx:.2f} |")


def huge_regions():
    """``python3 benchmarks/qa_lipschitz_round4.py huge``: random 2-4-1 and 3-6-6-1 ReLU
    networks (seeds 0-5), a box and a ball of radius 1e3 .. 1e150 around a point near 0; every
    cell of these networks lies near 0, so the true constant over the region is the global one
    ("exact" without a region, and the brute-force enumeration of every pattern's cell by
    round 3's reference for the 2-4-1 ones). Methods "exact", "milp", "bab", "interval",
    "product", with and without the lower-bound search; a line per wrong or missing bound."""
    bad = calls = 0
    for seed in range(6):
        rng = np.random.default_rng(seed)
        sizes = [2, 4, 1] if seed % 2 == 0 else [3, 6, 6, 1]
        Ws = [rng.standard_normal((o, i)) for i, o in zip(sizes[:-1], sizes[1:])]
        bs = [rng.standard_normal(o) for o in sizes[1:-1]] + [np.zeros(1)]
        net = Network.from_weights(Ws, bs)
        true = lipschitz(net, "inf", method="exact").upper
        if len(sizes) == 3:
            t3 = q3.true_constant(Ws, bs, "relu", "scalar", np.inf, "global", np.zeros(2), 1.0)
            assert abs(t3[0] - true) <= 1e-9 * true, (t3, true)
        c0 = rng.uniform(-0.5, 0.5, sizes[0])
        for R in [1e3, 1e6, 1e9, 1e12, 1e15, 1e20, 1e50, 1e150]:
            for region in [BoxRegion(c0, R), BallRegion(c0, R)]:
                for m in ["exact", "milp", "bab", "interval", "product"]:
                    for lower in [True, False]:
                        calls += 1
                        try:
                            res = lipschitz(net, "inf", method=m, region=region, lower=lower)
                        except PolylipError as e:
                            if "needs a box" not in str(e):
                                bad += 1
                                print(f"seed {seed} R={R:g} {type(region).__name__} {m}: "
                                      f"ERROR {e}")
                            continue
                        up = res.upper
                        if up is not None and up < true * (1 - 1e-7):
                            bad += 1
                            print(f"seed {seed} R={R:g} {type(region).__name__} {m} lower="
                                  f"{lower}: UPPER {up} below the true {true} ({res.status})")
                        elif up is None:
                            print(f"seed {seed} R={R:g} {type(region).__name__} {m} lower="
                                  f"{lower}: no bound ({res.status})")
    print(f"{calls} calls, {bad} wrong or errors")


if __name__ == "__main__":
    if sys.argv[1:2] == ["huge"]:
        huge_regions()
        sys.exit()
    s0 = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    cnt = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    meths = sys.argv[3].split(",") if len(sys.argv) > 3 else METHODS
    main(s0, cnt, meths)

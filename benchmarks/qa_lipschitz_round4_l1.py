"""QA round 4: the l_1 input norm and large regions, against the TRUE constant (run by hand).

Round 3 (qa_lipschitz_fuzz_3.py) checked l_inf and l_2 over regions of radius at most 5. This
script reuses its independent reference (activation cells enumerated by margin LPs, plain
numpy + HiGHS + Clarabel) with the l_1 input norm (the constant is the largest ``||grad||_inf``;
for a vector output ``||J||_{1->r}``, the largest r-norm of a column of J), outputs scalar,
margin, vector:inf, vector:2, vector:1, and regions global or a box / ball of radius 0.3, 1e3
or 1e6 (the reference's margins in units of min(r, 1), as polylip's since round 4). Every
method that takes l_1; the same checks as round 3 (upper >= truth and samples, lower <= truth,
attained at a witness in the region off the kinks, "exact" and closed "milp"/"bab" equal to
the truth).

    PYTHONPATH=. nice -n 10 python3 benchmarks/qa_lipschitz_round4_l1.py FIRST_SEED COUNT [METHODS]
"""
import sys
import time
import traceback

import numpy as np

sys.path.insert(0, "benchmarks")
import qa_lipschitz_fuzz_3 as q3  # noqa: E402

from polylip.errors import PolylipError  # noqa: E402
from polylip.nn import BallRegion, BoxRegion, Network, lipschitz  # noqa: E402

METHODS = ["product", "interval", "exact", "dp", "milp", "sdp", "shor", "lp", "auto"]
_value3 = q3.value


def value(J, out, p):
    """As round 3's, with the l_1 input norm (dual l_inf) and vector:1."""
    if p != 1.0:
        return _value3(J, out, p)
    if out == "scalar":
        return np.abs(J[:, 0, :]).max(axis=1)
    if out.startswith("margin"):
        i, j = map(int, out.split(":")[1].split(","))
        return np.abs(J[:, i, :] - J[:, j, :]).max(axis=1)
    r = {"vector:inf": np.inf, "vector:2": 2, "vector:1": 1}[out]
    return np.linalg.norm(J, ord=r, axis=1).max(axis=1)  # largest r-norm of a column


def margin_lp(R, h, region, c0, r, n):
    """Round 3's margin LP in units of min(r, 1): in units of r a cell of size 1 has margin
    1/r, below the tolerances over large regions."""
    if region == "global":
        return q3.margin_unit(R, h, region, c0, r, n)
    u = min(r, 1.0)
    eps, y = q3.margin_unit(R, (h - R @ c0) / u, region, np.zeros(n), r / u, n)
    return eps, (None if y is None else c0 + u * y)


q3.value = value
q3.margin_lp = margin_lp


def main(seed0, count, methods):
    fails, n_truth, calls, refused = [], 0, 0, 0
    t0 = time.time()
    for seed in range(seed0, seed0 + count):
        rng = np.random.default_rng(seed)
        family = str(rng.choice(q3.FAMILIES))
        act = str(rng.choice(q3.ACTS))
        sizes, Ws, bs, c0 = q3.make_net(rng, family)
        m = sizes[-1]
        outs = ["scalar"] if m == 1 else [f"margin:{m - 1},0", "vector:inf", "vector:2",
                                          "vector:1"]
        out = str(rng.choice(outs))
        reg = str(rng.choice(["global", "box", "box", "ball"]))
        r = float(rng.choice([0.3, 1e3, 1e6]))
        if family == "kink" and reg == "global":
            reg = "box"
        region = None if reg == "global" else (BoxRegion(c0, r) if reg == "box"
                                               else BallRegion(c0, r))
        tag = f"{seed} {family} {act} {sizes} {out} p=1 {reg} r={r:g}"
        try:
            net = Network.from_weights(Ws, bs, activation=act, output=out)
        except PolylipError as e:
            print(tag, "net refused:", e)
            continue
        pl = isinstance(q3.act_fns(act)[2], tuple)
        truth = q3.true_constant(Ws, bs, act, out, 1.0, reg, c0, r) if pl else None
        bscale = 1 + max(np.abs(b).max() / max(np.abs(W).max(), 1e-300) for W, b in zip(Ws, bs))
        S = q3.samples(rng, reg, c0, r, 20000, min(bscale, 1e3))
        if reg != "global":  # also samples near the center: cells there are small in a big box
            S = np.vstack([S, region.project(c0 + min(r, 3.0) * rng.uniform(-1, 1, S.shape))])
        sampled = float(value(q3.jacobians(Ws, bs, act, S)[0], out, 1.0).max())
        n_truth += truth is not None
        t_lo = truth[0] if truth else sampled
        t_hi = truth[1] if truth else np.inf
        line = []
        for meth in methods:
            calls += 1
            try:
                res = lipschitz(net, "1", method=meth, region=region, budget=8)
            except PolylipError as e:
                refused += 1
                line.append(f"{meth}=R")
                continue
            except Exception as e:  # noqa: BLE001
                fails.append((tag, meth, "CRASH", f"{type(e).__name__}: {e}"))
                traceback.print_exc()
                continue
            up, lo = res.upper, res.lower
            line.append(f"{meth}={'-' if up is None else f'{up:.6g}'}/"
                        f"{'-' if lo is None else f'{lo:.6g}'}")
            if up is not None:
                if truth and up < t_lo * (1 - 1e-7) - 1e-300:
                    fails.append((tag, meth, "upper<truth", up, truth[:2], res.status))
                if up < sampled * (1 - 1e-7) - 1e-300:
                    fails.append((tag, meth, "upper<sampled", up, sampled, res.status))
            if lo is not None and lo > 0:
                if lo > t_hi * (1 + 1e-9) + 1e-300:
                    fails.append((tag, meth, "lower>truth", lo, truth[:2]))
                x = np.asarray(res.witness, float)
                if not q3.in_region(x, reg, c0, r):
                    fails.append((tag, meth, "witness outside", list(x)))
                v = float(value(q3.jacobians(Ws, bs, act, x[None])[0], out, 1.0)[0])
                if abs(v - lo) > 1e-7 * max(abs(v), 1e-300) + 1e-20:
                    fails.append((tag, meth, "lower not attained", lo, v))
                if q3.on_kink(Ws, bs, act, x):
                    fails.append((tag, meth, "witness on a kink", list(x)))
            claims = meth == "exact" and (res.details or {}).get("true") is not None or (
                res.status == "optimal")
            if claims and truth and up is not None and t_lo == t_hi and abs(up - t_lo) > (
                    2e-6 * (1 + t_lo) if meth == "milp" else 1e-6 * max(t_lo, 1e-300)):
                fails.append((tag, meth, "claimed the truth, is not", up, truth[:2],
                              res.status))
        tr = "-" if truth is None else (f"{truth[0]:.6g}" if truth[0] == truth[1] else
                                        f"[{truth[0]:.6g},{truth[1]:.6g}]")
        print(f"{tag} truth={tr} sampled={sampled:.6g} " + " ".join(line), flush=True)
        for f in fails:
            if f[0] == tag:
                print("FAIL", f, flush=True)
    print(f"SUMMARY nets={count} with_truth={n_truth} calls={calls} refused={refused} "
          f"failures={len(fails)} wall={time.time() - t0:.0f}s")


if __name__ == "__main__":
    s0 = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    cnt = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    main(s0, cnt, sys.argv[3].split(",") if len(sys.argv) > 3 else METHODS)

"""QA of every Lipschitz method on small random and degenerate networks (issue 12 item 6,
issue 14): independent references in plain numpy, run by hand.

For each seed: a random network (1-3 hidden layers of 1-4 neurons; families "gauss",
"integer" (weights in {-2..2} with duplicated, negated, doubled and zero rows: coincident
hyperplanes) and "dead" (biases of -50 on 40% of the neurons)), activation ReLU, leaky ReLU
0.1 or tanh, output scalar / margin / vector:inf|2|1, input norm l_inf / l_2 / l_1, region
global / box / ball. Every method is run (refusals are fine) and checked:

* upper >= the largest Jacobian norm over 40,000 samples of the region (own numpy code);
* upper >= method "exact"'s value (piecewise-linear activations);
* lower attained: the witness lies in the region, the gradient norm recomputed there with the
  script's own code equals ``lower``, and the witness is off every kink (else the value must
  not change under tiny perturbations); lower <= "exact".

Prints one line per network (``upper/lower`` per method, R = refused) and a line ``FAIL`` for
each violation. ``auto`` runs with budget 4. Usage::

    PYTHONPATH=. python3 benchmarks/qa_lipschitz_fuzz.py FIRST_SEED COUNT [METHODS]
"""
import itertools
import os
import sys
import time
import traceback
import numpy as np
from polylip.nn import Network, lipschitz, BoxRegion, BallRegion
from polylip.errors import PolylipError

#: Activations drawn from (``QA_ACTS``, comma-separated, overrides: e.g. "leaky_relu:1.5,leaky_relu:0").
ACTS = os.environ.get("QA_ACTS", "relu,relu,leaky_relu:0.1,tanh").split(",")
METHODS = ["product", "interval", "eclipse", "exact", "shor", "sdp", "lp", "lipsdp", "geolip", "dp", "milp", "bab", "auto"]

def act_fn(name):
    if name == "relu": return (lambda z: np.maximum(z, 0), lambda z: (z > 0).astype(float), True)
    if name.startswith("leaky"):
        a = float(name.split(":")[1]); return (lambda z: np.where(z > 0, z, a*z), lambda z: np.where(z > 0, 1.0, a) + 0.0 * z, True)
    if name == "tanh": return (np.tanh, lambda z: 1 - np.tanh(z)**2, False)

def jac(Ws, bs, act, X):
    f, d, _ = act_fn(act)
    n = X.shape[1]
    H = X; J = np.broadcast_to(np.eye(n), (len(X), n, n))
    Zs = []
    for W, b in zip(Ws[:-1], bs[:-1]):
        Z = H @ W.T + b; Zs.append(Z)
        J = d(Z)[:, :, None] * np.einsum("mk,bkn->bmn", W, J)
        H = f(Z)
    J = np.einsum("mk,bkn->bmn", Ws[-1], J)
    return J, Zs, H @ Ws[-1].T + bs[-1]

def dn(p): return {np.inf: 1.0, 1.0: np.inf, 2.0: 2.0}[p]

def vnorm(v, q, axis=-1):
    if q == np.inf: return np.abs(v).max(axis=axis)
    if q == 1.0: return np.abs(v).sum(axis=axis)
    return np.sqrt((v*v).sum(axis=axis))

def opnorm(J, p, r):  # batch (B, m, n), brute force over sign vertices when needed
    B, m, n = J.shape
    if r == np.inf: return vnorm(J, dn(p)).max(-1)
    if p == 1.0: return vnorm(J, r, axis=1).max(-1)
    if p == 2.0 and r == 2.0: return np.linalg.norm(J, 2, axis=(1, 2))
    if p == np.inf:
        T = np.array(list(itertools.product([-1, 1], repeat=n)), float)
        return vnorm(np.einsum("bmn,kn->bkm", J, T), r).max(-1)
    U = np.array(list(itertools.product([-1, 1], repeat=m)), float)
    return vnorm(np.einsum("km,bmn->bkn", U, J), dn(p)).max(-1)

def functional_norm(J, out, p):
    kind = out.split(":")[0]
    if kind == "scalar": return vnorm(J[:, 0, :], dn(p))
    if kind == "margin":
        i, j = map(int, out.split(":")[1].split(","))
        return vnorm(J[:, i, :] - J[:, j, :], dn(p))
    r = {"inf": np.inf, "2": 2.0, "1": 1.0}[out.split(":")[1]]
    return opnorm(J, p, r)

def make_net(rng, family):
    L = rng.integers(1, 4)  # hidden layers
    n0 = int(rng.integers(1, 4))
    sizes = [n0] + [int(rng.integers(1, 5)) for _ in range(L)] + [int(rng.integers(1, 4))]
    Ws, bs = [], []
    for k, (a, m) in enumerate(zip(sizes[:-1], sizes[1:])):
        if family == "integer":
            W = rng.integers(-2, 3, (m, a)).astype(float); b = rng.integers(-1, 2, m).astype(float)
            if m >= 2 and k < L:
                W[1], b[1] = W[0] * rng.choice([1, -1, 2]), b[0] * 1.0
            if m >= 3 and k < L and rng.random() < 0.5: W[2], b[2] = 0, rng.choice([0, 1, -1])
        elif family == "dead":
            W = rng.standard_normal((m, a)); b = rng.standard_normal(m)
            if k < L: b[rng.random(m) < 0.4] = -50
        else:
            W = rng.standard_normal((m, a)); b = 0.5*rng.standard_normal(m)
        Ws.append(W); bs.append(b)
    return sizes, Ws, bs

def main(seed0, count, methods, outlog):
    class L(list):
        def append(self, x):
            print('FAIL', x, flush=True); super().append(x)
    fails = L()
    for it in range(count):
        seed = seed0 + it
        rng = np.random.default_rng(seed)
        family = rng.choice(["gauss", "integer", "dead"])
        act = rng.choice(ACTS)
        sizes, Ws, bs = make_net(rng, family)
        m = sizes[-1]
        outs = ["scalar"] if m == 1 else [f"margin:{m-1},0", rng.choice(["vector:inf", "vector:2", "vector:1"])]
        out = str(rng.choice(outs))
        p = float(rng.choice([np.inf, 2.0, 1.0]))
        reg = rng.choice(["global", "box", "ball"])
        n0 = sizes[0]
        c = np.round(rng.standard_normal(n0)*2)/2 if family == "integer" else rng.standard_normal(n0)
        rad = float(rng.choice([0.1, 0.5, 1.5]))
        region = None if reg == "global" else (BoxRegion(c, rad) if reg == "box" else BallRegion(c, rad))
        try:
            net = Network.from_weights(Ws, bs, activation=act, output=out)
        except PolylipError as e:
            print(seed, "net refused", e); continue
        # samples
        N = 40000
        if reg == "global":
            S = rng.uniform(-8, 8, (N, n0)) * (1 + np.abs(np.concatenate([b.ravel() for b in bs])).max())
        elif reg == "box":
            S = c + rad * rng.uniform(-1, 1, (N, n0))
            S[:2**min(n0,10)] = c + rad*np.array(list(itertools.product([-1,1],repeat=n0)))[:N]
        else:
            D = rng.standard_normal((N, n0)); D /= np.linalg.norm(D, axis=1, keepdims=True)
            S = c + rad * D * rng.uniform(0, 1, (N, 1)) ** (1 / n0)
        J, _, _ = jac(Ws, bs, act, S)
        sampled = float(functional_norm(J, out, p).max())
        res = {}
        for meth in methods:
            t = time.perf_counter()
            try:
                kw = dict(budget=4) if meth == "auto" else {}
                r = lipschitz(net, {np.inf: "inf", 2.0: "2", 1.0: "1"}[p], method=meth, region=region, **kw)
            except PolylipError as e:
                res[meth] = ("refused", str(e)[:80]); continue
            except Exception as e:
                fails.append((seed, meth, "CRASH", f"{type(e).__name__}: {e}")); traceback.print_exc(); continue
            res[meth] = r
            tag = f"{seed} {family} {act} {sizes} {out} p={p} {reg} {meth}"
            tol = 1e-6 * max(1.0, abs(sampled))
            if r.status == "inconsistent":
                fails.append((tag, "inconsistent", r.upper, r.lower))
            if r.upper is not None and r.upper < sampled - tol:
                fails.append((tag, "upper<sampled", r.upper, sampled))
            if r.lower is not None:
                x = np.asarray(r.witness, float)
                if region is not None:
                    if reg == "box": ok = np.all(np.abs(x - c) <= rad*(1+1e-9)+1e-12)
                    else: ok = np.linalg.norm(x - c) <= rad*(1+1e-9)+1e-12
                    if not ok: fails.append((tag, "witness outside", x.tolist()))
                Jx, Zs, _ = jac(Ws, bs, act, x[None])
                val = float(functional_norm(Jx, out, p)[0])
                if act != "tanh":
                    for Z in Zs:
                        if np.any(Z[0] == 0):
                            # kink: is the neuron locally constant? check by perturbation
                            d = 1e-7 * (1 + np.abs(x).max())
                            P = x + d * rng.uniform(-1, 1, (200, n0))
                            vals = functional_norm(jac(Ws, bs, act, P)[0], out, p)
                            if np.ptp(vals) > 1e-9 * max(1, val):
                                fails.append((tag, "witness on kink", x.tolist(), Z.tolist()))
                            break
                if abs(val - r.lower) > 1e-7 * max(1, val):
                    fails.append((tag, "lower not attained", r.lower, val))
        # cross: exact true
        ex = res.get("exact")
        ref = sampled
        if ex is not None and not isinstance(ex, tuple) and ex.upper is not None:
            if ex.upper < sampled - 1e-6*max(1, sampled):
                pass  # already reported
            ref = max(ref, ex.upper) if act != "tanh" else ref
            for meth, r in res.items():
                if isinstance(r, tuple) or r is None: continue
                tag = f"{seed} {family} {act} {sizes} {out} p={p} {reg} {meth}"
                if r.upper is not None and act != "tanh" and r.upper < ex.upper - 1e-6*max(1, ex.upper):
                    fails.append((tag, "upper<exact", r.upper, ex.upper))
                if r.lower is not None and act != "tanh" and r.lower > ex.upper + 1e-6*max(1, ex.upper):
                    fails.append((tag, "lower>exact", r.lower, ex.upper))
        line = f"{seed} {family} {act} {sizes} {out} p={p} {reg} sampled={sampled:.5g} " + " ".join(
            f"{k}={'R' if isinstance(v, tuple) else (None if v.upper is None else round(v.upper, 4))}/{'' if isinstance(v, tuple) or v.lower is None else round(v.lower, 4)}" for k, v in res.items())
        print(line, flush=True)
    print("FAILURES", len(fails))
    for f in fails: print("FAIL", f)
    with open(outlog, "a") as fh:
        for f in fails: fh.write(repr(f) + "\n")

if __name__ == "__main__":
    seed0, count = int(sys.argv[1]), int(sys.argv[2])
    methods = sys.argv[3].split(",") if len(sys.argv) > 3 else METHODS
    main(seed0, count, methods, os.devnull)

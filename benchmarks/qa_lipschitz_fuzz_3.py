"""QA round 3 of the Lipschitz methods (issue 12 items 3 and 6): every method against the TRUE
local or global constant of small random and degenerate networks, computed independently.

Reference (plain numpy + scipy's HiGHS + Clarabel, none of polylip's code): the activation
cells of a piecewise-linear network realized on an open part of the region are enumerated by
depth-first search over the neurons, layer by layer; each split is an LP (an SOCP for a ball)
that maximizes the margin ``eps`` by which every pre-activation decided so far has its sign
(rows normalized: ``eps`` is a distance in input units) and, for a box or a ball, by which the
point lies inside the region. A cell with ``eps > TOL * scale`` is realized, one with
``eps < TOL_LOW * scale`` is not; between the two it is "ambiguous" and the truth is given as
an interval (``truth_lo`` without those cells, ``truth_hi`` with them). The constant is the
largest norm of a realized cell's Jacobian: l_inf input -> l_1 norm of the gradient, l_2
-> l_2 norm (vector outputs: max row l_1 norm for vector:inf, the spectral norm for vector:2
with l_2 input). Smooth activations (tanh, sigmoid, softplus, ELU): 20,000 samples of the
region give a value the upper bound must reach; the lower bound is checked at its witness.

Families: "gauss", "integer" (weights in -2..2), "coincident" (duplicated, negated, doubled and
parallel rows), "zero" (zero rows and columns), "dead" (biases of +-50: dead and always-on
units), "kink" (integer weights, biases that put pre-activations of every layer exactly at 0
at the center), "scale" (layers scaled by 1e-6 or 1e6). Activations ReLU, leaky ReLU (0.1,
1.5, 0), tanh, sigmoid, softplus, ELU (1, 0.3, 2.5). Norms l_inf and l_2; regions global, box
and ball of radius 1e-3, 0.3 or 5.

Checks per method: ``lower <= truth_hi`` (+1e-9 relative), ``upper >= truth_lo`` (-1e-7
relative; the MILP's stated margin is 1e-6), upper >= the sampled value, the witness in the
region, ``lower`` equal to the gradient norm recomputed there with this script's code, and the
witness off every kink (each kinked pre-activation nonzero, or the neuron locally constant).

Usage::

    PYTHONPATH=. nice -n 10 python3 benchmarks/qa_lipschitz_fuzz_3.py FIRST_SEED COUNT [METHODS]
"""
import itertools
import sys
import time
import traceback

import clarabel
import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

from polylip.errors import PolylipError
from polylip.nn import BallRegion, BoxRegion, Network, lipschitz

METHODS = ["product", "interval", "eclipse", "exact", "shor", "sdp", "lp", "lipsdp", "geolip",
           "dp", "milp", "bab", "auto"]
ACTS = ["relu", "relu", "relu", "leaky_relu:0.1", "leaky_relu:1.5", "leaky_relu:0", "tanh",
        "sigmoid", "softplus", "elu:1", "elu:0.3", "elu:2.5"]
FAMILIES = ["gauss", "integer", "coincident", "zero", "dead", "kink", "scale"]
TOL, TOL_LOW = 1e-8, 1e-12
MAX_LPS = 6000
#: Methods run with ``time_limit=METHOD_SECONDS`` (which also checks that they honour it).
LIMITED = ("lp", "sdp", "shor", "lipsdp", "geolip", "milp")
METHOD_SECONDS = 30.0


def act_fns(name):
    kind, _, a = name.partition(":")
    if kind == "relu":
        return (lambda z: np.maximum(z, 0), lambda z: (z > 0) * 1.0, (0.0, 1.0))
    if kind == "leaky_relu":
        al = float(a)
        return (lambda z: np.where(z > 0, z, al * z), lambda z: np.where(z > 0, 1.0, al),
                (al, 1.0))
    if kind == "tanh":
        return (np.tanh, lambda z: 1 - np.tanh(z) ** 2, None)
    if kind == "sigmoid":
        s = lambda z: 0.5 * (1 + np.tanh(z / 2))  # noqa: E731
        return (s, lambda z: s(z) * (1 - s(z)), None)
    if kind == "softplus":
        return (lambda z: np.logaddexp(0, z), lambda z: 0.5 * (1 + np.tanh(z / 2)), None)
    if kind == "elu":
        al = float(a)
        return (lambda z: np.where(z > 0, z, al * np.expm1(np.minimum(z, 0))),
                lambda z: np.where(z > 0, 1.0, al * np.exp(np.minimum(z, 0))), "elu")


def jacobians(Ws, bs, act, X):
    f, d, _ = act_fns(act)
    J = np.broadcast_to(np.eye(X.shape[1]), (len(X), X.shape[1], X.shape[1]))
    H, Zs = X, []
    for W, b in zip(Ws[:-1], bs[:-1]):
        Z = H @ W.T + b
        Zs.append(Z)
        J = d(Z)[:, :, None] * np.einsum("mk,bkn->bmn", W, J)
        H = f(Z)
    return np.einsum("mk,bkn->bmn", Ws[-1], J), Zs


def value(J, out, p):
    """Norm of the functional's gradient / of the Jacobian, batch (B, m, n) -> (B,)."""
    q = 1.0 if p == np.inf else 2.0
    if out == "scalar":
        g = J[:, 0, :]
    elif out.startswith("margin"):
        i, j = map(int, out.split(":")[1].split(","))
        g = J[:, i, :] - J[:, j, :]
    elif out == "vector:inf":
        return np.linalg.norm(J, ord=q, axis=2).max(axis=1)
    elif out == "vector:2":
        assert p == 2.0
        return np.linalg.norm(J, 2, axis=(1, 2))
    return np.linalg.norm(g, ord=q, axis=1)


def margin_lp(R, h, region, c0, r, n):
    """max eps: R x + eps <= h (rows of norm 1), x inside the region by eps. (eps, x).
    Solved in the region's units (x = c0 + r y, eps returned in units of r): HiGHS's
    tolerances are absolute, and a region of radius 1e-11 is below them in the units of x."""
    if region != "global":
        eps, y = margin_unit(R, (h - R @ c0) / r, region, np.zeros(n), 1.0, n)
        return eps, (None if y is None else c0 + r * y)
    return margin_unit(R, h, region, c0, r, n)


def margin_unit(R, h, region, c0, r, n):
    if region == "ball":
        m = R.shape[0]
        A = np.zeros((m + 1 + n + 1, n + 1))
        b = np.zeros(m + 1 + n + 1)
        A[:m, :n], A[:m, n], b[:m] = R, 1.0, h
        A[m, n], b[m] = 1.0, 1.0
        A[m + 1, n], b[m + 1] = 1.0, r          # s0 = r - eps
        A[m + 2:, :n], b[m + 2:] = -np.eye(n), -c0  # s = x - c0
        q = np.zeros(n + 1)
        q[n] = -1.0
        st = clarabel.DefaultSettings()
        st.verbose = False
        sol = clarabel.DefaultSolver(sp.csc_matrix((n + 1, n + 1)), q, sp.csc_matrix(A), b,
                                     [clarabel.NonnegativeConeT(m + 1),
                                      clarabel.SecondOrderConeT(n + 1)], st).solve()
        s = str(sol.status)
        if "Infeasible" in s:
            return -np.inf, None
        if not s.endswith("Solved"):
            return np.nan, None
        z = np.asarray(sol.x)
        return float(z[n]), z[:n]
    rows, rhs = [np.hstack([R, np.ones((R.shape[0], 1))])], [h]
    if region == "box":
        I = np.eye(n)
        rows += [np.hstack([I, np.ones((n, 1))]), np.hstack([-I, np.ones((n, 1))])]
        rhs += [c0 + r, -(c0 - r)]
    cost = np.zeros(n + 1)
    cost[n] = -1.0
    res = linprog(cost, A_ub=np.vstack(rows), b_ub=np.concatenate(rhs),
                  bounds=[(None, None)] * n + [(None, 1.0)], method="highs")
    if res.status == 2:
        return -np.inf, None
    if res.status != 0:
        return np.nan, None
    return float(-res.fun), res.x[:n]


def true_constant(Ws, bs, act, out, p, region, c0, r):
    """(truth_lo, truth_hi, cells, ambiguous, lps) or None past MAX_LPS LPs."""
    slopes = act_fns(act)[2]
    n = Ws[0].shape[1]
    scale = 1.0  # margins come in units of the radius (of x for the global region)
    counter = {"lps": 0, "cells": 0, "amb": 0}
    best = [-np.inf, -np.inf]  # without / with the ambiguous cells

    def lp(R, h):
        counter["lps"] += 1
        if counter["lps"] > MAX_LPS:
            raise OverflowError
        return margin_lp(R, h, region, c0, r, n)

    def leaf(A, c, ds, amb):
        # ds: derivatives of every hidden layer; J = W_L D ... D W_1
        J = Ws[0]
        for W, d in zip(Ws[1:], ds):
            J = W @ (d[:, None] * J)
        v = float(value(J[None], out, p)[0])
        counter["cells"] += 1
        best[1] = max(best[1], v)
        if not amb:
            best[0] = max(best[0], v)
        counter["amb"] += amb

    def layer(k, A, c, R, h, ds, amb):
        if k == len(Ws) - 1:
            return leaf(A, c, ds, amb)
        neuron(k, 0, A, c, R, h, ds, np.zeros(A.shape[0]), amb)

    def neuron(k, j, A, c, R, h, ds, d, amb):
        if j == A.shape[0]:
            W, b = Ws[k + 1], bs[k + 1]
            return layer(k + 1, W @ (d[:, None] * A), W @ (d * c) + b, R, h, ds + [d], amb)
        a, cc = A[j], c[j]
        size = np.abs(A[j]).sum()
        ref = np.abs(Wabs[k][j]).sum() + 1e-300
        if size <= 1e-12 * ref:  # constant pre-activation: one side, any slope if 0
            d2 = d.copy()
            d2[j] = slopes[1] if cc > 0 else slopes[0]
            return neuron(k, j + 1, A, c, R, h, ds, d2, amb)
        nr = np.linalg.norm(a)
        if region != "global":  # a hyperplane that misses the region: its side, no LP
            zc = a @ c0 + cc
            reach = r * (np.abs(a).sum() if region == "box" else nr)
            if abs(zc) > reach * (1 + 1e-9):
                d2 = d.copy()
                d2[j] = slopes[1] if zc > 0 else slopes[0]
                return neuron(k, j + 1, A, c, R, h, ds, d2, amb)
        kids = []
        for sg in (1.0, -1.0):
            R2 = np.vstack([R, -sg * a / nr])
            h2 = np.concatenate([h, [sg * cc / nr]])
            eps, _ = lp(R2, h2)
            kids.append((sg, eps, R2, h2))
        for sg, eps, R2, h2 in kids:
            if not (eps > TOL_LOW * scale) and not np.isnan(eps):
                continue
            d2 = d.copy()
            d2[j] = slopes[1] if sg > 0 else slopes[0]
            neuron(k, j + 1, A, c, R2, h2, ds, d2, amb or not (eps > TOL * scale))

    # |W| products for the flatness test of deeper pre-activations
    Wabs, M = [], np.abs(Ws[0])
    for k in range(len(Ws) - 1):
        Wabs.append(M)
        M = np.abs(Ws[k + 1]) @ M
    try:
        layer(0, Ws[0], bs[0], np.zeros((0, n)), np.zeros(0), [], False)
    except OverflowError:
        return None
    return best[0], best[1], counter["cells"], counter["amb"], counter["lps"]


def make_net(rng, family):
    L = int(rng.integers(1, 4))
    n0 = int(rng.integers(2, 7))
    hid = [int(rng.integers(2, 9)) for _ in range(L)]
    if L == 3:  # keep the arrangement enumerable
        hid = [min(h, 5) for h in hid]
    m = int(rng.integers(1, 4))
    sizes = [n0] + hid + [m]
    Ws, bs = [], []
    integer = family in ("integer", "coincident", "kink", "zero")
    for k, (a, b_) in enumerate(zip(sizes[:-1], sizes[1:])):
        if integer:
            W = rng.integers(-2, 3, (b_, a)).astype(float)
            b = rng.integers(-2, 3, b_).astype(float)
        else:
            W = rng.standard_normal((b_, a))
            b = 0.5 * rng.standard_normal(b_)
        hidden = k < L
        if family == "coincident" and hidden and b_ >= 2:
            for j in range(1, b_):
                if rng.random() < 0.6:
                    i = int(rng.integers(0, j))
                    how = rng.choice(["same", "neg", "double", "parallel"])
                    f = {"same": 1.0, "neg": -1.0, "double": 2.0, "parallel": 1.0}[how]
                    W[j] = f * W[i]
                    b[j] = f * b[i] + (float(rng.integers(-2, 3)) if how == "parallel" else 0)
        if family == "zero":
            if rng.random() < 0.7:
                W[int(rng.integers(0, b_))] = 0.0
            if rng.random() < 0.5:
                W[:, int(rng.integers(0, a))] = 0.0
        if family == "dead" and hidden:
            b[rng.random(b_) < 0.3] = -50.0
            b[rng.random(b_) < 0.3] = 50.0
        if family == "scale":
            s = float(rng.choice([1e-6, 1e6, 1.0]))
            W, b = W * s, b * s
        Ws.append(W)
        bs.append(b)
    c0 = np.round(rng.standard_normal(n0) * 2) / 2
    if family == "kink":  # pre-activations exactly 0 at the center, layer by layer
        h = c0
        for k in range(L):
            z = Ws[k] @ h + bs[k]
            sel = rng.random(z.size) < 0.5
            bs[k][sel] -= z[sel]
            z = Ws[k] @ h + bs[k]
            h = np.maximum(z, 0)
    return sizes, Ws, bs, c0


def in_region(x, reg, c0, r):
    if reg == "global":
        return True
    if reg == "box":
        return bool(np.all(np.abs(x - c0) <= r * (1 + 1e-9) + 1e-12))
    return bool(np.linalg.norm(x - c0) <= r * (1 + 1e-9) + 1e-12)


def on_kink(Ws, bs, act, x):
    """A kinked pre-activation exactly zero at x whose neuron is not locally constant."""
    sl = act_fns(act)[2]
    kinked = (isinstance(sl, tuple) and sl[0] != sl[1]) or (sl == "elu" and act != "elu:1")
    if not kinked:
        return False
    f, d, _ = act_fns(act)
    h, J = x, np.eye(x.size)
    for W, b in zip(Ws[:-1], bs[:-1]):
        z = W @ h + b
        JW = W @ J
        scale = np.abs(W) @ np.abs(h) + np.abs(b)
        flat = np.abs(JW).sum(axis=1) <= 1e-12 * (np.abs(W) @ np.abs(J)).sum(axis=1)
        if np.any((np.abs(z) <= 1e-12 * scale) & ~flat):
            return True
        J = d(z)[:, None] * JW
        h = f(z)
    return False


def samples(rng, reg, c0, r, N, bscale):
    n = c0.size
    if reg == "global":
        return rng.uniform(-8, 8, (N, n)) * bscale
    if reg == "box":
        S = c0 + r * rng.uniform(-1, 1, (N, n))
        S[:2 ** n] = c0 + r * np.array(list(itertools.product([-1, 1], repeat=n)))
        return S
    D = rng.standard_normal((N, n))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    return c0 + r * D * rng.uniform(0, 1, (N, 1)) ** (1 / n)


def main(seed0, count, methods):
    fails, stats = [], {"nets": 0, "truth": 0, "calls": 0, "refused": 0, "ambiguous": 0,
                        "statuses": {}}
    t_start = time.time()
    for seed in range(seed0, seed0 + count):
        rng = np.random.default_rng(seed)
        family = str(rng.choice(FAMILIES))
        act = str(rng.choice(ACTS))
        sizes, Ws, bs, c0 = make_net(rng, family)
        m = sizes[-1]
        p = float(rng.choice([np.inf, 2.0]))
        outs = ["scalar"] if m == 1 else [f"margin:{m - 1},0", "vector:inf"] + (
            ["vector:2"] if p == 2.0 else [])
        out = str(rng.choice(outs))
        reg = str(rng.choice(["global", "box", "box", "ball"]))
        r = float(rng.choice([1e-3, 0.3, 5.0]))
        if family == "kink" and reg == "global":
            reg = "box"
        region = None if reg == "global" else (BoxRegion(c0, r) if reg == "box"
                                               else BallRegion(c0, r))
        tag = f"{seed} {family} {act} {sizes} {out} p={p} {reg} r={r}"
        try:
            net = Network.from_weights(Ws, bs, activation=act, output=out)
        except PolylipError as e:
            print(tag, "net refused:", e)
            continue
        stats["nets"] += 1
        pl = isinstance(act_fns(act)[2], tuple)
        truth = true_constant(Ws, bs, act, out, p, reg, c0, r) if pl else None
        bscale = 1 + max(np.abs(b).max() / max(np.abs(W).max(), 1e-300) for W, b in zip(Ws, bs))
        S = samples(rng, reg, c0, r, 20000, min(bscale, 1e3))
        sampled = float(value(jacobians(Ws, bs, act, S)[0], out, p).max())
        if truth is not None:
            stats["truth"] += 1
            stats["ambiguous"] += truth[3] > 0
            if truth[1] < sampled * (1 - 1e-9) - 1e-300:
                print("NOTE reference below sampled", tag, truth, sampled)
        t_lo = truth[0] if truth else sampled
        t_hi = truth[1] if truth else np.inf
        line = []
        for meth in methods:
            stats["calls"] += 1
            try:
                kw = {"budget": 4} if meth == "auto" else {}
                if meth in LIMITED:
                    kw["options"] = {"time_limit": METHOD_SECONDS}
                t_call = time.perf_counter()
                res = lipschitz(net, {np.inf: "inf", 2.0: "2"}[p], method=meth, region=region,
                                **kw)
            except PolylipError as e:
                stats["refused"] += 1
                line.append(f"{meth}=R")
                continue
            except Exception as e:  # a crash is a failure
                fails.append((tag, meth, "CRASH", f"{type(e).__name__}: {e}"))
                traceback.print_exc()
                continue
            up, lo = res.upper, res.lower
            took = time.perf_counter() - t_call
            line.append(f"{meth}={'-' if up is None else f'{up:.6g}'}/"
                        f"{'-' if lo is None else f'{lo:.6g}'}"
                        + (f"({res.status},{took:.0f}s)" if took > 10 or res.status not in (
                            "ok", "optimal") else ""))
            stats["statuses"][res.status] = stats["statuses"].get(res.status, 0) + 1
            if up is not None:
                if truth and up < t_lo * (1 - 1e-7) - 1e-300:
                    fails.append((tag, meth, "upper<truth", up, truth[:2]))
                if up < sampled * (1 - 1e-7) - 1e-300:
                    fails.append((tag, meth, "upper<sampled", up, sampled))
            if lo is not None:
                if lo > t_hi * (1 + 1e-9) + 1e-300:
                    fails.append((tag, meth, "lower>truth", lo, truth[:2], list(res.witness)))
                x = np.asarray(res.witness, float)
                if not in_region(x, reg, c0, r):
                    fails.append((tag, meth, "witness outside", list(x)))
                v = float(value(jacobians(Ws, bs, act, x[None])[0], out, p)[0])
                if abs(v - lo) > 1e-7 * max(abs(v), 1e-300) + 1e-20:  # 1e-20: saturated sigmoids
                    fails.append((tag, meth, "lower not attained", lo, v))
                if on_kink(Ws, bs, act, x):
                    fails.append((tag, meth, "witness on a kink", list(x)))
            # "exact" claims its upper bound is the true constant; "bab" and the true-constant
            # "milp" only when they close (status "optimal")
            claims_true = meth == "exact" or (meth in ("bab", "milp") and res.status == "optimal")
            if claims_true and truth and up is not None and t_lo == t_hi and (
                    meth != "exact" or (res.details or {}).get("true") is not None) and abs(
                    up - t_lo) > (2e-6 * (1 + t_lo) if meth == "milp" else 1e-6 * max(
                    t_lo, 1e-300)) and res.status != "time_limit":
                fails.append((tag, meth, "true constant claimed, not the truth", up, truth[:2]))
            if res.status == "optimal" and truth and up is not None and abs(
                    up - t_lo) > 1e-6 * max(t_lo, 1e-300) and t_lo == t_hi:
                fails.append((tag, meth, "optimal but not the truth", up, truth[:2]))
        tr = "-" if truth is None else (f"{truth[0]:.6g}" if truth[0] == truth[1] else
                                        f"[{truth[0]:.6g},{truth[1]:.6g}]")
        print(f"{tag} truth={tr} cells={truth[2] if truth else '-'} sampled={sampled:.6g} "
              + " ".join(line), flush=True)
        for f in fails[-20:]:
            if f[0] == tag:
                print("FAIL", f, flush=True)
    print(f"SUMMARY nets={stats['nets']} with_truth={stats['truth']} "
          f"ambiguous={stats['ambiguous']} calls={stats['calls']} refused={stats['refused']} "
          f"failures={len(fails)} statuses={stats['statuses']} wall={time.time() - t_start:.0f}s")
    for f in fails:
        print("FAIL", f)


def selftest():
    """The reference on issue 12's network: the true local constant is 5 (the MILP said 8)."""
    W1 = np.array([[2, -1], [-1, -2], [0, -2], [-2, 1]], float)
    Ws, bs = [W1, np.array([[1, 2, -1, -1]], float)], [np.array([-1, 0, -1, 1.0]),
                                                        np.array([1.9012])]
    t = true_constant(Ws, bs, "relu", "scalar", np.inf, "box", np.array([-0.3558, 1.1811]), 1.5)
    print("issue network: truth", t)
    assert t[0] == t[1] == 5.0


if __name__ == "__main__" and sys.argv[1:] == ["selftest"]:
    selftest()
elif __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]),
         sys.argv[3].split(",") if len(sys.argv) > 3 else METHODS)

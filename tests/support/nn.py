"""Independent reference computations for the nn tests (brute force, no polylip.nn code).

Not a test module itself; the other tests_nn_* files import it."""

import itertools

import numpy as np
from scipy.optimize import linprog


def random_net(seed, sizes, bias=True, scale=1.0):
    rng = np.random.default_rng(seed)
    Ws = [rng.standard_normal((sizes[k + 1], sizes[k])) * scale for k in range(len(sizes) - 1)]
    bs = [rng.standard_normal(sizes[k + 1]) * 0.5 if bias else np.zeros(sizes[k + 1])
          for k in range(len(sizes) - 1)]
    return Ws, bs


def grad_for_pattern(Ws, pattern, u):
    """W_1^T diag(s_1) ... W_L^T u."""
    g = Ws[-1].T @ u
    for k in range(len(Ws) - 2, -1, -1):
        g = Ws[k].T @ (pattern[k] * g)
    return g


def dual_norm(g, p):
    return {np.inf: np.sum(np.abs(g)), 2.0: np.linalg.norm(g), 1.0: np.max(np.abs(g))}[p]


def patterns(widths, values=(0.0, 1.0)):
    total = sum(widths)
    for bits in itertools.product(values, repeat=total):
        out, i = [], 0
        for w in widths:
            out.append(np.array(bits[i:i + w]))
            i += w
        yield out


def realizable(Ws, bs, pattern, box=None, alpha=0.0):
    """LP: is {x in box: every neuron strictly on the side given by the pattern} non-empty?
    pattern entries: 1 -> z > 0, alpha -> z < 0 (alpha != 1)."""
    n = Ws[0].shape[1]
    A_rows, rhs = [], []
    A, c = Ws[0], bs[0]
    for k in range(len(Ws) - 1):
        sign = np.where(pattern[k] == 1.0, 1.0, -1.0)
        # sign * (A x + c) >= eps  ->  -sign*A x + eps <= sign*c
        A_rows.append(np.hstack([-sign[:, None] * A, np.ones((A.shape[0], 1))]))
        rhs.append(sign * c)
        D = pattern[k]
        A, c = Ws[k + 1] @ (D[:, None] * A), Ws[k + 1] @ (D * c) + bs[k + 1]
    bounds = ([(-100.0, 100.0)] * n if box is None else list(zip(*box))) + [(None, 1.0)]
    obj = np.zeros(n + 1)
    obj[-1] = -1.0
    res = linprog(obj, A_ub=np.vstack(A_rows), b_ub=np.concatenate(rhs), bounds=bounds,
                  method="highs")
    return res.status == 0 and -res.fun > 1e-7


def brute_force(Ws, bs, p, u=None, box=None, values=(0.0, 1.0)):
    """(formal, true) by enumerating all patterns of all hidden neurons."""
    u = np.ones(Ws[-1].shape[0]) if u is None else u
    widths = [W.shape[0] for W in Ws[:-1]]
    formal, true = 0.0, 0.0
    for pat in patterns(widths, values):
        v = dual_norm(grad_for_pattern(Ws, pat, u), p)
        formal = max(formal, v)
        if v > true and realizable(Ws, bs, pat, box, alpha=values[0]):
            true = v
    return formal, true


def numeric_grad_norms(Ws, bs, X, p, act=lambda z: np.maximum(z, 0), u=None, h=1e-6):
    """Central finite differences of f at the rows of X; returns ||grad||_q."""
    u = np.ones(Ws[-1].shape[0]) if u is None else u

    def f(Y):
        H = Y
        for W, b in zip(Ws[:-1], bs[:-1]):
            H = act(H @ W.T + b)
        return (H @ Ws[-1].T + bs[-1]) @ u

    n = X.shape[1]
    G = np.stack([(f(X + h * np.eye(n)[i]) - f(X - h * np.eye(n)[i])) / (2 * h)
                  for i in range(n)], axis=1)
    return np.array([dual_norm(g, p) for g in G])

"""A lower bound on the *formal* Lipschitz constant: the best vertex pattern of slopes found.

The formal constant over slope ranges ``lo_j <= a_j' <= hi_j`` (per hidden neuron) is the
largest ``||grad||_q`` of ``u^T W_L D_H W_H ... D_1 W_1`` over diagonal ``D_k`` with entries in
the ranges, realizable by an input or not. Every relaxation over slope bounds (LipSDP,
ECLipsE, Shor of the gradient POP, GeoLIP) bounds it from above, so none can return a value
below it: when such an upper bound meets this value and the lower bound (realizable patterns,
:mod:`polylip.nn.lower`) stays below, the gap left is the formal constant's over the true one,
which only a bound that sees realizability closes. This module says where that floor lies.

The norm is convex in each ``D_k`` (the others fixed), so the maximum over the box is at a
vertex: every slope at an end of its range. :func:`formal_pattern_lower` climbs over
vertices by block-coordinate ascent: with ``t`` the dual vector of the current gradient
(``||t||_p <= 1``, ``t . g = ||g||_q``), ``t . g`` is linear in each layer's slopes, so one
layer at a time is set to its best response (slope ``hi`` where the product of the forward
vector of ``t`` and the backward vector of ``u`` is positive, ``lo`` where it is negative);
then ``t`` is renewed. Each step does not decrease ``||g||_q``. All starts run at once as one
batch (random vertices and the all-``hi`` one).

The value is ``||g||_q`` of the returned pattern computed in floating point (relative error
about ``depth x width x 1e-16``): a diagnostic of where the floor lies, not a certified bound.

Examples
--------
>>> import numpy as np
>>> from polylip.nn.network import Network
>>> net = Network.from_weights([np.array([[1.0, 1.0], [1.0, -1.0]]), np.array([[1.0, -1.0]])])
>>> res = formal_pattern_lower(net, 2)
>>> res.value, [s.tolist() for s in res.pattern]   # slopes (1, 1): gradient (0, 2)
(2.0, [[1.0, 1.0]])
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from polylip.nn.network import _matmul_left, _matmul_right
from polylip.nn.norms import dual, dual_vector, parse_norm, vec_norm

try:  # pragma: no cover - threadpoolctl ships with scikit-learn
    from threadpoolctl import threadpool_limits
except ImportError:  # pragma: no cover
    threadpool_limits = None

__all__ = ["formal_pattern_lower", "FormalPattern", "FORMAL_STARTS", "FORMAL_SWEEPS",
           "FORMAL_WORK", "sweep_cost"]

#: Starts of the ascent (random vertices, and all slopes at ``hi``). Measured on the digits MLP
#: 64-200-200-200-10, margin 3-8, l_2: 32 starts 32.98 in 0.1 s, the same value as 200 starts
#: (benchmarks/bench_lipschitz_l2.py's diagnostic); LipSDP-Neuron is 33.65 there.
FORMAL_STARTS = 32
#: Most sweeps over the layers per start (the ascent stops when no slope changes; the digits
#: MLPs settle in under 15).
FORMAL_SWEEPS = 50
#: Multiply-adds the ascent may spend by default (one sweep of one start costs about
#: ``2 H nnz``: ``H`` hidden layers, ``nnz`` weights): fewer starts where that does not
#: allow :data:`FORMAL_STARTS` of ten sweeps, none where one sweep of one start exceeds it (a
#: 100 x 160 network: 5e8 a sweep). About 0.1-0.5 s at the loaded rate of
#: :data:`polylip.nn.lower.WORK_RATE`; the 64-200-200-200-10 MLP needs 1.8e8 for 32 starts.
FORMAL_WORK = 2e8


@dataclass(frozen=True)
class FormalPattern:
    """``value``: ``||grad||_q`` of ``pattern`` (one slope vector per hidden layer, every slope
    at an end of its range); ``starts`` and ``sweeps`` run; ``stopped``: the deadline or the work limit ended it
    before every start settled."""

    value: float
    pattern: list
    starts: int
    sweeps: int
    stopped: bool = False


def sweep_cost(net) -> float:
    """Multiply-adds of one sweep of one start: each hidden layer's best response runs the
    forward vector up to it and the backward vector down to it, about ``2 H nnz`` in all."""
    nnz = float(sum(W.nnz if sp.issparse(W) else np.size(W) for W, _ in net.affine_layers))
    return 2.0 * max(1, net.num_hidden) * nnz


def formal_pattern_lower(net, norm=2, derivative_bounds=None, *, starts: int = FORMAL_STARTS,
                         sweeps: int = FORMAL_SWEEPS, seed: int = 0,
                         work: float | None = FORMAL_WORK,
                         deadline: float | None = None) -> FormalPattern | None:
    """The largest ``||grad||_q`` found over vertex slope patterns (see the module docstring).

    Parameters
    ----------
    net : Network
        A scalar or margin output (a fixed functional ``u``); None is returned for a vector
        output.
    norm : {2, "inf", 1}
        Input norm ``p`` (the value is the dual norm ``q`` of the gradient).
    derivative_bounds : list of (lo, hi), optional
        Slope ranges per hidden layer (default: the activations' global derivative ranges).
    starts, sweeps, seed : int
        Batch of starts, most sweeps per start, the random vertices' seed.
    work : float or None
        Multiply-adds it may spend (:func:`sweep_cost` per sweep and start, counted before each
        sweep): fewer starts than ``starts`` where ten sweeps of them would not fit, None
        returned where one sweep of one start does not; None: no limit.
    deadline : float, optional
        ``time.perf_counter()`` value: stop between sweeps (the best pattern so far is
        returned, ``stopped=True``).

    Returns
    -------
    FormalPattern or None
        None for a vector output, or when ``work`` does not pay for one sweep of one start.
    """
    # one BLAS thread: the products are (starts x width) by (width x width); on the shared
    # 2-core machines two threads made 32 starts on the 64-200-200-200-10 MLP take 1.5 s
    # instead of 0.03 s
    if threadpool_limits is None:  # pragma: no cover
        return _ascent(net, norm, derivative_bounds, starts, sweeps, seed, work, deadline)
    with threadpool_limits(1, user_api="blas"):
        return _ascent(net, norm, derivative_bounds, starts, sweeps, seed, work, deadline)


def _ascent(net, norm, derivative_bounds, starts, sweeps, seed, work, deadline):
    u = net.functional()
    if u is None:
        return None
    p = parse_norm(norm)
    q = dual(p)
    layers = net.affine_layers
    H = net.num_hidden
    # the weights as they are (a convolution's CSR matrix stays sparse: memory before work)
    Ws = [W if sp.issparse(W) else np.asarray(W, dtype=float) for W, _ in layers]
    c = _matmul_left(np.asarray(u, dtype=float)[None, :], Ws[-1])[0]
    if derivative_bounds is None:
        derivative_bounds = [act.derivative_range(np.full(n, -np.inf), np.full(n, np.inf))
                             for act, n in zip(net.activations, net.widths)]
    lo = [np.broadcast_to(np.asarray(a, dtype=float), (n,)).astype(float)
          for (a, _), n in zip(derivative_bounds, net.widths)]
    hi = [np.broadcast_to(np.asarray(b, dtype=float), (n,)).astype(float)
          for (_, b), n in zip(derivative_bounds, net.widths)]
    rng = np.random.default_rng(seed)
    m = max(1, int(starts))
    per = sweep_cost(net)
    if work is not None:
        if per > work:
            return None
        m = max(1, min(m, int(work / (10.0 * per))))
    S = [np.where(rng.random((m, n)) < 0.5, l_[None, :], h_[None, :])
         for l_, h_, n in zip(lo, hi, net.widths)]
    for k in range(H):
        S[k][0] = hi[k]  # one start with every slope at its upper end

    def grad(S):
        g = np.broadcast_to(c, (m, c.size))
        for k in range(H - 1, -1, -1):
            g = _matmul_left(g * S[k], Ws[k])
        return g

    if H == 0:
        g = c[None, :]
        return FormalPattern(float(vec_norm(g, q)[0]), [], 1, 0)
    done = 0
    stopped = False
    active = np.ones(m, dtype=bool)
    order = rng.permutation(H)
    spent = 0.0
    for done in range(1, int(sweeps) + 1):
        if (deadline is not None and time.perf_counter() > deadline) or (
                work is not None and done > 1 and spent + m * per > work):
            stopped, done = True, done - 1
            break
        spent += m * per
        t = dual_vector(grad(S), p)
        changed = np.zeros(m, dtype=bool)
        for k in order:
            a = _matmul_right(t, Ws[0])  # the forward vector of t at layer k's pre-activations
            for j in range(k):
                a = _matmul_right(a * S[j], Ws[j + 1])
            b = np.broadcast_to(c, (m, c.size))  # the backward vector of u at layer k
            for j in range(H - 1, k, -1):
                b = _matmul_left(b * S[j], Ws[j])
            gain = a * b
            new = np.where(gain > 0, hi[k][None, :], np.where(gain < 0, lo[k][None, :], S[k]))
            new[~active] = S[k][~active]
            changed |= np.any(new != S[k], axis=1)
            S[k] = new
        active &= changed
        if not active.any():
            break
    vals = vec_norm(grad(S), q)
    best = int(np.argmax(vals))
    return FormalPattern(float(vals[best]), [s[best].copy() for s in S], m, done, stopped)

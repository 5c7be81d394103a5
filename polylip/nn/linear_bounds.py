"""Pre-activation bounds by backward linear bound propagation (CROWN) over a box or a ball.

Interval bound propagation (IBP, :mod:`polylip.nn.regions`) loses the correlations between
neurons: after two or three layers its intervals are much wider than the pre-activations can
be, so few neurons are proven stable and every local method works with wide derivative ranges.
Linear bound propagation (Zhang et al. 2018, "Efficient neural network robustness
certification with general activation functions", CROWN) keeps them: each activation is
enclosed between two lines on its pre-activation interval,

    sl * z + bl  <=  a(z)  <=  su * z + bu      for z in [lo, hi],

and the pre-activations ``z_k`` of layer ``k`` are bounded by substituting these lines
backwards, layer by layer, down to the input: ``z_k <= Lambda x + const`` with every
coefficient's sign deciding which line is used. The input region then bounds ``Lambda x``
exactly (box: ``Lambda c +- r ||Lambda_i||_1``; ball: ``+- r ||Lambda_i||_2``).

The lines come from :meth:`polylip.nn.activations.Activation.linear_bounds`: for any
activation, the derivative range ``[dl, dh]`` on the interval gives valid lines (slope ``dl``
or ``dh`` through an end point); convex activations (ReLU, leaky ReLU with ``alpha <= 1``,
ELU with ``alpha <= 1``, softplus) use the chord as the upper line.

Each layer's bounds are intersected with IBP's, so they are never wider than IBP's, and are
widened by a rounding margin (``1e-12`` times the magnitudes summed) before the intersection, so
a pre-activation bound never excludes a reachable value through floating-point error (a neuron
at exactly zero is not declared stable by accident). Cost: layer ``k`` needs a backward pass
through the ``k`` layers below it with an ``n_k``-row dense matrix; layers whose pass would
exceed :data:`MAX_ENTRIES` matrix entries keep their IBP bounds.

Examples
--------
>>> import numpy as np
>>> from polylip.nn.network import Network
>>> from polylip.nn.regions import BoxRegion
>>> W1 = np.array([[1.0, 1.0], [1.0, -1.0]])
>>> W2 = np.array([[1.0, 1.0]])        # z2 = relu(x1 + x2) + relu(x1 - x2)
>>> net = Network.from_weights([W1, W2, np.ones((1, 1))], [None, [-2.5], None])
>>> box = BoxRegion([0.0, 0.0], 1.0)
>>> ibp = BoxRegion([0.0, 0.0], 1.0, bounds="ibp").propagate(net)
>>> float(ibp.pre_hi[1][0]), round(float(box.propagate(net).pre_hi[1][0]), 9)  # true max -0.5
(1.5, 0.5)
"""

from __future__ import annotations

import logging

import numpy as np
import scipy.sparse as sp

__all__ = ["crown_layer_bounds", "MAX_ENTRIES", "ROUNDING"]

log = logging.getLogger(__name__)

#: Largest dense coefficient matrix (rows x columns) one backward pass may form; larger layers
#: keep their IBP bounds (4e7 float64 entries is 320 MB).
MAX_ENTRIES = 4e7
#: Relative rounding margin added to every linear bound (times the magnitudes it sums).
ROUNDING = 1e-12


def _right_multiply(L, W):
    """``L @ W`` for a dense ``L`` and a dense or sparse ``W`` (dense result)."""
    if sp.issparse(W):
        return np.asarray((sp.csr_matrix(W).T @ L.T).T)
    return L @ np.asarray(W, dtype=float)


def _input_term(region, L):
    """``(min, max)`` of ``L x`` over the region, and the magnitude for the rounding margin."""
    mid = L @ region.center
    if region.kind == "box":
        rad = region.radius * np.abs(L).sum(axis=1)
    else:
        rad = region.radius * np.sqrt((L * L).sum(axis=1))
    mag = np.abs(L) @ np.abs(region.center) + rad
    return mid - rad, mid + rad, mag


def _bound_layer(region, layers, relax, k):
    """Linear bounds of the pre-activations of hidden layer ``k`` (0-based), using the lines
    ``relax[j] = (sl, bl, su, bu)`` of the layers below. Returns ``(lo, hi)``."""
    W, b = layers[k]
    n = W.shape[0]
    # coefficients on a_{k-1} (or x) for the upper bound
    up = W.toarray() if sp.issparse(W) else np.array(W, dtype=float)
    lo_coef = up.copy()
    bias = np.zeros(n) if b is None else np.asarray(b, dtype=float)
    const_up, const_lo = bias.copy(), bias.copy()
    mag = np.abs(bias)
    for j in range(k - 1, -1, -1):
        sl, bl, su, bu = relax[j]
        # upper: positive coefficients take the upper line, negative ones the lower line
        pos, neg = np.maximum(up, 0.0), np.minimum(up, 0.0)
        const_up = const_up + pos @ bu + neg @ bl
        mag = mag + np.abs(up) @ (np.abs(bu) + np.abs(bl))
        up = pos * su + neg * sl
        pos, neg = np.maximum(lo_coef, 0.0), np.minimum(lo_coef, 0.0)
        const_lo = const_lo + pos @ bl + neg @ bu
        mag = mag + np.abs(lo_coef) @ (np.abs(bu) + np.abs(bl))
        lo_coef = pos * sl + neg * su
        Wj, bj = layers[j]
        if bj is not None:
            bj = np.asarray(bj, dtype=float)
            const_up = const_up + up @ bj
            const_lo = const_lo + lo_coef @ bj
            mag = mag + (np.abs(up) + np.abs(lo_coef)) @ np.abs(bj)
        up = _right_multiply(up, Wj)
        lo_coef = _right_multiply(lo_coef, Wj)
    _, hi_x, mag_up = _input_term(region, up)
    lo_x, _, mag_lo = _input_term(region, lo_coef)
    margin = ROUNDING * (mag + mag_up + mag_lo) * (k + 2)
    return const_lo + lo_x - margin, const_up + hi_x + margin


def _pass_entries(layers, k) -> float:
    """Entries of the largest coefficient matrix of layer ``k``'s backward pass."""
    n = layers[k][0].shape[0]
    return float(n) * max(W.shape[1] for W, _ in layers[:k + 1])


def crown_layer_bounds(region, net, ibp_step):
    """Pre-activation bounds of every hidden layer, CROWN intersected with IBP.

    ``ibp_step(k, lo_prev, hi_prev)`` returns IBP's bounds of layer ``k`` from the (tightened)
    bounds of layer ``k - 1``'s pre-activations (ignored for ``k = 0``). Returns the lists
    ``(lo, hi)``, one array per hidden layer.
    """
    layers, acts = net.affine_layers, net.activations
    los, his, relax = [], [], []
    for k, act in enumerate(acts):
        zl, zh = ibp_step(k, los[-1] if los else None, his[-1] if his else None)
        if k > 0 and _pass_entries(layers, k) <= MAX_ENTRIES:
            cl, ch = _bound_layer(region, layers, relax, k)
            zl, zh = np.maximum(zl, cl), np.minimum(zh, ch)
            zh = np.maximum(zh, zl)  # rounding can cross them on a point region
        elif k > 0:
            log.info("layer %d keeps its IBP bounds: its backward pass would form %.3g entries",
                     k, _pass_entries(layers, k))
        los.append(zl)
        his.append(zh)
        relax.append(act.linear_bounds(zl, zh))
    return los, his

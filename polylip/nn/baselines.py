"""Baselines that answer at once: the product of layer norms, and interval bounds on the gradient.

For ``f = u^T W_L a(W_{L-1} ... a(W_1 x + b_1) ...)`` and input norm ``p``, the mean value
theorem applied neuron by neuron gives ``a(z) - a(z') = D (z - z')`` with ``|D_jj| <= c_j``, the
largest absolute derivative of neuron ``j`` over its range. Hence

``L <= ||diag(c_{L-1}) W_L^T u||_q  *  prod_{k=1}^{L-1} ||W_k diag(c_{k-1})||_{p->p}``

with ``c_0 = 1`` (and ``||W_L diag(c_{L-1})||_{p->r}`` for a vector output with norm ``r``).
Globally ``c`` is the global derivative bound (1 for ReLU), which gives the classic product of
layer norms (l_inf: max absolute row sums; l_2: spectral norms). Over a local region, ``c``
comes from interval bound propagation, so stably-off neurons (``c = 0``) drop out.

Examples
--------
>>> import numpy as np
>>> from polylip.nn.network import Network
>>> net = Network.from_weights([np.array([[1.0, -2.0], [0.5, 0.5]]), np.array([[1.0, 1.0]])])
>>> product_bound(net, "inf")
6.0

**Interval gradient bound** (the Fast-Lip idea of Weng et al. 2018, "Towards fast computation of
certified robustness for ReLU networks"): every Jacobian ``J = W_L D_{L-1} W_{L-1} ... D_1 W_1``
with each ``D_k`` diagonal in its derivative ranges lies in an interval matrix, computed from
the output backwards: start from ``u^T W_L`` (or ``W_L``), multiply by ``diag(s)`` with ``s`` in
``[lo, hi]`` (exact interval products, entry by entry), then by the point matrix ``W_k``
(midpoint-radius form: ``C W +- R |W|``, exact for a point factor). With ``M`` the entrywise
largest magnitude of the final interval, ``||J||_{p->r} <= ||M||_{p->r}`` for every ``J`` in it
(l_p norms are monotone), and for a scalar output ``||grad f||_q <= ||M||_q``. It bounds the
formal constant (all activation patterns in the ranges) and so the true one; on deep networks
it is usually far below the product of norms (no norm is taken until the end), and over a local
region stable neurons are constants.

>>> interval_bound(net, "inf")   # the formal constant is 3.0
3.5
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from polylip.nn.norms import dual, operator_norm_upper, parse_norm, vec_norm
from polylip.nn.regions import GlobalRegion, as_region

__all__ = ["product_bound", "layer_norms", "interval_bound", "interval_jacobian",
           "quick_product_bound", "mixed_product"]


def _scale_cols(W, c):
    if sp.issparse(W):
        return sp.csr_matrix(W @ sp.diags(c))
    return W * c[None, :]


def layer_norms(net, norm="inf", region=None, quick=False, post=None) -> list:
    """The factors of :func:`product_bound`, first layer first (the last is the output
    factor); ``quick``: spectral norms bounded in O(entries) (:func:`quick_product_bound`);
    ``post(k, factor)``, when given, is called as each factor is finished (method "auto"
    keeps them when it stops the computation: :func:`mixed_product`)."""
    p = parse_norm(norm)
    region = as_region(region)
    bounds = region.propagate(net)
    cs = [np.maximum(np.abs(lo), np.abs(hi)) for lo, hi in bounds.derivative_bounds]
    layers = net.affine_layers
    factors = []
    for k in range(len(layers) - 1):
        W = layers[k][0]
        if k > 0:
            W = _scale_cols(W, cs[k - 1])
        factors.append(operator_norm_upper(W, p, p, quick=quick))
        if post is not None:
            post(k, factors[-1])
    W = layers[-1][0]
    if cs:
        W = _scale_cols(W, cs[-1])
    u = net.functional()
    if u is not None:
        g = np.asarray(W.T @ u).ravel()
        factors.append(float(vec_norm(g, dual(p))))
    else:
        factors.append(operator_norm_upper(W, p, net.output.norm, quick=quick))
    if post is not None:
        post(len(factors) - 1, factors[-1])
    return factors


def mixed_product(net, norm, finished) -> float:
    """The product bound with each layer's factor the smaller of ``finished[k]`` (a factor some
    computation finished, :func:`layer_norms`' ``post``; inf or NaN: none) and the quick one
    (:func:`quick_product_bound`'s). Every factor bounds ``||W_k D_{k-1}||`` over every
    derivative matrix of the region's ranges (those of a local region lie in the global
    ones), so any choice per layer gives a bound. What method "auto" returns when its
    "product" step is stopped: on 784-1000-1000-1000-10, l_2, a ball, the global spectral
    norms (1.4 s at load 12, before the region's CROWN bounds, 2.1 s) give 12.04 where the
    quick factors alone give 2.9e4.

    >>> import numpy as np
    >>> from polylip.nn.network import Network
    >>> net = Network.from_weights([np.eye(2), np.ones((1, 2))])
    >>> mixed_product(net, 2, [np.inf, np.nan]) == quick_product_bound(net, 2)
    True
    """
    quick = layer_norms(net, norm, GlobalRegion(), quick=True)
    got = np.asarray(finished, dtype=float).ravel()
    factors = []
    for k, q in enumerate(quick):
        g = float(got[k]) if k < got.size else np.inf
        factors.append(min(q, g) if np.isfinite(g) and g >= 0 else q)
    return float(np.prod(factors))


def product_bound(net, norm="inf", region=None) -> float:
    """Upper bound on the Lipschitz constant: the product of (derivative-scaled) layer norms.

    Parameters
    ----------
    net : Network
    norm : input norm ("inf", "2", "1" or the numbers)
    region : Region, optional
        Global by default; over a local region the derivative bounds come from the region's
        pre-activation bounds (:meth:`Region.propagate`), so stable-off neurons are removed.

    Examples
    --------
    >>> import numpy as np
    >>> from polylip.nn.network import Network
    >>> net = Network.from_weights([np.eye(2), np.ones((1, 2))])
    >>> product_bound(net, "inf"), product_bound(net, 2)
    (2.0, 1.4142135623730951)
    """
    return float(np.prod(layer_norms(net, norm, region)))


def quick_product_bound(net, norm="inf") -> float:
    """The product bound in O(weights), whatever the network's size: the global derivative
    ranges (no bound propagation; valid over any region) and, for l_2, each spectral norm
    bounded by :func:`~polylip.nn.norms.spectral_norm_quick` instead of an eigenvalue
    computation. What method "auto" returns when the exact closed forms do not finish in its
    budget.

    >>> import numpy as np
    >>> from polylip.nn.network import Network
    >>> net = Network.from_weights([np.eye(2), np.ones((1, 2))])
    >>> quick_product_bound(net, "inf"), round(quick_product_bound(net, 2), 9)
    (2.0, 1.414213562)
    """
    return float(np.prod(layer_norms(net, norm, GlobalRegion(), quick=True)))


def _times_point_matrix(lo, hi, W):
    """Bounds of ``G W`` for ``G`` in ``[lo, hi]`` (rows) and a point matrix ``W``."""
    center, radius = 0.5 * (lo + hi), 0.5 * (hi - lo)
    if sp.issparse(W):
        Wt, At = sp.csr_matrix(W).T, abs(sp.csr_matrix(W)).T
        mid = np.asarray(Wt @ center.T).T
        rad = np.asarray(At @ radius.T).T
    else:
        W = np.asarray(W, dtype=float)
        mid, rad = center @ W, radius @ np.abs(W)
    return mid - rad, mid + rad


def interval_jacobian(net, region=None, start=None, bounds=None):
    """Entrywise bounds ``(lo, hi)`` of ``start @ J(x)`` over the region (every activation
    pattern in the derivative ranges), with ``start`` the rows applied to the output (default:
    the identity, the whole Jacobian).

    Examples
    --------
    >>> import numpy as np
    >>> from polylip.nn.network import Network
    >>> net = Network.from_weights([np.array([[1.0, -2.0], [0.5, 0.5]]), np.array([[1.0, 1.0]])])
    >>> lo, hi = interval_jacobian(net)
    >>> lo.tolist(), hi.tolist()
    ([[0.0, -2.0]], [[1.5, 0.5]])
    """
    bounds = as_region(region).propagate(net) if bounds is None else bounds
    layers = net.affine_layers
    W = layers[-1][0]
    start = np.eye(W.shape[0]) if start is None else np.atleast_2d(np.asarray(start, float))
    lo, hi = _times_point_matrix(start, start, W)
    for k in range(len(layers) - 2, -1, -1):
        dlo, dhi = (np.asarray(v, dtype=float) for v in bounds.derivative_bounds[k])
        corners = np.stack([lo * dlo, lo * dhi, hi * dlo, hi * dhi])
        lo, hi = _times_point_matrix(corners.min(axis=0), corners.max(axis=0), layers[k][0])
    return lo, hi


def interval_bound(net, norm="inf", region=None, bounds=None) -> float:
    """Upper bound on the Lipschitz constant from the interval Jacobian (see the module text).

    Parameters
    ----------
    net : Network
    norm : input norm ("inf", "2", "1" or the numbers)
    region : Region, optional
        Global by default; over a local region the derivative ranges come from the region's
        pre-activation bounds (:meth:`Region.propagate`).
    bounds : RegionBounds, optional
        The region's bounds when the caller already has them (not propagated again).

    Examples
    --------
    >>> import numpy as np
    >>> from polylip.nn.network import Network
    >>> net = Network.from_weights([np.array([[1.0, 1.0], [1.0, -1.0]]), np.ones((1, 2))])
    >>> interval_bound(net, "inf"), product_bound(net, "inf")    # the formal constant is 2
    (3.0, 4.0)
    """
    p = parse_norm(norm)
    u = net.functional()
    if u is not None:
        lo, hi = interval_jacobian(net, region, start=u, bounds=bounds)
        return float(vec_norm(np.maximum(np.abs(lo), np.abs(hi)).ravel(), dual(p)))
    lo, hi = interval_jacobian(net, region, bounds=bounds)
    return float(operator_norm_upper(np.maximum(np.abs(lo), np.abs(hi)), p, net.output.norm))

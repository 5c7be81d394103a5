"""The product-of-norms baseline, global and local.

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
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from polylip.nn.norms import dual, operator_norm_upper, parse_norm, vec_norm
from polylip.nn.regions import as_region

__all__ = ["product_bound", "layer_norms"]


def _scale_cols(W, c):
    if sp.issparse(W):
        return sp.csr_matrix(W @ sp.diags(c))
    return W * c[None, :]


def layer_norms(net, norm="inf", region=None) -> list:
    """The factors of :func:`product_bound`, first layer first (the last is the output
    factor)."""
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
        factors.append(operator_norm_upper(W, p, p))
    W = layers[-1][0]
    if cs:
        W = _scale_cols(W, cs[-1])
    u = net.functional()
    if u is not None:
        g = np.asarray(W.T @ u).ravel()
        factors.append(float(vec_norm(g, dual(p))))
    else:
        factors.append(operator_norm_upper(W, p, net.output.norm))
    return factors


def product_bound(net, norm="inf", region=None) -> float:
    """Upper bound on the Lipschitz constant: the product of (derivative-scaled) layer norms.

    Parameters
    ----------
    net : Network
    norm : input norm ("inf", "2", "1" or the numbers)
    region : Region, optional
        Global by default; a local region uses interval bound propagation, so stable-off
        neurons are removed and derivative bounds tighten.
    """
    return float(np.prod(layer_norms(net, norm, region)))

"""ECLipsE-Fast (Xu and Sivaranjani, NeurIPS 2024): a certified l_2 Lipschitz bound from a
layer-by-layer recursion, with no SDP solve.

The LipSDP-Neuron matrix ``-M(rho, lambda)`` is block tridiagonal, one block per layer (see
:mod:`polylip.nn.lipsdp`). Eliminate its blocks from the input forwards; with ``rho = 1`` and
one multiplier per layer, ``lambda_k = t_k`` for every neuron of layer ``k``, the Schur
complements are

    S_0 = I,
    S_k = 2 t_k I - t_k^2 G_k,     G_k = diag(B_k) W_k S_{k-1}^{-1} W_k^T diag(B_k)   (k = 1..H)

(``B = alpha + beta`` the slope bounds' sum). Each ``t_k`` is chosen in closed form,
``t_k = 1 / lambda_max(G_k)``, the value maximizing ``lambda_min(S_k)``. Then the bound is

    L = sqrt( lambda_max(Wout S_H^{-1} Wout^T) )      (``Wout = u^T W_L``, or ``W_L``).

**Why it is valid.** (i) Each ``S_k`` is positive definite: the eigenvalues of ``G_k / g``
(``g = lambda_max(G_k)``) lie in ``[0, 1]``, so those of ``S_k = (2 I - G_k / g) / g`` lie in
``[1/g, 2/g]``. (ii) Block elimination (Schur complements) then shows that the LipSDP-Neuron
matrix with ``rho = 1``, these multipliers, and output term ``Wout^T Wout / L^2`` is positive
semidefinite: its leading blocks are the positive definite ``S_0..S_{H-1}`` and its last Schur
complement is ``S_H - Wout^T Wout / L^2 >= 0`` by the choice of ``L``. (iii) Scaling by
``L^2`` (everything is linear in ``(rho, lambda, Q)``) gives a feasible point of
LipSDP-Neuron with ``rho = L^2``, so ``L`` bounds the l_2 constant (Fazlyab et al.'s
theorem: slope-restricted activations satisfy the incremental quadratic constraint with any
``lambda >= 0``). The terms ``2 W^T diag(alpha beta lambda) W`` of the LMI are positive
semidefinite when ``alpha beta >= 0`` (every activation of polylip), so leaving them out of
the recursion only makes it more conservative; slope ranges with ``alpha beta < 0`` are
refused. (iv) Round-off: the multipliers are handed to
:func:`polylip.nn.lipsdp.certify_rho`, whose block Cholesky with a round-off shift proves the
returned ``rho`` rigorously, whatever happened in the recursion's floating point.

**Never worse than the product of spectral norms.** By induction ``S_k^{-1} <= pi_k I`` with
``pi_0 = 1`` and ``pi_k = pi_{k-1} ||diag(B_k) W_k||^2``: ``G_k <= pi_{k-1} ||diag(B_k)
W_k||^2 I`` so ``g_k <= pi_k``, and ``S_k >= I / g_k``. Hence ``L^2 <= pi_H ||Wout||^2``, the
square of ``||Wout|| prod_k ||diag(B_k) W_k||``: the product bound for slopes in
``[0, B]``. For ReLU, tanh, sigmoid and softplus, ``B`` is the slope's maximum (``alpha =
0``). For slopes ``[alpha, beta]`` with ``alpha > 0`` the recursion also runs with the
widened range ``[0, beta]`` (valid: a function with slopes in ``[alpha, beta]`` has them in
``[0, beta]``), and :func:`eclipse_fast` returns the smallest of the certified values and the
product bound ``||Wout|| prod_k ||diag(max|slope|_k) W_k||`` itself, so it is never worse.

Cost: per layer one Cholesky factorization, one triangular solve and one extreme
eigenvalue of ``n_k x n_k`` matrices, O(sum_k n_k^3), and the same again for the
certificate: 100 layers of 160 neurons in 1.0-1.7 s (measured under loads of 4-10).

Examples
--------
>>> import numpy as np
>>> from polylip.nn.network import Network
>>> net = Network.from_weights([np.eye(2), np.array([[1.0, 1.0]])])
>>> round(eclipse_fast(net)["bound"], 4)
1.4142
"""

from __future__ import annotations

import logging
import time

import numpy as np
import scipy.linalg as sla

from polylip.errors import ModelError
from polylip.nn.lipsdp import (LipSDPData, _blas_one_thread, _constant, certify_rho,
                               lipsdp_data)

__all__ = ["eclipse_fast", "eclipse_multipliers", "product_l2"]

log = logging.getLogger(__name__)


def _top(G) -> float:
    n = G.shape[0]
    return float(sla.eigh(G, eigvals_only=True, subset_by_index=[n - 1, n - 1],
                          check_finite=False)[0])


def eclipse_multipliers(data: LipSDPData, widen: bool = False):
    """The ECLipsE-Fast recursion (module docstring) with ``rho = 1``: the multipliers per
    layer (constant within a layer) and ``F = L^2``. ``widen``: use the slope ranges
    ``[0, beta]`` instead of ``[alpha, beta]``. Raises :class:`ModelError` for a slope range
    with ``alpha beta < 0``."""
    lams = []
    chol = None
    for k, W in enumerate(data.weights):
        a, b = data.alpha[k], data.beta[k]
        if not widen and np.any(a * b < 0):
            raise ModelError("ECLipsE needs slope ranges with alpha * beta >= 0 (every polylip "
                             "activation has them); use method 'lipsdp'")
        B = np.maximum(b, 0.0) if widen else a + b
        BW = B[:, None] * W
        if chol is None:
            G = BW @ BW.T
        else:
            Z = sla.solve_triangular(chol, BW.T, lower=True, check_finite=False)
            G = Z.T @ Z
        G = 0.5 * (G + G.T)
        g = _top(G) if G.size else 0.0
        t = 1.0 / g if g > 0 else 1.0
        lams.append(np.full(W.shape[0], t))
        S = 2.0 * t * np.eye(W.shape[0]) - (t * t) * G
        chol = np.linalg.cholesky(0.5 * (S + S.T))
    Z = sla.solve_triangular(chol, data.wout.T, lower=True, check_finite=False)
    F = _top(Z.T @ Z) if Z.shape[1] > 1 else float(np.sum(Z * Z))
    return lams, max(F, 0.0)


def product_l2(data: LipSDPData) -> float:
    """``||Wout|| prod_k ||diag(max(|alpha_k|, |beta_k|)) W_k||_2`` (per-neuron slopes, so over a
    region the stable-off neurons already count zero)."""
    val = float(np.linalg.norm(data.wout, 2))
    for k, W in enumerate(data.weights):
        s = np.maximum(np.abs(data.alpha[k]), np.abs(data.beta[k]))
        val *= float(np.linalg.norm(s[:, None] * W, 2))
    return val


def eclipse_fast(net, derivative_bounds=None) -> dict:
    """Certified ECLipsE-Fast bound of the l_2 Lipschitz constant (no SDP).

    Parameters
    ----------
    net : Network
        Scalar or margin output, or a vector output in l_2.
    derivative_bounds : list of (lo, hi), optional
        Slope bounds per hidden layer (default: the global derivative ranges).

    Returns
    -------
    dict
        ``bound`` (the smallest certified value: the recursion on the slopes as given, the
        recursion on ``[0, beta]`` when some ``alpha > 0``, the product bound), ``status``,
        ``source`` (which of them), ``eclipse`` (the recursion's certified value), ``product``,
        ``recursion`` (its own, uncertified value), ``seconds``, ``pruned``.
    """
    t0 = time.perf_counter()
    data = lipsdp_data(net, derivative_bounds)
    if _constant(data):
        return dict(bound=0.0, status="optimal", source="constant", eclipse=0.0, product=0.0,
                    seconds=time.perf_counter() - t0, pruned=data.pruned)
    with _blas_one_thread():
        product = product_l2(data)
    if data.depth == 0:
        return dict(bound=product, status="optimal", source="linear", eclipse=product,
                    product=product, seconds=time.perf_counter() - t0, pruned=data.pruned)
    cands = {"product": product}
    recursion = None
    variants = [False]
    if all(np.all(a >= 0) for a in data.alpha) and any(np.any(a > 0) for a in data.alpha):
        variants.append(True)  # slopes in [alpha, beta] with alpha >= 0 lie in [0, beta]
    with _blas_one_thread():
        for widen in variants:
            try:
                lams, F = eclipse_multipliers(data, widen=widen)
            except ModelError:
                if widen:
                    raise
                continue
            if F <= 0:
                cands["eclipse"] = 0.0
                continue
            if widen:
                wdata = LipSDPData(data.weights, data.wout,
                                   tuple(np.zeros_like(a) for a in data.alpha),
                                   tuple(np.maximum(b, 0.0) for b in data.beta), data.n0,
                                   data.pruned)
            else:
                wdata = data
            # At ``rho = F`` the LMI is singular (tight) and, in a deep network, its hidden
            # part nearly so; a relative 1e-9 more in the multipliers gives the backward
            # factorization room (a 100 x 160 network fails at 0, certifies at 1e-9).
            for grow in (0.0, 1e-9, 1e-6, 1e-3):
                cert = certify_rho(wdata, (1.0 + grow) * F * np.concatenate(lams))
                if cert.rho is not None:
                    break
            name = "eclipse-widened" if widen else "eclipse"
            if cert.rho is not None:
                cands[name] = float(np.sqrt(cert.rho))
            recursion = float(np.sqrt(F)) if recursion is None else min(recursion, np.sqrt(F))
    source = min(cands, key=cands.get)
    ecl = min((v for k, v in cands.items() if k != "product"), default=None)
    seconds = time.perf_counter() - t0
    log.info("ECLipsE-Fast: %.6g (product %.6g), %d layers, %.3f s", cands[source], product,
             data.depth, seconds)
    return dict(bound=cands[source], status="ok", source=source, eclipse=ecl, product=product,
                recursion=recursion, seconds=seconds, pruned=data.pruned,
                layers=data.depth, neurons=data.nh)

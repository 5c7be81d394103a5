"""GeoLIP over a local region with the stable neurons eliminated: the same relaxation, an LMI of
size ``inputs + unstable neurons`` instead of ``inputs + live neurons``.

Over a box or a ball most neurons of a trained network are stable (digits MLP
64-200-200-200-10, box of radius 0.05 around a test image, CROWN bounds: 326 of 600 stably on,
80 stably off, 194 unstable). :mod:`polylip.nn.geolip` prunes the stably-off neurons but keeps
a stably-on one as a neuron of slope range ``[1, 1]``: its constraint
``(v - z)^2 <= 0`` holds only in the limit of an infinite multiplier, so the interior point
(:func:`polylip.nn.hkm.hkm_solve`) spends its iterations pushing those multipliers up (measured
on that box: 49 iterations to its value and a stall after it, 81 s at load 13, LMI 585).

Here a neuron with a fixed slope ``s`` (``alpha = beta``) is substituted, ``v = s z``: with
``y = (t, v_U)`` (the inputs and the unstable neurons, in layer order) every pre-activation is a
linear map ``z_j = a_j . y`` (the weights composed through the stable neurons below) and the
output ``w . v_H = c . y``. GeoLIP's LMI becomes

    sum_i mu_i e_i e_i^T + sum_{j unstable} lambda_j A_j - c c^T  >=  0,
    A_j = 2 alpha_j beta_j a_j a_j^T - (alpha_j + beta_j)(a_j e_j^T + e_j a_j^T) + 2 e_j e_j^T,

minimize ``sum mu`` (bound ``sqrt(sum mu)``): exactly the limit of the layered LMI as the
stable neurons' multipliers grow (the layered matrix restricted to the subspace
``v_S = s a_S . y`` is this one; on that subspace the stable neurons' terms vanish). Each
``A_j`` still has rank 2, so the same interior-point loop solves it with operators for a dense
``a_j`` (:class:`_ReducedOps`); the elimination changes the optimum by nothing measurable
(random 6-10-10-1 nets over boxes: equal to 1e-4, the dense form's accuracy), only the size.

**The certificate stays the layered one.** The composed maps ``a_j`` are rounded, so the
reduced LMI is not certified itself: its multipliers are mapped back to the layered LMI of
:func:`polylip.nn.lipsdp.lipsdp_data` (the unstable neurons' ``lambda_j`` as solved, the stable
neurons' a large ``kappa``, several tried) and certified there by
:func:`polylip.nn.geolip.certify_geolip`, whatever the solver's accuracy. A finite ``kappa``
costs a little (the certified ``rho`` slightly above 1); the best ``kappa`` is kept.

The solve runs on the balanced LMI of :func:`polylip.nn.lipsdp._balance` (the ECLipsE-Fast
point's multipliers scaled to 1), whose restriction is the reduced start: strictly feasible.

Examples
--------
>>> import numpy as np
>>> from polylip.nn.network import Network
>>> from polylip.nn.regions import BoxRegion
>>> W1 = np.array([[1.0, -1.0], [2.0, 1.0], [0.5, 0.5]])
>>> net = Network.from_weights([W1, np.array([[1.0, 1.0, -1.0]])], [[0.0, 0.0, 3.0], None])
>>> db = BoxRegion([0.0, 0.0], 0.5).propagate(net).derivative_bounds   # neuron 3 stably on
>>> out = reduced_geolip(net, db)
>>> out["reduced_size"], out["bound"] >= 2.5     # |grad| = (2.5, 0.5) at pattern (0, 1, 1)
(4, True)
"""

from __future__ import annotations

import logging
import time

import numpy as np

from polylip.nn import lipsdp as _ls
from polylip.nn.geolip import certify_geolip
from polylip.nn.hkm import hkm_solve

__all__ = ["reduced_geolip", "reduce_data", "KAPPAS"]

log = logging.getLogger(__name__)

#: Multipliers tried for the stable neurons when the reduced solution is mapped back to the
#: layered LMI (balanced scale, where the starting multipliers are 1); the best certified
#: bound is kept. Each try is one certificate (a block Cholesky factorization per layer).
KAPPAS = (1e2, 1e3, 1e4, 1e5, 1e6, 1e8)


class _ReducedOps:
    """The maps of :func:`polylip.nn.hkm.hkm_solve` for ``y = (y_1..y_n0, y_neurons)``:
    ``A_i = e_i e_i^T`` for the inputs, ``A_j = U_j S_j U_j^T`` with ``U_j = [a_j, e_j]`` (``a_j``
    a dense row of ``Arows``, ``e_j`` the neuron's own coordinate ``n0 + j``) and
    ``S_j = [[2 alpha beta, -(alpha + beta)], [-(alpha + beta), 2]]``."""

    def __init__(self, Arows, alpha, beta, n0):
        self.Arows = np.ascontiguousarray(Arows, dtype=float)
        self.m = self.Arows.shape[0]
        self.n0 = int(n0)
        self.N = self.n0 + self.m
        self.hid = np.arange(self.n0, self.N)
        self.sA = 2.0 * alpha * beta
        self.sX = -(alpha + beta)
        self.sE = np.full(self.m, 2.0)

    def apply(self, Y):
        AY = self.Arows @ Y
        out = np.empty(self.N)
        out[:self.n0] = np.diag(Y)[:self.n0]
        aYa = np.einsum("ji,ji->j", AY, self.Arows)
        aYe = AY[np.arange(self.m), self.hid]
        out[self.n0:] = self.sA * aYa + 2.0 * self.sX * aYe + self.sE * np.diag(Y)[self.hid]
        return out

    def adjoint(self, y):
        lam = y[self.n0:]
        X = (self.Arows.T * (self.sA * lam)) @ self.Arows
        O = (self.sX * lam)[:, None] * self.Arows
        X[self.hid, :] += O
        X[:, self.hid] += O.T
        X[self.hid, self.hid] += self.sE * lam
        i = np.arange(self.n0)
        X[i, i] += y[:self.n0]
        return X

    def right_mul(self, Y, y):
        return Y @ self.adjoint(y)

    def schur(self, X, P):
        """``M_ij = A_i . (X A_j P)`` from ``V X V^T`` and ``V P V^T``, ``V = [A; E]`` (as
        :meth:`polylip.nn.lipsdp._Ops.schur`), the inputs' block ``X_ii' P_ii'`` and the cross
        block ``sum_rs S_rs (X u_jr)_i (u_js^T P)_i`` (as the GeoLIP operators)."""
        hid, n0, m = self.hid, self.n0, self.m
        K, R = {}, {}
        for name, Y in (("X", X), ("P", P)):
            AY = self.Arows @ Y
            KAE = AY[:, hid]
            K[name] = {("A", "A"): AY @ self.Arows.T, ("A", "E"): KAE, ("E", "A"): KAE.T,
                       ("E", "E"): Y[np.ix_(hid, hid)]}
            R[name] = {"A": AY[:, :n0], "E": Y[hid, :n0]}
        S = {("A", "A"): self.sA, ("A", "E"): self.sX, ("E", "A"): self.sX, ("E", "E"): self.sE}
        nz = [pq for pq in S if np.any(S[pq])]
        Ms = np.zeros((m, m))
        for p, q in nz:
            for r, s in nz:
                Ms += (S[p, q][:, None] * S[r, s][None, :]) * K["X"][q, r] * K["P"][p, s]
        hr = np.zeros((m, n0))
        for r, s in nz:
            hr += S[r, s][:, None] * R["X"][r] * R["P"][s]
        M = np.empty((n0 + m, n0 + m))
        Mi = X[:n0, :n0] * P[:n0, :n0]
        M[:n0, :n0] = 0.5 * (Mi + Mi.T)
        M[n0:, :n0] = hr
        M[:n0, n0:] = hr.T
        M[n0:, n0:] = 0.5 * (Ms + Ms.T)
        return M


def reduce_data(data: _ls.LipSDPData):
    """The reduced problem of the layered ``data``: ``(Arows, alpha, beta, c, unstable)`` with
    ``Arows`` the composed pre-activation maps of the unstable neurons in ``y = (t, v_U)``,
    their slope ranges, the output row ``c`` and, per hidden layer, the mask of unstable
    neurons (``alpha < beta``)."""
    n0 = data.n0
    un = [np.asarray(b > a) for a, b in zip(data.alpha, data.beta)]
    Ne = n0 + int(sum(u.sum() for u in un))
    P = np.zeros((n0, Ne))
    P[:, :n0] = np.eye(n0)
    rows, al, be = [], [], []
    col = n0
    for W, a, b, u in zip(data.weights, data.alpha, data.beta, un):
        Z = W @ P
        Pn = a[:, None] * Z  # fixed slope: v = alpha z (alpha = beta there)
        idx = np.flatnonzero(u)
        Pn[idx] = 0.0
        Pn[idx, col + np.arange(idx.size)] = 1.0
        rows.append(Z[idx])
        al.append(a[idx])
        be.append(b[idx])
        col += idx.size
        P = Pn
    c = (data.wout @ P).ravel()
    Arows = np.vstack(rows) if rows else np.zeros((0, Ne))
    return Arows, np.concatenate(al), np.concatenate(be), c, un


def reduced_geolip(net, derivative_bounds, *, tol: float = 1e-7, max_iters: int = 100,
                   time_limit: float | None = None, cap: float = 1e8) -> dict | None:
    """GeoLIP's certified bound with the stable neurons eliminated (module docstring).

    Returns None when there is nothing to eliminate (no neuron of fixed slope left after
    pruning, a linear or constant network): :func:`polylip.nn.geolip.geolip_bound` is then the
    same problem. Otherwise a dict like :func:`~polylip.nn.geolip.geolip_bound`'s: ``bound``
    (None unless certified), ``status``, ``form`` ("reduced"), ``lmi_size`` (the layered one),
    ``reduced_size``, ``kappa``, ``iterations``, ``seconds``.
    """
    t0 = time.perf_counter()
    data = _ls.lipsdp_data(net, derivative_bounds)
    if data.depth == 0 or _ls._constant(data):
        return None
    if not any(np.any(a == b) for a, b in zip(data.alpha, data.beta)):
        return None
    with _ls._blas_one_thread():
        rho0, lam0, F, _ = _ls._eclipse_start(data)
        bal = _ls._balance(data, rho0, lam0, lam0)
        Arows, al, be, c, un = reduce_data(bal.data)
        lam_start = np.concatenate([x[u] for x, u in zip(bal.data.split(lam0 / bal.lam_scale),
                                                          un)])
        ops = _ReducedOps(Arows, al, be, data.n0)
        C = -np.outer(c, c)
        b = np.zeros(ops.N)
        b[:data.n0] = 1.0
        U = cap * np.maximum(lam_start, 1e-300)
        y0 = -np.concatenate([np.ones(data.n0), lam_start])
        deadline = None if time_limit is None else t0 + float(time_limit)
        out = hkm_solve(ops, C, b, y0, U, data.n0, tol=tol, max_iters=max_iters,
                        deadline=deadline, label="GeoLIP-reduced")
        mu_b, lamU = -out["y"][:data.n0], -out["y"][data.n0:]
        mu = np.maximum(mu_b, 0.0) * bal.rho_scale
        best = None
        pos = np.concatenate(un)
        for kappa in KAPPAS:
            lam_b = np.full(data.nh, kappa)
            lam_b[pos] = np.maximum(lamU, 0.0)
            cert = certify_geolip(data, bal.unscale(lam_b), mu)
            if cert["bound"] is not None and (best is None or cert["bound"] < best[0]["bound"]):
                best = (cert, kappa)
    seconds = time.perf_counter() - t0
    res = dict(form="reduced", lmi_size=data.N + 1, reduced_size=ops.N, nvars=ops.N,
               pruned=data.pruned, iterations=out["iterations"], gap=out["gap"],
               solver="structured", solver_status=out["status"], seconds=seconds,
               value_solver=float(np.sqrt(max(float(np.sum(mu)), 0.0))),
               eclipse_bound=float(np.sqrt(F * data.n0)))
    if best is None:
        return dict(res, bound=None, status="inaccurate",
                    message="no multiplier of the stable neurons certified the reduced solution")
    cert, kappa = best
    log.info("GeoLIP reduced: LMI %d -> %d, certified bound %.8g (kappa %g), %d iterations, "
             "%.2f s", data.N, ops.N, cert["bound"], kappa, out["iterations"], seconds)
    status = out["status"] if out["status"] in ("optimal", "time_limit") else "inaccurate"
    return dict(res, bound=cert["bound"], status=status, rho=cert["rho"], kappa=kappa)

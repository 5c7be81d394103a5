"""The primal-dual interior-point loop (HKM direction, Mehrotra predictor-corrector) shared by
the structured solvers of LipSDP-Neuron (:mod:`polylip.nn.lipsdp`) and GeoLIP
(:mod:`polylip.nn.geolip`).

Both solve a dual-form SDP with upper-capped multipliers,

    maximize  b . y   s.t.   S = C - sum_i y_i A_i  >= 0,   0 <= -y_j <= U_j  (j >= k),

whose ``k`` leading variables are the input block's scales (LipSDP: ``k = 1``, ``A_0`` the
identity on the input block; GeoLIP: ``k = n_0``, ``A_i = e_i e_i^T``) and the others the
neuron multipliers (``A_j = U_j S_j U_j^T``, rank 2). The two differ only in the linear maps
(an ``ops`` object: ``apply``, ``adjoint``, ``right_mul``, ``schur``; see
:class:`polylip.nn.lipsdp._Ops` and :class:`polylip.nn.geolip._DiagOps`), the cost ``C``, the
objective ``b`` and the caps, which :func:`hkm_solve` takes as arguments.

The loop starts strictly dual feasible and keeps every dual iterate so (each step is verified
by a Cholesky factorization), so whatever it returns, the multipliers are a feasible point
the callers certify a posteriori.

Examples
--------
>>> import numpy as np
>>> from polylip.nn.hkm import _lp_step
>>> _lp_step(np.array([1.0, 2.0]), np.array([-0.5, 1.0]))   # largest a with x + a dx >= 0
2.0
"""

from __future__ import annotations

import logging
import time

import numpy as np
import scipy.linalg as sla
from scipy.linalg import lapack
import scipy.sparse.linalg as spla

__all__ = ["hkm_solve"]

log = logging.getLogger(__name__)


def _inv_chol(S):
    """``(S^{-1}, L)`` with ``S = L L^T`` (raises LinAlgError unless ``S`` is PD). The inverse
    by LAPACK's ``potri`` from the factor (``2 n^3 / 3`` flops; the triangular inverse and
    ``Li^T Li`` took 38 ms of CPU at n = 664, ``potri`` 25 ms)."""
    L = np.linalg.cholesky(S)
    Pi, info = lapack.dpotri(L, lower=1)
    if info != 0:  # pragma: no cover - L is a computed Cholesky factor
        raise np.linalg.LinAlgError(f"potri failed ({info})")
    P = np.tril(Pi)
    return P + np.tril(P, -1).T, L


#: Lanczos basis size of the step estimates, started from the previous estimate's vector
#: (the extreme direction moves little between iterations): on the digits 64-200-200-200-10
#: GeoLIP solve 852 products instead of 1,700 with ARPACK's default of 20 from a random start,
#: same 21 iterations and bound to 1e-12.
LANCZOS_NCV = 8


def _max_step(L, dX, memo=None, key=None) -> float:
    """Largest ``a`` with ``X + a dX`` PSD (``X = L L^T``), estimated by Lanczos on
    ``L^{-1} dX L^{-T}`` (the caller verifies with a Cholesky factorization). ``memo[key]``:
    the last eigenvector estimate, the start of the next (updated here)."""
    n = L.shape[0]

    def mv(v):
        w = sla.solve_triangular(L, v, lower=True, trans="T", check_finite=False)
        return sla.solve_triangular(L, dX @ w, lower=True, check_finite=False)

    try:
        if n < 200:
            raise ValueError
        op = spla.LinearOperator((n, n), matvec=mv, dtype=float)
        v0 = None if memo is None else memo.get(key)
        vals, vecs = spla.eigsh(op, k=1, which="SA", tol=1e-2, maxiter=100,
                                ncv=LANCZOS_NCV if v0 is not None else None, v0=v0)
        lmin = float(vals[0])
        if memo is not None:
            memo[key] = vecs[:, 0]
    except (ValueError, spla.ArpackNoConvergence, spla.ArpackError):
        Li = sla.solve_triangular(L, np.eye(n), lower=True, check_finite=False)
        T = Li @ dX @ Li.T
        lmin = float(sla.eigh(0.5 * (T + T.T), eigvals_only=True, subset_by_index=[0, 0])[0])
    return np.inf if lmin >= 0 else -1.0 / lmin


def _lp_step(x, dx) -> float:
    """Largest ``a`` with ``x + a dx >= 0`` (inf if none bounds it)."""
    neg = dx < 0
    return float(np.min(-x[neg] / dx[neg])) if np.any(neg) else np.inf


def hkm_solve(ops, C, b, y0, U, k: int, *, tol: float, max_iters: int,
              deadline: float | None, label: str = "HKM",
              stop_value: float | None = None) -> dict:
    """Run the interior-point loop from the strictly feasible ``y0``.

    Parameters
    ----------
    ops : object
        The linear maps: ``apply(Y) = (A_i . Y)_i``, ``adjoint(y) = sum y_i A_i``,
        ``right_mul(Y, y) = Y adjoint(y)``, ``schur(X, P) = (A_i . X A_j P)_ij``; attributes
        ``m`` (capped multipliers), ``N`` (matrix size), ``n0`` (input block size).
    C : ndarray
        ``N x N`` cost.
    b : ndarray
        Objective, length ``k + m`` (the duality gap is relative to ``b . y``).
    y0 : ndarray
        Start, strictly feasible: ``C - adjoint(y0)`` PD and ``0 < -y0[k:] < U``.
    U : ndarray
        Caps of ``-y[k:]``.
    k : int
        Number of uncapped leading variables (the input block's).
    tol : float
        Relative gap and primal residual (``tol * 10 * sqrt(k)``) to stop at.
    max_iters : int
        Iteration limit.
    deadline : float, optional
        ``time.perf_counter()`` value to stop at (status "time_limit").
    label : str
        For the debug log.
    stop_value : float, optional
        Stop (status "below") once the value minimized, ``-sum(y[:k])``, is at most this: the
        iterate (feasible) already proves what the caller needs (GeoLIP over several
        functionals: a bound below the largest one found).

    Returns
    -------
    dict
        ``y`` (the last, feasible, iterate), ``status`` ("optimal", "time_limit",
        "inaccurate", "below"), ``iterations``, ``gap``.
    """
    m, N, n0 = ops.m, ops.N, ops.n0
    y = np.array(y0, dtype=float)
    S = C - ops.adjoint(y)
    P, LS = _inv_chol(S)
    mu0 = float(k) / np.trace(P[:n0, :n0])
    X, LX = mu0 * P, None
    s1, s2 = -y[k:], U + y[k:]
    x1, x2 = mu0 / s1, mu0 / s2
    nc = N + 2 * m
    status, it, gap = "inaccurate", 0, np.inf
    best_y = y.copy()
    memo = {}  # Lanczos starts of the step estimates
    for it in range(1, max_iters + 1):
        Rp = b - ops.apply(X)
        Rp[k:] -= x1 - x2
        mu = (float(np.sum(X * S)) + x1 @ s1 + x2 @ s2) / nc
        pobj = float(np.sum(C * X)) + U @ x2
        dobj = float(np.sum(y[:k]))
        gap = abs(pobj - dobj) / max(abs(dobj), 1e-300)  # relative: rho can be tiny
        log.debug("%s %d: objective %.10g gap %.3g |Rp| %.3g mu %.3g", label, it, -dobj, gap,
                  np.linalg.norm(Rp), mu)
        if gap <= tol and np.linalg.norm(Rp) <= tol * 10 * np.sqrt(k):
            status = "optimal"
            break
        if stop_value is not None and -dobj <= stop_value:
            status = "below"
            break
        if deadline is not None and time.perf_counter() > deadline:
            status = "time_limit"
            break
        M = ops.schur(X, P)
        M[k:, k:][np.diag_indices(m)] += x1 / s1 + x2 / s2
        try:
            cf = sla.cho_factor(M, check_finite=False)
        except np.linalg.LinAlgError:
            M[np.diag_indices(k + m)] += 1e-14 * np.abs(np.diag(M)).max()
            try:
                cf = sla.cho_factor(M, check_finite=False)
            except np.linalg.LinAlgError:
                status = "inaccurate"
                break
        AP = ops.apply(P)

        def direction(sig, corr=None):
            rhs = b - sig * mu * AP
            rhs[k:] -= sig * mu * (1.0 / s1 - 1.0 / s2)
            if corr is not None:
                dya, Xa, xa1, sa1, xa2, sa2 = corr
                T = (-ops.right_mul(Xa, dya)) @ P  # Xa dSa P
                rhs += ops.apply(0.5 * (T + T.T))
                rhs[k:] += xa1 * sa1 / s1 - xa2 * sa2 / s2
            dy = sla.cho_solve(cf, rhs, check_finite=False)
            dS = -ops.adjoint(dy)
            dX = sig * mu * P - X + ops.right_mul(X, dy) @ P  # - X dS P
            ds1, ds2 = -dy[k:], dy[k:]
            dx1 = sig * mu / s1 - x1 - x1 * ds1 / s1
            dx2 = sig * mu / s2 - x2 - x2 * ds2 / s2
            if corr is not None:
                dX -= T
                dx1 -= xa1 * sa1 / s1
                dx2 -= xa2 * sa2 / s2
            return dy, dS, 0.5 * (dX + dX.T), dx1, ds1, dx2, ds2

        if LX is None:
            try:
                LX = np.linalg.cholesky(X)
            except np.linalg.LinAlgError:  # the primal start lost definiteness to round-off
                status = "inaccurate"
                break
        dy, dS, dX, dx1, ds1, dx2, ds2 = direction(0.0)
        ap = min(1.0, _max_step(LX, dX, memo, 0), _lp_step(x1, dx1), _lp_step(x2, dx2))
        ad = min(1.0, _max_step(LS, dS, memo, 1), _lp_step(s1, ds1), _lp_step(s2, ds2))
        mua = (float(np.sum((X + ap * dX) * (S + ad * dS))) + (x1 + ap * dx1) @ (s1 + ad * ds1)
               + (x2 + ap * dx2) @ (s2 + ad * ds2)) / nc
        sig = min(1.0, (mua / mu) ** 3)
        dy, dS, dX, dx1, ds1, dx2, ds2 = direction(sig, (dy, dX, dx1, ds1, dx2, ds2))
        ap = min(1.0, 0.95 * min(_max_step(LX, dX, memo, 0), _lp_step(x1, dx1), _lp_step(x2, dx2)))
        ad = min(1.0, 0.95 * min(_max_step(LS, dS, memo, 1), _lp_step(s1, ds1), _lp_step(s2, ds2)))
        LXn = None
        for _ in range(30):  # verify the steps (the Lanczos estimates are approximate)
            Xn = X + ap * dX
            try:
                LXn = np.linalg.cholesky(Xn)  # the next iteration's factor
                break
            except np.linalg.LinAlgError:
                ap *= 0.8
        else:
            # no primal step keeps X definite (round-off: seen on one class of the digits MLP
            # over a box); the dual point so far is feasible and certifies, so stop here
            status = "inaccurate"
            break
        for _ in range(30):
            yn = y + ad * dy
            Sn = C - ops.adjoint(yn)
            try:
                Pn, LSn = _inv_chol(Sn)
                break
            except np.linalg.LinAlgError:
                ad *= 0.8
        else:  # pragma: no cover - the current point stays feasible
            status = "inaccurate"
            break
        X, LX, x1, x2 = Xn, LXn, x1 + ap * dx1, x2 + ap * dx2
        y, S, P, LS = yn, Sn, Pn, LSn
        s1, s2 = -y[k:], U + y[k:]
        best_y = y.copy()
    return dict(y=best_y, status=status, iterations=it, gap=gap)

"""LipSDP-Neuron (Fazlyab, Robey, Hassani, Morari, Pappas, NeurIPS 2019) for the l_2 constant.

For ``f(x) = W_L phi(W_{L-1} ... phi(W_1 x))`` (biases do not matter) with every activation
slope-restricted, ``alpha_j <= phi_j' <= beta_j`` per neuron, stack the hidden pre-activations
``v = A x_ext`` and post-activations ``w = B x_ext`` with ``x_ext = (x, w_1, ..., w_{L-1})``,
``A = [blkdiag(W_1, ..., W_{L-1}), 0]``, ``B = [0, I]``. If for some ``rho >= 0`` and diagonal
``T = diag(lambda) >= 0``

    [A; B]^T [[-2 diag(alpha beta) T, diag(alpha + beta) T],
              [diag(alpha + beta) T,  -2 T               ]] [A; B]
      + blkdiag(-rho I, 0, ..., 0, W_L^T Q W_L)  <=  0     (negative semidefinite)

then ``sqrt(rho)`` bounds the l_2 -> l_2 Lipschitz constant of ``u^T f`` (``Q = u u^T``, scalar and
margin outputs) or of ``f`` itself (``Q = I``, vector output with the l_2 norm). Minimizing
``rho`` is an SDP in ``1 + (number of hidden neurons)`` scalars with one LMI of size
``n_0 + n_1 + ... + n_{L-1}``; over a local region the per-neuron slope bounds come from interval
bound propagation. The LMI is built from whole sparse matrices (never entry by entry) and
solved through PICOS (CVXOPT by default).

Examples
--------
>>> import numpy as np
>>> from polylip.nn.network import Network
>>> net = Network.from_weights([np.eye(2), np.array([[1.0, 1.0]])])
>>> out = lipsdp_neuron(net)
>>> round(out["bound"], 4)
1.4142
"""

from __future__ import annotations

import logging
import time

import numpy as np
import scipy.sparse as sp

from polylip.errors import ModelError

__all__ = ["lipsdp_neuron"]

log = logging.getLogger(__name__)


def _csr(W):
    return sp.csr_matrix(W) if sp.issparse(W) else sp.csr_matrix(np.asarray(W, dtype=float))


def lipsdp_neuron(net, derivative_bounds=None, *, solver: str = "cvxopt", tol=None) -> dict:
    """LipSDP-Neuron bound of the l_2 Lipschitz constant.

    Parameters
    ----------
    net : Network
        Scalar or margin output (``Q = u u^T``) or vector output with output norm 2 (``Q = I``).
    derivative_bounds : list of (lo, hi), optional
        Slope bounds per hidden layer (default: the global derivative ranges).
    solver : str
        A PICOS SDP solver name, or "clarabel" (polylip's Clarabel backend, no PICOS model:
        much faster on wide inputs such as MNIST).

    Returns
    -------
    dict
        ``bound`` (None unless optimal), ``status``, ``rho``, ``seconds``, ``lmi_size``,
        ``nvars``.
    """
    import picos

    t0 = time.perf_counter()
    layers = net.affine_layers
    H = net.num_hidden
    u = net.functional()
    if u is None and net.output.norm != 2.0:
        raise ModelError("LipSDP bounds the l_2 -> l_2 constant: the output must be scalar, a "
                         "margin, or a vector measured in l_2")
    if derivative_bounds is None:
        derivative_bounds = [act.derivative_range(np.full(n, -np.inf), np.full(n, np.inf))
                             for act, n in zip(net.activations, net.widths)]
    alpha = np.concatenate([np.asarray(a, float).ravel() for a, _ in derivative_bounds]) if H else np.zeros(0)
    beta = np.concatenate([np.asarray(b, float).ravel() for _, b in derivative_bounds]) if H else np.zeros(0)
    n0 = net.input_dim
    nh = int(sum(net.widths))
    N = n0 + nh
    WL = _csr(layers[-1][0])
    if u is not None:
        c = np.asarray(WL.T @ u).ravel()
        Q_last = sp.csr_matrix(np.outer(c, c))
    else:
        Q_last = (WL.T @ WL).tocsr()
    nlast = WL.shape[1]
    if H == 0:
        # linear map: the bound is the operator norm itself
        M = Q_last.toarray()
        val = float(np.sqrt(max(np.linalg.eigvalsh(M)[-1], 0.0)))
        return dict(bound=val, status="optimal", rho=val ** 2, seconds=time.perf_counter() - t0,
                    lmi_size=n0, nvars=1)
    # A: rows = hidden neurons, columns = x_ext; B = [0, I]
    blocks = []
    col = 0
    for k in range(H):
        W = _csr(layers[k][0])
        blocks.append(sp.hstack([sp.csr_matrix((W.shape[0], col)), W,
                                 sp.csr_matrix((W.shape[0], N - col - W.shape[1]))]))
        col += W.shape[1]
    A = sp.vstack(blocks).tocsr()
    # M(lambda) = sum_j lambda_j Q_j with Q_j = -2 a b a_j a_j^T + (a + b)(a_j e_j^T + e_j a_j^T) - 2 e_j e_j^T
    # vec(Q_j) for all j at once: vec(x y^T) = kron(y, x) in column-major; M is symmetric.
    Ac = A.tocoo()
    j, p, v = Ac.row, Ac.col, Ac.data
    jall, pall, vall = j, p, v
    # the a_j a_j^T terms only for neurons with alpha_j * beta_j != 0 (none for ReLU, whose
    # alpha is 0: this keeps wide first layers cheap)
    quad = (alpha * beta != 0.0)[j]
    j, p, v = j[quad], p[quad], v[quad]
    # a_j a_j^T entries: pairs of non-zeros within row j
    order = np.argsort(j, kind="stable")
    j, p, v = j[order], p[order], v[order]
    counts = np.bincount(j, minlength=nh).astype(np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rep = np.repeat(np.arange(j.size), counts[j])
    offs = np.arange(rep.size) - np.repeat(np.cumsum(counts[j]) - counts[j], counts[j])
    partner = starts[j[rep]] + offs
    r1, c1 = p[rep], p[partner]
    val1 = (-2.0 * alpha * beta)[j[rep]] * v[rep] * v[partner]
    lam1 = j[rep]
    e = n0 + np.arange(nh)
    j, p, v = jall, pall, vall
    r2 = np.concatenate([p, e[j]])
    c2 = np.concatenate([e[j], p])
    val2 = np.concatenate([((alpha + beta)[j] * v), ((alpha + beta)[j] * v)])
    lam2 = np.concatenate([j, j])
    r3, c3, val3, lam3 = e, e, -2.0 * np.ones(nh), np.arange(nh)
    rows = np.concatenate([r1, r2, r3]) * N + np.concatenate([c1, c2, c3])
    G = sp.csr_matrix((np.concatenate([val1, val2, val3]),
                       (rows, np.concatenate([lam1, lam2, lam3]))), shape=(N * N, nh))
    # constant part: W_L^T Q W_L on the last hidden block; -rho on the input block
    C = sp.lil_matrix((N, N))
    C[N - nlast:, N - nlast:] = Q_last
    C = C.tocsr()
    R = sp.csr_matrix((np.ones(n0), (np.arange(n0), np.arange(n0))), shape=(N, N))
    if solver == "clarabel":
        return _solve_clarabel(G, C, R, N, n0, nh, tol, t0)
    P = picos.Problem()
    lam = picos.RealVariable("lambda", nh, lower=0)
    rho = picos.RealVariable("rho", 1, lower=0)
    Mexpr = (picos.Constant(G) * lam).reshaped((N, N)) + picos.Constant(C.toarray()) \
        - rho * picos.Constant(R.toarray())
    P.add_constraint(Mexpr << 0)
    P.set_objective("min", rho)
    opts = dict(solver=solver, verbosity=0, primals=None, duals=None)
    if tol is not None:
        opts.update(abs_prim_fsb_tol=tol, abs_dual_fsb_tol=tol, rel_ipm_opt_tol=tol)
    build = time.perf_counter() - t0
    try:
        sol = P.solve(**opts)
    except (ArithmeticError, ValueError, picos.SolutionFailure) as exc:
        return dict(bound=None, status="failed", message=str(exc), seconds=time.perf_counter() - t0,
                    lmi_size=N, nvars=nh + 1)
    from picos.modeling import solution as s

    ok = sol.primalStatus == s.SS_OPTIMAL and sol.dualStatus in (s.SS_OPTIMAL, s.SS_UNKNOWN)
    seconds = time.perf_counter() - t0
    if not ok or rho.value is None:
        return dict(bound=None, status="inaccurate", message=str(sol.claimedStatus),
                    seconds=seconds, lmi_size=N, nvars=nh + 1)
    rho_v = float(rho.value)
    # Certify with the returned multipliers (clipped at 0), whatever the solver's accuracy:
    # M(lambda) - rho R <= 0 with R the identity on the input block. Where the hidden block M22
    # is negative definite, this holds iff rho >= lambda_max(M11 - M12 M22^{-1} M21) (Schur
    # complement), so that value (plus a relative 1e-12 for round-off) is a sound rho. Rows and
    # columns that are exactly zero are dropped (they do not affect semidefiniteness).
    lam_v = np.maximum(np.array(lam.value, dtype=float).ravel(), 0.0)
    M0 = (G @ lam_v).reshape(N, N) + C.toarray()
    M0 = 0.5 * (M0 + M0.T)
    rho_cert, how = _certify_rho(M0, n0)
    if rho_cert is None:
        return dict(bound=None, status="inaccurate", rho=rho_v, seconds=seconds, lmi_size=N,
                    nvars=nh + 1, message=how)
    log.info("LipSDP-Neuron: rho %.8g (certified %.8g), LMI %d, %d multipliers, %.2f s (build %.2f s)",
             rho_v, rho_cert, N, nh + 1, seconds, build)
    return dict(bound=float(np.sqrt(rho_cert)), status="optimal", rho=rho_cert, seconds=seconds,
                lmi_size=N, nvars=nh + 1, build_seconds=build, rho_solver=rho_v,
                margin=float(np.sqrt(rho_cert) - np.sqrt(max(rho_v, 0.0))), margin_kind=how)


def _solve_clarabel(G, C, R, N, n0, nh, tol, t0) -> dict:
    """The same SDP through polylip's Clarabel backend (no PICOS model): variables
    ``(lambda, rho)``, one N x N block ``-(G lambda + C - rho R) PSD`` and 1 x 1 blocks for
    ``lambda >= 0``, ``rho >= 0``."""
    from polylip.backends import clarabel_backend
    from polylip.relax.conic import LMIProblem

    n = nh + 1
    Gbig = sp.hstack([-G, sp.csr_matrix(R.reshape(N * N, 1))], format="csr")
    hbig = -np.asarray(C.toarray()).ravel()
    ones = [sp.csr_matrix(([1.0], ([0], [j])), shape=(1, n)) for j in range(n)]
    lmi = LMIProblem(c=np.concatenate([np.zeros(nh), [1.0]]), offset=0.0,
                     G=tuple([Gbig] + ones), h=tuple([hbig] + [np.zeros(1)] * n),
                     sizes=tuple([N] + [1] * n), A=sp.csr_matrix((0, n)), b=np.zeros(0))
    build = time.perf_counter() - t0
    raw = clarabel_backend.solve_lmi(lmi, tol=tol)
    seconds = time.perf_counter() - t0
    if raw.x is None or raw.status not in ("optimal", "inaccurate"):
        return dict(bound=None, status=raw.status, message=raw.message or raw.raw_status,
                    seconds=seconds, lmi_size=N, nvars=n)
    lam_v = np.maximum(raw.x[:nh], 0.0)
    rho_v = float(raw.x[nh])
    M0 = (G @ lam_v).reshape(N, N) + C.toarray()
    M0 = 0.5 * (M0 + M0.T)
    rho_cert, how = _certify_rho(M0, n0)
    if rho_cert is None:
        return dict(bound=None, status="inaccurate", rho=rho_v, seconds=seconds, lmi_size=N,
                    nvars=n, message=how)
    return dict(bound=float(np.sqrt(rho_cert)), status="optimal", rho=rho_cert, seconds=seconds,
                lmi_size=N, nvars=n, build_seconds=build, rho_solver=rho_v, solver="clarabel",
                solver_status=raw.raw_status,
                margin=float(np.sqrt(rho_cert) - np.sqrt(max(rho_v, 0.0))), margin_kind=how)


def _certify_rho(M0: np.ndarray, n0: int):
    """Smallest ``rho`` with ``M0 - rho * blkdiag(I_n0, 0) <= 0``, computed a posteriori.

    Returns ``(rho, "schur")``, or ``(None, reason)`` when the hidden block is not negative
    definite (then no ``rho`` certifies these multipliers).
    """
    keep = np.nonzero(np.any(M0 != 0.0, axis=1))[0]
    hid = keep[keep >= n0]
    inp = np.arange(n0)
    M11 = M0[np.ix_(inp, inp)]
    if hid.size:
        M22 = M0[np.ix_(hid, hid)]
        M12 = M0[np.ix_(inp, hid)]
        scale = max(1.0, float(np.abs(M22).max()))
        if float(np.linalg.eigvalsh(M22)[-1]) >= -1e-12 * scale:
            return None, "hidden block of the LMI not negative definite at the solver's multipliers"
        S = M11 - M12 @ np.linalg.solve(M22, M12.T)
    else:
        S = M11
    S = 0.5 * (S + S.T)
    top = float(np.linalg.eigvalsh(S)[-1])
    rho = max(top, 0.0) + 1e-12 * max(1.0, float(np.abs(S).max()))
    return rho, "schur"

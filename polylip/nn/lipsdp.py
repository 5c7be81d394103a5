"""LipSDP-Neuron (Fazlyab, Robey, Hassani, Morari, Pappas, NeurIPS 2019) for the l_2 constant.

For ``f(x) = W_L phi(W_{L-1} ... phi(W_1 x))`` (biases do not matter) with every activation
slope-restricted, ``alpha_j <= phi_j' <= beta_j`` per neuron, write ``w_0 = x`` and ``w_k`` for
the post-activations of hidden layer ``k = 1..H`` (``H = L - 1``). With one multiplier
``lambda_j >= 0`` per hidden neuron and ``rho >= 0``, the quadratic form

    rho |x|^2 - |Wout w_H|^2 + sum_k sum_j lambda_kj q(v_kj, w_kj),
    q(v, w) = 2 alpha beta v^2 - 2 (alpha + beta) v w + 2 w^2,      v_k = W_k w_{k-1},

is, as a matrix ``-M(rho, lambda)`` in ``(w_0, ..., w_H)``, **block tridiagonal**, one block
per layer (``n_k`` the widths, ``A = alpha beta``, ``B = alpha + beta`` per neuron):

    block (0, 0)   rho I + 2 W_1^T diag(A_1 lambda_1) W_1
    block (k, k)   2 diag(lambda_k) + 2 W_{k+1}^T diag(A_{k+1} lambda_{k+1}) W_{k+1}   (0 < k < H)
    block (H, H)   2 diag(lambda_H) - Wout^T Wout
    block (k, k-1) -diag(B_k lambda_k) W_k

If ``-M(rho, lambda) >= 0`` (positive semidefinite) then ``sqrt(rho)`` bounds the l_2 -> l_2
Lipschitz constant of ``Wout f`` (``Wout = u^T W_L`` for a scalar or margin output, ``W_L``
itself for a vector output in l_2): the increments of a slope-restricted activation satisfy
``q >= 0``, so ``rho |dx|^2 >= |Wout dw_H|^2``. LipSDP-Neuron minimizes ``rho``.

Three ways to solve it (``form``), one certificate:

* ``"dense"``: the whole ``N x N`` LMI (``N = n_0 + ... + n_H``) as one
  :class:`~polylip.relax.conic.LMIProblem`, handed to :func:`polylip.solve.sdp.solve_sdp`
  (CVXOPT through PICOS, or Clarabel). For small networks.
* ``"chordal"``: the same LMI split along its chordal pattern. The cliques of a block-tridiagonal
  pattern are the consecutive layer pairs ``(k-1, k)``; by the Agler / Grone theorem a matrix
  with that pattern is PSD iff it is a sum of PSD matrices, one per clique. So one PSD block of
  size ``n_{k-1} + n_k`` per layer, coupled by free symmetric matrices ``X_k`` that split each
  shared diagonal block between its two cliques (Chordal-LipSDP, Xue et al. 2022). Handed to
  :func:`~polylip.solve.sdp.solve_sdp` (Clarabel). For deep, narrow networks: Clarabel's KKT
  system holds a dense block of ``(s(s+1)/2)^2`` entries per PSD block of size ``s``, so pairs
  above about 60 neurons are out of its reach.
* ``"structured"``: a primal-dual interior-point method (HKM direction, Mehrotra
  predictor-corrector) written for this LMI: every neuron's matrix is ``U_j S_j U_j^T`` with
  ``U_j = [a_j, e_j]`` (rank 2), so the Schur complement costs a few dense ``N x N``
  products per iteration instead of one ``N x N`` product per multiplier (CVXOPT's cost,
  cubic per variable). It starts from the ECLipsE-Fast multipliers (:mod:`polylip.nn.eclipse`),
  which are strictly feasible, and every dual iterate stays feasible, so a time limit still
  leaves a certified bound. For networks of 100 to about 1,500 neurons.

Whatever the solver's accuracy, the bound is **certified a posteriori** from the multipliers
alone (:func:`certify_rho`): ``rho`` is the smallest value for which a block Cholesky
factorization of ``-M(rho, lambda)`` (layer by layer, from the output back to the input
block, O(sum n_k^3)) goes through with a shift that covers round-off; see :func:`certify_rho`
for the argument.

Every form solves a *balanced* LMI: the congruence by one scalar per layer that makes the
ECLipsE point's multipliers and ``rho`` equal to 1 (then, if the optimum lies far from it, by
the first solution's); without it, deep random networks, whose multipliers span tens of orders
of magnitude, stopped three orders of magnitude above the optimum.

Neurons that cannot matter are removed first (:func:`lipsdp_data`): a zero slope range
(a stable-off ReLU over a region), a zero row (constant pre-activation) or a zero outgoing
column. Over the region the pruned network computes the same function up to a constant.

Why this module is long: the LMI data, the two SDP forms, the structured interior-point method
and the certificate share the block layout (:class:`LipSDPData`) and are one subject.

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
from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp

from polylip.errors import ModelError
from polylip.nn.hkm import hkm_solve
from polylip.relax.conic import LMIProblem, upper_to_full
from polylip.runtime import one_blas_thread
from polylip.solve.sdp import solve_sdp

__all__ = ["lipsdp_neuron", "LipSDPData", "lipsdp_data", "dense_lmi", "chordal_lmi",
           "certify_rho", "choose_form", "FORMS"]

log = logging.getLogger(__name__)

#: The forms of :func:`lipsdp_neuron` (besides "auto").
FORMS = ("dense", "chordal", "structured")

# ---------------------------------------------------------------------------------------------
# form="auto": measured on these 2-core machines (benchmarks/bench_lipschitz_l2.py)
# ---------------------------------------------------------------------------------------------
#: "dense" (PICOS/CVXOPT or Clarabel on the one LMI) up to this LMI size N: below it every
#: form takes under 0.5 s; from N = 50 on "structured" is faster (N = 100: 0.56 s against
#: CVXOPT's 5.1 s and Clarabel-chordal's 67 s; N = 150: 0.9 s against 14.6 s and over 120 s).
AUTO_DENSE_MAX_N = 40
#: "structured" up to this size of the LMI it solves (``min(n_0, n_1) + hidden neurons``: the
#: input block is reduced to the row space of W_1). Each iteration costs a few dense
#: ``N x N`` products: 664 took 8-17 s, 1,500 (784-500-500-10) 39 s, under loads of 4-10.
AUTO_STRUCTURED_MAX_N = 2000
#: Above that, "chordal" when every layer pair is at most this wide (Clarabel's KKT system
#: holds a dense block of (s(s+1)/2)^2 entries per pair of s neurons; pairs of 60 took 67 s),
#: else no form is tried (method "eclipse" still answers).
AUTO_CHORDAL_MAX_PAIR = 60

_U = np.finfo(float).eps / 2  # unit round-off


# One BLAS thread inside the dense loops (a 264 x 264 Cholesky: 0.6 s with two OpenBLAS
# threads under a load of 5, 1.5 ms with one).
_blas_one_thread = one_blas_thread


# ---------------------------------------------------------------------------------------------
# the data
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LipSDPData:
    """The network as LipSDP-Neuron sees it: hidden weights ``W_1..W_H`` (dense, pruned), the
    output map ``Wout`` (``1 x n_H`` for a scalar or margin output, ``W_L`` for a vector in
    l_2), per-neuron slope bounds, the input width, and how many neurons were pruned."""

    weights: tuple
    wout: np.ndarray
    alpha: tuple
    beta: tuple
    n0: int
    pruned: int = 0

    @property
    def depth(self) -> int:
        """Number of hidden layers ``H``."""
        return len(self.weights)

    @property
    def sizes(self) -> list:
        """Block sizes ``[n_0, n_1, ..., n_H]``."""
        return [self.n0] + [W.shape[0] for W in self.weights]

    @property
    def N(self) -> int:
        """Size of the LMI."""
        return int(sum(self.sizes))

    @property
    def nh(self) -> int:
        """Number of multipliers (hidden neurons)."""
        return int(sum(W.shape[0] for W in self.weights))

    @property
    def offsets(self) -> np.ndarray:
        return np.concatenate([[0], np.cumsum(self.sizes)]).astype(np.int64)

    def A(self, k: int) -> np.ndarray:
        """``alpha * beta`` of hidden layer ``k`` (0-based)."""
        return self.alpha[k] * self.beta[k]

    def B(self, k: int) -> np.ndarray:
        """``alpha + beta`` of hidden layer ``k`` (0-based)."""
        return self.alpha[k] + self.beta[k]

    def split(self, lam) -> list:
        """The multiplier vector cut per hidden layer."""
        lam = np.asarray(lam, dtype=float).ravel()
        cuts = np.cumsum([W.shape[0] for W in self.weights])[:-1]
        return np.split(lam, cuts)


def _dense(W) -> np.ndarray:
    return W.toarray() if sp.issparse(W) else np.asarray(W, dtype=float)


def lipsdp_data(net, derivative_bounds=None) -> LipSDPData:
    """The blocks of LipSDP-Neuron for ``net`` with slope bounds ``derivative_bounds`` (one
    ``(lo, hi)`` per hidden layer; default the global derivative ranges), with the neurons that
    cannot matter removed (zero slope range, zero incoming row, zero outgoing column)."""
    u = net.functional()
    if u is None and net.output.norm != 2.0:
        raise ModelError("LipSDP bounds the l_2 -> l_2 constant: the output must be scalar, a "
                         "margin, or a vector measured in l_2")
    layers = net.affine_layers
    H = net.num_hidden
    if derivative_bounds is None:
        derivative_bounds = [act.derivative_range(np.full(n, -np.inf), np.full(n, np.inf))
                             for act, n in zip(net.activations, net.widths)]
    Ws = [_dense(layers[k][0]) for k in range(H)]
    WL = _dense(layers[-1][0])
    wout = (u @ WL)[None, :] if u is not None else WL
    al, be = [], []
    for (lo, hi), n in zip(derivative_bounds, net.widths):
        al.append(np.broadcast_to(np.asarray(lo, dtype=float), (n,)).astype(float))
        be.append(np.broadcast_to(np.asarray(hi, dtype=float), (n,)).astype(float))
    pruned = 0
    while H:
        keep = []
        for k in range(H):
            nxt = Ws[k + 1] if k + 1 < H else wout
            live = ((np.abs(al[k]) + np.abs(be[k]) > 0) & np.any(Ws[k] != 0, axis=1)
                    & np.any(nxt != 0, axis=0))
            keep.append(live)
        if all(kp.all() for kp in keep):
            break
        for k in range(H):
            kp = keep[k]
            pruned += int((~kp).sum())
            Ws[k] = Ws[k][kp]
            al[k], be[k] = al[k][kp], be[k][kp]
            if k + 1 < H:
                Ws[k + 1] = Ws[k + 1][:, kp]
            else:
                wout = wout[:, kp]
        if any(W.shape[0] == 0 for W in Ws):
            break
    return LipSDPData(tuple(Ws), wout, tuple(al), tuple(be), int(net.input_dim), pruned)


def _constant(data: LipSDPData) -> bool:
    """A hidden layer pruned away entirely: ``f`` is constant (over the region)."""
    return any(W.shape[0] == 0 for W in data.weights) or not np.any(data.wout)


# ---------------------------------------------------------------------------------------------
# the LMI as data: one generator of -M's entries, two layouts
# ---------------------------------------------------------------------------------------------
def _entries(data: LipSDPData):
    """Entries of ``-M(rho, lambda)`` per layer: for hidden layer ``k`` (1-based) the triplets
    ``(row, col, value, variable)`` of its multipliers' terms (variables ``0..nh-1`` are the
    multipliers, ``nh`` is ``rho``, given to layer 1), in global coordinates. Both triangles."""
    off = data.offsets
    nh = data.nh
    first = np.concatenate([[0], np.cumsum([W.shape[0] for W in data.weights])]).astype(np.int64)
    out = []
    for k, W in enumerate(data.weights):
        nk = W.shape[0]
        var = first[k] + np.arange(nk)
        Wc = sp.coo_matrix(W)
        j, i, w = Wc.row, Wc.col, Wc.data
        Bj = data.B(k)[j]
        rows = [off[k + 1] + j, off[k] + i, off[k + 1] + np.arange(nk)]
        cols = [off[k] + i, off[k + 1] + j, off[k + 1] + np.arange(nk)]
        vals = [-Bj * w, -Bj * w, np.full(nk, 2.0)]
        vars_ = [var[j], var[j], var]
        Ak = data.A(k)
        quad = np.nonzero(Ak != 0)[0]
        if quad.size:  # 2 A_j W_ji W_jl on block k-1, only for neurons with alpha beta != 0
            Wq = W[quad]
            n = W.shape[1]
            ii, ll = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
            vals.append((2.0 * Ak[quad][:, None, None] * Wq[:, :, None] * Wq[:, None, :]).ravel())
            rows.append(np.tile((off[k] + ii).ravel(), quad.size))
            cols.append(np.tile((off[k] + ll).ravel(), quad.size))
            vars_.append(np.repeat(var[quad], n * n))
        if k == 0:
            rows.append(np.arange(data.n0))
            cols.append(np.arange(data.n0))
            vals.append(np.ones(data.n0))
            vars_.append(np.full(data.n0, nh))
        out.append(tuple(np.concatenate(a) for a in (rows, cols, vals, vars_)))
    return out


def _output_term(data: LipSDPData) -> np.ndarray:
    """``Wout^T Wout`` (the constant part of the last block, subtracted)."""
    return data.wout.T @ data.wout


def _nonneg_rows(data: LipSDPData, nvars: int):
    """1 x 1 blocks ``lambda_j >= 0`` for the neurons where the LMI does not imply it (its
    diagonal entry is ``2 lambda_j`` minus a PSD term unless the next layer has
    ``alpha beta != 0``)."""
    first = np.concatenate([[0], np.cumsum([W.shape[0] for W in data.weights])]).astype(np.int64)
    need = []
    for k in range(data.depth - 1):
        if np.any(data.A(k + 1) != 0):
            need.append(first[k] + np.arange(data.weights[k].shape[0]))
    need = np.concatenate(need) if need else np.zeros(0, dtype=np.int64)
    G = [sp.csr_matrix(([1.0], ([0], [j])), shape=(1, nvars)) for j in need]
    return G, [np.zeros(1)] * len(G), need


def dense_lmi(data: LipSDPData) -> LMIProblem:
    """LipSDP-Neuron as one ``N x N`` LMI: ``minimize rho`` over ``x = (lambda, rho)`` with
    ``mat(G x + h) = -M(rho, lambda)`` PSD (and ``lambda_j >= 0`` where not implied)."""
    N, nh = data.N, data.nh
    nvars = nh + 1
    parts = _entries(data)
    r, c, v, x = (np.concatenate([p[i] for p in parts]) for i in range(4))
    G = sp.csr_matrix((v, (r * N + c, x)), shape=(N * N, nvars))
    h = np.zeros((N, N))
    o = data.offsets[-2]
    h[o:, o:] = -_output_term(data)
    Gs, hs, _ = _nonneg_rows(data, nvars)
    c_obj = np.zeros(nvars)
    c_obj[nh] = 1.0
    return LMIProblem(c=c_obj, offset=0.0, G=tuple([G] + Gs), h=tuple([h.ravel()] + hs),
                      sizes=tuple([N] + [1] * len(Gs)), A=sp.csr_matrix((0, nvars)),
                      b=np.zeros(0), meta={"form": "dense"})


def chordal_lmi(data: LipSDPData) -> LMIProblem:
    """LipSDP-Neuron split along its chordal pattern: one PSD block per layer pair.

    Variables ``x = (lambda, rho, X_1, ..., X_{H-1})`` with ``X_k`` symmetric ``n_k x n_k``
    (its upper triangle, ``np.triu_indices`` order). Block ``k`` (``k = 1..H``, size
    ``n_{k-1} + n_k``) holds layer ``k``'s terms of ``-M`` plus ``X_{k-1}`` on its first
    diagonal block and minus ``X_k`` on its second (none at the ends); the blocks sum to
    ``-M``, and by the Agler / Grone theorem ``-M`` is PSD iff such ``X`` exist.
    """
    H, nh = data.depth, data.nh
    sizes = data.sizes
    off = data.offsets
    ntri = [n * (n + 1) // 2 for n in sizes[1:H]]
    xoff = np.concatenate([[nh + 1], nh + 1 + np.cumsum(ntri)]).astype(np.int64)
    nvars = int(xoff[-1])
    parts = _entries(data)
    Gs, hs, bs = [], [], []
    for k in range(1, H + 1):
        s0, s1 = sizes[k - 1], sizes[k]
        s = s0 + s1
        r, c, v, x = parts[k - 1]
        base = off[k - 1]
        rows = [(r - base) * s + (c - base)]
        vals, cols = [v], [x]
        if k >= 2:  # + X_{k-1} on the first diagonal block
            U = upper_to_full(s0, False).tocoo()
            ii, jj = np.divmod(U.row, s0)
            rows.append(ii * s + jj)
            vals.append(U.data)
            cols.append(xoff[k - 2] + U.col)
        if k <= H - 1:  # - X_k on the second
            U = upper_to_full(s1, False).tocoo()
            ii, jj = np.divmod(U.row, s1)
            rows.append((s0 + ii) * s + (s0 + jj))
            vals.append(-U.data)
            cols.append(xoff[k - 1] + U.col)
        coo = (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols)))
        Gs.append(sp.csr_matrix(coo, shape=(s * s, nvars)))
        h = np.zeros((s, s))
        if k == H:
            h[s0:, s0:] = -_output_term(data)
        hs.append(h.ravel())
        bs.append(s)
    Gn, hn, _ = _nonneg_rows(data, nvars)
    c_obj = np.zeros(nvars)
    c_obj[nh] = 1.0
    return LMIProblem(c=c_obj, offset=0.0, G=tuple(Gs + Gn), h=tuple(hs + hn),
                      sizes=tuple(bs + [1] * len(Gn)), A=sp.csr_matrix((0, nvars)),
                      b=np.zeros(0), meta={"form": "chordal"})


# ---------------------------------------------------------------------------------------------
# the certificate
# ---------------------------------------------------------------------------------------------
def _diag_blocks(data: LipSDPData, lams: list) -> list:
    """Diagonal blocks ``D_0..D_H`` of ``-M(0, lambda)`` (``D_0`` None when it is zero)."""
    H = data.depth
    D = [None] * (H + 1)
    for k in range(H):
        Ak = data.A(k) * lams[k]
        if np.any(Ak):
            W = data.weights[k]
            term = 2.0 * (W.T * Ak) @ W
            D[k] = term if D[k] is None else D[k] + term
    for k in range(1, H + 1):
        d = np.diag(2.0 * lams[k - 1])
        D[k] = d if D[k] is None else D[k] + d
    D[H] = D[H] - _output_term(data)
    return D


def _gamma(n: int) -> float:
    return n * _U / (1 - n * _U)


def _formation_rows(data: LipSDPData, lams: list, D: list) -> list:
    """Per row, a bound on the row sum of ``|formed - exact|`` of ``-M(0, lambda)``: two
    roundings per off-diagonal entry, a dot product's error (``gamma_n |a| . |b|``) per
    ``W^T diag W`` and ``Wout^T Wout`` entry, and the roundings on the diagonal."""
    H = data.depth
    rows = [np.zeros(n) for n in data.sizes]
    for k, W in enumerate(data.weights):
        aW = np.abs(W)
        off = np.abs(data.B(k) * lams[k])
        rows[k + 1] += _gamma(3) * off * aW.sum(axis=1)
        rows[k] += _gamma(3) * (aW.T @ off)
        Ak = np.abs(data.A(k) * lams[k])
        if np.any(Ak):
            rows[k] += 2.0 * _gamma(W.shape[0] + 3) * (aW.T @ (Ak * aW.sum(axis=1)))
    aO = np.abs(data.wout)
    rows[H] += _gamma(data.wout.shape[0] + 2) * (aO.T @ aO.sum(axis=1))
    for k in range(H + 1):
        if D[k] is not None:
            rows[k] += 4 * _U * np.abs(np.diag(D[k]))
    return rows


@dataclass(frozen=True)
class Certificate:
    """A certified ``rho`` (None if these multipliers certify none), how, and the largest
    diagonal shift used."""

    rho: float | None
    kind: str
    shift: float = 0.0
    message: str = ""


def certify_rho(data: LipSDPData, lam, input_weights=None) -> Certificate:
    """The smallest ``rho`` this function can prove with ``-M(rho, lambda) >= 0``.

    With ``input_weights`` (a positive vector ``w`` of length ``n_0``) the input block is
    ``rho diag(w)`` instead of ``rho I`` (the l_inf bound of :mod:`polylip.nn.geolip`).

    Backward block Cholesky: ``X_H = D_H``; for ``k = H..1``: ``X_k = L_k L_k^T``,
    ``Y_k = L_k^{-1} O_k`` (``O_k`` the block ``(k, k-1)``) and
    ``X_{k-1} = D_{k-1} - Y_k^T Y_k``; then ``-M(rho) >= 0`` iff ``rho I + X_0 >= 0``, i.e.
    ``rho >= lambda_max(-X_0)`` (Schur complement onto the input block).

    Round-off: the factorization runs on ``-M(rho) - diag(c)`` (a shift per row). If
    floating-point Cholesky of ``F`` completes, the computed factor ``R`` satisfies
    ``R^T R = F + dF`` with ``|dF| <= gamma_w |R^T| |R|`` entrywise (Demmel; Higham, Accuracy
    and Stability, Thm 10.3; ``w`` bounds the inner products' length, here the widest layer
    pair plus 2; any order of the inner products, so the block algorithm, which is that
    Cholesky on a matrix with zero blocks, is covered; IEEE double, conventional BLAS). For a
    symmetric ``E`` with ``|E| <= G`` entrywise, ``v^T E v <= sum_i (G 1)_i v_i^2``
    (``2|v_i v_j| <= v_i^2 + v_j^2``), so ``dF`` and the formation error ``E_f`` of the formed
    matrix (:func:`_formation_rows`) are dominated by the diagonal matrices of their row sums.
    The shifts are checked after the factorization: ``c >= gamma_w |R^T||R| 1 + e``
    row by row (``e`` the formation rows); then ``-M(rho) = F + diag(c) + E_f
    = R^T R - dF + diag(c) + E_f >= 0``. Row-wise shifts keep the certificate meaningful when
    layers differ in scale by many orders of magnitude (deep networks).

    ``rho`` is ``lambda_max`` of the shifted Schur complement on the input block plus a
    bump that its own factorization confirms. Multipliers are clipped at 0 first. Returns
    ``Certificate(None, ...)`` when the hidden part is not positive definite (beyond the
    shifts) at these multipliers.
    """
    lams = [np.maximum(x, 0.0) for x in data.split(lam)]
    H = data.depth
    sizes = data.sizes
    gam = _gamma(max(a + b for a, b in zip(sizes[:-1], sizes[1:])) + 2)
    with _blas_one_thread():
        D = _diag_blocks(data, lams)
        O = [-(data.B(k) * lams[k])[:, None] * W for k, W in enumerate(data.weights)]
        e = _formation_rows(data, lams, D)
        # a priori shifts: gamma_w times the row sums of |-M| (the a posteriori test decides)
        c = []
        for k in range(H + 1):
            r = np.abs(D[k]).sum(axis=1) if D[k] is not None else np.zeros(sizes[k])
            if k >= 1:
                r = r + np.abs(O[k - 1]).sum(axis=1)
            if k < H:
                r = r + np.abs(O[k]).sum(axis=0)
            c.append(2.0 * (gam * r + e[k]))
        out = Certificate(None, "schur", 0.0, "not attempted")
        for _ in range(6):
            out, need = _chain_rho(D, O, c, gam, e, input_weights)
            if out.rho is None or need is None:
                return out
            c = [np.maximum(ck, 1.5 * nk) for ck, nk in zip(c, need)]
        return Certificate(None, "schur", out.shift, "round-off shifts did not settle")


def _chain_rho(D: list, O: list, c: list, gam: float, e: list, weights=None):
    """One shifted backward block Cholesky; ``(certificate, None)`` when the shifts ``c``
    cover the a-posteriori bound, else ``(certificate, needed shifts)``. ``weights``: the
    input block is ``rho diag(weights)`` (default ``rho I``)."""
    H = len(O)
    Ls, Ys = [None] * (H + 1), [None] * (H + 1)
    X = D[H] - np.diag(c[H])
    for k in range(H, 0, -1):
        try:
            Ls[k] = np.linalg.cholesky(X)
        except np.linalg.LinAlgError:
            return Certificate(None, "schur", float(max(ck.max(initial=0) for ck in c)),
                               f"hidden block {k} of the LMI is not positive definite at these "
                               "multipliers"), None
        Ys[k] = sla.solve_triangular(Ls[k], O[k - 1], lower=True, check_finite=False)
        X = (D[k - 1] if D[k - 1] is not None else 0.0) - Ys[k].T @ Ys[k] - np.diag(c[k - 1])
    # block 0: rho I + X >= 0 with X = D_0 - Y_1^T Y_1 - diag(c_0)
    Sm = -0.5 * (X + X.T)
    n0 = Sm.shape[0]
    wts = np.ones(n0) if weights is None else np.asarray(weights, dtype=float)
    iw = 1.0 / np.sqrt(wts)  # only to estimate rho: the Cholesky below decides
    top = float(sla.eigh(iw[:, None] * Sm * iw[None, :], eigvals_only=True,
                         subset_by_index=[n0 - 1, n0 - 1], check_finite=False)[0])
    top = max(top, 0.0)
    bump = 4.0 * (n0 + 1) * _U * (n0 * top + float(np.abs(np.diag(Sm) / wts).sum())) + 1e-300
    for _ in range(40):
        rho = top + bump
        try:
            Ls[0] = np.linalg.cholesky(np.diag(rho * wts) - Sm)
            break
        except np.linalg.LinAlgError:
            bump *= 4.0
    else:  # pragma: no cover - the bump grows past any round-off
        return Certificate(None, "schur", 0.0, "the input block could not be certified"), None
    # a posteriori: r = gamma_w |R^T| |R| 1 per row, R the (reversed-order) factor
    v = [np.abs(Ls[k]).sum(axis=0) + (np.abs(Ys[k]).sum(axis=1) if k >= 1 else 0.0)
         for k in range(H + 1)]
    need, ok = [], True
    for k in range(H + 1):
        r = np.abs(Ls[k]) @ v[k]
        if k < H:
            r = r + np.abs(Ys[k + 1]).T @ v[k + 1]
        nk = gam * r + e[k]
        nk[...] = nk + 2 * _U * np.abs(c[k])  # rounding of the shift itself
        if k == 0 and weights is not None:
            nk[...] = nk + _U * rho * wts  # rounding of rho * w_i
        need.append(nk)
        ok = ok and bool(np.all(c[k] >= nk))
    cert = Certificate(float(rho), "schur", float(max(ck.max(initial=0) for ck in c)))
    return cert, (None if ok else need)


def _certify_or_mix(data: LipSDPData, lam, start=None) -> tuple[Certificate, float]:
    """Certify ``lam``; if the hidden part fails (a solver's slightly infeasible answer), mix
    in a strictly feasible ``start`` (convexity: ``(1-t) lam + t start`` is strictly feasible
    for ``t`` large enough), the smallest mixing weight that certifies. Returns the
    certificate and the weight."""
    cert = certify_rho(data, lam)
    if cert.rho is not None or start is None:
        return cert, 0.0
    for t in (1e-8, 1e-6, 1e-4, 1e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0):
        c2 = certify_rho(data, (1 - t) * np.maximum(lam, 0.0) + t * start)
        if c2.rho is not None:
            return c2, t
    return cert, 0.0


# ---------------------------------------------------------------------------------------------
# the structured interior-point method
# ---------------------------------------------------------------------------------------------
class _Ops:
    """The linear maps of the LMI in block form. ``y = (y_0, y_1..y_m)``: ``sum y_i A_i`` with
    ``A_0`` the identity on the input block and ``A_j = U_j S_j U_j^T`` per neuron,
    ``U_j = [a_j, e_j]``, ``S_j = [[2 alpha beta, -(alpha+beta)], [-(alpha+beta), 2]]``."""

    def __init__(self, data: LipSDPData):
        self.W = data.weights
        self.off = data.offsets
        self.N, self.m, self.n0 = data.N, data.nh, data.n0
        self.sA = np.concatenate([2.0 * data.A(k) for k in range(data.depth)])
        self.sX = np.concatenate([-data.B(k) for k in range(data.depth)])
        self.sE = np.full(self.m, 2.0)
        self.rows = np.concatenate([[0], np.cumsum([W.shape[0] for W in self.W])]).astype(np.int64)
        self.hid = np.arange(self.n0, self.N)
        self.quad = bool(np.any(self.sA))

    def AY(self, Y):
        """``A @ Y`` (``m x N``; row ``j`` is ``a_j^T Y``)."""
        return np.vstack([W @ Y[self.off[k]:self.off[k + 1]] for k, W in enumerate(self.W)])

    def AYAt(self, AY):
        """``(A Y) A^T`` (``m x m``)."""
        return np.hstack([AY[:, self.off[k]:self.off[k + 1]] @ W.T for k, W in enumerate(self.W)])

    def apply(self, Y):
        """``(A_i . Y)_i`` for a symmetric ``Y``."""
        out = np.empty(self.m + 1)
        out[0] = np.trace(Y[:self.n0, :self.n0])
        aYe = np.concatenate([np.einsum("ji,ji->j", W, Y[self.off[k + 1]:self.off[k + 2],
                                                            self.off[k]:self.off[k + 1]])
                              for k, W in enumerate(self.W)])
        val = 2.0 * self.sX * aYe + self.sE * np.diag(Y)[self.hid]
        if self.quad:
            aYa = np.concatenate([np.einsum("ji,ji->j", W @ Y[self.off[k]:self.off[k + 1],
                                                              self.off[k]:self.off[k + 1]], W)
                                  for k, W in enumerate(self.W)])
            val += self.sA * aYa
        out[1:] = val
        return out

    def adjoint(self, y):
        """``sum_i y_i A_i`` (dense ``N x N``)."""
        X = np.zeros((self.N, self.N))
        lam = y[1:]
        for k, W in enumerate(self.W):
            r = slice(self.rows[k], self.rows[k + 1])
            b0, b1 = slice(self.off[k], self.off[k + 1]), slice(self.off[k + 1], self.off[k + 2])
            O = (self.sX[r] * lam[r])[:, None] * W
            X[b1, b0] += O
            X[b0, b1] += O.T
            if self.quad and np.any(self.sA[r]):
                X[b0, b0] += (W.T * (self.sA[r] * lam[r])) @ W
        X[self.hid, self.hid] += self.sE * lam
        idx = np.arange(self.n0)
        X[idx, idx] += y[0]
        return X

    def right_mul(self, Y, y):
        """``Y @ sum_i y_i A_i`` without forming the block-tridiagonal factor (its diagonal
        blocks are diagonal unless some ``alpha beta != 0``)."""
        out = Y * self._diag(y)[None, :]
        lam = y[1:]
        for k, W in enumerate(self.W):
            r = slice(self.rows[k], self.rows[k + 1])
            b0, b1 = slice(self.off[k], self.off[k + 1]), slice(self.off[k + 1], self.off[k + 2])
            O = (self.sX[r] * lam[r])[:, None] * W  # block (k+1, k)
            out[:, b0] += Y[:, b1] @ O
            out[:, b1] += Y[:, b0] @ O.T
            if self.quad and np.any(self.sA[r]):
                out[:, b0] += Y[:, b0] @ ((W.T * (self.sA[r] * lam[r])) @ W)
        return out

    def _diag(self, y):
        d = np.empty(self.N)
        d[:self.n0] = y[0]
        d[self.n0:] = self.sE * y[1:]
        return d

    def schur(self, X, P):
        """``M_ij = A_i . (X A_j P)`` (HKM): from ``K = V X V^T`` and ``V P V^T`` with
        ``V = [A; E]``, 16 elementwise products of ``m x m`` matrices."""
        hid, n0 = self.hid, self.n0
        K = {}
        R = {}
        for name, Y in (("X", X), ("P", P)):
            AY = self.AY(Y)
            KAE = AY[:, hid]
            K[name] = {("A", "A"): self.AYAt(AY), ("A", "E"): KAE, ("E", "A"): KAE.T,
                       ("E", "E"): Y[np.ix_(hid, hid)]}
            R[name] = {"A": AY[:, :n0], "E": Y[hid, :n0]}
        S = {("A", "A"): self.sA, ("A", "E"): self.sX, ("E", "A"): self.sX, ("E", "E"): self.sE}
        nz = [pq for pq in S if np.any(S[pq])]
        m = self.m
        Ms = np.zeros((m, m))
        for p, q in nz:
            for r, s in nz:
                Ms += (S[p, q][:, None] * S[r, s][None, :]) * K["X"][q, r] * K["P"][p, s]
        hr = np.zeros(m)
        for r, s in nz:
            hr += S[r, s] * np.einsum("ij,ij->i", R["X"][r], R["P"][s])
        M = np.empty((m + 1, m + 1))
        M[0, 0] = float(np.sum(X[:n0, :n0] * P[:n0, :n0]))
        M[0, 1:] = hr
        M[1:, 0] = hr
        M[1:, 1:] = 0.5 * (Ms + Ms.T)
        return M


def _reduce_input(data: LipSDPData) -> LipSDPData:
    """The same LMI with the input block restricted to the row space of ``W_1`` (an orthogonal
    change of basis: on the complement the input block is ``rho I``, PSD for any ``rho >= 0``).
    Only for the solve; the certificate uses the original data."""
    W1 = data.weights[0]
    n1, n0 = W1.shape
    if n0 <= n1:
        return data
    Q, _ = np.linalg.qr(W1.T)  # n0 x n1, orthonormal columns
    return LipSDPData((W1 @ Q,) + data.weights[1:], data.wout, data.alpha, data.beta, n1,
                      data.pruned)


def _structured(data: LipSDPData, start_rho: float, start_lam, *, tol: float,
                max_iters: int, deadline: float | None, cap: float = 1e8) -> dict:
    """HKM primal-dual interior-point method for ``max -rho s.t. -M(rho, lambda) >= 0,
    0 <= lambda <= cap * start_lam`` (the upper caps keep neurons with negligible weights,
    which the LMI does not bound, from drifting). Dual form ``S = C - sum y_i A_i`` with
    ``y = -(rho, lambda)``, ``C = -Wout^T Wout`` on the last block. Starts dual feasible
    (strictly) and stays so; the primal ``X`` starts at ``mu S^{-1}``."""
    red = _reduce_input(data)
    ops = _Ops(red)
    m, N = ops.m, ops.N
    C = np.zeros((N, N))
    o = red.offsets[-2]
    C[o:, o:] = -_output_term(red)
    b = np.zeros(m + 1)
    b[0] = 1.0
    U = cap * np.maximum(start_lam, 1e-300)
    y0 = -np.concatenate([[start_rho], start_lam])
    out = hkm_solve(ops, C, b, y0, U, 1, tol=tol, max_iters=max_iters, deadline=deadline,
                    label="structured LipSDP")
    best_y, status, it, gap = out["y"], out["status"], out["iterations"], out["gap"]
    capped = int(np.sum(-best_y[1:] > 0.5 * U))
    return dict(rho=float(-best_y[0]), lam=-best_y[1:], status=status, iterations=it, gap=gap,
                capped=capped, reduced_input=red.n0)


# ---------------------------------------------------------------------------------------------
# the entry point
# ---------------------------------------------------------------------------------------------
def choose_form(data: LipSDPData) -> str | None:
    """The form "auto" uses for these blocks (None: no form within reach; see the
    ``AUTO_*`` constants for the measurements)."""
    if data.N <= AUTO_DENSE_MAX_N or data.depth == 0:
        return "dense"
    sizes = data.sizes
    if min(sizes[0], sizes[1]) + data.nh <= AUTO_STRUCTURED_MAX_N:
        return "structured"
    if max(a + b for a, b in zip(sizes[:-1], sizes[1:])) <= AUTO_CHORDAL_MAX_PAIR:
        return "chordal"
    return None


def lipsdp_neuron(net, derivative_bounds=None, *, solver: str = "auto", tol=None,
                  form: str = "auto", time_limit: float | None = None,
                  max_iters: int | None = None) -> dict:
    """LipSDP-Neuron bound of the l_2 Lipschitz constant, certified from the multipliers.

    Parameters
    ----------
    net : Network
        Scalar or margin output (``Q = u u^T``) or vector output with output norm 2 (``Q = I``).
    derivative_bounds : list of (lo, hi), optional
        Slope bounds per hidden layer (default: the global derivative ranges).
    solver : str
        For the SDP forms ("dense", "chordal"): a name :func:`polylip.solve.sdp.solve_sdp`
        takes ("auto", "clarabel", "cvxopt", ...). "auto" gives "dense" CVXOPT, and Clarabel
        when a slope range is a single value (CVXOPT fails on those).
    tol : float, optional
        Solver tolerance (relative gap of "structured", default 1e-7).
    form : {"auto", "dense", "chordal", "structured"}
        How to solve (module docstring); "auto": :func:`choose_form`.
    time_limit : float, optional
        Seconds. "structured" stops and certifies its current (feasible) multipliers.
    max_iters : int, optional
        Iteration limit of the solver.

    Returns
    -------
    dict
        ``bound`` (None unless certified), ``status``, ``rho`` (certified), ``rho_solver``,
        ``seconds``, ``lmi_size``, ``nvars``, ``form``, ``margin`` (certified minus the
        solver's bound), ``margin_kind`` ("schur"), ``pruned``, and the form's own details.
    """
    t0 = time.perf_counter()
    data = lipsdp_data(net, derivative_bounds)
    N, nh = data.N, data.nh
    base = dict(lmi_size=N, nvars=nh + 1, pruned=data.pruned)
    if _constant(data):
        return dict(base, bound=0.0, status="optimal", rho=0.0, seconds=time.perf_counter() - t0,
                    form="none", margin=0.0, margin_kind="constant",
                    message="every path through the network is cut: f is constant")
    if data.depth == 0:  # a linear map: the bound is its operator norm
        val = float(np.linalg.norm(data.wout, 2))
        return dict(base, bound=val, status="optimal", rho=val ** 2, form="linear",
                    seconds=time.perf_counter() - t0, margin=0.0, margin_kind="norm")
    if form == "auto":
        form = choose_form(data)
        if form is None:
            return dict(base, bound=None, status="too_large", form="none",
                        seconds=time.perf_counter() - t0,
                        message=f"LMI of size {N} with layer pairs of up to "
                                f"{max(a + b for a, b in zip(data.sizes[:-1], data.sizes[1:]))}"
                                " neurons: beyond every form (use method 'eclipse')")
    if form not in FORMS:
        raise ModelError(f"lipsdp form must be 'auto' or one of {', '.join(FORMS)}, got {form!r}")
    if form == "structured":
        return _run_structured(data, base, t0, tol=tol, time_limit=time_limit,
                               max_iters=max_iters)
    return _run_sdp(data, base, t0, form=form, solver=solver, tol=tol, time_limit=time_limit,
                    max_iters=max_iters)


def _eclipse_start(data: LipSDPData):
    # lazy: polylip.nn.eclipse imports this module (its data and certificate)
    from polylip.nn.eclipse import eclipse_multipliers

    lams, F = eclipse_multipliers(data)
    # (rho, lambda) = 2 F (1, lambda^): strictly feasible (the last Schur complement keeps half)
    return 2.0 * F, 2.0 * F * np.concatenate(lams), F, lams


@dataclass(frozen=True)
class _Balanced:
    """The LMI after the congruence ``D (-M) D`` with ``D = blkdiag(d_k I)``,
    ``d_0 = rho^{-1/2}``, ``d_k = tau_k^{-1/2}`` (``tau_k`` the geometric mean of layer ``k``'s
    multipliers at a feasible point ``(rho, lambda)``): again a LipSDP matrix, of the weights
    ``(d_{k-1}/d_k) W_k`` and output ``d_H Wout``, PSD iff the original is, with
    ``lambda'_k = d_k^2 lambda_k`` and ``rho' = d_0^2 rho``. At that point ``rho'`` and the
    multipliers are about 1, whatever the scales of the layers (a random 100 x 10 network spans
    30 orders of magnitude, where solvers' absolute tolerances stop far from the optimum)."""

    data: LipSDPData
    lam_scale: np.ndarray
    rho_scale: float
    start: np.ndarray  # a strictly feasible point in original (LipSDP) scale, for mixing

    def unscale(self, lam_b) -> np.ndarray:
        return np.asarray(lam_b, dtype=float) * self.lam_scale


def _balance(data: LipSDPData, rho: float, lam, start) -> _Balanced:
    lams = data.split(lam)
    tau = [float(np.exp(np.mean(np.log(np.maximum(x, 1e-300))))) for x in lams]
    if not (rho > 0 and np.isfinite(rho) and all(np.isfinite(tau)) and min(tau) > 0):
        return _Balanced(data, np.ones(data.nh), 1.0, start)
    prev = rho
    Ws = []
    for W, tk in zip(data.weights, tau):
        Ws.append(np.sqrt(tk / prev) * W)
        prev = tk
    bal = LipSDPData(tuple(Ws), data.wout / np.sqrt(tau[-1]), data.alpha, data.beta, data.n0,
                     data.pruned)
    scale = np.concatenate([np.full(W.shape[0], tk) for W, tk in zip(data.weights, tau)])
    return _Balanced(bal, scale, float(rho), start)


#: Rebalance and solve again when the certified rho' is below this (the optimum lies far from
#: the point the scaling was taken at), at most REBALANCE_ROUNDS times.
REBALANCE_BELOW = 1e-2
REBALANCE_ROUNDS = 2


def _finish(data, base, t0, cert, rho_solver, form, extra) -> dict:
    seconds = time.perf_counter() - t0
    if cert.rho is None:
        return dict(base, bound=None, status="inaccurate", rho_solver=rho_solver, form=form,
                    seconds=seconds, message=cert.message, **extra)
    bound = float(np.sqrt(cert.rho))
    margin = bound - float(np.sqrt(max(rho_solver, 0.0))) if rho_solver is not None else 0.0
    log.info("LipSDP-Neuron (%s): rho %.8g (certified %.8g), LMI %d, %d multipliers, %.2f s",
             form, rho_solver if rho_solver is not None else float("nan"), cert.rho, data.N,
             data.nh, seconds)
    return dict(base, bound=bound, status="optimal", rho=cert.rho, rho_solver=rho_solver,
                form=form, seconds=seconds, margin=margin, margin_kind=cert.kind,
                shift=cert.shift, **extra)


def _run_structured(data, base, t0, *, tol, time_limit, max_iters) -> dict:
    deadline = None if time_limit is None else t0 + float(time_limit)
    with _blas_one_thread():
        rho0, lam0, F, _ = _eclipse_start(data)
    bal = _balance(data, rho0, lam0, lam0)
    start_rho, start_lam = 1.0, bal.data.split(lam0 / bal.lam_scale)
    iters, rounds = 0, 0
    while True:
        rounds += 1
        with _blas_one_thread():
            out = _structured(bal.data, start_rho, np.concatenate(start_lam),
                              tol=1e-7 if tol is None else float(tol),
                              max_iters=(100 if max_iters is None else int(max_iters)) - iters,
                              deadline=deadline)
        iters += out["iterations"]
        lam = bal.unscale(out["lam"])
        cert, mixed = _certify_or_mix(data, lam, bal.start)
        if (cert.rho is None or out["status"] == "time_limit" or rounds > REBALANCE_ROUNDS
                or cert.rho / bal.rho_scale >= REBALANCE_BELOW or mixed > 0
                or (max_iters is not None and iters >= max_iters)):
            break
        # strictly feasible: the hidden part is certified positive definite, rho has room
        bal = _balance(data, 1.5 * cert.rho, lam, bal.start)
        start_rho, start_lam = 1.0, bal.data.split(lam / bal.lam_scale)
    extra = dict(solver="structured", solver_status=out["status"], iterations=iters,
                 rounds=rounds, gap=out["gap"], capped=out["capped"],
                 reduced_input=out["reduced_input"], eclipse_bound=float(np.sqrt(F)),
                 mixed=mixed)
    res = _finish(data, base, t0, cert, out["rho"] * bal.rho_scale, "structured", extra)
    if res["bound"] is not None and out["status"] == "time_limit":
        res["status"] = "time_limit"  # a valid bound, short of the optimum
    return res


def _run_sdp(data, base, t0, *, form, solver, tol, time_limit, max_iters) -> dict:
    if solver == "auto":
        flat = any(np.any(b - a <= 1e-12) for a, b in zip(data.alpha, data.beta))
        # CVXOPT fails ("domain error", after 3-49 s) on single-valued slope ranges
        solver = "clarabel" if (flat or form == "chordal") else "cvxopt"
    with _blas_one_thread():
        rho0, lam0, _, _ = _eclipse_start(data)
    bal = _balance(data, rho0, lam0, lam0)
    rounds, best = 0, None
    while True:
        rounds += 1
        lmi = dense_lmi(bal.data) if form == "dense" else chordal_lmi(bal.data)
        build = time.perf_counter() - t0
        base = dict(base, nvars=lmi.nvars, block_sizes=[k for k in lmi.sizes if k > 1])
        left = None if time_limit is None else max(1e-3, t0 + time_limit - time.perf_counter())
        raw = solve_sdp(lmi, solver, tol=tol, max_iters=max_iters, time_limit=left)
        if raw.x is None or raw.status not in ("optimal", "inaccurate"):
            if best is not None:
                break
            return dict(base, bound=None, status=raw.status, form=form, solver=raw.solver,
                        message=raw.message or raw.raw_status, seconds=time.perf_counter() - t0)
        lam = bal.unscale(raw.x[:data.nh])
        rho_solver = float(raw.x[data.nh]) * bal.rho_scale
        cert, mixed = _certify_or_mix(data, lam, bal.start)
        if cert.rho is not None and (best is None or cert.rho < best[0].rho):
            best = (cert, mixed, rho_solver, raw, build)
        if (cert.rho is None or rounds > REBALANCE_ROUNDS
                or cert.rho / bal.rho_scale >= REBALANCE_BELOW or mixed > 0):
            break
        bal = _balance(data, 1.5 * cert.rho, lam, bal.start)
    if best is None:
        best = (cert, mixed, rho_solver, raw, build)
    cert, mixed, rho_solver, raw, build = best
    extra = dict(solver=raw.solver, solver_status=raw.raw_status, build_seconds=build,
                 mixed=mixed, rounds=rounds)
    return _finish(data, base, t0, cert, rho_solver, form, extra)

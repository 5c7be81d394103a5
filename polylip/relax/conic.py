"""Linear matrix inequality (LMI) problems: the form every SDP backend receives.

An :class:`LMIProblem` is ``minimize c @ x + offset  s.t.  mat(G_j @ x + h_j) PSD  for each
block j,  A @ x = b``, where ``mat`` reshapes a vector of length ``k*k`` into a symmetric
``k x k`` matrix (both triangles are stored; the data is symmetric by construction).

A moment relaxation (:class:`~polylip.relax.moment.MomentData`) can be handed to a solver from
either side:

* **moment side** (:func:`moment_side`): the free variables are the moments ``y`` (less
  ``y_0 = 1``). Few moments, many repeated entries: the usual dense relaxation.
* **SOS side** (:func:`sos_side`): the Gram matrices ``X_j`` are the primal variables of a
  standard-form SDP whose equality rows say "entries that stand for the same moment are equal"
  (plus localizing rows, ``y_0 = 1`` and the equalities); what the solver gets is the dual of
  that, an LMI in one multiplier per row. Any feasible point of it is a Putinar (SOS)
  certificate, and its objective is a valid bound. Worth it when almost every matrix entry is
  its own moment (binary/spin problems at order 1): few rows, many moments.

CVXOPT's cost grows with the cube of the number of free variables, so :func:`choose_side`
picks the side with fewer. Both sides give the same optimal value (strong duality holds for
these relaxations whenever the solver reports optimality).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from polylip.errors import SolverError
from polylip.relax.moment import MomentData, block_index, stacked_blocks


@dataclass(frozen=True)
class LMIProblem:
    """``minimize c @ x + offset  s.t.  mat(G_j @ x + h_j) PSD,  A @ x = b``."""

    c: np.ndarray
    offset: float
    G: Sequence  # of sp.csr_matrix (k*k, n): a tuple, or a TriBlocks computed on access
    h: Sequence  # of ndarray (k*k,)
    sizes: tuple[int, ...]
    A: sp.csr_matrix
    b: np.ndarray
    side: str = "moment"
    meta: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def nvars(self) -> int:
        return int(self.c.size)

    @property
    def neq(self) -> int:
        return int(self.A.shape[0])


@lru_cache(maxsize=256)
def _upper_to_full_cached(k: int, halve: bool) -> sp.csr_matrix:
    iu, ju = np.triu_indices(k)
    e = np.arange(iu.size)
    off = iu != ju
    val = np.where(off, 0.5 if halve else 1.0, 1.0)
    rows = np.concatenate([iu * k + ju, (ju * k + iu)[off]])
    cols = np.concatenate([e, e[off]])
    vals = np.concatenate([val, val[off]])
    return sp.csr_matrix((vals, (rows, cols)), shape=(k * k, iu.size))


def upper_to_full(k: int, halve: bool) -> sp.csr_matrix:
    """Map upper-triangle coordinates (``np.triu_indices(k)`` order) to a full ``k*k`` vector.

    With ``halve`` the off-diagonal coordinates are split in halves over both triangles (the
    adjoint of reading the upper triangle of a symmetric matrix under the trace inner product).
    The matrix is cached and shared: treat it as read-only.
    """
    return _upper_to_full_cached(int(k), bool(halve))


def offdiag_mask(sizes) -> np.ndarray:
    """For the stacked upper triangles of blocks of these sizes, which entries are off-diagonal."""
    sizes = np.asarray(sizes, dtype=np.int64)
    ntri = sizes * (sizes + 1) // 2
    out = np.empty(int(ntri.sum()), dtype=bool)
    start = np.concatenate([[0], np.cumsum(ntri)[:-1]]).astype(np.int64)
    for k in np.unique(sizes):
        js = np.nonzero(sizes == k)[0]
        iu, ju = np.triu_indices(int(k))
        pos = (start[js][:, None] + np.arange(iu.size)[None, :]).ravel()
        out[pos] = np.tile(iu != ju, js.size)
    return out


class TriBlocks(Sequence):
    """Per-block LMI data ``G_j`` (``k*k`` rows, sparse) or ``h_j`` (dense), computed on access
    from the stacked upper triangles ``tri`` (block ``j`` at rows ``offsets[j]:offsets[j+1]``).

    Backends that can take the triangles directly (Clarabel) read ``tri`` and skip the
    per-block expansion altogether.
    """

    def __init__(self, tri, offsets, sizes, dense: bool):
        self.tri = tri
        self.offsets = np.asarray(offsets, dtype=np.int64)
        self.sizes = tuple(int(k) for k in sizes)
        self.dense = dense

    def __len__(self) -> int:
        return len(self.sizes)

    def __getitem__(self, j):
        if isinstance(j, slice):
            return tuple(self[i] for i in range(*j.indices(len(self))))
        j = block_index(j, len(self))
        U = _upper_to_full_cached(self.sizes[j], False)
        part = self.tri[int(self.offsets[j]):int(self.offsets[j + 1])]
        return U @ part if self.dense else (U @ part).tocsr()


def triangles(problem: "LMIProblem"):
    """``(Gt, ht, offsets)``: the upper triangles (``np.triu_indices`` order) of every block,
    stacked: block ``j``'s triangle is ``Gt[o_j:o_j+1] @ x + ht[o_j:o_j+1]``."""
    if isinstance(problem.G, TriBlocks) and isinstance(problem.h, TriBlocks):
        return problem.G.tri, problem.h.tri, problem.G.offsets
    Gs, hs = [], []
    for G, h, k in zip(problem.G, problem.h, problem.sizes):
        iu, ju = np.triu_indices(k)
        sel = iu * k + ju
        Gs.append(sp.csr_matrix(G)[sel])
        hs.append(np.asarray(h).ravel()[sel])
    ntri = np.array([k * (k + 1) // 2 for k in problem.sizes], dtype=np.int64)
    Gt = sp.vstack(Gs, format="csr") if Gs else sp.csr_matrix((0, problem.nvars))
    ht = np.concatenate(hs) if hs else np.zeros(0)
    return Gt, ht, np.concatenate([[0], np.cumsum(ntri)])


def moment_side(data: MomentData) -> LMIProblem:
    """The relaxation with the moments (less ``y_0``) as free variables."""
    stacked, offsets = stacked_blocks(data.blocks, data.nmoments)
    stacked = stacked.tocsc()
    Gt = stacked[:, 1:].tocsr()
    ht = stacked[:, 0].toarray().ravel()
    E = data.E.tocsc()
    return LMIProblem(c=data.c[1:].copy(), offset=float(data.c[0] + data.c0),
                      G=TriBlocks(Gt, offsets, data.sizes, dense=False),
                      h=TriBlocks(ht, offsets, data.sizes, dense=True), sizes=data.sizes,
                      A=E[:, 1:].tocsr(), b=-E[:, 0].toarray().ravel(), side="moment")


def _representatives(stacked: sp.csr_matrix, m: int) -> np.ndarray:
    """For each moment, the first entry that equals exactly that moment (or -1)."""
    nnz_per_row = np.diff(stacked.indptr)
    single = np.nonzero(nnz_per_row == 1)[0]
    single = single[stacked.data[stacked.indptr[single]] == 1.0]
    moment_of = stacked.indices[stacked.indptr[single]]
    rep = np.full(m, -1, dtype=np.int64)
    # first occurrence wins: assign in reverse so earlier entries overwrite later ones
    rep[moment_of[::-1]] = single[::-1]
    return rep


def sos_side(data: MomentData) -> LMIProblem:
    """The relaxation as an LMI in the multipliers of the Gram-form equality rows.

    See the module docstring. ``meta`` keeps what :func:`moments_from_sos` needs to recover the
    moments from the dual matrices.
    """
    m = data.nmoments
    stacked, offsets = stacked_blocks(data.blocks, m)
    T = stacked.shape[0]
    rep = _representatives(stacked, m)
    represented = rep >= 0
    free = np.nonzero(~represented)[0]
    nf = free.size
    S = sp.csr_matrix((np.ones(represented.sum()), (np.nonzero(represented)[0], rep[represented])),
                      shape=(m, T))
    P = sp.csr_matrix((np.ones(nf), (free, np.arange(nf))), shape=(m, nf))
    is_rep = np.zeros(T, dtype=bool)
    is_rep[rep[represented]] = True
    nonrep = np.nonzero(~is_rep)[0]
    A_nr = stacked[nonrep]
    J = sp.csr_matrix((np.ones(nonrep.size), (np.arange(nonrep.size), nonrep)), shape=(nonrep.size, T))
    e0 = sp.csr_matrix(([1.0], ([0], [0])), shape=(1, m))
    B = sp.vstack([J - A_nr @ S, e0 @ S, data.E @ S], format="csr")
    D = sp.vstack([-(A_nr @ P), e0 @ P, data.E @ P], format="csr")
    rhs = np.zeros(B.shape[0])
    rhs[nonrep.size] = 1.0
    obj_x = S.T @ data.c
    c_f = P.T @ data.c

    # the LMI in w: mat_j(obj_x - B^T w) PSD, off-diagonal coordinates halved over both
    # triangles; as upper triangles: scale * (obj_x - B^T w) with scale 1/2 off the diagonal
    scale = np.where(offdiag_mask(data.sizes), 0.5, 1.0)
    Gt = (-(sp.diags(scale) @ B.T)).tocsr()
    ht = scale * np.asarray(obj_x).ravel()
    meta = dict(B=B, D=D, rhs=rhs, S=S, P=P, free=free, m=m)
    return LMIProblem(c=-rhs, offset=-data.c0, G=TriBlocks(Gt, offsets, data.sizes, dense=False),
                      h=TriBlocks(ht, offsets, data.sizes, dense=True), sizes=data.sizes,
                      A=D.T.tocsr(), b=np.asarray(c_f, dtype=float), side="sos", meta=meta)


def sos_side_nvars(data: MomentData) -> int:
    """Number of free variables of :func:`sos_side` without building it."""
    m = data.nmoments
    stacked, _ = stacked_blocks(data.blocks, m)
    rep = _representatives(stacked, m)
    return int(stacked.shape[0] - (rep >= 0).sum() + 1 + data.E.shape[0])


def choose_side(data: MomentData, side: str = "auto") -> str:
    """"moment" or "sos": the given side, or for "auto" the one with fewer free variables."""
    if side in ("moment", "sos"):
        return side
    if side != "auto":
        raise SolverError(f"side must be 'auto', 'moment' or 'sos', not {side!r}")
    return "sos" if sos_side_nvars(data) < data.nmoments - 1 else "moment"


@lru_cache(maxsize=256)
def _triu(k: int):
    """``np.triu_indices(k)``, cached (read-only): a relaxation has many blocks of few sizes,
    and the uncached call was 6 s of 43 for 30,000 blocks of size 2."""
    iu, ju = np.triu_indices(k)
    iu.flags.writeable = ju.flags.writeable = False
    return iu, ju


def moments_from_sos(problem: LMIProblem, duals: list[np.ndarray]) -> np.ndarray:
    """Recover the moment vector from the dual matrices of an SOS-side problem."""
    meta = problem.meta
    x = np.concatenate([np.asarray(mat)[_triu(int(k))] for mat, k in zip(duals, problem.sizes)])
    y = meta["S"] @ x
    if meta["free"].size:
        resid = meta["rhs"] - meta["B"] @ x
        yf = spla.lsqr(meta["D"], resid, atol=1e-12, btol=1e-12)[0]
        y = y + meta["P"] @ yf
    return np.asarray(y).ravel()


def independent_rows(A: sp.csr_matrix, b: np.ndarray, tol: float = 1e-9):
    """Drop redundant rows of ``A x = b``.

    Returns ``(A', b', consistent)``: a full-row-rank subsystem with the same solutions, and
    whether the dropped rows agree with the kept ones (False means ``A x = b`` has no solution).
    Zero and duplicate rows are removed exactly; further dependence is found with a pivoted QR
    when the system is small enough to densify (under 2e7 entries), else left to the solver.
    """
    import scipy.linalg as la

    A = sp.csr_matrix(A)
    b = np.asarray(b, dtype=float)
    if A.shape[0] == 0:
        return A, b, True
    nnz = np.diff(A.indptr)
    zero = nnz == 0
    if np.any(np.abs(b[zero]) > tol):
        return A, b, False
    keep = np.nonzero(~zero)[0]
    A, b = A[keep], b[keep]
    if A.shape[0] * A.shape[1] > 2e7:
        return A, b, True
    dense = A.toarray()
    _, R, piv = la.qr(dense.T, mode="economic", pivoting=True)
    diag = np.abs(np.diag(R))
    if diag.size == 0:
        return A, b, True
    rank = int((diag > tol * max(1.0, diag[0])).sum())
    if rank == A.shape[0]:
        return A, b, True
    sel = np.sort(piv[:rank])
    As, bs = dense[sel], b[sel]
    # consistency: b must lie in the range spanned by the kept rows
    coef, *_ = la.lstsq(As.T, dense.T)
    consistent = bool(np.allclose(coef.T @ bs, b, atol=1e-7 * max(1.0, np.abs(b).max())))
    return sp.csr_matrix(As), bs, consistent

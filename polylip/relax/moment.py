"""Moment data of a relaxation: every PSD block and equality as a sparse matrix over moments.

Given a POP and a :class:`~polylip.sparsity.blocks.BlockStructure`, :func:`assemble` lists every
monomial the relaxation touches (the *moments*), and writes

* the objective as a vector ``c`` over moments (for ``sense="max"`` the negated objective:
  the relaxation always minimizes),
* each PSD block ``j`` of size ``k`` as a sparse matrix ``A_j`` of shape ``(k(k+1)/2, m)``:
  row ``e`` gives the upper-triangle entry ``e`` (``np.triu_indices(k)`` order) as a linear
  combination of moments,
* the equalities as a sparse matrix ``E`` with ``E y = 0``.

Everything is built from index rows with numpy, for all blocks at once: one product of index
rows, one global :func:`~polylip.poly.monomials.unique_rows` to number the moments, and COO
triplets turned into one stacked CSR matrix (:class:`BlockRows`). No Python loop runs over
matrix entries or blocks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from polylip.poly import monomials as mono
from polylip.sparsity.blocks import MOMENT, BlockStructure, refuse_if_too_large, size_summary


def block_index(j, n: int) -> int:
    """Normalize a (possibly negative) block index, or raise IndexError."""
    j = int(j)
    if j < 0:
        j += n
    if not 0 <= j < n:
        raise IndexError(j)
    return j


class BlockRows(Sequence):
    """The PSD blocks of a relaxation as row ranges of one stacked sparse matrix.

    Behaves as a tuple of ``(k(k+1)/2, m)`` CSR matrices (block ``j`` is built on access from
    ``stacked[offsets[j]:offsets[j+1]]``), while keeping the single stacked matrix that the
    solver paths use directly: relaxations with 10^4 blocks never materialize 10^4 matrices.
    """

    def __init__(self, stacked: sp.csr_matrix, offsets: np.ndarray):
        self.stacked = stacked
        self.offsets = np.asarray(offsets, dtype=np.int64)

    def __len__(self) -> int:
        return int(self.offsets.size - 1)

    def __getitem__(self, j):
        if isinstance(j, slice):
            return tuple(self[i] for i in range(*j.indices(len(self))))
        j = block_index(j, len(self))
        return self.stacked[int(self.offsets[j]):int(self.offsets[j + 1])]

    def __repr__(self) -> str:
        return f"BlockRows({len(self)} blocks, {self.stacked.shape[0]} rows, nnz={self.stacked.nnz})"


def stacked_blocks(blocks, m: int) -> tuple[sp.csr_matrix, np.ndarray]:
    """One CSR matrix with every block's rows, and the row offset of each block."""
    if isinstance(blocks, BlockRows):
        return blocks.stacked, blocks.offsets
    rows = np.array([b.shape[0] for b in blocks], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(rows)])
    stacked = sp.vstack(blocks, format="csr") if len(blocks) else sp.csr_matrix((0, m))
    return stacked, offsets


@dataclass(frozen=True)
class MomentData:
    """A moment relaxation as sparse matrices (the seam between building and solving).

    ``minimize c @ y + c0  s.t.  y[0] = 1,  mat(A_j @ y) PSD for each block,  E @ y = 0``,
    where ``moments[0]`` is the constant monomial. ``blocks`` is a sequence of CSR matrices
    (a :class:`BlockRows` when built by :func:`assemble`); :attr:`stacked` is all of them in
    one matrix.
    """

    moments: np.ndarray                # index rows, shape (m, w); row 0 is the constant 1
    c: np.ndarray                      # objective over moments (minimization form)
    c0: float                          # constant offset (0 after moving it into c[0])
    blocks: Sequence                   # one (k(k+1)/2, m) CSR matrix per PSD block
    sizes: tuple[int, ...]
    E: sp.csr_matrix                   # equality rows, shape (r, m)

    @property
    def nmoments(self) -> int:
        return int(self.moments.shape[0])

    @property
    def stacked(self) -> sp.csr_matrix:
        """All block rows in one CSR matrix (block ``j`` at rows ``offsets[j]:offsets[j+1]``)."""
        return stacked_blocks(self.blocks, self.nmoments)[0]

    @property
    def offsets(self) -> np.ndarray:
        return stacked_blocks(self.blocks, self.nmoments)[1]

    @property
    def nnz(self) -> int:
        return int(self.stacked.nnz + self.E.nnz)


def _pairs(sizes: np.ndarray):
    """(owner block, p, q) of every upper-triangle entry of every block, block by block in
    ``np.triu_indices`` order; vectorized per distinct size."""
    sizes = np.asarray(sizes, dtype=np.int64)
    ntri = sizes * (sizes + 1) // 2
    total = int(ntri.sum())
    owner = np.repeat(np.arange(sizes.size), ntri)
    p = np.empty(total, dtype=np.int64)
    q = np.empty(total, dtype=np.int64)
    start = np.concatenate([[0], np.cumsum(ntri)[:-1]]).astype(np.int64)
    for k in np.unique(sizes):
        js = np.nonzero(sizes == k)[0]
        iu, ju = np.triu_indices(int(k))
        pos = (start[js][:, None] + np.arange(iu.size)[None, :]).ravel()
        p[pos] = np.tile(iu, js.size)
        q[pos] = np.tile(ju, js.size)
    return owner, p, q, ntri


def _stack(arrays) -> tuple[np.ndarray, np.ndarray]:
    width = max((a.shape[1] for a in arrays), default=0)
    if not arrays:
        return np.zeros((0, 0), mono.INDEX_DTYPE), np.zeros(1, np.int64)
    rows = np.vstack([mono.pad_to(a, width) for a in arrays])
    lens = np.array([a.shape[0] for a in arrays], dtype=np.int64)
    return rows, np.concatenate([[0], np.cumsum(lens)])


def _expand(mult: np.ndarray, start: np.ndarray, lens: np.ndarray):
    """Item index repeated once per term of its multiplier, and the term's row index."""
    t = lens[mult]
    rep = np.repeat(np.arange(mult.size), t)
    first = np.concatenate([[0], np.cumsum(t)[:-1]]).astype(np.int64)
    term = start[mult][rep] + (np.arange(rep.size) - first[rep])
    return rep, term


def assemble(pop, structure: BlockStructure) -> MomentData:
    """Number the moments and write every block as a sparse matrix over them.

    All blocks are handled at once: one stacked basis array, one product of index rows for
    every upper-triangle entry of every block (times every term of its multiplier), one
    :func:`~polylip.poly.monomials.unique_rows`, one COO -> CSR conversion. Their memory is
    estimated first (:func:`~polylip.sparsity.blocks.size_summary`): past
    :func:`polylip.runtime.memory_limit` the relaxation is refused with a
    :class:`~polylip.errors.RelaxationError` naming its size.
    """
    bmask, smask = pop.binary_mask, pop.spin_mask
    boolean = dict(binary=bmask if bmask.any() else None, spin=smask if smask.any() else None)
    reduce = boolean["binary"] is not None or boolean["spin"] is not None
    one = np.zeros((1, 0), dtype=mono.INDEX_DTYPE)
    obj = pop.objective if pop.sense == "min" else -pop.objective

    # multipliers: 0 is the constant 1, 1 + i is inequality i
    mrows, moff = _stack([one] + [g.rows for g in pop.ineqs])
    mcoef = np.concatenate([np.ones(1)] + [g.coeffs for g in pop.ineqs])
    mstart, mlens = moff[:-1], np.diff(moff)

    psd = structure.psd
    sizes = np.array([b.size for b in psd], dtype=np.int64)
    allb, boff = _stack([b.basis for b in psd])
    mult = np.array([b.constraint + 1 if b.constraint != MOMENT else 0 for b in psd],
                    dtype=np.int64)
    eqs = structure.equalities
    refuse_if_too_large(size_summary(
        structure.order, structure.kind, sizes.tolist(), mlens[mult].tolist(),
        [e.size for e in eqs], [pop.eqs[e.constraint].nterms for e in eqs],
        width=2 * allb.shape[1] + mrows.shape[1]), pop.min_order())
    owner, p, q, ntri = _pairs(sizes)
    rep, term = _expand(mult[owner], mstart, mlens)
    I = boff[:-1][owner] + p
    J = boff[:-1][owner] + q
    psd_rows = mono.normalize(np.hstack([allb[I][rep], allb[J][rep], mrows[term]])) \
        if rep.size else np.zeros((0, 0), mono.INDEX_DTYPE)
    psd_coef = mcoef[term]
    psd_entry = rep  # global entry index (block entries are consecutive, in block order)

    # equalities: rows L(h * b) = 0
    if eqs:
        hrows, hoff = _stack([pop.eqs[e.constraint].rows for e in eqs])
        hcoef = np.concatenate([pop.eqs[e.constraint].coeffs for e in eqs])
        eb, eoff = _stack([e.basis for e in eqs])
        esizes = np.diff(eoff)
        eowner = np.repeat(np.arange(len(eqs)), esizes)
        erep, eterm = _expand(eowner, hoff[:-1], np.diff(hoff))
        eq_rows = mono.normalize(np.hstack([eb[erep], hrows[eterm]]))
        eq_coef = hcoef[eterm]
        eq_rid = erep
        neq = int(eoff[-1])
    else:
        eq_rows = np.zeros((0, 0), mono.INDEX_DTYPE)
        eq_coef = np.zeros(0)
        eq_rid = np.zeros(0, dtype=np.int64)
        neq = 0
    if reduce:
        psd_rows = mono.reduce_boolean(psd_rows, **boolean)
        eq_rows = mono.reduce_boolean(eq_rows, **boolean)

    pieces = [one, obj.rows, psd_rows, eq_rows]
    width = max(pc.shape[1] for pc in pieces)
    allrows = np.vstack([mono.pad_to(pc, width) for pc in pieces])
    moments, inverse = mono.unique_rows(allrows)
    # unique_rows sorts gradedly, so the constant monomial (degree 0) is moment 0
    assert inverse[0] == 0
    cuts = np.cumsum([pc.shape[0] for pc in pieces])
    m = moments.shape[0]
    c = np.bincount(inverse[cuts[0]:cuts[1]], weights=obj.coeffs, minlength=m)
    T = int(ntri.sum())
    stacked = sp.csr_matrix((psd_coef, (psd_entry, inverse[cuts[1]:cuts[2]])), shape=(T, m))
    stacked.sum_duplicates()
    stacked.eliminate_zeros()
    E = sp.csr_matrix((eq_coef, (eq_rid, inverse[cuts[2]:cuts[3]])), shape=(neq, m))
    E.sum_duplicates()
    E.eliminate_zeros()
    offsets = np.concatenate([[0], np.cumsum(ntri)]).astype(np.int64)
    return MomentData(moments=mono.normalize(moments), c=c, c0=0.0,
                      blocks=BlockRows(stacked, offsets), sizes=tuple(sizes.tolist()), E=E)

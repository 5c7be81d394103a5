"""Moment data of a relaxation: every PSD block and equality as a sparse matrix over moments.

Given a POP and a :class:`~polylip.relax.blocks.BlockStructure`, :func:`assemble` lists every
monomial the relaxation touches (the *moments*), and writes

* the objective as a vector ``c`` over moments (for ``sense="max"`` the negated objective:
  the relaxation always minimizes),
* each PSD block ``j`` of size ``k`` as a sparse matrix ``A_j`` of shape ``(k(k+1)/2, m)``:
  row ``e`` gives the upper-triangle entry ``e`` (``np.triu_indices(k)`` order) as a linear
  combination of moments,
* the equalities as a sparse matrix ``E`` with ``E y = 0``.

Everything is built from index rows with numpy: one product per block, one global
:func:`~polylip.poly.monomials.unique_rows` to number the moments, and COO triplets turned into
CSR matrices at once. No Python loop runs over matrix entries.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from polylip.poly import monomials as mono
from polylip.relax.blocks import MOMENT, BlockStructure


@dataclass(frozen=True)
class MomentData:
    """A moment relaxation as sparse matrices (the seam between building and solving).

    ``minimize c @ y + c0  s.t.  y[0] = 1,  mat(A_j @ y) PSD for each block,  E @ y = 0``,
    where ``moments[0]`` is the constant monomial.
    """

    moments: np.ndarray                # index rows, shape (m, w); row 0 is the constant 1
    c: np.ndarray                      # objective over moments (minimization form)
    c0: float                          # constant offset (0 after moving it into c[0])
    blocks: tuple[sp.csr_matrix, ...]  # one (k(k+1)/2, m) matrix per PSD block
    sizes: tuple[int, ...]
    E: sp.csr_matrix                   # equality rows, shape (r, m)

    @property
    def nmoments(self) -> int:
        return int(self.moments.shape[0])

    @property
    def nnz(self) -> int:
        return int(sum(a.nnz for a in self.blocks) + self.E.nnz)


def _block_rows(basis: np.ndarray, mult_rows: np.ndarray, mult_coeffs: np.ndarray, boolean):
    """Monomial rows and coefficients of the upper triangle of one (localizing) block."""
    k = basis.shape[0]
    iu, ju = np.triu_indices(k)
    pair = mono.multiply_rowwise(basis[iu], basis[ju])
    rows = mono.multiply(pair, mult_rows)
    rows = mono.reduce_boolean(rows, **boolean)
    coeffs = np.tile(mult_coeffs, iu.size)
    entry = np.repeat(np.arange(iu.size), mult_rows.shape[0])
    return rows, coeffs, entry


def assemble(pop, structure: BlockStructure) -> MomentData:
    """Number the moments and write every block as a sparse matrix over them."""
    bmask, smask = pop.binary_mask, pop.spin_mask
    boolean = dict(binary=bmask if bmask.any() else None, spin=smask if smask.any() else None)
    one = np.zeros((1, 0), dtype=mono.INDEX_DTYPE)

    pieces = [one]  # the constant monomial goes first so that it gets a known index
    obj = pop.objective if pop.sense == "min" else -pop.objective
    pieces.append(obj.rows)
    block_parts = []
    for block in structure.psd:
        g = pop.ineqs[block.constraint] if block.constraint != MOMENT else None
        g_rows = g.rows if g is not None else one
        g_coeffs = g.coeffs if g is not None else np.ones(1)
        rows, coeffs, entry = _block_rows(block.basis, g_rows, g_coeffs, boolean)
        block_parts.append((coeffs, entry, block.size))
        pieces.append(rows)
    eq_parts = []
    offset = 0
    for eblock in structure.equalities:
        h = pop.eqs[eblock.constraint]
        rows = mono.reduce_boolean(mono.multiply(eblock.basis, h.rows), **boolean)
        coeffs = np.tile(h.coeffs, eblock.size)
        rid = offset + np.repeat(np.arange(eblock.size), h.nterms)
        offset += eblock.size
        eq_parts.append((coeffs, rid))
        pieces.append(rows)

    width = max(p.shape[1] for p in pieces)
    allrows = np.vstack([mono.pad_to(p, width) for p in pieces])
    moments, inverse = mono.unique_rows(allrows)
    # unique_rows sorts gradedly, so the constant monomial (degree 0) is moment 0
    assert inverse[0] == 0
    sizes = [p.shape[0] for p in pieces]
    splits = np.split(inverse, np.cumsum(sizes)[:-1])
    m = moments.shape[0]

    c = np.bincount(splits[1], weights=obj.coeffs, minlength=m)
    blocks = []
    for (coeffs, entry, k), idx in zip(block_parts, splits[2:2 + len(block_parts)]):
        ntri = k * (k + 1) // 2
        A = sp.csr_matrix((coeffs, (entry, idx)), shape=(ntri, m))
        A.sum_duplicates()
        A.eliminate_zeros()
        blocks.append(A)
    if eq_parts:
        coeffs = np.concatenate([p[0] for p in eq_parts])
        rid = np.concatenate([p[1] for p in eq_parts])
        cols = np.concatenate(splits[2 + len(block_parts):])
        E = sp.csr_matrix((coeffs, (rid, cols)), shape=(offset, m))
        E.sum_duplicates()
        E.eliminate_zeros()
    else:
        E = sp.csr_matrix((0, m))
    return MomentData(moments=mono.normalize(moments), c=c, c0=0.0, blocks=tuple(blocks),
                      sizes=tuple(b.size for b in structure.psd), E=E)

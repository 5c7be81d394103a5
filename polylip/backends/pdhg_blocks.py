"""Repeated column blocks of an LP matrix as one shared template, for the products of
:mod:`polylip.backends.pdhg_lp`: ``A x`` and ``A^T y`` by a sparse-times-dense product.

A sparse LP relaxation with cliques of one shape (the LiPopt LPs: every hidden unit's clique
has the same number of spins and one binary anchor) has a matrix whose columns split into
blocks, one per clique, that are *the same matrix* up to which global rows they touch:
``A[:, block b] = P_b M`` with one template ``M`` (``mloc`` local rows by ``nloc`` columns)
and a 0/1 row selection ``P_b``. Then, with ``X`` the block's values as an ``nloc x B`` array
(column ``b`` for block ``b``),

    A x = sum_b P_b (M X[:, b]) = P (M @ X)        A^T y = M^T @ (P^T y)

where ``M @ X`` is one sparse-times-dense product: the template (about ``nnz / B`` entries)
stays in the cache and the dense operand is read once, in rows of ``B`` contiguous values,
instead of streaming ``nnz`` values and indices from memory for every product. ``P`` (one
entry per local row and block) is small beside ``A``.

Nothing here is trusted: the caller's block labels are only a hint. Each block's columns (in
their global order) and touched rows (in their global order) give its local matrix; blocks
whose local matrices are equal, value for value, form a template; every other column stays in
an explicit remainder matrix. The products are then exact re-associations of the same sums
(the rounding differs, as between thread counts).

Measured (benchmarks/RESULTS.md, "Width 80, sparsity 20, degree 4"; float32, CPU ms of one
``A x`` + ``A^T y`` at width 80 sparsity 20, 12.4 M non-zeros): 10.8 against 24.0 with the
explicit matrix (float64: 17.7 against 35.6). The template of the 62 equal cliques runs at
about 0.22 ns a multiply-add; templates of two blocks (the network's 9 pairs of smaller
cliques) gain little, as ``M @ X`` with two columns is a plain product again.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

#: A template is used only with at least this many blocks (one block gains nothing).
MIN_BLOCKS = 2


def find_templates(A, blocks: np.ndarray):
    """Group the labelled column blocks of ``A`` into templates of equal local matrices.

    Parameters
    ----------
    A : the LP matrix (any sparse format, read as CSC), or its CSC arrays
        ``(data, indices, indptr, shape)`` with sorted row indices.
    blocks : int array, one label per column (negative: no block).

    Returns
    -------
    (templates, rest): ``templates`` is a list of dicts with ``cols`` (B x nloc global column
    indices, row b the columns of block b in increasing order), ``rows`` (B x mloc global rows
    each block touches, increasing) and ``M`` (the mloc x nloc template, CSR); ``rest`` the
    sorted global columns in no template.

    Examples
    --------
    >>> M = sp.csr_matrix([[1.0, 2.0], [0.0, 3.0]])
    >>> A = sp.hstack([sp.vstack([M, sp.csr_matrix((1, 2))]), sp.vstack([sp.csr_matrix((1, 2)), M])])
    >>> t, rest = find_templates(A, np.array([0, 0, 1, 1]))
    >>> t[0]["cols"].tolist(), t[0]["rows"].tolist(), rest.tolist()
    ([[0, 1], [2, 3]], [[0, 1], [1, 2]], [])
    """
    if isinstance(A, tuple):
        data, indices, indptr, (m, n) = A
    else:
        C = sp.csc_matrix(A)
        C.sort_indices()
        data, indices, indptr, (m, n) = C.data, C.indices, C.indptr, C.shape
    blocks = np.asarray(blocks)
    if blocks.shape != (n,):
        raise ValueError(f"{blocks.size} block labels for {n} columns")
    order = np.argsort(blocks, kind="stable")
    lab = blocks[order]
    start = int(np.searchsorted(lab, 0))
    labels, first, counts = np.unique(lab[start:], return_index=True, return_counts=True)
    first += start
    mark = np.zeros(m, dtype=bool)
    cand = {}  # (nloc, mloc, nnz, hashes) -> [(counts, local rows, values), block columns, rows]
    for f0, k in zip(first, counts):
        cols = order[f0:f0 + k]  # increasing (stable sort of increasing indices)
        ptr0 = indptr[cols].astype(np.int64)
        cnt = indptr[cols + 1] - ptr0
        excl = np.cumsum(cnt) - cnt
        idx = np.repeat(ptr0 - excl, cnt) + np.arange(int(cnt.sum()))
        rows_b = indices[idx]
        vals = data[idx]
        mark[rows_b] = True
        touched = np.flatnonzero(mark)
        lrow = (np.cumsum(mark) - 1)[rows_b]
        mark[touched] = False
        key = (int(k), int(touched.size), int(idx.size), hash(cnt.tobytes()), hash(lrow.tobytes()),
               hash(vals.tobytes()))
        group = cand.get(key)
        if group is None:
            cand[key] = [(cnt, lrow, vals), [cols], [touched]]
        elif (np.array_equal(group[0][0], cnt) and np.array_equal(group[0][1], lrow)
              and np.array_equal(group[0][2], vals)):
            group[1].append(cols)
            group[2].append(touched)
        else:  # a hash collision: keep the block apart
            cand[key + (len(cand),)] = [(cnt, lrow, vals), [cols], [touched]]
    templates = []
    used = []
    for key, ((cnt, lrow, vals), cols, rows) in cand.items():
        if len(cols) < MIN_BLOCKS:
            continue
        nloc, mloc = key[0], key[1]
        ptr = np.concatenate([[0], np.cumsum(cnt)])
        M = sp.csc_matrix((vals, lrow, ptr), shape=(mloc, nloc)).tocsr()
        M.sort_indices()
        templates.append(dict(cols=np.vstack(cols), rows=np.vstack(rows), M=M))
        used.append(np.concatenate(cols))
    mask = np.ones(n, bool)
    if used:
        mask[np.concatenate(used)] = False
    return templates, np.flatnonzero(mask)


def csc_columns(data, indices, indptr, cols: np.ndarray, m: int) -> sp.csc_matrix:
    """The CSC matrix of the given columns (in that order) of a CSC matrix's arrays."""
    ptr0 = indptr[cols].astype(np.int64)
    cnt = indptr[cols + 1] - ptr0
    excl = np.cumsum(cnt) - cnt
    idx = np.repeat(ptr0 - excl, cnt) + np.arange(int(cnt.sum()))
    ptr = np.concatenate([[0], np.cumsum(cnt)])
    return sp.csc_matrix((data[idx], indices[idx], ptr), shape=(m, cols.size))


def column_order(templates, rest: np.ndarray) -> np.ndarray:
    """The column permutation (new position -> old column) that puts each template's columns
    first, interleaved (local column k of block b at ``offset + k * B + b``, so that the block
    values form a C-ordered ``nloc x B`` array), then the remainder.

    Examples
    --------
    >>> t = [dict(cols=np.array([[0, 1], [2, 3]]))]
    >>> column_order(t, np.array([4])).tolist()
    [0, 2, 1, 3, 4]
    """
    parts = [t["cols"].T.ravel() for t in templates]
    parts.append(rest)
    return np.concatenate(parts).astype(np.int64)


def _split(indptr: np.ndarray, parts: int) -> list[tuple[int, int]]:
    """Row ranges of about equal non-zeros."""
    nrows = indptr.size - 1
    parts = parts if nrows >= 2 * parts else 1
    cuts = np.searchsorted(indptr, np.linspace(0, indptr[-1], parts + 1)[1:-1])
    edges = [0, *[int(v) for v in cuts], nrows]
    return [(a, b) for a, b in zip(edges[:-1], edges[1:]) if b > a]


class TemplateProducts:
    """``A_s x`` and ``A_s^T y`` of the scaled matrix ``A_s = diag(r) A diag(s)`` whose columns
    (permuted by :func:`column_order`) are template blocks then a remainder: the interface of
    :class:`polylip.backends.pdhg_lp._Products` (``Ax``, ``ATy``, ``map``, ``cols``, ``rows``,
    ``dtype``, ``close``) with ``whole = True`` (each product is one call, threaded inside).

    ``rest`` is the remainder (the scaled matrix's columns ``[n - nrest, n)``, CSC), or None.
    Each thread takes one row range of every template (and of the remainder), so that one
    task per thread covers a product; the local rows of all templates map to the global rows
    through one sparse matrix ``P`` (with the row scaling in its values) and one gather.

    Examples
    --------
    >>> M = sp.csr_matrix([[1.0, 2.0], [0.0, 3.0]])
    >>> A = sp.hstack([sp.vstack([M, sp.csr_matrix((1, 2))]), sp.vstack([sp.csr_matrix((1, 2)), M])])
    >>> t, rest = find_templates(A, np.array([0, 0, 1, 1]))
    >>> P = TemplateProducts(t, 3, 4, np.ones(3), np.ones(4), None, None, 1, np.float64)
    >>> x = np.array([1.0, 2.0, 3.0, 4.0])
    >>> P.Ax(x[column_order(t, rest)]).tolist(), (A @ x).tolist()
    ([5.0, 17.0, 12.0], [5.0, 17.0, 12.0])
    """

    whole = True

    def __init__(self, templates, m: int, n: int, r: np.ndarray, s: np.ndarray, rest, pool, threads: int,
                 dtype):
        self.dtype = dt = np.dtype(dtype)
        self.m, self.n = m, n
        self.pool = pool
        self.threads = threads = max(1, int(threads))
        self.parts = []
        rowmaps = []
        off = yoff = 0
        for t in templates:
            M = t["M"].astype(dt)
            B = t["cols"].shape[0]
            mloc, nloc = M.shape
            rowmaps.append(t["rows"].T.ravel())  # entry l * B + b of M @ X -> row rows[b, l]
            MT = M.T.tocsr()
            MT.sort_indices()
            self.parts.append(dict(off=off, yoff=yoff, B=B, nloc=nloc, mloc=mloc,
                                   M=[(a, b, M[a:b]) for a, b in _split(M.indptr, threads)],
                                   MT=[(a, b, MT[a:b]) for a, b in _split(MT.indptr, threads)]))
            off += nloc * B
            yoff += mloc * B
        self.off_rest = off
        self.rowmap = np.concatenate(rowmaps) if rowmaps else np.zeros(0, np.int64)
        self.rscale = r[self.rowmap].astype(dt)
        # (P in float64, summing over the blocks in double, changed nothing: the float32
        # rounding of A x, 2.3e-6 relative in the 2-norm at width 80 sparsity 20 against 3.5e-6
        # explicit, comes from the float32 inputs and the cancellation in the rows)
        self.P = sp.csr_matrix((self.rscale, (self.rowmap, np.arange(self.rowmap.size))),
                               shape=(m, self.rowmap.size))
        self.s = s[:off].astype(dt)
        self.Y = np.empty(self.rowmap.size, dtype=dt)
        self.rest = self.rest_T = None
        if rest is not None and n > off:
            R = sp.csc_matrix(rest, dtype=dt)
            RT = sp.csr_matrix((R.data, R.indices, R.indptr), shape=(n - off, m))
            Rr = R.tocsr()
            self.rest = [(a, b, Rr[a:b]) for a, b in _split(Rr.indptr, threads)]
            self.rest_T = [(a, b, RT[a:b]) for a, b in _split(RT.indptr, threads)]
            self.rest_out = np.zeros(m, dtype=dt)
        k = threads if n >= 2 * threads else 1
        edges = np.linspace(0, n, k + 1).astype(np.int64)
        self.cols = [(int(a), int(b), None) for a, b in zip(edges[:-1], edges[1:]) if b > a]
        self.rows = [(0, m, None)]

    def map(self, fn, blocks):
        if self.pool is None or len(blocks) == 1:
            return [fn(*blk) for blk in blocks]
        return [f.result() for f in [self.pool.submit(fn, *blk) for blk in blocks]]

    def _run(self, job):
        if self.pool is None or self.threads == 1:
            job(0)
        else:
            for f in [self.pool.submit(job, i) for i in range(self.threads)]:
                f.result()

    def cast(self, v):
        return v.astype(self.dtype, copy=False)

    def Ax(self, x, out=None):
        out = np.empty(self.m) if out is None else out
        x = self.cast(x)
        xs = x[:self.off_rest] * self.s
        Yall = self.Y
        if self.rest is not None:
            self.rest_out[:] = 0.0

        def job(i):
            for p in self.parts:
                if i >= len(p["M"]):
                    continue
                a, b, Mb = p["M"][i]
                B, o, yo = p["B"], p["off"], p["yoff"]
                X = xs[o:o + p["nloc"] * B].reshape(p["nloc"], B)
                Yall[yo + a * B:yo + b * B] = (Mb @ X).ravel()
            if self.rest is not None and i < len(self.rest):
                a, b, Rb = self.rest[i]
                self.rest_out[a:b] = Rb @ x[self.off_rest:]

        self._run(job)
        acc = self.P @ Yall
        if self.rest is not None:
            acc += self.rest_out
        out[:] = acc
        return out

    def ATy(self, y, out=None):
        out = np.empty(self.n) if out is None else out
        y = self.cast(y)
        Z = np.take(y, self.rowmap)
        Z *= self.rscale

        def job(i):
            for p in self.parts:
                if i >= len(p["MT"]):
                    continue
                a, b, MTb = p["MT"][i]
                B, o, yo = p["B"], p["off"], p["yoff"]
                Zt = Z[yo:yo + p["mloc"] * B].reshape(p["mloc"], B)
                lo, hi = o + a * B, o + b * B
                np.multiply((MTb @ Zt).ravel(), self.s[lo:hi], out=out[lo:hi], casting="unsafe")
            if self.rest_T is not None and i < len(self.rest_T):
                a, b, Rb = self.rest_T[i]
                out[self.off_rest + a:self.off_rest + b] = Rb @ y

        self._run(job)
        return out

    def close(self):
        if self.pool is not None:
            self.pool.shutdown(wait=True)

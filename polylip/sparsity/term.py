"""Term sparsity (TSSOS): split each moment and localizing matrix into PSD blocks.

For a matrix with monomial basis ``b_1..b_k`` and multiplier ``g`` (``g = 1`` for a moment
matrix), the *term sparsity graph* at step ``s`` joins ``b_p`` and ``b_q`` when some monomial of
``g * b_p * b_q`` lies in the current support ``S^(s-1)``. The graph is then completed, either
by **block closure** (each connected component becomes a full block) or by a **chordal
extension** (each maximal clique becomes a block), and the support grows to every monomial the
blocks generate: ``S^(s) = S^(s-1) | {g * b_p * b_q : p, q in one block}``. The start is

``S^(0) = supp(f) | supp(g_i) | supp(h_j) | {b^2 : b in a moment-matrix basis}``

(reduced modulo binary/spin relations). The bounds are non-decreasing in the step, and with
block closure they equal the dense (or CS) bound once the blocks stop changing. Equality
multipliers are kept full (they are linear rows, not PSD blocks).

Everything here is vectorized over all matrices at once (one product, one membership test and
one connected-components call per step); only the chordal completion loops over matrices.

Examples
--------
>>> import sympy
>>> from polylip import POP
>>> x, y = sympy.symbols("x y")
>>> from polylip.sparsity import build_structure, Term
>>> s = build_structure(POP(x**4 + y**4 + x*y), 2, Term())
>>> s.psd_sizes          # {1, x^2, xy, y^2} and {x, y}
[4, 2]
"""

from __future__ import annotations

import logging

import numpy as np
import scipy.sparse as sp
from scipy.sparse import csgraph

from polylip.poly import monomials as mono
from polylip.runtime import check_deadline
from polylip.sparsity.blocks import MOMENT
from polylip.sparsity import chordal

log = logging.getLogger(__name__)


def triu_pairs(sizes: np.ndarray, strict: bool):
    """Upper-triangle pairs of many square matrices at once.

    Returns ``(owner, p, q)``: for every pair ``p <= q`` (``p < q`` if ``strict``) of every matrix
    ``j`` (in matrix order, then ``np.triu_indices`` order), its owner ``j`` and local indices.
    """
    sizes = np.asarray(sizes, dtype=np.int64)
    npair = sizes * (sizes - 1) // 2 if strict else sizes * (sizes + 1) // 2
    total = int(npair.sum())
    owner = np.repeat(np.arange(sizes.size), npair)
    p = np.empty(total, dtype=np.int64)
    q = np.empty(total, dtype=np.int64)
    start = np.concatenate([[0], np.cumsum(npair)[:-1]])
    for k in np.unique(sizes):
        js = np.nonzero(sizes == k)[0]
        iu, ju = np.triu_indices(int(k), 1 if strict else 0)
        if iu.size == 0:
            continue
        pos = (start[js][:, None] + np.arange(iu.size)[None, :]).ravel()
        p[pos] = np.tile(iu, js.size)
        q[pos] = np.tile(ju, js.size)
    return owner, p, q


def multiplier_table(pop):
    """Rows, coefficients, start and length of the multiplier of every matrix kind.

    Multiplier ``0`` is the constant 1 (moment matrices); ``1 + i`` is inequality ``i``.
    """
    polys_rows = [np.zeros((1, 0), dtype=mono.INDEX_DTYPE)] + [g.rows for g in pop.ineqs]
    polys_coeffs = [np.ones(1)] + [g.coeffs for g in pop.ineqs]
    width = max(r.shape[1] for r in polys_rows)
    rows = np.vstack([mono.pad_to(r, width) for r in polys_rows])
    coeffs = np.concatenate(polys_coeffs)
    lens = np.array([r.shape[0] for r in polys_rows], dtype=np.int64)
    start = np.concatenate([[0], np.cumsum(lens)[:-1]])
    return rows, coeffs, start, lens


def expand_terms(mult: np.ndarray, table):
    """For items with multiplier ids ``mult``: (item index repeated per term, term row index)."""
    _, _, start, lens = table
    t = lens[mult]
    rep = np.repeat(np.arange(mult.size), t)
    first = np.concatenate([[0], np.cumsum(t)[:-1]])
    term = start[mult][rep] + (np.arange(rep.size) - first[rep])
    return rep, term


def stack_bases(bases) -> tuple[np.ndarray, np.ndarray]:
    """All bases padded to one width and stacked; returns (rows, offsets)."""
    width = max((b.shape[1] for b in bases), default=0)
    rows = np.vstack([mono.pad_to(b, width) for b in bases]) if bases else \
        np.zeros((0, 0), mono.INDEX_DTYPE)
    sizes = np.array([b.shape[0] for b in bases], dtype=np.int64)
    return rows, np.concatenate([[0], np.cumsum(sizes)])


def _products(allb, off, owner, p, q, mult_of_matrix, table, boolean):
    """Monomial rows of ``g * b_p * b_q`` for each pair, one row per term of ``g``."""
    mrows = table[0]
    I = off[owner] + p
    J = off[owner] + q
    rep, term = expand_terms(mult_of_matrix[owner], table)
    rows = np.hstack([allb[I][rep], allb[J][rep], mrows[term]])
    rows = mono.normalize(rows)
    if boolean["binary"] is not None or boolean["spin"] is not None:
        rows = mono.reduce_boolean(rows, **boolean)
    return rows, rep


def _canonical_set(rows: np.ndarray) -> np.ndarray:
    u, _ = mono.unique_rows(mono.normalize(rows)) if rows.shape[0] else (rows, None)
    return u


def member(rows: np.ndarray, support: np.ndarray) -> np.ndarray:
    """Whether each monomial of ``rows`` is in ``support`` (both index-row sets)."""
    if rows.shape[0] == 0:
        return np.zeros(0, dtype=bool)
    width = max(rows.shape[1], support.shape[1])
    both = np.vstack([mono.pad_to(support, width), mono.pad_to(rows, width)])
    _, inv = mono.unique_rows(both)
    present = np.zeros(int(inv.max()) + 1, dtype=bool)
    present[inv[:support.shape[0]]] = True
    return present[inv[support.shape[0]:]]


def initial_support(pop, moment_bases, boolean) -> np.ndarray:
    parts = [pop.objective.rows] + [g.rows for g in pop.ineqs] + [h.rows for h in pop.eqs]
    for b in moment_bases:
        parts.append(mono.normalize(np.hstack([b, b])))
    width = max(p.shape[1] for p in parts)
    rows = np.vstack([mono.pad_to(p, width) for p in parts])
    if boolean["binary"] is not None or boolean["spin"] is not None:
        rows = mono.reduce_boolean(rows, **boolean)
    return _canonical_set(rows)


def term_blocks(pop, matrices, completion: str = "block", steps: int = 1, boolean=None):
    """Run the TSSOS iteration on a list of matrices.

    Parameters
    ----------
    matrices : list of (basis, constraint, clique)
        ``constraint`` is ``MOMENT`` (-1) or an inequality index.
    completion : {"block", "chordal"}
    steps : int

    Returns
    -------
    blocks : list of (basis, constraint, clique)
        The PSD blocks after the last step (each basis in canonical order).
    info : dict
        ``steps_done``, ``converged`` (blocks stopped changing), and per step the number of
        blocks and the largest block size.
    """
    boolean = boolean or dict(binary=None, spin=None)
    bases = [m[0] for m in matrices]
    allb, off = stack_bases(bases)
    sizes = np.diff(off)
    mult = np.array([m[1] + 1 for m in matrices], dtype=np.int64)  # MOMENT -> 0
    table = multiplier_table(pop)
    moment_bases = [m[0] for m in matrices if m[1] == MOMENT]
    support = initial_support(pop, moment_bases, boolean)
    owner_s, p_s, q_s = triu_pairs(sizes, strict=True)
    prod_rows, prod_rep = _products(allb, off, owner_s, p_s, q_s, mult, table, boolean)
    history = []
    result = None
    prev_pairs = -1
    converged = False
    N = int(off[-1])
    for step in range(1, steps + 1):
        check_deadline(f"building term sparsity blocks (step {step})")
        groups = _blocks_for_support(prod_rows, prod_rep, owner_s, p_s, q_s, off, sizes, N,
                                     support, completion)
        npairs = int(sum(g.size * (g.size + 1) // 2 for g in groups))
        gsizes = [g.size for g in groups]
        history.append(dict(step=step, blocks=len(groups), max_block=max(gsizes, default=0),
                            pairs=npairs))
        log.debug("TS step %d: %d blocks, largest %d", step, len(groups), max(gsizes, default=0))
        if npairs == prev_pairs:
            converged = True
            history.pop()  # identical to the previous step
            break
        result = groups
        prev_pairs = npairs
        if step < steps:
            support = _grow_support(support, groups, allb, off, mult, table, boolean)
    if not converged and result is not None:
        # one more look: would the next step change the blocks? (only a report's fact: a
        # solve's deadline stops it like the steps)
        check_deadline("checking whether term sparsity converged")
        nxt = _grow_support(support, result, allb, off, mult, table, boolean)
        converged = _same_graph(prod_rows, prod_rep, owner_s, p_s, q_s, off, sizes, N, nxt,
                                completion, prev_pairs)
    owner_node = np.repeat(np.arange(len(matrices)), sizes)
    blocks = []
    for g in result:
        j = int(owner_node[g[0]])
        blocks.append((allb[g], matrices[j][1], matrices[j][2]))
    info = dict(completion=completion, steps=steps, steps_done=len(history), converged=converged,
                history=history)
    # steps_done: the step whose blocks are returned; converged: one more step would not
    # change them (so the bound is the one of the CS / dense relaxation with block closure)
    return blocks, info


def _blocks_for_support(prod_rows, prod_rep, owner_s, p_s, q_s, off, sizes, N, support, completion):
    """The TS blocks: join basis pairs whose products meet ``support``, then complete."""
    hit = member(prod_rows, support)
    edge = np.zeros(owner_s.size, dtype=bool)
    np.logical_or.at(edge, prod_rep, hit)
    u = off[owner_s[edge]] + p_s[edge]
    v = off[owner_s[edge]] + q_s[edge]
    return _complete(N, off, sizes, u, v, completion)


def _same_graph(prod_rows, prod_rep, owner_s, p_s, q_s, off, sizes, N, support, completion, pairs):
    groups = _blocks_for_support(prod_rows, prod_rep, owner_s, p_s, q_s, off, sizes, N, support,
                                 completion)
    return int(sum(g.size * (g.size + 1) // 2 for g in groups)) == pairs


def _complete(N, off, sizes, u, v, completion):
    """Blocks (arrays of global node ids, sorted) of the completed graph."""
    if completion == "block":
        G = sp.csr_matrix((np.ones(u.size), (u, v)), shape=(N, N))
        _, labels = csgraph.connected_components(G, directed=False)
        order = np.argsort(labels, kind="stable")
        cuts = np.nonzero(np.diff(labels[order]))[0] + 1
        return np.split(order, cuts)
    # One chordal extension per distinct local graph: the matrices of a chained problem share
    # a handful of graphs (measured on chained Wood n = 10,000: 19,999 matrices per call, 5
    # distinct graphs over the build's two calls; build 1.47 s -> 0.52 s), and the extension of
    # a graph depends only on its edge set.
    owner = np.searchsorted(off, u, side="right") - 1
    lo, hi = np.minimum(u, v) - off[owner], np.maximum(u, v) - off[owner]
    keep = lo != hi
    owner, lo, hi = owner[keep], lo[keep], hi[keep]
    order = np.lexsort((hi, lo, owner))
    owner, lo, hi = owner[order], lo[order], hi[order]
    if owner.size:
        new = np.ones(owner.size, dtype=bool)
        new[1:] = (np.diff(owner) != 0) | (np.diff(lo) != 0) | (np.diff(hi) != 0)
        owner, lo, hi = owner[new], lo[new], hi[new]
    starts = np.searchsorted(owner, np.arange(sizes.size + 1))
    local = np.stack([lo, hi], axis=1)
    cache: dict = {}
    groups = []
    for j in range(sizes.size):
        e = local[starts[j]:starts[j + 1]]
        key = (int(sizes[j]), e.tobytes())
        cliques = cache.get(key)
        if cliques is None:
            cliques = cache[key] = [np.asarray(c, dtype=np.int64)
                                    for c in chordal.chordal_cliques(int(sizes[j]), e, "min-degree")]
        groups.extend(off[j] + c for c in cliques)
    return groups


def _grow_support(support, groups, allb, off, mult, table, boolean):
    nodes_owner = np.repeat(np.arange(off.size - 1), np.diff(off))
    gsz = np.array([g.size for g in groups], dtype=np.int64)
    owner_g, p, q = triu_pairs(gsz, strict=False)
    flat = np.concatenate(groups) if groups else np.zeros(0, np.int64)
    goff = np.concatenate([[0], np.cumsum(gsz)])
    I = flat[goff[owner_g] + p]
    J = flat[goff[owner_g] + q]
    mat = nodes_owner[I]
    rep, term = expand_terms(mult[mat], table)
    rows = mono.normalize(np.hstack([allb[I][rep], allb[J][rep], table[0][term]]))
    if boolean["binary"] is not None or boolean["spin"] is not None:
        rows = mono.reduce_boolean(rows, **boolean)
    width = max(rows.shape[1], support.shape[1])
    return _canonical_set(np.vstack([mono.pad_to(support, width), mono.pad_to(rows, width)]))

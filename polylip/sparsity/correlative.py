"""Correlative sparsity: the csp graph, its chordal extension, cliques, constraint assignment.

The *csp graph* has one node per variable and an edge between two variables when they occur
together in a monomial of the objective or in the same constraint. The cliques of a chordal
extension of it index one moment matrix each; each constraint goes to one clique containing
all its variables (the smallest such clique, first by index on ties).

Computed cliques always cover every constraint (a constraint's variables form a clique of the
csp graph). With **user-given cliques** an objective monomial or a constraint that fits in no
clique is an error (:class:`~polylip.errors.RelaxationError`) that names it: polylip does not
silently merge cliques, since that would change the relaxation the user asked for.

Examples
--------
>>> import sympy
>>> from polylip import POP
>>> x = sympy.symbols("x0:4")
>>> pop = POP(sum((x[i] - x[i + 1])**2 for i in range(3)) + x[0]**4)
>>> cliques_of(pop)
((0, 1), (1, 2), (2, 3))
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from polylip.errors import RelaxationError
from polylip.poly import monomials as mono
from polylip.runtime import check_memory
from polylip.sparsity import chordal

log = logging.getLogger(__name__)


def _pairs_of_rows(rows: np.ndarray) -> np.ndarray:
    """Edges (a, b), a < b, between distinct variables sharing an index row."""
    rows = np.asarray(rows)
    out = []
    w = rows.shape[1]
    for i in range(w):
        for j in range(i + 1, w):
            a, b = rows[:, i], rows[:, j]
            ok = (a != mono.PAD) & (b != mono.PAD) & (a != b)
            if ok.any():
                out.append(np.stack([a[ok], b[ok]], axis=1))
    if not out:
        return np.zeros((0, 2), dtype=np.int64)
    return _unique_edges(np.vstack(out).astype(np.int64))


def _unique_edges(edges: np.ndarray) -> np.ndarray:
    """Sorted unique rows ``(a, b)``, ``a < b``, of an ``(E, 2)`` array of non-negative ints
    (each row's ends sorted first), through one int64 key per row and a sort. Why not
    ``np.unique``: with numpy 2.4 it took 2.3-4.6 s (``axis=0``) and 6.5 s (on the int64 keys:
    its hash path for integers) for the 1 M edges of ``(x0+...+x999)(y0+...+y999)``; a sort
    and a comparison of neighbours take 0.1 s."""
    if edges.shape[0] == 0:
        return edges.reshape(0, 2)
    lo, hi = np.minimum(edges[:, 0], edges[:, 1]), np.maximum(edges[:, 0], edges[:, 1])
    base = int(hi.max()) + 1
    keys = np.sort(lo * base + hi)
    keys = keys[np.concatenate([[True], keys[1:] != keys[:-1]])]
    return np.stack([keys // base, keys % base], axis=1)


def _pairs_of_set(vs: np.ndarray) -> np.ndarray:
    vs = np.asarray(vs, dtype=np.int64)
    if vs.size < 2:
        return np.zeros((0, 2), dtype=np.int64)
    pairs = vs.size * (vs.size - 1) // 2
    check_memory(48 * pairs, f"the csp graph of a constraint in {vs.size:,} variables "
                             f"({pairs:,} edges)", "give the cliques (Correlative(cliques=...)) "
                 "or use the dense relaxation", RelaxationError)
    i, j = np.triu_indices(vs.size, 1)
    return np.stack([vs[i], vs[j]], axis=1)


def csp_edges(pop) -> np.ndarray:
    """Edges ``(a, b)`` with ``a < b`` of the correlative sparsity pattern graph (sorted, unique)."""
    parts = [_pairs_of_rows(pop.objective.rows)]
    for p in pop.ineqs + pop.eqs:
        parts.append(_pairs_of_set(p.variable_indices()))
    edges = np.vstack(parts)
    return _unique_edges(edges) if edges.size else edges.reshape(0, 2)


def csp_graph(pop):
    """The csp graph as a networkx graph (nodes are variable indices, attribute ``name``).

    Examples
    --------
    >>> import sympy
    >>> from polylip import POP
    >>> x, y, z = sympy.symbols("x y z")
    >>> sorted(csp_graph(POP(x*y + z**2)).edges())
    [(0, 1)]
    """
    import networkx as nx

    G = nx.Graph()
    G.add_nodes_from((i, {"name": v}) for i, v in enumerate(pop.variables))
    G.add_edges_from(map(tuple, csp_edges(pop).tolist()))
    return G


def cliques_of(pop, ordering: str = "min-degree", max_clique: int | None = None,
               max_work: float | None = None) -> tuple[tuple[int, ...], ...]:
    """Maximal cliques (tuples of variable indices) of a chordal extension of the csp graph.

    Every variable is in at least one clique (an unused variable forms its own). The result is
    sorted and deterministic.

    Parameters
    ----------
    pop : POP
    ordering : {"min-degree", "min-fill"}
        Elimination heuristic for the chordal extension.
    max_clique : int, optional
        Stop with :class:`~polylip.sparsity.chordal.CliqueTooLarge` as soon as a clique would
        have more variables (see :func:`polylip.sparsity.chordal.elimination`).
    """
    return chordal.chordal_cliques(pop.nvars, csp_edges(pop), ordering, max_clique, max_work)


def _constraint_sets(pop):
    return [p.variable_indices() for p in pop.ineqs] + [p.variable_indices() for p in pop.eqs]


def _assign(cliques, nvars: int, varsets, what, names=None):
    """Index of the smallest clique containing each variable set (first on ties)."""
    M = chordal.incidence(cliques, nvars).tocsc()
    sizes = np.array([len(c) for c in cliques], dtype=np.int64)
    # one-variable and constant sets are the common case: vectorize them
    out = np.empty(len(varsets), dtype=np.int64)
    key = sizes * (len(cliques) + 1) + np.arange(len(cliques))  # smallest, then first
    best_of_var = np.full(nvars, -1, dtype=np.int64)
    Mc = M.tocoo()
    if Mc.nnz:
        k = key[Mc.row]
        order = np.lexsort((k, Mc.col))
        cols, rows = Mc.col[order], Mc.row[order]
        first = np.ones(cols.size, dtype=bool)
        first[1:] = cols[1:] != cols[:-1]
        best_of_var[cols[first]] = rows[first]
    smallest = int(np.argmin(key))
    for i, vs in enumerate(varsets):
        if vs.size == 0:
            out[i] = smallest
        elif vs.size == 1:
            out[i] = best_of_var[vs[0]]
        else:
            hits = np.asarray(M[:, vs].sum(axis=1)).ravel()
            cand = np.nonzero(hits == vs.size)[0]
            out[i] = cand[np.argmin(key[cand])] if cand.size else -1
    bad = np.nonzero(out < 0)[0]
    if bad.size:
        i = int(bad[0])
        raise RelaxationError(
            f"{what[i]} uses variables {[names[v] if names else v for v in varsets[i].tolist()]} "
            "that fit in no given clique; add a "
            "clique containing them (polylip does not merge user-given cliques)")
    return out


@dataclass(frozen=True)
class CliqueDecomposition:
    """Cliques of a problem and where each constraint goes.

    ``assign_ineq[i]`` / ``assign_eq[j]`` index into ``cliques``; ``rip`` is the running
    intersection check; ``chordal_edges`` counts the edges of the extension (fill included)
    when the cliques were computed.
    """

    cliques: tuple[tuple[int, ...], ...]
    assign_ineq: np.ndarray
    assign_eq: np.ndarray
    rip: chordal.RIPReport
    ordering: str | None
    user_given: bool
    csp_edges: int
    fill_edges: int


def _user_cliques(pop, given) -> tuple[tuple[int, ...], ...]:
    index = {v: i for i, v in enumerate(pop.variables)}
    out = []
    for c in given:
        vs = []
        for v in c:
            if isinstance(v, (int, np.integer)):
                if not 0 <= int(v) < pop.nvars:
                    raise RelaxationError(f"clique {c!r}: variable index {v} out of range")
                vs.append(int(v))
            else:
                name = getattr(v, "name", str(v))
                if name not in index:
                    raise RelaxationError(f"clique {c!r}: unknown variable {name!r}")
                vs.append(index[name])
        out.append(tuple(sorted(set(vs))))
    return tuple(out)


def decompose(pop, ordering: str = "min-degree", cliques=None,
              max_clique: int | None = None) -> CliqueDecomposition:
    """Compute (or check user-given) cliques and assign the constraints to them; computed
    cliques larger than ``max_clique`` stop the elimination (``CliqueTooLarge``)."""
    edges = csp_edges(pop)
    if cliques is None:
        cl = chordal.chordal_cliques(pop.nvars, edges, ordering, max_clique)
        user = False
    else:
        cl = _user_cliques(pop, cliques)
        user = True
        _check_objective_fits(pop, cl)
    what = [f"inequality {i}" for i in range(len(pop.ineqs))] + \
           [f"equality {j}" for j in range(len(pop.eqs))]
    assign = _assign(cl, pop.nvars, _constraint_sets(pop), what, pop.variables)
    ni = len(pop.ineqs)
    rip = chordal.running_intersection(cl)
    if not rip.holds:
        log.warning("the cliques do not satisfy the running intersection property: the CS "
                    "hierarchy may not converge to the optimum")
    Mi = chordal.incidence(cl, pop.nvars)
    A = (Mi.T @ Mi).tocoo()
    ext = int(((A.row < A.col)).sum())
    return CliqueDecomposition(cl, assign[:ni], assign[ni:], rip, None if user else ordering,
                               user, int(edges.shape[0]), ext - int(edges.shape[0]))


def _check_objective_fits(pop, cliques) -> None:
    rows = pop.objective.rows
    if rows.shape[1] == 0 or rows.shape[0] == 0:
        return
    deg = mono.degrees(rows)
    r = np.repeat(np.arange(rows.shape[0]), rows.shape[1])
    v = rows.ravel()
    ok = v != mono.PAD
    Tm = sp.csr_matrix((np.ones(ok.sum()), (r[ok], v[ok])), shape=(rows.shape[0], pop.nvars))
    Tm.data[:] = 1.0  # repeated variables count once
    Tm.sum_duplicates()
    Tm.data[:] = 1.0
    nv = np.asarray(Tm.sum(axis=1)).ravel()
    M = chordal.incidence(cliques, pop.nvars)
    hits = (Tm @ M.T).tocsr()
    hits.data = (hits.data == np.repeat(nv, np.diff(hits.indptr))).astype(float)
    fits = np.asarray(hits.max(axis=1).todense()).ravel() > 0
    fits |= deg == 0
    if not fits.all():
        t = int(np.nonzero(~fits)[0][0])
        names = sorted({pop.variables[i] for i in rows[t] if i != mono.PAD})
        raise RelaxationError(f"the objective term in {names} fits in no given clique; add a "
                              "clique containing these variables")


def clique_bases(cliques, degree: int, binary=None, spin=None) -> list[np.ndarray]:
    """Monomial basis of degree <= ``degree`` over each clique (index rows, width ``degree``).

    Cliques of equal size share one template basis over local indices, mapped through the
    clique's variables in one fancy index (no per-clique Python work when there are no binary
    or spin variables).
    """
    degree = max(int(degree), 0)
    out: list = [None] * len(cliques)
    if not cliques:
        return out
    if (binary is not None and np.any(binary)) or (spin is not None and np.any(spin)):
        for c, clique in enumerate(cliques):
            out[c] = mono.basis(clique, degree, binary=binary, spin=spin)
        return out
    sizes = np.array([len(c) for c in cliques])
    for s in np.unique(sizes):
        idx = np.nonzero(sizes == s)[0]
        arr = np.array([cliques[i] for i in idx], dtype=mono.INDEX_DTYPE).reshape(idx.size, s)
        template = mono.basis(range(int(s)), degree)  # (k, degree), local indices
        ext = np.hstack([arr, np.full((idx.size, 1), mono.PAD, dtype=mono.INDEX_DTYPE)])
        mapped = ext[:, template]  # PAD (-1) picks the appended PAD column
        for j, i in enumerate(idx):
            out[i] = mapped[j]
    return out

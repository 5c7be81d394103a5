"""Graph stages shared by correlative and term sparsity: chordal extension, maximal cliques and
the running intersection property.

Graphs are given as an edge array (``(E, 2)`` ints) over nodes ``0..n-1``; no networkx object
is needed on the hot path (networkx graphs are built only for reports and plots).

Examples
--------
>>> edges = np.array([[0, 1], [1, 2], [2, 3], [3, 0]])   # a 4-cycle: not chordal
>>> chordal_cliques(4, edges)
((0, 1, 3), (1, 2, 3))
>>> running_intersection(((0, 1, 3), (1, 2, 3))).holds
True
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse import csgraph

from polylip.errors import RelaxationError
from polylip.runtime import check_deadline, memory_limit


class CliqueTooLarge(RelaxationError):
    """The elimination met a clique of ``size`` nodes (at least), more than ``max_clique``:
    stopped there, before the rest of the work (see :func:`elimination`)."""

    def __init__(self, size: int, max_clique: int, message: str = ""):
        self.size = int(size)
        self.max_clique = int(max_clique)
        super().__init__(message or f"the chordal extension has a clique of at least "
                                    f"{self.size:,} nodes, more than {self.max_clique:,}")


def _adjacency(n: int, edges: np.ndarray) -> list[set]:
    adj = [set() for _ in range(n)]
    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    for a, b in edges[edges[:, 0] != edges[:, 1]].tolist():
        adj[a].add(b)
        adj[b].add(a)
    return adj


def _fill(adj: list[set], v: int) -> int:
    nb = list(adj[v])
    k = len(nb)
    if k < 2:
        return 0
    present = sum(len(adj[u] & adj[v]) for u in nb) // 2
    return k * (k - 1) // 2 - present


class EliminationTooCostly(RelaxationError):
    """The elimination's counted work passed ``max_work`` (see :func:`elimination`)."""

    def __init__(self, work: int, largest: int, steps: int):
        self.work, self.largest, self.steps = int(work), int(largest), int(steps)
        super().__init__(f"the chordal extension was stopped after {self.steps:,} steps and "
                         f"{self.work:.3g} units of work, its largest clique so far "
                         f"{self.largest:,} nodes")


#: Steps between two checks of the enclosing deadline (polylip.runtime.Deadline).
DEADLINE_EVERY = 32


def elimination(n: int, edges: np.ndarray, ordering: str = "min-degree",
                max_clique: int | None = None, max_work: float | None = None):
    """Greedy elimination game: returns ``(order, candidates)``.

    ``order`` is the elimination order; ``candidates[v]`` is ``{v} | higher neighbours of v``
    in the filled (chordal) graph, a clique of it. Ties are broken by the smallest index, so
    the result is deterministic.

    Two implementations give the same result. Graphs of up to ``_DENSE_NODES`` nodes run on a
    boolean adjacency matrix (the fill of one step is one block assignment, the degree update
    one block sum), others on Python sets. Both stop as soon as the graph left is complete (its
    elimination is then known: increasing index, each node's candidate clique the nodes after
    it). Why: on dense graphs the set version's fill costs a Python set operation per pair of
    neighbours; ``(x0 + ... + x999) * (y0 + ... + y999)`` (the graph K_{1000,1000}) took 52 s
    in the set version, 1.7-2.3 s in the matrix version (load 1); a ball constraint in 5,000
    variables (a complete graph) would have taken hours, and now stops at the first step.

    **Bounded work.** Above ``_DENSE_NODES`` the matrix version is still taken when the set
    version's work, estimated before running as ``sum_v deg(v)**2`` (a step's fill costs about
    the square of the degree of the node eliminated), exceeds ``SET_WORK`` set operations and
    the ``n x n`` boolean matrix fits in a quarter of :func:`polylip.runtime.memory_limit`. With
    ``max_clique``, the game stops as soon as a candidate clique has more nodes (raising
    :class:`CliqueTooLarge`): a caller that cannot use such a clique (``sparsity="auto"``, which
    then takes the dense relaxation; a relaxation whose moment matrix on that clique could not
    fit in memory) learns it after the first steps on a dense graph, not after the whole game
    (``(x0+...+x299)(y0+...+y299)``, the graph K_{300,300}: the first step). Where the first
    steps do not decide it (a random graph on 5,000 nodes of edge density 0.2: its least
    degree is 815, and the fill reached 2,609 only after many steps, 38 s at load 15),
    ``max_work`` caps the work counted as the sum of the squared degrees of the nodes
    eliminated so far (:class:`EliminationTooCostly`; a count, the same on every machine), and
    the game checks the enclosing :class:`polylip.runtime.Deadline` every
    :data:`DEADLINE_EVERY` steps.

    Examples
    --------
    >>> order, cand = elimination(4, np.array([[0, 1], [1, 2], [2, 3], [3, 0]]))
    >>> order, cand[0]
    ([0, 1, 2, 3], (0, 1, 3))
    """
    if ordering not in ("min-degree", "min-fill"):
        raise RelaxationError(f"unknown ordering {ordering!r}; choose 'min-degree' or 'min-fill'")
    limit = n + 1 if max_clique is None else int(max_clique)
    guard = _Guard(limit, max_work)
    if ordering == "min-degree" and (n <= _DENSE_NODES or _prefer_matrix(n, edges)):
        return _elimination_dense(n, edges, guard)
    return _elimination_sets(n, edges, ordering, guard)


# Matrix version up to 4,096 nodes: a 16 MB boolean matrix, and an argmin over n per step
# (16 M comparisons in all at n = 4,096, well under a second).
_DENSE_NODES = 4096
#: Above _DENSE_NODES, the matrix version when the set version's estimated work (sum of the
#: squared degrees) exceeds this many set operations (about 10-20 s of Python set updates).
SET_WORK = 2 * 10**7


def set_work(n: int, edges: np.ndarray) -> int:
    """The set version's work estimate, ``sum_v deg(v)**2`` (see :func:`elimination`)."""
    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    deg = np.bincount(edges[edges[:, 0] != edges[:, 1]].ravel(), minlength=n)
    return int((deg.astype(np.float64) ** 2).sum())


def _prefer_matrix(n: int, edges: np.ndarray) -> bool:
    return set_work(n, edges) > SET_WORK and n * n <= memory_limit() // 4


def _check_candidate(size: int, limit: int) -> None:
    if size > limit:
        raise CliqueTooLarge(size, limit)


class _Guard:
    """The checks of every step: the clique limit, the counted work, the deadline."""

    def __init__(self, limit, max_work=None):
        self.limit = limit if isinstance(limit, (int, np.integer)) else int(limit)
        self.max_work = max_work
        self.work = 0
        self.steps = 0
        self.largest = 0

    def __call__(self, size: int) -> None:
        _check_candidate(size, self.limit)
        self.steps += 1
        self.largest = max(self.largest, size)
        self.work += (size - 1) ** 2
        if self.max_work is not None and self.work > self.max_work:
            raise EliminationTooCostly(self.work, self.largest, self.steps)
        if self.steps % DEADLINE_EVERY == 0:
            check_deadline("computing a chordal extension (the cliques)")


def _complete_rest(rest, order, candidates):
    """Eliminate a complete graph on ``rest`` (sorted): what the greedy game does on it."""
    for i, v in enumerate(rest):
        order.append(v)
        candidates[v] = (v, *rest[i + 1:])


def _elimination_dense(n: int, edges: np.ndarray, limit=None):
    guard = limit if isinstance(limit, _Guard) else _Guard(n + 1 if limit is None else limit)
    adj = np.zeros((n, n), dtype=bool)
    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    edges = edges[edges[:, 0] != edges[:, 1]]
    adj[edges[:, 0], edges[:, 1]] = True
    adj[edges[:, 1], edges[:, 0]] = True
    degree = adj.sum(axis=1).astype(np.int64)
    big = np.iinfo(np.int64).max
    key = degree.copy()
    order, candidates = [], [None] * n
    left = n
    while left:
        v = int(np.argmin(key))             # smallest degree, then smallest index
        guard(int(degree[v]) + 1)
        if degree[v] == left - 1:           # v has the least degree: the rest is complete
            _complete_rest(np.flatnonzero(key != big).tolist(), order, candidates)
            break
        nb = np.flatnonzero(adj[v])
        order.append(v)
        candidates[v] = (v, *nb.tolist())
        adj[v, nb] = False
        adj[nb, v] = False
        key[v] = big
        left -= 1
        if nb.size > 1:
            block = adj[nb][:, nb]          # two takes: 5x faster than np.ix_ here
            have = block.sum(axis=1)
            k = nb.size
            if int(have.sum()) != k * (k - 1):
                block[:] = True
                block[np.arange(k), np.arange(k)] = False
                adj[np.ix_(nb, nb)] = block
            degree[nb] += (k - 1) - have
        degree[nb] -= 1
        key[nb] = degree[nb]
    return order, candidates


def _elimination_sets(n: int, edges: np.ndarray, ordering: str, limit=None):
    guard = limit if isinstance(limit, _Guard) else _Guard(n + 1 if limit is None else limit)
    adj = _adjacency(n, edges)
    key = (lambda v: len(adj[v])) if ordering == "min-degree" else (lambda v: _fill(adj, v))
    current = [key(v) for v in range(n)]
    heap = [(current[v], v) for v in range(n)]
    heapq.heapify(heap)
    done = np.zeros(n, dtype=bool)
    order, candidates = [], [None] * n
    left = n
    while heap:
        k, v = heapq.heappop(heap)
        if done[v] or k != current[v]:
            continue
        nb = adj[v]
        guard(len(nb) + 1)
        if len(nb) == left - 1 and (ordering == "min-degree" or all(
                len(adj[u]) == left - 1 for u in nb)):
            # the graph left is complete: every node has the least key, ties go by index
            _complete_rest(sorted((v, *nb)), order, candidates)
            break
        done[v] = True
        left -= 1
        order.append(v)
        candidates[v] = (v, *sorted(nb))
        for u in nb:
            au = adj[u]
            au.discard(v)
            au |= nb
            au.discard(u)
        adj[v] = set()
        touched = set(nb)
        if ordering == "min-fill":
            for u in nb:
                touched |= adj[u]
        for u in touched:
            if not done[u]:
                kk = key(u)
                if kk != current[u]:
                    current[u] = kk
                    heapq.heappush(heap, (kk, u))
    return order, candidates


def maximal_from_elimination(order, candidates) -> tuple[tuple[int, ...], ...]:
    """Maximal cliques of the filled graph from an elimination (Blair-Peyton rule).

    The candidate clique of ``v`` is not maximal exactly when some ``u`` eliminated before ``v``
    has ``v`` as its first higher neighbour and one more higher neighbour than ``v``.
    """
    n = len(order)
    pos = np.empty(n, dtype=np.int64)
    pos[np.asarray(order, dtype=np.int64)] = np.arange(n)
    nhigh = np.array([len(candidates[v]) - 1 for v in range(n)])
    absorbed = np.zeros(n, dtype=bool)
    for u in order:
        higher = candidates[u][1:]
        if higher:
            parent = min(higher, key=lambda w: pos[w])
            if nhigh[u] == nhigh[parent] + 1:
                absorbed[parent] = True
    cliques = [tuple(sorted(candidates[v])) for v in range(n) if not absorbed[v]]
    return tuple(sorted(cliques))


def chordal_cliques(n: int, edges: np.ndarray, ordering: str = "min-degree",
                    max_clique: int | None = None, max_work: float | None = None):
    """Maximal cliques (sorted tuples, sorted) of a chordal extension of the graph;
    :class:`CliqueTooLarge` as soon as one would have more than ``max_clique`` nodes,
    :class:`EliminationTooCostly` past ``max_work`` (see :func:`elimination`)."""
    order, candidates = elimination(n, edges, ordering, max_clique, max_work)
    return maximal_from_elimination(order, candidates)


def incidence(cliques, n: int | None = None) -> sp.csr_matrix:
    """Clique-by-node 0/1 incidence matrix."""
    lens = np.array([len(c) for c in cliques], dtype=np.int64)
    cols = np.fromiter((v for c in cliques for v in c), dtype=np.int64, count=int(lens.sum()))
    rows = np.repeat(np.arange(len(cliques)), lens)
    n = int(cols.max(initial=-1)) + 1 if n is None else n
    return sp.csr_matrix((np.ones(cols.size), (rows, cols)), shape=(len(cliques), n))


@dataclass(frozen=True)
class RIPReport:
    """Running intersection property of a family of cliques.

    ``holds``: some ordering of the cliques has every clique meet the union of the earlier ones
    inside a single earlier clique (``parent``). ``order`` is such an ordering (a traversal of a
    maximum-weight spanning forest of the clique intersection graph), ``parent[i]`` the parent
    of clique ``i`` in it (-1 for roots) and ``separator_sizes[i]`` the size of the intersection.
    """

    holds: bool
    order: tuple[int, ...]
    parent: tuple[int, ...]
    separator_sizes: tuple[int, ...]

    def to_dict(self) -> dict:
        return dict(holds=self.holds, max_separator=max(self.separator_sizes, default=0))


def running_intersection(cliques) -> RIPReport:
    """Check the running intersection property (Bernstein-Goodman criterion: a maximum-weight
    spanning forest of the clique intersection graph has weight sum_v (#cliques containing v - 1)).
    """
    p = len(cliques)
    if p == 0:
        return RIPReport(True, (), (), ())
    M = incidence(cliques)
    W = (M @ M.T).tocoo()
    off = W.row < W.col
    r, c, w = W.row[off], W.col[off], W.data[off]
    big = float(w.max(initial=0.0)) + 1.0
    G = sp.csr_matrix((big - w, (r, c)), shape=(p, p))
    T = csgraph.minimum_spanning_tree(G)
    T = T.tocoo()
    weight = float((big - T.data).sum())
    counts = np.asarray(M.sum(axis=0)).ravel()
    needed = float((counts[counts > 0] - 1).sum())
    holds = abs(weight - needed) < 0.5
    sym = T + T.T
    ncomp, labels = csgraph.connected_components(sym, directed=False)
    # One breadth-first search from a virtual root joined to the smallest node of each
    # component, then the order regrouped by component (stable: within a component it is the
    # search from that node). A search per component cost O(p) each: O(p^2) for p cliques
    # that share nothing (10.4 s at p = 10,000 singleton cliques, sum_i x_i^2).
    first = np.full(ncomp, p, dtype=np.int64)
    np.minimum.at(first, labels, np.arange(p, dtype=np.int64))
    sym = sym.tocoo()
    rows = np.concatenate([sym.row, np.full(ncomp, p), first])
    cols = np.concatenate([sym.col, first, np.full(ncomp, p)])
    ext = sp.csr_matrix((np.ones(rows.size), (rows, cols)), shape=(p + 1, p + 1))
    nodes, preds = csgraph.breadth_first_order(ext, p, directed=False, return_predecessors=True)
    nodes = nodes[1:]
    rank = np.empty(ncomp, dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(ncomp)
    nodes = nodes[np.argsort(rank[labels[nodes]], kind="stable")]
    order = nodes.tolist()
    parent = np.asarray(preds[:p], dtype=np.int64)
    parent[(parent == p) | (parent < 0)] = -1
    sep = np.zeros(p, dtype=np.int64)
    has = parent >= 0
    if has.any():
        sep[has] = np.asarray(M[np.nonzero(has)[0]].multiply(M[parent[has]]).sum(axis=1)).ravel()
    return RIPReport(bool(holds), tuple(order), tuple(parent.tolist()), tuple(sep.tolist()))

"""The elimination game's two implementations (boolean matrix, Python sets) and its stop on a
complete remainder give the same order and cliques as the plain game."""

import heapq

import numpy as np
import pytest

from polylip.sparsity import chordal


def _reference(n, edges, ordering):
    """The plain greedy game, written independently: no early stop, sets only."""
    adj = [set() for _ in range(n)]
    for a, b in np.asarray(edges, dtype=np.int64).reshape(-1, 2).tolist():
        if a != b:
            adj[a].add(b)
            adj[b].add(a)

    def key(v):
        if ordering == "min-degree":
            return len(adj[v])
        nb = list(adj[v])
        return sum(1 for i, a in enumerate(nb) for b in nb[i + 1:] if b not in adj[a])

    alive = set(range(n))
    order, cand = [], [None] * n
    while alive:
        v = min(alive, key=lambda u: (key(u), u))
        nb = adj[v]
        order.append(v)
        cand[v] = (v, *sorted(nb))
        for u in nb:
            adj[u].discard(v)
            adj[u] |= nb - {u}
        adj[v] = set()
        alive.discard(v)
    return order, cand


def _random_graphs(count, seed=0):
    rng = np.random.default_rng(seed)
    for t in range(count):
        n = int(rng.integers(1, 30))
        if t % 5 == 0 and n > 3:                     # complete bipartite K_{h, n-h}
            h = n // 2
            edges = [(i, j) for i in range(h) for j in range(h, n)]
        else:
            p = rng.uniform(0, 1)
            edges = [(i, j) for i in range(n) for j in range(i + 1, n) if rng.uniform() < p]
        yield n, np.array(edges, dtype=np.int64).reshape(-1, 2)


@pytest.mark.parametrize("ordering", ["min-degree", "min-fill"])
def test_both_paths_equal_the_plain_game(ordering):
    for n, edges in _random_graphs(150):
        want = _reference(n, edges, ordering)
        got = chordal.elimination(n, edges, ordering)
        assert got[0] == want[0] and list(got[1]) == list(want[1])
        sets = chordal._elimination_sets(n, edges, ordering)
        assert sets[0] == want[0] and list(sets[1]) == list(want[1])


def test_dense_graphs_end_quickly_with_the_right_cliques():
    # K_{400,400}: the set version spent seconds per hundred nodes on such fills
    h = 400
    edges = np.array([(i, j) for i in range(h) for j in range(h, 2 * h)], dtype=np.int64)
    cliques = chordal.chordal_cliques(2 * h, edges)
    assert len(cliques) == h and all(len(c) == h + 1 for c in cliques)
    # a complete graph stops at the first step, on both paths
    n = 300
    complete = np.stack(np.triu_indices(n, 1), axis=1)
    for run in (chordal._elimination_dense, lambda n_, e: chordal._elimination_sets(n_, e, "min-degree")):
        order, cand = run(n, complete)
        assert order == list(range(n)) and cand[0] == tuple(range(n))

"""The elimination game's work is bounded before it runs: dense graphs above 4,096 nodes take
the matrix version, a clique larger than the caller can use stops the game at once, and
sparsity "auto" / "cs" use that stop. No wall-clock assertion: the tests check the result and
that the slow path was not taken (it is replaced by a function that fails)."""

import numpy as np
import pytest
import sympy

from polylip import POP
from polylip.errors import RelaxationError
from polylip.poly import variables
from polylip.runtime import MemoryLimit
from polylip.sparsity import chordal
from polylip.sparsity.blocks import largest_usable_clique
from polylip.sparsity.choose import choose_sparsity
from polylip.sparsity.correlative import csp_edges


def random_graph(n, density, seed=0):
    """A dense random graph (not complete), edges (a, b) with a < b."""
    rng = np.random.default_rng(seed)
    m = int(density * n * (n - 1) / 2)
    a = rng.integers(0, n, size=2 * m)
    b = rng.integers(0, n, size=2 * m)
    keep = a < b
    key = np.sort((a[keep] * n + b[keep])[:m])  # sorted unique (np.unique is slow on ints)
    key = key[np.concatenate([[True], key[1:] != key[:-1]])]
    return np.stack([key // n, key % n], axis=1)


def _no(*args, **kwargs):
    raise AssertionError("the slow path ran")


def test_dense_graph_above_4096_nodes_stops_at_the_first_too_large_clique(monkeypatch):
    n = 4200
    edges = random_graph(n, 0.1)
    mindeg = int(np.bincount(edges.ravel(), minlength=n).min())
    monkeypatch.setattr(chordal, "_elimination_sets", _no)
    with pytest.raises(chordal.CliqueTooLarge) as info:
        chordal.chordal_cliques(n, edges, max_clique=mindeg)
    # the first step eliminates a node of least degree: its clique has mindeg + 1 nodes
    assert info.value.size == mindeg + 1 and info.value.max_clique == mindeg
    assert isinstance(info.value, RelaxationError)


def test_dense_graph_work_is_capped(monkeypatch):
    """Where the first steps do not decide the largest clique, the counted work does."""
    n = 4200
    edges = random_graph(n, 0.05)
    monkeypatch.setattr(chordal, "_elimination_sets", _no)
    with pytest.raises(chordal.EliminationTooCostly) as info:
        chordal.chordal_cliques(n, edges, max_clique=n // 2, max_work=1e7)
    assert info.value.work > 1e7 and 0 < info.value.steps < n


def test_the_deadline_stops_the_game():
    from polylip.runtime import Deadline, TimeLimitReached

    edges = random_graph(300, 0.05)
    with Deadline(1e-9):
        with pytest.raises(TimeLimitReached, match="chordal extension"):
            chordal.chordal_cliques(300, edges)
    with Deadline(1e-9):
        with pytest.raises(TimeLimitReached):
            chordal._elimination_sets(300, edges, "min-degree", 301)


def test_auto_gives_up_on_costly_eliminations(monkeypatch):
    """sparsity='auto' with the work cap passed: dense, without finishing the game."""
    import polylip.sparsity.choose as choose

    monkeypatch.setattr(choose, "AUTO_MAX_WORK", 10)
    x = sympy.symbols("x0:12")
    pop = POP(sum(x[i] * x[i + 1] for i in range(11)) + sum(v**2 for v in x))
    assert choose_sparsity(pop) == "dense"
    monkeypatch.setattr(choose, "AUTO_MAX_WORK", 1e9)
    assert choose_sparsity(pop) == "cs"


def test_solve_ends_with_time_limit_in_the_chordal_extension(monkeypatch):
    """POP.solve runs inside a Deadline: a chordal extension still running at the limit
    ends the solve with status time_limit."""
    from polylip.runtime import TimeLimitReached

    def stopped(*args, **kwargs):
        raise TimeLimitReached("the time limit was reached while computing a chordal extension")

    monkeypatch.setattr(chordal, "elimination", stopped)
    x = sympy.symbols("x0:12")
    pop = POP(sum((x[i] - x[i + 1]) ** 2 for i in range(11)))
    res = pop.solve(sparsity="cs", time_limit=5)
    assert res.status == "time_limit" and res.bound is None and "chordal" in res.message


def test_set_work_decides_the_path(monkeypatch):
    n = 5000
    edges = random_graph(n, 0.02)
    assert chordal.set_work(n, edges) > chordal.SET_WORK
    assert chordal._prefer_matrix(n, edges)
    chain = np.stack([np.arange(n - 1), np.arange(1, n)], axis=1)
    assert chordal.set_work(n, chain) < chordal.SET_WORK and not chordal._prefer_matrix(n, chain)
    # the chain runs in the set version, and its cliques are the edges
    monkeypatch.setattr(chordal, "_elimination_dense", _no)
    assert chordal.chordal_cliques(n, chain) == tuple((i, i + 1) for i in range(n - 1))


@pytest.mark.parametrize("seed", range(5))
def test_both_paths_agree_where_either_may_run(seed, monkeypatch):
    n = 120
    edges = random_graph(n, 0.1, seed)
    by_sets = chordal._elimination_sets(n, edges, "min-degree", n + 1)
    monkeypatch.setattr(chordal, "_DENSE_NODES", 10)
    monkeypatch.setattr(chordal, "SET_WORK", 0)
    monkeypatch.setattr(chordal, "_elimination_sets", _no)
    assert chordal.elimination(n, edges) == by_sets


@pytest.mark.parametrize("impl", ["dense", "sets"])
def test_the_stop_is_exact(impl):
    """max_clique equal to the largest clique runs to the end; one less stops."""
    edges = random_graph(60, 0.3, 1)
    run = (lambda mc: chordal._elimination_dense(60, edges, mc)) if impl == "dense" else \
        (lambda mc: chordal._elimination_sets(60, edges, "min-degree", mc))
    order, cand = run(61)
    largest = max(len(c) for c in chordal.maximal_from_elimination(order, cand))
    assert run(largest) == (order, cand)
    with pytest.raises(chordal.CliqueTooLarge):
        run(largest - 1)


def test_auto_takes_dense_at_the_first_step(monkeypatch):
    """(x0+...+x299)(y0+...+y299): K_{300,300}; every clique of a chordal extension has more
    than half the variables, and the elimination stops at its first step."""
    n = 300
    v = variables(" ".join([f"x{i}" for i in range(n)] + [f"y{i}" for i in range(n)]))
    pop = POP(sum(v[:n]) * sum(v[n:]))
    steps = []
    real = chordal._check_candidate

    def count(size, limit):
        steps.append(size)
        real(size, limit)

    monkeypatch.setattr(chordal, "_check_candidate", count)
    assert choose_sparsity(pop) == "dense"
    assert steps == [n + 1]


def test_csp_edges_are_sorted_unique_pairs():
    x = sympy.symbols("x0:6")
    pop = POP(x[3] * x[1] + x[1] * x[3] ** 2 + x[0] * x[5] + x[2] ** 2, ineqs=[1 - x[4] * x[2]])
    assert csp_edges(pop).tolist() == [[0, 5], [1, 3], [2, 4]]


def test_cs_refuses_a_clique_no_relaxation_could_use():
    x = sympy.symbols("x0:40")
    pop = POP(sum(x) ** 2 + sum(v**4 for v in x))  # one clique of 40 variables
    with MemoryLimit("16 MiB"):
        usable = largest_usable_clique(pop, 2)
        assert usable < 40
        with pytest.raises(RelaxationError, match="clique of at least 40 variables"):
            pop.relax(order=2, sparsity="cs")


def test_largest_usable_clique_is_monotone_and_exact():
    from polylip.sparsity.blocks import assembly_bytes, count_basis
    from polylip.runtime import memory_limit

    x = sympy.symbols("x0:400")
    pop = POP(sum(x))
    with MemoryLimit("64 MiB"):
        for order in (1, 2, 3):
            c = largest_usable_clique(pop, order)
            k = count_basis(c, 0, order)
            k1 = count_basis(c + 1, 0, order)
            assert assembly_bytes(k * (k + 1) // 2, 2 * order) <= memory_limit()
            assert c == 400 or assembly_bytes(k1 * (k1 + 1) // 2, 2 * order) > memory_limit()


def test_term_sparsity_stops_at_the_deadline():
    from polylip.runtime import Deadline, TimeLimitReached

    x = sympy.symbols("x0:8")
    pop = POP(sum(x[i] * x[i + 1] for i in range(7)) + sum(v**4 for v in x))
    with Deadline(1e-9):
        with pytest.raises(TimeLimitReached, match="term sparsity"):
            pop.relax(order=2, sparsity="ts")

"""Graph stages of sparsity without a solver: patterns, chordal cliques, RIP, TSSOS blocks,
clique bases and the vectorized assembly."""

import itertools

import networkx as nx
import numpy as np
import pytest
import sympy

from polylip import POP, PolylipError, RelaxationError
from polylip.poly import monomials as mono
from polylip.sparsity.blocks import MOMENT
from polylip.relax.moment import assemble
from polylip.relax.conic import upper_to_full
from polylip.sparsity import (Correlative, CorrelativeTerm, Dense, Term, as_pattern,
                              build_structure, cliques_of)
from polylip.sparsity import chordal, correlative
from polylip.model.problems import broyden_tridiagonal


# ---------------------------------------------------------------- patterns
def test_shorthands_map_to_default_patterns():
    assert as_pattern("dense") == Dense()
    assert as_pattern("cs") == Correlative()
    assert as_pattern("ts") == Term()
    assert as_pattern("CS+TS") == CorrelativeTerm(Correlative(), Term())
    assert Correlative(ordering="min-fill") + Term(steps=2) == \
        CorrelativeTerm(Correlative("min-fill"), Term("block", 2))
    assert Term() + Correlative() == CorrelativeTerm()


@pytest.mark.parametrize("bad", ["sparse", "cs-ts", 3, ""])
def test_bad_sparsity_names_the_choices(bad):
    with pytest.raises(PolylipError) as err:
        as_pattern(bad)
    for choice in ("'dense'", "'cs'", "'ts'", "'cs+ts'"):
        assert choice in str(err.value)


def test_bad_pattern_options():
    with pytest.raises(RelaxationError, match="min-degree"):
        Correlative(ordering="amd")
    with pytest.raises(RelaxationError, match="block"):
        Term(completion="full")
    with pytest.raises(RelaxationError, match="positive integer"):
        Term(steps=0)


def test_bad_sparsity_through_relax():
    x = sympy.Symbol("x")
    with pytest.raises(RelaxationError, match="'cs\\+ts'"):
        POP(x**2).relax(1, sparsity="tssos")


# ---------------------------------------------------------------- chordal cliques
def _edges(G):
    return np.array(sorted(G.edges()), dtype=np.int64).reshape(-1, 2)


def _check_cover(G, cliques):
    """Cliques cover every edge, their union graph is chordal, none contains another."""
    H = nx.Graph()
    H.add_nodes_from(G.nodes())
    for c in cliques:
        H.add_edges_from(itertools.combinations(c, 2))
    assert all(H.has_edge(a, b) for a, b in G.edges())
    assert nx.is_chordal(H)
    sets = [set(c) for c in cliques]
    assert not any(a < b for a in sets for b in sets)
    assert set().union(*sets) == set(G.nodes())


@pytest.mark.parametrize("ordering", ["min-degree", "min-fill"])
def test_cliques_of_chain(ordering):
    G = nx.path_graph(6)
    cl = chordal.chordal_cliques(6, _edges(G), ordering)
    assert cl == ((0, 1), (1, 2), (2, 3), (3, 4), (4, 5))
    assert chordal.running_intersection(cl).holds


@pytest.mark.parametrize("ordering", ["min-degree", "min-fill"])
def test_cliques_of_star(ordering):
    G = nx.star_graph(5)  # centre 0
    cl = chordal.chordal_cliques(6, _edges(G), ordering)
    assert cl == tuple((0, i) for i in range(1, 6))


@pytest.mark.parametrize("ordering", ["min-degree", "min-fill"])
def test_cliques_of_grid(ordering):
    G = nx.convert_node_labels_to_integers(nx.grid_2d_graph(3, 3), ordering="sorted")
    cl = chordal.chordal_cliques(9, _edges(G), ordering)
    _check_cover(G, cl)
    assert max(len(c) for c in cl) <= 4  # treewidth of the 3x3 grid is 3
    assert chordal.running_intersection(cl).holds


def test_cycle_and_isolated_nodes():
    cl = chordal.chordal_cliques(5, np.array([[0, 1], [1, 2], [2, 3], [3, 0]]))
    assert cl == ((0, 1, 3), (1, 2, 3), (4,))


def test_running_intersection_fails_on_a_cycle_of_cliques():
    rip = chordal.running_intersection(((0, 1), (1, 2), (0, 2)))
    assert not rip.holds
    ok = chordal.running_intersection(((0, 1, 2), (2, 3), (3, 4, 5), (2, 6)))
    assert ok.holds and sorted(ok.separator_sizes) == [0, 1, 1, 1]


def _rip_order_by_component(cliques):
    """The traversal running_intersection gave before it searched all components at once: one
    breadth-first search per component, from its smallest clique (a reference)."""
    import scipy.sparse as sp
    from scipy.sparse import csgraph

    p = len(cliques)
    M = chordal.incidence(cliques)
    W = (M @ M.T).tocoo()
    off = W.row < W.col
    big = float(W.data[off].max(initial=0.0)) + 1.0
    G = sp.csr_matrix((big - W.data[off], (W.row[off], W.col[off])), shape=(p, p))
    T = csgraph.minimum_spanning_tree(G)
    sym = T + T.T
    parent, order, seen = [-1] * p, [], np.zeros(p, dtype=bool)
    for root in range(p):
        if seen[root]:
            continue
        nodes, preds = csgraph.breadth_first_order(sym, root, directed=False,
                                                   return_predecessors=True)
        seen[nodes] = True
        order.extend(nodes.tolist())
        for v in nodes[1:]:
            parent[v] = int(preds[v])
    return tuple(order), tuple(parent)


def test_running_intersection_order_on_random_families():
    """One search over all components gives the same order and parents as one per component
    (which was quadratic in the number of components: 10 s for 10,000 singleton cliques)."""
    rng = np.random.default_rng(0)
    for _ in range(200):
        n, p = int(rng.integers(1, 30)), int(rng.integers(1, 25))
        cliques = [tuple(sorted(set(rng.integers(0, n, rng.integers(1, 6)).tolist())))
                   for _ in range(p)]
        report = chordal.running_intersection(cliques)
        assert (report.order, report.parent) == _rip_order_by_component(cliques)
    report = chordal.running_intersection([(i,) for i in range(20_000)])
    assert report.holds and report.order == tuple(range(20_000)) and set(report.parent) == {-1}


def test_cliques_of_pop_chain_and_constraints():
    x = sympy.symbols("x0:5")
    pop = POP(sum(x[i] * x[i + 1] for i in range(4)), ineqs=[1 - x[0]**2 - x[4]**2])
    cl = cliques_of(pop)
    assert all(isinstance(c, tuple) for c in cl)
    assert any({0, 4} <= set(c) for c in cl)  # the constraint's variables are in one clique
    _check_cover(correlative.csp_graph(pop), cl)
    s = build_structure(pop, 1, "cs")
    loc = [b for b in s.psd if b.constraint == 0]
    assert len(loc) == 1 and {0, 4} <= set(s.cliques[loc[0].clique])


def test_constraint_goes_to_smallest_clique():
    x = sympy.symbols("x0:4")
    pop = POP(x[0] * x[1] * x[2] + x[2] * x[3], ineqs=[1 - x[2]**2])
    s = build_structure(pop, 2, "cs")
    assert s.cliques == ((0, 1, 2), (2, 3))
    loc = [b for b in s.psd if b.constraint == 0][0]
    assert s.cliques[loc.clique] == (2, 3)


def test_user_cliques_that_miss_a_constraint_or_a_term():
    x = sympy.symbols("x0:3")
    pop = POP(x[0] * x[1] + x[1] * x[2], ineqs=[1 - x[0]**2 - x[2]**2])
    with pytest.raises(RelaxationError, match=r"inequality 0 uses variables \[.x0., .x2.\] that fit in no given clique"):
        build_structure(pop, 1, Correlative(cliques=[["x0", "x1"], ["x1", "x2"]]))
    with pytest.raises(RelaxationError, match="objective term"):
        build_structure(pop, 1, Correlative(cliques=[["x0", "x2"], ["x1"]]))
    s = build_structure(pop, 1, Correlative(cliques=[["x0", "x1", "x2"]]))
    assert s.cliques == ((0, 1, 2),)
    with pytest.raises(RelaxationError, match="unknown variable"):
        build_structure(pop, 1, Correlative(cliques=[["x0", "zz"]]))


def test_clique_bases_match_per_clique_basis():
    cliques = ((0, 3, 7), (1, 2, 5), (4, 6), (2, 8, 9))
    got = correlative.clique_bases(cliques, 2)
    for c, b in zip(cliques, got):
        np.testing.assert_array_equal(b, mono.basis(c, 2))


# ---------------------------------------------------------------- term sparsity by hand
def test_tssos_blocks_worked_by_hand():
    # f = x^4 + y^4 + x*y at order 2, basis 1, x, y, x^2, xy, y^2.
    # S0 = supp(f) + squares = {1, xy, x^2, y^2, x^4, x^2y^2, y^4}.
    # Edges b_p b_q in S0: 1-x^2, 1-y^2, 1-xy, x^2-y^2 (x^2y^2), x-y (xy).
    # Block closure: {1, x^2, xy, y^2} and {x, y}; chordal: {1,x^2,y^2}, {1,xy}, {x,y}.
    x, y = sympy.symbols("x y")
    pop = POP(x**4 + y**4 + x * y)
    names = lambda b: sorted(str(sympy.Mul(*[(x, y)[i] for i in row if i >= 0])) for row in b.basis)
    s = build_structure(pop, 2, Term("block", 1))
    assert sorted(map(names, s.psd)) == [["1", "x**2", "x*y", "y**2"], ["x", "y"]]
    s = build_structure(pop, 2, Term("chordal", 1))
    assert sorted(map(names, s.psd)) == [["1", "x**2", "y**2"], ["1", "x*y"], ["x", "y"]]
    # step 2: the blocks generate x^3 y, x y^3, x^2 y^2, ... but no odd-even mixing: stable
    s2 = build_structure(pop, 2, Term("block", 3))
    assert sorted(b.size for b in s2.psd) == [2, 4]
    assert s2.info["ts"]["converged"] and s2.info["ts"]["steps_done"] == 1


def test_ts_inside_cliques_keeps_clique_of_each_block():
    pop = broyden_tridiagonal(6)
    s = build_structure(pop, 2, "cs+ts")
    assert s.kind == "cs+ts"
    for b in s.psd:
        used = set(b.basis[b.basis >= 0].tolist())
        assert used <= set(s.cliques[b.clique])
    assert s.info["rip"].holds


# ---------------------------------------------------------------- vectorized assembly
@pytest.mark.parametrize("sparsity", ["dense", "cs", "ts", "cs+ts", Term("chordal", 2)])
def test_assembled_blocks_are_localizing_matrices_at_a_point(sparsity):
    x = sympy.symbols("x0:4")
    pop = POP(x[0]**3 * x[1] + x[1] * x[2]**2 + x[2] * x[3] - x[0] * x[3],
              ineqs=[1 - x[0]**2 - x[3]**2, x[1] - x[2]**2], eqs=[x[1] * x[2] - x[3]])
    s = build_structure(pop, 2, sparsity)
    data = assemble(pop, s)
    pt = np.array([0.3, -0.7, 0.5, 1.1])
    y = np.prod(np.where(data.moments >= 0, np.append(pt, 1.0)[data.moments], 1.0), axis=1)
    assert len(data.blocks) == len(s.psd)
    for block, A, k in zip(s.psd, data.blocks, data.sizes):
        b = np.prod(np.where(block.basis >= 0, np.append(pt, 1.0)[block.basis], 1.0), axis=1)
        g = 1.0 if block.constraint == MOMENT else pop.ineqs[block.constraint].evaluate(pt)
        M = (upper_to_full(k, halve=False) @ (A @ y)).reshape(k, k)
        np.testing.assert_allclose(M, g * np.outer(b, b), atol=1e-12)
    r = 0
    for e in s.equalities:
        b = np.prod(np.where(e.basis >= 0, np.append(pt, 1.0)[e.basis], 1.0), axis=1)
        h = pop.eqs[e.constraint].evaluate(pt)
        np.testing.assert_allclose(data.E[r:r + e.size] @ y, h * b, atol=1e-12)
        r += e.size
    assert r == data.E.shape[0]
    np.testing.assert_allclose(data.c @ y, pop.evaluate(pt))


def test_assembly_with_spin_variables_at_a_vertex():
    s_ = sympy.symbols("s0:4")
    pop = POP(sum(s_[i] * s_[(i + 1) % 4] for i in range(4)) + s_[0] * s_[2], spin=s_)
    pt = np.array([1.0, -1.0, -1.0, 1.0])
    for sparsity in ("dense", "cs", "cs+ts"):
        s = build_structure(pop, 2, sparsity)
        data = assemble(pop, s)
        assert (mono.degrees(data.moments) <= 4).all()
        y = np.prod(np.where(data.moments >= 0, np.append(pt, 1.0)[data.moments], 1.0), axis=1)
        np.testing.assert_allclose(data.c @ y, pop.evaluate(pt))
        for block, A, k in zip(s.psd, data.blocks, data.sizes):
            b = np.prod(np.where(block.basis >= 0, np.append(pt, 1.0)[block.basis], 1.0), axis=1)
            M = (upper_to_full(k, halve=False) @ (A @ y)).reshape(k, k)
            np.testing.assert_allclose(M, np.outer(b, b), atol=1e-12)

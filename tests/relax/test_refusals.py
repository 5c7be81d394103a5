"""Refusals before allocation: a monomial basis, a relaxation (dense, correlative, term sparse)
or a standard problem too large for the memory limit is refused with an error naming its size
and what to try, before anything large is allocated; normal relaxations are unaffected."""

import re

import numpy as np
import pytest
import sympy

from polylip import POP, ModelError, RelaxationError
from polylip.model import problems
from polylip.poly import monomials as mono
from polylip.relax.moment import assemble
from polylip.runtime import (MEMORY_ENV, MemoryLimit, available_memory, format_bytes,
                             memory_limit, set_memory_limit)
from polylip.sparsity.blocks import check_size, count_basis, dense_structure


def _ten_variables():
    x = sympy.symbols("x0:10")
    return POP(sum(v ** 4 for v in x) - sum(x[i] * x[i + 1] for i in range(9)),
               ineqs=[1 - sum(v ** 2 for v in x)])


def test_basis_of_order_50_on_10_variables_is_refused_unbuilt():
    with pytest.raises(RelaxationError) as err:
        mono.basis(range(10), 50)
    text = str(err.value)
    assert "75,394,027,566 monomials" in text and "GiB" in text and "memory limit" in text
    assert "sparsity='cs'" in text and "lower order" in text and "method='lp'" in text


def test_dense_relaxation_of_order_50_is_refused_naming_its_size():
    pop = _ten_variables()
    for sparsity in ("dense", "auto"):
        with pytest.raises(RelaxationError) as err:
            pop.relax(order=50, sparsity=sparsity)
        text = str(err.value)
        assert "relaxation of order 50" in text and "matrix entries" in text
        assert "e+21 matrix entries" in text  # 75,394,027,566 (75,394,027,567) / 2 and more
        assert "GiB" in text and "the smallest valid order is 2" in text
        assert "sparsity='cs'" in text and "method='lp'" in text


def test_sparse_relaxations_are_refused_before_their_bases():
    pop = problems.broyden_tridiagonal(30)
    with MemoryLimit("64 KiB"):
        for sparsity, kind in (("cs", "cs"), ("cs+ts", "cs+ts"), ("ts", "ts")):
            with pytest.raises(RelaxationError, match=f"the {re.escape(kind)} relaxation of "
                                                      "order 2 .*matrix entries.*would need about"
                                                      ".*lower order"):
                pop.relax(2, sparsity)


def test_assembly_is_refused_from_the_exact_block_sizes():
    pop = _ten_variables()
    structure = dense_structure(pop, 2)   # about 0.5 MiB to assemble
    with MemoryLimit("256 KiB"):
        with pytest.raises(RelaxationError, match=r"\(2 PSD blocks, the largest 66 x 66; "
                                                  r"2,277 matrix entries"):
            assemble(pop, structure)


def test_standard_problems_refuse_an_impossible_n_without_allocating():
    with pytest.raises(ModelError, match=r"broyden_tridiagonal with n = 1,000,000,000 .*terms "
                                         r"before merging\) would need about .* GiB.*smaller n"):
        problems.broyden_tridiagonal(10 ** 9)
    with MemoryLimit("1 MiB"):
        with pytest.raises(ModelError, match="chained_wood"):
            problems.chained_wood(10_000)


def test_normal_relaxations_are_unaffected():
    x = sympy.Symbol("x")
    relaxation = POP(x ** 4 - 3 * x ** 2 + x).relax(order=2)
    assert relaxation.sizes["psd_sizes"] == [3]
    assert round(relaxation.solve().bound, 4) == -3.5139
    pop = _ten_variables()
    summary = check_size(pop, 2, [tuple(range(10))], [0], [])
    assert summary["entries"] == 66 * 67 // 2 + 11 * 12 // 2
    data = pop.relax(2, "dense").data
    assert list(data.sizes) == [66, 11]
    assert problems.broyden_tridiagonal(1000).relax(2, "cs").sizes["cliques"] == 998


def test_counted_sizes_equal_the_built_ones_with_binary_and_spin_variables():
    x = sympy.symbols("x0:8")
    pop = POP(sum(x[i] * x[i + 1] for i in range(7)) + x[0] ** 3, ineqs=[2 - x[0] - x[7] ** 2],
              eqs=[x[1] * x[2] - x[3]], binary=x[:3], spin=x[5:7])
    for order in (2, 3):
        for sparsity in ("dense", "cs"):
            relaxation = pop.relax(order, sparsity)
            b = relaxation.blocks
            summary = check_size(pop, order, b.cliques,
                                 [blk.clique for blk in b.psd if blk.constraint >= 0],
                                 [e.clique for e in b.equalities], b.kind)
            assert summary["entries"] == sum(k * (k + 1) // 2 for k in b.psd_sizes)
            assert summary["largest"] == max(b.psd_sizes)


def test_basis_enumeration_matches_itertools():
    from itertools import combinations_with_replacement

    for n, d in [(0, 3), (1, 4), (3, 3), (5, 2), (4, 0)]:
        expected = [c for k in range(d + 1) for c in combinations_with_replacement(range(n), k)]
        got = mono.basis([v * 3 for v in range(n)], d)
        assert [tuple(int(i) // 3 for i in row if i != mono.PAD) for row in got] == expected
        assert got.shape == (mono.basis_size(n, d), d)
        assert mono.basis(range(n), d, min_degree=2).shape[0] == mono.basis_size(n, d, 2)
    b = mono.basis([0, 1, 2], 3, binary=np.array([True, True, False]))
    assert b.shape[0] == count_basis(1, 2, 3)


def test_memory_limit_settings(monkeypatch):
    monkeypatch.delenv(MEMORY_ENV, raising=False)
    default = memory_limit()
    assert 0 < default <= available_memory()
    with MemoryLimit("2 GiB"):
        assert memory_limit() == 2 << 30
        with MemoryLimit(12345):
            assert memory_limit() == 12345
        assert memory_limit() == 2 << 30
    assert memory_limit() == default
    monkeypatch.setenv(MEMORY_ENV, "512M")
    assert memory_limit() == 512 << 20
    previous = set_memory_limit("1.5G")
    try:
        assert memory_limit() == int(1.5 * (1 << 30))  # the setting wins over the environment
    finally:
        set_memory_limit(previous)
    for bad in ("lots", "-1G", 0, True):
        with pytest.raises((ValueError, TypeError)):
            set_memory_limit(bad)
    assert format_bytes(3 << 30) == "3.0 GiB"


def test_lp_products_of_a_huge_degree_are_refused_before_building():
    # degree 10^8 allocated 12 GB in _clique_products (the OOM killer ended the CLI) before
    # the LP's size estimate could refuse it
    from polylip.relax.krivine import KrivineLP

    pop = POP(sympy.sympify("x*y"), ineqs=[sympy.sympify(g) for g in
                                           ("1 - x", "1 + x", "1 - y", "1 + y")])
    with pytest.raises(RelaxationError, match="products of the degree-100000000 LP"):
        KrivineLP.build(pop, degree=10 ** 8)

"""Exact optimization by variable elimination (polylip.exact.elimination) against brute force."""

import doctest
import itertools

import numpy as np
import pytest
import sympy

from polylip.errors import ModelError, PolylipError
from polylip.model import POP
from polylip.exact import elimination as elim
from polylip.exact.elimination import (EliminationTooLargeError, eliminate, plan_elimination,
                                          pop_domains)
from polylip.poly import Polynomial
from polylip.poly import monomials as mono


def vertex_values(dom):
    return (0.0, 1.0) if dom == "binary" else (-1.0, 1.0) if dom == "spin" else tuple(dom)


def brute(poly, domains):
    names = list(poly.variables)
    pts = np.array(list(itertools.product(*[vertex_values(domains[n]) for n in names])))
    return poly.evaluate(pts)


def random_multilinear(rng, n, nterms, maxdeg=3, scopes=None):
    """A random polynomial, distinct variables per term (multilinear), over x0..x{n-1}."""
    names = [f"x{i}" for i in range(n)]
    rows = np.full((nterms, maxdeg), mono.PAD, dtype=mono.INDEX_DTYPE)
    for k in range(nterms):
        if scopes is not None:
            vs = scopes[rng.integers(len(scopes))]
            vs = rng.choice(vs, size=rng.integers(0, len(vs) + 1), replace=False)
        else:
            vs = rng.choice(n, size=rng.integers(0, min(maxdeg, n) + 1), replace=False)
        rows[k, :len(vs)] = vs
    return Polynomial(names, rows, rng.normal(size=nterms))


def random_domains(rng, n, kinds=("binary", "spin", "box")):
    out = {}
    for i in range(n):
        kind = kinds[rng.integers(len(kinds))]
        if kind == "box":
            lo, hi = np.sort(rng.uniform(-2.0, 2.0, 2))
            out[f"x{i}"] = (float(lo), float(hi))
        else:
            out[f"x{i}"] = kind
    return out


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("sense", ["max", "min"])
def test_random_multilinear_equals_brute_force(seed, sense):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 10))
    poly = random_multilinear(rng, n, int(rng.integers(1, 20)))
    doms = random_domains(rng, n)
    vals = brute(poly, doms)
    ref = vals.max() if sense == "max" else vals.min()
    res = eliminate(poly, doms, sense=sense)
    assert res.value == pytest.approx(ref, abs=1e-12)
    assert poly.evaluate(res.point) == pytest.approx(ref, abs=1e-12)  # an optimal vertex
    assert all(res.point[n_] in vertex_values(doms[n_]) for n_ in res.point)
    assert res.margin > 0 or poly.is_zero()
    if sense == "max":
        assert res.bound == res.value + res.margin >= ref
    else:
        assert res.bound == res.value - res.margin <= ref


@pytest.mark.parametrize("kind", ["binary", "spin", "box"])
def test_each_domain_kind_alone(kind):
    rng = np.random.default_rng(100)
    poly = random_multilinear(rng, 8, 25)
    doms = random_domains(rng, 8, kinds=(kind,))
    vals = brute(poly, doms)
    assert eliminate(poly, doms).value == pytest.approx(vals.max(), abs=1e-12)
    assert eliminate(poly, doms, sense="min").value == pytest.approx(vals.min(), abs=1e-12)


def test_box_optimum_is_the_box_optimum():
    # multilinear over a box: the vertex optimum is the optimum over the whole box
    rng = np.random.default_rng(3)
    poly = random_multilinear(rng, 4, 10)
    doms = random_domains(rng, 4, kinds=("box",))
    res = eliminate(poly, doms)
    lo = np.array([doms[f"x{i}"][0] for i in range(4)])
    hi = np.array([doms[f"x{i}"][1] for i in range(4)])
    inside = lo + (hi - lo) * rng.uniform(size=(5000, 4))
    assert poly.evaluate(inside).max() <= res.bound


def test_spin_and_binary_powers_are_reduced():
    x, y = Polynomial.variable("x"), Polynomial.variable("y")
    p = x ** 3 * y ** 2 + 2 * x ** 2 - y ** 4  # x spin, y binary: x*y + 2 - y
    res = eliminate(p, {"x": "spin", "y": "binary"})
    assert res.value == pytest.approx(2.0)
    assert eliminate(p, {"x": "spin", "y": "binary"}, sense="min").value == pytest.approx(0.0)


def test_long_spin_chain_is_width_two():
    # a chain is a tree: max sum J_i x_i x_{i+1} over spins is sum |J_i|
    rng = np.random.default_rng(4)
    n = 200
    J = rng.normal(size=n - 1)
    names = [f"x{i}" for i in range(n)]
    rows = np.column_stack([np.arange(n - 1), np.arange(1, n)])
    p = Polynomial(names, rows, J)
    res = eliminate(p, {v: "spin" for v in names})
    assert res.width == 2 and res.max_table == 4
    assert res.value == pytest.approx(np.abs(J).sum(), rel=1e-12)
    assert p.evaluate(res.point) == pytest.approx(res.value, rel=1e-12)
    assert eliminate(p, {v: "spin" for v in names}, sense="min").value == \
        pytest.approx(-np.abs(J).sum(), rel=1e-12)


@pytest.mark.parametrize("seed", range(4))
def test_banded_structure_against_brute_force(seed):
    # terms within windows of 3 consecutive variables: width at most 3
    rng = np.random.default_rng(10 + seed)
    n = 14
    scopes = [list(range(i, min(n, i + 3))) for i in range(n)]
    p = random_multilinear(rng, n, 60, maxdeg=3, scopes=scopes)
    doms = random_domains(rng, n)
    vals = brute(p, doms)
    res = eliminate(p, doms)
    assert res.width <= 3
    assert res.value == pytest.approx(vals.max(), abs=1e-11)
    assert eliminate(p, doms, sense="min").value == pytest.approx(vals.min(), abs=1e-11)


@pytest.mark.parametrize("heuristic", ["min_degree", "min_fill_in", "best"])
def test_heuristics_and_given_order_agree(heuristic):
    rng = np.random.default_rng(5)
    p = random_multilinear(rng, 9, 30)
    doms = random_domains(rng, 9)
    ref = brute(p, doms).max()
    assert eliminate(p, doms, heuristic=heuristic).value == pytest.approx(ref, abs=1e-12)
    order = [f"x{i}" for i in range(9)][::-1]
    used = set(p.used_variables)
    res = eliminate(p, doms, order=[v for v in order if v in used])
    assert res.value == pytest.approx(ref, abs=1e-12)
    assert res.details["heuristic"] == "given"


def test_bad_order_refused():
    x, y = Polynomial.variable("x"), Polynomial.variable("y")
    with pytest.raises(ModelError, match="every variable"):
        eliminate(x * y, {"x": "spin", "y": "spin"}, order=["x"])
    with pytest.raises(ModelError, match="unknown"):
        eliminate(x * y, {"x": "spin", "y": "spin"}, order=["x", "y", "z"])


def test_constant_and_zero_polynomials():
    c = Polynomial.constant(2.5, ["x"])
    res = eliminate(c, {"x": "spin"})
    assert res.value == 2.5 and res.width == 0 and res.point == {"x": -1.0}
    assert eliminate(Polynomial.zero(["x"]), {"x": "binary"}).value == 0.0


def test_unused_domain_variables_are_reported():
    x = Polynomial.variable("x")
    res = eliminate(2 * x, {"x": "binary", "w": (3, 4)})
    assert res.value == 2.0 and res.point == {"x": 1.0, "w": 3.0}


def test_budget_refused_before_any_table(monkeypatch):
    # all pairs of 14 spins interact: width 14, 2^14 entries
    names = [f"x{i}" for i in range(14)]
    pairs = np.array(list(itertools.combinations(range(14), 2)))
    p = Polynomial(names, pairs, np.random.default_rng(6).normal(size=len(pairs)))
    doms = {v: "spin" for v in names}
    assert plan_elimination(p, doms).width == 14

    def boom(*args, **kwargs):
        raise AssertionError("a table was built before the budget check")

    monkeypatch.setattr(elim, "_factor_tables", boom)
    with pytest.raises(EliminationTooLargeError, match="budget") as info:
        eliminate(p, doms, budget=2 ** 13)
    assert isinstance(info.value, PolylipError)
    assert info.value.plan.max_table == 2 ** 14 and info.value.budget == 2 ** 13
    monkeypatch.undo()
    assert eliminate(p, doms, budget=2 ** 14).max_table == 2 ** 14


def test_not_multilinear_in_a_box_variable_refused():
    x, y = Polynomial.variable("x"), Polynomial.variable("y")
    with pytest.raises(ModelError, match="not multilinear.*'x'"):
        eliminate(x ** 2 * y, {"x": (0, 1), "y": "spin"})


def test_missing_or_bad_domains_refused():
    x, y = Polynomial.variable("x"), Polynomial.variable("y")
    with pytest.raises(ModelError, match="no two-valued domain"):
        eliminate(x * y, {"x": "spin"})
    with pytest.raises(ModelError, match="unknown domain"):
        eliminate(x, {"x": "integer"})
    with pytest.raises(ModelError, match="lo <= hi"):
        eliminate(x, {"x": (1, 0)})
    with pytest.raises(ModelError, match="needs domains"):
        eliminate(x)
    with pytest.raises(ModelError, match="sense"):
        eliminate(x, {"x": "spin"}, sense="maximize")
    with pytest.raises(ModelError, match="Polynomial or a POP"):
        eliminate("x", {"x": "spin"})


def test_pop_with_binary_spin_and_boxes():
    x, y, z, w = sympy.symbols("x y z w")
    pop = POP(x * y - 2 * y * z + z * w + w, ineqs=[z + 1, 3 - z, 4 - w ** 2,
                                                   -(x - 0) * (x - 2)],
              sense="min", binary=[y])
    assert pop_domains(pop) == {"w": (-2.0, 2.0), "x": (0.0, 2.0), "y": "binary",
                                "z": (-1.0, 3.0)}
    names = list(pop.variables)
    doms = pop_domains(pop)
    ref = brute(pop.objective, doms).min()
    res = eliminate(pop)
    assert res.sense == "min" and res.value == pytest.approx(ref)
    spin_pop = POP(x * y + y * z, sense="max", spin=[x, y, z])
    assert eliminate(spin_pop).value == pytest.approx(2.0)
    assert names == ["w", "x", "y", "z"]


def test_pop_with_other_constraints_refused():
    x, y = sympy.symbols("x y")
    with pytest.raises(ModelError, match="not a bound on one variable"):
        eliminate(POP(x * y, ineqs=[1 - x ** 2 - y ** 2], sense="max"))
    with pytest.raises(ModelError, match="equality"):
        eliminate(POP(x * y, eqs=[x - y], sense="max", spin=[x, y]))
    with pytest.raises(ModelError, match="no two-valued domain"):
        eliminate(POP(x * y, ineqs=[x + 1], sense="max", spin=[y]))
    with pytest.raises(ModelError, match="exclude one of its values"):
        eliminate(POP(x * y, ineqs=[sympy.Rational(1, 2) - x], sense="max", binary=[x, y]))
    assert eliminate(POP(x * y, ineqs=[1 - x ** 2], sense="max", spin=[x, y])).value == 1.0
    with pytest.raises(ModelError, match="domains only with a polynomial"):
        eliminate(POP(x * y, sense="max", spin=[x, y]), {"x": "spin"})


def test_margin_covers_cancellation():
    # huge terms that cancel: the margin scales with sum |c| times the value bounds
    x, y = Polynomial.variable("x"), Polynomial.variable("y")
    p = 1e16 * x - 1e16 * x * y + y
    res = eliminate(p, {"x": "binary", "y": "binary"})
    assert res.value == pytest.approx(1e16) and res.margin >= 2e16 * np.finfo(float).eps


def test_module_doctests():
    result = doctest.testmod(elim)
    assert result.failed == 0 and result.attempted > 0

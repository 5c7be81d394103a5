"""from_sympy against polylip's native arithmetic and the native problem constructions: random
expression trees (hypothesis), the standard problems at small and large n, deep trees, the
non-polynomials it refuses (naming the sub-expression), and POP's sympy path."""

import gc

import numpy as np
import pytest
import sympy
from hypothesis import given, settings, strategies as st

from polylip import POP, ModelError, Polynomial, from_sympy, to_sympy
from polylip.model import problems
from polylip.poly.sympy_io import symbols_of
from polylip.runtime import MemoryLimit
from support.sympy_problems import SYMPY_PROBLEMS, broyden_tridiagonal, chained_wood

NAMES = ("a", "b", "c", "d")
SYMS = sympy.symbols(NAMES)
POLYS = [Polynomial.variable(n).with_variables(NAMES) for n in NAMES]

# ------------------------------------------------------------------ random expression trees
# Each example is a pair (sympy expression, the same built with polylip's arithmetic).
# Coefficients are small integers and halves: every float operation is exact, so the two
# must be equal exactly, whatever order the terms are added in.
_leaf = st.one_of(
    st.integers(0, 3).map(lambda i: (SYMS[i], POLYS[i])),
    st.integers(-3, 3).map(lambda k: (sympy.Integer(k), float(k))),
    st.sampled_from([sympy.Rational(1, 2), sympy.Rational(-3, 4)]).map(lambda r: (r, float(r))),
)


def _native(v):
    return v if isinstance(v, Polynomial) else Polynomial.constant(v, NAMES)


def _sum(items):
    return sympy.Add(*[s for s, _ in items]), Polynomial.sum([_native(p) for _, p in items], NAMES)


def _prod(items):
    out = _native(items[0][1])
    for _, p in items[1:]:
        out = out * _native(p)
    return sympy.Mul(*[s for s, _ in items]), out


def _pow(item_k):
    (s, p), k = item_k
    return s ** k, _native(p) ** k


def _extend(children):
    return st.one_of(st.lists(children, min_size=2, max_size=4).map(_sum),
                     st.lists(children, min_size=2, max_size=3).map(_prod),
                     st.tuples(children, st.integers(0, 3)).map(_pow))


expressions = st.recursive(_leaf, _extend, max_leaves=10)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(expressions)
def test_random_expressions_match_native_arithmetic(pair):
    expr, native = pair
    got = from_sympy(expr, NAMES)
    assert got == _native(native)
    # and sympy's own expansion agrees (the reference, independent of polylip's arithmetic)
    expanded = sympy.Poly(sympy.expand(expr), *SYMS)
    ref = Polynomial.from_exponents(NAMES, [m for m, _ in expanded.terms()] or np.zeros((0, 4)),
                                    [float(c) for _, c in expanded.terms()])
    assert got == ref


@settings(max_examples=40, deadline=None, derandomize=True)
@given(expressions, expressions)
def test_random_products_of_sums_large_enough_for_the_vectorized_path(p, q):
    # (p + q + ...)^2 * (...) with many terms: exercises the numpy products and merges
    ep, np_ = _sum([p, q, (SYMS[0] + 2 * SYMS[1] - SYMS[2] + 1, POLYS[0] + 2 * POLYS[1] - POLYS[2] + 1)])
    expr = ep ** 3 * (SYMS[3] + ep) ** 2
    native = np_ ** 3 * (POLYS[3] + np_) ** 2
    assert from_sympy(expr, NAMES) == native


@settings(max_examples=30, deadline=None, derandomize=True)
@given(st.lists(st.tuples(st.integers(-3, 3), st.tuples(*[st.integers(0, 2)] * 4)), max_size=8))
def test_round_trip_through_sympy(terms):
    p = Polynomial.from_exponents(NAMES, np.array([e for _, e in terms], dtype=int).reshape(-1, 4),
                                  [float(c) for c, _ in terms])
    assert from_sympy(to_sympy(p), NAMES) == p


def test_rationals_become_correctly_rounded_floats():
    a, = SYMS[:1]
    p = from_sympy(sympy.Rational(1, 3) * a + sympy.Rational(2, 7) + sympy.Integer(3) ** 40 * a ** 2)
    assert p.coeffs.tolist() == [2 / 7, 1 / 3, float(3 ** 40)]


def test_constant_subexpressions_are_evaluated():
    a, b = SYMS[:2]
    assert from_sympy(sympy.sqrt(2) * a).coeffs[0] == pytest.approx(2 ** 0.5)
    assert from_sympy(sympy.pi * a + sympy.E).coeffs.tolist() == pytest.approx([np.e, np.pi])
    assert from_sympy(sympy.sin(1) * a ** 2 + a / sympy.pi).coeffs.tolist() == \
        pytest.approx([1 / np.pi, np.sin(1)])
    # a complex constant is fine when it cancels into a real one
    assert from_sympy(sympy.Mul((1 + sympy.I), (1 - sympy.I), a, evaluate=False)) == \
        2 * Polynomial.variable("a")
    assert from_sympy(7) == Polynomial.constant(7.0)
    assert from_sympy(sympy.Poly(a ** 2 + b, a, b)) == from_sympy(a ** 2 + b)


@pytest.mark.parametrize("expr, culprit", [
    ("sin(a)", "sin(a)"), ("1/a", "1/a"), ("1/(a + b)", "1/(a + b)"), ("sqrt(a) + 1", "sqrt(a)"),
    ("a**(1/3)", "a**(1/3)"), ("a**b", "a**b"), ("2**a", "2**a"), ("a**(-2)", "a**(-2)"),
    ("exp(a)*a", "exp(a)"), ("I*a", "I"), ("Abs(a) + b", "Abs(a)"), ("a*oo", "oo"),
    ("zoo*a", "zoo"), ("nan", "nan"), ("f(a) + 1", "f(a)"), ("b + (a + 1)**(-1) * b", "1/(a + 1)"),
])
def test_non_polynomials_name_the_subexpression(expr, culprit):
    with pytest.raises(ModelError, match="not a polynomial") as err:
        from_sympy(sympy.sympify(expr))
    assert f"subexpression {culprit} is not allowed" in str(err.value)
    assert gc.isenabled()  # the walk pauses the collector: restored after an error too


def test_float_exponents_relations_and_overflow_are_refused():
    a, b = SYMS[:2]
    with pytest.raises(ModelError, match=r"a\*\*2\.5"):
        from_sympy(a ** 2.5)
    with pytest.raises(ModelError, match="relation"):
        from_sympy(a > 1)
    with pytest.raises(ModelError, match="too large for a float"):
        from_sympy(sympy.Integer(10) ** 400 * a)
    with pytest.raises(ModelError, match="too large for a float"):
        from_sympy((1e200 * a) ** 2)
    with pytest.raises(ModelError, match="too large for a float"):
        from_sympy((1e200 * a + b) ** 2)


def test_variables_order_unknown_and_duplicates():
    a, b, c = SYMS[:3]
    p = from_sympy(b * a + c, ["c", "b", "a"])
    assert p.variables == ("c", "b", "a")
    assert from_sympy(b * a + c).variables == ("a", "b", "c")
    with pytest.raises(ModelError, match="not in the variable list"):
        from_sympy(a + b, ["a"])
    with pytest.raises(ModelError, match="duplicate"):
        from_sympy(a, ["a", "a"])
    # symbols are matched by name (assumptions do not make another variable)
    assert from_sympy(sympy.Symbol("a", positive=True) + a) == 2 * Polynomial.variable("a")
    # a symbol whose terms cancel is still a variable, as with free_symbols
    assert from_sympy((a + 1) ** 2 - a ** 2 - 2 * a).variables == ("a",)


def test_strings_go_through_the_safe_parser():
    p = from_sympy("E*x + 1")  # E is a variable, not Euler's number: nothing is sympified
    assert p.variables == ("E", "x")
    with pytest.raises(ModelError):
        from_sympy("__import__('os').system('true')")


def test_shared_subexpressions_are_read_once_and_correctly():
    a, b, c = SYMS[:3]
    g = (a + 2 * b - 1) ** 3
    expr = sympy.Add(g * c, g ** 2, (g + c) ** 2, evaluate=False)
    G = (POLYS[0] + 2 * POLYS[1] - 1) ** 3
    assert from_sympy(expr, NAMES) == G * POLYS[2] + G ** 2 + (G + POLYS[2]) ** 2


def test_deep_trees_do_not_recurse():
    # 10^4 levels of unevaluated -(...) + x: sympy's own free_symbols and Poly hit the
    # recursion limit on it; the walk and POP's symbol collection are iterative
    expr, native = SYMS[0], POLYS[0]
    for k in range(5000):
        expr = sympy.Add(sympy.Mul(-1, expr, evaluate=False), SYMS[k % 4], evaluate=False)
        native = -native + POLYS[k % 4]
    with pytest.raises(RecursionError):
        expr.free_symbols
    assert list(symbols_of(expr)) == ["a", "b", "c", "d"]
    assert from_sympy(expr, NAMES) == native
    assert POP(expr).objective == native


def test_horner_form():
    x = sympy.Symbol("a")
    expr, native = x, POLYS[0]
    for _ in range(300):  # Add(1, Mul(x, Add(1, Mul(x, ...)))): depth 600, degree 301
        expr = expr * x + 1
        native = native * POLYS[0] + 1
    p = from_sympy(expr, NAMES)
    assert p.degree == 301 and p == native


def test_a_product_beyond_the_memory_limit_is_refused_unbuilt():
    xs = sympy.symbols("y0:40")
    with MemoryLimit("1 MiB"):
        with pytest.raises(ModelError, match=r"expanding .* products of terms .*would need about"):
            from_sympy(sympy.Add(*xs) ** 4)
    assert from_sympy(sympy.Add(*xs) ** 2).nterms == 40 * 41 // 2
    a, b = SYMS[:2]
    with pytest.raises(ModelError, match=r"expanding \(a \+ b\)\*\*100000"):
        from_sympy((a + b) ** 100000)  # refused before the first of 99,999 products


def test_symbols_of_order_of_first_appearance():
    a, b, c = SYMS[:3]
    assert list(symbols_of(sympy.Mul(c, sympy.Add(b, a ** 2, evaluate=False), evaluate=False))) \
        == ["c", "b", "a"]
    assert list(symbols_of(sympy.Integral(a * b, (a, 0, 1)))) == ["b"]  # bound symbols: no


# ------------------------------------------------------------------ the standard problems
@pytest.mark.parametrize("name", sorted(SYMPY_PROBLEMS))
def test_standard_problems_match_native_constructions(name):
    build, n = SYMPY_PROBLEMS[name]
    native = problems.STANDARD[name][0](n).objective
    got = POP(build(n), variables=native.variables).objective
    assert got.variables == native.variables
    assert POP(build(n)).objective.with_variables(native.variables).allclose(native, atol=1e-12)
    if name == "chained_wood":  # 0.1 * (...): float sums in another order, equal to an ulp
        assert got.allclose(native, atol=1e-12) and got.nterms == native.nterms
    else:
        assert got == native


def test_broyden_tridiagonal_with_1000_variables_no_recursion_error():
    n = 1000  # sympy.Poly raised RecursionError here (one level per variable)
    pop = POP(broyden_tridiagonal(n))
    assert pop.nvars == n and pop.objective == problems.broyden_tridiagonal(n).objective
    wood = POP(chained_wood(n)).objective
    assert wood.allclose(problems.chained_wood(n).objective, atol=1e-12)


def test_pop_with_a_constraint_per_variable():
    n = 500
    x = sympy.symbols(f"x0:{n}")
    pop = POP(broyden_tridiagonal(n), ineqs=[1 - v ** 2 for v in x], eqs=[x[0] + x[1] - 1],
              binary=[x[-1]])
    assert pop.nvars == n and len(pop.ineqs) == n and len(pop.eqs) == 1
    assert all(g.variables == pop.variables for g in pop.ineqs)
    v = Polynomial.variable
    assert pop.ineqs[7] == (1 - v("x7") ** 2).with_variables(pop.variables)
    assert pop.ineqs[-1] == (1 - v(f"x{n - 1}")).with_variables(pop.variables)  # x^2 = x: binary
    assert pop.symbols["x3"] is x[3]


def test_a_power_whose_expansion_takes_too_long_is_refused_at_once():
    """(x + y + 1)**300 has only 45,451 terms and each product fits in memory, but the 299
    products take about 3e9 index entries of work (minutes); it ran with no limit (POP QA
    round). Refused before the first product; (x + y + 1)**60 still expands."""
    a, b = sympy.symbols("a b")
    with pytest.raises(ModelError, match="index entries of work"):
        from_sympy((a + b + 1) ** 300)
    assert from_sympy((a + b + 1) ** 60).nterms == 1891


@pytest.mark.parametrize("expr", [
    sympy.Float("1e-400") * sympy.Symbol("x"), sympy.Rational(1, 10**400) * sympy.Symbol("x"),
    sympy.Symbol("x")**2 + sympy.Float("1e-200") * sympy.Float("1e-200") * sympy.Symbol("x")])
def test_numbers_that_underflow_to_zero_are_refused(expr):
    """POP(Float('1e-400') * x) was the constant 0, solved 'optimal' (QA round 3)."""
    with pytest.raises(ModelError, match="too small for a float"):
        POP(expr)

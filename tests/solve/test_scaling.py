"""Badly scaled problems (wide boxes, coefficients over many orders of magnitude) are solved in
scaled variables: right statuses, bounds at or below the optimum up to the solver's accuracy,
results mapped back to the problem as written. Cases from issue reports and GLOBALLib."""

import numpy as np
import pytest
import sympy

from polylip import POP
from polylip.solve.scaling import needs_scaling, scale_pop

x, y, z = sympy.symbols("x y z")


def _ex3_1_1():
    """GLOBALLib ex3_1_1 (Floudas et al., heat exchanger network design): optimum 7049.248."""
    x1, x2, x3, x4, x5, x6, x7, x8 = sympy.symbols("x1:9")
    ineqs = [1 - 0.0025 * x4 - 0.0025 * x6, 1 + 0.0025 * x4 - 0.0025 * x5 - 0.0025 * x7,
             1 + 0.01 * x5 - 0.01 * x8, 83333.333 - 100 * x1 + x1 * x6 - 833.33252 * x4,
             -(x2 * x4 - x2 * x7 - 1250 * x4 + 1250 * x5),
             -1250000 - (x3 * x5 - x3 * x8 - 2500 * x5),
             x1 - 100, 10000 - x1, x2 - 1000, 10000 - x2, x3 - 1000, 10000 - x3]
    ineqs += [e for v in (x4, x5, x6, x7, x8) for e in (v - 10, 1000 - v)]
    return POP(x1 + x2 + x3, ineqs=ineqs)


@pytest.mark.parametrize("solver", ["clarabel", "cvxopt"])
def test_ex3_1_1_is_feasible_at_order_2(solver):
    res = _ex3_1_1().solve(order=2, solver=solver, time_limit=300)
    assert res.status == "optimal"  # was "infeasible" from both solvers
    assert res.bound <= 7049.248


@pytest.mark.parametrize("solver", ["clarabel", "cvxopt"])
@pytest.mark.parametrize("pop, optimum", [
    (POP(1 - 3e-8 * x**2 * y**2 + 1e-12 * x**4 * y**2 + 1e-12 * x**2 * y**4,
         ineqs=[200**2 - x**2, 200**2 - y**2]), 0.0),        # was 1 "= global optimum"
    (POP(1e-8 * x**4 - x**2, ineqs=[1e8 - x**2]), -2.5e7),   # was -2,497,876.8
    (POP(3 * x - 2.5 * y + 1.3 * z, ineqs=[100 - x, x + 100, 100 - y, y + 100, 100 - z, z + 100]),
     -680.0),
    (POP(x**2 - 2 * x + 1e12), 1e12 - 1),                    # was "infeasible"
])
def test_scaled_problems(pop, optimum, solver):
    res = pop.solve(solver=solver, time_limit=120)
    assert res.status == "optimal"
    assert res.bound <= optimum + res.accuracy + 1e-9 * abs(optimum)
    assert res.bound >= optimum - 1e-4 * max(1.0, abs(optimum))
    if res.is_global:
        assert res.candidate_value == pytest.approx(optimum, rel=1e-6, abs=1e-6)


def test_scaling_map():
    pop = POP(x**2 + y, ineqs=[x - 100, 300 - x, 1 - y**2])
    assert needs_scaling(pop)
    scaled, how = scale_pop(pop)
    # the radius is rounded up to a power of two (the substitution rounds nothing)
    assert how.center.tolist() == [200.0, 0.0] and how.radius.tolist() == [128.0, 1.0]
    z = np.array([0.3, -0.7])
    xo = how.to_original(z)
    assert scaled.evaluate(z) * how.objective_scale + how.objective_offset == pytest.approx(pop.evaluate(xo))
    assert not needs_scaling(POP(x**2 + y, ineqs=[1 - x**2, 1 - y**2]))


def test_a_large_constant_is_a_shift_not_a_scale():
    """Chained Wood's constant grows with n; dividing the objective by it loosened the
    certificate (0.60 instead of 0.9999 at n = 1,000). The constant never triggers scaling."""
    from polylip.model.problems import chained_wood

    assert not needs_scaling(chained_wood(1000))
    assert not needs_scaling(POP(x**2 - 2 * x + 3e5))
    scaled, how = scale_pop(POP(x**2 - 2 * x + 1e12))
    assert how.objective_offset == 1e12 and how.objective_scale == 2.0


def test_scaled_certificate_accounts_for_the_rounding():
    """A shifted centre rounds the scaled coefficients: the exact error is measured, the
    inequalities are loosened by it and the objective's is taken off the certified bound."""
    from polylip.solve.scaling import _bound_error, _exact_error

    pop = POP(x**3 / 3 + 0.1 * x * y, ineqs=[x - 100.3, 300.7 - x, 1 - y**2])
    scaled, how = scale_pop(pop)
    assert how.exact and how.objective_error >= 0
    e = _exact_error(pop.objective, how.center, how.radius, scaled.objective, how.objective_scale,
                     how.objective_offset)
    assert _bound_error(e, np.array([True, True])) == how.objective_error
    res = pop.solve(time_limit=60)
    assert res.status == "optimal" and res.certified
    assert res.bound <= 100.3 ** 3 / 3 - 0.1 * 100.3 + 1e-9
    assert res.certificate.verify()
    # an equality whose scaling rounds: the scaled certificate proves nothing about pop
    q = POP(x**2 + y, eqs=[x - 100.3 - y], ineqs=[x - 100.1, 300.7 - x, 1 - y**2])
    _, how_q = scale_pop(q)
    if not how_q.exact:
        res_q = q.solve(time_limit=60)
        assert not res_q.certified and "numerical only" in res_q.message


@pytest.mark.parametrize("order", [1, 2])
def test_an_equality_with_a_shifted_box_is_certified(order):
    """GLOBALLib dispatch's form (objvar + a quadratic = a constant, x in [50, 200]): a centre
    shifted to 125 rounds the scaled equality, and its bound came back numerical only at
    every order (at order 2 the solver's value was 1.1e-5 above the minimum). Variables of an
    equality that would round keep the centre 0 (a power-of-two radius rounds nothing)."""
    t = sympy.Symbol("t")
    pop = POP(t, eqs=[t - 0.00533 * x**2 - 11.669 * x - 653.1], ineqs=[x - 50, 200 - x])
    optimum = 0.00533 * 50**2 + 11.669 * 50 + 653.1            # increasing in x on the box
    assert needs_scaling(pop) and scale_pop(pop)[1].exact
    res = pop.solve(order=order, time_limit=60)
    assert res.status == "optimal" and res.certified, res.message
    assert res.bound <= optimum
    assert res.bound >= optimum * (1 - 1e-5)  # measured: 1e-7 (order 1), 7e-6 (order 2)
    assert res.certificate.verify()


@pytest.mark.parametrize("rhs", [5e-324, 1e-300, 1e300])
def test_extreme_boxes_are_solved_not_misreported(rhs, recwarn):
    """``x^2 <= 5e-324`` (a subnormal) made the scaling divide by 2^-1074 through its
    reciprocal, which overflows: the solve died with "polynomial coefficients must be finite
    (found NaN or infinity)", blaming the input, after a numpy overflow warning on stderr."""
    res = POP(x, ineqs=[rhs - x**2]).solve(time_limit=60)
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]
    assert res.status == "optimal", res.message
    if res.certified:
        assert res.bound <= -np.sqrt(rhs) * (1 - 1e-12)


def test_no_minimizers_when_inexact_scaling_removes_certification():
    """A scaling whose certificate does not carry over (``exact=False``) makes the bound
    numerical only, and then no point is listed as a global minimizer (the rule of the certify
    stage: no minimizers without a proven bound)."""
    import numpy as np

    from polylip.poly import variables
    from polylip.solve.scaling import Scaling

    x, y = variables("x y")
    pop = POP((x - 0.5) ** 2 + (y + 0.25) ** 2, ineqs=[1 - x**2, 1 - y**2])
    res = pop.solve(order=2)
    assert res.certified and res.minimizers  # the premise: a certified solve with a minimizer
    how = Scaling(center=np.zeros(2), radius=np.ones(2), objective_scale=1.0, exact=False,
                  why="a test's inexact scaling")
    out = how.unscale_result(res, pop)
    assert not out.certified and not out.is_global
    assert out.minimizers == ()


@pytest.mark.parametrize("pop, optimum", [
    (POP(1e-300 * x**2 - 1e-300 * x), -2.5e-301),           # was -1.7e-8
    (POP(1e-12 * (x**2 - x)), -2.5e-13),                    # was -1.7e-8
    (POP(1e-200 * x, ineqs=[1 - x**2]), -1e-200),           # was -2e-8
    (POP(5e-324 * x**2 - 5e-324, ineqs=[1 - x**2]), -5e-324),  # subnormal coefficients
])
def test_tiny_objectives_are_scaled_up(pop, optimum):
    """An objective whose coefficients are all tiny is divided by a power of two (exact) like
    a large one: the solvers' absolute tolerance (1e-8) made the certified bound of
    1e-300 (x^2 - x) -1.7e-8, valid but 1e292 times the minimum (found by the POP QA round)."""
    assert needs_scaling(pop)
    res = pop.solve(time_limit=60)
    assert res.status == "optimal" and res.certified, res.message
    assert res.bound <= optimum
    assert res.bound >= optimum - 1e-6 * abs(optimum) or optimum == -5e-324


def test_scaled_inequality_contains_the_box_image_exactly():
    # x in [0.2, 1.5]: centre 0.85, radius 1; 1 - 0.1 x^2 shifted rounds by ~1e-17, below half
    # an ulp of its constant 0.93: adding the payment to the constant in floats was a no-op
    from fractions import Fraction

    from polylip.solve.scaling import _affine, _exact_error, _norm, _pow2

    xx = sympy.Symbol("xx")
    pop = POP(xx, ineqs=[xx - 0.2, 1.5 - xx, 1 - 0.1 * xx**2, 0.7 + 0.3 * xx - 0.1 * xx**2])
    scaled, how = scale_pop(pop)
    assert how.center[0] != 0 and how.exact
    for g, gs in zip(pop.ineqs, scaled.ineqs):
        sg = _pow2(_norm(_affine(g, how.center, how.radius)) or 1.0)
        diff = _exact_error(g, how.center, how.radius, gs, sg)     # g(c + r z) - s_g g_s(z)
        const = -diff.get((), Fraction(0))
        rest = sum(abs(v) for k, v in diff.items() if k != ())
        assert const >= rest, (str(g), const, rest)   # s_g g_s >= g(c + r z) on |z| <= 1

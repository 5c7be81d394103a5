"""The a-posteriori check of a solved moment relaxation (polylip.solve.aposteriori): a bound
certified from the solver's approximate dual certificate when every variable lies in [-1, 1],
the solver's accuracy as the margin otherwise."""

from types import SimpleNamespace

import numpy as np
import pytest
import sympy

from polylip import POP
from polylip.solve import aposteriori


def spin_pop(seed=0, n=4):
    rng = np.random.default_rng(seed)
    t = sympy.symbols(f"t0:{n}")
    f = sum(float(rng.standard_normal()) * t[i] * t[j] for i in range(n) for j in range(i + 1, n))
    return POP(f + sum(t), sense="max", spin=t)


@pytest.mark.parametrize("side", ["sos", "moment"])
def test_the_certified_bound_holds_and_is_close(side):
    pop = spin_pop()
    relaxation = pop.relax(order=1)
    outcome = relaxation.solve_detailed(solver="clarabel", side=side)
    cert = aposteriori.check(relaxation, outcome)
    assert cert["kind"] == "certificate"
    bound = outcome.result.numerical_bound  # the solver's value, before the certify stage
    assert cert["value"] >= bound - 1e-12  # a maximum: the certified bound is above
    assert cert["value"] - bound < 1e-5
    # the POP's maximum (over the vertices of the cube) is below it
    vertices = 2.0 * np.array(list(np.ndindex(*(2,) * pop.nvars))) - 1.0
    assert max(pop.evaluate(v) for v in vertices) <= cert["value"]


def test_unbounded_variables_fall_back_to_the_accuracy():
    x = sympy.Symbol("x")
    pop = POP(x**4 - 3 * x**2 + x)  # x is not in [-1, 1]
    relaxation = pop.relax(order=2)
    outcome = relaxation.solve_detailed()
    cert = aposteriori.check(relaxation, outcome)
    assert cert == {"kind": "accuracy", "reason": "variables not all in [-1, 1]"}
    assert aposteriori.soundness_margin(outcome.result) >= \
        aposteriori.MARGIN_REL_FLOOR * max(1.0, abs(outcome.result.bound))


def test_no_check_without_an_optimal_solve():
    outcome = SimpleNamespace(result=SimpleNamespace(status="failed"))
    assert aposteriori.check(None, outcome) is None
    assert aposteriori.soundness_margin(SimpleNamespace(bound=None)) == 0.0


def test_unit_ball_and_unit_box():
    t = sympy.symbols("t0:2")
    ball = POP(t[0] * t[1], ineqs=[1 - t[0]**2 - t[1]**2], sense="max")
    assert aposteriori.is_unit_ball(ball.ineqs[0]) and aposteriori.in_unit_box(ball)
    half = POP(t[0] * t[1], ineqs=[1 - 2 * t[0]**2 - t[1]**2], sense="max")
    assert not aposteriori.is_unit_ball(half.ineqs[0]) and not aposteriori.in_unit_box(half)
    assert aposteriori.in_unit_box(POP(t[0] * t[1], binary=[t[0]], spin=[t[1]]))

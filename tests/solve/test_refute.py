"""A numerical bound refuted by a feasible point (polylip/solve/refute.py)."""

from dataclasses import replace

import pytest

from polylip.model import POP
from polylip.poly import variables
from polylip.solve import pipeline
from polylip.solve.refute import refute_numerical_bound
from polylip.solve.result import Result


def _result(bound, value_point, accuracy=1e-6, certified=False, sense="min"):
    return Result(status="optimal", bound=bound, order=2, solver="clarabel", sense=sense,
                  accuracy=accuracy, candidate=dict(value_point), certified=certified,
                  message="Solved")


def test_a_value_above_a_feasible_point_is_no_bound():
    x, y = variables("x y")
    pop = POP((x - 1) ** 2 + (y + 2) ** 2 + 3)
    out = refute_numerical_bound(pop, _result(25.43, {"x": 1.0, "y": -2.0}, accuracy=7.66))
    assert out.status == "inaccurate" and out.bound is None and not out.certified
    assert out.numerical_bound == 25.43 and out.candidate_value == 3.0
    assert "not a bound" in out.message and "25.43" in out.message


def test_max_sense_mirrors():
    x, = variables("x")
    pop = POP(-(x - 1) ** 2 + 3, sense="max")
    out = refute_numerical_bound(pop, _result(-10.0, {"x": 1.0}, accuracy=1.0, sense="max"))
    assert out.status == "inaccurate" and out.bound is None
    kept = refute_numerical_bound(pop, _result(3.5, {"x": 1.0}, sense="max"))
    assert kept.status == "optimal" and kept.bound == 3.5


@pytest.mark.parametrize("bound, accuracy", [(3.0 + 1e-7, 1e-6), (3.5, 1.0), (2.0, 1e-6)])
def test_within_accuracy_or_below_is_kept(bound, accuracy):
    x, = variables("x")
    pop = POP((x - 1) ** 2 + 3)
    res = _result(bound, {"x": 1.0}, accuracy=accuracy)
    assert refute_numerical_bound(pop, res) is res


def test_certified_and_boundless_results_are_untouched():
    x, = variables("x")
    pop = POP((x - 1) ** 2 + 3)
    certified = _result(25.0, {"x": 1.0}, certified=True)
    assert refute_numerical_bound(pop, certified) is certified
    none = replace(_result(25.0, {"x": 1.0}), status="inaccurate", bound=None)
    assert refute_numerical_bound(pop, none) is none


def test_a_point_feasible_only_to_the_relaxations_tolerance_refutes_nothing():
    # x >= 1 violated by 1e-7: the point's value 0.9999999 is below the minimum 1 of the POP
    x, = variables("x")
    pop = POP(x, ineqs=[x - 1])
    res = _result(1.0, {"x": 1.0 - 1e-7}, accuracy=1e-9)
    assert refute_numerical_bound(pop, res) is res
    feasible = _result(1.5, {"x": 1.0}, accuracy=1e-9)
    assert refute_numerical_bound(pop, feasible).status == "inaccurate"


def test_nonfinite_or_missing_candidates_refute_nothing():
    x, y = variables("x y")
    pop = POP(x ** 2 + y ** 2)
    for cand in ({"x": 0.0}, {"x": float("nan"), "y": 0.0}, {"x": None, "y": 0.0}):
        res = _result(5.0, cand)
        assert refute_numerical_bound(pop, res) is res


def test_solve_pop_applies_it(monkeypatch):
    """The pipeline's last step: a wrong 'optimal' from below comes out 'inaccurate'."""
    x, = variables("x")
    pop = POP((x - 1) ** 2 + 3)
    wrong = _result(25.43, {"x": 1.0}, accuracy=7.66)
    monkeypatch.setattr(pipeline, "_solve_pop", lambda *a, **k: wrong)
    out = pipeline.solve_pop(pop)
    assert out.status == "inaccurate" and out.bound is None


def test_correct_solves_are_not_refuted():
    x, y = variables("x y")
    for pop in (POP((x - 1) ** 2 + 3), POP(x ** 4 - 3 * x ** 2 + x),
                POP(x + y, ineqs=[1 - x ** 2 - y ** 2])):
        res = pop.solve(order=2)
        assert res.status == "optimal" and res.bound is not None

"""Unboundedness, proven: a feasible ray of the POP (polylip/solve/unbounded.py).

The leftover of the status QA round: ``min x`` at order 1 with Clarabel came back "optimal"
with the value -4.7e7 (certified=False, but the status word was wrong: the POP is unbounded
and no bound exists). Each case below is checked against its closed form: unbounded along an
explicit ray, or bounded (then no ray may be claimed)."""

from fractions import Fraction

import pytest

from polylip.model import POP
from polylip.poly import variables
from polylip.solve.unbounded import RayCertificate, find_ray, settle_unbounded
from polylip.solve.result import Result

x, y, b = variables("x y b")


@pytest.mark.parametrize("solver,side", [("clarabel", "auto"), ("clarabel", "moment"),
                                         ("clarabel", "sos"), ("cvxopt", "auto"), ("auto", "auto")])
def test_min_x_is_unbounded_with_every_solver(solver, side):
    res = POP(x).solve(order=1, solver=solver, side=side, time_limit=30)
    assert res.status == "unbounded", res.message
    assert res.bound is None and res.certified and not res.is_global and res.minimizers == ()
    assert isinstance(res.certificate, RayCertificate) and res.certificate.verify()
    assert "unbounded" in res.message and "order=2" not in res.message


@pytest.mark.parametrize("pop", [
    POP(x, sense="max"),                                  # x -> +inf
    POP(x, ineqs=[3 - x]),                                # a half-line
    POP(x**3),                                            # odd degree
    POP(-(x**2) + y**2, ineqs=[1 - y**2]),                # -x^2 along x
    POP(x + b, binary=["b"]),                             # a binary variable stays put
    POP(b * x**2),                                        # only from b = -1, along x
    POP(x + y, eqs=[x - y]),                              # only along (-1, -1)
], ids=["max_x", "half_line", "cubic", "neg_square", "binary", "offset", "diagonal"])
def test_unbounded_problems_are_proven_so(pop):
    res = pop.solve(order=2, time_limit=30)
    assert res.status == "unbounded" and res.certified, res.message
    assert res.certificate.verify()


def test_bounded_on_a_line_is_not_called_unbounded():
    """min xy - 1 on x = y, x >= -1: x^2 - 1 >= -1 (attained at 0); xy alone is unbounded
    along (1, -1), which the equality forbids."""
    res = POP(x * y - 1, eqs=[x - y], ineqs=[x + 1]).solve(order=2, time_limit=30)
    assert res.status == "optimal" and res.bound <= -1.0 + 1e-9


def test_a_line_through_an_equality_needs_the_rounded_direction():
    """x - y == 0 holds along (1, 1) only exactly: the solver's point (-4.7e7, -4.7e7 + 0.3)
    gives that direction once rounded to 20 bits."""
    pop = POP(x + y, eqs=[x - y], ineqs=[1 - x])
    ray = find_ray(pop, hints=[(-4.7e7, -4.7e7 + 0.3)])
    assert ray is not None and ray.d == (Fraction(-1), Fraction(-1)) and ray.verify()


@pytest.mark.parametrize("pop", [
    POP(x**2 + y**2), POP(x, ineqs=[x]), POP(x**4 - x**3), POP(x * y, ineqs=[x, y]),
    POP(x, eqs=[x * y - 1], ineqs=[-x]),  # unbounded (x -> -inf, y = 1/x) but along no ray
])
def test_no_ray_on_bounded_problems_or_curves(pop):
    hints = [(-1e7, 1e7), (1e7, -1e7), (-1e7, -1e-7)] if pop.nvars == 2 else [(-1e7,), (1e7,)]
    assert find_ray(pop, hints) is None


def test_tampered_or_wrong_rays_fail_verify():
    pop = POP(x, ineqs=[3 - x])
    ray = find_ray(pop)
    assert ray.verify()
    from dataclasses import replace
    assert not replace(ray, d=(Fraction(1),)).verify()            # x -> +inf: not down
    assert not replace(ray, ineqs=(x - 3,)).verify()             # x >= 3 fails along -inf
    assert not replace(ray, d=(Fraction(0),)).verify()
    assert not replace(ray, x0=()).verify()


def test_json_round_trip():
    pop = POP(x - 2 * y, ineqs=[1 - x, y + 5])
    ray = find_ray(pop, hints=[(-1e6, 0.0)])
    assert ray is not None
    again = RayCertificate.from_json(ray.to_json())
    assert again.verify() and again.d == ray.d and again.x0 == ray.x0


def test_settle_leaves_bounded_results_alone():
    res = Result(status="optimal", bound=-1.0, order=1, solver="clarabel",
                 candidate={"x": 0.0}, certified=False)
    assert settle_unbounded(POP(x**2 - 1), res) is res
    inf = Result(status="infeasible", bound=None, order=1, solver="clarabel", certified=True)
    assert settle_unbounded(POP(x), inf) is inf   # a proven status is never overturned


def test_a_small_problem_gets_its_first_tries_whatever_the_clock():
    """Under load 12, `polylip solve` on "minimize: x" spent the 2 s budget (wall time) before
    its second try, -e_x, and the status stayed the relaxation's unproven claim. A budget of 0
    stands for that clock: a small problem still gets its first tries."""
    assert find_ray(POP(x), time_budget=0.0) is not None
    assert find_ray(POP(x * y - 3 * y, ineqs=[1 - x]), time_budget=0.0) is not None

"""An "unbounded" from the solver is a status only when something checks it
(polylip/solve/moment_ray.py): a feasible ray of the POP (certified: the POP is unbounded), or
a moment functional at infinity (the relaxation of that order has no SOS certificate of any
bound; the POP may be bounded). Otherwise the claim is not made: "inaccurate", saying so.

Independent truths: min xy on [0, 1]^2 is 0 and min -x^2 - y^2 on [-1, 1]^2 is -2 (corners);
-x^2 on y^2 = 2 x^2 and x on xy = 1 are unbounded (x = t, y = sqrt(2) t; x = -t, y = -1/t),
with no rational ray; xy - y^3 is unbounded along (0, t).
"""

from dataclasses import replace
from fractions import Fraction

import pytest

from polylip.model import POP
from polylip.poly import variables
from polylip.solve.moment_ray import MomentRayCertificate, find_moment_ray
from polylip.solve.unbounded import RayCertificate

x, y = variables("x y")
XY_BOX = POP(x * y, ineqs=[x, 1 - x, y, 1 - y])
NEG_SQUARES = POP(-x**2 - y**2, ineqs=[x + 1, 1 - x, y + 1, 1 - y])


@pytest.mark.parametrize("solver", ["clarabel", "cvxopt"])
@pytest.mark.parametrize("pop, optimum", [(XY_BOX, 0.0), (NEG_SQUARES, -2.0)],
                         ids=["xy_box", "neg_squares"])
def test_relaxation_unbounded_at_order_1_while_the_pop_is_bounded(pop, optimum, solver):
    res = pop.solve(order=1, solver=solver, time_limit=30)
    assert res.status == "unbounded" and not res.certified and res.bound is None
    assert isinstance(res.certificate, MomentRayCertificate) and res.certificate.verify()
    assert "proven for the relaxation, not for the POP" in res.message
    assert "order=2" in res.message
    high = pop.solve(order=2, solver=solver, time_limit=30)   # and the POP is bounded
    assert high.status == "optimal" and high.certified and high.bound <= optimum + 1e-9


def test_irrational_ray_is_not_claimed_for_the_pop():
    # unbounded along x = t, y = sqrt(2) t: no rational ray; order 1 is provably unbounded
    res = POP(-x**2, eqs=[y**2 - 2 * x**2]).solve(order=1, time_limit=30)
    assert res.status == "unbounded" and not res.certified
    assert isinstance(res.certificate, MomentRayCertificate) and res.certificate.verify()
    assert "the POP itself may be bounded" in res.message


def test_unproven_unbounded_claim_is_not_a_status():
    # x on the hyperbola xy = 1: unbounded along a curve, no ray; the objective is linear, so
    # no moment ray at infinity either: CVXOPT's "unbounded" (order 1) stays unproven
    res = POP(x, eqs=[x * y - 1]).solve(order=1, solver="cvxopt", time_limit=30)
    assert res.status == "inaccurate" and res.bound is None and not res.certified
    assert "not proven" in res.message and "order=2" in res.message


def test_a_ray_of_the_pop_is_still_certified():
    res = POP(x * y - y**3).solve(order=2, time_limit=30)
    assert res.status == "unbounded" and res.certified
    assert isinstance(res.certificate, RayCertificate) and res.certificate.verify()


def test_no_moment_ray_for_a_bounded_relaxation():
    assert find_moment_ray(POP(x**2 + y**2), order=1) is None
    assert find_moment_ray(POP(x * y, ineqs=[1 - x**2 - y**2]), order=1) is None


def test_tampered_moment_ray_fails():
    cert = find_moment_ray(XY_BOX, order=1)
    assert cert.verify()
    flipped = replace(cert, values=tuple(-v for v in cert.values))     # L(f) > 0
    assert not flipped.verify()
    # the xy entry too large for the diagonal: the moment block is indefinite
    big = {m: v for m, v in zip(cert.monomials, cert.values)}
    big[(0, 1)] = Fraction(-10)
    tampered = replace(cert, monomials=tuple(big), values=tuple(big.values()))
    assert tampered.why_not() == "the top block of the moment matrix is not PSD"


def test_moment_ray_with_rows_forced_to_zero():
    # z^2 = x makes L(z^2) = 0, so the row of z in the moment block is 0: the margin is asked
    # of the other rows (min xy on [0, 1]^2 with z^2 = x: bounded, order 1 unbounded)
    z, = variables("z")
    cert = find_moment_ray(POP(x * y, ineqs=[x, 1 - x, y, 1 - y], eqs=[z**2 - x]), order=1)
    assert cert is not None and cert.verify()


def test_moment_ray_json_round_trip():
    cert = find_moment_ray(NEG_SQUARES, order=1)
    back = MomentRayCertificate.from_json(cert.to_json())
    assert back == cert and back.verify()
    with pytest.raises(Exception, match="not a polylip-moment-ray-certificate"):
        MomentRayCertificate.from_json('{"format": "other"}')

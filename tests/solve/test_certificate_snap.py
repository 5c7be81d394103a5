"""Certificates snapped to a dyadic grid (polylip/solve/certificate_snap.py)."""

import numpy as np

from polylip import POP
from polylip.poly import Polynomial, variables
from polylip.solve.certificate import SOSCertificate
from polylip.solve.certificate_snap import snap_certificate


def test_the_product_on_the_hyperbola_is_certified_at_its_value():
    """The known leftover of the POP QA rounds: min xy on xy = 1, x + y >= 3 (the value 1 on
    the whole feasible set) had the exact certificate xy - 1 = 1 (xy - 1) numerically, but the
    residual of the solver's multiplier 0.9999999995 and Gram entries of 4e-9 lay on
    monomials of unbounded variables: numerical only. Snapped, the identity is exact."""
    x, y = variables("x y")
    res = POP(x * y, eqs=[x * y - 1], ineqs=[x + y - 3]).solve(order=1, time_limit=60)
    assert res.status == "optimal" and res.certified, res.message
    assert 1.0 - 1e-12 <= res.bound <= 1.0
    assert res.certificate.verify()


def _cert(multiplier, gram):
    x, y = variables("x y")
    one = Polynomial.constant(1.0, ("x", "y"))
    basis = np.array([[-1], [0], [1]])
    return SOSCertificate(("x", "y"), x * y, 1.0, ((one, basis, np.array(gram)),),
                          equalities=((x * y - 1, one * multiplier),), eqs=(x * y - 1,))


def test_a_snap_that_does_not_close_the_identity_certifies_nothing():
    # the multiplier 0.75 is on every grid: the residual 0.25 (xy - 1) stays on xy, unbounded
    assert snap_certificate(_cert(0.75, np.zeros((3, 3))), lambda c: c.sealed()) is None
    got = snap_certificate(_cert(1 - 5e-10, 4e-9 * np.eye(3)), lambda c: c.sealed())
    assert got is not None and got.certified_bound().bound == 1.0 and got.verify()


def test_no_equalities_no_snap():
    x, = variables("x")
    one = Polynomial.constant(1.0, ("x",))
    cert = SOSCertificate(("x",), x**2 + 1, 1.0, ((one, np.array([[-1], [0]]), np.diag([1e-9, 1.0])),))
    assert snap_certificate(cert, lambda c: c.sealed()) is None

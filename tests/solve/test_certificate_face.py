"""Exact facial reduction of Gram blocks (polylip/solve/certificate_face.py) and certificates
with exact rational Gram matrices (``SOSCertificate.exact``).

The problems are unconstrained sums of squares whose minimum 0 is attained where a leading
form vanishes on a line or plane (kernels that are not monomials): without a box, a float
certificate must pay for a negative eigenvalue with an unbounded monomial, so before the
faces these bounds were "numerical only"."""

import json
import sys
from fractions import Fraction

import numpy as np
import pytest
import sympy

from polylip import POP
from polylip.errors import ModelError
from polylip.poly import Polynomial
from polylip.solve import certificate_face as cf
from polylip.solve.certificate import SOSCertificate

x, y, z = sympy.symbols("x y z")

# minimum 0 in each case (a sum of squares, zero at 0 or at (1, 1))
DEGENERATE = {
    "quartic_plane": (x - 10 * y) ** 4 + (y - z) ** 2,
    "quartic_line": (x + y - 2 * z) ** 4 + (x - y) ** 2,
    "two_points": (x * y - 1) ** 2 + (x - y) ** 2,
}


@pytest.fixture(scope="module")
def solved():
    # the facial repair on its own: the exact faces of solve/certificate_rational.py, tried
    # first, certify these too (tests/solve/test_certificate_rational.py)
    from polylip.solve import extract

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(extract, "exact_face_certificate", lambda *a, **k: None)
        return {name: POP(f).solve(time_limit=60) for name, f in DEGENERATE.items()}


@pytest.mark.parametrize("name", sorted(DEGENERATE))
def test_degenerate_sums_of_squares_are_certified(solved, name):
    res = solved[name]
    assert res.status == "optimal", res.message
    assert res.certified, res.message
    assert res.bound <= 0.0 and res.bound > -1e-5
    cert = res.certificate
    assert cert.exact, "expected an exact (faced) Gram block"
    assert cert.verify()


def test_exact_blocks_survive_json(solved):
    cert = solved["quartic_plane"].certificate
    text = cert.to_json()
    back = SOSCertificate.from_json(text)
    assert back.exact == cert.exact and back.claimed == cert.claimed
    assert back.verify()
    doc = json.loads(text)
    assert all("/" in v for e in doc["exact"] for v in e["gram"])


def _tampered(cert, change):
    doc = json.loads(cert.to_json())
    change(doc)
    return SOSCertificate.from_json(json.dumps(doc))


def test_tampered_exact_blocks_fail(solved):
    cert = solved["quartic_plane"].certificate
    k = len(cert.exact[0][1])

    def entry(doc, p, q, value):
        tri = [(a, b) for a in range(k) for b in range(a, k)]
        doc["exact"][0]["gram"][tri.index((p, q))] = value

    # an off-diagonal entry changed: the identity breaks on a monomial no box bounds
    X = cert.exact[0][1]
    p, q = next((p, q) for p in range(k) for q in range(p + 1, k) if X[p][q] != 0)
    assert not _tampered(cert, lambda d: entry(d, p, q, str(X[p][q] * 2))).verify()
    # a diagonal entry made negative: not PSD
    p = next(p for p in range(k) if X[p][p] > 0)
    assert not _tampered(cert, lambda d: entry(d, p, p, str(-X[p][p]))).verify()
    # a claimed bound above what the data prove
    assert not _tampered(cert, lambda d: d.update(claimed=(1e-3).hex())).verify()
    # the exact block dropped: its float image alone does not prove the bound
    assert not _tampered(cert, lambda d: d.update(exact=[])).verify()


def test_exact_gram_checks():
    xv = Polynomial.variable("x")
    one = Polynomial.constant(1.0, ("x",))
    basis = np.array([[-1], [0]])
    blocks = ((one, basis, np.diag([0.0, 1.0])),)
    with pytest.raises(ModelError):
        SOSCertificate(("x",), xv ** 2, 0.0, blocks, exact=((0, [[1, 2], [3, 4]]),))
    with pytest.raises(ModelError):
        SOSCertificate(("x",), xv ** 2, 0.0, blocks, exact=((1, [[1, 0], [0, 1]]),))
    loc = ((1 - xv ** 2, np.array([[-1]]), np.zeros((1, 1))),)
    with pytest.raises(ModelError):
        SOSCertificate(("x",), xv ** 2, 0.0, loc, ineqs=(1 - xv ** 2,), exact=((0, [[0]]),))
    # x^2 + 1/3 >= 1/3 with the exact Gram diag(1/3, 1): the bound 1/3 rounded down
    third = float(Fraction(1, 3))
    cert = SOSCertificate(("x",), xv ** 2 + third, third, blocks,
                          exact=((0, [[Fraction(0), 0], [0, Fraction(1)]]),)).sealed()
    assert cert.certified_bound().certified and cert.verify()


def test_rational_kernel_and_complement():
    v = np.array([[10.0, 0.0, 1.0], [0.0, 1.0, -3.0]]).T
    V, _ = np.linalg.qr(v)
    K = cf.rational_kernel(V + 1e-9)
    assert K is not None
    Kf = np.array(K, dtype=float)
    assert np.linalg.matrix_rank(np.hstack([Kf.T, v])) == 2  # the same span
    Q = cf.complement(K, 3)
    assert Q.shape == (3, 1)
    assert all(sum(a * b for a, b in zip(row, Q[:, 0].tolist())) == 0 for row in K)  # exactly
    assert cf.rational_kernel(np.array([[np.pi, 1.0]]).T / np.hypot(np.pi, 1), 1e-12) is None


def test_exact_solve_without_flint(monkeypatch):
    A = [[1, 2, 0], [0, 1, 1]]
    b = [Fraction(1, 3), Fraction(2)]
    with_flint = cf._solve_exact(A, b)
    monkeypatch.setitem(sys.modules, "flint", None)
    plain = cf._solve_exact(A, b)
    for x in (with_flint, plain):
        assert [sum(a * v for a, v in zip(row, x)) for row in A] == b
    assert cf._solve_exact([[1, 1], [2, 2]], [Fraction(1), Fraction(3)]) is None


def test_bounded_problems_need_no_face():
    # on a box the shifts are payable: no exact block (the float path is cheaper)
    res = POP((x - 10 * y) ** 4 + (y - z) ** 2, ineqs=[1 - x**2, 1 - y**2, 1 - z**2]).solve()
    assert res.certified and res.bound <= 0 and not res.certificate.exact

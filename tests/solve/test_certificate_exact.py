"""The exact parts of certificate checking (polylip/solve/certificate_exact.py): the residual
summed at one denominator and the batched exact PSD test, against Fraction-by-Fraction
computations done here."""

from fractions import Fraction
from itertools import product

import numpy as np
import pytest

from polylip.poly import Polynomial
from polylip.solve import certificate_exact as ce
from polylip.solve.certificate import SOSCertificate


def _congruent(rng, k, signs):
    """``B diag(signs) B^T`` (exact, Fractions) with ``B`` unit lower triangular with
    rational entries: by Sylvester's law of inertia PSD iff no sign is negative."""
    B = [[Fraction(int(rng.integers(-5, 6)), int(rng.integers(1, 8))) if q < p else Fraction(int(p == q))
          for q in range(k)] for p in range(k)]
    D = [Fraction(int(s) * int(rng.integers(1, 9)), int(rng.integers(1, 6))) for s in signs]
    return [[sum((B[p][t] * D[t] * B[q][t] for t in range(k)), Fraction(0)) for q in range(k)] for p in range(k)]


def test_psd_many_is_sylvesters_inertia():
    rng = np.random.default_rng(3)
    mats, want = [], []
    for k in (1, 2, 4, 6):
        for signs in product((-1, 0, 1), repeat=min(k, 3)):
            signs = list(signs) + [1] * (k - len(signs))
            for perm in (False, True):
                s = list(rng.permutation(signs)) if perm else signs
                mats.append(_congruent(rng, k, s))
                want.append(min(s) >= 0)
    # a zero row, and the same with one entry of it set (indefinite)
    Z = [[Fraction(0)] * 3, [Fraction(0), Fraction(2), Fraction(1, 3)], [Fraction(0), Fraction(1, 3), Fraction(1)]]
    mats.append(Z)
    want.append(True)
    Y = [row[:] for row in Z]
    Y[0][2] = Y[2][0] = Fraction(1, 10**9)
    mats.append(Y)
    want.append(False)
    got = ce._psd_many(mats)
    assert got == want
    assert got == [ce._ldl_psd(A) for A in mats]
    assert ce._psd_many([]) == [] and ce._psd_many([[]]) == [True]


def _certificate(dyadic: bool):
    """``f`` in x, y with two blocks over (1, x, y) and (1, x) given exact Gram matrices."""
    names = ("x", "y")
    one = Polynomial.constant(1.0, names)
    b1 = np.array([[-1], [0], [1]])
    b2 = np.array([[-1], [0]])
    den = 1024 if dyadic else 3
    X1 = ((Fraction(5, den), Fraction(1, 7), Fraction(-2, 5)),
          (Fraction(1, 7), Fraction(3), Fraction(1, 11)),
          (Fraction(-2, 5), Fraction(1, 11), Fraction(2)))
    X2 = ((Fraction(1, den), Fraction(1, 3)), (Fraction(1, 3), Fraction(1)))
    X1 = tuple(tuple(v if not dyadic else Fraction(round(v * 2**20), 2**20) for v in row) for row in X1)
    f = Polynomial(names, np.array([[-1, -1], [0, -1], [0, 0], [1, 1], [0, 1]]), np.array([2.0, 0.5, 4.0, 2.0, 0.25]))
    G1 = np.array([[float(v) for v in row] for row in X1])
    G2 = np.array([[float(v) for v in row] for row in X2])
    cert = SOSCertificate(names, f, 0.5, ((one, b1, G1), (one, b2, G2)), exact=((0, X1), (1, X2)))
    return cert, (b1, X1), (b2, X2)


def _brute_residual(cert, blocks):
    """``f - b - sum m^T X m`` monomial by monomial (keys: sorted variable tuples)."""
    r = {}
    for row, c in zip(cert.objective.rows.tolist(), cert.objective.coeffs.tolist()):
        key = tuple(sorted(v for v in row if v >= 0))
        r[key] = r.get(key, Fraction(0)) + Fraction(c)
    r[()] = r.get((), Fraction(0)) - Fraction(cert.bound)
    for basis, X in blocks:
        for p, q in product(range(len(X)), repeat=2):
            key = tuple(sorted([v for v in basis[p] if v >= 0] + [v for v in basis[q] if v >= 0]))
            r[key] = r.get(key, Fraction(0)) - X[p][q]
    return {k: v for k, v in r.items() if v}


@pytest.mark.parametrize("dyadic", [True, False])
@pytest.mark.parametrize("bits", [ce.SUM_BITS, 1])
def test_residual_with_exact_blocks(dyadic, bits, monkeypatch):
    monkeypatch.setattr(ce, "SUM_BITS", bits)        # 1: the Fraction-per-term fallback
    cert, *blocks = _certificate(dyadic)
    L = cert._layout
    got = {tuple(int(v) for v in L["mons"][a] if v >= 0): v for a, v in ce._residual_sparse(cert, L).items()}
    assert got == _brute_residual(cert, blocks) and got
    full = ce._residual(cert, L)
    assert len(full) == L["mons"].shape[0] and sum(1 for v in full if v) == len(got)


def test_exact_blocks_must_be_symmetric_rationals():
    cert, (b1, X1), _ = _certificate(True)
    Y = [list(row) for row in X1]
    Y[0][1] = Y[0][1] + Fraction(1, 3)
    with pytest.raises(Exception, match="not symmetric"):
        SOSCertificate(cert.variables, cert.objective, cert.bound, cert.blocks, exact=((0, Y),))
    # plain ints and lists are taken as Fractions
    ints = [[1, 0, 0], [0, 2, 0], [0, 0, 3]]
    c2 = SOSCertificate(cert.variables, cert.objective, cert.bound, cert.blocks, exact=((0, ints),))
    assert c2.exact[0][1] == tuple(tuple(Fraction(v) for v in row) for row in ints)

"""Rigorous SOS certificates: known optima, both sides, both solvers, tampering, JSON."""

from dataclasses import replace
from fractions import Fraction
from itertools import product

import numpy as np
import pytest
import sympy

from polylip import POP
from polylip.poly import Polynomial
from polylip.solve.certificate import SOSCertificate, _ldl_psd, _rump, box_from_constraints
from polylip.solve.extract import certificate_from_solution, derived_box

x, y, z, w = sympy.symbols("x y z w")
SIDES = ("moment", "sos")
SOLVERS = ("cvxopt", "clarabel")


def certify(pop, order, solver="clarabel", side="moment", sparsity="dense"):
    relaxation = pop.relax(order=order, sparsity=sparsity)
    out = relaxation.solve_detailed(solver=solver, side=side)
    assert out.result.status == "optimal", out.result.message
    cert = certificate_from_solution(pop, relaxation, out.lmi, out.raw, out.result.bound)
    assert cert is not None
    return out.result, cert, cert.certified_bound()


def check(result, cert, cb, optimum, sense="min", rel=1e-5):
    """Certified, valid (on the right side of the optimum), close, and verified exactly."""
    assert cb.certified, cb.reason
    assert cb.numerical == result.bound
    if sense == "min":
        assert cb.bound <= optimum
    else:
        assert cb.bound >= optimum
    assert cb.gap <= rel * max(1.0, abs(result.bound))
    assert cert.verify()


# ---------------------------------------------------------------------- known optima
def quartic_min():
    crit = np.roots([4.0, 0.0, -6.0, 1.0]).real
    pts = np.concatenate([crit[(crit >= -2) & (crit <= 2)], [-2.0, 2.0]])
    return float(np.min(pts ** 4 - 3 * pts ** 2 + pts))


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("side", SIDES)
def test_quartic_on_interval(solver, side):
    pop = POP(x**4 - 3*x**2 + x, ineqs=[2 - x, x + 2])
    result, cert, cb = certify(pop, 2, solver, side)
    check(result, cert, cb, quartic_min())


GP = ((1 + (x + y + 1)**2 * (19 - 14*x + 3*x**2 - 14*y + 6*x*y + 3*y**2))
      * (30 + (2*x - 3*y)**2 * (18 - 32*x + 12*x**2 + 48*y - 36*x*y + 27*y**2)))


@pytest.mark.parametrize("side", SIDES)
def test_goldstein_price_order_4(side):
    pop = POP(GP, ineqs=[2 - x, x + 2, 2 - y, y + 2])
    result, cert, cb = certify(pop, 4, "cvxopt", side)
    assert cb.certified and cb.bound <= 3.0 and cert.verify()
    if side == "sos":   # the Gram matrices satisfy the identity up to rounding
        assert cb.gap <= 1e-5 * 3
    else:               # CVXOPT's duals leave a residual of ~1e-5 (the bound 3.00003 > 3)
        assert cb.bound > 2.99


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("side", SIDES)
def test_constrained_quadratic(solver, side):
    pop = POP(x**2 + x*y - y, ineqs=[1 - x**2 - y**2, x])
    t = np.linspace(0, 1, 401)
    rr, th = np.meshgrid(t, np.linspace(-np.pi / 2, np.pi / 2, 801))
    X, Y = rr * np.cos(th), rr * np.sin(th)
    sampled = float(np.min(X**2 + X*Y - Y))
    result, cert, cb = certify(pop, 2, solver, side)
    check(result, cert, cb, sampled)


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("side", SIDES)
def test_binary_quadratic(solver, side):
    f = 3*x*y - 2*x*z + 4*y*w - 5*z*w + x - 2*y + z + w
    pop = POP(f, binary=[x, y, z, w])
    exact = min(float(f.subs(dict(zip((x, y, z, w), v)))) for v in product((0, 1), repeat=4))
    result, cert, cb = certify(pop, 2, solver, side)
    check(result, cert, cb, exact)


def test_spin_quadratic():
    f = x*y + y*z - x*z + 0.5*x
    pop = POP(f, spin=[x, y, z])
    exact = min(float(f.subs(dict(zip((x, y, z), v)))) for v in product((-1, 1), repeat=3))
    result, cert, cb = certify(pop, 2, "clarabel", "sos")
    check(result, cert, cb, exact)


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("side", SIDES)
def test_equality_circle(solver, side):
    pop = POP(x + y, eqs=[x**2 + y**2 - 1])
    result, cert, cb = certify(pop, 1, solver, side)
    check(result, cert, cb, -np.sqrt(2))
    assert cert.box is not None and cert.box[1].tolist() == [1.0, 1.0]   # from the equality


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("side", SIDES)
def test_sense_max(solver, side):
    pop = POP(x*y + x, ineqs=[1 - x**2 - y**2], sense="max")
    th = np.linspace(0, 2 * np.pi, 200001)
    sampled = float(np.max(np.cos(th) * np.sin(th) + np.cos(th)))   # the max is on the circle
    result, cert, cb = certify(pop, 2, solver, side)
    check(result, cert, cb, sampled, sense="max")
    assert cb.bound >= result.bound        # an upper bound, relaxed upwards
    assert cert.objective == -pop.objective


def test_correlative_sparsity_many_blocks():
    from polylip.model.problems import broyden_tridiagonal

    pop = broyden_tridiagonal(30)
    result, cert, cb = certify(pop, 2, "clarabel", "moment", sparsity="cs")
    assert len(cert.blocks) > 20
    assert cb.certified and cb.bound <= 0.0 and cb.gap < 1e-4
    assert cert.verify()


# ---------------------------------------------------------------------- unbounded sets
def test_unconstrained_certified_by_folding():
    """No box: the residual is folded into PD Gram matrices (after lowering the bound a
    little), so the certificate needs no bound on x."""
    pop = POP(x**4 + y**4 - x*y + 1)
    result, cert, cb = certify(pop, 2, "clarabel", "sos")
    assert cert.box is None
    check(result, cert, cb, 0.875)


def test_unbounded_numerical_only():
    one = Polynomial.constant(1.0, ("x",))
    X = Polynomial.variable("x")
    basis = np.array([[-1], [0]])
    # x^2 + 1 - 0.5 = [1 x] G [1 x]^T + r for an indefinite G: the residual is folded and
    # the deficit moved to the constant (a lower bound): no box needed
    cert = SOSCertificate(("x",), X**2 + 1, 0.5, ((one, basis, np.array([[0.0, 0.1], [0.1, 1.0]])),))
    cb = cert.certified_bound()
    assert cb.certified and 0.0 < cb.bound < 0.5 and cert.sealed().verify()
    # x^3 is no product of the basis 1, x: its residual needs a bound on x
    odd = SOSCertificate(("x",), X**3 + X**2 + 1, 1.0, ((one, basis, np.diag([0.0, 1.0])),))
    cb = odd.certified_bound()
    assert not cb.certified and cb.bound is None and "unbounded" in cb.reason
    assert odd.sealed().claimed is None and not odd.sealed().verify()
    boxed = replace(odd, box=(np.array([0.0]), np.array([1.0])), box_assumed=True)
    cb = boxed.certified_bound()    # with a box, |x^3| <= 1 pays for it
    assert cb.certified and -1e-12 < cb.bound <= 0.0 and boxed.sealed().verify()


def test_exact_zero_residual():
    one = Polynomial.constant(1.0, ("x",))
    X = Polynomial.variable("x")
    cert = SOSCertificate(("x",), X**2 + 1, 1.0, ((one, np.array([[-1], [0]]), np.diag([0.0, 1.0])),))
    cb = cert.certified_bound()
    assert cb.certified and cb.bound == 1.0 and cb.residual == 0.0 and cb.psd_shift == 0.0
    assert cert.sealed().verify()


# ---------------------------------------------------------------------- tampering, JSON
@pytest.fixture(scope="module")
def sealed():
    pop = POP(x**4 - 3*x**2 + x + y**2 - x*y, ineqs=[2 - x, x + 2, 1 - y**2])
    _, cert, cb = certify(pop, 2, "clarabel", "sos")
    assert cb.certified and cert.verify()
    return cert


def test_tampered_gram_fails(sealed):
    blocks = list(sealed.blocks)
    g, basis, G = blocks[0]
    k = G.shape[0]
    v = np.ones(k) / np.sqrt(k)
    blocks[0] = (g, basis, G - (np.linalg.eigvalsh(G)[0] + max(sealed.shifts[0]) + 1e-3) * np.outer(v, v) * 4)
    assert not replace(sealed, blocks=tuple(blocks)).verify()


def test_tampered_objective_fails(sealed):
    f = sealed.objective
    shifted = f - 1.0                                    # the true minimum drops by 1
    assert not replace(sealed, objective=shifted).verify()
    coeffs = f.coeffs.copy()
    coeffs[np.argmax(f.term_degrees)] *= -1.0            # a leading coefficient flipped
    assert not replace(sealed, objective=Polynomial(f.variables, f.rows, coeffs)).verify()


def test_tampered_bound_fails(sealed):
    assert not replace(sealed, claimed=sealed.claimed + 1e-3).verify()
    assert not replace(sealed, claimed=sealed.claimed + 1.0, bound=sealed.bound + 1.0).verify()
    assert not replace(sealed, shifts=tuple(np.zeros_like(s) - 1.0 for s in sealed.shifts)).verify()


def test_foreign_multiplier_fails(sealed):
    blocks = list(sealed.blocks)
    g, basis, G = blocks[1]
    blocks[1] = (g * 2.0, basis, G)                      # not a constraint of K
    assert not replace(sealed, blocks=tuple(blocks)).verify()


def test_json_round_trip(sealed):
    text = sealed.to_json()
    back = SOSCertificate.from_json(text)
    assert back.verify()
    assert back.claimed == sealed.claimed and back.bound == sealed.bound
    for (g1, b1, G1), (g2, b2, G2) in zip(back.blocks, sealed.blocks):
        assert np.array_equal(G1, G2) and np.array_equal(b1, b2) and g1 == g2
    assert back.certified_bound().bound == sealed.certified_bound().bound
    assert back.to_json() == text


# ---------------------------------------------------------------------- the pieces
def test_rump_bound_is_rigorous():
    rng = np.random.default_rng(1)
    for k in (1, 3, 6, 12):
        A = rng.standard_normal((20, k, k))
        G = A @ A.transpose(0, 2, 1)
        G[:, 0, :] *= 1e-3
        G[:, :, 0] *= 1e-3
        mu = _rump(G)
        lam = np.linalg.eigvalsh(G)[:, 0]
        assert np.all(mu <= lam) and np.all(lam - mu <= 1e-10 * np.abs(G).max(axis=(1, 2)))
        for Gb, m in zip(G[:3], mu[:3]):     # exactly: G - mu I is PSD
            shifted = [[Fraction(float(v)) - (Fraction(float(m)) if i == j else 0) for j, v in enumerate(row)]
                       for i, row in enumerate(Gb)]
            assert _ldl_psd(shifted)


def test_rump_with_entries_whose_margin_overflows():
    """A block with entries near 1e200 (its Frobenius norm overflows): no bound (-inf) for that
    block, the others as usual, and no "invalid value" warning (GLOBALLib ex9_2_6)."""
    import warnings

    G = np.stack([np.eye(3), np.diag([1e200, 1e200, 1e200]), 2 * np.eye(3)])
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        mu = _rump(G)
    assert mu[1] == -np.inf
    assert 0.999 < mu[0] <= 1.0 and 1.999 < mu[2] <= 2.0


def test_ldl_psd_exact():
    F = lambda rows: [[Fraction(v) for v in r] for r in rows]  # noqa: E731
    assert _ldl_psd(F([[1, 1], [1, 1]]))
    assert not _ldl_psd(F([[1, 1], [1, Fraction(99, 100)]]))
    assert _ldl_psd(F([[0, 0], [0, 2]])) and not _ldl_psd(F([[0, 1], [1, 2]]))


def test_box_detection():
    pop = POP(x + y + z, ineqs=[x - 1, 3 - x, 2 - y**2, -(z - 1) * (z - 2)])
    lo, hi = derived_box(pop)
    assert lo[0] == 1.0 and hi[0] == 3.0
    assert -hi[1] == lo[1] and hi[1] >= np.sqrt(2) and Fraction(hi[1]) ** 2 >= 2
    assert lo[2] <= 1.0 and hi[2] >= 2.0 and hi[2] - lo[2] < 1.0 + 1e-9
    lo, hi = derived_box(POP(x * y, ineqs=[4 - x**2 - 2 * y**4]))
    assert hi[0] == 2.0 and Fraction(hi[1]) ** 4 >= 2
    lo, hi = derived_box(POP(x * y, binary=[x], spin=[y]))
    assert lo.tolist() == [0.0, -1.0] and hi.tolist() == [1.0, 1.0]
    assert derived_box(POP(x * y, ineqs=[x * y - 1])) is None
    X, Y = Polynomial.variable("x").with_variables("xy"), Polynomial.variable("y").with_variables("xy")
    lo, hi = box_from_constraints(2, eqs=[X - 0.5, X**2 + Y**2 - 1])
    assert lo[0] == hi[0] == 0.5 and hi[1] == 1.0


def test_dead_multiplier_terms_are_zeroed():
    """min x^2 + y^2 on xy = 1: (x - y)^2 + 2 (xy - 1); a solver's noise -1e-11 x^2 in the
    multiplier lands on x^3 y, which no Gram entry reaches and no box bounds: the term must
    be zero in any exact certificate, and once zeroed the bound 2 is certified (unbounded set)."""
    from polylip.solve.extract import repair, zero_dead_multiplier_terms

    x, y = Polynomial.variable("x").with_variables(("x", "y")), Polynomial.variable("y").with_variables(("x", "y"))
    one = Polynomial.constant(1.0, ("x", "y"))
    h = x * y - 1
    basis = np.array([[-1, -1], [0, -1], [1, -1], [0, 1]])
    G = np.zeros((4, 4))
    G[1:3, 1:3] = [[1.0, -1.0], [-1.0, 1.0]]
    noisy = 2 * one - 1e-11 * x * x
    cert = SOSCertificate(("x", "y"), x * x + y * y, 2.0, ((one, basis, G),), ((h, noisy),), eqs=(h,))
    assert not cert.certified_bound().certified
    fixed = zero_dead_multiplier_terms(cert)
    assert fixed.equalities[0][1].nterms == 1
    cb = fixed.certified_bound()
    assert cb.certified and cb.bound == 2.0
    sealed = repair(cert)
    assert sealed.certified_bound().certified and sealed.verify()


@pytest.mark.filterwarnings("error")
def test_rump_on_near_singular_and_huge_matrices_is_quiet_and_sound():
    """min x (unbounded) with Clarabel printed numpy's "invalid value encountered in multiply"
    on the CLI's stderr: a margin that overflows (a huge matrix, or x 4 up to forty times)
    made -inf * 0 in the shifted matrix. Each value is a lower bound on the smallest
    eigenvalue (the Frobenius bound once the margin is not finite)."""
    for G in ([[4.7e7, 0.5], [0.5, 5.3e-9]], [[4.7e7, 0.5], [0.5, -5.3e-9]],
              [[1e300, 1e300], [1e300, -1e300]]):
        G = np.array([G])
        mu = _rump(G)
        exact = np.linalg.eigvalsh(G)[0, 0]
        assert mu[0] <= exact + 1e-9 * abs(exact)


def test_chol_ok_many_is_each_matrix_alone():
    from polylip.solve.certificate import _chol_ok_many
    rng = np.random.default_rng(4)
    S = np.stack([(lambda A: A @ A.T + 1e-3 * np.eye(4))(rng.normal(size=(4, 4))) for _ in range(37)])
    bad = [0, 5, 6, 36]
    S[bad, 2, 2] = -1.0
    want = np.ones(37, bool)
    want[bad] = False
    assert (_chol_ok_many(S) == want).all()
    assert _chol_ok_many(S[:0]).shape == (0,) and _chol_ok_many(S[1:2]).all()


def test_a_constant_residual_beside_exact_zeros_on_unbounded_monomials_is_paid():
    """POP QA round 4: xy on xy = 1, x + y >= 3 with the certificate xy - b = 1 (xy - 1) + r at
    b = 1 + 1.5e-9 (CVXOPT's SOS side, snapped): r = 1 - b exactly, a constant, but the float
    residual's error bound on the monomial xy (unbounded) called it "numerical only"; the
    exact residual is now computed whenever the unbounded monomials are at rounding level."""
    from polylip.poly import variables
    x, y = variables("x y")
    one = Polynomial.constant(1.0, ("x", "y"))
    b = 1.000000001476943
    cert = SOSCertificate(("x", "y"), x * y, b, ((one, np.array([[-1], [0], [1]]), np.zeros((3, 3))),),
                          equalities=((x * y - 1, one),), ineqs=(x + y - 3,), eqs=(x * y - 1,))
    cb = cert.certified_bound()
    assert cb.certified and 1.0 - 1e-15 <= cb.bound <= 1.0
    assert cert.sealed().verify()

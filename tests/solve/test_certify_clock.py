"""The certify stage honours the solve's time limit (polylip/solve/certify_clock.py): it is
estimated before it starts and checked between its steps; a cut stage leaves the bound
numerical only, says so, and never claims a certificate it did not finish."""

import time

import numpy as np
import pytest
import sympy

from polylip import POP
from polylip.solve import certify, certify_clock, extract
from polylip.solve.certify_clock import CertificationCut, CertifyClock

x = sympy.Symbol("x")
QUARTIC = x**4 - 3 * x**2 + x          # minimum at the root -1.30084 of 4x^3 - 6x + 1 (numpy.roots)
QUARTIC_MIN = -3.51390503893479


def test_a_stage_that_cannot_fit_is_cut_before_it_starts(monkeypatch):
    monkeypatch.setattr(certify_clock, "SECONDS_PER_TERM", 1e6)   # any certificate: > the limit
    t0 = time.perf_counter()
    res = POP(QUARTIC, ineqs=[2 - x, x + 2]).solve(time_limit=60)
    assert time.perf_counter() - t0 < 60                              # it returned
    assert res.status == "optimal" and not res.certified
    assert "certification cut by the time limit" in res.message
    assert res.certificate is None and res.bound == res.numerical_bound
    assert res.bound == pytest.approx(QUARTIC_MIN, abs=1e-5)         # the numerical value


def test_without_a_time_limit_nothing_is_cut(monkeypatch):
    monkeypatch.setattr(certify_clock, "SECONDS_PER_TERM", 1e6)
    res = POP(QUARTIC, ineqs=[2 - x, x + 2]).solve()
    assert res.certified and "cut" not in res.message
    assert res.bound <= QUARTIC_MIN and res.certificate.verify()


def test_a_cut_after_the_first_seal_keeps_a_proven_bound(monkeypatch):
    """Only the steps up to the first seal fit: that sealed certificate is returned, and a
    certified one still verifies exactly (the cut never makes a claim unproven)."""
    allowed = {"extracting the certificate", "folding the residual", "folding the residual again",
               "sealing the certificate"}
    seen = []

    def allows(self, steps, what):
        seen.append(what)
        if what in allowed:
            return True
        self.cut = self.cut or f"certification cut by the time limit before {what}"
        return False

    monkeypatch.setattr(CertifyClock, "allows", allows)
    res = POP(QUARTIC, ineqs=[2 - x, x + 2]).solve(time_limit=60)
    assert res.status == "optimal"
    assert "sealing the certificate" in seen
    if res.certified:
        assert res.bound <= QUARTIC_MIN and res.certificate.verify()
    else:
        assert "cut by the time limit" in res.message


def test_repair_raises_when_nothing_fits():
    pop = POP(QUARTIC, ineqs=[2 - x, x + 2])
    rel = pop.relax(order=2)
    out = rel.solve_detailed(solver="clarabel")
    clock = CertifyClock(time.perf_counter() - 1.0, terms=10)     # the deadline has passed
    with pytest.raises(CertificationCut, match="cut by the time limit"):
        extract.certificate_from_solution(pop, rel, out.lmi, out.raw, out.result.bound, clock=clock)
    far = CertifyClock(time.perf_counter() + 3600.0, terms=10)
    a = extract.certificate_from_solution(pop, rel, out.lmi, out.raw, out.result.bound, clock=far)
    b = extract.certificate_from_solution(pop, rel, out.lmi, out.raw, out.result.bound)
    assert far.cut is None
    assert a.certified_bound().bound == b.certified_bound().bound


def test_clock_pace_follows_the_slowest_step():
    clock = CertifyClock(time.perf_counter() + 10.0, terms=1)
    time.sleep(0.05)
    clock.mark()
    assert clock.step >= 0.05
    assert not clock.allows(1000, "a long step") and "a long step" in clock.cut
    assert CertifyClock(None, terms=10**12).allows(10**6, "anything")


def test_indefiniteness_batched_matches_per_block():
    rng = np.random.default_rng(0)
    grams = []
    for k in (1, 2, 3, 3, 5, 2):
        A = rng.standard_normal((k, k))
        grams.append(A @ A.T)
    grams[3] = grams[3] - 0.7 * np.eye(3) * np.abs(np.linalg.eigvalsh(grams[3])).max()
    scale = max(float(np.abs(G).max()) for G in grams)
    want = max(0.0, -min(float(np.linalg.eigvalsh(G)[0]) for G in grams) / scale)
    assert certify._indefiniteness(grams) == pytest.approx(want, rel=1e-12)
    assert certify._indefiniteness([np.zeros((0, 0))]) == 0.0

"""CVXOPT's fallback from the "chol" to the "ldl" KKT solver (polylip/backends/picos_backend.py)
is bounded: it runs only when "chol" broke down (stopped before its iteration cap), with its
own iteration cap, and not when a time limit leaves no room for it.

Measured (benchmarks/RESULTS.md, "The CVXOPT ldl fallback"): of 12 relaxations from GLOBALLib
and the literature where "chol" ended without "optimal", "ldl" recovered the 5 where "chol" had
stopped early (14-43 iterations), in 15-56 iterations, at 1.4-5x the time per iteration; where
"chol" had run to its cap of 100 it never recovered, and every failed "ldl" ran to 100
iterations (122 s on GLOBALLib ex2_1_4's SOS side)."""

import numpy as np

from polylip.backends import picos_backend
from polylip.model.literature import LITERATURE


class _Sol:
    def __init__(self, iterations):
        self.info = {"cvxopt_sol": {"iterations": iterations}}


def _fake(chol_iterations, calls):
    def once(P, options):
        calls.append(dict(options))
        if options["cvxopt_kktsolver"] == "chol":
            return _Sol(chol_iterations), "inaccurate", "claimed=unknown", ""
        return _Sol(20), "inaccurate", "claimed=unknown", ""
    return once


def _lmi():
    return LITERATURE["booth"].build().relax(order=1).to_lmi("moment")


def test_no_ldl_after_chol_ran_to_its_cap(monkeypatch):
    calls = []
    monkeypatch.setattr(picos_backend, "_solve_once", _fake(picos_backend.CVXOPT_MAX_ITERS, calls))
    sol = picos_backend.solve_lmi(_lmi(), "cvxopt")
    assert [c["cvxopt_kktsolver"] for c in calls] == ["chol"]
    assert sol.status != "optimal"


def test_ldl_after_a_breakdown_is_capped(monkeypatch):
    calls = []
    monkeypatch.setattr(picos_backend, "_solve_once", _fake(14, calls))
    picos_backend.solve_lmi(_lmi(), "cvxopt")
    assert [c["cvxopt_kktsolver"] for c in calls] == ["chol", "ldl"]
    assert calls[1]["max_iterations"] <= picos_backend.LDL_MAX_ITERS < picos_backend.CVXOPT_MAX_ITERS


def test_no_ldl_without_time_for_it(monkeypatch):
    calls = []
    monkeypatch.setattr(picos_backend, "_solve_once", _fake(14, calls))
    picos_backend.solve_lmi(_lmi(), "cvxopt", time_limit=1e-9)
    assert [c["cvxopt_kktsolver"] for c in calls] == ["chol"]


def test_gloptipoly_order_3_still_recovers_on_the_sos_side():
    """Lasserre (2001) example 2 at order 3 (published bound -4.0685): "chol" breaks down on
    both sides; the SOS side's "ldl" (56 iterations) gives the certified bound."""
    pop = LITERATURE["gloptipoly_lasserre_3"].build()
    res = pop.solve(order=3, solver="cvxopt", time_limit=300)
    assert res.status == "optimal" and res.certified, res.message
    assert res.bound <= -4.0 and np.isclose(res.bound, -4.0685, atol=1e-3)


def test_auto_hands_a_large_breakdown_to_clarabel_not_to_ldl(monkeypatch):
    """solver="auto": a "chol" breakdown whose "ldl" KKT matrix is above
    registry.AUTO_LDL_MAX_KKT is solved by Clarabel on the same problem, not by CVXOPT's "ldl"
    (a dense factorization of the whole KKT matrix: 60 s on the digits MLP's lifted Shor
    relaxation, where Clarabel takes 1.7 s); below it, and with solver="cvxopt", "ldl" stays."""
    from polylip.backends import registry
    lmi = _lmi()
    assert registry.choose_sdp_solver(lmi.nvars, lmi.sizes) == "cvxopt"
    assert picos_backend.ldl_kkt_size(lmi) <= registry.AUTO_LDL_MAX_KKT
    calls = []
    monkeypatch.setattr(picos_backend, "_solve_once", _fake(14, calls))
    registry.solve_sdp(lmi, "auto")
    assert [c["cvxopt_kktsolver"] for c in calls] == ["chol", "ldl"]
    calls.clear()
    monkeypatch.setattr(registry, "AUTO_LDL_MAX_KKT", picos_backend.ldl_kkt_size(lmi) - 1)
    sol = registry.solve_sdp(lmi, "auto")
    assert [c["cvxopt_kktsolver"] for c in calls] == ["chol"]
    assert sol.solver == "clarabel" and sol.status == "optimal"
    assert np.isclose(sol.value, 0.0, atol=1e-6)  # Booth's function: minimum 0 at (1, 3)
    calls.clear()
    assert registry.solve_sdp(lmi, "cvxopt").solver == "cvxopt"
    assert [c["cvxopt_kktsolver"] for c in calls] == ["chol", "ldl"]
    calls.clear()  # chol ran to its cap: a stall, no retry of either kind
    monkeypatch.setattr(picos_backend, "_solve_once", _fake(picos_backend.CVXOPT_MAX_ITERS, calls))
    assert registry.solve_sdp(lmi, "auto").solver == "cvxopt"

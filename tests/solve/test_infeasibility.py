"""Infeasibility claims: "infeasible" only with a Positivstellensatz certificate that verifies;
a false claim (a feasible problem, a solver that says "infeasible" with no ray or a bad one)
comes back "inaccurate" with the reason, or solved, never "infeasible"."""

from dataclasses import replace

import numpy as np
import pytest
import sympy

from polylip import POP
from polylip.backends import clarabel_backend, picos_backend
from polylip.backends.base import BackendSolution
from polylip.solve import infeasibility
from polylip.solve.certificate import SOSCertificate
from polylip.solve.infeasibility import confirm_infeasible, feasible_point, infeasibility_certificate

x, y, z = sympy.symbols("x y z")

INFEASIBLE = {
    # -1 = (-x^2 - 1) + x^2
    "x^2 + 1 <= 0": (POP(x, ineqs=[-x**2 - 1]), 1),
    # -1 = (1 - x^2 - y^2) + (x - y)^2 + 2 (x y - 1)
    "xy = 1 in the unit ball": (POP(x + y, ineqs=[1 - x**2 - y**2], eqs=[x*y - 1]), 1),
    "two disjoint balls": (POP(x, ineqs=[1 - (x - 2)**2 - y**2, 1 - (x + 2)**2 - y**2]), 1),
    "binary x + y >= 3": (POP(x + y, ineqs=[x + y - 3], binary=["x", "y"]), 1),
    "spin x + y + z = 4": (POP(x * y, eqs=[x + y + z - 4], spin=["x", "y", "z"]), 1),
    "x^2 + y^2 <= 1, x >= 2": (POP(y, ineqs=[1 - x**2 - y**2, x - 2]), 1),
}


def _fake(solver):
    """A backend that claims the relaxation infeasible, with no ray (the SOS side's
    "infeasible" is its dual's "unbounded")."""
    def solve_lmi(problem, *args, **kwargs):
        status = "infeasible" if problem.side == "moment" else "unbounded"
        return BackendSolution(status, solver, 0.0, raw_status=f"fake {status}")
    return solve_lmi


def _certified(res):
    assert res.status == "infeasible", res.message
    assert res.certified and res.bound is None
    cert = res.certificate
    assert isinstance(cert, SOSCertificate)
    cb = cert.certified_bound()
    assert cb.certified and cb.bound > 0            # 0 >= cb.bound > 0 on K: K is empty
    assert cert.objective.is_zero() and cert.claimed > 0
    assert cert.verify()                            # exact arithmetic
    again = SOSCertificate.from_json(cert.to_json())
    assert again.verify()
    assert not replace(cert, claimed=cert.claimed * 2 + 1).verify()
    assert "certified" in res.message


@pytest.mark.parametrize("name", sorted(INFEASIBLE))
@pytest.mark.parametrize("side", ["moment", "sos"])
@pytest.mark.parametrize("solver", ["clarabel", "cvxopt"])
def test_infeasible_pops_come_back_certified(name, side, solver):
    pop, order = INFEASIBLE[name]
    res = pop.relax(order=order, sparsity="dense").solve(solver=solver, side=side)
    _certified(res)


@pytest.mark.parametrize("name", sorted(INFEASIBLE))
def test_infeasible_pops_default_solve(name):
    pop, _ = INFEASIBLE[name]
    res = pop.solve()
    _certified(res)
    assert pop.solve(order="auto").status == "infeasible"


def test_higher_order_and_sparse():
    pop, _ = INFEASIBLE["xy = 1 in the unit ball"]
    _certified(pop.solve(order=2))
    # a chain: x_i x_{i+1} = 1 and x_i^2 + x_{i+1}^2 <= 1 for each i, correlative sparsity
    v = sympy.symbols("v0:8")
    chain = POP(sum(v), ineqs=[1 - v[i]**2 - v[i + 1]**2 for i in range(7)],
                eqs=[v[i] * v[i + 1] - 1 for i in range(7)])
    for side in ("moment", "sos"):
        _certified(chain.relax(order=1, sparsity="cs").solve(solver="clarabel", side=side))


def test_no_ray_from_picos_clarabel_resolves(monkeypatch):
    """A PICOS solver that says "infeasible" with no duals: Clarabel re-solves and its ray
    certifies."""
    pop, _ = INFEASIBLE["two disjoint balls"]
    res = pop.relax(order=1, sparsity="dense").solve(solver="cvxopt", side="moment")
    _certified(res)
    assert "from cvxopt's" in res.message
    for side in ("moment", "sos"):
        monkeypatch.setattr(picos_backend, "solve_lmi", _fake("cvxopt"))
        res = pop.relax(order=1, sparsity="dense").solve(solver="cvxopt", side=side)
        _certified(res)
        assert "from clarabel's" in res.message


def test_degenerate_infeasibility_is_not_claimed():
    """Infeasible, but on an unbounded set with no strictly feasible certificate at this
    order (the Gram matrix must be exactly singular): floats cannot prove it, so the status
    says so instead of passing the solver's claim on."""
    res = POP(x + y, eqs=[x + y - 1, x + y - 2]).relax(order=1, sparsity="dense").solve(
        solver="clarabel", side="moment")
    assert res.status == "inaccurate" and not res.certified
    assert "not proven" in res.message and "does not verify" in res.message


def test_a_degenerate_infeasibility_with_an_exact_certificate_is_claimed():
    """xy = 1, x = 0: -1 = (xy - 1) - y * x, every Gram matrix 0. Its residual at rounding
    level is recomputed exactly (also where only the constant carries more than rounding,
    d887f98), so the claim is proven; it was "inaccurate" before, and the set is empty."""
    res = POP(x + y, eqs=[x * y - 1, x]).relax(order=1, sparsity="dense").solve(
        solver="clarabel", side="moment")
    assert res.status == "infeasible" and res.certified, res.message
    assert res.certificate.verify()


# ---------------------------------------------------------------------- false claims
FEASIBLE = {
    "quartic on an interval": POP(x**4 - 3*x**2 + x, ineqs=[2 - x, x + 2]),
    "ball and an equality": POP(x + y, ineqs=[1 - x**2 - y**2], eqs=[x - y**2]),
    "binary": POP(x + y - 2*x*y, ineqs=[x + y - 1], binary=["x", "y"]),
    "spin": POP(x * y + y * z, spin=["x", "y", "z"]),
}


@pytest.mark.parametrize("name", sorted(FEASIBLE))
@pytest.mark.parametrize("side", ["moment", "sos", "auto"])
def test_false_claim_is_refuted_by_a_point(monkeypatch, name, side):
    pop = FEASIBLE[name]
    monkeypatch.setattr(picos_backend, "solve_lmi", _fake("cvxopt"))
    res = pop.relax(sparsity="dense").solve(solver="cvxopt", side=side)
    assert res.status in ("inaccurate", "optimal"), res.message
    assert res.status != "infeasible" and not res.certified
    if side != "auto":
        assert "the claim is false" in res.message
        assert pop.is_feasible(np.array([res.candidate[v] for v in pop.variables]))


@pytest.mark.parametrize("side", ["moment", "sos"])
def test_false_claim_without_point_is_resolved_by_clarabel(monkeypatch, side):
    pop = FEASIBLE["ball and an equality"]
    monkeypatch.setattr(picos_backend, "solve_lmi", _fake("cvxopt"))
    monkeypatch.setattr(infeasibility, "feasible_point", lambda *a, **k: None)
    res = pop.relax(sparsity="dense").solve(solver="cvxopt", side=side)
    assert res.status == "inaccurate"
    assert "Clarabel solved the relaxation" in res.message and "not proven" in res.message


@pytest.mark.parametrize("side", ["moment", "sos"])
def test_clarabel_claim_without_ray(monkeypatch, side):
    pop = FEASIBLE["quartic on an interval"]
    monkeypatch.setattr(clarabel_backend, "solve_lmi", _fake("clarabel"))
    monkeypatch.setattr(infeasibility, "feasible_point", lambda *a, **k: None)
    res = pop.relax(sparsity="dense").solve(solver="clarabel", side=side)
    assert res.status == "inaccurate" and not res.certified
    assert "no dual matrices" in res.message or "no improving ray" in res.message


def test_false_claim_solved_on_the_other_side(monkeypatch):
    """side='auto': the refuted side ends "inaccurate" and the other side solves it."""
    pop = FEASIBLE["quartic on an interval"]
    real = clarabel_backend.solve_lmi
    calls = []

    def once(problem, *args, **kwargs):
        calls.append(problem.side)
        if len(calls) == 1:
            return BackendSolution("infeasible" if problem.side == "moment" else "unbounded",
                                   "clarabel", 0.0, raw_status="fake")
        return real(problem, *args, **kwargs)

    monkeypatch.setattr(clarabel_backend, "solve_lmi", once)
    res = pop.relax(order=2, sparsity="dense").solve(solver="clarabel")
    assert res.status == "optimal" and res.certified and len(calls) == 2
    assert "ended inaccurate" in res.message


def _outcome(pop, side="moment", solver="clarabel"):
    relaxation = pop.relax(sparsity="dense")
    return relaxation, relaxation.solve_detailed(solver=solver, side=side)


@pytest.mark.parametrize("side", ["moment", "sos"])
def test_bad_ray_does_not_verify(monkeypatch, side):
    """A ray that is no certificate (the infeasible problem's ray on a feasible problem with
    the same structure, or noise) is not trusted."""
    monkeypatch.setattr(infeasibility, "feasible_point", lambda *a, **k: None)
    pop = FEASIBLE["ball and an equality"]
    relaxation, out = _outcome(pop, side)
    rng = np.random.default_rng(1)
    if side == "moment":
        Zs = [(lambda A: A @ A.T)(rng.standard_normal((k, k))) for k in out.lmi.sizes]
        raw = BackendSolution("infeasible", "clarabel", 0.0, lmi_duals=Zs,
                              eq_duals=rng.standard_normal(out.lmi.neq))
    else:
        raw = BackendSolution("unbounded", "clarabel", 0.0,
                              extra=dict(ray=rng.standard_normal(out.lmi.nvars)))
    failed = replace(out.result, status="infeasible", bound=None, certified=False, certificate=None)
    res = confirm_infeasible(failed, relaxation, out.lmi, raw, pop)
    assert res.status == "inaccurate" and not res.certified
    assert "not proven" in res.message
    assert ("does not verify" in res.message or "no Farkas certificate" in res.message
            or "does not improve" in res.message)


def test_no_time_left_for_the_resolve(monkeypatch):
    monkeypatch.setattr(infeasibility, "feasible_point", lambda *a, **k: None)
    pop, _ = INFEASIBLE["two disjoint balls"]
    relaxation, out = _outcome(pop, "moment", "clarabel")
    raw = BackendSolution("infeasible", "cvxopt", 0.0)       # no duals
    res = confirm_infeasible(replace(out.result, certificate=None, certified=False),
                             relaxation, out.lmi, raw, pop, time_left=0.0)
    assert res.status == "inaccurate" and "no time left" in res.message
    res = confirm_infeasible(replace(out.result, certificate=None, certified=False),
                             relaxation, out.lmi, raw, pop, time_left=60.0)
    _certified(res)


def test_certificate_from_the_ray_directly():
    pop, _ = INFEASIBLE["xy = 1 in the unit ball"]
    for side in ("moment", "sos"):
        relaxation, out = _outcome(pop, side)
        cert, why = infeasibility_certificate(pop, relaxation, out.lmi, out.raw)
        assert why == "" and cert.certified_bound().bound > 0.99 and cert.verify()


# ---------------------------------------------------------------------- the refutation
def test_feasible_point():
    assert feasible_point(POP(x, ineqs=[-x**2 - 1])) is None
    assert feasible_point(INFEASIBLE["two disjoint balls"][0]) is None
    for pop in FEASIBLE.values():
        p = feasible_point(pop)
        assert p is not None and pop.is_feasible(p)
    p = feasible_point(POP(x + y, eqs=[x**2 + y**2 - 4, x - y]))
    assert p is not None and abs(p[0] - p[1]) < 1e-6
    assert feasible_point(POP(x**2)) is not None               # no constraints
    v = sympy.symbols("v0:300")                                 # sparse steps
    pop = POP(sum(v), ineqs=[1 - v[i]**2 - v[i + 1]**2 for i in range(299)],
              eqs=[v[i] - 2 * v[i + 1] ** 2 for i in range(299)])
    p = feasible_point(pop)
    assert p is not None and pop.is_feasible(p)


@pytest.mark.parametrize("solver", ["auto", "clarabel", "cvxopt"])
@pytest.mark.parametrize("text", ["minimize: 1\nsubject to: -1 >= 0",
                                  "maximize: 2\nsubject to: 3 <= 1",
                                  "minimize: 1\nsubject to: 1 == 0"])
def test_constant_problem_with_a_false_constraint_is_infeasible(text, solver):
    """No variable at all and a constant constraint that fails: the relaxation has no free
    variable and the backend decides it by itself; it now hands back the Farkas ray (the
    eigenvector, or the equality's multiplier) for the certify stage to check. Was:
    "inaccurate" ("the solver returned no dual matrices"); found by the POP QA round."""
    from polylip.model.textformat import parse_problem
    res = parse_problem(text).solve(solver=solver, time_limit=30)
    assert res.status == "infeasible" and res.certified, res.message
    assert res.certificate.verify()

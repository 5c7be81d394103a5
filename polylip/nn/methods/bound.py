"""From gradient POPs to one certified bound: build each output functional's POP once per
problem, relax and solve it, add the a-posteriori margin, and take the maximum.

The margin of an SDP bound is the certified one of :func:`polylip.solve.aposteriori.check`
when it applies (every variable of the expanded POP lies in [-1, 1]), the solver's accuracy
(:func:`polylip.solve.aposteriori.soundness_margin`) otherwise; an LP's certificate is checked
by :class:`~polylip.solve.lp.LPRelaxation` itself.

Examples
--------
>>> import numpy as np
>>> from polylip.nn import Network, gradient_pop
>>> net = Network.from_weights([np.array([[1.0, -1.0], [2.0, 1.0]]), np.array([[1.0, 1.0]])])
>>> res, info = solve_gradient_pop(gradient_pop(net, norm="inf"), "sdp", order=2)
>>> res.status, round(res.bound, 6), info["certificate"]["kind"]
('optimal', 3.0, 'certificate')
"""

from __future__ import annotations

import logging
import math
import time

from polylip.errors import ModelError
from polylip.model.pop import POP
from polylip.nn.gradient_pop import GradientPOP, functionals, gradient_pop
from polylip.nn.methods.relax import relax_gradient_pop
from polylip.nn.problem import LipschitzProblem, MethodOutput
from polylip.solve import aposteriori
from polylip.solve.lp import LPRelaxation

__all__ = ["gradient_pops", "solve_gradient_pop", "solve_certified", "run_relaxations",
           "hit_time_limit", "SHOWN_OPTIONS", "check_pop_norm", "check_lp"]

log = logging.getLogger(__name__)

#: The options a relaxation method copies into its ``details`` (when they are plain values,
#: not pattern objects).
SHOWN_OPTIONS = ("order", "degree", "sparsity", "solver", "cuts", "rounds")


def check_pop_norm(problem: LipschitzProblem, options=None) -> None:
    """Refuse an input norm the gradient POP does not support ("shor", "sdp"): the message of
    :func:`~polylip.nn.gradient_pop.gradient_pop`, before anything is built."""
    if problem.norm not in (math.inf, 2.0):
        raise ModelError("gradient_pop supports the input norms inf and 2 (for norm 1 the "
                         "constant is max_i |grad_i|: use method 'exact' or 'product')")


def check_lp(problem: LipschitzProblem, options=None) -> None:
    """Refuse a problem method "lp" does not apply to (see :func:`_lp_pop`), before the
    gradient POPs are built (before, "lp" with norm 2 on 784-500-500-10 built the expanded
    POP, about 2e8 terms, for more than ten minutes before refusing)."""
    if problem.norm != math.inf:
        raise ModelError(_LP_NORM)
    if any(u is None for u in functionals(problem.net)):
        raise ModelError(_LP_FORM)


_LP_NORM = ("method 'lp' needs the l_inf input norm (the l_2 ball is not a polytope); use "
            "'sdp', 'shor' or 'lipsdp'")
_LP_FORM = ("method 'lp' needs the expanded formulation with a fixed output functional (no l_2 "
            "vector output, no lifted formulation)")


def gradient_pops(problem: LipschitzProblem, formulation="auto", max_terms=None) -> list:
    """One gradient POP per output functional of the network (kept in ``problem.cache``)."""
    key = ("gradient_pops", formulation, max_terms)
    if key in problem.cache:
        return problem.cache[key]
    kw = {} if max_terms is None else {"max_terms": max_terms}
    db = problem.bounds.derivative_bounds
    pops = [gradient_pop(problem.net, problem.norm, problem.region, functional=u,
                         formulation=formulation, derivative_bounds=db, **kw)
            for u in functionals(problem.net)]
    problem.cache[key] = pops
    return pops


def hit_time_limit(message) -> bool:
    """Whether a solver's message says it stopped at its time limit (HiGHS: "Time limit
    reached", Clarabel: "MaxTime", column generation: "time limit")."""
    text = str(message or "").lower()
    return "time limit" in text or "maxtime" in text


def _lp_pop(gp: GradientPOP) -> POP:
    if gp.norm != math.inf:
        raise ModelError(_LP_NORM)
    if gp.u or gp.pop.eqs:
        raise ModelError(_LP_FORM)
    return gp.pop


def solve_certified(relaxation, solver, side, tol, time_limit=None):
    """Solve (as :meth:`Relaxation.solve`, other side on failure; ``time_limit`` seconds) and
    check the certificate: ``(SolveOutcome, certificate)`` with the certificate of
    :func:`polylip.solve.aposteriori.check` (None when the solve was not optimal)."""
    outcome = relaxation.solve_detailed(solver=solver, side=side, tol=tol,
                                        time_limit=time_limit)
    return outcome, aposteriori.check(relaxation, outcome)


def solve_gradient_pop(gp: GradientPOP, method: str = "sdp", *, order=None, degree=None,
                       sparsity="network", ts_steps: int = 1, solver: str = "auto",
                       side: str = "auto", tol=None, time_limit=None):
    """Relax and solve one gradient POP; returns ``(Result, info)``.

    ``method``: "sdp" (moment-SOS at ``order``) or "lp" (Krivine LP at ``degree``).
    ``time_limit`` (seconds) is handed to the solve (:meth:`Relaxation.solve`, every backend
    honours it); a stopped solve is not optimal, so it carries no bound.
    """
    t0 = time.perf_counter()
    if method == "lp":
        pop = _lp_pop(gp)
        if isinstance(sparsity, str) and sparsity == "network":
            spars = [list(c) for c in gp.cliques]
        else:
            spars = sparsity
        relaxation = LPRelaxation.build(pop, degree=degree, sparsity=spars)
        info = {"structure": relaxation.sizes}
        res = relaxation.solve(solver=solver, tol=tol, time_limit=time_limit)
    else:
        relaxation = relax_gradient_pop(gp, order=order, sparsity=sparsity, ts_steps=ts_steps)
        info = {"structure": relaxation.sizes}
        outcome, cert = solve_certified(relaxation, solver, side, tol, time_limit)
        res = outcome.result
        info["certificate"] = cert
    info["seconds"] = time.perf_counter() - t0
    return res, info


def run_relaxations(problem: LipschitzProblem, pops, label: str, solve_one, shown: dict,
                    time_limit=None) -> MethodOutput:
    """The certified bound over every functional's POP: ``solve_one(gp, time_left)`` returns
    ``(Result, info)`` for one POP (``time_left`` is None without a ``time_limit``, seconds
    otherwise); the first POP without an optimal solve ends the loop with no bound.

    ``details``: ``relaxations`` (one record per POP: solver status and value, margin and its
    kind, structure, POP summary, ``upper``), ``formulation``, ``margin`` (the largest), and the
    ``shown`` options (those of :data:`SHOWN_OPTIONS` that are plain values).
    """
    best, status, parts = -math.inf, "ok", []
    t_start = time.perf_counter()
    for i, gp in enumerate(pops):
        problem.report(label, i, len(pops))
        left = None
        if time_limit is not None:
            left = time_limit - (time.perf_counter() - t_start)
            if left <= 0:
                status = "time_limit"
                log.warning("%s: time limit reached before relaxation %d of %d", label, i + 1,
                            len(pops))
                best = None
                break
        objective = gp.pop.objective
        if objective.degree == 0:
            # a constant objective (every neuron stable off over the region: the zero
            # polynomial) is its own maximum over the non-empty feasible set; no relaxation
            # (the LP one raised "an explicit sparsity needs at least one non-empty clique"
            # and "lp" reported status "unreachable" for a constant 0)
            value = objective.constant_term()
            parts.append({"status": "optimal", "bound": value, "seconds": 0.0, "solver": None,
                          "side": None, "structure": {}, "pop": gp.summary(),
                          "accuracy": 0.0, "margin": 0.0, "margin_kind": "constant",
                          "upper": value})
            best = max(best, value)
            continue
        res, info = solve_one(gp, left)
        margin = aposteriori.soundness_margin(res)
        cert = info.get("certificate")
        if isinstance(cert, dict) and cert.get("kind") == "certificate" and res.bound is not None:
            # the rigorous a-posteriori bound replaces the solver's value plus its accuracy
            margin = float(cert["value"]) - float(res.bound)
        part = {"status": res.status, "bound": res.bound, "seconds": info["seconds"],
                "solver": res.solver, "side": res.side, "structure": info["structure"],
                "pop": gp.summary(), "accuracy": res.accuracy, "margin": margin,
                "margin_kind": (cert or {}).get("kind", "accuracy") if isinstance(cert, dict)
                else "accuracy"}
        if "cuts" in info:
            part["cuts"] = info["cuts"]
        parts.append(part)
        proven = bool(getattr(res, "certified", False)) or part["margin_kind"] == "certificate"
        if res.status == "optimal" and res.bound is not None and not proven:
            # a bound neither the solve's certificate nor the a-posteriori check proves is
            # the solver's number: no upper bound from it ("numerical only"), whatever margin
            # its accuracy suggests (the margin stays on proven bounds, as before)
            part["proven"] = False
            status = "inaccurate"
            log.warning("%s: relaxation %d of %d: the bound %.8g is numerical only (%s)", label,
                        i + 1, len(pops), float(res.bound), res.message)
            best = None
            break
        if res.status != "optimal" or res.bound is None:
            status = res.status if res.status != "optimal" else "failed"
            if time_limit is not None and hit_time_limit(res.message):
                status = "time_limit"
            log.warning("%s: relaxation %d of %d ended with status %s (%s)", label, i + 1,
                        len(pops), res.status, res.message)
            best = None
            break
        part["upper"] = float(res.bound) + margin
        best = max(best, part["upper"])
    details = {"relaxations": parts, "formulation": pops[0].formulation,
               "margin": max((p.get("margin", 0.0) for p in parts), default=0.0)}
    details.update({k: v for k, v in shown.items() if k in SHOWN_OPTIONS
                    and not hasattr(v, "kind")})
    if best is None:
        return MethodOutput(upper=None, status=status, details=details)
    return MethodOutput(upper=best, status="ok", details=details)

"""Method ``"lipsdp"``: LipSDP-Neuron over the region's slope bounds (the SDP itself is
:func:`polylip.nn.lipsdp.lipsdp_neuron`), l_2 input norm only.

With a scalar or margin output the details also say where the *formal* constant lies:
``formal_lower`` is the gradient norm of the best vertex slope pattern found
(:func:`polylip.nn.formal.formal_pattern_lower`, 0.03 s on the 64-200-200-200-10 digits MLP),
below which LipSDP, like every relaxation over slope bounds, cannot go; ``formal_gap`` is the
bound's relative excess over it. On that MLP (margin 3-8) LipSDP's 33.65 is 2.0% above the
formal pattern's 32.98 but 7% above the best attained lower bound: the gap left is the formal
constant's over the true one (benchmarks/RESULTS.md, "Global l_2 at MNIST scale").

Examples
--------
>>> import numpy as np
>>> from polylip.nn import Network, lipschitz
>>> net = Network.from_weights([np.eye(2), np.array([[1.0, 1.0]])])
>>> res = lipschitz(net, norm=2, method="lipsdp", lower=False,
...                 options=LipSDPOptions(solver="clarabel"))
>>> round(res.upper, 4), round(res.details["formal_lower"], 4)
(1.4142, 1.4142)
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace

from polylip.errors import ModelError
from polylip.nn.formal import formal_pattern_lower
from polylip.nn.gradient_pop import functional_networks
from polylip.nn.lipsdp import FORMS, lipsdp_neuron
from polylip.nn.methods.base import DEFAULT_TIME_LIMIT, MethodOptions, integer, name, number, one_of
from polylip.nn.problem import LipschitzProblem, MethodOutput

__all__ = ["LipSDPOptions", "lipsdp", "check"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LipSDPOptions(MethodOptions):
    """Options of method "lipsdp": ``form`` ("auto": by size, see
    :func:`polylip.nn.lipsdp.choose_form`; "dense", "chordal", "structured"), ``solver`` for
    the SDP forms ("auto": CVXOPT for "dense", then Clarabel if CVXOPT gives no bound;
    Clarabel alone when a slope range is a single value, and for "chordal"), ``tol``,
    ``time_limit`` (seconds; "structured" then certifies its current multipliers),
    ``max_iters`` (the solver's iteration limit, None: its default; a work limit, what
    deterministic "auto" sets: "structured" then certifies its current multipliers too)."""

    method = "lipsdp"
    form: str = one_of("auto", ("auto",) + FORMS)
    solver: str = name("auto", what="'auto', 'clarabel' or a PICOS solver name such as 'cvxopt'")
    tol: float | None = number(None, low=0, low_open=True, optional=True)
    time_limit: float | None = number(DEFAULT_TIME_LIMIT, low=0, low_open=True, optional=True)
    max_iters: int | None = integer(None, low=1, optional=True)


def _one(net, db, options) -> dict:
    """LipSDP-Neuron of one network (scalar, margin or l_2 vector output); with the dense form
    and ``solver="auto"`` Clarabel after CVXOPT if CVXOPT gives no bound."""
    kw = dict(form=options.form, tol=options.tol, time_limit=options.time_limit,
              max_iters=options.max_iters)
    out = lipsdp_neuron(net, db, solver=options.solver, **kw)
    if (options.solver == "auto" and out.get("form") == "dense" and out["bound"] is None
            and out.get("solver") != "clarabel"):
        log.info("lipsdp: %s ended %s (%s); trying Clarabel", out.get("solver"), out["status"],
                 out.get("message"))
        first = out
        out = lipsdp_neuron(net, db, solver="clarabel", **kw)
        out["cvxopt"] = {k: first.get(k) for k in ("status", "message", "seconds")}
    return out


def check(problem: LipschitzProblem, options: LipSDPOptions | None = None) -> None:
    """Refuse a problem "lipsdp" does not apply to (an input norm other than l_2)."""
    if problem.norm != 2.0:
        raise ModelError("method 'lipsdp' bounds the l_2 constant: use norm=2")


def lipsdp(problem: LipschitzProblem, options: LipSDPOptions) -> MethodOutput:
    """LipSDP-Neuron over the region's slope bounds (see :mod:`polylip.nn.lipsdp`).

    With the dense form and ``solver="auto"``: CVXOPT, then Clarabel if CVXOPT gives no bound
    (CVXOPT fails, "domain error" after 3-49 s on two neurons, on single-valued slope ranges,
    where :func:`~polylip.nn.lipsdp.lipsdp_neuron` picks Clarabel itself;
    tests/nn/test_deep_regressions.py).

    A vector output measured in l_inf or l_1 (``"vector:inf"``): the l_2 -> l_inf constant is
    ``max_i`` of the l_2 constants of the functionals ``u_i . f`` (``u_i`` the extreme points of
    the dual unit ball, :func:`~polylip.nn.gradient_pop.functionals`), so one LipSDP per
    functional, each with an even share of the time left, and the largest certified bound.
    (Before, "lipsdp" refused these outputs and "auto" returned the product bound: digits MLP,
    ten classes, global l_2: 45.5 against a lower bound of 27.3.)
    """
    check(problem, options)
    t0 = time.perf_counter()
    db = problem.bounds.derivative_bounds
    net = problem.net
    if net.functional() is not None or net.output.norm == 2.0:
        out = _one(net, db, options)
        status = "ok" if out["bound"] is not None else out["status"]
        # within the time limit too (checked between its sweeps, a few ms each on the digits
        # MLPs), so a step given its share is not stopped by its worker's deadline after the SDP
        deadline = None if options.time_limit is None else t0 + options.time_limit
        out.update(formal_details(net, 2.0, db, out["bound"], deadline))
        return MethodOutput(upper=out["bound"], status=status, details=out)
    nets = functional_networks(net)
    t0 = time.perf_counter()
    parts, best, status = [], 0.0, "ok"
    for i, one in enumerate(nets):
        o = options
        if options.time_limit is not None:
            left = options.time_limit - (time.perf_counter() - t0)
            o = replace(options, time_limit=max(left, 1e-9) / (len(nets) - i))
        out = _one(one, db, o)
        parts.append(out)
        problem.report("lipsdp", i + 1, len(nets))
        if out["bound"] is None:
            return MethodOutput(status=out["status"], details={
                "functionals": len(nets), "parts": parts,
                "seconds": time.perf_counter() - t0})
        if out["status"] == "time_limit":
            status = "time_limit"
        best = max(best, float(out["bound"]))
    details = {"functionals": len(nets), "parts": parts, "form": parts[0].get("form"),
               "seconds": time.perf_counter() - t0}
    # a "time_limit" status keeps the bound: each part is certified, short of its optimum
    return MethodOutput(upper=best, status=status, details=details)


def formal_details(net, norm, derivative_bounds, bound, deadline=None) -> dict:
    """``formal_lower`` (the best vertex slope pattern's gradient norm, a floor for every
    relaxation over these slope bounds) and ``formal_gap`` (``bound / formal_lower - 1``), or
    nothing for a vector output or a network too large for its default work; ``deadline``
    (a ``time.perf_counter()`` value) stops its ascent between sweeps."""
    found = formal_pattern_lower(net, norm, derivative_bounds, deadline=deadline)
    if found is None or not found.value > 0:
        return {}
    out = {"formal_lower": found.value}
    if bound is not None:
        out["formal_gap"] = bound / found.value - 1.0
    return out

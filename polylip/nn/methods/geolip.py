"""Method ``"geolip"``: GeoLIP's SDP relaxation of the formal l_inf constant over the lifted
layer-wise formulation (Wang, Prakriya and Jha 2022), certified a posteriori (the SDP and its
certificate: :mod:`polylip.nn.geolip`). l_inf input norm; scalar and margin outputs, and
vector outputs in l_inf or l_1 (the maximum over the extreme functionals, one SDP each, each
stopped once it is below the largest: :func:`polylip.nn.geolip.geolip_max`).

Over a box or a ball, neurons of fixed slope (stably on) are eliminated first (``reduce``, on by
default with ``form="auto"`` or ``"structured"``: :mod:`polylip.nn.geolip_reduced`): the same
relaxation on an LMI of inputs plus unstable neurons, certified on the layered LMI. Digits MLP
64-200-200-200-10, box of radius 0.05, margin 3-8 (load 12): 193.715 in 5.7 s (LMI 585 -> 258,
47 iterations) where the layered solve took 81 s to 193.7195; 64-100-100-10: 185.645 in 0.6 s
(LMI 247 -> 123) against 8.6 s.

Examples
--------
>>> import numpy as np
>>> from polylip.nn import Network, lipschitz
>>> net = Network.from_weights([np.array([[1.0, -1.0], [2.0, 1.0]]), np.array([[1.0, 1.0]])])
>>> res = lipschitz(net, norm="inf", method="geolip", lower=False)
>>> round(res.upper, 2), res.details["form"]   # the formal constant is 3
(3.34, 'dense')
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from polylip.errors import ModelError
from polylip.nn.geolip import FORMS, geolip_max
from polylip.nn.geolip_reduced import reduced_geolip
from polylip.nn.gradient_pop import functionals, scalar_network
from polylip.nn.methods.base import DEFAULT_TIME_LIMIT, MethodOptions, flag, integer, name, number, one_of
from polylip.nn.problem import LipschitzProblem, MethodOutput

__all__ = ["GeoLIPOptions", "geolip", "scalar_network", "check"]


@dataclass(frozen=True)
class GeoLIPOptions(MethodOptions):
    """Options of method "geolip": ``form`` ("auto": "dense" for small LMIs, else
    "structured"; see :func:`polylip.nn.geolip.choose_form`), ``solver`` for "dense" (default
    Clarabel), ``tol``, ``time_limit`` (seconds for all functionals together; "structured" then
    certifies its current multipliers), ``max_iters``, ``reduce`` (eliminate the neurons of fixed
    slope over a local region first: :mod:`polylip.nn.geolip_reduced`; not with
    ``form="dense"``)."""

    method = "geolip"
    form: str = one_of("auto", ("auto",) + FORMS)
    solver: str = name("clarabel", what="'clarabel', 'auto' or a PICOS solver name")
    tol: float | None = number(None, low=0, low_open=True, optional=True)
    time_limit: float | None = number(DEFAULT_TIME_LIMIT, low=0, low_open=True, optional=True)
    max_iters: int | None = integer(None, low=1, optional=True)
    reduce: bool = flag(True)


def _reduced_max(nets, db, o, t0, problem):
    """The maximum over the functionals of the reduced solve (:mod:`polylip.nn.geolip_reduced`),
    each with an even share of the time left; a functional it does not apply to or does not
    certify goes to :func:`polylip.nn.geolip.geolip_max` with the time it has left."""
    best, parts, status = -np.inf, [], "ok"
    for i, one in enumerate(nets):
        left = None
        if o.time_limit is not None:
            left = max(o.time_limit - (time.perf_counter() - t0), 1e-9) / (len(nets) - i)
        started = time.perf_counter()
        out = reduced_geolip(one, db, tol=1e-7 if o.tol is None else o.tol,
                             max_iters=100 if o.max_iters is None else o.max_iters,
                             time_limit=left)
        if out is None or out["bound"] is None:
            if left is not None:
                left = max(left - (time.perf_counter() - started), 1e-9)
            bound, sub, st = geolip_max([one], db, form=o.form, solver=o.solver, tol=o.tol,
                                        time_limit=left, max_iters=o.max_iters)
            out = sub[0]
        parts.append(out)
        problem.report("geolip", i + 1, len(nets))
        if out["bound"] is None:
            return None, parts, out["status"]
        if out["status"] == "time_limit":
            status = "time_limit"
        best = max(best, out["bound"])
    return float(best), parts, status


def check(problem: LipschitzProblem, options: GeoLIPOptions | None = None) -> None:
    """Refuse a problem "geolip" does not apply to (an input norm other than l_inf, an l_2
    vector output)."""
    if problem.norm != np.inf:
        raise ModelError("method 'geolip' bounds the l_inf constant: use norm='inf'")
    us = functionals(problem.net)
    if len(us) == 1 and us[0] is None:
        raise ModelError("method 'geolip' needs a scalar, margin, or l_inf / l_1 vector output")


def geolip(problem: LipschitzProblem, options: GeoLIPOptions) -> MethodOutput:
    """GeoLIP's certified bound over the region's slope ranges (global: [0, 1] per ReLU;
    local: interval bounds), the maximum over the output's functionals."""
    check(problem, options)
    net = problem.net
    us = functionals(net)
    db = problem.bounds.derivative_bounds
    o = options
    t0 = time.perf_counter()
    nets = [net if len(us) == 1 and net.functional() is not None else scalar_network(net, u)
            for u in us]
    reduce = o.reduce and o.form != "dense" and problem.region.center is not None
    if reduce:
        best, parts, status = _reduced_max(nets, db, o, t0, problem)
    else:
        # several functionals: each stops once it is below the largest (geolip_max)
        best, parts, status = geolip_max(nets, db, form=o.form, solver=o.solver, tol=o.tol,
                                         time_limit=o.time_limit, max_iters=o.max_iters,
                                         report=lambda i: problem.report("geolip", i, len(us)))
    details = dict(parts[0]) if len(parts) == 1 else {
        "functionals": len(us), "parts": parts,
        "form": parts[0].get("form") if parts else None}
    details["seconds"] = time.perf_counter() - t0
    if len(parts) < len(us) or any(p["bound"] is None for p in parts):
        return MethodOutput(upper=None, status=status if status != "ok" else "failed",
                            details=details)
    # a "time_limit" status keeps the (certified) bound: it is valid, short of the optimum
    return MethodOutput(upper=float(best), status=status, details=details)

"""Lipschitz method ``"milp"``: the formal constant by mixed-integer LP (branch and bound, HiGHS).

The gradient-norm POP of a network is maximized over vertices: the input direction ``t`` at a
vertex of the dual ball (l_inf: ``t`` in {-1, 1}^n; l_1: ``t = +-e_i``) and every activation
derivative at an end of its range (``s = lo + (hi - lo) z``, ``z`` binary). Products of a binary
``z`` and a bounded continuous value are represented *exactly* by four linear inequalities
(McCormick with a binary factor), so the POP becomes a mixed-integer LP whose optimum is the
*formal* constant, the same number method ``"dp"`` computes (the LipMIP idea of Jordan and
Dimakis, 2020, here on LiPopt's formal problem). scipy's HiGHS (``scipy.optimize.milp``) solves
it by branch and bound.

The model and its solve are :mod:`polylip.nn.methods.milp_model`. Measured on the CertDNN
networks, its orientation (the products at the neurons, the objective linear) closes far
faster than the backward one (``|g_i|`` split by a binary per input): width 40, sparsity 40,
seed 2 in 34 s against no convergence in 120 s.

**What the bound means.** HiGHS reports its *dual bound*, the largest LP-relaxation value over
the open branch-and-bound nodes; every vertex's value is at most it. With ``status="ok"`` the
gap to the best vertex found is within ``gap`` (relative, default 1e-4). When the time limit
ends the search first, the dual bound is still a valid upper bound and is returned with
``status="time_limit"`` (``details["gap"]`` says how far it is from the best vertex found); if
HiGHS ends without a finite dual bound, ``upper`` is None. A margin of ``1e-6 (1 + |bound|)``
is added for HiGHS's feasibility tolerances (1e-7 on the LP rows; the formal constants it is
tested on agree with "dp" to within 1e-9 relative). ``details["formal_lower"]`` is the exact
value (recomputed with numpy) of the best vertex found: a lower bound on the formal constant,
not on the Lipschitz constant, so no ``lower`` is returned.

**The true local constant** (``constant="true"``, the default over a box or a ball when every
activation is ReLU-type): the derivative binaries are tied to an input ``x`` of the region by
the exact big-M encoding of each unstable neuron
(:func:`polylip.nn.methods.milp_model._add_forward`), so only patterns some
input realizes count. Every gradient at a point of the region is feasible, so the optimum is at
least the true local constant; a pattern is admitted at ``z = 0`` on either side, which can only
add value. The MILP's input ``x`` is returned as ``witness`` with ``lower``, the local constant
measured there.

When to use it: the formal constant of networks whose elimination width is too large for "dp"
(dense or wide layers), when branch and bound can close the gap. Cost grows with the number of
unstable neurons; beyond a few hundred, expect ``status="time_limit"`` and a loose dual bound.
The l_2 input norm (a convex quadratic to maximize) is not a mixed-integer LP: use "dp",
"lipsdp" or "sdp".

Examples
--------
>>> import numpy as np
>>> from polylip.nn import Network, lipschitz
>>> net = Network.from_weights([np.array([[1.0, -1.0], [2.0, 1.0]]), np.array([[1.0, 1.0]])])
>>> res = lipschitz(net, norm="inf", method="milp", lower=False)
>>> round(res.upper, 4), res.status, res.details["formal_lower"]
(3.0, 'ok', 3.0)
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from polylip.errors import ModelError
from polylip.nn.gradient_pop import functionals
from polylip.nn.methods.base import MethodOptions, choice, number
from polylip.nn.methods.milp_model import (FormalMILP, MILPSolution, formal_milp,
                                          realizable_activations, solve_formal_milp)
from polylip.nn.problem import LipschitzProblem, MethodOutput

__all__ = ["MILPOptions", "milp", "MILP_MARGIN", "FormalMILP", "MILPSolution", "formal_milp",
           "solve_formal_milp", "realizable_activations"]

log = logging.getLogger(__name__)

#: Relative safety margin added to HiGHS's dual bound (its LP tolerances are 1e-7).
MILP_MARGIN = 1e-6


@dataclass(frozen=True)
class MILPOptions(MethodOptions):
    """Options of method "milp".

    ``time_limit``: seconds for all functionals together (None: no limit); at the limit the
    dual bound so far is returned with ``status="time_limit"``. ``gap``: relative gap at which
    HiGHS stops (the bound is then within ``gap`` of the constant). ``constant``: ``"formal"``
    (every pattern in the derivative ranges), ``"true"`` (the pattern tied to an input of the
    region: a box or a ball, ReLU-type activations), or ``"auto"`` (``"true"`` where it
    applies, else ``"formal"``).
    """

    method = "milp"
    time_limit: float | None = number(60.0, low=0, low_open=True, optional=True,
                                      allowed="positive seconds or None")
    gap: float = number(1e-4, low=0, high=1, high_open=True)
    constant: str = choice("auto", "auto", "formal", "true")


def _csr(W):
    return sp.csr_matrix(W) if sp.issparse(W) else sp.csr_matrix(np.asarray(W, dtype=float))


def _vertex(model: FormalMILP, x: np.ndarray, derivative_bounds):
    """The input direction and derivative pattern of a MILP point (binaries rounded)."""
    tau = np.round(x[model.t_cols])
    if model.norm == math.inf:
        t = 2.0 * tau - 1.0
    else:
        n0 = tau.size // 2
        t = tau[:n0] - tau[n0:]
    pattern = []
    for (dlo, dhi), zc, free in zip(derivative_bounds, model.z_cols, model.z_index):
        s = np.asarray(dlo, float).copy()
        s[free] = s[free] + (np.asarray(dhi, float)[free] - s[free]) * np.round(x[zc])
        pattern.append(s)
    return t, pattern


def _vertex_value(net, functional, t, pattern) -> float:
    """``u^T W_{L+1} diag(s_L) ... diag(s_1) W_1 t`` in floating point (numpy)."""
    v = np.asarray(t, float)
    layers = net.affine_layers
    for (W, _), s in zip(layers[:-1], pattern):
        v = s * (_csr(W) @ v)
    return float(np.asarray(functional, float) @ (_csr(layers[-1][0]) @ v))


def milp(problem: LipschitzProblem, options: MILPOptions) -> MethodOutput:
    """The formal constant (the gradient POP's optimum), or over a box or a ball the true
    local constant, by branch and bound (see :class:`MILPOptions`)."""
    time_limit, gap = options.time_limit, options.gap
    t0 = time.perf_counter()
    constant = _which_constant(problem, options.constant)
    if problem.norm not in (math.inf, 1.0):
        raise ModelError("method 'milp' supports the input norms inf and 1 (the l_2 constant "
                         "maximizes a convex quadratic: use 'dp', 'lipsdp' or 'sdp')")
    fs = functionals(problem.net)
    if any(u is None for u in fs):
        raise ModelError("method 'milp' needs a fixed output functional: an l_2 vector output "
                         "is not supported (use 'sdp' or 'lipsdp')")
    db = problem.bounds.derivative_bounds
    forward = None
    if constant == "true":
        x_lo, x_hi = problem.region.input_box()
        forward = (x_lo, x_hi, problem.bounds.pre_lo, problem.bounds.pre_hi)
    attained = None  # largest local constant at an input the MILP found (a lower bound)
    parts, statuses = [], []
    best_vertex = (-math.inf, None, None)
    upper = -math.inf
    for k, u in enumerate(fs):
        problem.report("milp", k, len(fs))
        left = None if time_limit is None else time_limit - (time.perf_counter() - t0)
        if left is not None and left <= 0:
            statuses.append("time_limit")
            upper = None
            break
        model = formal_milp(problem.net, problem.norm, db, u, forward=forward)
        sol = solve_formal_milp(model, time_limit=left, gap=gap)
        part = {"status": sol.status, "dual_bound": sol.dual_bound, "gap": sol.gap,
                "nodes": sol.nodes, "seconds": sol.seconds, "shape": model.shape,
                "message": sol.message}
        if sol.x is not None:
            t, pattern = _vertex(model, sol.x, db)
            value = _vertex_value(problem.net, u, t, pattern)
            part["vertex_value"] = value
            if value > best_vertex[0]:
                best_vertex = (value, t, pattern)
            if model.x_cols is not None:
                x = problem.region.project(sol.x[model.x_cols][None, :])[0]
                here = float(problem.net.local_lipschitz(x[None, :], problem.norm)[0])
                if attained is None or here > attained[0]:
                    attained = (here, x)
        parts.append(part)
        statuses.append(sol.status)
        if sol.dual_bound is None or upper is None:
            upper = None
        else:
            bound = max(sol.dual_bound, part.get("vertex_value", -math.inf))
            upper = max(upper, bound + MILP_MARGIN * (1.0 + abs(bound)))
        log.info("milp functional %d/%d: %s, dual bound %s, %d nodes, %.2fs", k + 1, len(fs),
                 sol.status, sol.dual_bound, sol.nodes, sol.seconds)
    if all(s == "optimal" for s in statuses) and len(statuses) == len(fs):
        status = "ok"
    elif "failed" in statuses:
        status = "failed"
    else:
        status = "time_limit"
    if status == "failed":
        upper = None
    formal_lower = best_vertex[0] if best_vertex[1] is not None else None
    details = {"constant": constant, "formal_lower": formal_lower if constant == "formal"
               else None, "vertex_value": formal_lower, "gap": gap, "time_limit": time_limit,
               "milp_seconds": time.perf_counter() - t0, "functionals": len(fs),
               "parts": parts}
    if best_vertex[1] is not None:
        details["t"], details["pattern"] = best_vertex[1], best_vertex[2]
    if upper is None:
        details["message"] = ("no bound: " + "; ".join(p["message"] for p in parts)
                              if parts else "no bound: the time limit was reached")
    elif status == "time_limit":
        details["message"] = (f"time limit {time_limit} s reached: the bound is HiGHS's dual "
                              f"bound, {upper - (formal_lower or 0):.3g} above the best vertex")
    lower, witness = (None, None) if attained is None else attained
    return MethodOutput(upper=None if upper is None else float(upper), lower=lower,
                        witness=witness, status=status, details=details)


def _which_constant(problem: LipschitzProblem, constant: str) -> str:
    """Resolve the ``constant`` option of method "milp" (see :class:`MILPOptions`)."""
    local = problem.region.input_box() is not None
    if constant == "auto":
        return "true" if local and realizable_activations(problem.net) else "formal"
    if constant == "true":
        if not local:
            raise ModelError("method 'milp' with constant='true' needs a bounded region (a box "
                             "or a ball): globally every activation pattern is realizable")
        if not realizable_activations(problem.net):
            raise ModelError("method 'milp' with constant='true' needs ReLU-type activations "
                             "(relu, leaky_relu with alpha <= 1): "
                             f"{[a.spec() for a in problem.net.activations]}")
    return constant

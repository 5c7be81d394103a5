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
activation is ReLU-type) is the largest gradient norm over the points of the region where the
network is differentiable: the largest value of a pattern whose cell has interior in the
region. The derivative binaries are tied to an input ``x`` of the region by the exact big-M
encoding of each unstable neuron (:func:`polylip.nn.methods.milp_model._add_forward`), which
admits ``z = 0`` on either side: so the MILP also counts patterns realized only on the kinks
(where coincident or concurrent hyperplanes meet, common with integer or pruned weights), and
its optimum can exceed the true constant (issue 12 item 6: 8 against 5). So every pattern
HiGHS returns is checked by a margin LP (the test of method "exact",
:mod:`polylip.nn.methods.milp_cells`); one without interior is cut and the MILP solved again,
with a margin MILP (``z >= delta`` / ``z <= -delta``) solved once for a witness and an
objective cutoff, and neurons with proportional rows tied from the start. :func:`_solve_true`
gives the argument that the bound stays an upper bound. ``lower`` is the local constant at a
point of differentiability found by the MILPs (the interior point of a checked cell,
measured with the network's own gradient: :func:`polylip.nn.lower.differentiable_witness`),
``witness`` that point.

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
from polylip.nn.lower import differentiable_witness
from polylip.nn.methods import milp_cells as cells
from polylip.nn.methods.base import MethodOptions, choice, integer, number
from polylip.nn.methods.milp_model import (FormalMILP, MILPSolution, formal_milp,
                                          realizable_activations, solve_formal_milp)
from polylip.nn.problem import LipschitzProblem, MethodOutput

__all__ = ["MILPOptions", "milp", "MILP_MARGIN", "FormalMILP", "MILPSolution", "formal_milp",
           "solve_formal_milp", "realizable_activations", "check"]

log = logging.getLogger(__name__)

#: Relative safety margin added to HiGHS's dual bound (its LP tolerances are 1e-7).
MILP_MARGIN = 1e-6
#: Largest pre-activation magnitude over the region for which the true-constant MILP is
#: built. Rounding of numbers of size M is about 2e-16 M, and HiGHS's primal feasibility
#: tolerance is 1e-7 absolute: with pre-activation bounds of 2.25e9 (a 2-4-1 network over a
#: box of radius 1e9) HiGHS returned "optimal" 0.574 where the true constant is 0.9431 (QA
#: round 4; right at 2.25e8). Above it, constant="auto" bounds the formal constant (its MILP
#: has no input columns) and constant="true" gives no bound.
MAX_BIG_M = 1e8


@dataclass(frozen=True)
class MILPOptions(MethodOptions):
    """Options of method "milp".

    ``time_limit``: seconds for all functionals together (None: no limit), shared: each
    functional gets the time left divided by the functionals left (what one leaves goes to the
    next); at the limit the dual bounds so far are returned with ``status="time_limit"``.
    ``node_limit``: branch-and-bound nodes for all functionals and rounds together, shared the
    same way (a work limit: the same result on every run and machine load, what deterministic
    mode uses; None: no limit); stopped there, likewise ``status="time_limit"``. ``gap``:
    relative gap at which
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
    node_limit: int | None = integer(None, low=1, optional=True)


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


def check(problem: LipschitzProblem, options: MILPOptions | None = None) -> str:
    """Refuse a problem "milp" does not apply to (the l_2 input norm, an l_2 vector output,
    ``constant="true"`` without a bounded region or ReLU-type activations); returns the
    constant it bounds ("formal" or "true")."""
    constant = _which_constant(problem, (options or MILPOptions()).constant)
    if problem.norm not in (math.inf, 1.0):
        raise ModelError("method 'milp' supports the input norms inf and 1 (the l_2 constant "
                         "maximizes a convex quadratic: use 'dp', 'lipsdp' or 'sdp')")
    if any(u is None for u in functionals(problem.net)):
        raise ModelError("method 'milp' needs a fixed output functional: an l_2 vector output "
                         "is not supported (use 'sdp' or 'lipsdp')")
    return constant


def milp(problem: LipschitzProblem, options: MILPOptions) -> MethodOutput:
    """The formal constant (the gradient POP's optimum), or over a box or a ball the true
    local constant, by branch and bound (see :class:`MILPOptions`)."""
    time_limit, gap = options.time_limit, options.gap
    t0 = time.perf_counter()
    constant = check(problem, options)
    fs = functionals(problem.net)
    db = problem.bounds.derivative_bounds
    forward = None
    if constant == "true":
        x_lo, x_hi = problem.region.input_box()
        forward = (x_lo, x_hi, problem.bounds.pre_lo, problem.bounds.pre_hi)
        big = max((float(np.max(np.abs(np.r_[lo, hi]), initial=0.0))
                   for lo, hi in zip(problem.bounds.pre_lo, problem.bounds.pre_hi)), default=0.0)
        if big > MAX_BIG_M:
            why = (f"the pre-activations reach {big:.3g} over the region, above {MAX_BIG_M:g}: "
                   "the big-M rows of the true-constant MILP are beyond HiGHS's absolute "
                   "tolerances there")
            if options.constant == "true":
                return MethodOutput(upper=None, status="failed", details={
                    "constant": "true", "message": f"no bound: {why}"})
            log.info("milp: %s; bounding the formal constant instead", why)
            constant, forward = "formal", None
    witnesses = []  # (local constant, input) at points of differentiability the MILPs found
    cuts = []  # patterns without interior, shared by the functionals (constant="true")
    parts, statuses = [], []
    best_vertex = (-math.inf, None, None)
    upper = -math.inf
    nodes_used = 0
    for k, u in enumerate(fs):
        problem.report("milp", k, len(fs))
        # the time and nodes left are shared by the functionals left: each gets its share,
        # and what one does not use goes to the next (a deadline for the whole method)
        share = None if time_limit is None else \
            (time_limit - (time.perf_counter() - t0)) / (len(fs) - k)
        nodes = None if options.node_limit is None else \
            (options.node_limit - nodes_used) // (len(fs) - k)
        if (share is not None and share <= 0) or (nodes is not None and nodes < 1):
            statuses.append("time_limit")
            upper = None  # a functional without a bound: no bound on their maximum
            break
        if constant == "true":
            bound, st, part = _solve_true(problem, u, db, forward, share, gap, cuts, witnesses,
                                          nodes)
            if "t" in part:
                t, pattern = part.pop("t"), part.pop("pattern")
                if part["vertex_value"] > best_vertex[0]:
                    best_vertex = (part["vertex_value"], t, pattern)
        else:
            built = time.perf_counter()
            model = formal_milp(problem.net, problem.norm, db, u)
            share = None if share is None else share - (time.perf_counter() - built)
            if share is not None and share <= 0:  # building used this functional's share
                statuses.append("time_limit")
                upper = None
                break
            sol = solve_formal_milp(model, time_limit=share, gap=gap, node_limit=nodes)
            part = {"status": sol.status, "dual_bound": sol.dual_bound, "gap": sol.gap,
                    "nodes": sol.nodes, "seconds": sol.seconds, "shape": model.shape,
                    "message": sol.message}
            st, bound = sol.status, sol.dual_bound
            if sol.x is not None:
                t, pattern = _vertex(model, sol.x, db)
                value = _vertex_value(problem.net, u, t, pattern)
                part["vertex_value"] = value
                if value > best_vertex[0]:
                    best_vertex = (value, t, pattern)
        parts.append(part)
        statuses.append(st)
        nodes_used += part["nodes"]
        if bound is None or upper is None:
            upper = None
        else:
            bound = max(bound, part.get("vertex_value", -math.inf))
            upper = max(upper, bound + MILP_MARGIN * (1.0 + abs(bound)))
        log.info("milp functional %d/%d: %s, bound %s, %d nodes, %.2fs", k + 1, len(fs),
                 st, bound, part["nodes"], part["seconds"])
    if all(s == "optimal" for s in statuses) and len(statuses) == len(fs):
        status = "ok"
    elif "failed" in statuses:
        status = "failed"
    elif "time_limit" in statuses or len(statuses) < len(fs):
        status = "time_limit"
    else:
        status = "not_closed"  # a valid bound, but a later round neither closed nor timed out
    if status == "failed":
        upper = None
    attained = _attained(problem, witnesses)
    contradicted = upper is not None and attained is not None and \
        upper < attained - MILP_MARGIN * (1.0 + abs(attained))
    if contradicted:
        # a local constant measured at a point of differentiability of the region is a value
        # every bound must reach: HiGHS's answer (a dual bound, or "infeasible" above a
        # cutoff) is wrong, so no bound is claimed
        log.warning("milp: HiGHS's bound %.9g lies below the local constant %.9g attained "
                    "in the region; no bound returned", upper, attained)
        status, upper = "failed", None
    formal_lower = best_vertex[0] if best_vertex[1] is not None else None
    details = {"constant": constant, "formal_lower": formal_lower if constant == "formal"
               else None, "vertex_value": formal_lower, "gap": gap, "time_limit": time_limit,
               "node_limit": options.node_limit, "nodes": nodes_used,
               "milp_seconds": time.perf_counter() - t0, "functionals": len(fs),
               "parts": parts}
    if best_vertex[1] is not None:
        details["t"], details["pattern"] = best_vertex[1], best_vertex[2]
    if contradicted:
        details["message"] = ("no bound: HiGHS's bound lies below the local constant "
                              f"{attained:.9g} attained at a point of the region (a solver "
                              "error)")
    elif upper is None:
        details["message"] = ("no bound: " + "; ".join(p["message"] for p in parts)
                              if parts else "no bound: the time limit was reached")
    elif status == "time_limit":
        limit = (f"time limit {time_limit} s" if options.node_limit is None else
                 f"limit ({time_limit} s, {options.node_limit} nodes)")
        details["message"] = (f"{limit} reached: the bound is HiGHS's dual bound, "
                              f"{upper - (formal_lower or 0):.3g} above the best vertex")
    elif status == "not_closed":
        details["message"] = ("not closed: the bound is the smallest valid round's; then: " +
                              "; ".join(p["message"] for p in parts if p.get("message")))
    if constant == "true":
        details["cuts"] = len(cuts)
    lower, witness = max(witnesses, key=lambda w: w[0]) if witnesses else (None, None)
    return MethodOutput(upper=None if upper is None else float(upper), lower=lower,
                        witness=witness, status=status, details=details)


#: Relative margin of the threshold MILP: ``delta = TRUE_MARGIN (U - L)`` per unstable neuron.
TRUE_MARGIN = 1e-4
#: Most patterns cut (each proved to have no interior in the region) per functional.
MAX_CUTS = 1000


def _solve_true(problem, u, db, forward, time_left, gap, cuts, witnesses, node_limit=None):
    """Bound the true local constant for the functional ``u``: HiGHS on the big-M MILP, whose
    patterns are those realized at *some* point of the region (``z = 0`` on either side),
    with every pattern it returns checked by :func:`~polylip.nn.methods.milp_cells.cell`.

    * The MILP's pattern has interior: its dual bound is the answer.
    * It has none (a pattern realized only on the kinks, e.g. where concurrent hyperplanes
      meet): it is cut (:func:`~polylip.nn.methods.milp_cells.cut_row`; the list ``cuts`` is
      shared by the functionals) and the MILP solved again. The first time, the margin MILP
      (``margin=TRUE_MARGIN``) is solved too: its points have every unstable neuron strictly
      on its side, so its pattern has interior (checked again) and its value ``v`` is
      attained; from then on the plain MILP only looks for patterns worth at least the cutoff
      ``v + tau`` (``tau = max(gap |v|, 1e-7 max(1, |v|))``; the margin MILP's dual bound if
      it found no such pattern). Infeasible there, the cutoff is the bound.

    Neurons of one layer with proportional rows are tied from the start
    (:func:`~polylip.nn.methods.milp_cells.coincident`).

    Why it is an upper bound: the true constant is the largest gradient norm over patterns
    with interior in the region (every point of differentiability lies in the closure of such
    a cell, and the gradient there is the cell's). Each such pattern is feasible for the plain
    MILP and is never cut (a cut removes only patterns whose LP margin is at most
    ``MARGIN_TOL``, the resolution "exact" uses; the tied neurons only patterns that break a
    sign identity holding wherever the pair's pre-activation is nonzero, keeping one of the
    same value where it is identically zero), so its value is below the cutoff or within the
    MILP's dual bound; every round's bound is valid, and the smallest is kept. The margin MILP
    itself bounds nothing (it misses open cells thinner than its margin, and cells where a
    deeper pre-activation is identically zero); it only supplies the cutoff and a witness.

    ``time_left`` (seconds) and ``node_limit`` (nodes) bound all its rounds together.
    Appends ``(value, x)`` to ``witnesses`` for each point of differentiability found.
    Returns ``(bound or None, status, part)``.
    """
    net, region, p = problem.net, problem.region, problem.norm
    t0 = time.perf_counter()

    def left():
        return None if time_left is None else time_left - (time.perf_counter() - t0)

    def nodes_left():
        return None if node_limit is None else node_limit - part["nodes"]

    def deadline():
        return None if time_left is None else t0 + time_left

    model = formal_milp(net, p, db, u, forward=forward)
    unstable = model.z_index
    pairs = cells.coincident(net, unstable)
    # HiGHS's presolve in scipy 1.17 (measured) returns a wrong "optimal" (4 for 12) on a model
    # with two identical neurons and d_1 = d_2, and "Solve error" on another; highspy 1.16 and
    # scipy without presolve solve both. So no presolve for networks with repeated rows, nor
    # for the rounds with rows added (cuts, pairs, cutoff); the first round of any other
    # network is the model HiGHS was always given.
    repeated = cells.repeated_rows(net)
    cutoff, threshold, best, rounds = None, None, -math.inf, []
    part = {"shape": model.shape, "nodes": 0, "coincident": len(pairs)}
    bound, status = None, "failed"  # bound: the smallest valid bound of any round

    def keep(b):
        nonlocal bound
        if b is not None and (bound is None or b < bound):
            bound = b

    margin_done = False
    while True:
        lim, nlim = left(), nodes_left()
        if (lim is not None and lim <= 0) or (nlim is not None and nlim < 1):
            status = "time_limit"
            break
        plain = not (repeated or pairs or cuts or cutoff is not None)
        sol = solve_formal_milp(cells.add_rows(model, cuts, cutoff, pairs), time_limit=lim,
                                gap=gap, presolve=plain, node_limit=nlim)
        part["nodes"] += sol.nodes
        rnd = {"status": sol.status, "dual_bound": sol.dual_bound, "cuts": len(cuts),
               "cutoff": cutoff}
        rounds.append(rnd)
        part["message"] = sol.message
        if sol.status == "infeasible" and cutoff is not None:
            keep(cutoff)  # no pattern left above the cutoff
            status = "optimal"
            break
        if sol.status in ("failed", "infeasible") or sol.dual_bound is None:
            # an earlier round's bound stays valid (this round only had more cuts)
            status = "time_limit" if sol.status == "time_limit" else \
                "failed" if bound is None else "not_closed"
            break
        floor = -math.inf if cutoff is None else cutoff
        if sol.x is None:
            keep(max(sol.dual_bound, floor))
            status = sol.status
            break
        t, pattern = _vertex(model, sol.x, db)
        value = _vertex_value(net, u, t, pattern)
        rnd["value"] = value
        keep(max(sol.dual_bound, value, floor))
        try:  # the cell LPs run on the same clock as HiGHS (this round's bound is kept)
            is_open, info = cells.cell(net, region, pattern, unstable, deadline())
        except cells.CellTimeLimit as exc:
            status = "time_limit"
            part["message"] = f"stopped deciding a pattern's cell: {exc}"
            break
        rnd["interior"] = is_open
        if is_open:
            best = max(best, value)
            _witness(problem, info, witnesses)
            part.update(vertex_value=value, t=t, pattern=pattern)
            status = sol.status
            break
        cuts.append(info)
        if sol.status != "optimal":
            status = sol.status
            break
        if best > -math.inf and bound <= best + gap * max(1.0, abs(best)):
            status = "optimal"  # what is left is within the gap of a pattern with interior
            break
        if len(cuts) >= MAX_CUTS:
            status = "not_closed"
            part["message"] = f"{MAX_CUTS} patterns without interior cut, not closed"
            break
        if not margin_done and (nodes_left() is None or nodes_left() >= 1):
            margin_done = True
            lim = left()
            if lim is not None and lim <= 0:
                status = "time_limit"
                break
            margin_model = formal_milp(net, p, db, u, forward=forward, margin=TRUE_MARGIN)
            msol = solve_formal_milp(cells.add_rows(margin_model, cuts, None, pairs),
                                     time_limit=None if lim is None else max(lim, 1e-3),
                                     gap=gap, presolve=False, node_limit=nodes_left())
            part["nodes"] += msol.nodes
            part["margin"] = {"status": msol.status, "dual_bound": msol.dual_bound,
                              "delta": TRUE_MARGIN}
            if msol.x is not None:
                mt, mpat = _vertex(model, msol.x, db)
                mval = _vertex_value(net, u, mt, mpat)
                part["margin"]["value"] = mval
                try:
                    ok, minfo = cells.cell(net, region, mpat, unstable, deadline())
                except cells.CellTimeLimit:  # undecided: neither a witness nor a cutoff
                    ok = False
                part["margin"]["interior"] = ok
                if ok:
                    best = max(best, mval)
                    _witness(problem, minfo, witnesses)
                    part.update(vertex_value=mval, t=mt, pattern=mpat)
            threshold = best if best > -math.inf else msol.dual_bound
            if threshold is not None:
                cutoff = threshold + max(gap * abs(threshold), 1e-7 * max(1.0, abs(threshold)))
                if bound <= cutoff:  # the plain MILP's bound is already as good
                    cutoff = None
    part.update(status=status, dual_bound=bound, rounds=rounds, cuts=len(cuts),
                threshold=threshold, seconds=time.perf_counter() - t0)
    part.setdefault("message", "")
    return bound, status, part


def _attained(problem, witnesses):
    """The largest local constant known to be attained in the region (the lower-bound search's
    and the MILPs' witnesses: gradient norms at points of differentiability), or None."""
    vals = [w[0] for w in witnesses]
    if problem.lower is not None and problem.lower.value is not None:
        vals.append(float(problem.lower.value))
    return max(vals) if vals else None


def _witness(problem, x, witnesses):
    """Record the local constant at a point of differentiability near ``x`` (an interior
    point of a pattern's cell), measured with the network's own gradient."""
    got = differentiable_witness(problem.net, x, problem.region, problem.norm)
    if got is not None:
        witnesses.append(got)


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

"""Method ``"shor"``: the order-1 moment relaxation (Shor's SDP) of a degree-2 formulation of
the gradient POP (the expanded POP of a one-hidden-layer network, the lifted POP otherwise),
dense by default, handed to the solver on the side with fewer free variables (for
binary/spin problems the SOS side); optionally tightened by McCormick (RLT) products of the
objective's terms, all at once (:func:`mccormick`) or as cutting planes (:func:`shor_cuts`).

Examples
--------
>>> import numpy as np
>>> from polylip.nn import Network, lipschitz
>>> net = Network.from_weights([np.array([[1.0, -1.0], [2.0, 1.0]]), np.array([[1.0, 1.0]])])
>>> res = lipschitz(net, norm="inf", method="shor", lower=False,
...                 options=ShorOptions(rlt="cuts", rounds=1))
>>> res.upper >= 3.0 - 1e-9, res.details["rlt"]
(True, 'cuts')
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import numpy as np

from polylip.errors import ModelError
from polylip.model.pop import POP
from polylip.nn.gradient_pop import GradientPOP
from polylip.nn.methods.base import DEFAULT_TIME_LIMIT, MethodOptions, choice, integer, name, number, one_of
from polylip.nn.methods.bound import check_pop_norm, gradient_pops, run_relaxations, solve_certified, \
    solve_gradient_pop
from polylip.nn.methods.relax import PATTERNS, SPARSITIES, relax_gradient_pop
from polylip.nn.problem import LipschitzProblem, MethodOutput
from polylip.poly import Polynomial
from polylip.poly import monomials as mono
from polylip.solve.aposteriori import soundness_margin

__all__ = ["ShorOptions", "shor", "mccormick", "shor_cuts", "SIDES", "FORMULATIONS", "check"]

#: Sides of an SDP relaxation handed to the solver ("auto": the one with fewer free variables).
SIDES = ("auto", "moment", "sos")
#: Gradient-POP formulations ("auto": expanded unless too many terms, see
#: :func:`~polylip.nn.gradient_pop.gradient_pop`).
FORMULATIONS = ("auto", "expanded", "lifted")


@dataclass(frozen=True)
class ShorOptions(MethodOptions):
    """Options of method "shor".

    ``sparsity`` (default "dense"), ``solver``, ``side``, ``formulation`` ("auto": expanded when
    it has degree 2, else lifted), ``tol`` (solver tolerance, None: the backend's);
    ``rlt``: False, True (the McCormick products that bound each objective term from above,
    :func:`mccormick`), "all" (all four per term) or "cuts" (added as cutting planes: ``cuts``
    per round, default the number of inputs, at most ``rounds`` rounds, ``seconds`` of wall
    clock per relaxation; see :func:`shor_cuts`); ``time_limit`` (seconds for the solves
    together, default :data:`~polylip.nn.methods.base.DEFAULT_TIME_LIMIT`, None: no limit; a
    solve stopped by it gives no bound and ``status="time_limit"``; with ``rlt="cuts"`` the
    best round finished before it is kept).
    """

    method = "shor"
    sparsity: object = one_of("dense", SPARSITIES, types=PATTERNS, what="a sparsity pattern")
    solver: str = name("auto")
    side: str = choice("auto", *SIDES)
    formulation: str = choice("auto", *FORMULATIONS)
    tol: float | None = number(None, low=0, low_open=True, optional=True)
    rlt: object = choice(False, False, True, "all", "cuts")
    cuts: int | None = integer(None, low=1, optional=True)
    rounds: int = integer(3, low=0)
    seconds: float | None = number(None, low=0, low_open=True, optional=True)
    time_limit: float | None = number(DEFAULT_TIME_LIMIT, low=0, low_open=True, optional=True)


def _mccormick_candidates(gp: GradientPOP, both: bool = False) -> np.ndarray:
    """Rows ``(x, y, p0, px, q0, qy)``: the products ``(p0 + px x)(q0 + qy y) >= 0`` of bound
    constraints for the objective's degree-2 terms (see :func:`mccormick`)."""
    pop = gp.pop
    names = list(pop.variables)
    spin, binary = set(pop.spin), set(pop.binary)

    def box(v):
        n = names[v]
        return (-1.0, 1.0) if n in spin else (0.0, 1.0) if n in binary else None

    obj = pop.objective
    rows, coeffs = obj.rows, obj.coeffs
    deg = mono.degrees(rows)
    out = []
    for r, a in zip(rows[deg == 2], coeffs[deg == 2]):
        x, y = int(r[0]), int(r[1])
        bx, by = box(x), box(y)
        if x == y or bx is None or by is None or a == 0.0:
            continue
        (lx, ux), (ly, uy) = bx, by
        pairs = []
        if both or a > 0:
            pairs += [((ux, -1.0), (-ly, 1.0)), ((-lx, 1.0), (uy, -1.0))]
        if both or a < 0:
            pairs += [((-lx, 1.0), (-ly, 1.0)), ((ux, -1.0), (uy, -1.0))]
        for (p0, px), (q0, qy) in pairs:
            out.append((x, y, p0, px, q0, qy))
    return np.asarray(out, dtype=float).reshape(-1, 6)


def _with_products(gp: GradientPOP, cands: np.ndarray) -> GradientPOP:
    pop = gp.pop
    P = mono.PAD
    ineqs = list(pop.ineqs)
    for x, y, p0, px, q0, qy in cands:
        x, y = int(x), int(y)
        prow = np.array([[P, P], [x, P], [y, P], [x, y]], dtype=mono.INDEX_DTYPE)
        ineqs.append(Polynomial(pop.variables, prow, np.array([p0 * q0, px * q0, p0 * qy, px * qy])))
    new = POP(pop.objective, ineqs=ineqs, eqs=list(pop.eqs), sense=pop.sense,
              variables=pop.variables, binary=pop.binary, spin=pop.spin)
    return dataclasses.replace(gp, pop=new)


def mccormick(gp: GradientPOP, both: bool = False) -> GradientPOP:
    """The gradient POP plus the McCormick (RLT) products for its degree-2 objective terms.

    For each term ``a x y`` of the objective with ``x`` and ``y`` in boxes (spin ``t`` in
    [-1, 1], binary ``sigma`` in [0, 1]), the products of bound constraints that bound ``a x y``
    from above are added as inequalities: for ``a > 0``, ``(u_x - x)(y - l_y) >= 0`` and
    ``(x - l_x)(u_y - y) >= 0``; for ``a < 0`` the two that bound ``x y`` from below (``both``:
    all four). They are implied on the feasible set (so the bound stays valid) but not by
    Shor's relaxation, which only sees ``|y_ij| <= sqrt(sigma_j)``: at order 1 each is one
    scalar (linear) constraint on the moments, and together with the PSD matrix they tighten
    Shor considerably (CertDNN width 40, sparsity 40: 1.784 against HR-2's 1.897).
    """
    return _with_products(gp, _mccormick_candidates(gp, both))


def shor_cuts(gp: GradientPOP, *, cuts=None, rounds: int = 3, solver="auto", side="auto",
              tol=None, seconds=None, time_limit=None):
    """Shor's relaxation with McCormick products added as cutting planes.

    Solve Shor; evaluate every McCormick product of the objective's terms at the returned
    moments; add the ``cuts`` most violated (default: the number of inputs) and solve again, for
    at most ``rounds`` rounds after the first, until none is violated (by 1e-7), the bound stops
    improving (by 1e-7 relative), or ``seconds`` have passed. ``time_limit`` (seconds) stops
    the solves: a round stopped by it ends the rounds (the best finished round is kept; the
    first stopped gives its "time_limit" result). Each round's certified bound is
    valid; the smallest is returned as ``(Result, info)`` like
    :func:`~polylip.nn.methods.bound.solve_gradient_pop`. A handful of cuts per round keeps each
    SDP as cheap as Shor (scalar constraints), where adding all products at once
    (:func:`mccormick`) makes the solve minutes long at width 80.
    """
    t_start = time.perf_counter()
    cands = _mccormick_candidates(gp)
    if cuts is None:
        cuts = max(8, len(gp.t))
    added = np.zeros(len(cands), dtype=bool)
    best = best_info = None
    best_value = float("inf")
    history = []
    P = mono.PAD
    for rnd in range(int(rounds) + 1):
        g2 = _with_products(gp, cands[added]) if added.any() else gp
        relaxation = relax_gradient_pop(g2, order=1, sparsity="dense")
        left = None if time_limit is None else time_limit - (time.perf_counter() - t_start)
        if left is not None and left <= 0 and best is not None:
            break
        outcome, cert = solve_certified(relaxation, solver, side, tol,
                                        None if left is None else max(left, 1e-9))
        res = outcome.result
        proven = (isinstance(cert, dict) and cert.get("kind") == "certificate") or bool(res.certified)
        if res.status != "optimal" or not proven:
            # (an unproven round gives no bound: run_relaxations reports a first one)
            if best is None:
                return res, {"structure": relaxation.sizes, "certificate": cert,
                             "seconds": time.perf_counter() - t_start, "cuts": history}
            break
        value = cert["value"] if isinstance(cert, dict) and cert.get("kind") == "certificate" \
            else float(res.bound) + soundness_margin(res)
        history.append({"round": rnd, "products": int(added.sum()), "upper": value,
                        "seconds": time.perf_counter() - t_start})
        improved = best is None or value < best_value - 1e-7 * max(1.0, abs(best_value))
        if best is None or value < best_value:
            best, best_value = res, value
            best_info = {"structure": relaxation.sizes, "certificate": cert}
        if not improved or rnd == rounds or (seconds is not None
                                             and time.perf_counter() - t_start > seconds):
            break
        y = relaxation.moment_vector(outcome.lmi, outcome.raw)
        if y is None or len(cands) == 0:
            break
        mom = relaxation.data.moments
        index = {(int(r[0]), int(r[1]) if mom.shape[1] > 1 else P): k for k, r in enumerate(mom)}

        def val(a, b=P):
            key = (min(a, b), max(a, b)) if b != P else (a, P)
            k = index.get(key)
            return np.nan if k is None else y[k]

        X, Y = cands[:, 0].astype(int), cands[:, 1].astype(int)
        mx = np.array([val(a) for a in X])
        my = np.array([val(b) for b in Y])
        mxy = np.array([val(a, b) for a, b in zip(X, Y)])
        p0, px, q0, qy = cands[:, 2], cands[:, 3], cands[:, 4], cands[:, 5]
        viol = -(p0 * q0 + px * q0 * mx + p0 * qy * my + px * qy * mxy)
        viol[added | ~np.isfinite(viol)] = -np.inf
        pick = np.argsort(-viol)[:int(cuts)]
        pick = pick[viol[pick] > 1e-7]
        if pick.size == 0:
            break
        added[pick] = True
    best_info["seconds"] = time.perf_counter() - t_start
    best_info["cuts"] = history
    if best_info.get("certificate") is None or not isinstance(best_info["certificate"], dict):
        best_info["certificate"] = None
    return best, best_info


def check(problem: LipschitzProblem, options: ShorOptions | None = None) -> None:
    """Refuse what "shor" does not apply to (the l_1 input norm; ``rlt="cuts"`` with a
    sparsity other than "dense"), before the gradient POPs are built."""
    check_pop_norm(problem)
    o = options or ShorOptions()
    if o.rlt == "cuts" and not (isinstance(o.sparsity, str) and o.sparsity == "dense"):
        raise ModelError("rlt='cuts' uses the dense Shor relaxation")


def shor(problem: LipschitzProblem, options: ShorOptions) -> MethodOutput:
    """Shor's relaxation: order 1 of a degree-2 formulation of the gradient POP (see
    :class:`ShorOptions` for ``rlt``)."""
    o = options
    check(problem, o)
    pops = gradient_pops(problem, formulation="expanded" if o.formulation == "auto"
                         else o.formulation)
    if o.formulation == "auto" and any(gp.pop.degree > 2 for gp in pops):
        pops = gradient_pops(problem, formulation="lifted")
    if any(gp.pop.degree > 2 for gp in pops):
        raise ModelError("the Shor relaxation needs a degree-2 formulation: use "
                         "formulation='lifted' or method 'sdp'")
    if o.rlt == "cuts":
        out = run_relaxations(
            problem, pops, "shor",
            lambda gp, left: shor_cuts(gp, cuts=o.cuts, rounds=o.rounds, solver=o.solver,
                                       side=o.side, tol=o.tol, seconds=o.seconds,
                                       time_limit=left),
            shown=dict(cuts=o.cuts, rounds=o.rounds, solver=o.solver), time_limit=o.time_limit)
        out.details["rlt"] = o.rlt
        return out
    if o.rlt:
        pops = [mccormick(gp, both=(o.rlt == "all")) for gp in pops]
    out = run_relaxations(
        problem, pops, "shor",
        lambda gp, left: solve_gradient_pop(gp, "sdp", order=1, sparsity=o.sparsity,
                                            solver=o.solver, side=o.side, tol=o.tol,
                                            time_limit=left),
        shown=dict(order=1, sparsity=o.sparsity, solver=o.solver), time_limit=o.time_limit)
    out.details["rlt"] = o.rlt
    return out

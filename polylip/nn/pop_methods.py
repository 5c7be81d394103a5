"""Lipschitz upper bounds by polynomial optimization: the methods "shor", "sdp", "lp", "lipsdp"
and "auto", registered into :data:`polylip.nn.estimate.METHODS`.

Every method builds the gradient-norm POP (:func:`polylip.nn.gradient_pop.gradient_pop`) over
the problem's region (IBP derivative ranges, stable neurons fixed) and relaxes it:

* ``"shor"``: the order-1 moment relaxation (Shor's SDP) of a degree-2 formulation (the expanded
  POP of a one-hidden-layer network, the lifted POP otherwise), dense by default. Handed to the
  solver on the side with fewer free variables (for binary/spin problems the SOS side).
* ``"sdp"``: the moment-SOS relaxation at ``order`` with ``sparsity`` = "network" (correlative
  sparsity with the network's cliques, the default), "network+ts" (plus term sparsity inside
  each clique), "dense", or the generic analyzers "cs", "ts", "cs+ts" of
  :mod:`polylip.sparsity` (or a pattern object).
* ``"lp"``: the Krivine/Handelman LP of ``degree`` (LiPopt-k) over the box of ``t`` and ``sigma``,
  products within the network's cliques (``sparsity="network"``, default), "cs" or "dense".
  l_inf input norm only (the l_2 ball is not a polytope).
* ``"lipsdp"``: LipSDP-Neuron (see :mod:`polylip.nn.lipsdp`), l_2 only.
* ``"auto"`` (the default method of :func:`~polylip.nn.lipschitz`): the product bound, then the
  methods above in order of cost, each in a worker process stopped when the time ``budget``
  (seconds) is spent, keeping the smallest certified bound (see :func:`auto_method`).

``upper`` is a bound only when the solver reports an optimal solution; otherwise it is None and
``status`` says why. For vector outputs with output norm inf or 1 the bound is the maximum over
the extreme functionals (one relaxation each).

In the l_2 case with network cliques, the ball ``||t||_2 <= 1`` (which couples every input)
is replaced by one ball per clique over the inputs in it, an implied constraint: the bound stays
valid, and the local balls keep the relaxation sparse.

Examples
--------
>>> import numpy as np
>>> from polylip.nn import Network, lipschitz
>>> net = Network.from_weights([np.array([[1.0, -1.0], [2.0, 1.0]]), np.array([[1.0, 1.0]])])
>>> res = lipschitz(net, norm="inf", method="sdp", options={"order": 2}, lower=False)
>>> round(res.upper, 6)  # the exact constant (|grad f|_1 <= 3 on every pattern)
3.0
"""

from __future__ import annotations

import logging
import math
import time

import numpy as np

from polylip.errors import ModelError, PolylipError, RelaxationError
from polylip.model.pop import POP
from polylip.nn.estimate import METHODS, LipschitzProblem, MethodOutput, register_method
from polylip.nn.gradient_pop import GradientPOP, functionals, gradient_pop
from polylip.poly import Polynomial
from polylip.poly import monomials as mono

__all__ = ["relax_gradient_pop", "solve_gradient_pop", "network_pattern", "soundness_margin",
           "auto_method", "DEFAULT_BUDGET"]

log = logging.getLogger(__name__)

#: Default time budget (seconds) of method "auto" (the default method of
#: :func:`polylip.nn.lipschitz` and ``polylip lipschitz``). Measured on the digits networks
#: (48 runs on 2 cores, benchmarks/bench_lipschitz_digits.py --auto 10 30 60): 10, 30 and 60 s
#: give the same bound on 14 of 16 configurations; 10 s falls short on the CNN's ten classes, l_2
#: (13.386 against 10.927 with 30 s), and CertDNN width 80 needs 5-6 s on a quiet machine, up
#: to 28 s under load, for Shor with cuts. Calls whose steps all finish return earlier.
DEFAULT_BUDGET = 60.0
#: "auto" stops once its upper bound is within this relative gap of the lower bound (the
#: certified margins on the bounds are 1e-9 to 1e-7, so a closed gap rarely reaches 1e-9).
AUTO_REL_GAP = 1e-6
#: Fraction of the physical memory a step of "auto" may map beyond what the caller has mapped
#: (its worker's RLIMIT_AS).
AUTO_MEMORY_FRACTION = 0.5
#: "auto" skips an SDP whose largest PSD block exceeds this size, or whose side handed to the
#: solver has more free variables than AUTO_MAX_VARS (the cost grows like their cube).
AUTO_MAX_BLOCK = 400
AUTO_MAX_VARS = 6000
#: "auto" skips an LP whose count of box-constraint products in the cliques (see
#: :func:`_lp_size`) exceeds this. Measured (CertDNN, degree 3 / 4, HiGHS or Clarabel, 2 shared
#: cores): 1.3e5 products (width 80, sparsity 10, degree 3) 1-4 s; 1.8e5 (width 20, sparsity
#: 24, degree 3) 0.6 s; 6.8e5 (width 20, sparsity 16, degree 4) about 35 s; 8.7e5 (width 80,
#: sparsity 20, degree 3) 290 s.
AUTO_MAX_LP_PRODUCTS = 3e5
#: Rounds of McCormick cuts after Shor in "auto" (each adds ``width`` products; on CertDNN
#: width 80 a round costs about as much as Shor itself, and one round already beats HR-2 on
#: the dense networks).
AUTO_CUT_ROUNDS = 2
#: Share of the time left that "auto" gives method "milp" (l_inf and l_1, after "dp" did not
#: fit). Measured with a 54-s limit (benchmarks/bench_lipschitz_deep.py, 2 cores): on the deep
#: random networks its dual bound is the best step on most l_inf rows (2x20 global: 23.00
#: against LP-3's 28.46 and Shor's 51.38; 3x30 global: 675 where nothing else finishes), while
#: on the one-hidden-layer CertDNN networks of width 80, sparsity 30, it does not close (seed 2:
#: 2.50 after 600 s against the published SHOR 1.60), so it gets a share, not all.
AUTO_MILP_SHARE = 1.0 / 3.0
#: The same over a box or a ball with ReLU-type activations, where "milp" bounds the *true*
#: local constant and is the step that works there (deep random networks, box of radius 0.1,
#: l_inf, benchmarks/bench_lipschitz_deep.py: 2x40 21.79 with 54 s alone, against 33.46 from a
#: third of auto's 60 s and 23.36 from two thirds; Shor and the LP time out from 2x40 on).
AUTO_MILP_TRUE_SHARE = 2.0 / 3.0
#: Relative gap at which "milp" stops inside "auto" (its own default is 1e-4): closing
#: further is cheap where it closes at all (digits MLP, margin 3-8, box of radius 0.05: the
#: true constant 188.545 within 1e-4 in 1 s), and where it does not the time limit decides.
AUTO_MILP_GAP = 1e-6
#: A step that takes a solver time limit gets the time left minus this reserve (seconds; at most
#: a fifth of the time left), so that the solver stops, and the worker hands back what it found
#: (a MILP's dual bound at its time limit is a certified bound), before the worker itself is
#: stopped at the deadline. Without it HiGHS overshot by a fraction of a second and the step
#: was killed with no bound (digits MLP, margin 3-8, budget 20: the final "milp" run).
AUTO_SOLVER_RESERVE = 1.0


# ---------------------------------------------------------------------------------------------
# building relaxations
# ---------------------------------------------------------------------------------------------
def _is_ball(g: Polynomial) -> bool:
    """``1 - sum x_i^2`` over two or more variables."""
    rows = g.rows
    if rows.shape[1] != 2 or g.nterms < 3:
        return False
    deg = mono.degrees(rows)
    return (deg[0] == 0 and g.coeffs[0] == 1.0 and np.all(deg[1:] == 2)
            and np.all(rows[1:, 0] == rows[1:, 1]) and np.all(g.coeffs[1:] == -1.0))


def _local_balls(pop: POP, cliques) -> POP:
    """Replace each ball constraint that fits no clique by one ball per clique (implied)."""
    sets = [set(c) for c in cliques]
    ineqs = []
    changed = False
    for g in pop.ineqs:
        vars_g = set(int(v) for v in g.variable_indices())
        if any(vars_g <= s for s in sets) or not _is_ball(g):
            ineqs.append(g)
            continue
        changed = True
        seen = set()
        for s in sets:
            part = tuple(sorted(vars_g & s))
            if len(part) == 0 or part in seen:
                continue
            seen.add(part)
            idx = np.asarray(part, dtype=mono.INDEX_DTYPE)
            rows = np.vstack([np.full((1, 2), mono.PAD, mono.INDEX_DTYPE), np.column_stack([idx, idx])])
            ineqs.append(Polynomial(pop.variables, rows, np.concatenate([[1.0], -np.ones(idx.size)])))
    if not changed:
        return pop
    return POP(pop.objective, ineqs=ineqs, eqs=list(pop.eqs), sense=pop.sense,
               variables=pop.variables, binary=pop.binary, spin=pop.spin)


def network_pattern(gp: GradientPOP, term: bool = False, steps: int = 1):
    """The correlative (optionally + term) sparsity pattern with the network's cliques."""
    from polylip.sparsity import Correlative, CorrelativeTerm, Term

    cliques = tuple(tuple(gp.pop.variables[i] for i in c) for c in gp.cliques)
    cs = Correlative(cliques=cliques)
    return CorrelativeTerm(cs, Term(steps=steps)) if term else cs


def neuron_structure(gp: GradientPOP, pop: POP | None = None):
    """The "neuron" block structure: per clique ``C`` of the network (one per neuron ``j`` of the
    last hidden layer), one PSD block over the basis ``{1} u C u {sigma_j * v : v in C}``.

    It holds every moment ``t_i sigma_j`` and ``t_i t_k sigma_j`` the neuron's part of the
    objective touches, and nothing that couples far-apart inputs: between Shor (order 1) and the
    order-2 clique relaxation in strength, with blocks of size ``2 |C|`` instead of
    ``|C|^2 / 2``. Inequalities get a localizing block over ``{1, sigma_j}`` in a clique that
    contains them. Valid for the expanded formulation with at most two hidden layers (every
    objective monomial is then a product of two basis elements of its clique's block).
    """
    from polylip.sparsity.blocks import MOMENT, BlockStructure, PSDBlock

    pop = gp.pop if pop is None else pop
    H = len(gp.s)
    if gp.formulation != "expanded" or H > 2 or (H == 2 and gp.u) or H == 0:
        raise ModelError("sparsity 'neuron' needs the expanded formulation of a network with one "
                         "or two hidden layers (and a fixed output functional when two); use "
                         "'network'")
    last = set(int(v) for v in gp.s[-1] if v >= 0)
    P = mono.PAD
    psd, sets = [], []
    for ci, c in enumerate(gp.cliques):
        lead = [v for v in c if v in last]
        others = np.array([v for v in c if v not in last], dtype=np.int64)
        rows = [np.full((1, 2), P), np.column_stack([np.asarray(c), np.full(len(c), P)])]
        for sj in lead:
            rows.append(np.column_stack([np.full(others.size, sj), others]))
        psd.append(PSDBlock(mono.normalize(np.vstack(rows)), MOMENT, ci))
        sets.append((set(c), lead))
    for i, g in enumerate(pop.ineqs):
        vars_g = set(int(v) for v in g.variable_indices())
        home = next((k for k, (s, _) in enumerate(sets) if vars_g <= s), None)
        if home is None:
            raise RelaxationError(f"inequality {i} fits no clique of the network")
        lead = sets[home][1]
        rows = np.full((1 + len(lead), 1), P)
        rows[1:, 0] = lead
        psd.append(PSDBlock(mono.normalize(rows), i, home))
    return BlockStructure(2, tuple(psd), (), tuple(gp.cliques), "neuron", {"pattern": "neuron"})


def relax_gradient_pop(gp: GradientPOP, order: int | None = None, sparsity="network",
                       ts_steps: int = 1):
    """The moment-SOS relaxation of a gradient POP (a :class:`~polylip.relax.Relaxation`).

    ``sparsity``: "neuron" (see :func:`neuron_structure`; ``order`` is ignored), "network",
    "network+ts", "dense", "cs", "ts", "cs+ts" or a pattern.
    """
    pop = gp.pop
    if isinstance(sparsity, str) and sparsity == "neuron":
        from polylip.relax.moment import assemble
        from polylip.solve.relaxation import Relaxation

        t0 = time.perf_counter()
        pop = _local_balls(pop, gp.cliques)
        blocks = neuron_structure(gp, pop)
        data = assemble(pop, blocks)
        return Relaxation(pop, blocks, data, time.perf_counter() - t0)
    if isinstance(sparsity, str) and sparsity in ("network", "network+ts"):
        pattern = network_pattern(gp, term=sparsity.endswith("+ts"), steps=ts_steps)
        pop = _local_balls(pop, gp.cliques)
    elif isinstance(sparsity, str) and sparsity in ("ts", "cs+ts"):
        from polylip.sparsity import Correlative, CorrelativeTerm, Term

        pattern = Term(steps=ts_steps) if sparsity == "ts" else CorrelativeTerm(Correlative(), Term(steps=ts_steps))
    else:
        pattern = sparsity
    return pop.relax(order=order, sparsity=pattern)


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
    import dataclasses

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
              tol=None, seconds=None):
    """Shor's relaxation with McCormick products added as cutting planes.

    Solve Shor; evaluate every McCormick product of the objective's terms at the returned
    moments; add the ``cuts`` most violated (default: the number of inputs) and solve again, for
    at most ``rounds`` rounds after the first, until none is violated (by 1e-7), the bound stops
    improving (by 1e-7 relative), or ``seconds`` have passed. Each round's certified bound is
    valid; the smallest is returned as ``(Result, info)`` like :func:`solve_gradient_pop`.
    A handful of cuts per round keeps each SDP as cheap as Shor (scalar constraints), where
    adding all products at once (:func:`mccormick`) makes the solve minutes long at width 80.
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
        res, cert, lmi, raw = _solve_certified(relaxation, solver, side, tol, keep=True)
        if res.status != "optimal":
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
        y = relaxation.moment_vector(lmi, raw)
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


def _lp_pop(gp: GradientPOP) -> POP:
    if gp.norm != math.inf:
        raise ModelError("method 'lp' needs the l_inf input norm (the l_2 ball is not a polytope); "
                         "use 'sdp', 'shor' or 'lipsdp'")
    if gp.u or gp.pop.eqs:
        raise ModelError("method 'lp' needs the expanded formulation with a fixed output "
                         "functional (no l_2 vector output, no lifted formulation)")
    return gp.pop


def _hit_time_limit(message) -> bool:
    """Whether a solver's message says it stopped at its time limit (HiGHS: "Time limit
    reached", Clarabel: "MaxTime", column generation: "time limit")."""
    text = str(message or "").lower()
    return "time limit" in text or "maxtime" in text


def solve_gradient_pop(gp: GradientPOP, method: str = "sdp", *, order=None, degree=None,
                       sparsity="network", ts_steps: int = 1, solver: str = "auto",
                       side: str = "auto", tol=None, time_limit=None):
    """Relax and solve one gradient POP; returns ``(Result, info)``.

    ``method``: "sdp" (moment-SOS at ``order``) or "lp" (Krivine LP at ``degree``).
    ``time_limit`` (seconds, "lp" only) is handed to the LP solver; a stopped solve is not
    optimal, so it carries no bound.
    """
    t0 = time.perf_counter()
    if method == "lp":
        pop = _lp_pop(gp)
        if isinstance(sparsity, str) and sparsity == "network":
            spars = [list(c) for c in gp.cliques]
        else:
            spars = sparsity
        from polylip.solve.lp import LPRelaxation

        relaxation = LPRelaxation.build(pop, degree=degree, sparsity=spars)
        info = {"structure": relaxation.sizes}
        res = relaxation.solve(solver=solver, tol=tol, time_limit=time_limit)
    else:
        if time_limit is not None:
            raise ModelError("time_limit applies to method 'lp' only (the SDP backends are "
                             "stopped by method 'auto' from outside)")
        relaxation = relax_gradient_pop(gp, order=order, sparsity=sparsity, ts_steps=ts_steps)
        info = {"structure": relaxation.sizes}
        res, cert = _solve_certified(relaxation, solver, side, tol)
        info["certificate"] = cert
    info["seconds"] = time.perf_counter() - t0
    return res, info


def _solve_certified(relaxation, solver, side, tol, keep=False):
    """Solve (as :meth:`Relaxation.solve`, other side on failure) and check the certificate."""
    outcome = relaxation.solve_detailed(solver=solver, side=side, tol=tol)
    res, lmi, raw = outcome.result, outcome.lmi, outcome.raw
    if res.status != "optimal":
        return (res, None, lmi, raw) if keep else (res, None)
    t0 = time.perf_counter()
    try:
        value, cert = certified_bound(relaxation, lmi, raw)
    except (ValueError, np.linalg.LinAlgError, IndexError) as exc:  # never lose the bound
        value, cert = None, f"certificate check failed: {exc}"
    if value is None:
        cert = {"kind": "accuracy", "reason": cert}
    else:
        cert = dict(cert, kind="certificate", value=value, seconds=time.perf_counter() - t0)
    return (res, cert, lmi, raw) if keep else (res, cert)


# ---------------------------------------------------------------------------------------------
# the registered methods
# ---------------------------------------------------------------------------------------------
def _gradient_pops(problem: LipschitzProblem, formulation="auto", max_terms=None):
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


#: Floor of the soundness margin, relative to the bound: covers the round-off of evaluating
#: the returned bound itself when the solver reports no accuracy.
MARGIN_REL_FLOOR = 1e-9


def _unit_box(pop: POP) -> bool:
    """Whether every variable lies in [-1, 1] on the feasible set: spin, binary, or in a ball."""
    inside = set(pop.spin) | set(pop.binary)
    names = list(pop.variables)
    for g in pop.ineqs:
        if _is_ball(g):
            inside |= {names[int(v)] for v in g.variable_indices()}
    return all(v in inside for v in names)


def certified_bound(relaxation, lmi, raw):
    """A rigorous a-posteriori bound from the solver's approximate dual certificate.

    The relaxation is ``min c @ y + c0`` over moments ``y`` (``y_0 = 1``, ``E y = 0``,
    ``M_j(y) PSD``). From the solver's matrices ``Z_j`` (the Gram matrices on the SOS side, the
    dual matrices on the moment side) form ``v = c - sum_j A_j^*(Z_j)``, fit ``v ~ gamma e_0 +
    E^T lambda`` by least squares, and let ``r`` be what is left (``r_0 = 0``). For the moments
    ``y`` of any feasible point ``x`` of the POP (``E y = 0``, ``M_j(y) = g_j(x) b_j(x) b_j(x)^T``):

        c @ y = gamma + sum_j <Z_j, M_j(y)> + r @ y
              >= gamma - sum_j max(0, -lambda_min(Z_j)) * gmax_j * k_j - sum_a |r_a|,

    because every variable lies in [-1, 1] (``t`` spin or in the unit ball, ``sigma`` binary), so
    ``|x^a| <= 1``, ``||b_j(x)||^2 <= k_j`` (the block size) and ``g_j(x) <= gmax_j``, the sum of
    the absolute coefficients of ``g_j`` (1 for a moment matrix). This holds whatever the
    solver's accuracy: no trust in its optimality tolerances is needed (round-off of these
    float64 sums is covered by a relative 1e-12). Returns ``(value, info)`` with ``value`` the
    certified bound on the POP (an upper bound of a maximum), or ``(None, reason)``.
    """
    import scipy.sparse.linalg as spla

    from polylip.relax import conic
    from polylip.relax.moment import stacked_blocks

    pop, data, blocks = relaxation.pop, relaxation.data, relaxation.blocks
    if not _unit_box(pop):
        return None, "variables not all in [-1, 1]"
    sizes = list(data.sizes)
    psd = list(blocks.psd)
    if len(psd) != len(sizes) or any(b.size != k for b, k in zip(psd, sizes)):
        return None, "block structure does not match the assembled data"
    stacked, offsets = stacked_blocks(data.blocks, data.nmoments)
    if lmi.side == "sos":
        if raw.x is None:
            return None, "no solution vector"
        mats = []
        for j, k in enumerate(sizes):
            Z = np.asarray(lmi.G[j] @ raw.x + lmi.h[j], float).reshape(k, k)
            mats.append(0.5 * (Z + Z.T))
    else:
        if raw.lmi_duals is None:
            return None, "no dual matrices"
        mats = [0.5 * (np.asarray(Z, float) + np.asarray(Z, float).T) for Z in raw.lmi_duals]
    tri = np.concatenate([Z[np.triu_indices(k)] for Z, k in zip(mats, sizes)]) \
        if sizes else np.zeros(0)
    weight = np.where(conic.offdiag_mask(data.sizes), 2.0, 1.0)
    v = np.asarray(data.c, float) - np.asarray(stacked.T @ (weight * tri)).ravel()
    Et = data.E.T.tocsr()
    lam = np.zeros(Et.shape[1])
    if Et.shape[1]:
        lam = spla.lsqr(Et[1:], v[1:], atol=1e-15, btol=1e-15, iter_lim=5000)[0]
    fit = np.asarray(Et @ lam).ravel()
    gamma = float(v[0] - fit[0])
    r = v - fit
    r[0] = 0.0
    resid = float(np.abs(r).sum())
    neg = 0.0
    for b, Z, k in zip(psd, mats, sizes):
        lmin = float(np.linalg.eigvalsh(Z)[0]) if k else 0.0
        if lmin < 0:
            gmax = 1.0 if b.constraint < 0 else float(np.abs(pop.ineqs[b.constraint].coeffs).sum())
            neg += -lmin * gmax * k
    scale = max(1.0, float(np.abs(data.c).sum()), abs(gamma))
    low = gamma + float(data.c0) - resid - neg - 1e-12 * scale
    value = low if pop.sense == "min" else -low
    return value, {"gamma": gamma + float(data.c0), "residual": resid, "negative_eigenvalues": neg}


def soundness_margin(res) -> float:
    """What is added to a solver's bound to make it a conservative upper bound.

    A floating-point solver meets its optimality conditions only to a tolerance, so the value
    it returns can lie slightly below the relaxation's true optimum (hence, when the relaxation
    is tight, below the Lipschitz constant: it happened, by 1e-6, on a CertDNN network). The
    margin is the relaxation's :attr:`~polylip.solve.result.Result.accuracy` (the larger of the
    solver's primal-dual gap and its relative tolerance times the scale of the objective,
    ``tol * max(1, |bound|, sum_a |f_a|)``) with a floor of ``MARGIN_REL_FLOOR * max(1, |bound|)``.
    It is an a-posteriori estimate of the solver error, not an interval-arithmetic proof.
    """
    if res.bound is None:
        return 0.0
    floor = MARGIN_REL_FLOOR * max(1.0, abs(float(res.bound)))
    acc = getattr(res, "accuracy", None)
    if acc is None or not np.isfinite(acc):
        return floor
    return max(float(acc), floor)


def _run(problem: LipschitzProblem, pops, method, label, time_limit=None, **kw) -> MethodOutput:
    best, status, parts = -math.inf, "ok", []
    t_start = time.perf_counter()
    for i, gp in enumerate(pops):
        problem.report(label, i, len(pops))
        if method == "shor-cuts":
            res, info = shor_cuts(gp, **kw)
        elif time_limit is not None:
            left = time_limit - (time.perf_counter() - t_start)
            if left <= 0:
                status = "time_limit"
                log.warning("%s: time limit reached before relaxation %d of %d", label, i + 1,
                            len(pops))
                best = None
                break
            res, info = solve_gradient_pop(gp, method, time_limit=left, **kw)
        else:
            res, info = solve_gradient_pop(gp, method, **kw)
        margin = soundness_margin(res)
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
        if res.status != "optimal" or res.bound is None:
            status = res.status if res.status != "optimal" else "failed"
            if time_limit is not None and _hit_time_limit(res.message):
                status = "time_limit"
            log.warning("%s: relaxation %d of %d ended with status %s (%s)", label, i + 1,
                        len(pops), res.status, res.message)
            best = None
            break
        part["upper"] = float(res.bound) + margin
        best = max(best, part["upper"])
    details = {"relaxations": parts, "formulation": pops[0].formulation,
               "margin": max((p.get("margin", 0.0) for p in parts), default=0.0)}
    details.update({k: v for k, v in kw.items() if k in ("order", "degree", "sparsity", "solver",
                                                          "cuts", "rounds")
                    and not hasattr(v, "kind")})
    if best is None:
        return MethodOutput(upper=None, status=status, details=details)
    return MethodOutput(upper=best, status="ok", details=details)


@register_method("shor", description="order-1 SDP (Shor) of the gradient POP (lifted when deep)")
def _shor(problem: LipschitzProblem, sparsity="dense", solver="auto", side="auto",
          formulation="auto", tol=None, rlt=False, cuts=None, rounds=3,
          seconds=None) -> MethodOutput:
    """Shor's relaxation: order 1 of a degree-2 formulation of the gradient POP.

    ``rlt=True`` adds the McCormick products of the objective's terms (:func:`mccormick`),
    ``rlt="all"`` all four per term, ``rlt="cuts"`` adds them as cutting planes (``cuts`` per
    round, at most ``rounds`` rounds, ``seconds`` per relaxation; see :func:`shor_cuts`).
    """
    pops = _gradient_pops(problem, formulation="expanded" if formulation == "auto" else formulation)
    if formulation == "auto" and any(gp.pop.degree > 2 for gp in pops):
        pops = _gradient_pops(problem, formulation="lifted")
    if any(gp.pop.degree > 2 for gp in pops):
        raise ModelError("the Shor relaxation needs a degree-2 formulation: use "
                         "formulation='lifted' or method 'sdp'")
    if rlt == "cuts":
        if sparsity != "dense":
            raise ModelError("rlt='cuts' uses the dense Shor relaxation")
        out = _run(problem, pops, "shor-cuts", "shor", cuts=cuts, rounds=int(rounds),
                   solver=solver, side=side, tol=tol, seconds=seconds)
        out.details["rlt"] = rlt
        return out
    if rlt:
        pops = [mccormick(gp, both=(rlt == "all")) for gp in pops]
    out = _run(problem, pops, "sdp", "shor", order=1, sparsity=sparsity, solver=solver,
               side=side, tol=tol)
    out.details["rlt"] = rlt
    return out


@register_method("sdp", description="moment-SOS relaxation of the gradient POP (order, sparsity)")
def _sdp(problem: LipschitzProblem, order=None, sparsity="network", ts_steps=1, solver="auto",
         side="auto", formulation="auto", max_terms=None, tol=None) -> MethodOutput:
    """Moment-SOS relaxation at ``order`` (default: the smallest valid, at least 2)."""
    pops = _gradient_pops(problem, formulation, max_terms)
    if order is None:
        order = max(2, max(gp.pop.min_order() for gp in pops))
    return _run(problem, pops, "sdp", "sdp", order=int(order), sparsity=sparsity,
                ts_steps=int(ts_steps), solver=solver, side=side, tol=tol)


@register_method("lp", description="Krivine/Handelman LP of degree k (LiPopt-k), l_inf")
def _lp(problem: LipschitzProblem, degree=None, sparsity="network", solver="auto",
        tol=None, time_limit=None) -> MethodOutput:
    """LiPopt-k: the LP hierarchy of ``degree`` (default: the objective's degree + 1).

    ``time_limit``: seconds for the LP solves together (HiGHS and Clarabel; PICOS solvers
    ignore it); an LP stopped by it gives no bound and ``status="time_limit"``.
    """
    pops = _gradient_pops(problem, formulation="expanded", max_terms=10 ** 9)
    if degree is None:
        degree = max(gp.pop.objective.degree for gp in pops) + 1
    try:
        return _run(problem, pops, "lp", "lp", degree=int(degree), sparsity=sparsity,
                    solver=solver, tol=tol, time_limit=time_limit)
    except RelaxationError as exc:
        return MethodOutput(upper=None, status="unreachable", details={"message": str(exc),
                                                                       "degree": int(degree)})


@register_method("lipsdp", description="LipSDP-Neuron (Fazlyab et al. 2019), l_2 input norm")
def _lipsdp_method(problem: LipschitzProblem, solver="auto", tol=None) -> MethodOutput:
    """LipSDP-Neuron over the region's slope bounds (see :mod:`polylip.nn.lipsdp`).

    ``solver="auto"``: CVXOPT, then Clarabel if CVXOPT gives no bound; Clarabel alone when a
    slope range is a single value (a stable neuron of a local region). CVXOPT fails ("domain
    error", "float division by zero", after 3-49 s on two neurons) on such ranges, where
    Clarabel solves the same LMI (tests/test_lipschitz_deep_regressions.py).
    """
    from polylip.nn.lipsdp import lipsdp_neuron

    if problem.norm != 2.0:
        raise ModelError("method 'lipsdp' bounds the l_2 constant: use norm=2")
    db = problem.bounds.derivative_bounds
    degenerate = any(np.any(np.asarray(hi, float) - np.asarray(lo, float) <= 1e-12) for lo, hi in db)
    first_solver = solver
    if solver == "auto":
        # measured on the 2-neuron regressions: CVXOPT takes 3-49 s to fail there
        first_solver = "clarabel" if degenerate else "cvxopt"
    out = lipsdp_neuron(problem.net, db, solver=first_solver, tol=tol)
    if solver == "auto" and first_solver == "cvxopt" and out["bound"] is None:
        log.info("lipsdp: CVXOPT ended %s (%s); trying Clarabel", out["status"], out.get("message"))
        first = out
        out = lipsdp_neuron(problem.net, db, solver="clarabel", tol=tol)
        out["cvxopt"] = {k: first.get(k) for k in ("status", "message", "seconds")}
    return MethodOutput(upper=out["bound"], status="ok" if out["bound"] is not None else out["status"],
                        details=out)


def _lp_size(gp: GradientPOP, degree: int) -> float:
    """Products of at most ``degree`` box constraints (2 per variable) within the cliques: the
    size that drives the LP's cost (columns before any reduction)."""
    return float(sum(math.comb(2 * len(c) + degree, degree) for c in gp.cliques))


def _predict(gp_list, order, sparsity):
    """Largest PSD block and free variables of the relaxation (built, not solved)."""
    from polylip.relax import conic

    rel = relax_gradient_pop(gp_list[0], order=order, sparsity=sparsity)
    side = conic.choose_side(rel.data, "auto")
    nvars = rel.data.nmoments - 1 if side == "moment" else conic.sos_side_nvars(rel.data)
    return max(rel.data.sizes, default=0), nvars


def _clique_block(gp: GradientPOP, order: int) -> int:
    """Size of the largest moment matrix of the "network" relaxation at ``order``, counted
    without building it: monomials of degree at most ``order`` in a clique's variables,
    square-free in the binary and spin ones (their squares are reduced away)."""
    pop = gp.pop
    names = list(pop.variables)
    boolean = set(pop.binary) | set(pop.spin)
    best = 0
    for c in gp.cliques:
        nb = sum(1 for v in c if names[v] in boolean)
        nc = len(c) - nb
        size = sum(math.comb(nb, j) * math.comb(nc + order - j, order - j)
                   for j in range(min(nb, order) + 1))
        best = max(best, size)
    return best


def _physical_memory() -> int | None:
    import os

    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return None


def _skipped(reason: str) -> MethodOutput:
    return MethodOutput(upper=None, status="skipped", details={"skipped": reason})


@register_method("auto", description="best certified bound within a time budget (default)")
def auto_method(problem: LipschitzProblem, budget=DEFAULT_BUDGET, solver="auto",
                isolate=True, rel_gap=AUTO_REL_GAP) -> MethodOutput:
    """The smallest certified bound the methods reach within ``budget`` seconds.

    Steps, cheap to expensive: "product" and "interval" (always, at once); "dp" (l_inf, l_2, l_1, when the
    gradient POP's elimination width fits its budget: the exact formal constant, which ends the
    search, ``details["exact_formal"]``; over a box or a ball with ReLU-type activations
    "milp" runs first, since it bounds the true local constant, which can be smaller); "milp"
    (l_inf, l_1: the formal constant, or over such a region the true one, by
    branch and bound with :data:`AUTO_MILP_SHARE` of the time left, or
    :data:`AUTO_MILP_TRUE_SHARE` for the true one; closed, it ends the search too,
    otherwise its dual bound counts like any other bound, and it runs again at the end with
    all the time left when that is over 1.5 times its share); "lipsdp" (l_2; after "shor" when
    the POP is the expanded one of degree 2, one hidden layer); "lp" of degree 3
    (l_inf, expanded formulation, while :func:`_lp_size` stays under
    :data:`AUTO_MAX_LP_PRODUCTS`); "shor", with :data:`AUTO_CUT_ROUNDS` rounds of McCormick
    cuts when the POP has degree 2 (``rlt="cuts"``, the rounds capped at a quarter of the time
    left); "lp" of degree 4 (same size test); "sdp" with the "neuron" blocks (one hidden
    layer); "sdp" of order 2 with the network's cliques (when its largest block and free
    variables stay under :data:`AUTO_MAX_BLOCK` / :data:`AUTO_MAX_VARS`; the block is counted
    from the cliques before anything is built). It stops early when the bound is within
    ``rel_gap`` of the lower bound.

    The budget holds: it is counted from the start of the :func:`~polylip.nn.lipschitz` call
    (lower-bound search included), and every step after "product" runs in a forked worker
    process (:func:`polylip.runtime.call_with_deadline`) that is terminated when the
    budget is spent. A stopped step gives no bound (``status="time_limit"`` in
    ``details["tried"]``); LP steps also get the time left as the LP solver's own time limit.
    A worker may map :data:`AUTO_MEMORY_FRACTION` of the physical memory beyond what the
    caller has mapped, so a step too large for the machine fails alone. Measured overshoot:
    at most 0.1 s past the budget in 48 runs on the digits networks (budgets 10, 30, 60 s;
    ``benchmarks/bench_lipschitz_digits.py --auto``).
    ``isolate=False`` (or a platform without ``fork``) runs the steps in this process: the
    budget is then only checked between steps.

    Parameters
    ----------
    budget : float
        Seconds (default :data:`DEFAULT_BUDGET`).
    solver : str
        Solver of the "shor", "sdp" and "lp" steps ("auto": chosen by size).
    isolate : bool
        Run the steps in forked workers (default) so the budget is a hard limit.
    rel_gap : float
        Stop once ``upper - lower <= rel_gap * max(1, upper)`` (default
        :data:`AUTO_REL_GAP`); 0 runs every step the budget allows.

    Returns
    -------
    MethodOutput
        ``upper`` is the smallest certified bound (at least as good as "product", which
        always succeeds); ``details``: ``best_method``, ``best_options``, ``best_details``
        (the winning method's own details, e.g. its relaxations), ``tried`` (one record per
        step: ``method``, its options, ``status``, ``upper``, ``seconds``, or ``skipped`` /
        ``error``), ``budget``, ``isolated``, ``exact_formal`` ("dp" gave the formal
        constant), ``formal_within`` / ``true_within`` ("milp" closed on the formal / true
        constant within this relative gap, else None). ``lower`` and ``witness``: the
        largest local constant a step measured at an input (the true-constant MILP's), when
        one did.

    Examples
    --------
    >>> import numpy as np
    >>> from polylip.nn import Network, lipschitz
    >>> net = Network.from_weights([np.array([[1.0, -1.0], [2.0, 1.0]]), np.ones((1, 2))])
    >>> res = lipschitz(net, "inf", options={"budget": 10})
    >>> [t["method"] for t in res.details["tried"]], round(res.upper, 9), res.details["exact_formal"]
    (['product', 'interval', 'dp'], 3.0, True)
    """
    from polylip.nn.baselines import interval_bound, layer_norms
    from polylip.nn.milp_method import realizable_activations
    from polylip.runtime import call_with_deadline, fork_available

    try:
        budget = float(budget)
    except (TypeError, ValueError) as exc:
        raise ModelError(f"budget must be a number of seconds, got {budget!r}") from exc
    if not budget > 0:
        raise ModelError(f"budget must be positive, got {budget!r}")
    t_start = problem.started if problem.started is not None else time.perf_counter()
    deadline = t_start + budget
    isolated = bool(isolate) and fork_available()
    phys = _physical_memory()
    memory = None if phys is None else int(AUTO_MEMORY_FRACTION * phys)
    t0 = time.perf_counter()
    best = float(np.prod(layer_norms(problem.net, problem.norm, problem.region)))
    best_method, best_options, best_details = "product", {}, {}
    tried = [{"method": "product", "status": "ok", "upper": best,
              "seconds": time.perf_counter() - t0}]
    t0 = time.perf_counter()
    interval = interval_bound(problem.net, problem.norm, problem.region, bounds=problem.bounds)
    tried.append({"method": "interval", "status": "ok", "upper": interval,
                  "seconds": time.perf_counter() - t0})
    if interval < best:
        best, best_method = interval, "interval"
    lower = problem.lower.value if problem.lower is not None else None
    found = {"lower": None, "witness": None}  # a larger lower bound attained by a step

    def closed() -> bool:
        return lower is not None and best - lower <= rel_gap * max(1.0, abs(best))

    def attempt(name, fn, show=None, **kw):
        """Run ``fn(problem, **kw)`` in a worker until the deadline; keep its bound if smaller.
        ``show``: the options recorded (default ``kw``)."""
        nonlocal best, best_method, best_options, best_details, lower
        shown = {("cut_seconds" if k == "seconds" else k): v
                 for k, v in (kw if show is None else show).items() if k != "time_limit"}
        record = {"method": name, **shown}
        if closed():
            tried.append({**record, "skipped": "the bound meets the lower bound"})  # rel_gap
            return None
        left = deadline - time.perf_counter()
        if left <= 0:
            tried.append({**record, "skipped": "budget spent"})
            return None
        if "time_limit" in kw:
            limit = max(0.8 * left, left - AUTO_SOLVER_RESERVE)
            kw["time_limit"] = limit if kw["time_limit"] is None else min(kw["time_limit"], limit)
        problem.report("auto", len(tried), len(tried) + 1)
        step = call_with_deadline(lambda: fn(problem, **kw), left, memory=memory,
                                  isolate=isolated)
        if step.status == "time_limit":
            tried.append({**record, "status": "time_limit", "upper": None,
                          "seconds": step.seconds})
            log.info("auto: %s stopped at the budget after %.2f s", name, step.seconds)
            return None
        if step.status == "died":
            tried.append({**record, "error": step.message, "seconds": step.seconds})
            log.warning("auto: %s: %s", name, step.message)
            return None
        if step.status == "error":
            if not isinstance(step.error, (PolylipError, MemoryError)):
                raise step.error
            tried.append({**record, "error": str(step.error), "seconds": step.seconds})
            return None
        out = step.value
        if out.status == "skipped":
            tried.append({**record, "skipped": out.details.get("skipped", "")})
            return out
        tried.append({**record, "status": out.status, "upper": out.upper,
                      "seconds": step.seconds})
        if out.upper is not None and out.upper < best:
            best, best_method, best_options, best_details = out.upper, name, shown, out.details
        if out.lower is not None and (lower is None or out.lower > lower):
            lower = found["lower"] = out.lower  # attained at out.witness (e.g. milp's input)
            found["witness"] = out.witness
        return out

    # Built here, before any worker is forked: the workers share them (copy-on-write), and
    # the interval bounds and POPs are not rebuilt per step.
    problem.bounds
    try:
        pops = _gradient_pops(problem, formulation="auto")
    except PolylipError as exc:
        pops = None
        tried.append({"method": "shor, lp, sdp", "skipped": str(exc)})
    expanded = pops is not None and pops[0].formulation == "expanded" and not pops[0].u
    if expanded:  # what "lp" and "shor" would rebuild: the same POPs
        for key in (("expanded", None), ("expanded", 10 ** 9)):
            problem.cache.setdefault(("gradient_pops",) + key, pops)

    def shor_step():
        if pops is None:
            return
        if expanded and pops[0].pop.degree == 2:
            # Shor (round 0) plus McCormick cutting planes while a quarter of the time lasts
            share = 0.25 * max(0.0, deadline - time.perf_counter()) / len(pops)
            attempt("shor", _shor, solver=solver, rlt="cuts", rounds=AUTO_CUT_ROUNDS,
                    seconds=share)
        else:
            attempt("shor", _shor, solver=solver)

    # Over a box or a ball with ReLU-type activations, "milp" first: it bounds the *true* local
    # constant (the pattern tied to an input), which can lie below the formal one that every
    # later step bounds, and on such regions it closes in seconds where "dp" may take the
    # whole budget (deep 3x20 box: milp 4 s, dp over 54 s). Closed, it ends the search.
    dp = METHODS.get("dp")
    milp = METHODS.get("milp")
    fixed_output = all(u is not None for u in functionals(problem.net))
    milp_ok = milp is not None and problem.norm in (math.inf, 1.0) and fixed_output
    milp_true = (milp_ok and problem.region.input_box() is not None
                 and realizable_activations(problem.net))
    milp_share = None  # seconds of a "milp" run stopped by its time limit

    def milp_step(fraction):
        """Run "milp" with ``fraction`` of the time left; True when it closed its gap."""
        nonlocal milp_share
        share = fraction * max(0.0, deadline - time.perf_counter())
        out = attempt("milp", milp, time_limit=share, gap=AUTO_MILP_GAP)
        if out is not None and out.status == "time_limit":
            milp_share = share
        return out if out is not None and out.status == "ok" and out.upper is not None else None

    if milp_true:
        out = milp_step(AUTO_MILP_TRUE_SHARE)
        if out is not None:
            return _auto_output(best, best_method, best_options, best_details, tried, budget,
                                isolated, found=found, true_within=out.details["gap"])

    # "dp": when the POP's elimination width fits (banded or small networks) it gives the exact
    # formal constant, the optimum of the POP every relaxation below bounds from above; LipSDP
    # cannot go below it either (every fixed activation pattern is slope-restricted in the
    # derivative ranges). So a certified "dp" ends the search. Planning is cheap; a width above
    # its budget returns status "too_large" at once.
    if dp is not None and problem.norm in (math.inf, 2.0, 1.0) and fixed_output:
        out = attempt("dp", dp)
        if out is not None and out.status == "ok" and out.upper is not None:
            return _auto_output(best, best_method, best_options, best_details, tried, budget,
                                isolated, exact_formal=True, found=found)

    # "milp" (l_inf, l_1) on the formal constant, for networks whose elimination width is too
    # large for "dp". Closed to its gap it ends the search like "dp"; stopped at its share of
    # the time, its dual bound is still a certified upper bound.
    if milp_ok and not milp_true:
        out = milp_step(AUTO_MILP_SHARE)
        if out is not None:
            return _auto_output(best, best_method, best_options, best_details, tried, budget,
                                isolated, found=found, formal_within=out.details["gap"])

    # l_2: LipSDP first, except on one hidden layer where Shor's POP is the small expanded one
    # (digits CNN, box of radius 0.05: Shor 1.2 s at the lower bound, LipSDP over 30 s)
    shor_first = problem.norm == 2.0 and expanded and pops[0].pop.degree == 2
    if shor_first:
        shor_step()
    if problem.norm == 2.0:
        attempt("lipsdp", _lipsdp_method, **({} if solver == "auto" else {"solver": solver}))

    lp_ok = problem.norm == math.inf and expanded
    lp_degrees = []
    if lp_ok:
        d = pops[0].pop.objective.degree
        lp_degrees = [d + 1, d + 2]

    def lp_step(k):
        size = _lp_size(pops[0], k)
        if size > AUTO_MAX_LP_PRODUCTS:
            tried.append({"method": "lp", "degree": k, "skipped":
                          f"too large ({size:.3g} box products in the cliques)"})
            return None
        return attempt("lp", _lp, degree=k, solver=solver, time_limit=None)

    lp_first = lp_step(lp_degrees[0]) if lp_degrees else None

    if not shor_first:
        shor_step()

    if lp_first is not None and lp_first.upper is not None:
        lp_step(lp_degrees[1])

    if pops is not None:
        if expanded and problem.net.num_hidden == 1:
            def neuron(problem):
                block, nvars = _predict(pops, None, "neuron")
                if block > AUTO_MAX_BLOCK or nvars > 4 * AUTO_MAX_VARS:
                    return _skipped(f"too large (block {block}, {nvars} free variables)")
                return _sdp(problem, sparsity="neuron", solver="clarabel", side="sos")
            attempt("sdp", neuron, show=dict(sparsity="neuron", solver="clarabel", side="sos"))
        try:
            order = max(2, max(gp.pop.min_order() for gp in pops))
            block = max(_clique_block(gp, order) for gp in pops)
        except PolylipError as exc:
            tried.append({"method": "sdp", "error": str(exc)})
        else:
            if block > AUTO_MAX_BLOCK:
                tried.append({"method": "sdp", "order": order, "skipped":
                              f"too large (a clique's moment matrix has size {block})"})
            else:
                def network(problem):
                    blk, nvars = _predict(pops, order, "network")
                    if blk > AUTO_MAX_BLOCK or nvars > AUTO_MAX_VARS:
                        return _skipped(f"too large (block {blk}, {nvars} free variables)")
                    return _sdp(problem, order=order, solver=solver)
                attempt("sdp", network, show=dict(order=order, solver=solver))

    # Time left after every step: "milp" again with all of it, when that is clearly more than
    # its share (HiGHS is deterministic, so the longer run gets at least as far).
    if milp_share is not None and deadline - time.perf_counter() > 1.5 * milp_share:
        attempt("milp", milp, time_limit=None, gap=AUTO_MILP_GAP)

    return _auto_output(best, best_method, best_options, best_details, tried, budget, isolated,
                        found=found)


def _auto_output(best, best_method, best_options, best_details, tried, budget, isolated,
                 exact_formal=False, formal_within=None, true_within=None,
                 found=None) -> MethodOutput:
    """``exact_formal``: "dp" gave the formal constant; ``formal_within``: "milp" bounded it
    within this relative gap (either ends the search: no relaxation of the POP goes lower);
    ``true_within``: "milp" bounded the true local constant within this gap. ``found``: a
    lower bound attained by a step, with its witness input."""
    found = found or {}
    return MethodOutput(upper=best, lower=found.get("lower"), witness=found.get("witness"),
                        status="ok", details={
        "best_method": best_method, "best_options": best_options, "best_details": best_details,
        "tried": tried, "budget": budget, "isolated": isolated, "exact_formal": exact_formal,
        "formal_within": formal_within, "true_within": true_within})

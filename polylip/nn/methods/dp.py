"""Lipschitz method ``"dp"``: the exact formal constant by variable elimination.

The gradient-norm POP of a network (:func:`polylip.nn.gradient_pop.gradient_pop`) is, for the
l_inf input norm, a multilinear polynomial in spin ``t`` and binary ``sigma`` variables; its
maximum over those vertices is the *formal* Lipschitz constant (the optimum of LiPopt's
problem, which every LiPopt-k / moment relaxation bounds from above). ``"dp"`` computes that
maximum exactly with :func:`polylip.exact.elimination.eliminate` (max-sum dynamic
programming along an elimination order of the POP's interaction graph), so its bound is the
best any relaxation of that POP can give. It applies when the *elimination width* ``w`` of the
interaction graph is small: the largest table has ``2^w`` entries and is refused above
``max_table_entries`` (default :data:`~polylip.exact.elimination.DEFAULT_BUDGET` = 2^24; the
option was called ``budget`` before, a name now kept for the seconds of method "auto"). Banded
(sparsely connected) networks qualify: a one-hidden-layer network whose neuron ``j`` sees the
inputs ``|i - j| <= h`` has ``w`` about ``2h + 1`` (CertDNN width 80, sparsity 20: ``w = 19``,
under a second).

* **l_inf** (``norm="inf"``): the POP's objective, ``t`` spin and ``sigma`` binary.
* **l_2** (``norm=2``): the formal constant is ``max_sigma ||g(sigma)||_2`` with ``g`` the
  gradient vector (the coefficient of ``t_i`` in the objective is ``g_i``). Each ``g_i`` is
  affine in each ``sigma`` separately, so ``||g||_2^2`` is convex in each and its maximum over
  the box of derivative ranges is at a vertex; ``||g||_2^2`` is expanded, reduced modulo
  ``sigma^2 = sigma`` (binary) and maximized by elimination; the bound is its square root. The
  square couples two neurons that share an input (``|j - k| <= 2h`` in the banded example: a
  band graph over the ``sigma`` alone, of width ``2h + 1`` again).
* **l_1** (``norm=1``): the dual norm is l_inf, so the formal constant is
  ``max_sigma max_i |g_i(sigma)|``: each coordinate ``g_i`` (the coefficient of ``t_i`` in the
  l_inf objective) is maximized and minimized by elimination, two small eliminations per input
  (``g_i`` involves only the neurons input ``i`` reaches).
* **Regions**: global or local; over a local region the derivative ranges come from interval
  bound propagation and stable neurons are constants (as in every gradient-POP method).
* **Vector outputs**: with output norm inf or 1, one elimination per extreme functional and
  the maximum (as the other POP methods); an l_2 vector output (a variable functional) is
  refused (:class:`~polylip.errors.ModelError`).

When the width exceeds ``max_table_entries``, or the expanded objective would exceed
``max_terms`` terms,
the method returns ``upper=None`` with ``status="too_large"`` and a message in
``details["message"]``: never a number that looks like a bound.

``upper`` is the computed optimum plus a floating-point margin (see
:mod:`polylip.exact.elimination`); ``details["formal"]`` is the optimum itself, and
``details["pattern"]`` the maximizing derivative values per hidden layer. The formal constant
is an upper bound of the true one (equal to it when every pattern is realizable), not a lower
bound, so no ``lower`` is returned.

Examples
--------
>>> import numpy as np
>>> from polylip.nn import Network, lipschitz
>>> net = Network.from_weights([np.array([[1.0, -1.0], [2.0, 1.0]]), np.array([[1.0, 1.0]])])
>>> res = lipschitz(net, norm="inf", method="dp", lower=False)
>>> round(res.upper, 9), res.status, res.details["width"]
(3.0, 'ok', 3)
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

import numpy as np

from polylip.errors import ModelError
from polylip.exact.elimination import (DEFAULT_BUDGET, HEURISTICS, EliminationPlan,
                                       EliminationTooLargeError, eliminate, plan_elimination)
from polylip.nn.gradient_pop import GradientPOP, functionals, gradient_pop
from polylip.nn.methods.base import MethodOptions, choice, integer
from polylip.nn.problem import LipschitzProblem, MethodOutput
from polylip.poly import Polynomial
from polylip.poly import monomials as mono

__all__ = ["DPOptions", "dp", "check", "dp_formal", "squared_gradient_norm", "gradient_coordinates",
           "DP_MAX_TERMS"]

log = logging.getLogger(__name__)

#: Largest expanded gradient-POP objective (terms) "dp" builds.
DP_MAX_TERMS = 2_000_000

#: l_2: most products of terms formed for the squared gradient norm (before merging).
DP_MAX_SQUARE_PRODUCTS = 20_000_000


def _by_input(gp: GradientPOP):
    """The objective ``t . g(sigma)`` split by input: ``(tcol, rest, coef, starts)`` with the
    terms sorted by their ``t`` variable, ``rest`` the term without it, and ``starts`` the first
    term of each input's group."""
    if gp.formulation != "expanded" or gp.u:
        raise ModelError("the gradient's coordinates need the expanded formulation with a fixed "
                         "output functional")
    obj = gp.pop.objective
    rows = obj.rows.astype(np.int64)
    coef = obj.coeffs
    is_t = np.zeros(len(gp.pop.variables) + 1, dtype=bool)
    is_t[list(gp.t)] = True
    mark = is_t[rows]  # PAD (-1) maps to the extra False
    if rows.shape[0] and not np.all(mark.sum(axis=1) == 1):
        raise ModelError("every term of the gradient objective should hold exactly one t")
    tcol = rows[mark]
    rest = mono.normalize(np.where(mark, mono.PAD, rows).astype(mono.INDEX_DTYPE))
    order = np.argsort(tcol, kind="stable")
    tcol, rest, coef = tcol[order], rest[order], coef[order]
    starts = np.flatnonzero(np.r_[True, tcol[1:] != tcol[:-1]]) if tcol.size else np.zeros(0, int)
    return tcol, rest, coef, starts


def gradient_coordinates(gp: GradientPOP) -> list:
    """The coordinates ``g_i(sigma)`` of the gradient, as ``[(t variable index, Polynomial)]``
    (inputs with no path to the output are left out: their coordinate is 0).

    Examples
    --------
    >>> import numpy as np
    >>> from polylip.nn import Network, gradient_pop
    >>> net = Network.from_weights([np.array([[1.0, -1.0], [2.0, 1.0]]), np.array([[1.0, 1.0]])])
    >>> [(i, str(g)) for i, g in gradient_coordinates(gradient_pop(net, norm="inf"))]
    [(0, 's1_0 + 2*s1_1'), (1, '-s1_0 + s1_1')]
    """
    tcol, rest, coef, starts = _by_input(gp)
    names = gp.pop.variables
    ends = np.r_[starts[1:], tcol.size]
    return [(int(tcol[a]), Polynomial(names, rest[a:b], coef[a:b])) for a, b in zip(starts, ends)]


def squared_gradient_norm(gp: GradientPOP) -> Polynomial:
    """``||g(sigma)||_2^2`` for an expanded gradient POP whose objective is ``t . g(sigma)``.

    Every term of the objective holds exactly one ``t_i``; the rest of the term is a term of
    ``g_i``. The squares are formed group by group (all at once with numpy) and reduced modulo
    ``sigma^2 = sigma``.

    Examples
    --------
    >>> import numpy as np
    >>> from polylip.nn import Network, gradient_pop
    >>> net = Network.from_weights([np.array([[1.0, -1.0], [2.0, 1.0]]), np.array([[1.0, 1.0]])])
    >>> str(squared_gradient_norm(gradient_pop(net, norm=2)))
    '2*s1_0 + 5*s1_1 + 2*s1_0*s1_1'
    """
    tcol, rest, coef, starts = _by_input(gp)
    names = gp.pop.variables
    if tcol.size == 0:
        return Polynomial.zero(names)
    sizes = np.diff(np.r_[starts, tcol.size])
    size_of = np.repeat(sizes, sizes)  # group size of each term
    start_of = np.repeat(starts, sizes)
    a = np.repeat(np.arange(tcol.size), size_of)  # each term paired with its whole group
    first = np.repeat(np.cumsum(size_of) - size_of, size_of)
    b = np.repeat(start_of, size_of) + (np.arange(a.size) - first)
    sq = Polynomial(names, np.hstack([rest[a], rest[b]]), coef[a] * coef[b])
    return sq.reduce_boolean(gp.pop.binary, gp.pop.spin)


def _check_square(gp: GradientPOP, max_table_entries, heuristic) -> None:
    """Refuse ``||g||_2^2`` before forming it: its interaction graph is the union of one clique
    per input (the ``sigma`` of that input's paths), planned from a proxy with one monomial per
    input, and it has ``sum_i n_i^2`` products before merging (``n_i`` terms in ``g_i``).
    Measured without this check: a dense 40-40-40-1 network (64,000 paths) spent 20 s and
    1.5 GiB forming the square before its width (about 40) was known."""
    tcol, rest, _, starts = _by_input(gp)
    if tcol.size == 0:
        return
    sizes = np.diff(np.r_[starts, tcol.size])
    pairs = int(np.sum(sizes.astype(np.int64) ** 2))
    names = gp.pop.variables
    members = []
    for a, b in zip(starts, np.r_[starts[1:], tcol.size]):
        v = np.unique(rest[a:b])
        members.append(v[v >= 0])
    width = max((m.size for m in members), default=0)
    limit = int(max_table_entries)
    if width > limit.bit_length():  # 2^width > limit
        # a monomial's variables meet in one table whatever the order, so the width is at
        # least the largest input's clique: refused without planning (a 2-2000-1 network's
        # two cliques of 2,000 took 2.7 s to plan, and "auto" in deterministic mode, which
        # had estimated the step at 0.4 s, ran to its safety deadline; QA round 4)
        plan = EliminationPlan((), width, 2 ** width, "largest monomial (lower bound)")
        raise EliminationTooLargeError(
            f"the squared gradient norm needs a table of at least 2^{width} entries (the "
            f"paths of one input meet {width} neurons), above the table budget "
            f"max_table_entries = {limit:,} (before forming it)", plan, limit)
    rows = np.full((len(members), max(width, 1)), mono.PAD, dtype=mono.INDEX_DTYPE)
    for r, m in enumerate(members):
        rows[r, :m.size] = m
    proxy = Polynomial(names, mono.normalize(rows), np.ones(len(members)))
    plan = plan_elimination(proxy, {n: "binary" for n in gp.pop.binary}, heuristic=heuristic)
    if plan.max_table > limit:
        raise EliminationTooLargeError(
            f"the squared gradient norm needs a table of 2^{plan.width} = {plan.max_table:,} "
            f"entries, above the table budget max_table_entries = {limit:,} (planned before "
            "forming it)", plan, limit)
    if pairs > DP_MAX_SQUARE_PRODUCTS:
        raise EliminationTooLargeError(
            f"forming the squared gradient norm would take {pairs:,} products of terms, above "
            f"{DP_MAX_SQUARE_PRODUCTS:,}", plan, limit)


def _l1_formal(gp: GradientPOP, max_table_entries, heuristic):
    """``max_sigma max_i |g_i(sigma)|`` (the formal constant for the l_1 input norm, whose dual
    is l_inf): two eliminations per input, the maximum and the minimum of ``g_i``. Returns
    ``(formal, upper, result of the best one, its width)``."""
    domains = {n: "binary" for n in gp.pop.binary}
    best = (-math.inf, -math.inf, None)
    width = max_table = 0
    for _, g in gradient_coordinates(gp):
        order = None
        for sense in ("max", "min"):  # same polynomial: the min reuses the max's order
            res = eliminate(g, domains, sense=sense, budget=max_table_entries,
                            heuristic=heuristic, order=order)
            order = res.order
            sign = 1.0 if sense == "max" else -1.0
            width, max_table = max(width, res.width), max(max_table, res.max_table)
            if sign * res.value > best[0]:
                best = (sign * res.value, sign * res.bound, res)
    if best[2] is None:  # no input reaches the output: the gradient is 0
        return 0.0, 0.0, None, 0, 1
    return best[0], best[1], best[2], width, max_table


def dp_formal(gp: GradientPOP, *, max_table_entries: int = DEFAULT_BUDGET,
              heuristic: str = "auto", input_norm=None) -> dict:
    """The exact formal constant of one gradient POP by elimination.

    Returns a dict with ``formal`` (the optimum), ``upper`` (with the rounding margin),
    ``margin``, ``width``, ``max_table``, ``seconds``, ``pattern`` (derivative values per hidden
    layer at the optimum) and ``t`` (l_inf: the maximizing sign vector).

    Raises
    ------
    EliminationTooLargeError
        Above ``max_table_entries`` (before any table is allocated).
    ModelError
        Lifted formulation, variable output functional, or an input norm other than inf, 2, 1
        (``input_norm``: 1 reads the l_1 constant from an l_inf POP; default ``gp.norm``).
    """
    if gp.formulation != "expanded":
        raise ModelError("'dp' needs the expanded gradient POP")
    if gp.u:
        raise ModelError("'dp' needs a fixed output functional (an l_2 vector output makes it a "
                         "variable); use 'sdp' or 'lipsdp'")
    names = gp.pop.variables
    norm = gp.norm if input_norm is None else float(input_norm)
    if norm == 1.0:
        if gp.norm != math.inf:
            raise ModelError("the l_1 formal constant is read from the l_inf gradient POP "
                             "(build it with norm='inf')")
        formal, upper, res, width, max_table = _l1_formal(gp, max_table_entries, heuristic)
        point = {} if res is None else res.point
        pattern = []
        for idx, lo, hi, fx in zip(gp.s, gp.s_lo, gp.s_hi, gp.fixed):
            sig = np.array([point.get(names[v], 0.0) if v >= 0 else 0.0 for v in idx])
            pattern.append(np.where(fx, (lo + hi) / 2, lo + (hi - lo) * sig))
        return {"formal": float(formal), "upper": float(upper), "margin": float(upper - formal),
                "width": width, "max_table": max_table,
                "seconds": 0.0 if res is None else res.seconds,
                "heuristic": "" if res is None else res.details["heuristic"],
                "nterms": int(gp.pop.objective.nterms), "pattern": pattern}
    if norm == math.inf:
        res = eliminate(gp.pop, budget=max_table_entries, heuristic=heuristic)
        formal, upper = res.value, res.bound
    elif norm == 2.0:
        _check_square(gp, max_table_entries, heuristic)
        sq = squared_gradient_norm(gp)
        res = eliminate(sq, {n: "binary" for n in gp.pop.binary}, sense="max",
                        budget=max_table_entries, heuristic=heuristic)
        formal = math.sqrt(max(res.value, 0.0))
        upper = float(np.nextafter(math.sqrt(max(res.bound, 0.0)), math.inf))
    else:
        raise ModelError("'dp' supports the input norms inf, 2 and 1")
    pattern = []
    for idx, lo, hi, fx in zip(gp.s, gp.s_lo, gp.s_hi, gp.fixed):
        sig = np.array([res.point.get(names[v], 0.0) if v >= 0 else 0.0 for v in idx])
        s = np.where(fx, (lo + hi) / 2, lo + (hi - lo) * sig)
        pattern.append(s)
    out = {"formal": float(formal), "upper": float(upper), "margin": float(upper - formal),
           "width": res.width, "max_table": res.max_table, "seconds": res.seconds,
           "heuristic": res.details["heuristic"], "nterms": res.details["nterms"],
           "pattern": pattern}
    if norm == math.inf:
        out["t"] = np.array([res.point.get(names[i], 1.0) for i in gp.t])
    return out


@dataclass(frozen=True)
class DPOptions(MethodOptions):
    """Options of method "dp".

    ``max_table_entries``: the largest elimination table allowed (entries, 8 bytes each; two
    or three tables are alive at once), default 2^24; above it ``status="too_large"`` before
    any table is allocated. It was called ``budget`` (still accepted, with a
    :class:`DeprecationWarning`): "budget" now means seconds, of method "auto".
    ``heuristic``: the elimination-order heuristic; ``max_terms``: the largest expanded
    objective built (above it, ``status="too_large"`` too).
    """

    method = "dp"
    renamed = {"budget": "max_table_entries"}
    max_table_entries: int = integer(DEFAULT_BUDGET, low=1)
    heuristic: str = choice("auto", *HEURISTICS)
    max_terms: int = integer(DP_MAX_TERMS, low=1)


def _table_message(exc: EliminationTooLargeError, limit: int) -> str:
    """The refusal in the method's own terms (the option to raise is ``max_table_entries``)."""
    plan = exc.plan
    if plan is None or plan.max_table <= limit or "squared gradient norm" in str(exc):
        return str(exc)
    return (f"elimination needs a table of 2^{plan.width} = {plan.max_table:,} entries (width "
            f"{plan.width}, order by {plan.heuristic}), above the table budget "
            f"max_table_entries = {limit:,}; raise max_table_entries= if the memory is there "
            "(8 bytes per entry, two or three tables at once)")


def check(problem: LipschitzProblem, options: DPOptions | None = None) -> None:
    """Refuse a problem "dp" does not apply to (another input norm, an l_2 vector output)."""
    if problem.norm not in (math.inf, 2.0, 1.0):
        raise ModelError("method 'dp' supports the input norms inf, 2 and 1")
    if any(u is None for u in functionals(problem.net)):
        raise ModelError("method 'dp' needs a fixed output functional: an l_2 vector output is "
                         "not supported (use 'sdp' or 'lipsdp')")


def dp(problem: LipschitzProblem, options: DPOptions) -> MethodOutput:
    """The exact optimum of the gradient POP (formal constant) by variable elimination.

    Above ``max_table_entries`` or ``max_terms`` (see :class:`DPOptions`):
    ``status="too_large"`` and no bound.
    """
    limit, heuristic, max_terms = options.max_table_entries, options.heuristic, options.max_terms
    t0 = time.perf_counter()
    check(problem, options)
    # l_1: the gradient's coordinates are read from the l_inf POP (t spin, g_i its coefficients)
    pop_norm = "inf" if problem.norm == 1.0 else problem.norm
    db = problem.bounds.derivative_bounds
    parts = []
    best = -math.inf
    fs = functionals(problem.net)
    for k, u in enumerate(fs):
        problem.report("dp", k, len(fs))
        gp = gradient_pop(problem.net, pop_norm, problem.region, functional=u,
                          formulation="auto", max_terms=int(max_terms), derivative_bounds=db)
        if gp.formulation != "expanded":
            msg = (f"the expanded gradient POP would have more than {int(max_terms):,} terms "
                   f"({gp.npaths:.3g} paths); raise max_terms= or use another method")
            return _too_large(msg, parts, limit, t0)
        try:
            part = dp_formal(gp, max_table_entries=limit, heuristic=heuristic,
                             input_norm=problem.norm)
        except EliminationTooLargeError as exc:
            return _too_large(_table_message(exc, limit), parts, limit, t0,
                              width=exc.plan.width, max_table=exc.plan.max_table)
        part["pop"] = gp.summary()
        parts.append(part)
        best = max(best, part["upper"])
    top = max(parts, key=lambda p: p["upper"])
    details = {"formal": max(p["formal"] for p in parts), "margin": top["margin"],
               "width": max(p["width"] for p in parts),
               "max_table": max(p["max_table"] for p in parts), "max_table_entries": int(limit),
               "heuristic": top["heuristic"], "pattern": top["pattern"],
               "functionals": len(parts), "dp_seconds": time.perf_counter() - t0,
               "parts": [{k: v for k, v in p.items() if k not in ("pattern", "t")}
                         for p in parts]}
    return MethodOutput(upper=float(best), status="ok", details=details)


def _too_large(message, parts, limit, t0, width=None, max_table=None) -> MethodOutput:
    log.info("dp: %s", message)
    return MethodOutput(upper=None, status="too_large",
                        details={"message": message, "width": width, "max_table": max_table,
                                 "max_table_entries": int(limit), "functionals_done": len(parts),
                                 "dp_seconds": time.perf_counter() - t0})

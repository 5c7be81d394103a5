"""Method ``"sdp"``: the moment-SOS relaxation of the gradient POP at ``order`` with
``sparsity`` = "network" (correlative sparsity with the network's cliques, the default),
"network+ts" (plus term sparsity inside each clique), "neuron" (see
:func:`~polylip.nn.methods.relax.neuron_structure`), "dense", or the generic analyzers "cs",
"ts", "cs+ts" of :mod:`polylip.sparsity` (or a pattern object).

``upper`` is a bound only when the solver reports an optimal solution; otherwise it is None
and ``status`` says why. For vector outputs with output norm inf or 1 the bound is the maximum
over the extreme functionals (one relaxation each).

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

from dataclasses import dataclass

from polylip.nn.methods.base import DEFAULT_TIME_LIMIT, MethodOptions, choice, integer, name, number, one_of
from polylip.nn.methods.bound import check_pop_norm, gradient_pops, run_relaxations, solve_gradient_pop
from polylip.nn.methods.relax import PATTERNS, SPARSITIES
from polylip.nn.methods.shor import FORMULATIONS, SIDES
from polylip.nn.problem import LipschitzProblem, MethodOutput

__all__ = ["SDPOptions", "sdp", "check"]

#: Refuse the l_1 input norm before any work
#: (:func:`~polylip.nn.methods.bound.check_pop_norm`).
check = check_pop_norm


@dataclass(frozen=True)
class SDPOptions(MethodOptions):
    """Options of method "sdp".

    ``order`` (None: the smallest valid, at least 2), ``sparsity`` (default "network"),
    ``ts_steps`` (term-sparsity steps), ``solver``, ``side``, ``formulation``, ``max_terms``
    (largest expanded objective before "auto" lifts; None: the default of
    :func:`~polylip.nn.gradient_pop.gradient_pop`), ``tol``, ``time_limit`` (seconds for the
    solves together, default :data:`~polylip.nn.methods.base.DEFAULT_TIME_LIMIT`, None: no
    limit; a solve stopped by it gives no bound and ``status="time_limit"``).
    """

    method = "sdp"
    order: int | None = integer(None, low=1, optional=True)
    sparsity: object = one_of("network", SPARSITIES, types=PATTERNS, what="a sparsity pattern")
    ts_steps: int = integer(1, low=1)
    solver: str = name("auto")
    side: str = choice("auto", *SIDES)
    formulation: str = choice("auto", *FORMULATIONS)
    max_terms: int | None = integer(None, low=1, optional=True)
    tol: float | None = number(None, low=0, low_open=True, optional=True)
    time_limit: float | None = number(DEFAULT_TIME_LIMIT, low=0, low_open=True, optional=True)


def sdp(problem: LipschitzProblem, options: SDPOptions) -> MethodOutput:
    """Moment-SOS relaxation at ``order`` (default: the smallest valid, at least 2)."""
    o = options
    check_pop_norm(problem)
    pops = gradient_pops(problem, o.formulation, o.max_terms)
    order = o.order
    if order is None:
        order = max(2, max(gp.pop.min_order() for gp in pops))
    return run_relaxations(
        problem, pops, "sdp",
        lambda gp, left: solve_gradient_pop(gp, "sdp", order=order, sparsity=o.sparsity,
                                            ts_steps=o.ts_steps, solver=o.solver, side=o.side,
                                            tol=o.tol, time_limit=left),
        shown=dict(order=order, sparsity=o.sparsity, solver=o.solver), time_limit=o.time_limit)

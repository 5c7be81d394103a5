"""Method ``"lp"``: the Krivine/Handelman LP of ``degree`` (LiPopt-k) over the box of ``t``
and ``sigma``, products within the network's cliques (``sparsity="network"``, default), "cs"
or "dense". l_inf input norm only (the l_2 ball is not a polytope); solved and its certificate
checked by :class:`~polylip.solve.lp.LPRelaxation`.

Examples
--------
>>> import numpy as np
>>> from polylip.nn import Network, lipschitz
>>> net = Network.from_weights([np.array([[1.0, -1.0], [2.0, 1.0]]), np.array([[1.0, 1.0]])])
>>> res = lipschitz(net, norm="inf", method="lp", options=LPOptions(degree=3), lower=False)
>>> round(res.upper, 6), res.details["degree"]
(3.0, 3)
"""

from __future__ import annotations

from dataclasses import dataclass

from polylip.errors import RelaxationError
from polylip.nn.methods.base import DEFAULT_TIME_LIMIT, MethodOptions, custom, integer, name, number
from polylip.nn.methods.bound import check_lp, gradient_pops, run_relaxations, \
    solve_gradient_pop
from polylip.nn.problem import LipschitzProblem, MethodOutput
from polylip.sparsity.krivine import LPSparsity

__all__ = ["LPOptions", "lp", "LP_SPARSITIES", "check"]

#: Refuse what "lp" does not apply to, before any work (:func:`~polylip.nn.methods.bound.check_lp`).
check = check_lp

#: The sparsity names of method "lp" (or a list of cliques, each a list of variable indices).
LP_SPARSITIES = ("network", "cs", "dense")


def _is_lp_sparsity(v) -> bool:
    if isinstance(v, str):
        return v in LP_SPARSITIES
    if isinstance(v, LPSparsity):
        return True
    return isinstance(v, (list, tuple)) and all(isinstance(c, (list, tuple)) for c in v)


@dataclass(frozen=True)
class LPOptions(MethodOptions):
    """Options of method "lp".

    ``degree`` (None: the objective's degree + 1), ``sparsity`` (default "network"), ``solver``,
    ``tol``, ``time_limit`` (seconds for the LP solves together, HiGHS and Clarabel; PICOS
    solvers ignore it; an LP stopped by it gives no bound and ``status="time_limit"``).
    """

    method = "lp"
    degree: int | None = integer(None, low=1, optional=True)
    sparsity: object = custom("network", "one of 'network', 'cs', 'dense', a list of cliques or an LPSparsity",
                              _is_lp_sparsity)
    solver: str = name("auto")
    tol: float | None = number(None, low=0, low_open=True, optional=True)
    time_limit: float | None = number(DEFAULT_TIME_LIMIT, low=0, low_open=True, optional=True)


def lp(problem: LipschitzProblem, options: LPOptions) -> MethodOutput:
    """LiPopt-k: the LP hierarchy of ``degree`` (default: the objective's degree + 1)."""
    o = options
    check_lp(problem, o)
    pops = gradient_pops(problem, formulation="expanded", max_terms=10 ** 9)
    degree = o.degree
    if degree is None:
        degree = max(gp.pop.objective.degree for gp in pops) + 1
    try:
        return run_relaxations(
            problem, pops, "lp",
            lambda gp, left: solve_gradient_pop(gp, "lp", degree=degree, sparsity=o.sparsity,
                                                solver=o.solver, tol=o.tol, time_limit=left),
            shown=dict(degree=degree, sparsity=o.sparsity, solver=o.solver),
            time_limit=o.time_limit)
    except RelaxationError as exc:
        return MethodOutput(upper=None, status="unreachable", details={"message": str(exc),
                                                                       "degree": int(degree)})

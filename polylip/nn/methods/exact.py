"""Method ``"exact"``: the formal and true constants by enumerating activation patterns
(small networks only; see :mod:`polylip.nn.exact`).

Examples
--------
>>> import numpy as np
>>> from polylip.nn import Network, lipschitz
>>> net = Network.from_weights([np.array([[1.0, 1.0], [1.0, -1.0]]), np.array([[1.0, 1.0]])])
>>> res = lipschitz(net, norm="inf", method="exact", options=ExactOptions(max_unstable=4))
>>> res.upper, res.details["formal"]
(2.0, 2.0)
"""

from __future__ import annotations

from dataclasses import dataclass

from polylip.nn.exact import MAX_LPS, MAX_UNSTABLE, check_unstable, exact_values, unstable_count
from polylip.nn.lower import differentiable_witness
from polylip.nn.methods.base import MethodOptions, integer
from polylip.nn.problem import LipschitzProblem, MethodOutput
from polylip.nn.regions import GlobalRegion

__all__ = ["ExactOptions", "exact", "check"]


@dataclass(frozen=True)
class ExactOptions(MethodOptions):
    """Options of method "exact".

    ``max_unstable``: most unstable neurons enumerated (``2^K`` patterns; more raises
    :class:`~polylip.nn.exact.ExactTooLargeError`); ``max_lps``: most realizability LPs solved
    for the true constant (then ``status="lp_limit"``).
    """

    method = "exact"
    max_unstable: int = integer(MAX_UNSTABLE, low=0)
    max_lps: int = integer(MAX_LPS, low=0)


def check(problem: LipschitzProblem, options: ExactOptions | None = None) -> None:
    """Over the global region (whose bounds cost nothing: no propagation), refuse a network
    with more than ``max_unstable`` unstable neurons before any work (before, at MNIST scale
    after the lower-bound search, 1.2-4.2 s). Over a box or a ball the count needs the
    region's bounds, which the method computes: it refuses there."""
    region = problem.region
    if type(region) is GlobalRegion and not region.tighten:
        o = options or ExactOptions()
        check_unstable(problem.net, unstable_count(region.propagate(problem.net)),
                       o.max_unstable)


def exact(problem: LipschitzProblem, options: ExactOptions) -> MethodOutput:
    """Exact formal and true constants; ``upper = true`` for piecewise-linear networks, with
    ``lower`` the gradient norm at the true pattern's point once checked
    (:func:`~polylip.nn.lower.differentiable_witness`: equal to ``true`` unless rounding moved
    it), ``upper = formal`` otherwise (see :mod:`polylip.nn.exact`)."""
    hint = problem.lower.witness if problem.lower is not None else None
    ev = exact_values(problem.net, problem.norm, problem.region,
                      max_unstable=options.max_unstable, max_lps=options.max_lps, hint=hint,
                      progress=lambda d, t: problem.report("patterns", d, t))
    details = {"formal": ev.formal, "true": ev.true, "num_unstable": ev.num_unstable,
               "num_patterns": ev.num_patterns, "num_lps": ev.num_lps,
               "exact_status": ev.status, "exact_seconds": ev.seconds}
    if ev.true is not None:
        # the LP's point of the true pattern is not trusted as it is: moved into the region
        # and off the kinks, its value measured with the network's own gradient (a point of
        # an LP over a ball may lie outside it by the solver's tolerance, 2e-9 measured; over
        # the global region, at |x| = 8e10 where rounding gives another pattern, value 5e-32)
        got = None if ev.witness is None else differentiable_witness(
            problem.net, ev.witness, problem.region, problem.norm)
        lower, witness = (None, None) if got is None else got
        return MethodOutput(upper=ev.true, lower=lower, witness=witness, status="ok",
                            details=details)
    status = "ok" if ev.status == "formal_only" else ev.status
    return MethodOutput(upper=ev.formal, status=status, details=details)

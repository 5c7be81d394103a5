"""The methods that answer at once: ``"product"`` (product of layer operator norms) and
``"interval"`` (interval bounds on the Jacobian, Fast-Lip style). Neither takes options.

Examples
--------
>>> import numpy as np
>>> from polylip.nn import Network, lipschitz
>>> net = Network.from_weights([np.array([[2.0, 0.0], [0.0, 1.0]]), np.array([[1.0, 1.0]])])
>>> lipschitz(net, norm="inf", method="product", lower=False).upper
4.0
>>> lipschitz(net, norm="inf", method="interval", lower=False).upper
3.0
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from polylip.nn.baselines import interval_bound, layer_norms
from polylip.nn.methods.base import MethodOptions
from polylip.nn.problem import LipschitzProblem, MethodOutput
from polylip.nn.regions import GlobalRegion

__all__ = ["ProductOptions", "IntervalOptions", "product", "interval", "POST_FACTORS"]


@dataclass(frozen=True)
class ProductOptions(MethodOptions):
    """Method "product" takes no options."""

    method = "product"


@dataclass(frozen=True)
class IntervalOptions(MethodOptions):
    """Method "interval" takes no options."""

    method = "interval"


#: ``problem.cache`` key of a ``post(k, factor)`` callable: method "auto" sets it when it runs
#: "product" in a worker it may stop (:func:`polylip.nn.baselines.mixed_product`).
POST_FACTORS = "product: post factors"


def product(problem: LipschitzProblem, options: ProductOptions) -> MethodOutput:
    """Product of layer operator norms; over a local region, scaled by the derivative bounds
    from interval bound propagation (stable-off neurons removed).

    With a ``post`` callable in ``problem.cache`` (:data:`POST_FACTORS`) each factor is posted
    when finished, and over a local region the global factors are computed and posted first:
    they need no region bounds (the CROWN bounds of a ball of 784-1000-1000-1000-10 took 2.1
    s, its spectral norms 1.4 s, load 12), bound the factors over any region, and are what a
    stopped step leaves (12.04 there, against 11.44 for the local product)."""
    post = problem.cache.get(POST_FACTORS)
    if post is not None and not isinstance(problem.region, GlobalRegion):
        layer_norms(problem.net, problem.norm, GlobalRegion(), post=post)
    factors = layer_norms(problem.net, problem.norm, problem.region, post=post)
    return MethodOutput(upper=float(np.prod(factors)), details={"factors": factors})


def interval(problem: LipschitzProblem, options: IntervalOptions) -> MethodOutput:
    """Norm of the entrywise largest magnitudes of the interval Jacobian
    (:func:`polylip.nn.baselines.interval_bound`); answers at once."""
    return MethodOutput(upper=interval_bound(problem.net, problem.norm, problem.region,
                                             bounds=problem.bounds))

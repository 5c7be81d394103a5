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

__all__ = ["ProductOptions", "IntervalOptions", "product", "interval"]


@dataclass(frozen=True)
class ProductOptions(MethodOptions):
    """Method "product" takes no options."""

    method = "product"


@dataclass(frozen=True)
class IntervalOptions(MethodOptions):
    """Method "interval" takes no options."""

    method = "interval"


def product(problem: LipschitzProblem, options: ProductOptions) -> MethodOutput:
    """Product of layer operator norms; over a local region, scaled by the derivative bounds
    from interval bound propagation (stable-off neurons removed)."""
    factors = layer_norms(problem.net, problem.norm, problem.region)
    return MethodOutput(upper=float(np.prod(factors)), details={"factors": factors})


def interval(problem: LipschitzProblem, options: IntervalOptions) -> MethodOutput:
    """Norm of the entrywise largest magnitudes of the interval Jacobian
    (:func:`polylip.nn.baselines.interval_bound`); answers at once."""
    return MethodOutput(upper=interval_bound(problem.net, problem.norm, problem.region,
                                             bounds=problem.bounds))

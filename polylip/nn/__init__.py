"""Neural networks for Lipschitz analysis: the network model, loaders, input regions,
baselines, exact values for small networks, lower bounds, and the :func:`lipschitz` entry point.

Examples
--------
>>> import numpy as np
>>> from polylip.nn import Network, lipschitz
>>> net = Network.from_weights([np.array([[1.0, -1.0], [2.0, 1.0]]), np.array([[1.0, 1.0]])])
>>> res = lipschitz(net, norm="inf", method="exact")
>>> res.upper == res.lower == 3.0
True
"""

from polylip.nn.activations import Activation, get_activation
from polylip.nn.baselines import layer_norms, product_bound
from polylip.nn.estimate import (METHODS, LipschitzProblem, LipschitzResult, MethodOutput,
                                 lipschitz, method_names, register_method)
from polylip.nn.exact import ExactTooLargeError, ExactValues, exact_values
from polylip.nn.lower import LowerBound, LowerOptions, lower_bound
from polylip.nn.network import (Conv2d, Dense, MarginOutput, Network, ScalarOutput, VectorOutput,
                                conv2d_matrix)
from polylip.nn.regions import BallRegion, BoxRegion, GlobalRegion, Region, RegionBounds

__all__ = [
    "Network", "Dense", "Conv2d", "ScalarOutput", "MarginOutput", "VectorOutput", "conv2d_matrix",
    "Activation", "get_activation",
    "Region", "GlobalRegion", "BoxRegion", "BallRegion", "RegionBounds",
    "lipschitz", "LipschitzResult", "LipschitzProblem", "MethodOutput", "METHODS",
    "register_method", "method_names",
    "product_bound", "layer_norms", "exact_values", "ExactValues", "ExactTooLargeError",
    "lower_bound", "LowerBound", "LowerOptions",
]

# Registers the polynomial-optimization methods "shor", "sdp", "lp", "lipsdp" and "auto"
# (issue 6) into METHODS; kept last so that the registry exists when it runs.
from polylip.nn import pop_methods as _pop_methods  # noqa: E402,F401
from polylip.nn import dp_method as _dp_method  # noqa: E402,F401  (method "dp")
from polylip.nn import milp_method as _milp_method  # noqa: E402,F401  (method "milp")
from polylip.nn.gradient_pop import GradientPOP, gradient_pop  # noqa: E402

__all__ += ["gradient_pop", "GradientPOP"]

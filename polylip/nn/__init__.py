"""Neural networks for Lipschitz analysis: the network model, loaders, input regions,
baselines, exact values for small networks, lower bounds, and the :func:`lipschitz` entry point.

The methods :func:`lipschitz` can run are listed in one table, :data:`polylip.nn.methods.TABLE`
(name, function, options dataclass, description); :data:`METHODS` is the registry built from
it, which :func:`register_method` extends.

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
from polylip.nn.batch import BatchResult, lipschitz_batch, margins
from polylip.nn.estimate import (METHODS, LipschitzProblem, LipschitzResult, MethodOutput,
                                 lipschitz, method_names, register_method)
from polylip.nn.exact import ExactTooLargeError, ExactValues, exact_values
from polylip.nn.gradient_pop import GradientPOP, gradient_pop
from polylip.nn.lower import LowerBound, LowerOptions, lower_bound
from polylip.nn.methods import (TABLE, AutoOptions, DPOptions, EclipseOptions, ExactOptions,
                                IntervalOptions, LipSDPOptions, LPOptions, MethodOptions,
                                MILPOptions, ProductOptions, SDPOptions, ShorOptions)
from polylip.nn.network import (Conv2d, Dense, MarginOutput, Network, ScalarOutput, VectorOutput,
                                conv2d_matrix)
from polylip.nn.regions import BallRegion, BoxRegion, GlobalRegion, Region, RegionBounds

__all__ = [
    "Network", "Dense", "Conv2d", "ScalarOutput", "MarginOutput", "VectorOutput", "conv2d_matrix",
    "Activation", "get_activation",
    "Region", "GlobalRegion", "BoxRegion", "BallRegion", "RegionBounds",
    "lipschitz", "LipschitzResult", "LipschitzProblem", "MethodOutput", "METHODS", "TABLE",
    "lipschitz_batch", "BatchResult", "margins",
    "register_method", "method_names",
    "MethodOptions", "ProductOptions", "IntervalOptions", "EclipseOptions", "ExactOptions",
    "ShorOptions",
    "SDPOptions", "LPOptions", "LipSDPOptions", "DPOptions", "MILPOptions", "AutoOptions",
    "product_bound", "layer_norms", "exact_values", "ExactValues", "ExactTooLargeError",
    "lower_bound", "LowerBound", "LowerOptions", "gradient_pop", "GradientPOP",
]

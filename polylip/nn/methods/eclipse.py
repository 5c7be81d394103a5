"""Method ``"eclipse"``: ECLipsE-Fast (Xu and Sivaranjani, NeurIPS 2024), a certified l_2
bound from a closed-form layer-by-layer recursion on the LipSDP-Neuron matrix, no SDP (the
recursion and its proof: :mod:`polylip.nn.eclipse`). Never above the product of spectral
norms; seconds on 100 layers of 160 neurons.

Examples
--------
>>> import numpy as np
>>> from polylip.nn import Network, lipschitz
>>> net = Network.from_weights([np.eye(2), np.array([[1.0, 1.0]])])
>>> round(lipschitz(net, norm=2, method="eclipse", lower=False).upper, 4)
1.4142
"""

from __future__ import annotations

from dataclasses import dataclass

from polylip.errors import ModelError
from polylip.nn.eclipse import eclipse_fast
from polylip.nn.methods.base import MethodOptions
from polylip.nn.problem import LipschitzProblem, MethodOutput

__all__ = ["EclipseOptions", "eclipse"]


@dataclass(frozen=True)
class EclipseOptions(MethodOptions):
    """Method "eclipse" takes no options."""

    method = "eclipse"


def eclipse(problem: LipschitzProblem, options: EclipseOptions) -> MethodOutput:
    """ECLipsE-Fast over the region's slope bounds, certified by
    :func:`polylip.nn.lipsdp.certify_rho` (l_2 input norm; scalar, margin or l_2 vector
    output)."""
    if problem.norm != 2.0:
        raise ModelError("method 'eclipse' bounds the l_2 constant: use norm=2")
    out = eclipse_fast(problem.net, problem.bounds.derivative_bounds)
    return MethodOutput(upper=out["bound"], details=out)

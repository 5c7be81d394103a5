"""A small local region seen in its own units: ``x = c + r y`` with ``y`` in the unit box or
ball (for a radius below :data:`UNIT_RADIUS` of the center's scale).

The methods' solvers have absolute tolerances (HiGHS: 1e-7 on rows, 1e-9 on matrix entries;
the LP margins of the cells), so they need the region at the scale of those tolerances. Over a
box of radius 1e-11, "milp" returned 18.0018 and "bab" 16 with status "optimal" where samples
of the box reach 20: the region was below the solvers' resolution. :func:`to_unit` gives the
network ``g(y) = f(c + r y) / r`` and the region ``||y|| <= 1`` of the same kind:
``grad_y g(y) = grad_x f(c + r y)``, so a method's bounds on ``g`` are bounds on ``f`` for
every input norm, and its witness ``y`` is the input ``c + r y``, where the lower bound is
measured again on ``f`` (:func:`polylip.nn.lower.differentiable_witness`).

Examples
--------
>>> import numpy as np
>>> from polylip.nn.network import Network
>>> from polylip.nn.regions import BoxRegion
>>> net = Network.from_weights([np.array([[2.0, -1.0]]), np.array([[3.0]])], [np.array([1.0]), None])
>>> unit, region = to_unit(net, BoxRegion([1.0, 2.0], 0.5))   # ReLU: pre-activations / r
>>> unit.affine_layers[0][0].tolist(), unit.affine_layers[0][1].tolist(), region.radius
([[2.0, -1.0]], [2.0], 1.0)
"""

from __future__ import annotations

import dataclasses

import numpy as np

from polylip.nn.lower import LowerBound, differentiable_witness
from polylip.nn.network import Network
from polylip.nn.problem import MethodOutput
from polylip.nn.regions import BallRegion, BoxRegion

#: Activations with ``a(t z) = t a(z)`` for ``t > 0``.
HOMOGENEOUS = ("relu", "leaky_relu", "identity")
#: A box or a ball is handed to the methods in its own units when its radius is below this
#: fraction of ``max(1, ||c||_inf)``: HiGHS's feasibility tolerance (1e-7, absolute) is then
#: more than 1e-4 of the region. Larger regions keep the units of x (the methods' figures
#: unchanged there).
UNIT_RADIUS = 1e-3


def needs_units(region) -> bool:
    """Whether the methods get ``region`` in its own units (:data:`UNIT_RADIUS`)."""
    if not isinstance(region, (BoxRegion, BallRegion)):
        return False
    scale = max(1.0, float(np.max(np.abs(region.center), initial=0.0)))
    return float(region.radius) < UNIT_RADIUS * scale

__all__ = ["to_unit", "lower_to_unit", "output_from_unit", "needs_units", "UNIT_RADIUS"]


def to_unit(net, region):
    """``(network g, unit region)`` for a box or a ball, ``g(y) = f(c + r y) / r`` (so
    ``grad_y g = grad_x f``: the same constant and the same bounds, in the same units);
    ``(net, region)`` for any other region.

    With positively homogeneous activations (ReLU, leaky ReLU, identity) every pre-activation
    is divided by ``r`` too (first layer ``W_1`` and bias ``(W_1 c + b_1) / r``, the other
    biases divided by ``r``): the cells are the same and their pre-activations of the size
    of the region's, ``|W| |y|``. Otherwise the first layer is ``(r W_1, W_1 c + b_1)`` and
    the last ``(W_L / r, b_L / r)``."""
    if not isinstance(region, (BoxRegion, BallRegion)):
        return net, region
    c, r = np.asarray(region.center, dtype=float), float(region.radius)
    layers = list(net.affine_layers)
    W, b = layers[0]
    shifted = np.asarray(W @ c).ravel() + b
    if all(a.name in HOMOGENEOUS for a in net.activations):
        layers = [(W, shifted / r)] + [(Wk, bk / r) for Wk, bk in layers[1:]]
    else:
        layers[0] = (W * r, shifted)
        WL, bL = layers[-1]
        layers[-1] = (WL / r, bL / r)
    unit = Network(layers, net.activations, net.output, net.input_shape)
    if isinstance(region, BoxRegion):
        return unit, BoxRegion(np.zeros(c.size), 1.0, bounds=region.bounds)
    return unit, BallRegion(np.zeros(c.size), 1.0)


def lower_to_unit(lb, region):
    """A lower bound of ``f`` as one of ``g`` (the same value, witness ``(x - c) / r``)."""
    if lb is None or not isinstance(region, (BoxRegion, BallRegion)):
        return lb
    y = (np.asarray(lb.witness, dtype=float) - region.center) / region.radius
    if isinstance(region, BoxRegion):
        y = np.clip(y, -1.0, 1.0)
    elif np.linalg.norm(y) > 1.0:
        y = y / np.linalg.norm(y)
    return dataclasses.replace(lb, witness=y)


def output_from_unit(out: MethodOutput, net, region, norm) -> MethodOutput:
    """A method's output on ``g`` as one on ``f``: the same upper bound; the witness
    ``c + r y`` put in the region, its lower bound measured again on ``f`` at a point of
    differentiability (dropped when there is none)."""
    if not isinstance(region, (BoxRegion, BallRegion)):
        return out
    lower, witness = None, None
    if out.witness is not None and out.lower is not None:
        y = np.asarray(out.witness, dtype=float)
        x = region.project((region.center + region.radius * y)[None, :])[0]
        got = differentiable_witness(net, x, region, norm)
        if got is not None:
            lower, witness = float(got[0]), got[1]
    return dataclasses.replace(out, lower=lower, witness=witness)

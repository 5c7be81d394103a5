"""What a Lipschitz method receives (:class:`LipschitzProblem`) and returns (:class:`MethodOutput`).

Both are plain values shared by :func:`polylip.nn.estimate.lipschitz` and every method of
:mod:`polylip.nn.methods`; this module imports neither, so the methods and the entry point
depend on it and not on each other.

Examples
--------
>>> import numpy as np
>>> from polylip.nn.network import Network
>>> from polylip.nn.regions import GlobalRegion
>>> net = Network.from_weights([np.eye(2), np.ones((1, 2))])
>>> problem = LipschitzProblem(net, 2.0, GlobalRegion())
>>> problem.dual_norm, [lo.tolist() for lo, _ in problem.bounds.derivative_bounds]
(2.0, [[0.0, 0.0]])
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Callable

import numpy as np

from polylip.nn.lower import LowerBound
from polylip.nn.network import Network
from polylip.nn.norms import dual
from polylip.nn.regions import Region, RegionBounds

__all__ = ["LipschitzProblem", "MethodOutput"]


@dataclass(frozen=True)
class LipschitzProblem:
    """What a method receives: the network, the input norm ``p`` (a float in {1, 2, inf}),
    the region, lazily computed interval bounds, and the lower bound found before the method
    ran (None when switched off).

    ``started`` is the :func:`time.perf_counter` reading when the :func:`lipschitz` call began
    (a method with a time budget, such as "auto", counts from it); ``cache`` is a scratch
    dictionary methods may use to share values they build from the problem (e.g. the gradient
    POPs), never part of the result. ``methods`` is the registry the call was made with
    (name -> method), through which a method that runs others ("auto") calls them by name.
    """

    net: Network
    norm: float
    region: Region
    lower: LowerBound | None = None
    progress: Callable | None = None
    started: float | None = None
    cache: dict = field(default_factory=dict, compare=False, repr=False)
    methods: Mapping | None = field(default=None, compare=False, repr=False)

    @property
    def dual_norm(self) -> float:
        """``q`` with ``1/p + 1/q = 1``: a scalar output's constant is ``sup ||grad f||_q``."""
        return dual(self.norm)

    @cached_property
    def bounds(self) -> RegionBounds:
        """Interval bound propagation over the region (derivative ranges, stable neurons)."""
        return self.region.propagate(self.net)

    def report(self, stage: str, done: int, total: int) -> None:
        """Forward progress to the caller's callback (if any)."""
        if self.progress is not None:
            self.progress(stage, done, total)


@dataclass
class MethodOutput:
    """What a method returns. ``upper`` only if the method certifies it; ``lower`` only if it
    is attained (e.g. at ``witness``)."""

    upper: float | None = None
    lower: float | None = None
    witness: np.ndarray | None = None
    status: str = "ok"
    details: dict = field(default_factory=dict)

"""The two certificates polylip relaxes a POP with, as plain values: :class:`Putinar` (the
moment-SOS hierarchy, sums of squares times the constraints) and :class:`Krivine` (the
Krivine/Handelman LP hierarchy, non-negative combinations of products of the polytope's
factors). Both run through the same pipeline (:func:`polylip.solve.pipeline.solve_pop`): the
same sparsity patterns and structure reports, the same backend registry, the same result.

``order="auto"`` (Putinar) raises the order from the smallest valid one until the bound is
finite and certified optimal, or ``max_order`` is reached. Default ``max_order``: the smallest
valid order plus :data:`AUTO_EXTRA_ORDERS`; the size of a relaxation grows like
``comb(n + 2k, 2k)``, so two steps up is where dense relaxations of a few variables stay in
seconds and larger ones are better served by choosing a sparsity pattern.

Examples
--------
>>> Putinar(order=2, sparsity="cs")
Putinar(order=2, sparsity='cs', max_order=None)
>>> Krivine(degree=3).method
'lp'
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

from polylip.errors import RelaxationError

__all__ = ["Putinar", "Krivine", "AUTO_EXTRA_ORDERS", "as_certificate"]

#: order="auto" tries at most this many orders above the smallest valid one (see module text).
AUTO_EXTRA_ORDERS = 2


def _positive_int(value, what: str, allow_none: bool = True):
    if value is None and allow_none:
        return None
    # any integer type (numpy's too: order=np.int64(2) was refused; POP QA round), never bool
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise RelaxationError(f"{what} must be a positive integer, not {value!r}")
    return int(value)


@dataclass(frozen=True)
class Putinar:
    """The moment-SOS (Lasserre) hierarchy at ``order`` (None: the smallest valid; "auto": raise
    it until the bound is certified, up to ``max_order``), with a sparsity pattern ("auto",
    "dense", "cs", "ts", "cs+ts" or a pattern of :mod:`polylip.sparsity`)."""

    order: int | str | None = None
    sparsity: object = "dense"
    max_order: int | None = None

    method = "sos"

    def __post_init__(self):
        if not (isinstance(self.order, str) and self.order == "auto"):
            object.__setattr__(self, "order", _positive_int(self.order, "the relaxation order"))
        object.__setattr__(self, "max_order", _positive_int(self.max_order, "max_order"))


@dataclass(frozen=True)
class Krivine:
    """The Krivine/Handelman LP hierarchy of certificate ``degree`` (None: the objective's
    degree), on a polytope; sparsity "dense", "cs" or explicit cliques."""

    degree: int | None = None
    sparsity: object = "dense"

    method = "lp"

    def __post_init__(self):
        object.__setattr__(self, "degree", _positive_int(self.degree, "the LP degree"))


def as_certificate(method: str = "sos", order=None, degree=None, sparsity="dense"):
    """The certificate value for the keyword style of ``POP.solve`` (``method``, ``order``,
    ``degree``, ``sparsity``)."""
    if method == "sos":
        if degree is not None:
            raise RelaxationError("degree= is for method='lp'; the SOS hierarchy takes order=")
        return Putinar(order=order, sparsity=sparsity)
    if method == "lp":
        if order is not None:
            raise RelaxationError("order= is for method='sos'; the LP hierarchy takes degree=")
        return Krivine(degree=degree, sparsity=sparsity)
    raise RelaxationError(f"method must be 'sos' or 'lp', not {method!r}")

"""Block structure of a moment-SOS relaxation: which PSD matrices and equality rows it has.

A relaxation of order d is described, before any number is computed, by

* PSD blocks: a monomial basis ``b_1..b_k`` (index rows) and a multiplier ``g`` (the constant 1
  for a moment matrix, an inequality ``g_i`` for a localizing matrix); the block is the matrix
  ``[L(g * b_p * b_q)]_{p,q}`` where ``L`` maps monomials to moments;
* equality blocks: a basis of multipliers ``b`` and an equality ``h``; each gives the linear rows
  ``L(h * b) = 0``.

The dense relaxation has one moment matrix over all monomials of degree <= d. Sparsity
(correlative, term) only changes *which* blocks there are: smaller bases, one per clique or per
connected component; :mod:`polylip.sparsity` produces :class:`BlockStructure` values of the same
shape, and :mod:`polylip.relax.moment` turns any of them into conic data.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from polylip.errors import RelaxationError
from polylip.poly import monomials as mono

#: ``PSDBlock.constraint`` value of a moment matrix (multiplier 1).
MOMENT = -1


@dataclass(frozen=True)
class PSDBlock:
    """One PSD matrix of the relaxation.

    Attributes
    ----------
    basis : ndarray of int, shape (k, w)
        Index rows of the monomials indexing rows and columns.
    constraint : int
        ``MOMENT`` (-1) for a moment matrix, else the index of the inequality in ``pop.ineqs``.
    clique : int
        Index of the clique it belongs to (0 for the dense relaxation).
    """

    basis: np.ndarray
    constraint: int = MOMENT
    clique: int = 0

    @property
    def size(self) -> int:
        return int(self.basis.shape[0])


@dataclass(frozen=True)
class EqualityBlock:
    """Rows ``L(h * b) = 0`` for each multiplier monomial ``b`` in ``basis``."""

    basis: np.ndarray
    constraint: int
    clique: int = 0

    @property
    def size(self) -> int:
        return int(self.basis.shape[0])


@dataclass(frozen=True)
class BlockStructure:
    """All blocks of a relaxation plus the facts that produced them.

    ``cliques`` are tuples of variable indices; ``kind`` names the sparsity that built it
    ("dense", "cs", "ts", "cs+ts"); ``info`` holds anything a report may show (graphs, TS
    steps, the running intersection property, ...).
    """

    order: int
    psd: tuple[PSDBlock, ...]
    equalities: tuple[EqualityBlock, ...]
    cliques: tuple[tuple[int, ...], ...]
    kind: str = "dense"
    info: dict = field(default_factory=dict, compare=False)

    @property
    def psd_sizes(self) -> list[int]:
        return [b.size for b in self.psd]


def check_order(pop, order: int | None) -> int:
    """Return a valid relaxation order: the given one, or the smallest valid when None."""
    dmin = pop.min_order()
    if order is None:
        return dmin
    if int(order) != order or order < 1:
        raise RelaxationError(f"the relaxation order must be a positive integer, not {order!r}")
    if order < dmin:
        raise RelaxationError(
            f"order {order} is too low: the problem has degree {pop.degree}, so the smallest "
            f"valid order is {dmin}")
    return int(order)


def localizing_degree(order: int, poly) -> int:
    """Degree of the basis of the localizing matrix of ``poly`` at ``order``."""
    return order - (poly.degree + 1) // 2


def equality_degree(order: int, poly) -> int:
    """Degree of the multiplier basis of an equality ``poly`` at ``order``."""
    return 2 * order - poly.degree


def clique_blocks(pop, order: int, cliques, assignment_ineq, assignment_eq) -> tuple:
    """PSD and equality blocks for given cliques (one moment matrix per clique).

    ``assignment_ineq[i]`` / ``assignment_eq[j]`` is the clique index each constraint is
    attached to. The dense relaxation is the special case of one clique with all variables.
    """
    bmask, smask = pop.binary_mask, pop.spin_mask
    boolean = dict(binary=bmask if bmask.any() else None, spin=smask if smask.any() else None)
    psd, eqs = [], []
    for c, clique in enumerate(cliques):
        psd.append(PSDBlock(mono.basis(clique, order, **boolean), MOMENT, c))
    for i, g in enumerate(pop.ineqs):
        c = assignment_ineq[i]
        psd.append(PSDBlock(mono.basis(cliques[c], localizing_degree(order, g), **boolean), i, c))
    for j, h in enumerate(pop.eqs):
        c = assignment_eq[j]
        eqs.append(EqualityBlock(mono.basis(cliques[c], equality_degree(order, h), **boolean), j, c))
    return tuple(psd), tuple(eqs)


def dense_structure(pop, order: int | None = None) -> BlockStructure:
    """The dense moment-SOS relaxation: one moment matrix over all variables.

    Examples
    --------
    >>> import sympy
    >>> from polylip import POP
    >>> x, y = sympy.symbols("x y")
    >>> dense_structure(POP(x**4 + y**2, ineqs=[1 - x**2]), 2).psd_sizes
    [6, 3]
    """
    order = check_order(pop, order)
    clique = tuple(range(pop.nvars))
    psd, eqs = clique_blocks(pop, order, [clique], [0] * len(pop.ineqs), [0] * len(pop.eqs))
    return BlockStructure(order, psd, eqs, (clique,), "dense")

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
from math import comb

import numpy as np

from polylip.errors import RelaxationError
from polylip.poly import monomials as mono
from polylip.runtime import check_memory, format_count, memory_limit

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


# ---------------------------------------------------------------------------------------------
# sizes, estimated before any basis or matrix is built
# ---------------------------------------------------------------------------------------------
def count_basis(nfree: int, nbool: int, degree: int) -> int:
    """Monomials of degree <= ``degree`` in ``nfree`` ordinary and ``nbool`` binary/spin
    variables (which appear with exponent 0 or 1): the size of a reduced basis."""
    if degree < 0:
        return 0
    return sum(comb(nbool, j) * comb(nfree + degree - j, degree - j)
               for j in range(min(degree, nbool) + 1))


def assembly_bytes(products: int, width: int) -> int:
    """Peak memory of :func:`polylip.relax.moment.assemble` for ``products`` index rows of
    ``width`` entries: the rows and their working copies (int32: concatenation, sort, lexsort
    gather), the int64 entry, term and moment indices, and the COO/CSR triplets."""
    return int(products) * (16 * int(width) + 80)


def largest_usable_clique(pop, order: int) -> int:
    """The most variables a clique may have for its moment matrix at ``order`` alone to fit in
    :func:`polylip.runtime.memory_limit` when assembled (:func:`assembly_bytes`; its binary and
    spin variables, if any, counted as boolean first, which gives the smallest matrix): a
    larger clique is of no use to any relaxation at that order.

    Examples
    --------
    >>> import sympy
    >>> from polylip import POP
    >>> from polylip.runtime import MemoryLimit
    >>> x = sympy.symbols("x0:50")
    >>> with MemoryLimit("64 MiB"):
    ...     largest_usable_clique(POP(sum(x)), 1), largest_usable_clique(POP(sum(x)), 2)
    (50, 42)
    """
    nbool = int((pop.binary_mask | pop.spin_mask).sum()) if (pop.binary or pop.spin) else 0
    limit = memory_limit()

    def fits(c: int) -> bool:
        nb = min(c, nbool)
        k = count_basis(c - nb, nb, order)
        return assembly_bytes(k * (k + 1) // 2, 2 * order) <= limit

    lo, hi = 0, pop.nvars  # fits(lo) holds; find the largest c <= nvars that fits
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid - 1
    return lo


def size_summary(order: int, kind: str, sizes, mult_terms, eq_sizes=(), eq_terms=(),
                 width: int = 0) -> dict:
    """Counts of a relaxation from its block sizes: ``entries`` (sum of k(k+1)/2), ``products``
    (entries times the terms of each block's multiplier, plus equality rows times terms),
    ``bytes`` (:func:`assembly_bytes`), ``largest`` and ``blocks``. Python integers, so
    astronomically large relaxations are counted exactly."""
    sizes = [int(k) for k in sizes]
    tri = [k * (k + 1) // 2 for k in sizes]
    products = sum(t * int(m) for t, m in zip(tri, mult_terms))
    products += sum(int(e) * int(m) for e, m in zip(eq_sizes, eq_terms))
    return dict(order=order, kind=kind, blocks=len(sizes), largest=max(sizes, default=0),
                entries=sum(tri), products=products, bytes=assembly_bytes(products, width))


def refuse_if_too_large(summary: dict, min_order: int | None = None) -> None:
    """:class:`~polylip.errors.RelaxationError` naming the size when the relaxation described by
    ``summary`` (:func:`size_summary`) would not fit in :func:`polylip.runtime.memory_limit`."""
    k, count = summary["largest"], format_count
    what = (f"the {summary['kind']} relaxation of order {summary['order']} "
            f"({summary['blocks']:,} PSD blocks, the largest {count(k)} x {count(k)}; "
            f"{count(summary['entries'])} matrix entries, {count(summary['products'])} "
            "products to assemble)")
    hint = {"dense": mono.SIZE_HINT,
            "cs": "try term sparsity (sparsity='cs+ts'), a lower order, or the LP hierarchy "
                  "(method='lp', for polytope constraints)",
            }.get(summary["kind"], "try a lower order, or the LP hierarchy (method='lp', for "
                                   "polytope constraints)")
    if min_order is not None and summary["order"] > min_order:
        hint += f" (the smallest valid order is {min_order})"
    check_memory(summary["bytes"], what, hint, RelaxationError)


def check_size(pop, order: int, cliques, assignment_ineq, assignment_eq,
               kind: str = "dense") -> dict:
    """Count the relaxation with one moment matrix per clique (the bases are not built) and
    refuse it (:func:`refuse_if_too_large`) when it would not fit in memory.

    Examples
    --------
    >>> import sympy
    >>> from polylip import POP
    >>> x = sympy.symbols("x0:10")
    >>> pop = POP(sum(v**2 for v in x))
    >>> check_size(pop, 2, [tuple(range(10))], [], [])["entries"]
    2211
    """
    boolean = pop.binary_mask | pop.spin_mask if pop.binary or pop.spin else None
    counts: dict = {}

    def count(c: int, degree: int) -> int:
        clique = cliques[c]
        nb = int(boolean[list(clique)].sum()) if boolean is not None and len(clique) else 0
        key = (len(clique), nb, max(degree, 0))
        if key not in counts:
            counts[key] = count_basis(len(clique) - nb, nb, max(degree, 0))
        return counts[key]

    sizes = [count(c, order) for c in range(len(cliques))]
    mult = [1] * len(cliques)
    for i, g in enumerate(pop.ineqs):
        sizes.append(count(int(assignment_ineq[i]), localizing_degree(order, g)))
        mult.append(g.nterms)
    eq_sizes = [count(int(assignment_eq[j]), equality_degree(order, h))
                for j, h in enumerate(pop.eqs)]
    width = 2 * order + max([0] + [p.degree for p in pop.ineqs + pop.eqs])
    summary = size_summary(order, kind, sizes, mult, eq_sizes, [h.nterms for h in pop.eqs], width)
    refuse_if_too_large(summary, pop.min_order())
    return summary


def clique_blocks(pop, order: int, cliques, assignment_ineq, assignment_eq,
                  kind: str = "dense") -> tuple:
    """PSD and equality blocks for given cliques (one moment matrix per clique).

    ``assignment_ineq[i]`` / ``assignment_eq[j]`` is the clique index each constraint is
    attached to. The dense relaxation is the special case of one clique with all variables.
    The relaxation is counted first and refused (:func:`check_size`) if it would not fit in
    memory, before any basis is enumerated.
    """
    bmask, smask = pop.binary_mask, pop.spin_mask
    boolean = dict(binary=bmask if bmask.any() else None, spin=smask if smask.any() else None)
    check_size(pop, order, cliques, assignment_ineq, assignment_eq, kind)
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

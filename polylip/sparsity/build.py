"""``build_structure``: a sparsity pattern turned into the blocks of a relaxation.

The result is a :class:`~polylip.sparsity.blocks.BlockStructure` of exactly the shape the dense
relaxation has (PSD blocks and equality blocks over monomial bases), so
:func:`polylip.relax.moment.assemble` turns it into conic data unchanged; moments are numbered
globally, hence shared between cliques automatically.

Examples
--------
>>> import sympy
>>> from polylip import POP
>>> x = sympy.symbols("x0:5")
>>> pop = POP(sum((x[i] + x[i + 1] - 1)**2 * x[i]**2 for i in range(4)))
>>> s = build_structure(pop, 2, "cs")
>>> s.kind, s.cliques, s.psd_sizes
('cs', ((0, 1), (1, 2), (2, 3), (3, 4)), [6, 6, 6, 6])
"""

from __future__ import annotations

import logging

import numpy as np

from polylip.errors import RelaxationError
from polylip.runtime import format_bytes, memory_limit
from polylip.sparsity.blocks import (MOMENT, BlockStructure, EqualityBlock, PSDBlock, check_order,
                                  check_size, dense_structure, equality_degree,
                                  largest_usable_clique, localizing_degree)
from polylip.sparsity import chordal, correlative, term
from polylip.sparsity.patterns import Correlative, CorrelativeTerm, Dense, Term, as_pattern

log = logging.getLogger(__name__)


def _boolean(pop) -> dict:
    b, s = pop.binary_mask, pop.spin_mask
    return dict(binary=b if b.any() else None, spin=s if s.any() else None)


def _matrices(pop, order, cliques, assign_ineq, boolean):
    """(basis, constraint, clique) of every moment and localizing matrix, bases vectorized."""
    cache = {}

    def bases(deg):
        if deg not in cache:
            cache[deg] = correlative.clique_bases(cliques, deg, **boolean)
        return cache[deg]

    mats = [(b, MOMENT, c) for c, b in enumerate(bases(order))]
    for i, g in enumerate(pop.ineqs):
        c = int(assign_ineq[i])
        mats.append((bases(localizing_degree(order, g))[c], i, c))
    return mats


def _equalities(pop, order, cliques, assign_eq, boolean):
    cache = {}
    out = []
    for j, h in enumerate(pop.eqs):
        deg = equality_degree(order, h)
        if deg not in cache:
            cache[deg] = correlative.clique_bases(cliques, deg, **boolean)
        c = int(assign_eq[j])
        out.append(EqualityBlock(cache[deg][c], j, c))
    return tuple(out)


def build_structure(pop, order, sparsity) -> BlockStructure:
    """Blocks of the moment-SOS relaxation of ``pop`` at ``order`` under a sparsity pattern.

    Parameters
    ----------
    pop : POP
    order : int or None
        Relaxation order (None: the smallest valid).
    sparsity : str or pattern
        "dense", "cs", "ts", "cs+ts" or a pattern from :mod:`polylip.sparsity.patterns`.

    Returns
    -------
    BlockStructure
        ``info`` holds the facts a report shows: ``pattern``, and for CS ``rip`` (running
        intersection), ``ordering``, ``csp_edges``, ``fill_edges``; for TS ``ts`` (completion,
        steps done, convergence, block counts per step).
    """
    pattern = as_pattern(sparsity)
    if isinstance(pattern, Dense):
        return dense_structure(pop, order)
    order = check_order(pop, order)
    boolean = _boolean(pop)
    info: dict = dict(pattern=repr(pattern))
    if isinstance(pattern, (Correlative, CorrelativeTerm)):
        cs = pattern if isinstance(pattern, Correlative) else pattern.correlative
        # plain correlative sparsity cannot use a clique whose moment matrix does not fit in
        # memory: the elimination stops at the first such clique (chordal.elimination)
        usable = largest_usable_clique(pop, order) if isinstance(pattern, Correlative) else None
        try:
            dec = correlative.decompose(pop, cs.ordering, cs.cliques, usable)
        except chordal.CliqueTooLarge as exc:
            raise RelaxationError(
                f"correlative sparsity: the chordal extension of the csp graph has a clique of "
                f"at least {exc.size:,} variables, and the moment matrix of order {order} of "
                f"more than {exc.max_clique:,} variables would not fit in the memory limit of "
                f"{format_bytes(memory_limit())}; try term sparsity (sparsity='cs+ts'), a "
                "lower order, or cliques of your own (Correlative(cliques=...))") from None
        cliques, ai, ae = dec.cliques, dec.assign_ineq, dec.assign_eq
        info.update(rip=dec.rip, ordering=dec.ordering, user_cliques=dec.user_given,
                    csp_edges=dec.csp_edges, fill_edges=dec.fill_edges)
    else:
        cliques = (tuple(range(pop.nvars)),)
        ai = np.zeros(len(pop.ineqs), dtype=np.int64)
        ae = np.zeros(len(pop.eqs), dtype=np.int64)
    check_size(pop, order, cliques, ai, ae, pattern.kind)  # before any basis is enumerated
    mats = _matrices(pop, order, cliques, ai, boolean)
    eqs = _equalities(pop, order, cliques, ae, boolean)
    if isinstance(pattern, (Term, CorrelativeTerm)):
        ts = pattern if isinstance(pattern, Term) else pattern.term
        blocks, tsinfo = term.term_blocks(pop, mats, ts.completion, ts.steps, boolean)
        info["ts"] = tsinfo
        psd = tuple(PSDBlock(b, con, cl) for b, con, cl in blocks)
    else:
        psd = tuple(PSDBlock(b, con, cl) for b, con, cl in mats)
    log.info("%s structure at order %d: %d cliques, %d PSD blocks (largest %d)", pattern.kind,
             order, len(cliques), len(psd), max((b.size for b in psd), default=0))
    return BlockStructure(order, psd, eqs, tuple(cliques), pattern.kind, info)

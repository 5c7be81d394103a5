"""Relaxations of a gradient POP, built through the public API (:meth:`POP.relax
<polylip.model.pop.POP.relax>`, :class:`~polylip.solve.relaxation.Relaxation`) with the
network's own sparsity, and their sizes predicted before building.

* :func:`network_pattern`: correlative sparsity with the network's cliques (one per neuron of
  the last hidden layer: its receptive field), optionally plus term sparsity.
* :func:`neuron_structure`: the "neuron" blocks, a :class:`~polylip.sparsity.blocks.BlockStructure`
  between Shor and order 2 (one block per neuron of the last hidden layer).
* :func:`relax_gradient_pop`: the relaxation for a sparsity name or pattern; with the network's
  cliques, the l_2 ball (which couples every input) is replaced by one ball per clique
  (implied, so the bound stays valid).
* :func:`lp_size`, :func:`clique_block` (counted without building) and :func:`predict` (built,
  not solved): what method "auto" compares with its limits.

Examples
--------
>>> import numpy as np
>>> from polylip.nn import Network, gradient_pop
>>> net = Network.from_weights([np.array([[1.0, -1.0], [2.0, 0.0]]), np.array([[1.0, 1.0]])])
>>> gp = gradient_pop(net, norm="inf")
>>> relax_gradient_pop(gp, order=2).sizes["psd_sizes"]
[7, 4]
>>> clique_block(gp, 2), predict([gp], 2, "network")[0]
(7, 7)
"""

from __future__ import annotations

import math

import numpy as np

from polylip.errors import ModelError, RelaxationError
from polylip.model.pop import POP
from polylip.nn.gradient_pop import GradientPOP
from polylip.poly import Polynomial
from polylip.poly import monomials as mono
from polylip.solve.aposteriori import is_unit_ball
from polylip.solve.relaxation import Relaxation
from polylip.sparsity import SHORTHANDS, Correlative, CorrelativeTerm, Dense, Term
from polylip.sparsity.blocks import MOMENT, BlockStructure, PSDBlock

__all__ = ["network_pattern", "neuron_structure", "relax_gradient_pop", "local_balls",
           "lp_size", "clique_block", "predict", "SPARSITIES", "PATTERNS"]

#: The sparsity names of methods "shor" and "sdp": the network's own, then the generic
#: analyzers of :mod:`polylip.sparsity` (or pass one of its pattern objects).
SPARSITIES = ("network", "network+ts", "neuron") + SHORTHANDS
#: The pattern objects accepted where a sparsity name is.
PATTERNS = (Dense, Correlative, Term, CorrelativeTerm)


def local_balls(pop: POP, cliques) -> POP:
    """Replace each ball constraint that fits no clique by one ball per clique (implied)."""
    sets = [set(c) for c in cliques]
    ineqs = []
    changed = False
    for g in pop.ineqs:
        vars_g = set(int(v) for v in g.variable_indices())
        if any(vars_g <= s for s in sets) or not is_unit_ball(g):
            ineqs.append(g)
            continue
        changed = True
        seen = set()
        for s in sets:
            part = tuple(sorted(vars_g & s))
            if len(part) == 0 or part in seen:
                continue
            seen.add(part)
            idx = np.asarray(part, dtype=mono.INDEX_DTYPE)
            rows = np.vstack([np.full((1, 2), mono.PAD, mono.INDEX_DTYPE), np.column_stack([idx, idx])])
            ineqs.append(Polynomial(pop.variables, rows, np.concatenate([[1.0], -np.ones(idx.size)])))
    if not changed:
        return pop
    return POP(pop.objective, ineqs=ineqs, eqs=list(pop.eqs), sense=pop.sense,
               variables=pop.variables, binary=pop.binary, spin=pop.spin)


def network_pattern(gp: GradientPOP, term: bool = False, steps: int = 1):
    """The correlative (optionally + term) sparsity pattern with the network's cliques."""
    cliques = tuple(tuple(gp.pop.variables[i] for i in c) for c in gp.cliques)
    cs = Correlative(cliques=cliques)
    return CorrelativeTerm(cs, Term(steps=steps)) if term else cs


def neuron_structure(gp: GradientPOP, pop: POP | None = None) -> BlockStructure:
    """The "neuron" block structure: per clique ``C`` of the network (one per neuron ``j`` of the
    last hidden layer), one PSD block over the basis ``{1} u C u {sigma_j * v : v in C}``.

    It holds every moment ``t_i sigma_j`` and ``t_i t_k sigma_j`` the neuron's part of the
    objective touches, and nothing that couples far-apart inputs: between Shor (order 1) and the
    order-2 clique relaxation in strength, with blocks of size ``2 |C|`` instead of
    ``|C|^2 / 2``. Inequalities get a localizing block over ``{1, sigma_j}`` in a clique that
    contains them. Valid for the expanded formulation with at most two hidden layers (every
    objective monomial is then a product of two basis elements of its clique's block).
    """
    pop = gp.pop if pop is None else pop
    H = len(gp.s)
    if gp.formulation != "expanded" or H > 2 or (H == 2 and gp.u) or H == 0:
        raise ModelError("sparsity 'neuron' needs the expanded formulation of a network with one "
                         "or two hidden layers (and a fixed output functional when two); use "
                         "'network'")
    last = set(int(v) for v in gp.s[-1] if v >= 0)
    P = mono.PAD
    psd, sets = [], []
    for ci, c in enumerate(gp.cliques):
        lead = [v for v in c if v in last]
        others = np.array([v for v in c if v not in last], dtype=np.int64)
        rows = [np.full((1, 2), P), np.column_stack([np.asarray(c), np.full(len(c), P)])]
        for sj in lead:
            rows.append(np.column_stack([np.full(others.size, sj), others]))
        psd.append(PSDBlock(mono.normalize(np.vstack(rows)), MOMENT, ci))
        sets.append((set(c), lead))
    for i, g in enumerate(pop.ineqs):
        vars_g = set(int(v) for v in g.variable_indices())
        home = next((k for k, (s, _) in enumerate(sets) if vars_g <= s), None)
        if home is None:
            raise RelaxationError(f"inequality {i} fits no clique of the network")
        lead = sets[home][1]
        rows = np.full((1 + len(lead), 1), P)
        rows[1:, 0] = lead
        psd.append(PSDBlock(mono.normalize(rows), i, home))
    return BlockStructure(2, tuple(psd), (), tuple(gp.cliques), "neuron", {"pattern": "neuron"})


def relax_gradient_pop(gp: GradientPOP, order: int | None = None, sparsity="network",
                       ts_steps: int = 1) -> Relaxation:
    """The moment-SOS relaxation of a gradient POP (a :class:`~polylip.solve.relaxation.Relaxation`).

    ``sparsity``: "neuron" (see :func:`neuron_structure`; ``order`` is ignored), "network",
    "network+ts", "dense", "cs", "ts", "cs+ts" or a pattern.
    """
    pop = gp.pop
    if isinstance(sparsity, str) and sparsity == "neuron":
        # a block structure of its own, handed to the public builder
        pop = local_balls(pop, gp.cliques)
        return Relaxation.build(pop, sparsity=neuron_structure(gp, pop))
    if isinstance(sparsity, str) and sparsity in ("network", "network+ts"):
        pattern = network_pattern(gp, term=sparsity.endswith("+ts"), steps=ts_steps)
        pop = local_balls(pop, gp.cliques)
    elif isinstance(sparsity, str) and sparsity in ("ts", "cs+ts"):
        pattern = Term(steps=ts_steps) if sparsity == "ts" else CorrelativeTerm(Correlative(), Term(steps=ts_steps))
    else:
        pattern = sparsity
    return pop.relax(order=order, sparsity=pattern)


def lp_size(gp: GradientPOP, degree: int) -> float:
    """Products of at most ``degree`` box constraints (2 per variable) within the cliques: the
    size that drives the LP's cost (columns before any reduction)."""
    return float(sum(math.comb(2 * len(c) + degree, degree) for c in gp.cliques))


def predict(gp_list, order, sparsity) -> tuple:
    """Largest PSD block and free variables (of the side the solver would get) of the
    relaxation of the first POP: built, not solved."""
    sizes = relax_gradient_pop(gp_list[0], order=order, sparsity=sparsity).sizes
    # the side "auto" hands the solver: the one with fewer free variables (moment on a tie)
    nvars = min(sizes["moment_side_vars"], sizes["sos_side_vars"])
    return max(sizes["psd_sizes"], default=0), nvars


def clique_block(gp: GradientPOP, order: int) -> int:
    """Size of the largest moment matrix of the "network" relaxation at ``order``, counted
    without building it: monomials of degree at most ``order`` in a clique's variables,
    square-free in the binary and spin ones (their squares are reduced away)."""
    pop = gp.pop
    names = list(pop.variables)
    boolean = set(pop.binary) | set(pop.spin)
    best = 0
    for c in gp.cliques:
        nb = sum(1 for v in c if names[v] in boolean)
        nc = len(c) - nb
        size = sum(math.comb(nb, j) * math.comb(nc + order - j, order - j)
                   for j in range(min(nb, order) + 1))
        best = max(best, size)
    return best

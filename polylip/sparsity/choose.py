"""``sparsity="auto"``: the pattern a relaxation is built with when the user names none.

Correlative sparsity when the chordal cliques of the correlative graph are much smaller than
the problem (the largest at most :data:`AUTO_CS_MAX_FRACTION` of the variables, and at least
:data:`AUTO_CS_MIN_VARS` variables), else dense. Correlative sparsity gives the dense bound
whenever the cliques satisfy the running intersection property and the order is high enough
(Lasserre 2006), and it is what lets the standard sparse problems at n = 1,000 solve at all
(the dense order-2 relaxation of chained Wood at n = 1,000 asks for 937 GiB). Term sparsity is
not chosen automatically: its first step can weaken the bound, so it stays the user's choice.
"""

from __future__ import annotations

import logging

from polylip.sparsity.correlative import cliques_of

__all__ = ["choose_sparsity", "AUTO_CS_MAX_FRACTION", "AUTO_CS_MIN_VARS"]

log = logging.getLogger(__name__)

#: sparsity="auto" takes correlative sparsity when the largest clique has at most this fraction
#: of the variables (see the module text) ...
AUTO_CS_MAX_FRACTION = 0.5
#: ... and the problem has at least this many variables (below it the dense relaxation is
#: small whatever its structure, and one clique is the dense relaxation anyway).
AUTO_CS_MIN_VARS = 6


def choose_sparsity(pop, sparsity="auto"):
    """The sparsity a relaxation of ``pop`` is built with: ``sparsity`` itself, or for "auto"
    "cs" or "dense" by the rule of the module text.

    Examples
    --------
    >>> from polylip.poly import variables
    >>> from polylip import POP
    >>> xs = variables(" ".join(f"x{i}" for i in range(10)))
    >>> choose_sparsity(POP(sum((xs[i] - xs[i + 1])**2 for i in range(9))))
    'cs'
    """
    if not (isinstance(sparsity, str) and sparsity == "auto"):
        return sparsity
    if pop.nvars < AUTO_CS_MIN_VARS:
        return "dense"
    largest = max((len(c) for c in cliques_of(pop)), default=0)
    choice = "cs" if largest <= AUTO_CS_MAX_FRACTION * pop.nvars else "dense"
    log.info("sparsity='auto': largest correlative clique %d of %d variables -> %s", largest,
             pop.nvars, choice)
    return choice

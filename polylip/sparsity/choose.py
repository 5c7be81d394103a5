"""``sparsity="auto"``: the pattern a relaxation is built with when the user names none.

Correlative sparsity when the chordal cliques of the correlative graph are much smaller than
the problem (the largest at most :data:`AUTO_CS_MAX_FRACTION` of the variables, and at least
:data:`AUTO_CS_MIN_VARS` variables), else dense. Correlative sparsity gives the dense bound
whenever the cliques satisfy the running intersection property and the order is high enough
(Lasserre 2006), and it is what lets the standard sparse problems at n = 1,000 solve at all
(the dense order-2 relaxation of chained Wood at n = 1,000 asks for 937 GiB). Term sparsity is
not chosen automatically: its first step can weaken the bound, so it stays the user's choice.
The chordal extension is computed with the largest clique "cs" may have as its limit, so on a
dense graph the elimination stops at its first steps and the answer is "dense" at once
((x0+...+x999)(y0+...+y999), the graph K_{1000,1000}: the first step).
"""

from __future__ import annotations

import logging

from polylip.sparsity.chordal import CliqueTooLarge, EliminationTooCostly
from polylip.sparsity.correlative import cliques_of

__all__ = ["choose_sparsity", "AUTO_CS_MAX_FRACTION", "AUTO_CS_MIN_VARS", "AUTO_MAX_WORK"]

log = logging.getLogger(__name__)

#: sparsity="auto" takes correlative sparsity when the largest clique has at most this fraction
#: of the variables (see the module text) ...
AUTO_CS_MAX_FRACTION = 0.5
#: ... and the problem has at least this many variables (below it the dense relaxation is
#: small whatever its structure, and one clique is the dense relaxation anyway).
AUTO_CS_MIN_VARS = 6


#: ... and the chordal extension is found within this much counted work (the sum of the squared
#: degrees of the nodes eliminated: chordal.elimination); past it the cliques are not known to
#: be small and "auto" takes the dense relaxation. 2e9 is about 2,000 steps of degree 1,000: a
#: few seconds in the matrix version, where a relaxation on cliques of that size (blocks of
#: 1,000 at order 1, CVXOPT ~3e-10 k^4 s each) could not pay for itself anyway. The standard
#: sparse problems count ~10 per variable (Broyden n = 10,000: 4e4).
AUTO_MAX_WORK = 2e9


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
    most = int(AUTO_CS_MAX_FRACTION * pop.nvars)
    try:  # the elimination stops at the first clique too large for "cs" (chordal.elimination)
        largest = max((len(c) for c in cliques_of(pop, max_clique=most, max_work=AUTO_MAX_WORK)),
                      default=0)
    except CliqueTooLarge as exc:
        largest = exc.size
    except EliminationTooCostly as exc:
        log.info("sparsity='auto': %s; dense", exc)
        return "dense"
    choice = "cs" if largest <= AUTO_CS_MAX_FRACTION * pop.nvars else "dense"
    log.info("sparsity='auto': largest correlative clique %d of %d variables -> %s", largest,
             pop.nvars, choice)
    return choice

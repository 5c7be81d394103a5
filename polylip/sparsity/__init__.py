"""Sparsity in moment-SOS relaxations: correlative (cliques of variables), term (TSSOS blocks of
monomials) and both, as small pattern values.

>>> from polylip.sparsity import Correlative, Term, as_pattern
>>> as_pattern("cs") == Correlative()
True

See :func:`build_structure` and the page ``docs/sparsity.md``.
"""

from polylip.sparsity.patterns import (COMPLETIONS, ORDERINGS, SHORTHANDS, Correlative,
                                       CorrelativeTerm, Dense, Term, as_pattern, combine)
from polylip.sparsity.build import build_structure
from polylip.sparsity.correlative import cliques_of, csp_graph

__all__ = ["Dense", "Correlative", "Term", "CorrelativeTerm", "as_pattern", "combine",
           "build_structure", "cliques_of", "csp_graph", "ORDERINGS", "COMPLETIONS", "SHORTHANDS"]

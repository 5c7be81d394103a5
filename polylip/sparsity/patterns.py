"""Sparsity patterns: small immutable values saying *which* sparsity a relaxation exploits.

A pattern is chosen per call (``pop.relax(order, sparsity=...)``) and never threaded through
other options. The strings ``"dense"``, ``"cs"``, ``"ts"`` and ``"cs+ts"`` are shorthands for
the default patterns, and ``"ts:chordal"``, ``"cs+ts:chordal"`` for term sparsity with the
chordal-extension completion (smaller blocks than the default block closure; on the standard
sparse problems it is the faster choice, see docs/sparsity.md); patterns combine with ``+``::

    Correlative() + Term(steps=2)   ==   CorrelativeTerm(Correlative(), Term(steps=2))

Examples
--------
>>> as_pattern("cs+ts")
CorrelativeTerm(correlative=Correlative(ordering='min-degree', cliques=None), term=Term(completion='block', steps=1))
>>> as_pattern("cs+ts:chordal").term
Term(completion='chordal', steps=1)
>>> Correlative(ordering="min-fill") + Term(completion="chordal")
CorrelativeTerm(correlative=Correlative(ordering='min-fill', cliques=None), term=Term(completion='chordal', steps=1))
"""

from __future__ import annotations

from dataclasses import dataclass

from polylip.errors import RelaxationError

ORDERINGS = ("min-degree", "min-fill")
COMPLETIONS = ("block", "chordal")
SHORTHANDS = ("dense", "cs", "ts", "cs+ts", "ts:chordal", "cs+ts:chordal")


class _Pattern:
    kind = "?"

    def __add__(self, other):
        return combine(self, other)


@dataclass(frozen=True)
class Dense(_Pattern):
    """No sparsity: one moment matrix over all variables."""

    kind = "dense"


@dataclass(frozen=True)
class Correlative(_Pattern):
    """Correlative sparsity (Waki-Kim-Kojima-Muramatsu): one moment matrix per clique.

    Parameters
    ----------
    ordering : {"min-degree", "min-fill"}
        Elimination heuristic of the chordal extension of the csp graph.
    cliques : sequence of sequences of variable names or indices, optional
        Use these cliques instead of computing them. Every objective monomial and every
        constraint must fit in one of them (else :class:`~polylip.errors.RelaxationError`).
    """

    ordering: str = "min-degree"
    cliques: tuple | None = None
    kind = "cs"

    def __post_init__(self):
        if self.ordering not in ORDERINGS:
            raise RelaxationError(f"unknown ordering {self.ordering!r}; choose one of "
                                  f"{', '.join(map(repr, ORDERINGS))}")
        if self.cliques is not None:
            cl = tuple(tuple(c) for c in self.cliques)
            if not cl or any(len(c) == 0 for c in cl):
                raise RelaxationError("user-given cliques must be non-empty sequences of variables")
            object.__setattr__(self, "cliques", cl)


@dataclass(frozen=True)
class Term(_Pattern):
    """Term sparsity (TSSOS, Wang-Magron-Lasserre): PSD blocks from the term sparsity graph.

    Parameters
    ----------
    completion : {"block", "chordal"}
        "block": complete each connected component of the graph (the bounds then reach the
        dense / CS bound once the blocks stop changing); "chordal": blocks are the maximal
        cliques of a (min-degree) chordal extension (smaller blocks, possibly weaker bounds).
    steps : int
        Number of TSSOS iterations (1 = the first step of the hierarchy). The iteration stops
        early when the blocks no longer change.
    """

    completion: str = "block"
    steps: int = 1
    kind = "ts"

    def __post_init__(self):
        if self.completion not in COMPLETIONS:
            raise RelaxationError(f"unknown completion {self.completion!r}; choose one of "
                                  f"{', '.join(map(repr, COMPLETIONS))}")
        if int(self.steps) != self.steps or self.steps < 1:
            raise RelaxationError(f"Term(steps=...) must be a positive integer, not {self.steps!r}")
        object.__setattr__(self, "steps", int(self.steps))


@dataclass(frozen=True)
class CorrelativeTerm(_Pattern):
    """Correlative then term sparsity inside each clique (CS-TSSOS)."""

    correlative: Correlative = Correlative()
    term: Term = Term()
    kind = "cs+ts"


def combine(a, b):
    """Combine two patterns (``Correlative() + Term()``)."""
    a, b = as_pattern(a), as_pattern(b)
    if isinstance(a, Dense):
        return b
    if isinstance(b, Dense):
        return a
    if isinstance(a, Term) and isinstance(b, Correlative):
        a, b = b, a
    if isinstance(a, Correlative) and isinstance(b, Term):
        return CorrelativeTerm(a, b)
    if type(a) is type(b) and a == b:
        return a
    raise RelaxationError(f"cannot combine sparsity patterns {a!r} and {b!r}")


def as_pattern(sparsity):
    """Turn a shorthand string (or None) into a pattern; patterns pass through.

    Raises
    ------
    RelaxationError
        For an unknown string or object; the message names the accepted choices.
    """
    if sparsity is None:
        return Dense()
    if isinstance(sparsity, _Pattern):
        return sparsity
    if isinstance(sparsity, str):
        key = sparsity.strip().lower().replace(" ", "")
        table = {"dense": Dense(), "cs": Correlative(), "ts": Term(),
                 "cs+ts": CorrelativeTerm(), "ts+cs": CorrelativeTerm(),
                 "ts:chordal": Term(completion="chordal"),
                 "cs+ts:chordal": CorrelativeTerm(term=Term(completion="chordal"))}
        if key in table:
            return table[key]
    raise RelaxationError(
        f"unknown sparsity {sparsity!r}; choose one of {', '.join(map(repr, SHORTHANDS))} or a "
        "pattern object: Dense(), Correlative(ordering=..., cliques=...), "
        "Term(completion=..., steps=...), CorrelativeTerm(...)")

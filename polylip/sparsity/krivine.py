"""Sparsity of the Krivine/Handelman LP hierarchy: over which variable sets its products are
formed (:class:`LPSparsity`), and the readable report of an LP relaxation's structure
(:class:`LPStructure`).

The moment-SOS side's patterns are in :mod:`polylip.sparsity.patterns`; both hierarchies take
their correlative cliques from :func:`polylip.sparsity.correlative.cliques_of`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from polylip.errors import RelaxationError
from polylip.sparsity.correlative import cliques_of

__all__ = ["LPSparsity", "LPStructure"]


# ---------------------------------------------------------------------------------------------
# sparsity
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LPSparsity:
    """Over which variable sets the products of the LP hierarchy are formed.

    A small value: ``kind`` ("dense", "cs" or "cliques") and ``cliques``, a tuple of sorted tuples
    of variable indices. A product only multiplies factors whose variables all lie in one clique.

    Build it with :meth:`of` from what a user passes as ``sparsity=``:

    - ``"dense"`` (or None): one clique with every variable;
    - ``"cs"``: the maximal cliques of a chordal extension of the correlative sparsity graph,
      from :func:`polylip.sparsity.correlative.cliques_of` (ordering "min-degree");
    - a list of cliques, each a list of variable names or indices (an application such as a
      network's receptive fields passes its own);
    - an :class:`LPSparsity` (returned unchanged).

    Examples
    --------
    >>> import sympy
    >>> from polylip import POP
    >>> x, y, z = sympy.symbols("x y z")
    >>> pop = POP(x * y + y * z, ineqs=[x, 1 - x, y, 1 - y, z, 1 - z])
    >>> LPSparsity.of(pop, [["x", "y"], ["y", "z"]]).cliques
    ((0, 1), (1, 2))
    """

    kind: str
    cliques: tuple
    anchors: tuple = ()

    @classmethod
    def of(cls, pop, sparsity="dense", anchors=None) -> "LPSparsity":
        """Resolve ``sparsity`` ("dense", "cs", a list of cliques, or an LPSparsity).

        ``anchors`` (explicit cliques only): one variable per clique (name, index or None).
        A clique with an anchor only gets the products that contain the anchor's factor
        exactly once (``l_a`` or ``1 - l_a``) times a product of degree ``k - 1`` of its other
        factors: LiPopt's product family for networks, where the activation variable ``s_j``
        of a hidden unit anchors its receptive field ``{s_j} + {t_i : W_ji != 0}``. Fewer
        products than the whole clique (no products without the anchor), so a weaker or equal
        bound, and a much smaller LP.
        """
        if isinstance(sparsity, LPSparsity):
            return sparsity
        if anchors is not None:
            base = cls.of(pop, sparsity)
            if base.kind != "cliques":
                raise RelaxationError("anchors are for explicit cliques only")
            if len(anchors) != len(sparsity):
                raise RelaxationError(f"{len(anchors)} anchors for {len(sparsity)} cliques")
            pos = {v: i for i, v in enumerate(pop.variables)}
            out = []
            for clique, a in zip(sparsity, anchors):
                if a is None:
                    out.append(-1)
                    continue
                name = getattr(a, "name", a)
                idx = int(name) if isinstance(name, (int, np.integer)) else pos.get(str(name))
                if idx is None:
                    raise RelaxationError(f"anchor {a!r} is not a variable of the problem")
                out.append(idx)
            cl = [tuple(sorted(set(LPSparsity.of(pop, [c]).cliques[0]))) for c in sparsity]
            for c, a in zip(cl, out):
                if a >= 0 and a not in c:
                    raise RelaxationError(f"anchor {pop.variables[a]} is not in its clique")
            return cls("cliques", tuple(cl), tuple(out))
        if sparsity is None or (isinstance(sparsity, str) and sparsity == "dense"):
            return cls("dense", (tuple(range(pop.nvars)),))
        if isinstance(sparsity, str):
            if sparsity == "cs":
                cl = cliques_of(pop, ordering="min-degree")
                return cls("cs", tuple(tuple(sorted(int(v) for v in c)) for c in cl))
            raise RelaxationError(f"the LP hierarchy takes sparsity='dense', 'cs' or a list of "
                                  f"cliques, not {sparsity!r}")
        pos = {v: i for i, v in enumerate(pop.variables)}
        cliques = []
        try:
            items = list(sparsity)
        except TypeError:
            raise RelaxationError(f"cannot read cliques from {sparsity!r}") from None
        for c in items:
            if isinstance(c, (str, bytes)) or not hasattr(c, "__iter__"):
                raise RelaxationError(f"each clique must be a list of variables, got {c!r}")
            idx = []
            for v in c:
                name = getattr(v, "name", v)
                if isinstance(name, (int, np.integer)):
                    if not 0 <= int(name) < pop.nvars:
                        raise RelaxationError(f"clique variable index {name} out of range 0..{pop.nvars - 1}")
                    idx.append(int(name))
                elif str(name) in pos:
                    idx.append(pos[str(name)])
                else:
                    raise RelaxationError(f"clique variable {name!r} is not a variable of the problem")
            if idx:
                cliques.append(tuple(sorted(set(idx))))
        if not cliques:
            raise RelaxationError("an explicit sparsity needs at least one non-empty clique")
        return cls("cliques", tuple(dict.fromkeys(cliques)))

    @property
    def max_clique(self) -> int:
        return max((len(c) for c in self.cliques), default=0)


# ---------------------------------------------------------------------------------------------
# the structure report
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LPStructure:
    """Sizes of an LP relaxation, readable with ``str`` and serializable with :meth:`to_dict`.

    Attributes
    ----------
    degree, sparsity, polytope : how it was built ("dense"/"cs"/"cliques", "box"/"polytope").
    cliques : number of cliques; ``clique_sizes`` their sizes (largest first, at most 20 shown).
    factors : number of affine factors ``l_j`` (two generators each).
    products : number of products (LP multipliers); ``products_by_degree`` split by degree.
    lp_variables : products + 1 (theta).
    rows : coefficient-matching equations (distinct monomials); ``rows_by_degree`` split.
    nonzeros : non-zeros of the coefficient-matching matrix.
    """

    degree: int
    sparsity: str
    polytope: str
    cliques: int
    clique_sizes: tuple
    factors: int
    products: int
    products_by_degree: dict
    lp_variables: int
    rows: int
    rows_by_degree: dict
    nonzeros: int
    build_seconds: float = 0.0

    def to_dict(self) -> dict:
        d = dict(self.__dict__)
        d["clique_sizes"] = list(self.clique_sizes)
        d["products_by_degree"] = {int(a): int(b) for a, b in self.products_by_degree.items()}
        d["rows_by_degree"] = {int(a): int(b) for a, b in self.rows_by_degree.items()}
        return d

    def __str__(self) -> str:
        sizes = ", ".join(str(s) for s in self.clique_sizes[:20])
        if len(self.clique_sizes) > 20:
            sizes += ", ..."
        per = lambda d: ", ".join(f"{k}: {v}" for k, v in sorted(d.items()))  # noqa: E731
        return "\n".join([
            f"LP (Krivine/Handelman) relaxation, degree {self.degree}, sparsity {self.sparsity}, "
            f"{self.polytope}",
            f"  cliques:      {self.cliques} (sizes {sizes})",
            f"  factors:      {self.factors} (each l in [0, 1] gives l and 1 - l)",
            f"  products:     {self.products}  (by degree {per(self.products_by_degree)})",
            f"  LP variables: {self.lp_variables}",
            f"  rows:         {self.rows}  (monomials by degree {per(self.rows_by_degree)})",
            f"  non-zeros:    {self.nonzeros}",
            f"  built in {self.build_seconds:.3f} s",
        ])

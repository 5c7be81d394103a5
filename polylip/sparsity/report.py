"""The structure report of a relaxation: what it contains, before and without solving.

``relaxation.structure`` (and ``polylip structure FILE``) gives a :class:`StructureReport`:
cliques and their sizes, the PSD block sizes, moments, equality rows, non-zeros and the free
variables of each solver side, next to the same counts for the dense relaxation of the same
order. The dense counts are computed combinatorially (never by building the dense matrices),
so the comparison is free even when the dense relaxation would not fit in memory.

Examples
--------
>>> from polylip.model.problems import broyden_tridiagonal
>>> report = broyden_tridiagonal(1000).relax(2, "cs").structure
>>> report.counts["moments"], report.dense["moments"]
(19975, 42084793751)
>>> print(str(report).splitlines()[0])
Relaxation structure: order 2, sparsity cs
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from math import comb

import numpy as np

from polylip.errors import require
from polylip.poly import monomials as mono
from polylip.sparsity.correlative import csp_graph
from polylip.sparsity.blocks import MOMENT

log = logging.getLogger(__name__)


def count_monomials(nfree: int, nbool: int, degree: int) -> int:
    """Number of monomials of degree <= ``degree`` in ``nfree`` ordinary variables and
    ``nbool`` binary/spin variables (which appear with exponent 0 or 1).

    Examples
    --------
    >>> count_monomials(2, 0, 2), count_monomials(0, 3, 2), count_monomials(1, 1, 1)
    (6, 7, 3)
    """
    if degree < 0:
        return 0
    return sum(comb(nbool, j) * comb(nfree + degree - j, degree - j)
               for j in range(min(degree, nbool) + 1))


def dense_counts(pop, order: int) -> dict:
    """Counts of the dense relaxation of ``pop`` at ``order``, without building it.

    ``nnz`` is an upper bound (it assumes no two terms of ``g * b_p * b_q`` coincide); every
    other count is exact.
    """
    nb = int(pop.binary_mask.sum() + pop.spin_mask.sum())
    nf = pop.nvars - nb
    cnt = lambda d: count_monomials(nf, nb, d)  # noqa: E731
    k0 = cnt(order)
    sizes = [k0] + [cnt(order - (g.degree + 1) // 2) for g in pop.ineqs]
    ntri = [k * (k + 1) // 2 for k in sizes]
    eq_rows = sum(cnt(2 * order - h.degree) for h in pop.eqs)
    moments = cnt(2 * order)
    nnz = ntri[0] + sum(t * g.nterms for t, g in zip(ntri[1:], pop.ineqs)) + \
        sum(cnt(2 * order - h.degree) * h.nterms for h in pop.eqs)
    return dict(moments=moments, psd_blocks=len(sizes), largest_block=max(sizes),
                psd_entries=sum(ntri), equality_rows=eq_rows, nnz=nnz,
                moment_side_vars=moments - 1,
                sos_side_vars=sum(ntri) - moments + 1 + eq_rows,
                block_sizes=dict(Counter(sizes)))


def _hist(values) -> list[tuple[int, int]]:
    return sorted(Counter(int(v) for v in values).items())


@dataclass(frozen=True)
class StructureReport:
    """What a relaxation contains, next to the dense relaxation of the same order.

    Attributes
    ----------
    kind : str
        "dense", "cs", "ts" or "cs+ts".
    order : int
    problem : dict
        Variables, degree, constraints, binary and spin counts.
    cliques : list of tuple of str
        Variable names of each clique.
    counts : dict
        This relaxation: moments, psd_blocks, largest_block, psd_entries (sum of k(k+1)/2),
        equality_rows, nnz, moment_side_vars, sos_side_vars.
    dense : dict
        The same counts for the dense relaxation (combinatorial; nnz an upper bound).
    moment_blocks, localizing_blocks : list of (size, count)
        Histograms of PSD block sizes.
    rip : dict or None
        Running intersection property (CS only).
    ts : dict or None
        Term sparsity: completion, steps done, convergence, blocks per step.
    """

    kind: str
    order: int
    problem: dict
    cliques: list
    counts: dict
    dense: dict
    moment_blocks: list
    localizing_blocks: list
    rip: dict | None = None
    ts: dict | None = None
    csp: dict | None = None
    _relaxation: object = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict:
        """JSON-ready dictionary of the report."""
        return dict(kind=self.kind, order=self.order, problem=self.problem,
                    cliques=[list(c) for c in self.cliques],
                    clique_sizes=[[s, c] for s, c in _hist(len(c) for c in self.cliques)],
                    counts=self.counts, dense={k: v for k, v in self.dense.items()
                                               if k != "block_sizes"},
                    dense_block_sizes=[[int(s), int(c)] for s, c in sorted(self.dense["block_sizes"].items())],
                    moment_blocks=[list(x) for x in self.moment_blocks],
                    localizing_blocks=[list(x) for x in self.localizing_blocks],
                    rip=self.rip, ts=self.ts, csp=self.csp)

    def __str__(self) -> str:
        p = self.problem
        out = [f"Relaxation structure: order {self.order}, sparsity {self.kind}",
               f"Problem: {p['variables']} variables, degree {p['degree']}, "
               f"{p['inequalities']} inequalities, {p['equalities']} equalities"
               + (f", {p['binary']} binary" if p["binary"] else "")
               + (f", {p['spin']} spin" if p["spin"] else ""), ""]
        # cliques
        sizes = [len(c) for c in self.cliques]
        out.append(f"Cliques: {len(self.cliques)} (largest {max(sizes, default=0)})")
        if self.csp:
            out.append(f"  csp graph: {self.csp['edges']} edges, chordal extension added "
                       f"{self.csp['fill_edges']} (ordering {self.csp['ordering']})")
        if self.rip is not None:
            out.append("  running intersection property: "
                       + ("holds" if self.rip["holds"] else "FAILS (the CS bounds may not converge)"))
        out += _table(["clique size", "count"], _hist(sizes), indent="  ")
        shown = self.cliques[:8]
        for i, c in enumerate(shown):
            names = ", ".join(c[:12]) + (", ..." if len(c) > 12 else "")
            out.append(f"  #{i}: {{{names}}}")
        if len(self.cliques) > len(shown):
            out.append(f"  ... {len(self.cliques) - len(shown)} more")
        out.append("")
        if self.ts:
            t = self.ts
            out.append(f"Term sparsity: completion {t['completion']}, step {t['steps_done']} of "
                       f"{t['steps']} asked; " + ("blocks stable (bound = "
                       + ("CS" if self.kind == "cs+ts" else "dense") + " bound with block closure)"
                       if t["converged"] else "blocks still growing"))
            out += _table(["step", "blocks", "largest", "entries"],
                          [(h["step"], h["blocks"], h["max_block"], h["pairs"]) for h in t["history"]],
                          indent="  ")
            out.append("")
        out.append("PSD block sizes")
        rows = []
        mb, lb = dict(self.moment_blocks), dict(self.localizing_blocks)
        for s in sorted(set(mb) | set(lb)):
            rows.append((s, mb.get(s, 0), lb.get(s, 0)))
        if len(rows) > 15:
            rows = rows[:7] + [("...", "", "")] + rows[-7:]
        out += _table(["size", "moment", "localizing"], rows, indent="  ")
        out.append("")
        c, d = self.counts, self.dense
        out.append("Size                       this relaxation        dense (same order)")
        labels = [("moments", "moments"), ("psd_blocks", "PSD blocks"),
                  ("largest_block", "largest PSD block"), ("psd_entries", "PSD entries (triangles)"),
                  ("equality_rows", "equality rows"), ("nnz", "non-zeros"),
                  ("moment_side_vars", "free vars, moment side"),
                  ("sos_side_vars", "free vars, SOS side")]
        for key, label in labels:
            dv = d[key]
            dtxt = f"{dv:,}" + (" (at most)" if key == "nnz" else "")
            out.append(f"  {label:<25}{c[key]:>15,}        {dtxt:>20}")
        return "\n".join(out)

    def plot(self, path, clique: int | None = None) -> None:
        """Save the csp graph with its cliques and the block structure of one clique's moment
        matrix to ``path`` (needs the ``plot`` extra, matplotlib)."""
        plot_structure(self._relaxation, path, clique=clique)


def _table(header, rows, indent="") -> list[str]:
    rows = [tuple(str(x) for x in r) for r in rows]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(header)]
    line = lambda r: indent + "  ".join(x.rjust(w) for x, w in zip(r, widths))  # noqa: E731
    return [line(header), indent + "  ".join("-" * w for w in widths)] + [line(r) for r in rows]


def structure_report(relaxation) -> StructureReport:
    """Report on a built :class:`~polylip.solve.relaxation.Relaxation` (no solving)."""
    pop = relaxation.pop
    blocks = relaxation.blocks
    sizes = relaxation.sizes
    psd = blocks.psd
    moment = [b.size for b in psd if b.constraint == MOMENT]
    local = [b.size for b in psd if b.constraint != MOMENT]
    counts = dict(moments=sizes["nmoments"], psd_blocks=len(psd),
                  largest_block=max(sizes["psd_sizes"], default=0),
                  psd_entries=int(sum(k * (k + 1) // 2 for k in sizes["psd_sizes"])),
                  equality_rows=sizes["equality_rows"], nnz=sizes["nnz"],
                  moment_side_vars=sizes["moment_side_vars"], sos_side_vars=sizes["sos_side_vars"])
    problem = dict(variables=pop.nvars, degree=pop.degree, inequalities=len(pop.ineqs),
                   equalities=len(pop.eqs), binary=len(pop.binary), spin=len(pop.spin),
                   sense=pop.sense)
    names = pop.variables
    cliques = [tuple(names[i] for i in c) for c in blocks.cliques]
    info = blocks.info or {}
    rip = info.get("rip")
    rip_d = rip.to_dict() if rip is not None else None
    csp = None
    if "csp_edges" in info:
        csp = dict(edges=info["csp_edges"], fill_edges=info["fill_edges"],
                   ordering=info.get("ordering") or "user cliques")
    ts = info.get("ts")
    if ts is not None:
        ts = {k: v for k, v in ts.items()}
    return StructureReport(kind=blocks.kind, order=blocks.order, problem=problem, cliques=cliques,
                           counts=counts, dense=dense_counts(pop, blocks.order),
                           moment_blocks=_hist(moment), localizing_blocks=_hist(local),
                           rip=rip_d, ts=ts, csp=csp, _relaxation=relaxation)


def plot_structure(relaxation, path, clique: int | None = None, max_nodes: int = 400) -> None:
    """Save a figure: the csp graph coloured by clique, and the PSD blocks of a moment matrix.

    The right panel shows the moment matrix of ``clique`` (default: the largest clique) over
    the union of its blocks' bases: each entry coloured by the block covering it, white where
    term sparsity dropped it. Graphs with more than ``max_nodes`` variables show their first
    ``max_nodes`` variables.
    """
    require("matplotlib", "plotting the relaxation structure", extra="plot")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import networkx as nx

    pop = relaxation.pop
    blocks = relaxation.blocks
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 5.5))
    G = csp_graph(pop)
    if G.number_of_nodes() > max_nodes:
        G = G.subgraph(range(max_nodes)).copy()
    cmap = plt.get_cmap("tab20")
    first = {}
    for ci, c in enumerate(blocks.cliques):
        for v in c:
            first.setdefault(v, ci)
    colors = [cmap(first.get(v, 0) % 20) for v in G.nodes()]
    pos = nx.kamada_kawai_layout(G) if G.number_of_nodes() <= 60 else nx.spring_layout(G, seed=0)
    nx.draw_networkx_edges(G, pos, ax=ax1, alpha=0.4)
    nx.draw_networkx_nodes(G, pos, ax=ax1, node_color=colors, node_size=120 if len(G) < 60 else 20)
    if len(G) <= 30:
        nx.draw_networkx_labels(G, pos, labels={v: pop.variables[v] for v in G.nodes()}, ax=ax1,
                                font_size=8)
    ax1.set_title(f"csp graph: {pop.nvars} variables, {len(blocks.cliques)} cliques "
                  f"(colour: first clique)")
    ax1.axis("off")

    sizes = [len(c) for c in blocks.cliques]
    ci = int(np.argmax(sizes)) if clique is None else int(clique)
    mine = [b for b in blocks.psd if b.constraint == MOMENT and b.clique == ci]
    width = max(b.basis.shape[1] for b in mine)
    union, _ = mono.unique_rows(np.vstack([mono.pad_to(b.basis, width) for b in mine]))
    k = union.shape[0]
    img = np.full((k, k), np.nan)
    for bi, b in enumerate(mine):
        both = np.vstack([union, mono.pad_to(b.basis, width)])
        _, inv = mono.unique_rows(both)
        where = {int(g): i for i, g in enumerate(inv[:k])}
        idx = np.array([where[int(g)] for g in inv[k:]])
        img[np.ix_(idx, idx)] = bi % 20
    ax2.imshow(np.ma.masked_invalid(img), cmap=cmap, vmin=0, vmax=19, interpolation="nearest")
    ax2.set_title(f"moment matrix of clique #{ci}: {k} x {k}, {len(mine)} PSD block(s)")
    ax2.set_xticks([])
    ax2.set_yticks([])
    fig.suptitle(f"order {blocks.order}, sparsity {blocks.kind}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    log.info("saved structure plot to %s", path)

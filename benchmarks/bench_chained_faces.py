"""Chained singular: the face at infinity every Gram block must lie on, against the kernels the
solver's Gram matrices show (issue 12, item 4; docs/relaxations.md, "Why no float certificate
can prove chained singular").

The quartic part of chained singular vanishes on the real plane ``Z`` (``x_{2i+1} = 2 x_{2i+2}``,
``x_{2i} = 10 x_{2i+3}``), so every exact certificate has ``A_j m2_j(x*) = 0`` for ``x*`` in
``Z``: a 3-dimensional forced kernel per block (quadratic forms in Z's two parameters). For
each block this prints that dimension, the kernel dimensions the facial repair's spectral cut
finds in the solver's Gram matrix (``certificate_face.face_candidates``), and how far the
forced vectors are from the largest numerical kernel found (0: inside it; 1: orthogonal to it).

Usage::

    python benchmarks/bench_chained_faces.py --n 20 --tol 1e-10
"""

from __future__ import annotations

import argparse
import os

import numpy as np

from polylip.model.problems import chained_singular
from polylip.poly import monomials as mono
from polylip.solve import certificate_face as cf
from polylip.solve.extract import moment_side_grams
from polylip.solve.relaxation import Relaxation
from polylip.solve.scaling import scale_pop


def zero_point(n, s, t):
    """The point of Z with x_{n-1} = s, x_{n-2} = t."""
    x = np.zeros(n)
    x[n - 1], x[n - 2] = s, t
    for i in reversed(range(0, (n - 4) // 2 + 1)):
        x[2 * i + 1] = 2 * x[2 * i + 2]
        x[2 * i] = 10 * x[2 * i + 3]
    return x


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=20)
    ap.add_argument("--tol", type=float, default=1e-10)
    args = ap.parse_args()
    n = args.n
    print(f"load average at start: {os.getloadavg()}")
    pop = scale_pop(chained_singular(n))[0]
    rel = Relaxation.build(pop, order=2, sparsity="cs")
    out = rel.solve_detailed(solver="clarabel", side="moment", tol=args.tol)
    print(f"Clarabel at {args.tol:g}: {out.raw.raw_status}")
    grams, _ = moment_side_grams(out.lmi, out.raw)
    scale = max(float(np.abs(G).max()) for G in grams)
    points = [zero_point(n, 1.0, 0.0), zero_point(n, 0.0, 1.0), zero_point(n, 1.0, 1.0)]
    q4 = pop.objective
    top4 = mono.degrees(q4.rows) == 4
    for x in points:   # a check of Z: q4(x*) is rounding, relative to its terms
        vals = np.array([np.prod([x[v] for v in row if v >= 0]) for row in q4.rows[top4]])
        terms = vals * q4.coeffs[top4]
        assert abs(terms.sum()) <= 1e-12 * np.abs(terms).sum()
    print("| block | clique | forced kernel dim | numerical kernel dims | forced off the largest numerical kernel |")
    print("|---|---|---|---|---|")
    for j, (b, G) in enumerate(zip(rel.blocks.psd, grams)):
        basis = b.basis
        deg = mono.degrees(basis)
        top = deg == deg.max()
        vs = []
        for x in points:
            m = np.array([np.prod([x[v] for v in row if v >= 0]) for row in basis])
            v = np.where(top, m, 0.0)
            vs.append(v / np.linalg.norm(v))
        V = np.array(vs)
        forced = int(np.linalg.matrix_rank(V, tol=1e-9))
        dims = cf.face_candidates(G, scale)
        if dims:
            _, E = np.linalg.eigh(G)
            K = E[:, :max(dims)]
            off = float(np.linalg.norm(V.T - K @ (K.T @ V.T), axis=0).max())
        else:
            off = 1.0
        clique = sorted({int(v) for v in basis[top].ravel() if v >= 0})
        print(f"| {j} | {clique} | {forced} | {dims or '-'} | {off:.2g} |")
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()

"""Where solver="auto" should switch from PICOS/CVXOPT to Clarabel.

For dense and sparse relaxations of growing size, solve with each backend (side chosen by
``side="auto"``) and print the free variables of the side handed over, the PSD block count and
the largest block, the times and the bounds.

    python benchmarks/bench_auto.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from bench_dense import random_box_quartic  # noqa: E402

from polylip import POP  # noqa: E402
from polylip.relax import conic  # noqa: E402
from polylip.model.problems import broyden_tridiagonal, chained_wood  # noqa: E402


def cases():
    for n in (6, 8, 10, 12):
        X, f, g = random_box_quartic(n)
        yield f"dense quartic n={n}", POP(f, ineqs=g, variables=X), 2, "dense"
    for n in (20, 60, 120, 200):
        yield f"Broyden tridiagonal n={n} CS", broyden_tridiagonal(n), 2, "cs"
    for n in (40, 120):
        yield f"chained Wood n={n} CS", chained_wood(n), 2, "cs"


def main():
    print("| problem | side | free vars | blocks | max block | CVXOPT s | Clarabel s | bound CVXOPT | bound Clarabel |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, pop, order, sparsity in cases():
        relaxation = pop.relax(order, sparsity=sparsity)
        side = conic.choose_side(relaxation.data, "auto")
        nvars = relaxation.sizes["moment_side_vars" if side == "moment" else "sos_side_vars"]
        row = []
        for solver in ("cvxopt", "clarabel"):
            t0 = time.perf_counter()
            res = relaxation.solve(solver=solver)
            row.append((time.perf_counter() - t0, res.bound if res.bound is not None else res.status))
        sizes = relaxation.sizes["psd_sizes"]
        fmt = lambda b: f"{b:.6f}" if isinstance(b, float) else b  # noqa: E731
        print(f"| {name} | {side} | {nvars} | {len(sizes)} | {max(sizes)} | {row[0][0]:.2f} | {row[1][0]:.2f} "
              f"| {fmt(row[0][1])} | {fmt(row[1][1])} |", flush=True)


if __name__ == "__main__":
    main()

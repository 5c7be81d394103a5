"""Standard sparse test problems (Waki-Kim-Kojima-Muramatsu 2006, SparsePOP, TSSOS examples).

Each function returns an unconstrained :class:`~polylip.POP` over variables ``x0..x{n-1}``
(0-based indices; the usual statements index from 1). The terms of a chain are generated from
one template polynomial mapped through an array of variable offsets, so building a problem with
10^4 variables takes milliseconds.

Known global minima: Broyden tridiagonal and banded 0, generalized Rosenbrock 1 (at x = 1),
chained singular 0 (at x = 0), chained Wood 1 (at x = 1). :func:`tssos_polynomial_system` is
the one constrained problem here: a polynomial system from the TSSOS tests (optimum 1 as a
feasibility problem, 0 in least squares).

Examples
--------
>>> pop = broyden_tridiagonal(6)
>>> pop.nvars, pop.degree
(6, 4)
>>> float(generalized_rosenbrock(5).evaluate([1.0] * 5))
1.0
"""

from __future__ import annotations

import numpy as np

from polylip.errors import ModelError
from polylip.model import POP
from polylip.poly import Polynomial
from polylip.poly import monomials as mono
from polylip.runtime import check_memory, format_count


def _local(k: int):
    names = [f"a{j}" for j in range(k)]
    return [Polynomial.variable(v).with_variables(names) for v in names]


#: Memory per variable (its name in the lists, tuples, sets and dicts of Polynomial and POP)
#: and per term and index entry of the objective (int64 offsets, int32 rows and their sorted
#: and merged copies), for the size check before building.
BYTES_PER_VARIABLE, BYTES_PER_TERM, BYTES_PER_ENTRY = 400, 48, 40


def _chain(n: int, template: Polynomial, offsets: range, pieces=(), constant: float = 0.0,
           name: str = "the problem") -> POP:
    """Sum over ``offsets`` of ``template(x[o], x[o+1], ...)`` plus extra ``pieces``.

    ``pieces`` are (polynomial over a0.., offset) pairs for boundary terms. The size is
    checked against :func:`polylip.runtime.memory_limit` before anything is allocated.
    """
    terms = len(offsets) * template.nterms + sum(p.nterms for p, _ in pieces) + 1
    width = max([template.rows.shape[1]] + [p.rows.shape[1] for p, _ in pieces])
    need = n * BYTES_PER_VARIABLE + terms * (BYTES_PER_TERM + width * BYTES_PER_ENTRY)
    check_memory(need, f"{name} with n = {n:,} ({format_count(terms)} terms before merging)",
                 "choose a smaller n", ModelError)
    names = [f"x{i}" for i in range(n)]
    offsets = np.arange(offsets.start, offsets.stop, offsets.step, dtype=np.int64)
    rows_all, coef_all = [], []
    width = 0
    items = [(template, offsets)] + [(p, np.array([o])) for p, o in pieces]
    for poly, offs in items:
        width = max(width, poly.rows.shape[1])
    for poly, offs in items:
        r = mono.pad_to(poly.rows, width).astype(np.int64)
        mapped = np.where(r[None, :, :] >= 0, r[None, :, :] + offs[:, None, None], mono.PAD)
        rows_all.append(mapped.reshape(-1, width))
        coef_all.append(np.tile(poly.coeffs, offs.size))
    rows_all.append(np.full((1, width), mono.PAD))
    coef_all.append(np.array([constant]))
    f = Polynomial(names, np.vstack(rows_all), np.concatenate(coef_all))
    return POP(f, variables=names)


def broyden_tridiagonal(n: int) -> POP:
    """Broyden tridiagonal: ``sum_i ((3 - 2x_i) x_i - x_{i-1} - 2 x_{i+1} + 1)^2`` (min 0)."""
    if n < 3:
        raise ValueError("broyden_tridiagonal needs n >= 3")
    a0, a1, a2 = _local(3)
    mid = ((3 - 2 * a1) * a1 - a0 - 2 * a2 + 1) ** 2
    b0, b1 = _local(2)
    first = ((3 - 2 * b0) * b0 - 2 * b1 + 1) ** 2
    last = ((3 - 2 * b1) * b1 - b0 + 1) ** 2
    return _chain(n, mid, range(n - 2), [(first, 0), (last, n - 2)], name="broyden_tridiagonal")


def broyden_banded(n: int) -> POP:
    """Broyden banded: ``sum_i (x_i (2 + 5 x_i^2) + 1 - sum_{j in J_i} (1 + x_j) x_j)^2`` with
    ``J_i = {j != i : i-5 <= j <= i+1}`` (min 0; degree 6)."""
    if n < 7:
        raise ValueError("broyden_banded needs n >= 7")

    def term(lo, i, hi):
        k = hi - lo + 1
        a = _local(k)
        xi = a[i - lo]
        s = Polynomial.sum([(1 + a[j - lo]) * a[j - lo] for j in range(lo, hi + 1) if j != i],
                           variables=[f"a{j}" for j in range(k)])
        return (xi * (2 + 5 * xi ** 2) + 1 - s) ** 2

    interior = term(0, 5, 6)  # i = 5 with window [0, 6]
    pieces = [(term(0, i, min(n - 1, i + 1)), 0) for i in range(5)]
    pieces.append((term(n - 6, n - 1, n - 1), n - 6))
    return _chain(n, interior, range(0, n - 6), pieces, name="broyden_banded")


def generalized_rosenbrock(n: int) -> POP:
    """``1 + sum_{i>=1} (100 (x_i - x_{i-1}^2)^2 + (1 - x_i)^2)`` (min 1 at x = 1)."""
    a0, a1 = _local(2)
    t = 100 * (a1 - a0 ** 2) ** 2 + (1 - a1) ** 2
    return _chain(n, t, range(n - 1), constant=1.0, name="generalized_rosenbrock")


def chained_singular(n: int) -> POP:
    """Chained singular (n a multiple of 4; min 0 at x = 0)."""
    if n % 4 or n < 4:
        raise ValueError("chained_singular needs n a positive multiple of 4")
    a0, a1, a2, a3 = _local(4)
    t = ((a0 + 10 * a1) ** 2 + 5 * (a2 - a3) ** 2 + (a1 - 2 * a2) ** 4
         + 10 * (a0 - 10 * a3) ** 4)
    return _chain(n, t, range(0, n - 3, 2), name="chained_singular")


def chained_singular_shifted(n: int, at: float = 1, plus: float = 3) -> POP:
    """Chained singular in ``x - at``, plus ``plus`` (n a multiple of 4; min ``plus`` at
    x = (at, ..., at)): a degenerate minimizer away from 0, for the exact faces of
    :mod:`polylip.solve.certificate_rational`."""
    if n % 4 or n < 4:
        raise ValueError("chained_singular_shifted needs n a positive multiple of 4")
    a0, a1, a2, a3 = (a - at for a in _local(4))
    t = ((a0 + 10 * a1) ** 2 + 5 * (a2 - a3) ** 2 + (a1 - 2 * a2) ** 4
         + 10 * (a0 - 10 * a3) ** 4)
    return _chain(n, t, range(0, n - 3, 2), constant=float(plus), name="chained_singular_shifted")


def chained_wood(n: int) -> POP:
    """Chained Wood (n a multiple of 4; min 1 at x = 1)."""
    if n % 4 or n < 4:
        raise ValueError("chained_wood needs n a positive multiple of 4")
    a0, a1, a2, a3 = _local(4)
    t = (100 * (a1 - a0 ** 2) ** 2 + (1 - a0) ** 2 + 90 * (a3 - a2 ** 2) ** 2 + (1 - a2) ** 2
         + 10 * (a1 + a3 - 2) ** 2 + 0.1 * (a1 - a3) ** 2)
    return _chain(n, t, range(0, n - 3, 2), constant=1.0, name="chained_wood")


#: The real solutions of :func:`tssos_polynomial_system` (x0, x1, x2): the elimination
#: polynomial 16 x0^8 + 157 x0^6 + 24 x0^5 + 355 x0^4 + 120 x0^3 - 216 x0^2 - 375 of the system
#: has 8 complex roots, 2 of them real; x2 = (x0^2 + 5) / (2 x0), and the sign of x1 from the
#: second equation.
TSSOS_POLYNOMIAL_SYSTEM_SOLUTIONS = (
    (-1.1009877153215102, -2.878002536317826, -2.8211822270309352),
    (0.9657124563054267, -2.8124960558819065, 3.0716185286457316),
)
#: Its known optimum as a feasibility problem (``form="feasibility"``: the system has a real
#: solution) and the order TSSOS solves it at.
TSSOS_POLYNOMIAL_SYSTEM_MIN = 1.0
TSSOS_POLYNOMIAL_SYSTEM_ORDER = 3


def tssos_polynomial_system(form: str = "feasibility") -> POP:
    """The polynomial system of the TSSOS test suite (J. Wang, V. Magron, J.-B. Lasserre,
    TSSOS, ``test/runtest.jl``, "Solving systems of polynomial equations"; variables x0, x1,
    x2 here for x[1], x[2], x[3] there)::

        x0^2 - 2 x0 x2 + 5 = 0,   x0 x1^2 + x1 x2 + 1 = 0,   3 x1^2 - 8 x0 x2 = 0.

    ``form="feasibility"``: ``min 1`` subject to the system, as TSSOS poses it
    (``tssos([1; h], x, 3, numeq=3, TS=false)``, tested there against ``opt = 1`` at order 3).
    The optimum is 1 because the system has real solutions
    (:data:`TSSOS_POLYNOMIAL_SYSTEM_SOLUTIONS`); a relaxation's value is 1 when it is feasible.
    ``form="least_squares"``: the unconstrained ``min sum_i h_i^2`` (degree 6), optimum 0 at
    the same two points.

    Examples
    --------
    >>> pop = tssos_polynomial_system()
    >>> pop.nvars, len(pop.eqs), pop.degree
    (3, 3, 3)
    >>> [round(float(h.evaluate(TSSOS_POLYNOMIAL_SYSTEM_SOLUTIONS[0])), 9) + 0.0 for h in pop.eqs]
    [0.0, 0.0, 0.0]
    """
    names = ["x0", "x1", "x2"]
    x0, x1, x2 = (Polynomial.variable(v).with_variables(names) for v in names)
    system = [x0 ** 2 - 2 * x0 * x2 + 5, x0 * x1 ** 2 + x1 * x2 + 1, 3 * x1 ** 2 - 8 * x0 * x2]
    if form == "feasibility":
        return POP(Polynomial.constant(1.0, names), eqs=system, variables=names)
    if form == "least_squares":
        return POP(Polynomial.sum([h ** 2 for h in system], variables=names), variables=names)
    raise ValueError(f"form must be 'feasibility' or 'least_squares', not {form!r}")


#: name -> (constructor, relaxation order, known minimum)
STANDARD = {
    "broyden_tridiagonal": (broyden_tridiagonal, 2, 0.0),
    "broyden_banded": (broyden_banded, 3, 0.0),
    "generalized_rosenbrock": (generalized_rosenbrock, 2, 1.0),
    "chained_singular": (chained_singular, 2, 0.0),
    "chained_wood": (chained_wood, 2, 1.0),
}

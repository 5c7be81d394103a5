"""The standard problems of :mod:`polylip.model.problems`, written in sympy as a user would
(unexpanded: squares and fourth powers of sums), for comparing ``from_sympy`` with the native
constructions. Variables ``x0..x{n-1}``; sums built with ``sympy.Add(*terms)`` (Python's
``sum`` re-flattens the growing sum at every step: quadratic in sympy)."""

import sympy


def symbols(n):
    return sympy.symbols(f"x0:{n}")


def broyden_tridiagonal(n):
    x = symbols(n)
    at = lambda i: x[i] if 0 <= i < n else 0  # noqa: E731
    return sympy.Add(*[((3 - 2 * x[i]) * x[i] - at(i - 1) - 2 * at(i + 1) + 1) ** 2
                       for i in range(n)])


def broyden_banded(n):
    x = symbols(n)
    terms = []
    for i in range(n):
        window = [j for j in range(max(0, i - 5), min(n - 1, i + 1) + 1) if j != i]
        inner = sympy.Add(*[(1 + x[j]) * x[j] for j in window])
        terms.append((x[i] * (2 + 5 * x[i] ** 2) + 1 - inner) ** 2)
    return sympy.Add(*terms)


def generalized_rosenbrock(n):
    x = symbols(n)
    return 1 + sympy.Add(*[100 * (x[i] - x[i - 1] ** 2) ** 2 + (1 - x[i]) ** 2
                           for i in range(1, n)])


def chained_singular(n):
    x = symbols(n)
    return sympy.Add(*[(x[i] + 10 * x[i + 1]) ** 2 + 5 * (x[i + 2] - x[i + 3]) ** 2
                       + (x[i + 1] - 2 * x[i + 2]) ** 4 + 10 * (x[i] - 10 * x[i + 3]) ** 4
                       for i in range(0, n - 3, 2)])


def chained_wood(n):
    x = symbols(n)
    return 1 + sympy.Add(*[100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2
                           + 90 * (x[i + 3] - x[i + 2] ** 2) ** 2 + (1 - x[i + 2]) ** 2
                           + 10 * (x[i + 1] + x[i + 3] - 2) ** 2 + 0.1 * (x[i + 1] - x[i + 3]) ** 2
                           for i in range(0, n - 3, 2)])


#: name -> (sympy builder, a small n valid for it)
SYMPY_PROBLEMS = {
    "broyden_tridiagonal": (broyden_tridiagonal, 9),
    "broyden_banded": (broyden_banded, 12),
    "generalized_rosenbrock": (generalized_rosenbrock, 7),
    "chained_singular": (chained_singular, 12),
    "chained_wood": (chained_wood, 12),
}

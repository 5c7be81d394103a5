"""Problems from the literature with known optima, each with its source: the suite the bounds
are checked against (a lower bound is never above the optimum; see ``tests/solve/test_literature.py``).

Each entry is a :class:`KnownProblem`: a builder, the order at which to relax it, the known
optimum and a point attaining it (so the optimum is checked too: the point is feasible and its
value is the optimum), and the source. Written with polylip's own polynomials (no sympy), in the
usual statement of each source.

Examples
--------
>>> p = LITERATURE["six_hump_camel"]
>>> pop = p.build()
>>> round(float(pop.evaluate(p.minimizer)), 6) == round(p.optimum, 6)
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from polylip.model.pop import POP
from polylip.model.problems import broyden_tridiagonal, chained_wood, generalized_rosenbrock
from polylip.poly import variables

__all__ = ["KnownProblem", "LITERATURE"]


@dataclass(frozen=True)
class KnownProblem:
    """A POP with a known optimum (``sense`` as built), the point attaining it, its source."""

    name: str
    build: Callable[[], POP]
    order: int
    optimum: float
    minimizer: tuple
    source: str
    sparsity: str = "auto"


def _box(xs, lo, hi):
    return [g for x in xs for g in (x - lo, hi - x)]


def _goldstein_price():
    x, y = variables("x y")
    a = 1 + (x + y + 1) ** 2 * (19 - 14 * x + 3 * x**2 - 14 * y + 6 * x * y + 3 * y**2)
    b = 30 + (2 * x - 3 * y) ** 2 * (18 - 32 * x + 12 * x**2 + 48 * y - 36 * x * y + 27 * y**2)
    return POP(a * b, ineqs=[4 - x**2, 4 - y**2])


def _six_hump():
    x, y = variables("x y")
    f = 4 * x**2 - 2.1 * x**4 + x**6 / 3 + x * y - 4 * y**2 + 4 * y**4
    return POP(f, ineqs=[9 - x**2, 4 - y**2])


def _three_hump():
    x, y = variables("x y")
    return POP(2 * x**2 - 1.05 * x**4 + x**6 / 6 + x * y + y**2, ineqs=[25 - x**2, 25 - y**2])


def _booth():
    x, y = variables("x y")
    return POP((x + 2 * y - 7) ** 2 + (2 * x + y - 5) ** 2, ineqs=[100 - x**2, 100 - y**2])


def _matyas():
    x, y = variables("x y")
    return POP(0.26 * (x**2 + y**2) - 0.48 * x * y, ineqs=[100 - x**2, 100 - y**2])


def _rosenbrock2():
    x, y = variables("x y")
    return POP(100 * (y - x**2) ** 2 + (1 - x) ** 2, ineqs=[4 - x**2, 4 - y**2])


def _floudas_2_1():
    x = variables("x1 x2 x3 x4 x5")
    c = [42, 44, 45, 47, 47.5]
    f = sum(ci * xi for ci, xi in zip(c, x)) - 50 * sum(xi**2 for xi in x)
    g = 40 - (20 * x[0] + 12 * x[1] + 11 * x[2] + 7 * x[3] + 4 * x[4])
    return POP(f, ineqs=[g] + _box(x, 0, 1))


def _floudas_3_1_1():
    x1, x2, x3, x4, x5, x6, x7, x8 = variables("x1 x2 x3 x4 x5 x6 x7 x8")
    ineqs = [1 - 0.0025 * x4 - 0.0025 * x6, 1 + 0.0025 * x4 - 0.0025 * x5 - 0.0025 * x7,
             1 + 0.01 * x5 - 0.01 * x8, 83333.333 - 100 * x1 + x1 * x6 - 833.33252 * x4,
             -(x2 * x4 - x2 * x7 - 1250 * x4 + 1250 * x5),
             -1250000 - (x3 * x5 - x3 * x8 - 2500 * x5),
             x1 - 100, 10000 - x1, x2 - 1000, 10000 - x2, x3 - 1000, 10000 - x3]
    ineqs += _box([x4, x5, x6, x7, x8], 10, 1000)
    return POP(x1 + x2 + x3, ineqs=ineqs)


def _maxcut_c5():
    s = variables("s0 s1 s2 s3 s4")
    cut = sum((1 - s[i] * s[(i + 1) % 5]) / 2 for i in range(5))
    return POP(cut, sense="max", spin=[f"s{i}" for i in range(5)])


def _knapsack_binary():
    b = variables("b0 b1 b2 b3")
    value = 3 * b[0] + 4 * b[1] + 5 * b[2] + 6 * b[3]
    weight = 2 * b[0] + 3 * b[1] + 4 * b[2] + 5 * b[3]
    return POP(value, ineqs=[5 - weight], sense="max", binary=[f"b{i}" for i in range(4)])


def _circle_linear():
    x, y = variables("x y")
    return POP(x + y, eqs=[x**2 + y**2 - 1])


def _lasserre_nonsos_box():
    x, y = variables("x y")
    return POP(x**2 * y**2 * (x**2 + y**2 - 1), ineqs=[1 - x**2, 1 - y**2])


_S3 = 3 ** -0.5
_S2 = 2 ** -0.5

#: The suite: name -> KnownProblem.
LITERATURE = {p.name: p for p in [
    KnownProblem("goldstein_price", _goldstein_price, 4, 3.0, (0.0, -1.0),
                 "Goldstein and Price (1971); Dixon-Szego test set"),
    KnownProblem("six_hump_camel", _six_hump, 3, -1.031628453489877, (0.08984201368301331, -0.7126564032704135),
                 "Dixon and Szego (1978), six-hump camel back on [-3, 3] x [-2, 2]"),
    KnownProblem("three_hump_camel", _three_hump, 3, 0.0, (0.0, 0.0),
                 "Dixon-Szego / Jamil and Yang (2013) benchmark list, three-hump camel"),
    KnownProblem("booth", _booth, 1, 0.0, (1.0, 3.0), "Jamil and Yang (2013), Booth function"),
    KnownProblem("matyas", _matyas, 1, 0.0, (0.0, 0.0), "Jamil and Yang (2013), Matyas function"),
    KnownProblem("rosenbrock_2", _rosenbrock2, 2, 0.0, (1.0, 1.0), "Rosenbrock (1960) on [-2, 2]^2"),
    KnownProblem("floudas_2_1", _floudas_2_1, 2, -17.0, (1.0, 1.0, 0.0, 1.0, 0.0),
                 "Floudas and Pardalos (1990), Handbook of test problems, problem 2.1 "
                 "(concave QP)"),
    KnownProblem("globallib_ex3_1_1", _floudas_3_1_1, 2, 7049.2480205286,
                 (),
                 "GLOBALLib ex3_1_1 (Floudas et al. 1999, heat exchanger network design)"),
    KnownProblem("maxcut_c5", _maxcut_c5, 2, 4.0, (1.0, -1.0, 1.0, -1.0, -1.0),
                 "max-cut of the 5-cycle (Goemans and Williamson 1995; an odd cycle cuts n - 1)"),
    KnownProblem("knapsack_4", _knapsack_binary, 2, 7.0, (1.0, 1.0, 0.0, 0.0),
                 "0/1 knapsack (capacity 5), optimum by enumeration"),
    KnownProblem("circle_linear", _circle_linear, 1, -2 ** 0.5, (-_S2, -_S2),
                 "min x + y on the unit circle (closed form -sqrt 2)"),
    KnownProblem("lasserre_nonsos_box", _lasserre_nonsos_box, 4, -1 / 27, (_S3, _S3),
                 "Lasserre (2001): x^2 y^2 (x^2 + y^2 - 1) + 1/27 is non-negative but not SOS; "
                 "on [-1, 1]^2"),
    KnownProblem("broyden_tridiagonal_20", lambda: broyden_tridiagonal(20), 2, 0.0,
                 (), "Broyden tridiagonal (More, Garbow and Hillstrom 1981), n = 20; SparsePOP"),
    KnownProblem("chained_wood_20", lambda: chained_wood(20), 2, 1.0, (1.0,) * 20,
                 "chained Wood (Conn, Gould and Toint 1988), n = 20; SparsePOP"),
    KnownProblem("generalized_rosenbrock_20", lambda: generalized_rosenbrock(20), 2, 1.0, (1.0,) * 20,
                 "generalized Rosenbrock (Nash 1984), n = 20; SparsePOP"),
]}

"""Problems from the literature with known optima, each with its source: the suite the bounds
are checked against (a lower bound is never above the optimum; see ``tests/solve/test_literature.py``).

Each entry is a :class:`KnownProblem`: a builder, the order at which to relax it, the known
optimum and a point attaining it (so the optimum is checked too: the point is feasible and its
value is the optimum), and the source. Written with polylip's own polynomials (no sympy), in the
usual statement of each source.

Why this module is long: it is one table, the problems and their builders side by side with
the source of each optimum; split by source, a problem's statement would sit apart from its
citation and the suite would be several dicts to keep in step.

Examples
--------
>>> p = LITERATURE["six_hump_camel"]
>>> pop = p.build()
>>> round(float(pop.evaluate(p.minimizer)), 6) == round(p.optimum, 6)
True
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Callable

from polylip.model.pop import POP
from polylip.model.problems import (broyden_tridiagonal, chained_singular, chained_wood,
                                     generalized_rosenbrock)
from polylip.poly import variables

__all__ = ["KnownProblem", "LITERATURE", "NON_SOS", "HARD_EQUALITIES", "ROUND5_EXTRA"]


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
    #: every global minimizer, when there are finitely many and all are known (else empty):
    #: a relaxation that is exact and flat at ``order`` must return each of them (issue 12,
    #: item 5); each is checked feasible and at the optimum by the tests
    all_minimizers: tuple = ()
    #: the order at which every one of ``all_minimizers`` comes back in ``Result.minimizers``
    #: (checked by the tests); None where none is promised (e.g. the bound is numerical only)
    minimizers_order: int | None = None


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


def _motzkin_box():
    x, y = variables("x y")
    return POP(x**4 * y**2 + x**2 * y**4 - 3 * x**2 * y**2 + 1, ineqs=[4 - x**2, 4 - y**2])


def _robinson_box():
    x, y = variables("x y")
    f = (x**6 + y**6 - x**4 * y**2 - x**2 * y**4 - x**4 - y**4 - x**2 - y**2
         + 3 * x**2 * y**2 + 1)
    return POP(f, ineqs=[4 - x**2, 4 - y**2])


def _choi_lam_box():
    x, y = variables("x y")
    return POP(x**4 * y**2 + y**4 + x**2 - 3 * x**2 * y**2, ineqs=[4 - x**2, 4 - y**2])


def _maxcut(nodes, edges):
    def build():
        s = variables(" ".join(f"s{i}" for i in range(nodes)))
        cut = sum((1 - s[a] * s[b]) / 2 for a, b in edges)
        return POP(cut, sense="max", spin=[f"s{i}" for i in range(nodes)])
    return build


def _best_cuts(nodes, edges):
    """Every maximum cut of a graph as a +-1 labelling (enumeration of the 2^nodes)."""
    labels = list(itertools.product((-1.0, 1.0), repeat=nodes))
    sizes = [sum(s[a] != s[b] for a, b in edges) for s in labels]
    return tuple(s for s, k in zip(labels, sizes) if k == max(sizes))


_K5 = [(a, b) for a in range(5) for b in range(a + 1, 5)]
_PETERSEN = ([(i, (i + 1) % 5) for i in range(5)] + [(i, i + 5) for i in range(5)]
             + [(i + 5, (i + 2) % 5 + 5) for i in range(5)])


def _ex4_1_1():
    x, = variables("x")
    f = x**6 - 2.08 * x**5 + 0.4875 * x**4 + 7.1 * x**3 - 3.95 * x**2 - x + 0.1
    return POP(f, ineqs=[x + 2, 11 - x])


def _ex4_1_4():
    x, = variables("x")
    return POP(4 * x**2 - 4 * x**3 + x**4, ineqs=[x + 5, 5 - x])


def _ex4_1_7():
    x, = variables("x")
    return POP(x**4 - 3 * x**3 - 1.5 * x**2 + 10 * x, ineqs=[x + 5, 5 - x])


def _floudas_4_10():
    x1, x2 = variables("x1 x2")
    ineqs = [2 * x1**4 - 8 * x1**3 + 8 * x1**2 + 2 - x2,
             4 * x1**4 - 32 * x1**3 + 88 * x1**2 - 96 * x1 + 36 - x2,
             x1, 3 - x1, x2, 4 - x2]
    return POP(-x1 - x2, ineqs=ineqs)


def _floudas_4_7():
    x1, x2 = variables("x1 x2")
    return POP(-12 * x1 - 7 * x2 + x2**2, eqs=[-2 * x1**4 + 2 - x2], ineqs=[x1, 2 - x1, x2, 3 - x2])


def _wood():
    x1, x2, x3, x4 = variables("x1 x2 x3 x4")
    f = (100 * (x2 - x1**2) ** 2 + (1 - x1) ** 2 + 90 * (x4 - x3**2) ** 2 + (1 - x3) ** 2
         + 10.1 * ((x2 - 1) ** 2 + (x4 - 1) ** 2) + 19.8 * (x2 - 1) * (x4 - 1))
    return POP(f)


def _extended_rosenbrock():
    x = variables(" ".join(f"x{i}" for i in range(8)))
    return POP(sum(100 * (x[2 * i + 1] - x[2 * i] ** 2) ** 2 + (1 - x[2 * i]) ** 2 for i in range(4)))


def _hyperbola_eq():
    x, y = variables("x y")
    return POP(x**2 + y**2, eqs=[x * y - 1])


def _hyperbola_ineq():
    x, y = variables("x y")
    return POP(x**2 + y**2, ineqs=[x * y - 1, x, y])


def _sosjl_polyopt():
    x, y = variables("x y")
    return POP(x**3 - x**2 + 2 * x * y - y**2 + y**3, ineqs=[x, y, x + y - 1])


def _quartic_ball():
    x, y = variables("x y")
    return POP(-(x**2) - y**2, ineqs=[1 - x**4 - y**4])


def _sphere_product():
    x, y, z = variables("x y z")
    return POP(x * y * z, eqs=[x**2 + y**2 + z**2 - 1])


def _tssos_quartic(constrained):
    def build():
        x1, x2, x3 = variables("x1 x2 x3")
        f = 1 + x1**4 + x2**4 + x3**4 + x1 * x2 * x3 + x2
        if not constrained:
            return POP(f)
        return POP(f, ineqs=[1 - x1**2 - 2 * x2**2], eqs=[x2**2 + x3**2 - 1])
    return build


def _cs_tssos_6():
    x = variables("x1 x2 x3 x4 x5 x6")
    f = (1 + sum(v**4 for v in x) + x[0] * x[1] * x[2] + x[2] * x[3] * x[4] + x[2] * x[3] * x[5]
         + x[2] * x[4] * x[5] + x[3] * x[4] * x[5])
    return POP(f, ineqs=[1 - sum(v**2 for v in x[:3])], eqs=[1 - sum(v**2 for v in x[2:])])


def _gloptipoly_lasserre():
    x1, x2, x3 = variables("x1 x2 x3")
    g = (24 - 20 * x1 + 9 * x2 - 13 * x3 + 4 * x1**2 - 4 * x1 * x2 + 4 * x1 * x3 + 2 * x2**2
         - 2 * x2 * x3 + 2 * x3**2)
    return POP(-2 * x1 + x2 - x3, ineqs=[g, 4 - x1 - x2 - x3, 6 - 3 * x2 - x3, x1, 2 - x1, x2, x3,
                                         3 - x3])


def _henrion_lasserre_three():
    x1, x2 = variables("x1 x2")
    return POP(-(x1 - 1) ** 2 - (x1 - x2) ** 2 - (x2 - 3) ** 2,
               ineqs=[1 - (x1 - 1) ** 2, 1 - (x1 - x2) ** 2, 1 - (x2 - 3) ** 2])


_MOBIUS8 = [(i, (i + 1) % 8) for i in range(8)] + [(i, i + 4) for i in range(4)]

#: A +-1 spin glass on the 3 x 3 torus (edges right and down, wrapping), weights fixed here.
_TORUS3 = [(3 * r + c, e) for r in range(3) for c in range(3)
           for e in (3 * r + (c + 1) % 3, 3 * ((r + 1) % 3) + c)]
_TORUS3_W = [1, -1, -1, 1, -1, -1, -1, -1, 1, -1, 1, 1, 1, 1, 1, -1, 1, 1]
_TORUS3_GROUND = (-1.0, -1.0, -1.0, 1.0, 1.0, -1.0, 1.0, -1.0, 1.0)


def _spin_glass_torus3():
    s = variables(" ".join(f"s{i}" for i in range(9)))
    energy = sum(w * s[a] * s[b] for w, (a, b) in zip(_TORUS3_W, _TORUS3))
    return POP(energy, spin=[f"s{i}" for i in range(9)])


def _katsura2():
    u0, u1, u2 = variables("u0 u1 u2")
    f = [u0 + 2 * u1 + 2 * u2 - 1, u0**2 + 2 * u1**2 + 2 * u2**2 - u0, 2 * u0 * u1 + 2 * u1 * u2 - u1]
    return POP(sum(g**2 for g in f), ineqs=[1 - u0**2, 1 - u1**2, 1 - u2**2])


# ---------------------------------------------------------------- added by the POP QA round
# (2026-12-01): Hock-Schittkowski, the TSSOS README, MOSEK's Polyopt.jl tests, M. Laurent's
# survey; each optimum checked here by the stated point (and a 41-start SLSQP run: none better)


def _hs006():
    x1, x2 = variables("x1 x2")
    return POP((1 - x1) ** 2, eqs=[10 * (x2 - x1**2)])


def _hs010():
    x1, x2 = variables("x1 x2")
    return POP(x1 - x2, ineqs=[-3 * x1**2 + 2 * x1 * x2 - x2**2 + 1])


def _hs011():
    x1, x2 = variables("x1 x2")
    return POP((x1 - 5) ** 2 + x2**2 - 25, ineqs=[x2 - x1**2])


def _hs012():
    x1, x2 = variables("x1 x2")
    return POP(0.5 * x1**2 + x2**2 - x1 * x2 - 7 * x1 - 7 * x2, ineqs=[25 - 4 * x1**2 - x2**2])


def _hs014():
    x1, x2 = variables("x1 x2")
    return POP((x1 - 2) ** 2 + (x2 - 1) ** 2, eqs=[x1 - 2 * x2 + 1], ineqs=[1 - x1**2 / 4 - x2**2])


def _hs015():
    x1, x2 = variables("x1 x2")
    return POP(100 * (x2 - x1**2) ** 2 + (1 - x1) ** 2, ineqs=[x1 * x2 - 1, x1 + x2**2, 0.5 - x1])


def _hs018():
    x1, x2 = variables("x1 x2")
    return POP(0.01 * x1**2 + x2**2, ineqs=[x1 * x2 - 25, x1**2 + x2**2 - 25, x1 - 2, 50 - x1,
                                           x2, 50 - x2])


def _hs021():
    x1, x2 = variables("x1 x2")
    return POP(0.01 * x1**2 + x2**2 - 100, ineqs=[10 * x1 - x2 - 10, x1 - 2, 50 - x1, x2 + 50, 50 - x2])


def _hs022():
    x1, x2 = variables("x1 x2")
    return POP((x1 - 2) ** 2 + (x2 - 1) ** 2, ineqs=[2 - x1 - x2, x2 - x1**2])


def _hs023():
    x1, x2 = variables("x1 x2")
    return POP(x1**2 + x2**2, ineqs=[x1 + x2 - 1, x1**2 + x2**2 - 1, 9 * x1**2 + x2**2 - 9,
                                     x1**2 - x2, x2**2 - x1] + _box([x1, x2], -50, 50))


def _hs029():
    x1, x2, x3 = variables("x1 x2 x3")
    return POP(-x1 * x2 * x3, ineqs=[48 - x1**2 - 2 * x2**2 - 4 * x3**2])


def _hs030():
    x1, x2, x3 = variables("x1 x2 x3")
    return POP(x1**2 + x2**2 + x3**2, ineqs=[x1**2 + x2**2 - 1, x1 - 1, 10 - x1]
               + _box([x2, x3], -10, 10))


def _hs035():
    x1, x2, x3 = variables("x1 x2 x3")
    f = 9 - 8 * x1 - 6 * x2 - 4 * x3 + 2 * x1**2 + 2 * x2**2 + x3**2 + 2 * x1 * x2 + 2 * x1 * x3
    return POP(f, ineqs=[3 - x1 - x2 - 2 * x3, x1, x2, x3])


def _hs043():
    x1, x2, x3, x4 = variables("x1 x2 x3 x4")
    f = x1**2 + x2**2 + 2 * x3**2 + x4**2 - 5 * x1 - 5 * x2 - 21 * x3 + 7 * x4
    return POP(f, ineqs=[8 - x1**2 - x2**2 - x3**2 - x4**2 - x1 + x2 - x3 + x4,
                         10 - x1**2 - 2 * x2**2 - x3**2 - 2 * x4**2 + x1 + x4,
                         5 - 2 * x1**2 - x2**2 - x3**2 - 2 * x1 + x2 + x4])


def _hs044():
    x1, x2, x3, x4 = variables("x1 x2 x3 x4")
    f = x1 - x2 - x3 - x1 * x3 + x1 * x4 + x2 * x3 - x2 * x4
    return POP(f, ineqs=[8 - x1 - 2 * x2, 12 - 4 * x1 - x2, 12 - 3 * x1 - 4 * x2, 8 - 2 * x3 - x4,
                         8 - x3 - 2 * x4, 5 - x3 - x4, x1, x2, x3, x4])


def _hs065():
    x1, x2, x3 = variables("x1 x2 x3")
    f = (x1 - x2) ** 2 + (x1 + x2 - 10) ** 2 / 9 + (x3 - 5) ** 2
    return POP(f, ineqs=[48 - x1**2 - x2**2 - x3**2] + _box([x1, x2], -4.5, 4.5) + _box([x3], -5, 5))


def _hs071():
    x1, x2, x3, x4 = variables("x1 x2 x3 x4")
    return POP(x1 * x4 * (x1 + x2 + x3) + x3, ineqs=[x1 * x2 * x3 * x4 - 25] + _box([x1, x2, x3, x4], 1, 5),
               eqs=[x1**2 + x2**2 + x3**2 + x4**2 - 40])


def _hs076():
    x1, x2, x3, x4 = variables("x1 x2 x3 x4")
    f = (x1**2 + 0.5 * x2**2 + x3**2 + 0.5 * x4**2 - x1 * x3 + x3 * x4 - x1 - 3 * x2 + x3 - x4)
    return POP(f, ineqs=[5 - x1 - 2 * x2 - x3 - x4, 4 - 3 * x1 - x2 - 2 * x3 + x4, x2 + 4 * x3 - 1.5,
                         x1, x2, x3, x4])


def _hs026():
    x1, x2, x3 = variables("x1 x2 x3")
    return POP((x1 - x2) ** 2 + (x2 - x3) ** 4, eqs=[(1 + x2**2) * x1 + x3**4 - 3])


def _hs027():
    x1, x2, x3 = variables("x1 x2 x3")
    return POP(0.01 * (x1 - 1) ** 2 + (x2 - x1**2) ** 2, eqs=[x1 + x3**2 + 1])


def _hs028():
    x1, x2, x3 = variables("x1 x2 x3")
    return POP((x1 + x2) ** 2 + (x2 + x3) ** 2, eqs=[x1 + 2 * x2 + 3 * x3 - 1])


def _hs042():
    x1, x2, x3, x4 = variables("x1 x2 x3 x4")
    return POP((x1 - 1) ** 2 + (x2 - 2) ** 2 + (x3 - 3) ** 2 + (x4 - 4) ** 2,
               eqs=[x1 - 2, x3**2 + x4**2 - 2])


def _hs048():
    x1, x2, x3, x4, x5 = variables("x1 x2 x3 x4 x5")
    return POP((x1 - 1) ** 2 + (x2 - x3) ** 2 + (x4 - x5) ** 2,
               eqs=[x1 + x2 + x3 + x4 + x5 - 5, x3 - 2 * (x4 + x5) + 3])


def _hs039():
    x1, x2, x3, x4 = variables("x1 x2 x3 x4")
    return POP(-x1, eqs=[x2 - x1**3 - x3**2, x1**2 - x2 - x4**2])


def _hs040():
    x1, x2, x3, x4 = variables("x1 x2 x3 x4")
    return POP(-x1 * x2 * x3 * x4, eqs=[x1**3 + x2**2 - 1, x1**2 * x4 - x3, x4**2 - x2])


def _hs049():
    x1, x2, x3, x4, x5 = variables("x1 x2 x3 x4 x5")
    return POP((x1 - x2) ** 2 + (x3 - 1) ** 2 + (x4 - 1) ** 4 + (x5 - 1) ** 6,
               eqs=[x1 + x2 + x3 + 4 * x4 - 7, x3 + 5 * x5 - 6])


def _hs078():
    x1, x2, x3, x4, x5 = variables("x1 x2 x3 x4 x5")
    return POP(x1 * x2 * x3 * x4 * x5, eqs=[x1**2 + x2**2 + x3**2 + x4**2 + x5**2 - 10,
                                            x2 * x3 - 5 * x4 * x5, x1**3 + x2**3 + 1])


def _hs051():
    x1, x2, x3, x4, x5 = variables("x1 x2 x3 x4 x5")
    return POP((x1 - x2) ** 2 + (x2 + x3 - 2) ** 2 + (x4 - 1) ** 2 + (x5 - 1) ** 2,
               eqs=[x1 + 3 * x2 - 4, x3 + x4 - 2 * x5, x2 - x5])


def _tssos_readme(constrained):
    def build():
        x1, x2 = variables("x1 x2")
        f = x1**4 + x2**4 - x1 * x2
        if not constrained:
            return POP(f)
        return POP(f, ineqs=[2 - x1**2 - 2 * x2**2], eqs=[x1**2 - x2**2 - 1])
    return build


def _polyopt_shifted_square():
    x, z = variables("x z")
    return POP((x + z + 1) ** 2 - 1)


def _polyopt_hyperbolic():
    x, z = variables("x z")
    return POP(x**4 + z**2 + 1, ineqs=[x**2 - z**2 - 1])


def _polyopt_two_equalities():
    x1, x2 = variables("x1 x2")
    return POP(x1 + x2, eqs=[x1**2 + x2**2 - 1, x1 - 1])


def _laurent_6_25():
    x1, x2, x3 = variables("x1 x2 x3")
    f = x1**2 * x2**2 * (x1**2 + x2**2 - 3 * x3**2) + x3**6 + 1e-2 * (x1**6 + x2**6 + x3**6)
    return POP(f, ineqs=[1 - x1**2 - x2**2 - x3**2])


# ---------------------------------------------------------------- added by the POP QA round 3
# (2026-12-01): More, Garbow and Hillstrom (1981), "Testing unconstrained optimization
# software", ACM TOMS 7(1) (MGH; the problem numbers are theirs), problems with several global
# minimizers on a ball, a sphere and a simplex, weighted cut and spin problems solved here by
# enumeration. Where MGH give a value and no point, the point was computed here (noted).


def _mgh_freudenstein_roth():
    x1, x2 = variables("x1 x2")
    f1 = -13 + x1 + ((5 - x2) * x2 - 2) * x2
    f2 = -29 + x1 + ((x2 + 1) * x2 - 14) * x2
    return POP(f1**2 + f2**2)


def _mgh_beale():
    x1, x2 = variables("x1 x2")
    return POP(sum((c - x1 * (1 - x2**i)) ** 2 for i, c in ((1, 1.5), (2, 2.25), (3, 2.625))))


def _mgh_powell_singular():
    x1, x2, x3, x4 = variables("x1 x2 x3 x4")
    return POP((x1 + 10 * x2) ** 2 + 5 * (x3 - x4) ** 2 + (x2 - 2 * x3) ** 4 + 10 * (x1 - x4) ** 4)


def _mgh_brown_badly_scaled():
    x1, x2 = variables("x1 x2")
    return POP((x1 - 1e6) ** 2 + (x2 - 2e-6) ** 2 + (x1 * x2 - 2) ** 2)


def _mgh_variably_dimensioned(n):
    def build():
        x = variables(" ".join(f"x{i}" for i in range(1, n + 1)))
        s = sum((j + 1) * (x[j] - 1) for j in range(n))
        return POP(sum((v - 1) ** 2 for v in x) + s**2 + s**4)
    return build


_PENALTY_A = 1e-5


def _mgh_penalty1(n):
    def build():
        x = variables(" ".join(f"x{i}" for i in range(1, n + 1)))
        return POP(_PENALTY_A * sum((v - 1) ** 2 for v in x) + (sum(v**2 for v in x) - 0.25) ** 2)
    return build


def _mgh_watson(n):
    def build():
        x = variables(" ".join(f"x{i}" for i in range(1, n + 1)))
        f = (x[0]) ** 2 + (x[1] - x[0] ** 2 - 1) ** 2
        for i in range(1, 30):
            t = i / 29
            s1 = sum(j * x[j] * t ** (j - 1) for j in range(1, n))
            s2 = sum(x[j] * t**j for j in range(n))
            f = f + (s1 - s2**2 - 1) ** 2
        return POP(f)
    return build


def _mgh_brown_almost_linear3():
    x1, x2, x3 = variables("x1 x2 x3")
    s = x1 + x2 + x3
    return POP((x1 + s - 4) ** 2 + (x2 + s - 4) ** 2 + (x1 * x2 * x3 - 1) ** 2)


def _mgh_linear_rank1(n, m):
    def build():
        x = variables(" ".join(f"x{i}" for i in range(1, n + 1)))
        s = sum((j + 1) * x[j] for j in range(n))
        return POP(sum((i * s - 1) ** 2 for i in range(1, m + 1)))
    return build


def _mgh_chebyquad3():
    x = variables("x1 x2 x3")
    # T_1, T_2, T_3 of 2x - 1 (the shifted Chebyshev polynomials), y_2 = -1/3 (y_i = 0, i odd)
    t1 = [2 * v - 1 for v in x]
    t2 = [2 * u**2 - 1 for u in t1]
    t3 = [4 * u**3 - 3 * u for u in t1]
    return POP((sum(t1) / 3) ** 2 + (sum(t2) / 3 + 1 / 3) ** 2 + (sum(t3) / 3) ** 2)


def _cubic_ball():
    x, y, z = variables("x y z")
    return POP(x**3 + y**3 + z**3, ineqs=[1 - x**2 - y**2 - z**2])


def _quartic_sphere():
    x, y, z = variables("x y z")
    return POP(-(x**4) - y**4 - z**4, eqs=[x**2 + y**2 + z**2 - 1])


#: The 5-cycle with the chord (0, 2): one triangle {0, 1, 2}, so clique number 3.
_C5_CHORD = [(i, (i + 1) % 5) for i in range(5)] + [(0, 2)]


def _motzkin_straus():
    x = variables("x0 x1 x2 x3 x4")
    return POP(sum(x[a] * x[b] for a, b in _C5_CHORD), eqs=[sum(x) - 1], ineqs=list(x), sense="max")


#: A weighted graph on 8 nodes (edges and integer weights drawn once with numpy's
#: default_rng(12) and fixed here): its maximum cut 42 by enumeration of the 2^8 0/1 labellings.
_W8_EDGES = [(0, 1), (0, 3), (0, 4), (0, 5), (0, 6), (1, 2), (1, 5), (1, 7), (2, 3), (2, 4), (2, 5),
             (2, 6), (3, 4), (3, 5), (4, 7)]
_W8_WEIGHTS = [5, 3, 4, 2, 5, 4, 5, 4, 1, 4, 4, 2, 5, 1, 2]


def _maxcut_binary_weighted8():
    b = variables(" ".join(f"b{i}" for i in range(8)))
    cut = sum(w * (b[i] + b[j] - 2 * b[i] * b[j]) for w, (i, j) in zip(_W8_WEIGHTS, _W8_EDGES))
    return POP(cut, sense="max", binary=[f"b{i}" for i in range(8)])


#: A spin glass with couplings in {-2, -1, 1, 2} and a field in {-1, 0, 1} on 10 spins
#: (drawn once with numpy's default_rng(5), fixed here): ground energy -19 by enumeration of
#: the 2^10 states, attained by two states (the field breaks the s -> -s symmetry).
_SG10_J = [(0, 4, 2), (0, 7, -2), (0, 8, -2), (1, 2, 2), (2, 3, 2), (2, 4, 1), (2, 6, -1), (2, 8, 1),
           (3, 5, 2), (3, 6, 1), (3, 9, 1), (4, 6, -1), (4, 7, -1), (5, 6, 1), (5, 7, -2), (6, 7, 2),
           (6, 8, -1), (6, 9, 2)]
_SG10_H = [1, 0, -1, 1, -1, 0, 1, -1, -1, 1]


def _spin_glass_field10():
    s = variables(" ".join(f"s{i}" for i in range(10)))
    energy = sum(w * s[i] * s[j] for i, j, w in _SG10_J) + sum(h * v for h, v in zip(_SG10_H, s))
    return POP(energy, spin=[f"s{i}" for i in range(10)])


# ---------------------------------------------------------------- added by the POP QA round 4
# (2026-12-02): Hock and Schittkowski (1981), "Test examples for nonlinear programming codes",
# LNEMS 187 (HS; the problem numbers are theirs) not used before, More, Garbow and Hillstrom
# (1981) problems 22, 28, 31 and 32 (MGH), a 0/1 quadratic program solved by enumeration, and
# two unbounded sets (an equality with a linear cut; an infimum that is not attained). Each
# optimum checked here: the stated point (closed form where there is one, else the published
# point polished by SLSQP), a 60-start SLSQP run (none lower; benchmarks/qa_pop_round4.py).


def _hs001():
    x1, x2 = variables("x1 x2")
    return POP(100 * (x2 - x1**2) ** 2 + (1 - x1) ** 2, ineqs=[x2 + 1.5])


def _hs002():
    x1, x2 = variables("x1 x2")
    return POP(100 * (x2 - x1**2) ** 2 + (1 - x1) ** 2, ineqs=[x2 - 1.5])


def _hs003():
    x1, x2 = variables("x1 x2")
    return POP(x2 + 1e-5 * (x2 - x1) ** 2, ineqs=[x2])


def _hs004():
    x1, x2 = variables("x1 x2")
    return POP((x1 + 1) ** 3 / 3 + x2, ineqs=[x1 - 1, x2])


def _hs008():
    x1, x2 = variables("x1 x2")
    return POP(0 * x1 - 1, eqs=[x1**2 + x2**2 - 25, x1 * x2 - 9], variables=[x1, x2])


def _hs013():
    x1, x2 = variables("x1 x2")
    return POP((x1 - 2) ** 2 + x2**2, ineqs=[(1 - x1) ** 3 - x2, x1, x2])


def _hs016_017(which):
    def build():
        x1, x2 = variables("x1 x2")
        cons = [x1 + x2**2, x1**2 + x2] if which == 16 else [x2**2 - x1, x1**2 - x2]
        return POP(100 * (x2 - x1**2) ** 2 + (1 - x1) ** 2, ineqs=cons + [x1 + 0.5, 0.5 - x1, 1 - x2])
    return build


def _hs019():
    x1, x2 = variables("x1 x2")
    return POP((x1 - 10) ** 3 + (x2 - 20) ** 3,
               ineqs=[(x1 - 5) ** 2 + (x2 - 5) ** 2 - 100, 82.81 - (x2 - 5) ** 2 - (x1 - 6) ** 2,
                      x1 - 13, 100 - x1, x2, 100 - x2])


def _hs020():
    x1, x2 = variables("x1 x2")
    return POP(100 * (x2 - x1**2) ** 2 + (1 - x1) ** 2,
               ineqs=[x2 + x1**2, x1 + x2**2, x1**2 + x2**2 - 1, x1 + 0.5, 0.5 - x1])


def _hs024():
    x1, x2 = variables("x1 x2")
    r3 = 3 ** 0.5
    return POP(((x1 - 3) ** 2 - 9) * x2**3 / (27 * r3),
               ineqs=[x1 / r3 - x2, x1 + r3 * x2, 6 - x1 - r3 * x2, x1, x2])


def _hs031():
    x1, x2, x3 = variables("x1 x2 x3")
    return POP(9 * x1**2 + x2**2 + 9 * x3**2,
               ineqs=[x1 * x2 - 1, x1 + 10, 10 - x1, x2 - 1, 10 - x2, x3 + 10, 1 - x3])


def _hs032():
    x1, x2, x3 = variables("x1 x2 x3")
    return POP((x1 + 3 * x2 + x3) ** 2 + 4 * (x1 - x2) ** 2,
               ineqs=[6 * x2 + 4 * x3 - x1**3 - 3, x1, x2, x3], eqs=[1 - x1 - x2 - x3])


def _hs033():
    x1, x2, x3 = variables("x1 x2 x3")
    return POP((x1 - 1) * (x1 - 2) * (x1 - 3) + x3,
               ineqs=[x3**2 - x1**2 - x2**2, x1**2 + x2**2 + x3**2 - 4, x1, x2, x3, 5 - x3])


def _hs036():
    x1, x2, x3 = variables("x1 x2 x3")
    return POP(-x1 * x2 * x3, ineqs=[72 - x1 - 2 * x2 - 2 * x3, x1, 20 - x1, x2, 11 - x2, x3, 42 - x3])


def _hs037():
    x1, x2, x3 = variables("x1 x2 x3")
    return POP(-x1 * x2 * x3, ineqs=[72 - x1 - 2 * x2 - 2 * x3, x1 + 2 * x2 + 2 * x3]
               + _box([x1, x2, x3], 0, 42))


def _hs038():
    return POP(_wood().objective, ineqs=_box(variables("x1 x2 x3 x4"), -10, 10))


def _hs041():
    x1, x2, x3, x4 = variables("x1 x2 x3 x4")
    return POP(2 - x1 * x2 * x3, eqs=[x1 + 2 * x2 + 2 * x3 - x4],
               ineqs=_box([x1, x2, x3], 0, 1) + [x4, 2 - x4])


def _hs052_053(which):
    def build():
        x = variables("x1 x2 x3 x4 x5")
        x1, x2, x3, x4, x5 = x
        first = 4 * x1 - x2 if which == 52 else x1 - x2
        return POP(first**2 + (x2 + x3 - 2) ** 2 + (x4 - 1) ** 2 + (x5 - 1) ** 2,
                   eqs=[x1 + 3 * x2, x3 + x4 - 2 * x5, x2 - x5],
                   ineqs=[] if which == 52 else _box(x, -10, 10))
    return build


def _hs060():
    x1, x2, x3 = variables("x1 x2 x3")
    return POP((x1 - 1) ** 2 + (x1 - x2) ** 2 + (x2 - x3) ** 4,
               eqs=[x1 * (1 + x2**2) + x3**4 - 4 - 3 * 2 ** 0.5], ineqs=_box([x1, x2, x3], -10, 10))


def _hs061():
    x1, x2, x3 = variables("x1 x2 x3")
    return POP(4 * x1**2 + 2 * x2**2 + 2 * x3**2 - 33 * x1 + 16 * x2 - 24 * x3,
               eqs=[3 * x1 - 2 * x2**2 - 7, 4 * x1 - x3**2 - 11])


def _hs063():
    x1, x2, x3 = variables("x1 x2 x3")
    return POP(1000 - x1**2 - 2 * x2**2 - x3**2 - x1 * x2 - x1 * x3,
               eqs=[8 * x1 + 14 * x2 + 7 * x3 - 56, x1**2 + x2**2 + x3**2 - 25], ineqs=[x1, x2, x3])


def _hs079():
    x1, x2, x3, x4, x5 = variables("x1 x2 x3 x4 x5")
    r2 = 2 ** 0.5
    return POP((x1 - 1) ** 2 + (x1 - x2) ** 2 + (x2 - x3) ** 2 + (x3 - x4) ** 4 + (x4 - x5) ** 4,
               eqs=[x1 + x2**2 + x3**3 - 2 - 3 * r2, x2 - x3**2 + x4 + 2 - 2 * r2, x1 * x5 - 2])


def _hs083():
    x1, x2, x3, x4, x5 = variables("x1 x2 x3 x4 x5")
    g1 = 85.334407 + 0.0056858 * x2 * x5 + 0.0006262 * x1 * x4 - 0.0022053 * x3 * x5
    g2 = 80.51249 + 0.0071317 * x2 * x5 + 0.0029955 * x1 * x2 + 0.0021813 * x3**2
    g3 = 9.300961 + 0.0047026 * x3 * x5 + 0.0012547 * x1 * x3 + 0.0019085 * x3 * x4
    return POP(5.3578547 * x3**2 + 0.8356891 * x1 * x5 + 37.293239 * x1 - 40792.141,
               ineqs=[g1, 92 - g1, g2 - 90, 110 - g2, g3 - 20, 25 - g3, x1 - 78, 102 - x1, x2 - 33,
                      45 - x2] + _box([x3, x4, x5], 27, 45))


def _mgh_extended_powell(n):
    def build():
        x = variables(" ".join(f"x{i}" for i in range(1, n + 1)))
        return POP(sum((a + 10 * b) ** 2 + 5 * (c - d) ** 2 + (b - 2 * c) ** 4 + 10 * (a - d) ** 4
                       for a, b, c, d in (x[k:k + 4] for k in range(0, n, 4))))
    return build


def _mgh_broyden_banded(n):
    def build():
        x = variables(" ".join(f"x{i}" for i in range(1, n + 1)))
        f = []
        for i in range(n):
            near = [j for j in range(max(0, i - 5), min(n, i + 2)) if j != i]   # ml = 5, mu = 1
            f.append(x[i] * (2 + 5 * x[i] ** 2) + 1 - sum(x[j] * (1 + x[j]) for j in near))
        return POP(sum(fi**2 for fi in f))
    return build


def _mgh_discrete_boundary_value(n):
    def build():
        x = variables(" ".join(f"x{i}" for i in range(1, n + 1)))
        h = 1 / (n + 1)
        ext = [0] + list(x) + [0]                                    # x_0 = x_{n+1} = 0
        return POP(sum((2 * ext[i] - ext[i - 1] - ext[i + 1] + h**2 * (ext[i] + i * h + 1) ** 3 / 2) ** 2
                       for i in range(1, n + 1)))
    return build


def _mgh_linear_full_rank(n, m):
    def build():
        x = variables(" ".join(f"x{i}" for i in range(1, n + 1)))
        s = sum(x)
        return POP(sum((v - 2 * s / m - 1) ** 2 for v in x) + (m - n) * (-2 * s / m - 1) ** 2)
    return build


#: An upper-triangular integer Q on 12 binary variables (drawn once with numpy's
#: default_rng(404), integers in [-10, 10], fixed here): min b^T Q b = -116 by enumeration of
#: the 4,096 points, at two points (b00 free: its row sums to 0 there).
_BQP12_Q = [
    [9, -4, 2, -1, 6, -4, 5, 1, -8, -2, -9, -3], [0, -10, 8, -1, 5, -8, -3, -8, 10, -6, -2, 8],
    [0, 0, -10, 2, -2, -10, -2, -1, -10, -2, -4, -7], [0, 0, 0, -2, -7, -3, -4, 6, 5, -2, -9, -4],
    [0, 0, 0, 0, -3, 5, -9, -10, 4, -4, -4, 10], [0, 0, 0, 0, 0, 9, -3, 3, -1, -10, 6, -10],
    [0, 0, 0, 0, 0, 0, 1, 2, 10, -6, -9, 3], [0, 0, 0, 0, 0, 0, 0, -2, 3, 3, -4, -8],
    [0, 0, 0, 0, 0, 0, 0, 0, 10, 3, 9, 4], [0, 0, 0, 0, 0, 0, 0, 0, 0, 1, -9, 4],
    [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8, -4], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]]
_BQP12_MIN = ((0.0,) + (1.0,) * 7 + (0.0,) + (1.0,) * 3, (1.0,) * 8 + (0.0,) + (1.0,) * 3)


def _bqp12():
    b = variables(" ".join(f"b{i:02d}" for i in range(12)))
    f = sum(q * b[i] * b[j] for i, row in enumerate(_BQP12_Q) for j, q in enumerate(row) if q)
    return POP(f, binary=[f"b{i:02d}" for i in range(12)])


def _product_on_hyperbola_cut():
    x, y = variables("x y")
    return POP(x * y, eqs=[x * y - 1], ineqs=[x + y - 3])


def _unattained():
    x, y = variables("x y")
    return POP(x**2 + (1 - x * y) ** 2)


_HS002_X1 = 1.224370748736352          # the largest root of 400 x^3 - 598 x - 2
_HS002_F = 100 * (1.5 - _HS002_X1**2) ** 2 + (1 - _HS002_X1) ** 2
_HS008_A, _HS008_B = (43 ** 0.5 + 7 ** 0.5) / 2, (43 ** 0.5 - 7 ** 0.5) / 2
_HS008_MIN = ((_HS008_A, _HS008_B), (_HS008_B, _HS008_A), (-_HS008_A, -_HS008_B), (-_HS008_B, -_HS008_A))
_HS019_X2 = 5 - (100 - 9.095**2) ** 0.5
_HS019_F = (14.095 - 10) ** 3 + (_HS019_X2 - 20) ** 3


_S3 = 3 ** -0.5

# ---------------------------------------------------------------- added by the POP QA round 5
# (2026-12-02): the range-bounding benchmarks of the Bernstein literature (Ray and Nataraj,
# "An efficient algorithm for range computation of polynomials using the Bernstein form",
# J. Global Optim. 45 (2009) 403-426; Munoz and Narkawicz, "Formalization of Bernstein
# polynomials and applications to global optimization", J. Automated Reasoning 51 (2013)
# 151-196; as collected in J. Burkardt's POLYNOMIALS library, whose boxes and minima are
# quoted), the Treccani function (Jansson and Knueppel 1992, netlib AMPL tre.mod), Himmelblau
# (1972), non-SOS forms with known minima (Choi-Lam's quaternary form, the Lax-Lax form,
# Schur's inequality, the Horn form), chained singular (Conn, Gould and Toint 1988, as in
# Waki, Kim, Kojima and Muramatsu 2006) and spin-glass / max-cut instances fixed here and
# solved by enumeration. Each optimum checked here independently (benchmarks/qa_pop_round5.py
# --verify: enumeration of the spin states, the vertices of a multilinear objective, or 300
# bounded L-BFGS-B / SLSQP starts; none lower than the value stated).


def _boxed(f, xs, lo, hi):
    return POP(f, ineqs=[g for x, a, b in zip(xs, lo, hi) for g in (x - a, b - x)])


def _butcher():
    x = variables("x1 x2 x3 x4 x5 x6")
    f = (x[5] * x[1]**2 + x[4] * x[2]**2 - x[0] * x[3]**2 + x[3]**3 + x[3]**2
         - x[0] / 3 + 4 * x[3] / 3)
    return _boxed(f, x, [-1, -0.1, -0.1, -1, -0.1, -0.1], [0, 0.9, 0.5, -0.1, -0.05, -0.003])


def _caprasse():
    x1, x2, x3, x4 = x = variables("x1 x2 x3 x4")
    f = (-x1 * x3**3 + 4 * x2 * x3**2 * x4 + 4 * x1 * x3 * x4**2 + 2 * x2 * x4**3 + 4 * x1 * x3
         + 4 * x3**2 - 10 * x2 * x4 - 10 * x4**2 + 2)
    return _boxed(f, x, [-0.5] * 4, [0.5] * 4)


def _heart():
    x = variables("x1 x2 x3 x4 x5 x6 x7 x8")
    a, b, c, d, t, u, v, w = x
    f = (a * u**3 - 3 * a * u * v**2 + c * v**3 - 3 * c * v * u**2 + b * t**3 - 3 * b * t * w**2
         + d * w**3 - 3 * d * w * t**2 + 0.9563453)
    return _boxed(f, x, [-0.1, 0.4, -0.7, -0.7, 0.1, -0.1, -0.3, -1.1],
                  [0.4, 1.0, -0.4, 0.4, 0.2, 0.2, 1.1, -0.3])


def _hunecke():
    x = variables("x1 x2 x3 x4 x5")
    a, b, c, d, e = x
    f = (b**6 * c + b * c**6 + a**2 * b**4 * e - 3 * a * b**2 * c**2 * d * e + c**4 * d**2 * e
         - a**3 * c * d * e**2 - a * b * d**3 * e**2 + b * c * e**5)
    return _boxed(f, x, [0, 2, -2, 1, -2], [1, 3, -1, 3, -1])


def _kearfott():
    x = variables("x1 x2 x3 x4")
    f = sum((x[i]**2 - x[i + 1]) ** 2 + (x[3]**2 - x[i]) ** 2 for i in range(3))
    return _boxed(f, x, [-2] * 4, [2] * 4)


def _lotka_volterra(n):
    def build():
        x = variables(" ".join(f"x{i + 1}" for i in range(n)))
        f = -x[0] * x[1]**2 + sum(x[0] * xi**2 for xi in x[2:]) - 1.1 * x[0] + 1
        lo, hi = ([-1.5] * n, [2.0] * n) if n == 3 else ([-2.0] * n, [2.0] * n)
        return _boxed(f, x, lo, hi)
    return build


def _reaction_diffusion():
    x1, x2, x3 = x = variables("x1 x2 x3")
    f = -x1 + 2 * x2 - x3 - 0.835634534 * x2 * (1 + x2)
    return _boxed(f, x, [-5] * 3, [5] * 3)


def _reimer5():
    x = variables("x1 x2 x3 x4 x5")
    return _boxed(-1 + sum(2 * (-1) ** i * xi**6 for i, xi in enumerate(x)), x, [-1] * 5, [1] * 5)


def _virasoro():
    x = variables("x1 x2 x3 x4 x5 x6 x7 x8")
    a, b, c, d, e, f6, g, h = x
    f = (-2 * a * d + 2 * a * g - 2 * b * e + 2 * b * g - 2 * c * f6 + 2 * c * g + 2 * d * g
         + 2 * e * g + 8 * f6 * g - 6 * f6 * h + 8 * g**2 + 6 * g * h - g)
    return _boxed(f, x, [-1] * 8, [1] * 8)


def _chain_quadratic():
    x = variables("x1 x2 x3 x4")
    f = sum(100 * (x[i] - x[i + 1]) ** 2 + (x[i] - 1) ** 2 for i in range(3))
    return _boxed(f, x, [-5] * 4, [10] * 4)


def _magnetism7():
    x = variables("x1 x2 x3 x4 x5 x6 x7")
    return _boxed(x[0]**2 + 2 * sum(xi**2 for xi in x[1:]) - x[0], x, [-1] * 7, [1] * 7)


def _zakharov():
    x = variables("x1 x2 x3 x4 x5")
    s2 = sum(0.5 * (i + 1) * xi for i, xi in enumerate(x))
    return _boxed(sum(xi**2 for xi in x) + s2**2 + s2**4, x, [-5] * 5, [10] * 5)


def _schwefel3():
    x1, x2, x3 = x = variables("x1 x2 x3")
    f = (x1 - x2**2) ** 2 + (x2 - 1) ** 2 + (x1 - x3**2) ** 2 + (x3 - 1) ** 2
    return _boxed(f, x, [-10] * 3, [10] * 3)


def _camera():
    x = variables("x1 x2 x3 x4 x5 x6")
    a, b, c, d, e, g = x
    f = (-6.8 * a * d - 3.2 * a * e + 1.3 * a * g + 5.1 * a - 3.2 * b * d - 4.8 * b * e
         - 0.7 * b * g - 7.1 * b + 1.3 * c * d - 0.7 * c * e + 9 * c * g - c + 5.1 * d - 7.1 * e
         - g + 2.6)
    return _boxed(f, x, [-100] * 6, [100] * 6)


def _himmelblau():
    x, y = variables("x y")
    return _boxed((x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2, (x, y), [-5, -5], [5, 5])


def _treccani():
    x1, x2 = variables("x1 x2")
    return _boxed(x1**4 + 4 * x1**3 + 4 * x1**2 + x2**2, (x1, x2), [-5, -5], [5, 5])


def _choi_lam_quaternary():
    x, y, z = variables("x y z")
    f = 1 + x**2 * y**2 + y**2 * z**2 + z**2 * x**2 - 4 * x * y * z
    return _boxed(f, (x, y, z), [-2] * 3, [2] * 3)


def _lax_lax():
    x = variables("x1 x2 x3 x4 x5")
    f = 0
    for i in range(5):
        term = 1
        for j in range(5):
            if j != i:
                term = term * (x[i] - x[j])
        f = f + term
    return _boxed(f, x, [-1] * 5, [1] * 5)


def _schur_simplex():
    x, y, z = variables("x y z")
    f = x * (x - y) * (x - z) + y * (y - x) * (y - z) + z * (z - x) * (z - y)
    return POP(f, ineqs=[x, y, z], eqs=[x + y + z - 1])


_HORN = [[1, -1, 1, 1, -1], [-1, 1, -1, 1, 1], [1, -1, 1, -1, 1], [1, 1, -1, 1, -1],
         [-1, 1, 1, -1, 1]]


def _horn_simplex():
    x = variables("x1 x2 x3 x4 x5")
    f = sum(_HORN[i][j] * x[i] * x[j] for i in range(5) for j in range(5))
    return POP(f, ineqs=list(x), eqs=[sum(x) - 1])


def _chained_singular12():
    return chained_singular(12)


def _spins(n):
    return variables(" ".join(f"s{i}" for i in range(n)))


_TORUS4_J = [(0, 1, 1), (0, 4, 1), (1, 2, -1), (1, 5, 1), (2, 3, -1), (2, 6, 1), (3, 0, 1),
             (3, 7, -1), (4, 5, 1), (4, 8, -1), (5, 6, -1), (5, 9, -1), (6, 7, 1), (6, 10, -1),
             (7, 4, -1), (7, 11, -1), (8, 9, -1), (8, 12, -1), (9, 10, -1), (9, 13, 1),
             (10, 11, -1), (10, 14, 1), (11, 8, 1), (11, 15, -1), (12, 13, -1), (12, 0, -1),
             (13, 14, -1), (13, 1, 1), (14, 15, -1), (14, 2, 1), (15, 12, 1), (15, 3, 1)]


def _spin_glass_torus4():
    s = _spins(16)
    return POP(-sum(w * s[a] * s[b] for a, b, w in _TORUS4_J), spin=[f"s{i}" for i in range(16)])


_G14 = [(0, 1), (0, 4), (0, 6), (0, 8), (0, 11), (1, 2), (1, 4), (1, 7), (1, 8), (1, 10), (1, 11),
        (2, 4), (2, 5), (2, 9), (2, 10), (2, 12), (3, 4), (3, 6), (3, 9), (4, 5), (4, 7), (4, 10),
        (4, 12), (4, 13), (5, 7), (6, 7), (7, 8), (7, 10), (8, 10), (8, 12), (9, 10), (9, 12),
        (10, 12), (11, 12)]
_DODECAHEDRON = ([(i, (i + 1) % 10) for i in range(10)] + [(i, i + 10) for i in range(10)]
                 + [(10 + i, 10 + (i + 2) % 10) for i in range(10)])   # GP(10, 2)
_SK12_J = [(0, 1, 1), (0, 2, -3), (0, 3, 3), (0, 4, 3), (0, 5, 2), (0, 6, -2), (0, 9, -1),
           (0, 10, -3), (0, 11, 2), (1, 2, -3), (1, 3, 2), (1, 4, -2), (1, 5, 1), (1, 6, -1),
           (1, 7, -2), (1, 8, 3), (1, 10, 3), (1, 11, -2), (2, 4, -1), (2, 6, -3), (2, 7, 1),
           (2, 8, -1), (2, 9, 3), (2, 10, -2), (2, 11, -1), (3, 4, -3), (3, 5, 2), (3, 7, -1),
           (3, 8, 3), (3, 9, 1), (3, 10, 3), (3, 11, 2), (4, 5, 1), (4, 7, -2), (4, 8, 1),
           (4, 9, 2), (4, 10, 1), (4, 11, -1), (5, 6, -3), (5, 7, 2), (5, 8, -3), (5, 9, 2),
           (5, 10, -2), (5, 11, -1), (6, 7, -2), (6, 9, -2), (6, 10, -2), (6, 11, -3), (7, 8, 3),
           (7, 9, -2), (7, 10, -2), (7, 11, 1), (8, 9, -3), (8, 10, 3), (8, 11, 2), (9, 10, -1),
           (9, 11, -1), (10, 11, -1)]
_SK12_H = [1, 0, -1, 1, -2, 1, 0, 2, -1, -1, 2, 1]
_CHAIN18_J = [-3, -1, -3, 2, -1, -2, 2, 3, -3, 1, -1, 2, 3, 1, 2, -1, 1]
_CHAIN18_H = [0, 1, -2, -1, -2, 2, 0, 0, 0, -2, 2, 2, -2, 1, 0, -1, 0, 2]


def _sk12_field():
    s = _spins(12)
    energy = sum(w * s[i] * s[j] for i, j, w in _SK12_J) + sum(h * v for h, v in zip(_SK12_H, s))
    return POP(energy, spin=[f"s{i}" for i in range(12)])


def _chain18_field():
    s = _spins(18)
    energy = (sum(w * s[i] * s[i + 1] for i, w in enumerate(_CHAIN18_J))
              + sum(h * v for h, v in zip(_CHAIN18_H, s)))
    return POP(energy, spin=[f"s{i}" for i in range(18)])

_S2 = 2 ** -0.5

#: The suite: name -> KnownProblem.
LITERATURE = {p.name: p for p in [
    KnownProblem("goldstein_price", _goldstein_price, 4, 3.0, (0.0, -1.0),
                 "Goldstein and Price (1971); Dixon-Szego test set"),
    KnownProblem("six_hump_camel", _six_hump, 3, -1.031628453489877, (0.08984201368301331, -0.7126564032704135),
                 "Dixon and Szego (1978), six-hump camel back on [-3, 3] x [-2, 2]; f(-x) = f(x): "
                 "the two global minimizers +-(0.0898, -0.7127)",
                 all_minimizers=((0.08984201368301331, -0.7126564032704135),
                                 (-0.08984201368301331, 0.7126564032704135)), minimizers_order=3),
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
                 "max-cut of the 5-cycle (Goemans and Williamson 1995; an odd cycle cuts n - 1)",
                 all_minimizers=_best_cuts(5, [(i, (i + 1) % 5) for i in range(5)]),
                 minimizers_order=2),
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
    KnownProblem("motzkin_box", _motzkin_box, 4, 0.0, (1.0, 1.0),
                 "Motzkin (1967): x^4 y^2 + x^2 y^4 - 3 x^2 y^2 + 1 >= 0 (AM-GM) is not SOS; "
                 "on [-2, 2]^2 (Putinar, not a global SOS certificate); zeros at (+-1, +-1)"),
    KnownProblem("robinson_box", _robinson_box, 4, 0.0, (1.0, 0.0),
                 "Robinson (1973) form, dehomogenized (z = 1): non-negative, not SOS; zeros at "
                 "(+-1, +-1), (+-1, 0), (0, +-1); on [-2, 2]^2"),
    KnownProblem("choi_lam_box", _choi_lam_box, 4, 0.0, (1.0, 1.0),
                 "Choi and Lam (1977) form S = x^4 y^2 + y^4 z^2 + z^4 x^2 - 3 x^2 y^2 z^2 "
                 "(z = 1): non-negative by AM-GM, not SOS; on [-2, 2]^2"),
    KnownProblem("maxcut_k5", _maxcut(5, _K5), 2, 6.0, (1.0, 1.0, 1.0, -1.0, -1.0),
                 "max-cut of the complete graph K5: floor(n/2) ceil(n/2) = 6"),
    KnownProblem("maxcut_petersen", _maxcut(10, _PETERSEN), 2, 12.0,
                 (1.0, 1.0, -1.0, 1.0, -1.0, -1.0, -1.0, 1.0, 1.0, 1.0),
                 "max-cut of the Petersen graph: 12 of its 15 edges (it is not bipartite and "
                 "has 5-cycles; value checked by enumeration; its 10 maximum cuts too). "
                 "'auto' picks correlative sparsity, whose clique blocks are not flat at order "
                 "2 (ranks 8-10 against 5-6): a cut and its complement come back (dense: all 10)",
                 all_minimizers=_best_cuts(10, _PETERSEN)),
    KnownProblem("globallib_ex4_1_1", _ex4_1_1, 4, -7.487312364902364, (-1.1912998141879898,),
                 "GLOBALLib ex4_1_1 (Floudas et al. 1999, Handbook ch. 4, univariate degree 6 "
                 "on [-2, 11]; best known -7.4873); value from the roots of f'"),
    KnownProblem("globallib_ex4_1_4", _ex4_1_4, 3, 0.0, (2.0,),
                 "GLOBALLib ex4_1_4: 4x^2 - 4x^3 + x^4 = x^2 (x - 2)^2 on [-5, 5], minima at 0 and 2"),
    KnownProblem("globallib_ex4_1_7", _ex4_1_7, 2, -7.5, (-1.0,),
                 "GLOBALLib ex4_1_7: x^4 - 3x^3 - 1.5x^2 + 10x on [-5, 5], minimum -7.5 at -1 "
                 "(f' = (x + 1)(4x^2 - 13x + 10))"),
    KnownProblem("floudas_4_10", _floudas_4_10, 4, -5.508013271595281,
                 (2.3295201974776063, 3.178493074117675),
                 "Floudas and Pardalos (1990) problem 4.10 (GLOBALLib ex4_1_9), solved by "
                 "Lasserre (2001, Table 'Test problems'): -5.5080 at (2.3295, 3.1785); value "
                 "from the crossing of the two quartics"),
    KnownProblem("floudas_4_7", _floudas_4_7, 4, -16.73889318439464,
                 (0.7175361982896876, 2 - 2 * 0.7175361982896876 ** 4),
                 "Floudas and Pardalos (1990) problem 4.7 (GLOBALLib ex4_1_8), an equality "
                 "constraint; Lasserre (2001): -16.7389 at (0.7175, 1.470)"),
    KnownProblem("wood_4", _wood, 2, 0.0, (1.0, 1.0, 1.0, 1.0),
                 "Wood function (Colville 1968; More, Garbow and Hillstrom 1981, problem 14), "
                 "unconstrained"),
    KnownProblem("extended_rosenbrock_8", _extended_rosenbrock, 2, 0.0, (1.0,) * 8,
                 "extended Rosenbrock (More, Garbow and Hillstrom 1981, problem 21), n = 8, "
                 "unconstrained"),
    KnownProblem("hyperbola_equality", _hyperbola_eq, 2, 2.0, (1.0, 1.0),
                 "min x^2 + y^2 on the hyperbola xy = 1 (closed form 2 by AM-GM): an equality "
                 "with an unbounded feasible set"),
    KnownProblem("hyperbola_inequality", _hyperbola_ineq, 2, 2.0, (1.0, 1.0),
                 "min x^2 + y^2 over xy >= 1, x, y >= 0 (closed form 2): unbounded feasible set"),
    KnownProblem("sosjl_polynomial_optimization", _sosjl_polyopt, 3, 0.0, (1.0, 0.0),
                 "SumOfSquares.jl documentation, 'Polynomial Optimization' tutorial: "
                 "x^3 - x^2 + 2xy - y^2 + y^3 over x, y >= 0, x + y >= 1; minimum 0 at (1, 0) "
                 "and (0, 1); unbounded feasible set"),
    KnownProblem("quartic_ball", _quartic_ball, 2, -2 ** 0.5, (2 ** -0.25, 2 ** -0.25),
                 "min -(x^2 + y^2) over x^4 + y^4 <= 1 (Cauchy-Schwarz: -sqrt 2)"),
    KnownProblem("sphere_product", _sphere_product, 3, -(3 ** -1.5), (_S3, _S3, -_S3),
                 "min xyz on the unit sphere (AM-GM: -1 / (3 sqrt 3))"),
    KnownProblem("tssos_quartic", _tssos_quartic(False), 2, 0.47527478074415247,
                 (-0.40712484938766585, -0.6630025872843232, -0.40712485537593934),
                 "TSSOS test/runtest.jl (Wang, Magron, Lasserre): 1 + x1^4 + x2^4 + x3^4 + "
                 "x1 x2 x3 + x2, 'optimum = 0.475274778453039' (a relaxation value); the value "
                 "here at a local minimizer polished by SLSQP"),
    KnownProblem("tssos_quartic_constrained", _tssos_quartic(True), 2, 0.686192555200305,
                 (-0.3373389259061675, -0.6656584894179878, -0.7462565078213808),
                 "TSSOS test/runtest.jl: the same quartic with 1 - x1^2 - 2 x2^2 >= 0 and "
                 "x2^2 + x3^2 = 1; TSSOS prints 'optimum = 0.6861925732538557', 1.8e-8 ABOVE the "
                 "value at this feasible point (its bound is numerical)"),
    KnownProblem("cs_tssos_6", _cs_tssos_6, 2, 0.7174253341807817,
                 (-0.36087930108581867, -0.36087930131758555, -0.5209354544714064,
                  -0.4928239224179123, -0.49282392134221925, -0.4928239201988585),
                 "TSSOS test/runtest.jl, CS-TSSOS example (n = 6, one ball inequality, one "
                 "sphere equality): 'optimum = 0.7174253329322346'; value at a polished point"),
    KnownProblem("gloptipoly_lasserre_3", _gloptipoly_lasserre, 2, -4.0, (2.0, 0.0, 0.0),
                 "Lasserre (2001), Example 2 / GloptiPoly 3 demo: min -2x1 + x2 - x3 over a "
                 "quadratic and linear constraints; -4 at (2, 0, 0) and (0.5, 0, 3); published "
                 "bounds -6.0000, -5.6923, -4.0685, -4.0000 at orders 1-4; x2 bounded only by "
                 "the linear constraints (both minimizers come back at order 4, 37 s at load 13)",
                 all_minimizers=((2.0, 0.0, 0.0), (0.5, 0.0, 3.0))),
    KnownProblem("henrion_lasserre_three_minimizers", _henrion_lasserre_three, 2, -2.0,
                 (1.0, 2.0),
                 "Henrion and Lasserre (2005), 'Detecting global optimality and extracting "
                 "solutions in GloptiPoly': -2 at (1, 2), (2, 2), (2, 3), exact at order 2",
                 all_minimizers=((1.0, 2.0), (2.0, 2.0), (2.0, 3.0)), minimizers_order=2),
    KnownProblem("maxcut_mobius8", _maxcut(8, _MOBIUS8), 2, 10.0,
                 (1.0, 1.0, -1.0, 1.0, -1.0, -1.0, 1.0, -1.0),
                 "max-cut of the Moebius ladder on 8 nodes (cycle plus 4 diagonals): 10 of 12 "
                 "edges, by enumeration; the order-1 (Goemans-Williamson) bound is 10.83",
                 all_minimizers=_best_cuts(8, _MOBIUS8), minimizers_order=2),
    KnownProblem("spin_glass_torus_3x3", _spin_glass_torus3, 2, -10.0, _TORUS3_GROUND,
                 "+-1 spin glass on the 3 x 3 torus, the form of BiqMac's toroidal-grid "
                 "instances (Wiegele 2007; Liers et al. 2004), weights fixed here; ground "
                 "state -10 by enumeration of the 2^9 states; order 1 gives -11.066"),
    KnownProblem("katsura_2", _katsura2, 2, 0.0, (1.0, 0.0, 0.0),
                 "Katsura-2 polynomial system (Katsura 1990; PHCpack / PoSSo test suites) as "
                 "the least squares of its 3 equations on [-1, 1]^3: 0 at each of its real "
                 "solutions, (1, 0, 0) among them"),
    # ---- added by the POP QA round (2026-12-01); HS = Hock and Schittkowski (1981), Test
    # Examples for Nonlinear Programming Codes, Lecture Notes in Econ. and Math. Systems 187
    KnownProblem("hs006", _hs006, 2, 0.0, (1.0, 1.0),
                 "HS problem 6: (1 - x1)^2 with 10 (x2 - x1^2) = 0; f* = 0 at (1, 1); "
                 "unbounded feasible set"),
    KnownProblem("hs010", _hs010, 1, -1.0, (0.0, 1.0),
                 "HS problem 10: x1 - x2 over -3x1^2 + 2x1x2 - x2^2 + 1 >= 0; f* = -1 at (0, 1)"),
    KnownProblem("hs011", _hs011, 2, -8.498464223155912, (1.23477283035536, 1.5246639425833817),
                 "HS problem 11: (x1 - 5)^2 + x2^2 - 25 over x2 >= x1^2; published f* = "
                 "-8.498464223 at (1.234679, 1.524450); the point polished by SLSQP"),
    KnownProblem("hs012", _hs012, 1, -30.0, (2.0, 3.0),
                 "HS problem 12: a convex quadratic over an ellipse; f* = -30 at (2, 3)"),
    KnownProblem("hs014", _hs014, 1, 9 - 2.875 * 7 ** 0.5, (0.5 * (7 ** 0.5 - 1), 0.25 * (7 ** 0.5 + 1)),
                 "HS problem 14 (Bracken and McCormick): f* = 9 - 2.875 sqrt 7 at "
                 "((sqrt 7 - 1) / 2, (sqrt 7 + 1) / 4)"),
    KnownProblem("hs015", _hs015, 2, 306.5, (0.5, 2.0),
                 "HS problem 15: Rosenbrock over x1 x2 >= 1, x1 + x2^2 >= 0, x1 <= 0.5; "
                 "f* = 306.5 at (0.5, 2); unbounded feasible set"),
    KnownProblem("hs018", _hs018, 1, 5.0, (250 ** 0.5, 2.5 ** 0.5),
                 "HS problem 18: 0.01 x1^2 + x2^2 over x1 x2 >= 25, x1^2 + x2^2 >= 25 and a box; "
                 "f* = 5 at (sqrt 250, sqrt 2.5)"),
    KnownProblem("hs021", _hs021, 1, -99.96, (2.0, 0.0),
                 "HS problem 21: 0.01 x1^2 + x2^2 - 100 over 10 x1 - x2 >= 10 and a box; "
                 "f* = -99.96 at (2, 0)"),
    KnownProblem("hs022", _hs022, 1, 1.0, (1.0, 1.0),
                 "HS problem 22: (x1 - 2)^2 + (x2 - 1)^2 over x1 + x2 <= 2, x2 >= x1^2; f* = 1 "
                 "at (1, 1)"),
    KnownProblem("hs023", _hs023, 1, 2.0, (1.0, 1.0),
                 "HS problem 23: x1^2 + x2^2 over five quadratic constraints and [-50, 50]^2; "
                 "f* = 2 at (1, 1) (orders 1 and 2 give 1.34: the bound is far but valid)"),
    KnownProblem("hs029", _hs029, 2, -16 * 2 ** 0.5, (4.0, 2 * 2 ** 0.5, 2.0),
                 "HS problem 29: -x1 x2 x3 over an ellipsoid; f* = -16 sqrt 2 at (4, 2 sqrt 2, 2)"),
    KnownProblem("hs030", _hs030, 1, 1.0, (1.0, 0.0, 0.0),
                 "HS problem 30: |x|^2 over x1^2 + x2^2 >= 1 and a box; f* = 1 at (1, 0, 0)"),
    KnownProblem("hs035", _hs035, 1, 1 / 9, (4 / 3, 7 / 9, 4 / 9),
                 "HS problem 35 (Beale): a convex QP over a simplex-like polytope; f* = 1/9 at "
                 "(4/3, 7/9, 4/9)"),
    KnownProblem("hs043", _hs043, 1, -44.0, (0.0, 1.0, 2.0, -1.0),
                 "HS problem 43 (Rosen-Suzuki): three convex quadratic constraints; f* = -44 at "
                 "(0, 1, 2, -1)"),
    KnownProblem("hs044", _hs044, 2, -15.0, (0.0, 3.0, 0.0, 4.0),
                 "HS problem 44: an indefinite bilinear objective over a polytope; f* = -15 at "
                 "(0, 3, 0, 4)"),
    KnownProblem("hs065", _hs065, 2, 0.9535288568047875,
                 (3.6504617602817264, 3.6504616981407136, 4.620417549002304),
                 "HS problem 65: f* = 0.9535288567 at (3.650461821, 3.65046168, 4.6204170507) "
                 "published; the point polished by SLSQP"),
    KnownProblem("hs071", _hs071, 2, 17.01401728914502,
                 (0.9999999999993981, 4.742999652489081, 3.8211499642938005, 1.3794082959251854),
                 "HS problem 71: x1 x4 (x1 + x2 + x3) + x3 over x1 x2 x3 x4 >= 25, |x|^2 = 40, "
                 "[1, 5]^4; published f* = 17.0140173 at (1, 4.7429994, 3.8211503, 1.3794082); "
                 "the point polished by SLSQP"),
    KnownProblem("hs076", _hs076, 1, -103 / 22, (3 / 11, 23 / 11, 0.0, 6 / 11),
                 "HS problem 76: a convex QP over a polytope; published f* = -4.681818181 at "
                 "(0.2727273, 2.090909, 0, 0.5454545) = (3, 23, 0, 6) / 11, f* = -103/22"),
    KnownProblem("hs026", _hs026, 2, 0.0, (1.0, 1.0, 1.0),
                 "HS problem 26: (x1 - x2)^2 + (x2 - x3)^4 on (1 + x2^2) x1 + x3^4 = 3; f* = 0 "
                 "at (1, 1, 1); equality only (unbounded set)"),
    KnownProblem("hs027", _hs027, 2, 0.04, (-1.0, 1.0, 0.0),
                 "HS problem 27: 0.01 (x1 - 1)^2 + (x2 - x1^2)^2 on x1 + x3^2 = -1; f* = 0.04 at "
                 "(-1, 1, 0)"),
    KnownProblem("hs028", _hs028, 1, 0.0, (0.5, -0.5, 0.5),
                 "HS problem 28: a convex quadratic on a plane; f* = 0 at (0.5, -0.5, 0.5)"),
    KnownProblem("hs042", _hs042, 1, 28 - 10 * 2 ** 0.5, (2.0, 2.0, 0.6 * 2 ** 0.5, 0.8 * 2 ** 0.5),
                 "HS problem 42: distance to (1, 2, 3, 4) on x1 = 2, x3^2 + x4^2 = 2; f* = "
                 "28 - 10 sqrt 2 at (2, 2, 0.6 sqrt 2, 0.8 sqrt 2)"),
    KnownProblem("hs048", _hs048, 1, 0.0, (1.0,) * 5,
                 "HS problem 48: a convex quadratic on two linear equalities; f* = 0 at 1"),
    KnownProblem("hs051", _hs051, 1, 0.0, (1.0,) * 5,
                 "HS problem 51: a convex quadratic on three linear equalities; f* = 0 at 1"),
    KnownProblem("hs078", _hs078, 3, -2.9197004089636795,
                 (-1.7171435644879571, 1.595709683343963, 1.8272457639017754,
                  -0.7636430797603017, -0.7636430779213031),
                 "HS problem 78: x1 x2 x3 x4 x5 on |x|^2 = 10, x2 x3 = 5 x4 x5, "
                 "x1^3 + x2^3 = -1; published f* = -2.91970041 at (-1.717143, 1.595709, "
                 "1.827247, -0.7636413, -0.7636450); the point polished by SLSQP (200 "
                 "random SLSQP starts: none lower)"),
    KnownProblem("tssos_readme", _tssos_readme(False), 2, -0.125, (0.5, 0.5),
                 "TSSOS README (Wang, Magron, Lasserre), the unconstrained example "
                 "x1^4 + x2^4 - x1 x2: -1/8 at +-(1/2, 1/2) (closed form)",
                 all_minimizers=((0.5, 0.5), (-0.5, -0.5)), minimizers_order=2),
    KnownProblem("tssos_readme_constrained", _tssos_readme(True), 2, 0.875,
                 ((1 + (5 ** 0.5 - 2) / 4) ** 0.5, ((5 ** 0.5 - 2) / 4) ** 0.5),
                 "TSSOS README, the constrained example: the same quartic with "
                 "2 - x1^2 - 2 x2^2 >= 0 and x1^2 - x2^2 - 1 = 0; 7/8 in closed form "
                 "(x2^2 = s, x1^2 = 1 + s, s = (sqrt 5 - 2) / 4)"),
    KnownProblem("polyopt_shifted_square", _polyopt_shifted_square, 1, -1.0, (0.0, -1.0),
                 "MOSEK Polyopt.jl test/polyopt.jl: (x + z + 1)^2 - 1, not SOS but f + 1 is; "
                 "-1 on the line x + z = -1"),
    KnownProblem("polyopt_hyperbolic", _polyopt_hyperbolic, 2, 2.0, (1.0, 0.0),
                 "MOSEK Polyopt.jl test/polyopt.jl: x^4 + z^2 + 1 over x^2 - z^2 >= 1 "
                 "(unbounded set); 2 at (+-1, 0) (closed form)"),
    KnownProblem("polyopt_two_equalities", _polyopt_two_equalities, 2, 1.0, (1.0, 0.0),
                 "MOSEK Polyopt.jl test/polyopt.jl: x1 + x2 on x1^2 + x2^2 = 1, x1 = 1: the "
                 "feasible set is the one point (1, 0), no interior"),
    KnownProblem("laurent_6_25", _laurent_6_25, 4, 0.0, (0.0, 0.0, 0.0),
                 "M. Laurent, 'Sums of squares, moment matrices and optimization over "
                 "polynomials' (2009), Example 6.25 (as in Polyopt.jl's tests): the Motzkin "
                 "form plus 1e-2 (x1^6 + x2^6 + x3^6) on the unit ball; 0 at the origin"),
    # ---- added by the POP QA round 3 (2026-12-01); MGH = More, Garbow and Hillstrom (1981)
    KnownProblem("mgh_freudenstein_roth", _mgh_freudenstein_roth, 3, 0.0, (5.0, 4.0),
                 "MGH problem 2 (Freudenstein and Roth): f = 0 at (5, 4); a local minimum "
                 "48.9842 at (11.41, -0.8968); unconstrained"),
    KnownProblem("mgh_beale", _mgh_beale, 4, 0.0, (3.0, 0.5),
                 "MGH problem 5 (Beale): f = 0 at (3, 0.5); degree 8, unconstrained"),
    KnownProblem("mgh_powell_singular", _mgh_powell_singular, 2, 0.0, (0.0,) * 4,
                 "MGH problem 13 (Powell singular): f = 0 at the origin, a singular Hessian "
                 "there (the four-variable block of chained singular); unconstrained"),
    KnownProblem("mgh_brown_badly_scaled", _mgh_brown_badly_scaled, 2, 0.0, (1e6, 2e-6),
                 "MGH problem 4 (Brown badly scaled): f = 0 at (1e6, 2e-6); unconstrained"),
    KnownProblem("mgh_variably_dimensioned_5", _mgh_variably_dimensioned(5), 2, 0.0, (1.0,) * 5,
                 "MGH problem 25 (variably dimensioned), n = 5: f = 0 at (1, ..., 1)"),
    KnownProblem("mgh_penalty1_4", _mgh_penalty1(4), 2, 2.2499775008999375e-05,
                 (0.25000749958753793,) * 4,
                 "MGH problem 23 (penalty I), n = 4, a = 1e-5: published f = 2.24997e-5; the "
                 "minimizer is s (1, 1, 1, 1) (for a fixed |x| the penalty term is least along "
                 "(1, ..., 1)) with s the root of 64 s^3 - (4 - 8a) s - 8a = 0, computed here"),
    KnownProblem("mgh_watson_6", _mgh_watson(6), 2, 0.0022876700535523257,
                 (-0.015725087002419397, 1.0124348687832585, -0.23299162060820106,
                  1.2604300684434877, -1.5137288984245387, 0.9929964212854812),
                 "MGH problem 20 (Watson), n = 6: published f = 2.28767e-3; the point from 60 "
                 "Levenberg-Marquardt starts here (none lower)"),
    KnownProblem("mgh_brown_almost_linear_3", _mgh_brown_almost_linear3, 3, 0.0, (1.0, 1.0, 1.0),
                 "MGH problem 27 (Brown almost-linear), n = 3: f = 0 at (a, a, a^-2) for each "
                 "root a of 3a^3 - 4a^2 + 1 = (a - 1)(3a^2 - a - 1): a = 1, (1 +- sqrt 13) / 6",
                 all_minimizers=tuple((a, a, a ** -2) for a in (1.0, (1 + 13 ** 0.5) / 6,
                                                                 (1 - 13 ** 0.5) / 6))),
    KnownProblem("mgh_linear_rank1_5", _mgh_linear_rank1(5, 5), 1, 10 / 11, (3 / 11, 0.0, 0.0, 0.0, 0.0),
                 "MGH problem 33 (linear function, rank 1), n = m = 5: f = m(m - 1) / (2(2m + 1)) "
                 "= 10/11 on the hyperplane sum_j j x_j = 3/11 (a continuum of minimizers)"),
    KnownProblem("mgh_chebyquad_3", _mgh_chebyquad3, 3, 0.0,
                 (0.5 - 2 ** 0.5 / 4, 0.5, 0.5 + 2 ** 0.5 / 4),
                 "MGH problem 35 (Chebyquad), n = m = 3: f = 0 at the Chebyshev quadrature "
                 "nodes (1 + {-1/sqrt 2, 0, 1/sqrt 2}) / 2 in any order: six minimizers",
                 all_minimizers=tuple(itertools.permutations(
                     (0.5 - 2 ** 0.5 / 4, 0.5, 0.5 + 2 ** 0.5 / 4)))),
    KnownProblem("cubic_ball", _cubic_ball, 2, -1.0, (-1.0, 0.0, 0.0),
                 "min x^3 + y^3 + z^3 on the unit ball: sum x_i^3 >= -max|x_i| |x|^2 >= -1, "
                 "equality only at -e_1, -e_2, -e_3 (closed form, three minimizers)",
                 all_minimizers=((-1.0, 0.0, 0.0), (0.0, -1.0, 0.0), (0.0, 0.0, -1.0)), minimizers_order=2),
    KnownProblem("quartic_sphere", _quartic_sphere, 2, -1.0, (1.0, 0.0, 0.0),
                 "min -(x^4 + y^4 + z^4) on the unit sphere: sum x_i^4 <= (sum x_i^2)^2 = 1, "
                 "equality only at +-e_i (closed form, six minimizers)",
                 all_minimizers=tuple(tuple(float(s * (i == j)) for j in range(3))
                                      for i in range(3) for s in (1, -1)), minimizers_order=3),
    KnownProblem("motzkin_straus_c5_chord", _motzkin_straus, 2, 1 / 3, (1 / 3, 1 / 3, 1 / 3, 0.0, 0.0),
                 "Motzkin and Straus (1965): max of sum_{ij in E} x_i x_j on the simplex is "
                 "(1 - 1/omega) / 2; the 5-cycle with a chord has clique number 3: 1/3 at the "
                 "triangle's barycentre"),
    KnownProblem("maxcut_binary_weighted_8", _maxcut_binary_weighted8, 2, 42.0,
                 (0.0, 1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0),
                 "weighted max-cut on 8 nodes in 0/1 variables (x_i + x_j - 2 x_i x_j per edge); "
                 "42 by enumeration of the 256 labellings, attained by one cut and its complement",
                 all_minimizers=((0.0, 1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0),
                                 (1.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0)), minimizers_order=2),
    KnownProblem("spin_glass_field_10", _spin_glass_field10, 2, -19.0,
                 (-1.0, -1.0, 1.0, -1.0, 1.0, 1.0, -1.0, 1.0, -1.0, 1.0),
                 "+-1 spin glass with a field on 10 spins (couplings and field fixed here); "
                 "ground energy -19 by enumeration of the 1,024 states, two ground states",
                 all_minimizers=((-1.0, -1.0, 1.0, -1.0, 1.0, 1.0, -1.0, 1.0, -1.0, 1.0),
                                 (1.0, -1.0, 1.0, -1.0, -1.0, 1.0, -1.0, 1.0, 1.0, 1.0)), minimizers_order=2),
    # ---- added by the POP QA round 4 (2026-12-02); HS = Hock and Schittkowski (1981)
    KnownProblem("hs001", _hs001, 2, 0.0, (1.0, 1.0),
                 "HS problem 1: Rosenbrock over x2 >= -1.5; f* = 0 at (1, 1); unbounded set"),
    KnownProblem("hs002", _hs002, 2, _HS002_F, (_HS002_X1, 1.5),
                 "HS problem 2: Rosenbrock over x2 >= 1.5; published f* = 0.0504261879 at "
                 "(1.224370749, 1.5); x1 the root of 400 x1^3 - 598 x1 - 2 (f' on x2 = 1.5)"),
    KnownProblem("hs003", _hs003, 1, 0.0, (0.0, 0.0),
                 "HS problem 3: x2 + 1e-5 (x2 - x1)^2 over x2 >= 0; f* = 0 at (0, 0)"),
    KnownProblem("hs004", _hs004, 2, 8 / 3, (1.0, 0.0),
                 "HS problem 4: (x1 + 1)^3 / 3 + x2 over x1 >= 1, x2 >= 0; f* = 8/3 at (1, 0); "
                 "an odd objective on an unbounded set"),
    KnownProblem("hs008", _hs008, 1, -1.0, _HS008_MIN[0],
                 "HS problem 8: the constant -1 on x1^2 + x2^2 = 25, x1 x2 = 9; every feasible "
                 "point is optimal: the four points +-((a + b) / 2, (a - b) / 2) and their swaps, "
                 "a = sqrt 43, b = sqrt 7", all_minimizers=_HS008_MIN, minimizers_order=1),
    KnownProblem("hs013", _hs013, 2, 1.0, (1.0, 0.0),
                 "HS problem 13: (x1 - 2)^2 + x2^2 over (1 - x1)^3 >= x2, x >= 0; f* = 1 at "
                 "(1, 0), a cusp where no constraint qualification holds"),
    KnownProblem("hs016", _hs016_017(16), 2, 0.25, (0.5, 0.25),
                 "HS problem 16: Rosenbrock over x1 + x2^2 >= 0, x1^2 + x2 >= 0, |x1| <= 0.5, "
                 "x2 <= 1; f* = 0.25 at (0.5, 0.25)"),
    KnownProblem("hs017", _hs016_017(17), 2, 1.0, (0.0, 0.0),
                 "HS problem 17: Rosenbrock over x2^2 >= x1, x1^2 >= x2, |x1| <= 0.5, x2 <= 1; "
                 "f* = 1 at (0, 0)"),
    KnownProblem("hs019", _hs019, 2, _HS019_F, (14.095, _HS019_X2),
                 "HS problem 19: (x1 - 10)^3 + (x2 - 20)^3 over two discs' complement and "
                 "intersection and a box; published f* = -6961.81381 at (14.095, 0.84296079), "
                 "the circles' intersection: x2 = 5 - sqrt(100 - 9.095^2)"),
    KnownProblem("hs020", _hs020, 2, 81.5 - 25 * 3 ** 0.5, (0.5, 3 ** 0.5 / 2),
                 "HS problem 20: Rosenbrock over three quadratic constraints, |x1| <= 0.5; "
                 "f* = 81.5 - 25 sqrt 3 at (0.5, sqrt 3 / 2)"),
    KnownProblem("hs024", _hs024, 3, -1.0, (3.0, 3 ** 0.5),
                 "HS problem 24: ((x1 - 3)^2 - 9) x2^3 / (27 sqrt 3) over a triangle; f* = -1 "
                 "at (3, sqrt 3)"),
    KnownProblem("hs031", _hs031, 1, 6.0, (3 ** -0.5, 3 ** 0.5, 0.0),
                 "HS problem 31: 9 x1^2 + x2^2 + 9 x3^2 over x1 x2 >= 1 and a box; f* = 6 at "
                 "(1/sqrt 3, sqrt 3, 0)"),
    KnownProblem("hs032", _hs032, 2, 1.0, (0.0, 0.0, 1.0),
                 "HS problem 32: a convex quadratic over a cubic constraint on the simplex; "
                 "f* = 1 at (0, 0, 1)"),
    KnownProblem("hs033", _hs033, 2, 2 ** 0.5 - 6, (0.0, 2 ** 0.5, 2 ** 0.5),
                 "HS problem 33: (x1 - 1)(x1 - 2)(x1 - 3) + x3 over a cone, outside a ball, "
                 "x >= 0, x3 <= 5; f* = sqrt 2 - 6 at (0, sqrt 2, sqrt 2) (order 2 gives -5.6: "
                 "far but valid)"),
    KnownProblem("hs036", _hs036, 2, -3300.0, (20.0, 11.0, 15.0),
                 "HS problem 36: -x1 x2 x3 over a polytope; f* = -3300 at (20, 11, 15)"),
    KnownProblem("hs037", _hs037, 2, -3456.0, (24.0, 12.0, 12.0),
                 "HS problem 37: -x1 x2 x3 over a polytope; f* = -3456 at (24, 12, 12)"),
    KnownProblem("hs038", _hs038, 2, 0.0, (1.0,) * 4,
                 "HS problem 38: the Wood (Colville) function on [-10, 10]^4; f* = 0 at 1"),
    KnownProblem("hs041", _hs041, 2, 52 / 27, (2 / 3, 1 / 3, 1 / 3, 2.0),
                 "HS problem 41: 2 - x1 x2 x3 on x1 + 2 x2 + 2 x3 = x4 and a box; f* = 52/27 at "
                 "(2/3, 1/3, 1/3, 2)"),
    KnownProblem("hs052", _hs052_053(52), 1, 1859 / 349,
                 tuple(v / 349 for v in (-33, 11, 180, -158, 11)),
                 "HS problem 52: a convex quadratic on three linear equalities; f* = 1859/349 at "
                 "(-33, 11, 180, -158, 11) / 349"),
    KnownProblem("hs053", _hs052_053(53), 1, 176 / 43, tuple(v / 43 for v in (-33, 11, 27, -5, 11)),
                 "HS problem 53: HS 52's equalities with (x1 - x2)^2 first and [-10, 10]^5; "
                 "f* = 176/43 at (-33, 11, 27, -5, 11) / 43"),
    KnownProblem("hs060", _hs060, 2, 0.03256820025506446,
                 (1.1048590102196, 1.1966741682734083, 1.5352622644841365),
                 "HS problem 60: published f* = 0.0325682003 at (1.104859024, 1.196674194, "
                 "1.535262257); the point polished by SLSQP (orders 2 and 3 certify -0.053 "
                 "and -5.2: far but valid)"),
    KnownProblem("hs061", _hs061, 1, -143.64614219778028,
                 (5.326770119419101, -2.1189986265046636, 3.210464215292923),
                 "HS problem 61: a quadratic on two quadratic equalities (a curve); published "
                 "f* = -143.6461422 at (5.32677015, -2.11899863, 3.21046423); polished by SLSQP"),
    KnownProblem("hs063", _hs063, 2, 961.7151721300521,
                 (3.512121483345486, 0.2169879302691593, 3.552171015638269),
                 "HS problem 63: a concave quadratic on a plane and a sphere, x >= 0; published "
                 "f* = 961.7151721 at (3.512118414, 0.2169881741, 3.552174034); polished by "
                 "SLSQP (order 1 certifies 955.02)"),
    KnownProblem("hs079", _hs079, 2, 0.07877682087143967,
                 (1.19112782218276, 1.3626034452568214, 1.4728177579092745, 1.6350158275022713,
                  1.6790809204128652),
                 "HS problem 79: three polynomial equalities (unbounded set); published "
                 "f* = 0.0787768209 at (1.191127, 1.362603, 1.472818, 1.635017, 1.679081); "
                 "polished by SLSQP"),
    KnownProblem("hs083", _hs083, 2, -30665.538671783317,
                 (78.0, 33.0, 29.99525602568159, 45.0, 36.77581290578821),
                 "HS problem 83 (Colville 3): badly scaled quadratic constraints; published "
                 "f* = -30665.53867 at (78, 33, 29.99526, 45, 36.77581); x3, x5 from the two "
                 "active constraints"),
    KnownProblem("mgh_extended_powell_8", _mgh_extended_powell(8), 2, 0.0, (0.0,) * 8,
                 "MGH problem 22 (extended Powell singular), n = 8: f = 0 at the origin"),
    KnownProblem("mgh_broyden_banded_6", _mgh_broyden_banded(6), 3, 0.0,
                 (-0.4283028635515591, -0.476596420733086, -0.5196529619530159,
                  -0.5580733702133601, -0.5934373375926004, -0.5934373375926004),
                 "MGH problem 31 (Broyden banded), n = 6, ml = 5, mu = 1: f = 0; the root "
                 "computed here (scipy fsolve)"),
    KnownProblem("mgh_discrete_boundary_value_6", _mgh_discrete_boundary_value(6), 3, 0.0,
                 (-0.06546347687000416, -0.11816558733630561, -0.15462721498559873,
                  -0.16999162631729522, -0.1572697324201286, -0.10603077805094094),
                 "MGH problem 28 (discrete boundary value), n = 6: f = 0; the root computed "
                 "here (scipy fsolve)"),
    KnownProblem("mgh_linear_full_rank_5_10", _mgh_linear_full_rank(5, 10), 1, 5.0, (-1.0,) * 5,
                 "MGH problem 32 (linear function, full rank), n = 5, m = 10: f = m - n at "
                 "x = -1"),
    KnownProblem("bqp_12", _bqp12, 2, -116.0, _BQP12_MIN[0],
                 "0/1 quadratic program b^T Q b on 12 variables (Q fixed here); -116 by "
                 "enumeration of the 4,096 points, at two points", all_minimizers=_BQP12_MIN),
    KnownProblem("product_on_hyperbola_cut", _product_on_hyperbola_cut, 1, 1.0,
                 ((3 + 5 ** 0.5) / 2, (3 - 5 ** 0.5) / 2),
                 "min xy on xy = 1, x + y >= 3: the objective is 1 on the feasible set (the "
                 "equality); unbounded set"),
    KnownProblem("unattained_infimum", _unattained, 2, 0.0, (),
                 "x^2 + (1 - x y)^2: infimum 0 (x = 1/y, y -> inf), not attained (the classic "
                 "example of Nie, Demmel and Sturmfels (2006), Sec. 1); no minimizer"),    # ---- added by the POP QA round 5 (2026-12-02); RN = Ray and Nataraj (2009), MN = Munoz
    # and Narkawicz (2013), their boxes and published minima as in Burkardt's POLYNOMIALS
    KnownProblem("bernstein_butcher", _butcher, 2, -1.4393333333333334,
                 (0.0, 0.9, 0.5, -1.0, -0.1, -0.1),
                 "MN, the Butcher polynomial on its box: published minimum -1.4393333333 at a "
                 "vertex (checked here: 300 bounded L-BFGS-B starts and the 64 vertices)"),
    KnownProblem("bernstein_caprasse", _caprasse, 3, -3.1800966258450, (0.5, 0.5, (10 - 115 ** 0.5) / 3, 0.5),
                 "MN, the Caprasse polynomial on [-1/2, 1/2]^4: published minimum "
                 "-3.1800966258; at x1 = x2 = x4 = 1/2 the cubic in x3 has its minimum at "
                 "(10 - sqrt 115) / 3 (300 bounded starts: none lower)"),
    KnownProblem("bernstein_heart", _heart, 3, -1.3677547,
                 (0.4, 1.0, -0.7, 0.4, 0.2, 0.2, 1.1, -1.1),
                 "MN, the heart dipole polynomial on its box (8 variables): published minimum "
                 "-1.36775 (rounded), -1.3677547 at a vertex (the 256 vertices and 300 bounded "
                 "starts here)"),
    KnownProblem("bernstein_kearfott", _kearfott, 2, 0.0, (1.0, 1.0, 1.0, 1.0),
                 "RN, Kearfott's sum of squares sum_i (x_i^2 - x_{i+1})^2 + (x_4^2 - x_i)^2 on "
                 "[-2, 2]^4: 0 exactly at 0 and 1 (the equations force x1 = x1^2 = x4)",
                 all_minimizers=((0.0,) * 4, (1.0,) * 4)),
    KnownProblem("bernstein_lv3", _lotka_volterra(3), 2, -9.2, (2.0, 2.0, 0.0),
                 "RN, the Lotka-Volterra polynomial x1 (x3^2 - x2^2 - 1.1) + 1 on [-1.5, 2]^3: "
                 "minimum -9.2 at (2, 2, 0) (linear in x1, so x1 is at an end; closed form); "
                 "the range [-9.35, 14.8] quoted with it is an enclosure, not the minimum"),
    KnownProblem("bernstein_lv4", _lotka_volterra(4), 2, -12.8, (-2.0, 0.0, 2.0, 2.0),
                 "MN, the Lotka-Volterra polynomial x1 (x3^2 + x4^2 - x2^2 - 1.1) + 1 on "
                 "[-2, 2]^4: minimum -12.8 at (-2, 0, 2, 2) (closed form as for lv3); the "
                 "range [-20.8, 22.8] quoted with it is an enclosure, not the minimum"),
    KnownProblem("bernstein_rd", _reaction_diffusion, 2, -36.71269068, (5.0, -5.0, 5.0),
                 "MN, the reaction-diffusion polynomial on [-5, 5]^3: published minimum "
                 "-36.71269068 at (5, -5, 5) (closed form: separable, concave in x2)"),
    KnownProblem("bernstein_virasoro", _virasoro, 2, -29.0, (-1.0, -1.0, -1.0, -1.0, -1.0, -1.0, 1.0, -1.0),
                 "RN, the Virasoro quadratic on [-1, 1]^8: published minimum -29 (the 256 "
                 "vertices and 300 bounded starts here: -29 at a vertex)"),
    KnownProblem("bernstein_rosenbrock", _chain_quadratic, 2, 0.0, (1.0,) * 4,
                 "RN's 'Rosenbrock' sum_i 100 (x_i - x_{i+1})^2 + (x_i - 1)^2 on [-5, 10]^4: "
                 "0 at (1, 1, 1, 1) (a sum of squares, zero there)"),
    KnownProblem("bernstein_magnetism7", _magnetism7, 2, -0.25, (0.5,) + (0.0,) * 6,
                 "MN's magnetism polynomial x1^2 + 2 sum_{i>1} x_i^2 - x1 on [-1, 1]^7: -1/4 "
                 "at (1/2, 0, ..., 0) (closed form)"),
    KnownProblem("bernstein_zakharov", _zakharov, 2, 0.0, (0.0,) * 5,
                 "RN, Zakharov's function on [-5, 10]^5: 0 at the origin (a sum of squares "
                 "and a fourth power)"),
    KnownProblem("bernstein_schwefel", _schwefel3, 2, 0.0, (1.0, 1.0, 1.0),
                 "MN, the Schwefel polynomial on [-10, 10]^3: 0 at (1, 1, 1), a box of "
                 "half-width exactly 10"),
    KnownProblem("bernstein_camera", _camera, 2, -270397.4, (100.0, 100.0, -100.0, 100.0, 100.0, 100.0),
                 "RN, the camera polynomial (bilinear) on [-100, 100]^6: published minimum "
                 "-270397.4; a multilinear polynomial is least at a vertex (64, enumerated)"),
    KnownProblem("himmelblau_box", _himmelblau, 2, 0.0, (3.0, 2.0),
                 "Himmelblau (1972), Applied Nonlinear Programming, on [-5, 5]^2 (as in RN): 0 "
                 "at its four zeros, (3, 2) and three roots of x^2 + y - 11 = x + y^2 - 7 = 0 "
                 "(fsolve here)",
                 all_minimizers=((3.0, 2.0), (-2.805118086952745, 3.131312518250573),
                                 (-3.779310253377747, -3.2831859912861696),
                                 (3.5844283403304917, -1.8481265269644036))),
    KnownProblem("treccani", _treccani, 2, 0.0, (0.0, 0.0),
                 "Treccani function (Jansson and Knueppel 1992; netlib AMPL tre.mod): "
                 "x1^2 (x1 + 2)^2 + x2^2 on [-5, 5]^2, 0 at (0, 0) and (-2, 0)",
                 all_minimizers=((0.0, 0.0), (-2.0, 0.0))),
    KnownProblem("choi_lam_quaternary_box", _choi_lam_quaternary, 3, 0.0, (1.0, 1.0, 1.0),
                 "Choi and Lam (1977): w^4 + x^2 y^2 + y^2 z^2 + z^2 x^2 - 4xyzw is "
                 "non-negative (AM-GM) and not SOS; at w = 1 on [-2, 2]^3, 0 where "
                 "|x| = |y| = |z| = 1 and xyz = 1",
                 all_minimizers=((1.0, 1.0, 1.0), (1.0, -1.0, -1.0), (-1.0, 1.0, -1.0),
                                 (-1.0, -1.0, 1.0))),
    KnownProblem("lax_lax_box", _lax_lax, 3, 0.0, (0.5,) * 5,
                 "Lax and Lax (1978): sum_i prod_{j != i} (x_i - x_j) on R^5 is non-negative "
                 "and not SOS (Choi, Lam and Reznick); 0 on the diagonal; on [-1, 1]^5"),
    KnownProblem("schur_simplex", _schur_simplex, 2, 0.0, (1 / 3, 1 / 3, 1 / 3),
                 "Schur's inequality (t = 1; Hardy, Littlewood and Polya, Inequalities): "
                 "sum x(x - y)(x - z) >= 0 for x, y, z >= 0; on the simplex 0 at the "
                 "barycentre and the three midpoints of the edges",
                 all_minimizers=((1 / 3, 1 / 3, 1 / 3), (0.5, 0.5, 0.0), (0.5, 0.0, 0.5),
                                 (0.0, 0.5, 0.5))),
    KnownProblem("horn_simplex", _horn_simplex, 2, 0.0, (0.5, 0.5, 0.0, 0.0, 0.0),
                 "the Horn form x^T H x (Hall and Newman 1963): copositive, not a sum of a PSD "
                 "and a non-negative matrix; its minimum on the simplex is 0, e.g. at "
                 "(1/2, 1/2, 0, 0, 0) (a continuum of minimizers)"),
    KnownProblem("chained_singular_12", _chained_singular12, 2, 0.0, (0.0,) * 12,
                 "chained singular, n = 12 (Conn, Gould and Toint 1988; Waki, Kim, Kojima and "
                 "Muramatsu 2006): 0 at the origin, a singular minimizer"),
    KnownProblem("spin_glass_torus_4x4", _spin_glass_torus4, 2, -20.0,
                 (-1.0, -1.0, -1.0, 1.0, -1.0, 1.0, 1.0, -1.0, 1.0, -1.0, -1.0, -1.0, 1.0, 1.0, 1.0, 1.0),
                 "+-J Ising spin glass -sum J_ij s_i s_j on the 4 x 4 torus (couplings fixed "
                 "here): ground energy -20 by enumeration of the 65,536 states (40 ground states)"),
    KnownProblem("maxcut_gnp14", _maxcut(14, _G14), 2, 26.0,
                 (-1.0, -1.0, -1.0, 1.0, -1.0, -1.0, 1.0, -1.0, 1.0, -1.0, 1.0, 1.0, 1.0, 1.0),
                 "max-cut of a random graph on 14 nodes, 34 edges (fixed here): 26 by "
                 "enumeration of the 16,384 labellings (8 maximum cuts)"),
    KnownProblem("maxcut_dodecahedron", _maxcut(20, _DODECAHEDRON), 2, 24.0,
                 (-1.0, -1.0, 1.0, 1.0, -1.0, -1.0, 1.0, -1.0, -1.0, 1.0, -1.0, -1.0, 1.0, 1.0,
                  -1.0, 1.0, 1.0, -1.0, 1.0, 1.0),
                 "max-cut of the dodecahedron (the generalized Petersen graph GP(10, 2), 20 "
                 "nodes, 30 edges): 24 by enumeration of the 2^20 labellings (250 maximum cuts)"),
    KnownProblem("spin_glass_sk12_field", _sk12_field, 2, -56.0,
                 (-1.0, 1.0, -1.0, -1.0, -1.0, 1.0, 1.0, -1.0, -1.0, 1.0, -1.0, -1.0),
                 "Sherrington-Kirkpatrick-type spin glass on 12 spins, integer couplings in "
                 "[-3, 3] on every pair and a field (fixed here): -56 by enumeration of the "
                 "4,096 states, one ground state"),
    KnownProblem("spin_chain18_field", _chain18_field, 2, -40.0,
                 (1.0, 1.0, -1.0, -1.0, 1.0, -1.0, -1.0, 1.0, 1.0, -1.0, 1.0, 1.0, 1.0, 1.0, 1.0,
                  -1.0, 1.0, 1.0),
                 "open Ising chain of 18 spins with random couplings and field (fixed here): "
                 "-40 by enumeration of the 262,144 states (7 ground states)"),
]}


def _global(build_boxed):
    """The same objective with no constraint (the box of a ``*_box`` builder dropped)."""
    def build():
        return POP(build_boxed().objective)
    return build


def _motzkin_form():
    x, y, z = variables("x y z")
    return POP(x**4 * y**2 + x**2 * y**4 - 3 * x**2 * y**2 * z**2 + z**6)


#: Non-negative polynomials with no SOS certificate of their minimum at any order, minimized
#: over all of R^n: no relaxation order gives the optimum, and at orders where the SOS side is
#: infeasible (or weakly so) a solver can only stall or return a numerical value. The rule
#: checked (tests/solve/test_literature.py): the solve returns within its time limit; a
#: certified bound is at or below the optimum; a bound that is not certified, and a status
#: without one, say in the message which order to try.
NON_SOS = {p.name: p for p in [
    KnownProblem("motzkin", _global(_motzkin_box), 3, 0.0, (1.0, 1.0),
                 "Motzkin (1967), dehomogenized: non-negative (AM-GM), zeros at (+-1, +-1); "
                 "Motzkin minus any constant is not SOS (issue 12: CVXOPT ran for 11 minutes, "
                 "Clarabel called it optimal at -552.3)"),
    KnownProblem("motzkin_form", _motzkin_form, 3, 0.0, (0.0, 0.0, 0.0),
                 "the Motzkin form M(x, y, z) (homogeneous, degree 6): minimum 0, not SOS"),
    KnownProblem("robinson", _global(_robinson_box), 3, 0.0, (1.0, 0.0),
                 "Robinson (1973) form, dehomogenized: non-negative, not SOS"),
    KnownProblem("choi_lam", _global(_choi_lam_box), 3, 0.0, (1.0, 1.0),
                 "Choi and Lam (1977) form S, dehomogenized (z = 1): non-negative, not SOS"),
    KnownProblem("lasserre_nonsos", _global(_lasserre_nonsos_box), 3, -1 / 27, (_S3, _S3),
                 "Lasserre (2001): x^2 y^2 (x^2 + y^2 - 1) + 1/27 is non-negative, not SOS; "
                 "minimum -1/27 at (+-1/sqrt 3, +-1/sqrt 3)"),
]}


#: Hock-Schittkowski problems with equality constraints on unbounded feasible sets whose
#: relaxation at the stated order gives no certified bound (issue 12's leftovers): at order 2
#: the relaxations of HS 39 and 40 are unbounded (with a ball of radius R added, order 2 gives
#: -1, -2.28, -10.5 for HS 39 and -0.62, -29.0, -2.1e5 for HS 40 at R = 10, 100, 1000), and
#: weakly so: no moment ray at infinity exists (solve/moment_ray.py), so nothing proves it and
#: the solvers stall; at higher orders, and for HS 49 at its order 3, the bound is tight but
#: numerical only, since the Gram matrices are singular at a tight bound and an unbounded set
#: pays for no shift. The rule checked is NON_SOS's (tests/solve/test_literature.py).
HARD_EQUALITIES = {p.name: p for p in [
    KnownProblem("hs039", _hs039, 2, -1.0, (1.0, 1.0, 0.0, 0.0),
                 "HS problem 39: -x1 on x2 = x1^3 + x3^2, x1^2 = x2 + x4^2; f* = -1 at "
                 "(1, 1, 0, 0) (x1^2 - x1^3 = x3^2 + x4^2 >= 0 gives x1 <= 1); unbounded set"),
    KnownProblem("hs040", _hs040, 2, -0.25,
                 (2 ** (-1 / 3), 2 ** (-1 / 2), 2 ** (-11 / 12), 2 ** (-1 / 4)),
                 "HS problem 40: -x1 x2 x3 x4 on x1^3 + x2^2 = 1, x1^2 x4 = x3, x4^2 = x2; "
                 "f* = -1/4 at (2^(-1/3), 2^(-1/2), 2^(-11/12), 2^(-1/4)) (closed form); "
                 "unbounded set"),
    KnownProblem("hs049", _hs049, 3, 0.0, (1.0,) * 5,
                 "HS problem 49: (x1 - x2)^2 + (x3 - 1)^2 + (x4 - 1)^4 + (x5 - 1)^6 on "
                 "x1 + x2 + x3 + 4 x4 = 7, x3 + 5 x5 = 6; f* = 0 at 1; unbounded set"),
]}


#: Round 5's two problems whose relaxations at the smallest valid order are unbounded (the box
#: is four or five linear constraints, which leave the top-degree moments free: "unbounded",
#: naming the next order) and whose next order does not fit a minute (5 variables: order 4 is
#: a 126 x 126 moment matrix with 10 localizing blocks of 70): in benchmarks/qa_pop_round5.py
#: only, not in the test suite.
ROUND5_EXTRA = {p.name: p for p in [
    KnownProblem("bernstein_hunecke", _hunecke, 4, -1458 + 192 + 144 * -(4.8 ** 0.25) - 6 * -(4.8 ** 1.25),
                 (0.0, 3.0, -2.0, 3.0, -(4.8 ** 0.25)),
                 "RN, the Hunecke polynomial (degree 7, 5 variables) on its box: published "
                 "minimum -1436.515078155; at (0, 3, -2, 3, x5) it is -1266 + 144 x5 - 6 x5^5, "
                 "least at x5 = -4.8^(1/4) (300 bounded starts: none lower)"),
    KnownProblem("bernstein_reimer5", _reimer5, 3, -5.0, (0.0, 1.0, 0.0, 1.0, 0.0),
                 "RN, Reimer's -1 + 2 sum_i (-1)^(i+1) x_i^6 on [-1, 1]^5: minimum -5 where "
                 "x1 = x3 = x5 = 0, x2, x4 = +-1 (closed form; published range [-5, 5])"),
]}

"""The box the constraints imply (polylip/solve/box.py): propagation through constraints in
which a variable occurs as one linear term, each bound proven in exact arithmetic."""

from fractions import Fraction

import numpy as np
from scipy.optimize import linprog

from polylip import POP
from polylip.poly import Polynomial, variables
from polylip.solve.box import box_from_constraints


def _box(pop):
    return box_from_constraints(pop.nvars, pop.ineqs, pop.eqs, pop.binary_mask, pop.spin_mask)


def test_linear_constraints_bound_a_variable_without_its_own_box():
    # Lasserre (2001) / GloptiPoly's -2 x1 + x2 - x3 example: x2 has no bound of its own
    x1, x2, x3 = variables("x1 x2 x3")
    pop = POP(-2 * x1 + x2 - x3, ineqs=[4 - x1 - x2 - x3, 6 - 3 * x2 - x3, x1, 2 - x1, x2, x3,
                                        3 - x3])
    lo, hi = _box(pop)
    assert lo.tolist() == [0.0, 0.0, 0.0] and hi.tolist() == [2.0, 2.0, 3.0]


def test_epigraph_variable_of_an_equality():
    # GLOBALLib form: objvar + q(x) = 0 with x in a box bounds objvar by the range of q
    t, x = variables("t x")
    lo, hi = _box(POP(t, eqs=[t + x**2 - 3 * x], ineqs=[x, 2 - x]))
    assert lo[1] == 0.0 and hi[1] == 2.0
    # term by term: x^2 in [0, 4], -3x in [-6, 0], so t = 3x - x^2 lies in [-4, 6]
    assert lo[0] == -4.0 and hi[0] == 6.0


def test_bounds_are_rounded_outward_exactly():
    x, y = variables("x y")
    lo, hi = _box(POP(x, ineqs=[0.3 - 0.1 * x - 0.2 * y, x, y, 1 - y]))
    assert Fraction(hi[0]) >= Fraction(0.3) / Fraction(0.1)  # 0.3/0.1 = 2.9999... in floats
    assert hi[0] <= 3.0 + 1e-12


def test_bounds_hold_on_random_polytopes():
    """Each propagated bound is at least the LP's optimum over the polytope (never cuts it)."""
    rng = np.random.default_rng(0)
    names = [f"x{i}" for i in range(5)]
    X = [Polynomial.variable(v).with_variables(names) for v in names]
    for _ in range(20):
        A = rng.integers(-3, 4, size=(4, 5)) * 0.7
        b = rng.uniform(1, 5, size=4)
        ineqs = [b[k] - sum(A[k, i] * X[i] for i in range(5)) for k in range(4)]
        ineqs += [X[i] + 2 for i in range(3)] + [2 - X[i] for i in range(3)]
        lo, hi = box_from_constraints(5, ineqs)
        bounds = [(-2, 2)] * 3 + [(None, None)] * 2
        for i in range(5):
            for sgn, mine in ((1, lo), (-1, hi)):
                c = np.zeros(5)
                c[i] = sgn
                r = linprog(c, A_ub=A, b_ub=b, bounds=bounds)
                if r.status == 0 and np.isfinite(mine[i]):
                    assert sgn * mine[i] <= sgn * r.x[i] + 1e-9


def test_nothing_bounds_a_free_direction():
    x, y = variables("x y")
    lo, hi = _box(POP(x, ineqs=[x + y]))
    assert np.isinf(lo).all() and np.isinf(hi).all()
    lo, hi = _box(POP(x, ineqs=[x * y - 1, x, 1 - x]))  # y only in a product: not propagated
    assert np.isinf(lo[1]) and np.isinf(hi[1])


def test_one_sided_bounds_of_the_other_terms_are_enough():
    """GLOBALLib st_bsj2 (YALMIP dev/tests/globlib/qp): x >= 0 and 12 x1 + 5 x2 + 12 x3 <= 34.8.
    Every variable has a lower bound only, yet each is bounded: -5 x2 - 12 x3 <= 0 whatever
    the upper bounds. Propagation needed finite two-sided ranges of the other terms, found no
    box, and 14 of 58 GLOBALLib bounds at order 2 stayed numerical only."""
    x1, x2, x3 = variables("x1 x2 x3")
    pop = POP(x1**2 + x2**2 + x3**2, ineqs=[34.8 - 12 * x1 - 5 * x2 - 12 * x3, 29.1 - 12 * x1
                                            - 12 * x2 - 7 * x3, x1, x2, x3])
    lo, hi = _box(pop)
    assert lo.tolist() == [0.0, 0.0, 0.0]
    # the exact bounds (of the float data): min over the two rows of rhs / coefficient
    a, b = Fraction(34.8), Fraction(29.1)
    exact = [min(a / 12, b / 12), b / 12, min(a / 12, b / 7)]
    for h, e in zip(hi.tolist(), exact):
        assert Fraction(h) >= e and h <= float(e) * (1 + 1e-12)
    # a variable with an upper bound only propagates the other way
    lo2, hi2 = _box(POP(x1, ineqs=[x1 + x2 - 1, 3 - x2, 5 - x1]))
    assert lo2[0] == -2.0 and hi2[0] == 5.0


def test_st_bsj2_is_certified():
    """The bound of st_bsj2 (optimum 1, YALMIP's value) at order 2 was numerical only."""
    x1, x2, x3 = variables("x1 x2 x3")
    pop = POP(-(2 * x1 - x1**2 - x2**2 - x3**2 + 2 * x3),
              ineqs=[1 - x1 - x2 + x3, -1 + x1 - x2 + x3, 34.8 - 12 * x1 - 5 * x2 - 12 * x3,
                     29.1 - 12 * x1 - 12 * x2 - 7 * x3, -4.1 + 6 * x1 - x2 - x3, x1, x2, x3])
    res = pop.solve(order=2, time_limit=60)
    assert res.status == "optimal" and res.certified, res.message
    assert res.bound <= 1.0 and res.certificate.verify()


def test_a_polytope_bounds_variables_that_propagation_cannot():
    """GLOBALLib st_qpk1: x >= 0, x1 - x2 <= 1, -x1 + x2 <= 1, -x1 + 2 x2 <= 3, 2 x1 - x2 <= 3.
    Each constraint bounds one variable by the other, so propagation goes round in circles;
    2 (2 x1 - x2 <= 3) + (-x1 + 2 x2 <= 3) gives 3 x1 <= 9. The LP dual gives such combinations,
    checked in exact arithmetic; its bounds enclose the LP's own optimum (x1, x2 <= 3)."""
    x1, x2 = variables("x1 x2")
    pop = POP(x1 + x2, ineqs=[1 + x1 - x2, 1 - x1 + x2, 3 + x1 - 2 * x2, 3 - 2 * x1 + x2, x1, x2])
    lo, hi = _box(pop)
    assert lo.tolist() == [0.0, 0.0]
    assert np.all(hi >= 3.0) and np.all(hi <= 3.0 + 1e-6)
    # and from above: x <= 0 with the mirrored constraints bounds x from below
    pop2 = POP(x1, ineqs=[1 - x1 + x2, 1 + x1 - x2, 3 - x1 + 2 * x2, 3 + 2 * x1 - x2, -x1, -x2])
    lo2, hi2 = _box(pop2)
    assert np.all(lo2 <= -3.0) and np.all(lo2 >= -3.0 - 1e-6) and hi2.tolist() == [0.0, 0.0]
    # an unbounded polytope stays unbounded
    lo3, hi3 = _box(POP(x1, ineqs=[x1 - x2, x1, x2]))
    assert np.isinf(hi3).all()


def test_st_qpk1_is_certified():
    x1, x2 = variables("x1 x2")
    pop = POP(-(2 * x1 - 2 * x1**2 + 2 * x1 * x2 + 3 * x2 - 2 * x2**2),
              ineqs=[1 + x1 - x2, 1 - x1 + x2, 3 + x1 - 2 * x2, 3 - 2 * x1 + x2, x1, x2])
    res = pop.solve(order=2, time_limit=60)
    assert res.status == "optimal" and res.certified, res.message
    assert res.bound <= -3.0 and res.certificate.verify()   # YALMIP's optimum: -3


def test_polytope_step_with_variables_outside_the_linear_constraints():
    """GLOBALLib circle: the linear constraints use only objvar (the last variable), and the
    LP step indexed the full matrix by global variable numbers: IndexError in every solve."""
    x1, x2, t = variables("x1 x2 t")
    pop = POP(t, ineqs=[t**2 - (1 - x1) ** 2 - (2 - x2) ** 2, t, 3 - t + x1 - x1])
    assert pop.variables == ("t", "x1", "x2")
    lo, hi = _box(pop)
    assert lo[0] == 0.0 and hi[0] == 3.0
    # st_qpk1's polytope (the LP step is needed) beside a variable 'a' (index 0) that no
    # linear constraint uses
    a, = variables("a")
    pop2 = POP(x1 + x2 + a, ineqs=[1 + x1 - x2, 1 - x1 + x2, 3 + x1 - 2 * x2, 3 - 2 * x1 + x2,
                                   x1, x2, 1 - a**2])
    assert pop2.variables == ("a", "x1", "x2")
    lo2, hi2 = _box(pop2)
    assert lo2.tolist() == [-1.0, 0.0, 0.0] and hi2[0] == 1.0
    assert 3.0 <= hi2[1] <= 3.0 + 1e-6 and 3.0 <= hi2[2] <= 3.0 + 1e-6


def test_univariate_parts_bound_a_cusp_and_a_cone():
    # POP QA round 5: HS 13 ((1 - x1)^3 >= x2 >= 0 gives x1 <= 1) and HS 33 (the cone
    # x3^2 >= x1^2 + x2^2 with 0 <= x3 <= 5) were numerical only for want of a box
    x1, x2, x3 = variables("x1 x2 x3")
    lo, hi = _box(POP((x1 - 2) ** 2 + x2**2, ineqs=[(1 - x1) ** 3 - x2, x1, x2]))
    assert lo.tolist() == [0.0, 0.0] and 1 <= hi[0] <= 1.001 and 4 <= hi[1] <= 4.01
    lo, hi = _box(POP(x3, ineqs=[x3**2 - x1**2 - x2**2, x1, x2, x3, 5 - x3]))
    assert lo.tolist() == [0.0, 0.0, 0.0] and hi.tolist() == [5.0, 5.0, 5.0]


def test_univariate_bounds_keep_every_feasible_piece():
    # -(x - 1)(x - 2)(x - 3) >= 0 on (-inf, 1] and [2, 3]: the upper bound is 3, none below;
    # -(x - 1)((x - 2)^2 + 1) + y^2 >= 0 leaves x unbounded above (y is free)
    x, y = variables("x y")
    lo, hi = _box(POP(x, ineqs=[-(x - 1) * (x - 2) * (x - 3) + 0 * y]))
    assert lo[0] == -np.inf and 3 <= hi[0] <= 3 + 1e-9
    lo, hi = _box(POP(x, ineqs=[-(x - 1) * ((x - 2) ** 2 + 1) + y**2]))
    assert np.isinf(hi).all() and np.isinf(lo).all()
    lo, hi = _box(POP(x, ineqs=[-(x - 1) * ((x - 2) ** 2 + 1) - y**2]))
    assert lo[0] == -np.inf and 1 <= hi[0] <= 3   # valid, looser (mixed signs at the root)

"""The pipeline: certificates as values, typed solver settings, sparsity="auto", order="auto"."""

import numpy as np
import pytest
import sympy

from polylip import POP
from polylip.errors import ModelError, RelaxationError, SolverError
from polylip.model.problems import chained_wood
from polylip.poly import variables
from polylip.relax.hierarchy import Krivine, Putinar
from polylip.solve.pipeline import SolverSettings, relax_pop, solve_pop
from polylip.solve.lp import LPRelaxation
from polylip.solve.relaxation import Relaxation
from polylip.sparsity.choose import choose_sparsity

x, y = sympy.symbols("x y")
#: min x*y on the box [0, 1]^2 written with linear constraints: Shor's relaxation (order 1)
#: is unbounded (nothing bounds the second moments), order 2 is finite (-0.0089 <= 0).
BOX_PRODUCT = POP(x * y, ineqs=[x, 1 - x, y, 1 - y])


def test_keyword_and_value_styles_agree():
    a = BOX_PRODUCT.solve(order=2)
    b = BOX_PRODUCT.solve(certificate=Putinar(order=2))
    assert a.status == b.status == "optimal"
    assert a.bound == pytest.approx(b.bound, abs=1e-9)
    c = BOX_PRODUCT.solve(method="lp", degree=2)
    d = solve_pop(BOX_PRODUCT, Krivine(degree=2))
    assert c.method == d.method == "lp" and c.bound == pytest.approx(d.bound, abs=1e-9)
    assert isinstance(relax_pop(BOX_PRODUCT, Krivine(2)), LPRelaxation)
    assert isinstance(relax_pop(BOX_PRODUCT, Putinar(2)), Relaxation)


def test_order_auto_raises_the_order_until_certified():
    low = BOX_PRODUCT.solve(order=1)
    assert low.status == "unbounded" and "order=2" in low.message
    res = BOX_PRODUCT.solve(order="auto")
    assert res.status == "optimal" and res.order == 2
    assert -0.05 <= res.bound <= 1e-8  # a valid lower bound on the minimum 0


@pytest.mark.parametrize("later", ["certified", "failed"])
def test_order_auto_goes_past_an_uncertified_optimal(monkeypatch, later):
    """order="auto" raises the order until the bound is certified (hierarchy.py): an
    "optimal" whose bound is numerical only is not where it stops (it stopped there). When no
    higher order does better, the uncertified answer is the one returned."""
    from dataclasses import replace

    from polylip.solve import pipeline
    from polylip.solve.result import Result

    orders = []

    def fake(relaxation, settings, left):
        k = relaxation.order
        orders.append(k)
        if k == 1:
            return Result(status="optimal", bound=-1.0, order=1, solver="fake", certified=False,
                          message="numerical only")
        if later == "certified":
            return Result(status="optimal", bound=-0.5, order=k, solver="fake", certified=True)
        return Result(status="failed", bound=None, order=k, solver="fake", message="broke")

    monkeypatch.setattr(pipeline, "_solve_one", fake)
    res = BOX_PRODUCT.solve(order="auto")
    if later == "certified":
        assert orders == [1, 2] and res.certified and res.order == 2
    else:
        assert orders == [1, 2, 3] and res.status == "optimal" and not res.certified
        assert res.order == 1 and "tried orders 1..3" in res.message


def test_order_auto_stops_at_max_order():
    """min x over x^3 >= 0 (minimum 0): x - c = s0 + s1 x^3 has no solution in sums of squares
    at any order (the odd top degree cannot cancel), so every order ends without a bound."""
    res = solve_pop(POP(x, ineqs=[x**3]), Putinar(order="auto", max_order=3), SolverSettings(solver="cvxopt"))
    assert res.status != "optimal" and res.order == 3 and res.bound is None
    assert "tried orders 2..3" in res.message
    # the last order's hint does not send the user back to order='auto' itself
    assert "or order='auto'" not in res.message and "max_order" in res.message


@pytest.mark.parametrize("bad", [dict(order=0), dict(order=1.5), dict(max_order=0),
                                 dict(order="high")])
def test_bad_certificates(bad):
    with pytest.raises(RelaxationError):
        Putinar(**bad)
    with pytest.raises(RelaxationError):
        Krivine(degree=0)


def test_keyword_misuse_is_a_model_error():
    with pytest.raises(ModelError, match="degree= is for method='lp'"):
        BOX_PRODUCT.solve(degree=2)
    with pytest.raises(ModelError, match="order= is for method='sos'"):
        BOX_PRODUCT.solve(method="lp", order=2)
    with pytest.raises(ModelError, match="method must be"):
        BOX_PRODUCT.solve(method="newton")


@pytest.mark.parametrize("bad", [dict(side="left"), dict(tol=0), dict(tol=2.0), dict(tol="x"),
                                 dict(max_iters=0), dict(max_iters=2.5), dict(time_limit=-1),
                                 dict(strategy="magic"), dict(solver="")])
def test_settings_are_validated(bad):
    with pytest.raises(SolverError):
        SolverSettings(**bad)


def test_unknown_solver_option_names_the_known_ones():
    with pytest.raises(SolverError, match="unknown solver option.*tolerance.*the options are"):
        BOX_PRODUCT.solve(tolerance=1e-6)


def test_sparsity_auto():
    xs = variables(" ".join(f"x{i}" for i in range(12)))
    chain = POP(sum((xs[i] - xs[i + 1]) ** 2 for i in range(11)))
    assert choose_sparsity(chain) == "cs"
    dense = POP(sum(xs) ** 2)
    assert choose_sparsity(dense) == "dense"
    assert choose_sparsity(BOX_PRODUCT) == "dense"  # too small to bother
    assert choose_sparsity(chain, "ts") == "ts"


def test_default_solve_fits_a_large_sparse_problem():
    """Chained Wood, n = 200: dense order 2 would need C(204, 4) moments; the default
    (sparsity "auto") takes the correlative cliques and solves it."""
    pop = chained_wood(200)
    res = pop.solve(time_limit=300)
    assert res.sparsity == "cs"
    assert res.status == "optimal"
    assert res.bound == pytest.approx(1.0, abs=1e-2)  # the optimum is 1 (at x = 1)


@pytest.mark.parametrize("kwargs, error", [
    (dict(time_limit="10"), "time_limit must be a number"),        # was a raw TypeError
    (dict(time_limit=b"10"), "time_limit must be a number"),
    (dict(certificate="putinar"), "Putinar"),                      # was an AttributeError
])
def test_bad_option_types_are_clear_errors(kwargs, error):
    """Found by the POP QA round: each of these ended in a traceback of another type."""
    with pytest.raises(SolverError, match=error):
        POP(x**2).solve(**kwargs)


def test_numpy_integers_are_orders_and_degrees():
    """order=np.int64(2) was refused ("must be a positive integer, not np.int64(2)")."""
    import numpy as np
    assert POP(x**4 - x).solve(order=np.int64(2), time_limit=np.float64(30)).status == "optimal"
    assert Putinar(order=np.int32(3)).order == 3 and type(Putinar(order=np.int32(3)).order) is int
    assert Krivine(degree=np.int64(2)).degree == 2


def test_default_order_goes_up_when_a_bounded_problem_has_no_bound_at_the_lowest():
    # A quartic on a box given by linear constraints: order 2 has no Putinar certificate (the
    # relaxation is unbounded), yet the feasible set is bounded, so order=None goes to order 3.
    # Its certified bound is checked against the objective on a grid of the box (every grid
    # value is at least the minimum).
    x, y = sympy.symbols("x y")
    f = x**4 - 3 * x**3 * y + 2 * y**4 - x * y + x
    pop = POP(f, ineqs=[x + 2, 2 - x, y + 1, 3 - y])
    assert pop.solve(order=2).status == "unbounded"          # an order the user chose is kept
    res = pop.solve()
    assert res.status == "optimal" and res.certified and res.order == 3
    assert "order 2 gave no finite bound although the feasible set is bounded" in res.message
    assert res.certificate.verify()
    X, Y = np.meshgrid(np.linspace(-2, 2, 401), np.linspace(-1, 3, 401))
    grid_min = float((X**4 - 3 * X**3 * Y + 2 * Y**4 - X * Y + X).min())
    assert res.bound <= grid_min
    assert grid_min - res.bound < 0.01                       # and close to it (min -10.88434)


def test_default_order_stays_when_the_feasible_set_is_not_bounded():
    # with an unbounded variable "unbounded" from the relaxation may be the
    # truth, so order=None does not go up on its own (min x is proven unbounded by a ray)
    x = sympy.Symbol("x")
    res = POP(x).solve()
    assert res.status == "unbounded" and res.order == 1
    assert "feasible set is bounded" not in (res.message or "")


def test_max_order_below_the_smallest_valid_order_is_refused():
    # degree 4: the smallest valid order is 2, so max_order=1 asks for nothing that exists
    with pytest.raises(RelaxationError, match="max_order 1 is too low.*smallest valid order is 2"):
        solve_pop(POP(x**4 - x), Putinar(order="auto", max_order=1), SolverSettings(solver="cvxopt"))

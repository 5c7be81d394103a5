"""Every solve ends: time limits on Relaxation.solve / POP.solve, the iteration cap CVXOPT gets
by default, and messages that say what a status without a bound means."""

import pytest
import sympy

from polylip import POP
from polylip.errors import SolverError

x, y = sympy.symbols("x y")
MOTZKIN = x**4 * y**2 + x**2 * y**4 - 3 * x**2 * y**2 + 1


def test_motzkin_ends_with_cvxopt_and_explains():
    """Motzkin minus a constant is never SOS: CVXOPT used to run for more than 11 minutes."""
    res = POP(MOTZKIN).solve(solver="cvxopt", time_limit=60)
    assert res.status in ("inaccurate", "failed", "time_limit")
    assert res.bound is None
    assert "order=4" in res.message or res.status == "time_limit"


@pytest.mark.parametrize("solver", ["cvxopt", "clarabel"])
def test_time_limit_status(solver):
    res = POP(MOTZKIN).relax(order=3).solve(solver=solver, time_limit=1e-6)
    assert res.status in ("time_limit", "inaccurate", "optimal")  # a solver may beat the clock
    if res.status == "time_limit":
        assert res.bound is None


@pytest.mark.parametrize("bad", [0, -1, float("inf"), float("nan"), "ten", True])
def test_bad_time_limits(bad):
    with pytest.raises(SolverError, match="time_limit"):
        POP(x**2).solve(time_limit=bad)


def test_unbounded_message_names_the_next_order():
    # min xy on [0, 1]^2 by linear constraints (minimum 0): order 1 is unbounded, the POP is
    # not (x^3, unbounded itself, now comes back proven so and names no order)
    res = POP(x * y, ineqs=[x, 1 - x, y, 1 - y]).solve(order=1)
    assert res.status == "unbounded" and res.bound is None and not res.certified
    assert "order=2" in res.message
    # the default order goes up by itself there (the box is bounded: pipeline._solve_default)
    res = POP(x * y, ineqs=[x, 1 - x, y, 1 - y]).solve()
    assert res.status == "optimal" and res.order == 2 and res.certified and res.bound <= 0


def test_time_limit_does_not_change_a_normal_solve():
    a = POP(x**4 - 3 * x**2 + x).solve()
    b = POP(x**4 - 3 * x**2 + x).solve(time_limit=120)
    assert a.status == b.status == "optimal"
    assert a.bound == pytest.approx(b.bound, abs=1e-7)


@pytest.mark.parametrize("method", ["sos", "lp"])
def test_time_limit_counts_the_build(monkeypatch, method):
    """The limit is the whole call's: a relaxation of x^1000 took 26 s to build with
    time_limit=20, then the solver got another 20 s."""
    import time

    from polylip.solve import pipeline
    from polylip.solve.relaxation import Relaxation

    if method == "lp":
        real = pipeline.relax_pop

        def slow(*args, **kwargs):
            time.sleep(1.0)
            return real(*args, **kwargs)

        monkeypatch.setattr(pipeline, "relax_pop", slow)
    else:
        real = Relaxation.build.__func__

        def slow(cls, *args, **kwargs):
            time.sleep(1.0)
            return real(cls, *args, **kwargs)

        monkeypatch.setattr(Relaxation, "build", classmethod(slow))
    pop = POP(x**4 - x, ineqs=[1 - x, x + 1])
    res = pop.solve(time_limit=0.5, method=method, **({"degree": 4} if method == "lp" else {}))
    assert res.status == "time_limit" and res.bound is None
    assert "building the relaxation" in res.message


def test_the_scaling_step_stops_at_the_time_limit(monkeypatch):
    """20,000 linear constraints with a coefficient span that needs scaling: `polylip solve
    --time-limit 10` ran 34 s in the solve (24 s scaling each constraint, 6 s finding the box)
    and was killed past 90 s with the parse (QA round 3). The loops now check the deadline:
    here each constraint's scaling is slowed to 0.05 s, so 40 of them outlast a 0.5 s limit."""
    import time

    from polylip.solve import scaling

    calls = []
    real = scaling._affine

    def slow(*args, **kwargs):
        calls.append(1)
        time.sleep(0.05)
        return real(*args, **kwargs)

    monkeypatch.setattr(scaling, "_affine", slow)
    ineqs = [x + 1000.0 * k * y + 1000.0 * k for k in range(40)]
    pop = POP(x + y, ineqs=ineqs + [1e4 - x, 1e4 - y])
    res = pop.solve(time_limit=0.5)
    assert res.status == "time_limit" and res.bound is None
    assert len(calls) < len(ineqs)   # the loop stopped, it did not run to its end


def test_the_minimizer_search_leaves_time_to_certify(monkeypatch):
    """Chained Wood n = 20 with time_limit=2 at load 10: the solver ended at 0.9 s, then three
    SLSQP polishes of the candidate took 2.2 s, so the certify stage was cut ("numerical
    only") and the call returned at 3.8 s (QA round 3). The minimizer search now takes at most
    half the time left; here each polish is slowed to 0.4 s and the limit leaves room for one
    or two of the three."""
    import time

    from polylip.model.problems import chained_wood
    from polylip.solve import minimizers as mz

    calls = []
    real = mz.polish

    def slow(*args, **kwargs):
        calls.append(1)
        time.sleep(0.4)
        return real(*args, **kwargs)

    monkeypatch.setattr(mz, "polish", slow)
    pop = chained_wood(20)
    pop.solve(order=2, sparsity="cs", solver="clarabel")
    assert len(calls) >= 3                      # the premise: three polishes without a limit
    calls.clear()
    res = pop.solve(order=2, sparsity="cs", solver="clarabel", time_limit=1.5)
    assert res.status in ("optimal", "time_limit")
    assert len(calls) <= 2


def test_order_auto_when_building_outlasts_the_limit(monkeypatch):
    """order='auto' handed the time left after building to the solve even when it was
    negative: 'time_limit must be a positive finite number of seconds, not -0.0427' raised
    from chained Wood n = 20 with time_limit=2 at load 12 (QA round 3), a SolverError on a
    valid input."""
    import time

    from polylip.solve.relaxation import Relaxation

    real = Relaxation.build.__func__

    def slow(cls, *args, **kwargs):
        time.sleep(0.6)
        return real(cls, *args, **kwargs)

    monkeypatch.setattr(Relaxation, "build", classmethod(slow))
    res = POP(x**4 - x, ineqs=[1 - x, x + 1]).solve(order="auto", time_limit=0.5)
    assert res.status == "time_limit" and res.bound is None

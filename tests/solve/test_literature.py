"""The literature suite (polylip/model/literature.py): every known optimum is attained by its
stated point, and every bound polylip returns is on the right side of it."""

import pytest

from polylip.model.literature import LITERATURE

NAMES = sorted(LITERATURE)


@pytest.mark.parametrize("name", NAMES)
def test_stated_minimizer_attains_the_optimum(name):
    p = LITERATURE[name]
    if not p.minimizer:
        pytest.skip("no exact minimizer stated by the source")
    pop = p.build()
    assert pop.is_feasible(p.minimizer)
    assert float(pop.evaluate(p.minimizer)) == pytest.approx(p.optimum, rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("name", NAMES)
def test_bound_is_on_the_right_side(name):
    p = LITERATURE[name]
    pop = p.build()
    res = pop.solve(order=p.order, sparsity=p.sparsity, time_limit=120)
    assert res.status == "optimal", res.message
    if res.certified:
        # a proof: valid whatever the solver's accuracy
        safe = res.bound
        assert (safe <= p.optimum + 1e-9 * max(1.0, abs(p.optimum))) if pop.sense == "min" \
            else (safe >= p.optimum - 1e-9 * max(1.0, abs(p.optimum)))
    else:
        slack = res.accuracy + 1e-9 * max(1.0, abs(p.optimum))
        assert (res.bound <= p.optimum + slack) if pop.sense == "min" \
            else (res.bound >= p.optimum - slack)

"""Clarabel's backend options (polylip/backends/clarabel_backend.py)."""

import pytest

from polylip.model.literature import LITERATURE

clarabel = pytest.importorskip("clarabel")

from polylip.backends import clarabel_backend  # noqa: E402


def test_iterative_refinement_can_be_turned_off(monkeypatch):
    # (without it this relaxation ends "AlmostSolved": callers must check the status, as
    # the exact faces do, solving again with it)
    lmi = LITERATURE["booth"].build().relax(order=2).to_lmi("moment")
    seen = []
    real = clarabel.DefaultSolver

    def spy(P, c, A, b, cones, settings):
        seen.append(settings.iterative_refinement_enable)
        return real(P, c, A, b, cones, settings)

    monkeypatch.setattr(clarabel, "DefaultSolver", spy)
    a = clarabel_backend.solve_lmi(lmi)
    b = clarabel_backend.solve_lmi(lmi, refine=False)
    assert seen == [True, False]
    assert a.status == "optimal" and b.status in ("optimal", "inaccurate")
    assert abs(a.value - b.value) <= 1e-4 * max(1.0, abs(a.value))     # booth: minimum 0

"""Each backend maps every status of its solver explicitly, and translates polylip's settings
into the solver's own options."""

import pytest

from polylip.backends import highs_backend, picos_backend
from polylip.backends.base import STATUSES


def test_clarabel_status_map_covers_every_status():
    clarabel = pytest.importorskip("clarabel")
    from polylip.backends.clarabel_backend import _status_map

    table = _status_map(clarabel)
    assert set(table.values()) <= set(STATUSES)
    names = {str(s).split(".")[-1] for s in table}
    assert {"Solved", "PrimalInfeasible", "DualInfeasible", "MaxTime", "NumericalError"} <= names
    by_name = {str(s).split(".")[-1]: v for s, v in table.items()}
    assert by_name["Solved"] == "optimal"
    assert by_name["PrimalInfeasible"] == "infeasible"
    assert by_name["DualInfeasible"] == "unbounded"
    assert by_name["MaxTime"] == "time_limit"
    assert by_name["AlmostSolved"] == "inaccurate"  # never called optimal


def test_highs_status_map():
    assert set(highs_backend.STATUS_MAP.values()) <= set(STATUSES)
    assert highs_backend.STATUS_MAP[0] == "optimal"
    assert highs_backend.STATUS_MAP[2] == "infeasible"
    assert highs_backend.STATUS_MAP[3] == "unbounded"


def test_cvxopt_options_translation():
    opts = picos_backend._options("cvxopt", None, None, False)
    assert opts["cvxopt_kktsolver"] == "chol"
    assert opts["rel_ipm_opt_tol"] == picos_backend.CVXOPT_TOL  # CVXOPT's own default, not 1e-8
    opts = picos_backend._options("cvxopt", 1e-9, 50, True)
    assert opts["abs_prim_fsb_tol"] == 1e-9 and opts["max_iterations"] == 50
    assert opts["verbosity"] == 1
    other = picos_backend._options("mosek", None, None, False)
    assert "cvxopt_kktsolver" not in other and "rel_ipm_opt_tol" not in other

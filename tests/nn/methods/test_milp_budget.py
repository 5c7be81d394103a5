"""Method "milp": the time spent outside HiGHS's branch and bound (the cell LPs of the true
constant, the model building) runs on the method's clock, and HiGHS prints nothing to the
standard output (checked at the file-descriptor level). No wall-clock assertion: the tests
check the status, that every LP got the time left, and what reached file descriptor 1."""

import ctypes
import math
import time

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import milp as scipy_milp, Bounds, LinearConstraint

from polylip.nn import BoxRegion, Network, lipschitz
from polylip.nn.methods import milp_cells
from polylip.runtime import quiet_native_stdout

ISSUE_W1 = np.array([[2.0, -1.0], [-1.0, -2.0], [0.0, -2.0], [-2.0, 1.0]])
ISSUE_B1 = np.array([-1.0, 0.0, -1.0, 1.0])
ISSUE_W2 = np.array([[1.0, 2.0, -1.0, -1.0]])
ISSUE_B2 = np.array([1.9012])
ISSUE_CENTER = np.array([-0.3558, 1.1811])


def issue_net():
    return Network.from_weights([ISSUE_W1, ISSUE_W2], [ISSUE_B1, ISSUE_B2])


def test_every_cell_lp_gets_the_time_left(monkeypatch):
    """The true constant of the issue-12 network needs cell LPs (its first MILP pattern lives
    on a kink); each of them is given the method's time left."""
    seen = []
    real = milp_cells.linprog

    def spy(*args, **kwargs):
        seen.append(dict(kwargs.get("options") or {}))
        return real(*args, **kwargs)

    monkeypatch.setattr(milp_cells, "linprog", spy)
    res = lipschitz(issue_net(), norm="inf", region=BoxRegion(ISSUE_CENTER, 1.5), method="milp",
                    options={"time_limit": 60}, lower=False)
    assert res.status == "ok" and res.upper == pytest.approx(5.0, abs=1e-4)
    assert seen and all(0 < o.get("time_limit", -1) <= 60 for o in seen)


def test_a_cell_past_its_deadline_is_undecided():
    net = issue_net()
    S = [np.array([1.0, 0.0, 1.0, 0.0])]
    with pytest.raises(milp_cells.CellTimeLimit):
        milp_cells.cell(net, BoxRegion(ISSUE_CENTER, 1.5), S, [np.arange(4)],
                        deadline=time.perf_counter() - 1.0)


def test_cell_lps_out_of_time_end_with_time_limit_and_a_valid_bound(monkeypatch):
    """Every cell LP stopped at once: the method ends "time_limit" with the bound of the
    rounds so far (never a pattern cut or counted without its LP)."""
    def out_of_time(*args, **kwargs):
        raise milp_cells.CellTimeLimit("stopped")

    monkeypatch.setattr(milp_cells, "margin_lp", out_of_time)
    res = lipschitz(issue_net(), norm="inf", region=BoxRegion(ISSUE_CENTER, 1.5), method="milp",
                    options={"time_limit": 60}, lower=False)
    assert res.status == "time_limit"
    assert res.upper is None or res.upper >= 5.0 - 1e-6  # the true local constant is 5


def test_native_printf_does_not_reach_stdout(capfd, monkeypatch):
    import polylip.runtime as runtime

    logged = []

    class Log:  # the runtime's logger, recording (logging's configuration varies by test)
        def debug(self, fmt, *args):
            logged.append(fmt % args)

    monkeypatch.setattr(runtime, "log", Log())
    libc = ctypes.CDLL(None)
    with quiet_native_stdout():
        libc.printf(b"HighsMipSolverData::transformNewIntegerFeasibleSolution tmpSolver.run();\n")
    print("after", flush=True)
    out = capfd.readouterr().out
    assert "tmpSolver" not in out and out == "after\n"
    assert any("tmpSolver" in line for line in logged)


def test_highs_own_log_is_captured(capfd):
    """HiGHS's log (here asked for with disp=True) is native output on file descriptor 1."""
    with quiet_native_stdout():
        scipy_milp(np.array([-1.0, -1.0]), integrality=np.ones(2), bounds=Bounds(0, 1),
                   constraints=LinearConstraint(sp.csr_matrix([[2.0, 2.0]]), -np.inf, 3.0),
                   options={"disp": True})
    assert capfd.readouterr().out == ""


def test_polylip_highs_calls_print_nothing(capfd):
    """Every way polylip calls HiGHS: scipy's milp (method "milp"), linprog (the cell LPs, the
    LP hierarchy's "highs", method "exact"), highspy (PDLP, when installed)."""
    from polylip import POP
    from polylip.poly import variables

    net = issue_net()
    for method, options in (("milp", {"time_limit": 30}), ("exact", {})):
        res = lipschitz(net, norm="inf", region=BoxRegion(ISSUE_CENTER, 1.5), method=method,
                        options=options, lower=False)
        assert res.upper is not None and res.upper >= 5.0 - 1e-6
    x, y = variables("x y")
    box = [x + 1, 1 - x, y + 1, 1 - y]
    for solver in ("highs", "pdlp"):
        try:
            res = POP(x * y - x, ineqs=box).solve(method="lp", degree=2, solver=solver)
        except Exception as exc:  # noqa: BLE001 - highspy not installed
            if "highspy" in str(exc):
                continue
            raise
        assert res.status == "optimal" and res.bound <= -2.0 + 1e-4
    assert capfd.readouterr().out == ""

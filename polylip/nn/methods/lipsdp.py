"""Method ``"lipsdp"``: LipSDP-Neuron over the region's slope bounds (the SDP itself is
:func:`polylip.nn.lipsdp.lipsdp_neuron`), l_2 input norm only.

Examples
--------
>>> import numpy as np
>>> from polylip.nn import Network, lipschitz
>>> net = Network.from_weights([np.eye(2), np.array([[1.0, 1.0]])])
>>> res = lipschitz(net, norm=2, method="lipsdp", lower=False,
...                 options=LipSDPOptions(solver="clarabel"))
>>> round(res.upper, 4)
1.4142
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from polylip.errors import ModelError
from polylip.nn.lipsdp import lipsdp_neuron
from polylip.nn.methods.base import MethodOptions, name, number
from polylip.nn.problem import LipschitzProblem, MethodOutput

__all__ = ["LipSDPOptions", "lipsdp"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LipSDPOptions(MethodOptions):
    """Options of method "lipsdp": ``solver`` ("auto": CVXOPT, then Clarabel if CVXOPT gives
    no bound; Clarabel alone when a slope range is a single value) and ``tol``."""

    method = "lipsdp"
    solver: str = name("auto", what="'auto', 'clarabel' or a PICOS solver name such as 'cvxopt'")
    tol: float | None = number(None, low=0, low_open=True, optional=True)


def lipsdp(problem: LipschitzProblem, options: LipSDPOptions) -> MethodOutput:
    """LipSDP-Neuron over the region's slope bounds (see :mod:`polylip.nn.lipsdp`).

    ``solver="auto"``: CVXOPT, then Clarabel if CVXOPT gives no bound; Clarabel alone when a
    slope range is a single value (a stable neuron of a local region). CVXOPT fails ("domain
    error", "float division by zero", after 3-49 s on two neurons) on such ranges, where
    Clarabel solves the same LMI (tests/nn/test_deep_regressions.py).
    """
    solver, tol = options.solver, options.tol
    if problem.norm != 2.0:
        raise ModelError("method 'lipsdp' bounds the l_2 constant: use norm=2")
    db = problem.bounds.derivative_bounds
    degenerate = any(np.any(np.asarray(hi, float) - np.asarray(lo, float) <= 1e-12) for lo, hi in db)
    first_solver = solver
    if solver == "auto":
        # measured on the 2-neuron regressions: CVXOPT takes 3-49 s to fail there
        first_solver = "clarabel" if degenerate else "cvxopt"
    out = lipsdp_neuron(problem.net, db, solver=first_solver, tol=tol)
    if solver == "auto" and first_solver == "cvxopt" and out["bound"] is None:
        log.info("lipsdp: CVXOPT ended %s (%s); trying Clarabel", out["status"], out.get("message"))
        first = out
        out = lipsdp_neuron(problem.net, db, solver="clarabel", tol=tol)
        out["cvxopt"] = {k: first.get(k) for k in ("status", "message", "seconds")}
    return MethodOutput(upper=out["bound"], status="ok" if out["bound"] is not None else out["status"],
                        details=out)

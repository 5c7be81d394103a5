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

from polylip.errors import ModelError
from polylip.nn.lipsdp import FORMS, lipsdp_neuron
from polylip.nn.methods.base import MethodOptions, name, number, one_of
from polylip.nn.problem import LipschitzProblem, MethodOutput

__all__ = ["LipSDPOptions", "lipsdp"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LipSDPOptions(MethodOptions):
    """Options of method "lipsdp": ``form`` ("auto": by size, see
    :func:`polylip.nn.lipsdp.choose_form`; "dense", "chordal", "structured"), ``solver`` for
    the SDP forms ("auto": CVXOPT for "dense", then Clarabel if CVXOPT gives no bound;
    Clarabel alone when a slope range is a single value, and for "chordal"), ``tol``,
    ``time_limit`` (seconds; "structured" then certifies its current multipliers)."""

    method = "lipsdp"
    form: str = one_of("auto", ("auto",) + FORMS)
    solver: str = name("auto", what="'auto', 'clarabel' or a PICOS solver name such as 'cvxopt'")
    tol: float | None = number(None, low=0, low_open=True, optional=True)
    time_limit: float | None = number(None, low=0, low_open=True, optional=True)


def lipsdp(problem: LipschitzProblem, options: LipSDPOptions) -> MethodOutput:
    """LipSDP-Neuron over the region's slope bounds (see :mod:`polylip.nn.lipsdp`).

    With the dense form and ``solver="auto"``: CVXOPT, then Clarabel if CVXOPT gives no bound
    (CVXOPT fails, "domain error" after 3-49 s on two neurons, on single-valued slope ranges,
    where :func:`~polylip.nn.lipsdp.lipsdp_neuron` picks Clarabel itself;
    tests/nn/test_deep_regressions.py).
    """
    if problem.norm != 2.0:
        raise ModelError("method 'lipsdp' bounds the l_2 constant: use norm=2")
    db = problem.bounds.derivative_bounds
    kw = dict(form=options.form, tol=options.tol, time_limit=options.time_limit)
    out = lipsdp_neuron(problem.net, db, solver=options.solver, **kw)
    if (options.solver == "auto" and out.get("form") == "dense" and out["bound"] is None
            and out.get("solver") != "clarabel"):
        log.info("lipsdp: %s ended %s (%s); trying Clarabel", out.get("solver"), out["status"],
                 out.get("message"))
        first = out
        out = lipsdp_neuron(problem.net, db, solver="clarabel", **kw)
        out["cvxopt"] = {k: first.get(k) for k in ("status", "message", "seconds")}
    status = "ok" if out["bound"] is not None else out["status"]
    return MethodOutput(upper=out["bound"], status=status, details=out)

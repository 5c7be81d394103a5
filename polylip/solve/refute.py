"""A numerical bound refuted by a feasible point: the solver's value is then no bound at all.

A bound that is not certified (``certified=False``) is the solver's value, which the result
says may be up to ``accuracy`` above the true minimum. A feasible point whose objective is
*below* that value by more than ``accuracy`` proves the solver wrong beyond what it reported:
the relaxation's value is always at or below the minimum, so no correct solve gives a value
above the value at a feasible point. Measured (2026-12-01): chained singular shifted to
``x* = 1`` (minimum 3), n = 1,000, Clarabel "Solved" on the SOS side with the value 25.43,
``accuracy`` 7.66 (benchmarks/RESULTS.md, "A minimizer away from 0").

:func:`refute_numerical_bound` turns such a result into status "inaccurate" with no bound
(the solver's value kept as ``numerical_bound``, the point as ``candidate``), with a message
that says why. Only a point that is feasible to :data:`FEAS_TOL` counts: a point feasible only
to the relaxation's 1e-6 could sit below the minimum of a thin feasible set. A certified bound
is never touched (it is a proof; a point below it would be a bug, and the tests check that none
exists), nor is a result without a bound.

Examples
--------
>>> from polylip.poly import variables
>>> from polylip.model import POP
>>> from polylip.solve.result import Result
>>> x, = variables("x")
>>> pop = POP((x - 1)**2 + 3)
>>> wrong = Result(status="optimal", bound=25.4, order=2, solver="clarabel", accuracy=7.7,
...                candidate={"x": 1.0}, candidate_value=3.0)
>>> out = refute_numerical_bound(pop, wrong)
>>> out.status, out.bound, out.numerical_bound
('inaccurate', None, 25.4)
"""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np

__all__ = ["refute_numerical_bound", "FEAS_TOL"]

log = logging.getLogger(__name__)

#: A point refutes a bound only if every constraint holds to this (absolute) tolerance.
FEAS_TOL = 1e-9
#: ... and only if it is below the bound by more than the result's accuracy and this much
#: relative to the bound's size (the objective's own round-off at the point).
REL_MARGIN = 1e-9


def refute_numerical_bound(pop, result):
    """``result`` with an uncertified bound dropped when a feasible point refutes it.

    Parameters
    ----------
    pop : POP
        The problem the result is for, in its own (unscaled) variables.
    result : Result
        A solve's result; only status "optimal" with ``certified=False`` and a candidate is
        examined.

    Returns
    -------
    Result
        ``result`` itself, or status "inaccurate" with ``bound=None`` (see module text).
    """
    if result.status != "optimal" or result.certified or result.bound is None \
            or not result.candidate:
        return result
    try:
        point = np.array([result.candidate[v] for v in pop.variables], dtype=float)
    except (KeyError, TypeError, ValueError):
        return result
    if not np.all(np.isfinite(point)) or not pop.is_feasible(point, tol=FEAS_TOL):
        return result
    value = float(pop.evaluate(point))
    if not np.isfinite(value):
        return result
    bound = float(result.bound)
    margin = float(result.accuracy or 0.0) + REL_MARGIN * max(1.0, abs(bound), abs(value))
    below = (bound - value) if pop.sense == "min" else (value - bound)
    if below <= margin:
        return result
    word = "above" if pop.sense == "min" else "below"
    log.warning("the solver's value %.8g is %s the objective %.8g at a feasible point", bound, word, value)
    return replace(result, status="inaccurate", bound=None, certified=False,
                   numerical_bound=bound if result.numerical_bound is None else result.numerical_bound,
                   candidate_value=value, is_global=False, minimizers=(),
                   message=(f"the solver reported optimal with the value {bound:.8g} "
                            f"(accuracy {result.accuracy or 0.0:.3g}), but the objective is "
                            f"{value:.8g} at a feasible point (the candidate), "
                            f"{abs(below):.3g} {'lower' if pop.sense == 'min' else 'higher'}: "
                            f"the value is not a bound; the solve was wrong beyond its accuracy "
                            f"({result.message})"))

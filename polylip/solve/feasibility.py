"""Relaxations with a constant objective: the solver only has to decide feasibility.

A POP such as ``min 1 s.t. h(x) = 0`` (how TSSOS poses "solve the polynomial system h = 0")
has a moment relaxation whose value is the constant when the relaxation is feasible and
infinite when it is not. Handed to an interior-point solver as it is, that relaxation is
degenerate on both sides, and Clarabel and CVXOPT both break down on it (measured on the
TSSOS system ``x1^2 - 2 x1 x3 + 5 = x1 x2^2 + x2 x3 + 1 = 3 x2^2 - 8 x1 x3 = 0`` at order 3,
:func:`polylip.model.problems.tssos_polynomial_system`: Clarabel "NumericalError" at its
first iteration, CVXOPT a division by zero in its scaling update, on either side):

* The objective is zero on every moment, so the optimal face is the whole feasible set, and
  that set is unbounded: a moment of top degree that no equality row reaches (``x3^6`` there,
  a point at infinity of the variety) can grow without limit at no cost. The analytic center
  the solver's central path heads for is at infinity, and the SOS side has no strictly
  feasible point.
* The moment side has no interior either: for every equality ``h`` the polynomials ``h * m``
  of degree at most the order lie in the kernel of every feasible moment matrix (9 of 20
  directions there); and its equality rows are redundant (90 rows of rank 72).

Both are cured without changing the answer by solving the same feasible set with the
objective "sum of the traces of the PSD blocks" (bounded below by 0 on the feasible set),
without the redundant equality rows (:func:`polylip.relax.conic.independent_rows`; the PICOS
backend drops them itself, Clarabel needs them dropped: with them it still stops at its first
iteration):
the optimal face is then bounded, and the dual has the strictly feasible point "every Gram
matrix the identity", because that objective is exactly the sum of the blocks' diagonals. If
that solve finds the relaxation feasible, the relaxation's value is the constant and its SOS
certificate is the zero one (``f - c = 0``); if it finds it infeasible, so is the POP. If it
ends any other way, the relaxation is solved the usual way (nothing is lost but its time).
Measured (benchmarks/bench_hard_problems.py): the TSSOS system above at order 3, optimal with
bound 1 in 0.1-0.9 s (CVXOPT; Clarabel too), was "failed"; the 6-variable system of the same
TSSOS test at order 3 was optimal before and is now, 80 s either way at load 12 (most of it in
the redundant-row check of :func:`~polylip.relax.conic.independent_rows`).
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace

import numpy as np
import scipy.sparse as sp

from polylip.backends import registry
from polylip.backends.base import BackendSolution
from polylip.relax import conic

__all__ = ["is_feasibility", "trace_objective", "solve_feasibility"]

log = logging.getLogger(__name__)


def is_feasibility(data) -> bool:
    """Whether a relaxation's objective is constant on the moments (a feasibility question)."""
    return data.nmoments > 1 and len(data.sizes) > 0 and not np.any(data.c[1:])


def trace_objective(lmi: conic.LMIProblem) -> np.ndarray:
    """The cost vector of ``sum_j trace(mat(G_j x + h_j))`` (without its constant part)."""
    Gt, _, _ = conic.triangles(lmi)
    diag = ~conic.offdiag_mask(lmi.sizes)
    return np.asarray(sp.csr_matrix(Gt)[np.nonzero(diag)[0]].sum(axis=0), dtype=float).ravel()


def solve_feasibility(relaxation, solver: str, tol, max_iters, verbose):
    """Decide the feasibility of ``relaxation`` (a constant objective) on its moment side.

    Returns ``(lmi, raw, convert_seconds)``: when feasible, the moment-side problem and a
    solution of it (the trace solve's moments, the constant as both objective values, zero
    Gram matrices: the certificate ``f - c = 0``); when infeasible, the problem that was solved
    and the solver's answer (its Farkas ray certifies the infeasibility whatever the
    objective); None when the solver could not decide and the usual path should run.
    """
    t0 = time.perf_counter()
    lmi = relaxation.to_lmi("moment")
    name = relaxation.choose_solver(solver, lmi)
    A, b, consistent = lmi.A, lmi.b, True
    if name == "clarabel":  # the PICOS backend drops redundant rows itself
        A, b, consistent = conic.independent_rows(lmi.A, lmi.b)
    convert = time.perf_counter() - t0
    if not consistent:
        raw = BackendSolution("infeasible", name, 0.0, raw_status="inconsistent equality rows",
                              message="the equality rows have no solution (detected before solving)")
        return lmi, raw, convert
    left = relaxation._time_left()
    if left <= 0:
        return None
    probe = replace(lmi, c=trace_objective(lmi), offset=0.0, A=sp.csr_matrix(A), b=b)
    raw = registry.solve_sdp(probe, solver, tol=tol, max_iters=max_iters, verbose=verbose,
                             time_limit=None if not np.isfinite(left) else left)
    log.info("constant objective: the trace-objective solve ended %s (%s)", raw.status, raw.raw_status)
    if raw.status == "infeasible":  # a Farkas ray does not depend on the objective
        return probe, raw, convert
    if raw.status != "optimal" or raw.x is None:
        return None
    value = float(lmi.offset)
    raw = replace(raw, value=value, dual_value=value,
                  lmi_duals=[np.zeros((k, k)) for k in lmi.sizes], eq_duals=np.zeros(lmi.neq),
                  message=f"{raw.raw_status}: the relaxation is feasible, so its value is the "
                          "constant objective (solved with the trace of the blocks as objective)")
    return lmi, raw, convert

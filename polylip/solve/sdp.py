"""Solving a problem built outside the hierarchies (LipSDP, the Lipschitz MILPs, a user's own
SDP): the solve stage's entry point for an :class:`~polylip.relax.conic.LMIProblem`, an LP or a
mixed-integer LP, so that applications never call a backend directly.

Examples
--------
>>> import numpy as np, scipy.sparse as sp
>>> from polylip.relax.conic import LMIProblem
>>> # minimize x subject to [[x, 1], [1, x]] PSD: the minimum is 1
>>> G = sp.csr_matrix(np.array([[1.0], [0.0], [0.0], [1.0]]))
>>> h = np.array([0.0, 1.0, 1.0, 0.0])
>>> lmi = LMIProblem(c=np.array([1.0]), offset=0.0, G=(G,), h=(h,), sizes=(2,),
...                  A=sp.csr_matrix((0, 1)), b=np.zeros(0))
>>> out = solve_sdp(lmi, solver="clarabel")
>>> out.status, round(out.value, 6)
('optimal', 1.0)
"""

from __future__ import annotations

from polylip.backends import highs_milp, registry
from polylip.backends.base import STATUSES, BackendSolution
from polylip.backends.highs_milp import MILPSolution, drop_small_entries

__all__ = ["solve_sdp", "solve_lp", "solve_milp", "BackendSolution", "MILPSolution", "STATUSES",
           "drop_small_entries"]


def solve_sdp(problem, solver: str = "auto", *, tol: float | None = None,
              max_iters: int | None = None, verbose: bool = False,
              time_limit: float | None = None) -> BackendSolution:
    """Solve an LMI problem with the backend the registry chooses (or ``solver``); the raw
    solution, whose status the caller must check (only "optimal" carries a value)."""
    return registry.solve_sdp(problem, solver, tol=tol, max_iters=max_iters, verbose=verbose,
                              time_limit=time_limit)


def solve_lp(problem, solver: str = "auto", *, tol: float | None = None,
             max_iters: int | None = None, verbose: bool = False,
             time_limit: float | None = None) -> BackendSolution:
    """Solve an LP (``minimize c @ z s.t. A z = b, z[0] free, z[1:] >= 0``) likewise."""
    return registry.solve_lp(problem, solver, tol=tol, max_iters=max_iters, verbose=verbose,
                             time_limit=time_limit)


def solve_milp(c, **problem) -> MILPSolution:
    """Minimize a mixed-integer LP (HiGHS branch and bound; see
    :func:`polylip.backends.highs_milp.solve_milp` for the arguments: ``A_eq``, ``b_eq``,
    ``A_ub``, ``b_ub``, ``lb``, ``ub``, ``integrality``, ``gap``, ``time_limit``,
    ``node_limit``)."""
    return highs_milp.solve_milp(c, **problem)


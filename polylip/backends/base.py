"""What every backend returns, and the status vocabulary shared by all of them."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: The statuses a solve can end with. Only "optimal" carries a bound. "time_limit": the solver
#: was stopped at the caller's time limit.
STATUSES = ("optimal", "infeasible", "unbounded", "inaccurate", "failed", "time_limit")


@dataclass(frozen=True)
class BackendSolution:
    """Raw outcome of solving a conic problem (an :class:`~polylip.relax.conic.LMIProblem` or an
    LP), in the problem's own minimization form.

    ``status`` is one of :data:`STATUSES`, mapped explicitly from the solver's own codes
    (kept verbatim in ``raw_status``). ``value`` is the primal objective including the offset,
    ``dual_value`` the objective of the solver's dual (when it reports one), ``tolerance`` the
    relative tolerance the solver ran with; ``x`` and the duals are None unless the solver
    returned them.
    """

    status: str
    solver: str
    seconds: float
    raw_status: str = ""
    value: float | None = None
    dual_value: float | None = None
    tolerance: float = 1e-8
    x: np.ndarray | None = None
    lmi_duals: list | None = None
    eq_duals: np.ndarray | None = None
    message: str = ""
    extra: dict = field(default_factory=dict)

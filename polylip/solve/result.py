"""The outcome of solving a relaxation: a bound only when the solver says it solved."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

import numpy as np


@dataclass(frozen=True)
class Result:
    """Outcome of a relaxation solve.

    Attributes
    ----------
    bound : float or None
        A lower bound on the minimum (``sense="min"``) or an upper bound on the maximum
        (``sense="max"``). None unless ``status == "optimal"``.
    status : str
        "optimal", "infeasible" (the relaxation, hence the POP, is infeasible), "unbounded"
        (the relaxation gives no finite bound), "inaccurate" (the solver stopped without the
        accuracy it needs to certify) or "failed".
    order, solver, side, sparsity, method, degree : how the bound was obtained ("sos" with a
        relaxation ``order``, or "lp" with a certificate ``degree``).
    build_seconds, solve_seconds : wall-clock times of the two stages.
    candidate : dict or None
        A minimizer candidate {variable: value}: the best feasible point known (extracted from
        the moment matrix, rounded or locally polished, see :mod:`polylip.solve.minimizers`),
        else the first-order moments as a point.
    candidate_value : float or None
        The objective at ``candidate`` when it is feasible (to 1e-6): an upper bound for
        ``min`` (lower bound for ``max``), so ``gap`` = |candidate_value - bound| brackets the
        optimum.
    minimizers : tuple of dict
        Every point found that is feasible (to 1e-6) and attains the bound, within
        ``max(accuracy, 1e-6 * max(1, |bound|))``: all the extracted global minimizers when the
        moment matrix is flat (e.g. both points of ``(x^2 - 1)^2``, the cuts of a max-cut
        relaxation that is exact), best first; empty when none is known.
    is_global : bool
        True when the bound is certified to be the global optimum: the candidate is feasible
        and its value matches the bound to 1e-6 (relative).
    rank_one : bool
        Whether every moment matrix has numerical rank one.
    accuracy : float or None
        An estimate of the bound's numerical accuracy: the larger of the solver's primal-dual
        gap and its relative tolerance times the scale of the objective,
        ``tol * max(1, |bound|, sum_a |f_a|)`` (the sum of the absolute coefficients, constant
        included). Floating-point solvers certify a bound to this accuracy, not exactly: when
        the relaxation is exact, the reported bound can land up to this far above the true
        minimum (for instance chained Wood, n = 1000: bound 1.00048, accuracy 5e-3, optimum 1).
    message : str
        The solver's own status text, or why there is no bound.
    """

    status: str
    bound: float | None
    order: int | None
    solver: str
    sense: str = "min"
    side: str | None = None
    sparsity: str = "dense"
    build_seconds: float = 0.0
    solve_seconds: float = 0.0
    candidate: dict | None = None
    candidate_value: float | None = None
    is_global: bool = False
    rank_one: bool = False
    accuracy: float | None = None
    message: str = ""
    method: str = "sos"
    degree: int | None = None
    sizes: dict = field(default_factory=dict)
    minimizers: tuple[dict, ...] = ()

    @property
    def seconds(self) -> float:
        return self.build_seconds + self.solve_seconds

    @property
    def ok(self) -> bool:
        return self.status == "optimal"

    @property
    def gap(self) -> float | None:
        if self.bound is None or self.candidate_value is None:
            return None
        return abs(self.candidate_value - self.bound)

    @property
    def minimizer(self) -> dict | None:
        """The certified global optimizer (``candidate``) when ``is_global``, else None."""
        return self.candidate if self.is_global else None

    def to_dict(self) -> dict:
        d = asdict(self)
        d["seconds"] = self.seconds
        d["gap"] = self.gap
        return d

    def to_json(self) -> str:
        def default(o):
            if isinstance(o, np.generic):
                return o.item()
            if isinstance(o, np.ndarray):
                return o.tolist()
            raise TypeError(f"not serializable: {type(o)}")

        return json.dumps(self.to_dict(), default=default)

    def __str__(self) -> str:
        word = "lower" if self.sense == "min" else "upper"
        lines = [f"status:    {self.status}"]
        if self.bound is not None:
            acc = f" +- {self.accuracy:.1g}" if self.accuracy else ""
            lines.append(f"bound:     {self.bound:.8g}{acc}  ({word} bound on the {self.sense}imum)"
                         + ("  = global optimum" if self.is_global else ""))
        else:
            lines.append("bound:     none (no certified bound)")
        if self.candidate_value is not None:
            lines.append(f"candidate: value {self.candidate_value:.8g} at a feasible point"
                         + (f", gap {self.gap:.3g}" if self.gap is not None else ""))
        if self.minimizers:
            lines.append(f"minimizers: {len(self.minimizers)} feasible point(s) attaining the bound")
        level = f"degree {self.degree}" if self.method == "lp" else f"order {self.order}"
        lines.append(f"method:    {self.method}, {level}, sparsity {self.sparsity}, "
                     f"solver {self.solver}" + (f" ({self.side} side)" if self.side else ""))
        lines.append(f"time:      {self.seconds:.3f} s (build {self.build_seconds:.3f} s, "
                     f"solve {self.solve_seconds:.3f} s)")
        if self.message and self.status != "optimal":
            lines.append(f"message:   {self.message}")
        return "\n".join(lines)

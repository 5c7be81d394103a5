"""The outcome of solving a relaxation: a bound only when the solver says it solved, and a
certified bound (a proof, valid whatever the solver's accuracy) wherever one can be built."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace

import numpy as np


#: How the certify stage's hint on what to try begins (solve/certify.py); a message that
#: embeds an earlier one drops it where it no longer applies (solve/unbounded.py: a POP
#: proven unbounded has no order to try).
ORDER_HINT = "; no certificate at order"


@dataclass(frozen=True)
class Result:
    """Outcome of a relaxation solve.

    Attributes
    ----------
    bound : float or None
        A lower bound on the minimum (``sense="min"``) or an upper bound on the maximum
        (``sense="max"``). None unless ``status == "optimal"``, or a first-order LP solve
        (``solver="pdlp"``) stopped at a limit whose point still certifies. When ``certified``
        it is a proof:
        a rigorous certificate (:mod:`polylip.solve.certify`) makes it valid whatever the
        solver's accuracy. When not, it is the solver's numerical value, and ``message`` says
        why it could not be proven.
    certified : bool
        Whether ``bound`` is proven (see above).
    numerical_bound : float or None
        The solver's own bound, before certification (``bound`` minus the certificate's
        corrections).
    certificate : SOSCertificate or None
        The certificate itself (moment-SOS hierarchy): ``certificate.verify()`` rechecks it in
        exact arithmetic, ``certificate.to_json()`` exports it for a third party. When the
        problem was solved in scaled variables (the message says so), it is the certificate of
        the scaled problem (``x = center + radius z``, objective divided by a power of two;
        see :mod:`polylip.solve.scaling`): its ``claimed`` is in those units, and ``bound`` is
        derived from it with the scaling's exact rounding error taken off.
    status : str
        "optimal", "infeasible" (the relaxation, hence the POP, is infeasible), "unbounded"
        (proven: with ``certified=True`` the POP itself is unbounded, by a feasible ray, a
        :class:`~polylip.solve.unbounded.RayCertificate` in ``certificate``; with
        ``certified=False`` the relaxation of this order has no SOS certificate of any bound,
        by a :class:`~polylip.solve.moment_ray.MomentRayCertificate`, and the POP may be
        bounded; a solver's claim that neither proves is "inaccurate"), "inaccurate" (the
        solver stopped without the
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
        relaxation that is exact), best first; empty when none is known, and when the bound
        is not certified (a point meeting an unproven bound proves nothing).
    is_global : bool
        True when the bound is certified to be the global optimum: the candidate is feasible
        and its value matches the bound to 1e-6 (relative).
    rank_one : bool
        Whether every moment matrix has numerical rank one.
    accuracy : float or None
        How far ``bound`` may be from the relaxation's value: the larger of the solver's
        primal-dual gap and its relative tolerance times the scale of the objective,
        ``tol * max(1, |bound|, sum_a |f_a|)``, plus, for a certified bound, what certification
        took off the solver's value. A certified bound is never above the true minimum; a
        numerical one (``certified=False``) can be up to ``accuracy`` above it.
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
    certified: bool = False
    numerical_bound: float | None = None
    certify_seconds: float = 0.0
    certificate: object = field(default=None, compare=False, repr=False)

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
        """Every field but the certificate itself (``certificate.to_json()`` exports it)."""
        d = asdict(replace(self, certificate=None))
        d.pop("certificate")
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
            how = "certified" if self.certified else "numerical only, not certified"
            lines.append(f"bound:     {self.bound:.8g}{acc}  ({word} bound on the {self.sense}imum, "
                         f"{how})" + ("  = global optimum" if self.is_global else ""))
            if self.numerical_bound is not None and self.numerical_bound != self.bound:
                lines.append(f"           solver's value {self.numerical_bound:.8g}")
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

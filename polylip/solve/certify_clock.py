"""The certify stage's share of the time limit: estimated before it starts, checked between
its steps.

The stage (:func:`polylip.solve.certify.certify_sos`) is pure Python and numpy: no backend
deadline can stop it, so it must not start a step it cannot finish. Its steps (extracting the
certificate, folding the residual, sealing, regularizing, sealing again, the facial repair)
each cost about one pass over the certificate's terms (``sum_j k_j (k_j + 1) / 2 * |g_j|`` Gram
terms plus the objective's and the equalities' terms). Measured (sum of x_i^2, n = 100,000,
400,000 terms, Clarabel, 2026-12-01, load 2-3, CPU seconds): extraction 1.13, fold 1.29, seal
1.00, regularize 1.37, second seal 0.21; 2.5-3.4 us a term a step, wall time 2.5 times that
at that load. Hence :data:`SECONDS_PER_TERM` (the idle-machine figure, the low end) as the
estimate before the first step, and afterwards the slowest step measured so far (which
carries the machine's load): a step starts only when that many seconds are left. The
figure before the first step is multiplied by the machine's load per core when above 1
(``os.getloadavg``): the same extraction took 1.1 s of CPU and 7.3 s of wall time at load 6.7
on 2 cores.

Examples
--------
>>> import time
>>> clock = CertifyClock(time.perf_counter() + 3600.0, terms=1000)
>>> clock.allows(3, "extracting the certificate")
True
>>> late = CertifyClock(time.perf_counter() + 1e-3, terms=10**9)
>>> late.allows(3, "extracting the certificate"), "cut by the time limit" in late.cut
(False, True)
"""

from __future__ import annotations

import os
import time

__all__ = ["CertifyClock", "CertificationCut", "SECONDS_PER_TERM", "FIRST_STEPS"]

#: Seconds per term of the certificate for one step of the stage (idle machine; module text).
SECONDS_PER_TERM = 2.5e-6
#: Steps before a first sealed certificate: extraction, the fold of the residual, the seal.
FIRST_STEPS = 3


def _load_factor() -> float:
    """The machine's load per core, at least 1 (1 where the platform does not say)."""
    try:
        return max(1.0, os.getloadavg()[0] / (os.cpu_count() or 1))
    except (AttributeError, OSError):
        return 1.0


class CertificationCut(Exception):
    """Raised inside the stage when the time left cannot pay for the next step and nothing
    has been sealed yet; the message says what was cut."""


class CertifyClock:
    """The deadline (a ``time.perf_counter()`` value, None: none) and the pace of the stage.

    ``allows(steps, what)`` says whether ``steps`` more steps fit in the time left; when they
    do not, ``cut`` records why (the message the result carries). ``mark()`` ends a step and
    updates the pace with its measured duration.
    """

    def __init__(self, deadline: float | None, terms: int):
        self.deadline = deadline
        self.step = SECONDS_PER_TERM * max(int(terms), 1) * _load_factor()
        self.cut: str | None = None
        self.started = self._t = time.perf_counter()

    def left(self) -> float:
        return float("inf") if self.deadline is None else self.deadline - time.perf_counter()

    def mark(self) -> None:
        now = time.perf_counter()
        self.step = max(self.step, now - self._t)
        self._t = now

    def allows(self, steps: float, what: str) -> bool:
        if self.deadline is None:
            return True
        left, need = self.left(), steps * self.step
        if left >= need:
            return True
        if self.cut is None:
            self.cut = (f"certification cut by the time limit before {what} (about {need:.2g} s "
                        f"needed, {max(left, 0.0):.2g} s left)")
        return False

    def seconds_for(self, wanted: float) -> float:
        """At most ``wanted`` seconds, leaving one step's time before the deadline."""
        return min(wanted, self.left() - self.step)

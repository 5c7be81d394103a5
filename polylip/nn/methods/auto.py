"""Method ``"auto"`` (the default of :func:`~polylip.nn.lipschitz`): the smallest certified bound
the methods reach within ``budget`` seconds, following :data:`polylip.nn.methods.plan.PLAN`.

The runner, :func:`auto`, reads top to bottom: the facts of the problem are fixed once (norm,
region, activations, the gradient POPs, built before any worker is forked so that the workers
share them); then every step of the plan, in order, is either not applicable (a condition
fails), too large (a size test), skipped (the bound already meets the lower bound, or the
budget is spent), or run in a forked worker stopped at the deadline; a step whose closed
result ends the search (``ends``) stops it there. The bound returned is the smallest certified
one, never above "product".

**The budget holds.** It is counted from the start of the :func:`~polylip.nn.lipschitz` call
(lower-bound search included), and every step after "product" and "interval" runs in a
forked worker process (:func:`polylip.runtime.call_with_deadline`) that is terminated when the
budget is spent. A stopped step gives no bound (``status="time_limit"`` in
``details["tried"]``); a step with a solver time limit (LP, MILP) gets the time left minus
:data:`AUTO_SOLVER_RESERVE`. A worker may map :data:`AUTO_MEMORY_FRACTION` of the physical
memory beyond what the caller has mapped, so a step too large for the machine fails alone.
``isolate=False`` (or a platform without ``fork``) runs the steps in this process: the budget
is then only checked between steps.

Examples
--------
>>> import numpy as np
>>> from polylip.nn import Network, lipschitz
>>> net = Network.from_weights([np.array([[1.0, -1.0], [2.0, 1.0]]), np.ones((1, 2))])
>>> res = lipschitz(net, "inf", options={"budget": 10})
>>> [t["method"] for t in res.details["tried"]], round(res.upper, 9), res.details["exact_formal"]
(['product', 'interval', 'dp'], 3.0, True)
>>> res.details["best_step"], [p["status"] for p in res.details["plan"]][:5]
('dp', ['ok', 'ok', 'not applicable', 'ok', 'not run'])
"""

from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import dataclass

from polylip.errors import ModelError, PolylipError
from polylip.nn.gradient_pop import functionals
from polylip.nn.methods import plan as planning
from polylip.nn.methods.base import MethodOptions, flag, name, number
from polylip.nn.methods.bound import gradient_pops
from polylip.nn.methods.milp_model import realizable_activations
from polylip.nn.problem import LipschitzProblem, MethodOutput
from polylip.runtime import call_with_deadline, fork_available

__all__ = ["AutoOptions", "auto", "Facts", "Run", "DEFAULT_BUDGET", "AUTO_REL_GAP",
           "AUTO_MEMORY_FRACTION", "AUTO_SOLVER_RESERVE"]

log = logging.getLogger(__name__)

#: Default time budget (seconds) of method "auto" (the default method of
#: :func:`polylip.nn.lipschitz` and ``polylip lipschitz``). Measured on the digits networks
#: (benchmarks/RESULTS.md, "Method auto with a budget that holds"): 10, 30 and 60 s give the
#: same bound on 14 of 16 configurations, 60 s was needed on one (Shor, 53.5 s); CertDNN width
#: 80 needs 8-20 s for Shor with cuts. Calls whose steps all finish return earlier.
DEFAULT_BUDGET = 60.0
#: "auto" stops once its upper bound is within this relative gap of the lower bound (the
#: certified margins on the bounds are 1e-9 to 1e-7, so a closed gap rarely reaches 1e-9).
AUTO_REL_GAP = 1e-6
#: Fraction of the physical memory a step of "auto" may map beyond what the caller has mapped
#: (its worker's RLIMIT_AS).
AUTO_MEMORY_FRACTION = 0.5
#: A step that takes a solver time limit gets the time left minus this reserve (seconds; at most
#: a fifth of the time left), so that the solver stops, and the worker hands back what it found
#: (a MILP's dual bound at its time limit is a certified bound), before the worker itself is
#: stopped at the deadline. Without it HiGHS overshot by a fraction of a second and the step
#: was killed with no bound (digits MLP, margin 3-8, budget 20: the final "milp" run).
AUTO_SOLVER_RESERVE = 1.0


@dataclass(frozen=True)
class AutoOptions(MethodOptions):
    """Options of method "auto".

    ``budget``: seconds of wall clock for the whole call, counted from its start (default
    :data:`DEFAULT_BUDGET`); ``solver``: the solver of the "shor", "sdp", "lp" and "lipsdp"
    steps ("auto": chosen by size); ``isolate``: run the steps in forked workers (default) so
    the budget is a hard limit; ``rel_gap``: stop once ``upper - lower <= rel_gap * max(1,
    upper)`` (default :data:`AUTO_REL_GAP`; 0 runs every step the budget allows).
    """

    method = "auto"
    budget: float = number(DEFAULT_BUDGET, low=0, low_open=True,
                           allowed="a positive number of seconds")
    solver: str = name("auto")
    isolate: bool = flag(True)
    rel_gap: float = number(AUTO_REL_GAP, low=0)


@dataclass(frozen=True)
class Facts:
    """What the plan's conditions read, fixed before the first step: the input norm, whether
    the region is bounded (a box or a ball), whether every activation is ReLU-type, whether
    every output functional is fixed, the number of hidden layers, and the gradient POPs (one
    per functional, formulation "auto"; None when they cannot be built, with the reason)."""

    norm: float
    bounded: bool
    relu_type: bool
    fixed_output: bool
    num_hidden: int
    pops: list | None
    pops_error: str | None = None

    @property
    def expanded(self) -> bool:
        """The gradient POP is the expanded one, with a fixed output functional."""
        return self.pops is not None and self.pops[0].formulation == "expanded" \
            and not self.pops[0].u

    @property
    def degree_2(self) -> bool:
        """The expanded gradient POP has degree 2 (one hidden layer)."""
        return self.expanded and self.pops[0].pop.degree == 2

    @classmethod
    def of(cls, problem: LipschitzProblem) -> "Facts":
        pops, error = None, None
        try:
            pops = gradient_pops(problem, formulation="auto")
        except PolylipError as exc:
            error = str(exc)
        facts = cls(norm=problem.norm, bounded=problem.region.input_box() is not None,
                    relu_type=realizable_activations(problem.net),
                    fixed_output=all(u is not None for u in functionals(problem.net)),
                    num_hidden=problem.net.num_hidden, pops=pops, pops_error=error)
        if facts.expanded:  # what "lp" and "shor" would rebuild: the same POPs
            for key in (("expanded", None), ("expanded", 10 ** 9)):
                problem.cache.setdefault(("gradient_pops",) + key, pops)
        return facts


def _physical_memory() -> int | None:
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return None


def _too_large(reason: str) -> MethodOutput:
    """What a step's guard returns from its worker when the built relaxation is too large."""
    return MethodOutput(upper=None, status="skipped", details={"skipped": reason, "guard": True})


class Run:
    """The state of one "auto" call: the best bound so far and which step gave it, the records
    of the steps (``tried``: one per step started or skipped at run time; ``log``: one per step
    of the plan, with its status and reason), and each step's output."""

    def __init__(self, problem: LipschitzProblem, options: AutoOptions):
        if problem.methods is None:
            raise ModelError("method 'auto' runs the other methods through problem.methods: "
                             "call it through polylip.nn.lipschitz")
        self.problem = problem
        self.methods = problem.methods
        self.solver = options.solver
        self.rel_gap = options.rel_gap
        self.budget = options.budget
        start = problem.started if problem.started is not None else time.perf_counter()
        self.deadline = start + options.budget
        self.isolated = bool(options.isolate) and fork_available()
        phys = _physical_memory()
        self.memory = None if phys is None else int(AUTO_MEMORY_FRACTION * phys)
        self.best, self.best_step = math.inf, None
        self.best_method, self.best_options, self.best_details = None, {}, {}
        self.lower = problem.lower.value if problem.lower is not None else None
        self.found = {"lower": None, "witness": None}  # a larger lower bound a step attained
        self.tried: list = []
        self.log: list = []
        self.outputs: dict = {}  # step id -> (method, options, MethodOutput or None)
        self.ending: dict = {}  # details key -> value, set by the step that ended the search
        self.ended_at: str | None = None
        self.facts: Facts | None = None

    # ------------------------------------------------------------------ what conditions read
    def time_left(self) -> float:
        return max(0.0, self.deadline - time.perf_counter())

    def output_of(self, step_id: str):
        """The output of a step started earlier (None: not started, or no output)."""
        return self.outputs.get(step_id, (None, None, None))[2]

    def runs_of(self, method: str) -> list:
        """``(options, output)`` of every step of ``method`` started so far, in order (the
        options before the runner clipped a time limit to the deadline)."""
        return [(kw, out) for (m, kw, out) in self.outputs.values() if m == method]

    def closed(self) -> bool:
        return self.lower is not None and \
            self.best - self.lower <= self.rel_gap * max(1.0, abs(self.best))

    # ------------------------------------------------------------------ records
    def note(self, step, status: str, reason: str, seconds: float = 0.0) -> None:
        self.log.append({"step": step.id, "method": step.method, "status": status,
                         "reason": reason, "seconds": seconds})

    def keep(self, step, upper, shown, details) -> None:
        if upper is not None and upper < self.best:
            self.best, self.best_step = upper, step.id
            self.best_method, self.best_options, self.best_details = step.method, shown, details

    # ------------------------------------------------------------------ running steps
    def inline(self, step) -> None:
        """Run a step at once in this process ("product", "interval")."""
        t0 = time.perf_counter()
        out = self.methods[step.method](self.problem)
        seconds = time.perf_counter() - t0
        self.tried.append({"method": step.method, "status": out.status, "upper": out.upper,
                           "seconds": seconds})
        if out.upper is None:
            self.note(step, "no bound", f"status {out.status}", seconds)
        else:
            self.note(step, "ok", f"upper {out.upper:.6g}", seconds)
        self.keep(step, out.upper, {}, {})

    def attempt(self, step, kw: dict):
        """Run the step's method with options ``kw`` in a worker until the deadline; keep its
        bound if smaller. Returns its output, or None when it gave none."""
        shown = {("cut_seconds" if k == "seconds" else k): v for k, v in kw.items()
                 if k != "time_limit"}
        record = {"method": step.method, **shown}
        if self.closed():
            reason = "the bound meets the lower bound"
            self.tried.append({**record, "skipped": reason})
            self.note(step, "skipped", reason)
            return None
        left = self.deadline - time.perf_counter()
        if left <= 0:
            self.tried.append({**record, "skipped": "budget spent"})
            self.note(step, "skipped", "budget spent")
            return None
        kw = dict(kw)
        if "time_limit" in kw:
            limit = max(0.8 * left, left - AUTO_SOLVER_RESERVE)
            kw["time_limit"] = limit if kw["time_limit"] is None else min(kw["time_limit"], limit)
        method, guard = self.methods[step.method], step.guard

        def work():
            if guard is not None:
                reason = guard(self, kw)
                if reason is not None:
                    return _too_large(reason)
            return method(self.problem, **kw)

        self.problem.report("auto", len(self.tried), len(self.tried) + 1)
        done = call_with_deadline(work, left, memory=self.memory, isolate=self.isolated)
        if done.status == "time_limit":
            self.tried.append({**record, "status": "time_limit", "upper": None,
                               "seconds": done.seconds})
            self.note(step, "time_limit", "stopped when the budget was spent", done.seconds)
            log.info("auto: %s stopped at the budget after %.2f s", step.id, done.seconds)
            return None
        if done.status == "died":
            self.tried.append({**record, "error": done.message, "seconds": done.seconds})
            self.note(step, "error", done.message, done.seconds)
            log.warning("auto: %s: %s", step.id, done.message)
            return None
        if done.status == "error":
            if not isinstance(done.error, (PolylipError, MemoryError)):
                raise done.error
            self.tried.append({**record, "error": str(done.error), "seconds": done.seconds})
            self.note(step, "error", str(done.error), done.seconds)
            return None
        out = done.value
        if out.status == "skipped":
            reason = out.details.get("skipped", "")
            self.tried.append({**record, "skipped": reason})
            self.note(step, "too large" if out.details.get("guard") else "skipped", reason,
                      done.seconds)
            return out
        self.tried.append({**record, "status": out.status, "upper": out.upper,
                           "seconds": done.seconds})
        if out.upper is None:
            message = out.details.get("message")
            self.note(step, "no bound", f"status {out.status}" + (f": {message}" if message
                                                                  else ""), done.seconds)
        else:
            self.note(step, "ok", f"upper {out.upper:.6g} (status {out.status})", done.seconds)
        self.keep(step, out.upper, shown, out.details)
        if out.lower is not None and (self.lower is None or out.lower > self.lower):
            self.lower = self.found["lower"] = out.lower  # attained at out.witness
            self.found["witness"] = out.witness
        return out

    def run(self, step) -> None:
        """One step of the plan, start to end (see the module docstring)."""
        if self.ending:
            self.note(step, "not run", f"the search ended at {self.ended_at}")
            return
        if step.method not in self.methods:
            self.note(step, "not applicable", f"method {step.method!r} is not registered")
            return
        if step.inline:
            self.inline(step)
            return
        if self.facts is None:
            # Built here, before any worker is forked: the workers share them (copy-on-write),
            # and the interval bounds and POPs are not rebuilt per step.
            self.problem.bounds
            self.facts = Facts.of(self.problem)
            if self.facts.pops is None:
                self.tried.append({"method": "shor, lp, sdp", "skipped": self.facts.pops_error})
        blocked = step.blocked(self)
        if blocked is not None:
            self.note(step, "not applicable", blocked)
            return
        try:
            kw = step.options(self, step)
            big = None if step.too_large is None else step.too_large(self, kw)
        except PolylipError as exc:
            self.tried.append({"method": step.method, "error": str(exc)})
            self.note(step, "error", str(exc))
            return
        if big is not None:
            shown = {k: v for k, v in kw.items() if k != "time_limit"}
            self.tried.append({"method": step.method, **shown, "skipped": big})
            self.note(step, "too large", big)
            return
        out = self.attempt(step, kw)
        self.outputs[step.id] = (step.method, kw, out)
        if step.ends is not None and out is not None and out.status == "ok" \
                and out.upper is not None:
            key, value = step.ends
            self.ending[key] = value(out)
            self.ended_at = f"{step.id} ({key})"

    def output(self) -> MethodOutput:
        for entry in self.log:
            if entry["step"] == self.best_step:
                entry["reason"] += ": the bound returned"
            if self.ended_at and entry["step"] == self.ended_at.split(" ")[0]:
                entry["reason"] += ", closed: it ends the search"
        found = self.found
        return MethodOutput(upper=self.best, lower=found.get("lower"),
                            witness=found.get("witness"), status="ok", details={
            "best_method": self.best_method, "best_options": self.best_options,
            "best_details": self.best_details, "tried": self.tried, "budget": self.budget,
            "isolated": self.isolated,
            "exact_formal": bool(self.ending.get("exact_formal", False)),
            "formal_within": self.ending.get("formal_within"),
            "true_within": self.ending.get("true_within"),
            "best_step": self.best_step, "plan": self.log})


def auto(problem: LipschitzProblem, options: AutoOptions) -> MethodOutput:
    """The smallest certified bound the plan's steps reach within ``options.budget`` seconds.

    Returns
    -------
    MethodOutput
        ``upper`` is the smallest certified bound (at least as good as "product", which
        always succeeds); ``details``: ``best_method``, ``best_options``, ``best_details``
        (the winning method's own details, e.g. its relaxations), ``best_step`` (its id in
        the plan), ``tried`` (one record per step started or skipped at run time: ``method``,
        its options, ``status``, ``upper``, ``seconds``, or ``skipped`` / ``error``),
        ``plan`` (one record per step of the plan: ``step``, ``method``, ``status`` "ok",
        "no bound", "time_limit", "error", "skipped", "too large", "not applicable" or
        "not run", ``reason``, ``seconds``), ``budget``, ``isolated``, ``exact_formal`` ("dp"
        gave the formal constant), ``formal_within`` / ``true_within`` ("milp" closed on the
        formal / true constant within this relative gap, else None). ``lower`` and
        ``witness``: the largest local constant a step measured at an input (the
        true-constant MILP's), when one did.
    """
    run = Run(problem, options)
    for step in planning.PLAN:  # read at call time: a caller may replace the plan
        run.run(step)
    return run.output()

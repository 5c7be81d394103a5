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
is then only checked between steps. The gradient POPs every relaxation shares are built once,
before the first step that needs them, in a worker stopped at the deadline too (and not at all
when :func:`~polylip.nn.methods.plan.pop_estimate` says they would take longer than the time
left); only "product" and "interval" (closed forms, with the region's interval/CROWN bounds)
always run, in this process: they are the bound returned when nothing else finishes.

**Deterministic mode** (``deterministic=True``): the budget is counted in work, not wall
clock (see :mod:`polylip.nn.methods.plan`): shares are fractions of the work left on a virtual
clock charged with each step's estimate, "milp" gets a node limit, nothing is stopped by the
clock except, as a safety net, at :data:`DETERMINISTIC_DEADLINE_FACTOR` times the budget (then
``details["deterministic"]`` is False and the figures may differ between runs).

Why this module is long: it is the runner of one call, start to end (the facts and the shared
POPs, each step's worker and records, the deterministic clock), with nothing about which steps
exist (that is the plan's).

Examples
--------
>>> import numpy as np
>>> from polylip.nn import Network, lipschitz
>>> net = Network.from_weights([np.array([[1.0, -1.0], [2.0, 1.0]]), np.ones((1, 2))])
>>> res = lipschitz(net, "inf", options={"budget": 10})
>>> [t["method"] for t in res.details["tried"]], round(res.upper, 9), res.details["exact_formal"]
(['product', 'interval', 'geolip', 'dp'], 3.0, True)
>>> res.details["best_step"], [p["status"] for p in res.details["plan"]][:5]
('dp', ['ok', 'ok', 'ok', 'not applicable', 'not applicable'])
"""

from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import dataclass

from polylip.errors import ModelError, PolylipError
from polylip.nn.baselines import mixed_product
from polylip.nn.gradient_pop import functionals
from polylip.nn.methods import plan as planning
from polylip.nn.methods.baselines import POST_FACTORS
from polylip.nn.methods.base import MethodOptions, flag, name, number
from polylip.nn.methods.bound import gradient_pops
from polylip.nn.methods.milp_model import realizable_activations
from polylip.nn.lower import WORK_RATE
from polylip.nn.problem import LipschitzProblem, MethodOutput
from polylip.nn.regions import remember_bounds
from polylip.runtime import call_with_deadline, fork_available, shared_floats

__all__ = ["AutoOptions", "auto", "Facts", "Run", "DEFAULT_BUDGET", "AUTO_REL_GAP",
           "AUTO_MEMORY_FRACTION", "AUTO_SOLVER_RESERVE", "DETERMINISTIC_DEADLINE_FACTOR",
           "build_pops"]

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
#: Deterministic mode: the wall clock stops a step only past this many times the budget (a
#: safety net for a step whose work limit or estimate was far off; the figures are then no
#: longer reproducible, and ``details["deterministic"]`` says so).
DETERMINISTIC_DEADLINE_FACTOR = 3.0
#: Seconds before the deadline at which a closed-form step run in a worker is stopped (see
#: :meth:`Run.inline`): the quick product bound that replaces it takes O(weights), 0.1 s on
#: 784-1000-1000-1000-10 at load 7.
CLOSED_FORM_RESERVE = 0.25
#: The methods whose steps read no shared gradient POP (nor a condition on it; "dp" builds its
#: own, from its estimate counted without them): the POPs are built
#: at the first step of another method, not before these. Before, they were built at the first
#: step after "interval", i.e. before "milp-true": 0.46 s of a 2-s row on the 64-100-100-10
#: digits MLP over a box (1,008-certificate batch of benchmarks/bench_lipschitz_batch.py),
#: spent although every step that reads them was then refused by its estimate; and not at all
#: needed when "milp-true" closes and ends the search.
WITHOUT_POPS = frozenset({"milp", "bab", "dp", "lipsdp", "eclipse", "geolip", "product", "interval"})
#: What a step that reads the POPs is refused with when they are missing (then the reason
#: given is why they are missing).
_POP_NEEDS = frozenset(f"needs {c.needs}" for c in (
    planning.GRADIENT_POP, planning.EXPANDED, planning.DEGREE_2, planning.NOT_DEGREE_2))
#: ``Facts.pops_error`` while the POPs are not built yet (see :data:`WITHOUT_POPS`).
POPS_PENDING = "not built yet"
#: A step without a time limit of its own is not started when its estimated seconds
#: (:func:`polylip.nn.methods.plan.estimate`, right to a factor of a few) exceed this many times
#: the time left: stopped at the deadline it would give nothing, and the time goes to the steps
#: after it (64-100-100-10 MLP, ten outputs, budget 10 s: "dp" estimated at 512 s used the
#: last 4.6 s and was stopped).
AUTO_ESTIMATE_FACTOR = 3.0


@dataclass(frozen=True)
class AutoOptions(MethodOptions):
    """Options of method "auto".

    ``budget``: seconds of wall clock for the whole call, counted from its start (default
    :data:`DEFAULT_BUDGET`); ``solver``: the solver of the "shor", "sdp", "lp" and "lipsdp"
    steps ("auto": chosen by size); ``isolate``: run the steps in forked workers (default) so
    the budget is a hard limit; ``rel_gap``: stop once ``upper - lower <= rel_gap * max(1,
    upper)`` (default :data:`AUTO_REL_GAP`; 0 runs every step the budget allows);
    ``deterministic``: count the budget in work instead of wall clock (node limits, no time
    limits, shares of a virtual clock charged with each step's estimate), so that the same call
    gives the same result on every run and machine load (see the module docstring).
    """

    method = "auto"
    budget: float = number(DEFAULT_BUDGET, low=0, low_open=True,
                           allowed="a positive number of seconds")
    solver: str = name("auto")
    isolate: bool = flag(True)
    rel_gap: float = number(AUTO_REL_GAP, low=0)
    deterministic: bool = flag(False)


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
    def of(cls, problem: LipschitzProblem, built=None) -> "Facts":
        """The facts of ``problem``; ``built``: ``(pops, error)`` as :func:`build_pops`
        returns them (built here when not given)."""
        pops, error = build_pops(problem) if built is None else built
        if pops is not None:
            problem.cache.setdefault(("gradient_pops", "auto", None), pops)
        facts = cls(norm=problem.norm, bounded=problem.region.input_box() is not None,
                    relu_type=realizable_activations(problem.net),
                    fixed_output=all(u is not None for u in functionals(problem.net)),
                    num_hidden=problem.net.num_hidden, pops=pops, pops_error=error)
        if facts.expanded:  # what "lp" and "shor" would rebuild: the same POPs
            for key in (("expanded", None), ("expanded", 10 ** 9)):
                problem.cache.setdefault(("gradient_pops",) + key, pops)
        return facts


def build_pops(problem: LipschitzProblem):
    """``(pops, None)``: the gradient POPs (one per functional, formulation "auto"), or
    ``(None, reason)`` when they cannot be built."""
    try:
        return gradient_pops(problem, formulation="auto"), None
    except PolylipError as exc:
        return None, str(exc)


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
        self.deterministic = bool(options.deterministic)
        start = problem.started if problem.started is not None else time.perf_counter()
        self.deadline = start + options.budget * (DETERMINISTIC_DEADLINE_FACTOR
                                                  if self.deterministic else 1.0)
        # deterministic mode: the work spent so far, in seconds of the estimates (the
        # lower-bound search: its counted work)
        self.charged = 0.0
        if self.deterministic and problem.lower is not None:
            self.charged = float(problem.lower.details.get("work", 0.0)) / WORK_RATE
        self.clock_stopped: list = []  # deterministic mode: steps the safety deadline stopped
        self.prepared: dict = {}
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
        self.closed_stopped = False  # a closed-form step's worker was stopped (see inline)
        # the layer factors a "product" worker finished before it was stopped (inf: none)
        self.product_factors = None

    # ------------------------------------------------------------------ what conditions read
    def time_left(self) -> float:
        """Seconds left: of the wall clock, or in deterministic mode of the virtual clock (the
        budget less the work charged)."""
        if self.deterministic:
            return max(0.0, self.budget - self.charged)
        return self.wall_left()

    def wall_left(self) -> float:
        """Seconds of wall clock until the deadline (deterministic mode: the safety net)."""
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
    def note(self, step, status: str, reason: str, seconds: float = 0.0,
             estimate: dict | None = None) -> None:
        self.log.append({"step": step.id, "method": step.method, "status": status,
                         "reason": reason, "seconds": seconds, "estimate": estimate})

    def hopeless(self, kw: dict, estimate: dict | None) -> str | None:
        """Why a step is not started although it applies: its estimate exceeds the time left
        (deterministic mode: at all, since the virtual clock must decide; else by more than
        :data:`AUTO_ESTIMATE_FACTOR` times, and only for a step without a time or node limit
        of its own, which would give no bound when stopped)."""
        if estimate is None or estimate.get("seconds") is None:
            return None
        left, guess = self.time_left(), float(estimate["seconds"])
        if self.deterministic:
            if guess > left:
                return f"estimated {guess:.3g} s of work, more than the {left:.3g} s left"
            return None
        own_limit = any(kw.get(k) is not None for k in ("time_limit", "node_limit", "seconds")) \
            or "time_limit" in kw
        if not own_limit and guess > AUTO_ESTIMATE_FACTOR * left:
            return (f"estimated {guess:.3g} s, more than {AUTO_ESTIMATE_FACTOR:g} times the "
                    f"{left:.3g} s left (a step stopped at the budget gives no bound)")
        return None

    def charge(self, estimate: dict | None) -> None:
        """Deterministic mode: charge a step's estimated seconds to the virtual clock."""
        if self.deterministic and estimate is not None and estimate.get("seconds") is not None:
            self.charged += min(float(estimate["seconds"]), self.time_left())

    def keep(self, step, upper, shown, details) -> None:
        if upper is not None and upper < self.best:
            self.best, self.best_step = upper, step.id
            self.best_method, self.best_options, self.best_details = step.method, shown, details

    # ------------------------------------------------------------------ running steps
    def inline(self, step) -> None:
        """Run a closed-form step at once ("product", "interval"): in this process when it is
        counted small (:data:`~polylip.nn.methods.plan.CLOSED_FORM_INLINE_FLOPS`), else in a
        worker stopped :data:`CLOSED_FORM_RESERVE` seconds before the deadline, which sends
        back the region's bounds it computed for the later steps. Stopped, "product" is
        replaced by :func:`~polylip.nn.baselines.mixed_product`: the layer factors its worker
        finished (over a local region it computes the global ones first), the quick ones
        (O(weights)) for the others: there is always a bound, and the budget holds on any
        network (before, both ran here whatever their size: l_2 784-1000-1000-1000-10, budget
        2, returned after 11.5 s; and the quick factors alone gave 2.9e4 over a ball of that
        network where the global spectral norms give 12.04)."""
        t0 = time.perf_counter()
        cost = planning.estimate(self, step, {})
        flops = planning.closed_form_flops(self.problem, step.method)
        if cost is not None:
            cost = {**cost, "flops": flops}
        if not self.isolated or flops <= planning.CLOSED_FORM_INLINE_FLOPS:
            out = self.methods[step.method](self.problem)
        else:
            out = self._closed_form_worker(step)
        seconds = time.perf_counter() - t0
        if out.upper is None and step.method == "product":
            # stopped, or its worker died (memory): "auto" never returns without a bound
            finished = [] if self.product_factors is None else self.product_factors
            quick = mixed_product(self.problem.net, self.problem.norm, finished)
            exact = int(sum(1 for f in finished if math.isfinite(f)))
            self.tried.append({"method": step.method, "status": out.status, "upper": None,
                               "seconds": seconds})
            self.note(step, "ok", f"upper {quick:.6g} (the quick product, with {exact} of "
                      f"{self.problem.net.num_hidden + 1} factors exact: the exact one "
                      f"{out.details.get('message', 'did not finish')})",
                      time.perf_counter() - t0, cost)
            self.keep(step, quick, {"quick": True}, {"quick": True})
            return
        self.tried.append({"method": step.method, "status": out.status, "upper": out.upper,
                           "seconds": seconds})
        if out.upper is None:
            message = out.details.get("message")
            self.note(step, "time_limit" if out.status == "time_limit" else "no bound",
                      f"status {out.status}" + (f": {message}" if message else ""), seconds,
                      cost)
        else:
            self.note(step, "ok", f"upper {out.upper:.6g}", seconds, cost)
        self.keep(step, out.upper, {}, {})

    def _closed_form_worker(self, step) -> MethodOutput:
        """A closed-form step in a worker (see :meth:`inline`)."""
        problem, method = self.problem, self.methods[step.method]

        def work():
            out = method(problem)
            return out, problem.bounds  # computed by the step (or at once: global region)

        left = self.wall_left() - CLOSED_FORM_RESERVE
        if step.method == "product":  # the factors it finishes outlive a stopped worker
            board = self.product_factors = shared_floats(problem.net.num_hidden + 1,
                                                         fill=math.inf)

            def post(k, factor):
                board[k] = min(board[k], float(factor))
            problem.cache[POST_FACTORS] = post
        try:
            done = call_with_deadline(work, left, memory=self.memory, isolate=True)
        finally:
            problem.cache.pop(POST_FACTORS, None)
        if done.status == "done":
            out, bounds = done.value
            problem.__dict__["bounds"] = bounds  # the cached_property's slot
            remember_bounds(problem.region, problem.net, bounds)
            return out
        if done.status == "error" and not isinstance(done.error, (PolylipError, MemoryError)):
            raise done.error
        self.closed_stopped = True
        if done.status == "time_limit" and self.deterministic:
            self.clock_stopped.append(step.id)  # the safety deadline: not reproducible
        status = "time_limit" if done.status == "time_limit" else "failed"
        what = "stopped at the budget" if status == "time_limit" else done.message
        return MethodOutput(upper=None, status=status,
                            details={"message": f"{what} after {done.seconds:.3g} s"})

    def attempt(self, step, kw: dict, estimate: dict | None = None):
        """Run the step's method with options ``kw`` in a worker until the deadline; keep its
        bound if smaller. Returns its output, or None when it gave none."""
        shown = {("cut_seconds" if k == "seconds" else k): v for k, v in kw.items()
                 if k != "time_limit"}
        record = {"method": step.method, **shown}

        def note(status, reason, seconds=0.0):
            self.note(step, status, reason, seconds, estimate)

        if self.closed():
            reason = "the bound meets the lower bound"
            self.tried.append({**record, "skipped": reason})
            note("skipped", reason)
            return None
        left = self.wall_left()
        if left <= 0 or self.time_left() <= 0:
            self.tried.append({**record, "skipped": "budget spent"})
            note("skipped", "budget spent")
            return None
        hopeless = self.hopeless(kw, estimate)
        if hopeless is not None:
            self.tried.append({**record, "skipped": hopeless})
            note("too large", hopeless)
            return None
        kw = dict(kw)
        if "time_limit" in kw and not self.deterministic:
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
        self.charge(estimate)
        if done.status == "time_limit":
            self.tried.append({**record, "status": "time_limit", "upper": None,
                               "seconds": done.seconds})
            if self.deterministic:
                self.clock_stopped.append(step.id)
                log.warning("auto: %s stopped by the safety deadline (%g x the budget): the "
                            "result is not reproducible", step.id, DETERMINISTIC_DEADLINE_FACTOR)
            note("time_limit", "stopped when the budget was spent" if not self.deterministic
                 else "stopped by the safety deadline of deterministic mode", done.seconds)
            log.info("auto: %s stopped at the budget after %.2f s", step.id, done.seconds)
            return None
        if done.status == "died":
            self.tried.append({**record, "error": done.message, "seconds": done.seconds})
            note("error", done.message, done.seconds)
            log.warning("auto: %s: %s", step.id, done.message)
            return None
        if done.status == "error":
            if not isinstance(done.error, (PolylipError, MemoryError)):
                raise done.error
            self.tried.append({**record, "error": str(done.error), "seconds": done.seconds})
            note("error", str(done.error), done.seconds)
            return None
        out = done.value
        if out.status == "skipped":
            reason = out.details.get("skipped", "")
            self.tried.append({**record, "skipped": reason})
            note("too large" if out.details.get("guard") else "skipped", reason, done.seconds)
            return out
        self.tried.append({**record, "status": out.status, "upper": out.upper,
                           "seconds": done.seconds})
        if out.upper is None:
            message = out.details.get("message")
            note("no bound", f"status {out.status}" + (f": {message}" if message else ""),
                 done.seconds)
        else:
            note("ok", f"upper {out.upper:.6g} (status {out.status})", done.seconds)
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
        if self.closed_stopped or (not self.deterministic and self.wall_left() <= 0):
            # nothing more is computed here once the budget is spent: the facts, conditions
            # and size tests of a step run in this process (dp's reachability count: 0.13-0.19
            # s past the deadline on 784-500-500-10 and 784-1000-1000-1000-10 at load 11), and
            # read the region's bounds, not computed when the closed forms were stopped (CROWN
            # over a box of 784-1000-1000-1000-10: 2 s past the deadline). Deterministic mode
            # goes on (its steps are decided by the virtual clock, the same on every run)
            self.note(step, "skipped", "budget spent" if not self.closed_stopped else
                      "budget spent: the closed forms did not finish in it")
            return
        if self.facts is None or (self.facts.pops_error == POPS_PENDING
                                  and step.method not in WITHOUT_POPS):
            self.prepare(pops=step.method not in WITHOUT_POPS)
        blocked = step.blocked(self)
        if blocked is not None:
            if self.facts.pops is None and blocked in _POP_NEEDS:
                blocked = f"needs the gradient POPs: {self.facts.pops_error}"
            self.note(step, "not applicable", blocked)
            return
        try:
            kw = step.options(self, step)
            cost = planning.estimate(self, step, kw)
            big = None if step.too_large is None else step.too_large(self, kw)
        except PolylipError as exc:
            self.tried.append({"method": step.method, "error": str(exc)})
            self.note(step, "error", str(exc))
            return
        if big is not None:
            shown = {k: v for k, v in kw.items() if k != "time_limit"}
            self.tried.append({"method": step.method, **shown, "skipped": big})
            self.note(step, "too large", big, estimate=cost)
            return
        out = self.attempt(step, kw, cost)
        self.outputs[step.id] = (step.method, kw, out)
        if step.ends is not None and out is not None and out.status == "ok" \
                and out.upper is not None:
            key, value = step.ends
            self.ending[key] = value(out)
            self.ended_at = f"{step.id} ({key})"

    def prepare(self, pops: bool = True) -> None:
        """The facts, with the gradient POPs the relaxations share (``pops=False``: without
        them, for a step of :data:`WITHOUT_POPS`; they are built at the first step that reads
        them). Built here, before the first worker is forked for such a step: the workers
        share them (copy-on-write), and the POPs are not rebuilt per step. The POPs are
        counted first (:func:`~polylip.nn.methods.plan.pop_estimate`) and not built when that
        would take longer than the time left; else built in a worker stopped at the
        deadline."""
        problem = self.problem
        problem.bounds  # the interval/CROWN bounds ("product" and "interval" computed them)
        if not pops:
            self.facts = Facts.of(problem, (None, POPS_PENDING))
            return
        t0 = time.perf_counter()
        est = planning.pop_estimate(problem)
        left = self.time_left()
        # the lifted POPs serve "shor" (and the larger "sdp-network") only: not built when
        # lifted Shor, the cheapest step that reads them, could not run in the time left
        # (the rule of hopeless(); measured: 0.46 s of a 2-s row of the 64-100-100-10 MLP
        # went to lifted POPs that no step then used, lifted Shor estimated at 60 s)
        floor = planning.lifted_shor_seconds(problem) if est["formulation"] == "lifted" \
            else 0.0
        after = left - est["seconds"]
        if est["seconds"] > left:
            built = (None, f"building the gradient POPs would take about {est['seconds']:.3g} s "
                           f"({est['functionals']} functionals, {est['formulation']}, "
                           f"{est['paths']:.3g} paths), more than the {left:.3g} s left")
            status = "too large"
        elif floor > (1.0 if self.deterministic else AUTO_ESTIMATE_FACTOR) * after:
            built = (None, f"not built: the steps that read lifted gradient POPs need more than "
                           f"the {after:.3g} s that would be left (shor on them estimated at "
                           f"{floor:.3g} s)")
            status = "too large"
        elif not self.isolated:
            built, status = build_pops(problem), "ok"
        else:
            done = call_with_deadline(lambda: build_pops(problem), self.wall_left(),
                                      memory=self.memory, isolate=True)
            if done.status == "done":
                built, status = done.value, "ok"
            elif done.status == "time_limit":
                built = (None, "building the gradient POPs did not finish within the budget")
                status = "time_limit"
                if self.deterministic:
                    self.clock_stopped.append("gradient POPs")
            else:
                if done.status == "error" and not isinstance(done.error,
                                                             (PolylipError, MemoryError)):
                    raise done.error
                built = (None, f"building the gradient POPs failed: {done.message}")
                status = "error"
        self.charge(est if status == "ok" else None)
        self.facts = Facts.of(problem, built)
        self.prepared = {"status": status, "seconds": time.perf_counter() - t0, "estimate": est}
        if self.facts.pops is None:
            self.tried.append({"method": "shor, lp, sdp", "skipped": self.facts.pops_error})

    def output(self) -> MethodOutput:
        if self.facts is not None and self.facts.pops_error == POPS_PENDING:
            self.prepared = {"status": "not built", "seconds": 0.0,
                             "reason": "no step that reads them was reached"}
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
            "best_step": self.best_step, "plan": self.log, "pops": self.prepared,
            "deterministic": self.deterministic and not self.clock_stopped,
            **({"work_charged": self.charged} if self.deterministic else {}),
            **({"clock_stopped": self.clock_stopped} if self.clock_stopped else {})})


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

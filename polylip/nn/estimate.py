"""The ``lipschitz`` entry point, its result type and the method registry.

The built-in methods are listed in one table, :data:`polylip.nn.methods.TABLE` (name,
function, options dataclass, description); :data:`METHODS`, the registry :func:`lipschitz`
looks methods up in, starts as that table. :func:`lipschitz` builds the problem (network,
input norm, region, interval bounds, lower bound), validates the options (a dict or the
method's options dataclass), calls the method, and combines its output with the lower-bound
search into a :class:`LipschitzResult`.

**A budget that holds.** ``lipschitz(..., budget=B)`` returns within about ``B`` seconds (the
measured overshoot is a fraction of a second), every stage included: the lower-bound search
gets a share (:data:`LOWER_SHARE` of the budget, at most :data:`LOWER_MAX_SECONDS`, as its
``time_limit``; its default effort is also scaled to the network, see
:func:`polylip.nn.lower.effort`; on a network where one of its steps may outlast its share,
it runs in a forked worker stopped a quarter past its share, and then the lower bound is the
best of the points it had found and a few samples: ``details["lower_stopped"]``), then the
method runs in a forked worker
(:func:`polylip.runtime.call_with_deadline`) stopped at the deadline, the region's
interval/CROWN bounds included. A method with a ``time_limit`` option ("milp", "lp",
"lipsdp") gets the time left, less a reserve, so that it stops itself and hands back what it
certified. For "auto" the budget is its own (``options={"budget": B}`` or ``budget=B``): see
:mod:`polylip.nn.methods.auto`; what its steps leave unused may go to a further lower-bound
search (:data:`LOWER_CONTINUE_USED`).

**Deterministic mode.** ``deterministic=True`` replaces every wall-clock limit by a work limit,
so that the same call gives the same numbers on every run and machine load: the lower-bound
search stops by its counted work only (no ``time_limit``; seed 0 unless given; with a budget,
the work its share buys at :data:`~polylip.nn.lower.WORK_RATE`), method
"auto" counts its budget in work (:mod:`polylip.nn.methods.plan`), a method's ``time_limit``
(and Shor's cut ``seconds``) are dropped and "milp" gets a ``node_limit`` where it takes one.
A budget then only sets the work; the wall clock stops the call only as a safety net, at
:data:`~polylip.nn.methods.auto.DETERMINISTIC_DEADLINE_FACTOR` times the budget.

**What the bound means.** :attr:`LipschitzResult.constant` says which constant ``upper``
bounds: ``"formal"`` (the largest gradient norm over every activation pattern the derivative
ranges allow, realizable or not; at least the true constant, so ``upper`` bounds both) or
``"true"`` (the largest gradient norm at inputs of the region: only realizable patterns, as
"exact" and the true-constant "milp" compute it). ``lower`` is always a true constant measured
at ``witness``. :meth:`LipschitzResult.explain` says it in words; ``to_dict()`` / ``to_json()``
carry it, with the plan of "auto" (which step gave the bound, why the others did not).

Why this module is long: it is the one entry point, and what every call shares lives here
together: the registry, the result type with what its figures mean (its text, dict and JSON
forms), and the budget and deterministic handling of every method (the lower-bound search's
share, the worker, the work limits). Split, the rules of one call would sit in three places.

New methods plug in without touching this module::

    from polylip.nn.estimate import register_method, MethodOutput

    @register_method("mine", description="my relaxation")
    def _mine(problem, order=2):
        bound = ...  # uses problem.net, problem.norm, problem.bounds
        return MethodOutput(upper=bound, details={"order": order})

(with ``options=MyOptions``, a frozen :class:`~polylip.nn.methods.base.MethodOptions`
subclass, the function receives ``(problem, options)`` validated like the built-ins' instead).

Examples
--------
>>> import numpy as np
>>> from polylip.nn.network import Network
>>> net = Network.from_weights([np.array([[1.0, 1.0], [1.0, -1.0]]), np.array([[1.0, 1.0]])])
>>> res = lipschitz(net, norm="inf", method="exact")
>>> res.upper, res.lower, res.status
(2.0, 2.0, 'optimal')
>>> lipschitz(net, method="exact", options=["max_unstable", 4])
Traceback (most recent call last):
...
polylip.errors.ModelError: the options of method 'exact' must be a dict or ExactOptions, not list: ['max_unstable', 4]
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import numbers
import time
from dataclasses import dataclass, field

import numpy as np

from polylip.errors import ModelError
from polylip.nn.loaders import as_network
from polylip.nn.lower import (CHECKPOINT_POINTS, LOWER_WORK, WORK_RATE, LowerOptions,
                              best_of_points, effort, lower_bound)
from polylip.nn.methods import TABLE
from polylip.nn.methods.auto import (AUTO_SOLVER_RESERVE, DETERMINISTIC_DEADLINE_FACTOR,
                                     AutoOptions)
from polylip.nn.methods.base import Method
from polylip.nn.methods.plan import (LIPSDP_BASE_SECONDS, LIPSDP_MAX_ITERS,
                                    MILP_NODES_PER_SECOND, bab_node_seconds, lipsdp_model)
from polylip.nn.network import Network
from polylip.nn.norms import parse_norm
from polylip.nn.problem import LipschitzProblem, MethodOutput
from polylip.nn.regions import GlobalRegion, as_region
from polylip.nn.unit_region import lower_to_unit, needs_units, output_from_unit, to_unit
from polylip.runtime import blas_threads, call_with_deadline, shared_floats

__all__ = ["lipschitz", "LipschitzResult", "LipschitzProblem", "MethodOutput", "METHODS",
           "DEFAULT_METHOD", "register_method", "method_names", "LOWER_SHARE",
           "LOWER_MAX_SECONDS", "LOWER_HARD_FACTOR", "LOWER_CONTINUE_USED",
           "LOWER_CONTINUE_MIN_SECONDS", "LOWER_CONTINUE_LPS_PER_CELL", "LOWER_CONTINUE_SPLIT",
           "STATUS_MEANINGS", "CONSTANT_MEANINGS"]

log = logging.getLogger(__name__)

#: Share of a budget the lower-bound search may take (its ``time_limit``), and the most
#: seconds it gets whatever the budget. Its default effort is counted
#: (:func:`polylip.nn.lower.effort`: 0.2-0.35 s on a 64-200-200-200-10 MLP, two loaded cores),
#: so the share only binds on small budgets.
LOWER_SHARE = 0.1
LOWER_MAX_SECONDS = 5.0
#: With a budget the search runs in a forked worker stopped at ``LOWER_HARD_FACTOR`` times
#: its share (at least its share plus :data:`LOWER_HARD_GRACE` seconds): its own time checks
#: fall between steps, and one step can be long (one realizability LP of a 784-500-500-10
#: network took 5 s of CPU, 22 s of wall clock at load 17; the search given 0.5 s of a 5 s
#: budget took 48 s). Stopped, the lower bound is the best of the points it had posted and a
#: quick one (:func:`_bounded_lower`). It was twice its share plus 0.5 s while a stop lost
#: everything; keeping the points, a quarter past the share loses little: measured at load 11
#: on 784-500-500-10 and 784-1000-1000-1000-10 (box r = 0.05 l_inf, global l_2), shares 0.5, 2
#: and 4 s: the same lower bound in 6 of 12 cases, within 1.3% in four (one higher), 8% and
#: 10% lower in two (share 0.5 s, l_2), and 5.4 s instead of 8.6 s for a share of 4 s on the
#: larger network.
LOWER_HARD_FACTOR = 1.25
LOWER_HARD_GRACE = 0.25
#: The search runs in this process when its longest uninterrupted steps (one LP, one
#: local-search step over its restarts, at the loaded rate of :data:`polylip.nn.lower.WORK_RATE`)
#: are estimated below this fraction of its share: its own time checks then suffice.
LOWER_INLINE_STEP = 0.25

#: After "auto" (wall clock, not deterministic), when its steps left part of the budget
#: unused, the gap is open and the first search was stopped by its share of the clock (it used
#: at least :data:`LOWER_CONTINUE_USED` of it; a search that ended on its counted effort would
#: gain little from more time), the search runs again with the next seed and the time left:
#: its share is that time over :data:`LOWER_CONTINUE_SPLIT` (its hard stop
#: :data:`LOWER_HARD_FACTOR` times that, before the budget's end less
#: :data:`~polylip.nn.methods.auto.AUTO_SOLVER_RESERVE`), and not at all below
#: :data:`LOWER_CONTINUE_MIN_SECONDS`. (Its share was the time left over the hard factor of 2,
#: its hard stop the budget's end: a stopped further search took all that was left.) Measured on the digits MLP 64-200-200-200-10, margin 3-8,
#: l_2, budget 60 (LipSDP ends after 15-25 s): the search of 5 s 31.07, a further search of
#: 24 s 31.14 (upper 33.65); see benchmarks/RESULTS.md, "Global l_2 at MNIST scale".
LOWER_CONTINUE_USED = 0.8
LOWER_CONTINUE_MIN_SECONDS = 2.0
#: The further search also tries this many LPs per cell in its pattern ascent (the first one
#: :data:`polylip.nn.lower_patterns.LPS_PER_CELL`, 3), unless the options set it: with only
#: the next seed it ended in the cell of the first search on the digits 64-200-200-200-10 MLP
#: (seeds 0, 1, 2: the same 31.0627 at work 1e9), so it repeated it; climbs with 6 LPs a cell
#: end elsewhere (higher on 10 of 18 cases at the same work, lower on 3: see LPS_PER_CELL), and
#: the better of the two searches is kept. Measured, budget 60, one run each, load 11-17
#: (main at 65e8c8e / this): digits-200 margin 3-8 31.07 -> 31.40 (upper 33.65: 1.083 ->
#: 1.072), digits-100 30.513 -> 30.525, a random 64-200-200-200-10 5.41 -> 5.50
#: (benchmarks/RESULTS.md, "Global l_2 at MNIST scale").
LOWER_CONTINUE_LPS_PER_CELL = 6
LOWER_CONTINUE_SPLIT = 2.0

#: What ``LipschitzResult.constant`` says ``upper`` bounds.
CONSTANT_MEANINGS = {
    "formal": "the formal constant: the largest gradient norm over every activation pattern "
              "the derivative ranges allow (realizable or not); it is at least the true "
              "constant, so the upper bound holds for both",
    "true": "the true constant: the largest gradient norm at inputs of the region (only "
            "activation patterns some input realizes); it can lie below the formal constant",
}

#: What the statuses mean (the method-specific ones are explained by ``details["message"]``).
STATUS_MEANINGS = {
    "optimal": "upper and lower meet (within 1e-9 relative): the constant is known",
    "ok": "the upper bound is certified and the constant lies in [lower, upper]; how close "
          "either is to it is not claimed",
    "time_limit": "a time or work limit stopped the method; an upper bound given is still "
                  "certified",
    "inconsistent": "the upper bound lies below the lower bound: a bug or a solver inaccuracy",
    "lp_limit": "exact: the LP budget ran out; the upper bound is the formal constant",
    "too_large": "the problem exceeds the method's size limits: no upper bound",
    "unreachable": "lp: a monomial cannot be produced at this degree: no upper bound",
    "inaccurate": "a relaxation's bound is numerical only (neither its certificate nor the "
                  "a-posteriori check proves it): no upper bound",
}


@dataclass(frozen=True)
class LipschitzResult:
    """Result of :func:`lipschitz`.

    Attributes
    ----------
    upper : float or None
        Certified upper bound (None if the method certifies none).
    lower : float or None
        Largest local constant found (a true lower bound), None if switched off.
    gap : float or None
        ``upper - lower`` when both exist.
    status : str
        ``"optimal"`` (upper equals lower up to 1e-9 relative), ``"ok"`` (both or one bound
        found), or a method-specific status such as ``"lp_limit"``; ``"inconsistent"`` if the
        upper bound lies below the lower bound (a bug or a solver inaccuracy).
    method : str
    seconds : float
        Wall time of the whole call.
    witness : ndarray or None
        Input where the lower bound is attained.
    norm : float
        Input norm ``p``.
    details : dict
        Method-specific values (e.g. ``formal`` and ``true`` for "exact", the layer factors
        for "product", ``lower_seconds``; for "auto" ``best_step`` and ``plan``).
    constant : str or None
        Which constant ``upper`` bounds: ``"formal"`` or ``"true"`` (see
        :data:`CONSTANT_MEANINGS`); None for a method polylip does not know (a registered one).
    budget : float or None
        The time budget of the call (seconds; for "auto" always set), None without one.
    deterministic : bool
        The call ran in deterministic mode (work limits, no wall-clock limits).
    region : str
        ``"global"``, or the region (``BoxRegion(...)``).
    """

    upper: float | None
    lower: float | None
    gap: float | None
    status: str
    method: str
    seconds: float
    witness: np.ndarray | None = None
    norm: float = math.inf
    details: dict = field(default_factory=dict)
    constant: str | None = None
    budget: float | None = None
    deterministic: bool = False
    region: str = "global"

    @property
    def relative_gap(self) -> float | None:
        if self.gap is None or not self.upper:
            return None
        return self.gap / abs(self.upper)

    @property
    def best_step(self) -> str | None:
        """"auto": the step of its plan whose bound is returned (None for other methods)."""
        return self.details.get("best_step")

    @property
    def plan(self) -> list:
        """"auto": one record per step of its plan (``step``, ``method``, ``status``,
        ``reason``, ``seconds``, ``estimate``); empty for other methods."""
        return list(self.details.get("plan", ()))

    def meaning(self) -> str:
        """What ``upper`` bounds, in words."""
        where = "over all inputs" if self.region == "global" else f"over {self.region}"
        q = {math.inf: "l_inf", 2.0: "l_2", 1.0: "l_1"}.get(float(self.norm), f"l_{self.norm}")
        if self.upper is None:
            return f"no certified upper bound ({self.status})"
        text = CONSTANT_MEANINGS.get(self.constant)
        head = f"upper bounds the {q} Lipschitz constant {where}: "
        if text is None:
            return head + "by method " + repr(self.method) + " (which constant: not known)"
        return head + text

    def explain(self) -> str:
        """A few lines saying what the numbers mean: which constant the upper bound bounds,
        what the status means, the lower bound's witness, and for "auto" which step gave the
        bound and what happened to the others (one line each)."""
        f = (lambda v: "-" if v is None else f"{v:.6g}")
        lines = [self.meaning() + ".",
                 f"status {self.status}: " + STATUS_MEANINGS.get(
                     self.status, str(self.details.get("message") or "see details['message']"))
                 + ".",
                 f"lower {f(self.lower)}: a true constant, the gradient norm measured at "
                 "an input of the region (res.witness)." if self.lower is not None else
                 "lower: not searched."]
        formal = self.details.get("formal_lower")
        if formal is None:
            formal = (self.details.get("best_details") or {}).get("formal_lower")
        if formal is not None and self.upper is not None and self.constant == "formal":
            lines.append(f"formal constant >= {f(formal)} (a pattern of slopes at the ends of "
                         "their ranges, realizable or not): no bound over slope ranges goes "
                         f"below it; the upper bound is {self.upper / formal - 1:.2%} above it"
                         + ("" if self.lower is None else
                            f", the lower bound {1 - self.lower / formal:.2%} below it") + ".")
        if self.deterministic:
            lines.append("deterministic: work limits only, the same figures on every run" + (
                "" if self.details.get("deterministic", True) else
                " (but the safety deadline stopped a step: not reproducible)") + ".")
        if self.plan:
            best = self.details.get("best_step")
            lines.append(f"bound from step {best} (method {self.details.get('best_method')});"
                         " the plan:")
            lines += ["  " + line for line in _plan_lines(self.plan)]
        return "\n".join(lines)

    def to_json(self, indent: int | None = 2) -> str:
        """:meth:`to_dict` as JSON text."""
        return json.dumps(self.to_dict(), indent=indent)

    def to_dict(self) -> dict:
        """JSON-ready dictionary (arrays become lists, inf becomes "inf"): the figures, what
        they mean (``constant``, ``meaning``, ``status_meaning``), the call's ``budget`` and
        ``deterministic``, for "auto" ``best_step`` and ``plan`` (also inside ``details``),
        and ``details``."""
        def conv(v):
            if isinstance(v, np.ndarray):
                return [conv(x) for x in v.tolist()]
            if isinstance(v, (list, tuple)):
                return [conv(x) for x in v]
            if isinstance(v, dict):
                return {str(k): conv(x) for k, x in v.items()}
            if isinstance(v, (np.floating, float)):
                v = float(v)
                return v if math.isfinite(v) else ("inf" if v > 0 else "-inf" if v < 0 else None)
            if isinstance(v, (np.integer,)):
                return int(v)
            if isinstance(v, (np.bool_,)):
                return bool(v)
            return v
        out = {"upper": conv(self.upper), "lower": conv(self.lower), "gap": conv(self.gap),
               "status": self.status, "method": self.method, "seconds": self.seconds,
               "norm": conv(self.norm), "region": self.region, "constant": self.constant,
               "meaning": self.meaning(),
               "status_meaning": STATUS_MEANINGS.get(self.status,
                                                     self.details.get("message")),
               "budget": conv(self.budget), "deterministic": self.deterministic,
               "witness": conv(self.witness)}
        if "plan" in self.details:
            out["best_step"] = self.details.get("best_step")
            out["plan"] = conv(self.details["plan"])
        out["details"] = conv(self.details)
        return out

    def __str__(self) -> str:
        f = (lambda v: "-" if v is None else f"{v:.6g}")
        which = f" ({self.constant} constant)" if self.constant and self.upper is not None else ""
        return (f"{self.method}: upper {f(self.upper)}{which}, lower {f(self.lower)}, gap "
                f"{f(self.gap)}, status {self.status}, {self.seconds:.3f}s")


def _plan_lines(plan: list) -> list:
    """Auto's plan, one line per step (step, status, reason, seconds, estimate); consecutive
    steps with the same status and reason and nothing measured share one line."""
    lines, i = [], 0
    while i < len(plan):
        p = plan[i]
        j = i + 1
        if not p.get("seconds") and not p.get("estimate"):
            while j < len(plan) and (plan[j]["status"], plan[j]["reason"]) == (
                    p["status"], p["reason"]) and not plan[j].get("seconds") \
                    and not plan[j].get("estimate"):
                j += 1
        est = p.get("estimate") or {}
        guess = est.get("seconds")
        extra = "" if guess is None else f", estimated {guess:.2g} s"
        took = f" [{p['seconds']:.2f} s{extra}]" if p.get("seconds") or extra else ""
        steps = p["step"] if j == i + 1 else f"{p['step']} .. {plan[j - 1]['step']}"
        lines.append(f"{steps:13} {p['status']:15} {p['reason']}{took}")
        i = j
    return lines


#: The registry: name -> :class:`~polylip.nn.methods.base.Method` (the built-ins of
#: :data:`polylip.nn.methods.TABLE`, then what :func:`register_method` adds). A plain callable
#: ``fn(problem, **options)`` placed here works too.
METHODS: dict = {m.name: m for m in TABLE}
#: The built-in entries by name (the methods that see a local region in its own units).
TABLE_ENTRIES: dict = dict(METHODS)


def register_method(name: str, *, description: str = "", options=None, replace: bool = False):
    """Decorator registering a method under ``name``.

    Without ``options`` the function is ``fn(problem, **options) -> MethodOutput`` and gets the
    caller's dict; with ``options`` (a frozen subclass of
    :class:`~polylip.nn.methods.base.MethodOptions`) it is ``fn(problem, options)`` and gets
    the validated value, like the built-ins. ``replace=True`` replaces a registered method.
    """
    def deco(fn):
        if name in METHODS and not replace:
            raise ValueError(f"Lipschitz method {name!r} is already registered")
        text = description or (fn.__doc__ or "").strip().split("\n")[0]
        METHODS[name] = Method(name, fn, options, text)
        return fn
    return deco


def method_names() -> dict:
    """Registered method names and one-line descriptions."""
    return {name: (m.description if isinstance(m, Method)
                   else (getattr(m, "__doc__", None) or "").strip().split("\n")[0])
            for name, m in METHODS.items()}


def _lower_options(lower):
    if lower is True:
        return LowerOptions()
    if isinstance(lower, LowerOptions):
        return lower
    if isinstance(lower, dict):
        try:
            return LowerOptions(**lower)
        except TypeError as exc:
            raise ModelError(f"bad lower-bound options: {exc}") from exc
    raise ModelError(f"lower must be True, False, a dict or LowerOptions, got {lower!r}")


#: Method of :func:`lipschitz` when none is given.
DEFAULT_METHOD = "auto"


def _check_budget(budget):
    if budget is None:
        return None
    if not isinstance(budget, numbers.Real) or isinstance(budget, bool) or \
            not math.isfinite(float(budget)) or float(budget) <= 0:
        raise ModelError(f"budget must be a positive number of seconds or None, got {budget!r}")
    return float(budget)


def _given(raw, name: str, cls) -> bool:
    """Whether the caller's options set ``name`` (a dict key, or a dataclass value other than
    the class default)."""
    if isinstance(raw, dict):
        return raw.get(name) is not None
    if isinstance(raw, cls):
        return getattr(raw, name) is not None and getattr(raw, name) != cls.defaults().get(name)
    return False


def _auto_options(parsed: AutoOptions, raw, budget, deterministic) -> AutoOptions:
    """The "auto" options with the call's ``budget`` and ``deterministic`` folded in."""
    if budget is not None and _given(raw, "budget", AutoOptions) and parsed.budget != budget:
        raise ModelError(f"give the budget once: budget={budget:g} and options budget "
                         f"{parsed.budget:g}")
    return dataclasses.replace(parsed, budget=parsed.budget if budget is None else budget,
                               deterministic=bool(parsed.deterministic or deterministic))


#: Options that are wall-clock limits (dropped in deterministic mode; refused when given).
_CLOCK_OPTIONS = ("time_limit", "seconds")


def _work_limits(entry: Method, parsed, raw, budget, net, p, region):
    """Deterministic mode for a method other than "auto": its wall-clock options dropped, a
    node limit for "milp" and "bab" (from the budget, else the default time limit; "bab" at
    the cost of one of its nodes on ``net``), an iteration limit for "lipsdp" (its structured
    form's iterations the budget buys)."""
    cls = entry.options
    if cls is None:
        return parsed
    names = cls.names()
    changes = {}
    for key in _CLOCK_OPTIONS:
        if key in names:
            if _given(raw, key, cls):
                raise ModelError(f"deterministic=True replaces wall-clock limits by work limits:"
                                 f" drop the option {key!r} of method {entry.name!r}")
            changes[key] = None
    if "node_limit" in names and getattr(parsed, "node_limit", None) is None:
        seconds = budget if budget is not None else (cls.defaults().get("time_limit") or 60.0)
        if entry.name == "bab":  # its nodes' cost from the network (QA round 5: a node of
            # 20-12x30-1 takes 0.16 s, so 25 nodes a second overran the budget 4 times)
            per = bab_node_seconds(LipschitzProblem(net, math.inf, GlobalRegion()))
            changes["node_limit"] = max(1, int(seconds / per))
        else:
            changes["node_limit"] = max(1, int(MILP_NODES_PER_SECOND * seconds))
    if entry.name == "lipsdp" and "max_iters" in names and parsed.max_iters is None \
            and budget is not None:
        # the structured form's iterations the budget buys (else up to 100 of them: 2-1000-1,
        # 0.55 s each, ran to the safety net of a budget of 3)
        model = lipsdp_model(LipschitzProblem(net, p, region))
        if model["form"] == "structured":
            work = budget / model["functionals"] - LIPSDP_BASE_SECONDS
            changes["max_iters"] = int(min(LIPSDP_MAX_ITERS,
                                           max(1, work // model["iteration_seconds"])))
    return dataclasses.replace(parsed, **changes) if changes else parsed


def _constant(method: str, out: MethodOutput):
    """Which constant a method's upper bound bounds ("formal", "true" or None: unknown)."""
    d = out.details or {}
    if method == "auto":
        best = d.get("best_method")
        if best is None:
            return None
        return _constant(best, MethodOutput(upper=out.upper, details=d.get("best_details") or {}))
    if method == "milp":
        return d.get("constant") or "formal"
    if method == "exact":
        return "true" if d.get("true") is not None else "formal"
    if method == "bab":
        return "true"
    if method in ("product", "interval", "eclipse", "lipsdp", "geolip", "shor", "sdp", "lp", "dp"):
        return "formal"
    return None


def _check_scale(net):
    """Refuse a network whose layer norms overflow float64: every bound and gradient of it
    is inf or NaN (weights of 1e200 gave upper = lower = inf, a lower bound above the true
    constant, 4e400, which float64 cannot hold)."""
    prod, zero = 1.0, False
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        for k, (W, _) in enumerate(net.affine_layers):
            A = abs(W)
            rows = float(np.max(np.asarray(A.sum(axis=1)).ravel()))  # ||W||_inf
            zero |= rows == 0.0
            prod *= rows
            if not math.isfinite(rows) or not math.isfinite(prod) or prod > 1e300:
                raise ModelError(
                    f"the network's scale overflows double precision: the product of the "
                    f"l_inf norms of layers 0..{k} is {prod:.3g}, so its gradients and bounds "
                    "would be inf or NaN; rescale the weights (the Lipschitz constant scales "
                    "with them)")
    if not zero and prod < 1e-300:  # a zero layer: the constant is 0, exactly
        raise ModelError(f"the network's scale underflows double precision: the product of "
                         f"its layers' l_inf norms is {prod:.3g}, so its bounds would round "
                         "to 0; rescale the weights (the Lipschitz constant scales with them)")


#: Layers whose l_inf norm lies within 2^+-NORMALIZE_EXPONENT are left as they are; beyond,
#: the network is normalized (:func:`_normalized`).
NORMALIZE_EXPONENT = 16


def _normalized(net):
    """``(network, scale)``: the network whose bounds times ``scale`` are the given one's.

    The solvers' tolerances are absolute (HiGHS ignores matrix entries below 1e-9 and failed
    with "Model error" on weights of 1e8; LP/SDP margins and the MILP gap are absolute), so a
    network of weights 1e8 or 1e-8 got no bound or a loose one. Layers of extreme l_inf norm
    are rescaled by powers of two (exact in floating point): with positively homogeneous
    activations (ReLU, leaky ReLU, identity: ``a(c z) = c a(z)`` for ``c > 0``) layer ``k``
    by ``2^-e_k`` and its bias by ``2^-(e_1 + ... + e_k)``, which keeps every activation
    pattern and multiplies the function, so every gradient, by ``2^-(e_1 + ... + e_L)``;
    with other activations only the last layer. The witness is unchanged.
    """
    layers = net.affine_layers
    exps = []
    for W, _ in layers:
        norm = float(np.max(np.asarray(abs(W).sum(axis=1)).ravel()))
        exps.append(0 if norm == 0.0 else int(round(math.log2(norm))))
    if all(abs(e) <= NORMALIZE_EXPONENT for e in exps):
        return net, 1.0
    homogeneous = all(a.name in ("relu", "leaky_relu", "identity") for a in net.activations)
    if not homogeneous:
        exps = [0] * (len(layers) - 1) + exps[-1:]
    out, acc = [], 0
    for (W, b), e in zip(layers, exps):
        acc += e
        out.append((W * 2.0 ** -e, b * 2.0 ** -acc))
    log.info("network normalized by 2^%d (layer exponents %s)", acc, exps)
    return Network(out, net.activations, net.output, net.input_shape), 2.0 ** acc


def _quick_lower(net, p, region, seed):
    """The gradient norm at the best of a few points (the region's center and 16 samples,
    moved off no kink: no LP), the lower bound of a search stopped at its hard deadline."""
    return lower_bound(net, p, region, LowerOptions(samples=16, restarts=0, steps=0,
                                                    polish_points=0, smooth_points=0,
                                                    seed=seed, time_limit=0.0))


class _Board:
    """Points a search in a forked worker posts (:func:`lower_bound`'s ``checkpoint``), in a
    :func:`~polylip.runtime.shared_floats` array created before the fork, so that they outlive
    a worker stopped at its hard deadline: the count, then the points. A row torn by the stop
    is only a point to measure again: the values are recomputed here, at points put into the
    region (:func:`~polylip.nn.lower.best_of_points`)."""

    def __init__(self, dim: int, rows: int = CHECKPOINT_POINTS):
        self._count = shared_floats(1)
        self._rows = shared_floats((rows, dim), fill=float("nan"))
        self.rows, self.dim = rows, dim

    def post(self, values, points) -> None:
        X = np.asarray(points, dtype=float)[:self.rows]
        self._count[0] = 0.0
        self._rows[:X.shape[0]] = X
        self._count[0] = float(X.shape[0])

    def points(self) -> np.ndarray:
        k = int(min(max(self._count[0], 0), self.rows))
        return self._rows[:k].copy()


def _bounded_lower(net, p, region, opts):
    """:func:`lower_bound` with ``opts.time_limit`` made hard (see :data:`LOWER_HARD_FACTOR`);
    returns ``(LowerBound, stopped)``. Stopped, the lower bound is the best of the points the
    search had posted (:class:`_Board`; before, they were lost: 784-500-500-10, l_2, budget
    40, 0.750 where budget 20, its search not stopped, gave 1.488) and of a quick one."""
    share = float(opts.time_limit)
    eff = effort(net, opts, p)
    if max(eff.lp, eff.step * eff.restarts) / WORK_RATE <= LOWER_INLINE_STEP * share:
        # every step the search takes between its time checks is short: its own limit holds
        # (and it runs here, as without a budget: the same process, the same figures)
        return lower_bound(net, p, region, opts), False
    hard = max(LOWER_HARD_FACTOR * share, share + LOWER_HARD_GRACE)
    board = _Board(net.input_dim)
    done = call_with_deadline(lambda: lower_bound(net, p, region, opts, checkpoint=board.post),
                              hard)
    if done.status == "done":
        return done.value, False
    if done.status == "error":
        raise done.error
    log.info("lower-bound search stopped at its hard deadline (%.2f s): %s", hard,
             done.message)
    quick = _quick_lower(net, p, region, opts.seed)
    posted = board.points()
    if posted.shape[0]:
        kept = best_of_points(net, p, region, posted, seed=opts.seed)
        if kept.value > quick.value:
            return kept, True
    return quick, True


def _continue_lower(net, p, region, opts, lb, out, end, rel_gap):
    """The further search of :data:`LOWER_CONTINUE_USED` after "auto": ``(LowerBound,
    seconds)`` when it ran, else None. ``end``: the budget's end (``time.perf_counter()``)."""
    share = opts.time_limit
    if share is None or not lb.details.get("seconds", 0.0) >= LOWER_CONTINUE_USED * share:
        return None
    upper = out.upper
    best = max(lb.value, out.lower if out.lower is not None else -math.inf)
    if upper is None or not math.isfinite(upper) or \
            upper - best <= rel_gap * max(1.0, abs(upper)):
        return None
    left = end - time.perf_counter() - AUTO_SOLVER_RESERVE
    more = left / LOWER_CONTINUE_SPLIT  # its hard stop at LOWER_HARD_FACTOR x that, < left
    if more < LOWER_CONTINUE_MIN_SECONDS:
        return None
    t1 = time.perf_counter()
    per_cell = LOWER_CONTINUE_LPS_PER_CELL if opts.lps_per_cell is None else opts.lps_per_cell
    again, _ = _bounded_lower(net, p, region, dataclasses.replace(
        opts, time_limit=more, seed=opts.seed + 1, lps_per_cell=per_cell))
    return again, time.perf_counter() - t1


def _run_method(entry, problem, parsed, deadline, deterministic):
    """The method's output, run in a forked worker stopped at ``deadline`` (a
    :func:`time.perf_counter` reading; None: in this process, no limit)."""
    def work():
        return entry.invoke(problem, parsed) if isinstance(entry, Method) \
            else entry(problem, **parsed)

    if deadline is None:
        return work()
    left = deadline - time.perf_counter()
    if left <= 0:
        return MethodOutput(upper=None, status="time_limit",
                            details={"message": "the budget was spent before the method ran"})
    done = call_with_deadline(work, left)
    if done.status == "done":
        return done.value
    if done.status == "time_limit":
        what = ("the safety deadline of deterministic mode" if deterministic
                else "the budget")
        return MethodOutput(upper=None, status="time_limit",
                            details={"message": f"stopped by {what} after {done.seconds:.3g} s"})
    if done.status == "died":
        return MethodOutput(upper=None, status="failed", details={"message": done.message})
    raise done.error


def lipschitz(net, norm="inf", method=DEFAULT_METHOD, region=None, lower=True, options=None,
              progress=None, *, budget=None, deterministic=False) -> LipschitzResult:
    """Bound the Lipschitz constant of a network, globally or over a region.

    Parameters
    ----------
    net : Network
    norm : {"inf", "2", "1", np.inf, 2, 1}
        Input norm ``p``. A scalar (or margin) output's constant is ``sup ||grad f(x)||_q``
        with ``q`` dual to ``p``; a vector output's is ``sup ||J(x)||_{p->r}`` (``r`` its
        output norm).
    method : str
        A registered method (:data:`METHODS`; the built-ins are :data:`polylip.nn.methods.TABLE`).
        The default, "auto", returns the smallest certified bound its plan's steps reach within
        ``budget`` seconds (default 60, counted from the start of this call, the lower-bound
        search included; see :mod:`polylip.nn.methods.auto`), and at least the "product"
        bound. "product" answers at once; the others are described in the Lipschitz guide.
    region : Region, optional
        :class:`~polylip.nn.regions.GlobalRegion` (default), ``BoxRegion`` or ``BallRegion``.
    lower : bool, dict or LowerOptions
        Run the lower-bound search (default) with these options, or not (False).
    options : dict or the method's options dataclass, optional
        Options of the method, e.g. ``{"budget": 10}`` or ``AutoOptions(budget=10)`` for
        "auto", ``{"max_unstable": 20}`` for "exact". Validated before any work: an unknown
        key, a value of the wrong type or out of range, or options that are neither a dict nor
        the method's dataclass raise :class:`~polylip.errors.ModelError`.
    progress : callable, optional
        ``progress(stage, done, total)`` for long runs.
    budget : float, optional
        Seconds of wall clock for the whole call, every stage included (see the module
        docstring): the lower-bound search gets :data:`LOWER_SHARE` of it (at most
        :data:`LOWER_MAX_SECONDS`), the method runs in a worker stopped at the deadline. For
        "auto" it is the same as ``options={"budget": ...}`` (default 60).
    deterministic : bool
        Work limits instead of wall-clock limits (see the module docstring): the same call
        gives the same result on every run and machine load.

    Returns
    -------
    LipschitzResult

    Examples
    --------
    >>> import numpy as np
    >>> from polylip.nn.network import Network
    >>> net = Network.from_weights([np.array([[2.0, 0.0], [0.0, 1.0]]), np.array([[1.0, 1.0]])])
    >>> res = lipschitz(net, norm=2, method="product")
    >>> round(res.upper, 6), round(res.lower, 6)
    (2.828427, 2.236068)
    >>> best = lipschitz(net, norm=2, budget=10)   # method "auto"
    >>> best.upper <= res.upper, best.details["best_method"] != "product", best.constant
    (True, True, 'formal')
    >>> again = lipschitz(net, norm=2, budget=10, deterministic=True)
    >>> again.upper == lipschitz(net, norm=2, budget=10, deterministic=True).upper
    True
    """
    t0 = time.perf_counter()
    # one BLAS thread for every stage, forked workers included (polylip.runtime.blas_threads:
    # two OpenBLAS threads on a busy 2-core machine made "product" 200x slower)
    with blas_threads():
        return _lipschitz(t0, net, norm, method, region, lower, options, progress, budget,
                          deterministic)


def _lipschitz(t0, net, norm, method, region, lower, options, progress, budget, deterministic):
    """The body of :func:`lipschitz` (``t0``: its start)."""
    net = as_network(net)  # a torch.nn.Module or onnx.ModelProto, read
    if not isinstance(net, Network):
        raise ModelError(f"expected a polylip Network, got {type(net).__name__}")
    p = parse_norm(norm)
    region = as_region(region)
    region.check(net)
    if not isinstance(region, GlobalRegion) and not region.radius > 0:
        # one point has no Lipschitz constant, and no point of differentiability around it
        # when it sits on a kink: a lower bound would be claimed at a kink (it was)
        raise ModelError(f"the region's radius must be > 0, got {region.radius}: a region of "
                         "one point has no Lipschitz constant (net.local_lipschitz(x) is the "
                         "gradient norm at x)")
    _check_scale(net)
    net, scale = _normalized(net)
    if method not in METHODS:
        raise ModelError(f"unknown Lipschitz method {method!r}; available: "
                         f"{', '.join(sorted(METHODS))}")
    entry = METHODS[method]
    budget = _check_budget(budget)
    if not isinstance(deterministic, bool):
        raise ModelError(f"deterministic must be True or False, got {deterministic!r}")
    if isinstance(entry, Method):
        parsed = entry.parse(options)  # checked once, before the lower-bound search
    elif options is None or isinstance(options, dict):
        parsed = dict(options or {})
    else:
        raise ModelError(f"the options of method {method!r} must be a dict, not "
                         f"{type(options).__name__}")
    if isinstance(entry, Method) and entry.check is not None:
        # a method that does not apply to this norm, region or network is refused before any
        # work (before, after the lower-bound search: 1.2-4.2 s at MNIST scale; "lp" with
        # norm 2 built a 784-500-500-10 network's expanded gradient POP for over ten minutes)
        entry.check(LipschitzProblem(net, p, region, methods=METHODS), parsed)
    is_auto = isinstance(entry, Method) and entry.options is AutoOptions
    if is_auto:
        parsed = _auto_options(parsed, options, budget, deterministic)
        budget, deterministic = parsed.budget, parsed.deterministic
    elif deterministic and isinstance(entry, Method):
        parsed = _work_limits(entry, parsed, options, budget, net, p, region)
    deadline = None
    if budget is not None and not is_auto:
        deadline = t0 + budget * (DETERMINISTIC_DEADLINE_FACTOR if deterministic else 1.0)
    lb = None
    lower_seconds, lower_stopped = 0.0, False
    if lower is not False and lower is not None:
        opts = _lower_options(lower)
        if deterministic:
            if opts.time_limit is not None:
                raise ModelError("deterministic=True: the lower-bound search stops by its "
                                 "counted work; drop its time_limit")
            if budget is not None and opts.work is None:
                # the work its share of the budget buys at the loaded rate, as the timed
                # search gets that share in seconds: a larger budget buys a larger search in
                # both modes (before, deterministic mode searched LOWER_WORK whatever the
                # budget: the README's digits MLP, budget 20, 200.77; with this 204.96)
                share = min(LOWER_SHARE * budget, LOWER_MAX_SECONDS)
                opts = dataclasses.replace(opts, work=max(LOWER_WORK, WORK_RATE * share))
        elif budget is not None:
            share = min(LOWER_SHARE * budget, LOWER_MAX_SECONDS)
            opts = dataclasses.replace(opts, time_limit=share if opts.time_limit is None
                                       else min(opts.time_limit, share))
        t1 = time.perf_counter()
        if opts.time_limit is not None and budget is not None and not deterministic:
            lb, lower_stopped = _bounded_lower(net, p, region, opts)
        else:
            lb = lower_bound(net, p, region, opts)
        lower_seconds = time.perf_counter() - t1
    if deadline is not None and not deterministic and isinstance(entry, Method) \
            and entry.options is not None and "time_limit" in entry.options.names():
        # counted after the lower-bound search, which spent part of the budget (before, a
        # method given ``budget - reserve`` before the search overran the deadline by the
        # search's share and was stopped with no bound: "bab", digits 64-100-100-10, 60 s)
        left = deadline - time.perf_counter()
        limit = max(0.8 * left, left - AUTO_SOLVER_RESERVE)  # it stops itself first
        mine = parsed.time_limit
        if limit > 0:  # else the budget is spent: _run_method says so without running it
            parsed = dataclasses.replace(parsed, time_limit=limit if mine is None
                                         else min(mine, limit))
    # the built-in methods see a small box or ball in its own units (polylip.nn.unit_region:
    # the solvers' tolerances are absolute; over a box of radius 1e-11 "milp" and "bab" gave
    # bounds below the constant)
    units = TABLE_ENTRIES.get(method) is entry and needs_units(region)
    unit_net, unit_region = to_unit(net, region) if units else (net, region)
    problem = LipschitzProblem(unit_net, p, unit_region, lower_to_unit(lb, region) if units
                               else lb, progress, started=t0, methods=METHODS)
    continued = None
    if is_auto:  # its own budget and workers
        out = output_from_unit(entry.invoke(problem, parsed), net, region, p) if units \
            else entry.invoke(problem, parsed)
        if lb is not None and not lower_stopped and not deterministic:
            continued = _continue_lower(net, p, region, opts, lb, out, t0 + budget,
                                        parsed.rel_gap)
            if continued is not None and continued[0].value > lb.value:
                lb = continued[0]
    else:
        out = _run_method(entry, problem, parsed, deadline, deterministic)
        if units:
            out = output_from_unit(out, net, region, p)
    upper = None if out.upper is None else float(out.upper)
    lo_val, witness = out.lower, out.witness
    if lb is not None and (lo_val is None or lb.value > lo_val):
        lo_val, witness = lb.value, lb.witness
    lo_val = None if lo_val is None else float(lo_val)
    if scale != 1.0:  # the bounds of the normalized network, in the network's units
        upper = None if upper is None else upper * scale
        lo_val = None if lo_val is None else lo_val * scale
    # tolerances relative to the values (an absolute 1e-9 called a gap of 8x "optimal" on a
    # network of weights 1e-8, whose constant is 4e-24)
    tiny = 1e-300
    if upper is not None and lo_val is not None and upper < lo_val <= upper + 1e-9 * max(
            abs(upper), tiny):
        lo_val = upper  # rounding between two evaluations of the same value
    gap = None if upper is None or lo_val is None else upper - lo_val
    status = out.status
    if gap is not None and gap < -1e-7 * max(abs(upper), abs(lo_val), tiny):
        log.warning("upper bound %.9g lies below the lower bound %.9g", upper, lo_val)
        status = "inconsistent"
    elif status == "ok" and gap is not None and gap <= 1e-9 * max(abs(upper), tiny):
        status = "optimal"
    details = dict(out.details)
    details.setdefault("lower_seconds", lower_seconds)
    if scale != 1.0:
        details.setdefault("scale", scale)
    if lower_stopped:
        details.setdefault("lower_stopped", True)
    if continued is not None:
        details["lower_continued"] = {"value": float(continued[0].value) * scale,
                                      "seconds": continued[1]}
    if lb is not None:
        details.setdefault("lower_evaluations", lb.evaluations)
        details.setdefault("lower_work", lb.details.get("work"))
    return LipschitzResult(upper, lo_val, gap, status, method, time.perf_counter() - t0,
                           witness, p, details, constant=_constant(method, out),
                           budget=budget, deterministic=bool(deterministic),
                           region="global" if isinstance(region, GlobalRegion) else repr(region))

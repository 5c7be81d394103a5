"""The ``lipschitz`` entry point, its result type and the method registry.

A *method* is a function ``fn(problem: LipschitzProblem, **options) -> MethodOutput`` registered
under a name with :func:`register_method`. :func:`lipschitz` builds the problem (network, input
norm, region, interval bounds, lower bound), calls the method, and combines its output with the
lower-bound search into a :class:`LipschitzResult`. New methods (relaxations) plug in without
touching this module::

    from polylip.nn.estimate import register_method, MethodOutput

    @register_method("mine", description="my relaxation")
    def _mine(problem, order=2):
        bound = ...  # uses problem.net, problem.norm, problem.bounds
        return MethodOutput(upper=bound, details={"order": order})

Built-in methods: ``"product"`` (product of layer norms, local version over a region),
``"interval"`` (interval bounds on the Jacobian, Fast-Lip style) and ``"exact"`` (formal and true constants by enumeration, small networks only). The default,
``"auto"``, and the polynomial-optimization methods are registered by
:mod:`polylip.nn.pop_methods`.

Examples
--------
>>> import numpy as np
>>> from polylip.nn.network import Network
>>> net = Network.from_weights([np.array([[1.0, 1.0], [1.0, -1.0]]), np.array([[1.0, 1.0]])])
>>> res = lipschitz(net, norm="inf", method="exact")
>>> res.upper, res.lower, res.status
(2.0, 2.0, 'optimal')
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from functools import cached_property
from typing import Callable

import numpy as np

from polylip.errors import ModelError
from polylip.nn.baselines import interval_bound, layer_norms
from polylip.nn.exact import MAX_LPS, MAX_UNSTABLE, exact_values
from polylip.nn.lower import LowerBound, LowerOptions, lower_bound
from polylip.nn.network import Network
from polylip.nn.norms import dual, parse_norm
from polylip.nn.regions import Region, RegionBounds, as_region

__all__ = ["lipschitz", "LipschitzResult", "LipschitzProblem", "MethodOutput", "METHODS",
           "DEFAULT_METHOD", "register_method", "method_names"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LipschitzProblem:
    """What a method receives: the network, the input norm ``p`` (a float in {1, 2, inf}),
    the region, lazily computed interval bounds, and the lower bound found before the method
    ran (None when switched off).

    ``started`` is the :func:`time.perf_counter` reading when the :func:`lipschitz` call began
    (a method with a time budget, such as "auto", counts from it); ``cache`` is a scratch
    dictionary methods may use to share values they build from the problem (e.g. the gradient
    POPs), never part of the result.
    """

    net: Network
    norm: float
    region: Region
    lower: LowerBound | None = None
    progress: Callable | None = None
    started: float | None = None
    cache: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def dual_norm(self) -> float:
        """``q`` with ``1/p + 1/q = 1``: a scalar output's constant is ``sup ||grad f||_q``."""
        return dual(self.norm)

    @cached_property
    def bounds(self) -> RegionBounds:
        """Interval bound propagation over the region (derivative ranges, stable neurons)."""
        return self.region.propagate(self.net)

    def report(self, stage: str, done: int, total: int) -> None:
        """Forward progress to the caller's callback (if any)."""
        if self.progress is not None:
            self.progress(stage, done, total)


@dataclass
class MethodOutput:
    """What a method returns. ``upper`` only if the method certifies it; ``lower`` only if it
    is attained (e.g. at ``witness``)."""

    upper: float | None = None
    lower: float | None = None
    witness: np.ndarray | None = None
    status: str = "ok"
    details: dict = field(default_factory=dict)


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
        for "product", ``lower_seconds``).
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

    @property
    def relative_gap(self) -> float | None:
        if self.gap is None or not self.upper:
            return None
        return self.gap / abs(self.upper)

    def to_dict(self) -> dict:
        """JSON-ready dictionary (arrays become lists, inf becomes "inf")."""
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
        return {"upper": conv(self.upper), "lower": conv(self.lower), "gap": conv(self.gap),
                "status": self.status, "method": self.method, "seconds": self.seconds,
                "norm": conv(self.norm), "witness": conv(self.witness),
                "details": conv(self.details)}

    def __str__(self) -> str:
        f = (lambda v: "-" if v is None else f"{v:.6g}")
        return (f"{self.method}: upper {f(self.upper)}, lower {f(self.lower)}, gap {f(self.gap)}"
                f", status {self.status}, {self.seconds:.3f}s")


#: Registered methods: name -> function(problem, **options) -> MethodOutput.
METHODS: dict = {}
_DESCRIPTIONS: dict = {}


def register_method(name: str, *, description: str = "", replace: bool = False):
    """Decorator registering ``fn(problem, **options) -> MethodOutput`` under ``name``."""
    def deco(fn):
        if name in METHODS and not replace:
            raise ValueError(f"Lipschitz method {name!r} is already registered")
        METHODS[name] = fn
        _DESCRIPTIONS[name] = description or (fn.__doc__ or "").strip().split("\n")[0]
        return fn
    return deco


def method_names() -> dict:
    """Registered method names and one-line descriptions."""
    return dict(_DESCRIPTIONS)


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


def lipschitz(net, norm="inf", method=DEFAULT_METHOD, region=None, lower=True, options=None,
              progress=None) -> LipschitzResult:
    """Bound the Lipschitz constant of a network, globally or over a region.

    Parameters
    ----------
    net : Network
    norm : {"inf", "2", "1", np.inf, 2, 1}
        Input norm ``p``. A scalar (or margin) output's constant is ``sup ||grad f(x)||_q``
        with ``q`` dual to ``p``; a vector output's is ``sup ||J(x)||_{p->r}`` (``r`` its
        output norm).
    method : str
        A registered method (:data:`METHODS`). The default, "auto", returns the smallest
        certified bound its methods reach within ``options["budget"]`` seconds (default 60,
        counted from the start of this call, the lower-bound search included; see
        :func:`polylip.nn.pop_methods.auto_method`), and at least the "product" bound.
        "product" answers at once; "exact", "shor", "sdp", "lp", "lipsdp" are described in
        the Lipschitz guide.
    region : Region, optional
        :class:`~polylip.nn.regions.GlobalRegion` (default), ``BoxRegion`` or ``BallRegion``.
    lower : bool, dict or LowerOptions
        Run the lower-bound search (default) with these options, or not (False).
    options : dict, optional
        Options of the method, e.g. ``{"budget": 10}`` for "auto", ``{"max_unstable": 20}``
        for "exact".
    progress : callable, optional
        ``progress(stage, done, total)`` for long runs.

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
    >>> best = lipschitz(net, norm=2, options={"budget": 10})   # method "auto"
    >>> best.upper <= res.upper, best.details["best_method"] != "product"
    (True, True)
    """
    t0 = time.perf_counter()
    from polylip.nn.loaders import as_network  # a torch.nn.Module or onnx.ModelProto, read
    net = as_network(net)
    if not isinstance(net, Network):
        raise ModelError(f"expected a polylip Network, got {type(net).__name__}")
    p = parse_norm(norm)
    region = as_region(region)
    region.check(net)
    if method not in METHODS:
        raise ModelError(f"unknown Lipschitz method {method!r}; available: "
                         f"{', '.join(sorted(METHODS))}")
    lb = None
    lower_seconds = 0.0
    if lower is not False and lower is not None:
        opts = _lower_options(lower)
        t1 = time.perf_counter()
        lb = lower_bound(net, p, region, opts)
        lower_seconds = time.perf_counter() - t1
    problem = LipschitzProblem(net, p, region, lb, progress, started=t0)
    options = dict(options or {})
    try:
        out = METHODS[method](problem, **options)
    except TypeError as exc:
        if "unexpected keyword" in str(exc):
            raise ModelError(f"method {method!r} does not accept these options: {exc}") from exc
        raise
    upper = None if out.upper is None else float(out.upper)
    lo_val, witness = out.lower, out.witness
    if lb is not None and (lo_val is None or lb.value > lo_val):
        lo_val, witness = lb.value, lb.witness
    lo_val = None if lo_val is None else float(lo_val)
    if upper is not None and lo_val is not None and upper < lo_val <= upper + 1e-9 * max(
            1.0, abs(upper)):
        lo_val = upper  # rounding between two evaluations of the same value
    gap = None if upper is None or lo_val is None else upper - lo_val
    status = out.status
    if gap is not None and gap < -1e-7 * max(1.0, abs(upper)):
        log.warning("upper bound %.9g lies below the lower bound %.9g", upper, lo_val)
        status = "inconsistent"
    elif status == "ok" and gap is not None and gap <= 1e-9 * max(1.0, abs(upper)):
        status = "optimal"
    details = dict(out.details)
    details.setdefault("lower_seconds", lower_seconds)
    if lb is not None:
        details.setdefault("lower_evaluations", lb.evaluations)
    return LipschitzResult(upper, lo_val, gap, status, method, time.perf_counter() - t0,
                           witness, p, details)


# ---------------------------------------------------------------------------------------------
# built-in methods
# ---------------------------------------------------------------------------------------------
@register_method("product", description="product of layer operator norms (local: IBP-scaled)")
def _product(problem: LipschitzProblem) -> MethodOutput:
    """Product of layer operator norms; over a local region, scaled by the derivative bounds
    from interval bound propagation (stable-off neurons removed)."""
    factors = layer_norms(problem.net, problem.norm, problem.region)
    return MethodOutput(upper=float(np.prod(factors)), details={"factors": factors})


@register_method("interval", description="interval bounds on the Jacobian over the derivative "
                                         "ranges (Fast-Lip style; local: IBP ranges)")
def _interval(problem: LipschitzProblem) -> MethodOutput:
    """Norm of the entrywise largest magnitudes of the interval Jacobian
    (:func:`polylip.nn.baselines.interval_bound`); answers at once."""
    return MethodOutput(upper=interval_bound(problem.net, problem.norm, problem.region,
                                                bounds=problem.bounds))


@register_method("exact", description="exact formal and true constants by enumeration (small "
                                      "networks)")
def _exact(problem: LipschitzProblem, max_unstable: int = MAX_UNSTABLE,
           max_lps: int = MAX_LPS) -> MethodOutput:
    """Exact formal and true constants; ``upper = lower = true`` for piecewise-linear networks,
    ``upper = formal`` otherwise (see :mod:`polylip.nn.exact`)."""
    hint = problem.lower.witness if problem.lower is not None else None
    ev = exact_values(problem.net, problem.norm, problem.region, max_unstable=max_unstable,
                      max_lps=max_lps, hint=hint,
                      progress=lambda d, t: problem.report("patterns", d, t))
    details = {"formal": ev.formal, "true": ev.true, "num_unstable": ev.num_unstable,
               "num_patterns": ev.num_patterns, "num_lps": ev.num_lps,
               "exact_status": ev.status, "exact_seconds": ev.seconds}
    if ev.true is not None:
        return MethodOutput(upper=ev.true, lower=ev.true, witness=ev.witness, status="ok",
                            details=details)
    status = "ok" if ev.status == "formal_only" else ev.status
    return MethodOutput(upper=ev.formal, status=status, details=details)

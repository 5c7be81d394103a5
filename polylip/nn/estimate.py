"""The ``lipschitz`` entry point, its result type and the method registry.

The built-in methods are listed in one table, :data:`polylip.nn.methods.TABLE` (name,
function, options dataclass, description); :data:`METHODS`, the registry :func:`lipschitz`
looks methods up in, starts as that table. :func:`lipschitz` builds the problem (network,
input norm, region, interval bounds, lower bound), validates the options (a dict or the
method's options dataclass), calls the method, and combines its output with the lower-bound
search into a :class:`LipschitzResult`.

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

import logging
import math
import time
from dataclasses import dataclass, field

import numpy as np

from polylip.errors import ModelError
from polylip.nn.loaders import as_network
from polylip.nn.lower import LowerOptions, lower_bound
from polylip.nn.methods import TABLE
from polylip.nn.methods.base import Method
from polylip.nn.network import Network
from polylip.nn.norms import parse_norm
from polylip.nn.problem import LipschitzProblem, MethodOutput
from polylip.nn.regions import as_region

__all__ = ["lipschitz", "LipschitzResult", "LipschitzProblem", "MethodOutput", "METHODS",
           "DEFAULT_METHOD", "register_method", "method_names"]

log = logging.getLogger(__name__)


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


#: The registry: name -> :class:`~polylip.nn.methods.base.Method` (the built-ins of
#: :data:`polylip.nn.methods.TABLE`, then what :func:`register_method` adds). A plain callable
#: ``fn(problem, **options)`` placed here works too.
METHODS: dict = {m.name: m for m in TABLE}


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
    net = as_network(net)  # a torch.nn.Module or onnx.ModelProto, read
    if not isinstance(net, Network):
        raise ModelError(f"expected a polylip Network, got {type(net).__name__}")
    p = parse_norm(norm)
    region = as_region(region)
    region.check(net)
    if method not in METHODS:
        raise ModelError(f"unknown Lipschitz method {method!r}; available: "
                         f"{', '.join(sorted(METHODS))}")
    entry = METHODS[method]
    if isinstance(entry, Method):
        parsed = entry.parse(options)  # checked once, before the lower-bound search
    elif options is None or isinstance(options, dict):
        parsed = dict(options or {})
    else:
        raise ModelError(f"the options of method {method!r} must be a dict, not "
                         f"{type(options).__name__}")
    lb = None
    lower_seconds = 0.0
    if lower is not False and lower is not None:
        opts = _lower_options(lower)
        t1 = time.perf_counter()
        lb = lower_bound(net, p, region, opts)
        lower_seconds = time.perf_counter() - t1
    problem = LipschitzProblem(net, p, region, lb, progress, started=t0, methods=METHODS)
    out = entry.invoke(problem, parsed) if isinstance(entry, Method) else entry(problem, **parsed)
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

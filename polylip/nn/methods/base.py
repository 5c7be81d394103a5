"""What every Lipschitz method is made of: a typed, validated options value
(:class:`MethodOptions`) and an entry of the method table (:class:`Method`).

Each method's options are a frozen dataclass whose fields carry their rule (type and range);
the rules run once, when the value is built, and a bad value raises
:class:`~polylip.errors.ModelError` naming the method, the option and what it accepts. A plain
dict (what the CLI and most callers pass) is converted by :meth:`MethodOptions.coerce`, which
also names the method's options when a key is unknown.

Examples
--------
>>> from dataclasses import dataclass
>>> @dataclass(frozen=True)
... class ToyOptions(MethodOptions):
...     method = "toy"
...     order: int = integer(2, low=1)
...     solver: str = name("auto")
>>> ToyOptions.coerce({"order": 3})
ToyOptions(order=3, solver='auto')
>>> ToyOptions(order=0)
Traceback (most recent call last):
...
polylip.errors.ModelError: method 'toy': order must be an integer >= 1, got 0
>>> ToyOptions.coerce({"degree": 3})
Traceback (most recent call last):
...
polylip.errors.ModelError: method 'toy' does not accept the option 'degree'; its options: order, solver
"""

from __future__ import annotations

import math
import numbers
import os
import sys
import warnings
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, Callable, ClassVar

from polylip.errors import ModelError

_PACKAGE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _caller_level() -> int:
    """The ``stacklevel`` of the first frame outside polylip, for a warning raised by the
    function that calls this one (a fixed level pointed inside polylip once lipschitz() gained
    a frame, and Python hides a DeprecationWarning attributed to a library's line)."""
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(
            _PACKAGE + os.sep):
        frame, level = frame.f_back, level + 1
    return level

__all__ = ["MethodOptions", "Method", "choice", "integer", "number", "flag", "name", "one_of",
           "custom", "DEFAULT_TIME_LIMIT"]

#: Seconds a method that hands its problem to a solver ("lp", "sdp", "shor", "lipsdp",
#: "geolip") gets by default when no budget is given: every run ends (before, they had no limit
#: of their own without a budget; an "lp" of a small CNN ran 100,000 PDLP iterations). Ten
#: minutes: above every solve of the benchmarks; ``time_limit=None`` asks for no limit.
DEFAULT_TIME_LIMIT = 600.0


class _Reject(Exception):
    """A value breaks its rule (internal: turned into a ModelError naming the option)."""


@dataclass(frozen=True)
class _Rule:
    """How one option is checked: ``allowed`` says it in words, ``apply`` returns the value
    normalized (ints to floats for a number, ...) or raises :class:`_Reject`."""

    allowed: str
    apply: Callable[[Any], Any]


def _option(default, allowed: str, apply: Callable[[Any], Any]):
    return field(default=default, metadata={"rule": _Rule(allowed, apply)})


def _is_number(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def number(default, *, low=None, high=None, low_open=False, high_open=False,
           optional=False, allowed=None):
    """A float option in ``[low, high]`` (``low_open``/``high_open``: the end excluded);
    ``optional``: None allowed; ``allowed``: the rule in words (default: from the range)."""
    if allowed is None:
        lo_txt = "" if low is None else (f"> {low:g}" if low_open else f">= {low:g}")
        hi_txt = "" if high is None else (f"< {high:g}" if high_open else f"<= {high:g}")
        if low is not None and high is not None:
            rng = f" in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        else:
            rng = f" {lo_txt or hi_txt}" if (lo_txt or hi_txt) else ""
        allowed = "a number" + rng + (" or None" if optional else "")

    def apply(v):
        if v is None and optional:
            return None
        if not _is_number(v) or not math.isfinite(float(v)):
            raise _Reject
        v = float(v)
        if low is not None and (v <= low if low_open else v < low):
            raise _Reject
        if high is not None and (v >= high if high_open else v > high):
            raise _Reject
        return v
    return _option(default, allowed, apply)


def integer(default, *, low=None, optional=False):
    """An int option ``>= low`` (an integral float is accepted and made an int)."""
    allowed = "an integer" + ("" if low is None else f" >= {low}") + (" or None" if optional else "")

    def apply(v):
        if v is None and optional:
            return None
        if not _is_number(v) or not math.isfinite(float(v)) or float(v) != int(v):
            raise _Reject
        v = int(v)
        if low is not None and v < low:
            raise _Reject
        return v
    return _option(default, allowed, apply)


def _same(a, b) -> bool:
    return type(a) is type(b) and a == b


def choice(default, *allowed):
    """One of ``allowed`` (compared with its type: ``True`` is not ``1``)."""
    text = ", ".join(repr(a) for a in allowed)

    def apply(v):
        if not any(_same(v, a) for a in allowed):
            raise _Reject
        return v
    return _option(default, f"one of {text}", apply)


def one_of(default, words, *, types=(), what=""):
    """One of the strings ``words``, or an instance of ``types`` (e.g. a sparsity pattern);
    ``what`` names the objects in the message."""
    text = ", ".join(repr(w) for w in words) + (f" or {what}" if what else "")

    def apply(v):
        if isinstance(v, str) and v in words:
            return v
        if types and isinstance(v, types):
            return v
        raise _Reject
    return _option(default, f"one of {text}", apply)


def flag(default: bool):
    """True or False."""
    def apply(v):
        if not isinstance(v, bool):
            raise _Reject
        return v
    return _option(default, "True or False", apply)


def name(default: str, what="a solver name such as 'auto', 'cvxopt', 'clarabel' or 'highs'"):
    """A non-empty string (checked further by the stage that uses it, e.g. a backend name)."""
    def apply(v):
        if not isinstance(v, str) or not v.strip():
            raise _Reject
        return v
    return _option(default, what, apply)


def custom(default, allowed: str, accepts: Callable[[Any], bool]):
    """An option ``accepts(value)`` says yes to; ``allowed`` says which values in words."""
    def apply(v):
        if not accepts(v):
            raise _Reject
        return v
    return _option(default, allowed, apply)


@dataclass(frozen=True)
class MethodOptions:
    """Base of every method's options: a frozen dataclass whose fields are checked once, when
    it is built (see the module docstring). Subclasses set ``method`` (the table's name).

    ``renamed`` maps an old option name to its new one: :meth:`coerce` accepts the old one with
    a :class:`DeprecationWarning`.
    """

    method: ClassVar[str] = "?"
    renamed: ClassVar[dict] = {}

    def __post_init__(self):
        for f in fields(self):
            rule = f.metadata.get("rule")
            if rule is None:
                continue
            value = getattr(self, f.name)
            try:
                normal = rule.apply(value)
            except _Reject:
                raise ModelError(f"method {self.method!r}: {f.name} must be {rule.allowed}, "
                                 f"got {value!r}") from None
            if normal is not value:
                object.__setattr__(self, f.name, normal)

    @classmethod
    def names(cls) -> tuple:
        """The option names, in their order."""
        return tuple(f.name for f in fields(cls))

    @classmethod
    def defaults(cls) -> dict:
        return {f.name: f.default for f in fields(cls) if f.default is not MISSING}

    @classmethod
    def allowed(cls) -> dict:
        """Option name -> what it accepts, in words."""
        return {f.name: f.metadata["rule"].allowed for f in fields(cls) if "rule" in f.metadata}

    @classmethod
    def accepts(cls, name: str, value) -> bool:
        """Whether option ``name`` takes ``value`` by its rule (an unknown name: False).

        >>> from polylip.nn.methods.milp import MILPOptions
        >>> MILPOptions.accepts("constant", "true"), MILPOptions.accepts("constant", True)
        (True, False)
        """
        for f in fields(cls):
            if f.name == name:
                rule = f.metadata.get("rule")
                if rule is None:
                    return True
                try:
                    rule.apply(value)
                except _Reject:
                    return False
                return True
        return False

    @classmethod
    def coerce(cls, value) -> "MethodOptions":
        """These options from ``value``: None (the defaults), an instance (as is), or a dict
        (keys checked against :meth:`names`, values by each option's rule)."""
        if value is None:
            return cls()
        if isinstance(value, cls):
            return value
        if isinstance(value, MethodOptions):
            raise ModelError(f"method {cls.method!r} takes {cls.__name__}, not "
                             f"{type(value).__name__} (the options of method {value.method!r})")
        if not isinstance(value, Mapping):
            raise ModelError(f"the options of method {cls.method!r} must be a dict or "
                             f"{cls.__name__}, not {type(value).__name__}: {value!r}")
        given = dict(value)
        for old, new in cls.renamed.items():
            if old in given:
                if new in given:
                    raise ModelError(f"method {cls.method!r}: give {new!r}, not both {new!r} "
                                     f"and its old name {old!r}")
                warnings.warn(f"option {old!r} of method {cls.method!r} is now {new!r}",
                              DeprecationWarning, stacklevel=_caller_level())
                given[new] = given.pop(old)
        known = cls.names()
        unknown = [k for k in given if k not in known]
        if unknown:
            listed = ", ".join(known) if known else "none (it takes no options)"
            raise ModelError(f"method {cls.method!r} does not accept the option "
                             f"{unknown[0]!r}; its options: {listed}")
        return cls(**given)

    def as_dict(self) -> dict:
        """Every option and its value."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class Method:
    """One entry of the method table (:data:`polylip.nn.methods.TABLE`) or of the registry.

    ``run(problem, options) -> MethodOutput`` with ``options`` an instance of the ``options``
    class; a method registered without an options class (``options=None``, a user's function
    through :func:`~polylip.nn.estimate.register_method`) is called
    ``run(problem, **options)`` with the caller's dict. Calling the entry,
    ``method(problem, **options)``, parses the options and runs it: that is how "auto" calls its
    steps.

    ``check(problem, options)``, when given, raises :class:`~polylip.errors.ModelError` when
    the method does not apply to the problem's norm, region or network (or to these options),
    reading nothing costly (not ``problem.bounds``, no gradient POP):
    :func:`~polylip.nn.estimate.lipschitz` calls it before any work, the lower-bound search
    included, and ``run`` calls it first too.
    """

    name: str
    run: Callable
    options: type | None
    description: str
    check: Callable | None = None

    def parse(self, options):
        """The options value ``run`` receives (see :meth:`MethodOptions.coerce`)."""
        if self.options is not None:
            return self.options.coerce(options)
        if options is None:
            return {}
        if isinstance(options, MethodOptions) or not isinstance(options, Mapping):
            raise ModelError(f"the options of method {self.name!r} must be a dict, not "
                             f"{type(options).__name__}")
        return dict(options)

    def invoke(self, problem, options):
        """Run on ``problem`` with ``options`` (a dict, an options instance or None)."""
        parsed = self.parse(options)
        if self.options is not None:
            return self.run(problem, parsed)
        try:
            return self.run(problem, **parsed)
        except TypeError as exc:
            if "unexpected keyword" in str(exc):
                raise ModelError(f"method {self.name!r} does not accept these options: "
                                 f"{exc}") from exc
            raise

    def __call__(self, problem, **options):
        return self.invoke(problem, options)

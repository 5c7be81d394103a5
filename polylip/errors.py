"""The polylip exception hierarchy.

Every error polylip raises on purpose derives from :class:`PolylipError`, so a caller can catch
one class. Subclasses say which stage refused: the model (bad input), the solver (it failed or
is not installed), or a missing optional dependency.
"""

from __future__ import annotations


class PolylipError(Exception):
    """Base class of every error raised by polylip."""


class ModelError(PolylipError, ValueError):
    """The input does not describe a valid problem (non-polynomial expression, unknown variable,
    NaN coefficient, mismatched shapes, ...)."""


class RelaxationError(PolylipError, ValueError):
    """A relaxation cannot be built as asked (order too low, a monomial no certificate can reach,
    a constraint that fits no clique, ...)."""


class EmptySetError(RelaxationError):
    """Building found the constraints inconsistent (an empty polytope, a bound above its
    opposite bound) in floating point: a claim to be certified, not yet an answer
    (:func:`polylip.solve.pipeline.solve_pop` certifies it or says it could not)."""


class SolverError(PolylipError, RuntimeError):
    """A solver is unknown, not installed, or failed in a way that yields no result."""


class MissingDependencyError(PolylipError, ImportError):
    """An optional dependency is needed for this feature and is not installed."""

    def __init__(self, package: str, feature: str, extra: str | None = None):
        hint = f"pip install 'polylip[{extra}]'" if extra else f"pip install {package}"
        super().__init__(f"{feature} needs the optional package '{package}', which is not installed; "
                         f"install it with: {hint}")
        self.package = package
        self.feature = feature


def require(module: str, feature: str, extra: str | None = None):
    """Import an optional module or raise :class:`MissingDependencyError` naming the extra.

    Examples
    --------
    >>> np = require("numpy", "this example")
    """
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingDependencyError(module.split(".")[0], feature, extra) from exc

"""Output functionals of a :class:`~polylip.nn.network.Network`: what scalar the constant is
taken of (:class:`ScalarOutput`, :class:`MarginOutput`), or which norm of the output vector
(:class:`VectorOutput`), and :func:`parse_output` for their text form.

Examples
--------
>>> parse_output("margin:3,5")
MarginOutput(i=3, j=5)
>>> VectorOutput("1").extreme_functionals(2).tolist()
[[1.0, 1.0], [1.0, -1.0]]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from polylip.errors import ModelError
from polylip.nn.norms import MAX_ENUM_DIM, _sign_vertices, dual, parse_norm

__all__ = ["Output", "ScalarOutput", "MarginOutput", "VectorOutput", "parse_output"]


class Output:
    kind = "output"

    def check(self, m: int) -> None:
        """Raise :class:`ModelError` unless the functional fits ``m`` network outputs."""

    def functional(self, m: int):
        """The fixed vector ``u`` (length ``m``) with ``f = u . y``, or None (vector output)."""
        return None


@dataclass(frozen=True)
class ScalarOutput(Output):
    """The network has one output ``y_1``; ``f = y_1`` and ``u = [1]``."""

    kind = "scalar"

    def check(self, m):
        if m != 1:
            raise ModelError(f"a scalar output needs a last layer with 1 output, got {m}; use "
                             "VectorOutput(norm) or MarginOutput(i, j)")

    def functional(self, m):
        return np.ones(1)

    def spec(self) -> str:
        return "scalar"


@dataclass(frozen=True)
class MarginOutput(Output):
    """The margin ``f = y_i - y_j`` between two outputs; ``u = e_i - e_j``."""

    i: int
    j: int
    kind = "margin"

    def check(self, m):
        for k in (self.i, self.j):
            if not (0 <= k < m):
                raise ModelError(f"margin output index {k} out of range for {m} outputs")
        if self.i == self.j:
            raise ModelError("a margin output needs two different classes")

    def functional(self, m):
        u = np.zeros(m)
        u[self.i] += 1.0
        u[self.j] -= 1.0
        return u

    def spec(self) -> str:
        return f"margin:{self.i},{self.j}"


@dataclass(frozen=True)
class VectorOutput(Output):
    """The whole output vector ``y``, measured in the norm ``||.||_r`` (``norm`` = r).

    The Lipschitz constant is ``sup_x ||J(x)||_{p->r}``, which equals the maximum of
    ``||J(x)^T u||_{p*}`` over ``u`` in the unit ball of the dual norm ``||u||_{r*} <= 1``
    (:attr:`dual_norm`). That ball is a polytope for ``r = inf`` (``r* = 1``; extreme points
    ``+-e_i``) and ``r = 1`` (``r* = inf``; extreme points ``{-1, 1}^m``): then the vector
    constant is the maximum of the scalar constants for the functionals of
    :meth:`extreme_functionals`. For ``r = 2`` the ball is round and no finite list exists.
    """

    norm: float = np.inf
    kind = "vector"

    def __post_init__(self):
        object.__setattr__(self, "norm", parse_norm(self.norm))

    @property
    def dual_norm(self) -> float:
        return dual(self.norm)

    def extreme_functionals(self, m: int) -> np.ndarray:
        """Extreme points, up to sign, of ``{u : ||u||_{r*} <= 1}``, as rows of a ``(K, m)``
        array; :class:`ModelError` for ``r = 2`` (not a polytope) or ``r = 1`` with ``m > 16``."""
        if self.norm == np.inf:
            return np.eye(m)
        if self.norm == 1.0:
            if m > MAX_ENUM_DIM:
                raise ModelError(f"output norm 1 needs 2^{m - 1} functionals; supported up to "
                                 f"{MAX_ENUM_DIM} outputs")
            return _sign_vertices(m)
        raise ModelError("the dual unit ball of the l_2 output norm is not a polytope; it has no "
                         "finite list of extreme functionals")

    def spec(self) -> str:
        return f"vector:{'inf' if self.norm == np.inf else int(self.norm)}"


def parse_output(spec) -> Output:
    """Output functional from an object or text: ``"scalar"``, ``"vector:inf"``,
    ``"vector:2"``, ``"margin:3,5"``."""
    if spec is None:
        return None
    if isinstance(spec, Output):
        return spec
    if isinstance(spec, str):
        name, _, rest = spec.strip().lower().partition(":")
        if name == "scalar" and not rest:
            return ScalarOutput()
        if name == "vector":
            return VectorOutput(rest or "inf")
        if name == "margin":
            try:
                i, j = (int(v) for v in rest.split(","))
            except ValueError as exc:
                raise ModelError(f"bad margin output {spec!r}; expected 'margin:i,j'") from exc
            return MarginOutput(i, j)
    raise ModelError(f"unknown output {spec!r}; expected 'scalar', 'vector:inf|2|1' or "
                     "'margin:i,j'")

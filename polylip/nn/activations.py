"""Element-wise activation functions with derivative ranges.

Every activation knows its value, its derivative, the range of its derivative over the whole
real line (:meth:`Activation.derivative_range` with no arguments) and over intervals of inputs
(vectorized over arrays of interval ends, which may be infinite). The relaxations of the
Lipschitz problem only use these ranges, so they are the contract with the rest of polylip.

Conventions
-----------
* All activations here are non-decreasing, so the image of an interval ``[lo, hi]`` is
  ``[f(lo), f(hi)]`` (used by interval bound propagation).
* At a kink (ReLU, leaky ReLU and ELU at 0; ``kinked`` says which activations have one) the
  derivative returned is the left piece's slope; the network is not differentiable there, and
  lower bounds are never measured there. An interval
  that only touches the kink (``hi <= 0`` or ``lo >= 0``) counts as stable: the function is
  linear on it.
* ``derivative_range(lo, hi)`` returns closed intervals ``[dlo, dhi]`` containing every value
  of the derivative on ``[lo, hi]`` (for the smooth activations the exact range).

Examples
--------
>>> import numpy as np
>>> relu = get_activation("relu")
>>> relu.derivative_range()
(0.0, 1.0)
>>> lo, hi = relu.derivative_range(np.array([-2.0, 1.0, -1.0]), np.array([-1.0, 2.0, 1.0]))
>>> lo.tolist(), hi.tolist()
([0.0, 1.0, 0.0], [0.0, 1.0, 1.0])
"""

from __future__ import annotations

import numpy as np

from polylip.errors import ModelError

__all__ = ["Activation", "ReLU", "LeakyReLU", "ELU", "Tanh", "Sigmoid", "Softplus", "Identity",
           "get_activation", "ACTIVATIONS"]


def _arr(x):
    return np.asarray(x, dtype=float)


class Activation:
    """Base class of element-wise activations.

    Subclasses define :meth:`__call__`, :meth:`derivative` and :meth:`_range` (derivative range
    on intervals). ``piecewise_linear`` activations have a finite set of derivative values
    (``derivative_values``), so the exact Lipschitz constant can be found by enumerating
    activation patterns.
    """

    name = "activation"
    piecewise_linear = False
    #: The derivative jumps at 0 (ReLU, leaky ReLU with alpha != 1, ELU with alpha != 1):
    #: the network is not differentiable where such a pre-activation is 0, and a lower bound
    #: is never measured there (:func:`polylip.nn.lower.differentiable_witness`).
    kinked = False

    def __call__(self, z):  # pragma: no cover - abstract
        raise NotImplementedError

    def derivative(self, z):  # pragma: no cover - abstract
        raise NotImplementedError

    def _range(self, lo, hi):  # pragma: no cover - abstract
        raise NotImplementedError

    def _global_range(self) -> tuple[float, float]:
        lo, hi = self._range(np.array([-np.inf]), np.array([np.inf]))
        return float(lo[0]), float(hi[0])

    def derivative_range(self, lo=None, hi=None):
        """Range of the derivative, globally or over intervals of pre-activations.

        Parameters
        ----------
        lo, hi : array_like, optional
            Interval ends (same shape, ``lo <= hi``; ``-inf``/``inf`` allowed). Without them the
            global range is returned.

        Returns
        -------
        (float, float) or (ndarray, ndarray)
            ``(dlo, dhi)``: scalars for the global range, arrays shaped like ``lo`` otherwise.
        """
        if lo is None and hi is None:
            return self._global_range()
        lo, hi = _arr(lo), _arr(hi)
        if lo.shape != hi.shape:
            raise ModelError(f"interval ends have different shapes {lo.shape} and {hi.shape}")
        return self._range(lo, hi)

    def stable_masks(self, lo, hi):
        """Masks of neurons that are stably "on" / "off" on the intervals ``[lo, hi]``.

        Only meaningful for piecewise-linear activations: "on" is the linear piece right of the
        kink (derivative 1), "off" the piece left of it. Smooth activations report no stable
        neurons.
        """
        lo, hi = _arr(lo), _arr(hi)
        z = np.zeros(lo.shape, dtype=bool)
        return z, z.copy()

    @property
    def derivative_values(self) -> tuple[float, ...] | None:
        """The finite set of derivative values (piecewise-linear activations), else None."""
        return None

    #: Convex on the whole line (then the chord over an interval lies above the function).
    convex = False

    def linear_bounds(self, lo, hi):
        """Lines enclosing the activation on each interval ``[lo, hi]`` (finite ends).

        Returns ``(sl, bl, su, bu)`` with ``sl z + bl <= a(z) <= su z + bu`` on the interval.
        From the derivative range ``[dl, dh]`` (valid for any activation): ``a(z) - dl z`` is
        non-decreasing and ``a(z) - dh z`` non-increasing, so the line of slope ``dh``
        through ``(hi, a(hi))`` and the line of slope ``dl`` through ``(lo, a(lo))`` lie below
        ``a``, and the other two pairings above. Intervals mostly right of zero take the lines
        through ``hi``, the others those through ``lo`` (for ReLU: CROWN's choice of lower
        slope 1 or 0). Convex activations use the chord as the upper line.

        Examples
        --------
        >>> sl, bl, su, bu = ReLU().linear_bounds(np.array([-1.0]), np.array([3.0]))
        >>> sl.tolist(), bl.tolist(), su.tolist(), bu.tolist()
        ([1.0], [0.0], [0.75], [0.75])
        """
        lo, hi = _arr(lo).astype(float), _arr(hi).astype(float)
        dl, dh = self.derivative_range(lo, hi)
        al, ah = self(lo), self(hi)
        right = (lo + hi) > 0
        sl = np.where(right, dh, dl)
        bl = np.where(right, ah - dh * hi, al - dl * lo)
        su = np.where(right, dl, dh)
        bu = np.where(right, ah - dl * hi, al - dh * lo)
        if self.convex:
            width = hi - lo
            chord = width > 1e-9 * (1.0 + np.abs(lo) + np.abs(hi))
            slope = np.where(chord, (ah - al) / np.where(chord, width, 1.0), su)
            su = np.where(chord, slope, su)
            bu = np.where(chord, al - slope * lo, bu)
        return sl, bl, su, bu

    def spec(self) -> str:
        """Round-trippable text form, e.g. ``"leaky_relu:0.1"`` (see :func:`get_activation`)."""
        return self.name

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def __eq__(self, other) -> bool:
        return isinstance(other, Activation) and self.spec() == other.spec()

    def __hash__(self) -> int:
        return hash(self.spec())


class _PiecewiseLinear(Activation):
    """Two linear pieces with slopes ``left`` (z < 0) and ``right`` (z > 0)."""

    piecewise_linear = True
    left = 0.0
    right = 1.0

    def __call__(self, z):
        z = _arr(z)
        neg = 0.0 if self.left == 0 else self.left * np.minimum(z, 0.0)
        return np.where(z > 0, self.right * np.maximum(z, 0.0), neg)

    def derivative(self, z):
        z = _arr(z)
        return np.where(z > 0, self.right, self.left)

    def _range(self, lo, hi):
        on, off = self.stable_masks(lo, hi)
        a, b = min(self.left, self.right), max(self.left, self.right)
        dlo = np.where(on, self.right, np.where(off, self.left, a))
        dhi = np.where(on, self.right, np.where(off, self.left, b))
        return dlo.astype(float), dhi.astype(float)

    def stable_masks(self, lo, hi):
        lo, hi = _arr(lo), _arr(hi)
        on = lo >= 0
        off = (hi <= 0) & ~on
        return on, off

    @property
    def derivative_values(self):
        return (self.left, self.right)

    @property
    def kinked(self):
        return self.left != self.right

    @property
    def convex(self):
        return self.left <= self.right


def _check_alpha(name: str, alpha) -> float:
    """The slope parameter of an activation: a finite number >= 0."""
    try:
        alpha = float(alpha)
    except (TypeError, ValueError):
        raise ModelError(f"{name} needs a number alpha, got {alpha!r}") from None
    if not np.isfinite(alpha) or alpha < 0:
        raise ModelError(f"{name} needs a finite alpha >= 0, got {alpha}")
    return alpha


class ReLU(_PiecewiseLinear):
    """``max(z, 0)``; derivative in {0, 1}."""

    name = "relu"


class LeakyReLU(_PiecewiseLinear):
    """``z`` for ``z > 0``, ``alpha * z`` otherwise (``alpha >= 0``)."""

    name = "leaky_relu"

    def __init__(self, alpha: float = 0.01):
        self.alpha = _check_alpha("leaky_relu", alpha)
        self.left = self.alpha

    def spec(self) -> str:
        return f"leaky_relu:{self.alpha!r}"

    def __repr__(self) -> str:
        return f"LeakyReLU(alpha={self.alpha!r})"


class Identity(_PiecewiseLinear):
    """``z``; derivative 1 (every neuron is stably "on")."""

    name = "identity"
    left = 1.0

    def stable_masks(self, lo, hi):
        lo = _arr(lo)
        return np.ones(lo.shape, dtype=bool), np.zeros(lo.shape, dtype=bool)

    @property
    def derivative_values(self):
        return (1.0,)


class ELU(Activation):
    """``z`` for ``z > 0``, ``alpha * (exp(z) - 1)`` otherwise (``alpha >= 0``)."""

    name = "elu"

    def __init__(self, alpha: float = 1.0):
        self.alpha = _check_alpha("elu", alpha)

    @property
    def kinked(self):
        """Slopes ``alpha`` (left) and 1 (right) at 0: a kink unless ``alpha == 1``."""
        return self.alpha != 1.0

    def __call__(self, z):
        z = _arr(z)
        return np.where(z > 0, z, self.alpha * np.expm1(np.minimum(z, 0.0)))

    def derivative(self, z):
        z = _arr(z)
        return np.where(z > 0, 1.0, self.alpha * np.exp(np.minimum(z, 0.0)))

    def _range(self, lo, hi):
        a = self.alpha
        # left piece: alpha * exp(z) on [lo, min(hi, 0)], increasing in z
        has_left = lo <= 0
        left_lo = a * np.exp(np.minimum(lo, 0.0))
        left_hi = a * np.exp(np.minimum(hi, 0.0))
        has_right = hi > 0
        dlo = np.where(has_left, np.where(has_right, np.minimum(left_lo, 1.0), left_lo), 1.0)
        dhi = np.where(has_left, np.where(has_right, np.maximum(left_hi, 1.0), left_hi), 1.0)
        return dlo, dhi

    def stable_masks(self, lo, hi):
        lo = _arr(lo)
        return lo >= 0, np.zeros(lo.shape, dtype=bool)

    @property
    def convex(self):
        return self.alpha <= 1.0

    def spec(self) -> str:
        return f"elu:{self.alpha!r}"

    def __repr__(self) -> str:
        return f"ELU(alpha={self.alpha!r})"


class _Bump(Activation):
    """Activations whose derivative is even, maximal at 0 and decreasing in ``|z|``."""

    def _range(self, lo, hi):
        dl, dh = self.derivative(lo), self.derivative(hi)
        contains0 = (lo <= 0) & (hi >= 0)
        nearest = np.where(np.abs(lo) < np.abs(hi), lo, hi)
        dmax = np.where(contains0, self.derivative(np.zeros_like(lo)), self.derivative(nearest))
        return np.minimum(dl, dh), dmax


class Tanh(_Bump):
    """``tanh(z)``; derivative ``1 - tanh(z)**2`` in (0, 1]."""

    name = "tanh"

    def __call__(self, z):
        return np.tanh(_arr(z))

    def derivative(self, z):
        return 1.0 - np.tanh(_arr(z)) ** 2


def _sigmoid(z):
    z = _arr(z)
    with np.errstate(over="ignore"):
        return np.where(z >= 0, 1.0 / (1.0 + np.exp(-np.abs(z))),
                        np.exp(-np.abs(z)) / (1.0 + np.exp(-np.abs(z))))


class Sigmoid(_Bump):
    """``1 / (1 + exp(-z))``; derivative in (0, 1/4]."""

    name = "sigmoid"

    def __call__(self, z):
        return _sigmoid(z)

    def derivative(self, z):
        s = _sigmoid(z)
        return s * (1.0 - s)


class Softplus(Activation):
    """``log(1 + exp(z))``; derivative ``sigmoid(z)`` in (0, 1), increasing."""

    name = "softplus"
    convex = True

    def __call__(self, z):
        z = _arr(z)
        return np.logaddexp(0.0, z)

    def derivative(self, z):
        return _sigmoid(z)

    def _range(self, lo, hi):
        return _sigmoid(lo), _sigmoid(hi)


#: Known activation names and their constructors (parameters after a colon, e.g. "elu:0.5").
ACTIVATIONS = {
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "elu": ELU,
    "tanh": Tanh,
    "sigmoid": Sigmoid,
    "softplus": Softplus,
    "identity": Identity,
    "linear": Identity,
}


def get_activation(spec) -> Activation:
    """Return an :class:`Activation` from a name, a ``"name:param"`` string or an instance.

    Parameters
    ----------
    spec : str or Activation or tuple
        ``"relu"``, ``"leaky_relu:0.1"``, ``("leaky_relu", 0.1)``, ``"elu:1.0"``, ``"tanh"``,
        ``"sigmoid"``, ``"softplus"``, ``"identity"``; or an :class:`Activation`.

    Raises
    ------
    ModelError
        For an unknown name or a bad parameter.

    Examples
    --------
    >>> get_activation("leaky_relu:0.1")
    LeakyReLU(alpha=0.1)
    """
    if isinstance(spec, Activation):
        return spec
    params: list = []
    if isinstance(spec, (tuple, list)) and spec and isinstance(spec[0], str):
        name, params = spec[0], list(spec[1:])
    elif isinstance(spec, str):
        name, _, rest = spec.strip().partition(":")
        if rest:
            try:
                params = [float(p) for p in rest.split(",")]
            except ValueError as exc:
                raise ModelError(f"bad activation parameter in {spec!r}") from exc
    else:
        raise ModelError(f"unknown activation {spec!r}; expected one of {sorted(ACTIVATIONS)}")
    key = name.strip().lower().replace("-", "_")
    if key not in ACTIVATIONS:
        raise ModelError(f"unknown activation {name!r}; expected one of {sorted(ACTIVATIONS)}")
    cls = ACTIVATIONS[key]
    try:
        return cls(*params)
    except TypeError as exc:
        raise ModelError(f"activation {name!r} takes no parameters {params}") from exc

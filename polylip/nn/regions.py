"""Input regions and interval bound propagation.

A region is where the Lipschitz constant is taken: :class:`GlobalRegion` (all of ``R^n``),
:class:`BoxRegion` (an l_inf ball ``||x - c||_inf <= r``) or :class:`BallRegion` (an l_2 ball
``||x - c||_2 <= r``). :meth:`Region.propagate` runs interval bound propagation (IBP) through a
network and returns, per hidden layer, the pre-activation intervals, the activation derivative
ranges and the masks of stably on / off neurons (:class:`RegionBounds`). Relaxations use the
derivative ranges ``[dlo, dhi]`` in place of the global ones and may fix stable neurons.

IBP: the first layer is bounded exactly over the region (box: ``W c + b +- r ||W_i||_1``;
ball: ``+- r ||W_i||_2``); later layers use interval arithmetic on ``[a(lo), a(hi)]`` (every
activation is non-decreasing). The global region uses the global derivative ranges (all
activation patterns allowed) unless ``GlobalRegion(tighten=True)``.

Examples
--------
>>> import numpy as np
>>> from polylip.nn.network import Network
>>> net = Network.from_weights([np.array([[1.0], [-1.0]]), np.ones((1, 2))], [[2.0, 0.0], None])
>>> rb = BoxRegion([0.0], 0.5).propagate(net)
>>> rb.stable_on[0].tolist(), rb.stable_off[0].tolist()
([True, False], [False, False])
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from polylip.errors import ModelError
from polylip.nn.linear_bounds import crown_layer_bounds

__all__ = ["Region", "GlobalRegion", "BoxRegion", "BallRegion", "RegionBounds", "as_region",
           "interval_affine", "BOUNDS_CACHE_SIZE", "bounds_cached", "remember_bounds"]


@dataclass(frozen=True)
class RegionBounds:
    """Per-hidden-layer bounds from interval bound propagation (lists of 1-D arrays)."""

    pre_lo: list
    pre_hi: list
    deriv_lo: list
    deriv_hi: list
    stable_on: list
    stable_off: list

    @property
    def derivative_bounds(self) -> list:
        return list(zip(self.deriv_lo, self.deriv_hi))

    @property
    def num_stable(self) -> int:
        return int(sum(a.sum() + b.sum() for a, b in zip(self.stable_on, self.stable_off)))

    @property
    def num_unstable(self) -> int:
        """Neurons whose derivative range is not a single value."""
        return int(sum(np.sum(h > lo) for lo, h in zip(self.deriv_lo, self.deriv_hi)))


def _pos_neg(W):
    if sp.issparse(W):
        return W.maximum(0), W.minimum(0)
    return np.maximum(W, 0), np.minimum(W, 0)


def _mv(W, x):
    return np.asarray(W @ x).ravel()


def interval_affine(W, b, lo, hi):
    """Bounds of ``W x + b`` for ``x`` in ``[lo, hi]`` (ends may be infinite)."""
    Wp, Wn = _pos_neg(W)
    lo_f = np.where(np.isfinite(lo), lo, 0.0)
    hi_f = np.where(np.isfinite(hi), hi, 0.0)
    out_lo = _mv(Wp, lo_f) + _mv(Wn, hi_f) + b
    out_hi = _mv(Wp, hi_f) + _mv(Wn, lo_f) + b
    inf_lo = (_mv(Wp, np.isinf(lo).astype(float)) - _mv(Wn, np.isinf(hi).astype(float))) > 0
    inf_hi = (_mv(Wp, np.isinf(hi).astype(float)) - _mv(Wn, np.isinf(lo).astype(float))) > 0
    out_lo[inf_lo] = -np.inf
    out_hi[inf_hi] = np.inf
    return out_lo, out_hi


#: Entries of the per-process cache of :meth:`Region.propagate`.
BOUNDS_CACHE_SIZE = 16
_BOUNDS_CACHE: dict = {}


def _digest(*arrays) -> bytes:
    h = hashlib.blake2b(digest_size=16)
    for a in arrays:
        if a is None:
            h.update(b"none")
        elif sp.issparse(a):
            a = a.tocsr()
            h.update(repr(a.shape).encode())
            for part in (a.data, a.indices, a.indptr):
                h.update(np.ascontiguousarray(part).tobytes())
        else:
            a = np.ascontiguousarray(np.asarray(a, dtype=float))
            h.update(repr(a.shape).encode())
            h.update(a.tobytes())
    return h.digest()


def _bounds_key(region, net) -> tuple:
    """What :meth:`Region.propagate` depends on: the region (kind, bound kind, center,
    radius, its other settings) and the hidden layers with their activations."""
    acts = net.activations
    layers = net.affine_layers[:len(acts)]
    settings = tuple(sorted((k, v) for k, v in vars(region).items()
                            if k not in ("center", "radius") and isinstance(
                                v, (str, int, float, bool, type(None)))))
    return (type(region).__name__, region.bounds, settings,
            _digest(region.center), None if region.radius is None else float(region.radius),
            tuple(a.spec() for a in acts), _digest(*(x for layer in layers for x in layer)))


def bounds_cached(region, net) -> bool:
    """Whether :meth:`Region.propagate` of ``region`` and ``net`` is in this process's cache
    (then it costs nothing)."""
    return _bounds_key(region, net) in _BOUNDS_CACHE


def remember_bounds(region, net, bounds) -> None:
    """Put ``bounds`` (:meth:`Region.propagate` of ``region`` and ``net``, computed in another
    process: a forked worker of method "auto") in this process's cache."""
    key = _bounds_key(region, net)
    if key not in _BOUNDS_CACHE and len(_BOUNDS_CACHE) >= BOUNDS_CACHE_SIZE:
        _BOUNDS_CACHE.pop(next(iter(_BOUNDS_CACHE)))
    _BOUNDS_CACHE[key] = bounds


class Region:
    """Base class of input regions."""

    center = None
    radius = None

    @property
    def dim(self):
        """Input dimension, or None for the global region."""
        return None if self.center is None else self.center.size

    def check(self, net) -> None:
        """Raise :class:`ModelError` if the region does not fit the network's inputs."""
        if self.dim is not None and self.dim != net.input_dim:
            raise ModelError(f"the region has dimension {self.dim} but the network has "
                             f"{net.input_dim} inputs")

    def first_layer_bounds(self, W, b):  # pragma: no cover - abstract
        raise NotImplementedError

    def input_box(self):
        """(lo, hi) of the smallest box containing the region (None for global)."""
        return None

    #: How pre-activations are bounded: "ibp" (interval arithmetic) or, for the box and the
    #: ball, "crown" (linear bound propagation intersected with IBP, the default there).
    bounds = "ibp"

    def _ibp_step(self, net, k, zl_prev, zh_prev):
        """IBP bounds of layer ``k``'s pre-activations from those of layer ``k - 1``."""
        W, b = net.affine_layers[k]
        if k == 0:
            return self.first_layer_bounds(W, b)
        act = net.activations[k - 1]
        return interval_affine(W, b, act(zl_prev), act(zh_prev))

    def propagate(self, net) -> RegionBounds:
        """Bounds on every hidden layer through ``net`` (see module docstring).

        The result is kept (:data:`BOUNDS_CACHE_SIZE` entries a process, keyed by the region's
        kind, center and radius and by the *content* of the hidden layers and activations):
        the bounds do not depend on the output layer or functional, so the margins of one
        center, and the lower-bound search, "product" and the problem's bounds of one call,
        share one propagation (measured: 3 CROWN passes a call, 27 for the 9 margins of a
        center of the 64-100-100-10 digits MLP, 0.11 s each at load 11; now one). The value
        is shared: read it, do not modify it."""
        self.check(net)
        key = _bounds_key(self, net)
        hit = _BOUNDS_CACHE.get(key)
        if hit is not None:
            return hit
        out = self._propagate(net)
        if len(_BOUNDS_CACHE) >= BOUNDS_CACHE_SIZE:
            _BOUNDS_CACHE.pop(next(iter(_BOUNDS_CACHE)))  # the oldest
        _BOUNDS_CACHE[key] = out
        return out

    def _propagate(self, net) -> RegionBounds:
        acts = net.activations
        if self.bounds == "crown":
            los, his = crown_layer_bounds(
                self, net, lambda k, lo, hi: self._ibp_step(net, k, lo, hi))
        else:
            los, his = [], []
            for k in range(len(acts)):
                zl, zh = self._ibp_step(net, k, los[-1] if los else None,
                                        his[-1] if his else None)
                los.append(zl)
                his.append(zh)
        res = {k: [] for k in ("pre_lo", "pre_hi", "deriv_lo", "deriv_hi", "stable_on",
                               "stable_off")}
        for act, zl, zh in zip(acts, los, his):
            dl, dh = act.derivative_range(zl, zh)
            on, off = act.stable_masks(zl, zh)
            for key, val in zip(res, (zl, zh, dl, dh, on, off)):
                res[key].append(np.asarray(val))
        return RegionBounds(**res)

    def derivative_bounds(self, net) -> list:
        """List per hidden layer of ``(dlo, dhi)`` arrays bounding the activation derivative."""
        return self.propagate(net).derivative_bounds

    def stable_neurons(self, net) -> list:
        """List per hidden layer of boolean masks ``(on, off)`` of stable neurons."""
        rb = self.propagate(net)
        return list(zip(rb.stable_on, rb.stable_off))

    def sample(self, n: int, rng, scale: float = 1.0):  # pragma: no cover - abstract
        raise NotImplementedError

    def project(self, X):
        return X

    def contains(self, X, tol: float = 1e-9):
        return np.ones(np.atleast_2d(X).shape[0], dtype=bool)


class GlobalRegion(Region):
    """All of ``R^n``: the global Lipschitz constant.

    By default every neuron gets the global derivative range of its activation (all
    activation patterns allowed: the *formal* constant of LiPopt). With ``tighten=True``,
    interval bound propagation from an unbounded input is used instead, which can prove
    neurons of deeper layers stable (e.g. a positive bias and non-negative weights after a
    ReLU) or cap ranges after bounded activations (tanh, sigmoid).

    Examples
    --------
    >>> GlobalRegion().dim is None
    True
    """

    def __init__(self, tighten: bool = False):
        self.tighten = bool(tighten)

    def propagate(self, net) -> RegionBounds:
        if self.tighten:
            return super().propagate(net)
        res = {k: [] for k in ("pre_lo", "pre_hi", "deriv_lo", "deriv_hi", "stable_on",
                               "stable_off")}
        for act, n in zip(net.activations, net.widths):
            lo, hi = np.full(n, -np.inf), np.full(n, np.inf)
            dl, dh = act.derivative_range(lo, hi)
            on, off = act.stable_masks(lo, hi)
            for key, val in zip(res, (lo, hi, dl, dh, on, off)):
                res[key].append(np.asarray(val))
        return RegionBounds(**res)

    def first_layer_bounds(self, W, b):
        n = W.shape[1]
        return interval_affine(W, b, np.full(n, -np.inf), np.full(n, np.inf))

    def sample(self, n, rng, scale=1.0, dim=None):
        return rng.standard_normal((n, dim)) * scale

    def __repr__(self):
        return f"GlobalRegion(tighten={self.tighten})" if self.tighten else "GlobalRegion()"

    def spec(self):
        return {"kind": "global", "tighten": self.tighten}


def _bounds_kind(bounds, what):
    if bounds not in ("crown", "ibp"):
        raise ModelError(f"{what}: bounds must be 'crown' or 'ibp', got {bounds!r}")
    return bounds


def _center_radius(center, radius, what):
    try:
        c = np.asarray(center, dtype=float).reshape(-1)
        r = float(radius)
    except (TypeError, ValueError) as exc:
        raise ModelError(f"{what}: center must be a numeric vector and radius a number") from exc
    if c.size == 0 or not np.all(np.isfinite(c)):
        raise ModelError(f"{what}: center must be a non-empty finite vector")
    if not np.isfinite(r) or r < 0:
        raise ModelError(f"{what}: radius must be finite and >= 0, got {radius}")
    return c, r


class BoxRegion(Region):
    """The l_inf ball ``{x : ||x - center||_inf <= radius}``.

    ``bounds``: how pre-activations are bounded, ``"crown"`` (default: linear bound
    propagation, :mod:`polylip.nn.linear_bounds`, intersected with IBP) or ``"ibp"``.

    Examples
    --------
    >>> BoxRegion([0.0, 1.0], 0.1).input_box()[1].tolist()
    [0.1, 1.1]
    """

    kind = "box"

    def __init__(self, center, radius, bounds="crown"):
        self.center, self.radius = _center_radius(center, radius, "box region")
        self.bounds = _bounds_kind(bounds, "box region")

    def input_box(self):
        return self.center - self.radius, self.center + self.radius

    def first_layer_bounds(self, W, b):
        mid = _mv(W, self.center) + b
        rad = self.radius * np.asarray(abs(W).sum(axis=1)).ravel()
        return mid - rad, mid + rad

    def sample(self, n, rng, scale=1.0, dim=None):
        return self.center + self.radius * rng.uniform(-1.0, 1.0, (n, self.center.size))

    def project(self, X):
        lo, hi = self.input_box()
        return np.clip(X, lo, hi)

    def contains(self, X, tol=1e-9):
        X = np.atleast_2d(X)
        return np.max(np.abs(X - self.center), axis=1) <= self.radius + tol

    def __repr__(self):
        return f"BoxRegion(dim={self.dim}, radius={self.radius:g})"

    def spec(self):
        return {"kind": "box", "radius": self.radius, "dim": self.dim, "bounds": self.bounds}


class BallRegion(Region):
    """The l_2 ball ``{x : ||x - center||_2 <= radius}`` (``bounds`` as for
    :class:`BoxRegion`)."""

    kind = "ball"

    def __init__(self, center, radius, bounds="crown"):
        self.center, self.radius = _center_radius(center, radius, "ball region")
        self.bounds = _bounds_kind(bounds, "ball region")

    def input_box(self):
        return self.center - self.radius, self.center + self.radius

    def first_layer_bounds(self, W, b):
        mid = _mv(W, self.center) + b
        sq = W.multiply(W) if sp.issparse(W) else W * W
        rad = self.radius * np.sqrt(np.asarray(sq.sum(axis=1)).ravel())
        return mid - rad, mid + rad

    def sample(self, n, rng, scale=1.0, dim=None):
        d = self.center.size
        g = rng.standard_normal((n, d))
        g /= np.maximum(np.linalg.norm(g, axis=1, keepdims=True), 1e-300)
        rad = self.radius * rng.uniform(0.0, 1.0, (n, 1)) ** (1.0 / d)
        return self.center + rad * g

    def project(self, X):
        D = X - self.center
        n = np.linalg.norm(D, axis=1, keepdims=True)
        far = n > self.radius  # only those are scaled (r / n overflowed for r = 1e150)
        f = np.ones_like(n)
        f[far] = self.radius / n[far]
        return self.center + D * f

    def contains(self, X, tol=1e-9):
        X = np.atleast_2d(X)
        return np.linalg.norm(X - self.center, axis=1) <= self.radius * (1 + 1e-12) + tol

    def __repr__(self):
        return f"BallRegion(dim={self.dim}, radius={self.radius:g})"

    def spec(self):
        return {"kind": "ball", "radius": self.radius, "dim": self.dim, "bounds": self.bounds}


def as_region(region) -> Region:
    """``None`` -> :class:`GlobalRegion`; a :class:`Region` is returned unchanged."""
    if region is None:
        return GlobalRegion()
    if isinstance(region, Region):
        return region
    raise ModelError(f"expected a Region (GlobalRegion, BoxRegion, BallRegion), got {region!r}")

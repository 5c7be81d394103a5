"""Bounds on the l_1 norm of a network's gradient over an input box, by linear bound
propagation through the backward pass (the building block of method ``"bab"``).

For ``f(x) = u^T W_{L+1} a(W_L ... a(W_1 x + b_1) ...)`` the gradient is

    grad f(x) = W_1^T v_1,   v_k = s_k * g_k,   g_k = W_{k+1}^T v_{k+1},   g_L = W_{L+1}^T u,

with ``s_k = a'(z_k(x))`` the derivatives at the pre-activations ``z_k(x)``. The local l_inf
Lipschitz constant over a box ``B`` is ``sup ||grad f(x)||_1`` over the points of
differentiability of ``B``. :func:`node_bound` bounds it in three steps (after Shi et al.,
NeurIPS 2022, "Efficiently computing local Lipschitz constants of neural networks via bound
propagation", written here for fixed-functional MLPs with numpy):

1. **Forward** (:func:`forward_bounds`): CROWN on the box, keeping each layer's linear bounds
   ``Al x + cl <= z_k(x) <= Au x + cu`` (not only their intervals), with neurons a branch has
   fixed (``z >= 0`` or ``z <= 0``) clipped to their side and relaxed exactly.
2. **Backward intervals**: the intervals of ``g_k`` and of ``grad`` by interval arithmetic
   (:func:`polylip.nn.baselines.interval_jacobian`'s recursion); their l_1 norm is the
   ``interval`` bound.
3. **Linear bound**: ``sum_i |grad_i|`` is bounded above by the chords of ``|.|`` on the
   intervals (exact where a coordinate's sign is fixed), a linear function of ``v_1``. Going
   down the backward pass, each product ``s_kj g_kj`` is replaced by a McCormick plane (the
   side chosen by its coefficient's sign), ``g_k`` by ``W_{k+1}^T v_{k+1}``, until the bound is
   ``sum_k alpha_k . s_k + const``. For a two-slope activation ``s = left + (right - left) H(z)``
   with ``H`` the step function, and ``H`` is enclosed by lines in ``z`` on ``[zl, zh]``
   (``z / zh <= H <= 1 - z / zl`` scaled by ``theta`` in ``[0, 1]``: ``theta = 1`` when it
   encloses the smaller area), so ``alpha_k . s_k`` becomes linear in ``z_k`` and, through the
   forward linear bounds, in ``x``. Smooth activations keep ``s`` free in its range. The
   maximum of the final linear function ``Lam x + C`` over the box (or, with constraints, by
   an LP turned into a certified bound by its Lagrangian: :func:`certified_max`) is the bound.

Every step is a valid enclosure on the node's part of the box, so the bound is an upper bound
on the true local constant there; the smaller of the interval and the linear bound is
returned. Both are widened by :data:`ROUNDING` times the magnitudes they sum.

Examples
--------
>>> import numpy as np
>>> from polylip.nn.network import Network
>>> net = Network.from_weights([np.array([[1.0, 1.0], [1.0, -1.0]]), np.array([[1.0, 1.0]])],
...                            [np.array([0.0, 0.0]), None])
>>> fwd = forward_bounds(net, np.array([-1.0, -1.0]), np.array([1.0, 1.0]))
>>> res = node_bound(net, net.functional(), fwd)
>>> round(res.interval, 6), res.upper >= 2.0     # the true constant is 2
(3.0, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

from polylip.nn.activations import _PiecewiseLinear
from polylip.runtime import quiet_native_stdout

__all__ = ["Forward", "NodeBound", "forward_bounds", "node_bound", "certified_max", "ROUNDING"]

#: Relative outward margin of every bound (times the magnitudes summed): floating-point error
#: of the sums is far below it (about 1e-16 per term).
ROUNDING = 1e-10


def _dense(W) -> np.ndarray:
    return W.toarray() if sp.issparse(W) else np.asarray(W, dtype=float)


@dataclass
class Forward:
    """CROWN bounds of one node: per hidden layer the intervals ``zl, zh`` and linear bounds
    ``Al x + cl <= z <= Au x + cu`` valid on the node's part of the box ``[lo, hi]``;
    ``empty``: a fixed neuron's interval is empty, the node has no point."""

    lo: np.ndarray
    hi: np.ndarray
    zl: list
    zh: list
    Al: list
    cl: list
    Au: list
    cu: list
    empty: bool = False

    @property
    def center(self):
        return 0.5 * (self.lo + self.hi)

    @property
    def radius(self):
        return 0.5 * (self.hi - self.lo)


def _box_range(A, c, center, radius):
    """``(min, max, magnitude)`` of ``A x + c`` over the box."""
    mid = A @ center + c
    rad = np.abs(A) @ radius
    mag = np.abs(A) @ np.abs(center) + rad + np.abs(c)
    return mid - rad, mid + rad, mag


def _back_substitute(Ws, bs, relax, k):
    """CROWN's linear bounds of ``z_k`` in ``x``: ``W_k a_{k-1} + b_k`` with each activation
    below replaced by its lines ``relax[j] = (sl, bl, su, bu)`` (upper side: positive
    coefficients take the upper line), down to the input. Returns ``(Au, cu, Al, cl, mag)``
    with ``mag`` the magnitudes summed into the constants (for the rounding margin)."""
    up = Ws[k].copy()
    low = Ws[k].copy()
    cu, cl = bs[k].copy(), bs[k].copy()
    mag = np.abs(bs[k]).copy()
    for j in range(k - 1, -1, -1):
        sl, bl, su, bu = relax[j]
        pos, neg = np.maximum(up, 0.0), np.minimum(up, 0.0)
        cu = cu + pos @ bu + neg @ bl
        mag = mag + np.abs(up) @ (np.abs(bu) + np.abs(bl))
        up = pos * su + neg * sl
        pos, neg = np.maximum(low, 0.0), np.minimum(low, 0.0)
        cl = cl + pos @ bl + neg @ bu
        mag = mag + np.abs(low) @ (np.abs(bu) + np.abs(bl))
        low = pos * sl + neg * su
        cu = cu + up @ bs[j]
        cl = cl + low @ bs[j]
        mag = mag + (np.abs(up) + np.abs(low)) @ np.abs(bs[j])
        up = up @ Ws[j]
        low = low @ Ws[j]
    return up, cu, low, cl, mag


def forward_bounds(net, lo, hi, fixed=None, dense=None) -> Forward:
    """CROWN over the box ``[lo, hi]`` with linear bounds kept (see the module docstring).

    ``fixed``: per hidden layer an int array, +1 (the neuron is on its right piece,
    ``z >= 0``), -1 (left piece) or 0 (free). ``dense``: the layers' weights as dense arrays
    (computed when not given).
    """
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    center, radius = 0.5 * (lo + hi), 0.5 * (hi - lo)
    layers, acts = net.affine_layers, net.activations
    Ws = dense if dense is not None else [_dense(W) for W, _ in layers]
    bs = [np.zeros(W.shape[0]) if b is None else np.asarray(b, float)
          for W, (_, b) in zip(Ws, layers)]
    out = Forward(lo, hi, [], [], [], [], [], [])
    relax = []  # (sl, bl, su, bu) per layer below
    for k, act in enumerate(acts):
        W, b = Ws[k], bs[k]
        if k == 0:
            Au, cu, Al, cl = W, b, W, b
            zl, zh, mag = _box_range(W, b, center, radius)
            margin = ROUNDING * mag
            zl, zh = zl - margin, zh + margin
        else:
            Au, cu, Al, cl, scale = _back_substitute(Ws, bs, relax, k)
            _, zh, mag_u = _box_range(Au, cu, center, radius)
            zl, _, mag_l = _box_range(Al, cl, center, radius)
            zh = zh + ROUNDING * (k + 2) * (mag_u + scale)
            zl = zl - ROUNDING * (k + 2) * (mag_l + scale)
            # interval arithmetic from the layer below (never wider than it)
            Wp, Wn = np.maximum(W, 0.0), np.minimum(W, 0.0)
            al, ah = acts[k - 1](out.zl[-1]), acts[k - 1](out.zh[-1])
            il = Wp @ al + Wn @ ah + b
            ih = Wp @ ah + Wn @ al + b
            imag = ROUNDING * (k + 2) * (np.abs(W) @ np.maximum(np.abs(al), np.abs(ah))
                                         + np.abs(b))
            zl, zh = np.maximum(zl, il - imag), np.minimum(zh, ih + imag)
        if fixed is not None:
            f = np.asarray(fixed[k])
            zl = np.where(f > 0, np.maximum(zl, 0.0), zl)
            zh = np.where(f < 0, np.minimum(zh, 0.0), zh)
            if np.any(zl > zh):
                out.empty = True
                zh = np.maximum(zh, zl)
        out.zl.append(zl)
        out.zh.append(zh)
        out.Al.append(Al)
        out.cl.append(cl)
        out.Au.append(Au)
        out.cu.append(cu)
        relax.append(act.linear_bounds(zl, zh))
    return out


@dataclass
class NodeBound:
    """The bounds of one node: ``upper`` (the smaller of ``interval`` and ``linear``), the
    final linear function ``lam x + const`` of the linear bound, per hidden layer the
    branching ``score`` of each neuron (0 for stable ones), the derivative ranges
    ``dlo, dhi`` and ``x``, the point of the box where the final linear function is largest
    (the LP's point with rows): a place to look for large gradients."""

    upper: float
    interval: float
    linear: float
    lam: np.ndarray | None
    const: float
    score: list
    dlo: list
    dhi: list
    x: np.ndarray | None = None


def _mccormick(lam, gl, gu, sl, su, at_su):
    """Coefficients ``(a, b, c)`` with ``lam s g <= a s + b g + c`` for every ``s`` in
    ``[sl, su]`` and ``g`` in ``[gl, gu]``: a McCormick plane on the side of ``lam``'s sign,
    the one exact at ``s = su`` where ``at_su`` (else the one exact at ``s = sl``).

    Upper planes of ``s g``: ``su g + gl s - su gl`` (from ``(su - s)(g - gl) >= 0``, exact
    at ``s = su``) and ``sl g + gu s - sl gu`` (``(s - sl)(gu - g) >= 0``, exact at ``sl``);
    lower planes: ``su g + gu s - su gu`` (exact at ``su``) and ``sl g + gl s - sl gl``.
    """
    pos = lam >= 0
    a = np.where(pos, np.where(at_su, gl, gu), np.where(at_su, gu, gl))
    b = np.where(at_su, su, sl)
    c = np.where(pos, np.where(at_su, -su * gl, -sl * gu), np.where(at_su, -su * gu, -sl * gl))
    return lam * a, lam * b, lam * c


def certified_max(lam, const, lo, hi, G=None, h=None):
    """A certified upper bound on ``max lam . x + const`` over ``{lo <= x <= hi, G x <= h}``.

    Without rows it is the box maximum. With rows, an LP (HiGHS) with an elastic slack gives
    multipliers ``y >= 0`` (any ``y`` works), and the bound is the Lagrangian
    ``max_box (lam - G^T y) . x + y . h + const``, computed in floating point with a margin:
    valid whatever the LP's accuracy, and below the box maximum when the rows cut. Returns
    ``(bound, x)`` with ``x`` the LP's point (or the box's maximizer).
    """
    center, radius = 0.5 * (lo + hi), 0.5 * (hi - lo)

    def box(coef, c0):
        val = coef @ center + np.abs(coef) @ radius + c0
        mag = np.abs(coef) @ (np.abs(center) + radius) + abs(c0)
        return val + ROUNDING * (mag + 1.0)

    x_box = np.where(lam >= 0, hi, lo)
    plain = box(lam, const)
    if G is None or G.shape[0] == 0:
        return plain, x_box
    m, n = G.shape
    scale = max(1.0, float(np.abs(lam).sum()))
    penalty = 1e3 * scale
    # max lam x - penalty * sum(e)  s.t.  G x - e <= h, e >= 0
    c = np.concatenate([-lam, np.full(m, penalty)])
    A = np.hstack([G, -np.eye(m)])
    bounds = list(zip(lo, hi)) + [(0.0, None)] * m
    with quiet_native_stdout():  # HiGHS prints some lines whatever disp says
        res = linprog(c, A_ub=A, b_ub=h, bounds=bounds, method="highs")
    if res.status != 0 or res.ineqlin is None:
        return plain, x_box
    y = np.maximum(-np.asarray(res.ineqlin.marginals, float), 0.0)
    bound = box(lam - G.T @ y, const + float(y @ h))
    mag = float(np.abs(y) @ np.abs(h))
    bound += ROUNDING * mag
    return min(plain, bound), np.asarray(res.x[:n])


def _mostly_high(act, zl, zh):
    """Where the derivative is more likely at the top of its range (the larger part of
    ``[zl, zh]`` on the piece with the larger slope; smooth activations: True)."""
    if not isinstance(act, _PiecewiseLinear):
        return np.ones(zl.shape, dtype=bool)
    right_high = act.right >= act.left
    more_right = zh >= -zl
    return more_right == right_high


def _h_lines(zl, zh):
    """Lines of the step function ``H`` on ``[zl, zh]`` (``zl < 0 < zh``):
    ``H <= 1 - tu z`` and ``H >= tl z`` with ``tu = theta / (-zl)``, ``tl = theta / zh``,
    ``theta = 1`` where that line encloses the smaller area (else 0)."""
    neg = np.maximum(-zl, 1e-300)
    pos = np.maximum(zh, 1e-300)
    tu = np.where(zh < neg, 1.0 / neg, 0.0)
    tl = np.where(neg < zh, 1.0 / pos, 0.0)
    return tu, tl


class _Pass:
    """What the linear passes of one node share: weights, activations, derivative ranges,
    the forward bounds and the (tightened) intervals ``g[k]`` of the backward vectors."""

    def __init__(self, net, u, fwd, Ws):
        self.acts = net.activations
        self.L = len(self.acts)
        self.Ws = Ws
        self.fwd = fwd
        self.dlo, self.dhi = [], []
        for act, zl, zh in zip(self.acts, fwd.zl, fwd.zh):
            lo_, hi_ = act.derivative_range(zl, zh)
            self.dlo.append(np.asarray(lo_, float))
            self.dhi.append(np.asarray(hi_, float))
        self.unstable = [h > lo_ for lo_, h in zip(self.dlo, self.dhi)]
        self.high = [_mostly_high(act, zl, zh) for act, zl, zh in zip(self.acts, fwd.zl, fwd.zh)]
        self.c = Ws[self.L].T @ np.asarray(u, float)
        self.g = [None] * self.L

    def interval_step(self, k):
        """Interval bounds of ``W_k^T (s_k * g_k)`` from the interval of ``g_k``."""
        gl, gu = self.g[k]
        d0, d1 = self.dlo[k], self.dhi[k]
        corners = np.stack([gl * d0, gl * d1, gu * d0, gu * d1])
        vl, vu = corners.min(axis=0), corners.max(axis=0)
        mid, rad = 0.5 * (vl + vu), 0.5 * (vu - vl)
        W = self.Ws[k]
        m_, r_ = W.T @ mid, np.abs(W).T @ rad
        marg = ROUNDING * (k + 2) * (np.abs(W).T @ (np.abs(mid) + rad))
        return m_ - r_ - marg, m_ + r_ + marg

    def rows(self, lam, level, keep=False):
        """Upper bounds of ``lam . v_level`` on the node, one per row of ``lam`` (R x n):
        McCormick planes down the backward pass, the step function's lines, the forward
        linear bounds, the box. With ``keep``: also ``(coef_x, const, score)``."""
        lam = np.atleast_2d(lam)
        R = lam.shape[0]
        const = np.zeros(R)
        mag = np.zeros(R)
        alpha, score = {}, {}
        for k in range(level, self.L):
            if k == self.L - 1:
                alpha[k] = lam * self.c
                score[k] = np.zeros_like(lam)
                break
            gl, gu = self.g[k]
            sa, sb, sc = _mccormick(lam, gl, gu, self.dlo[k], self.dhi[k], self.high[k])
            alpha[k] = sa
            const += sc.sum(axis=1)
            mag += np.abs(sc).sum(axis=1) + np.abs(sa) @ np.maximum(
                np.abs(self.dlo[k]), np.abs(self.dhi[k]))
            score[k] = np.abs(lam) * (self.dhi[k] - self.dlo[k]) * (gu - gl) / 4.0
            lam = sb @ self.Ws[k + 1].T
        fwd = self.fwd
        coef_x = np.zeros((R, fwd.lo.size))
        for k in range(level, self.L):
            al, act, un = alpha[k], self.acts[k], self.unstable[k]
            const += np.where(un, 0.0, al * self.dlo[k]).sum(axis=1)
            mag += np.abs(al) @ np.maximum(np.abs(self.dlo[k]), np.abs(self.dhi[k]))
            if not np.any(un):
                continue
            if isinstance(act, _PiecewiseLinear):
                zl, zh = fwd.zl[k], fwd.zh[k]
                tu, tl = _h_lines(zl, zh)
                gamma = al * (act.right - act.left)  # coefficient on H
                rho = np.where(un, np.where(gamma > 0, -gamma * tu, gamma * tl), 0.0)
                const += np.where(un, al * act.left + np.maximum(gamma, 0.0), 0.0).sum(axis=1)
                score[k] = score[k] + np.where(un, np.abs(gamma) * np.minimum(-zl, zh)
                                               / np.maximum(zh - zl, 1e-300), 0.0)
                pos, neg = np.maximum(rho, 0.0), np.minimum(rho, 0.0)
                coef_x += pos @ fwd.Au[k] + neg @ fwd.Al[k]
                const += pos @ fwd.cu[k] + neg @ fwd.cl[k]
                mag += np.abs(rho) @ (np.abs(fwd.cu[k]) + np.abs(fwd.cl[k]))
            else:
                top = np.maximum(al * self.dlo[k], al * self.dhi[k])
                const += np.where(un, top, 0.0).sum(axis=1)
                score[k] = score[k] + np.where(un, np.abs(al) * (self.dhi[k] - self.dlo[k]), 0.0)
        const = const + ROUNDING * (self.L + 2) * (mag + 1.0)
        center, radius = fwd.center, fwd.radius
        val = coef_x @ center + np.abs(coef_x) @ radius + const
        val = val + ROUNDING * (np.abs(coef_x) @ (np.abs(center) + radius) + 1.0)
        if keep:
            return val, coef_x, const, score
        return val


def node_bound(net, u, fwd: Forward, dense=None, rows=None, tighten=True) -> NodeBound:
    """Upper bound on ``||grad f(x)||_1`` on the node (see the module docstring).

    ``u``: the output functional; ``fwd``: the node's :func:`forward_bounds`; ``rows``:
    ``(G, h)``, linear constraints ``G x <= h`` every point of the node satisfies (the
    maximum of the final linear function is then taken by :func:`certified_max`);
    ``tighten``: bound the backward vectors and the gradient's coordinates by linear passes
    too (intersected with their intervals), not only by interval arithmetic.
    """
    Ws = dense if dense is not None else [_dense(W) for W, _ in net.affine_layers]
    ps = _Pass(net, u, fwd, Ws)
    L = ps.L
    ps.g[L - 1] = (ps.c.copy(), ps.c.copy())
    for k in range(L - 1, -1, -1):
        lo_, hi_ = ps.interval_step(k)
        if tighten:
            W = Ws[k]
            hi_ = np.minimum(hi_, ps.rows(W.T, k))
            lo_ = np.maximum(lo_, -ps.rows(-W.T, k))
            lo_ = np.minimum(lo_, hi_)
        if k > 0:
            ps.g[k - 1] = (lo_, hi_)
        else:
            Gl, Gu = lo_, hi_
    interval = float(np.maximum(np.abs(Gl), np.abs(Gu)).sum()) * (1.0 + ROUNDING)
    # the linear bound: sum_i |grad_i| <= a . grad + const
    cross = (Gl < 0) & (Gu > 0)
    width = np.where(cross, Gu - Gl, 1.0)
    a = np.where(Gl >= 0, 1.0, np.where(Gu <= 0, -1.0, (Gu + Gl) / width))
    c0 = float(np.sum(np.where(cross, -2.0 * Gu * Gl / width, 0.0)))
    c0 += ROUNDING * float(np.abs(Gu).sum() + np.abs(Gl).sum())
    val, coef_x, const, score = ps.rows((Ws[0] @ a)[None, :], 0, keep=True)
    coef_x, const = coef_x[0], float(const[0]) + c0
    if rows is not None:
        linear, x = certified_max(coef_x, const, fwd.lo, fwd.hi, *rows)
    else:
        linear = float(val[0]) + c0
        x = np.where(coef_x >= 0, fwd.hi, fwd.lo)
    linear = max(float(linear), 0.0)
    upper = min(interval, linear)
    if not math.isfinite(upper):
        upper = interval
    sc = [np.where(ps.unstable[k], score[k][0], 0.0) for k in range(L)]
    return NodeBound(upper, interval, linear, coef_x, const, sc, ps.dlo, ps.dhi, x)

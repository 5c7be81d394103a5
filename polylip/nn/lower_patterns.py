"""Local search in activation-pattern space for the lower-bound search (piecewise-linear nets).

For a fixed activation pattern ``P`` the network is affine: the pre-activations are
``z = Z x + c`` (rows of every hidden layer stacked, ``Z`` their Jacobian under ``P``) and
the gradient of the scalar output (or of ``u . y`` for a vector output, ``u`` the dual
functional at the start) is one vector ``g``. Flipping neuron ``i`` (layer ``k``, slope
``s_i`` to the other slope, a change ``delta_i``) changes it by a rank-one term, exactly::

    g' = g + delta_i * beta_i * Z_i        (beta_i = d f / d a_i under P)

so the value ``||g'||_q`` of every one-flip neighbour is computed at once (an ``R x n_0``
array). The search climbs: from a cell, the flips whose value is larger are tried in
decreasing order of value, and a flip is taken only if its pattern is **realized on an open
set of the region**:

1. **Ray test** (no LP): from the current point ``x`` (inside the cell), along the normal of
   neuron ``i``'s hyperplane, the first of the cell's hyperplanes hit (``Z`` rows are affine
   in ``x`` inside the cell) is computed for all candidates with one ``R x n_0 x C`` product.
   If it is ``i``'s (strictly first, and inside the region), the crossing point lies on a
   facet of the cell; past it the pattern is ``P`` with ``i`` flipped, whose later rows are
   a rank-one change of ``Z`` (the forward Jacobian columns from neuron ``i``), so the step
   until the next hyperplane is closed form as well. The point halfway there is the move.
2. **Line moves** (when none passes it): points along the same normals just past and beyond
   the candidate's hyperplane, measured in one batch; a point off every kink whose measured
   value is larger is a move whatever other neurons it flipped (measured with the counted work
   fixed, 1e9 and 3e9 multiply-adds, digits 64-200-200-200-10 l_inf: 172.4 -> 186.9 and
   183.9 -> 198.6; l_2 and 64-100-100-10 unchanged).
3. **LP** (when neither moves, for the best few): the realizability LP of :func:`polylip.nn.exact.realizable` (largest margin by which every constrained
   pre-activation has the pattern's sign, ``x`` in the region; HiGHS), which also finds flips
   that are not facets along the normal. A margin above
   :data:`~polylip.nn.exact.MARGIN_TOL` gives an interior point.

Why this module is long: the three kinds of move share one cell's affine data (its rows,
flip values and forward columns) and one check of every move's point, so they stay together;
split, each would rebuild the cell or re-derive the check.

Either way the move's point is checked by the network's own forward pass (every neuron off its
kink with the claimed sign, or locally constant) and its value is measured there by a forward
and backward pass, never taken from the pattern algebra; a move is kept only if that measured
value is larger. So every value this search returns is a gradient norm at a point of
differentiability of the region.

"Global" (:class:`~polylip.nn.regions.GlobalRegion`) is all of ``R^n``: the ray test has no
region constraint and the LP no variable bounds (its margin is capped at 1, which unbounded
cells reach). A box adds its faces to the ray test and its bounds to the LP; a ball its
quadratic to the ray test and the SOCP of :mod:`polylip.nn.exact`.

Cost (counted, in multiply-adds, the units of :func:`polylip.nn.lower.effort`): a cell costs
its Jacobians ``sum_k n_k n_{k-1} n_0`` plus the flip values ``R n_0``, a ray test of ``C``
candidates ``R n_0 C`` plus the forward columns, an LP the module's ``LP_ENTRY_WORK * R * n_0 +
LP_BASE_WORK``. Measured (digits 64-200-200-200-10 MLP, margin 3-8, load 1-3): an LP of the
600-row pattern takes 0.1-0.3 s with HiGHS (260 simplex iterations), a ray test of 64
candidates about 5 ms; so the ray test carries the search and the LPs are the fallback.

Examples
--------
>>> import numpy as np
>>> from polylip.nn.network import Network
>>> from polylip.nn.regions import GlobalRegion
>>> net = Network.from_weights([np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]),
...                             np.array([[1.0, -1.0, 1.0]])], [np.array([0.0, 0.0, -1.0]), None])
>>> res = pattern_ascent(net, GlobalRegion(), 2, np.array([[-1.0, 2.0]]), work=1e7)
>>> round(res.value, 6)    # pattern (1, 0, 1): gradient (2, 1)
2.236068
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

from polylip.nn.exact import MARGIN_TOL, realizable
from polylip.nn.lower import (ACCEPT_TOL, LP_BASE_WORK, LP_ENTRY_WORK, _kink_layers,
                              _near_kinks, _pairs)
from polylip.nn.norms import dual, vec_norm
from polylip.nn.regions import BallRegion, BoxRegion

__all__ = ["pattern_ascent", "PatternAscent", "dense_entries", "MAX_DENSE_ENTRIES"]

log = logging.getLogger(__name__)

#: Candidates (improving flips, best value first) given to one ray test.
RAY_CANDIDATES = 64
#: LPs tried per cell when no improving flip passes the ray test (the best flips by value, one
#: LP each, until one is realized). Measured at the same counted work (3e9, l_2, 18 cases: the
#: digits MLPs 64-100-100-10 and 64-200-200-200-10 and a random 64-200-200-200-10, six class
#: margins each), 6 against 3: higher on 10, lower on 3 (at most -1.4%), the same on 5, +0.4%
#: on average (digits-200 margin 3-8 31.07 -> 31.39); but on the README's digits MLP
#: 64-16-16-10 (l_inf, margin 3-8, work 6e8 and 3e9) 204.96 -> 201.46: which cells a climb
#: reaches is close to chance. So the default stays 3 and the further search of a budgeted
#: "auto" call (:data:`polylip.nn.estimate.LOWER_CONTINUE_LPS_PER_CELL`) takes 6: the best of
#: two climbs that differ.
LPS_PER_CELL = 3
#: Steps of the line moves, in units of the distance to the candidate's hyperplane.
LINE_STEPS = (1.001, 1.05, 1.3, 2.0)
#: Most entries of a cell's dense data (:func:`dense_entries`, 8 bytes each: 160 MB) the
#: ascent takes on; a larger network (a wide convolutional one) skips it.
MAX_DENSE_ENTRIES = 20_000_000
#: Most non-improving moves in a row (tabu search past a local maximum).
MAX_STALL = 8
#: Work units (multiply-add equivalents of :data:`polylip.nn.lower.WORK_RATE`) per dense
#: flop of a cell's matrix products, and the evaluations a cell's checks cost. Measured on the
#: digits 64-200-200-200-10 MLP at load 12 (one BLAS thread): a cell 1.7 ms, its centering
#: 6.6 ms, its ray test 3.2 ms, the forward-pass checks 4.8 ms, about 16 ms in all, where the
#: count below gives 15 ms at WORK_RATE (the products run at 2-3 GFlop/s, the evaluations
#: of the rest of the search at the 0.3 of WORK_RATE).
FLOP_WORK = 1.0 / 6.0
CELL_EVALUATIONS = 4
#: Damped Newton steps toward the analytic center of a cell before its ray test, and the most
#: inputs it is done for (each step costs ``R n_0^2``: 0.6 GFlop a step at 784-500-500, where
#: a cell without it costs 0.4 GFlop; not measured beyond the digits nets' 64 inputs).
CENTER_STEPS = 6
CENTER_MAX_INPUTS = 256
#: A hyperplane counts as hit strictly first when the next one is this much farther.
RAY_SEPARATION = 1e-9


@dataclass
class PatternAscent:
    """Result of :func:`pattern_ascent`: the best value measured, its point (or None), and
    counts (``moves`` accepted by the ray test and by LP, ``lps``, ``cells``, ``work``)."""

    value: float
    witness: np.ndarray | None
    details: dict = field(default_factory=dict)


def _dense(W):
    return W.toarray() if sp.issparse(W) else np.asarray(W, dtype=float)

class _Cell:
    """The affine data of the activation cell of one point ``x``."""

    def __init__(self, net, x, u, kinked):
        layers, acts = net.affine_layers, net.activations
        Ws = [_dense(W) for W, _ in layers]
        h, M = x, None
        zs, ss, Ms = [], [], []
        for k, act in enumerate(acts):
            W, b = Ws[k], layers[k][1]
            z = W @ h + (0.0 if b is None else b)
            M = W if M is None else W @ M
            s = np.asarray(act.derivative(z), dtype=float)
            zs.append(z)
            ss.append(s)
            Ms.append(M)
            M = s[:, None] * M
            h = act(z)
        betas = [None] * len(acts)
        G = u @ Ws[-1]
        for k in range(len(acts) - 1, -1, -1):
            betas[k] = G  # d f / d a_k under the pattern
            G = (G * ss[k]) @ Ws[k]
        self.g = G
        self.Ws, self.ss, self.x = Ws, ss, x
        self.sizes = [z.size for z in zs]
        self.offsets = np.cumsum([0] + self.sizes)
        self.layer = np.repeat(np.arange(len(zs)), self.sizes)
        self.Z = np.vstack(Ms)
        self.z = np.concatenate(zs)
        self.beta = np.concatenate(betas)
        s = np.concatenate(ss)
        lo = np.concatenate([np.full(n, a.left) for n, a in zip(self.sizes, acts)])
        hi = np.concatenate([np.full(n, a.right) for n, a in zip(self.sizes, acts)])
        self.sg = np.where(self.z > 0, 1.0, -1.0)
        self.delta = np.where(self.sg > 0, lo, hi) - s
        nrm = np.linalg.norm(self.Z, axis=1)
        self.norm = nrm
        kink = np.concatenate([np.full(n, kk) for n, kk in zip(self.sizes, kinked)])
        # locally constant rows (all their inputs inactive): exact zeros up to rounding,
        # measured against the layer's largest row (the witness check is the exact one)
        top = np.maximum.reduceat(nrm, self.offsets[:-1]) if nrm.size else nrm
        self.flat = nrm <= 1e-12 * np.repeat(top, self.sizes) + 1e-300
        self.live = kink & ~self.flat & (self.delta != 0)

    def flip_values(self, q):
        """``||g + delta_i beta_i Z_i||_q`` for every neuron (exact one-flip values)."""
        return vec_norm(self.g[None, :] + (self.delta * self.beta)[:, None] * self.Z, q, axis=1)

    def forward_columns(self, i):
        """``d z_r / d a_i`` for the rows ``r`` of the layers after neuron ``i``'s (zeros
        elsewhere), under the cell's pattern."""
        k = int(self.layer[i])
        j = i - int(self.offsets[k])
        out = np.zeros(self.z.size)
        v = None
        for kk in range(k + 1, len(self.sizes)):
            v = self.Ws[kk][:, j] if v is None else self.Ws[kk] @ (self.ss[kk - 1] * v)
            out[self.offsets[kk]:self.offsets[kk + 1]] = v
        return out

    def pattern(self, i):
        """Derivatives and signs per layer with neuron ``i`` flipped."""
        S = [s.copy() for s in self.ss]
        sg = [self.sg[a:b].copy() for a, b in zip(self.offsets[:-1], self.offsets[1:])]
        k = int(self.layer[i])
        j = i - int(self.offsets[k])
        S[k][j] += self.delta[i]
        sg[k][j] = -sg[k][j]
        return S, sg


def _region_steps(region, x, D):
    """Largest step along each row of ``D`` from ``x`` that stays in the region."""
    if isinstance(region, BoxRegion):
        lo, hi = region.input_box()
        with np.errstate(divide="ignore", invalid="ignore"):
            up = np.where(D > 0, (hi - x) / D, np.inf)
            dn = np.where(D < 0, (lo - x) / D, np.inf)
        return np.maximum(np.minimum(up.min(axis=1), dn.min(axis=1)), 0.0)
    if isinstance(region, BallRegion):
        w = x - region.center
        b = D @ w
        dd = np.maximum(np.sum(D * D, axis=1), 1e-300)
        disc = np.maximum(b * b - dd * (w @ w - region.radius ** 2), 0.0)
        return np.maximum((-b + np.sqrt(disc)) / dd, 0.0)
    return np.full(D.shape[0], np.inf)


def _center(cell, region, iterations=CENTER_STEPS):
    """A point nearer the analytic center of the cell (damped Newton steps on
    ``-sum log(sg_r z_r)`` over the non-flat rows, and the box's faces): from there the
    normals of more of the cell's facets reach them first. The damping ``1 / (1 + lambda)``
    keeps every iterate inside (the barrier is self-concordant); in an unbounded cell it
    moves a bounded distance per step. Returns the point (``cell.x`` if a step fails)."""
    x = cell.x
    keep = ~cell.flat
    N = (cell.sg[:, None] * cell.Z)[keep]
    v0 = (cell.sg * cell.z)[keep]
    if N.shape[0] == 0 or np.any(v0 <= 0):
        return x
    box = region.input_box() if isinstance(region, BoxRegion) else None
    y = x.copy()
    # overflow next to a facet is caught by the finite checks below, not warned about
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(iterations):
            v = v0 + N @ (y - x)
            if np.any(v <= 0):
                return x
            w = 1.0 / v
            grad = -(N.T @ w)
            H = (N * (w * w)[:, None]).T @ N
            if box is not None:
                lo, hi = box
                a, b = y - lo, hi - y
                if np.any(a <= 0) or np.any(b <= 0):
                    return x
                grad += -1.0 / a + 1.0 / b
                H[np.diag_indices_from(H)] += 1.0 / (a * a) + 1.0 / (b * b)
            try:
                step = -np.linalg.solve(H + 1e-12 * np.trace(H) / H.shape[0] * np.eye(H.shape[0]),
                                        grad)
            except np.linalg.LinAlgError:
                return x
            dec = float(-grad @ step)
            if not (np.all(np.isfinite(step)) and np.isfinite(dec)):
                return x  # overflow near a facet: a NaN point would pass the sign checks below
            lam = float(np.sqrt(max(dec, 0.0)))
            y = y + step / (1.0 + lam)
            if lam < 1e-3:
                break
    if not np.all(np.isfinite(y)) or np.any(v0 + N @ (y - x) <= 0):
        return x
    return y


def _ray_moves(cell, region, cands):
    """Points across the facets of ``cands`` (neuron indices) found by the ray test, as
    ``(i, y)`` pairs, in the order of ``cands``."""
    x = cell.x
    N = cell.sg[:, None] * cell.Z            # rows of the cell: N x + sg c >= 0 inside
    vals = cell.sg * cell.z                  # > 0 off the kinks
    D = -N[cands] / cell.norm[cands, None]   # unit directions decreasing sg_i z_i
    rates = N @ D.T                          # R x C
    use = cell.live | ~cell.flat             # flat rows never change sign
    with np.errstate(divide="ignore", invalid="ignore"):
        T = np.where((rates < 0) & use[:, None], vals[:, None] / -rates, np.inf)
    C = len(cands)
    ti = T[cands, np.arange(C)]
    T[cands, np.arange(C)] = np.inf
    other = T.min(axis=0)
    room = _region_steps(region, x, D)
    ok = (ti < other * (1 - RAY_SEPARATION)) & (ti < room * (1 - RAY_SEPARATION)) & (ti > 0)
    out = []
    for c in np.flatnonzero(ok):
        i = int(cands[c])
        d = D[c]
        ycross = x + ti[c] * d
        vcross = vals + ti[c] * rates[:, c]  # the other rows' values at the crossing
        # past the facet: later rows change by the rank-one term delta_i F_r Z_i
        F = cell.forward_columns(i)
        r2 = rates[:, c] + cell.sg * cell.delta[i] * F * (cell.Z[i] @ d)
        r2[i] = np.inf  # its sign flipped: it now grows along d
        with np.errstate(divide="ignore", invalid="ignore"):
            t2 = np.where((r2 < 0) & use, vcross / -r2, np.inf)
        t2[i] = np.inf
        step = min(t2.min(), room[c] - ti[c], ti[c])
        if not np.isfinite(step) or step <= 0:
            step = ti[c] if np.isfinite(ti[c]) else 1.0
        out.append((i, ycross + 0.5 * step * d))
    return out


def _line_move(net, region, p, cell, cands, threshold, measured):
    """Where the ray test fails (another hyperplane first along a candidate's normal): points
    along the normals of ``cands`` just past their hyperplane's crossing (as if the cell
    were the only one) and farther, :data:`LINE_STEPS` times that distance, measured in one
    batch; the best above ``threshold`` that is off every kink (its own pattern, whatever
    other neurons it flipped) is the move ``(x, value, u)``, else None."""
    N = cell.sg[:, None] * cell.Z
    D = -N[cands] / cell.norm[cands, None]
    t = (cell.sg * cell.z)[cands] / cell.norm[cands]
    Y = (cell.x[None, None, :] + (t[:, None] * np.asarray(LINE_STEPS))[:, :, None]
         * D[:, None, :]).reshape(-1, cell.x.size)
    Y = region.project(Y)
    vals = _pairs(net, Y, p)[0]
    for j in np.argsort(-vals, kind="stable")[:4]:
        if vals[j] <= threshold:
            break
        y = Y[j]
        got = measured(y, [np.where(z[0] > 0, 1.0, -1.0)
                           for z in net.pre_activations(y[None, :])])
        if got is not None and got[0] > threshold:
            return (y,) + got
    return None


def _lp_move(cell, i, region, rows, time_limit=None):
    """The largest-margin point of the pattern of ``cell`` with neuron ``i`` flipped
    (the realizability LP of :func:`polylip.nn.exact.realizable`, its rows built from the
    cell's by the rank-one change instead of from the weights): ``(margin, x)``, or
    ``(-inf, None)`` when infeasible. ``rows``: the neurons it constrains (a boolean mask).
    HiGHS's dual simplex without presolve (measured on the 600 rows x 64 inputs of the
    digits 64-200-200-200-10 MLP: 0.1-0.2 s against 0.2-0.35 s through ``realizable``, whose
    presolve and dense-to-sparse conversion took the difference; generating the rows in
    rounds from the nearest ones, 3.5 LPs of 50 ms a move, gained nothing)."""
    if isinstance(region, BallRegion):
        return None  # the SOCP of exact.realizable: the caller's fallback
    c = cell.z - cell.Z @ cell.x
    F = cell.delta[i] * cell.forward_columns(i)
    Z = cell.Z + F[:, None] * cell.Z[i][None, :]
    c = c + F * c[i]
    sg = cell.sg.copy()
    sg[i] = -sg[i]
    Z, c, sg = Z[rows], c[rows], sg[rows]
    nr = np.linalg.norm(Z, axis=1)
    flat = nr <= 1e-12 * (1.0 + np.abs(c))
    if np.any(flat & (sg * c < -1e-12)):
        return -np.inf, None
    keep = ~flat
    A = -(sg[keep, None] * Z[keep]) / nr[keep, None]
    b = sg[keep] * c[keep] / nr[keep]
    n = cell.x.size
    cost = np.zeros(n + 1)
    cost[-1] = -1.0
    if isinstance(region, BoxRegion):
        lo, hi = region.input_box()
        bounds = np.column_stack([np.r_[lo, -np.inf], np.r_[hi, 1.0]])
    else:
        bounds = np.column_stack([np.full(n + 1, -np.inf), np.r_[np.full(n, np.inf), 1.0]])
    A = np.hstack([A, np.ones((A.shape[0], 1))])
    opts = {"presolve": False}
    if time_limit is not None:  # an LP of a 784-500-500 net can take 5-20 s on a busy machine
        opts["time_limit"] = max(float(time_limit), 1e-3)
    res = linprog(cost, A_ub=sp.csc_matrix(A), b_ub=b, bounds=bounds, method="highs-ds",
                  options=opts)
    if res.status != 0:  # infeasible, stopped, or failed (which proves nothing: not realized)
        return -np.inf, None
    return float(-res.fun), res.x[:n]


def _realizes(net, y, sg_target, kinked, region):
    """True when the forward pass at ``y`` has the target signs on every kinked neuron that
    is not locally constant there, each off its kink by more than :data:`ACCEPT_TOL` of its
    scale ``|W| |h| + |b|`` (the check of :func:`polylip.nn.lower.differentiable_witness`),
    and ``y`` lies in the region."""
    if region.center is not None and not region.contains(
            y[None, :], tol=1e-12 * (1.0 + np.abs(region.center).max()))[0]:
        return False
    sy, near, flats = _near_kinks(net, y, ACCEPT_TOL, full=True)
    if any(n.size for n in near):
        return False
    return all(fl is None or not kk or not np.any((a != b) & ~fl)
               for a, b, fl, kk in zip(sy, sg_target, flats, kinked))


def pattern_ascent(net, region, p, X, *, work, deadline=None, unstable=None,
                   max_lps=None, lps_per_cell=LPS_PER_CELL, max_stall=MAX_STALL,
                   center=True) -> PatternAscent:
    """Climb in activation-pattern space from each row of ``X`` (see the module docstring).

    Parameters
    ----------
    net : Network
        Piecewise-linear activations.
    region : Region
    p : float
        Input norm (the value is ``||g||_q``, ``q`` dual to ``p``).
    X : ndarray (N, n_0)
        Starting points (the best witnesses of the earlier phases), in the region.
    work : float
        Multiply-adds it may spend (counted before each piece runs).
    deadline : float, optional
        ``time.perf_counter()`` value after which it stops.
    unstable : list of index arrays, optional
        Neurons the LPs constrain per layer (the others are stable over the region); default
        all.
    max_lps : int, optional
        Most LPs in all (None: as many as ``work`` pays for).
    lps_per_cell : int
        LPs tried per cell when the ray test finds no improving flip.
    max_stall : int
        Most moves in a row that do not increase the value (to a realizable pattern not seen
        from this start, the best one the ray test finds; 0: a plain ascent).
    center : bool
        Move toward the cell's analytic center before its ray test (:func:`_center`).

    Returns
    -------
    PatternAscent
    """
    q = dual(p)
    kinked = _kink_layers(net)
    stats = {"ray_moves": 0, "line_moves": 0, "lp_moves": 0, "sideways": 0, "lps": 0,
             "cells": 0, "rejected": 0, "work": 0.0}
    if dense_entries(net) > MAX_DENSE_ENTRIES:  # memory before work: dense cell data
        log.info("pattern ascent skipped: %d dense entries", dense_entries(net))
        return PatternAscent(-np.inf, None, dict(stats, skipped="size"))
    constrain = unstable
    if constrain is None:
        constrain = [np.arange(n) if kk else np.zeros(0, dtype=int)
                     for n, kk in zip(net.widths, kinked)]
    rows = float(sum(c.size for c in constrain))
    mask = np.zeros(int(sum(net.widths)), dtype=bool)
    for k, (off, c) in enumerate(zip(np.cumsum([0] + list(net.widths)), constrain)):
        mask[off + np.asarray(c, dtype=int)] = True
    lp_cost = LP_ENTRY_WORK * rows * net.input_dim + LP_BASE_WORK
    center = center and net.input_dim <= CENTER_MAX_INPUTS
    cell_cost = _cell_cost(net, center)
    evaluation = 2.0 * float(sum(np.size(W) if not sp.issparse(W) else W.nnz
                                 for W, _ in net.affine_layers))
    spent = 0.0
    best_v, best_x = -np.inf, None

    def out_of_time(cost):
        return spent + cost > work or (deadline is not None and time.perf_counter() > deadline)

    def measured(y, sgs):
        """The value measured at ``y`` if it realizes the signs ``sgs`` (else None)."""
        if not _realizes(net, y, sgs, kinked, region):
            stats["rejected"] += 1
            return None
        vy, Uy, _ = _pairs(net, y[None, :], p)
        return float(vy[0]), Uy[0]

    def key(sg):
        return np.packbits(sg[mask] > 0).tobytes()

    for x0 in np.atleast_2d(X):
        x = np.asarray(x0, dtype=float)
        got = measured(x, [np.where(z[0] > 0, 1.0, -1.0)
                           for z in net.pre_activations(x[None, :])])
        v0, U0, _ = _pairs(net, x[None, :], p)
        v, u = (float(v0[0]), U0[0]) if got is None else got  # on a kink: not counted
        if got is not None and v > best_v:
            best_v, best_x = v, x.copy()
        visited, stall = set(), 0
        while True:
            if out_of_time(cell_cost):
                break
            cell = _Cell(net, x, u, kinked)
            cell.live &= mask
            spent += cell_cost
            stats["cells"] += 1
            visited.add(key(cell.sg))
            if center:
                y = _center(cell, region)
                if y is not x:
                    vy = float(_pairs(net, y[None, :], p)[0][0])
                    if abs(vy - v) <= 1e-9 * max(1.0, v):  # same cell (its value, measured)
                        cell.z = cell.z + cell.Z @ (y - x)
                        cell.x = x = y
            vals = cell.flip_values(q)
            fresh = cell.live.copy()
            for i in np.flatnonzero(fresh):  # tabu: patterns seen from this start
                sg = cell.sg.copy()
                sg[i] = -sg[i]
                if key(sg) in visited:
                    fresh[i] = False
            threshold = v * (1 + 1e-12) + 1e-15
            better = np.flatnonzero(fresh & (vals > threshold))
            order = better[np.argsort(-vals[better], kind="stable")]
            moved = None
            for i, y in _ray_moves(cell, region, order[:RAY_CANDIDATES]):
                got = measured(region.project(y[None, :])[0], cell.pattern(i)[1])
                if got is not None and got[0] > threshold:
                    moved = (region.project(y[None, :])[0],) + got
                    stats["ray_moves"] += 1
                    break
            line_cost = FLOP_WORK * evaluation * len(LINE_STEPS) * min(order.size,
                                                                        RAY_CANDIDATES)
            if moved is None and order.size and not out_of_time(line_cost):
                spent += line_cost
                moved = _line_move(net, region, p, cell, order[:RAY_CANDIDATES], threshold,
                                   measured)
                stats["line_moves"] += moved is not None
            if moved is None:
                for i in order[:lps_per_cell]:
                    if out_of_time(lp_cost) or (max_lps is not None
                                                and stats["lps"] >= max_lps):
                        break
                    spent += lp_cost
                    stats["lps"] += 1
                    S, sgs = cell.pattern(int(i))
                    left = None if deadline is None else deadline - time.perf_counter()
                    got = _lp_move(cell, int(i), region, mask, left)
                    if got is None:
                        got = realizable(net, S, region, unstable=constrain, signs=sgs,
                                         time_limit=left)
                    eps, y = got
                    if eps <= MARGIN_TOL or y is None:
                        continue
                    y = region.project(y[None, :])[0]
                    got = measured(y, sgs)
                    if got is not None and got[0] > threshold:
                        moved = (y,) + got
                        stats["lp_moves"] += 1
                        break
            if moved is None and stall < max_stall:
                # a local maximum of the realizable flips tried: the best realizable flip to a
                # pattern not seen yet (tabu search), to cross a ridge of lower cells
                rest = np.flatnonzero(fresh & (vals <= threshold))
                order = rest[np.argsort(-vals[rest], kind="stable")]
                for i, y in _ray_moves(cell, region, order[:RAY_CANDIDATES]):
                    y = region.project(y[None, :])[0]
                    got = measured(y, cell.pattern(i)[1])
                    if got is not None:
                        moved = (y,) + got
                        stats["sideways"] += 1
                        stall += 1
                        break
            elif moved is not None:
                stall = 0
            if moved is None:
                break
            x, v, u = moved
            if v > best_v:
                best_v, best_x = v, x.copy()
    stats["work"] = spent
    return PatternAscent(float(best_v), best_x, stats)


def dense_entries(net):
    """Entries of a cell's dense data: the weights as dense arrays and the rows ``R x n_0``."""
    return int(sum(W.shape[0] * W.shape[1] for W, _ in net.affine_layers)
               + sum(net.widths) * net.input_dim)


def _cell_cost(net, center=True):
    """Counted work of one cell (see the module docstring): its Jacobians, the centering's
    Newton steps, the ray test and the witness checks, as dense flops times
    :data:`FLOP_WORK`, plus :data:`CELL_EVALUATIONS` evaluations of the local constant."""
    n0 = net.input_dim
    R = float(sum(net.widths))
    sizes = [n0] + list(net.widths)
    jac = float(sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))) * n0
    flops = jac + (CENTER_STEPS * R * n0 * n0 if center else 0.0) + R * n0 * RAY_CANDIDATES
    evaluation = 2.0 * float(sum(np.size(W) if not sp.issparse(W) else W.nnz
                                 for W, _ in net.affine_layers))
    return FLOP_WORK * flops + CELL_EVALUATIONS * evaluation


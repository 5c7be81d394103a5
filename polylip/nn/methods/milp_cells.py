"""Cells of activation patterns for method ``"milp"``'s true local constant
(:func:`polylip.nn.methods.milp._solve_true`): which patterns hold on a set with interior in the
region, and the rows that exclude the others from a :class:`FormalMILP`.

* :func:`cell`: the margin LP of method "exact" (:func:`polylip.nn.exact.realizable`), layer
  by layer, with the LP's multipliers naming a small part of a pattern without interior.
* :func:`cut_row`: the no-good row excluding every pattern that agrees with such a part.
* :func:`coincident`: neurons of one layer with proportional rows, whose binaries are tied
  (``d_j = d_i`` or ``1 - d_i``); :func:`repeated_rows`: does a network have any.
* :func:`add_rows`: a model with those rows and an objective cutoff.

Examples
--------
>>> import numpy as np
>>> from polylip.nn import BoxRegion, Network
>>> net = Network.from_weights([np.array([[1.0], [-1.0]]), np.ones((1, 2))])
>>> cell(net, BoxRegion([0.0], 1.0), [np.array([1.0, 1.0])], [np.arange(2)])[0]  # x > 0, -x > 0
False
>>> coincident(net, [np.arange(2)])
[(0, 0, 1, False)]
"""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

from polylip.errors import SolverError
from polylip.nn.exact import LARGE_BOX, MARGIN_TOL, realizable
from polylip.nn.methods.milp_model import FormalMILP, with_rows
from polylip.nn.regions import BallRegion
from polylip.runtime import quiet_native_stdout
from polylip.solve.sdp import drop_small_entries

__all__ = ["cell", "cut_row", "coincident", "repeated_rows", "add_rows", "affine_maps",
           "margin_lp", "CellTimeLimit"]


class CellTimeLimit(SolverError):
    """A pattern's cell could not be decided before the deadline (its LP was stopped): nothing
    is known about it, so it may be neither cut nor counted."""


def affine_maps(net, S):
    """``z_k(x) = A_k x + c_k`` on the cell of the pattern ``S`` (derivatives per layer)."""
    out, A, c = [], None, None
    for k in range(net.num_hidden):
        W, b = net.affine_layers[k]
        Wd = W.toarray() if sp.issparse(W) else np.asarray(W, float)
        bb = np.zeros(Wd.shape[0]) if b is None else np.asarray(b, float)
        if A is None:
            A, c = Wd.copy(), bb.copy()
        else:
            A, c = Wd @ (S[k - 1][:, None] * A), Wd @ (S[k - 1] * c) + bb
        out.append((A, c))
    return out


def margin_lp(rows, rhs, lo, hi, time_limit: float | None = None):
    """``max eps`` s.t. ``rows x + eps <= rhs``, ``lo <= x <= hi``, ``eps <= 1`` (HiGHS):
    ``(eps, x, y)`` with ``y >= 0`` the rows' multipliers. ``time_limit`` (seconds) stops
    HiGHS: then :class:`CellTimeLimit`.

    HiGHS ignores entries ``|a| <= 1e-9``; they are dropped here and each row widened by what
    they contribute over the box (:func:`polylip.solve.sdp.drop_small_entries`), so ``eps`` is
    never below the true margin: a pattern is never cut for a row HiGHS changed."""
    m, n = rows.shape
    width = np.asarray(hi, float) - np.asarray(lo, float)
    if np.all(np.isfinite(width)) and np.max(width, initial=0.0) > 2 * LARGE_BOX:
        # first without the box (as polylip.nn.exact._margin_unit): HiGHS answered "model
        # status Unknown" on pattern LPs with bounds of 1e12 (method "bab", QA round 4). A
        # point of the cell in the box is feasible for the boxed LP: its margin is the boxed
        # optimum; no margin without the box is none with it (the multipliers say which rows)
        free = np.full(n, -np.inf), np.full(n, np.inf)
        eps, x, y = margin_lp(rows, rhs, *free, time_limit)
        if not eps > MARGIN_TOL or (np.all(x >= lo) and np.all(x <= hi)):
            return eps, x, y
    A, _, b = drop_small_entries(np.hstack([rows, np.ones((m, 1))]), np.full(m, -np.inf),
                                 np.asarray(rhs, float), np.r_[lo, -np.inf], np.r_[hi, 1.0])
    if time_limit is not None and time_limit <= 0:
        raise CellTimeLimit("no time left for a pattern LP")
    options = {} if time_limit is None else {"time_limit": float(time_limit)}
    with quiet_native_stdout():
        res = linprog(np.r_[np.zeros(n), -1.0], A_ub=A, b_ub=b,
                      bounds=list(zip(lo, hi)) + [(None, 1.0)], method="highs",
                      options=options)
    if res.status == 1 and time_limit is not None:
        raise CellTimeLimit(f"a pattern LP stopped at its time limit: {res.message}")
    if res.status != 0:
        raise SolverError(f"HiGHS failed on a pattern LP: {res.message}")
    return -float(res.fun), res.x[:n], -np.asarray(res.ineqlin.marginals, float)


def cell(net, region, S, unstable, deadline: float | None = None):
    """Is the pattern ``S`` realized on a set with interior in the region?

    ``deadline`` (a :func:`time.perf_counter` value): its LPs get the time left, and
    :class:`CellTimeLimit` is raised when it passes before the answer is known.

    The margin LP of :func:`polylip.nn.exact.realizable` (the same test and threshold
    :data:`~polylip.nn.exact.MARGIN_TOL` as method "exact"), layer by layer. Returns
    ``(True, x)`` with ``x`` the point of largest margin, or ``(False, cut)`` with ``cut`` a
    dict ``{(layer, neuron): sign}``, part of the pattern whose cell is already empty: the
    neurons of the LP's multipliers (their LP alone has no positive margin; checked by a
    second LP) and every unstable neuron of the layers before the deepest of them (which fix
    its affine map). Every pattern agreeing with ``cut`` has no interior either.
    """
    lo, hi = region.input_box()
    rows, rhs, who = [], [], []
    x = None

    def left():
        return None if deadline is None else deadline - time.perf_counter()

    maps = affine_maps(net, S)

    def sign(kk, j):
        return 1.0 if S[kk][j] == net.activations[kk].right else -1.0

    def before(k):
        return {(kk, int(j)): sign(kk, j) for kk in range(k) for j in unstable[kk]}

    def feeding(rows_of):
        """The unstable neurons of earlier layers whose slopes enter the affine maps of the
        given rows ({layer: neurons}): the neurons with a nonzero weight into them, and the
        neurons feeding those, down to the first layer."""
        out, need = {}, dict(rows_of)
        for kk in range(max(need), 0, -1):
            into = np.flatnonzero(np.abs(_dense(net.affine_layers[kk][0])[
                sorted(need.get(kk, ()))]).sum(axis=0)) if need.get(kk) else np.zeros(0, int)
            if into.size:
                need.setdefault(kk - 1, set()).update(int(q) for q in into)
                for q in np.intersect1d(into, unstable[kk - 1]):
                    out[(kk - 1, int(q))] = sign(kk - 1, q)
        return out

    for k, (A, c) in enumerate(maps):
        idx = unstable[k]
        if idx.size == 0:
            continue
        sg = np.where(S[k][idx] == net.activations[k].right, 1.0, -1.0)
        a, cc = A[idx], c[idx]
        nr = np.linalg.norm(a, axis=1)
        flat = nr <= 1e-12 * (1.0 + np.abs(cc))
        bad = np.flatnonzero(flat & (sg * cc < -1e-12))  # constant, of the wrong sign
        if bad.size:
            j = int(idx[bad[0]])
            return False, {**feeding({k: {j}}), (k, j): float(sg[bad[0]])}
        keep = np.flatnonzero(~flat)
        if keep.size == 0:
            continue
        rows.append(-(sg[keep, None] * a[keep]) / nr[keep, None])
        rhs.append(sg[keep] * cc[keep] / nr[keep])
        who += [(k, int(idx[i]), float(sg[i])) for i in keep]
        R, r = np.vstack(rows), np.concatenate(rhs)
        eps, x, y = margin_lp(R, r, lo, hi, left())
        if eps > MARGIN_TOL:
            continue
        support = np.flatnonzero(y > 1e-9 * max(y.max(), 0.0)) if y.max() > 0 else \
            np.arange(R.shape[0])
        if support.size < R.shape[0] and margin_lp(R[support], r[support], lo, hi,
                                                   left())[0] > MARGIN_TOL:
            support = np.arange(R.shape[0])
        rows_of = {}
        for i in support:
            rows_of.setdefault(who[i][0], set()).add(who[i][1])
        return False, {**feeding(rows_of), **{(who[i][0], who[i][1]): who[i][2]
                                              for i in support}}
    if isinstance(region, BallRegion):
        if left() is not None and left() <= 0:
            raise CellTimeLimit("no time left for a pattern's margin problem")
        eps, x = realizable(net, S, region, unstable=unstable)
        if eps <= MARGIN_TOL or x is None:
            return False, before(net.num_hidden)
    return True, (region.center.copy() if x is None else x)


def cut_row(model: FormalMILP, cut: dict):
    """The row excluding every pattern that agrees with ``cut``:
    ``sum_{sign +} d - sum_{sign -} d <= #(sign +) - 1``."""
    cols, vals = [], []
    for (k, j), sign in cut.items():
        pos = int(np.searchsorted(model.z_index[k], j))
        cols.append(model.z_cols[k][pos])
        vals.append(1.0 if sign > 0 else -1.0)
    A = sp.csr_matrix((vals, (np.zeros(len(cols), int), cols)), shape=(1, model.c.size))
    return A, [sum(v > 0 for v in vals) - 1.0]


def _dense(W):
    return np.asarray(W.todense() if sp.issparse(W) else W, float)


def coincident(net, unstable):
    """Pairs of unstable neurons of one layer with proportional rows: ``(k, i, j, same)`` with
    ``(w_j, b_j) = lam (w_i, b_i)`` (to 1e-12 of the normalized rows), ``same = lam > 0``.
    Then ``z_j = lam z_i`` as functions of the input (whatever the earlier layers do), so
    wherever ``z_i != 0`` their signs agree (``same``) or are opposite, and on an open set
    where ``z_i = 0`` identically neither slope matters. So the MILP gets ``d_j = d_i`` or
    ``d_j = 1 - d_i`` from the start (identical neurons, negated copies, scaled copies) and
    keeps a pattern of every value realized on a set with interior."""
    pairs = []
    for k, idx in enumerate(unstable):
        if idx.size < 2:
            continue
        W, b = net.affine_layers[k]
        W = _dense(W)[idx]
        b = np.zeros(idx.size) if b is None else np.asarray(b, float)[idx]
        nr = np.linalg.norm(W, axis=1)
        ok = nr > 0
        V = np.hstack([W, b[:, None]]) / np.where(ok, nr, 1.0)[:, None]
        lead = np.array([np.flatnonzero(np.abs(v) > 1e-12)[0] if o else 0
                         for v, o in zip(V[:, :-1], ok)])
        orient = np.sign(V[np.arange(V.shape[0]), lead])
        V = V * orient[:, None]
        first = []
        for q in np.flatnonzero(ok):
            for r in first:
                if np.max(np.abs(V[q] - V[r])) <= 1e-12:
                    pairs.append((k, int(idx[r]), int(idx[q]), bool(orient[r] == orient[q])))
                    break
            else:
                first.append(q)
    return pairs


def repeated_rows(net) -> bool:
    """Does some hidden layer have two neurons with proportional ``(w, b)`` rows (identical,
    negated or scaled copies)? Their MILP columns are then duplicates."""
    for W, b in net.affine_layers[:-1]:
        W = _dense(W)
        V = np.hstack([W, (np.zeros(W.shape[0]) if b is None else np.asarray(b, float))[:, None]])
        nr = np.linalg.norm(V, axis=1)
        V = V[nr > 0] / nr[nr > 0, None]
        if V.shape[0] > 1:
            G = np.abs(V @ V.T) - np.eye(V.shape[0])
            if np.any(G >= 1.0 - 1e-12):
                return True
    return False


def add_rows(model: FormalMILP, cuts, cutoff, pairs=()):
    """``model`` with the rows of the coincident ``pairs`` (:func:`coincident`), the no-good
    rows of ``cuts`` and, if not None, ``objective >= cutoff``."""
    rows = []
    for k, i, j, same in pairs:
        ci = model.z_cols[k][int(np.searchsorted(model.z_index[k], i))]
        cj = model.z_cols[k][int(np.searchsorted(model.z_index[k], j))]
        # same: d_j - d_i = 0; opposite: d_j + d_i = 1 (each as two rows)
        A = sp.csr_matrix(([1.0, -1.0 if same else 1.0, -1.0, 1.0 if same else -1.0],
                           ([0, 0, 1, 1], [cj, ci, cj, ci])), shape=(2, model.c.size))
        rows.append((A, [0.0, 0.0] if same else [1.0, -1.0]))
    rows += [cut_row(model, cut) for cut in cuts]
    if cutoff is not None:
        rows.append((sp.csr_matrix(-model.c[None, :]), [model.offset - cutoff]))
    if not rows:
        return model
    return with_rows(model, sp.vstack([A for A, _ in rows]), np.concatenate([b for _, b in rows]))

"""Exact formal and true Lipschitz constants of small networks, by enumeration.

*Formal* constant: the maximum of ``||W_1^T D_1 ... W_L^T u||_q`` (or the operator norm of the
Jacobian for vector outputs) over all derivative matrices ``D_k = diag(s_k)`` with each
``s_kj`` in the derivative range of its neuron over the region (global range, or the range from
interval bound propagation for a local region). The objective is convex in each block
``s_k`` separately, so the maximum is attained at a vertex: enumerating, for every unstable
neuron, the two ends of its range is exact, for any activation. This is the value the LiPopt
relaxations converge to.

*True* constant (piecewise-linear activations: ReLU, leaky ReLU, identity): the maximum over
activation patterns that are realizable on a full-dimensional part of the region. Patterns are
visited in decreasing order of their value and each is checked by an LP (scipy HiGHS; an SOCP
with Clarabel for an l_2 ball) that maximizes the margin ``eps`` by which every unstable
pre-activation has the pattern's sign; the first realizable pattern gives the true value.
Prefixes (the patterns of the first layers) found infeasible are cached and prune all their
extensions, and a known realizable pattern (the lower bound's witness) stops the search below
its value. For smooth activations only the formal value is computed.

Size limit: at most :data:`MAX_UNSTABLE` unstable neurons (``2**MAX_UNSTABLE`` patterns);
larger networks raise :class:`ExactTooLargeError`.

Examples
--------
>>> import numpy as np
>>> from polylip.nn.network import Network
>>> net = Network.from_weights([np.array([[1.0, 1.0], [1.0, -1.0]]), np.array([[1.0, 1.0]])])
>>> ev = exact_values(net, "inf")
>>> ev.formal, ev.true
(2.0, 2.0)
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

from polylip.errors import PolylipError, SolverError
from polylip.nn.norms import dual, operator_norm, parse_norm, vec_norm
from polylip.nn.regions import BallRegion, BoxRegion, GlobalRegion, as_region
from polylip.runtime import quiet_native_stdout

__all__ = ["ExactValues", "ExactTooLargeError", "exact_values", "pattern_values",
           "MAX_UNSTABLE", "realizable"]

log = logging.getLogger(__name__)

#: Largest number of unstable neurons "exact" enumerates (2**22 = 4,194,304 patterns).
MAX_UNSTABLE = 22
#: Default cap on the number of LPs spent on the true value.
MAX_LPS = 20000
#: A pattern is realizable when its LP margin exceeds this (in units of ``min(r, 1)`` for a
#: box or a ball of radius ``r``, of x for the global region).
MARGIN_TOL = 1e-9
#: Boxes of a larger radius (in the margin LP's units) are tried without their bounds first
#: (:func:`_margin_unit`).
LARGE_BOX = 1e6


class ExactTooLargeError(PolylipError, ValueError):
    """The network has too many unstable neurons for exact enumeration."""


@dataclass(frozen=True)
class ExactValues:
    """Result of :func:`exact_values`.

    Attributes
    ----------
    formal : float
        Exact formal constant (maximum over all derivative vertices).
    true : float or None
        Exact true constant over the region (None for smooth activations, or when the LP
        budget ran out: then ``status == "lp_limit"``).
    formal_pattern, true_pattern : list of ndarray
        Derivative values per hidden layer attaining them.
    witness : ndarray or None
        An interior input of the region where the true value is the local constant.
    num_unstable, num_patterns, num_lps : int
    status : str
        ``"optimal"``, ``"formal_only"`` (smooth activations) or ``"lp_limit"``.
    seconds : float
    """

    formal: float
    true: float | None
    formal_pattern: list
    true_pattern: list | None
    witness: np.ndarray | None
    num_unstable: int
    num_patterns: int
    num_lps: int
    status: str
    seconds: float = 0.0
    details: dict = field(default_factory=dict)


def pattern_values(net, S, p):
    """The formal objective for a batch of derivative arrays ``S`` (list of (B, n_k)):
    ``||backward(S, u)||_q`` or the Jacobian operator norm for vector outputs. Shape (B,)."""
    u = net.functional()
    if u is not None:
        return vec_norm(net.backward(S, u[None, :]), dual(p))
    m = net.output_dim
    B = max(np.atleast_2d(s).shape[0] for s in S) if S else 1
    cols = []
    for i in range(m):
        e = np.zeros((1, m))
        e[0, i] = 1.0
        cols.append(np.broadcast_to(net.backward(S, e), (B, net.input_dim)))
    J = np.stack(cols, axis=1)
    return np.atleast_1d(operator_norm(J, p, net.output.norm))


def unstable_count(bounds) -> int:
    """The unstable neurons of ``bounds`` (a derivative range of positive width): "exact"
    enumerates ``2^K`` patterns of them."""
    return int(sum(np.count_nonzero(np.asarray(h, float) > np.asarray(lo, float))
                   for lo, h in zip(bounds.deriv_lo, bounds.deriv_hi)))


def check_unstable(net, K: int, max_unstable: int) -> None:
    """Raise :class:`ExactTooLargeError` when ``K > max_unstable``."""
    if K > max_unstable:
        raise ExactTooLargeError(
            f"'exact' enumerates 2^K activation patterns and accepts at most K = {max_unstable} "
            f"unstable neurons; this network has K = {K} (widths {net.widths}). Use a smaller "
            "network, a local region, or a relaxation method")


class _Enumerator:
    """Maps pattern numbers to derivative arrays."""

    def __init__(self, net, bounds):
        self.dlo = [np.asarray(d, dtype=float) for d in bounds.deriv_lo]
        self.dhi = [np.asarray(d, dtype=float) for d in bounds.deriv_hi]
        self.unstable = [np.flatnonzero(h > lo) for lo, h in zip(self.dlo, self.dhi)]
        self.offsets = np.cumsum([0] + [u.size for u in self.unstable])
        self.K = int(self.offsets[-1])

    def bits(self, idx):
        idx = np.asarray(idx, dtype=np.int64)
        return ((idx[:, None] >> np.arange(self.K, dtype=np.int64)) & 1).astype(bool)

    def derivatives(self, bits):
        B = bits.shape[0]
        S = []
        for k, (lo, hi, un) in enumerate(zip(self.dlo, self.dhi, self.unstable)):
            s = np.broadcast_to(lo, (B, lo.size)).copy()
            b = bits[:, self.offsets[k]:self.offsets[k + 1]]
            s[:, un] = np.where(b, hi[un], lo[un])
            S.append(s)
        return S


def _affine_prefix(net, S, depth):
    """Affine maps ``z_k(x) = A_k x + c_k`` for k < depth, given one pattern S (list of 1-D)."""
    out = []
    A = None
    c = None
    for k in range(depth):
        W, b = net.affine_layers[k]
        Wd = W.toarray() if sp.issparse(W) else W
        if A is None:
            A, c = Wd.copy(), b.copy()
        else:
            A, c = Wd @ (S[k - 1][:, None] * A), Wd @ (S[k - 1] * c) + b
        out.append((A, c))
    return out


def _margin_lp(rows, rhs, region, n, time_limit=None):
    """Maximize eps s.t. rows @ x + eps <= rhs, eps <= 1, x in region (rows of norm 1).
    Returns (eps, x); ``(nan, None)`` when stopped by ``time_limit`` (seconds) before an
    answer.

    Over a box or a ball the LP is solved in the region's own units, ``x = c + r y`` with
    ``y`` in the unit box or ball, and ``eps`` is returned in units of the radius ``r``
    (for the global region, of x). In the units of x a region of radius 1e-11 had every
    cell's margin below :data:`MARGIN_TOL` and HiGHS's absolute tolerances (1e-7): "exact"
    called 12 the true constant of a box whose samples reach 33.

    The unit is ``u = min(r, 1)``, not ``r``: over a large region a cell of the size of the
    network's features (about 1 in x) has a margin of ``1 / r`` in units of ``r``, below
    :data:`MARGIN_TOL` and HiGHS's tolerances from ``r = 1e9`` on, and dropping such cells
    put "exact" at 0.9387 ("optimal") over a ball of radius 1e12 whose true constant, the
    global one, is 0.9431 (QA round 4). Above ``r = 1`` the margin is in units of x, as for
    the global region."""
    if isinstance(region, (BoxRegion, BallRegion)):
        c, r = np.asarray(region.center, dtype=float), float(region.radius)
        u = min(r, 1.0)
        # rows (c + u y) + eps <= rhs  <=>  rows y + eps / u <= (rhs - rows c) / u,
        # ||y|| <= r / u
        unit = type(region)(np.zeros(n), r / u)
        eps, y = _margin_unit(rows, (rhs - rows @ c) / u, unit, n, time_limit)
        return eps, (None if y is None else c + u * y)
    return _margin_unit(rows, rhs, region, n, time_limit)


def _margin_unit(rows, rhs, region, n, time_limit=None):
    """:func:`_margin_lp` in the region's units (a box or ball at 0, or global)."""
    m = rows.shape[0]
    c = np.zeros(n + 1)
    c[-1] = -1.0
    A = np.hstack([rows, np.ones((m, 1))])
    if isinstance(region, BallRegion):
        # first the LP over the ball's bounding box (HiGHS, exact to its tolerances): the
        # ball lies in it, so a box margin at most MARGIN_TOL settles "not realizable". The
        # SOCP alone returned a margin a little above MARGIN_TOL for a pattern realizable only
        # on a hyperplane (two coincident first-layer hyperplanes: "exact" called the formal
        # value 8 the true one, 6; benchmarks/qa_lipschitz_fuzz.py, seed 1091)
        boxed = BoxRegion(region.center, region.radius)
        eps, x = _margin_unit(rows, rhs, boxed, n, time_limit)
        if not eps > MARGIN_TOL:  # also NaN (stopped): the SOCP would not decide sooner
            return eps, x
        # the box's optimum in the ball is the SOCP's optimum; a margin over the inscribed
        # box proves the cell meets the ball's interior. Either way no SOCP: Clarabel failed
        # ("InsufficientProgress") on balls of radius 1e15 and more in these units, and its
        # SolverError stopped even method "product" through the lower-bound search
        if np.linalg.norm(x - region.center) <= region.radius:
            return eps, x
        inner = BoxRegion(region.center, region.radius / np.sqrt(n))
        eps_in, x_in = _margin_unit(rows, rhs, inner, n, time_limit)
        if eps_in > MARGIN_TOL:
            return eps_in, x_in
        return _margin_socp(A, rhs, region, n, time_limit)
    if isinstance(region, BoxRegion):
        lo, hi = region.input_box()
        if region.radius > LARGE_BOX:
            # first without the box: HiGHS answered "model status Unknown" (a SolverError,
            # which stopped even "product" through the lower-bound search) on pattern LPs
            # with bounds of 1e12..1e15 (3-6-6-1 networks; QA round 4). A point of the cell
            # inside the box is feasible for the boxed LP, so its margin is the boxed optimum
            eps, x = _margin_unit(rows, rhs, GlobalRegion(), n, time_limit)
            if not eps > -np.inf or (x is not None and np.all(x >= lo) and np.all(x <= hi)):
                return eps, x
        bounds = list(zip(lo, hi)) + [(None, 1.0)]
    else:
        bounds = [(None, None)] * n + [(None, 1.0)]
    opts = {} if time_limit is None else {"time_limit": max(float(time_limit), 1e-3)}
    with quiet_native_stdout():
        res = linprog(c, A_ub=A, b_ub=rhs, bounds=bounds, method="highs", options=opts)
    if res.status == 2:  # infeasible
        return -np.inf, None
    if res.status == 1 and time_limit is not None:  # stopped by the time limit
        return np.nan, None
    if res.status != 0:
        raise SolverError(f"HiGHS failed on a pattern LP: {res.message}")
    return -res.fun, res.x[:n]


def _margin_socp(A, rhs, region, n, time_limit=None):
    import clarabel

    m = A.shape[0]
    P = sp.csc_matrix((n + 1, n + 1))
    q = np.zeros(n + 1)
    q[-1] = -1.0
    cap = np.zeros((1, n + 1))
    cap[0, -1] = 1.0
    soc = np.zeros((n + 1, n + 1))
    soc[1:, :n] = -np.eye(n)
    Am = sp.csc_matrix(np.vstack([A, cap, soc]))
    b = np.concatenate([rhs, [1.0], [region.radius], -region.center])
    cones = [clarabel.NonnegativeConeT(m + 1), clarabel.SecondOrderConeT(n + 1)]
    settings = clarabel.DefaultSettings()
    settings.verbose = False
    if time_limit is not None:
        settings.time_limit = max(float(time_limit), 1e-3)
    sol = clarabel.DefaultSolver(P, q, Am, b, cones, settings).solve()
    status = str(sol.status)
    if "Infeasible" in status:
        return -np.inf, None
    if time_limit is not None and "MaxTime" in status:
        return np.nan, None
    if not status.endswith("Solved"):
        raise SolverError(f"Clarabel failed on a pattern SOCP: {status}")
    x = np.asarray(sol.x)
    return float(x[-1]), x[:n]


def _signs_hold(net, x, signs, depth, unstable):
    """True when the pre-activations at ``x`` of the first ``depth`` hidden layers have the
    given signs (zero allowed) on the ``unstable`` neurons."""
    zs = net.pre_activations(np.asarray(x, dtype=float).reshape(1, -1))
    return all(np.all(sg[idx] * z[0][idx] >= 0)
               for z, sg, idx in zip(zs[:depth], signs[:depth], unstable[:depth]))


def realizable(net, S, region, depth=None, unstable=None, signs=None, time_limit=None):
    """Check whether a derivative pattern is realizable on a full-dimensional part of the
    region (piecewise-linear activations). Returns ``(margin, x)``; realizable iff
    ``margin > MARGIN_TOL``.

    Parameters
    ----------
    S : list of 1-D arrays
        Derivative values per hidden layer.
    depth : int, optional
        Only constrain the first ``depth`` hidden layers (a prefix).
    unstable : list of index arrays, optional
        Neurons to constrain per layer (default: all).
    signs : list of arrays, optional
        +1 (right piece, ``z > 0``) / -1 per neuron (default: from ``S`` and the activation).
    time_limit : float, optional
        Seconds for the solver; stopped before an answer, the margin is NaN (neither
        realizable nor not).
    """
    region = as_region(region)
    depth = net.num_hidden if depth is None else depth
    n = net.input_dim
    maps = _affine_prefix(net, S, depth)
    rows, rhs = [], []
    for k, (A, c) in enumerate(maps):
        idx = np.arange(A.shape[0]) if unstable is None else unstable[k]
        if idx.size == 0:
            continue
        if signs is None:
            sg = np.where(S[k][idx] == net.activations[k].right, 1.0, -1.0)
        else:
            sg = signs[k][idx]
        a, cc = A[idx], c[idx]
        nr = np.linalg.norm(a, axis=1)
        flat = nr <= 1e-12 * (1.0 + np.abs(cc))
        if np.any(flat & (sg * cc < -1e-12)):
            return -np.inf, None
        keep = ~flat
        # sg * (a x + c) >= eps * ||a||  <=>  -sg * a / ||a|| x + eps <= sg * c / ||a||
        rows.append(-(sg[keep, None] * a[keep]) / nr[keep, None])
        rhs.append(sg[keep] * cc[keep] / nr[keep])
    if not rows:
        rows, rhs = np.zeros((0, n)), np.zeros(0)
    else:
        rows, rhs = np.vstack(rows), np.concatenate(rhs)
    return _margin_lp(rows, rhs, region, n, time_limit)


def exact_values(net, norm="inf", region=None, *, max_unstable=MAX_UNSTABLE, max_lps=MAX_LPS,
                 hint=None, chunk=1 << 14, progress=None) -> ExactValues:
    """Exact formal and true Lipschitz constants by enumeration (see module docstring).

    Parameters
    ----------
    net : Network
    norm : input norm ("inf", "2", "1" or the numbers)
    region : Region, optional
        Default: global.
    max_unstable : int
        Refuse networks with more unstable neurons (default :data:`MAX_UNSTABLE`).
    max_lps : int
        Budget of realizability LPs for the true value.
    hint : ndarray, optional
        An input of the region (e.g. a lower-bound witness); its pattern, if realizable, stops
        the search for the true value below its value.
    progress : callable, optional
        ``progress(done, total)`` called during the enumeration.

    Raises
    ------
    ExactTooLargeError
        If the network has more than ``max_unstable`` unstable neurons.
    """
    t0 = time.perf_counter()
    p = parse_norm(norm)
    region = as_region(region)
    bounds = region.propagate(net)
    en = _Enumerator(net, bounds)
    K = en.K
    check_unstable(net, K, max_unstable)
    total = 1 << K
    values = np.empty(total)
    for start in range(0, total, chunk):
        idx = np.arange(start, min(total, start + chunk), dtype=np.int64)
        values[start:start + idx.size] = pattern_values(net, en.derivatives(en.bits(idx)), p)
        if progress is not None:
            progress(min(total, start + chunk), total)
    best = int(np.argmax(values))
    formal = float(values[best])
    formal_pattern = [s[0] for s in en.derivatives(en.bits([best]))]
    log.info("exact: %d unstable neurons, formal value %.8g (%.2fs)", K, formal,
             time.perf_counter() - t0)
    if not net.piecewise_linear:
        return ExactValues(formal, None, formal_pattern, None, None, K, total, 0, "formal_only",
                           time.perf_counter() - t0)

    signs_of = [np.where(hi == act.right, 1.0, -1.0)
                for act, hi in zip(net.activations, en.dhi)]
    signs_of_lo = [np.where(lo == act.right, 1.0, -1.0)
                   for act, lo in zip(net.activations, en.dlo)]

    def signs(bits):
        out = []
        for k in range(net.num_hidden):
            b = bits[en.offsets[k]:en.offsets[k + 1]]
            sg = signs_of_lo[k].copy()
            un = en.unstable[k]
            sg[un] = np.where(b, signs_of[k][un], signs_of_lo[k][un])
            out.append(sg)
        return out

    nlps = 0
    cache: dict = {}

    def check(bits):
        nonlocal nlps
        S = [s[0] for s in en.derivatives(bits[None, :])]
        sg = signs(bits)
        x = None
        for depth in range(1, net.num_hidden + 1):
            key = (depth, bits[:en.offsets[depth]].tobytes())
            if key in cache:
                ok, x = cache[key]
            else:
                nlps += 1
                eps, x = realizable(net, S, region, depth, en.unstable, sg)
                # a margin at most MARGIN_TOL does not prove the cell empty: a thin cell
                # (steep pre-activations: weights 1e4 over three layers, a cell 1e-9 wide in
                # x) has an interior the LP cannot resolve, and dropping it put the "true"
                # constant at a third of an attained lower bound. A point of the LP with the
                # pattern's signs keeps it (keeping a pattern can only raise the value)
                ok = eps > MARGIN_TOL or (eps > 0 and x is not None
                                          and _signs_hold(net, x, sg, depth, en.unstable))
                cache[key] = (ok, x)
            if not ok:
                return False, None
        return True, x

    threshold, thr_pattern, thr_x = -np.inf, None, None
    if hint is not None:
        hx = np.asarray(hint, dtype=float).reshape(1, -1)
        zs = net.pre_activations(hx)
        hbits = np.concatenate([(zs[k][0][en.unstable[k]] > 0) == (
            signs_of[k][en.unstable[k]] > 0) for k in range(net.num_hidden)]) if K else \
            np.zeros(0, dtype=bool)
        hidx = int(np.sum(hbits.astype(np.int64) << np.arange(K, dtype=np.int64))) if K else 0
        ok, x = check(hbits)
        if ok:
            threshold, thr_pattern, thr_x = float(values[hidx]), hidx, x
    order = np.argsort(-values, kind="stable")
    true_idx, true_x, status = None, None, "optimal"
    for idx in order:
        if values[idx] <= threshold:
            true_idx, true_x = thr_pattern, thr_x
            break
        if nlps >= max_lps:
            status = "lp_limit"
            break
        ok, x = check(en.bits([idx])[0])
        if ok:
            true_idx, true_x = int(idx), x
            break
    if true_idx is None and status == "optimal":
        true_idx, true_x = thr_pattern, thr_x
    if true_idx is None:
        true, true_pattern = None, None
        if status == "optimal":  # no pattern realizable: region is degenerate (radius 0)
            status = "degenerate"
    else:
        true = float(values[true_idx])
        true_pattern = [s[0] for s in en.derivatives(en.bits([true_idx]))]
    seconds = time.perf_counter() - t0
    log.info("exact: true value %s after %d LPs (%.2fs)", true, nlps, seconds)
    return ExactValues(formal, true, formal_pattern, true_pattern, true_x, K, total, nlps, status,
                       seconds)

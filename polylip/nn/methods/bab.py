"""Method ``"bab"``: the true local l_inf Lipschitz constant over a box, bounded by branch and
bound on the activation pattern with linear bounds on the Jacobian at every node.

A node fixes the sign of some unstable neurons (``z >= 0`` or ``z <= 0``); the root fixes
none, and the two children of a node split one more neuron, so the nodes' parts of the box
cover it. On a node, :func:`polylip.nn.jacobian_bounds.forward_bounds` re-runs CROWN over the
box with the fixed neurons clipped to their side (so deeper neurons become stable), and
:func:`polylip.nn.jacobian_bounds.node_bound` bounds ``||grad f||_1`` there (the smaller of
the interval bound and the linear bound through the backward pass); the fixed neurons' sides
enter that bound as linear rows ``G x <= h`` (the forward linear bounds of their
pre-activations: necessary on the node), so the maximum is taken over a polytope, certified
by the LP's Lagrangian. A node whose clipped intervals are empty has no point and is dropped.

**Exact leaves.** A node with at most ``exact_unstable`` unstable neurons left is solved: each
completion of its pattern is valued (:func:`polylip.nn.exact.pattern_values`) and checked in
decreasing order by the cell test of method "milp"
(:func:`polylip.nn.methods.milp_cells.cell`, exact: the cell's affine maps and the root box),
so the first with interior gives the node's exact true value, and a witness: a point of
differentiability where the network's gradient attains it (a lower bound).

**The answer.** The bound of the box is the largest bound of its leaves (open or exact), each
valid on its part of the box; the search pops the node with the largest bound first and
stops when that is within ``gap`` of the best lower bound (the lower-bound search's and the
exact leaves' witnesses), at ``time_limit`` or at ``node_limit``. Stopped early the bound is
still valid (``status="time_limit"``); closed it is the true local constant to ``gap``.

Why not the true-constant MILP at the leaves: method "milp" takes a region and bounds the
whole of it, not a node of fixed signs; and on the digits MLP 64-100-100-10 (box of radius
0.05) its true-constant model is reported infeasible by HiGHS (measured 2026-12-01, reported to
its maintainers), where enumeration with the cell test is exact for the few neurons left.

Examples
--------
>>> import numpy as np
>>> from polylip.nn import BoxRegion, Network, lipschitz
>>> net = Network.from_weights([np.array([[1.0, 1.0], [1.0, -1.0]]), np.array([[1.0, 1.0]])],
...                            [np.array([0.2, -0.1]), None])
>>> res = lipschitz(net, "inf", method="bab", region=BoxRegion([0.0, 0.0], 1.0))
>>> round(res.upper, 6), res.status, res.details["exact"]
(2.0, 'optimal', True)
"""

from __future__ import annotations

import heapq
import itertools
import logging
import math
import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from polylip.errors import ModelError
from polylip.nn.exact import pattern_values
from polylip.nn.jacobian_bounds import ROUNDING, forward_bounds, node_bound
from polylip.nn.lower import _one_blas_thread, differentiable_witness
from polylip.nn.methods import milp_cells as cells
from polylip.nn.methods.base import MethodOptions, integer, number
from polylip.nn.methods.milp_model import realizable_activations
from polylip.nn.problem import LipschitzProblem, MethodOutput
from polylip.nn.regions import BoxRegion

__all__ = ["BaBOptions", "bab", "EXACT_UNSTABLE", "check", "node_work"]

log = logging.getLogger(__name__)

#: Default largest number of unstable neurons a node is solved at by enumeration (2^8 = 256
#: completions valued at once, the cell LPs only for those above the node's target).
EXACT_UNSTABLE = 8
#: Points (the maxima of the nodes' linear bounds) evaluated together for lower bounds.
CANDIDATE_BATCH = 64
#: Most cell LPs one exact leaf may spend before it is kept open with its bound.
LEAF_LPS = 64


@dataclass(frozen=True)
class BaBOptions(MethodOptions):
    """Options of method "bab".

    ``time_limit``: seconds (None: no limit); ``node_limit``: nodes bounded at most (None: no
    limit; what deterministic mode sets); ``gap``: stop when the largest open bound is within
    ``gap * max(1, lower)`` of the lower bound; ``exact_unstable``: solve a node by
    enumeration when at most this many of its neurons are unstable (0: never).
    """

    method = "bab"
    time_limit: float | None = number(60.0, low=0, low_open=True, optional=True,
                                      allowed="positive seconds or None")
    node_limit: int | None = integer(None, low=1, optional=True)
    gap: float = number(1e-4, low=0)
    exact_unstable: int = integer(EXACT_UNSTABLE, low=0)


def node_work(net) -> tuple[float, float]:
    """``(loops, flops)`` one node of the search costs, counted from the layer sizes: the
    iterations of the numpy passes (CROWN's back-substitution of each hidden layer through the
    layers below it in :func:`~polylip.nn.jacobian_bounds.forward_bounds`, and the two linear
    passes per layer of :func:`~polylip.nn.jacobian_bounds.node_bound`, each from its layer to
    the output), and their dense matrix products' floating-point operations. A deep narrow
    network costs its loops (30 hidden layers of 12: 1,365 loops, 0.16-0.18 s a node), a wide
    one its flops (784-100-100-1: 1.1e9, 0.09 s a node); :mod:`polylip.nn.methods.plan` turns
    the pair into seconds.

    Examples
    --------
    >>> import numpy as np
    >>> from polylip.nn import Network
    >>> node_work(Network.from_weights([np.ones((3, 2)), np.ones((1, 3))]))
    (2.0, 396.0)
    """
    n = list(net.layer_sizes)
    L, n0 = len(n) - 2, n[0]
    loops = flops = 0.0
    for k in range(L):  # forward_bounds: layer k back-substitutes through the k below it
        nk = n[k + 1]
        flops += 6.0 * nk * n0
        for j in range(k - 1, -1, -1):
            loops += 1
            flops += 4.0 * nk * n[j + 1] * n[j] + 12.0 * nk * n[j + 1]
    for k in range(L - 1, -1, -1):  # node_bound: two passes of n_k rows from layer k up
        R = n[k]
        for kk in range(k, L):
            loops += 2
            flops += 2.0 * (2.0 * R * n[kk + 1] * n[kk + 2] + 4.0 * R * n[kk + 1] * n0
                            + 20.0 * R * n[kk + 1])
    return loops, flops


def check(problem: LipschitzProblem, options: BaBOptions | None = None) -> None:
    """Refuse a problem "bab" does not apply to (see :func:`_check`)."""
    _check(problem)


def _check(problem: LipschitzProblem):
    """The output functional, after refusing an input norm other than l_inf, a region other
    than a box, a vector output."""
    if problem.norm != math.inf:
        raise ModelError("method 'bab' bounds the l_inf local constant (norm='inf')")
    if not isinstance(problem.region, BoxRegion):
        raise ModelError("method 'bab' needs a box region (BoxRegion)")
    u = problem.net.functional()
    if u is None:
        raise ModelError("method 'bab' needs a fixed output functional (a scalar or margin "
                         "output), not a vector output")
    return np.asarray(u, float)


class _Search:
    """The state of one branch and bound: the heap of open nodes, the exact leaves, the best
    lower bound and its witness."""

    def __init__(self, problem, u, options):
        self.net, self.u, self.options = problem.net, u, options
        self.region = problem.region
        self.lo, self.hi = problem.region.input_box()
        self.Ws = [W.toarray() if sp.issparse(W) else np.asarray(W, float)
                   for W, _ in self.net.affine_layers]
        self.pwl = realizable_activations(self.net)
        self.lower, self.witness = -math.inf, None
        if problem.lower is not None and problem.lower.value is not None:
            self.lower, self.witness = float(problem.lower.value), problem.lower.witness
        self.heap: list = []
        self.counter = itertools.count()
        self.closed = -math.inf  # largest exact leaf value
        self.nodes = 0
        self.exact_leaves = 0
        self.dropped = 0
        self.lps = 0
        self.root_unstable = None
        self.candidates: list = []

    # ---------------------------------------------------------------- one node
    def bound(self, fixed, parent=math.inf):
        """``(bound, NodeBound)`` of the node of ``fixed`` signs, or ``(None, None)`` when it
        has no point."""
        self.nodes += 1
        fwd = forward_bounds(self.net, self.lo, self.hi, fixed, dense=self.Ws)
        if fwd.empty:
            return None, None
        rows = self._rows(fwd, fixed)
        nb = node_bound(self.net, self.u, fwd, dense=self.Ws, rows=rows)
        if nb.x is not None:
            self.candidates.append(nb.x)
            if len(self.candidates) >= CANDIDATE_BATCH:
                self.try_candidates()
        return min(nb.upper, parent), nb

    def try_candidates(self):
        """Lower bounds at the points where the nodes' linear bounds peak: the gradient
        norms there (one batch), the largest moved off the kinks and measured again
        (:func:`~polylip.nn.lower.differentiable_witness`): an attained value."""
        if not self.candidates:
            return
        X = np.vstack(self.candidates)
        self.candidates = []
        vals = np.asarray(self.net.local_lipschitz(X, "inf"), float)
        i = int(np.argmax(vals))
        if vals[i] <= self.lower:
            return
        got = differentiable_witness(self.net, X[i], self.region, math.inf)
        if got is not None and got[0] > self.lower:
            self.lower, self.witness = float(got[0]), got[1]

    def _rows(self, fwd, fixed):
        """``G x <= h`` from the fixed neurons: ``Au x + cu >= 0`` for one fixed on its right
        piece, ``Al x + cl <= 0`` for one on its left piece (necessary on the node)."""
        G, h = [], []
        for k, f in enumerate(fixed):
            on, off = np.flatnonzero(f > 0), np.flatnonzero(f < 0)
            if on.size:
                G.append(-fwd.Au[k][on])
                h.append(fwd.cu[k][on])
            if off.size:
                G.append(fwd.Al[k][off])
                h.append(-fwd.cl[k][off])
        if not G:
            return None
        G, h = np.vstack(G), np.concatenate(h)
        scale = np.abs(G) @ np.maximum(np.abs(self.lo), np.abs(self.hi)) + np.abs(h) + 1.0
        return G, h + 1e3 * ROUNDING * scale  # relaxed outward: rounding never cuts a point

    # ---------------------------------------------------------------- exact leaves
    def solve_leaf(self, fixed, nb):
        """The node's exact true value by enumerating its unstable neurons (None: more cell
        LPs needed than :data:`LEAF_LPS`)."""
        acts = self.net.activations
        un = [np.flatnonzero(h > lo) for lo, h in zip(nb.dlo, nb.dhi)]
        K = int(sum(x.size for x in un))
        bits = ((np.arange(1 << K)[:, None] >> np.arange(K)) & 1).astype(bool)
        S, off = [], 0
        for k, (lo, act) in enumerate(zip(nb.dlo, acts)):
            s = np.repeat(np.asarray(lo, float)[None, :], bits.shape[0], axis=0)
            s[:, un[k]] = np.where(bits[:, off:off + un[k].size], act.right, act.left)
            off += un[k].size
            S.append(s)
        vals = np.asarray(pattern_values(self.net, S, math.inf), float)
        target = max(self.lower, self.closed)
        lps = 0
        for i in np.argsort(-vals, kind="stable"):
            if vals[i] <= target:
                return -math.inf  # nothing left above what is already known
            if lps >= LEAF_LPS:
                return None
            lps += 1
            self.lps += 1
            pattern = [s[i] for s in S]
            ok, info = cells.cell(self.net, self.region, pattern, self.root_unstable)
            if ok:
                got = differentiable_witness(self.net, info, self.region, math.inf)
                if got is not None and got[0] > self.lower:
                    self.lower, self.witness = float(got[0]), got[1]
                return float(vals[i]) * (1.0 + ROUNDING) + ROUNDING
        return -math.inf  # no completion has interior: the node is empty

    # ---------------------------------------------------------------- the search
    def push(self, bound, fixed, nb):
        heapq.heappush(self.heap, (-bound, next(self.counter), fixed, nb))

    def branch(self, fixed, nb):
        """The unstable neuron of largest score (its relaxations' share of the bound)."""
        best, where = -1.0, None
        for k, sc in enumerate(nb.score):
            free = (np.asarray(fixed[k]) == 0) & (nb.dhi[k] > nb.dlo[k])
            if not np.any(free):
                continue
            s = np.where(free, sc, -1.0)
            j = int(np.argmax(s))
            if s[j] > best:
                best, where = float(s[j]), (k, j)
        return where

    def run(self, t0):
        opts = self.options
        L = self.net.num_hidden
        root_fixed = [np.zeros(n, dtype=np.int8) for n in self.net.widths]
        b0, nb0 = self.bound(root_fixed)
        if b0 is None:
            return None, "failed", {"message": "the root box has no point"}
        self.root_unstable = [np.flatnonzero(h > lo) for lo, h in zip(nb0.dlo, nb0.dhi)]
        root = {"interval": nb0.interval, "linear": nb0.linear,
                "unstable": [int(x.size) for x in self.root_unstable]}
        self.push(b0, root_fixed, nb0)
        status = "ok"
        while self.heap:
            top = -self.heap[0][0]
            target = max(self.lower, self.closed)
            if top <= target + opts.gap * max(1.0, abs(target)):
                break
            if opts.time_limit is not None and time.perf_counter() - t0 >= opts.time_limit:
                status = "time_limit"
                break
            if opts.node_limit is not None and self.nodes >= opts.node_limit:
                status = "time_limit"
                break
            neg, _, fixed, nb = heapq.heappop(self.heap)
            bound = -neg
            n_un = sum(int(np.sum(h > lo)) for lo, h in zip(nb.dlo, nb.dhi))
            if self.pwl and n_un <= opts.exact_unstable:
                value = self.solve_leaf(fixed, nb)
                if value is not None:
                    self.exact_leaves += 1
                    if value > -math.inf:
                        self.closed = max(self.closed, min(value, bound))
                    continue
            where = self.branch(fixed, nb) if n_un else None
            if where is None:  # nothing left to split (smooth, or no LP budget): keep it
                self.closed = max(self.closed, bound)
                continue
            k, j = where
            for side in (1, -1):
                child = [f.copy() for f in fixed]
                child[k][j] = side
                b, cnb = self.bound(child, bound)
                if b is None:
                    self.dropped += 1
                    continue
                self.push(b, child, cnb)
        self.try_candidates()
        open_top = -self.heap[0][0] if self.heap else -math.inf
        # the lower bound is attained, so it may stand for the leaves dropped below it
        upper = max(open_top, self.closed, self.lower)
        if upper == -math.inf:  # every leaf empty and no lower bound: a degenerate box
            upper = 0.0
        details = {"root": root, "nodes": self.nodes, "open": len(self.heap),
                   "exact_leaves": self.exact_leaves, "dropped": self.dropped,
                   "cell_lps": self.lps, "constant": "true", "layers": L,
                   "exact": status == "ok", "gap": opts.gap}
        return upper, status, details


def bab(problem: LipschitzProblem, options: BaBOptions) -> MethodOutput:
    """The true local l_inf constant over a box by branch and bound (see the module text)."""
    t0 = time.perf_counter()
    u = _check(problem)
    if problem.net.num_hidden == 0:
        # an affine network: the gradient is u^T W everywhere (the search indexes the hidden
        # layers, and had an IndexError here; QA round 4)
        W = problem.net.affine_layers[0][0]
        value = float(np.abs(np.asarray(W.T @ u).ravel()).sum())
        return MethodOutput(upper=value, lower=value, witness=problem.region.center.copy(),
                            status="optimal", details={"nodes": 0, "affine": True,
                                                       "seconds": time.perf_counter() - t0})
    search = _Search(problem, u, options)
    with _one_blas_thread():
        upper, status, details = search.run(t0)
    details["seconds"] = time.perf_counter() - t0
    if upper is None:
        return MethodOutput(upper=None, status=status, details=details)
    lower = search.lower if search.lower > -math.inf else None
    log.info("bab: %s, bound %.6g, lower %s, %d nodes, %.2fs", status, upper, lower,
             search.nodes, details["seconds"])
    return MethodOutput(upper=float(upper), lower=lower, witness=search.witness, status=status,
                        details=details)

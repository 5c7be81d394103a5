"""Lipschitz method ``"milp"``: the formal constant by mixed-integer LP (branch and bound, HiGHS).

The gradient-norm POP of a network is maximized over vertices: the input direction ``t`` at a
vertex of the dual ball (l_inf: ``t`` in {-1, 1}^n; l_1: ``t = +-e_i``) and every activation
derivative at an end of its range (``s = lo + (hi - lo) z``, ``z`` binary). Products of a binary
``z`` and a bounded continuous value are represented *exactly* by four linear inequalities
(McCormick with a binary factor), so the POP becomes a mixed-integer LP whose optimum is the
*formal* constant, the same number method ``"dp"`` computes (the LipMIP idea of Jordan and
Dimakis, 2020, here on LiPopt's formal problem). scipy's HiGHS (``scipy.optimize.milp``) solves
it by branch and bound.

Formulation, forward from the input direction (one column block per hidden layer ``k``)::

    a_k = W_k h_{k-1}                      (continuous, equality rows; h_0 = t)
    p_kj = z_kj a_kj                       (binary z, four inequalities from bounds of a_kj)
    h_kj = lo_kj a_kj + (hi_kj - lo_kj) p_kj   (an affine expression, no column)
    maximize  u^T W_{L+1} h_L

The bounds of ``a_k`` come from interval arithmetic over the formal box (``t`` in its ball, each
``s`` in its range). Neurons with a single derivative value (stable on a local region) get no
binary. Measured on the CertDNN networks, this orientation (the products at the neurons, the
objective linear) closes far faster than the backward one (``|g_i|`` split by a binary per
input): width 40, sparsity 40, seed 2 in 34 s against no convergence in 120 s.

**What the bound means.** HiGHS reports its *dual bound*, the largest LP-relaxation value over
the open branch-and-bound nodes; every vertex's value is at most it. With ``status="ok"`` the
gap to the best vertex found is within ``gap`` (relative, default 1e-4). When the time limit
ends the search first, the dual bound is still a valid upper bound and is returned with
``status="time_limit"`` (``details["gap"]`` says how far it is from the best vertex found); if
HiGHS ends without a finite dual bound, ``upper`` is None. A margin of ``1e-6 (1 + |bound|)``
is added for HiGHS's feasibility tolerances (1e-7 on the LP rows; the formal constants it is
tested on agree with "dp" to within 1e-9 relative). ``details["formal_lower"]`` is the exact
value (recomputed with numpy) of the best vertex found: a lower bound on the formal constant,
not on the Lipschitz constant, so no ``lower`` is returned.

**The true local constant** (``constant="true"``, the default over a box or a ball when every
activation is ReLU-type): the derivative binaries are tied to an input ``x`` of the region by
the exact big-M encoding of each unstable neuron (:func:`_add_forward`), so only patterns some
input realizes count. Every gradient at a point of the region is feasible, so the optimum is at
least the true local constant; a pattern is admitted at ``z = 0`` on either side, which can only
add value. The MILP's input ``x`` is returned as ``witness`` with ``lower``, the local constant
measured there.

When to use it: the formal constant of networks whose elimination width is too large for "dp"
(dense or wide layers), when branch and bound can close the gap. Cost grows with the number of
unstable neurons; beyond a few hundred, expect ``status="time_limit"`` and a loose dual bound.
The l_2 input norm (a convex quadratic to maximize) is not a mixed-integer LP: use "dp",
"lipsdp" or "sdp".

Examples
--------
>>> import numpy as np
>>> from polylip.nn import Network, lipschitz
>>> net = Network.from_weights([np.array([[1.0, -1.0], [2.0, 1.0]]), np.array([[1.0, 1.0]])])
>>> res = lipschitz(net, norm="inf", method="milp", lower=False)
>>> round(res.upper, 4), res.status, res.details["formal_lower"]
(3.0, 'ok', 3.0)
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

from polylip.errors import ModelError
from polylip.nn.estimate import LipschitzProblem, MethodOutput, register_method
from polylip.nn.gradient_pop import functionals

__all__ = ["FormalMILP", "formal_milp", "solve_formal_milp", "MILP_MARGIN"]

log = logging.getLogger(__name__)

#: Relative safety margin added to HiGHS's dual bound (its LP tolerances are 1e-7).
MILP_MARGIN = 1e-6


def _csr(W):
    return sp.csr_matrix(W) if sp.issparse(W) else sp.csr_matrix(np.asarray(W, dtype=float))


def _interval_matvec(W, lo, hi):
    """Bounds of ``W x`` over the box ``lo <= x <= hi``."""
    Wp, Wn = W.maximum(0), W.minimum(0)
    return Wp @ lo + Wn @ hi, Wp @ hi + Wn @ lo


@dataclass
class FormalMILP:
    """The mixed-integer LP of one gradient functional (a plain value: print it, solve it).

    ``c`` and ``offset`` (maximize ``c x + offset``), ``A_eq``/``b_eq``, ``A_ub``/``b_ub``, column bounds ``lb``/``ub`` and
    ``integrality`` (1 = binary) describe the MILP. ``t_cols`` are the binaries of the input
    direction (``t = 2 tau - 1`` for l_inf; for l_1 ``t = tau_plus - tau_minus`` with the plus
    columns first), ``z_cols[k]`` / ``z_index[k]`` the binaries of layer ``k`` and the neurons
    they belong to. ``x_cols``: the input's columns when the activation pattern is tied to an
    input of the region (:func:`formal_milp` with ``forward``), else None.
    """

    c: np.ndarray
    offset: float
    A_eq: sp.csr_matrix
    b_eq: np.ndarray
    A_ub: sp.csr_matrix
    b_ub: np.ndarray
    lb: np.ndarray
    ub: np.ndarray
    integrality: np.ndarray
    norm: float
    t_cols: np.ndarray
    z_cols: list
    z_index: list
    x_cols: np.ndarray | None = None

    @property
    def shape(self) -> tuple:
        """(rows, columns, binaries)."""
        return (self.A_eq.shape[0] + self.A_ub.shape[0], self.c.size, int(self.integrality.sum()))

    def __repr__(self) -> str:
        rows, cols, nbin = self.shape
        kind = "true" if self.x_cols is not None else "formal"
        return (f"FormalMILP(norm={self.norm}, constant={kind}, rows={rows}, columns={cols}, "
                f"binaries={nbin})")


class _Builder:
    """Columns (bounds, integrality) and constraint rows, gathered as triplets and assembled
    into sparse matrices once at the end."""

    def __init__(self):
        self.lb, self.ub, self.integ = [], [], []
        self.n = 0
        self.rows = {"eq": [], "ub": []}  # lists of (coo block, rhs)
        self.nrows = {"eq": 0, "ub": 0}

    def columns(self, lb, ub, integer: bool) -> np.ndarray:
        lb = np.asarray(lb, float)
        idx = np.arange(self.n, self.n + lb.size)
        self.lb.append(lb)
        self.ub.append(np.asarray(ub, float))
        self.integ.append(np.full(lb.size, 1 if integer else 0))
        self.n += lb.size
        return idx

    def constrain(self, kind: str, block, rhs) -> None:
        """Rows ``block x (== or <=) rhs``; ``block`` may have fewer columns than now exist."""
        block = sp.coo_matrix(block)
        self.rows[kind].append((block, np.asarray(rhs, float)))
        self.nrows[kind] += block.shape[0]

    def matrix(self, kind: str):
        blocks = self.rows[kind]
        if not blocks:
            return sp.csr_matrix((0, self.n)), np.zeros(0)
        offsets = np.cumsum([0] + [b.shape[0] for b, _ in blocks])
        r = np.concatenate([b.row + o for (b, _), o in zip(blocks, offsets)])
        c = np.concatenate([b.col for b, _ in blocks])
        v = np.concatenate([b.data for b, _ in blocks])
        A = sp.csr_matrix((v, (r, c)), shape=(offsets[-1], self.n))
        return A, np.concatenate([b for _, b in blocks])


def _coo(vals, rows, cols, shape):
    return sp.coo_matrix((np.asarray(vals, float), (np.asarray(rows), np.asarray(cols))),
                         shape=shape)


def formal_milp(net, norm: float, derivative_bounds, functional, forward=None) -> FormalMILP:
    """Build the MILP whose optimum is the formal constant for one output functional.

    With ``forward = (x_lo, x_hi, pre_lo, pre_hi)`` (an input box and pre-activation bounds
    valid on it) the activation pattern is tied to an input ``x`` of that box by the exact
    big-M encoding of each unstable neuron (see :func:`_add_forward`), so the optimum bounds
    the *true* local constant instead of the formal one.

    Parameters
    ----------
    net : Network
    norm : float
        Input norm, ``math.inf`` or ``1.0``.
    derivative_bounds : list of (lo, hi)
        Derivative range of every hidden neuron (from the region's interval bounds).
    functional : ndarray
        Fixed output functional ``u`` (the objective is ``u^T J t``).

    Examples
    --------
    >>> import math
    >>> import numpy as np
    >>> from polylip.nn import Network
    >>> net = Network.from_weights([np.eye(2), np.ones((1, 2))])
    >>> formal_milp(net, math.inf, [(np.zeros(2), np.ones(2))], np.ones(1))
    FormalMILP(norm=inf, constant=formal, rows=10, columns=8, binaries=4)
    """
    if norm not in (math.inf, 1.0):
        raise ModelError("method 'milp' supports the input norms inf and 1 (the l_2 constant "
                         "maximizes a convex quadratic: use 'dp', 'lipsdp' or 'sdp')")
    layers = net.affine_layers
    bld = _Builder()
    n0 = net.input_dim
    W1 = _csr(layers[0][0])
    if norm == math.inf:
        # t = 2 tau - 1: the affine map h_0 = H x + h
        tau = bld.columns(np.zeros(n0), np.ones(n0), True)
        H = _coo(2.0 * np.ones(n0), np.arange(n0), tau, (n0, bld.n)).tocsr()
        h = -np.ones(n0)
        a_lo, a_hi = -abs(W1) @ np.ones(n0), abs(W1) @ np.ones(n0)
    else:
        # t = tau_plus - tau_minus with exactly one of them 1: a signed unit vector
        tau = bld.columns(np.zeros(2 * n0), np.ones(2 * n0), True)
        H = _coo(np.r_[np.ones(n0), -np.ones(n0)], np.r_[np.arange(n0), np.arange(n0)], tau,
                 (n0, bld.n)).tocsr()
        h = np.zeros(n0)
        bld.constrain("eq", _coo(np.ones(2 * n0), np.zeros(2 * n0, int), tau, (1, bld.n)), [1.0])
        big = np.asarray(abs(W1).max(axis=1).todense()).ravel()
        a_lo, a_hi = -big, big
    z_cols, z_index = [], []
    for k, (dlo, dhi) in enumerate(derivative_bounds):
        W = _csr(layers[k][0])
        dlo, dhi = np.asarray(dlo, float), np.asarray(dhi, float)
        m = W.shape[0]
        if k > 0:
            a_lo, a_hi = _interval_matvec(W, h_lo, h_hi)
        a = bld.columns(a_lo, a_hi, False)
        # a - W H x = W h
        WH = sp.coo_matrix(W @ H)
        bld.constrain("eq", _coo(np.r_[-WH.data, np.ones(m)], np.r_[WH.row, np.arange(m)],
                                 np.r_[WH.col, a], (m, bld.n)), W @ h)
        free = np.flatnonzero(dhi > dlo)
        f = free.size
        L, U = a_lo[free], a_hi[free]
        z = bld.columns(np.zeros(f), np.ones(f), True)
        p = bld.columns(np.minimum(0.0, L), np.maximum(0.0, U), False)
        z_cols.append(z)
        z_index.append(free)
        # p = z a exactly for binary z:
        #   p - U z <= 0,  -p + L z <= 0,  p - a - L z <= -L,  -p + a + U z <= U
        r, one = np.arange(f), np.ones(f)
        bld.constrain("ub", _coo(
            np.r_[one, -U, -one, L, one, -one, -L, -one, one, U],
            np.r_[r, r, r + f, r + f, r + 2 * f, r + 2 * f, r + 2 * f, r + 3 * f, r + 3 * f,
                  r + 3 * f],
            np.r_[p, z, p, z, p, a[free], z, p, a[free], z], (4 * f, bld.n)),
            np.r_[np.zeros(2 * f), -L, U])
        # h_k = lo * a + (hi - lo) * p  (fixed neurons: lo * a)
        H = _coo(np.r_[dlo, (dhi - dlo)[free]], np.r_[np.arange(m), free], np.r_[a, p],
                 (m, bld.n)).tocsr()
        h = np.zeros(m)
        corners = np.stack([dlo * a_lo, dlo * a_hi, dhi * a_lo, dhi * a_hi])
        h_lo, h_hi = corners.min(axis=0), corners.max(axis=0)
    weights = np.asarray(_csr(layers[-1][0]).T @ np.asarray(functional, float)).ravel()
    x_cols = None if forward is None else _add_forward(bld, net, forward, z_cols, z_index)
    c = np.zeros(bld.n)
    c[:H.shape[1]] = H.T @ weights
    A_eq, b_eq = bld.matrix("eq")
    A_ub, b_ub = bld.matrix("ub")
    return FormalMILP(c=c, offset=float(weights @ h), A_eq=A_eq, b_eq=b_eq, A_ub=A_ub, b_ub=b_ub,
                      lb=np.concatenate(bld.lb), ub=np.concatenate(bld.ub),
                      integrality=np.concatenate(bld.integ), norm=norm, t_cols=tau,
                      z_cols=z_cols, z_index=z_index, x_cols=x_cols)


def realizable_activations(net) -> bool:
    """True when every activation is piecewise linear, convex, with its kink at 0 (ReLU, leaky
    ReLU with ``alpha <= 1``, identity): what :func:`_add_forward` encodes exactly."""
    from polylip.nn.activations import _PiecewiseLinear

    return all(isinstance(a, _PiecewiseLinear) and a.left <= a.right for a in net.activations)


def _add_forward(bld: _Builder, net, forward, z_cols, z_index) -> np.ndarray:
    """Columns and rows tying the derivative binaries to an input ``x`` of the box.

    Per hidden layer: pre-activations ``z = W y_prev + b`` (columns bounded by ``pre_lo``,
    ``pre_hi``; ``y_0 = x``), and for each unstable neuron a column ``r = relu(z)`` encoded
    with the neuron's own derivative binary ``d`` (``s = left + (right - left) d``)::

        r >= z,   r >= 0,   r <= z - L (1 - d),   r <= U d

    so ``d = 1`` forces ``z >= 0`` and ``r = z``, ``d = 0`` forces ``z <= 0`` and ``r = 0`` (both
    allowed at ``z = 0``). The activation is ``y = left z + (right - left) r``; a stable neuron
    is ``y = s z`` with its single slope ``s``. Returns the input's columns.
    """
    x_lo, x_hi, pre_lo, pre_hi = forward
    layers = net.affine_layers
    x = bld.columns(x_lo, x_hi, False)
    n0 = x.size
    Y = _coo(np.ones(n0), np.arange(n0), x, (n0, bld.n)).tocsr()  # y_0 = x
    for k, act in enumerate(net.activations):
        W, b = _csr(layers[k][0]), layers[k][1]
        b = np.zeros(W.shape[0]) if b is None else np.asarray(b, float)
        m = W.shape[0]
        L, U = np.asarray(pre_lo[k], float), np.asarray(pre_hi[k], float)
        z = bld.columns(L, U, False)
        WY = sp.coo_matrix(W @ Y)
        bld.constrain("eq", _coo(np.r_[-WY.data, np.ones(m)], np.r_[WY.row, np.arange(m)],
                                 np.r_[WY.col, z], (m, bld.n)), b)
        free, d = z_index[k], z_cols[k]
        f = free.size
        Lf, Uf = L[free], U[free]
        r = bld.columns(np.zeros(f), np.maximum(Uf, 0.0), False)
        i, one = np.arange(f), np.ones(f)
        #   z - r <= 0,   r - z - L d <= -L,   r - U d <= 0
        bld.constrain("ub", _coo(
            np.r_[one, -one, one, -one, -Lf, one, -Uf],
            np.r_[i, i, i + f, i + f, i + f, i + 2 * f, i + 2 * f],
            np.r_[z[free], r, r, z[free], d, r, d], (3 * f, bld.n)),
            np.r_[np.zeros(f), -Lf, np.zeros(f)])
        slope = np.where(U <= 0, act.left, act.right).astype(float)  # stable neurons
        fixed = np.setdiff1d(np.arange(m), free)
        Y = _coo(np.r_[slope[fixed], np.full(f, act.left), np.full(f, act.right - act.left)],
                 np.r_[fixed, free, free], np.r_[z[fixed], z[free], r], (m, bld.n)).tocsr()
    return x


@dataclass
class MILPSolution:
    """What HiGHS returned for one :class:`FormalMILP` (a plain value).

    ``status`` is ``"optimal"`` (gap closed to the requested tolerance), ``"time_limit"``,
    or ``"failed"``; ``dual_bound`` is HiGHS's bound on the maximum (None when it has none),
    ``value`` the best vertex's objective (None when none was found), ``x`` that vertex.
    """

    status: str
    dual_bound: float | None
    value: float | None
    x: np.ndarray | None
    gap: float | None
    nodes: int
    seconds: float
    message: str


def solve_formal_milp(model: FormalMILP, *, time_limit: float | None = None,
                      gap: float = 1e-4) -> MILPSolution:
    """Maximize ``model`` with scipy's HiGHS branch and bound.

    Examples
    --------
    >>> import math
    >>> import numpy as np
    >>> from polylip.nn import Network
    >>> net = Network.from_weights([np.array([[1.0, -1.0], [2.0, 1.0]]), np.array([[1.0, 1.0]])])
    >>> m = formal_milp(net, math.inf, [(np.zeros(2), np.ones(2))], np.ones(1))
    >>> sol = solve_formal_milp(m)
    >>> sol.status, round(sol.value, 9)
    ('optimal', 3.0)
    """
    t0 = time.perf_counter()
    constraints = []
    if model.A_eq.shape[0]:
        constraints.append(LinearConstraint(model.A_eq, model.b_eq, model.b_eq))
    if model.A_ub.shape[0]:
        constraints.append(LinearConstraint(model.A_ub, -np.inf, model.b_ub))
    options = {"disp": False, "mip_rel_gap": float(gap), "presolve": True}
    if time_limit is not None:
        options["time_limit"] = max(float(time_limit), 1e-3)
    res = milp(-model.c, constraints=constraints, integrality=model.integrality,
               bounds=Bounds(model.lb, model.ub), options=options)
    seconds = time.perf_counter() - t0
    dual = getattr(res, "mip_dual_bound", None)
    dual = None if dual is None or not np.isfinite(dual) else -float(dual) + model.offset
    value = None if res.x is None else float(model.c @ res.x) + model.offset
    status = {0: "optimal", 1: "time_limit"}.get(res.status, "failed")
    if status == "optimal" and dual is None and value is not None:
        # no dual bound reported (e.g. solved in presolve): "optimal" means within the
        # relative gap of the best vertex, so the maximum is at most this
        dual = value + float(gap) * max(abs(value), 1.0)
    if status == "failed":
        dual = None
    mgap = getattr(res, "mip_gap", None)
    return MILPSolution(status=status, dual_bound=dual, value=value, x=res.x,
                        gap=None if mgap is None or not np.isfinite(mgap) else float(mgap),
                        nodes=int(getattr(res, "mip_node_count", 0) or 0), seconds=seconds,
                        message=str(res.message))


def _vertex(model: FormalMILP, x: np.ndarray, derivative_bounds):
    """The input direction and derivative pattern of a MILP point (binaries rounded)."""
    tau = np.round(x[model.t_cols])
    if model.norm == math.inf:
        t = 2.0 * tau - 1.0
    else:
        n0 = tau.size // 2
        t = tau[:n0] - tau[n0:]
    pattern = []
    for (dlo, dhi), zc, free in zip(derivative_bounds, model.z_cols, model.z_index):
        s = np.asarray(dlo, float).copy()
        s[free] = s[free] + (np.asarray(dhi, float)[free] - s[free]) * np.round(x[zc])
        pattern.append(s)
    return t, pattern


def _vertex_value(net, functional, t, pattern) -> float:
    """``u^T W_{L+1} diag(s_L) ... diag(s_1) W_1 t`` in floating point (numpy)."""
    v = np.asarray(t, float)
    layers = net.affine_layers
    for (W, _), s in zip(layers[:-1], pattern):
        v = s * (_csr(W) @ v)
    return float(np.asarray(functional, float) @ (_csr(layers[-1][0]) @ v))


@register_method("milp", description="formal constant by mixed-integer LP (HiGHS branch and "
                                     "bound; l_inf, l_1)")
def _milp(problem: LipschitzProblem, time_limit: float | None = 60.0,
          gap: float = 1e-4, constant: str = "auto") -> MethodOutput:
    """The formal constant (the gradient POP's optimum), or over a box or a ball the true
    local constant, by branch and bound.

    ``time_limit``: seconds for all functionals together (None: no limit); at the limit the
    dual bound so far is returned with ``status="time_limit"``. ``gap``: relative gap at which
    HiGHS stops (the bound is then within ``gap`` of the constant). ``constant``: ``"formal"``
    (every pattern in the derivative ranges), ``"true"`` (the pattern tied to an input of the
    region: a box or a ball, ReLU-type activations; see :func:`_add_forward`), or ``"auto"``
    (``"true"`` where it applies, else ``"formal"``).
    """
    t0 = time.perf_counter()
    constant = _which_constant(problem, constant)
    if problem.norm not in (math.inf, 1.0):
        raise ModelError("method 'milp' supports the input norms inf and 1 (the l_2 constant "
                         "maximizes a convex quadratic: use 'dp', 'lipsdp' or 'sdp')")
    if not (isinstance(gap, (int, float)) and 0 <= gap < 1):
        raise ModelError(f"method 'milp': gap must be a number in [0, 1), got {gap!r}")
    if time_limit is not None and not (isinstance(time_limit, (int, float)) and time_limit > 0):
        raise ModelError(f"method 'milp': time_limit must be positive seconds or None, "
                         f"got {time_limit!r}")
    fs = functionals(problem.net)
    if any(u is None for u in fs):
        raise ModelError("method 'milp' needs a fixed output functional: an l_2 vector output "
                         "is not supported (use 'sdp' or 'lipsdp')")
    db = problem.bounds.derivative_bounds
    forward = None
    if constant == "true":
        x_lo, x_hi = problem.region.input_box()
        forward = (x_lo, x_hi, problem.bounds.pre_lo, problem.bounds.pre_hi)
    attained = None  # largest local constant at an input the MILP found (a lower bound)
    parts, statuses = [], []
    best_vertex = (-math.inf, None, None)
    upper = -math.inf
    for k, u in enumerate(fs):
        problem.report("milp", k, len(fs))
        left = None if time_limit is None else time_limit - (time.perf_counter() - t0)
        if left is not None and left <= 0:
            statuses.append("time_limit")
            upper = None
            break
        model = formal_milp(problem.net, problem.norm, db, u, forward=forward)
        sol = solve_formal_milp(model, time_limit=left, gap=gap)
        part = {"status": sol.status, "dual_bound": sol.dual_bound, "gap": sol.gap,
                "nodes": sol.nodes, "seconds": sol.seconds, "shape": model.shape,
                "message": sol.message}
        if sol.x is not None:
            t, pattern = _vertex(model, sol.x, db)
            value = _vertex_value(problem.net, u, t, pattern)
            part["vertex_value"] = value
            if value > best_vertex[0]:
                best_vertex = (value, t, pattern)
            if model.x_cols is not None:
                x = problem.region.project(sol.x[model.x_cols][None, :])[0]
                here = float(problem.net.local_lipschitz(x[None, :], problem.norm)[0])
                if attained is None or here > attained[0]:
                    attained = (here, x)
        parts.append(part)
        statuses.append(sol.status)
        if sol.dual_bound is None or upper is None:
            upper = None
        else:
            bound = max(sol.dual_bound, part.get("vertex_value", -math.inf))
            upper = max(upper, bound + MILP_MARGIN * (1.0 + abs(bound)))
        log.info("milp functional %d/%d: %s, dual bound %s, %d nodes, %.2fs", k + 1, len(fs),
                 sol.status, sol.dual_bound, sol.nodes, sol.seconds)
    if all(s == "optimal" for s in statuses) and len(statuses) == len(fs):
        status = "ok"
    elif "failed" in statuses:
        status = "failed"
    else:
        status = "time_limit"
    if status == "failed":
        upper = None
    formal_lower = best_vertex[0] if best_vertex[1] is not None else None
    details = {"constant": constant, "formal_lower": formal_lower if constant == "formal"
               else None, "vertex_value": formal_lower, "gap": gap, "time_limit": time_limit,
               "milp_seconds": time.perf_counter() - t0, "functionals": len(fs),
               "parts": parts}
    if best_vertex[1] is not None:
        details["t"], details["pattern"] = best_vertex[1], best_vertex[2]
    if upper is None:
        details["message"] = ("no bound: " + "; ".join(p["message"] for p in parts)
                              if parts else "no bound: the time limit was reached")
    elif status == "time_limit":
        details["message"] = (f"time limit {time_limit} s reached: the bound is HiGHS's dual "
                              f"bound, {upper - (formal_lower or 0):.3g} above the best vertex")
    lower, witness = (None, None) if attained is None else attained
    return MethodOutput(upper=None if upper is None else float(upper), lower=lower,
                        witness=witness, status=status, details=details)


def _which_constant(problem: LipschitzProblem, constant: str) -> str:
    """Resolve the ``constant`` option of method "milp" (see :func:`_milp`)."""
    if constant not in ("auto", "formal", "true"):
        raise ModelError(f"method 'milp': constant must be 'auto', 'formal' or 'true', "
                         f"got {constant!r}")
    local = problem.region.input_box() is not None
    if constant == "auto":
        return "true" if local and realizable_activations(problem.net) else "formal"
    if constant == "true":
        if not local:
            raise ModelError("method 'milp' with constant='true' needs a bounded region (a box "
                             "or a ball): globally every activation pattern is realizable")
        if not realizable_activations(problem.net):
            raise ModelError("method 'milp' with constant='true' needs ReLU-type activations "
                             "(relu, leaky_relu with alpha <= 1): "
                             f"{[a.spec() for a in problem.net.activations]}")
    return constant

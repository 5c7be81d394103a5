"""The mixed-integer LP of one gradient functional (method ``"milp"``, see
:mod:`polylip.nn.methods.milp`), as a plain value, and its solve by scipy's HiGHS branch and
bound (through the solve stage).

Formulation, forward from the input direction (one column block per hidden layer ``k``)::

    a_k = W_k h_{k-1}                      (continuous, equality rows; h_0 = t)
    p_kj = z_kj a_kj                       (binary z, four inequalities from bounds of a_kj)
    h_kj = lo_kj a_kj + (hi_kj - lo_kj) p_kj   (an affine expression, no column)
    maximize  u^T W_{L+1} h_L

The bounds of ``a_k`` come from interval arithmetic over the formal box (``t`` in its ball, each
``s`` in its range). Neurons with a single derivative value (stable on a local region) get no
binary. With ``forward`` (an input box and its pre-activation bounds) the pattern is tied to an
input of the box (:func:`_add_forward`), and the optimum bounds the true local constant.

HiGHS is called through the solve stage's mixed-integer entry,
:func:`polylip.solve.sdp.solve_milp` (its time and node limits, status map), never directly.

Examples
--------
>>> import math
>>> import numpy as np
>>> from polylip.nn import Network
>>> net = Network.from_weights([np.eye(2), np.ones((1, 2))])
>>> model = formal_milp(net, math.inf, [(np.zeros(2), np.ones(2))], np.ones(1))
>>> model.shape, solve_formal_milp(model).status
((10, 8, 4), 'optimal')
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from polylip.errors import ModelError
from polylip.nn.activations import _PiecewiseLinear
from polylip.solve.sdp import solve_milp

__all__ = ["FormalMILP", "MILPSolution", "formal_milp", "solve_formal_milp",
           "realizable_activations", "with_rows"]


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


def formal_milp(net, norm: float, derivative_bounds, functional, forward=None,
                margin: float = 0.0) -> FormalMILP:
    """Build the MILP whose optimum is the formal constant for one output functional.

    With ``forward = (x_lo, x_hi, pre_lo, pre_hi)`` (an input box and pre-activation bounds
    valid on it) the activation pattern is tied to an input ``x`` of that box by the exact
    big-M encoding of each unstable neuron (see :func:`_add_forward`), so the optimum bounds
    the *true* local constant instead of the formal one. ``margin > 0`` (with ``forward``)
    asks every unstable pre-activation to keep its pattern's sign by ``margin`` times its
    range (see :func:`_add_forward`): only patterns realized on a set with interior remain.

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
    x_cols = None if forward is None else _add_forward(bld, net, forward, z_cols, z_index,
                                                        margin)
    c = np.zeros(bld.n)
    c[:H.shape[1]] = H.T @ weights
    A_eq, b_eq = bld.matrix("eq")
    A_ub, b_ub = bld.matrix("ub")
    return FormalMILP(c=c, offset=float(weights @ h), A_eq=A_eq, b_eq=b_eq, A_ub=A_ub, b_ub=b_ub,
                      lb=np.concatenate(bld.lb), ub=np.concatenate(bld.ub),
                      integrality=np.concatenate(bld.integ), norm=norm, t_cols=tau,
                      z_cols=z_cols, z_index=z_index, x_cols=x_cols)


def with_rows(model: FormalMILP, A, b) -> FormalMILP:
    """``model`` with the rows ``A x <= b`` added (cuts, an objective cutoff)."""
    A = sp.csr_matrix(A, shape=(np.shape(A)[0], model.c.size))
    return dataclasses.replace(model, A_ub=sp.vstack([model.A_ub, A]).tocsr(),
                               b_ub=np.concatenate([model.b_ub, np.asarray(b, float)]))


def realizable_activations(net) -> bool:
    """True when every activation is piecewise linear, convex, with its kink at 0 (ReLU, leaky
    ReLU with ``alpha <= 1``, identity): what :func:`_add_forward` encodes exactly."""
    return all(isinstance(a, _PiecewiseLinear) and a.left <= a.right for a in net.activations)


def _add_forward(bld: _Builder, net, forward, z_cols, z_index, margin: float = 0.0) -> np.ndarray:
    """Columns and rows tying the derivative binaries to an input ``x`` of the box.

    Per hidden layer: pre-activations ``z = W y_prev + b`` (columns bounded by ``pre_lo``,
    ``pre_hi``; ``y_0 = x``), and for each unstable neuron a column ``r = relu(z)`` encoded
    with the neuron's own derivative binary ``d`` (``s = left + (right - left) d``)::

        r >= z,   r >= 0,   r <= z - L (1 - d),   r <= U d

    so ``d = 1`` forces ``z >= 0`` and ``r = z``, ``d = 0`` forces ``z <= 0`` and ``r = 0`` (both
    allowed at ``z = 0``). The activation is ``y = left z + (right - left) r``; a stable neuron
    is ``y = s z`` with its single slope ``s``. Returns the input's columns.

    With ``margin > 0``, two more rows per unstable neuron keep ``z`` away from the kink by
    ``delta = margin (U - L)`` (at most half of ``U`` and of ``-L``)::

        z >= delta d + L (1 - d),   z <= U d - delta (1 - d)

    so ``d = 1`` forces ``z >= delta`` and ``d = 0`` forces ``z <= -delta``. A point meeting
    them has every unstable neuron strictly on its side, so its pattern holds on a
    neighbourhood: the optimum is then at most the true local constant (up to the solver's
    tolerances), and patterns realized only on the kinks (measure zero) are gone. It can also
    lose open cells thinner than ``delta`` and cells where a deeper pre-activation is
    identically zero: :func:`polylip.nn.methods.milp.milp` uses it as a threshold only.
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
        if margin > 0 and f:
            delta = np.minimum(margin * (Uf - Lf), 0.5 * np.minimum(Uf, -Lf))
            delta = np.maximum(delta, 0.0)
            #   -z + (delta - L) d <= -L,   z - (U + delta) d <= -delta
            bld.constrain("ub", _coo(
                np.r_[-one, delta - Lf, one, -(Uf + delta)],
                np.r_[i, i, i + f, i + f], np.r_[z[free], d, z[free], d], (2 * f, bld.n)),
                np.r_[-Lf, -delta])
        slope = np.where(U <= 0, act.left, act.right).astype(float)  # stable neurons
        fixed = np.setdiff1d(np.arange(m), free)
        Y = _coo(np.r_[slope[fixed], np.full(f, act.left), np.full(f, act.right - act.left)],
                 np.r_[fixed, free, free], np.r_[z[fixed], z[free], r], (m, bld.n)).tocsr()
    return x


@dataclass
class MILPSolution:
    """What HiGHS returned for one :class:`FormalMILP` (a plain value).

    ``status`` is ``"optimal"`` (gap closed to the requested tolerance), ``"time_limit"``,
    ``"infeasible"`` (possible only with rows added by :func:`with_rows`) or ``"failed"``;
    ``dual_bound`` is HiGHS's bound on the maximum (None when it has none), ``value`` the best
    vertex's objective (None when none was found), ``x`` that vertex.
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
                      gap: float = 1e-4, presolve: bool = True,
                      node_limit: int | None = None) -> MILPSolution:
    """Maximize ``model`` with HiGHS's branch and bound through the solve stage
    (:func:`polylip.solve.sdp.solve_milp`). ``presolve=False``: without HiGHS's presolve (see
    :func:`polylip.nn.methods.milp._solve_true` for when); ``node_limit``: a work limit
    (branch-and-bound nodes, the same on every machine and load), stopped there the status is
    ``"time_limit"`` with the dual bound so far.

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
    problem = dict(A_eq=model.A_eq, b_eq=model.b_eq, A_ub=model.A_ub, b_ub=model.b_ub,
                   lb=model.lb, ub=model.ub, integrality=model.integrality, gap=float(gap),
                   node_limit=None if node_limit is None else int(node_limit))
    res = solve_milp(-model.c, time_limit=time_limit, presolve=bool(presolve), **problem)
    if res.status == "failed" and presolve:
        # HiGHS 1.x (scipy 1.17) ends some small degenerate models with "Solve error" in
        # presolve (measured: a true-constant MILP of a 2-3-2-1 network with two identical
        # first-layer rows and the cut d_1 = d_2) and solves them without it
        left = None if time_limit is None else float(time_limit) - (time.perf_counter() - t0)
        res = solve_milp(-model.c, time_limit=None if left is None else max(left, 1e-3),
                         presolve=False, **problem)
    # the solve stage minimizes -c x: its dual bound (a lower bound on the minimum) negated is
    # an upper bound on the maximum; "unbounded" cannot happen (every column is bounded)
    status = res.status if res.status in ("optimal", "time_limit", "infeasible") else "failed"
    dual = None if res.dual_bound is None or status in ("failed", "infeasible") \
        else -float(res.dual_bound) + model.offset
    value = None if res.x is None else float(model.c @ res.x) + model.offset
    return MILPSolution(status=status, dual_bound=dual, value=value, x=res.x, gap=res.gap,
                        nodes=res.nodes, seconds=time.perf_counter() - t0, message=res.message)

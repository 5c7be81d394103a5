"""The gradient-norm polynomial optimization problem of a network (LiPopt's POP).

For a network ``f(x) = u . W_L a(... a(W_1 x + b_1) ...)`` the gradient is
``grad f(x) = W_1^T D_1 W_2^T D_2 ... W_{L-1}^T D_{L-1} W_L^T u`` with ``D_k = diag(a_k'(z_k))``.
For the input norm ``p`` with dual ``q``, the Lipschitz constant over a region is at most

    max  t^T W_1^T diag(s_1) ... W_{L-1}^T diag(s_{L-1}) W_L^T u
    s.t. ||t||_p <= 1,  s_kj in [lo_kj, hi_kj]

where ``[lo_kj, hi_kj]`` contains the derivative of neuron ``j`` of hidden layer ``k`` over the
region (global range, or interval bound propagation for a local region). Its optimum is the
*formal* Lipschitz constant.

Structure used (:func:`gradient_pop`):

* **Vertices.** The objective is multilinear in the blocks ``(t, s_1, ..., s_{L-1})``: every
  monomial has degree at most one in each ``s_kj``. Its maximum over a box in ``s`` is at a
  vertex, so each free ``s_kj`` is written ``s_kj = lo + (hi - lo) * sigma_kj`` with a *binary*
  ``sigma_kj`` (for ReLU globally ``lo = 0, hi = 1`` and ``s = sigma``). For ``p = inf`` the
  same holds for ``t`` in ``[-1, 1]^n``: ``t`` is a *spin* variable (``t_i^2 = 1``). Exponents
  are reduced modulo these relations before any relaxation is built.
* **Stable neurons** (``lo == hi``, e.g. a ReLU proved active or inactive by IBP) are constants,
  not variables; neurons fixed to 0 remove every path through them.
* **l_2 input norm**: ``t`` is continuous with ``1 - ||t||_2^2 >= 0`` (and the implied box
  ``1 - t_i^2 >= 0``, which helps the LP and keeps cliques small).
* **Vector outputs**: for output norm ``r = inf`` or ``1`` the constant is the maximum over the
  functionals of :meth:`~polylip.nn.network.VectorOutput.extreme_functionals` (one POP each,
  pass ``functional=``); for ``r = 2`` the output functional is a variable ``u`` with
  ``1 - ||u||_2^2 >= 0``.

Two formulations:

* ``"expanded"`` (default when it fits): the objective multiplied out over input-to-output
  paths. One monomial per path (times ``2^(L-1)`` at most when some ``lo != 0``); degree
  ``L`` (``L + 1`` with a variable ``u``). Built layer by layer with numpy: terms are kept as
  (head neuron, index row, coefficient), multiplied by ``s`` of the head neuron, pushed through
  the sparse weight matrix, and merged.
* ``"lifted"`` (when the expanded objective would exceed ``max_terms`` terms, or on request):
  one auxiliary vector ``z_k`` per hidden layer ``k < L - 1`` with the bilinear equalities
  ``z_k = diag(s_k) W_{k+1}^T z_{k+1}`` (``z_{L-1} = diag(s_{L-1}) W_L^T u`` is substituted), box
  bounds ``|z_k| <= B_k`` from interval arithmetic, and the bilinear objective ``t^T W_1^T z_1``.
  Degree 2 whatever the depth: order-1 (Shor) and order-2 relaxations stay small, at the price
  of a weaker bound than the expanded form at the same order.

The *cliques* of the network (:attr:`GradientPOP.cliques`) follow LiPopt: for the expanded form,
one clique per neuron of the last hidden layer holding its ``sigma``, the ``sigma`` of every
neuron in its receptive field and the ``t`` of every input in it (every path, hence every
monomial, lies in the clique of its last hidden neuron). For the lifted form, one clique per
equality and per neuron of the first layer.

Examples
--------
>>> import numpy as np
>>> from polylip.nn.network import Network
>>> net = Network.from_weights([np.array([[1.0, -1.0], [2.0, 0.0]]), np.array([[1.0, 1.0]])])
>>> gp = gradient_pop(net, norm="inf")
>>> gp.formulation, gp.pop.sense, str(gp.pop.objective)
('expanded', 'max', 't0*s1_0 + 2*t0*s1_1 - t1*s1_0')
>>> gp.cliques
((0, 1, 2), (0, 3))
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from polylip.errors import ModelError
from polylip.model.pop import POP
from polylip.nn.norms import parse_norm
from polylip.nn.regions import as_region
from polylip.poly import Polynomial
from polylip.poly import monomials as mono

__all__ = ["GradientPOP", "gradient_pop", "functionals", "count_paths", "MAX_TERMS"]

log = logging.getLogger(__name__)

#: Above this many terms of the expanded objective, ``formulation="auto"`` uses the lifted one.
MAX_TERMS = 200_000


@dataclass(frozen=True)
class GradientPOP:
    """A gradient-norm POP with the facts a relaxation of it needs.

    Attributes
    ----------
    pop : POP
        ``sense="max"``; its optimum is the formal Lipschitz constant for ``functional``.
    formulation : {"expanded", "lifted"}
    norm : float
        Input norm ``p``.
    t : tuple of int
        Variable indices (in ``pop.variables``) of the input dual vector ``t``.
    s : list of ndarray
        Per hidden layer, the variable index of each neuron's ``sigma`` (-1 for a stable neuron).
    s_lo, s_hi : list of ndarray
        Derivative ranges used: ``s = s_lo + (s_hi - s_lo) * sigma``.
    fixed : list of ndarray
        Per hidden layer, the mask of neurons fixed to a constant (stable over the region).
    u : tuple of int
        Variable indices of a variable output functional (l_2 vector output), else empty.
    z : list of ndarray
        Lifted formulation: variable indices of the auxiliary vectors (empty otherwise).
    functional : ndarray or None
        The fixed output functional ``u`` (None when ``u`` is a variable).
    cliques : tuple of tuple of int
        Cliques of the network's connectivity (see module docstring), sorted variable indices.
    npaths : float
        Number of input-to-output paths through non-fixed-zero neurons.
    """

    pop: POP
    formulation: str
    norm: float
    t: tuple
    s: list
    s_lo: list
    s_hi: list
    fixed: list
    u: tuple = ()
    z: list = field(default_factory=list)
    functional: np.ndarray | None = None
    cliques: tuple = ()
    npaths: float = 0.0

    @property
    def nvars(self) -> int:
        return self.pop.nvars

    @property
    def num_free_neurons(self) -> int:
        return int(sum((s >= 0).sum() for s in self.s))

    @property
    def num_fixed_neurons(self) -> int:
        return int(sum(f.sum() for f in self.fixed))

    def summary(self) -> dict:
        """Sizes of the POP (JSON-ready)."""
        sizes = [len(c) for c in self.cliques]
        return dict(formulation=self.formulation, nvars=self.nvars,
                    nterms=int(self.pop.objective.nterms), degree=int(self.pop.degree),
                    inequalities=len(self.pop.ineqs), equalities=len(self.pop.eqs),
                    free_neurons=self.num_free_neurons, fixed_neurons=self.num_fixed_neurons,
                    paths=float(self.npaths), cliques=len(self.cliques),
                    max_clique=max(sizes, default=0),
                    binary=len(self.pop.binary), spin=len(self.pop.spin))

    def point(self, t, sigma) -> np.ndarray:
        """A point of the POP (expanded formulation) from ``t`` and the ``sigma`` per layer."""
        x = np.zeros(self.nvars)
        x[list(self.t)] = t
        for idx, sg in zip(self.s, sigma):
            free = idx >= 0
            x[idx[free]] = np.asarray(sg, dtype=float)[free]
        return x


def _csr(W):
    return sp.csr_matrix(W) if sp.issparse(W) else sp.csr_matrix(np.asarray(W, dtype=float))


def functionals(net):
    """The output functionals whose POP optima have the network's constant as maximum.

    Returns a list of vectors ``u`` (scalar and margin outputs: one; vector output with
    ``r = inf`` or ``1``: the extreme functionals, up to sign), or ``[None]`` for an l_2 vector
    output (``u`` becomes a variable of the POP).
    """
    u = net.functional()
    if u is not None:
        return [u]
    out = net.output
    if out.norm == 2.0:
        return [None]
    return list(out.extreme_functionals(net.output_dim))


def _derivative_ranges(net, region):
    bounds = as_region(region).propagate(net)
    return [np.asarray(lo, float) for lo in bounds.deriv_lo], [np.asarray(hi, float) for hi in bounds.deriv_hi]


def count_paths(net, fixed_zero=None, functional=None) -> float:
    """Number of input-to-output paths with non-zero weights (as a float, it can be huge).

    ``fixed_zero`` masks neurons that carry no path (stable at derivative 0).
    """
    layers = net.affine_layers
    W = _csr(layers[-1][0])
    if functional is not None:
        v = np.abs(W.T @ functional) > 0
        c = v.astype(float)
    else:
        c = np.asarray((abs(W) > 0).sum(axis=0)).ravel().astype(float)
    for k in range(len(layers) - 2, -1, -1):
        if fixed_zero is not None:
            c = np.where(fixed_zero[k], 0.0, c)
        A = (abs(_csr(layers[k][0])) > 0).astype(float)
        c = A.T @ c
    return float(np.sum(c))


def _merge(head: np.ndarray, rows: np.ndarray, coef: np.ndarray):
    """Merge terms with equal (head, row); drop zero coefficients."""
    if coef.size == 0:
        return head, rows, coef
    key = np.hstack([head[:, None].astype(np.int64), rows.astype(np.int64)])
    uniq, inv = np.unique(key, axis=0, return_inverse=True)
    inv = inv.ravel()
    c = np.bincount(inv, weights=coef, minlength=uniq.shape[0])
    keep = c != 0.0
    return (uniq[keep, 0], uniq[keep, 1:].astype(mono.INDEX_DTYPE), c[keep])


def _times_s(head, rows, coef, sidx, lo, d):
    """Multiply each term by ``s_head = lo + d * sigma_head`` (appends one column)."""
    var = sidx[head]
    a = lo[head]
    dd = d[head]
    free = var >= 0
    # constant part: lo (for free and fixed neurons alike)
    keep_a = a != 0.0
    col_a = np.full((int(keep_a.sum()), 1), mono.PAD, dtype=mono.INDEX_DTYPE)
    parts_rows = [np.hstack([rows[keep_a], col_a])]
    parts_head = [head[keep_a]]
    parts_coef = [coef[keep_a] * a[keep_a]]
    keep_d = free & (dd != 0.0)
    parts_rows.append(np.hstack([rows[keep_d], var[keep_d, None].astype(mono.INDEX_DTYPE)]))
    parts_head.append(head[keep_d])
    parts_coef.append(coef[keep_d] * dd[keep_d])
    return (np.concatenate(parts_head), np.vstack(parts_rows), np.concatenate(parts_coef))


def _through(head, rows, coef, W: sp.csr_matrix):
    """Replace each head ``j`` by every ``i`` with ``W[j, i] != 0`` (coefficient times it)."""
    counts = np.diff(W.indptr)[head]
    total = int(counts.sum())
    rep = np.repeat(np.arange(head.size), counts)
    starts = W.indptr[head]
    offs = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    pos = np.repeat(starts, counts) + offs
    return W.indices[pos].astype(np.int64), rows[rep], coef[rep] * W.data[pos]


def gradient_pop(net, norm="inf", region=None, *, functional="auto", formulation="auto",
                 max_terms: int = MAX_TERMS, derivative_bounds=None) -> GradientPOP:
    """Build the gradient-norm POP of a network (see the module docstring).

    Parameters
    ----------
    net : Network
    norm : {"inf", "2", np.inf, 2}
        Input norm ``p``.
    region : Region, optional
        Global (default) or local; its derivative ranges (IBP) bound the ``s`` variables and its
        stable neurons are fixed.
    functional : "auto", array or None
        The output functional ``u``: "auto" takes the network's (scalar and margin outputs, l_2
        vector outputs as a variable); pass one of :func:`functionals` for vector outputs with
        ``r = inf`` or ``1``; None makes ``u`` a variable in the unit l_2 ball.
    formulation : {"auto", "expanded", "lifted"}
        "auto": expanded unless it would have more than ``max_terms`` terms.
    max_terms : int
    derivative_bounds : list of (lo, hi), optional
        Override the derivative ranges (one pair of arrays per hidden layer).

    Returns
    -------
    GradientPOP

    Examples
    --------
    >>> import numpy as np
    >>> from polylip.nn.network import Network
    >>> net = Network.from_weights([np.eye(2), np.ones((1, 2))])
    >>> gp = gradient_pop(net, norm=2)
    >>> [str(g) for g in gp.pop.ineqs][:1]
    ['1 - t0**2 - t1**2']
    """
    p = parse_norm(norm)
    if p not in (np.inf, 2.0):
        raise ModelError("gradient_pop supports the input norms inf and 2 (for norm 1 the "
                         "constant is max_i |grad_i|: use method 'exact' or 'product')")
    if formulation not in ("auto", "expanded", "lifted"):
        raise ModelError(f"formulation must be 'auto', 'expanded' or 'lifted', not {formulation!r}")
    H = net.num_hidden
    n0 = net.input_dim
    m = net.output_dim
    if isinstance(functional, str) and functional == "auto":
        fs = functionals(net)
        if len(fs) > 1:
            raise ModelError(f"the network has a vector output with norm {net.output.norm}: "
                             "pass functional= (one of polylip.nn.gradient_pop.functionals(net)) "
                             "and take the maximum, as the methods do")
        functional = fs[0]
    if functional is not None:
        functional = np.asarray(functional, dtype=float).reshape(-1)
        if functional.size != m:
            raise ModelError(f"the functional has length {functional.size}, the network {m} outputs")

    if derivative_bounds is None:
        lo_list, hi_list = _derivative_ranges(net, region)
    else:
        lo_list = [np.asarray(a, float).reshape(-1) for a, _ in derivative_bounds]
        hi_list = [np.asarray(b, float).reshape(-1) for _, b in derivative_bounds]
        if [a.size for a in lo_list] != net.widths or [b.size for b in hi_list] != net.widths:
            raise ModelError("derivative_bounds must give one (lo, hi) pair per hidden layer")
    for a, b in zip(lo_list, hi_list):
        if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b)) and np.all(a <= b + 1e-15)):
            raise ModelError("derivative ranges must be finite with lo <= hi")

    # ---- variables: t, sigma per layer (free neurons), u (variable functional)
    names = [f"t{i}" for i in range(n0)]
    t_idx = tuple(range(n0))
    s_idx, fixed = [], []
    for k in range(H):
        lo, hi = lo_list[k], hi_list[k]
        fx = hi - lo <= 1e-12 * np.maximum(1.0, np.abs(hi))
        idx = np.full(lo.size, -1, dtype=np.int64)
        free = np.nonzero(~fx)[0]
        idx[free] = len(names) + np.arange(free.size)
        names += [f"s{k + 1}_{j}" for j in free]
        s_idx.append(idx)
        fixed.append(fx)
    u_idx = ()
    if functional is None:
        u_idx = tuple(range(len(names), len(names) + m))
        names += [f"u{i}" for i in range(m)]
    d_list = [np.where(fx, 0.0, hi - lo) for fx, lo, hi in zip(fixed, lo_list, hi_list)]
    lo_eff = [np.where(fx, (lo + hi) / 2, lo) for fx, lo, hi in zip(fixed, lo_list, hi_list)]
    zero_fixed = [fx & (np.abs(lo) <= 0) for fx, lo in zip(fixed, lo_eff)]

    npaths = count_paths(net, zero_fixed, functional)
    mult = 2.0 ** sum(bool(np.any((lo != 0) & (s >= 0))) for lo, s in zip(lo_eff, s_idx))
    est = npaths * mult * (m if functional is None else 1)
    if formulation == "auto":
        formulation = "expanded" if (est <= max_terms or (H <= 1 and u_idx == ())) else "lifted"
    log.info("gradient POP: %d hidden layers, %.3g paths, %s formulation", H, npaths, formulation)

    binary = [names[i] for s in s_idx for i in s[s >= 0]]
    spin = [names[i] for i in t_idx] if p == np.inf else []
    ineqs = []
    if p == 2.0:
        ineqs.append(_ball(names, t_idx))
        ineqs += _boxes(names, t_idx, np.ones(n0))
    if u_idx:
        ineqs.append(_ball(names, u_idx))
        ineqs += _boxes(names, u_idx, np.ones(m))

    if formulation == "expanded":
        obj, cliques = _expanded(net, names, t_idx, s_idx, lo_eff, d_list, u_idx, functional)
        pop = POP(obj, ineqs=ineqs, sense="max", variables=names, binary=binary, spin=spin)
        return GradientPOP(pop, "expanded", p, t_idx, s_idx, lo_list, hi_list, fixed, u_idx, [],
                           functional, cliques, npaths)
    obj, eqs, more_ineqs, z_idx, names, cliques = _lifted(net, names, t_idx, s_idx, lo_eff, d_list,
                                                          hi_list, u_idx, functional)
    pop = POP(obj, ineqs=ineqs + more_ineqs, eqs=eqs, sense="max", variables=names,
              binary=binary, spin=spin)
    return GradientPOP(pop, "lifted", p, t_idx, s_idx, lo_list, hi_list, fixed, u_idx, z_idx,
                       functional, cliques, npaths)


def _ball(names, idx):
    idx = np.asarray(idx, dtype=mono.INDEX_DTYPE)
    rows = np.vstack([np.full((1, 2), mono.PAD, mono.INDEX_DTYPE), np.column_stack([idx, idx])])
    return Polynomial(names, rows, np.concatenate([[1.0], -np.ones(idx.size)]))


def _boxes(names, idx, bound):
    """``bound_i^2 - x_i^2 >= 0`` for each variable."""
    out = []
    for i, b in zip(idx, bound):
        out.append(Polynomial(names, np.array([[mono.PAD, mono.PAD], [i, i]]), [float(b) ** 2, -1.0]))
    return out


def _initial_terms(net, u_idx, functional):
    """Terms of ``W_L^T u`` with their head neuron (last hidden layer or input)."""
    W = _csr(net.affine_layers[-1][0])
    if functional is not None:
        v = np.asarray(W.T @ functional).ravel()
        head = np.nonzero(v)[0]
        return head.astype(np.int64), np.zeros((head.size, 0), mono.INDEX_DTYPE), v[head]
    coo = W.tocoo()  # W[i, j]: output i, head j
    rows = np.asarray(u_idx, dtype=mono.INDEX_DTYPE)[coo.row][:, None]
    return coo.col.astype(np.int64), rows, coo.data.astype(float)


def _expanded(net, names, t_idx, s_idx, lo_eff, d_list, u_idx, functional):
    layers = net.affine_layers
    H = len(layers) - 1
    head, rows, coef = _initial_terms(net, u_idx, functional)
    # column 0 of the working rows labels each term with the last hidden neuron it went through
    # (its clique); it is part of the merge key and dropped at the end
    if H:
        head, rows, coef = _times_s(head, rows, coef, s_idx[H - 1], lo_eff[H - 1], d_list[H - 1])
    rows = np.hstack([(head if H else np.zeros_like(head))[:, None].astype(mono.INDEX_DTYPE), rows])
    for k in range(H - 1, -1, -1):
        if k < H - 1:
            head, rows, coef = _times_s(head, rows, coef, s_idx[k], lo_eff[k], d_list[k])
        head, rows, coef = _through(head, rows, coef, _csr(layers[k][0]))
        head, rows, coef = _merge(head, rows, coef)
    if H == 0:
        head, rows, coef = _merge(head, rows, coef)
    last = rows[:, 0].astype(np.int64)
    rows = rows[:, 1:]
    t = np.asarray(t_idx, dtype=mono.INDEX_DTYPE)
    rows = np.hstack([rows, t[head][:, None]])
    obj = Polynomial(names, rows, coef)
    # cliques: variables of all terms sharing a last hidden neuron
    rr = rows.astype(np.int64)
    lab = np.repeat(last, rr.shape[1])
    var = rr.ravel()
    ok = var >= 0
    pairs = np.unique(np.column_stack([lab[ok], var[ok]]), axis=0)
    if u_idx:
        extra = np.array(u_idx, dtype=np.int64)
        labs = np.unique(pairs[:, 0])
        pairs = np.unique(np.vstack([pairs, np.column_stack([np.repeat(labs, extra.size),
                                                             np.tile(extra, labs.size)])]), axis=0)
    return obj, _groups(pairs)


def _groups(pairs) -> tuple:
    """Cliques from (label, variable) pairs, with cliques contained in others removed."""
    if pairs.size == 0:
        return ()
    split = np.nonzero(np.diff(pairs[:, 0]))[0] + 1
    groups = {tuple(int(v) for v in g) for g in np.split(pairs[:, 1], split)}
    sets = sorted(groups, key=len, reverse=True)
    kept: list = []
    for g in sets:
        sg = set(g)
        if not any(sg <= set(k) for k in kept):
            kept.append(g)
    return tuple(sorted(kept))


def _lifted(net, names, t_idx, s_idx, lo_eff, d_list, hi_list, u_idx, functional):
    """Lifted formulation (see the module docstring)."""
    layers = net.affine_layers
    H = len(layers) - 1
    if H < 2 and functional is not None:
        raise ModelError("the lifted formulation needs two hidden layers or a variable output "
                         "functional; use formulation='expanded'")
    if H < 1:
        raise ModelError("the lifted formulation needs at least one hidden layer")
    names = list(names)
    smax = [np.maximum(np.abs(lo), np.abs(lo + d)) for lo, d in zip(lo_eff, d_list)]
    state = dict(eqs=[], ineqs=[], pairs=[], label=0, z=[])

    def add_level(h2, r2, c2, nk, bnd, k):
        """New variables z (hidden layer k, 1-based) equal to the terms with each head."""
        r2 = mono.normalize(r2) if r2.shape[1] else r2
        h2, r2, c2 = _merge(h2, r2, c2)
        live = np.zeros(nk, dtype=bool)
        live[np.unique(h2)] = True
        live_idx = np.nonzero(live & (bnd > 0))[0]
        zk = np.full(nk, -1, dtype=np.int64)
        zk[live_idx] = len(names) + np.arange(live_idx.size)
        names.extend(f"z{k}_{i}" for i in live_idx)
        state["z"].append(zk)
        w = max(2, r2.shape[1])
        r2 = mono.pad_to(r2, w)
        lo_i = np.searchsorted(h2, live_idx, side="left")
        hi_i = np.searchsorted(h2, live_idx, side="right")
        for i, a, b in zip(live_idx, lo_i, hi_i):  # one Polynomial per neuron
            zr = np.full((1, w), mono.PAD, mono.INDEX_DTYPE)
            zr[0, 0] = zk[i]
            state["eqs"].append(Polynomial(names, np.vstack([zr, r2[a:b]]),
                                           np.concatenate([[1.0], -c2[a:b]])))
            vv = r2[a:b].astype(np.int64).ravel()
            vv = np.unique(np.concatenate([vv[vv >= 0], [zk[i]]]))
            state["pairs"].append(np.column_stack([np.full(vv.size, state["label"]), vv]))
            state["label"] += 1
        state["ineqs"] += _boxes(names, zk[live_idx], bnd[live_idx])
        bound = np.where(np.isin(np.arange(nk), live_idx), bnd, 0.0)
        return (live_idx.astype(np.int64), zk[live_idx][:, None].astype(mono.INDEX_DTYPE),
                np.ones(live_idx.size), bound)

    WL = _csr(layers[-1][0])
    head, rows, coef = _initial_terms(net, u_idx, functional)
    head, rows, coef = _times_s(head, rows, coef, s_idx[H - 1], lo_eff[H - 1], d_list[H - 1])
    if functional is not None:
        bound = smax[H - 1] * np.abs(np.asarray(WL.T @ functional).ravel())
    else:
        bound = smax[H - 1] * np.sqrt(np.asarray(WL.multiply(WL).sum(axis=0)).ravel())
        head, rows, coef, bound = add_level(head, rows, coef, WL.shape[1], bound, H)
    for k in range(H - 1, 0, -1):
        # z for hidden layer k (1-based) = diag(s_k) W_{k+1}^T g_{k+1}
        Wt = _csr(layers[k][0])
        h2, r2, c2 = _through(head, rows, coef, Wt)
        h2, r2, c2 = _times_s(h2, r2, c2, s_idx[k - 1], lo_eff[k - 1], d_list[k - 1])
        bnd = smax[k - 1] * np.asarray(abs(Wt).T @ bound).ravel()
        head, rows, coef, bound = add_level(h2, r2, c2, Wt.shape[1], bnd, k)
    # objective t^T W_1^T g_1, with g_1 = z_1
    W1 = _csr(layers[0][0])
    h2, r2, c2 = _through(head, rows, coef, W1)
    t = np.asarray(t_idx, dtype=mono.INDEX_DTYPE)
    obj = Polynomial(names, np.hstack([r2, t[h2][:, None]]), c2)
    # cliques of the objective: per z_1 neuron, its inputs
    label = state["label"]
    lab = label + np.arange(head.size)
    counts = np.diff(W1.indptr)[head]
    pairs = state["pairs"] + [np.column_stack([np.repeat(lab, counts), t[h2].astype(np.int64)]),
                              np.column_stack([lab, rows[:, 0].astype(np.int64)])]
    pairs = np.unique(np.vstack(pairs), axis=0)
    if u_idx:
        extra = np.array(u_idx, dtype=np.int64)
        labs = np.unique(pairs[:, 0])
        pairs = np.unique(np.vstack([pairs, np.column_stack([np.repeat(labs, extra.size),
                                                             np.tile(extra, labs.size)])]), axis=0)
    # polynomials built before later variables were added need the full variable list
    eqs = [e.with_variables(names) for e in state["eqs"]]
    ineqs = [g.with_variables(names) for g in state["ineqs"]]
    return obj.with_variables(names), eqs, ineqs, state["z"][::-1], names, _groups(pairs)

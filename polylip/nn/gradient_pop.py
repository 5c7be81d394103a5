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

from polylip.errors import ModelError
from polylip.model.pop import POP
from polylip.nn.gradient_terms import ball, boxes, count_paths, expanded, lifted
from polylip.nn.network import Network
from polylip.nn.norms import parse_norm
from polylip.nn.outputs import ScalarOutput
from polylip.nn.regions import as_region

__all__ = ["GradientPOP", "gradient_pop", "functionals", "functional_networks", "scalar_network",
           "count_paths", "MAX_TERMS"]

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


def scalar_network(net, u):
    """``u . net(x)`` as a network with a scalar output (the last layer folded with ``u``)."""
    layers = net.affine_layers
    W, b = layers[-1]
    uu = np.asarray(u, dtype=float)
    Wu = uu @ (W.toarray() if hasattr(W, "toarray") else np.asarray(W))
    bu = np.array([float(uu @ np.asarray(b, dtype=float))]) if b is not None else np.zeros(1)
    return Network(layers[:-1] + [(Wu[None, :], bu)], net.activations, ScalarOutput(),
                   net.input_shape)


def functional_networks(net):
    """One scalar network per output functional (:func:`functionals`): the network itself
    for a scalar or margin output, ``u . net`` for each extreme functional ``u`` of an l_inf
    or l_1 vector output (the constant is the largest of theirs), ``None`` for an l_2 vector
    output (no finite list)."""
    us = functionals(net)
    if len(us) == 1 and us[0] is None:
        return None
    if len(us) == 1 and net.functional() is not None:
        return [net]
    return [scalar_network(net, u) for u in us]


def _derivative_ranges(net, region):
    bounds = as_region(region).propagate(net)
    return [np.asarray(lo, float) for lo in bounds.deriv_lo], [np.asarray(hi, float) for hi in bounds.deriv_hi]


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
        # fixed (at the midpoint) only when narrow relative to its end: an absolute 1e-12
        # fixed a saturated sigmoid's range [7e-23, 5.2e-22], and "dp" returned a bound
        # below the constant
        fx = hi - lo <= 1e-12 * np.maximum(np.abs(lo), np.abs(hi))
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
        ineqs.append(ball(names, t_idx))
        ineqs += boxes(names, t_idx, np.ones(n0))
    if u_idx:
        ineqs.append(ball(names, u_idx))
        ineqs += boxes(names, u_idx, np.ones(m))

    if formulation == "expanded":
        obj, cliques = expanded(net, names, t_idx, s_idx, lo_eff, d_list, u_idx, functional)
        pop = POP(obj, ineqs=ineqs, sense="max", variables=names, binary=binary, spin=spin)
        return GradientPOP(pop, "expanded", p, t_idx, s_idx, lo_list, hi_list, fixed, u_idx, [],
                           functional, cliques, npaths)
    obj, eqs, more_ineqs, z_idx, names, cliques = lifted(net, names, t_idx, s_idx, lo_eff, d_list,
                                                          hi_list, u_idx, functional)
    pop = POP(obj, ineqs=ineqs + more_ineqs, eqs=eqs, sense="max", variables=names,
              binary=binary, spin=spin)
    return GradientPOP(pop, "lifted", p, t_idx, s_idx, lo_list, hi_list, fixed, u_idx, z_idx,
                       functional, cliques, npaths)

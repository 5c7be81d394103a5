"""Lower bounds on the Lipschitz constant: the largest local constant found at inputs.

Every value returned is the exact local Lipschitz constant (``||grad f(x)||_q``, or the operator
norm of the Jacobian) at an input ``x`` of the region, so it is a true lower bound, with ``x``
returned as the witness. The search is deterministic for a given seed:

1. **Sampling**: random inputs in the region (for the global region, Gaussian inputs at several
   radii spread around the distances of the first-layer hyperplanes from the origin).
2. **Local search across activation regions** (piecewise-linear networks): at an input with
   dual vector ``t`` (the ``t`` with ``||t||_p <= 1`` and ``t . grad = ||grad||_q``), the
   objective ``t^T W_1^T D_1 ... W_L^T u`` is multilinear in the activation derivatives, so
   flipping neuron ``j`` of layer ``k`` changes it by ``(s' - s) a_kj b_kj`` (forward vector
   ``a``, backward vector ``b``). Among flips with a positive gain, the closest hyperplanes
   ``z_kj = 0`` are crossed by a short step; a step is kept if the true local constant grows.
3. **Ascent** (smooth networks): steps along the finite-difference Hessian-vector product
   ``H t``, the gradient of ``x -> t . grad f(x)``, with a few step sizes.
4. **Smoothed ascent** (l_2, piecewise-linear networks; before the local search, from the best
   samples): the same ascent on the softplus-smoothed network, its temperature annealed to
   1/100 of the pre-activations' scale (:func:`_smooth_ascent`), the true local constant
   evaluated at every iterate. Measured on the digits MLPs, margin 3-8, default work
   (benchmarks/bench_lipschitz_l2.py): 64-100-100-10 24.2 -> 30.0, 64-200-200-200-10
   18.3 -> 29.4 (LipSDP 30.77 and 33.65), in 0.3-0.4 s.
5. **Pattern ascent** (piecewise-linear networks, last): from the best points of distinct
   activation patterns, a climb in pattern space with realizability checked
   (:mod:`polylip.nn.lower_patterns`): the exact values of every one-flip neighbour in closed
   form (a rank-one change of the gradient), a flip taken only if its pattern is realized on
   an open set of the region (a ray test across a facet of the cell, else the realizability
   LP), its point checked by a forward pass and its value measured there; past a local
   maximum, a few moves to the best realizable unseen neighbour (tabu search). Measured on the
   digits MLPs, margin 3-8, time limit 5 s (the share "auto" gives it at a 60 s budget), load
   12: 64-200-200-200-10 l_inf 143.6 -> 183.9, l_2 30.43 -> 31.21; 64-100-100-10 l_inf 183.6
   -> 187.5, l_2 30.30 -> 30.53.

**Effort scales with the network** (:func:`effort`). Every phase's cost is counted in
multiply-adds from the network's size, before it runs: an evaluation of the local constant
costs ``nnz (1 + m)`` (``nnz`` weights, ``m`` outputs of a vector output, else 1), a
local-search step of one point ``n_0 * nnz_hidden + candidates * evaluation`` (the Jacobians of
the pre-activations), a cell of the pattern ascent its products and checks
(:func:`polylip.nn.lower_patterns._cell_cost`), an LP ``LP_ENTRY_WORK * rows * n_0 +
LP_BASE_WORK`` (``rows`` the hidden neurons). The search spends at most ``work`` of them
(default :data:`LOWER_WORK`): :data:`SAMPLE_SHARE` on sampling, :data:`SEARCH_SHARE` on the
local search, the rest on the pattern ascent; with the smoothed ascent, :data:`SMOOTH_SHARE` on
it and :data:`SMOOTH_SEARCH_SHARE` on the local search. ``samples``, ``restarts`` and
``polish_lps`` (the pattern ascent's LPs) left at None are derived from it (at most 2000, 64 and
200; at least 32, 2 and 1); the local search stops when its share is spent. The counted work
does not depend on the clock, so a search without ``time_limit`` gives the same result on every
run and machine load (measured: 64-200-200-200-10 MLP with ten outputs, 0.2-0.35 s on two
cores at load 12-13, where the fixed defaults took 43-118 s). ``time_limit`` stops it earlier by
the clock (:func:`polylip.nn.lipschitz` gives it a share of its budget), each phase at its
cumulative share of the time; with a ``time_limit`` and no ``work`` the work is what that time
buys at :data:`TIMED_WORK_RATE` (at least :data:`LOWER_WORK`), so a larger budget also buys a
larger search.

Why this module is long: it is one search (sampling, local search, smoothed ascent, its counted
effort; the pattern ascent is in :mod:`polylip.nn.lower_patterns`) and the step every lower bound ends with, moving a witness off the activation kinks
(:func:`differentiable_witness`), which the search and method "milp" share.

Examples
--------
>>> import numpy as np
>>> from polylip.nn.network import Network
>>> net = Network.from_weights([np.array([[1.0, 2.0], [-1.0, 1.0]]), np.array([[1.0, 1.0]])])
>>> lb = lower_bound(net, "inf")
>>> round(lb.value, 6)
3.0
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace

import numpy as np
import scipy.sparse as sp

from polylip.errors import ModelError
from polylip.nn.exact import MARGIN_TOL, pattern_values, realizable
from polylip.nn.network import _matmul_left, _matmul_right
from polylip.nn.norms import dual, dual_vector, operator_norm, parse_norm, vec_norm
from polylip.nn.regions import GlobalRegion, as_region
from polylip.runtime import one_blas_thread

__all__ = ["LowerOptions", "LowerBound", "lower_bound", "local_constants", "best_of_points",
           "CHECKPOINT_POINTS",
           "differentiable_witness", "effort", "Effort", "LOWER_WORK", "WORK_RATE"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LowerOptions:
    """Options of the lower-bound search.

    Attributes
    ----------
    samples : int or None
        Random inputs drawn in the region (None: from ``work``, see :func:`effort`).
    restarts : int or None
        Best samples improved by local search (None: from ``work``).
    steps : int
        Local-search iterations (at most; the search also stops when its share of ``work`` is
        spent).
    candidates : int
        Moves tried per point and iteration.
    polish_points : int
        Starts of the pattern ascent (piecewise-linear networks; 0: none): the best points
        with distinct activation patterns, each climbed in pattern space
        (:func:`polylip.nn.lower_patterns.pattern_ascent`: one-flip moves by a ray test or the
        realizability LP of :mod:`polylip.nn.exact`, which reach thin activation regions that
        sampling misses).
    polish_lps : int or None
        Most LPs of that phase (None: from ``work``; 0: ray moves only).
    lps_per_cell : int or None
        LPs that phase tries per cell before it gives up on a cell (None:
        :data:`polylip.nn.lower_patterns.LPS_PER_CELL`).
    smooth_points : int or None
        Best samples improved by ascent on the softplus-smoothed network (l_2 norm,
        piecewise-linear networks; None: from ``work``; 0: no smoothed ascent). See
        :func:`_smooth_ascent`.
    seed : int
        Seed of ``numpy.random.default_rng``.
    time_limit : float or None
        Seconds after which the search stops early (None: no limit; then the result depends
        only on the options and the seed).
    work : float or None
        Multiply-adds the search may spend (None: :data:`LOWER_WORK`); see :func:`effort`.
    """

    samples: int | None = None
    restarts: int | None = None
    steps: int = 60
    candidates: int = 6
    polish_points: int = 4
    polish_lps: int | None = None
    lps_per_cell: int | None = None
    smooth_points: int | None = None
    seed: int = 0
    time_limit: float | None = None
    work: float | None = None

    def __post_init__(self):
        for name in ("samples", "restarts", "steps", "candidates", "polish_points",
                     "polish_lps", "lps_per_cell", "smooth_points", "seed"):
            v = getattr(self, name)
            if v is None and name in ("samples", "restarts", "polish_lps", "lps_per_cell",
                                      "smooth_points"):
                continue
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 0:
                raise ModelError(f"lower-bound option {name} must be an int >= 0, got {v!r}")
        if self.samples is not None and self.samples < 1:
            raise ModelError("lower-bound option samples must be >= 1")
        for name in ("time_limit", "work"):
            v = getattr(self, name)
            if v is not None and (not isinstance(v, (int, float, np.number))
                                  or isinstance(v, bool) or not v >= 0):
                raise ModelError(f"lower-bound option {name} must be a number >= 0 or None, "
                                 f"got {v!r}")


#: Multiply-adds the default lower-bound search may spend (:func:`effort`). Measured on two
#: loaded cores (load 5-6): about 0.3 GFlop/s in the batched evaluations, so about 0.3-0.6 s
#: at most (the digits MLP 64-16-16-10, margin 3-8: 200.77 in 0.14 s; deterministic "auto"
#: with a budget gives the search the work its share buys instead, 204.96 at budget 20).
LOWER_WORK = 1e8
#: Multiply-adds per second the work counts convert with (deterministic mode of "auto" charges
#: the search's counted work to its budget at this rate): the loaded rate above.
WORK_RATE = 3e8
#: Multiply-add equivalents of one entry of a polishing LP's constraint matrix, and of one LP
#: whatever its size (measured: 5-7 us per entry of the rows x n_0 matrix and about 1 ms per
#: LP with HiGHS on the loaded machine, at the 0.3 GFlop/s above; 600 rows x 64 inputs:
#: 0.14-0.27 s).
LP_ENTRY_WORK = 1500.0
LP_BASE_WORK = 3e5
#: Shares of the work: sampling, local search (the pattern ascent of
#: :mod:`polylip.nn.lower_patterns` gets the rest). With a ``time_limit`` each phase also
#: stops at its cumulative share of the time, so that on a loaded machine (where the clock
#: binds before the counted work) the later phases still get their part.
SAMPLE_SHARE, SEARCH_SHARE = 0.2, 0.15
#: With the smoothed ascent (l_2 on piecewise-linear networks): its share, and the local
#: search's instead of SEARCH_SHARE (the pattern ascent gets the rest, as before). Measured
#: on the digits MLPs, margin 3-8, time limit 5 s, load 12 (three searches at once): the
#: pattern ascent gains most per unit of work (64-200-200-200-10, l_inf: 138.9 with the earlier
#: shares 0.2 / 0.4, 173.5 with these; l_2: 29.9 -> 30.3).
SMOOTH_SHARE, SMOOTH_SEARCH_SHARE = 0.3, 0.05
#: With a ``time_limit`` and no ``work``: the work is what the time buys at this rate (counted
#: work per CPU second of the search, measured on the digits 64-200-200-200-10 MLP: 1.3e9 at
#: load 12, one BLAS thread); the clock stops it first when the machine is loaded.
TIMED_WORK_RATE = 1.2e9


@dataclass(frozen=True)
class Effort:
    """What :func:`effort` resolves: the counts the search uses and the unit costs (in
    multiply-adds) it counts its work with."""

    samples: int
    restarts: int
    polish_lps: int
    work: float
    evaluation: float
    step: float
    lp: float
    smooth_points: int = 0
    search_share: float = SEARCH_SHARE
    pattern_share: float = 1.0 - SAMPLE_SHARE - SEARCH_SHARE


def effort(net, options=None, norm=None) -> Effort:
    """The lower-bound search's effort for this network (see the module docstring): the
    options' counts where given, else derived from their share of ``options.work``. With
    ``norm`` 2 (and ``options.smooth_points`` not 0) on a piecewise-linear network, the
    smoothed ascent gets :data:`SMOOTH_SHARE` and as many points as run its whole schedule
    in it (2 to 32).

    Examples
    --------
    >>> import numpy as np
    >>> from polylip.nn.network import Network
    >>> small = Network.from_weights([np.ones((16, 8)), np.ones((1, 16))])
    >>> e = effort(small)
    >>> e.samples, e.restarts
    (2000, 64)
    >>> wide = Network.from_weights([np.ones((400, 64)), np.ones((400, 400)), np.ones((10, 400))])
    >>> e = effort(wide)
    >>> e.samples < 2000 and e.restarts < 64 and e.polish_lps < 200
    True
    """
    options = LowerOptions() if options is None else options
    work = options.work
    if work is None:  # the default, and with a time limit what half of it buys at WORK_RATE
        work = LOWER_WORK if options.time_limit is None else max(
            LOWER_WORK, TIMED_WORK_RATE * float(options.time_limit))
    work = float(work)
    layers = net.affine_layers

    def nnz(W):
        return W.nnz if hasattr(W, "nnz") else np.size(W)

    n0 = net.input_dim
    total = float(sum(nnz(W) for W, _ in layers))
    hidden = float(sum(nnz(W) for W, _ in layers[:-1]))
    m = 1 if net.functional() is not None else net.output_dim
    evaluation = total * (1 + m)
    if net.piecewise_linear:
        step = n0 * hidden + options.candidates * evaluation
    else:  # two gradients for the Hessian-vector product, then five step sizes
        step = 7 * evaluation
    rows = float(sum(net.layer_sizes[1:-1]))
    lp = LP_ENTRY_WORK * rows * n0 + LP_BASE_WORK

    def count(given, share, unit, low, high):
        if given is not None:
            return int(given)
        return int(min(high, max(low, share * work / max(unit, 1.0))))

    smooth = (norm is not None and parse_norm(norm) == 2.0 and net.piecewise_linear
              and net.num_hidden > 0 and options.smooth_points != 0)
    search = SMOOTH_SEARCH_SHARE if smooth else SEARCH_SHARE
    rest = 1 - SAMPLE_SHARE - search - (SMOOTH_SHARE if smooth else 0.0)
    points = 0
    if smooth:
        schedule = SMOOTH_EVALUATIONS * SMOOTH_ITERATIONS * len(SMOOTH_TEMPERATURES)
        points = count(options.smooth_points, SMOOTH_SHARE, schedule * evaluation, 2, 32)
    return Effort(samples=count(options.samples, SAMPLE_SHARE, evaluation, 32, 2000),
                  restarts=count(options.restarts, search, 10 * step, 2, 64),
                  polish_lps=count(options.polish_lps, rest, lp, 1, 200),
                  work=work, evaluation=evaluation, step=step, lp=lp, smooth_points=points,
                  search_share=search, pattern_share=rest)


@dataclass(frozen=True)
class LowerBound:
    """A lower bound ``value`` attained at the input ``witness`` (``evaluations`` inputs tried)."""

    value: float
    witness: np.ndarray
    evaluations: int = 0
    details: dict = field(default_factory=dict)


def _pairs(net, X, p):
    """Local constants at X and, per point, the pair (u, t) attaining them (or a lower bound
    of them, for operator norms without closed form)."""
    u = net.functional()
    if u is not None:
        G = net.gradient(X)
        U = np.broadcast_to(u, (X.shape[0], u.size))
        return vec_norm(G, dual(p)), U, dual_vector(G, p)
    r = net.output.norm
    J = net.jacobian(X)  # (N, m, n)
    rows = vec_norm(J, dual(p), axis=-1)  # (N, m)
    U = np.zeros(J.shape[:2])
    U[np.arange(J.shape[0]), rows.argmax(axis=1)] = 1.0
    for _ in range(10):  # alternating maximization of u^T J t
        T = dual_vector(np.einsum("nm,nmk->nk", U, J), p)
        U = dual_vector(np.einsum("nmk,nk->nm", J, T), dual(r))
    T = dual_vector(np.einsum("nm,nmk->nk", U, J), p)
    vals = np.einsum("nm,nmk,nk->n", U, J, T)
    try:
        vals = np.maximum(vals, operator_norm(J, p, r))
    except ModelError:
        pass
    return vals, U, T


def local_constants(net, X, norm="inf"):
    """Local Lipschitz constants at the rows of ``X`` (exact, or a lower bound on the operator
    norm when it has no closed form): shape (N,)."""
    X = np.atleast_2d(np.asarray(X, dtype=float))
    return _pairs(net, X, parse_norm(norm))[0]


def _batched(fn, X, chunk):
    outs = [fn(X[i:i + chunk]) for i in range(0, X.shape[0], chunk)]
    return [np.concatenate([o[k] for o in outs]) for k in range(len(outs[0]))]


def _chunk(net):
    return max(16, int(4e6 // max(1, max(net.layer_sizes) * net.input_dim)))


def _global_scales(net):
    W, b = net.affine_layers[0]
    sq = W.multiply(W) if hasattr(W, "multiply") else W * W
    rn = np.sqrt(np.asarray(sq.sum(axis=1)).ravel())
    d = np.abs(b)[rn > 0] / rn[rn > 0]
    d = d[d > 0]
    if d.size == 0:
        return np.array([1.0])
    # from inside the closest hyperplanes out to where biases no longer matter (at large
    # radii the patterns are those of the cones of the central arrangement)
    lo, hi = max(d.min() * 0.3, 1e-6), d.max() * 300.0
    return np.geomspace(lo, max(hi, lo * 1.01), 12)


def _sample(net, region, n, rng):
    if isinstance(region, GlobalRegion):
        scales = _global_scales(net)
        g = rng.standard_normal((n, net.input_dim))
        g /= np.maximum(np.linalg.norm(g, axis=1, keepdims=True), 1e-300)
        rho = scales[rng.integers(0, scales.size, n)] * rng.uniform(0.0, 1.0, n) ** (
            1.0 / net.input_dim)
        return g * rho[:, None]
    return region.sample(n, rng)


def _analyse(net, X, U, T):
    """Pre-activations, derivatives, forward vectors a_k = M_k t, Jacobians M_k of the
    pre-activations, and backward vectors b_k, per hidden layer."""
    N = X.shape[0]
    layers, acts = net.affine_layers, net.activations
    zs, ss, As, Ms = [], [], [], []
    h, a, M = X, T, None
    for k, act in enumerate(acts):
        W, b = layers[k]
        z = _matmul_right(h, W) + b
        a = _matmul_right(a, W)
        Wd = W.toarray() if hasattr(W, "toarray") else W
        if M is None:
            M = np.broadcast_to(Wd, (N,) + Wd.shape)
        else:
            M = np.einsum("ij,njk->nik", Wd, M)
        s = act.derivative(z)
        zs.append(z)
        ss.append(s)
        As.append(a)
        Ms.append(M)
        h = act(z)
        a = a * s
        M = M * s[:, :, None]
    G = _matmul_left(U, layers[-1][0])
    Bs = [None] * len(acts)
    for k in range(len(acts) - 1, -1, -1):
        Bs[k] = G
        G = _matmul_left(G * ss[k], layers[k][0])
    return zs, ss, As, Ms, Bs


def _crossing_moves(net, X, U, T, k_best):
    """Candidate inputs crossing the k_best most promising hyperplanes for each row of X."""
    N = X.shape[0]
    acts = net.activations
    zs, ss, As, Ms, Bs = _analyse(net, X, U, T)
    gains, dists = [], []
    for k, act in enumerate(acts):
        vals = act.derivative_values
        if vals is None or len(vals) < 2:
            continue
        lo_v, hi_v = vals
        other = np.where(ss[k] == hi_v, lo_v, hi_v)
        gain = (other - ss[k]) * As[k] * Bs[k]
        gn = np.linalg.norm(Ms[k], axis=2)
        dist = np.abs(zs[k]) / np.maximum(gn, 1e-300)
        dist[gn <= 1e-14] = np.inf
        gains.append(gain)
        dists.append(dist)
    if not gains:
        return None
    gain = np.hstack(gains)
    dist = np.hstack(dists)
    score = np.where(gain > 1e-15, gain / (dist + 1e-12), -np.inf)
    kk = min(k_best, score.shape[1])
    top = np.argsort(-score, axis=1)[:, :kk]
    cands = []
    offsets = np.cumsum([0] + [g.shape[1] for g in gains])
    layer_ids = [k for k, act in enumerate(acts)
                 if act.derivative_values is not None and len(act.derivative_values) >= 2]
    rows = np.arange(N)
    for c in range(kk):
        idx = top[:, c]
        ok = np.isfinite(score[rows, idx])
        li = np.searchsorted(offsets, idx, side="right") - 1
        newX = X.copy()
        for pos, k in enumerate(layer_ids):
            sel = ok & (li == pos)
            if not sel.any():
                continue
            j = idx[sel] - offsets[pos]
            r = rows[sel]
            m = Ms[k][r, j, :]
            z = zs[k][r, j]
            nrm2 = np.maximum(np.sum(m * m, axis=1), 1e-300)
            # land just across z = 0 (z = 0 itself counts as the left piece)
            margin = 1e-6 * np.abs(z) + 1e-10 * np.sqrt(nrm2) * (1.0 + np.abs(X[r]).max(axis=1))
            target = np.where(z > 0, -margin, margin)
            newX[r] = X[r] + ((target - z) / nrm2)[:, None] * m
        cands.append((newX, ok))
    return cands


def _distinct_top(net, X, V, k):
    """The rows of ``X`` with the ``k`` largest values ``V`` whose activation patterns
    differ (the starts of the pattern ascent)."""
    seen, rows = set(), []
    for i in np.argsort(-V, kind="stable"):
        key = np.concatenate([z[0] > 0 for z in net.pre_activations(X[i][None, :])]).tobytes()
        if key not in seen:
            seen.add(key)
            rows.append(i)
        if len(rows) >= k:
            break
    return X[rows]


def _hvp_moves(net, X, U, T, p):
    """Ascent candidates for smooth networks: x + step * H t / ||H t||."""
    h = 1e-5 * (1.0 + np.linalg.norm(X, axis=1, keepdims=True))

    if net.functional() is not None:
        Gp = net.gradient(X + h * T)
        Gm = net.gradient(X - h * T)
        Ht = (Gp - Gm) / (2 * h)
    else:
        Jp, Jm = net.jacobian(X + h * T), net.jacobian(X - h * T)
        Ht = np.einsum("nm,nmk->nk", U, (Jp - Jm)) / (2 * h)
    nrm = np.linalg.norm(Ht, axis=1, keepdims=True)
    D = np.divide(Ht, nrm, out=np.zeros_like(Ht), where=nrm > 0)
    scale = 1.0 + np.linalg.norm(X, axis=1, keepdims=True) / np.sqrt(X.shape[1])
    return [(X + st * scale * D, nrm[:, 0] > 0) for st in (0.3, 0.1, 0.03, 0.01, 0.003)]


# ---------------------------------------------------------------------------------------------
# smoothed ascent (piecewise-linear networks)
# ---------------------------------------------------------------------------------------------
#: Temperatures of the smoothed ascent, relative to each point's root-mean-square
#: pre-activation per layer (annealed from the first to the last), and the iterations per
#: temperature. Measured on the digits MLPs, margin 3-8, l_2, 64 starts (benchmarks/
#: bench_lipschitz_l2.py): 64-100-100-10 reaches 29.3 at the first temperature and 29.8 at
#: 0.07; 64-200-200-200-10 gains most below 0.14 (29.7 -> 30.8), so the schedule goes down to
#: 0.01, where the smoothed network is the ReLU network but for the neurons nearest their kinks.
SMOOTH_TEMPERATURES = tuple(np.geomspace(1.0, 0.01, 8))
SMOOTH_ITERATIONS = 12
#: Multiply-add equivalents of one smoothed-ascent iteration of one point, in evaluations of the
#: local constant: the Hessian-vector product (two smoothed gradients), the smoothed objective
#: at the step and the true local constant there.
SMOOTH_EVALUATIONS = 5


def _smooth_pass(net, X, taus):
    """Derivatives of the softplus-smoothed network at ``X``: each piecewise-linear activation
    ``left z + (right - left) relu(z)`` with ``relu`` replaced by ``tau softplus(z / tau)``
    (``tau`` per point and layer, shape (N, 1)); its derivative is
    ``left + (right - left) sigmoid(z / tau)``, and the smoothed network is smooth, so the
    derivative of its gradient (finite differences below) is a symmetric Hessian."""
    h = X
    S = []
    for k, act in enumerate(net.activations):
        W, b = net.affine_layers[k]
        z = _matmul_right(h, W) + (0.0 if b is None else b)
        lo, hi = act.left, act.right
        if lo == hi:
            S.append(np.full(z.shape, float(hi)))
            h = hi * z
            continue
        tau = taus[k]
        u = z / tau
        S.append(lo + (hi - lo) * 0.5 * (1.0 + np.tanh(0.5 * u)))
        h = lo * z + (hi - lo) * tau * np.logaddexp(0.0, u)
    return S


def _rms_pre_activations(net, X):
    """Root-mean-square pre-activation per point and hidden layer (the temperature unit)."""
    out = []
    for z in net.pre_activations(X):
        out.append(np.sqrt(np.mean(z * z, axis=1, keepdims=True)) + 1e-300)
    return out


def _smooth_ascent(net, region, p, X, U, V, evaluate, *, iterations, budget_evals,
                   deadline=None):
    """Ascent on the smoothed local constant ``t . (J_tau(x)^T u)`` from the rows of ``X``
    (``u``, ``t`` the dual pair of the smoothed Jacobian), the temperature annealed along
    :data:`SMOOTH_TEMPERATURES`; the true local constant is evaluated at every iterate and the
    best iterate per point kept. Step: along ``H_tau t`` (finite differences of the smoothed
    gradient), normalized, of a per-point length that grows by 1.5 after an accepted step
    (the smoothed objective increased) and halves after a rejected one. Stops after
    ``budget_evals`` evaluations (counted) or at ``deadline``.

    Why: the local constant of a ReLU network is piecewise constant, so it has no ascent
    direction; the smoothed network's has one everywhere, and at a small temperature its
    maxima sit in activation cells with large true constants (the flips of the local search
    below each cross one hyperplane, this crosses many at once)."""
    N = X.shape[0]
    vector = net.functional() is None
    u_fixed = net.functional()
    best_x, best_v = X.copy(), V.copy()
    used = 0
    steps = np.full(N, 0.1)
    iters = 0

    def sgrad(Y, taus, Uy):
        S = _smooth_pass(net, Y, taus)
        return net.backward(S, Uy if vector else u_fixed[None, :])

    def objective(G):
        return vec_norm(G, dual(p))

    # a short budget shortens every temperature's iterations, not the schedule
    iterations = max(2, min(iterations, int(budget_evals / max(
        1, N * SMOOTH_EVALUATIONS * len(SMOOTH_TEMPERATURES)))))
    done = False
    for temp in SMOOTH_TEMPERATURES:
        for _ in range(iterations):
            if used + N * SMOOTH_EVALUATIONS > budget_evals or (
                    deadline is not None and time.perf_counter() > deadline):
                done = True
                break
            used += N * SMOOTH_EVALUATIONS
            iters += 1
            taus = [temp * r for r in _rms_pre_activations(net, X)]
            G = sgrad(X, taus, U)
            cur = objective(G)
            T = dual_vector(G, p)
            scale = 1.0 + np.linalg.norm(X, axis=1, keepdims=True)
            h = 1e-5 * scale
            Hv = (sgrad(X + h * T, taus, U) - sgrad(X - h * T, taus, U)) / (2.0 * h)
            nrm = np.linalg.norm(Hv, axis=1, keepdims=True)
            D = np.divide(Hv, nrm, out=np.zeros_like(Hv), where=nrm > 0)
            Y = region.project(X + (steps[:, None] * scale) * D)
            new = objective(sgrad(Y, taus, U))
            ok = new > cur
            X = np.where(ok[:, None], Y, X)
            steps = np.where(ok, np.minimum(1.5 * steps, 1.0), 0.5 * steps)
            v, u_, _ = evaluate(Y)
            better = v > best_v
            best_v[better], best_x[better] = v[better], Y[better]
            if vector:  # follow the output functional of the true Jacobian at accepted steps
                U = np.where(ok[:, None], u_, U)
        if done:
            break
    return best_x, best_v, used, iters


#: A pre-activation within this fraction of its scale ``|W| |h| + |b|`` of zero counts as on a
#: kink: the witness is moved into the interior of its activation cell by an LP.
KINK_TOL = 1e-9
#: A point is accepted as a point of differentiability when every kinked pre-activation that
#: is not locally constant exceeds this fraction of its scale (rounding is ~1e-16 of it).
ACCEPT_TOL = 1e-12
#: A pre-activation whose Jacobian row is below this fraction of its scale is locally constant.
FLAT_TOL = 1e-12
#: Most neurons on a kink whose sign combinations are enumerated; beyond, random perturbation.
MAX_TIES = 12


def _kink_layers(net):
    """Per hidden layer: does its activation have a kink at 0 (two different slopes: ReLU,
    leaky ReLU and ELU with alpha != 1)?"""
    return [bool(a.kinked) for a in net.activations]


def _rows_abs(M):
    """Row sums of ``|M|`` (dense or sparse)."""
    return np.asarray(abs(M).sum(axis=1)).ravel()


def _times_rows(s, M):
    """``diag(s) M`` (dense or sparse, sparse kept sparse)."""
    return sp.diags(s) @ M if sp.issparse(M) else s[:, None] * M


def _near_kinks(net, x, tol, full=False):
    """At the single input ``x``: signs (``z > 0``: +1, else -1) per hidden layer, and per
    layer the neurons of kinked layers whose pre-activation is within ``tol`` of its scale
    ``|W| |h| + |b|`` of zero and not locally constant (Jacobian row, with the derivatives at
    ``x``, below :data:`FLAT_TOL` of its scale). With ``full``, also the masks of locally
    constant neurons (else None). Weights stay sparse if they are; the Jacobians are formed
    only for a layer with a neuron near its kink (or with ``full``)."""
    kinked = _kink_layers(net)
    h, ha = x, np.abs(x)
    signs, near, flats, done = [], [], [], []
    jac = [0, None, None]  # layers multiplied in; Jacobian of their outputs, and of |.|

    def jacobian_upto(k):
        while jac[0] < k:
            W, s = done[jac[0]]
            if jac[1] is None:
                jac[1], jac[2] = _times_rows(s, W), _times_rows(np.abs(s), abs(W))
            else:
                jac[1] = _times_rows(s, W @ jac[1])
                jac[2] = _times_rows(np.abs(s), abs(W) @ jac[2])
            jac[0] += 1

    for k, act in enumerate(net.activations):
        W, b = net.affine_layers[k]
        W = W if sp.issparse(W) else np.asarray(W, float)
        bb = np.zeros(W.shape[0]) if b is None else np.asarray(b, float)
        z = np.asarray(W @ h).ravel() + bb
        scale = np.asarray(abs(W) @ ha).ravel() + np.abs(bb)
        signs.append(np.where(z > 0, 1.0, -1.0))
        close = kinked[k] & (np.abs(z) <= tol * scale)
        flat = None
        if close.any() or full:
            jacobian_upto(k)
            Mz = W if jac[1] is None else W @ jac[1]
            Mzs = abs(W) if jac[2] is None else abs(W) @ jac[2]
            flat = _rows_abs(Mz) <= FLAT_TOL * _rows_abs(Mzs)
            close = close & ~flat
        near.append(np.flatnonzero(close))
        flats.append(flat)
        s = act.derivative(z)
        done.append((W, s))
        h = act(z)
        ha = np.abs(h)
    return signs, near, (flats if full else None)


def _off_kinks(net, x, tol=ACCEPT_TOL):
    """True when the network is differentiable at ``x`` beyond doubt: every kinked neuron's
    pre-activation is nonzero by more than ``tol`` of its scale, or locally constant."""
    return not any(n.size for n in _near_kinks(net, x, tol)[1])


def differentiable_witness(net, x, region=None, norm="inf", *, max_lps=16, seed=0,
                           deadline=None):
    """Move an input off the kinks: a point of the region where the network is differentiable
    and the local constant measured there, or None.

    A lower bound is a gradient norm at a point of differentiability (a piecewise-linear
    network's true local constant is the largest gradient norm over its activation cells with
    interior). If ``x`` is off every kink (each kinked pre-activation nonzero by more than
    :data:`KINK_TOL` of its scale, or locally constant) it is kept. Otherwise the patterns of
    the cells around ``x`` (the neurons on a kink set either way, at most :data:`MAX_TIES` of
    them) are tried in decreasing order of their value: for each, an LP (the realizability LP
    of :mod:`polylip.nn.exact`) finds the point of the region that maximizes the smallest
    margin of every kinked pre-activation with the pattern's sign; a pattern whose margin is
    at most :data:`~polylip.nn.exact.MARGIN_TOL` has no interior and is skipped. The point found
    is accepted only when the network's own forward pass there has the claimed pattern, off
    the kinks; its value is the network's own gradient norm there. Failing that, ``x`` itself
    if it passes the looser :data:`ACCEPT_TOL`, then a few seeded random perturbations of it.
    ``deadline`` (a :func:`time.perf_counter` reading) stops the LPs: none starts after it,
    and each gets the time left (an LP of a 784-500-500 network took 2-26 s on a busy
    machine, and 8 candidates of 16 LPs each ran a budget of 5 s to 30 s).

    Examples
    --------
    >>> import numpy as np
    >>> from polylip.nn.network import Network
    >>> from polylip.nn.regions import BoxRegion
    >>> net = Network.from_weights([np.array([[1.0], [-1.0]]), np.array([[1.0, 1.0]])])
    >>> v, w = differentiable_witness(net, [0.0], BoxRegion([0.0], 1.0))   # x = 0: a kink
    >>> float(v), bool(abs(w[0]) > 0.1)
    (1.0, True)
    """
    p = parse_norm(norm)
    region = as_region(region)
    x = region.project(np.asarray(x, dtype=float).reshape(1, -1))[0]

    def value_at(y):
        return float(_pairs(net, y[None, :], p)[0][0])

    kinked = _kink_layers(net)
    if not any(kinked) or not net.num_hidden:
        return value_at(x), x
    signs, near, _ = _near_kinks(net, x, KINK_TOL)
    ties = [(k, int(j)) for k, idx in enumerate(near) for j in idx]
    if not ties:
        return value_at(x), x
    constrain = [np.arange(sg.size) if kink else np.zeros(0, dtype=int)
                 for sg, kink in zip(signs, kinked)]
    # the cells' LPs need affine pieces; a kinked smooth network (ELU) moves at random below
    if len(ties) <= MAX_TIES and net.piecewise_linear:
        combos = ((np.arange(1 << len(ties))[:, None] >> np.arange(len(ties))) & 1).astype(bool)
        SG = [np.repeat(sg[None, :], combos.shape[0], axis=0) for sg in signs]
        for c, (k, j) in enumerate(ties):
            SG[k][:, j] = np.where(combos[:, c], 1.0, -1.0)
        # layers without a kink have one slope (identity): any argument gives it
        S = [np.where(sg > 0, act.right, act.left).astype(float) if kink else
             np.repeat(act.derivative(s0)[None, :], sg.shape[0], axis=0)
             for sg, act, kink, s0 in zip(SG, net.activations, kinked, signs)]
        try:
            vals = np.asarray(pattern_values(net, S, p), dtype=float)
            order = np.argsort(-vals, kind="stable")
        except ModelError:  # an operator norm without closed form: fewest flips first
            order = np.argsort(combos.sum(axis=1), kind="stable")
        lps = 0
        for i in order:
            if lps >= max_lps:
                break
            left = None if deadline is None else deadline - time.perf_counter()
            if left is not None and left <= 0:
                break
            sg_i = [s[i] for s in SG]
            lps += 1
            eps, y = realizable(net, [s[i] for s in S], region, unstable=constrain,
                                signs=sg_i, time_limit=left)
            if eps <= MARGIN_TOL or y is None:
                continue
            y = region.project(y[None, :])[0]
            sy, ny, fy = _near_kinks(net, y, ACCEPT_TOL, full=True)
            same = all(fl is None or not np.any((a != b) & ~fl)
                       for a, b, fl in zip(sy, sg_i, fy))  # locally constant: any sign
            if same and not any(n.size for n in ny):
                return value_at(y), y
    if _off_kinks(net, x):
        return value_at(x), x
    rng = np.random.default_rng(seed)
    radius = 1e-7 * (1.0 + np.abs(x).max())
    for _ in range(8):
        y = region.project((x + radius * rng.uniform(-1.0, 1.0, x.size))[None, :])[0]
        if _off_kinks(net, y, KINK_TOL):
            return value_at(y), y
    return None


def _certified_best(net, region, p, V, X, rng, max_moves=8, deadline=None):
    """The largest value among the candidates (rows of ``X``, values ``V``) that is a gradient
    norm at a point of differentiability: candidates off the kinks count as they are, others
    are moved into a cell's interior (:func:`differentiable_witness`, at most ``max_moves``
    of them) or dropped. Returns ``(value, witness, kinks)`` with ``kinks`` the number of
    candidates found on a kink. After ``deadline`` no candidate is moved (the moves solve LPs)."""
    best_v, best_x, kinks = -np.inf, None, 0
    kinked = _kink_layers(net)
    for i in np.argsort(-V, kind="stable"):
        if V[i] <= best_v:
            break
        if not any(kinked) or _off_kinks(net, X[i], KINK_TOL):
            best_v, best_x = float(V[i]), X[i].copy()
            break
        kinks += 1
        if kinks > max_moves or (deadline is not None and time.perf_counter() > deadline):
            continue
        moved = differentiable_witness(net, X[i], region, p, deadline=deadline)
        if moved is not None and moved[0] > best_v:
            best_v, best_x = float(moved[0]), moved[1]
    for _ in range(4):  # every candidate on a kink (random samples almost never are)
        if best_x is not None:
            break
        for y in _sample(net, region, 16, rng):
            if _off_kinks(net, y, KINK_TOL):
                best_v, best_x = float(_pairs(net, y[None, :], p)[0][0]), y
                break
    if best_x is None:  # a region without interior: no point of differentiability to find
        i = int(np.argmax(V))
        best_v, best_x = float(V[i]), X[i].copy()
    return best_v, best_x, kinks


def lower_bound(net, norm="inf", region=None, options=None, checkpoint=None) -> LowerBound:
    """Largest local Lipschitz constant found at inputs of the region, with its witness.

    Parameters
    ----------
    net : Network
    norm : {"inf", "2", "1", np.inf, 2, 1}
        Input norm ``p``; the local constant is ``||grad f(x)||_q`` (``q`` dual to ``p``) or
        ``||J(x)||_{p->r}`` for a vector output with output norm ``r``.
    region : Region, optional
        Default: the global region.
    options : LowerOptions or dict, optional
    checkpoint : callable, optional
        ``checkpoint(values, points)`` is called after each phase with the best points found so
        far (rows of ``points``, best first, at most :data:`CHECKPOINT_POINTS`), so that a
        caller that may stop the search (a worker stopped at its hard deadline,
        :func:`polylip.nn.lipschitz`) keeps them; the values are not certified (the points
        may sit on kinks): measure them again (:func:`best_of_points`).

    Returns
    -------
    LowerBound
        ``value``, ``witness`` (an input in the region) and the number of evaluations.

    Examples
    --------
    >>> import numpy as np
    >>> from polylip.nn.network import Network
    >>> net = Network.from_weights([np.eye(2), np.array([[3.0, -1.0]])])
    >>> bool(np.isclose(lower_bound(net, 2).value, np.sqrt(10.0)))
    True
    """
    with _one_blas_thread():
        return _search(net, norm, region, options, checkpoint)


_one_blas_thread = one_blas_thread  # see polylip.runtime.one_blas_thread


#: Points a search hands to its ``checkpoint`` after each phase (see :func:`lower_bound`).
CHECKPOINT_POINTS = 8


def _post(checkpoint, values, points):
    """The best :data:`CHECKPOINT_POINTS` candidates to ``checkpoint`` (when one is given)."""
    if checkpoint is None:
        return
    V = np.concatenate([np.ravel(v) for v in values])
    X = np.vstack([np.atleast_2d(x) for x in points])
    top = np.argsort(-V, kind="stable")[:CHECKPOINT_POINTS]
    checkpoint(V[top], X[top])


def best_of_points(net, norm, region, X, seed=0) -> LowerBound:
    """The best gradient norm at a point of differentiability among the rows of ``X`` (put into
    the region first; rows that are not finite dropped), and among the region's center and 16
    samples: no search, no LP (a candidate on a kink is dropped). What a stopped search's
    posted points are worth (:func:`lower_bound`'s ``checkpoint``).

    >>> import numpy as np
    >>> from polylip.nn.network import Network
    >>> net = Network.from_weights([np.array([[1.0, 2.0], [-1.0, 1.0]]), np.array([[1.0, 1.0]])])
    >>> round(best_of_points(net, "inf", None, np.array([[1.0, 1.0]])).value, 6)
    3.0
    """
    p = parse_norm(norm)
    region = as_region(region)
    rng = np.random.default_rng(seed)
    X = np.atleast_2d(np.asarray(X, dtype=float)).reshape(-1, net.input_dim)
    X = X[np.all(np.isfinite(X), axis=1)]
    S = _sample(net, region, 16, rng)
    if region.center is not None:
        S = np.vstack([region.center[None, :], S])
    X = np.vstack([region.project(X), S]) if X.shape[0] else S
    vals = _pairs(net, X, p)[0]
    value, witness, kinks = _certified_best(net, region, p, vals, X, rng, max_moves=0)
    return LowerBound(value, witness, int(X.shape[0]), {"points": int(X.shape[0]),
                                                        "kinks": kinks})


def _search(net, norm, region, options, checkpoint=None) -> LowerBound:
    """The search of :func:`lower_bound`."""
    p = parse_norm(norm)
    region = as_region(region)
    region.check(net)
    if options is None:
        options = LowerOptions()
    elif isinstance(options, dict):
        options = LowerOptions(**options)
    t0 = time.perf_counter()
    rng = np.random.default_rng(options.seed)
    chunk = _chunk(net)
    eff = effort(net, options, p)
    search_work = eff.search_share * eff.work
    lps_given = options.polish_lps
    options = replace(options, samples=eff.samples, restarts=eff.restarts,
                      polish_lps=eff.polish_lps)

    def evaluate(Y):
        return _batched(lambda Z: _pairs(net, Z, p), Y, chunk)

    X = _sample(net, region, options.samples, rng)
    if region.center is not None:
        X = np.vstack([region.center[None, :], X])
    vals, U, T = evaluate(X)
    nevals = nsampled = X.shape[0]
    sampled = vals.max()
    _post(checkpoint, [vals], [X])
    smooth_used = smooth_iters = 0
    if eff.smooth_points:  # ascent on the smoothed network from the best samples
        top = np.argsort(-vals, kind="stable")[:eff.smooth_points]
        deadline = None if options.time_limit is None else t0 + options.time_limit * (
            SAMPLE_SHARE + SMOOTH_SHARE)
        Xs, Vs, smooth_used, smooth_iters = _smooth_ascent(
            net, region, p, X[top], U[top], vals[top], evaluate,
            iterations=SMOOTH_ITERATIONS, budget_evals=SMOOTH_SHARE * eff.work / eff.evaluation,
            deadline=deadline)
        _, Us, Ts = evaluate(Xs)
        nevals += smooth_used
        X, vals = np.vstack([X, Xs]), np.concatenate([vals, Vs])
        U, T = np.vstack([U, Us]), np.vstack([T, Ts])
        _post(checkpoint, [vals], [X])
    order = np.argsort(-vals, kind="stable")[:max(1, options.restarts)]
    P, PV, PU, PT = X[order], vals[order], U[order], T[order]
    active = np.ones(P.shape[0], dtype=bool)
    steps_done, spent = 0, 0.0
    for step in range(options.steps):
        if not active.any():
            break
        if options.time_limit is not None and time.perf_counter() - t0 > options.time_limit * (
                1.0 - eff.pattern_share):
            break
        idx = np.flatnonzero(active)
        if step and spent + idx.size * eff.step > search_work:
            break  # its share of the work is spent (counted, not timed)
        spent += idx.size * eff.step
        if net.piecewise_linear:
            cands = _crossing_moves(net, P[idx], PU[idx], PT[idx], options.candidates)
        else:
            cands = _hvp_moves(net, P[idx], PU[idx], PT[idx], p)
        if not cands:
            break
        best_v, best_x = PV[idx].copy(), P[idx].copy()
        best_u, best_t = PU[idx].copy(), PT[idx].copy()
        improved = np.zeros(idx.size, dtype=bool)
        for Y, ok in cands:
            Y = region.project(Y)
            v, u_, t_ = evaluate(Y)
            nevals += Y.shape[0]
            better = ok & (v > best_v * (1 + 1e-12) + 1e-15)
            best_v[better], best_x[better] = v[better], Y[better]
            best_u[better], best_t[better] = u_[better], t_[better]
            improved |= better
        P[idx], PV[idx], PU[idx], PT[idx] = best_x, best_v, best_u, best_t
        active[idx[~improved]] = False
        steps_done = step + 1
        _post(checkpoint, [PV, vals], [P, X])
    lps, pattern_work, pattern_stats = 0, 0.0, {}
    left = max(0.0, eff.work - (nsampled + smooth_used) * eff.evaluation - spent)
    if lps_given is None:  # the LPs get what sampling and the local search left
        options = replace(options, polish_lps=int(min(200, max(1, left / eff.lp))))
    cand_v, cand_x = [PV, vals], [P, X]
    if net.piecewise_linear and net.num_hidden and options.polish_points:
        # lazy: lower_patterns builds on this module's helpers (kink tests, _pairs)
        from polylip.nn.lower_patterns import pattern_ascent

        starts = _distinct_top(net, np.vstack([P, X]), np.concatenate([PV, vals]),
                               options.polish_points)
        unstable = None
        if not isinstance(region, GlobalRegion):
            bounds = region.propagate(net)
            unstable = [np.flatnonzero(h > lo) for lo, h in zip(bounds.deriv_lo,
                                                                 bounds.deriv_hi)]
        per_cell = {} if options.lps_per_cell is None else {"lps_per_cell": options.lps_per_cell}
        res = pattern_ascent(net, region, p, starts, work=left, unstable=unstable,
                             max_lps=options.polish_lps, **per_cell,
                             deadline=None if options.time_limit is None
                             else t0 + options.time_limit)
        lps, pattern_work, pattern_stats = res.details["lps"], res.details["work"], res.details
        nevals += res.details["cells"]
        if res.witness is not None:
            cand_v.append(np.array([res.value]))
            cand_x.append(res.witness[None, :])
            _post(checkpoint, cand_v, cand_x)
    value, witness, kinks = _certified_best(
        net, region, p, np.concatenate(cand_v), np.vstack(cand_x), rng,
        deadline=None if options.time_limit is None else t0 + options.time_limit)
    seconds = time.perf_counter() - t0
    log.info("lower bound %.6g after %d evaluations, %d local-search steps (%.2fs)", value,
             nevals, steps_done, seconds)
    return LowerBound(value, witness, nevals, {"sampled": float(sampled), "steps": steps_done,
                                               "lps": lps, "smooth_iterations": smooth_iters,
                                               "seconds": seconds, "kinks": kinks,
                                               "patterns": pattern_stats,
                                               "work": (nsampled + smooth_used)
                                               * eff.evaluation + spent + pattern_work})

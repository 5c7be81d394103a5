"""Minimizers from a solved moment relaxation: extraction, rounding and local polishing.

The first-order moments are a good candidate only when the optimal measure is a single point.
On symmetric problems (max-cut, ``(x^2 - 1)^2``) the relaxation is tight but the solver returns
the *average* of the minimizers, which is not one. :func:`with_minimizers` therefore looks for
feasible points in three ways and puts the best one in ``Result.candidate``:

1. **Henrion-Lasserre extraction** (Henrion & Lasserre 2005, "Detecting global optimality and
   extracting solutions in GloptiPoly") when the moment matrix is *flat*:
   ``rank M_s(y) = rank M_{s-v}(y)`` for some ``s <= d`` (``v = max(1, ceil(deg g / 2))`` over
   the constraints). The numerical rank counts the eigenvalues above ``RANK_RTOL`` = 1e-3
   times the largest, GloptiPoly's default: Clarabel and CVXOPT at their default tolerances
   leave null eigenvalues up to ~4e-5 of the largest where strict complementarity fails (2.4e-5
   on ``(x^2 - 1)^2 + y^2``), 1e-10 elsewhere; an atom of relative weight below ~1e-3 is
   missed, and a wrong rank only gives points that fail the checks below. From
   ``M_s = V V^T`` (``V``: the ``r`` leading eigenvectors scaled by the square roots of their
   eigenvalues), ``r`` rows ``P`` of monomials of degree ``<= s - 1`` are chosen by QR with
   column pivoting (numerically safer than greedy elimination) and ``U = V V[P]^{-1}`` is the
   column echelon form (``U[P] = I``, ``b(x) = U w(x)`` on the atoms, ``w = b[P]``). The rows
   of ``U`` at the monomials ``x_i w`` are the multiplication matrices ``N_i``; a random convex
   combination ``N = sum r_i N_i`` (seeded) has the real Schur form ``N = Q T Q^T`` and the
   atoms are ``x_i = q_l^T N_i q_l``. Complex eigenvalues, a missing product monomial or no flat
   order mean no atoms. Under correlative sparsity each clique's moment block is extracted alone
   and the clique points are joined where they agree on shared variables (at most
   ``MAX_POINTS`` combinations); a clique without atoms means no extracted points. Blocks
   that are not one full moment matrix per clique (term sparsity) are not extracted.
2. **Rounding** for binary/spin variables: the sign (threshold 1/2 for binary) of the first-order
   moments, and Goemans-Williamson hyperplane rounding of the order-1 moment matrix of the
   boolean variables (``GW_SAMPLES`` seeded hyperplanes, deterministic), then single flips
   while they improve a feasible point.
3. **Sign symmetries**: when flipping the signs of some variables leaves the POP unchanged
   (every term of the objective and the constraints has even degree in the flipped ones,
   e.g. ``s -> -s`` for max-cut), the images of a minimizer are minimizers too
   (:func:`sign_symmetries`); under correlative sparsity, where the clique blocks are often
   not flat and the order-1 moment matrix needed by the rounding is missing, this is how the
   complement of a cut comes back. The images are checked like every other point.
4. **Polishing** of the continuous variables with SLSQP (``POLISH_ITERS`` iterations, the
   constraints included) from the extracted points (all of them up to ``POLISH_ALL_VARS``
   variables, else those not yet at the bound) and, when no point is at the bound yet, from the
   first-order candidate and a seeded perturbation of it (the average of symmetric minimizers
   is often a stationary point); a polished point is kept only if it is feasible and not
   worse than its start.

Every point is checked on the POP (``pop.is_feasible``); ``Result.minimizers`` lists the feasible
ones whose value meets the bound within ``max(accuracy, 1e-6 max(1, |bound|))`` (extracted
atoms are checked like every other point; points within 1e-3 of each other count once, the
better kept; at most ``MAX_POINTS``, the best first). Nothing here may fail a solve: an exception means
no minimizers. Extraction is skipped for moment blocks larger than ``MAX_BLOCK``, polishing
for more than ``POLISH_MAX_VARS`` continuous variables.

Why this module is long: the four ways to a minimizer (extraction, rounding, sign images,
polishing) feed one list that is checked once on the POP; apart, each would repeat the
scoring and the duplicate test, and the order in which they run is the module's point.

Examples
--------
>>> import sympy
>>> from polylip import POP
>>> x, y = sympy.symbols("x y")
>>> res = POP((x**2 - 1)**2 + y**2).solve(order=3)       # flat: M_2 and M_1 have rank 2
>>> sorted(round(m["x"], 4) for m in res.minimizers)
[-1.0, 1.0]
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace

import numpy as np
import scipy.linalg as la
from scipy.optimize import minimize

from polylip.poly import monomials as mono
from polylip.sparsity.blocks import MOMENT, count_basis

__all__ = ["with_minimizers", "extract_atoms", "attains", "sign_symmetries", "MAX_BLOCK", "RANK_RTOL"]

log = logging.getLogger(__name__)

#: Extraction skipped for a moment block larger than this (its eigendecomposition and the
#: multiplication matrices stay well under a second at this size).
MAX_BLOCK = 300
#: Relative tolerance of the numerical rank: eigenvalues above RANK_RTOL * the largest count.
RANK_RTOL = 1e-3
#: Joined clique points kept at most (correlative sparsity), points polished at most, and the
#: most cliques extracted (~1 ms each; beyond, the first-order candidate is usually the point:
#: chained Wood n = 1,000 spent 2 s per solve in 999 clique extractions).
MAX_POINTS = 64
MAX_CLIQUES = 200
MAX_POLISH = 8
#: Hyperplanes of the randomized rounding; single-flip passes at most.
GW_SAMPLES = 64
FLIP_PASSES = 50
#: SLSQP iteration cap, and the largest number of continuous variables it is run on. Up to
#: POLISH_ALL_VARS variables every extracted point is polished (an atom is only as accurate as
#: the solver, ~1e-4 at the default tolerances); above, only those not yet at the bound.
POLISH_ITERS = 100
POLISH_MAX_VARS = 60
POLISH_ALL_VARS = 10
SEED = 0


def attains(value, bound, accuracy=None, rtol: float = 1e-6) -> bool:
    """Whether ``value`` meets ``bound`` within ``max(accuracy, rtol * max(1, |bound|))``.

    >>> attains(1.0 + 1e-7, 1.0), attains(1.01, 1.0), attains(1.01, 1.0, accuracy=0.1)
    (True, False, True)
    """
    tol = max(float(accuracy or 0.0), rtol * max(1.0, abs(bound)))
    return bool(abs(value - bound) <= tol)


def attains_all(values, bound, accuracy=None, rtol: float = 1e-6) -> np.ndarray:
    """:func:`attains` for an array of values."""
    tol = max(float(accuracy or 0.0), rtol * max(1.0, abs(bound)))
    with np.errstate(invalid="ignore"):
        return np.abs(np.asarray(values, dtype=float) - bound) <= tol


def _rank(M: np.ndarray, rtol: float) -> int:
    w = np.linalg.eigvalsh(M)
    return int((w > rtol * max(w[-1], 0.0)).sum()) if w[-1] > 0 else 0


def _lookup(basis: np.ndarray) -> dict:
    return {tuple(int(i) for i in row if i != mono.PAD): j for j, row in enumerate(basis)}


def extract_atoms(M, basis, variables, binary=None, spin=None, v: int = 1,
                  rtol: float = RANK_RTOL, seed: int = SEED):
    """The atoms of a flat moment matrix (Henrion-Lasserre), or None.

    Parameters
    ----------
    M : ndarray, shape (k, k)
        The moment matrix over ``basis`` (index rows in graded order, as built by
        :func:`polylip.poly.monomials.basis`).
    variables : sequence of int
        The variables the basis is over (the clique); the atoms' coordinates, in this order.
    binary, spin : boolean masks over all variables, or None (products are reduced by them).
    v : int
        The flatness step: ``rank M_s == rank M_{s-v}`` is required.

    Returns
    -------
    ndarray of shape (r, len(variables)), or None when no order is flat, a product monomial
    is missing or the multiplication matrix has complex eigenvalues.

    Examples
    --------
    >>> b = mono.basis([0], 2)                     # 1, x, x^2; atoms at -1 and 2
    >>> pts = np.array([-1.0, 2.0])
    >>> B = np.vstack([np.ones(2), pts, pts**2])
    >>> np.round(np.sort(extract_atoms(B @ B.T / 2, b, [0])[:, 0]), 8).tolist()
    [-1.0, 2.0]
    """
    M = np.asarray(M, dtype=float)
    deg = mono.degrees(basis)
    for s in range(int(deg.max(initial=0)), v - 1, -1):
        ks, kl = int((deg <= s).sum()), int((deg <= s - v).sum())
        r = _rank(M[:ks, :ks], rtol)
        if r >= 1 and r == _rank(M[:kl, :kl], rtol):
            break
    else:
        return None
    w, Q = np.linalg.eigh(M[:ks, :ks])
    V = Q[:, -r:] * np.sqrt(w[-r:])
    low = int((deg <= s - 1).sum())
    if r > low:
        return None
    _, _, piv = la.qr(V[:low].T, pivoting=True, mode="economic")
    P = np.sort(piv[:r])
    if np.linalg.cond(V[P]) > 1e8:
        return None
    U = np.linalg.solve(V[P].T, V.T).T          # U = V V[P]^{-1}, U[P] = I
    index = _lookup(basis[:ks])
    N = []
    for i in variables:
        rows = mono.normalize(np.hstack([basis[P], np.full((r, 1), i, dtype=mono.INDEX_DTYPE)]))
        if binary is not None or spin is not None:
            rows = mono.reduce_boolean(rows, binary, spin)
        idx = [index.get(tuple(int(a) for a in row if a != mono.PAD)) for row in rows]
        if any(j is None for j in idx):
            return None
        N.append(U[idx])
    coef = np.random.default_rng(seed).random(len(N)) + 0.5
    T, Z = la.schur(sum((c / coef.sum()) * Ni for c, Ni in zip(coef, N)), output="real")
    if r > 1 and np.abs(np.diag(T, -1)).max() > 1e-6 * max(1.0, np.abs(T).max()):
        return None                               # complex eigenvalues: no real atoms
    return np.array([[z @ Ni @ z for Ni in N] for z in Z.T])


def _symmetric(tri: np.ndarray, k: int) -> np.ndarray:
    """The k x k matrix of an upper triangle in ``np.triu_indices`` order."""
    iu, ju = np.triu_indices(k)
    M = np.zeros((k, k))
    M[iu, ju] = tri
    M[ju, iu] = tri
    return M


def _masks(pop):
    b, s = pop.binary_mask, pop.spin_mask
    return (b if b.any() else None), (s if s.any() else None)


def extracted_points(relaxation, y: np.ndarray, x0: np.ndarray) -> np.ndarray:
    """Points from every clique's flat moment block, joined across cliques (see the module
    notes); shape (p, nvars), p = 0 when nothing is extracted."""
    pop, blocks, data = relaxation.pop, relaxation.blocks, relaxation.data
    n = pop.nvars
    none = np.zeros((0, n))
    v = max([1] + [(g.degree + 1) // 2 for g in (*pop.ineqs, *pop.eqs)])
    binary, spin = _masks(pop)
    boolean = pop.binary_mask | pop.spin_mask
    if len(blocks.cliques) > MAX_CLIQUES:
        return none
    moment: dict = {}
    for j, b in enumerate(blocks.psd):
        if b.constraint == MOMENT:
            moment.setdefault(b.clique, []).append(j)
    tri, offsets = data.stacked @ y, data.offsets
    joined = np.full((1, n), np.nan)
    for c, clique in enumerate(blocks.cliques):
        js = moment.get(c, [])
        cl = np.asarray(clique, dtype=np.int64)
        nb = int(boolean[cl].sum())
        if len(js) != 1 or blocks.psd[js[0]].size > MAX_BLOCK or \
                blocks.psd[js[0]].size != count_basis(cl.size - nb, nb, blocks.order):
            return none                           # e.g. term sparsity: not M_d of the clique
        j, k = js[0], blocks.psd[js[0]].size
        M = _symmetric(tri[int(offsets[j]):int(offsets[j + 1])], k)
        atoms = extract_atoms(M, blocks.psd[j].basis, clique, binary, spin, v)
        if atoms is None:
            return none
        out = []
        for p in joined:
            known = ~np.isnan(p[cl])
            for a in atoms:
                if np.allclose(p[cl][known], a[known], rtol=1e-3, atol=1e-3):
                    q = p.copy()
                    q[cl] = np.where(known, (p[cl] + a) / 2, a)
                    out.append(q)
        if not out:
            return none
        joined = np.array(out[:MAX_POINTS])
    return np.where(np.isnan(joined), x0, joined)


#: Sign symmetries are sought only up to this many variables and terms (a GF(2) elimination
#: of terms x variables bits; 2,000 x 200 takes ~10 ms).
SYMMETRY_MAX_VARS = 200
SYMMETRY_MAX_TERMS = 20_000


def sign_symmetries(pop) -> np.ndarray:
    """The sign flips ``x -> d * x`` (``d`` in {-1, 1}^n, binary variables never flipped) that
    leave the objective and every constraint unchanged, as rows of ``d``: the solutions ``d``
    of ``E d = 0`` over GF(2), ``E`` the exponent parities of the terms. The identity first;
    at most ``MAX_POINTS`` rows; only the identity beyond the size limits.

    Examples
    --------
    >>> import sympy
    >>> from polylip import POP
    >>> s, t = sympy.symbols("s t")
    >>> sign_symmetries(POP(s * t, spin=[s, t])).tolist()    # s -> -s, t -> -t together
    [[1.0, 1.0], [-1.0, -1.0]]
    """
    n = pop.nvars
    identity = np.ones((1, n))
    polys = [pop.objective, *pop.ineqs, *pop.eqs]
    if n == 0 or n > SYMMETRY_MAX_VARS or sum(p.nterms for p in polys) > SYMMETRY_MAX_TERMS:
        return identity
    rows = [np.zeros((0, n), bool)]
    for p in polys:
        q = p.with_variables(pop.variables)
        idx = np.asarray(q.rows)
        par = np.zeros((idx.shape[0], n + 1), np.int64)
        if idx.size:
            np.add.at(par, (np.repeat(np.arange(idx.shape[0]), idx.shape[1]),
                            np.where(idx == mono.PAD, n, idx).ravel()), 1)
        rows.append((par[:, :n] % 2).astype(bool)[np.asarray(q.coeffs) != 0])
    rows.append(np.eye(n, dtype=bool)[pop.binary_mask])   # binary variables stay put
    E = np.vstack(rows)
    E = E[E.any(axis=1)]
    # the reduced row echelon form of E over GF(2), then a basis of its null space
    A, pivots, r = E.copy(), [], 0
    for col in range(n):
        hit = np.nonzero(A[r:, col])[0] if r < A.shape[0] else []
        if len(hit) == 0:
            continue
        k = r + hit[0]
        A[[r, k]] = A[[k, r]]
        others = np.nonzero(A[:, col])[0]
        A[others[others != r]] ^= A[r]
        pivots.append(col)
        r += 1
    basis = []
    for col in sorted(set(range(n)) - set(pivots)):
        d = np.zeros(n, bool)
        d[col] = True
        for i, pc in enumerate(pivots):
            d[pc] = A[i, col]
        basis.append(d)
    group = [np.zeros(n, bool)]
    for d in basis:
        group += [g ^ d for g in group]
        if len(group) >= MAX_POINTS:
            break
    return np.where(np.array(group[:MAX_POINTS]), -1.0, 1.0)


def _snap(pop, pts: np.ndarray) -> np.ndarray:
    """Binary coordinates to {0, 1} (threshold 1/2), spin ones to {-1, 1} (sign)."""
    pts = np.array(pts, dtype=float)
    b, s = pop.binary_mask, pop.spin_mask
    pts[:, b] = (pts[:, b] >= 0.5).astype(float)
    pts[:, s] = np.where(pts[:, s] >= 0, 1.0, -1.0)
    return pts


def _score(pop, pts: np.ndarray, feas_tol: float) -> np.ndarray:
    """Objective in minimization form at each point, +inf where infeasible."""
    pts = np.atleast_2d(pts)
    if pts.shape[0] == 0:
        return np.zeros(0)
    with np.errstate(over="ignore", invalid="ignore"):   # a point SLSQP sent far off: inf, dropped
        val = np.atleast_1d(pop.evaluate(pts)) * (1.0 if pop.sense == "min" else -1.0)
        ok = np.atleast_1d(pop.is_feasible(pts, tol=feas_tol)) & np.isfinite(val)
    return np.where(ok, val, np.inf)


def rounded_points(pop, data, y: np.ndarray, x0: np.ndarray, feas_tol: float = 1e-6,
                   seed: int = SEED) -> np.ndarray:
    """Rounding of the binary/spin variables: sign rounding of ``x0`` and Goemans-Williamson
    hyperplanes from the order-1 moment matrix (when all its moments exist), each followed by
    single flips while they improve a feasible point; continuous coordinates stay at ``x0``.

    Examples
    --------
    >>> import sympy
    >>> from polylip import POP
    >>> a, b, c = sympy.symbols("a b c")
    >>> pop = POP(a*b + b*c + c*a, spin=[a, b, c])          # frustrated triangle: min -1
    >>> r = pop.relax(order=1)
    >>> out = r.solve_detailed()
    >>> y = r.moment_vector(out.lmi, out.raw)
    >>> min(pop.evaluate(p) for p in rounded_points(pop, r.data, y, np.zeros(3)))
    -1.0
    """
    boolean = np.nonzero(pop.binary_mask | pop.spin_mask)[0]
    if boolean.size == 0 or boolean.size > MAX_BLOCK:
        return np.zeros((0, pop.nvars))
    starts = [_snap(pop, x0[None, :])[0]]
    index = _lookup(data.moments)
    binary, spin = _masks(pop)
    ii, jj = np.triu_indices(boolean.size + 1)
    ext = np.concatenate([[mono.PAD], boolean])
    rows = mono.reduce_boolean(mono.normalize(np.column_stack([ext[ii], ext[jj]])), binary, spin)
    idx = [index.get(tuple(int(a) for a in row if a != mono.PAD)) for row in rows]
    if all(j is not None for j in idx):
        X = np.zeros((boolean.size + 1,) * 2)
        X[ii, jj] = y[idx]
        X[jj, ii] = y[idx]
        T = np.eye(boolean.size + 1)             # (1, x) -> (1, 2x - 1) on binary variables
        isb = np.concatenate([[False], pop.binary_mask[boolean]])
        T[isb, 0], T[isb, isb] = -1.0, 2.0
        w, Q = np.linalg.eigh(T @ X @ T.T)
        V = Q * np.sqrt(np.clip(w, 0.0, None))
        sgn = np.where(V @ np.random.default_rng(seed).standard_normal((V.shape[1], GW_SAMPLES))
                       >= 0, 1.0, -1.0)
        sgn = (sgn[1:] * sgn[0]).T                # (samples, boolean) in {-1, 1}
        pts = np.repeat(x0[None, :], GW_SAMPLES, axis=0)
        pts[:, boolean] = np.where(isb[1:], (sgn + 1) / 2, sgn)
        starts.extend(pts)
    pts = np.array(starts)
    score = _score(pop, pts, feas_tol)
    best = pts[int(np.argmin(score))].copy()
    return np.vstack([pts, _flip(pop, best, boolean, feas_tol)])


def _flip(pop, x: np.ndarray, boolean: np.ndarray, feas_tol: float) -> np.ndarray:
    """Single-variable flips of the boolean coordinates while one improves (bounded passes)."""
    current = _score(pop, x, feas_tol)[0]
    for _ in range(FLIP_PASSES):
        trial = np.repeat(x[None, :], boolean.size, axis=0)
        k = np.arange(boolean.size)
        col = trial[k, boolean]
        trial[k, boolean] = np.where(pop.spin_mask[boolean], -col, 1.0 - col)
        score = _score(pop, trial, feas_tol)
        j = int(np.argmin(score))
        if not score[j] < current - 1e-12:
            break
        x, current = trial[j], score[j]
    return x[None, :]


def _poly_fun(p, sign: float = 1.0):
    """Value and gradient functions of a polynomial, on its index rows: the derivative of a
    term ``x_{r_1} ... x_{r_w}`` adds the product of the other factors at each ``r_k``."""
    rows, c = p.rows, sign * p.coeffs

    def fun(x):
        return sign * float(p.evaluate(x))

    def jac(x):
        g = np.zeros(x.size + 1)                  # the last slot collects the padding
        if rows.shape[1]:
            v = np.append(x, 1.0)[rows]
            one = np.ones((v.shape[0], 1))
            before = np.cumprod(np.hstack([one, v[:, :-1]]), axis=1)
            after = np.cumprod(np.hstack([one, v[:, :0:-1]]), axis=1)[:, ::-1]
            np.add.at(g, rows, c[:, None] * before * after)
        return g[:-1]

    return fun, jac


def polish(pop, x0: np.ndarray, feas_tol: float = 1e-6) -> np.ndarray | None:
    """SLSQP on the continuous variables from ``x0`` (boolean ones fixed); the result, or None
    when it is not feasible or worse than a feasible ``x0``.

    Examples
    --------
    >>> import sympy
    >>> from polylip import POP
    >>> x, y = sympy.symbols("x y")
    >>> pop = POP(-x**2 - y**2, ineqs=[1 - x**2 - y**2])
    >>> p = polish(pop, np.array([0.3, 0.4]))
    >>> round(float(pop.evaluate(p)), 6)
    -1.0
    """
    free = np.nonzero(~(pop.binary_mask | pop.spin_mask))[0]
    if free.size == 0 or free.size > POLISH_MAX_VARS or not np.all(np.isfinite(x0)):
        return None
    names = pop.variables

    def lift(f):  # functions of the free coordinates z, the others fixed at x0
        fun, jac = f

        def at(z):
            x = x0.copy()
            x[free] = z
            return x
        return (lambda z: fun(at(z))), (lambda z: jac(at(z))[free])

    obj, grad = lift(_poly_fun(pop.objective.with_variables(names),
                               1.0 if pop.sense == "min" else -1.0))
    cons = [dict(type=t, fun=f, jac=j) for t, ps in (("ineq", pop.ineqs), ("eq", pop.eqs))
            for f, j in (lift(_poly_fun(p.with_variables(names))) for p in ps)]
    with np.errstate(all="ignore"):
        sol = minimize(obj, x0[free], jac=grad, constraints=cons, method="SLSQP",
                       options=dict(maxiter=POLISH_ITERS, ftol=1e-12))
    x = x0.copy()
    x[free] = sol.x
    start, end = _score(pop, np.vstack([x0, x]), feas_tol)
    return x if np.isfinite(end) and end <= start + 1e-12 * max(1.0, abs(end)) else None


#: Of the time left before the solve's deadline, the share the minimizer search may take (it
#: runs before the certify stage, which needs the rest: chained Wood n = 20, time_limit=2 at
#: load 10, spent 2.2 s in three polishes after a 0.9 s solve and the bound went uncertified).
DEADLINE_SHARE = 0.5


def with_minimizers(result, relaxation, y, feas_tol: float = 1e-6, gap_tol: float = 1e-6,
                    deadline: float | None = None):
    """``result`` with ``minimizers``, the best feasible point known as ``candidate`` and
    ``is_global`` re-decided (its value meets the bound to ``gap_tol`` relative); ``result``
    unchanged on any failure. With a ``deadline`` (a ``time.perf_counter()`` value), the
    polishing starts only within :data:`DEADLINE_SHARE` of the time left.

    Examples
    --------
    >>> import sympy
    >>> from polylip import POP
    >>> x, y = sympy.symbols("x y")
    >>> pop = POP((x**2 - 1)**2 + (y**2 - 1)**2)
    >>> res = pop.solve(order=2)               # calls with_minimizers; M_2 is not flat
    >>> len(res.minimizers), res.is_global     # one found by polishing, 3 by sign symmetry
    (4, True)
    >>> len(pop.solve(order=4).minimizers)     # flat at order 4: all four extracted
    4
    """
    stop = None
    if deadline is not None:
        now = time.perf_counter()
        stop = now + DEADLINE_SHARE * max(deadline - now, 0.0)
    try:
        return _with_minimizers(result, relaxation, y, feas_tol, gap_tol, stop)
    except Exception as exc:  # noqa: BLE001 - a failed extraction only means no minimizers
        log.debug("no minimizers extracted: %r", exc)
        return result


def _with_minimizers(result, relaxation, y, feas_tol, gap_tol, stop=None):
    pop, bound = relaxation.pop, result.bound

    def room() -> bool:  # time for one more polish (see DEADLINE_SHARE)
        return stop is None or time.perf_counter() < stop

    if y is None or bound is None or result.candidate is None:
        return result
    x0 = np.array([result.candidate[v] for v in pop.variables], dtype=float)
    if result.is_global and result.rank_one:
        return replace(result, minimizers=(dict(result.candidate),))
    sign = 1.0 if pop.sense == "min" else -1.0

    def done(p):  # feasible and at the bound to gap_tol: polishing cannot improve it
        sc = _score(pop, p, feas_tol)
        return np.isfinite(sc) & (np.abs(sign * sc - bound) <= gap_tol * max(1.0, abs(bound)))

    # rank one: every clique's only atom is its first-order moments, x0 itself
    atoms = _snap(pop, np.zeros((0, x0.size)) if result.rank_one
                  else extracted_points(relaxation, y, x0))
    todo = np.ones(atoms.shape[0], bool) if pop.nvars <= POLISH_ALL_VARS else ~done(atoms)
    for k in np.nonzero(todo)[0][:MAX_POLISH]:   # a polished atom replaces the atom
        if not room():
            break
        p = polish(pop, atoms[k], feas_tol)
        if p is not None:
            atoms[k] = p
    pts = [x0[None, :], atoms]
    if (pop.binary_mask | pop.spin_mask).any():
        pts.append(rounded_points(pop, relaxation.data, y, x0, feas_tol))
    if not done(np.vstack(pts)).any():
        # x0 perturbed too: the average of symmetric minimizers is often a stationary point
        kick = 1e-2 * (1.0 + np.abs(x0)) * np.random.default_rng(SEED).standard_normal(x0.size)
        for start in (x0, x0 + kick):
            if not room():
                break
            p = polish(pop, start, feas_tol)
            if p is not None:
                pts.append(p[None, :])
    pts = np.vstack(pts)
    score = _score(pop, pts, feas_tol)
    flips = sign_symmetries(pop)
    if flips.shape[0] > 1:   # the images of the points at the bound (checked like the rest)
        at = pts[np.isfinite(score) & attains_all(sign * score, bound, result.accuracy, gap_tol)]
        images = (at[:MAX_POINTS, None, :] * flips[None, 1:, :]).reshape(-1, pts.shape[1])
        pts = np.vstack([pts, images])
        score = np.concatenate([score, _score(pop, images, feas_tol)])
    minimizers = []
    found = np.zeros((MAX_POINTS, pts.shape[1]))
    for k in np.argsort(score, kind="stable"):
        if len(minimizers) >= MAX_POINTS:
            break
        if not (np.isfinite(score[k]) and attains(sign * score[k], bound, result.accuracy, gap_tol)):
            continue
        got = found[:len(minimizers)]
        if not (np.abs(got - pts[k]) <= 1e-3 + 1e-3 * np.abs(pts[k])).all(axis=1).any():
            found[len(minimizers)] = pts[k]
            minimizers.append(pts[k])
    k = int(np.argmin(score))
    if not np.isfinite(score[k]):
        return result
    value = float(sign * score[k])
    cand = dict(zip(pop.variables, pts[k].tolist()))
    is_global = abs(value - bound) <= gap_tol * max(1.0, abs(bound))
    return replace(result, candidate=cand, candidate_value=value, is_global=bool(is_global),
                   minimizers=tuple(dict(zip(pop.variables, m.tolist())) for m in minimizers))

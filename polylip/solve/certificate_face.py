"""Exact facial reduction of the Gram blocks a float certificate cannot make PSD.

When the minimizer is degenerate, every certificate of the optimal bound has Gram matrices
on a face of the PSD cone: ``G K = 0`` for a kernel ``K`` the problem forces. A float ``G``
lands on both sides of that face, and the repair of :mod:`polylip.solve.certificate` (a
diagonal shift) pays for a negative eigenvalue with ``sum_p s_p M_p^2``: where the kernel has
no constant entry and nothing bounds the variables, that is infinite. Chained singular is the
case in point: ``10 (x0 - 10 x3)^4`` lies in the block of the first clique alone, so its
Gram matrix must vanish on ``m(x)`` along the plane ``x0 = 10 x3``, e.g. on
``100 x0^2 + 10 x0 x3 + x3^2``, which is no monomial.

The repair here, for each such block (multiplier 1):

1. **Kernel**: the eigenvectors of the eigenvalues below a spectral gap (several cut
   points are tried, smallest kernel first), put in reduced row-echelon form and each
   entry rounded to the simplest rational within ``eps`` (continued fractions): a face
   the data suggest, such as ``(0, 0, 0, 0, 1, 0, 1/10, 0, 0, 1/100)``.
2. **Face**: an integer basis ``Q`` of the exact orthogonal complement of that kernel
   (``K^T Q = 0`` in rationals), and ``H = Q^+ G Q^+T``; the block's Gram matrix becomes
   ``Q H Q^T``, which has the kernel exactly.
3. **Exact match**: the monomials that only faced blocks reach ("private": no block the
   residual can be folded into reaches them) must have a zero residual, since nothing else
   can absorb it without a box. A least-norm float correction of ``H`` first, then the exact
   solution ``dH`` of the (integer) linear system ``A dH = r_private`` in rationals, so that
   ``X = Q (H + dH) Q^T`` makes those residuals exactly zero. ``X`` is stored exactly
   (:attr:`SOSCertificate.exact`), proven PSD exactly, and never shifted; the residual
   on the other monomials is folded into the other blocks as usual.

Nothing here needs to be right for soundness: the face is a guess, and the certificate
recomputes the residual and checks every matrix exactly (:meth:`SOSCertificate.verify`). A
wrong guess (a kernel vector the exact certificate does not have) makes the private system
inconsistent or ``H + dH`` indefinite, and the next cut point is tried.

Examples
--------
**Limits** (measured 2026-12-01). Chained singular stays numerical only here (it certifies
through :mod:`polylip.solve.certificate_rational`, tried first): its first clique's
face is found (kernel ``e_{x0x1}, e_{x1^2}, e_{x1x3}, 100 x0^2 - x3^2, 5 x0x3 + x3^2``,
complement ``x0^2 - 20 x0x3 + 100 x3^2``) and made exact, but that fixes the block's ``x3^4``
coefficient, which the solver had 4.5e-8 off, and the three other blocks with ``x3`` sit on
faces as well (two have ``x3^2`` diagonals of 8e-9 where the exact certificate has 0, the
third 2.8e-8 above its exact 2^-17; objective scaled by 2^-17, n = 20): the error
moves along the chain, and an exact certificate needs every block faced (n = 20: all 18 faced
at once took 50 s and the exact system came out inconsistent with the faces found). Kernels
spanned by ``m(p)`` at irrational points have no small rational basis (the one examined of 4 random
``q1^2 + q2^2 + l^2`` left uncertified: RREF entries such as 0.2348301); those stay
numerical only too.

The Gram matrix of ``(x - 10 y)^4 + (y - z)^2`` vanishes on ``m(10, 1, z)``; unconstrained,
a float certificate of it needs an unbounded shift, an exact face does not:

>>> import sympy
>>> from polylip import POP
>>> x, y, z = sympy.symbols("x y z")
>>> res = POP((x - 10*y)**4 + (y - z)**2).solve()
>>> res.certified, res.bound <= 0, len(res.certificate.exact) > 0, res.certificate.verify()
(True, True, True, True)
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from fractions import Fraction

import numpy as np

from polylip.poly import monomials as mono
from polylip.solve.certificate_exact import _residual

__all__ = ["face_candidates", "rational_kernel", "faced"]

log = logging.getLogger(__name__)

#: Relative size (to the block's largest entry) below which an eigenvalue may be part of the
#: kernel, and the ratio of the first eigenvalue kept to the last dropped at a cut point.
KERNEL_REL = 1e-5
GAP = 10.0
#: The rounding tolerance of a kernel entry (reduced row-echelon form: entries of order 1)
#: and the largest denominator tried.
EPS = (1e-6, 1e-3, 1e-2)
MAX_DEN = 10 ** 4
#: Cut points tried per block, and blocks faced at most (they share one exact solve, whose
#: cost grows fast: 4 blocks of chained singular about 0.1 s, all 18 of n = 20 about 50 s).
MAX_CUTS = 6
MAX_BLOCKS = 8


def _simplest(x: float, eps: float) -> Fraction | None:
    """The first continued-fraction convergent of ``x`` within ``eps`` (denominator at most
    ``MAX_DEN``), or None."""
    sign, x = (-1 if x < 0 else 1), abs(float(x))
    h0, h1, k0, k1 = 0, 1, 1, 0
    r = x
    for _ in range(40):
        a = int(r)
        h0, h1 = h1, a * h1 + h0
        k0, k1 = k1, a * k1 + k0
        if k1 > MAX_DEN:
            return None
        if abs(h1 / k1 - x) <= eps:
            return Fraction(sign * h1, k1)
        frac = r - a
        if frac < 1e-300:
            return Fraction(sign * h1, k1)
        r = 1.0 / frac
    return None


def rational_kernel(V: np.ndarray, eps: float = EPS[0]) -> list | None:
    """Integer row vectors spanning a rational approximation of the column span of ``V``
    (k x d, orthonormal): its reduced row-echelon form (partial pivoting), every entry the
    simplest rational within ``eps``, each row scaled to coprime integers. None if an entry
    has no such rational.

    Examples
    --------
    >>> v = np.array([100.0, 10.0, 1.0]) / np.sqrt(10101.0)
    >>> rational_kernel(v[:, None])
    [[100, 10, 1]]
    """
    R = np.array(V, dtype=float).T.copy()
    d, k = R.shape
    piv = []
    for r in range(d):
        # complete pivoting: the largest entry left, so that the entries off the pivots stay
        # of order one and a slightly tilted numerical kernel rounds to its rational neighbour
        # (partial pivoting in column order turns a tilt of 1e-2 into entries of 1/1e-2)
        sub = np.abs(R[r:])
        sub[:, piv] = 0.0
        i, c = np.unravel_index(int(np.argmax(sub)), sub.shape)
        i += r
        if abs(R[i, c]) < 1e-6:
            return None
        R[[r, i]] = R[[i, r]]
        R[r] /= R[r, c]
        others = np.arange(d) != r
        R[others] -= np.outer(R[others, c], R[r])
        piv.append(int(c))
    rows = []
    for i in range(d):
        vals = []
        for c in range(k):
            if c in piv:
                vals.append(Fraction(int(c == piv[i])))
                continue
            q = _simplest(R[i, c], eps * max(1.0, abs(R[i, c])))
            if q is None:
                return None
            vals.append(q)
        rows.append(_integer(vals))
    return rows


def _integer(vals) -> list:
    """Fractions scaled to coprime integers."""
    import math
    den = math.lcm(*(v.denominator for v in vals))
    ints = [int(v * den) for v in vals]
    g = math.gcd(*ints) or 1
    return [v // g for v in ints]


def _rref(rows: list, ncols: int):
    """Exact reduced row-echelon form of a list of rows of Fractions: (rows, pivot columns)."""
    A = [list(map(Fraction, row)) for row in rows]
    piv, r = [], 0
    for c in range(ncols):
        i = next((t for t in range(r, len(A)) if A[t][c] != 0), None)
        if i is None:
            continue
        A[r], A[i] = A[i], A[r]
        p = A[r][c]
        A[r] = [v / p for v in A[r]]
        for t in range(len(A)):
            if t != r and A[t][c] != 0:
                f = A[t][c]
                A[t] = [a - f * b for a, b in zip(A[t], A[r])]
        piv.append(c)
        r += 1
        if r == len(A):
            break
    return A[:r], piv


def complement(K: list, k: int) -> np.ndarray:
    """An integer basis (columns, k x (k - rank K)) of the vectors orthogonal to the rows of
    ``K``, exactly."""
    R, piv = _rref(K, k)
    cols = []
    for f in (c for c in range(k) if c not in piv):
        v = [Fraction(0)] * k
        v[f] = Fraction(1)
        for row, p in zip(R, piv):
            v[p] = -row[f]
        cols.append(_integer(v))
    return np.array(cols, dtype=np.int64).T.reshape(k, len(cols))


def face_candidates(G: np.ndarray, scale: float | None = None) -> list:
    """Kernel dimensions to try for the float Gram matrix ``G``: the cut points of its
    spectrum where every eigenvalue below is under ``KERNEL_REL * scale`` (``scale``: the
    largest Gram entry of the whole certificate, the solver's unit; a block whose terms
    are all small has no smaller noise) and the first above is ``GAP`` times the largest
    below; largest kernel first (the minimal face is what an exact certificate needs)."""
    scale = float(np.abs(G).max()) if scale is None else float(scale)
    if scale == 0:
        return []
    lam = np.linalg.eigvalsh(G)
    out = []
    for d in range(1, G.shape[0]):
        below = float(np.abs(lam[:d]).max())
        if below > KERNEL_REL * scale:
            break
        if lam[d] >= GAP * max(below, 1e-300):
            out.append(d)
    return out[::-1]


def _top_part(K: list, top: np.ndarray) -> list:
    """The rational subspace ``span(K)`` intersected with the span of the ``top`` basis
    monomials (integer rows), exactly."""
    order = [c for c in range(len(top)) if not top[c]] + [c for c in range(len(top)) if top[c]]
    R, piv = _rref([[row[c] for c in order] for row in K], len(order))
    nlow = int((~top).sum())
    back = np.argsort(order)
    return [_integer([row[int(b)] for b in back]) for row, p in zip(R, piv) if p >= nlow]


def block_faces(G: np.ndarray, scale: float | None = None, top: np.ndarray | None = None) -> list:
    """The candidate faces of ``G``, ``[(Q, H)]``: for each cut point of
    :func:`face_candidates` whose kernel rounds to a rational subspace close to the
    numerical one (integers up to ``MAX_DEN``, each rational kernel vector within ``10 eps``
    of the eigenvectors' span), the integer complement ``Q`` and ``H = Q^+ G Q^+T``.

    With ``top`` (the basis monomials of the highest degree), the part of each kernel on
    those monomials comes first. It is forced whatever the bound (the leading form of the
    block's polynomial vanishes there), while kernel vectors with low-degree entries come
    from the minimizer and hold only at the exact optimum: at a bound ``b`` a little below
    it, the solver's constant row carries entries of order ``sqrt(optimum - b)`` (chained
    singular: 8e-7 for a gap of 1.5e-11), which a face through ``e_0`` would throw away."""
    lam, V = np.linalg.eigh(G)
    out, seen = [], []
    for d, eps in ((d, eps) for d in face_candidates(G, scale) for eps in EPS):
        K = rational_kernel(V[:, :d], eps)
        if K is None:
            continue
        Kf = np.array(K, dtype=float)
        if np.abs(Kf).max() > MAX_DEN:
            continue
        Kn = Kf / np.linalg.norm(Kf, axis=1, keepdims=True)
        if np.abs(Kn - (Kn @ V[:, :d]) @ V[:, :d].T).max() > 10 * eps:
            continue
        for K in ([_top_part(K, top)] if top is not None and top.any() and not top.all() else []) + [K]:
            if not K or K in seen:
                continue
            seen.append(K)
            face = _face(G, K)
            if face is not None:
                out.append(face)
        if len(out) >= MAX_CUTS:
            break
    return out[:MAX_CUTS]


def _face(G, K):
    """``(Q, H)`` of the face with kernel ``K`` (integer rows), or None."""
    Q = complement(K, G.shape[0])
    if Q.shape[1] == 0 or np.abs(Q).max() > 2 ** 20:
        return None
    Qp = np.linalg.pinv(Q.astype(float))
    H = Qp @ G @ Qp.T
    return Q, 0.5 * (H + H.T)


def _solve_exact(A: list, b: list):
    """A solution of ``A x = b`` in rationals (free unknowns zero), or None when the system
    is inconsistent. ``A`` rows of ints, ``b`` Fractions."""
    n = len(A[0]) if A else 0
    try:
        import flint  # lazy: optional; exact rationals in C (the Fraction path is the fallback)
    except ImportError:
        flint = None
    if flint is not None and A:
        M = flint.fmpq_mat(len(A), n + 1, [v for row, bi in zip(A, b) for v in
                                            (*row, flint.fmpq(bi.numerator, bi.denominator))])
        R, rank = M.rref()
        x = [Fraction(0)] * n
        for i in range(rank):
            c = next(c for c in range(n + 1) if R[i, c] != 0)
            if c == n:
                return None                     # a row 0 = b_i != 0
            v = R[i, n]
            x[c] = Fraction(int(v.p), int(v.q))
        return x
    R, piv = _rref([list(row) + [bi] for row, bi in zip(A, b)], n + 1)
    if n in piv:
        return None
    x = [Fraction(0)] * n
    for row, p in zip(R, piv):
        x[p] = row[n]
    return x


def _exact_gram(Q: np.ndarray, H) -> tuple:
    """``Q H Q^T`` exactly (``Q`` integers, ``H`` Fractions or floats)."""
    k, d = Q.shape
    Hf = [[Fraction(H[min(a, b)][max(a, b)]) for b in range(d)] for a in range(d)]  # symmetric
    Qi = Q.tolist()
    T = [[sum((Qi[p][a] * Hf[a][b] for a in range(d) if Qi[p][a]), Fraction(0)) for b in range(d)] for p in range(k)]
    X = [[sum((T[p][b] * Qi[q][b] for b in range(d) if Qi[q][b]), Fraction(0)) for q in range(k)] for p in range(k)]
    return tuple(tuple(row) for row in X)


def faced(cert, blocks: list, cut: int = 0):
    """``cert`` with the Gram matrices of ``blocks`` (indices of blocks with multiplier 1)
    reduced to a rational face and made exact on the monomials only they reach, or None
    when no face is found or the exact system has no solution (see module)."""
    scale = max(float(np.abs(G).max()) for _, _, G in cert.blocks)
    faces = {}
    for j in blocks:
        basis = cert.blocks[j][1]
        deg = (basis != mono.PAD).sum(axis=1)
        cands = block_faces(cert.blocks[j][2], scale, deg == deg.max())
        if cands:
            faces[j] = cands[min(cut, len(cands) - 1)]
    if not faces:
        return None
    grams = [G for _, _, G in cert.blocks]
    for j, (Q, H) in faces.items():
        grams[j] = Q @ H @ Q.T
    c1 = replace(cert, blocks=tuple((g, b, G) for (g, b, _), G in zip(cert.blocks, grams)),
                 exact=tuple((j, _exact_gram(Q, H)) for j, (Q, H) in faces.items()),
                 shifts=None, claimed=None)
    L = c1._layout
    # the faced blocks' entries and their monomials
    ent = np.nonzero(L["faced"][L["owner"]])[0]
    pos = np.searchsorted(L["rep"], ent)
    mon = L["inv"][L["ncoef"] + pos]
    # every monomial the faced blocks reach: the float step zeroes the residual there (the
    # face moved it: a kernel row dropped carries terms, e.g. the constant row's entries with
    # x3^2, which the face's other entries can carry and a uniform fold into the other blocks
    # cannot), the exact step on the private ones (no other block reaches them)
    reach = np.unique(mon[mon != 0])
    private = reach[L["wsum"][reach] == 0]
    order = sorted(faces)
    cols, off = {}, 0
    for j in order:
        d = faces[j][0].shape[1]
        cols[j] = off
        off += d * (d + 1) // 2
    row_of = {int(a): i for i, a in enumerate(reach.tolist())}
    A = np.zeros((reach.size, off), dtype=np.int64)
    for e, a in zip(ent.tolist(), mon.tolist()):
        i = row_of.get(int(a))
        if i is None:
            continue
        j, p, q = int(L["owner"][e]), int(L["P"][e]), int(L["Q"][e])
        Q = faces[j][0]
        d = Q.shape[1]
        iu, ju = np.triu_indices(d)
        coef = np.where(iu == ju, Q[p, iu] * Q[q, ju], Q[p, iu] * Q[q, ju] + Q[p, ju] * Q[q, iu])
        A[i, cols[j]:cols[j] + iu.size] += (1 if p == q else 2) * coef
    if reach.size:
        # least-norm float step first, so that the exact step corrects rounding only
        r = c1.residual_estimate()[reach]
        x = np.linalg.lstsq(A.astype(float), r, rcond=None)[0]
        for j in order:
            Q, H = faces[j]
            d = Q.shape[1]
            iu, ju = np.triu_indices(d)
            D = np.zeros((d, d))
            D[iu, ju] = x[cols[j]:cols[j] + iu.size]
            D = D + np.triu(D, 1).T
            faces[j] = (Q, H + D)
    exact = {j: _exact_gram(Q, H) for j, (Q, H) in faces.items()}
    c2 = _with_exact(cert, exact)
    if private.size:
        r = _residual(c2, c2._layout)
        L2 = c2._layout
        if not np.array_equal(L2["mons"], L["mons"]):
            return None
        Ap = A[np.isin(reach, private)]
        x = _solve_exact([[int(v) for v in row] for row in Ap.tolist()], [r[int(a)] for a in private])
        if x is None:
            log.info("facial reduction: the private monomials' system is inconsistent")
            return None
        for j in order:
            Q, H = faces[j]
            d = Q.shape[1]
            Hx = [[Fraction(float(H[a, b])) for b in range(d)] for a in range(d)]
            t = cols[j]
            for a in range(d):
                for b in range(a, d):
                    Hx[a][b] += x[t]
                    if a != b:
                        Hx[b][a] += x[t]
                    t += 1
            exact[j] = _exact_gram(Q, Hx)
        c2 = _with_exact(cert, exact)
    return c2


def _with_exact(cert, exact: dict):
    """``cert`` with the exact Gram matrices ``exact`` ({block: matrix}) and their float images."""
    grams = [G for _, _, G in cert.blocks]
    for j, X in exact.items():
        grams[j] = np.array([[float(v) for v in row] for row in X])
    return replace(cert, blocks=tuple((g, b, G) for (g, b, _), G in zip(cert.blocks, grams)),
                   exact=tuple(sorted(exact.items())), shifts=None, claimed=None)


def project_weighted(cert):
    """Fold the float residual into the foldable Gram entries in proportion to
    ``sqrt(G_pp G_qq)`` (a float repair before sealing; the exact fold stays uniform). A face
    moves residual onto shared monomials (chained singular: -4.5e-8 on x3^4, which three
    blocks reach, one with an x3^2 diagonal of 8e-9): spread uniformly it makes that block
    indefinite, in proportion to the diagonals it does not."""
    from polylip.solve.extract import _grams  # lazy: extract imports this module
    L = cert._layout
    e, fm = L["fent"], L["fmon"]
    if not e.size:
        return cert
    r = cert.residual_estimate()
    own, P, Q = L["owner"][e], L["P"][e], L["Q"][e]
    diag = np.zeros(int(L["boff"][-1]))
    for j, (_, _, G) in enumerate(cert.blocks):
        diag[L["boff"][j]:L["boff"][j] + G.shape[0]] = np.diag(G)
    base = L["boff"][own]
    w = np.sqrt(np.maximum(diag[base + P], 0) * np.maximum(diag[base + Q], 0))
    mult = np.where(P == Q, 1.0, 2.0)
    den = np.bincount(fm, weights=w * mult, minlength=L["mons"].shape[0])
    ok = den[fm] > 0
    tri = L["tri"].copy()
    tri[e[ok]] += r[fm[ok]] * w[ok] / den[fm[ok]]
    return cert.with_grams(_grams(cert, tri))


def unpaid_blocks(cert, cb) -> list:
    """The blocks (multiplier 1) whose PSD shift in ``cb`` falls on a monomial that is
    unbounded on K: the ones a face may fix."""
    if not cb.shifts:
        return []
    _, Mb = cert._block_bounds(cert._bounds())
    free = cert._terms["is_one"]
    return [j for j, s in enumerate(cb.shifts)
            if free[j] and np.size(s) and bool(((np.asarray(s) > 0) & ~np.isfinite(Mb[j])).any())][:MAX_BLOCKS]


def repair_by_faces(cert, seal, rounds: int = 4, attempts: int = 8, seconds: float | None = None):
    """The best certificate ``seal(faced(cert, blocks, cut))`` over the cut points, when
    ``cert`` (sealed) is not certified for want of a bounded shift; None otherwise.

    Making a block exact moves the solver's error on the monomials it shares onto its
    neighbours, which may then need a face too (chained singular: the first clique's
    ``x3^4`` is fixed by ``x0^4``, and its -4.5e-8 goes to the three other blocks with
    ``x3``): the blocks found unpaid after sealing join the faced set, for a few rounds.
    At most ``attempts`` faced certificates are sealed in all, and none is started that would
    end after ``seconds`` if it took as long as the last one (each seal costs about what the
    first certification did, and this runs only when that one failed: the caller gives it
    about that much time again, within the time limit)."""
    cb = cert.certified_bound()
    if cb.certified:
        return None
    bad = unpaid_blocks(cert, cb)
    if not bad:
        return None
    t0 = time.perf_counter()
    best, last = None, 0.0
    for cut in range(MAX_CUTS):
        todo = set(bad)
        for _ in range(rounds):
            # none started that would end past ``seconds``, as long as the last one took
            if attempts <= 0 or (seconds is not None and time.perf_counter() - t0 + last > seconds):
                return best
            attempts -= 1
            t1 = time.perf_counter()
            try:
                c = faced(cert, sorted(todo), cut)
                got = None if c is None else seal(project_weighted(c))
            except (ValueError, ArithmeticError, IndexError, np.linalg.LinAlgError) as exc:
                log.info("facial reduction failed: %s", exc)   # never lose the first answer
                got = None
            last = time.perf_counter() - t1
            if got is None:
                break
            g = got.certified_bound()
            if g.certified:
                if best is None or g.gap < best.certified_bound().gap:
                    best = got
                break
            more = set(unpaid_blocks(got, g)) - todo
            if not more or len(todo | more) > MAX_BLOCKS:
                break
            log.info("facial reduction: %d more block(s) to face", len(more))
            todo |= more
        if best is not None:
            break
    return best

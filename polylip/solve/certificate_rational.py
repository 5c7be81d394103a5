"""Rational SOS certificates on faces built from the problem's data (every block faced).

A float certificate proves a bound only with a positive PSD margin, and where the leading
form ``f_top`` of an unconstrained objective has real zeros ``z != 0`` every Gram block is
singular, whatever the bound (docs/relaxations.md, "Why no float certificate can prove
chained singular"): the face is at infinity, and the solver's Gram matrices do not show it
far along a chain of cliques. This module builds every block's face from data, re-solves
the SOS problem on those faces (so the solver's matrices are interior to them), and turns
the float solution into an exact rational identity

    f - b = sum_j m_j^T Q_j H_j Q_j^T m_j,      H_j positive definite (exactly),

for an unconstrained ``min f`` with multiplier-1 blocks only.

Why this module is long: the route is one pipeline over one layout (the faced identity's
sparse integer system): the faces (at infinity and at the minimizer), the small SDPs,
the exact chain solve and the exact checks share it, and none is useful alone.

Steps:

1. **The face at infinity** (degree ``2d`` of ``f``, the top monomials ``m_top`` of each
   basis): a decomposition ``f_top = sum_j m_top,j^T B_j m_top,j`` of smallest trace (one
   small SDP over the top monomials only; the trace keeps the matrices off the directions
   that cost nothing in the full problem, where the solver's own matrices far along a chain
   have eigenvalues of 1e-2 on directions an exact certificate must not use). In each block
   the range of ``B_j`` is a set of forms in a few linear forms ``l`` (their ``(d - 1)``-th
   partial derivatives span them, ``L_j``); rounded to rationals, the face keeps the top
   monomials only through products of ``d`` forms of ``L_j``. This is the face every exact
   certificate has when ``L_j^perp`` is the projection of the real zeros of ``f_top``
   and the Hessian of ``f_top`` vanishes there (the kernel is ``m_j(z)`` and its
   polarizations ``dm_j(z)[y]``, from the expansion of ``f(t z + y)`` in ``t``).
2. **The face at the minimizer**: the relaxation's candidate ``x*`` rounded to simple
   rationals (several roundings, the least value kept); when ``f(x*)`` meets the numerical
   bound, ``b = f(x*)`` and every block must vanish on ``m_j(x*)`` and on ``Dm_j(x*) y`` for
   ``y`` in the kernel of the Hessian of ``f`` at ``x*`` (found numerically, rounded to
   rationals, checked exactly). At ``x* != 0`` the identity is written in ``u = x - x*``
   (``f(x* + u)`` expanded exactly), where those vectors are ``e_1`` and ``(0, y, 0)``, and
   the Gram matrices are moved back at the end, ``X -> T^T X T`` with ``m(x - x*) = T m(x)``.
3. **The Gram matrices on the faces**: first the solver's own, projected on the faces
   (``H_j = Q_j^+ G_j Q_j^+T``) and polished to the faced identity by sparse least squares;
   where they keep a margin and the exact step below succeeds (chained singular: margin
   2^-17 in the scaled units, as the re-solve's) nothing more is solved. Else a **re-solve**
   on the faces at that fixed ``b``: maximize ``t`` with ``H_j - t I`` PSD (Clarabel); the
   solution is interior with a margin ``t``. Its polish runs first only when its float
   residual is not far below ``t`` (:data:`POLISH_BELOW`), else only when the exact step
   without it fails.
4. **Exact**: the residual of the rounded ``H_j`` is exact rationals; it is removed block
   by block along the chain of cliques (each block solves, exactly, the monomials no later
   block reaches, and passes its change on shared monomials on), so the work stays local
   and linear in the number of blocks. Each ``H_j`` is then proven positive definite
   exactly, and ``X_j = Q_j H_j Q_j^T`` is stored as the block's exact Gram matrix
   (:attr:`SOSCertificate.exact`), which :meth:`SOSCertificate.verify` rechecks.

The cost is kept linear and mostly out of Python's Fraction: blocks of one local shape
share their batched eigen- and singular-value decompositions and, when their rounded data
agree, their faces and the row reduction of their private systems (compared by the data:
nothing is known about the problem); the exact step and the exact blocks work in Python
integers over one denominator per block or monomial.

Nothing here needs to be right for soundness: the faces and the minimizer are guesses, the
re-solve fails or leaves no margin when they are wrong, an exact step that meets an
inconsistent system gives up, and the certificate is checked exactly in the end. A wrong
guess only costs the time of the attempt (the result stays numerical only).

Examples
--------
>>> import sympy
>>> from polylip import POP
>>> x, y, z, w = sympy.symbols("x y z w")
>>> f = (x + 10*y)**2 + 5*(z - w)**2 + (y - 2*z)**4 + 10*(x - 10*w)**4
>>> res = POP(f).solve()
>>> res.certified, res.bound, res.certificate.verify()
(True, 0.0, True)
"""

from __future__ import annotations

import logging
import math
import time
from fractions import Fraction
from itertools import combinations_with_replacement

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from polylip.errors import PolylipError
from polylip.poly import monomials as mono
from polylip.relax.conic import LMIProblem, TriBlocks
from polylip.solve.certificate import _triu
from polylip.solve.certificate_exact import _is_one, _psd_stack
from polylip.solve.rational_matrix import RationalMatrix
from polylip.solve.certificate_face import _simplest, complement, rational_kernel

__all__ = ["exact_face_certificate", "applies", "TopForm"]

log = logging.getLogger(__name__)

#: An eigenvalue of a top-form block is in its range when above RANGE_REL times the largest
#: of all blocks (the min-trace solve leaves the others at its tolerance, 1e-8).
RANGE_REL = 1e-6
#: Relative size below which a singular value of a block's linear forms is zero (their
#: entries carry the eigenvectors' error, about the solver's tolerance over the spectral gap:
#: 1.2e-5 measured on chained singular), and the rounding of their RREF entries.
FORM_REL = 1e-4
FORM_EPS = 1e-4
#: The same for the Hessian at the minimizer (exact data: its kernel is at rounding level).
HESS_REL = 1e-9
KERNEL_EPS = 1e-6
#: The roundings of the candidate minimizer tried (relative): the moment solution locates a
#: degenerate minimizer only to about the square root of the solver's tolerance (chained
#: singular shifted to x* = 1: coordinates 0.98 to 1.002), so coarse roundings are tried too
#: and the point with the least value kept.
POINT_EPS = (1e-6, 1e-4, 1e-2, 5e-2)
#: The most kernel vectors of the Hessian at the minimizer looked for.
MAX_KERNEL = 64
#: The least margin (t relative to the largest Gram entry) of the face-restricted re-solve.
MIN_MARGIN = 1e-10
#: The float residual of the re-solve's identity, relative to its margin, below which the
#: exact step is tried before the least-squares polish (which is then only the fallback).
POLISH_BELOW = 1e-3


def applies(cert) -> bool:
    """Whether the route can apply: an unconstrained minimization certified by multiplier-1
    blocks only (no equalities, no boolean variables), of even degree twice the bases'."""
    if cert.ineqs or cert.eqs or cert.equalities or cert.binary.any() or cert.spin.any():
        return False
    if not cert.blocks or not all(_is_one(g) for g, _, _ in cert.blocks):
        return False
    d = max(int(mono.degrees(b).max(initial=0)) for _, b, _ in cert.blocks)
    return d >= 1 and cert.objective.degree == 2 * d


# ---------------------------------------------------------------------- monomial layout
def _entries(bases, objective):
    """``(mons, entry_mon, obj_coef)``: the monomials of every triangle entry of every block
    (a list of arrays, ``np.triu_indices`` order) and of the objective, as ids into ``mons``
    (the constant monomial is id 0 when present), and the objective's coefficient per id."""
    wb = max((B.shape[1] for B in bases), default=0)
    rows = []
    for B in bases:                                     # (the products unsorted: one sort below)
        iu, ju = _triu(B.shape[0])
        Bp = mono.pad_to(B, wb)
        rows.append(np.hstack([Bp[iu], Bp[ju]]))
    rows.append(objective.rows)
    w = max(r.shape[1] for r in rows)
    allrows = np.vstack([mono.pad_to(r, w) for r in rows])
    allrows = mono.normalize(allrows) if allrows.shape[1] else allrows
    mons, inv = mono.unique_rows(allrows)
    cut = np.concatenate([[0], np.cumsum([r.shape[0] for r in rows])])
    entry_mon = [inv[cut[j]:cut[j + 1]] for j in range(len(bases))]
    coef = np.zeros(mons.shape[0])
    np.add.at(coef, inv[cut[-2]:cut[-1]], objective.coeffs)
    return mons, entry_mon, coef


def _face_map(k: int, Q: np.ndarray):
    """``(T x U)`` integers: the coefficient of each triangle entry ``(p, q)`` of
    ``X = Q H Q^T`` (weighted 2 off the diagonal, as a monomial counts ``X_pq + X_qp``)
    in the upper-triangle unknowns ``h_ab`` of ``H`` (``d x d``)."""
    iu, ju = _triu(k)
    d = Q.shape[1]
    ia, ib = _triu(d)
    Qp, Qq = Q[iu].astype(np.int64), Q[ju].astype(np.int64)
    coef = Qp[:, ia] * Qq[:, ib] + np.where(ia != ib, Qp[:, ib] * Qq[:, ia], 0)
    return coef * np.where(iu == ju, 1, 2)[:, None]


def _system(entry_mon, faces, nmons, local: bool = True):
    """The sparse integer matrix (monomials x all unknowns) of the faced identity, the column
    offset of each block, and (``local``) per block its rows (the monomials it reaches) and
    dense integer matrix, all from one sort of the (block, monomial) pairs."""
    rows, cols, vals, blk, offs, off = [], [], [], [], [], 0
    cache = {}
    for j, (em, Q) in enumerate(zip(entry_mon, faces)):
        key = (em.size, Q.shape, Q.tobytes())
        C = cache.get(key)
        if C is None:
            k = int(round((math.isqrt(8 * em.size + 1) - 1) / 2))
            C = cache[key] = sp.coo_matrix(_face_map(k, Q))
        rows.append(em[C.row]), cols.append(C.col), vals.append(C.data), blk.append(np.full(C.nnz, j))
        offs.append(off)
        off += Q.shape[1] * (Q.shape[1] + 1) // 2
    offs.append(off)
    offs = np.array(offs, dtype=np.int64)
    r = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    c = np.concatenate(cols) if cols else np.zeros(0, np.int64)
    v = np.concatenate(vals).astype(np.int64) if vals else np.zeros(0, np.int64)
    b = np.concatenate(blk) if blk else np.zeros(0, np.int64)
    M = sp.csr_matrix((v, (r, c + offs[b])), shape=(nmons, off))
    M.sum_duplicates()
    M.eliminate_zeros()
    if not local:
        return M, offs, None
    # per block: its distinct monomials (sorted) and the dense matrix over them
    keys, inv = np.unique(b * nmons + r, return_inverse=True)
    kb, km = keys // nmons, keys % nmons
    nb = len(faces)
    first = np.searchsorted(kb, np.arange(nb + 1))          # each block's slice of keys
    u = np.diff(offs)
    base = np.concatenate([[0], np.cumsum((first[1:] - first[:-1]) * u)])
    flat = np.zeros(int(base[-1]), np.int64)
    np.add.at(flat, base[b] + (inv - first[b]) * u[b] + c, v)
    out = []
    for j in range(nb):
        D = flat[base[j]:base[j + 1]].reshape(first[j + 1] - first[j], u[j])
        nz = D.any(axis=1)
        out.append((km[first[j]:first[j + 1]][nz], D[nz]))
    return M, offs, out


def _solve_sdp(M, rhs, sizes, offs, objective, extra_t: bool, time_limit):
    """Solve ``M h = rhs`` with ``mat(h_j) (- t I) PSD``: minimize ``objective @ h`` (or
    maximize ``t`` when ``extra_t``, with ``t <= 1``). Returns ``(h, t)`` or None."""
    from polylip.backends.clarabel_backend import solve_lmi  # lazy: Clarabel is optional

    U = int(offs[-1])
    nv = U + (1 if extra_t else 0)
    sizes = [int(s) for s in sizes]
    # one PSD block per face: its triangle is h_j (minus t on the diagonal)
    diag = np.concatenate([np.nonzero(_triu(d)[0] == _triu(d)[1])[0] + offs[j] for j, d in enumerate(sizes)]) \
        if sizes else np.zeros(0, np.int64)
    Gt = sp.identity(U, format="csr")
    if extra_t:
        Gt = sp.hstack([Gt, sp.csr_matrix((-np.ones(diag.size), (diag, np.zeros(diag.size, np.int64))),
                                          shape=(U, 1))], format="csr")
        Gt = sp.vstack([Gt, sp.csr_matrix(([-1.0], ([0], [U])), shape=(1, nv))], format="csr")
        ht = np.concatenate([np.zeros(U), [1.0]])
        sizes = sizes + [1]
        toff = np.concatenate([offs, [U + 1]])
        c = np.zeros(nv)
        c[U] = -1.0
    else:
        ht, toff, c = np.zeros(U), offs, np.asarray(objective, dtype=float)
    keep = np.diff(M.indptr) > 0
    A = sp.csr_matrix(M[keep], dtype=float)
    if extra_t:
        A = sp.hstack([A, sp.csr_matrix((A.shape[0], 1))], format="csr")
    prob = LMIProblem(c=c, offset=0.0, G=TriBlocks(Gt, toff, sizes, dense=False),
                      h=TriBlocks(ht, toff, sizes, dense=True), sizes=tuple(sizes), A=A, b=rhs[keep],
                      side="sos")
    t0 = time.perf_counter()
    for refine in (False, True):
        # without Clarabel's iterative refinement first (its stopping test is the same; 16-24%
        # of the time of these SDPs on chained singular, the same faces and certificate): the
        # answer is only a guess checked exactly later; with it when that does not end solved
        left = None if time_limit is None else time_limit - (time.perf_counter() - t0)
        try:
            sol = solve_lmi(prob, time_limit=left, refine=refine)
        except PolylipError as exc:
            log.info("exact faces: the re-solve failed: %s", exc)
            return None
        if sol.status == "optimal" and sol.x is not None:
            break
        log.info("exact faces: the re-solve ended %s%s", sol.raw_status,
                 "" if refine else "; again with iterative refinement")
        if refine or (left is not None and time_limit - (time.perf_counter() - t0) <= 0):
            return None
    x = np.asarray(sol.x, dtype=float)
    return x[:U], (float(x[U]) if extra_t else None)


def _mats(h, sizes, offs):
    """The symmetric matrices of the stacked triangles ``h`` (block ``j`` at ``offs[j]``),
    all blocks of one size at once."""
    out = [None] * len(sizes)
    sizes = np.asarray(sizes, dtype=np.int64)
    offs = np.asarray(offs, dtype=np.int64)
    for d in np.unique(sizes):
        js = np.nonzero(sizes == d)[0]
        d = int(d)
        iu, ju = _triu(d)
        H = np.zeros((js.size, d, d))
        tri = h[offs[js][:, None] + np.arange(iu.size)[None, :]]
        H[:, iu, ju] = tri
        H[:, ju, iu] = tri
        for b, j in enumerate(js.tolist()):
            out[j] = H[b]
    return out


# ---------------------------------------------------------------------- faces
def _clique(basis):
    return sorted({int(v) for v in basis.ravel() if v >= 0})


def _exponents(basis, cv):
    """Exponent vectors (len(basis) x len(cv)) of the basis rows over the clique's variables."""
    pos = {v: i for i, v in enumerate(cv)}
    E = np.zeros((basis.shape[0], len(cv)), dtype=np.int64)
    for t, row in enumerate(basis.tolist()):
        for v in row:
            if v >= 0:
                E[t, pos[v]] += 1
    return E


def _form_map(Etop):
    """The ``(d-1)``-th partial derivatives of the top monomials as a map: for each
    ``beta`` (a top exponent less one) and variable ``i``, the top monomial ``beta + e_i``
    (its row in ``Etop``, -1 when none) and its weight ``prod(e!)``; the linear form of
    ``beta`` from a form ``sum_t v_t x^{Etop[t]}`` is ``ell_i = v[T[beta, i]] W[beta, i]``."""
    index = {tuple(e): t for t, e in enumerate(Etop.tolist())}
    nv = Etop.shape[1]
    eye = np.eye(nv, dtype=np.int64)
    betas = sorted({tuple(e - eye[i]) for e in Etop for i in range(nv) if e[i] > 0})
    T = np.full((len(betas), nv), -1, np.int64)
    W = np.zeros((len(betas), nv))
    for b, beta in enumerate(betas):
        for i in range(nv):
            e = list(beta)
            e[i] += 1
            t = index.get(tuple(e))
            if t is not None:
                T[b, i], W[b, i] = t, math.prod(math.factorial(a) for a in e)
    return T, W


def _linear_forms(V, lam, T, W):
    """The linear forms (rows over the clique's variables) spanning the ``(d-1)``-th partial
    derivatives of the forms ``sum_t V[..., t, s] x^{Etop[t]}`` weighted by ``sqrt(lam_s)``
    (:func:`_form_map`'s ``T, W``), for a stack of blocks at once: ``V`` (b x t x S), ``lam``
    (b x S, 0 for an eigenvector left out) -> (b x S * nbeta x nv)."""
    Vg = V[:, np.where(T >= 0, T, 0), :]                       # b x nbeta x nv x S
    F = Vg * W[None, :, :, None] * np.sqrt(np.maximum(lam, 0.0))[:, None, None, :]
    return F.transpose(0, 3, 1, 2).reshape(V.shape[0], -1, T.shape[1])


def _poly_product(forms, Etop):
    """The coefficient vector over the top monomials (``Etop``) of the product of integer
    linear forms, or None when a monomial of it is not among them."""
    prod = {tuple([0] * Etop.shape[1]): 1}
    for ell in forms:
        new = {}
        for e, c in prod.items():
            for i, a in enumerate(ell):
                if a:
                    f = list(e)
                    f[i] += 1
                    new[tuple(f)] = new.get(tuple(f), 0) + c * int(a)
        prod = new
    index = {tuple(e): t for t, e in enumerate(Etop.tolist())}
    out = [0] * Etop.shape[0]
    for e, c in prod.items():
        if c:
            t = index.get(e)
            if t is None:
                return None
            out[t] += c
    return out


def _top_kernels(bases, tops, Bs, scale, d):
    """Per block, the integer kernel rows (over the block's whole basis) of the face at
    infinity, from its top-form Gram matrix ``Bs[j]`` (over its degree-``d`` monomials
    ``tops[j]``): [] when there is no face; None (for all) when a block has no rational
    face. Blocks of one local shape (basis size, top positions, top exponents over their
    clique's variables) are done together: one batched eigen- and singular-value
    decomposition, and one kernel per distinct set of rounded linear forms (blocks repeating
    a pattern share it: compared by the data, nothing known about the problem)."""
    out = [None] * len(bases)
    groups = {}
    for j, (basis, top) in enumerate(zip(bases, tops)):
        Etop = _exponents(basis[top], _clique(basis[top]))
        key = (basis.shape[0], top.tobytes(), Etop.shape, Etop.tobytes())
        groups.setdefault(key, (top, Etop, []))[2].append(j)
    for (k, _, _, _), (top, Etop, js) in groups.items():
        if top.size == 0:                   # no top-degree monomial: nothing to face
            for j in js:
                out[j] = []
            continue
        nv = Etop.shape[1]
        lam, V = np.linalg.eigh(np.stack([Bs[j] for j in js]))
        keep = lam > RANGE_REL * scale
        T, W = _form_map(Etop)
        F = _linear_forms(V, np.where(keep, lam, 0.0), T, W)
        sv, Vts = (np.linalg.svd(F, full_matrices=False)[1:] if F.shape[1] and nv
                   else (np.zeros((len(js), 0)), np.zeros((len(js), 0, nv))))
        cache, seen = {}, {}
        for b, j in enumerate(js):
            forms = []
            if keep[b].any():
                s, Vt = sv[b], Vts[b]
                r = int((s > FORM_REL * s[0]).sum()) if s.size and s[0] > 0 else 0
                if r == nv:
                    out[j] = []                             # no face: every top monomial is used
                    continue
                # the rounded forms of an earlier block of the group when they pass this
                # block's test (the face depends only on their span, which they then are to
                # FORM_EPS), else this block's own rounding
                forms = next((fs for fs, Fn in seen.get(r, ()) if _near_span(Fn, Vt[:r])), None)
                if forms is None:
                    forms = rational_kernel(Vt[:r].T, FORM_EPS) if r else []
                    if forms is None:
                        log.info("exact faces: block %d's top form has no rational face", j)
                        return None
                    if forms:
                        Fn = np.array(forms, dtype=float)
                        Fn /= np.linalg.norm(Fn, axis=1, keepdims=True)
                        if not _near_span(Fn, Vt[:r]):
                            log.info("exact faces: block %d's top form has no rational face", j)
                            return None
                        seen.setdefault(r, []).append((forms, Fn))
            fkey = tuple(map(tuple, forms))
            if fkey not in cache:
                cache[fkey] = _kernel_rows(forms, Etop, top, k, d)
            if cache[fkey] is None:
                log.info("exact faces: block %d's top form has no rational face", j)
                return None
            out[j] = cache[fkey]
    return out


def _near_span(Fn, Vr) -> bool:
    """Whether the unit rows ``Fn`` lie in the row span of the orthonormal ``Vr`` (to
    ``10 * FORM_EPS``)."""
    return bool(np.abs(Fn - Fn @ Vr.T @ Vr).max() <= 10 * FORM_EPS)


def _kernel_rows(forms, Etop, top, k, d):
    """The kernel rows (over a basis of ``k`` monomials, ``top`` its top ones) of the face
    keeping the top monomials only through products of ``d`` of the integer ``forms``."""
    cols = []
    for combo in combinations_with_replacement(range(len(forms)), d):
        v = _poly_product([forms[i] for i in combo], Etop)
        if v is None:
            return None
        cols.append(v)
    K = complement(cols, top.size).T.tolist() if cols else np.eye(top.size, dtype=np.int64).tolist()
    out = []
    for row in K:
        full = [0] * k
        for t, v in zip(top.tolist(), row):
            full[t] = int(v)
        out.append(full)
    return out


def _integer_row(vals) -> list:
    den = math.lcm(*(v.denominator for v in vals)) if vals else 1
    ints = [int(v * den) for v in vals]
    g = math.gcd(*ints) or 1
    return [v // g for v in ints]


def _minimizer_rows(basis, xs, Y):
    """Integer kernel rows ``m(x*)`` and ``Dm(x*) y`` (``y`` in ``Y``) of one block (a
    product with a zero factor is not formed; a ``y`` without support on the block's
    variables gives nothing); ``xs`` None: at the origin."""
    if xs is None:
        # the route's case (it works in u = x - x*, at 0): m(0) is the constant monomial,
        # Dm(0) y the degree-1 monomials' y_v; the same rows as below, without the products
        deg = mono.degrees(basis)
        out = [[int(g == 0) for g in deg.tolist()]]
        lin = np.nonzero(deg == 1)[0]
        var = basis[lin].max(axis=1).tolist() if lin.size else []
        for y in Y:
            ys = [y[v] for v in var]
            if any(ys):
                vals = [0] * basis.shape[0]
                for i, v in zip(lin.tolist(), ys):
                    vals[i] = v
                out.append(_integer_row([Fraction(v) for v in vals]))
        return out
    rows = [[v for v in row if v >= 0] for row in basis.tolist()]

    def prod(vs):
        p = Fraction(1)
        for v in vs:
            if not xs[v]:
                return 0
            p *= xs[v]
        return p

    out = [_integer_row([prod(r) for r in rows])]
    used = {v for r in rows for v in r}
    for y in Y:
        if not any(y[v] for v in used):
            continue
        vals = []
        for r in rows:
            zeros = [i for i, v in enumerate(r) if not xs[v]]
            s = 0
            if len(zeros) <= 1:                          # two zero factors: every term is 0
                for i in (zeros or range(len(r))):
                    if y[r[i]]:
                        s += y[r[i]] * prod(r[:i] + r[i + 1:])
            vals.append(Fraction(s))
        if any(vals):
            out.append(_integer_row(vals))
    return out


def _hessian(objective, x, exact: bool = False):
    """The Hessian of ``objective`` at ``x`` (floats: sparse CSR matrix; exact: dict of
    Fractions). Only the terms with at most two factors vanishing at ``x`` can contribute
    (at ``x = 0`` the quadratic ones): the others are skipped before any arithmetic."""
    n = len(objective.variables)
    H, ri, ci, vals = {}, [], [], []
    rows = objective.rows
    zero = np.array([v == 0 for v in x] + [False])
    real = rows >= 0
    nzero = np.where(real, zero[np.where(real, rows, n)], False).sum(axis=1)
    keep = np.nonzero((real.sum(axis=1) >= 2) & (nzero <= 2))[0]
    if not exact:
        # every ordered pair (p, q), p != q, of factor positions at once: c times the
        # product of the other factors (a padding position counts 1 and forms no pair)
        R, c = rows[keep], objective.coeffs[keep]
        xv = np.append(np.array([float(v) for v in x]), 1.0)[np.where(R >= 0, R, n)]
        w = R.shape[1]
        for p in range(w):
            for q in range(w):
                if p == q:
                    continue
                on = (R[:, p] >= 0) & (R[:, q] >= 0)
                others = [t for t in range(w) if t not in (p, q)]
                v = c[on] * (xv[on][:, others].prod(axis=1) if others else 1.0)
                ri.extend(R[on, p].tolist()), ci.extend(R[on, q].tolist()), vals.extend(v.tolist())
        return sp.csr_matrix((vals, (ri, ci)), shape=(n, n))
    for row, c in zip(rows[keep].tolist(), objective.coeffs[keep].tolist()):
        idx = [v for v in row if v >= 0]
        for p in range(len(idx)):
            for q in range(len(idx)):
                if p == q:
                    continue
                rest = [idx[t] for t in range(len(idx)) if t not in (p, q)]
                val = Fraction(c)
                for v in rest:
                    val *= x[v]
                if val:
                    H[(idx[p], idx[q])] = H.get((idx[p], idx[q]), Fraction(0)) + val
    return H


def _small_eigenvectors(H):
    """The eigenvectors of the sparse symmetric ``H`` whose eigenvalues are within
    ``HESS_REL`` of 0 relative to ``||H||_inf`` (dense below 200 variables; above, shift-
    invert Lanczos for the smallest few, doubling their number while all are small)."""
    n = H.shape[0]
    top = float(abs(H).sum(axis=1).max()) if H.nnz else 0.0
    if top == 0:
        return np.eye(n)
    if n <= 200:
        lam, V = np.linalg.eigh(H.toarray())
        return V[:, np.abs(lam) <= HESS_REL * top]
    k = 4                       # (most kernels are small: 4 Lanczos vectors cost a third of 8)
    while True:
        k = min(k, n - 2)
        # H is PSD at a minimizer: H + top * 1e-6 I is positive definite and factors sparsely
        lam, V = spla.eigsh(H.tocsc(), k=k, sigma=-1e-6 * top, which="LM")
        small = np.abs(lam) <= HESS_REL * top
        if not small.all() or k >= min(n - 2, MAX_KERNEL):
            return V[:, small]
        k *= 2


def _hessian_kernel(objective, xs):
    """Rational vectors spanning the kernel of the Hessian at ``xs`` (exactly checked), or
    [] when it is trivial or cannot be found."""
    try:
        V = _small_eigenvectors(_hessian(objective, xs))
    except (np.linalg.LinAlgError, RuntimeError, ValueError) as exc:   # ARPACK / the factorization
        log.info("exact faces: no kernel of the Hessian: %s", exc)
        return []
    if V.shape[1] == 0:
        return []
    K = rational_kernel(V, KERNEL_EPS)
    if K is None:
        return []
    He = _hessian(objective, xs, exact=True)
    for y in K:
        acc = {}
        for (a, b), v in He.items():
            if y[b]:
                acc[a] = acc.get(a, Fraction(0)) + v * y[b]
        if any(acc.values()):
            return []
    return K


def _round_point(candidate, eps):
    out = []
    for v in candidate:
        q = _simplest(float(v), eps * max(1.0, abs(float(v))))
        if q is None:
            return None
        out.append(q)
    return out


def _best_point(objective, candidate):
    """``(x*, f(x*))``: the rounding of ``candidate`` (:data:`POINT_EPS`) with the least
    exact value, or None."""
    best = None
    for eps in POINT_EPS:
        xs = _round_point(candidate, eps)
        if xs is None or (best is not None and xs == best[0]):
            continue
        fx = _value(objective, xs)
        if best is None or fx < best[1]:
            best = (xs, fx)
    return best


def _value(objective, xs) -> Fraction:
    """``objective(xs)`` exactly (the terms with a zero factor skipped before any arithmetic)."""
    zero = np.array([not v for v in xs] + [False])
    rows = objective.rows
    keep = ~zero[np.where(rows >= 0, rows, len(xs))].any(axis=1) if rows.shape[1] else np.ones(rows.shape[0], bool)
    total = Fraction(0)
    for row, c in zip(rows[keep].tolist(), objective.coeffs[keep].tolist()):
        p = Fraction(c)
        for v in row:
            if v >= 0:
                p *= xs[v]
        total += p
    return total


# ---------------------------------------------------------------------- exact step
def _solver(A: np.ndarray):
    """The exact row reduction of the integer matrix ``A`` (m x u) as a solver: ``(E, e, rank,
    pivots)`` with ``E / e`` (``E`` m x m Python ints, ``e`` an int) the row operations that
    bring ``A`` to its reduced row-echelon form. For a right-hand side ``b``, ``y = E b / e``:
    the system is consistent iff ``y[rank:] == 0``, and ``x[pivots[i]] = y[i]`` (free
    unknowns 0) solves it."""
    m, u = A.shape
    R = [[Fraction(int(v)) for v in row] + [Fraction(int(i == t)) for t in range(m)] for i, row in enumerate(A.tolist())]
    piv, r = [], 0
    for c in range(u):
        i = next((t for t in range(r, m) if R[t][c] != 0), None)
        if i is None:
            continue
        R[r], R[i] = R[i], R[r]
        p = R[r][c]
        R[r] = [v / p for v in R[r]]
        for t in range(m):
            if t != r and R[t][c] != 0:
                f = R[t][c]
                R[t] = [x - f * y for x, y in zip(R[t], R[r])]
        piv.append(c)
        r += 1
        if r == m:
            break
    E = [row[u:] for row in R]
    e = math.lcm(*(v.denominator for row in E for v in row))
    return np.array([[v.numerator * (e // v.denominator) for v in row] for row in E], dtype=object).reshape(m, m), \
        e, r, piv


def _exact_step(local, nmons, num, den, order):
    """Exact corrections ``dh`` with ``M dh = r`` on every monomial but the constant one
    (``r = num / den``, lists of ints changed in place), block by block in ``order``: each
    block solves the monomials
    no later block reaches and passes its change on the others on. ``local``: per block,
    its rows and dense integer matrix. Per block ``(numerators, denominator)`` of its
    correction (None: none); None when a block's system is inconsistent.

    All in Python integers: ``r`` as numerators over per-monomial denominators, and one row
    reduction (:func:`_solver`) per distinct private system (blocks repeating a pattern share
    it), so a block costs two small integer products."""
    count = np.zeros(nmons, np.int64)
    for rows, _ in local:
        count[rows[rows != 0]] += 1
    solvers = {}
    out = [None] * len(local)
    for j in order:
        rows, D = local[j]
        live = rows != 0
        rows, D = rows[live], D[live]
        private = count[rows] == 1
        count[rows] -= 1
        prows = rows[private].tolist()
        if not any(num[a] for a in prows):
            continue
        Dp = D[private]
        key = (Dp.shape, Dp.tobytes())
        if key not in solvers:
            solvers[key] = _solver(Dp)
        E, e, rank, piv = solvers[key]
        bd = math.lcm(*(den[a] for a in prows))
        y = E.dot(np.array([num[a] * (bd // den[a]) for a in prows], dtype=object))
        if any(y[rank:]):
            log.info("exact faces: block %d's system is inconsistent", j)
            return None
        dd = e * bd                                    # the correction is x / dd
        yr = [int(v) for v in y[:rank]]
        g = math.gcd(dd, *yr)                          # in lowest terms (else the denominators
        if g > 1:                                      # grow along the chain: 2,682 bits at the
            dd //= g                                   # end of chained singular n = 5,000)
            yr = [v // g for v in yr]
        x = [0] * D.shape[1]
        for i, c in enumerate(piv):
            x[c] = yr[i]
        out[j] = (x, dd)
        change = D[:, piv].astype(object).dot(np.array(yr, dtype=object)) if rank \
            else np.zeros(rows.size, dtype=object)
        for a, c in zip(rows.tolist(), change.tolist()):
            if c:                                      # r_a -= c / dd, in lowest terms
                da = den[a]
                if da == dd:
                    na = num[a] - c
                else:
                    g = math.gcd(da, dd)
                    na, da = num[a] * (dd // g) - c * (da // g), da // g * dd
                g = math.gcd(na, da)
                num[a], den[a] = na // g, da // g
    return out


def _by_size(mats):
    groups = {}
    for H in mats:
        groups.setdefault(H.shape[0], []).append(H)
    return [v for d, v in groups.items() if d]


def _polisher(Mf, live, target):
    """``polish(h)``: ``h`` moved to the least-squares solution of ``Mf h = target`` on the
    ``live`` rows (two steps of iterative refinement through one sparse factorization of the
    normal equations, regularized at 1e-12 of their largest entry: 5 ms on chained singular
    n = 1,000, where 2 x 200 LSQR iterations took 0.13-0.8 s); LSQR when the factorization
    fails; None when ``h`` is not finite."""
    A = Mf[live]
    state = {}

    def solve(rhs):
        if "lu" not in state:
            try:
                N = (A.T @ A).tocsc()
                reg = 1e-12 * max(float(abs(N).max()) if N.nnz else 1.0, 1e-300)
                state["lu"] = spla.splu(N + sp.identity(N.shape[0], format="csc") * reg)
            except (RuntimeError, ValueError) as exc:        # singular / empty
                log.info("exact faces: no factorization for the polish (%s): LSQR", exc)
                state["lu"] = None
        if state["lu"] is None:
            return spla.lsqr(A, rhs, atol=0, btol=0, iter_lim=200)[0]
        return state["lu"].solve(A.T @ rhs)

    def polish(h):
        if not np.isfinite(h).all():
            return None
        for _ in range(2):
            res = (target - Mf @ h)[live]
            h = h + solve(res)
        return h if np.isfinite(h).all() else None

    return polish


def _projected(cert, faces, sizes, offs, shifts_T=None):
    """The triangles of ``H_j = Q_j^+ G_j Q_j^+T`` (least squares: ``Q_j H_j Q_j^T`` nearest
    to the solver's Gram matrix ``G_j`` of the certificate), all blocks of one face shape at
    once; with ``shifts_T`` (``m(x - x*) = T m(x)``) ``G_j`` is first moved to ``u = x - x*``
    (``T^-T G T^-1``)."""
    h = np.zeros(int(offs[-1]))
    offs = np.asarray(offs)
    groups = {}
    for j, Q in enumerate(faces):
        groups.setdefault(Q.shape, []).append(j)
    for (k, d), js in groups.items():
        if d == 0:
            continue
        Pi = np.linalg.pinv(np.stack([faces[j] for j in js]).astype(float))
        G = np.stack([cert.blocks[j][2] for j in js])
        if shifts_T is not None:
            Ti = np.linalg.inv(np.stack([np.array([[float(v) for v in row] for row in shifts_T[j]]) for j in js]))
            G = Ti.transpose(0, 2, 1) @ G @ Ti
        H = Pi @ G @ Pi.transpose(0, 2, 1)
        iu, ju = _triu(d)
        h[offs[js][:, None] + np.arange(iu.size)[None, :]] = H[:, iu, ju]
    return h


def _exact_faced(M, h, coef, exact_coef, low, live, local, faces, sizes, offs, deadline):
    """The exact step and the exact blocks from the float solution ``h`` on the faces:
    ``[(j, X_j, float image)]`` with ``X_j = Q_j H_j Q_j^T`` and every ``H_j`` proven
    positive definite, or None."""
    Hs = _mats(h, sizes, offs)
    for d in set(sizes):
        same = [H for H in Hs if H.shape[0] == d]
        if d and np.linalg.eigvalsh(np.stack(same))[:, 0].min() <= 0:
            return None
    num, den = _exact_residual(M, h, coef, exact_coef, low)
    if any(num[a] for a in np.nonzero(~live)[0].tolist() if a != 0):
        return None
    dh = None
    for order in (range(len(faces)), range(len(faces) - 1, -1, -1)):
        if deadline is not None and time.perf_counter() > deadline:
            return None
        dh = _exact_step(local, M.shape[0], list(num), list(den), order)
        if dh is not None:
            break
    if dh is None:
        return None
    return _exact_blocks(h, dh, faces, sizes, offs)


def _exact_blocks(h, dh, faces, sizes, offs):
    """``H_j = fl(h_j) + dh_j`` exactly (``dh_j``: :func:`_exact_step`'s ``(numerators,
    denominator)`` or None), as integer matrices over one denominator a block,
    proven positive definite (fraction-free elimination, all blocks of one size at once),
    and ``X_j = Q_j H_j Q_j^T`` (one integer product per block shape): ``[(j, X_j as a
    :class:`RationalMatrix`, its nearest float image)]``, or None when a block is not PD."""
    hm, e0 = _dyadic_ints(h)
    nums, dens = [], []
    for j, d in enumerate(sizes):
        xs, dd = dh[j] if dh[j] is not None else ([0] * (offs[j + 1] - offs[j]), 1)
        D = math.lcm(dd, 1 << max(0, -e0))
        fh = D << e0 if e0 >= 0 else D >> -e0            # D * 2^e0, an integer
        f2 = D // dd
        seg = hm[offs[j]:offs[j + 1]]
        nums.append([int(m) * fh + v * f2 for m, v in zip(seg.tolist(), xs)])
        dens.append(D)
    out = [None] * len(faces)
    groups = {}
    for j, Q in enumerate(faces):
        groups.setdefault(Q.shape, []).append(j)
    for (k, d), js in groups.items():
        iu, ju = _triu(d)
        N = np.zeros((len(js), d, d), dtype=object)
        for b, j in enumerate(js):
            N[b, iu, ju] = nums[j]
            N[b, ju, iu] = nums[j]
        pd = _psd_stack(N, strict=True)
        if not all(pd):
            log.info("exact faces: block %d is not positive definite after the exact step",
                     js[pd.index(False)])
            return None
        Qo = np.stack([faces[j] for j in js]).astype(object)
        X = Qo @ N @ Qo.transpose(0, 2, 1)
        Ds = np.array([dens[j] for j in js], dtype=object)[:, None, None]
        imgs = (X / Ds).astype(float)                    # the nearest floats (int / int)
        for b, j in enumerate(js):
            R = RationalMatrix._lowest(X[b], dens[j])      # (symmetric integers by construction)
            out[j] = (j, R, imgs[b])
    return out


def _dyadic_ints(x: np.ndarray):
    """``x = m * 2^e0`` exactly: (object array of int m, int e0)."""
    frac, e = np.frexp(np.asarray(x, dtype=float))
    m = np.ldexp(frac, 53).astype(np.int64).astype(object)
    e = e.astype(np.int64) - 53
    nz = m != 0
    e0 = int(e[nz].min()) if nz.any() else 0
    return np.where(nz, m * np.array([1 << int(v) for v in np.where(nz, e - e0, 0)], dtype=object), 0), e0


def _exact_residual(M, h, target, exact_target=None, low: float = 0.0):
    """``target - M h - low e_0`` exactly, as ``(numerators, denominators)`` (lists of Python
    ints, one pair per monomial; ``M`` integers, ``h``, ``target`` and ``low`` floats, summed
    at one power of two; ``exact_target``, Fractions, in place of ``target`` when given)."""
    hm, he = _dyadic_ints(h)
    tm, te = _dyadic_ints(target if exact_target is None else np.zeros(M.shape[0]))
    lm, le = _dyadic_ints(np.array([low], dtype=float))
    Mc = M.tocsr()
    prod = Mc.data.astype(object) * hm[Mc.indices]
    sums = np.zeros(M.shape[0], dtype=object)
    has = np.diff(Mc.indptr) > 0
    if has.any():
        sums[has] = np.add.reduceat(prod, Mc.indptr[:-1][has])
    e0 = min(he, te, le, 0)
    num = (tm * (1 << (te - e0)) - sums * (1 << (he - e0))).tolist()
    if num:
        num[0] -= int(lm[0]) << (le - e0)
    D = 1 << -e0
    if exact_target is None:
        return [int(v) for v in num], [D] * len(num)
    nums, dens = [], []
    for tv, v in zip(exact_target, num):
        n, d = tv.as_integer_ratio()
        nums.append(n * D + int(v) * d)
        dens.append(d * D)
    return nums, dens


def _shifted(objective, xs, mons):
    """The exact coefficients over ``mons`` of ``f(x* + u)`` as a polynomial in ``u`` (a list
    of Fractions), or None when a monomial of it is not among ``mons``."""
    index = {tuple(int(v) for v in row if v >= 0): i for i, row in enumerate(mons.tolist())}
    out = [Fraction(0)] * mons.shape[0]
    for row, c in zip(objective.rows.tolist(), objective.coeffs.tolist()):
        idx = [v for v in row if v >= 0]
        terms = {(): Fraction(c)}
        for v in idx:                       # multiply by (x*_v + u_v)
            new = {}
            for key, val in terms.items():
                k2 = tuple(sorted(key + (v,)))
                new[k2] = new.get(k2, Fraction(0)) + val
                if xs[v]:
                    new[key] = new.get(key, Fraction(0)) + val * xs[v]
            terms = new
        for key, val in terms.items():
            if val:
                i = index.get(key)
                if i is None:
                    return None
                out[i] += val
    return out


def _basis_shift(basis, xs):
    """The rational matrix ``T`` with ``m(x - x*) = T m(x)`` on the block's basis (a list of
    rows of Fractions), or None when a divisor of a basis monomial is not in the basis."""
    rows = [tuple(int(v) for v in row if v >= 0) for row in basis.tolist()]
    index = {r: i for i, r in enumerate(rows)}
    k = len(rows)
    T = [[Fraction(0)] * k for _ in range(k)]
    for p, r in enumerate(rows):
        terms = {(): Fraction(1)}
        for v in r:                         # multiply by (x_v - x*_v)
            new = {}
            for key, val in terms.items():
                k2 = tuple(sorted(key + (v,)))
                new[k2] = new.get(k2, Fraction(0)) + val
                if xs[v]:
                    new[key] = new.get(key, Fraction(0)) - val * xs[v]
            terms = new
        for key, val in terms.items():
            if val:
                q = index.get(key)
                if q is None:
                    return None
                T[p][q] += val
    return T


def _congruence(T, X):
    """``T^T X T`` exactly (``T`` a list of rows of Fractions, ``X`` a
    :class:`RationalMatrix`), with its nearest float image."""
    DT = math.lcm(*(v.denominator for row in T for v in row))
    Ti = np.array([[v.numerator * (DT // v.denominator) for v in row] for row in T], dtype=object)
    Y = RationalMatrix._lowest(Ti.T.dot(X.nums).dot(Ti), DT * DT * X.den)
    return Y, Y.floats()


# ---------------------------------------------------------------------- the route
def _top_grams(layout, seconds):
    """Step 2's SDP: the min-trace decomposition ``f_top = sum_j m_top,j^T B_j m_top,j`` over
    the top monomials of every basis; ``(tops, [B_j])`` or None."""
    f, d, bases, mons, entry_mon, coef = layout
    mdeg = mono.degrees(mons)
    tops = [np.nonzero(mono.degrees(b) == d)[0] for b in bases]
    sel = [np.eye(b.shape[0], dtype=np.int64)[:, t] for b, t in zip(bases, tops)]
    Mt, offt, _ = _system(entry_mon, sel, mons.shape[0], local=False)
    rows_top = mdeg == 2 * d
    Mt = sp.csr_matrix(Mt.multiply(rows_top[:, None]))
    Mt.eliminate_zeros()
    trace = np.zeros(int(offt[-1]))
    for j, t in enumerate(tops):
        iu, ju = _triu(t.size)
        trace[offt[j] + np.nonzero(iu == ju)[0]] = 1.0
    rhs = np.where(rows_top, coef, 0.0)
    if np.any((np.diff(Mt.indptr) == 0) & (rhs != 0)):
        return None
    got = _solve_sdp(Mt, rhs, [t.size for t in tops], offt, trace, False, seconds)
    if got is None:
        return None
    return tops, _mats(got[0], [t.size for t in tops], offt)


class TopForm:
    """Step 2 of :func:`exact_face_certificate` (the face at infinity's SDP) for ``cert``: its
    monomial layout (:attr:`layout`) and the SDP (:meth:`grams`). It reads only the objective
    and the bases (not the Gram matrices, not the candidate). Running the SDP in a forked child
    beside the float repairs was measured and not taken (no gain at load 0, a loss under load:
    benchmarks/RESULTS.md, "The cost of certification"). Nothing here is trusted: the SDP's
    answer is only a guess at the faces (module text)."""

    def __init__(self, cert):
        self._cert, self._layout = cert, None

    @property
    def layout(self):
        """``(f, d, bases, mons, entry_mon, coef)``: the objective, the bases' degree, the
        bases and :func:`_entries`' monomial layout; None when the route cannot apply."""
        if self._layout is None:
            cert = self._cert
            if not applies(cert):
                return None
            f = cert.objective
            d = max(int(mono.degrees(b).max(initial=0)) for _, b, _ in cert.blocks)
            bases = [b for _, b, _ in cert.blocks]
            mons, entry_mon, coef = _entries(bases, f)
            if mons.shape[0] == 0 or (mons[0] != mono.PAD).any():
                return None
            self._layout = (f, d, bases, mons, entry_mon, coef)
        return self._layout

    def grams(self, seconds: float | None = None):
        """``(tops, [B_j])`` (the top monomials' positions in each basis and the min-trace
        Gram matrices), or None."""
        return None if self.layout is None else _top_grams(self.layout, seconds)


def exact_face_certificate(cert, candidate, seconds: float | None = None):
    """A sealed, certified :class:`SOSCertificate` of ``cert``'s problem with every block
    exact on a face built from the data (module text), or None.

    ``cert`` is the (uncertified) certificate of the solve, ``candidate`` the relaxation's
    point (a sequence in ``cert.variables`` order, or None), ``seconds`` the time allowed."""
    t0 = time.perf_counter()
    deadline = None if seconds is None else t0 + seconds
    left = (lambda: None) if deadline is None else (lambda: max(0.0, deadline - time.perf_counter()))
    if candidate is None:
        return None
    top = TopForm(cert)                              # (its layout is None when the route does not apply)
    if top.layout is None:
        return None
    f, d, bases, mons, entry_mon, coef = top.layout
    # 1. the minimizer (first: it is cheap, and most problems stop here)
    got = _best_point(f, candidate)
    if got is None:
        return None
    xs, fx = got
    # a filter only (a wrong point makes the re-solve infeasible): within 1e-6 of the scale
    tol = 1e-6 * max(1.0, abs(cert.bound), float(np.abs(f.coeffs).max(initial=0.0)))
    if not float(fx) <= cert.bound + tol:
        log.info("exact faces: f at the rounded candidate (%.3g) is above the bound %.3g", float(fx), cert.bound)
        return None
    Y = _hessian_kernel(f, xs)
    low = float(fx)                          # the bound: f(x*), or the float below it
    if Fraction(low) > fx:
        low = float(np.nextafter(low, -np.inf))
    # at x* != 0 the route works in u = x - x*: the faces at the minimizer are then the same
    # monomial ones as at 0, and the re-solve's identities have no dependent rows (at x* the
    # evaluation and the derivatives of every faced block vanish, which makes the rows of a
    # certificate in x dependent: Clarabel stopped "InsufficientProgress" after 2 iterations
    # on chained singular shifted to x* = 1); the Gram matrices are moved back exactly at the
    # end (m(x - x*) = T m(x), X -> T^T X T)
    shift = any(xs)
    exact_coef = None
    if shift:
        exact_coef = _shifted(f, xs, mons)
        if exact_coef is None:
            return None
        coef = np.array([float(v) for v in exact_coef])
        shifts_T = [_basis_shift(b, xs) for b in bases]
        if any(T is None for T in shifts_T):
            return None
    # (at the origin, which is x* in u = x - x*, or x* itself when it is 0: no shift)
    kmin = [_minimizer_rows(basis, None, Y) for basis in bases]    # (before waiting for step 2)
    # 2. the face at infinity: min-trace decomposition of the top form over the top monomials
    got = top.grams(left())
    if got is None:
        return None
    tops, Bs = got
    # a block with no top-degree monomial (term sparsity can leave one: extended Powell
    # singular under cs+ts) has an empty top form and no face at infinity
    scale = max((float(np.abs(B).max()) for B in Bs if B.size), default=0.0)
    # the faces
    faces, cache = [], {}
    Ks = _top_kernels(bases, tops, Bs, scale, d)
    if Ks is None:
        return None
    for j, basis in enumerate(bases):
        K = Ks[j] + kmin[j]
        key = (basis.shape[0], tuple(map(tuple, K)))
        Q = cache.get(key)
        if Q is None:
            Q = cache[key] = complement(K, basis.shape[0])
        faces.append(Q)
    # a block whose face is {0} is the zero matrix in every certificate on these faces (an
    # empty block in the re-solve, a zero exact Gram matrix; extended Powell n = 8 under
    # cs+ts has them); the route gave up at the first one before, leaving the bound numerical
    if all(Q.shape[1] == 0 for Q in faces):
        log.info("exact faces: every block's face is {0}")
        return None
    # 3. re-solve on the faces at the fixed bound
    M, offs, local = _system(entry_mon, faces, mons.shape[0])
    target = coef.copy()
    target[0] -= low
    if np.any((np.diff(M.indptr) == 0) & (target != 0) & (np.arange(target.size) != 0)):
        # a monomial of f no faced block reaches (at a point that is not a critical point of
        # f, its gradient's monomials): x* is no minimizer
        log.info("exact faces: the faces cannot carry f (x* is no minimizer)")
        return None
    sizes = [Q.shape[1] for Q in faces]
    Mf = M.astype(float).tocsr()
    live = np.diff(M.indptr) > 0
    live[0] = False
    polish = _polisher(Mf, live, target)

    def exact_from(h):
        # 4. exact: the residual of the float H, removed along the chain (not started when
        # less time is left than the route has taken so far: the exact steps take about as long)
        if deadline is not None and deadline - time.perf_counter() < time.perf_counter() - t0:
            log.info("exact faces: no time left for the exact step")
            return None
        return _exact_faced(M, h, coef, exact_coef, low, live, local, faces, sizes, offs, deadline)

    # 3a. first the solver's own Gram matrices projected on the faces (moved to u = x - x*)
    # and polished: where they keep a margin there (chained singular: 2^-17 in the scaled
    # units, the re-solve's own margin) the re-solve is not needed
    got = None
    try:
        h = polish(_projected(cert, faces, sizes, offs, None if not shift else shifts_T))
        margin = -np.inf if h is None else min(float(np.linalg.eigvalsh(np.stack(same))[:, 0].min())
                                              for same in _by_size(_mats(h, sizes, offs)))
    except (np.linalg.LinAlgError, ValueError) as exc:
        log.info("exact faces: no projection of the solver matrices: %s", exc)
        h, margin = None, -np.inf
    if h is not None:
        if margin > MIN_MARGIN * max(float(np.abs(h).max()), 1e-300):
            got = exact_from(h)
        log.info("exact faces: the projected solver matrices %s (margin %.3g)",
                 "certify" if got is not None else "do not certify", margin)
    if got is None:
        # 3b. re-solve on the faces at the fixed bound
        sol = _solve_sdp(M, target, sizes, offs, None, True, left())
        if sol is None:
            return None
        h, t = sol
        gscale = max(float(np.abs(h).max()), 1e-300)
        if not t > MIN_MARGIN * gscale:
            log.info("exact faces: the faces leave no margin (t = %.3g)", t)
            return None
        # the exact step moves every H_j by about the float residual: when that is far below
        # the margin (a re-solve's equalities hold to rounding: 7e-16 against t = 7.6e-6 on
        # chained singular) the polish goes only after a first exact attempt has failed
        polished = not np.abs(np.where(live, target - Mf @ h, 0.0)).max() <= POLISH_BELOW * t
        if polished:
            h = polish(h)
        while h is not None:
            got = exact_from(h)
            if got is not None or polished:
                break
            log.info("exact faces: the exact step failed without the polish; polishing")
            h, polished = polish(h), True
    if got is None:
        return None
    exact, grams = [], []
    for j, X, img in got:
        if shift:
            X, img = _congruence(shifts_T[j], X)
        exact.append((j, X))
        grams.append(img)
    out = cert.with_exact(grams, exact, low).sealed()
    cb = out.certified_bound()
    log.info("exact faces: %s, bound %.10g (%.2f s)", "certified" if cb.certified else "not certified",
             low, time.perf_counter() - t0)
    return out if cb.certified else None

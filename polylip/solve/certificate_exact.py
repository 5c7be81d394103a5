"""Exact rechecking of an SOS certificate (:meth:`polylip.solve.certificate.SOSCertificate.verify`):
the residual as exact integers, the Gram matrices proven PSD in exact rational arithmetic, the
box re-derived from the constraints. Nothing here is floating point, so the check does not
depend on the solver, the BLAS or the rounding mode; it is slower than the float bound and run
only on request.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from polylip.errors import ModelError
from polylip.poly import Polynomial
from polylip.poly import monomials as mono
from polylip.solve.box import box_from_constraints
from polylip.solve.rational_matrix import RationalMatrix

def _key(p: Polynomial):
    return p.rows.shape, p.rows.tobytes(), p.coeffs.tobytes()


def _is_one(p: Polynomial) -> bool:
    return p.nterms == 1 and p.degree == 0 and p.coeffs[0] == 1.0


def _ints(x: np.ndarray):
    """``x = m * 2^e`` exactly, elementwise: (object array of int m, int array e)."""
    frac, e = np.frexp(np.asarray(x, dtype=float))
    return np.ldexp(frac, 53).astype(np.int64).astype(object), e.astype(np.int64) - 53


#: The longest common denominator (bits) :func:`_rational_sums` sums at.
SUM_BITS = 1 << 14


def _rational_sums(keys: np.ndarray, nums: np.ndarray, dens: list) -> dict:
    """``{key: sum of nums[i] / dens[i] over i with keys[i] == key}`` exactly (the nonzero
    sums only; ``nums`` an object array of ints, ``dens`` positive ints): one integer sum per
    key at the common denominator when it stays short (the route's Gram matrices share a
    power of two), else one Fraction per term."""
    out = {}
    if not len(dens):
        return out
    D = math.lcm(*set(dens))
    if D.bit_length() > SUM_BITS:                      # denominators without a short lcm
        for a, v, d in zip(keys.tolist(), nums.tolist(), dens):
            if v:
                out[a] = out.get(a, Fraction(0)) + Fraction(v, d)
        return {a: v for a, v in out.items() if v}
    scaled = nums * np.array([D // d for d in dens], dtype=object)
    order = np.argsort(keys, kind="stable")
    k = keys[order]
    first = np.concatenate([[0], np.nonzero(np.diff(k))[0] + 1])
    sums = np.add.reduceat(scaled[order], first)
    for a, v in zip(k[first].tolist(), sums.tolist()):
        if v:
            out[a] = Fraction(v, D)
    return out


def _float_terms(L, skip=None):
    """The float terms of ``r`` (layout ``L``) as exact rationals with one denominator:
    ``(monomial ids, integer numerators, denominator)``; each term is a product of two
    floats times a small integer. ``skip``: term positions left out (an exact block's)."""
    A, C, S, inv = L["A"], L["C"], L["S"], L["inv"]
    if skip is not None and skip.size:
        keep = np.ones(inv.size, bool)
        keep[skip] = False
        A, C, S, inv = A[keep], C[keep], S[keep], inv[keep]
    ma, ea = _ints(A)
    mc, ec = _ints(C)
    val = S.astype(object) * ma * mc
    e = ea + ec
    nz = np.nonzero(val != 0)[0]
    e0 = min(int(e[nz].min()), 0) if nz.size else 0
    return inv[nz], val[nz] << (e[nz] - e0).astype(object), 1 << -e0


def _exact_terms(c, L):
    """The terms of ``r`` of the blocks whose Gram matrix is exact (``c.exact``: multiplier 1,
    one term ``S X_pq`` per triangle entry, ``S`` = -1 on the diagonal, -2 off it), in place
    of their float images' terms: ``(term positions in L, monomial ids, integer numerators,
    denominators)``, all blocks at once."""
    if not c.exact:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, object), []
    nc, rep, start = L["ncoef"], L["rep"], L["start"]
    es = [np.arange(int(start[j]), int(start[j + 1])) for j, _ in c.exact]
    e = np.concatenate(es)
    pos = nc + np.searchsorted(rep, e)                 # a block with g = 1: one term per entry
    if not np.all(rep[pos - nc] == e):
        raise ValueError("an exact Gram matrix on a block whose multiplier is not 1")
    P, Q = L["P"][e], L["Q"][e]
    nums, dens, cut = [], [], 0
    for (j, X), ej in zip(c.exact, es):
        pj, qj = P[cut:cut + ej.size], Q[cut:cut + ej.size]
        if not np.isfinite(c.blocks[j][2][pj, qj]).all():
            raise ValueError("an exact Gram matrix's float image is not finite")
        nums.append(X.nums[pj, qj])
        dens.extend([X.den] * ej.size)
        cut += ej.size
    S = L["S"][pos].astype(object)
    return pos, L["inv"][pos], S * np.concatenate(nums), dens


def _residual_sparse(c, L) -> dict:
    """``{monomial id: exact coefficient of r}`` of ``c`` (the nonzero ones, as Fractions),
    exact Gram matrices included: every term summed as an integer at one denominator (one
    Fraction per nonzero monomial)."""
    skip, k2, n2, d2 = _exact_terms(c, L)
    k1, n1, d1 = _float_terms(L, skip)
    return _rational_sums(np.concatenate([k1, k2]), np.concatenate([n1, n2]), [d1] * k1.size + d2)


def _residual(c, L) -> list:
    """The exact residual of ``c`` (as Fractions, one per monomial of the layout), exact Gram
    matrices included."""
    out = [Fraction(0)] * L["mons"].shape[0]
    for a, v in _residual_sparse(c, L).items():
        out[a] = v
    return out


def _exact_grams(exact, blocks) -> tuple:
    """``exact`` as ``((block index, RationalMatrix), ...)``, checked: symmetric, of its
    block's size, on a block with multiplier 1 (it is never folded into or shifted: its
    PSD-ness is checked exactly). A matrix may come as a :class:`RationalMatrix` or as rows of
    rationals (Fractions or ints)."""
    out, seen = [], set()
    for j, X in exact:
        j = int(j)
        if not 0 <= j < len(blocks) or j in seen:
            raise ModelError(f"an exact Gram matrix for block {j}: no such block, or twice")
        seen.add(j)
        k = blocks[j][2].shape[0]
        if not isinstance(X, RationalMatrix):
            try:
                X = RationalMatrix.from_rows(X)
            except ModelError as exc:
                raise ModelError(f"the exact Gram matrix of block {j}: {exc}") from None
            except (TypeError, ValueError, ZeroDivisionError) as exc:
                raise ModelError(f"the exact Gram matrix of block {j} is not a matrix of rationals: {exc}") from None
        if len(X) != k:
            raise ModelError(f"the exact Gram matrix of block {j} is not symmetric of size {k}")
        if not _is_one(blocks[j][0]):
            raise ModelError(f"an exact Gram matrix is only for a block with multiplier 1 (block {j})")
        out.append((j, X))
    return tuple(sorted(out, key=lambda t: t[0]))


def _psd_exact(A: list) -> bool:
    """Whether the symmetric rational matrix ``A`` (list of lists of Fractions) is PSD:
    ``A = L L^T + s I + E`` with a float Cholesky hint and the exact test ``||E||_inf <= s``;
    else the fraction-free (Bareiss) test of positive definiteness."""
    k = len(A)
    if k == 0:
        return True
    D = math.lcm(*(a.denominator for row in A for a in row))
    N = np.array([[a.numerator * (D // a.denominator) for a in row] for row in A], dtype=object)
    Af = np.array([[float(a) for a in row] for row in A])
    try:
        lam = np.linalg.eigvalsh(Af)[0]
        if lam > 0:
            s = Fraction(float(lam) / 2)
            Lc = np.linalg.cholesky(Af - float(s) * np.eye(k))
            m, e = _ints(Lc)
            nz = m != 0
            e0 = int(e[nz].min()) if nz.any() else 0
            Li = np.where(nz, m << np.where(nz, e - e0, 0).astype(object), 0).astype(object)
            P = Li @ Li.T                                  # L L^T = P * 2^(2 e0)
            Dt = math.lcm(D, s.denominator, 2 ** max(-2 * e0, 0))
            pscale = Fraction(2) ** (2 * e0) * Dt
            E = N * (Dt // D) - P * int(pscale) - np.eye(k, dtype=np.int64).astype(object) * (s.numerator * (Dt // s.denominator))
            if pscale.denominator == 1 and all(sum(abs(v) for v in row) <= s * Dt for row in E):
                return True
    except np.linalg.LinAlgError:
        pass
    return _ldl_psd(A)


def _psd_many(mats: list) -> list:
    """Whether each symmetric rational matrix of ``mats`` (a :class:`RationalMatrix`, or rows
    of Fractions) is PSD, exactly (:func:`_psd_stack` of their numerators, all of one size at
    once: a positive denominator changes nothing)."""
    mats = [X if isinstance(X, RationalMatrix) else RationalMatrix.from_rows(X) for X in mats]
    out = [True] * len(mats)
    by_size = {}
    for i, X in enumerate(mats):
        by_size.setdefault(len(X), []).append(i)
    for k, idx in by_size.items():
        if k == 0:
            continue
        ok = _psd_stack(np.stack([mats[i].nums for i in idx]))
        for t, i in enumerate(idx):
            out[i] = ok[t]
    return out


def _psd_stack(A: np.ndarray, strict: bool = False) -> list:
    """Whether each matrix of a stack of symmetric integer matrices (object array of Python
    ints, b x k x k) is PSD, exactly: the test of :func:`_ldl_psd` (no negative pivot, a
    zero pivot only on a zero row) as fraction-free (Bareiss) elimination, one numpy step
    per pivot for the whole stack. A zero pivot on a zero row is skipped (its row and
    column take no part in the rest: the elimination of the others is the same with it
    deleted). ``strict``: positive definite instead (every pivot positive: Sylvester)."""
    A = A.copy()
    nb, k = A.shape[0], A.shape[1]
    ok = np.ones(nb, bool)
    prev = np.ones(nb, dtype=object)
    for i in range(k):
        piv = A[:, i, i]
        if strict:
            ok &= piv > 0
        else:
            rest = (A[:, i, i + 1:] != 0).any(axis=1) if i + 1 < k else np.zeros(nb, bool)
            ok &= ~((piv < 0) | ((piv == 0) & rest))
        act = np.nonzero(ok & (piv > 0))[0]
        if act.size and i + 1 < k:
            p = piv[act][:, None, None]
            col = A[act, i + 1:, i]
            A[act, i + 1:, i + 1:] = (A[act, i + 1:, i + 1:] * p - col[:, :, None] * col[:, None, :]) \
                // prev[act][:, None, None]
            prev[act] = piv[act]
    return [bool(v) for v in ok]


def _ldl_psd(A: list) -> bool:
    """Exact symmetric elimination in fractions: PSD iff no negative pivot and every zero
    pivot has a zero row."""
    A = [row[:] for row in A]
    k = len(A)
    for i in range(k):
        piv = A[i][i]
        if piv < 0 or (piv == 0 and any(A[i][j] != 0 for j in range(i + 1, k))):
            return False
        if piv == 0:
            continue
        for a in range(i + 1, k):
            f = A[a][i] / piv
            if f:
                for b in range(a, k):
                    A[a][b] -= f * A[i][b]
                    A[b][a] = A[a][b]
    return True


def _verify(c) -> bool:
    n = len(c.variables)
    if c.claimed is None or c.shifts is None or len(c.shifts) != len(c.blocks) or c.sense not in ("min", "max"):
        return False
    if any(np.shape(v) != (G.shape[0],) for v, (_, _, G) in zip(c.shifts, c.blocks)):
        return False
    eps = [[Fraction(float(x)) for x in v] for v in c.shifts]
    if any(x < 0 for v in eps for x in v) or not np.isfinite(c.claimed) or not np.isfinite(c.bound):
        return False
    ineq_keys, eq_keys = {_key(p) for p in c.ineqs}, {_key(p) for p in c.eqs}
    if not all(_is_one(g) or _key(g) in ineq_keys for g, _, _ in c.blocks):
        return False
    if not all(_key(h) in eq_keys for h, _ in c.equalities):
        return False
    if any(b.size and (b.max() >= n or b.min() < mono.PAD) for _, b, _ in c.blocks):
        return False
    if c.box is not None and not c.box_assumed:
        lo, hi = box_from_constraints(n, c.ineqs, c.eqs, c.binary, c.spin)
        if np.isnan(c.box[0]).any() or np.isnan(c.box[1]).any() or (c.box[0] > lo).any() or (c.box[1] < hi).any():
            return False
    L = c._layout
    r = _residual(c, L)
    wsum = L["wsum"] if c.fold else np.zeros_like(L["wsum"])
    # the Gram matrices with the folded residual and the shifts, exactly
    mats = [[[Fraction(float(v)) for v in row] for row in G] for _, _, G in c.blocks]
    for j, X in c.exact:
        mats[j] = [list(row) for row in X]
    if c.fold:
        for e, a in zip(L["fent"].tolist(), L["fmon"].tolist()):
            j, p, q = int(L["owner"][e]), int(L["P"][e]), int(L["Q"][e])
            v = r[a] / int(wsum[a])
            mats[j][p][q] += v
            if p != q:
                mats[j][q][p] += v
    for j, A in enumerate(mats):
        k = len(A)
        for p in range(k):
            A[p][p] += eps[j][p]
        keep = [p for p in range(k) if any(A[p][q] for q in range(k) if q != p)]
        if any(A[p][p] < 0 for p in range(k) if p not in keep):
            return False                                   # a lone diagonal entry
        if not _psd_exact([[A[p][q] for q in keep] for p in keep]):
            return False
    Bv = c._bounds()

    def M(row) -> Fraction:
        out = Fraction(1)
        for i in row[row != mono.PAD].tolist():
            if not np.isfinite(Bv[i]):
                raise OverflowError("unbounded variable")
            out *= Fraction(float(Bv[i]))
        return out

    corr = Fraction(0)
    for a in range(1, len(r)):
        if r[a] != 0 and wsum[a] == 0:
            corr += abs(r[a]) * M(L["mons"][a])
    for j, (g, basis, _) in enumerate(c.blocks):
        if any(eps[j]):
            sg = sum((abs(Fraction(float(t))) * M(row) for t, row in zip(g.coeffs, g.rows)), Fraction(0))
            corr += sg * sum((e * M(row) ** 2 for e, row in zip(eps[j], basis) if e), Fraction(0))
    return Fraction(float(c.claimed)) <= Fraction(c.bound) + r[0] - corr

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

def _key(p: Polynomial):
    return p.rows.shape, p.rows.tobytes(), p.coeffs.tobytes()


def _is_one(p: Polynomial) -> bool:
    return p.nterms == 1 and p.degree == 0 and p.coeffs[0] == 1.0


def _ints(x: np.ndarray):
    """``x = m * 2^e`` exactly, elementwise: (object array of int m, int array e)."""
    frac, e = np.frexp(np.asarray(x, dtype=float))
    return np.ldexp(frac, 53).astype(np.int64).astype(object), e.astype(np.int64) - 53


def _exact_residual(L) -> list:
    """The exact coefficient of every monomial of ``r`` (as Fractions): each term is a
    product of two floats times a small integer, summed as integers at a common scale."""
    ma, ea = _ints(L["A"])
    mc, ec = _ints(L["C"])
    val = L["S"].astype(object) * ma * mc
    e = ea + ec
    nz = np.nonzero(val != 0)[0]
    out = [Fraction(0)] * L["mons"].shape[0]
    if not nz.size:
        return out
    e0 = int(e[nz].min())
    shifted = val[nz] << (e[nz] - e0).astype(object)
    order = np.argsort(L["inv"][nz], kind="stable")
    groups = L["inv"][nz][order]
    first = np.concatenate([[0], np.nonzero(np.diff(groups))[0] + 1])
    sums = np.add.reduceat(shifted[order], first)
    scale = Fraction(2) ** e0
    for g, s in zip(groups[first], sums):
        out[int(g)] = Fraction(int(s)) * scale
    return out


def _exact_delta(c, L) -> dict:
    """``{monomial index: exact change of r}`` from the blocks whose Gram matrix is exact
    (``c.exact``): the layout holds their float images, so the residual moves by
    ``-(X_pq - fl(X_pq))`` (twice off the diagonal) on the monomial of each entry."""
    out = {}
    nc, rep, start = L["ncoef"], L["rep"], L["start"]
    for j, X in c.exact:
        G = c.blocks[j][2]
        e = np.arange(int(start[j]), int(start[j + 1]))
        pos = np.searchsorted(rep, e)                 # a block with g = 1: one term per entry
        mons = L["inv"][nc + pos]
        for t, a in zip(e.tolist(), mons.tolist()):
            p, q = int(L["P"][t]), int(L["Q"][t])
            d = X[p][q] - Fraction(float(G[p, q]))
            if d:
                out[a] = out.get(a, Fraction(0)) - (d if p == q else 2 * d)
    return out


def _residual(c, L) -> list:
    """The exact residual of ``c`` (as Fractions), exact Gram matrices included."""
    r = _exact_residual(L)
    for a, d in _exact_delta(c, L).items():
        r[a] += d
    return r


def _exact_grams(exact, blocks) -> tuple:
    """``exact`` as ``((block index, k x k tuple of tuples of Fractions), ...)``, checked:
    symmetric, of its block's size, on a block with multiplier 1 (it is never folded into or
    shifted: its PSD-ness is checked exactly)."""
    out, seen = [], set()
    for j, X in exact:
        j = int(j)
        if not 0 <= j < len(blocks) or j in seen:
            raise ModelError(f"an exact Gram matrix for block {j}: no such block, or twice")
        seen.add(j)
        k = blocks[j][2].shape[0]
        X = tuple(tuple(v if type(v) is Fraction else Fraction(v) for v in row) for row in X)
        if len(X) != k or any(len(row) != k for row in X) or \
                any(X[p][q] != X[q][p] for p in range(k) for q in range(p)):
            raise ModelError(f"the exact Gram matrix of block {j} is not symmetric of size {k}")
        if not _is_one(blocks[j][0]):
            raise ModelError(f"an exact Gram matrix is only for a block with multiplier 1 (block {j})")
        out.append((j, X))
    return tuple(sorted(out))


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

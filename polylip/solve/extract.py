"""Build an :class:`~polylip.solve.certificate.SOSCertificate` from a solved relaxation.

Where the Gram matrices come from depends on the side the solver received
(:mod:`polylip.relax.conic`):

* **moment side**: the LMI ``mat(A_j y) PSD`` has dual ``Z_j``, and stationarity reads
  ``c = sum_j A_j^T vec(Z_j) + E^T lambda`` over the moments, i.e. the polynomial identity
  ``f = sum_j g_j m_j^T Z_j m_j + sum_k h_k lambda_k + b``: the Gram matrices are the LMI
  duals, the equality multipliers the duals of ``E y = 0`` (sign and, for PICOS, which rows
  ``independent_rows`` kept, are settled by a least-squares fit of the stationarity);
* **SOS side**: the LMI matrices themselves, ``mat_j(scale * (obj_x - B^T w))``, are the Gram
  matrices (read as the stacked scaled upper triangles ``Gt @ w + ht``), ``w[y0 row]`` is the
  bound and the ``w`` of the rows ``E S`` are the equality multipliers.

The identity is never trusted: :class:`SOSCertificate` recomputes the residual from the
polynomials, so any sign or mapping slip here can only cost tightness, never soundness.

Before sealing, :func:`repair` improves the float data (each step keeps soundness, since the
certificate recomputes everything): :func:`project` folds the float residual into the
moment blocks (a least-change fix of the solver's stationarity error), :func:`zero_dead_rows`
zeroes Gram rows that an exact certificate must have zero (a facial-reduction step), and
:func:`regularize` lowers the bound a little so that the moment blocks become positive
definite (the only way to certify on an unbounded set). Measured on chained Wood and Broyden
tridiagonal, n = 1,000, order 2, "cs", Clarabel (999 resp. 998 blocks): certify 0.3-0.7 s,
5-12 % of the solve; certified 0.99945 (SOS side, numerical 1.00000011; the moment side's
1.000476 certifies only -0.163) and -1.2e-6 (numerical 4.95e-6 and, from an "inaccurate"
SOS solve, 2.5e-5); exact :meth:`~SOSCertificate.verify` 1-3 s.

Why this module is long: extraction and the float repairs are one pipeline over the same
certificate layout (each repair reads the layout the previous one left), and the repair's
steps are where the certify stage's deadline is checked (:mod:`polylip.solve.certify_clock`).
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from polylip.poly import Polynomial
from polylip.poly import monomials as mono
from polylip.relax.conic import triangles
from polylip.solve.box import box_from_constraints
from polylip.solve.certificate import SOSCertificate, _chol_ok_many, _triu
from polylip.solve.certificate_face import repair_by_faces
from polylip.solve.certificate_rational import applies as exact_faces_apply
from polylip.solve.certificate_rational import exact_face_certificate
from polylip.solve.certificate_snap import GRID_BITS, snap_certificate
from polylip.solve.certify_clock import CertificationCut, CertifyClock


def derived_box(pop):
    """The box ``(lower, upper)`` that the constraints of ``pop`` imply (``+-inf`` where
    nothing bounds a variable), or None when no variable is bounded on either side.

    Examples
    --------
    >>> import sympy
    >>> from polylip import POP
    >>> x, y = sympy.symbols("x y")
    >>> lo, hi = derived_box(POP(x + y, ineqs=[x + 1, 2 - x, 4 - y**2]))
    >>> lo.tolist(), hi.tolist()
    ([-1.0, -2.0], [2.0, 2.0])
    >>> derived_box(POP(x**2 + y**2)) is None
    True
    """
    lo, hi = box_from_constraints(pop.nvars, pop.ineqs, pop.eqs, pop.binary_mask, pop.spin_mask)
    if np.all(np.isinf(lo)) and np.all(np.isinf(hi)):
        return None
    return lo, hi


def _structure(structure):
    """A BlockStructure, from itself or from a Relaxation."""
    return getattr(structure, "blocks", structure) if not hasattr(structure, "psd") else structure


def _triangles(lmi):
    return triangles(lmi)


def _symmetric(Z) -> np.ndarray:
    Z = np.asarray(Z, dtype=float)
    return 0.5 * (Z + Z.T)


def _from_triangles(tri, sizes, offsets) -> list:
    """Symmetric matrices from stacked upper triangles (``np.triu_indices`` order)."""
    sizes = np.asarray(sizes, dtype=np.int64)
    offsets = np.asarray(offsets, dtype=np.int64)
    out = [None] * sizes.size
    for k in np.unique(sizes):
        k = int(k)
        js = np.nonzero(sizes == k)[0]
        iu, ju = _triu(k)
        M = np.zeros((js.size, k, k))
        vals = tri[offsets[js][:, None] + np.arange(iu.size)[None, :]]
        M[:, iu, ju] = vals
        M[:, ju, iu] = vals
        for t, j in enumerate(js):
            out[j] = M[t]
    return out


def _to_triangles(mats, sizes, offsets, double: bool = False) -> np.ndarray:
    """Stacked upper triangles of symmetric matrices (off-diagonal doubled if asked)."""
    sizes = np.asarray(sizes, dtype=np.int64)
    offsets = np.asarray(offsets, dtype=np.int64)
    out = np.zeros(int(offsets[-1]) if offsets.size else 0)
    for k in np.unique(sizes):
        k = int(k)
        js = np.nonzero(sizes == k)[0]
        iu, ju = _triu(k)
        vals = np.stack([mats[j] for j in js])[:, iu, ju]
        if double:
            vals = vals * np.where(iu == ju, 1.0, 2.0)
        out[(offsets[js][:, None] + np.arange(iu.size)[None, :]).ravel()] = vals.ravel()
    return out


def moment_side_grams(lmi, raw):
    """Gram matrices (the LMI duals, symmetrized) and equality multipliers of a moment-side
    solution, or None when the solver returned no duals."""
    if raw.lmi_duals is None or any(Z is None for Z in raw.lmi_duals):
        return None
    grams = [_symmetric(Z) for Z in raw.lmi_duals]
    neq = lmi.neq
    if not neq:
        return grams, np.zeros(0)
    Gt, _, offsets = _triangles(lmi)
    ztri = _to_triangles(grams, lmi.sizes, offsets, double=True)
    s = np.asarray(lmi.c, dtype=float) - sp.csr_matrix(Gt).T @ ztri   # must equal A^T lambda
    At = sp.csr_matrix(lmi.A).T.tocsr()
    cands = []
    duals = None if raw.eq_duals is None else np.asarray(raw.eq_duals, dtype=float).ravel()
    if duals is not None and duals.size == neq and np.all(np.isfinite(duals)):
        cands += [duals, -duals]
    if not cands:
        cands.append(spla.lsqr(At, s, atol=1e-14, btol=1e-14, iter_lim=20 * neq + 100)[0])
    lam = min(cands, key=lambda v: float(np.linalg.norm(At @ v - s)))
    return grams, lam


def sos_side_grams(lmi, raw):
    """Gram matrices (the LMI matrices at the solution), equality multipliers and the bound
    ``w[y0 row]`` of an SOS-side solution, or None when the solver returned no point."""
    if raw.x is None:
        return None
    w = np.asarray(raw.x, dtype=float).ravel()
    Gt, ht, offsets = _triangles(lmi)
    tri = sp.csr_matrix(Gt) @ w + np.asarray(ht, dtype=float)
    grams = _from_triangles(tri, lmi.sizes, offsets)
    nE = lmi.meta["B"].shape[0] - int(np.nonzero(lmi.meta["rhs"])[0][0]) - 1
    lam = w[w.size - nE:] if nE else np.zeros(0)
    return grams, lam


def _multiplier(names, rows, coeffs) -> Polynomial:
    """``Polynomial(names, rows, coeffs)`` without re-checking the (shared, already valid)
    variable names: O(terms) instead of O(variables) per multiplier (1,000 equality
    multipliers in 1,000 variables: 1.1 s -> 0.04 s)."""
    coeffs = np.asarray(coeffs, dtype=float).ravel()
    rows = np.asarray(rows, dtype=mono.INDEX_DTYPE)
    if not np.all(np.isfinite(coeffs)) or rows.ndim != 2 or rows.shape[0] != coeffs.size:
        return Polynomial(names, rows, coeffs)          # the checked path says what is wrong
    rows = mono.normalize(rows)
    if rows.shape[0] > 1:
        uniq, inv = mono.unique_rows(rows)
        merged = np.bincount(inv, weights=coeffs, minlength=uniq.shape[0])
    else:
        uniq, merged = rows, coeffs.copy()
    keep = merged != 0.0
    if not keep.all():
        uniq, merged = uniq[keep], merged[keep]
        uniq = uniq[:, :int((uniq != mono.PAD).sum(axis=1).max(initial=0))]
    return Polynomial._canonical(tuple(names), np.ascontiguousarray(uniq), merged)


def certificate_from_solution(pop, structure, lmi, raw, bound, box=None,
                              clock: CertifyClock | None = None, candidate=None) -> SOSCertificate | None:
    """The sealed certificate of a solved relaxation, or None when the solution carries no
    Gram matrices (no duals / no point, or a bound that is not finite).

    Parameters
    ----------
    pop : POP
    structure : BlockStructure or Relaxation
        The blocks the relaxation was built from (bases and multipliers).
    lmi : LMIProblem
        What the solver received (``lmi.side`` says which side).
    raw : BackendSolution
    bound : float or None
        The numerical bound in the problem's sense (``Result.bound``). None takes it from
        ``raw`` itself (its dual objective on the moment side, ``w[y0 row]`` on the SOS
        side), so that a solve that ended "inaccurate" can still be certified.
    box : (lower, upper), optional
        Bounds the caller asserts on top of those the constraints imply (``box_assumed``).
    clock : CertifyClock, optional
        The stage's deadline (:mod:`polylip.solve.certify_clock`): the repair steps that do
        not fit are skipped (``clock.cut`` says so), and :class:`CertificationCut` is raised
        when not even a first sealed certificate fits.
    candidate : sequence of float, optional
        The relaxation's point (``pop.variables`` order): where the float repairs leave an
        unconstrained problem uncertified, the exact faces of
        :mod:`polylip.solve.certificate_rational` start from it.

    Examples
    --------
    >>> import sympy
    >>> from polylip import POP
    >>> x = sympy.Symbol("x")
    >>> pop = POP(x**4 - 3*x**2 + x, ineqs=[2 - x, x + 2])
    >>> relaxation = pop.relax(order=2)
    >>> out = relaxation.solve_detailed(solver="clarabel")
    >>> cert = certificate_from_solution(pop, relaxation, out.lmi, out.raw, out.result.bound)
    >>> cb = cert.certified_bound()
    >>> cb.certified, cb.bound <= -3.5139 + 1e-4, abs(cb.bound - out.result.bound) < 1e-5
    (True, True, True)
    """
    if bound is None:
        v = raw.dual_value if lmi.side == "moment" and raw.dual_value is not None else raw.value
        if v is None:
            return None
        bound = v if lmi.side == "moment" else -v          # the relaxation value (minimized)
        bound = bound if pop.sense == "min" else -bound
    if not np.isfinite(bound):
        return None
    bs = _structure(structure)
    got = moment_side_grams(lmi, raw) if lmi.side == "moment" else sos_side_grams(lmi, raw)
    if got is None:
        return None
    grams, lam = got
    if len(grams) != len(bs.psd) or not all(np.all(np.isfinite(G)) for G in grams):
        return None
    names = pop.variables
    one = Polynomial.constant(1.0, names)
    blocks = tuple((one if b.constraint < 0 else pop.ineqs[b.constraint], b.basis, G)
                   for b, G in zip(bs.psd, grams))
    equalities, off = [], 0
    for e in bs.equalities:
        k = e.size
        equalities.append((pop.eqs[e.constraint], _multiplier(names, e.basis, lam[off:off + k])))
        off += k
    derived = derived_box(pop)
    assumed = box is not None
    if assumed:
        lo, hi = (np.asarray(a, dtype=float) for a in box)
        if derived is not None:
            lo, hi = np.maximum(lo, derived[0]), np.minimum(hi, derived[1])
        derived = (lo, hi)
    objective = pop.objective if pop.sense == "min" else -pop.objective
    cert = SOSCertificate(
        variables=names, objective=objective, bound=float(bound if pop.sense == "min" else -bound),
        blocks=blocks, equalities=tuple(equalities), ineqs=pop.ineqs, eqs=pop.eqs,
        binary=pop.binary_mask, spin=pop.spin_mask, box=derived, box_assumed=assumed, sense=pop.sense)
    if clock is not None:
        cert._terms                     # the layout is part of the extraction step
        clock.mark()
    return repair(cert, clock, candidate)


# ---------------------------------------------------------------------- float repairs
def _tri(cert) -> np.ndarray:
    return cert._layout["tri"]


def _grams(cert, tri) -> list:
    L = cert._layout
    return _from_triangles(tri, L["sizes"], L["start"])


def project(cert, passes: int = 1):
    """Fold the float residual into the Gram matrices of the moment blocks (uniformly over
    the entries of each monomial, as the certificate does exactly), so that what remains is
    rounding: a least-change repair of the solver's stationarity error."""
    L = cert._layout
    e, fm = L["fent"], L["fmon"]
    if not e.size:
        return cert
    tri = _tri(cert)
    for _ in range(passes):
        r = cert.residual_estimate()
        tri = tri.copy()
        tri[e] += r[fm] / L["wsum"][fm]
        cert = cert.with_grams(_grams(cert, tri))
    return cert


def zero_dead_rows(cert, rounds: int = 4):
    """Facial reduction, one step at a time: a basis monomial ``b_p`` of a block with
    multiplier 1 whose square ``b_p^2`` is reached only by diagonal entries of such blocks
    (no term of ``f``, of a localizing block, of an equality, no off-diagonal entry) must
    have a zero row in any exact certificate (the diagonal entries sum to 0 and are >= 0);
    set those rows to zero, so the noise there does not cost a PSD shift (e.g. Wood's
    ``x_i^4``, which ``f`` lacks)."""
    for _ in range(rounds):
        L = cert._layout
        m, nc, rep = L["mons"].shape[0], L["ncoef"], L["rep"]
        e = rep
        own, P, Q = L["owner"][e], L["P"][e], L["Q"][e]
        base = L["boff"][own]
        live = L["active"][base + P] & L["active"][base + Q]
        cand = L["free"][own] & (P == Q) & live
        gmon = L["inv"][nc:nc + rep.size]
        blocking = np.ones(L["inv"].size, bool)
        blocking[nc:nc + rep.size] = live & ~cand
        blocking[L["nobj"]] = True
        blocked = np.bincount(L["inv"][blocking], minlength=m) > 0
        dead = cand & ~blocked[gmon] & (gmon != 0)
        if not dead.any():
            return cert
        grams = [G for _, _, G in cert.blocks]
        for j in set(own[dead].tolist()):
            grams[j] = grams[j].copy()
        for j, p in zip(own[dead].tolist(), P[dead].tolist()):
            grams[j][p, :] = 0.0
            grams[j][:, p] = 0.0
        cert = cert.with_grams(grams)
    return cert


def zero_dead_multiplier_terms(cert, rounds: int = 4):
    """The same facial reduction for the equality multipliers: a term ``t`` of ``lambda_k``
    whose product ``h_ki * t`` with one term of ``h_k`` is the *only* contribution to a
    monomial (no term of ``f``, no live Gram entry, no other multiplier term reaches it)
    must be zero in any exact certificate; set it to zero, so the solver's noise there
    (``-1e-11 x^2`` in the multiplier of ``xy - 1`` for min x^2 + y^2, whose x^2 row is dead)
    moves to monomials the Gram matrices can absorb instead of staying on ``x^3 y``, which
    no box bounds on an unbounded set."""
    for _ in range(rounds):
        if not cert.equalities:
            return cert
        L = cert._layout
        m, nc, rep, nobj = L["mons"].shape[0], L["ncoef"], L["rep"], L["nobj"]
        inv = L["inv"]
        src = np.zeros(inv.size, bool)
        src[:nobj] = L["A"][:nobj] != 0                     # the objective's terms
        own, P, Q = L["owner"][rep], L["P"][rep], L["Q"][rep]
        base = L["boff"][own]
        src[nc:nc + rep.size] = L["active"][base + P] & L["active"][base + Q]
        start = nc + rep.size
        eq_slices = []
        for h, lam in cert.equalities:
            k = h.nterms * lam.nterms
            sl = slice(start, start + k)
            src[sl] = (L["A"][sl] != 0) & (L["C"][sl] != 0)
            eq_slices.append((sl, h.nterms, lam.nterms))
            start += k
        count = np.bincount(inv[src], minlength=m)
        new, changed = [], False
        for (h, lam), (sl, nh, nl) in zip(cert.equalities, eq_slices):
            idx = np.arange(sl.start, sl.stop)
            lone = src[idx] & (count[inv[idx]] == 1) & (inv[idx] != 0)
            if lone.any():
                j = np.unique(np.tile(np.arange(nl), nh)[lone])
                keep = np.ones(nl, bool)
                keep[j] = False
                lam = Polynomial(lam.variables, lam.rows[keep], lam.coeffs[keep])
                changed = True
            new.append((h, lam))
        if not changed:
            return cert
        cert = replace(cert, equalities=tuple(new), shifts=None, claimed=None)
    return cert


def regularize(cert, tries=(0.0, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0)):
    """Trade a little of the bound for positive definiteness of the moment blocks.

    At the optimum the exact Gram matrices are singular (``m(x*)^T G m(x*) = 0`` at every
    minimizer ``x*``), so floats land on both sides of the PSD cone. Two moves keep the
    polynomial identity: ``theta N`` with ``N = I - C`` (``C`` the uniform Gram of
    ``sum ||m_j||^2`` over the active entries, so ``N`` represents the zero polynomial; it
    lifts differences of moment vectors, i.e. several minimizers), and ``delta_j`` added to
    the constant entry of block ``j`` (lowers the bound by ``delta_j``): the least that makes
    ``G_j + theta N_j + delta_j e_0 e_0^T - tau_j I`` PSD on the active rows (a Schur
    complement), ``tau_j`` a margin above Rump's test. ``delta_j`` may be negative: the
    constant is one monomial shared by all blocks, so blocks with room give mass to those
    short of it, and only ``sum delta_j`` lowers the bound (the uniform fold spreads the
    solver's error as +-1e-6 over the blocks' null directions; with 1,000 blocks paying
    only the deficits cost 1e-2 on chained Wood). Of a few ``theta``, the one with the
    smallest ``sum delta_j`` is kept; blocks it cannot fix are left to the certificate's
    shifts. None when no block has an active constant entry.
    """
    L = cert._layout
    e, fm = L["fent"], L["fmon"]
    diag = L["P"][e] == L["Q"][e]
    c = np.bincount(fm[diag], minlength=L["mons"].shape[0])
    Ntri = np.zeros(L["tri"].size)
    Ntri[e] = diag - c[fm] / L["wsum"][fm]
    grams0, N = _grams(cert, L["tri"]), _grams(cert, Ntri)
    groups = [(js, idx) for (k, ka), (js, _, idx) in L["groups"].items()
              if ka > 1 and L["free"][js].any()]
    prep = []
    for js_all, idx_all in groups:
        sel = L["free"][js_all] & (idx_all[:, 0] == 0) & np.array(
            [not (cert.blocks[j][1][0] != -1).any() for j in js_all])
        if not sel.any():
            continue
        js, idx = js_all[sel], idx_all[sel]
        r = np.arange(js.size)[:, None, None]
        G = np.stack([grams0[j] for j in js])[r, idx[:, :, None], idx[:, None, :]]
        Nn = np.stack([N[j] for j in js])[r, idx[:, :, None], idx[:, None, :]]
        lam = np.linalg.eigvalsh(G)
        ka = idx.shape[1]
        tau = 64 * (ka + 3) ** 2 * 2.0 ** -53 * (np.abs(lam).max(axis=1) + np.abs(np.einsum("bii->b", G)))
        prep.append((js, G, Nn, tau, np.maximum(np.abs(lam[:, 0]), tau)))
    if not prep:
        return None
    nu = np.zeros(len(grams0))
    for js, _, _, _, nuj in prep:
        nu[js] = nuj
    best = None
    for t in tries:
        delta = np.full(len(grams0), np.inf)
        for js, G, Nn, tau, nuj in prep:
            ka = G.shape[1]
            S = G + (t * nuj)[:, None, None] * Nn - tau[:, None, None] * np.eye(ka)
            d = np.full(js.size, np.inf)
            ok = _chol_ok_many(S[:, 1:, 1:])
            if ok.any():
                C = np.linalg.cholesky(S[ok, 1:, 1:])
                zz = np.linalg.solve(C, S[ok, 1:, 0][:, :, None])[:, :, 0]
                q = np.einsum("bi,bi->b", zz, zz)
                d[ok] = q - S[ok, 0, 0] + 1e-9 * np.abs(q) + 1e-300   # < 0: the block gives up mass
            delta[js] = d
        fixed = np.isfinite(delta)
        score = (-int(fixed.sum()), float(delta[fixed].sum()))
        if best is None or score < best[0]:
            best = (score, t, delta)
    _, t, delta = best
    if not np.isfinite(delta).any():
        return None
    grams = list(grams0)
    for j in np.nonzero(np.isfinite(delta))[0]:
        H = grams0[j] + t * nu[j] * N[j]
        H[0, 0] += delta[j]
        grams[j] = H
    return project(cert.with_grams(grams), passes=1)


def _better(new, old) -> bool:
    a, b = new.certified_bound(), old.certified_bound()
    return a.certified and (not b.certified or a.gap < b.gap)


def _sealed_best(cert, clock: CertifyClock | None = None):
    """The sealed certificate, or its regularized form when that is better (and, with a
    ``clock``, when the regularization and its seal fit in the time left)."""
    if clock is not None and not clock.allows(1, "sealing the certificate"):
        raise CertificationCut(clock.cut)
    first = cert.sealed()
    if clock is not None:
        clock.mark()
    cb = first.certified_bound()
    if cb.certified and cb.psd_shift == 0:
        return first
    if clock is not None and not clock.allows(2, "regularizing the certificate"):
        return first
    reg = regularize(cert)
    if reg is None:
        return first
    second = reg.sealed()
    if clock is not None:
        clock.mark()
    return second if _better(second, first) else first


#: The least time the facial repair of an uncertified certificate is given (seconds).
FACE_SECONDS = 0.5


def _float_repairs(cert, clock: CertifyClock | None):
    """:func:`repair`'s float steps: the better sealed certificate of the projected one with
    the dead rows zeroed (regularized when that is better) and, when that is not certified,
    of the one without."""
    base = project(cert)
    dead = zero_dead_multiplier_terms(zero_dead_rows(base))
    if clock is not None:
        clock.mark()
        if dead is not base and not clock.allows(2, "folding the residual again"):
            raise CertificationCut(clock.cut)
    folded = project(dead) if dead is not base else base
    if clock is not None and dead is not base:
        clock.mark()
    best = _sealed_best(folded, clock)
    cb = best.certified_bound()
    if dead is not base and not cb.certified:   # (a second repair only for an uncertified first)
        if clock is None or clock.allows(1, "the repair without the dead rows zeroed"):
            try:
                other = _sealed_best(base, clock)
                best = other if _better(other, best) else best
            except CertificationCut:
                pass
    return best


def repair(cert, clock: CertifyClock | None = None, candidate=None):
    """Seal the projected certificate (dead rows zeroed), and a regularized one when the
    first needs a PSD shift or is not certified; return the better. When that is still not
    certified, the same without zeroing the dead rows is tried too: a row
    the solver keeps alive with off-diagonal entries of order sqrt(its tolerance) (PSD
    allows ``|G_pq| <= sqrt(G_pp G_qq)``) carries real terms, and zeroing it leaves a residual
    of that order that only an unbounded monomial can absorb (min x^2 + y^2 over
    xy >= 1, x, y >= 0 at order 2: entries 3.4e-5 on the row of x^2).

    With a ``clock`` (:mod:`polylip.solve.certify_clock`) every step starts only if it fits
    in the time left: :class:`CertificationCut` before a first seal, otherwise the best
    sealed certificate so far (``clock.cut`` then says what was skipped)."""
    t0 = time.perf_counter()
    if clock is not None and not clock.allows(2, "folding the residual"):
        raise CertificationCut(clock.cut)
    best = _float_repairs(cert, clock)
    if not best.certified_bound().certified and candidate is not None and exact_faces_apply(cert):
        # every block on a face built from the data, exact (solve/certificate_rational.py);
        # it reads only the objective, the bases, the bound, the candidate and the solver's
        # Gram matrices projected on its faces, and is tried before the facial repair below,
        # whose seals cost about as much each as the first one (chained singular n = 1,000:
        # the route certifies in 6.5 s of CPU, the facial repair's attempts took 9 s and
        # certified nothing). Its step 2 in a forked child beside the float repairs was
        # measured and not taken: no gain at load 0 (chained singular n = 1,000, certify
        # 1.09/1.19 s with it, 1.05/1.00 s without), a loss under load
        if clock is None or clock.allows(3, "the exact faces"):
            got = exact_face_certificate(cert, candidate, None if clock is None else clock.left() - clock.step)
            if got is not None:
                return got
    if not best.certified_bound().certified and cert.equalities:
        # the solver's numbers snapped to a dyadic grid (solve/certificate_snap.py): an exact
        # identity where the certificate has simple coefficients (min xy on xy = 1,
        # x + y >= 3: the multiplier 1, every Gram matrix 0); a few seals, before the facial
        # repair, which costs a seal per attempt
        if clock is None or clock.allows(len(GRID_BITS), "the snapped certificate"):
            got = snap_certificate(cert, lambda c: c.sealed())
            if got is not None:
                return got
    if not best.certified_bound().certified:
        # blocks on a face whose kernel is not monomial (solve/certificate_face.py)
        # given about the time the repairs above took (at least FACE_SECONDS): a face that
        # fails costs a seal per attempt (chained singular n = 1,000: about 2 s each)
        seconds = max(FACE_SECONDS, time.perf_counter() - t0)
        if clock is not None:
            seconds = clock.seconds_for(seconds)
            if seconds <= 0:
                clock.allows(1 + FACE_SECONDS / clock.step, "the facial repair")
                return best
        faced = repair_by_faces(best, lambda c: _sealed_best(project(c)), seconds=seconds)
        if faced is not None:
            return faced
    return best

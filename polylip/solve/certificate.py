"""Rigorous lower bounds from floating-point SOS (Putinar) certificates.

A Putinar certificate of the bound ``b`` for ``min f`` over ``K = {g_j >= 0, h_k = 0}``
(binary variables ``x^2 = x``, spin variables ``x^2 = 1``) is the identity, modulo the boolean
relations,

    f - b = sum_j g_j m_j^T G_j m_j + sum_k h_k lambda_k + r,

with ``G_j`` PSD (``g_j = 1`` for a moment block), ``lambda_k`` polynomials and ``r`` the
residual. A solver gives floats: ``r != 0`` and ``G_j`` may be slightly indefinite. Every float
is taken as the exact dyadic rational it is, and the bound is repaired:

1. **Fold** the residual into the Gram matrices: each monomial ``alpha != 0`` of ``r`` that is a
   product ``b_p b_q`` of a block with ``g_j = 1`` is spread uniformly over all such entries,
   ``R_j[p, q] = r_alpha / w_alpha`` (``w_alpha`` counts the entries, off-diagonal twice), so
   ``r = r_0 + sum_j m_j^T R_j m_j + r_B`` exactly; ``r_B`` holds the monomials no entry reaches.
2. **PSD**: a rigorous ``mu_j <= lambda_min(G_j)`` (Rump's criterion, below) on the rows of
   ``G_j`` that are not exactly zero (zero rows drop out); by Weyl,
   ``lambda_min(G_j + R_j) >= mu_j - ||R_j||_inf``. A block short of that margin gets a
   diagonal shift ``s_j >= 0`` making ``G_j + R_j + diag(s_j)`` PSD, which moves
   ``-g_j sum_p s_jp b_p^2`` into the residual; of ``eps I``, ``e W^-2`` (``W = diag(M_p)``)
   and a shift aimed at the near-null eigenvectors, the cheapest is kept (see ``_shifts``).
   A shift on the constant entry costs ``s_j0 * 1``: it is a lower bound, payable without
   any box.
3. **Bound over K** with a box ``l <= x <= u`` that the constraints imply (``x_i - l >= 0``,
   ``u - x_i >= 0``, univariate quadratics, ``c - sum a_i x_i^2k >= 0`` such as balls, the same
   read from equalities, binary ``[0, 1]``, spin ``[-1, 1]``) or that the caller asserts:
   ``|x^alpha| <= M_alpha = prod max(|l_i|, |u_i|)^alpha_i``, hence

       min_K f >= b + r_0 - sum_{alpha in B} |r_alpha| M_alpha
                  - sum_j (sum_t |g_jt| M_t)(sum_p s_jp M_{b_p}^2).

   Without folding (``fold=False``) every ``alpha != 0`` is in ``B``; the better of the two
   is kept. A correction that needs a bound the box does not give (an unbounded variable)
   makes the certificate "numerical only": ``certified=False`` with the reason. On an
   unbounded set a bound is still certified when the folded blocks are PSD up to shifts of
   their constant entries (:func:`polylip.solve.extract.regularize` prepares that).
4. ``sense="max"``: the certificate is for ``min -f``; the bound reported is its negation.

**Arithmetic.** :meth:`SOSCertificate.certified_bound` is floating point with proven error
bounds: per monomial ``|fl(r_alpha) - r_alpha| <= gamma_{2N+4} sum |terms|`` (Higham's dot
product bound, ``N`` terms), positive sums inflated by ``(1 + 3(n+2)u)`` and rounded outward.
``mu_j`` is **Rump's criterion** (BIT 46, 2006; Demmel's bound): if floating-point Cholesky of
``B = fl(G - t I)`` succeeds, ``R^T R = B + dB`` with ``|dB| <= gamma_{k+1} |R^T||R|``, so
``lambda_min(G) >= t - a_k tr(B) - u max B_ii``, ``a_k = gamma/(1-gamma)`` (taken with
``gamma = 2 gamma_{k+3}`` for blocked/FMA BLAS), ``t`` a little below the float eigenvalue.
Measured (2 cores; mu of G vs exact fraction-free LU / characteristic polynomial of the exact
dyadic ``G - tI`` with python-flint): 1000 blocks of 10: 0.014 s vs 0.18 s; 100 of 30:
0.004 s vs 0.34 s; 10 of 100: 0.007 s vs 1.8-9 s; 2 of 200: 0.005 s vs 40 s. Hence Rump for
the bound, exact arithmetic only in :meth:`~SOSCertificate.verify`: the residual as exact
integers (sum of float products, no rounding), ``R_j`` as fractions, and each
``A_j = G_j + R_j + diag(s_j)`` proven PSD exactly as ``A = L L^T + t I + E`` with a float
Cholesky hint ``L`` and the exact integer check ``||E||_inf <= t`` (exact LDL^T in fractions
otherwise; 1000 blocks of 10: 1.6 s, 10 of 100: 5 s, 2 of 200: 8 s, pure Python).

Why this module is long: it is one value, :class:`SOSCertificate`, whose repair steps (fold,
shifts, Rump bounds, box corrections) share its layout and its error bounds; the exact recheck
(:mod:`polylip.solve.certificate_exact`) and the box (:mod:`polylip.solve.box`) live apart.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace  # noqa: F401  (replace: the doctests)
from fractions import Fraction
from functools import cached_property, lru_cache

import numpy as np

from polylip.errors import ModelError
from polylip.poly import Polynomial
from polylip.poly import monomials as mono
from polylip.solve import certificate_json as cj
from polylip.solve.box import box_from_constraints  # noqa: F401 (part of this module's API)
from polylip.solve.certificate_exact import _exact_grams, _ints, _is_one, _ldl_psd, _psd_many, _residual_sparse, _verify

U = 2.0 ** -53
TINY = 2.0 ** -1000
FORMAT = "polylip-sos-certificate/1"
#: certified_bound recomputes a rounding-level residual exactly when the certificate has at
#: most this many terms (about 0.05 s), or always when no box can pay for the float bound.
EXACT_TERMS = 20000


@lru_cache(maxsize=512)
def _triu(k: int):
    """``np.triu_indices(k)``, cached and read-only (a certificate asks for each block size
    several times per repair step)."""
    iu, ju = np.triu_indices(k)
    iu.flags.writeable = ju.flags.writeable = False
    return iu, ju


def _gamma(n):
    n = np.asarray(n, dtype=float)
    return n * U / (1.0 - n * U)


def _up(x, n=1):
    """A float >= the exact value of a non-negative quantity computed as ``x`` with relative
    error at most ``gamma_n`` (``n`` roundings); 0 stays 0."""
    if isinstance(x, (float, np.floating)) and isinstance(n, (int, float, np.integer, np.floating)):
        # scalars: the same arithmetic without numpy's per-call overhead (most calls of the
        # certify stage on small problems; the result is a numpy float as before)
        x = float(x)
        return np.float64(0.0 if x == 0 else math.nextafter(x * (1.0 + 3.0 * (float(n) + 2.0) * U), math.inf))
    x = np.asarray(x, dtype=float)
    big = np.nextafter(x * (1.0 + 3.0 * (np.asarray(n, dtype=float) + 2.0) * U), np.inf)
    return np.where(x == 0, 0.0, big)


def _down(x):
    return np.nextafter(np.asarray(x, dtype=float), -np.inf)


@dataclass(frozen=True)
class CertifiedBound:
    """A certified bound and how it was obtained.

    ``bound`` is rigorous (lower for ``sense="min"``, upper for ``"max"``) when ``certified``;
    ``numerical`` is the solver's bound; ``residual`` and ``psd_shift`` are the two
    corrections (non-negative): ``bound = numerical -/+ (residual + psd_shift)``.
    """

    certified: bool
    bound: float | None
    numerical: float
    residual: float
    psd_shift: float
    reason: str
    fold: bool = True
    shifts: tuple = field(default=(), repr=False)

    @property
    def gap(self) -> float | None:
        return None if self.bound is None else abs(self.numerical - self.bound)


@dataclass(frozen=True, eq=False)
class SOSCertificate:
    """A Putinar certificate ``f - bound = sum_j g_j m_j^T G_j m_j + sum_k h_k lambda_k + r``
    for ``min objective`` over ``K = {ineqs >= 0, eqs = 0, binary, spin}``.

    ``objective`` is the minimized polynomial (``-f`` for ``sense="max"``) and ``bound`` its
    numerical bound; ``blocks`` are ``(g_j, basis index rows, symmetric Gram matrix)`` (index
    rows as in :mod:`polylip.poly.monomials`); ``equalities`` are ``(h_k, lambda_k)``;
    ``box = (lower, upper)`` (``+-inf`` where unknown) or None, ``box_assumed`` when it is the
    caller's claim rather than implied by ``ineqs``/``eqs``. ``shifts`` (one diagonal vector
    per block), ``fold`` and ``claimed`` (the certified bound of the minimized problem) are
    filled by :meth:`sealed`; :meth:`verify` checks them exactly. Rows of a Gram matrix that
    are exactly zero drop out (the residual is not folded there).

    Examples
    --------
    >>> x = Polynomial.variable("x")
    >>> one = Polynomial.constant(1.0, ("x",))
    >>> basis = np.array([[-1], [0]])               # the monomials 1, x
    >>> cert = SOSCertificate(("x",), x**2 + 1, 1.0, ((one, basis, np.diag([0.0, 1.0])),))
    >>> cb = cert.certified_bound()                 # x^2 + 1 - 1 = [1 x] diag(0, 1) [1 x]^T
    >>> cb.certified, cb.bound
    (True, 1.0)
    >>> cert.sealed().verify()
    True
    """

    variables: tuple
    objective: Polynomial
    bound: float
    blocks: tuple
    equalities: tuple = ()
    ineqs: tuple = ()
    eqs: tuple = ()
    binary: np.ndarray | None = None
    spin: np.ndarray | None = None
    box: tuple | None = None
    box_assumed: bool = False
    sense: str = "min"
    shifts: tuple | None = None
    fold: bool = True
    claimed: float | None = None
    exact: tuple = ()

    def __post_init__(self):
        names = tuple(self.variables)
        n, put = len(names), object.__setattr__
        # variable tuples already found equal to names, by id (kept alive here so no id is
        # reused): comparing the tuples costs O(n) per block, O(n^2) in all (15 s of 52 for
        # 30,000 blocks in 30,000 variables)
        equal = {}

        def al(p):      # the same variables tuple object everywhere: later checks are `is`
            v = p.variables
            if v is names:
                return p
            if id(v) not in equal and v == names:
                equal[id(v)] = v
            q = p if id(v) in equal else p.with_variables(names)
            return Polynomial._canonical(names, q.rows, q.coeffs)

        put(self, "variables", names)
        put(self, "objective", al(self.objective))
        put(self, "bound", float(self.bound))
        put(self, "binary", np.zeros(n, bool) if self.binary is None else np.asarray(self.binary, bool))
        put(self, "spin", np.zeros(n, bool) if self.spin is None else np.asarray(self.spin, bool))
        blocks = []
        for g, basis, G in self.blocks:
            G, basis = np.asarray(G, dtype=float), np.asarray(basis, dtype=mono.INDEX_DTYPE)
            if G.shape != (basis.shape[0],) * 2:
                raise ModelError(f"a Gram matrix of shape {G.shape} for a basis of {basis.shape[0]} monomials")
            blocks.append((al(g), basis, G if np.array_equal(G, G.T) else np.triu(G) + np.triu(G, 1).T))
        put(self, "blocks", tuple(blocks))
        put(self, "exact", _exact_grams(self.exact, blocks))
        put(self, "equalities", tuple((al(h), al(lam)) for h, lam in self.equalities))
        put(self, "ineqs", tuple(al(p) for p in self.ineqs))
        put(self, "eqs", tuple(al(p) for p in self.eqs))
        if self.box is not None:
            lo, hi = (np.asarray(a, dtype=float).copy() for a in self.box)
            lo[self.binary], hi[self.binary] = np.maximum(lo[self.binary], 0), np.minimum(hi[self.binary], 1)
            lo[self.spin], hi[self.spin] = np.maximum(lo[self.spin], -1), np.minimum(hi[self.spin], 1)
            put(self, "box", (lo, hi))

    def _copy(self, **changes) -> "SOSCertificate":
        """A copy with some fields changed and the (Gram-independent) term layout shared,
        without re-checking the data (internal: the changes keep the invariants)."""
        new = object.__new__(type(self))
        new.__dict__.update({k: v for k, v in self.__dict__.items() if k not in ("_layout", "_sealed_cb")})
        new.__dict__.update(changes)
        return new

    def with_grams(self, grams, bound: float | None = None) -> "SOSCertificate":
        """The same certificate with other (symmetric) Gram matrices and bound, unsealed;
        the term layout is shared, so this is cheap."""
        blocks = tuple((g, b, np.asarray(G, dtype=float)) for (g, b, _), G in zip(self.blocks, grams))
        # an exact (rational) Gram matrix stays only where its float image is unchanged
        exact = tuple((j, X) for j, X in self.exact if np.array_equal(blocks[j][2], self.blocks[j][2]))
        if len(exact) != len(self.exact):
            return replace(self, blocks=blocks, bound=self.bound if bound is None else float(bound),
                           shifts=None, claimed=None, exact=exact)
        self._terms
        return self._copy(blocks=blocks, bound=self.bound if bound is None else float(bound),
                          shifts=None, claimed=None)

    def with_exact(self, grams, exact, bound: float) -> "SOSCertificate":
        """The same certificate with other float Gram matrices (symmetric, of the blocks'
        sizes), the exact (rational) ones ``exact`` (checked as in the constructor) and the
        bound, unsealed, without exact blocks of its own before: the Gram-independent term
        layout is shared, only which blocks are exact (never folded into) is redone."""
        if self.exact:
            raise ModelError("with_exact: the certificate has exact blocks already")
        blocks = []
        for (g, b, G0), G in zip(self.blocks, grams):
            G = np.asarray(G, dtype=float)
            if G.shape != G0.shape or not np.array_equal(G, G.T):
                raise ModelError(f"a Gram matrix of shape {G.shape} for a basis of {G0.shape[0]} monomials, "
                                 "or not symmetric")
            blocks.append((g, b, G))
        blocks = tuple(blocks)
        ex = _exact_grams(exact, blocks)
        T = dict(self._terms)
        faced = np.zeros(T["sizes"].size, bool)
        faced[[j for j, _ in ex]] = True
        free = T["is_one"] & ~faced
        rep, owner = T["rep"], T["owner"]
        gmon = T["inv"][T["ncoef"]:T["ncoef"] + rep.size]
        one = free[owner[rep]] & (gmon != 0)
        T.update(faced=faced, free=free, one_ent=rep[one], one_mon=gmon[one])
        out = self._copy(blocks=blocks, exact=ex, bound=float(bound), shifts=None, claimed=None)
        out.__dict__["_terms"] = T
        return out

    def residual_estimate(self) -> np.ndarray:
        """The float residual coefficients (over ``_layout["mons"]``): an estimate, not a bound."""
        L = self._layout
        return np.bincount(L["inv"], weights=L["A"] * L["C"] * L["S"], minlength=L["mons"].shape[0])

    # ------------------------------------------------------------------ data layout
    @cached_property
    def _terms(self) -> dict:
        """Every term of ``f - b - sum g m^T G m - sum h lambda`` as ``s * a * c`` at a reduced
        monomial (``a`` of the Gram terms is filled from the current matrices in
        :attr:`_layout`), the triangle entries ``(owner, P, Q)`` and the fold candidates."""
        rows, A, C, S = [], [], [], []

        def add(r, a, c, s):
            rows.append(np.asarray(r, mono.INDEX_DTYPE)), A.append(a), C.append(c), S.append(s)

        f = self.objective
        add(f.rows, f.coeffs, np.ones(f.nterms), np.ones(f.nterms, np.int64))
        add(np.zeros((1, 0)), [0.0], [1.0], [-1])
        sizes = np.array([G.shape[0] for _, _, G in self.blocks], dtype=np.int64)
        is_one = np.array([_is_one(g) for g, _, _ in self.blocks], bool)
        ntri = sizes * (sizes + 1) // 2
        start = np.concatenate([[0], np.cumsum(ntri)]).astype(np.int64)
        boff = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        T = int(start[-1])
        owner, P, Q = np.repeat(np.arange(sizes.size), ntri), np.empty(T, np.int64), np.empty(T, np.int64)
        sgroups, rep = {}, np.zeros(0, np.int64)
        for k in np.unique(sizes):
            js = np.nonzero(sizes == k)[0]
            iu, ju = _triu(int(k))
            pos = (start[js][:, None] + np.arange(iu.size)[None, :]).ravel()
            P[pos], Q[pos] = np.tile(iu, js.size), np.tile(ju, js.size)
            sgroups[int(k)] = js
        if T:
            w = max(max(b.shape[1] for _, b, _ in self.blocks), max(g.rows.shape[1] for g, _, _ in self.blocks))
            allb = np.vstack([mono.pad_to(b, w) for _, b, _ in self.blocks])
            grows = np.vstack([mono.pad_to(g.rows, w) for g, _, _ in self.blocks])
            gcoef = np.concatenate([g.coeffs for g, _, _ in self.blocks])
            glen = np.array([g.nterms for g, _, _ in self.blocks], dtype=np.int64)
            goff = np.concatenate([[0], np.cumsum(glen)])
            t = glen[owner]
            rep = np.repeat(np.arange(T), t)
            term = goff[owner][rep] + np.arange(rep.size) - np.repeat(np.cumsum(t) - t, t)
            I, J = boff[owner] + P, boff[owner] + Q
            add(np.hstack([allb[I][rep], allb[J][rep], grows[term]]), np.zeros(rep.size), gcoef[term],
                np.where(P[rep] == Q[rep], -1, -2))
        for h, lam in self.equalities:
            a, b = np.repeat(np.arange(h.nterms), lam.nterms), np.tile(np.arange(lam.nterms), h.nterms)
            ww = max(h.rows.shape[1], lam.rows.shape[1])
            add(np.hstack([mono.pad_to(h.rows, ww)[a], mono.pad_to(lam.rows, ww)[b]]), h.coeffs[a],
                lam.coeffs[b], -np.ones(a.size, np.int64))
        width = max(r.shape[1] for r in rows)
        allrows = mono.normalize(np.vstack([mono.pad_to(r, width) for r in rows]))
        if self.binary.any() or self.spin.any():
            allrows = mono.reduce_boolean(allrows, binary=self.binary if self.binary.any() else None,
                                          spin=self.spin if self.spin.any() else None)
        mons, inv = mono.unique_rows(allrows)
        cut = np.cumsum([r.shape[0] for r in rows])
        A, C, S = (np.concatenate([np.asarray(v, dtype=dt) for v in vs]) for vs, dt in
                   ((A, float), (C, float), (S, np.int64)))
        ncoef = int(cut[1])
        gmon = inv[ncoef:ncoef + rep.size]
        faced = np.zeros(sizes.size, bool)
        faced[[j for j, _ in self.exact]] = True
        free = is_one & ~faced                      # blocks the residual may be folded into
        one = free[owner[rep]] & (gmon != 0)        # fold candidates: g = 1, monomial != 1
        return dict(mons=mons, inv=inv, A=A, C=C, S=S, ncoef=ncoef, nobj=int(cut[0]), rep=rep,
                    sizes=sizes, start=start, boff=boff, owner=owner, P=P, Q=Q, is_one=is_one,
                    faced=faced, free=free, sgroups=sgroups, one_ent=rep[one], one_mon=gmon[one])

    @cached_property
    def _layout(self) -> dict:
        """:attr:`_terms` plus what depends on the Gram matrices: the Gram terms' values, the
        active rows (not identically zero), the fold positions among active entries, and
        the active principal submatrices grouped by ``(size, active size)``."""
        L = dict(self._terms)
        T = int(L["start"][-1])
        tri, act = np.zeros(T), np.zeros(int(L["boff"][-1]), bool)
        groups = {}
        for k, js in L["sgroups"].items():
            iu, ju = _triu(k)
            stack = np.stack([self.blocks[j][2] for j in js])
            if not np.array_equal(stack, stack.transpose(0, 2, 1)):
                raise ModelError("Gram matrices must be symmetric")
            tri[(L["start"][js][:, None] + np.arange(iu.size)[None, :]).ravel()] = stack[:, iu, ju].ravel()
            ract = (stack != 0).any(axis=2)
            act[(L["boff"][js][:, None] + np.arange(k)[None, :]).ravel()] = ract.ravel()
            cnt = ract.sum(axis=1)
            for ka in np.unique(cnt):
                sel = np.nonzero(cnt == ka)[0]
                idx = np.nonzero(ract[sel])[1].reshape(sel.size, int(ka))
                sub = stack[sel[:, None, None], idx[:, :, None], idx[:, None, :]]
                groups[(k, int(ka))] = (js[sel], sub, idx)
        A = L["A"].copy()
        A[L["ncoef"]:L["ncoef"] + L["rep"].size] = tri[L["rep"]]
        A[L["nobj"]] = self.bound
        e, base = L["one_ent"], L["boff"][L["owner"][L["one_ent"]]]
        keep = act[base + L["P"][e]] & act[base + L["Q"][e]]
        fent, fmon = e[keep], L["one_mon"][keep]
        wsum = np.bincount(fmon, weights=np.where(L["P"][fent] == L["Q"][fent], 1, 2),
                           minlength=L["mons"].shape[0]).astype(np.int64)
        L.update(A=A, tri=tri, active=act, groups=groups, fent=fent, fmon=fmon, wsum=wsum)
        return L

    def _bounds(self):
        """Per-variable bound ``max(|l_i|, |u_i|)`` (inf where unknown), with 1 for padding."""
        n = len(self.variables)
        B = np.full(n + 1, np.inf)
        B[-1] = 1.0
        if self.box is not None:
            B[:n] = np.maximum(np.abs(self.box[0]), np.abs(self.box[1]))
        B[:n][self.binary | self.spin] = np.minimum(B[:n][self.binary | self.spin], 1.0)
        return B

    # ------------------------------------------------------------------ float, rigorous
    def certified_bound(self) -> CertifiedBound:
        """The rigorous bound, in floating point with proven error bounds (fast; see module).

        Examples
        --------
        >>> x = Polynomial.variable("x")
        >>> one = Polynomial.constant(1.0, ("x",))
        >>> G = np.array([[0.5, -1e-9], [-1e-9, 1.0]])  # x^2 + 0.5 - 2e-9 x: solver noise
        >>> cert = SOSCertificate(("x",), x**2 + 1, 0.5, ((one, np.array([[-1], [0]]), G),))
        >>> cb = cert.certified_bound()
        >>> cb.certified, 0.4999 < cb.bound <= 0.5
        (True, True)
        """
        if "_sealed_cb" in self.__dict__:
            return self.__dict__["_sealed_cb"]
        L = self._layout
        m = L["mons"].shape[0]
        if self.exact:
            return self._certified_bound_exact()
        prod = L["A"] * L["C"] * L["S"]
        rhat = np.bincount(L["inv"], weights=prod, minlength=m)
        N = np.bincount(L["inv"], minlength=m)
        tiny = (np.abs(prod) < 2.0 ** -1020) & (L["A"] != 0) & (L["C"] != 0)   # may have underflowed
        err = _up(_gamma(2 * N + 4) * np.bincount(L["inv"], weights=np.abs(prod), minlength=m)
                  + np.bincount(L["inv"], weights=tiny, minlength=m) * 2.0 ** -1070)
        rho, r0_low = _up(np.abs(rhat) + err), _down(rhat[0] - err[0])
        Bv = self._bounds()
        with np.errstate(invalid="ignore", over="ignore"):
            M = _up(Bv[L["mons"]].prod(axis=1), mono.degrees(L["mons"]))
        mu, beta = self._min_eigs(), self._block_bounds(Bv)
        small = np.abs(rhat) <= 64 * err
        rounding = bool(np.all(small))
        # a small residual at rounding level is recomputed exactly below, and the exact
        # residual's bound is never worse than the float one: skip the float one then
        best = None if rounding and L["inv"].size <= EXACT_TERMS else self._best(rho, r0_low, M, mu, beta)
        hopeless = (mu < 0).any() or (~np.isfinite(M) & (L["wsum"] == 0) & (rhat != 0))[1:].any()
        # also where only the monomials a box pays for (the constant, bounded ones) carry more
        # than rounding: the exact residual may vanish on the unbounded ones (POP QA round 4:
        # xy on xy = 1, x + y >= 3 snapped to xy - 1 = 1 (xy - 1) with the bound 1 + 1.5e-9
        # had an exact residual of -1.5e-9 alone, and the float one called it unbounded)
        free = ~np.isfinite(M)
        free[0] = False
        exactly = rounding or bool(np.all(small[free]))
        if exactly and (best is None or not best.certified and "unbounded" in best.reason and not hopeless):
            # a residual at rounding level (or no box to pay for it): recompute it exactly
            absr, r0_low = _exact_residual_floats(L)
            best = self._best(_up(absr, 0), r0_low, M, mu, beta)
        return best

    def _certified_bound_exact(self) -> CertifiedBound:
        """:meth:`certified_bound` of a certificate with exact (rational) Gram matrices: the
        residual is computed exactly (it carries rational coefficients), each exact block is
        proven PSD exactly (it gets no shift and no share of the fold), the rest as usual."""
        L = self._layout
        r = _residual_sparse(self, L)
        absr = np.zeros(L["mons"].shape[0])
        if r:
            absr[list(r)] = [float(abs(v)) for v in r.values()]
        r00 = r.get(0, Fraction(0))
        r0 = float(r00)
        r0_low = r0 if Fraction(r0) <= r00 else float(_down(r0))
        Bv = self._bounds()
        with np.errstate(invalid="ignore", over="ignore"):
            M = _up(Bv[L["mons"]].prod(axis=1), mono.degrees(L["mons"]))
        mu = self._min_eigs()
        for (j, _), psd in zip(self.exact, _psd_many([X for _, X in self.exact])):
            mu[j] = np.inf if psd else -np.inf
        best = self._best(_up(absr, 0), r0_low, M, mu, self._block_bounds(Bv))
        if not best.certified and not all(mu[j] > -np.inf for j, _ in self.exact):
            best = replace(best, reason="numerical only: an exact Gram matrix is not PSD")
        return best

    def _best(self, rho, r0_low, M, mu, beta) -> CertifiedBound:
        """The better certified bound of folding the residual or not (see module)."""
        L, nb, m = self._layout, len(self.blocks), rho.size
        gb, Mb = beta
        numerical = self.bound if self.sense == "min" else -self.bound
        pad = np.zeros(nb)
        for (k, _), (js, sub, _) in L["groups"].items():
            pad[js] = _up(4 * (k + 3) * U * np.abs(np.einsum("bii->b", sub)) + TINY)
        best = None
        for fold in (True, False):
            outside = ~(L["wsum"] > 0) if fold else np.ones(m, bool)
            outside[0] = False
            out = outside & (rho > 0)
            with np.errstate(invalid="ignore", over="ignore"):
                res = float(_up(np.sum(rho[out] * M[out]), out.sum() + 8)) if out.any() else 0.0
            rownorm = np.zeros(nb)
            if fold and L["fent"].size:
                e = L["fent"]
                val = _up(rho[L["fmon"]] / L["wsum"][L["fmon"]], 2)
                base, off = L["boff"][L["owner"][e]], L["P"][e] != L["Q"][e]
                keys = np.concatenate([base + L["P"][e], (base + L["Q"][e])[off]])
                rs = _up(np.bincount(keys, weights=np.concatenate([val, val[off]]), minlength=int(L["boff"][-1])),
                         L["sizes"].max(initial=1) + 2)
                nz = L["sizes"] > 0
                rownorm[nz] = np.maximum.reduceat(rs, L["boff"][:-1][nz])
            rownorm = _up(rownorm)
            shifts, cost = [np.zeros(k) for k in L["sizes"]], np.zeros(nb)
            todo = np.nonzero(~(rownorm - mu < 0))[0] if np.isfinite(res) else np.zeros(0, np.int64)
            for j, sj, cj in self._shifts(todo, rownorm, mu, pad, gb, Mb):
                if cj < cost[j] or shifts[j].size == 0 or not shifts[j].any():
                    shifts[j], cost[j] = sj, cj
            with np.errstate(invalid="ignore", over="ignore"):
                psd = float(_up(np.sum(cost[todo]), nb + 8)) if todo.size else 0.0
            loss = float(_up(res + psd, 2)) - min(float(r0_low), 0.0)
            if not (np.isfinite(loss) and (mu > -np.inf).all() and np.isfinite(self.bound)):
                why = ("the residual has monomials in variables that are unbounded on K" if not np.isfinite(res)
                       else f"{int((~np.isfinite(cost)).sum())} PSD block(s) need a shift "
                            "but their monomials are unbounded on K" if not np.isfinite(psd)
                       else "a Gram matrix or the bound is not finite")
                # (mu = +inf is an all-zero block, which needs nothing: only -inf or NaN fail)
                cand = CertifiedBound(False, None, numerical, res, psd, f"numerical only: {why}", fold, tuple(shifts))
            else:
                cmin = self.bound if loss == 0 else float(_down(self.bound - loss))
                cand = CertifiedBound(True, cmin if self.sense == "min" else -cmin, numerical,
                                      res - min(float(r0_low), 0.0), psd,
                                      "certified" + (" (residual folded into the Gram matrices)" if fold else ""),
                                      fold, tuple(shifts))
            if best is None or (cand.certified and (not best.certified or cand.gap < best.gap)):
                best = cand
            if fold and cand.certified and psd == 0:
                # not folding pays every monomial of the residual from the box, a superset of
                # the folded case's, and needs no less shift: it cannot be better (skipped)
                break
        return best

    def _shifts(self, todo, rownorm, mu, pad, gb, Mb):
        """Diagonal shifts ``s`` making ``G_j + R_j + diag(s)`` PSD, at cost
        ``gb_j sum_p s_p M_p^2``; the cheapest of three per block, each completed by Rump's
        test on ``G + diag(d)`` and an ``eps I`` for what is left: ``d = 0`` (plain
        ``eps I``); ``d = e W^-2`` (``W = diag(M_p)``, ``e`` the float
        ``-lambda_min(W G W)``: cheap where high-degree monomials are large on K); and a
        targeted ``d``: each eigenvector ``v`` with eigenvalue below a margin gets its deficit
        on the entry ``p`` with the least ``M_p^2 / v_p^2`` (the constant entry, i.e. a lower
        bound, at a minimizer ``x*`` where ``v ~ m(x*)``), a few rounds. Exactly PSD blocks
        that no residual reaches need nothing. Yields ``(j, shift vector, cost)``."""
        L = self._layout
        want = np.zeros(len(self.blocks), bool)
        want[todo] = True
        for (k, ka), (js_all, sub_all, idx_all) in L["groups"].items():
            sel = want[js_all]
            if not sel.any():
                continue
            js, G, idx = js_all[sel], sub_all[sel], idx_all[sel]
            if ka == 0:
                for j in js:
                    yield int(j), np.zeros(k), 0.0
                continue
            Mk = np.stack([Mb[j] for j in js])[np.arange(js.size)[:, None], idx]
            w2 = Mk ** 2
            lam, V = np.linalg.eigh(G)
            tgt = 4 * (rownorm[js] + pad[js]) + 64 * (ka + 3) ** 2 * U * np.abs(lam).max(axis=1)
            cands = [np.zeros((js.size, ka))]
            fin = np.isfinite(Mk).all(axis=1)
            if fin.any():
                W = np.where(fin[:, None], np.maximum(Mk, 2.0 ** -20 * np.where(fin, Mk.max(axis=1), 1)[:, None] + TINY), 1.0)
                lw = np.linalg.eigvalsh(W[:, :, None] * G * W[:, None, :])[:, 0]
                e = (np.maximum(-lw, 0) + tgt * W.max(axis=1) ** 2) * (1 + 2.0 ** -10)
                cands.append(np.where(fin[:, None], e[:, None] / W ** 2, np.inf))
            d = np.zeros((js.size, ka))
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                for _ in range(6):          # the lifts interact: a few rounds on G + diag(d)
                    b, i = np.nonzero(lam < tgt[:, None])
                    if not b.size:
                        break
                    v2 = V[b, :, i] ** 2                                  # (nbad, ka)
                    ratio = np.where(v2 > 0, w2[b] / v2, np.inf)
                    p = np.argmin(ratio, axis=1)
                    inc = np.where(np.isfinite(ratio[np.arange(b.size), p]),
                                   (tgt[b] - lam[b, i]) * 1.01 / v2[np.arange(b.size), p], np.inf)
                    np.add.at(d, (b, p), inc)
                    ok = np.isfinite(d).all(axis=1)
                    lam[~ok] = np.inf
                    redo = np.zeros(js.size, bool)
                    redo[b] = True
                    redo &= ok
                    if redo.any():
                        lam[redo], V[redo] = np.linalg.eigh(G[redo] + d[redo][:, :, None] * np.eye(ka))
            cands.append(d)
            best_s, best_c = [None] * js.size, np.full(js.size, np.inf)
            for d in cands:
                ok = np.isfinite(d).all(axis=1)
                if not ok.any():
                    continue
                H = G[ok] + d[ok][:, :, None] * np.eye(ka)
                mu2 = _rump(H, U * np.abs(np.einsum("bii->bi", H)).max(axis=1) if d.any() else 0.0)
                need = rownorm[js[ok]] - mu2
                eps = np.where(need < 0, 0.0, _up(need + pad[js[ok]]))
                sh = _up(d[ok] + eps[:, None], 1)
                with np.errstate(invalid="ignore", over="ignore"):
                    cost = _up(np.sum(np.where(sh > 0, sh * w2[ok], 0.0), axis=1) * gb[js[ok]], ka + 4)
                for t, b in enumerate(np.nonzero(ok)[0]):
                    if cost[t] < best_c[b] or best_s[b] is None:
                        best_s[b], best_c[b] = sh[t], cost[t]
            for b, j in enumerate(js):
                if not np.isfinite(best_c[b]) and rownorm[j] == 0 and ka <= 60 and \
                        _ldl_psd([[Fraction(float(v)) for v in row] for row in G[b]]):
                    best_s[b], best_c[b] = np.zeros(ka), 0.0    # exactly PSD, nothing reaches it
                full = np.zeros(k)
                if best_s[b] is not None:
                    full[idx[b]] = best_s[b]
                yield int(j), full, float(best_c[b])

    def _min_eigs(self) -> np.ndarray:
        """Rigorous lower bounds ``mu_j <= lambda_min`` of the active part of each ``G_j``."""
        mu = np.full(len(self.blocks), -np.inf)
        for (k, ka), (js, sub, _) in self._layout["groups"].items():
            mu[js] = _rump(sub) if ka else np.inf
        return mu

    def _block_bounds(self, Bv):
        """``(sum_t |g_jt| M_t, [M_{b_p}])`` per block: upper bounds of ``|g_j|`` and of
        each ``|b_p|`` on K (``max_K |g_j| ||m_j||^2 <= gb_j sum_p Mb_jp^2``)."""
        key = ("block_bounds", Bv.tobytes())
        if key in self._terms:
            return self._terms[key]
        gb, Mb = np.ones(len(self.blocks)), [None] * len(self.blocks)
        with np.errstate(invalid="ignore", over="ignore"):
            for j in np.nonzero(~self._terms["is_one"])[0]:
                g = self.blocks[j][0]
                Mg = Bv[g.rows].prod(axis=1) if g.rows.shape[1] else np.ones(g.nterms)
                gb[j] = _up(np.sum(np.abs(g.coeffs) * Mg), g.nterms + g.rows.shape[1] + 2)
            for k, js in self._layout["sgroups"].items():
                w = max(self.blocks[j][1].shape[1] for j in js)
                bases = np.stack([mono.pad_to(self.blocks[j][1], w) for j in js])
                vals = _up(Bv[bases].prod(axis=2) if w else np.ones((js.size, k)), w + 1)
                for t, j in enumerate(js):
                    Mb[j] = vals[t]
        self._terms[key] = (gb, Mb)
        return gb, Mb

    def sealed(self) -> "SOSCertificate":
        """This certificate with the shifts, the fold choice and the certified bound recorded
        (what :meth:`verify` checks); None values when the bound is not certified."""
        cb = self.certified_bound()
        claimed = None if not cb.certified else cb.bound if self.sense == "min" else -cb.bound
        out = self._copy(shifts=cb.shifts if cb.certified else None, fold=cb.fold, claimed=claimed)
        out.__dict__.update(_layout=self._layout, _sealed_cb=cb)
        return out

    # ------------------------------------------------------------------ exact
    def verify(self) -> bool:
        """Re-check in exact rational arithmetic that the data proves ``claimed`` (the stored
        certified bound of the minimized problem): multipliers are 1 or constraints of K,
        the box is implied, ``G_j + R_j + diag(s_j)`` is PSD, and ``claimed <= b + r_0 - ...``.

        Examples
        --------
        >>> x = Polynomial.variable("x")
        >>> one = Polynomial.constant(1.0, ("x",))
        >>> cert = SOSCertificate(("x",), x**2 + 1, 1.0, ((one, np.array([[-1], [0]]), np.diag([0.0, 1.0])),))
        >>> sealed = cert.sealed()
        >>> sealed.verify(), replace(sealed, claimed=1.5).verify()
        (True, False)
        """
        try:
            return _verify(self)
        except (ValueError, TypeError, IndexError, KeyError, ZeroDivisionError, OverflowError,
                np.linalg.LinAlgError):
            return False    # data that is not a certificate proves nothing

    # ------------------------------------------------------------------ JSON
    def to_json(self) -> str:
        """Plain JSON; every float as ``float.hex`` so nothing is lost."""
        hx = lambda a: [float(v).hex() for v in np.asarray(a, dtype=float).ravel()]  # noqa: E731
        poly = lambda p: dict(rows=p.rows.tolist(), coeffs=hx(p.coeffs))  # noqa: E731
        tri = lambda G: hx(G[np.triu_indices(G.shape[0])])  # noqa: E731
        return json.dumps(dict(
            format=FORMAT, variables=list(self.variables), sense=self.sense, objective=poly(self.objective),
            bound=self.bound.hex(), blocks=[dict(g=poly(g), basis=b.tolist(), gram=tri(G)) for g, b, G in self.blocks],
            equalities=[dict(h=poly(h), multiplier=poly(lam)) for h, lam in self.equalities],
            ineqs=[poly(p) for p in self.ineqs], eqs=[poly(p) for p in self.eqs],
            binary=self.binary.tolist(), spin=self.spin.tolist(),
            box=None if self.box is None else dict(lower=hx(self.box[0]), upper=hx(self.box[1])),
            box_assumed=self.box_assumed, fold=self.fold,
            shifts=None if self.shifts is None else [hx(v) for v in self.shifts],
            claimed=None if self.claimed is None else float(self.claimed).hex(),
            exact=[dict(block=j, gram=[f"{X[p][q].numerator}/{X[p][q].denominator}"
                                       for p in range(len(X)) for q in range(p, len(X))])
                   for j, X in self.exact]))

    @classmethod
    def from_json(cls, text: str) -> "SOSCertificate":
        """Rebuild a certificate written by :meth:`to_json`. Every field is checked before use
        (:mod:`polylip.solve.certificate_json`): a malformed or tampered document is a
        :class:`ModelError` naming the field, or a certificate :meth:`verify` refuses."""
        d = cj.load_document(text, FORMAT)
        names = cj.names(cj.field(d, "variables"))
        n = len(names)

        def poly(p, where):
            coeffs = cj.hex_floats(cj.field(p, "coeffs", where), f"{where}.coeffs")
            k = len(coeffs)        # the zero polynomial (a certificate of infeasibility's)
            rows = cj.index_rows(cj.field(p, "rows", where), f"{where}.rows", n, k) if k else \
                np.zeros((0, 0), dtype=mono.INDEX_DTYPE)
            return Polynomial(names, rows, coeffs)

        def polys(key, item=None):
            out = []
            for i, p in enumerate(cj.array(cj.field(d, key), key)):
                where = f"{key}[{i}]"
                out.append(poly(p, where) if item is None else
                           tuple(poly(cj.field(p, name, where), f"{where}.{name}") for name in item))
            return tuple(out)

        def flags(key):
            return np.array([cj.boolean(v, f"{key}[{i}]")
                             for i, v in enumerate(cj.array(cj.field(d, key), key, n))], dtype=bool)

        blocks = []
        for i, b in enumerate(cj.array(cj.field(d, "blocks"), "blocks")):
            where = f"blocks[{i}]"
            basis = cj.index_rows(cj.field(b, "basis", where), f"{where}.basis", n)
            k = basis.shape[0]
            G = np.zeros((k, k))
            G[np.triu_indices(k)] = cj.hex_floats(cj.field(b, "gram", where), f"{where}.gram",
                                                  k * (k + 1) // 2)
            blocks.append((poly(cj.field(b, "g", where), f"{where}.g"), basis, G))
        box = cj.field(d, "box")
        if box is not None:
            box = tuple(cj.hex_floats(cj.field(box, side, "box"), f"box.{side}", n, infinite=True)
                        for side in ("lower", "upper"))
        sense = cj.field(d, "sense")
        if sense not in ("min", "max"):
            raise ModelError(f"sense: expected 'min' or 'max', got {str(sense)[:40]!r}")
        shifts = cj.field(d, "shifts")
        if shifts is not None:
            shifts = tuple(cj.hex_floats(v, f"shifts[{i}]")
                           for i, v in enumerate(cj.array(shifts, "shifts", len(blocks))))
        claimed = cj.field(d, "claimed")
        exact = []
        for i, e in enumerate(cj.array(d.get("exact", []), "exact")):
            j = cj.integer(cj.field(e, "block", f"exact[{i}]"), f"exact[{i}].block", 0, len(blocks) - 1)
            exact.append((j, _rational_matrix(cj.array(cj.field(e, "gram", f"exact[{i}]"), f"exact[{i}].gram"),
                                              blocks[j][2].shape[0])))
        return cls(names, poly(cj.field(d, "objective"), "objective"),
                   cj.hex_float(cj.field(d, "bound"), "bound"), tuple(blocks),
                   polys("equalities", ("h", "multiplier")), polys("ineqs"), polys("eqs"),
                   flags("binary"), flags("spin"), box, cj.boolean(cj.field(d, "box_assumed"), "box_assumed"),
                   sense, shifts, cj.boolean(cj.field(d, "fold"), "fold"),
                   None if claimed is None else cj.hex_float(claimed, "claimed"), tuple(exact))


def _rational_matrix(tri, k: int) -> list:
    """The symmetric ``k x k`` matrix of the upper triangle ``tri`` of "p/q" strings (read by
    ``Fraction``'s parser: integers and a slash only, never evaluated)."""
    if len(tri) != k * (k + 1) // 2:
        raise ModelError("an exact Gram matrix must be the upper triangle of its block as 'p/q' strings")
    vals = [cj.fraction(v, f"exact gram[{i}]") for i, v in enumerate(tri)]
    X = [[Fraction(0)] * k for _ in range(k)]
    for (p, q), v in zip(zip(*np.triu_indices(k)), vals):
        X[p][q] = X[q][p] = v
    return X


def _exact_residual_floats(L):
    """``(|r_alpha| rounded to nearest, a float <= r_0)`` of the exact residual: the integer
    sums of :func:`polylip.solve.certificate_exact._float_terms` (each term a product of two
    floats and a small integer, at a common scale ``2^e0``), divided out as integers (Python's
    int / int is correctly rounded), with no Fraction per monomial (5x faster on small
    certificates; :meth:`SOSCertificate.verify` keeps the Fraction version)."""
    m = L["mons"].shape[0]
    absr, r0_low = np.zeros(m), 0.0
    ma, ea = _ints(L["A"])
    mc, ec = _ints(L["C"])
    val = L["S"].astype(object) * ma * mc
    e = ea + ec
    nz = np.nonzero(val != 0)[0]
    if not nz.size:
        return absr, r0_low
    e0 = int(e[nz].min())
    shifted = val[nz] << (e[nz] - e0).astype(object)
    order = np.argsort(L["inv"][nz], kind="stable")
    groups = L["inv"][nz][order]
    first = np.concatenate([[0], np.nonzero(np.diff(groups))[0] + 1])
    sums = np.add.reduceat(shifted[order], first)
    if e0 >= 0:
        absr[groups[first]] = [float(abs(int(v)) << e0) for v in sums]
    else:
        den = 1 << -e0
        absr[groups[first]] = [abs(int(v)) / den for v in sums]
    if groups[0] == 0:
        s0 = Fraction(int(sums[0])) * Fraction(2) ** e0
        r0 = float(s0)
        r0_low = r0 if Fraction(r0) <= s0 else float(_down(r0))
    return absr, r0_low


def _rump(G: np.ndarray, diag_err=0.0) -> np.ndarray:
    """Rigorous ``mu_b <= lambda_min`` of each matrix of the stack ``G`` (nb, k, k), whose
    diagonal may be off the exact one by ``diag_err`` (Rump's criterion, see module)."""
    nb, k = G.shape[0], G.shape[1]
    mu = np.full(nb, -np.inf)
    ok = np.isfinite(G).all(axis=(1, 2))
    if not ok.any():
        return mu
    G = G[ok]
    lam = np.linalg.eigvalsh(G)[:, 0]
    g = 2 * _gamma(k + 3)
    a = g / (1 - g)
    with np.errstate(over="ignore"):  # entries near 1e154 and up: the margin is inf
        fro = np.sqrt(np.einsum("bij,bij->b", G, G))
        margin = (2 * a * (np.abs(np.einsum("bii->b", G)) + k * np.abs(lam)) + 8 * k * U * fro
                  + k * TINY)
    out = np.full(G.shape[0], -np.inf)
    # a block whose margin overflows proves nothing (-inf); shifting by inf gave NaN matrices
    # ("invalid value in multiply", GLOBALLib ex9_2_6) and 40 failed factorizations
    todo = np.flatnonzero(np.isfinite(margin))
    for _ in range(40):
        t = lam[todo] - margin[todo]
        if not np.isfinite(t).all():  # the margin overflowed: the Frobenius bound below
            break
        B = G[todo] - t[:, None, None] * np.eye(k)
        good = _chol_ok_many(B)
        d = np.einsum("bii->bi", B[good])
        slack = _up(a * d.sum(axis=1) + U * d.max(axis=1) + k * TINY, k + 4)
        out[todo[good]] = _down(t[good] - slack)
        todo = todo[~good]
        if not todo.size:
            break
        margin[todo] *= 4
    out[todo] = _down(-_up(fro[todo], k * k))  # lambda_min >= -||G||_F
    mu[ok] = _down(out - _up(np.broadcast_to(diag_err, (nb,))[ok]))
    return mu


def _chol_ok_many(S) -> np.ndarray:
    """Whether each matrix of the stack ``S`` has a Cholesky factorization: the stack at once,
    halved around a failure (a few failing blocks among thousands cost a few dozen stacked
    calls, not one call per block; the same LAPACK factorization of each matrix)."""
    if S.shape[0] == 0:
        return np.zeros(0, bool)
    try:
        np.linalg.cholesky(S)
        return np.ones(S.shape[0], bool)
    except np.linalg.LinAlgError:
        if S.shape[0] == 1:
            return np.zeros(1, bool)
    h = S.shape[0] // 2
    return np.concatenate([_chol_ok_many(S[:h]), _chol_ok_many(S[h:])])


# ---------------------------------------------------------------------- box from constraints


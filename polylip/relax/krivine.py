"""The Krivine / Handelman LP hierarchy (what LiPopt calls LiPopt-k) as conic data: the LP,
built and inspectable, with no solver call (solving is :class:`polylip.solve.lp.LPRelaxation`).

On a polytope ``P`` whose describing constraints are scaled to affine *factors*
``0 <= l_j(x) <= 1``, the degree-``k`` relaxation of ``min f`` is the LP

    maximize theta  s.t.  f - theta = sum_p lambda_p * p,   lambda >= 0,

over the *products* ``p = prod_j l_j^{a_j} (1 - l_j)^{b_j}`` with ``|a| + |b| <= k``, by matching
coefficients. Every product is non-negative on ``P``, so every feasible ``theta`` is a lower
bound on the minimum (``max`` is handled by negation). Bounds are non-decreasing in ``k``.

How the pieces fit (each one a plain value, inspectable before solving; solving, and the certificate check, are in
:mod:`polylip.solve.lp`):

- :func:`polytope_of` turns the POP's inequalities into :class:`Polytope` (factors as affine
  term tables). Boxes come from pairs of bounds on single variables; any other linear
  inequality ``g >= 0`` is scaled to ``[0, 1]`` by its range over the polytope, computed with
  HiGHS (``scipy.optimize.linprog``), and the ranges of the variables are added as box factors
  (redundant for the set, useful for the certificate). Non-linear inequalities, equalities and
  unbounded polytopes are refused with :class:`~polylip.errors.RelaxationError`.
- Binary (``x^2 = x``) and spin (``x^2 = 1``) variables get the box ``[0, 1]`` / ``[-1, 1]`` and
  the *multilinear* products: each such variable enters a product at most once, because
  ``l (1 - l) = 0`` and ``l^2 = l`` on ``{0, 1}``. This is LiPopt's LP after the reduction modulo
  the boolean ideal, hence never weaker than the unreduced one at the same degree.
- :class:`LPSparsity` says over which variable sets products are formed: one clique with every
  variable ("dense"), the correlative-sparsity cliques ("cs"), or cliques given by the caller.
- :class:`LPRelaxation` enumerates the products (only those of degree exactly ``k``: a lower
  product is a non-negative combination of them, ``l + (1 - l) = 1``), expands them all at once
  with numpy, assembles one sparse coefficient-matching matrix and checks, *before* solving,
  that every monomial of ``f`` is produced by some product (else the LP is infeasible: a
  :class:`~polylip.errors.RelaxationError` names the monomial and the degree that reaches it).
- After solving, the certificate is checked: the residual ``f - theta - sum lambda p`` (with
  ``lambda`` clipped at 0) is bounded on the polytope's bounding box and subtracted from
  ``theta``, so the reported bound holds even with solver round-off; a residual above the
  tolerance makes the status "inaccurate" and no bound is reported.
- Large LPs. ``solve(strategy="colgen")`` solves the same LP by delayed column generation
  (:mod:`polylip.solve.lp_colgen`: restricted master, pricing of every product with one sparse
  product ``M^T y``, a bound only when no column prices out); ``strategy="direct"`` solves the
  whole LP. Decision, from measurements (benchmarks/bench_lp_certdnn.py --strategy): "auto"
  stays direct. On the LiPopt-4 LPs the restricted masters cost as much as the whole LP
  (width 20 sparsity 16: 66 s vs 22 s), because an interior-point solve costs the fill of its
  factorization, i.e. of ``M D M^T``, whose pattern comes from the rows (monomials) that the
  columns couple: an optimal basis touches nearly every row (37,714 of 85,120 columns but 8,117
  of 8,118 rows), so the master has the same dense per-clique blocks (about 2,700 rows per
  clique of 20 factors at degree 4, 9,000 at 30) as the full LP. Column generation removes
  columns, not fill; degree 4 at width 80 sparsity 20/30 in seconds is not reached this way.

Examples
--------
>>> import sympy
>>> from polylip import POP
>>> x, y = sympy.symbols("x y")
>>> pop = POP(x * y, ineqs=[x + 1, 1 - x, y + 1, 1 - y])
>>> KrivineLP.build(pop, degree=2).sizes["products"]
10
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations_with_replacement
from math import comb

import numpy as np
import scipy.sparse as sp

from polylip import runtime
from polylip.errors import RelaxationError
from polylip.poly import Polynomial
from polylip.poly import monomials as mono
from polylip.relax.polytope import Polytope, polytope_of  # noqa: F401 (part of this stage's API)
from polylip.sparsity.choose import choose_sparsity
from polylip.sparsity.krivine import LPSparsity, LPStructure

log = logging.getLogger(__name__)

#: Rows of the term tables expanded per numpy chunk (bounds the memory of one expansion step).
_CHUNK = 200_000

#: Peak memory of a whole LP run (build, the LP handed to the backend, the first-order backend
#: and HiGHS's copies, the certificate check), per non-zero of the coefficient matching matrix
#: and per row or column: :func:`estimate_peak_bytes`. Measured (``ru_maxrss`` of one forked
#: run per network, interpreter and imports included, benchmarks/bench_lp_pdlp.py, LiPopt
#: degree 4 on the CertDNN networks, seed 0, PDLP): width 80 sparsity 20 (92,872 rows, 1.08 M
#: columns, 12.9 M non-zeros) 1.50-1.79 GB (estimate 1.84 GB); width 40 sparsity 30 (109,447
#: rows, 1.42 M columns, 17.0 M) 2.29 GB (estimate 2.41); width 80 sparsity 30 (289,327 rows,
#: 3.76 M columns, 45.1 M) 5.85 GB (estimate 6.39): 130-137 bytes per non-zero all told. The
#: build alone peaks at about 80 bytes per non-zero (1.0 GB and 3.1 GB for the two width-80
#: LPs). An interior-point solve needs more (the fill of its factorization), so for those
#: solvers the estimate is a floor, not a bound.
PEAK_BYTES_PER_NNZ = 136
PEAK_BYTES_PER_LINE = 64


def estimate_peak_bytes(rows: int, cols: int, nnz: int) -> int:
    """Peak memory of building and solving (first-order backend) a Krivine LP of these sizes,
    from the measurements of :data:`PEAK_BYTES_PER_NNZ`.

    Examples
    --------
    >>> round(estimate_peak_bytes(92_872, 1_078_561, 12_942_720) / 1e9, 2)  # measured 1.50-1.79 GB
    1.84
    """
    return int(PEAK_BYTES_PER_NNZ * nnz + PEAK_BYTES_PER_LINE * (rows + cols))


def _size_bounds(P: np.ndarray, gc: np.ndarray, cliques, degree: int, fterms: int) -> tuple[int, int]:
    """Upper bounds of the non-zeros and rows of the LP of products ``P``, before expanding them.

    A product of ``k`` generators with ``n_1, ..., n_k`` terms expands into at most
    ``n_1 ... n_k`` monomials (exactly that many on a box when its factors are on distinct
    variables, the LiPopt case); the rows are at most the non-zeros (plus the objective's
    monomials and the constant) and at most the monomials of degree <= ``degree`` in each
    clique's variables."""
    nterms = np.count_nonzero(gc, axis=1).astype(float)
    const_gen = gc.shape[0] - 1
    per = np.ones(P.shape[0])
    for i in range(P.shape[1]):
        per *= nterms[np.where(P[:, i] < 0, const_gen, P[:, i])]
    nnz = float(per.sum())
    rows = sum(comb(len(c) + degree, degree) for c in cliques) + fterms + 1
    return int(min(nnz, 2.0 ** 62)), int(min(rows, nnz + fterms + 1))


# ---------------------------------------------------------------------------------------------
# products and their expansion
# ---------------------------------------------------------------------------------------------
@lru_cache(maxsize=64)
def _local_multisets(ngen: int, k: int) -> np.ndarray:
    """All multisets of size k from ``range(ngen)`` as sorted rows (cached)."""
    rows = np.array(list(combinations_with_replacement(range(ngen), k)), dtype=np.int32)
    rows = rows.reshape(-1, k)
    rows.setflags(write=False)
    return rows


def _anchored_products(factors: np.ndarray, boolean: np.ndarray, anchor: int, k: int) -> np.ndarray:
    """Products of one clique with the anchor factor exactly once: ``l_a`` or ``1 - l_a`` times
    a product of degree ``k - 1`` of the other factors (see :meth:`LPSparsity.of`)."""
    keep = factors != anchor
    rest = _clique_products(factors[keep], boolean[keep], k - 1) if k > 1 else np.zeros((1, 0), np.int32)
    if rest.shape[0] == 0:
        rest = np.zeros((1, max(k - 1, 0)), np.int32) - 1
    out = []
    for g in (2 * anchor, 2 * anchor + 1):
        out.append(np.hstack([np.full((rest.shape[0], 1), g, np.int32), rest]))
    rows = np.vstack(out)
    return mono.pad_to(mono.normalize(rows), k).astype(np.int32)


def _clique_products(factors: np.ndarray, boolean: np.ndarray, k: int) -> np.ndarray:
    """Generator rows (2j = l_j, 2j + 1 = 1 - l_j, sorted, -1 padded) of the products of one
    clique: degree exactly k, a boolean factor at most once; degree = number of boolean
    factors when they are fewer than k and no factor may repeat."""
    m = factors.size
    if m == 0:
        return np.zeros((0, k), dtype=np.int32)
    d = k if (not boolean.all() or m >= k) else m
    local = _local_multisets(2 * m, d)
    fac = local // 2
    if boolean.any() and d > 1:
        rep = (fac[:, 1:] == fac[:, :-1]) & boolean[fac[:, 1:]]
        local = local[~rep.any(axis=1)]
    gens = (2 * factors[local // 2] + local % 2).astype(np.int32)
    gens.sort(axis=1)
    if d < k:
        gens = np.hstack([gens, np.full((gens.shape[0], k - d), -1, dtype=np.int32)])
    return gens


def _expand(products: np.ndarray, gv: np.ndarray, gc: np.ndarray, nvars: int, binary, spin):
    """Expand products of affine generators into (product id, monomial key, coefficient) and the
    index rows of the distinct monomials. Fully vectorized; chunked to bound memory."""
    nprod, k = products.shape
    const_gen = gv.shape[0] - 1
    t1 = gv.shape[1]
    base = np.int64(nvars + 1)
    if k and float(nvars + 1) ** k >= 2.0 ** 62:
        raise RelaxationError("too many variables for this degree (monomial keys overflow)")
    pid_parts, key_parts, coef_parts = [], [], []
    step = max(1, _CHUNK // max(1, t1 ** k))
    boolean = (binary is not None and binary.any()) or (spin is not None and spin.any())
    for s in range(0, nprod, step):
        P = products[s:s + step]
        P = np.where(P < 0, const_gen, P)
        cnt = P.shape[0]
        rows = np.zeros((cnt, 1, 0), dtype=mono.INDEX_DTYPE)
        coef = np.ones((cnt, 1))
        for p in range(k):
            v = gv[P[:, p]]  # (cnt, t1)
            c = gc[P[:, p]]
            nt = rows.shape[1]
            rows = np.concatenate([np.repeat(rows, t1, axis=1),
                                   np.tile(v, (1, nt))[:, :, None]], axis=2)
            coef = (coef[:, :, None] * c[:, None, :]).reshape(cnt, nt * t1)
            keep = np.any(coef != 0.0, axis=0)
            if not keep.all():  # whole columns of zero terms (padding of term tables)
                rows, coef = rows[:, keep], coef[:, keep]
        flat = rows.reshape(-1, k) if k else np.zeros((cnt * rows.shape[1], 0), mono.INDEX_DTYPE)
        cf = coef.ravel()
        pid = np.repeat(np.arange(s, s + cnt), rows.shape[1])
        nz = cf != 0.0
        flat, cf, pid = flat[nz], cf[nz], pid[nz]
        if boolean:
            flat = mono.reduce_boolean(flat, binary, spin)
        flat = mono.pad_to(mono.normalize(flat), k)
        pid_parts.append(pid)
        key_parts.append(_keys(flat, base))
        coef_parts.append(cf)
    pid = np.concatenate(pid_parts) if pid_parts else np.zeros(0, np.int64)
    keys = np.concatenate(key_parts) if key_parts else np.zeros(0, np.int64)
    coef = np.concatenate(coef_parts) if coef_parts else np.zeros(0)
    return pid, keys, coef


def _expand_box(products: np.ndarray, gv: np.ndarray, gc: np.ndarray, nvars: int):
    """:func:`_expand` for products of single-variable factors (a box): each generator is
    ``slope * x_v + const``, so a product of k generators expands into the 2^k subsets of its
    factors; a subset's monomial key is computed directly from the (already sorted) variables,
    without building index rows. Boolean variables never repeat in a product, so no reduction
    is needed."""
    nprod, k = products.shape
    const_gen = gv.shape[0] - 1
    base = np.int64(nvars + 1)
    P = np.where(products < 0, const_gen, products)
    var = gv[P, 0].astype(np.int64)  # (nprod, k), PAD for the constant generator
    slope = gc[P, 0]
    const = gc[P, 1]
    pid_parts, key_parts, coef_parts = [], [], []
    ids = np.arange(nprod)
    for mask in range(1 << k):
        bits = [(mask >> (k - 1 - p)) & 1 for p in range(k)]
        key = np.zeros(nprod, dtype=np.int64)
        coef = np.ones(nprod)
        deg = np.zeros(nprod, dtype=np.int64)
        for p, bit in enumerate(bits):
            if bit:
                key = key * base + (var[:, p] + 1)
                coef = coef * slope[:, p]
                deg += 1
            else:
                coef = coef * const[:, p]
        key = key * base ** (k - deg)
        nz = coef != 0.0
        pid_parts.append(ids[nz])
        key_parts.append(key[nz])
        coef_parts.append(coef[nz])
    return np.concatenate(pid_parts), np.concatenate(key_parts), np.concatenate(coef_parts)


def _keys(rows: np.ndarray, base: np.int64) -> np.ndarray:
    """Integer key of each normalized index row (padding to a common width first)."""
    key = np.zeros(rows.shape[0], dtype=np.int64)
    for p in range(rows.shape[1]):
        key = key * base + (rows[:, p].astype(np.int64) + 1)
    return key


def _rows_of_keys(keys: np.ndarray, base: np.int64, width: int) -> np.ndarray:
    rows = np.zeros((keys.size, width), dtype=mono.INDEX_DTYPE)
    k = keys.copy()
    for p in range(width - 1, -1, -1):
        rows[:, p] = (k % base) - 1
        k //= base
    return mono.normalize(rows) if width else rows


# ---------------------------------------------------------------------------------------------
# the relaxation
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LPProblem:
    """The LP handed to a backend: ``minimize c @ z  s.t.  A z = b,  z[0] free, z[1:] >= 0``,
    with ``z = (theta, lambda)`` and ``c = (-1, 0, ..., 0)``. ``column_blocks`` (optional, one
    int per column, -1 for none) labels the clique each column's product was formed in: a hint
    that lets the first-order backend share one template per clique shape
    (:mod:`polylip.backends.pdhg_blocks`, which checks it); no backend needs it."""

    A: sp.csr_matrix
    b: np.ndarray
    c: np.ndarray
    column_blocks: np.ndarray | None = None

    @property
    def nvars(self) -> int:
        return int(self.A.shape[1])


class KrivineLP:
    """The degree-``k`` Krivine/Handelman LP relaxation of a POP on a polytope.

    Build it with :meth:`build` (or ``pop.solve(method="lp", degree=k)``); inspect
    :attr:`sizes` and :attr:`structure` before solving; call :meth:`solve`.

    Attributes
    ----------
    pop, polytope (:class:`Polytope`), sparsity (:class:`LPSparsity`), degree
    products : ndarray (nproducts, degree) of generator indices (2j: l_j, 2j + 1: 1 - l_j, -1
        padding), in the factor numbering of ``polytope``.
    monomials : ndarray of index rows, the rows of the coefficient-matching matrix.
    matrix : scipy.sparse.csr_matrix (nmonomials x nproducts), column p = coefficients of the
        expansion of product p.
    target : ndarray (nmonomials,), coefficients of the objective (negated for "max").

    Examples
    --------
    >>> import sympy
    >>> from polylip import POP
    >>> x = sympy.Symbol("x")
    >>> KrivineLP.build(POP(x - x**2, ineqs=[x, 1 - x], sense="max"), degree=2).sizes["products"]
    3
    """

    def __init__(self, pop, polytope, sparsity, degree, products, monomials, matrix, target,
                 product_degrees, build_seconds):
        self.pop = pop
        self.polytope = polytope
        self.sparsity = sparsity
        self.degree = degree
        self.products = products
        self.monomials = monomials
        self.matrix = matrix
        self.target = target
        self.product_degrees = product_degrees
        self.build_seconds = build_seconds
        #: the clique each product was formed in (None: not known); see :meth:`to_lp`
        self.product_blocks = None

    # ------------------------------------------------------------------ building
    @classmethod
    def build(cls, pop, degree: int | None = None, sparsity="dense") -> "KrivineLP":
        """Build the LP of certificate degree ``degree`` (default: the degree of the POP).

        Raises :class:`~polylip.errors.RelaxationError` when the feasible set is not a bounded
        polytope, or when some monomial of the objective is produced by no product (the LP
        would be infeasible; the message names the monomial and the degree that reaches it).
        """
        t0 = time.perf_counter()
        if degree is None:
            degree = max(1, pop.objective.degree)
        if not isinstance(degree, (int, np.integer)) or isinstance(degree, bool) or degree < 1:
            raise RelaxationError(f"the LP degree must be a positive integer, not {degree!r}")
        degree = int(degree)
        polytope = polytope_of(pop)
        spars = LPSparsity.of(pop, choose_sparsity(pop, sparsity))
        fsets = polytope.factor_variable_sets()
        # the products' own tables, before building them: at most C(2m + k - 1, k) rows of k
        # generators per clique of m factors (int64 while built); degree 10^8 allocated 12 GB
        # in _clique_products before the estimate below could refuse it
        counts = [sum(1 for s in fsets if s and s <= set(c)) for c in spars.cliques]
        need = sum(comb(2 * m + degree - 1, degree) for m in counts if m) * degree * 16
        runtime.check_memory(min(need, 10 ** 300), f"the products of the degree-{degree} LP",
                             "lower the degree or use smaller cliques", error=RelaxationError)
        products = []
        owner = []  # the clique each block of products came from
        box_factor = {next(iter(s)): j for j, s in enumerate(fsets)
                      if len(s) == 1 and j < len(fsets)}
        for c, clique in enumerate(spars.cliques):
            cs = set(clique)
            fac = np.array([j for j, s in enumerate(fsets) if s and s <= cs], dtype=np.int64)
            fbool = polytope.factor_boolean[fac] if fac.size else np.zeros(0, bool)
            anchor = spars.anchors[c] if spars.anchors else -1
            if anchor >= 0 and anchor in box_factor:
                products.append(_anchored_products(fac, fbool, box_factor[anchor], degree))
                owner.append(c)
            elif fac.size and polytope.factor_degenerate[fac].all():
                # Every factor is degenerate (l_j = 0 on the set, its pair l_j, -l_j sums to 0,
                # not 1): products of exactly `degree` factors reach no lower monomial, so the
                # lower degrees are added (-1 pads are the constant generator). A single-point
                # polytope was refused at every degree >= 2 ("no product produces x").
                for k in range(1, degree + 1):
                    g = _clique_products(fac, fbool, k)
                    products.append(np.hstack([g, np.full((g.shape[0], degree - g.shape[1]), -1,
                                                          dtype=np.int32)]))
                    owner.append(c)
            else:
                products.append(_clique_products(fac, fbool, degree))
                owner.append(c)
        unfit = [polytope.labels[j] for j, s in enumerate(fsets)
                 if not any(s <= set(c) for c in spars.cliques)]
        if unfit:
            log.warning("%d factor(s) fit in no clique and are not used: %s", len(unfit), unfit[:3])
        P = np.vstack(products) if products else np.zeros((0, degree), np.int32)
        blocks = np.repeat(np.asarray(owner, dtype=np.int64), [g.shape[0] for g in products])
        if len(spars.cliques) > 1 and P.shape[0]:
            P, inv = mono.unique_rows(mono.pad_to(mono.normalize(P), degree))
            P = mono.pad_to(P, degree)
            # each distinct product's clique: that of its first occurrence (a hint for the
            # first-order backend's per-clique templates, pdhg_blocks; checked there)
            first = np.full(P.shape[0], blocks.size, dtype=np.int64)
            np.minimum.at(first, inv, np.arange(blocks.size))
            blocks = blocks[first]
        gv, gc = polytope.generators()
        f = pop.objective if pop.sense == "min" else -pop.objective
        nnz_max, rows_max = _size_bounds(P, gc, spars.cliques, degree, len(f.coeffs))
        runtime.check_memory(
            estimate_peak_bytes(rows_max, P.shape[0] + 1, nnz_max),
            f"the degree-{degree} LP ({P.shape[0]:,} products, up to {rows_max:,} rows and "
            f"{nnz_max:,} non-zeros) with the first-order solver",
            "lower the degree or use smaller cliques", error=RelaxationError)
        binary, spin = pop.binary_mask, pop.spin_mask
        if polytope.kind == "box":
            pid, keys, coef = _expand_box(P, gv, gc, pop.nvars)
        else:
            pid, keys, coef = _expand(P, gv, gc, pop.nvars, binary if binary.any() else None,
                                      spin if spin.any() else None)
        # rows: every monomial produced, plus the objective's and the constant
        width = max(degree, f.rows.shape[1])
        base = np.int64(pop.nvars + 1)
        fkeys = _keys(mono.pad_to(f.rows, width), base)
        if width > degree:  # objective wider than the products: re-key products at that width
            keys = keys * base ** (width - degree)
        produced = np.unique(keys)
        missing = np.setdiff1d(fkeys, np.append(produced, 0))
        if missing.size:
            raise RelaxationError(cls._unreachable_message(pop, spars, polytope, missing, base, width, degree))
        allkeys = np.union1d(produced, np.append(fkeys, 0))
        row = np.searchsorted(allkeys, keys)
        A = sp.csr_matrix((coef, (row, pid)), shape=(allkeys.size, P.shape[0]))
        A.sum_duplicates()
        small = np.abs(A.data) <= 1e-14 * (np.abs(A.data).max(initial=0.0))
        if small.any():
            A.data[small] = 0.0
            A.eliminate_zeros()
        target = np.zeros(allkeys.size)
        target[np.searchsorted(allkeys, fkeys)] = f.coeffs
        monomials = _rows_of_keys(allkeys, base, width)
        pdeg = (P >= 0).sum(axis=1)
        seconds = time.perf_counter() - t0
        log.info("built LP relaxation of degree %d (%s): %d products, %d rows, %d non-zeros in %.3f s",
                 degree, spars.kind, P.shape[0], A.shape[0], A.nnz, seconds)
        out = cls(pop, polytope, spars, degree, P, monomials, A, target, pdeg, seconds)
        out.product_blocks = blocks
        return out

    @staticmethod
    def _unreachable_message(pop, spars, polytope, missing, base, width, degree) -> str:
        rows = _rows_of_keys(missing, base, width)
        names = pop.variables
        parts = []
        for r in rows[:10]:
            idx = r[r != mono.PAD]
            mon = str(Polynomial(names, r[None, :], [1.0]))
            vars_ = set(int(i) for i in idx)
            if not any(vars_ <= set(c) for c in spars.cliques):
                parts.append(f"{mon} (its variables lie in no common clique: no degree reaches it "
                             "with these cliques)")
            else:
                parts.append(f"{mon} (degree {idx.size}: needs degree >= {idx.size})")
        more = f" and {missing.size - 10} more" if missing.size > 10 else ""
        return (f"at degree {degree}, no product of the LP hierarchy produces the objective "
                f"monomial(s) {'; '.join(parts)}{more}, so the LP is infeasible; raise the degree "
                "or choose cliques that contain each monomial's variables")

    # ------------------------------------------------------------------ facts
    @property
    def nproducts(self) -> int:
        return int(self.products.shape[0])

    @property
    def sizes(self) -> dict:
        """Counts that decide the cost: products, LP variables, rows, non-zeros, cliques."""
        return dict(products=self.nproducts, lp_variables=self.nproducts + 1,
                    rows=int(self.matrix.shape[0]), nnz=int(self.matrix.nnz),
                    cliques=len(self.sparsity.cliques), max_clique=self.sparsity.max_clique,
                    factors=self.polytope.nfactors)

    @property
    def structure(self) -> LPStructure:
        """A readable report of the LP's structure, computed without solving."""
        pd, pc = np.unique(self.product_degrees, return_counts=True)
        md, mc = np.unique(mono.degrees(self.monomials), return_counts=True)
        return LPStructure(
            degree=self.degree, sparsity=self.sparsity.kind, polytope=self.polytope.kind,
            cliques=len(self.sparsity.cliques),
            clique_sizes=tuple(sorted((len(c) for c in self.sparsity.cliques), reverse=True)),
            factors=self.polytope.nfactors, products=self.nproducts,
            products_by_degree=dict(zip(pd.tolist(), pc.tolist())),
            lp_variables=self.nproducts + 1, rows=int(self.matrix.shape[0]),
            rows_by_degree=dict(zip(md.tolist(), mc.tolist())), nonzeros=int(self.matrix.nnz),
            build_seconds=self.build_seconds)

    def to_lp(self) -> LPProblem:
        """``minimize -theta  s.t.  theta * e_1 + M lambda = f,  lambda >= 0``."""
        e = np.zeros((self.matrix.shape[0], 1))
        e[0, 0] = 1.0  # row 0 is the constant monomial (smallest key)
        A = sp.hstack([sp.csr_matrix(e), self.matrix], format="csr")
        c = np.zeros(A.shape[1])
        c[0] = -1.0
        blocks = None
        if self.product_blocks is not None and self.product_blocks.size == self.matrix.shape[1]:
            blocks = np.concatenate([[-1], self.product_blocks])
        return LPProblem(A, self.target.copy(), c, column_blocks=blocks)

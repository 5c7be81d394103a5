"""The arithmetic of :func:`~polylip.poly.sympy_io.from_sympy`: sums, products and integer
powers of the small polynomials an expression tree is made of, without sympy.

An :class:`Expansion` holds a polynomial as a dictionary ``{sorted index tuple: coefficient}``
(index rows as tuples: see :mod:`polylip.poly.monomials`), plus pieces not merged yet: index-row
arrays from large products, and small products deferred to be expanded all together in one
vectorized step. Why not :class:`~polylip.poly.polynomial.Polynomial` itself: a sympy
expression is thousands of tiny sums (``(3 - 2*x_i)*x_i - x_(i-1) - 2*x_(i+1) + 1``), and a
Polynomial carries its whole variable tuple and pays numpy's fixed cost per operation.
Measured, squaring that 5-term sum: 16.5 ms as a Polynomial over 10^4 variables, 0.8 ms over
its 3 variables, 46 us with dictionaries, 7 us deferred to a batch. Large operands do go through
the same vectorized index-row operations Polynomial uses (:func:`~polylip.poly.monomials.multiply`,
:func:`~polylip.poly.monomials.canonical`), their memory estimated first against
:func:`polylip.runtime.memory_limit`.

The functions take the expression ``node`` being read, only to name it in error messages
(anything with ``args``; printed by :func:`shown`).
"""

from __future__ import annotations

import math
from itertools import chain
from math import comb

import numpy as np

from polylip.errors import ModelError
from polylip.poly import monomials as mono
from polylip.runtime import check_memory, format_count, memory_limit

__all__ = ["Expansion", "add", "mul", "power", "times", "times_monomial", "shown",
           "not_polynomial", "SMALL_PRODUCT"]

ALLOWED = "only +, -, *, non-negative integer powers and real numbers are"
#: Products of at most this many pairs of terms are expanded with dictionaries (cheaper than
#: numpy's fixed cost per call for the small factors sympy expressions are usually made of).
SMALL_PRODUCT = 512
#: The largest work (index entries: terms x degree of every product) one integer power may
#: take, checked before the first product, and the seconds per entry measured on 2 cores for
#: (x + y + 1)**k and (x + y + z + 1)**k: 0.026-0.039 us, so the limit is about 6 s.
MAX_POWER_WORK = 200_000_000
WORK_SECONDS = 3e-8


def shown(expr, limit: int = 80) -> str:
    """``expr`` for a message, at most ``limit`` characters (a long sum or product is not
    printed whole: printing 10^4 terms takes sympy seconds)."""
    args = getattr(expr, "args", ())
    if (getattr(expr, "is_Add", False) or getattr(expr, "is_Mul", False)) and len(args) > 6:
        sep, what = (" + ", "terms") if expr.is_Add else ("*", "factors")
        text = sep.join(f"({a})" if a.is_Add else str(a) for a in args[:3])
        text = f"{text}{sep}... ({len(args):,} {what})"
    else:
        text = str(expr)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def not_polynomial(expr, why: str = "") -> ModelError:
    return ModelError(f"not a polynomial: the subexpression {shown(expr)} is not allowed "
                      f"({why or ALLOWED})")


class Expansion:
    """A polynomial under construction, the sum of

    * ``terms``: ``{sorted index tuple: coefficient}``;
    * ``parts``: index-row arrays with coefficients (from large products), not merged;
    * ``lazy``: products ``(dict_a, dict_b)`` of two small term dictionaries, not expanded yet:
      they are expanded all at once, vectorized (:func:`_batch_products`), when the value is
      turned into arrays. Sums of many small products (``sum_i (...)**2``) cost one numpy
      call instead of one per product.

    Never mutated once built, so a value may be shared by several parents.
    """

    __slots__ = ("terms", "parts", "lazy")

    def __init__(self, terms: dict, parts: list | None = None, lazy: list | None = None):
        self.terms = terms
        self.parts = parts or []
        self.lazy = lazy or []

    @property
    def size(self) -> int:
        """Number of terms before merging."""
        n = len(self.terms)
        if self.parts:
            n += sum(r.shape[0] for r, _ in self.parts)
        if self.lazy:
            n += sum(len(a) * len(b) for a, b in self.lazy)
        return n

    def as_dict(self) -> dict:
        """All terms in one dictionary (for small values)."""
        if not self.parts and not self.lazy:
            return self.terms
        out = dict(self.terms)
        get = out.get
        for rows, coeffs in self.parts:
            for row, c in zip(rows.tolist(), coeffs.tolist()):
                k = tuple(i for i in row if i != mono.PAD)
                out[k] = get(k, 0.0) + c
        for ta, tb in self.lazy:
            tb = list(tb.items())
            for ka, ca in ta.items():
                for kb, cb in tb:
                    k = _join(ka, kb)
                    out[k] = get(k, 0.0) + ca * cb
        return out

    def arrays(self, merged: bool, node=None) -> tuple[np.ndarray, np.ndarray]:
        """All terms as index rows and coefficients (merged and canonical if ``merged``)."""
        pieces = list(self.parts)
        if self.terms:
            pieces.append(_dicts_rows([self.terms]))
        if self.lazy:
            pieces.append(_batch_products(self.lazy, node))
        if not pieces:
            return np.zeros((0, 0), mono.INDEX_DTYPE), np.zeros(0)
        if len(pieces) == 1:
            rows, coeffs = pieces[0]
        else:
            width = max(r.shape[1] for r, _ in pieces)
            rows = np.vstack([mono.pad_to(r, width) for r, _ in pieces])
            coeffs = np.concatenate([c for _, c in pieces])
        return mono.canonical(rows, coeffs) if merged else (rows, coeffs)


def _dicts_rows(dicts) -> tuple[np.ndarray, np.ndarray]:
    """The terms of several dictionaries, in order, as index rows and coefficients."""
    keys = [k for d in dicts for k in d]
    lens = np.fromiter(map(len, keys), np.int64, len(keys))
    width = int(lens.max(initial=0))
    rows = np.full((len(keys), width), mono.PAD, dtype=mono.INDEX_DTYPE)
    if width:
        rows[np.arange(width) < lens[:, None]] = np.fromiter(
            chain.from_iterable(keys), mono.INDEX_DTYPE, int(lens.sum()))
    coeffs = np.fromiter(chain.from_iterable(d.values() for d in dicts), float, len(keys))
    return rows, coeffs


def _batch_products(pairs, node) -> tuple[np.ndarray, np.ndarray]:
    """Every term of ``a * b`` for every ``(a, b)`` in ``pairs``, in one vectorized step."""
    left, right = [a for a, _ in pairs], [b for _, b in pairs]
    ra, ca = _dicts_rows(left)
    rb, cb = _dicts_rows(right)
    la = np.fromiter(map(len, left), np.int64, len(left))
    lb = np.fromiter(map(len, right), np.int64, len(right))
    count = la * lb
    total = int(count.sum())
    _check_product(total, ra.shape[1] + rb.shape[1], node)
    pair = np.repeat(np.arange(len(pairs)), count)
    local = np.arange(total) - np.repeat(np.cumsum(count) - count, count)
    q, r = np.divmod(local, lb[pair])
    ia = (np.cumsum(la) - la)[pair] + q
    ib = (np.cumsum(lb) - lb)[pair] + r
    return mono.normalize(np.hstack([ra[ia], rb[ib]])), ca[ia] * cb[ib]


def _check_product(pairs: int, width: int, node) -> None:
    # index rows (repeat, tile, concatenation, sorted copy, gathered copy: int32) and the
    # coefficients, gather, sort order and group indices (8 bytes each)
    nbytes = pairs * (20 * width + 48)
    if nbytes > memory_limit():  # the message prints the expression: only when refusing
        check_memory(nbytes, f"expanding {shown(node)} ({format_count(pairs)} products of "
                     "terms before merging)", error=ModelError)


# ------------------------------------------------------------------ arithmetic on values
def _join(a: tuple, b: tuple) -> tuple:
    """The sorted concatenation of two sorted index tuples (the product of two monomials)."""
    if not a:
        return b
    if not b:
        return a
    if a[-1] <= b[0]:
        return a + b
    if b[-1] <= a[0]:
        return b + a
    return tuple(sorted(a + b))


def _dict_times_monomial(d: dict, idx: tuple, c: float) -> dict:
    if not idx:
        return {k: c * a for k, a in d.items()}
    return {_join(k, idx): c * a for k, a in d.items()}


def times_monomial(v: Expansion, idx: tuple, c: float) -> Expansion:
    """``c * x^idx * v`` (``idx`` sorted); a product by a monomial never merges terms."""
    if not idx and c == 1.0:
        return v
    parts = []
    for rows, coeffs in v.parts:
        if idx:
            extra = np.broadcast_to(np.asarray(idx, mono.INDEX_DTYPE), (rows.shape[0], len(idx)))
            rows = mono.normalize(np.hstack([rows, extra]))
        parts.append((rows, coeffs * c))
    lazy = [(_dict_times_monomial(a, idx, c), b) for a, b in v.lazy]
    return Expansion(_dict_times_monomial(v.terms, idx, c), parts, lazy)


def times(a: Expansion, b: Expansion, node) -> Expansion:
    """The product of two polynomials (``node``: the sympy expression, for messages)."""
    if a.size * b.size <= SMALL_PRODUCT:
        if not (a.parts or a.lazy or b.parts or b.lazy):
            return Expansion({}, None, [(a.terms, b.terms)])   # expanded later, in a batch
        tb = list(b.as_dict().items())
        out: dict = {}
        get = out.get
        for ka, ca in a.as_dict().items():
            for kb, cb in tb:
                k = _join(ka, kb)
                out[k] = get(k, 0.0) + ca * cb
        return Expansion(out)
    ra, ca = a.arrays(True, node)
    rb, cb = b.arrays(True, node)
    _check_product(ra.shape[0] * rb.shape[0], ra.shape[1] + rb.shape[1], node)
    rows = mono.multiply(ra, rb)
    coeffs = np.outer(ca, cb).ravel()
    return Expansion({}, [mono.canonical(rows, coeffs)])


def power(v, k: int, node):
    """``v ** k`` for a non-negative integer ``k``."""
    if type(v) is not Expansion:
        try:
            return v ** k
        except OverflowError:
            raise ModelError(f"the number {shown(node)} is too large for a float") from None
    if k == 0:
        return 1.0
    if len(v.terms) == 1 and not v.parts and not v.lazy:   # a monomial
        (idx, c), = v.terms.items()
        try:
            c = c ** k
        except OverflowError:
            raise ModelError(f"a coefficient of {shown(node)} is too large for a float") from None
        if 8 * len(idx) * k > memory_limit():
            check_memory(8 * len(idx) * k, f"the monomial {shown(node)} (degree "
                         f"{format_count(len(idx) * k)})", error=ModelError)
        return Expansion({tuple(sorted(idx * k)) if len(idx) > 1 else idx * k: c})
    if k >= 2 and k * math.log2(max(v.size, 1)) > 20:  # up to 10^6 terms: not worth a look
        v = _check_power(v, k, node)
    out = v
    for _ in range(k - 1):
        out = times(out, v, node)
    return out


def _check_power(v: Expansion, k: int, node) -> Expansion:
    """Refuse ``v ** k`` before the first product when its last product would not fit in
    memory: ``p^(k-1) * p`` has at most ``min(n^(k-1), comb(nv + d(k-1), nv))`` times ``n``
    pairs of terms (``n`` terms, ``nv`` variables, degree ``d``), of ``d k`` index entries.
    Returns ``v`` merged (the products need it so anyway)."""
    rows, coeffs = v.arrays(True, node)
    n = rows.shape[0]
    nv = int(np.unique(rows[rows != mono.PAD]).size)
    d = rows.shape[1]
    terms = comb(nv + d * (k - 1), nv)
    if (k - 1) * math.log2(max(n, 1)) < 64:
        terms = min(terms, n ** (k - 1))
    _check_product(terms * n, d * k, node)
    # ... and when the k - 1 products together would take too long: each fits in memory, but
    # (x + y + 1)**300 (45,451 terms) ran for minutes (about 3e9 index entries at 0.03 us;
    # found by the POP QA round). The same bound as the text parser's max_work, per power.
    work, j = 0, 1
    while j < k and work <= MAX_POWER_WORK:
        tj = comb(nv + d * j, nv) if j * math.log2(max(n, 1)) >= 64 else min(comb(nv + d * j, nv), n ** j)
        work += tj * n * d * (j + 1)
        j += 1
    if work > MAX_POWER_WORK:
        raise ModelError(f"expanding {shown(node)} would take more than {format_count(MAX_POWER_WORK)} "
                         f"index entries of work ({n} terms to the power {k}; about "
                         f"{MAX_POWER_WORK * WORK_SECONDS:.0f} s); expand a smaller power or "
                         "build the polynomial in pieces")
    return Expansion({}, [(rows, coeffs)])


def _non_real(node, vals):
    for arg, v in zip(node.args, vals):
        if isinstance(v, complex):
            return not_polynomial(arg, "a polynomial has real coefficients")
    return not_polynomial(node, "a polynomial has real coefficients")


def add(node, vals):
    const = 0.0
    polys = []
    for v in vals:
        if type(v) is Expansion:
            polys.append(v)
        else:
            const += v
    if not polys:
        return const
    if isinstance(const, complex):
        if const.imag:
            raise _non_real(node, vals)
        const = const.real
    polys.sort(key=lambda p: -len(p.terms))
    terms = dict(polys[0].terms)
    parts = list(polys[0].parts)
    lazy = list(polys[0].lazy)
    get = terms.get
    for p in polys[1:]:
        for k, c in p.terms.items():
            terms[k] = get(k, 0.0) + c
        if p.parts:
            parts.extend(p.parts)
        if p.lazy:
            lazy.extend(p.lazy)
    if const:
        terms[()] = get((), 0.0) + const
    return Expansion(terms, parts, lazy)


def mul(node, vals):
    coeff = 1.0
    idx: list = []
    polys = []
    for v in vals:
        if type(v) is not Expansion:
            coeff *= v
        elif len(v.terms) == 1 and not v.parts and not v.lazy:
            for k, c in v.terms.items():
                idx.extend(k)
                coeff *= c
        else:
            polys.append(v)
    if not polys and not idx:
        return coeff
    if isinstance(coeff, complex):
        if coeff.imag:
            raise _non_real(node, vals)
        coeff = coeff.real
    key = tuple(sorted(idx)) if len(idx) > 1 else tuple(idx)
    if not polys:
        return Expansion({key: coeff})
    out = polys[0]
    for p in polys[1:]:
        out = times(out, p, node)
    return times_monomial(out, key, coeff)

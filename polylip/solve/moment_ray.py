"""A relaxation's "no finite bound", checked: a moment functional at infinity.

A solver's "unbounded" on the moment-SOS relaxation of order ``k`` says that no sum-of-squares
certificate of any bound exists at that order (the SOS side is infeasible). When the POP has a
feasible ray (:mod:`polylip.solve.unbounded`) that is proven for every order. When it has none
(the POP may well be bounded: ``min xy`` on ``[0, 1]^2`` written with linear constraints, at
order 1), the claim about the relaxation can still be proven by a **moment ray**: a linear
functional ``L`` on the polynomials of degree exactly ``2k`` (zero below) with

* ``L(f) < 0`` (for ``max``: ``L(-f) < 0``),
* the top block of the moment matrix ``[L(x^(a+b))]_{|a|=|b|=k}`` PSD,
* for each inequality ``g`` of even degree ``2d``, ``[L(g x^(a+b))]_{|a|=|b|=k-d}`` PSD (one of
  odd degree has a zero localizing matrix under ``L``),
* ``L(h x^a) = 0`` for each equality ``h`` and ``|a| = 2k - deg h``.

Apply ``L`` to a certificate ``f - b = sigma_0 + sum_j sigma_j g_j + sum_k lambda_k h_k`` of any
bound ``b`` at order ``k``: the left side is ``L(f) < 0`` (``L(1) = 0``), every term on the right
is ``>= 0`` (``<Gram, PSD matrix>``) or 0. So no certificate exists, for the dense relaxation
and for every sparse one of the same order (their blocks are principal submatrices of these).
This says nothing of the POP itself, which may be bounded: a higher order may give a bound.

:func:`find_moment_ray` looks for one with a small SDP (maximize the margin ``t``: every block
``>= t I``, ``L(f) <= -t``, trace of the top block 1), rounds it to rationals, projects it
exactly on the equalities and checks it (:meth:`MomentRayCertificate.verify`, exact
rationals: an ``LDL^T`` without pivoting, in which a zero pivot must have a zero row).
A ray that needs a singular block (no margin) does not survive the rounding and is not
claimed.

Examples
--------
>>> from polylip.poly import variables
>>> from polylip.model import POP
>>> x, y = variables("x y")
>>> ray = find_moment_ray(POP(x * y, ineqs=[x, 1 - x, y, 1 - y]), order=1)
>>> ray.verify(), float(ray.value()) < 0
(True, True)
>>> find_moment_ray(POP(x**2 + y**2), order=1) is None
True
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from fractions import Fraction
from itertools import combinations_with_replacement
from math import comb

import numpy as np
import scipy.sparse as sp

from polylip.backends import registry
from polylip.errors import ModelError
from polylip.poly import Polynomial
from polylip.relax.conic import LMIProblem
from polylip.solve import certificate_json as cj

__all__ = ["MomentRayCertificate", "find_moment_ray", "settle_relaxation_claim", "MAX_TOP_BLOCK",
           "MAX_MOMENTS", "FORMAT"]

log = logging.getLogger(__name__)

FORMAT = "polylip-moment-ray-certificate/1"

#: No search when the top moment block has more rows than this, or the functional more
#: degree-2k monomials than MAX_MOMENTS, or the equalities more rows than MAX_EQ_ROWS: the
#: exact check and projection are pure-Python rationals.
MAX_TOP_BLOCK = 60
MAX_MOMENTS = 2_000
MAX_EQ_ROWS = 200
#: The SDP's margin must be at least this for the rounded functional to be tried.
MIN_MARGIN = 1e-7
#: The functional is rounded to multiples of 2^-ROUND_BITS before the exact projection.
ROUND_BITS = 40


def _monos(n: int, deg: int) -> list[tuple[int, ...]]:
    """Monomials of degree exactly ``deg`` as sorted index tuples."""
    return list(combinations_with_replacement(range(n), deg)) if deg > 0 else [()]


def _merge(a: tuple, b: tuple) -> tuple:
    return tuple(sorted(a + b))


def _terms(p: Polynomial, names) -> list[tuple[tuple[int, ...], float]]:
    p = p if p.variables == tuple(names) else p.with_variables(names)
    return [(tuple(sorted(i for i in r if i >= 0)), c)
            for r, c in zip(p.rows.tolist(), p.coeffs.tolist())]


def _top(terms, deg: int):
    return [(m, c) for m, c in terms if len(m) == deg]


def _psd_exact(M: list[list[Fraction]]) -> bool:
    """Whether a symmetric rational matrix is PSD (elimination without pivoting: a negative
    pivot, or a zero pivot with a nonzero row, proves it is not)."""
    A = [row[:] for row in M]
    n = len(A)
    for i in range(n):
        p = A[i][i]
        if p < 0:
            return False
        if p == 0:
            if any(A[i][j] != 0 for j in range(i + 1, n)):
                return False
            continue
        for r in range(i + 1, n):
            f = A[r][i] / p
            if f:
                for c in range(i + 1, n):
                    A[r][c] -= f * A[i][c]
    return True



@dataclass(frozen=True)
class MomentRayCertificate:
    """A moment functional at infinity proving that the order-``order`` relaxation has no
    SOS certificate of any bound (see the module docstring). ``verify()`` rechecks it from the
    polynomials in exact rationals."""

    variables: tuple[str, ...]
    objective: Polynomial
    ineqs: tuple[Polynomial, ...]
    eqs: tuple[Polynomial, ...]
    sense: str
    order: int
    monomials: tuple[tuple[int, ...], ...]     # degree-2k monomials (sorted index tuples)
    values: tuple[Fraction, ...]               # L at each

    def _L(self) -> dict:
        return dict(zip(self.monomials, self.values))

    def value(self) -> Fraction:
        """``L(f)`` (``L(-f)`` for max): negative when the certificate holds."""
        L, k2 = self._L(), 2 * self.order
        sign = 1 if self.sense == "min" else -1
        return sign * sum((Fraction(c) * L.get(m, 0)
                           for m, c in _top(_terms(self.objective, self.variables), k2)),
                          Fraction(0))

    def why_not(self) -> str | None:
        """None when the functional proves the claim, else what fails (exact arithmetic)."""
        k, n = self.order, len(self.variables)
        if len(self.monomials) != len(self.values) or any(len(m) != 2 * k for m in self.monomials):
            return "the functional is not on monomials of degree 2k"
        # the exact check is pure-Python rationals: a functional larger than the search ever
        # writes (a tampered order) is refused before its blocks are listed
        if comb(n + k - 1, k) > MAX_TOP_BLOCK or comb(n + 2 * k - 1, 2 * k) > MAX_MOMENTS:
            return (f"the functional is larger than verify() checks (top block of {comb(n + k - 1, k):,} "
                    f"rows; limits MAX_TOP_BLOCK={MAX_TOP_BLOCK}, MAX_MOMENTS={MAX_MOMENTS:,})")
        L = self._L()
        if not self.value() < 0:
            return "L(f) is not negative"
        basis = _monos(n, k)
        if not _psd_exact([[L.get(_merge(a, b), Fraction(0)) for b in basis] for a in basis]):
            return "the top block of the moment matrix is not PSD"
        for j, g in enumerate(self.ineqs):
            if g.degree > 2 * k:
                return f"inequality {j} has degree above 2k"
            if g.degree % 2:
                continue
            top = _top(_terms(g, self.variables), g.degree)
            sub = _monos(n, k - g.degree // 2)
            M = [[sum((Fraction(c) * L.get(_merge(_merge(a, b), m), 0) for m, c in top),
                      Fraction(0)) for b in sub] for a in sub]
            if not _psd_exact(M):
                return f"the localizing matrix of inequality {j} is not PSD"
        for j, h in enumerate(self.eqs):
            if h.degree > 2 * k:
                return f"equality {j} has degree above 2k"
            top = _top(_terms(h, self.variables), h.degree)
            for a in _monos(n, 2 * k - h.degree):
                if sum((Fraction(c) * L.get(_merge(a, m), 0) for m, c in top), Fraction(0)):
                    return f"equality {j} is not annihilated"
        return None

    def verify(self) -> bool:
        """Whether the functional proves that no SOS certificate exists at this order."""
        try:
            return self.why_not() is None
        except (ValueError, TypeError, IndexError, KeyError, ZeroDivisionError, OverflowError):
            return False    # data that is not a certificate proves nothing

    def to_json(self) -> str:
        """Plain JSON: the polynomials (terms as {variable: exponent}, coefficients as float
        hex), the monomials as lists of variable indices, the values as ``p/q``."""
        poly = lambda p: [[e, float(c).hex()] for e, c in p.terms()]  # noqa: E731
        return json.dumps(dict(
            format=FORMAT, variables=list(self.variables), sense=self.sense, order=self.order,
            objective=poly(self.objective), ineqs=[poly(g) for g in self.ineqs],
            eqs=[poly(h) for h in self.eqs], monomials=[list(m) for m in self.monomials],
            values=[f"{v.numerator}/{v.denominator}" for v in self.values]))

    @classmethod
    def from_json(cls, text: str) -> "MomentRayCertificate":
        """Rebuild a certificate written by :meth:`to_json`.

        >>> from polylip.poly import variables
        >>> from polylip.model import POP
        >>> x, y = variables("x y")
        >>> cert = find_moment_ray(POP(x * y, ineqs=[x, 1 - x, y, 1 - y]), order=1)
        >>> MomentRayCertificate.from_json(cert.to_json()).verify()
        True
        """
        data = cj.load_document(text, FORMAT)
        names = cj.names(cj.field(data, "variables"))
        n = len(names)

        def polys(key):
            return tuple(cj.polynomial_from_terms(p, names, f"{key}[{i}]")
                         for i, p in enumerate(cj.array(cj.field(data, key), key)))

        sense = cj.field(data, "sense")
        if sense not in ("min", "max"):
            raise ModelError(f"sense: expected 'min' or 'max', got {str(sense)[:40]!r}")
        order = cj.integer(cj.field(data, "order"), "order", 1, cj.MAX_EXPONENT)
        monomials = tuple(tuple(cj.integer(i, f"monomials[{t}][{j}]", 0, n - 1)
                                for j, i in enumerate(cj.array(m, f"monomials[{t}]", 2 * order)))
                          for t, m in enumerate(cj.array(cj.field(data, "monomials"), "monomials")))
        values = tuple(cj.fraction(v, f"values[{t}]") for t, v in
                       enumerate(cj.array(cj.field(data, "values"), "values", len(monomials))))
        return cls(names, cj.polynomial_from_terms(cj.field(data, "objective"), names, "objective"),
                   polys("ineqs"), polys("eqs"), sense, order, monomials, values)


def _blocks(pop, k: int):
    """The PSD blocks a moment ray must make PSD: (basis, top terms of the multiplier)."""
    n, names = pop.nvars, pop.variables
    out = [(_monos(n, k), [((), 1.0)])]
    for g in pop.ineqs:
        if g.degree % 2 == 0 and 0 < g.degree <= 2 * k:
            out.append((_monos(n, k - g.degree // 2), _top(_terms(g, names), g.degree)))
    return out


def _entry(a, b, top, index) -> dict:
    """The block entry ``L(g_top x^(a+b))`` as {monomial index: coefficient}."""
    ab = _merge(a, b)
    out: dict = {}
    for mono, c in top:
        j = index[_merge(ab, mono)]
        out[j] = out.get(j, Fraction(0)) + Fraction(c)
    return {j: v for j, v in out.items() if v}


def _linear_rows(pop, k: int, index: dict, blocks) -> tuple[list[dict], list[list[bool]]]:
    """The rows ``L(h x^a) = 0`` of the equalities, and those implied with PSD blocks: a
    diagonal entry the rows force to 0 makes its whole row of the block 0 (so the margin is
    asked of the other rows only, which the solve can meet). Returns the rows (exact dicts)
    and, per block, which of its rows are forced to 0."""
    rows: list[dict] = []
    for h in pop.eqs:
        if 0 < h.degree <= 2 * k:
            top = _top(_terms(h, pop.variables), h.degree)
            for a in _monos(pop.nvars, 2 * k - h.degree):
                r = _entry(a, (), top, index)
                if r:
                    rows.append(r)
    forced = [[False] * len(basis) for basis, _ in blocks]
    m = len(index)
    for _ in range(m):
        if rows:
            E = np.zeros((len(rows), m))
            for i, r in enumerate(rows):
                for j, v in r.items():
                    E[i, j] = float(v)
            u, sv, vt = np.linalg.svd(E, full_matrices=False)
            basis_rows = vt[sv > 1e-10 * max(1.0, sv.max(initial=0.0))]
        else:
            basis_rows = np.zeros((0, m))
        new = False
        for bi, (basis, top) in enumerate(blocks):
            for i, a in enumerate(basis):
                if forced[bi][i]:
                    continue
                d = _entry(a, a, top, index)
                vec = np.zeros(m)
                for j, v in d.items():
                    vec[j] = float(v)
                if not d or np.linalg.norm(vec - basis_rows.T @ (basis_rows @ vec)) <= \
                        1e-9 * max(1.0, np.linalg.norm(vec)):
                    forced[bi][i] = True
                    new = True
                    rows.extend(r for r in (_entry(a, b, top, index) for b in basis) if r)
        if not new:
            break
    return rows, forced


def _lmi(pop, k: int, monos: list, index: dict, blocks, rows, forced):
    """The margin SDP (see the module docstring) as an LMIProblem over (L, t)."""
    n, m = pop.nvars, len(monos)
    Gs, hs, sizes = [], [], []
    for (basis, top), zero in zip(blocks, forced):
        s = len(basis)
        ri, ci, vals = [], [], []
        for i, a in enumerate(basis):
            for j, b in enumerate(basis):
                for col, c in _entry(a, b, top, index).items():
                    ri.append(i * s + j)
                    ci.append(col)
                    vals.append(float(c))
            if not zero[i]:
                ri.append(i * s + i)
                ci.append(m)
                vals.append(-1.0)      # block - t D (D: the rows not forced to 0)
        Gs.append(sp.csr_matrix((vals, (ri, ci)), shape=(s * s, m + 1)))
        hs.append(np.zeros(s * s))
        sizes.append(s)
    sign = 1.0 if pop.sense == "min" else -1.0
    fobj = np.zeros(m + 1)
    for mono, c in _top(_terms(pop.objective, pop.variables), 2 * k):
        fobj[index[mono]] += sign * c
    # -L(f) - t >= 0 as a 1 x 1 block
    Gs.append(sp.csr_matrix(np.concatenate([-fobj[:m], [-1.0]])[None, :]))
    hs.append(np.zeros(1))
    sizes.append(1)
    trace = np.zeros(m + 1)
    for a in _monos(n, k):
        trace[index[_merge(a, a)]] += 1.0
    dense = []
    for r in rows:
        v = np.zeros(m + 1)
        for j, c in r.items():
            v[j] = float(c)
        dense.append(v)
    A = sp.csr_matrix(np.array(dense + [trace]))
    b = np.zeros(A.shape[0])
    b[-1] = 1.0
    c = np.zeros(m + 1)
    c[m] = -1.0                        # maximize t
    return LMIProblem(c=c, offset=0.0, G=tuple(Gs), h=tuple(hs), sizes=tuple(sizes), A=A, b=b)


def _project_exact(values: list[Fraction], rows: list[dict]) -> list[Fraction]:
    """``values`` projected on ``{L : r(L) = 0 for each row}`` in exact rationals (an
    orthogonal basis of the rows by Gram-Schmidt, then ``v - sum <v, q> q / <q, q>``)."""
    basis = []
    for r in rows:
        v = dict(r)
        for q, qq in basis:
            dot = sum((v.get(j, 0) * w for j, w in q.items()), Fraction(0))
            if dot:
                f = dot / qq
                for j, w in q.items():
                    v[j] = v.get(j, 0) - f * w
        v = {j: w for j, w in v.items() if w}
        if v:
            basis.append((v, sum((w * w for w in v.values()), Fraction(0))))
    out = list(values)
    for q, qq in basis:
        dot = sum((out[j] * w for j, w in q.items()), Fraction(0))
        if dot:
            f = dot / qq
            for j, w in q.items():
                out[j] -= f * w
    return out


def find_moment_ray(pop, order: int, *, solver: str = "clarabel",
                    time_limit: float | None = 10.0) -> MomentRayCertificate | None:
    """A :class:`MomentRayCertificate` that the order-``order`` relaxation of ``pop`` has no
    finite bound, or None (none found with a margin, the problem too large, binary or spin
    variables, or the solver unavailable)."""
    n, k = pop.nvars, int(order)
    if n == 0 or k < 1 or pop.binary or pop.spin or pop.objective.degree < 2 * k:
        return None  # L(f) = 0 for deg f < 2k: no ray at infinity
    if comb(n + k - 1, k) > MAX_TOP_BLOCK or comb(n + 2 * k - 1, 2 * k) > MAX_MOMENTS:
        return None
    if any(p.degree > 2 * k for p in (*pop.ineqs, *pop.eqs)):
        return None
    if sum(comb(n + 2 * k - h.degree - 1, 2 * k - h.degree) for h in pop.eqs
           if 0 < h.degree <= 2 * k) > MAX_EQ_ROWS:
        return None
    monos = _monos(n, 2 * k)
    index = {m: i for i, m in enumerate(monos)}
    blocks = _blocks(pop, k)
    try:
        rows, forced = _linear_rows(pop, k, index, blocks)
        if all(all(z) for z in forced[:1]):
            return None  # the whole top block is forced to 0: L = 0
        raw = registry.solve_sdp(_lmi(pop, k, monos, index, blocks, rows, forced), solver,
                                 time_limit=time_limit)
    except Exception as exc:  # noqa: BLE001 - no ray is only no proof
        log.info("moment-ray search failed: %s", exc)
        return None
    if raw.status != "optimal" or raw.x is None or not -raw.value >= MIN_MARGIN:
        log.info("no moment ray with a margin (%s, %s)", raw.status, raw.value)
        return None
    scale = 2 ** ROUND_BITS
    vals = [Fraction(int(round(float(v) * scale)), scale) for v in raw.x[: len(monos)]]
    vals = _project_exact(vals, rows)
    keep = [(m, v) for m, v in zip(monos, vals) if v]
    cert = MomentRayCertificate(tuple(pop.variables), pop.objective, tuple(pop.ineqs),
                                tuple(pop.eqs), pop.sense, k, tuple(m for m, _ in keep),
                                tuple(v for _, v in keep))
    why = cert.why_not()
    if why is not None:
        log.info("the rounded moment ray does not check out: %s", why)
        return None
    return cert


def settle_relaxation_claim(pop, result, time_budget: float | None = None):
    """An "unbounded" ``result`` that no feasible ray of the POP proves, checked: kept
    "unbounded" (not ``certified``: the POP may be bounded) with the
    :class:`MomentRayCertificate` when one proves that the relaxation of its order has no SOS
    certificate of any bound; else "inaccurate", with a message that says the claim is the
    solver's and unproven (what is known, and what to try)."""
    if result.status != "unbounded" or result.certified:
        return result
    k = result.order
    cert = None
    if k is not None:
        try:
            cert = find_moment_ray(pop, k, time_limit=time_budget)
        except (ValueError, ArithmeticError, OverflowError, MemoryError) as exc:
            log.info("moment-ray search failed: %s", exc)
    solver_said = result.message or ""
    nxt = "order='auto'" if k is None else f"order={k + 1}, order='auto'"
    if cert is not None:
        return replace(result, certificate=cert, message=(
            f"proven for the relaxation, not for the POP: no sum-of-squares certificate of any "
            f"bound exists at order {k} (its SOS side is infeasible: a moment functional at "
            f"infinity with L(f) = {float(cert.value()):.3g} < 0 and PSD moment and localizing "
            f"matrices, checked in exact arithmetic), so the relaxation of order {k} is "
            f"unbounded; the POP itself may be bounded (no feasible ray of it was found): try "
            f"{nxt} (solver: {solver_said})"))
    return replace(result, status="inaccurate", message=(
        f"the solver claimed that the relaxation of order {k} gives no finite bound, which is "
        f"not proven: no feasible ray of the POP and no moment ray of the relaxation checks "
        f"out, so neither the POP nor the relaxation is known to be unbounded; try {nxt}, or "
        f"bounds on the variables (solver: {solver_said})"))

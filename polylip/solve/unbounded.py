"""Unboundedness claims, checked: "unbounded" proven by a feasible ray of the POP itself.

A solver's value on an unbounded POP is not a bound, and its "unbounded" is a floating-point
claim about the relaxation. ``min x`` at order 1 is the case in point: the SOS side is
*weakly* infeasible (``x - c`` is a limit of sums of squares plus constants, never one), so
Clarabel's moment side says "Solved" at about ``-1 / (4 tol)`` (-4.7e7) and there is no Farkas
ray of the relaxation to check (the recession cone of ``[[1, y1], [y1, y2]] >= 0`` has
``y1 = 0``). The POP, though, has a certificate anyone can recheck:

    x(t) = x0 + t d,   t >= 0,

with, as univariate polynomials in ``t`` computed in exact rationals,

* ``f(x(t))`` of degree >= 1 with a negative leading coefficient (for ``max``: ``-f``),
* every inequality ``g_j(x(t))`` zero, or with a positive leading coefficient,
* every equality ``h_k(x(t))`` identically zero,
* every binary or spin variable constant (``d_i = 0``) at a value it may take.

Then each ``g_j(x(t)) >= 0`` and ``h_k(x(t)) = 0`` for every ``t`` past the largest real root
of the ``g_j``'s, so ``x(t)`` is feasible for all large ``t`` while ``f(x(t)) -> -inf``: the
infimum is ``-inf``, and every relaxation of every order is unbounded too. (The converse does
not hold: a POP unbounded only along a curve, such as ``min x`` on ``xy = 1``, has no ray; its
"unbounded" is then the relaxation's claim, kept only when a moment ray proves it
(:mod:`polylip.solve.moment_ray`) and "inaccurate" otherwise.)

:func:`find_ray` tries a few rays, cheaply: directions from the solver's point (Clarabel's
-4.7e7 is a point far along the ray), from ``x0 = 0`` and from that point, and the coordinate
directions ``+-e_i`` and ``+-(1, ..., 1)`` from 0, and ``+-e_i`` from ``+-e_j``, on small
problems; each direction is rounded to a dyadic with 20 bits
(components below 1e-6 of the largest set to zero) so that exact cancellations, such as
``x - y == 0`` along ``d = (1, 1)``, survive the solver's noise. :func:`settle_unbounded`
applies it to a result: an uncertified "unbounded" becomes certified, an "optimal" bound that
is not certified (or an "inaccurate" or "failed" solve) becomes "unbounded" with the ray.

Examples
--------
>>> from polylip.poly import variables
>>> from polylip.model import POP
>>> x, y = variables("x y")
>>> ray = find_ray(POP(x + y, eqs=[x - y], ineqs=[1 - x]), hints=[(-4.7e7, -4.7e7 + 0.3)])
>>> ray.d, ray.verify()
((Fraction(-1, 1), Fraction(-1, 1)), True)
>>> find_ray(POP(x**2 + y**2)) is None
True
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass, replace
from fractions import Fraction

import numpy as np

from polylip.errors import ModelError
from polylip.poly import Polynomial
from polylip.solve import certificate_json as cj
from polylip.solve.moment_ray import settle_relaxation_claim
from polylip.solve.result import ORDER_HINT

__all__ = ["RayCertificate", "find_ray", "settle_unbounded", "FORMAT"]

log = logging.getLogger(__name__)

FORMAT = "polylip-ray-certificate/1"

#: No ray is tried when the problem has more terms (objective and constraints) than this, or a
#: degree above MAX_DEGREE: each try expands every polynomial along the ray in exact
#: rationals (pure Python; 2,000 terms of degree 4 take about 30 ms per try).
MAX_TERMS = 20_000
MAX_DEGREE = 60
#: The coordinate directions +-e_i are tried only up to this many variables (2n tries).
MAX_COORDINATE_VARS = 30
#: ... and the rays from x0 = +-e_j along +-e_i (4 n (n - 1) tries) up to this many.
MAX_OFFSET_VARS = 8
#: Seconds for all tries together (checked between tries), except that a problem of at most
#: SMALL_TERMS terms always gets its first SMALL_TRIES tries (a few milliseconds of CPU).
SMALL_TERMS = 200
SMALL_TRIES = 64
TIME_BUDGET = 2.0
#: Directions are rounded to multiples of 2^-DIRECTION_BITS of their largest component.
DIRECTION_BITS = 20


def _along(p: Polynomial, x0: dict, d: dict) -> list[Fraction]:
    """Coefficients (low to high) of ``p(x0 + t d)`` in ``t``, exactly."""
    out: list[Fraction] = [Fraction(0)]
    for exps, c in p.terms():
        term = [Fraction(c)]
        for name, e in exps.items():
            a, b = x0.get(name, Fraction(0)), d.get(name, Fraction(0))
            if b == 0:
                term = [v * a ** e for v in term]
                continue
            factor = [math.comb(e, j) * a ** (e - j) * b ** j for j in range(e + 1)]
            new = [Fraction(0)] * (len(term) + e)
            for i, u in enumerate(term):
                if u:
                    for j, w in enumerate(factor):
                        new[i + j] += u * w
            term = new
        if len(term) > len(out):
            out.extend([Fraction(0)] * (len(term) - len(out)))
        for i, u in enumerate(term):
            out[i] += u
    while len(out) > 1 and out[-1] == 0:
        out.pop()
    return out


def _leading(coeffs: list[Fraction]) -> tuple[int, Fraction]:
    """(degree, leading coefficient) of a coefficient list (degree 0, 0 for the zero one)."""
    for k in range(len(coeffs) - 1, -1, -1):
        if coeffs[k] != 0:
            return k, coeffs[k]
    return 0, Fraction(0)


@dataclass(frozen=True)
class RayCertificate:
    """A feasible ray ``x0 + t d`` along which the objective goes to ``-inf`` (``+inf`` for
    ``max``): a proof that the POP is unbounded (see the module docstring).

    ``verify()`` rechecks it in exact rational arithmetic from the polynomials it holds;
    ``to_json()`` exports it (every number as ``p/q``)."""

    variables: tuple[str, ...]
    objective: Polynomial          # the objective as given; sense says which way it goes
    ineqs: tuple[Polynomial, ...]
    eqs: tuple[Polynomial, ...]
    binary: tuple[str, ...]
    spin: tuple[str, ...]
    sense: str
    x0: tuple[Fraction, ...]
    d: tuple[Fraction, ...]

    def why_not(self) -> str | None:
        """None when the ray proves unboundedness, else what fails (exact arithmetic)."""
        if len(self.x0) != len(self.variables) or len(self.d) != len(self.variables):
            return "the ray's length differs from the number of variables"
        polys = [self.objective, *self.ineqs, *self.eqs]
        if sum(p.nterms for p in polys) > MAX_TERMS or max(p.degree for p in polys) > MAX_DEGREE:
            # the exact expansion along the ray costs (terms x degree^2) rationals: beyond what
            # find_ray ever certifies (a tampered file) it is not attempted
            return (f"the polynomials are larger than verify() checks ({MAX_TERMS:,} terms, "
                    f"degree {MAX_DEGREE})")
        x0, d = dict(zip(self.variables, self.x0)), dict(zip(self.variables, self.d))
        for name in self.binary:
            if d[name] != 0 or x0[name] not in (0, 1):
                return f"binary variable {name} is not constant at 0 or 1 along the ray"
        for name in self.spin:
            if d[name] != 0 or x0[name] not in (-1, 1):
                return f"spin variable {name} is not constant at -1 or 1 along the ray"
        sign = 1 if self.sense == "min" else -1
        k, lead = _leading(_along(self.objective, x0, d))
        if k < 1 or sign * lead >= 0:
            return "the objective does not go to " + ("-inf" if sign > 0 else "+inf") + " along it"
        for j, g in enumerate(self.ineqs):
            _, lead = _leading(_along(g, x0, d))
            if lead < 0:
                return f"inequality {j} is eventually violated along it"
        for j, h in enumerate(self.eqs):
            if any(c != 0 for c in _along(h, x0, d)):
                return f"equality {j} does not vanish along it"
        return None

    def verify(self) -> bool:
        """Whether the ray proves the POP unbounded (exact rationals).

        >>> from polylip.poly import variables
        >>> x, = variables("x")
        >>> one = (Fraction(0),)
        >>> RayCertificate(("x",), x, (1 - x,), (), (), (), "min", one, (Fraction(-1),)).verify()
        True
        >>> RayCertificate(("x",), x, (1 + x,), (), (), (), "min", one, (Fraction(-1),)).verify()
        False
        """
        try:
            return self.why_not() is None
        except (ValueError, TypeError, IndexError, KeyError, ZeroDivisionError, OverflowError):
            return False    # data that is not a certificate proves nothing

    def describe(self, k: int = 6) -> str:
        def vec(v):
            head = ", ".join(f"{float(c):.4g}" for c in v[:k])
            return f"({head}{', ...' if len(v) > k else ''})"
        return f"x0 = {vec(self.x0)}, d = {vec(self.d)}"

    def to_json(self) -> str:
        """Plain JSON: the polynomials (terms as {variable: exponent}) and the ray as fractions."""
        frac = lambda v: [f"{c.numerator}/{c.denominator}" for c in v]  # noqa: E731
        poly = lambda p: [[e, float(c).hex()] for e, c in p.terms()]  # noqa: E731
        return json.dumps(dict(
            format=FORMAT, variables=list(self.variables), sense=self.sense,
            objective=poly(self.objective), ineqs=[poly(g) for g in self.ineqs],
            eqs=[poly(h) for h in self.eqs], binary=list(self.binary), spin=list(self.spin),
            x0=frac(self.x0), d=frac(self.d)))

    @classmethod
    def from_json(cls, text: str) -> "RayCertificate":
        """Rebuild a certificate written by :meth:`to_json`."""
        data = cj.load_document(text, FORMAT)
        names = cj.names(cj.field(data, "variables"))

        def polys(key):
            return tuple(cj.polynomial_from_terms(p, names, f"{key}[{i}]")
                         for i, p in enumerate(cj.array(cj.field(data, key), key)))

        def subset(key):
            out = tuple(cj.array(cj.field(data, key), key))
            if not all(isinstance(v, str) and v in names for v in out):
                raise ModelError(f"{key}: expected names of the certificate's variables")
            return out

        def point(key):
            return tuple(cj.fraction(v, f"{key}[{i}]")
                         for i, v in enumerate(cj.array(cj.field(data, key), key, len(names))))

        sense = cj.field(data, "sense")
        if sense not in ("min", "max"):
            raise ModelError(f"sense: expected 'min' or 'max', got {str(sense)[:40]!r}")
        return cls(names, cj.polynomial_from_terms(cj.field(data, "objective"), names, "objective"),
                   polys("ineqs"), polys("eqs"), subset("binary"), subset("spin"), sense,
                   point("x0"), point("d"))


def _dyadic(v: np.ndarray) -> tuple[Fraction, ...] | None:
    """``v / max|v|`` rounded to DIRECTION_BITS bits, tiny components zeroed (None: no direction)."""
    v = np.asarray(v, dtype=float)
    if v.size == 0 or not np.isfinite(v).all():
        return None
    top = float(np.abs(v).max())
    if top == 0.0:
        return None
    u = v / top
    u[np.abs(u) < 1e-6] = 0.0
    scale = 2 ** DIRECTION_BITS
    return tuple(Fraction(int(round(c * scale)), scale) for c in u)


def _rounded_point(p: np.ndarray) -> tuple[Fraction, ...] | None:
    p = np.asarray(p, dtype=float)
    if not np.isfinite(p).all():
        return None
    return tuple(Fraction(int(round(c * 2 ** 20)), 2 ** 20) if abs(c) < 2 ** 30
                 else Fraction(float(c)) for c in p)


def _snap_boolean(pop, x0):
    """``x0`` with binary / spin coordinates rounded to their nearest allowed value."""
    out = list(x0)
    for i, name in enumerate(pop.variables):
        if name in pop.binary:
            out[i] = Fraction(int(out[i] >= Fraction(1, 2)))
        elif name in pop.spin:
            out[i] = Fraction(1 if out[i] >= 0 else -1)
    return tuple(out)


def find_ray(pop, hints=(), *, time_budget: float = TIME_BUDGET) -> RayCertificate | None:
    """A :class:`RayCertificate` that ``pop`` is unbounded, or None when none of the rays tried
    (directions from each point of ``hints``, then the coordinate directions on small
    problems; see the module docstring) checks out, or the problem is too large to try."""
    polys = [pop.objective, *pop.ineqs, *pop.eqs]
    if sum(p.nterms for p in polys) > MAX_TERMS or max(p.degree for p in polys) > MAX_DEGREE:
        return None
    n = pop.nvars
    if n == 0 or pop.objective.degree < 1:
        return None
    zero = tuple(Fraction(0) for _ in range(n))
    tries = []
    for h in hints:
        h = np.asarray(h, dtype=float).ravel()
        if h.size != n:
            continue
        d = _dyadic(h)
        if d is None:
            continue
        tries.append((zero, d))
        x0 = _rounded_point(h)
        if x0 is not None:
            tries.append((x0, d))
    def unit(i, s):
        return tuple(Fraction(s) if j == i else Fraction(0) for j in range(n))

    if n <= MAX_COORDINATE_VARS:
        for i in range(n):
            for s in (1, -1):
                tries.append((zero, unit(i, s)))
        for s in (1, -1):
            tries.append((zero, tuple(Fraction(s) for _ in range(n))))
    if n <= MAX_OFFSET_VARS:
        # from x0 = +-e_j: a term such as nan * x^2 ("nan" is a variable name) goes to -inf
        # along x only where nan = -1 (it was an uncertified "unbounded"; POP QA round)
        for j in range(n):
            for sj in (1, -1):
                for i in range(n):
                    if i != j:
                        for s in (1, -1):
                            tries.append((unit(j, sj), unit(i, s)))
    t0 = time.perf_counter()
    seen = set()
    # a small problem always gets its first tries: under load 12 `polylip solve` on
    # "minimize: x" spent its 2 s of wall time before the second try (-e_x) and kept the
    # relaxation's uncertified "unbounded" (POP QA round); each try costs microseconds there
    small = sum(p.nterms for p in polys) <= SMALL_TERMS
    for x0, d in tries:
        x0 = _snap_boolean(pop, x0)
        d = tuple(Fraction(0) if (v in pop.binary or v in pop.spin) else c
                  for v, c in zip(pop.variables, d))
        if (x0, d) in seen or not any(d):
            continue
        seen.add((x0, d))
        if (not small or len(seen) > SMALL_TRIES) and time.perf_counter() - t0 > time_budget:
            log.info("no ray found within %.3g s", time_budget)
            return None
        cert = RayCertificate(tuple(pop.variables), pop.objective, tuple(pop.ineqs), tuple(pop.eqs),
                              tuple(pop.binary), tuple(pop.spin), pop.sense, x0, d)
        if cert.verify():
            return cert
    return None


def hints(result, pop) -> list:
    """The points of ``result`` a ray may start from or point to: its candidate, if any."""
    if result.candidate is None:
        return []
    try:
        return [[float(result.candidate[v]) for v in pop.variables]]
    except (KeyError, TypeError, ValueError):
        return []


def settle_unbounded(pop, result, time_budget: float = TIME_BUDGET):
    """``result`` with a proven status where ``pop`` has a feasible ray (see module): an
    "unbounded" claim is certified; an "optimal" bound that is not certified, an "inaccurate"
    or a "failed" solve becomes "unbounded" (certified, no bound). Any other result, or one
    without a ray, is returned unchanged, but an "unbounded" one: it is kept only when a
    moment ray proves the relaxation unbounded at its order, and is "inaccurate" otherwise
    (:func:`polylip.solve.moment_ray.settle_relaxation_claim`)."""
    if result.status == "unbounded" and result.certified:
        return result
    if result.status not in ("unbounded", "inaccurate", "failed") and \
            not (result.status == "optimal" and not result.certified):
        return result
    t0 = time.perf_counter()
    try:
        ray = find_ray(pop, hints(result, pop), time_budget=time_budget)
    except (ValueError, ArithmeticError, OverflowError, MemoryError) as exc:
        log.info("ray search failed: %s", exc)
        ray = None
    seconds = time.perf_counter() - t0
    if ray is None:
        # no ray of the POP: the relaxation's own claim is checked, else not made
        # (solve/moment_ray.py)
        left = None if time_budget is None else max(0.1, time_budget - seconds)
        return settle_relaxation_claim(pop, result, left)
    log.info("a feasible ray proves the POP unbounded: %s", ray.describe())
    proof = (f"certified: the POP is unbounded: x0 + t d with {ray.describe()} is feasible "
             f"for all large t and the objective goes to {'-' if pop.sense == 'min' else '+'}inf "
             "along it (checked in exact arithmetic), so no relaxation has a finite bound")
    if result.status == "unbounded":
        message = proof  # the relaxation's hints (try a higher order) no longer apply
    elif result.status == "optimal":
        message = (f"the solver reported optimal with the value {result.bound:.8g}, which is not "
                   f"a bound (not certified: {result.message.split(ORDER_HINT)[0]}); {proof}")
    else:
        message = f"the solve ended {result.status} ({result.message}); {proof}"
    numerical = result.numerical_bound if result.numerical_bound is not None else result.bound
    return replace(result, status="unbounded", bound=None, certified=True, certificate=ray,
                   numerical_bound=numerical, is_global=False, minimizers=(), accuracy=None,
                   certify_seconds=(result.certify_seconds or 0.0) + seconds, message=message)

"""Scaling a POP before it is relaxed, and undoing it in the result.

Interior-point solvers work in a fixed floating-point range: a problem whose variables live in
``[0, 10,000]`` or whose coefficients span twelve orders of magnitude gives moment matrices
with entries from 1 to 10^16 and the solver returns wrong statuses (GLOBALLib ex3_1_1 came back
"infeasible" at order 2; ``x^2 - 2x + 1e12`` too). The same problem, written in variables
scaled to ``[-1, 1]`` and with each polynomial divided by its largest coefficient, is well
conditioned; its optimum is the original one up to the known affine map, so nothing is lost.

:func:`scale_pop` substitutes ``x_i = c_i + r_i z_i`` for every variable whose box
``[c_i - r_i, c_i + r_i]`` (``r_i`` rounded up to a power of two) the constraints imply (``box_from_constraints``; binary and spin
variables are left alone), then divides the objective and each constraint by the power of
two nearest the largest absolute value of its coefficients (so that a certificate of the scaled problem is one of the
original: the rounding a shifted centre causes is measured exactly and paid for, see
:func:`scale_pop`). :meth:`Scaling.unscale_result` maps the bound back
(times the objective's scale) and the candidate point and the minimizers back (``x = c + r z``),
and re-evaluates them on the original problem (a minimizer is kept when it is feasible there
and attains the bound), so ``candidate_value``, ``gap`` and ``is_global`` are
facts of the problem the user wrote.

Examples
--------
>>> from polylip import POP
>>> from polylip.poly import variables
>>> x, = variables("x")
>>> scaled, how = scale_pop(POP(x**2 - 2*x + 1e12, ineqs=[x, 1e4 - x]))
>>> how.center.tolist(), how.radius.tolist()    # the radius rounded up to a power of two
([5000.0], [8192.0])
>>> how.objective_offset, how.objective_scale   # f(5000 + 8192 z) = 2^26 z^2 + 81903616 z + ...
(1000024990000.0, 67108864.0)
>>> how.exact, how.objective_error              # the shift by 5000 rounds nothing here
(True, 0.0)
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction

import numpy as np

from polylip.poly import Polynomial
from polylip.runtime import check_deadline
from polylip.solve.box import box_from_constraints
from polylip.solve.minimizers import attains
from polylip.solve.result import Result

__all__ = ["Scaling", "scale_pop", "needs_scaling"]

#: A problem is scaled when some variable's box is wider than this, or when the coefficients of
#: a polynomial span more than COEFF_SPAN (max |c| / min |c|) or exceed COEFF_MAX in magnitude.
#: Below these the relaxation is solved as written (scaling would only change round-off).
BOX_MAX = 10.0
COEFF_SPAN = 1e6
COEFF_MAX = 1e4


@dataclass(frozen=True)
class Scaling:
    """The affine change of variables ``x = center + radius * z`` and the objective's factor."""

    center: np.ndarray
    radius: np.ndarray
    objective_scale: float
    objective_offset: float = 0.0
    #: a bound on the exact rounding error of the scaled objective over the box (see scale_pop)
    objective_error: float = 0.0
    #: whether a certificate of the scaled problem proves a bound of the original one
    exact: bool = True
    why: str = ""

    def to_original(self, z) -> np.ndarray:
        return self.center + self.radius * np.asarray(z, dtype=float)

    def unscale_result(self, result: Result, pop) -> Result:
        """The result of the scaled problem as a result of ``pop`` (the unscaled one)."""
        s, c0 = self.objective_scale, self.objective_offset
        out = -np.inf if result.sense == "min" else np.inf
        bound = None
        certified = bool(result.certified)
        if certified and not self.exact:
            certified = False   # the scaled problem is not exactly the original one
            result = replace(result, bound=result.numerical_bound, is_global=False,
                             message=f"{result.message}; numerical only: {self.why}, so the "
                                     "scaled problem's certificate does not prove this bound")
        if result.bound is not None:
            bound = float(result.bound) * s
            if certified and Fraction(bound) != Fraction(float(result.bound)) * Fraction(float(s)):
                # a rounding is within half an ulp: step outward past it (a power-of-two
                # scale is exact, and an exact 0 stays 0, not -5e-324)
                bound = float(np.nextafter(bound, out))
            bound = bound + c0
            if certified and c0 != 0.0:
                bound = float(np.nextafter(bound, out))
            if certified and self.objective_error > 0:  # the objective's rounding (scale_pop)
                bound = float(np.nextafter(bound + (-1 if result.sense == "min" else 1)
                                           * self.objective_error, out))
        numerical = None if result.numerical_bound is None else float(result.numerical_bound) * s + c0
        accuracy = None if result.accuracy is None else float(result.accuracy) * s
        candidate = cand_value = None
        is_global = False
        if result.candidate is not None:
            z = np.array([result.candidate[v] for v in pop.variables], dtype=float)
            point = self.to_original(z)
            candidate = dict(zip(pop.variables, point.tolist()))
            if pop.is_feasible(point):
                cand_value = float(pop.evaluate(point))
                if bound is not None and certified:
                    is_global = abs(cand_value - bound) <= 1e-6 * max(1.0, abs(bound))
        minimizers = []
        # mapped back and checked again on the original problem, and only under a proven bound
        # (the certify stage's rule: no minimizers without one)
        for m in (result.minimizers if certified else ()):
            point = self.to_original([m[v] for v in pop.variables])
            if pop.is_feasible(point) and bound is not None \
                    and attains(float(pop.evaluate(point)), bound, accuracy):
                minimizers.append(dict(zip(pop.variables, point.tolist())))
        message = result.message
        if result.status == "optimal":
            message = (f"{message}; solved in scaled variables (objective / {s:.3g}, box to "
                       "[-1, 1])")
        return replace(result, bound=bound, numerical_bound=numerical, accuracy=accuracy,
                       certified=certified,
                       candidate=candidate,
                       candidate_value=cand_value, is_global=bool(is_global), message=message,
                       minimizers=tuple(minimizers))


def _norm(p: Polynomial) -> float:
    return float(np.abs(p.coeffs).max(initial=0.0))


def _affine(p: Polynomial, center: np.ndarray, radius: np.ndarray) -> Polynomial:
    """``p(center + radius * z)`` in the same variable names."""
    q = p.shift(center)
    if q.nterms == 0:
        return q
    ext = np.append(radius, 1.0)
    factor = ext[q.rows].prod(axis=1) if q.rows.shape[1] else np.ones(q.nterms)
    return Polynomial(q.variables, q.rows, q.coeffs * factor)


def needs_scaling(pop, box_max: float = BOX_MAX, timed: bool = False) -> bool:
    """Whether :func:`scale_pop` would change the conditioning of ``pop`` (see the thresholds;
    ``box_max`` in place of BOX_MAX: the LP hierarchy asks with 1, see solve/pipeline.py)."""
    lo, hi = box_from_constraints(pop.nvars, pop.ineqs, pop.eqs, pop.binary_mask, pop.spin_mask,
                                  timed=timed)
    finite = np.isfinite(lo) & np.isfinite(hi)
    lo_f, hi_f = lo[finite], hi[finite]
    if np.any((hi_f - lo_f) / 2 > box_max) or np.any(np.abs(lo_f + hi_f) / 2 > box_max):
        return True
    for k, p in enumerate((pop.objective, *pop.ineqs, *pop.eqs)):
        keep = p.coeffs != 0
        if k == 0:  # the objective's constant is a shift, taken out exactly (see scale_pop)
            keep &= np.any(p.rows != -1, axis=1) if p.rows.shape[1] else np.zeros_like(keep)
        c = np.abs(p.coeffs[keep])
        # tiny coefficients too: the solvers' absolute tolerances (1e-8) swamp an objective of
        # 1e-12 (1e-300 (x^2 - x) came back -1.7e-8, certified but 1e292 times the minimum
        # -2.5e-301; found by the POP QA round); dividing by a power of two is exact
        if c.size and (c.max() > COEFF_MAX or c.max() < 1.0 / COEFF_MAX
                       or c.max() > COEFF_SPAN * c.min()):  # no overflow
            return True
    return False


def _div(p: Polynomial, s: float) -> Polynomial:
    """``p / s`` coefficient by coefficient (``Polynomial / s`` multiplies by ``1 / s``, which
    overflows for ``s = 2^-1074``: ``x^2 <= 5e-324`` died in "coefficients must be finite")."""
    return Polynomial(p.variables, p.rows, p.coeffs / s)


def _pow2(v: float) -> float:
    """The power of two nearest ``v > 0`` (in log scale): a factor that rounds nothing."""
    return float(2.0 ** np.round(np.log2(v)))


def _exact_error(p: Polynomial, center, radius, scaled: Polynomial, factor: float, const=0.0):
    """``max |p(center + radius z) - factor * scaled(z) - const|`` over ``|z_i| <= 1`` on the
    variables that have a box (the others: ``z_i = x_i`` unbounded), computed from the
    exact rational coefficients of the difference: a float, rounded up; inf when the
    difference has a term in an unbounded variable."""
    diff: dict = {}
    for row, c in zip(p.rows.tolist(), p.coeffs.tolist()):
        terms = {(): Fraction(c)}
        for i in row:
            if i < 0:
                continue
            ci, ri = Fraction(float(center[i])), Fraction(float(radius[i]))
            nxt: dict = {}
            for key, v in terms.items():
                if ci:
                    nxt[key] = nxt.get(key, 0) + v * ci
                k2 = tuple(sorted(key + (i,)))
                nxt[k2] = nxt.get(k2, 0) + v * ri
            terms = nxt
        for key, v in terms.items():
            diff[key] = diff.get(key, 0) + v
    f = Fraction(float(factor))
    for row, c in zip(scaled.rows.tolist(), scaled.coeffs.tolist()):
        key = tuple(sorted(i for i in row if i >= 0))
        diff[key] = diff.get(key, 0) - f * Fraction(c)
    diff[()] = diff.get((), 0) - Fraction(float(const))
    return diff


def _bound_error(diff: dict, bounded: np.ndarray) -> float:
    total = Fraction(0)
    for key, v in diff.items():
        if v == 0:
            continue
        if not all(bounded[i] for i in key):
            return np.inf
        total += abs(v)
    if total == 0:
        return 0.0
    out = float(total)
    return out if Fraction(out) >= total else float(np.nextafter(out, np.inf))


def _free_degree(diff: dict, bounded: np.ndarray) -> int:
    """The largest number of unbounded factors (with repetition) in a nonzero term of ``diff``."""
    return max((sum(1 for i in key if not bounded[i]) for key, v in diff.items() if v != 0),
               default=0)


def _abs_sum_up(diff: dict, bounded: np.ndarray, free_terms: bool) -> float:
    """``sum |v|`` over the terms of ``diff`` with (``free_terms``) or without an unbounded
    factor, as a float rounded up."""
    total = sum((abs(v) for key, v in diff.items()
                 if all(bounded[i] for i in key) != free_terms), Fraction(0))
    out = float(total)
    return out if Fraction(out) >= total else float(np.nextafter(out, np.inf))


#: The envelope's coefficient may be at most this fraction of the scaled polynomial's
#: even-power coefficients it lowers (or of its largest coefficient when it has none): past
#: that the rounding is not small beside the problem (a centre of 53 bits at 2e5 on a quartic
#: rounds the linear coefficient by about 4, against a leading one of 1), and a centre of
#: fewer bits is tried instead.
ENVELOPE_REL = 2.0 ** -30


def _envelope(p: Polynomial, diff: dict, bounded: np.ndarray, envelope: int, factor: float,
              sign: int, constant: bool):
    """``(p_with_envelope, error)`` paying for the rounding ``diff`` of the scaled ``p`` (see
    :func:`scale_pop`), or None when the envelope is not allowed or too large."""
    two_d = _envelope_degree(diff, bounded)
    if not envelope or two_d > envelope:
        return None
    e_b, e_f = _abs_sum_up(diff, bounded, False), _abs_sum_up(diff, bounded, True)
    e = float(np.nextafter(e_f / factor * (1 + 2 ** -50), np.inf))
    free = ~bounded
    pure = {tuple([int(i)] * two_d) for i in np.nonzero(free)[0]}
    lowered = [abs(c) for r, c in zip(p.rows.tolist(), p.coeffs.tolist())
               if tuple(v for v in r if v >= 0) in pure]
    ref = min(lowered) if len(lowered) == len(pure) else _norm(p)
    if not e <= ENVELOPE_REL * ref:
        return None
    return _with_envelope(p, free, two_d, e, sign, constant), e_b, e_f


def _with_envelope(p: Polynomial, free: np.ndarray, two_d: int, e: float, sign: int,
                   constant: bool) -> Polynomial:
    """``p + sign * e * (sum_i z_i^two_d  [+ 1 if constant])`` over the variables in ``free``,
    each changed coefficient rounded away from ``p`` (down for ``sign = -1``, up for +1), so
    the result is below (above) the exact sum everywhere: every monomial changed is an even
    power or the constant, nonnegative."""
    width = max(p.rows.shape[1], two_d)
    rows = [tuple(r) + (-1,) * (width - len(r)) for r in p.rows.tolist()]
    coeffs = dict(zip(rows, p.coeffs.tolist()))
    keys = [(int(i),) * two_d + (-1,) * (width - two_d) for i in np.nonzero(free)[0]]
    if constant:
        keys.append((-1,) * width)
    out = np.inf if sign > 0 else -np.inf
    for key in keys:
        exact = Fraction(coeffs.get(key, 0.0)) + sign * Fraction(e)
        v = float(exact)
        if (Fraction(v) < exact) if sign > 0 else (Fraction(v) > exact):
            v = float(np.nextafter(v, out))
        coeffs[key] = v
    items = [(k, v) for k, v in coeffs.items() if v != 0.0]
    return Polynomial(p.variables, np.array([k for k, _ in items], dtype=np.int64).reshape(
        len(items), width), [v for _, v in items])


def _envelope_degree(diff: dict, bounded: np.ndarray) -> int:
    """The even degree ``2d >= 2`` with ``|z^a| <= 1 + sum_i z_i^2d`` for every term of
    ``diff`` (``|z_j| <= 1`` on the bounded variables, any value on the others)."""
    k = _free_degree(diff, bounded)
    return max(2, k + (k % 2))


def _center_radius(lo, hi, keep, unshifted):
    """Centres (0 where ``unshifted``) and power-of-two radii covering ``[lo, hi]``; the
    variables in ``keep`` (no finite box, binary, spin) get centre 0 and radius 1."""
    center = np.where(unshifted, 0.0, (lo + hi) / 2)
    half = np.maximum(hi - center, center - lo)
    radius = np.where(keep, 1.0, 2.0 ** np.ceil(np.log2(np.maximum(half, 2.0 ** -1000))))
    return center, radius


def scale_pop(pop, centers=None, envelope: int = 0, timed: bool = False, radii=None):
    """The scaled POP and the :class:`Scaling` that maps its solutions back.

    ``centers`` (optional, one value per variable, NaN for none) moves the variables that have
    no finite box (and are not binary or spin) to ``x_i = centers_i + z_i``: the recentring of
    :mod:`polylip.solve.recentre`. A term of such a variable is not bounded, so its rounding
    cannot be paid for: a centre whose substitution rounds one makes ``Scaling.exact`` False
    (the caller picks centres of few bits, which round nothing on short coefficients), unless
    ``envelope`` allows paying for it.

    ``radii`` (optional, powers of two, NaN for none) rescales the variables with no finite
    box (not binary or spin) too: ``x_i = c_i + r_i z_i`` (a power of two rounds nothing).

    ``envelope`` (an even degree, 0 for none) pays for a rounding in terms of unbounded
    variables: with ``E`` the sum of the absolute rounding errors and ``2d`` the smallest even
    degree at least the number of unbounded factors of a rounded term (``2d <= envelope``),
    every such term obeys ``|z^a| <= 1 + sum_i z_i^2d`` (bounded variables in ``[-1, 1]``), so
    the objective becomes ``f_s - (E / s) sum_i z_i^2d`` (below the exact one everywhere, a
    bound of it is one of the original minus ``E``) and an inequality
    ``g_s + (E_g / s_g) (1 + sum_i z_i^2d) >= 0`` (the scaled feasible set contains the
    original's image). The objective may then be bounded where the original is not only when
    its growth does not dominate ``z_i^2d``: a relaxation that then comes out unbounded proves
    nothing, which the caller checks.

    Every factor is a power of two (the radii, rounded up, and the norms), so the scaled
    coefficients are exact where no centre is shifted; where one is (``x = c + r z`` with
    ``c != 0``) the rounding is measured exactly (:func:`_exact_error`): each inequality
    ``g_s >= 0`` becomes ``g_s + E_g >= 0`` (``E_g >=`` its rounding error over the box), so
    the scaled feasible set contains the image of the original one, and the objective's
    error ``E_f`` is subtracted from a certified bound (:meth:`Scaling.unscale_result`). An
    equality whose scaling rounds, or a rounding in a term of an unbounded variable, makes
    the scaled certificate no proof for the original problem (``Scaling.exact`` False: its
    bound is reported as numerical only).

    ``timed``: the loops over the constraints check the deadline of an enclosing
    :class:`polylip.runtime.Deadline` (:class:`~polylip.runtime.TimeLimitReached`); the
    pipeline asks for it before a solve, where nothing is lost by stopping."""
    n = pop.nvars
    lo, hi = box_from_constraints(n, pop.ineqs, pop.eqs, pop.binary_mask, pop.spin_mask, timed=timed)
    keep = ~(np.isfinite(lo) & np.isfinite(hi) & (hi > lo)) | pop.binary_mask | pop.spin_mask
    lo, hi = np.where(keep, -1.0, lo), np.where(keep, 1.0, hi)
    bounded = ~keep | pop.binary_mask | pop.spin_mask
    given = np.zeros(n, dtype=bool)
    if centers is not None:
        centers = np.asarray(centers, dtype=float).ravel()
        if centers.size != n:
            raise ValueError(f"centers needs {n} values, got {centers.size}")
        given = keep & ~pop.binary_mask & ~pop.spin_mask & np.isfinite(centers)
        # the box of a recentred variable is [c - 1, c + 1]: centre c, radius 1 (its z is free)
        lo, hi = np.where(given, centers - 1.0, lo), np.where(given, centers + 1.0, hi)
    # An equality whose scaling rounds makes the scaled certificate no proof (its rounding
    # cannot be paid for like an inequality's), and with a power-of-two radius only a shifted
    # centre rounds: the variables of such an equality keep the centre 0 (GLOBALLib dispatch,
    # x1 in [50, 200]: centre 125 rounded 0.00533 x1^2, and every bound was numerical only).
    # Their z then lies in a sub-interval of [-1, 1], which conditions the relaxation as well
    # as the box allows without a shift.
    free_radii = None
    if radii is not None:
        radii = np.asarray(radii, dtype=float).ravel()
        if radii.size != n:
            raise ValueError(f"radii needs {n} values, got {radii.size}")
        m, _ = np.frexp(np.where(np.isfinite(radii), radii, 1.0))
        if np.any(np.isfinite(radii) & ((radii <= 0) | (m != 0.5))):
            raise ValueError("radii must be powers of two")
        free_radii = keep & ~pop.binary_mask & ~pop.spin_mask & np.isfinite(radii)
    unshifted = keep & ~given
    for _ in range(n + 1):
        center, radius = _center_radius(lo, hi, keep, unshifted)
        if given.any():
            center = np.where(given & ~unshifted, centers, center)
        if free_radii is not None:
            radius = np.where(free_radii, radii, radius)
        more = unshifted.copy()
        for h in pop.eqs:
            hv = np.unique(h.rows[h.rows >= 0]) if h.rows.size else np.zeros(0, dtype=int)
            if hv.size == 0 or unshifted[hv].all():
                continue
            a = _affine(h, center, radius)
            sh = _pow2(_norm(a) or 1.0)
            if _bound_error(_exact_error(h, center, radius, _div(a, sh), sh), bounded) != 0:
                more[hv] = True
        if (more == unshifted).all():
            break
        unshifted = more
    obj = _affine(pop.objective, center, radius)
    # The constant is a shift: taken out exactly and added back to the bound, it never sets the
    # scale (chained Wood's constant grows with n: dividing by it cost the certificate 0.4 at
    # n = 1,000; x^2 - 2x + 1e12 was called infeasible because of it)
    c0 = obj.constant_term()
    obj = obj - c0
    s_obj = _pow2(_norm(obj) or 1.0)
    obj_s = _div(obj, s_obj)
    exact, why = True, ""
    diff = _exact_error(pop.objective, center, radius, obj_s, s_obj, c0)
    err_obj = _bound_error(diff, bounded)
    paid = None if np.isfinite(err_obj) else \
        _envelope(obj_s, diff, bounded, envelope, s_obj, -1 if pop.sense == "min" else 1, False)
    if paid is not None:  # f >= s f_s' + c0 - E_b - E_f: the error is both parts
        obj_s, e_b, e_f = paid
        err_obj = float(np.nextafter(e_b + e_f, np.inf))
    if not np.isfinite(err_obj):
        exact, why = False, "the objective's scaling rounds a term of an unbounded variable"
    ineqs = []
    for g in pop.ineqs:
        if timed:  # 20,000 constraints took 24 s here, past the time limit (QA round 3)
            check_deadline("scaling the constraints")
        a = _affine(g, center, radius)
        sg = _pow2(_norm(a) or 1.0)
        gs = _div(a, sg)
        diff = _exact_error(g, center, radius, gs, sg)
        e = _bound_error(diff, bounded)
        paid = None if np.isfinite(e) else _envelope(gs, diff, bounded, envelope, sg, 1, True)
        if paid is not None:
            # g_s + (E_f / s_g)(1 + sum z^2d) >= 0, then + E_b / s_g below
            gs, e, _ = paid
        if not np.isfinite(e):
            exact, why = False, "a constraint's scaling rounds a term of an unbounded variable"
        elif e > 0:  # g_s + E_g >= 0 on K; the constant rounded up (0.7 + 1e-17 is 0.7)
            gs = _with_envelope(gs, np.zeros(n, dtype=bool), 0,
                                float(np.nextafter(e / sg * (1 + 2 ** -50), np.inf)), 1, True)
        ineqs.append(gs)
    eqs = []
    for h in pop.eqs:
        if timed:
            check_deadline("scaling the constraints")
        a = _affine(h, center, radius)
        sh = _pow2(_norm(a) or 1.0)
        hs = _div(a, sh)
        if _bound_error(_exact_error(h, center, radius, hs, sh), bounded) != 0:
            exact, why = False, "an equality's scaling rounds"
        eqs.append(hs)
    # type(pop): the stages below model read a POP through its fields and rebuild it with its own
    # class, so solve never imports model
    scaled = type(pop)(obj_s, ineqs=ineqs, eqs=eqs, sense=pop.sense, variables=pop.variables,
                 binary=pop.binary, spin=pop.spin)
    return scaled, Scaling(center, radius, float(s_obj), float(c0), float(err_obj), exact, why)

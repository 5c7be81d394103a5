"""The certify stage: every bound of the moment-SOS hierarchy crosses it before it is returned.

A solver's "optimal" is a floating-point claim. Here the solution is turned into a Putinar
certificate (:func:`polylip.solve.extract.certificate_from_solution`) and repaired into a
rigorous one (:class:`polylip.solve.certificate.SOSCertificate`): the returned ``bound`` is the
certified bound, valid whatever the solver's accuracy, with ``certified=True``; the solver's
own value is kept as ``numerical_bound``. When no certificate can be proven the result says so:

* ``certified=False`` with the reason in ``message`` (e.g. nothing bounds the feasible set, so
  a residual cannot be bounded): the bound is the numerical one, labelled as such;
* status "inaccurate" and no bound when the solver's claim is false: its Gram matrices are
  indefinite far beyond its tolerance (:data:`INDEFINITE_FACTOR` times it, relative to their
  size). Clarabel's "Solved" with bound -547.9 on the Motzkin polynomial (whose SOS side is
  infeasible at every order) is not caught so: on the moment side its duals are PSD and the
  residual is 6e-11 of their size, the moment vector diverging instead (x^6 at 7e9). It
  stays numerical only, and the message names the order to try and says why.

A solve that ended "inaccurate" is certified too, from the point the solver stopped at: when
that certificate holds, the result is "optimal" with the certified bound.

The stage honours the solve's deadline (:mod:`polylip.solve.certify_clock`): it starts only
when its first steps fit in the time left (estimated from the certificate's terms), and each
later step only when it fits at the pace measured so far. A cut stage leaves the bound
numerical only (``certified=False``) with a message that says certification was cut by the
time limit; the solver's "optimal" is still checked against its own Gram matrices (a cheap
eigenvalue test, :data:`INDEFINITE_FACTOR`).

Examples
--------
>>> import sympy
>>> from polylip import POP
>>> x = sympy.Symbol("x")
>>> res = POP(x**4 - 3*x**2 + x, ineqs=[2 - x, x + 2]).solve()
>>> res.certified, res.bound <= res.numerical_bound
(True, True)
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace

import numpy as np

from polylip.solve.certify_clock import FIRST_STEPS, CertificationCut, CertifyClock
from polylip.solve.extract import _symmetric, certificate_from_solution, sos_side_grams
from polylip.solve.result import ORDER_HINT, Result

__all__ = ["certify_sos", "INDEFINITE_FACTOR"]

log = logging.getLogger(__name__)

#: A Gram matrix whose smallest eigenvalue is below -INDEFINITE_FACTOR * tolerance * max|G|
#: (the largest entry of all the Gram matrices) is
#: not a solver's round-off: the solver's "optimal" does not hold. (Interior-point solvers
#: return iterates PSD to about their tolerance, 1e-8 to 1e-7 here.)
INDEFINITE_FACTOR = 100.0


def _indefiniteness(grams) -> float:
    """The most negative eigenvalue of the Gram matrices, relative to the largest Gram entry
    of all of them (not of each block: a nearly-zero block's round-off is no evidence).

    It is measured on the solver's own matrices (:func:`_solver_grams`), not on the repaired
    certificate's: the repairs (the fold, the zeroed rows) may move a matrix off the PSD cone
    by far more than the solver's tolerance without the solver's claim being false (min
    x^2 + y^2 over xy >= 1, x, y >= 0 at order 2: the solver's Gram matrices are PSD to
    -3e-9, the repaired one to -4e-5 after the rows of x^2 and y^2 were zeroed, and the
    problem was labelled "inaccurate" for a bound of exactly 2). Batched by size (100,000
    blocks of 2: one eigvalsh call, not 100,000)."""
    grams = [np.asarray(G, dtype=float) for G in grams if np.size(G)]
    scale = max((float(np.abs(G).max()) for G in grams), default=0.0)
    if scale == 0.0:
        return 0.0
    by_size = {}
    for G in grams:
        by_size.setdefault(G.shape[0], []).append(G)
    low = min(float(np.linalg.eigvalsh(np.stack(Gs))[:, 0].min()) for Gs in by_size.values())
    return max(0.0, -low / scale)


#: The relative gap at which a candidate's value "matches" the certified bound (the same
#: rule as ``relaxation.GAP_TOL``, checked again after certification: a certified bound
#: 0.06 below the candidate, as GLOBALLib ex4_1_1 at order 4, is not a global-optimum proof).
GAP_TOL = 1e-6


def _attains(value, bound) -> bool:
    return value is not None and abs(value - bound) <= GAP_TOL * max(1.0, abs(bound))


def _solver_grams(lmi, raw, cert=None) -> list:
    """The Gram matrices as the solver returned them (the certificate's when unavailable;
    [] without either). Only the matrices: no equality multipliers are fitted."""
    if lmi.side == "moment":
        duals = raw.lmi_duals
        got = None if duals is None or any(Z is None for Z in duals) else [_symmetric(Z) for Z in duals]
    else:
        found = sos_side_grams(lmi, raw)
        got = None if found is None else list(found[0])
    if got is None:
        return [] if cert is None else [G for _, _, G in cert.blocks]
    return got


def _terms(structure, pop) -> int:
    """The number of terms of the certificate of ``structure`` (its Gram terms, the
    objective's, the equalities'): the stage's unit of work (:mod:`~polylip.solve.certify_clock`)."""
    bs = getattr(structure, "blocks", structure) if not hasattr(structure, "psd") else structure
    gram = sum(b.basis.shape[0] * (b.basis.shape[0] + 1) // 2
               * (1 if b.constraint < 0 else pop.ineqs[b.constraint].nterms) for b in bs.psd)
    eq = sum(e.size * pop.eqs[e.constraint].nterms for e in getattr(bs, "equalities", ()))
    return int(gram + eq + pop.objective.nterms)


def _cut(result: Result, lmi, raw, why: str, t0: float) -> Result:
    """``result`` when the stage (started at ``t0``) was cut by the time limit before any
    certificate: numerical only, with the solver's claim checked against its own Gram
    matrices (Sum x_i^2, n = 100,000: 1.3 s at load 6, against about 10 s for the stage)."""
    if result.status != "optimal":
        return replace(result, certify_seconds=time.perf_counter() - t0, message=f"{result.message}; {why}")
    tol = float(raw.tolerance or 1e-8)
    bad = _indefiniteness(_solver_grams(lmi, raw))
    seconds = time.perf_counter() - t0
    if bad > INDEFINITE_FACTOR * tol:
        return replace(result, status="inaccurate", bound=None, certified=False,
                       numerical_bound=result.bound, certify_seconds=seconds, is_global=False,
                       minimizers=(),
                       message=(f"the solver reported optimal ({result.message}) with the bound "
                                f"{result.bound:.8g}, but a Gram matrix has an eigenvalue of "
                                f"-{bad:.2g} times its largest entry, beyond its tolerance "
                                f"{tol:.0e}; {why}"))
    return replace(result, certified=False, numerical_bound=result.bound, is_global=False,
                   minimizers=(),
                   certify_seconds=seconds, message=f"{result.message}; numerical only: {why}")


def certify_sos(result: Result, structure, lmi, raw, pop, deadline: float | None = None) -> Result:
    """``result`` (of a solved moment-SOS relaxation) with its bound certified, or labelled.

    ``deadline`` (a ``time.perf_counter()`` value; None: none) is the solve's: the stage
    runs only the steps that fit before it (module text)."""
    t0 = time.perf_counter()
    bound = result.bound if result.status == "optimal" else None
    clock = None
    if deadline is not None:
        clock = CertifyClock(deadline, _terms(structure, pop))
        if not clock.allows(FIRST_STEPS, "extracting the certificate"):
            log.info("%s", clock.cut)
            return _cut(result, lmi, raw, clock.cut, t0)
    try:
        point = None if not result.candidate else [result.candidate.get(v) for v in pop.variables]
        cert = certificate_from_solution(pop, structure, lmi, raw, bound, clock=clock,
                                         candidate=None if point is None or None in point else point)
    except CertificationCut as exc:
        log.info("%s", exc)
        return _cut(result, lmi, raw, str(exc), t0)
    except (ValueError, ArithmeticError, np.linalg.LinAlgError) as exc:  # never lose the result
        log.warning("certificate extraction failed: %s", exc)
        cert = None
    if cert is None:
        if result.status != "optimal":
            return result
        return replace(result, certified=False, numerical_bound=result.bound, is_global=False,
                       minimizers=(),
                       message=f"{result.message}; numerical only: the solution carries no "
                               "certificate (no Gram matrices)")
    cb = cert.certified_bound()
    seconds = time.perf_counter() - t0
    if result.status != "optimal":
        if not cb.certified:
            return result
        log.info("an inaccurate solve certifies %.8g", cb.bound)
        lost = abs(float(cb.numerical) - float(cb.bound))
        accuracy = lost + float(raw.tolerance or 1e-8) * max(1.0, abs(float(cb.numerical)))
        return replace(result, status="optimal", bound=float(cb.bound), certified=True,
                       numerical_bound=float(cb.numerical), certificate=cert, accuracy=accuracy,
                       certify_seconds=seconds,
                       message=(f"the solver stopped short of its tolerance ({result.message}), "
                                f"but the certificate of its point proves the bound ({cb.reason})"))
    if cb.certified:
        # the bound is now up to (what certification took) + (the solver's accuracy) below the
        # relaxation's value
        accuracy = (result.accuracy or 0.0) + abs(float(cb.numerical) - float(cb.bound))
        return replace(result, bound=float(cb.bound), certified=True, accuracy=accuracy,
                       is_global=result.is_global and _attains(result.candidate_value, float(cb.bound)),
                       # the solver's own bound (the exact faces certify f(x*) at a rounded
                       # candidate x*, not the solver's value: cb.numerical is that bound)
                       numerical_bound=float(result.bound) if result.bound is not None else float(cb.numerical),
                       certificate=cert, certify_seconds=seconds,
                       message=f"{result.message}; {cb.reason}")
    tol = float(raw.tolerance or 1e-8)
    bad = _indefiniteness(_solver_grams(lmi, raw, cert))
    if bad > INDEFINITE_FACTOR * tol:
        return replace(result, status="inaccurate", bound=None, certified=False,
                       numerical_bound=result.bound, certificate=cert, certify_seconds=seconds,
                       is_global=False, minimizers=(),
                       message=(f"the solver reported optimal ({result.message}) with the "
                                f"bound {result.bound:.8g}, but its sum-of-squares certificate "
                                f"does not hold: a Gram matrix has an eigenvalue of "
                                f"-{bad:.2g} times its largest entry, beyond the solver's "
                                f"tolerance {tol:.0e}; at order {result.order} there may be no "
                                f"certificate (try order={(result.order or 0) + 1}, "
                                "order='auto', or bounds on the variables)"))
    # Without a proven bound, a feasible point matching it proves nothing: no global claim and
    # no minimizers (extended Rosenbrock n = 8: numerical bound 2.8e-8 above the minimum 0, was
    # "= global optimum"; min x, unbounded, with Clarabel: "Solved" at -4.7e7 and the point
    # x = -4.7e7 listed as a minimizer); the point stays as the candidate.
    why = cb.reason if clock is None or clock.cut is None else f"{cb.reason}; {clock.cut}"
    if "unbounded on K" in cb.reason and result.order is not None:
        # what to try: a higher order may carry a certificate whose residual needs no box
        # (or none: Motzkin minus a constant is never SOS, and Clarabel's "Solved" at -547.9
        # on its moment side has PSD duals and a residual of 6e-11 of their size, so nothing
        # here refutes it), and bounds on the variables pay for a residual
        why += (f"{ORDER_HINT} {result.order} that needs no bounds on the "
                f"variables (the SOS side may have none, e.g. when the objective minus a "
                f"constant is not a sum of squares): try order={result.order + 1}, "
                "order='auto', or bounds on the variables")
    return replace(result, certified=False, numerical_bound=result.bound, certificate=cert,
                   certify_seconds=seconds, is_global=False,
                   minimizers=(), message=f"{result.message}; {why}")

"""Infeasibility claims, checked: "infeasible" only with a certificate that K is empty.

A solver's "infeasible" (the moment side primal infeasible, or the SOS side unbounded) is a
floating-point claim like its "optimal". It stands only when a **Positivstellensatz
certificate** of it checks out:

    -1 = sum_j g_j sigma_j + sum_k h_k lambda_k  (+ residual),   sigma_j SOS,

i.e. an :class:`~polylip.solve.certificate.SOSCertificate` of the objective ``0`` with the
bound ``1`` (``0 - 1 = ...``): its certified bound ``c`` says ``0 >= c`` on K, so ``c > 0``
proves that K is empty. Where it comes from:

* **moment side**: the Farkas ray of the primal infeasibility (Clarabel's ``z``): PSD duals
  ``Z_j`` and equality multipliers ``lambda`` with ``sum_j G_j^T vec(Z_j) + A^T lambda = 0``
  (no term but the constant survives) and ``t = b^T lambda - sum_j <H_j, Z_j> > 0``; the Gram
  matrices are ``Z_j / t``;
* **SOS side**: the improving ray ``dw`` of the unbounded SOS problem (Clarabel's ``x``, kept
  in ``BackendSolution.extra["ray"]``): ``mat_j(G_j dw) PSD``, ``D^T dw = 0`` and
  ``t = dw[y0 row] > 0``; the Gram matrices are ``mat_j(G_j dw) / t``.

Both are read by the helpers of :mod:`polylip.solve.extract` (with the objective set to zero)
and repaired and certified like any bound; the certificate recomputes the identity from the
polynomials, so a wrong ray can only fail to certify, never prove a false claim.

:func:`confirm_infeasible` first tries a cheap **refutation**: a local least-squares solve of
the constraint violation (scipy, a few seeded starts, bounded iterations); a point that meets
every constraint to :data:`REFUTE_TOL` means the claim is false. Then the ray the solver
returned; when it returned none (or one that does not certify) and the solver was not
Clarabel, the relaxation is re-solved with Clarabel within the time left. The result:

* status "infeasible", ``certified=True`` and the certificate in ``Result.certificate``
  (``verify()`` rechecks it exactly, ``to_json()`` exports it); or
* status "inaccurate" with the reason: a feasible point was found, the certificate does not
  verify, or there was none (and no time or no Clarabel to get one).

Examples
--------
>>> import sympy
>>> from polylip import POP
>>> x, y = sympy.symbols("x y")
>>> res = POP(x + y, ineqs=[1 - x**2 - y**2], eqs=[x*y - 1]).solve(order=1)
>>> res.status, res.certified, res.certificate.verify()
('infeasible', True, True)
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from scipy.optimize import least_squares

from polylip.backends import registry
from polylip.backends.base import BackendSolution
from polylip.errors import PolylipError
from polylip.poly import Polynomial
from polylip.poly import monomials as mono
from polylip.relax import conic
from polylip.solve.extract import _symmetric, _to_triangles, certificate_from_solution
from polylip.solve.result import Result

__all__ = ["confirm_infeasible", "infeasibility_certificate", "feasible_point", "REFUTE_TOL"]

log = logging.getLogger(__name__)

#: A point meeting every constraint to this (absolute; :meth:`POP.is_feasible`'s default, the
#: relaxation's FEAS_TOL) refutes an infeasibility claim.
REFUTE_TOL = 1e-6
#: The refutation's budget: seeded starts, function evaluations per start (least squares,
#: trust region), and no refutation when the constraints have more terms than this (it must
#: stay cheap next to the solve).
REFUTE_STARTS = 4
REFUTE_NFEV = 40
#: ... and no new start after this many seconds (the refutation cannot make a true claim
#: look false, only miss a false one, which the certificate then does not confirm either):
#: at n = 1,000 (a chain of 999 balls and 999 equalities) four starts took 1.7 s.
REFUTE_SECONDS = 0.5
REFUTE_MAX_TERMS = 200_000
#: Up to this many variables the least-squares steps are dense (exact trust-region solves;
#: scipy's 2-d subspace step needs two variables); beyond, sparse (LSMR): a dense SVD per
#: step took 0.7 s at 200 variables on 2 loaded cores.
DENSE_VARS = 8


@dataclass(frozen=True)
class _Feasibility:
    """The POP's constraints with the objective 0, minimized: what a certificate of
    infeasibility is a certificate for (read by :func:`certificate_from_solution`)."""

    objective: Polynomial
    ineqs: tuple
    eqs: tuple
    variables: tuple
    binary_mask: np.ndarray
    spin_mask: np.ndarray
    sense: str = "min"

    @property
    def nvars(self) -> int:
        return len(self.variables)

    @classmethod
    def of(cls, pop) -> "_Feasibility":
        names = tuple(pop.variables)
        return cls(Polynomial.zero(names), tuple(pop.ineqs), tuple(pop.eqs), names,
                   np.asarray(pop.binary_mask, bool), np.asarray(pop.spin_mask, bool))


# ---------------------------------------------------------------------- the refutation
def _stacked(polys, names):
    """All polynomials' terms at once: (rows, coeffs, owner)."""
    rows, coeffs, owner = [], [], []
    width = max((p.rows.shape[1] for p in polys), default=0)
    for i, p in enumerate(polys):
        p = p if p.variables == names else p.with_variables(names)
        r = p.rows
        if r.shape[1] < width:
            r = np.hstack([r, np.full((r.shape[0], width - r.shape[1]), mono.PAD, dtype=r.dtype)])
        rows.append(r)
        coeffs.append(p.coeffs)
        owner.append(np.full(p.nterms, i, dtype=np.int64))
    if not rows:
        return np.zeros((0, 0), np.int64), np.zeros(0), np.zeros(0, np.int64)
    return np.vstack(rows), np.concatenate(coeffs), np.concatenate(owner)


def feasible_point(pop, starts=None, tol: float = REFUTE_TOL, seed: int = 0,
                   seconds: float | None = REFUTE_SECONDS):
    """A point meeting every constraint of ``pop`` to ``tol`` (:meth:`POP.is_feasible`),
    found by least squares on the violation ``[min(g_j, 0), h_k, x_b (x_b - 1), x_s^2 - 1]``
    from the given starts and :data:`REFUTE_STARTS` seeded ones (bounded iterations, no new
    start after ``seconds``); None when none is found (which proves nothing).

    Examples
    --------
    >>> import sympy
    >>> from polylip import POP
    >>> x, y = sympy.symbols("x y")
    >>> p = feasible_point(POP(x, ineqs=[1 - x**2 - y**2], eqs=[x - y**2]))
    >>> p is not None
    True
    >>> feasible_point(POP(x, ineqs=[-x**2 - 1])) is None
    True
    """
    names, n = tuple(pop.variables), pop.nvars
    nb, ns = np.asarray(pop.binary_mask, bool), np.asarray(pop.spin_mask, bool)
    polys = list(pop.ineqs) + list(pop.eqs)
    ni = len(pop.ineqs)
    rows, coeffs, owner = _stacked(polys, names)
    if rows.shape[0] > REFUTE_MAX_TERMS:
        return None
    m = len(polys)
    bidx, sidx = np.nonzero(nb)[0], np.nonzero(ns)[0]

    def values(x):
        ext = np.append(x, 1.0)
        t = coeffs * (ext[rows].prod(axis=1) if rows.shape[1] else 1.0)
        return np.bincount(owner, weights=t, minlength=m) if m else np.zeros(0)

    def fun(x):
        v = values(x)
        v[:ni] = np.minimum(v[:ni], 0.0)
        return np.concatenate([v, x[bidx] * (x[bidx] - 1.0), x[sidx] ** 2 - 1.0])

    w = rows.shape[1]

    def jac(x):
        ext = np.append(x, 1.0)
        parts_r, parts_c, parts_v = [], [], []
        if w and rows.shape[0]:
            v = ext[rows]
            one = np.ones((v.shape[0], 1))
            before = np.cumprod(np.hstack([one, v[:, :-1]]), axis=1)
            after = np.cumprod(np.hstack([one, v[:, :0:-1]]), axis=1)[:, ::-1]
            d = coeffs[:, None] * before * after
            keep = rows >= 0
            active = np.ones(m, bool)
            active[:ni] = values(x)[:ni] < 0
            keep &= active[owner][:, None]
            parts_r.append(np.broadcast_to(owner[:, None], rows.shape)[keep])
            parts_c.append(rows[keep])
            parts_v.append(d[keep])
        parts_r += [m + np.arange(bidx.size), m + bidx.size + np.arange(sidx.size)]
        parts_c += [bidx, sidx]
        parts_v += [2 * x[bidx] - 1.0, 2 * x[sidx]]
        J = sp.coo_matrix((np.concatenate(parts_v), (np.concatenate(parts_r), np.concatenate(parts_c))),
                          shape=(m + bidx.size + sidx.size, n))
        return J.tocsr()

    def ok(x):      # the vectorized violation first, the POP's own check to confirm
        if not np.all(np.isfinite(x)) or np.abs(fun(x)).max(initial=0.0) > tol:
            return False
        return bool(pop.is_feasible(x, tol=tol))

    def snapped(x):
        y = x.copy()
        y[bidx] = np.clip(np.round(y[bidx]), 0, 1)
        y[sidx] = np.where(y[sidx] < 0, -1.0, 1.0)
        return y

    rng = np.random.default_rng(seed)
    pts = [np.asarray(s, dtype=float) for s in (starts or ()) if s is not None]
    pts += [np.zeros(n), np.full(n, 0.5)] + [rng.standard_normal(n) for _ in range(REFUTE_STARTS - 2)]
    if m + bidx.size + sidx.size == 0:
        return np.zeros(n)
    t0 = time.perf_counter()
    for x0 in pts:
        if seconds is not None and time.perf_counter() - t0 > seconds:
            break
        if x0.shape != (n,) or not np.all(np.isfinite(x0)):
            continue
        for cand in (x0, snapped(x0)):
            if ok(cand):
                return cand
        try:
            with np.errstate(all="ignore"):
                sol = least_squares(fun, x0, jac=jac if n > DENSE_VARS else (lambda x: jac(x).toarray()),
                                    method="trf", tr_solver="lsmr" if n > DENSE_VARS else "exact",
                                    max_nfev=REFUTE_NFEV, xtol=1e-14, ftol=1e-14, gtol=1e-14)
        except (ValueError, ArithmeticError, IndexError, np.linalg.LinAlgError) as exc:
            log.debug("refutation from a start failed: %s", exc)
            continue
        for cand in (sol.x, snapped(sol.x)):
            if ok(cand):
                return cand
    return None


# ---------------------------------------------------------------------- the certificate
def _moment_ray(lmi, raw):
    """Normalized ``(grams, lambda)`` of a moment-side Farkas ray (see module), or a reason."""
    if raw.lmi_duals is None or any(Z is None for Z in raw.lmi_duals) or len(raw.lmi_duals) != len(lmi.sizes):
        return "the solver returned no dual matrices (no Farkas ray)"
    grams = [_symmetric(Z) for Z in raw.lmi_duals]
    if not all(np.all(np.isfinite(G)) for G in grams):
        return "the solver's Farkas ray is not finite"
    Gt, ht, offsets = conic.triangles(lmi)
    ztri = _to_triangles(grams, lmi.sizes, offsets, double=True)
    s = -(sp.csr_matrix(Gt).T @ ztri)                     # must equal A^T lambda
    b = np.asarray(lmi.b, dtype=float)
    if lmi.neq:
        At = sp.csr_matrix(lmi.A).T.tocsr()
        cands = []
        duals = None if raw.eq_duals is None else np.asarray(raw.eq_duals, dtype=float).ravel()
        if duals is not None and duals.size == lmi.neq and np.all(np.isfinite(duals)):
            cands += [duals, -duals]
        cands.append(spla.lsqr(At, s, atol=1e-14, btol=1e-14, iter_lim=20 * lmi.neq + 100)[0])
    else:
        cands = [np.zeros(0)]
    hz = float(np.asarray(ht, dtype=float) @ ztri)

    def score(lam):     # the identity's error after normalization; a ray needs t > 0
        t = float(b @ lam) - hz
        err = float(np.linalg.norm(At @ lam - s)) if lmi.neq else 0.0
        return (0, err / t) if np.isfinite(t) and t > 0 else (1, -t)

    lam = min(cands, key=score)
    t = float(b @ lam) - hz
    if not (np.isfinite(t) and t > 0):
        return f"the solver's ray is no Farkas certificate (its constant term is {-t:.3g}, not < 0)"
    return [G / t for G in grams], lam / t


def _sos_ray(lmi, raw):
    """The normalized improving ray ``w`` of an unbounded SOS side (see module), or a reason."""
    ray = raw.extra.get("ray") if isinstance(raw.extra, dict) else None
    if ray is None:
        ray = raw.x
    if ray is None:
        return "the solver returned no improving ray"
    w = np.asarray(ray, dtype=float).ravel()
    if w.size != lmi.nvars or not np.all(np.isfinite(w)):
        return "the solver's improving ray is not finite"
    t = float(-(np.asarray(lmi.c, dtype=float) @ w))        # c = -rhs: t = w[y0 row]
    if not (np.isfinite(t) and t > 0):
        return f"the solver's ray does not improve the bound (slope {t:.3g})"
    return w / t


def infeasibility_certificate(pop, structure, lmi, raw):
    """``(certificate, reason)``: the sealed :class:`SOSCertificate` of ``0 >= 1`` on K built
    from the solver's infeasibility ray (see module), or ``(None, why there is none)``. The
    certificate proves K empty when its ``certified_bound()`` is certified and ``> 0``."""
    feas = _Feasibility.of(pop)
    if lmi.side == "moment":
        got = _moment_ray(lmi, raw)
        if isinstance(got, str):
            return None, got
        grams, lam = got
        lmi0 = replace(lmi, c=np.zeros(lmi.nvars))               # the objective 0
        raw0 = BackendSolution("optimal", raw.solver, 0.0, tolerance=raw.tolerance,
                               lmi_duals=grams, eq_duals=lam)
    else:
        got = _sos_ray(lmi, raw)
        if isinstance(got, str):
            return None, got
        Gt, ht, offsets = conic.triangles(lmi)
        zero = conic.TriBlocks(np.zeros(np.asarray(ht).size), offsets, lmi.sizes, dense=True)
        lmi0 = replace(lmi, G=conic.TriBlocks(sp.csr_matrix(Gt), offsets, lmi.sizes, dense=False),
                       h=zero, b=np.zeros(lmi.neq))              # the objective 0: homogeneous
        raw0 = BackendSolution("optimal", raw.solver, 0.0, tolerance=raw.tolerance, x=got)
    try:
        cert = certificate_from_solution(feas, structure, lmi0, raw0, 1.0)
    except (ValueError, ArithmeticError, np.linalg.LinAlgError) as exc:
        log.warning("infeasibility certificate extraction failed: %s", exc)
        return None, f"building the certificate failed ({exc})"
    if cert is None:
        return None, "the ray carries no Gram matrices"
    return cert, ""


def _proves(cert) -> tuple[bool, float | None, str]:
    cb = cert.certified_bound()
    if not cb.certified:
        return False, None, cb.reason
    if cb.bound > 0:
        return True, float(cb.bound), cb.reason
    return False, float(cb.bound), (f"its certified margin {cb.bound:.3g} is not > 0 (numerical "
                                    f"1, residual {cb.residual:.3g}, PSD shift {cb.psd_shift:.3g})")


# ---------------------------------------------------------------------- the check
def confirm_infeasible(result: Result, relaxation, lmi, raw, pop,
                       time_left: float = np.inf) -> Result:
    """``result`` (status "infeasible", as the solver claimed) with the claim checked: kept,
    certified, with the certificate; or "inaccurate" with the reason (see module).

    ``relaxation`` is the :class:`~polylip.solve.relaxation.Relaxation` (its blocks and
    data), ``lmi``/``raw`` what the solver received and returned, ``time_left`` seconds for a
    re-solve with Clarabel.
    """
    t0 = time.perf_counter()
    who = raw.solver
    claim = (f"{who} claimed the {lmi.side} side's relaxation infeasible"
             + (f" ({raw.message or raw.raw_status})" if (raw.message or raw.raw_status) else ""))
    point = None
    try:
        point = feasible_point(pop)
    except (ValueError, ArithmeticError, np.linalg.LinAlgError, PolylipError) as exc:
        log.debug("refutation failed: %s", exc)
    if point is not None:
        value = float(pop.evaluate(point))
        log.info("%s, but a feasible point refutes it", claim)
        return replace(result, status="inaccurate", bound=None, certified=False,
                       candidate=dict(zip(pop.variables, point.tolist())), candidate_value=value,
                       certify_seconds=time.perf_counter() - t0,
                       message=(f"{claim}, but the point {_short(point)} meets every constraint "
                                f"to {REFUTE_TOL:g} (objective {value:.8g}): the claim is false"))
    tries, extra_seconds = [], 0.0
    cert, why = infeasibility_certificate(pop, relaxation, lmi, raw)
    tries.append((who, lmi.side, cert, why))
    proved = _check(cert)
    if not proved[0] and who != "clarabel":
        left = time_left - (time.perf_counter() - t0)
        if not left > 0:
            tries.append(("clarabel", lmi.side, None, "no time left to re-solve with Clarabel"))
        else:
            try:
                again = registry.solve_sdp(lmi, "clarabel", time_limit=None if not np.isfinite(left) else left)
            except (PolylipError, ValueError, ArithmeticError, MemoryError) as exc:
                again = None
                tries.append(("clarabel", lmi.side, None, f"the re-solve failed ({exc})"))
            if again is not None:
                extra_seconds += again.seconds
                expected = "infeasible" if lmi.side == "moment" else "unbounded"
                if again.status == expected:
                    cert, why = infeasibility_certificate(pop, relaxation, lmi, again)
                    tries.append(("clarabel", lmi.side, cert, why))
                    proved = _check(cert)
                elif again.status == "optimal":
                    tries.append(("clarabel", lmi.side, None,
                                  f"Clarabel solved the relaxation (value "
                                  f"{_value(again, lmi):.8g}), so it is feasible"))
                else:
                    tries.append(("clarabel", lmi.side, None,
                                  f"Clarabel ended {again.status} ({again.raw_status})"))
    seconds = time.perf_counter() - t0
    common = dict(solve_seconds=result.solve_seconds + extra_seconds, certify_seconds=seconds)
    ok, margin, reason = proved
    if ok:
        by = tries[-1][0]
        log.info("infeasibility certified (margin %.3g, ray from %s)", margin, by)
        return replace(result, status="infeasible", bound=None, certified=True, certificate=cert,
                       **common,
                       message=(f"{result.message}; certified: a Positivstellensatz certificate "
                                f"-1 = sum_j g_j s_j + sum_k h_k l_k (+ residual), s_j sums of "
                                f"squares, from {by}'s infeasibility ray, proves the feasible set "
                                f"empty (certified margin {margin:.6g} > 0; {reason})"))
    notes = "; ".join(f"{s} ({sd} side): "
                      + (f"its certificate does not verify: {_check(c)[2]}" if c is not None else w)
                      for s, sd, c, w in tries)
    last_cert = next((c for _, _, c, _ in reversed(tries) if c is not None), None)
    log.info("%s, but no certificate of it checks out: %s", claim, notes)
    return replace(result, status="inaccurate", bound=None, certified=False, certificate=last_cert,
                   **common,
                   message=(f"{claim}, but its infeasibility is not proven: {notes}; the status "
                            f"is not trusted (try the other side, another solver, or order="
                            f"{(result.order or 0) + 1})"))


def _check(cert):
    if cert is None:
        return False, None, ""
    return _proves(cert)


def _value(raw, lmi) -> float:
    v = raw.value if raw.value is not None else np.nan
    return float(v if lmi.side == "moment" else -v)


def _short(point, k: int = 6) -> str:
    vals = ", ".join(f"{v:.4g}" for v in point[:k])
    return f"({vals}{', ...' if point.size > k else ''})"

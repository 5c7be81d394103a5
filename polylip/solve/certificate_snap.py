"""Certificates snapped to a dyadic grid: the last repair of a certificate whose residual
needs a box the feasible set does not give.

On an unbounded feasible set the residual ``r`` of a float certificate can only be paid where
it is a constant or folds into a Gram matrix with a margin; at a tight bound the Gram matrices
are singular and neither holds. Many such problems have a certificate with simple
coefficients, and the solver's is a float approximation of it: ``min xy`` on ``xy = 1``,
``x + y >= 3`` has ``xy - 1 = 1 * (xy - 1)``, every Gram matrix 0, and the solver returns the
equality multiplier 0.9999999995 with Gram entries of 4e-9, whose residual
``4.6e-10 xy - 3.9e-9 (x + y) + ...`` lies on unbounded monomials. Rounding every Gram entry
and every equality multiplier's coefficient to the nearest multiple of ``2^-k`` (entries below
it become 0) can make the identity exact (Peyrl and Parrilo, "Computing sum of squares
decompositions with rational coefficients", TCS 409, 2008, round and then project; the
projection is left out here: only a residual that rounds to 0 on every monomial a box would
have to pay is kept). Nothing is assumed: the snapped certificate is sealed as any other
(rigorous minimum eigenvalues, the residual computed exactly when at rounding level), and
kept only when that certifies a bound.

Examples
--------
>>> from polylip import POP
>>> from polylip.poly import variables
>>> x, y = variables("x y")
>>> res = POP(x * y, eqs=[x * y - 1], ineqs=[x + y - 3]).solve(time_limit=60)
>>> res.certified, 1 - 1e-12 <= res.bound <= 1
(True, True)
"""

from __future__ import annotations

import logging

import numpy as np

from polylip.poly import Polynomial

log = logging.getLogger(__name__)

#: The grids tried, coarsest first (a coarse grid keeps the simple coefficients of a simple
#: certificate; a fine one keeps more of the solver's values): multiples of 2^-k.
GRID_BITS = (10, 20, 30)
#: Snapped only up to this many Gram entries and multiplier terms (each grid costs a seal).
MAX_TERMS = 20_000


def _snap(a: np.ndarray, q: float) -> np.ndarray:
    return np.round(np.asarray(a, dtype=float) / q) * q


def snap_certificate(cert, seal):
    """The best certified of ``cert`` snapped to each grid of :data:`GRID_BITS` (``seal``
    seals a certificate, e.g. ``SOSCertificate.sealed``), or None.

    Only tried where ``cert`` has equality multipliers, no exact block and at most
    :data:`MAX_TERMS` terms: without equalities the solver's Gram matrices carry the whole
    identity, and a residual there is what the fold and the shifts are for."""
    if not cert.equalities or cert.exact:
        return None
    size = sum(G.size for _, _, G in cert.blocks) + sum(lam.nterms for _, lam in cert.equalities)
    if size > MAX_TERMS:
        return None
    best = None
    for bits in GRID_BITS:
        q = 2.0 ** -bits
        # the scale of the problem's numbers: a grid relative to the largest Gram entry
        scale = max([float(np.abs(G).max(initial=0.0)) for _, _, G in cert.blocks]
                    + [float(np.abs(lam.coeffs).max(initial=0.0)) for _, lam in cert.equalities] + [1.0])
        step = q * 2.0 ** np.ceil(np.log2(scale))
        grams = [_snap(G, step) for _, _, G in cert.blocks]
        eqs = tuple((h, Polynomial(lam.variables, lam.rows, _snap(lam.coeffs, step)))
                    for h, lam in cert.equalities)
        try:
            snapped = seal(type(cert)(**{**_fields(cert), "equalities": eqs}).with_grams(grams))
        except (ValueError, ArithmeticError, np.linalg.LinAlgError) as exc:
            log.info("snapped certificate (2^-%d): %s", bits, exc)
            continue
        cb = snapped.certified_bound()
        log.info("snapped certificate (grid %.3g): %s", step, cb.reason)
        if cb.certified and (best is None or cb.gap < best.certified_bound().gap):
            best = snapped
    return best


def _fields(cert) -> dict:
    """The constructor fields of ``cert`` (an :class:`SOSCertificate`), unsealed."""
    return dict(variables=cert.variables, objective=cert.objective, bound=cert.bound,
                blocks=cert.blocks, equalities=cert.equalities, ineqs=cert.ineqs, eqs=cert.eqs,
                binary=cert.binary, spin=cert.spin, box=cert.box, box_assumed=cert.box_assumed,
                sense=cert.sense)

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
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from polylip.poly import Polynomial
from polylip.solve.certificate import SOSCertificate, box_from_constraints


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
    from polylip.relax.conic import triangles

    return triangles(lmi)


def _symmetric(Z) -> np.ndarray:
    Z = np.asarray(Z, dtype=float)
    return 0.5 * (Z + Z.T)


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
    tri = []
    for Z, k in zip(grams, lmi.sizes):
        iu, ju = np.triu_indices(k)
        tri.append(np.where(iu == ju, 1.0, 2.0) * Z[iu, ju])
    ztri = np.concatenate(tri) if tri else np.zeros(0)
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
    grams = []
    for j, k in enumerate(lmi.sizes):
        iu, ju = np.triu_indices(k)
        Q = np.zeros((k, k))
        Q[iu, ju] = tri[offsets[j]:offsets[j + 1]]
        grams.append(Q + np.triu(Q, 1).T)
    nE = lmi.meta["B"].shape[0] - int(np.nonzero(lmi.meta["rhs"])[0][0]) - 1
    lam = w[w.size - nE:] if nE else np.zeros(0)
    return grams, lam


def certificate_from_solution(pop, structure, lmi, raw, bound, box=None) -> SOSCertificate | None:
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
    bound : float
        The numerical bound in the problem's sense (``Result.bound``).
    box : (lower, upper), optional
        Bounds the caller asserts on top of those the constraints imply (``box_assumed``).

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
    if bound is None or not np.isfinite(bound):
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
        equalities.append((pop.eqs[e.constraint], Polynomial(names, e.basis, lam[off:off + k])))
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
    return cert.sealed()

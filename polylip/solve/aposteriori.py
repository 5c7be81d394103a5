"""A-posteriori checks of a solved moment-SOS relaxation: how much to add to the solver's value
so that the bound holds whatever the solver's accuracy.

Two margins, from strongest to weakest:

* :func:`certified_bound`: from the solver's approximate dual certificate (the Gram matrices on
  the SOS side, the dual matrices on the moment side), a bound that holds for every feasible
  point of the POP, provided every variable lies in [-1, 1] on the feasible set (spin, binary,
  or in a unit ball: :func:`in_unit_box`). No trust in the solver's tolerances is needed.
* :func:`soundness_margin`: the relaxation's :attr:`~polylip.solve.result.Result.accuracy`
  (the solver's gap and tolerance times the objective's scale), an estimate, not a proof.

:func:`check` runs the first on a :class:`~polylip.solve.relaxation.SolveOutcome` and says
which kind of margin applies. (The rigorous, exact-arithmetic certificate is
:mod:`polylip.solve.certificate`; this module is the cheap float64 check the Lipschitz methods
apply to every bound.)

Examples
--------
>>> import sympy
>>> from polylip import POP
>>> t = sympy.symbols("t0:2")
>>> pop = POP(t[0] * t[1] + t[0], sense="max", spin=t)
>>> relaxation = pop.relax(order=1)
>>> outcome = relaxation.solve_detailed(solver="clarabel")
>>> cert = check(relaxation, outcome)
>>> cert["kind"], round(cert["value"], 6), cert["value"] >= outcome.result.bound
('certificate', 2.0, True)
"""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse.linalg as spla

from polylip.poly import Polynomial
from polylip.poly import monomials as mono
from polylip.relax import conic
from polylip.relax.moment import stacked_blocks

__all__ = ["certified_bound", "soundness_margin", "check", "in_unit_box", "is_unit_ball",
           "MARGIN_REL_FLOOR"]

#: Floor of the soundness margin, relative to the bound: covers the round-off of evaluating
#: the returned bound itself when the solver reports no accuracy.
MARGIN_REL_FLOOR = 1e-9


def is_unit_ball(g: Polynomial) -> bool:
    """Whether ``g`` is ``1 - sum x_i^2`` over two or more variables (``g >= 0`` a unit ball)."""
    rows = g.rows
    if rows.shape[1] != 2 or g.nterms < 3:
        return False
    deg = mono.degrees(rows)
    return (deg[0] == 0 and g.coeffs[0] == 1.0 and np.all(deg[1:] == 2)
            and np.all(rows[1:, 0] == rows[1:, 1]) and np.all(g.coeffs[1:] == -1.0))


def in_unit_box(pop) -> bool:
    """Whether every variable lies in [-1, 1] on the feasible set: spin, binary, or in a ball."""
    inside = set(pop.spin) | set(pop.binary)
    names = list(pop.variables)
    for g in pop.ineqs:
        if is_unit_ball(g):
            inside |= {names[int(v)] for v in g.variable_indices()}
    return all(v in inside for v in names)


def certified_bound(relaxation, lmi, raw):
    """A rigorous a-posteriori bound from the solver's approximate dual certificate.

    The relaxation is ``min c @ y + c0`` over moments ``y`` (``y_0 = 1``, ``E y = 0``,
    ``M_j(y) PSD``). From the solver's matrices ``Z_j`` (the Gram matrices on the SOS side, the
    dual matrices on the moment side) form ``v = c - sum_j A_j^*(Z_j)``, fit ``v ~ gamma e_0 +
    E^T lambda`` by least squares, and let ``r`` be what is left (``r_0 = 0``). For the moments
    ``y`` of any feasible point ``x`` of the POP (``E y = 0``, ``M_j(y) = g_j(x) b_j(x) b_j(x)^T``):

        c @ y = gamma + sum_j <Z_j, M_j(y)> + r @ y
              >= gamma - sum_j max(0, -lambda_min(Z_j)) * gmax_j * k_j - sum_a |r_a|,

    because every variable lies in [-1, 1] (:func:`in_unit_box`), so ``|x^a| <= 1``,
    ``||b_j(x)||^2 <= k_j`` (the block size) and ``g_j(x) <= gmax_j``, the sum of the absolute
    coefficients of ``g_j`` (1 for a moment matrix). This holds whatever the solver's accuracy:
    no trust in its optimality tolerances is needed (round-off of these float64 sums is covered
    by a relative 1e-12).

    Parameters
    ----------
    relaxation : Relaxation
    lmi : LMIProblem
        The problem the solver received (:attr:`SolveOutcome.lmi`).
    raw : BackendSolution
        The solver's raw solution (:attr:`SolveOutcome.raw`).

    Returns
    -------
    (value, info) or (None, reason)
        ``value`` is the certified bound on the POP (a lower bound of a minimum, an upper
        bound of a maximum); ``info`` holds ``gamma``, ``residual`` and
        ``negative_eigenvalues``.
    """
    pop, data, blocks = relaxation.pop, relaxation.data, relaxation.blocks
    if not in_unit_box(pop):
        return None, "variables not all in [-1, 1]"
    sizes = list(data.sizes)
    psd = list(blocks.psd)
    if len(psd) != len(sizes) or any(b.size != k for b, k in zip(psd, sizes)):
        return None, "block structure does not match the assembled data"
    stacked, offsets = stacked_blocks(data.blocks, data.nmoments)
    if lmi.side == "sos":
        if raw.x is None:
            return None, "no solution vector"
        mats = []
        for j, k in enumerate(sizes):
            Z = np.asarray(lmi.G[j] @ raw.x + lmi.h[j], float).reshape(k, k)
            mats.append(0.5 * (Z + Z.T))
    else:
        if raw.lmi_duals is None:
            return None, "no dual matrices"
        mats = [0.5 * (np.asarray(Z, float) + np.asarray(Z, float).T) for Z in raw.lmi_duals]
    tri = np.concatenate([Z[np.triu_indices(k)] for Z, k in zip(mats, sizes)]) \
        if sizes else np.zeros(0)
    weight = np.where(conic.offdiag_mask(data.sizes), 2.0, 1.0)
    v = np.asarray(data.c, float) - np.asarray(stacked.T @ (weight * tri)).ravel()
    Et = data.E.T.tocsr()
    lam = np.zeros(Et.shape[1])
    if Et.shape[1]:
        lam = spla.lsqr(Et[1:], v[1:], atol=1e-15, btol=1e-15, iter_lim=5000)[0]
    fit = np.asarray(Et @ lam).ravel()
    gamma = float(v[0] - fit[0])
    r = v - fit
    r[0] = 0.0
    resid = float(np.abs(r).sum())
    neg = 0.0
    for b, Z, k in zip(psd, mats, sizes):
        lmin = float(np.linalg.eigvalsh(Z)[0]) if k else 0.0
        if lmin < 0:
            gmax = 1.0 if b.constraint < 0 else float(np.abs(pop.ineqs[b.constraint].coeffs).sum())
            neg += -lmin * gmax * k
    scale = max(1.0, float(np.abs(data.c).sum()), abs(gamma))
    low = gamma + float(data.c0) - resid - neg - 1e-12 * scale
    value = low if pop.sense == "min" else -low
    return value, {"gamma": gamma + float(data.c0), "residual": resid, "negative_eigenvalues": neg}


def soundness_margin(res) -> float:
    """What is added to a solver's bound to make it a conservative one when no certificate
    applies.

    A floating-point solver meets its optimality conditions only to a tolerance, so the value
    it returns can lie slightly beyond the relaxation's true optimum (hence, when the relaxation
    is tight, beyond the POP's optimum: it happened, by 1e-6, on a CertDNN network). The
    margin is the relaxation's :attr:`~polylip.solve.result.Result.accuracy` (the larger of the
    solver's primal-dual gap and its relative tolerance times the scale of the objective,
    ``tol * max(1, |bound|, sum_a |f_a|)``) with a floor of ``MARGIN_REL_FLOOR * max(1, |bound|)``.
    It is an a-posteriori estimate of the solver error, not an interval-arithmetic proof.
    """
    if res.bound is None:
        return 0.0
    floor = MARGIN_REL_FLOOR * max(1.0, abs(float(res.bound)))
    acc = getattr(res, "accuracy", None)
    if acc is None or not np.isfinite(acc):
        return floor
    return max(float(acc), floor)


def check(relaxation, outcome) -> dict | None:
    """The a-posteriori check of a solved relaxation (a
    :class:`~polylip.solve.relaxation.SolveOutcome`).

    Returns None when the solve was not optimal (no bound to check); otherwise a dict with
    ``kind="certificate"`` and the certified ``value`` (plus ``gamma``, ``residual``,
    ``negative_eigenvalues``, ``seconds``), or ``kind="accuracy"`` and the ``reason`` the
    certificate does not apply (then :func:`soundness_margin` is the margin to use). A failure
    of the check itself never loses the bound: it is reported as ``kind="accuracy"``.
    """
    if outcome.result.status != "optimal":
        return None
    t0 = time.perf_counter()
    try:
        value, info = certified_bound(relaxation, outcome.lmi, outcome.raw)
    except (ValueError, np.linalg.LinAlgError, IndexError) as exc:  # never lose the bound
        value, info = None, f"certificate check failed: {exc}"
    if value is None:
        return {"kind": "accuracy", "reason": info}
    return dict(info, kind="certificate", value=value, seconds=time.perf_counter() - t0)

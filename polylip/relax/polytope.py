"""The polytope of the Krivine/Handelman LP hierarchy: a POP's linear inequalities as affine
factors ``0 <= l_j(x) <= 1`` (:class:`Polytope`, built by :func:`polytope_of`).

Boxes come from pairs of bounds on single variables; any other linear inequality ``g >= 0`` is
scaled to ``[0, 1]`` by its range over the polytope, computed with HiGHS
(``scipy.optimize.linprog``), and the ranges of the variables are added as box factors
(redundant for the set, useful for the certificate). Non-linear inequalities, equalities and
unbounded polytopes are refused with :class:`~polylip.errors.RelaxationError`.

Examples
--------
>>> import sympy
>>> from polylip import POP
>>> x, y = sympy.symbols("x y")
>>> polytope_of(POP(x * y, ineqs=[x + 1, 1 - x, y, 2 - y])).kind
'box'
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog

from polylip.errors import EmptySetError, RelaxationError
from polylip.poly import monomials as mono

__all__ = ["Polytope", "polytope_of"]


@dataclass(frozen=True)
class Polytope:
    """The feasible set as affine factors ``0 <= l_j(x) <= 1``.

    Attributes
    ----------
    kind : {"box", "polytope"}
        "box" when every constraint bounds a single variable.
    lower, upper : ndarray, shape (nvars,)
        Bounds of each variable over the set (NaN for variables that occur nowhere).
    factor_vars : ndarray of int, shape (nfactors, T)
        Variables of each factor's linear terms, padded with ``PAD``.
    factor_coeffs : ndarray, shape (nfactors, T)
        Coefficients of those terms (0 on padding).
    factor_const : ndarray, shape (nfactors,)
        Constant term of each factor.
    factor_boolean : ndarray of bool, shape (nfactors,)
        Box factor of a binary or spin variable: enters a product at most once.
    factor_degenerate : ndarray of bool
        Factor of a fixed variable (``lower == upper``): the pair is ``x - a`` and ``a - x``
        instead of ``l`` and ``1 - l``.
    labels : tuple of str
        A readable name per factor.
    """

    kind: str
    lower: np.ndarray
    upper: np.ndarray
    factor_vars: np.ndarray
    factor_coeffs: np.ndarray
    factor_const: np.ndarray
    factor_boolean: np.ndarray
    factor_degenerate: np.ndarray
    labels: tuple

    @property
    def nfactors(self) -> int:
        return int(self.factor_const.size)

    def factor_variable_sets(self) -> list[frozenset]:
        return [frozenset(int(v) for v in row if v != mono.PAD) for row in self.factor_vars]

    def generators(self) -> tuple[np.ndarray, np.ndarray]:
        """Term tables of the 2 * nfactors generators ``l_j`` (index 2j) and ``1 - l_j``
        (2j + 1), plus the constant 1 (last index): arrays (2m + 1, T + 1) of variables (PAD for
        the constant term) and coefficients."""
        m, t = self.factor_vars.shape
        gv = np.full((2 * m + 1, t + 1), mono.PAD, dtype=mono.INDEX_DTYPE)
        gc = np.zeros((2 * m + 1, t + 1))
        gv[:2 * m:2, :t] = self.factor_vars
        gv[1:2 * m:2, :t] = self.factor_vars
        gc[:2 * m:2, :t] = self.factor_coeffs
        gc[1:2 * m:2, :t] = -self.factor_coeffs
        gc[:2 * m:2, t] = self.factor_const
        gc[1:2 * m:2, t] = np.where(self.factor_degenerate, -self.factor_const, 1.0 - self.factor_const)
        gc[2 * m, t] = 1.0
        return gv, gc


def _linear_parts(g, nvars: int) -> tuple[np.ndarray, float]:
    """Dense coefficient vector and constant of a polynomial of degree <= 1."""
    a = np.zeros(nvars)
    const = 0.0
    for row, c in zip(g.rows, g.coeffs):
        idx = row[row != mono.PAD]
        if idx.size == 0:
            const += c
        else:
            a[idx[0]] += c
    return a, const


def check_linear_inequalities(pop) -> None:
    """Raise :class:`~polylip.errors.RelaxationError` unless the POP's constraints are linear
    inequalities only (the form the LP hierarchy needs), naming the first that is not.

    Called on the user's POP before it is scaled, so that the message quotes the constraint
    as written (POP QA round 4: HS 8's x1^2 + x2^2 = 25 was refused as
    "-0.390625 + x1**2 + x2**2 == 0", the scaled problem's).

    Examples
    --------
    >>> import sympy
    >>> from polylip import POP
    >>> x = sympy.Symbol("x")
    >>> check_linear_inequalities(POP(x, ineqs=[x + 1]))
    >>> check_linear_inequalities(POP(x, eqs=[x**2 - 4]))
    Traceback (most recent call last):
    ...
    polylip.errors.RelaxationError: the LP hierarchy needs a polytope given by inequalities; the problem has 1 equality constraint(s) (first: -4 + x**2 == 0). Eliminate linear equalities by substitution, or use method='sos'
    """
    if pop.eqs:
        raise RelaxationError(
            f"the LP hierarchy needs a polytope given by inequalities; the problem has "
            f"{len(pop.eqs)} equality constraint(s) (first: {pop.eqs[0]} == 0). Eliminate linear "
            "equalities by substitution, or use method='sos'")
    for i, g in enumerate(pop.ineqs):
        if g.degree > 1:
            raise RelaxationError(
                f"inequality {i} ({g} >= 0) has degree {g.degree}: the LP hierarchy needs a "
                "polytope, i.e. linear inequalities only (use method='sos' for other sets)")


def polytope_of(pop) -> Polytope:
    """Read the POP's feasible set as a polytope with factors scaled to ``[0, 1]``.

    Raises :class:`~polylip.errors.RelaxationError` for equalities, non-linear inequalities, an
    empty set, or a variable of the objective or of a constraint that is unbounded.

    Examples
    --------
    >>> import sympy
    >>> from polylip import POP
    >>> x = sympy.Symbol("x")
    >>> P = polytope_of(POP(x**2, ineqs=[x >= -1, x <= 3]))
    >>> P.kind, P.lower.tolist(), P.upper.tolist()
    ('box', [-1.0], [3.0])
    """
    n = pop.nvars
    check_linear_inequalities(pop)
    lower = np.full(n, -np.inf)
    upper = np.full(n, np.inf)
    general = []  # (a, c, index): a @ x + c >= 0 with two or more variables
    for i, g in enumerate(pop.ineqs):
        a, c = _linear_parts(g, n)
        nz = np.flatnonzero(a)
        if nz.size == 0:
            if c < 0:
                raise EmptySetError(f"inequality {i} is the negative constant {c:g} >= 0: the "
                                    "feasible set is empty")
            continue
        if nz.size == 1:
            v = nz[0]
            bound = -c / a[v]
            if a[v] > 0:
                lower[v] = max(lower[v], bound)
            else:
                upper[v] = min(upper[v], bound)
        else:
            general.append((a, c, i))
    binary = pop.binary_mask
    spin = pop.spin_mask
    lower = np.where(binary, np.maximum(lower, 0.0), lower)
    upper = np.where(binary, np.minimum(upper, 1.0), upper)
    lower = np.where(spin, np.maximum(lower, -1.0), lower)
    upper = np.where(spin, np.minimum(upper, 1.0), upper)

    used = set(int(v) for v in pop.objective.variable_indices())
    for g in pop.ineqs:
        used |= set(int(v) for v in g.variable_indices())
    used |= set(np.flatnonzero(binary | spin).tolist())
    used = sorted(used)
    names = pop.variables

    gen_ranges = []
    kind = "box" if not general else "polytope"
    if general:
        lower, upper, gen_ranges = _polytope_ranges(pop, lower, upper, general, used)
    # (a bound -c/a is one rounding off: empty only beyond that, else the LP decides)
    slack = 1e-12 + 4 * np.finfo(float).eps * np.maximum(np.abs(lower), np.abs(upper))
    bad = [v for v in used if lower[v] > upper[v] + slack[v]]
    if bad:
        raise EmptySetError(f"the feasible set is empty: variable {names[bad[0]]} has lower bound "
                              f"{lower[bad[0]]:g} above its upper bound {upper[bad[0]]:g}")
    unbounded = [names[v] for v in used if not (np.isfinite(lower[v]) and np.isfinite(upper[v]))]
    if unbounded:
        raise RelaxationError(
            f"the feasible set is not a bounded polytope: variable(s) {unbounded[:5]} have no "
            "finite lower and upper bound; the LP hierarchy needs every variable bounded "
            "(add x >= a and x <= b, or use method='sos')")
    unused = np.setdiff1d(np.arange(n), used)
    lower = lower.copy()
    upper = upper.copy()
    lower[unused] = np.nan
    upper[unused] = np.nan

    width = max([1] + [int(np.count_nonzero(a)) for a, _, _ in general])
    m = len(used) + len(general)
    fv = np.full((m, width), mono.PAD, dtype=mono.INDEX_DTYPE)
    fc = np.zeros((m, width))
    f0 = np.zeros(m)
    fbool = np.zeros(m, dtype=bool)
    fdeg = np.zeros(m, dtype=bool)
    labels = []
    for j, v in enumerate(used):
        lo, hi = lower[v], upper[v]
        fv[j, 0] = v
        if hi - lo <= 1e-12 * max(1.0, abs(lo)):
            fc[j, 0], f0[j], fdeg[j] = 1.0, -lo, True
            labels.append(f"{names[v]} == {lo:g}")
        else:
            fc[j, 0], f0[j] = 1.0 / (hi - lo), -lo / (hi - lo)
            labels.append(f"{names[v]} in [{lo:g}, {hi:g}]")
        fbool[j] = bool(binary[v] or spin[v])
    for k, ((a, c, i), (lo, hi)) in enumerate(zip(general, gen_ranges)):
        j = len(used) + k
        nz = np.flatnonzero(a)
        fv[j, :nz.size] = nz
        if hi - lo <= 1e-12 * max(1.0, abs(lo)):
            fc[j, :nz.size], f0[j], fdeg[j] = a[nz], c - lo, True
        else:
            fc[j, :nz.size], f0[j] = a[nz] / (hi - lo), (c - lo) / (hi - lo)
        labels.append(f"inequality {i} in [{lo:g}, {hi:g}]")
    return Polytope(kind, lower, upper, fv, fc, f0, fbool, fdeg, tuple(labels))


def _polytope_ranges(pop, lower, upper, general, used):
    """Bounds of every used variable and range of every general inequality over the polytope,
    by linear programs (HiGHS)."""
    n = pop.nvars
    A_ub = np.array([-a for a, _, _ in general])
    b_ub = np.array([c for _, c, _ in general])
    bounds = [(None if not np.isfinite(lo) else lo, None if not np.isfinite(hi) else hi)
              for lo, hi in zip(lower, upper)]

    def extreme(obj, what):
        res = linprog(obj, A_ub=A_ub, b_ub=b_ub, bounds=bounds, method="highs")
        if res.status == 2:
            raise EmptySetError("the feasible polytope is empty (HiGHS: infeasible)")
        if res.status == 3:
            raise RelaxationError(
                f"the feasible set is not a bounded polytope: {what} is unbounded over it; the LP "
                "hierarchy needs a bounded polytope (add bounds, or use method='sos')")
        if res.status != 0:
            raise RelaxationError(f"could not compute the range of {what} over the polytope: {res.message}")
        return float(res.fun)

    lower, upper = lower.copy(), upper.copy()
    for v in used:
        e = np.zeros(n)
        e[v] = 1.0
        lower[v] = extreme(e, f"variable {pop.variables[v]}")
        upper[v] = -extreme(-e, f"variable {pop.variables[v]}")
    ranges = []
    for a, c, i in general:
        ranges.append((extreme(a, f"inequality {i}") + c, -extreme(-a, f"inequality {i}") + c))
    return lower, upper, ranges

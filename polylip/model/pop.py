"""The polynomial optimization problem (POP) a user writes."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Iterable

import numpy as np
import sympy

from polylip.errors import ModelError, RelaxationError
from polylip.poly import Polynomial, from_sympy
from polylip.poly.parse import parse_expression, parse_relation
from polylip.poly.sympy_io import same_name_error, symbols_of
from polylip.relax.hierarchy import as_certificate
from polylip.solve.pipeline import SolverSettings, solve_pop
from polylip.solve.relaxation import Relaxation

log = logging.getLogger(__name__)

SENSES = ("min", "max")


def _as_list(items) -> list:
    if items is None:
        return []
    if isinstance(items, (str, Polynomial, sympy.Basic)) or not isinstance(items, Iterable):
        return [items]
    return list(items)


_NOT_IN_NAMES = re.compile(r"[\s,]")


def _name(s) -> str:
    """The variable name of one entry of ``variables``, ``binary`` or ``spin``: a sympy symbol,
    a polylip variable (``Polynomial.variable``) or a string; anything else is refused (a
    ``spin=[x + 1]`` made a variable named "x + 1"; found by the POP QA round)."""
    if isinstance(s, sympy.Symbol):
        return s.name
    if isinstance(s, str):
        # (a name with whitespace or a comma is a list written as one string: variables="x1 x2"
        # made one variable "x1 x2", which no text file and no expression can name)
        if not s or _NOT_IN_NAMES.search(s):
            raise ModelError(f"{s!r} is not a variable name (empty, or with a space or a comma): "
                             "give the names as a list, e.g. variables=['x1', 'x2']")
        return s
    if isinstance(s, Polynomial) and s.nterms == 1 and s.degree == 1 and s.coeffs[0] == 1.0:
        return s.used_variables[0]
    raise ModelError(f"{s!r} is not a variable: variables, binary and spin take symbols, "
                     "polylip variables or names")


def _names(items) -> list[str]:
    return [_name(s) for s in _as_list(items)]


def _free_names(item) -> set[str]:
    if isinstance(item, Polynomial):
        return set(item.used_variables)
    if isinstance(item, sympy.Basic):
        return set(symbols_of(item))  # iterative: any depth, linear in the expression
    return set()


def default_order(names) -> list[str]:
    """The default variable order: every name, sorted as sympy sorts symbols (by name).

    >>> default_order({"y", "x", "b"})
    ['b', 'x', 'y']
    """
    # sympy's sort key of a plain Symbol is (class key, (1, (name,)), ...): the same order as
    # the names', without creating a symbol and its key per name (0.3 s at 10^4 variables)
    return sorted(names)


def _split_relation(item, where: str, variables=None, bare: str = "ineq"):
    """Turn a constraint into ('ineq', g) with g >= 0 or ('eq', h) with h == 0.

    A string is read by polylip's own parser (:mod:`polylip.poly.parse`), never evaluated.
    """
    if isinstance(item, str):
        return parse_relation(item, variables, bare=bare, where=where)
    if isinstance(item, sympy.core.relational.Equality):
        return "eq", item.lhs - item.rhs
    if isinstance(item, (sympy.GreaterThan, sympy.StrictGreaterThan)):
        if isinstance(item, sympy.StrictGreaterThan):
            log.info("strict inequality %s is relaxed to a non-strict one", item)
        return "ineq", item.lhs - item.rhs
    if isinstance(item, (sympy.LessThan, sympy.StrictLessThan)):
        if isinstance(item, sympy.StrictLessThan):
            log.info("strict inequality %s is relaxed to a non-strict one", item)
        return "ineq", item.rhs - item.lhs
    if isinstance(item, sympy.core.relational.Relational):
        raise ModelError(f"unsupported relation {item} in {where} (use >=, <= or Eq)")
    if isinstance(item, (bool, sympy.logic.boolalg.BooleanAtom)):
        raise ModelError(f"the constraint in {where} evaluated to the constant {item}; "
                         "write constraints as expressions or relations in the variables")
    return None, item


@dataclass(frozen=True)
class POP:
    """A polynomial optimization problem: minimize or maximize a polynomial over a basic
    semialgebraic set.

    ``minimize f(x)  subject to  g_i(x) >= 0,  h_j(x) == 0,  x_k in {0, 1} (binary),
    x_l in {-1, 1} (spin)``.

    Parameters
    ----------
    objective : sympy expression, Polynomial, number or string
    ineqs : iterable
        Expressions ``g`` meaning ``g >= 0``, or sympy relations ``g >= h``, ``g <= h``
        (strict ones are relaxed to non-strict), or ``Eq(g, h)`` (moved to the equalities).
    eqs : iterable
        Expressions ``h`` meaning ``h == 0``, or ``Eq(g, h)``.
    sense : {"min", "max"}
    variables : sequence of symbols or names, optional
        The decision variables and their order; default: every symbol that occurs, sorted by
        name. An expression using a symbol outside this list is an error.
    binary, spin : sequence of symbols or names
        Variables with x^2 = x, respectively x^2 = 1. Exponents are reduced modulo these
        relations before any relaxation is built.

    Examples
    --------
    >>> x, y = sympy.symbols("x y")
    >>> pop = POP(x**2 + y**2 - x*y, ineqs=[1 - x**2 - y**2], sense="min")
    >>> pop.nvars, pop.degree
    (2, 2)
    """

    objective: Polynomial
    ineqs: tuple[Polynomial, ...] = ()
    eqs: tuple[Polynomial, ...] = ()
    sense: str = "min"
    variables: tuple[str, ...] = ()
    binary: tuple[str, ...] = ()
    spin: tuple[str, ...] = ()
    symbols: dict = field(default_factory=dict, compare=False, repr=False)

    def __init__(self, objective, ineqs=(), eqs=(), sense: str = "min", variables=None,
                 binary=(), spin=()):
        if sense not in SENSES:
            raise ModelError(f"sense must be 'min' or 'max', not {sense!r}")
        if variables is not None and not isinstance(variables, str):
            variables = list(variables)
        names = None if variables is None else _names(variables)
        raw_ineqs, raw_eqs = [], []
        for i, item in enumerate(_as_list(ineqs)):
            kind, expr = _split_relation(item, f"ineqs[{i}]", names)
            (raw_eqs if kind == "eq" else raw_ineqs).append(expr)
        for i, item in enumerate(_as_list(eqs)):
            kind, expr = _split_relation(item, f"eqs[{i}]", names, bare="eq")
            if kind == "ineq":
                raise ModelError(f"eqs[{i}] is an inequality ({item}); put it in ineqs")
            raw_eqs.append(expr)
        if isinstance(objective, str):
            objective = parse_expression(objective, names, where="objective")
        if isinstance(objective, (sympy.core.relational.Relational, bool)):
            raise ModelError("the objective must be an expression, not a relation")

        symbols = {}

        def add_symbol(name, sym):
            prev = symbols.setdefault(name, sym)
            if prev is not sym and prev != sym:
                raise same_name_error(prev, sym)

        for item in [objective, *raw_ineqs, *raw_eqs]:
            if isinstance(item, sympy.Basic):
                for name, sym in symbols_of(item).items():
                    add_symbol(name, sym)
        if variables is None:
            names = set(symbols)  # the sympy items' names, collected just above
            for item in [objective, *raw_ineqs, *raw_eqs]:
                if not isinstance(item, sympy.Basic):
                    names |= _free_names(item)
            names |= set(_names(binary)) | set(_names(spin))
            order = default_order(names)
        else:
            order = _names(variables)
            if len(set(order)) != len(order):
                raise ModelError(f"duplicate names in variables: {order}")
            for v in _as_list(variables):
                if isinstance(v, sympy.Symbol):
                    add_symbol(v.name, v)
        known = set(order)
        for what, names in (("binary", _names(binary)), ("spin", _names(spin))):
            unknown = [n for n in names if n not in known]
            if unknown:
                raise ModelError(f"{what} variables {unknown} are not among the problem variables")
        if set(_names(binary)) & set(_names(spin)):
            raise ModelError(f"variables {sorted(set(_names(binary)) & set(_names(spin)))} "
                             "cannot be both binary and spin")

        # one tuple and one list of each kind for every item: from_sympy reuses the order it
        # validated for the previous item (the same tuple), so m items cost O(m + n), not O(m n)
        order_t, bnames, snames = tuple(order), _names(binary), _names(spin)

        def convert(item, where):
            try:
                poly = from_sympy(item, order_t)
            except ModelError as exc:
                raise ModelError(f"{where}: {exc}") from None
            return poly.reduce_boolean(bnames, snames)

        obj = convert(objective, "objective")
        gs = tuple(convert(g, f"inequality {i}") for i, g in enumerate(raw_ineqs))
        hs = tuple(convert(h, f"equality {i}") for i, h in enumerate(raw_eqs))
        for i, h in enumerate(hs):
            if h.is_constant() and not h.is_zero():
                log.warning("equality %d is the non-zero constant %g: the problem is infeasible", i,
                            h.constant_term())
        object.__setattr__(self, "objective", obj)
        object.__setattr__(self, "ineqs", gs)
        object.__setattr__(self, "eqs", tuple(h for h in hs if not h.is_zero()))
        object.__setattr__(self, "sense", sense)
        object.__setattr__(self, "variables", tuple(order))
        object.__setattr__(self, "binary", tuple(_names(binary)))
        object.__setattr__(self, "spin", tuple(_names(spin)))
        object.__setattr__(self, "symbols", symbols)

    # ------------------------------------------------------------------ facts
    @property
    def nvars(self) -> int:
        return len(self.variables)

    @property
    def degree(self) -> int:
        """Largest degree among the objective and the constraints."""
        return max([self.objective.degree] + [p.degree for p in self.ineqs + self.eqs])

    @property
    def binary_mask(self) -> np.ndarray:
        return np.array([v in self.binary for v in self.variables], dtype=bool)

    @property
    def spin_mask(self) -> np.ndarray:
        return np.array([v in self.spin for v in self.variables], dtype=bool)

    def min_order(self) -> int:
        """Smallest valid relaxation order: half the largest degree, rounded up (at least 1)."""
        degs = [self.objective.degree] + [p.degree for p in self.ineqs + self.eqs]
        return max(1, *[(d + 1) // 2 for d in degs])

    def evaluate(self, point) -> float | np.ndarray:
        """Objective value at a point (mapping or array in variable order)."""
        return self.objective.evaluate(point)

    def is_feasible(self, point, tol: float = 1e-6) -> bool | np.ndarray:
        """Whether a point (or each of many) satisfies every constraint up to ``tol``."""
        pts = np.atleast_2d(np.asarray(point, dtype=float))
        ok = np.ones(pts.shape[0], dtype=bool)
        for g in self.ineqs:
            ok &= np.atleast_1d(g.evaluate(pts)) >= -tol
        for h in self.eqs:
            ok &= np.abs(np.atleast_1d(h.evaluate(pts))) <= tol
        mask_b, mask_s = self.binary_mask, self.spin_mask
        if mask_b.any():
            ok &= np.all(np.abs(pts[:, mask_b] * (pts[:, mask_b] - 1)) <= tol, axis=1)
        if mask_s.any():
            ok &= np.all(np.abs(pts[:, mask_s] ** 2 - 1) <= tol, axis=1)
        return bool(ok[0]) if np.ndim(point) == 1 else ok

    # ------------------------------------------------------------------ relax and solve
    def relax(self, order: int | None = None, sparsity="auto"):
        """Build the moment-SOS relaxation of the given order (default: the smallest valid).

        ``sparsity="auto"`` takes correlative sparsity when its cliques are much smaller than
        the problem (:func:`polylip.sparsity.choose.choose_sparsity`), else the dense
        relaxation. Returns a :class:`~polylip.solve.relaxation.Relaxation` to inspect and solve.
        """
        return Relaxation.build(self, order=order, sparsity=sparsity)

    def solve(self, order: int | str | None = None, sparsity="auto", solver: str = "auto",
              method: str = "sos", degree: int | None = None, *, certificate=None,
              **solver_options):
        """Relax and solve; returns a :class:`~polylip.solve.result.Result`.

        Parameters
        ----------
        order : int or "auto", optional
            Order of the moment-SOS relaxation (``method="sos"``); default the smallest valid;
            "auto" raises it until the bound is certified (see :mod:`polylip.relax.hierarchy`).
        sparsity : str or pattern
            "auto" (default: correlative sparsity when its cliques are much smaller than the
            problem, else dense), "dense", "cs", "ts", "cs+ts" or a pattern from
            :mod:`polylip.sparsity`.
        solver : str
            "auto", "clarabel", or any PICOS solver name ("cvxopt", ...); for ``method="lp"``
            also "highs" (scipy's HiGHS). "auto" picks by size (:mod:`polylip.backends.registry`).
        method : {"sos", "lp"}
            The moment-SOS (Lasserre) hierarchy, or the Krivine/Handelman LP hierarchy
            (polytopes only) of certificate ``degree``.
        certificate : Putinar or Krivine, optional
            The certificate as a value (:mod:`polylip.relax.hierarchy`), instead of
            ``method``/``order``/``degree``/``sparsity``.
        solver_options
            The solve stage's settings (:class:`polylip.solve.pipeline.SolverSettings`):
            ``side="auto"|"moment"|"sos"``, ``tol``, ``max_iters``, ``verbose``,
            ``time_limit`` in seconds for the whole solve (every backend honours it, and a
            solve it stops ends with status "time_limit"), ``strategy`` (LP hierarchy).

        Examples
        --------
        >>> x = sympy.Symbol("x")
        >>> res = POP(x**4 - 3*x**2 + x).solve(order=2, time_limit=60)
        >>> res.status, round(res.bound, 4)
        ('optimal', -3.5139)
        """
        if certificate is None:
            try:
                certificate = as_certificate(method, order=order, degree=degree, sparsity=sparsity)
            except RelaxationError as exc:
                raise ModelError(str(exc)) from None
        return solve_pop(self, certificate, SolverSettings.of(solver, **solver_options))

    def __str__(self) -> str:
        lines = [f"{'minimize' if self.sense == 'min' else 'maximize'} {self.objective}"]
        lines += [f"  s.t. {g} >= 0" for g in self.ineqs]
        lines += [f"  s.t. {h} == 0" for h in self.eqs]
        if self.binary:
            lines.append(f"  binary: {' '.join(self.binary)}")
        if self.spin:
            lines.append(f"  spin: {' '.join(self.spin)}")
        lines.append(f"  variables: {' '.join(self.variables)}")
        return "\n".join(lines)

"""Exact optimization of multilinear polynomials over two-valued variables, by variable
elimination (max-sum dynamic programming on the interaction graph).

Problem solved::

    max (or min) f(x)   over   x_i in {a_i, b_i} for every variable i

where each variable takes two values: *binary* ``{0, 1}``, *spin* ``{-1, 1}``, or the two
endpoints of a *box* ``[lo, hi]``. For a box the answer is also the optimum over the whole box
``[lo, hi]`` provided ``f`` is *multilinear* in the box variables (degree at most one in each):
a function affine in each variable separately attains its maximum and minimum over a box at a
vertex (fix all but one variable; the function of the remaining one is affine, so one of its
two endpoints is at least as good). Binary and spin variables are first reduced modulo
``x^2 = x`` and ``x^2 = 1``; a box variable of degree two or more is refused
(:class:`~polylip.errors.ModelError`), since then the optimum need not be at a vertex.

Method (bucket elimination, Dechter 1999). The *interaction graph* joins two variables that
share a monomial. Along an elimination order ``v_1, ..., v_n`` (the greedy min-degree or
min-fill elimination game of :func:`polylip.sparsity.chordal.elimination`, the package's one
ordering, or given), each variable's *bucket* holds the factors (tables) whose earliest
variable it is; the bucket's tables are added (numpy broadcasting over the union of their
scopes) and ``v`` is maximized out (``max`` of the two halves of the table), which leaves a new
table over the other variables, placed in the bucket of its earliest one. A factor is a numpy
array with one axis of length 2 per variable of its scope (index 0 is the first value, ``lo``,
``0`` or ``-1``; index 1 the second); the largest table has ``2^w`` entries, ``w`` the
*elimination width* (the induced width of the order plus one; for a tree decomposition of width
``tw``, ``w <= tw + 1``). The maximizing vertex is read back in reverse order from the stored
argmax tables. Cost: ``O(n 2^w)`` time and memory, against ``2^n`` for enumeration.

Sizes are checked before any table is allocated: if the largest table would exceed ``budget``
entries (default :data:`DEFAULT_BUDGET` = 2^24, 128 MB of float64),
:class:`EliminationTooLargeError` is raised. :func:`plan_elimination` gives the order and the
width without computing anything numeric.

Rounding. The optimum computed is the floating-point sum, along the chosen vertex, of the term
values ``c_k prod x_i``; the maximum selections are exact comparisons. Every such sum has at
most ``N = 2 nterms + degree + 2`` rounded operations in a path (products, the table sums and
the messages), so its error is at most ``N eps S`` with ``S = sum_k |c_k| prod_i max(|a_i|,
|b_i|)`` (the largest magnitude any partial sum can reach) and ``eps`` the float64 machine
epsilon. :attr:`EliminationResult.margin` is that quantity, and :attr:`EliminationResult.bound`
adds it to (max) or subtracts it from (min) the optimum: a certified bound up to the standard
first-order rounding model (``gamma_N ~ N eps / 2``, taken with a factor 2 to spare).

Why this module is long: it is one algorithm (plan, tables, elimination, read-back, rounding
margin) whose parts share the table layout; split, each part would need the others' internals.

Examples
--------
>>> from polylip.poly import variables
>>> x, y, z = variables("x y z")
>>> res = eliminate(x * y - y * z + 2 * z, {"x": "spin", "y": "spin", "z": "binary"})
>>> res.value, res.point
(4.0, {'x': -1.0, 'y': -1.0, 'z': 1.0})
>>> res.width, res.max_table
(2, 4)
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

from polylip.errors import ModelError, PolylipError
from polylip.model.pop import POP
from polylip.poly import Polynomial
from polylip.poly import monomials as mono
from polylip.sparsity import chordal

__all__ = ["eliminate", "plan_elimination", "pop_domains", "EliminationResult",
           "EliminationPlan", "EliminationTooLargeError", "DEFAULT_BUDGET", "HEURISTICS"]

log = logging.getLogger(__name__)

#: Default limit on the entries of the largest table (2^24 float64 = 128 MB).
DEFAULT_BUDGET = 2 ** 24
#: Elimination-order heuristics: the greedy min-degree or min-fill elimination game, "best" of both, or "given".
HEURISTICS = ("auto", "min_degree", "min_fill_in", "best")
#: "auto" also tries min_fill_in (slower, often narrower) up to this many variables.
MIN_FILL_MAX_NODES = 1500


class EliminationTooLargeError(PolylipError, ValueError):
    """The elimination would need a table larger than the budget (raised before allocating).

    Attributes ``plan`` (the :class:`EliminationPlan` found) and ``budget``.
    """

    def __init__(self, message: str, plan: "EliminationPlan", budget: int):
        super().__init__(message)
        self.plan = plan
        self.budget = budget


@dataclass(frozen=True)
class EliminationPlan:
    """An elimination order and the sizes it implies (no numeric work done).

    Attributes
    ----------
    order : tuple of str
        Variables in elimination order (only those that occur in the polynomial).
    width : int
        Largest number of variables in one table (induced width + 1); 0 for a constant.
    max_table : int
        ``2 ** width``, the entries of the largest table.
    heuristic : str
        How the order was found.
    treewidth : int or None
        Width of the tree decomposition the order came from (None for a given order).
    """

    order: tuple
    width: int
    max_table: int
    heuristic: str
    treewidth: int | None = None


@dataclass(frozen=True)
class EliminationResult:
    """The exact optimum of a multilinear polynomial over two-valued variables.

    Attributes
    ----------
    value : float
        The optimum computed by elimination (floating point).
    bound : float
        ``value + margin`` for ``sense="max"`` (an upper bound of the maximum), ``value -
        margin`` for ``"min"`` (a lower bound of the minimum), see the module docstring.
    margin : float
        Bound on the rounding error of ``value``.
    point : dict
        An optimal vertex, ``{name: value}`` for every variable of the domains.
    sense : {"max", "min"}
    width, max_table : int
        Elimination width and entries of the largest table (see :class:`EliminationPlan`).
    order : tuple of str
        The elimination order used.
    seconds : float
        Wall time (planning included).
    details : dict
        ``nterms``, ``nvars``, ``factors``, ``heuristic``, ``plan_seconds``.
    """

    value: float
    bound: float
    margin: float
    point: dict
    sense: str
    width: int
    max_table: int
    order: tuple
    seconds: float
    details: dict = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# domains
# ---------------------------------------------------------------------------------------------
def _domain_pair(name: str, dom) -> tuple[float, float, str]:
    """``(first value, second value, kind)`` of a domain specification."""
    if isinstance(dom, str):
        if dom == "binary":
            return 0.0, 1.0, "binary"
        if dom == "spin":
            return -1.0, 1.0, "spin"
        raise ModelError(f"variable {name!r}: unknown domain {dom!r} (use 'binary', 'spin' or a "
                         "pair (lo, hi))")
    try:
        lo, hi = (float(v) for v in dom)
    except (TypeError, ValueError):
        raise ModelError(f"variable {name!r}: a domain is 'binary', 'spin' or a pair (lo, hi), "
                         f"not {dom!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo > hi:
        raise ModelError(f"variable {name!r}: the box [{lo}, {hi}] needs finite lo <= hi")
    return lo, hi, "box"


def _single_variable(g: Polynomial):
    """``(index, coefficients [c0, c1, c2])`` if ``g`` is a polynomial of degree <= 2 in one
    variable, else None."""
    idx = g.variable_indices()
    if idx.size != 1 or g.degree > 2:
        return None
    c = np.zeros(3)
    for r, a in zip(g.rows, g.coeffs):
        c[int((r != mono.PAD).sum())] += a
    return int(idx[0]), c


def pop_domains(pop) -> dict:
    """Two-valued domains of the variables of a POP: binary, spin, or boxes from its
    constraints.

    A variable that is neither binary nor spin needs bounds among the inequalities, each a
    polynomial in that variable alone: ``x - lo >= 0`` and ``hi - x >= 0`` (several are
    intersected), ``b^2 - x^2 >= 0`` (``[-b, b]``), or ``-(x - lo)(x - hi) >= 0`` (``[lo, hi]``).
    Any other constraint (an equality, a ball, a coupling inequality) is refused, because then
    the feasible set is not a product of intervals.

    Raises
    ------
    ModelError
        For any other constraint, or a variable without both bounds.

    Examples
    --------
    >>> import sympy
    >>> from polylip.model import POP
    >>> x, y = sympy.symbols("x y")
    >>> pop_domains(POP(x * y, ineqs=[x + 1, 2 - x, 4 - y**2], sense="max"))
    {'x': (-1.0, 2.0), 'y': (-2.0, 2.0)}
    """
    names = list(pop.variables)
    if pop.eqs:
        raise ModelError("elimination needs a product of two-valued domains; the POP has "
                         f"{len(pop.eqs)} equality constraint(s)")
    lo = np.full(len(names), -np.inf)
    hi = np.full(len(names), np.inf)
    for k, g in enumerate(pop.ineqs):
        if g.is_zero() or g.is_constant():
            if g.constant_term() < 0:
                raise ModelError(f"inequality {k} is the negative constant {g.constant_term()}: "
                                 "the problem is infeasible")
            continue  # always satisfied (e.g. 1 - x^2 for a spin x, after reduction)
        single = _single_variable(g)
        if single is None:
            raise ModelError(f"elimination needs a product of two-valued domains; inequality {k} "
                             f"({g} >= 0) is not a bound on one variable")
        i, (c0, c1, c2) = single
        if c2 == 0.0:  # c0 + c1 x >= 0
            if c1 > 0:
                lo[i] = max(lo[i], -c0 / c1)
            elif c1 < 0:
                hi[i] = min(hi[i], -c0 / c1)
            continue
        disc = c1 * c1 - 4 * c2 * c0
        if c2 > 0 or disc < 0:
            raise ModelError(f"inequality {k} ({g} >= 0) does not bound {names[i]} to an interval")
        r = math.sqrt(disc)
        a, b = sorted(((-c1 - r) / (2 * c2), (-c1 + r) / (2 * c2)))
        if c1 == 0.0 and c0 > 0:  # b^2 - x^2: exact endpoints
            a, b = -math.sqrt(c0 / -c2), math.sqrt(c0 / -c2)
        lo[i], hi[i] = max(lo[i], a), min(hi[i], b)
    out = {}
    binary, spin = set(pop.binary), set(pop.spin)
    for i, n in enumerate(names):
        if n in binary or n in spin:
            kind = "binary" if n in binary else "spin"
            values = (0.0, 1.0) if kind == "binary" else (-1.0, 1.0)
            if any(v < lo[i] or v > hi[i] for v in values):
                raise ModelError(f"the bounds [{lo[i]}, {hi[i]}] on the {kind} variable {n!r} "
                                 "exclude one of its values; substitute the fixed value instead")
            out[n] = kind
        elif np.isfinite(lo[i]) and np.isfinite(hi[i]):
            if lo[i] > hi[i]:
                raise ModelError(f"the bounds of {n} are empty: [{lo[i]}, {hi[i]}]")
            out[n] = (float(lo[i]), float(hi[i]))
        else:
            raise ModelError(f"variable {n!r} has no two-valued domain: it is neither binary nor "
                             "spin and has no lower and upper bound among the constraints")
    return out


def _prepare(obj, domains, sense):
    """Objective polynomial, per-variable (lo, hi) arrays, kinds, and the sense."""
    if isinstance(obj, POP):
        if domains is not None:
            raise ModelError("pass domains only with a polynomial (a POP carries its own)")
        doms = pop_domains(obj)
        sense = obj.sense if sense is None else sense
        poly = obj.objective
    elif isinstance(obj, Polynomial):
        if domains is None:
            raise ModelError("a polynomial needs domains={name: 'binary' | 'spin' | (lo, hi)}")
        if not isinstance(domains, Mapping):
            raise ModelError("domains must be a mapping {name: 'binary' | 'spin' | (lo, hi)}")
        poly = obj
        doms = dict(domains)
        missing = [v for v in poly.used_variables if v not in doms]
        if missing:
            raise ModelError(f"variables {missing} have no two-valued domain (give each "
                             "'binary', 'spin' or a pair (lo, hi))")
        extra = [v for v in doms if v not in poly.variables]
        if extra:
            poly = poly.with_variables(tuple(poly.variables) + tuple(extra))
    else:
        raise ModelError(f"expected a Polynomial or a POP, got {type(obj).__name__}")
    sense = "max" if sense is None else sense
    if sense not in ("max", "min"):
        raise ModelError(f"sense must be 'max' or 'min', not {sense!r}")
    names = poly.variables
    pairs = [_domain_pair(n, doms[n]) if n in doms else (0.0, 0.0, "unused") for n in names]
    kinds = [p[2] for p in pairs]
    poly = poly.reduce_boolean([n for n, k in zip(names, kinds) if k == "binary"],
                               [n for n, k in zip(names, kinds) if k == "spin"])
    rows = poly.rows
    if rows.shape[1] > 1:
        rep = (rows[:, 1:] == rows[:, :-1]) & (rows[:, 1:] != mono.PAD)
        if rep.any():
            k, j = np.argwhere(rep)[0]
            raise ModelError(f"the polynomial is not multilinear in the box variable "
                             f"{names[rows[k, j]]!r} (degree 2 or more): its optimum over the box "
                             "need not be at a vertex, so elimination does not apply")
    lo = np.array([p[0] for p in pairs])
    hi = np.array([p[1] for p in pairs])
    return poly, lo, hi, [n for n in names if n in doms], sense


# ---------------------------------------------------------------------------------------------
# orders and plans
# ---------------------------------------------------------------------------------------------
def _scopes(rows: np.ndarray) -> list[tuple]:
    """Distinct non-constant scopes of the terms (tuples of variable indices)."""
    if rows.shape[1] == 0:
        return []
    deg = mono.degrees(rows)
    out = set()
    for k in np.unique(deg[deg > 0]):
        block = np.unique(rows[deg == k][:, :k], axis=0)
        out.update(tuple(int(v) for v in r) for r in block)
    return sorted(out)


def _edges(scopes) -> np.ndarray:
    """The interaction graph's edges (pairs of variables sharing a monomial) as an (E, 2) array."""
    pairs = [(s[a], s[b]) for s in scopes for a in range(len(s)) for b in range(a + 1, len(s))]
    return np.array(pairs, dtype=np.int64).reshape(-1, 2)


def _simulate(order: Sequence[int], scopes) -> int:
    """Elimination width of an order (largest union scope of a bucket)."""
    pos = {v: i for i, v in enumerate(order)}
    buckets: list[list] = [[] for _ in order]
    for s in scopes:
        fs = frozenset(pos[v] for v in s)
        buckets[min(fs)].append(fs)
    width = 0
    for p in range(len(order)):
        if not buckets[p]:
            width = max(width, 1)
            continue
        union = frozenset().union(*buckets[p])
        width = max(width, len(union))
        rest = union - {p}
        if rest:
            buckets[min(rest)].append(rest)
    return width


def _plan(poly: Polynomial, heuristic="auto", order=None) -> tuple[EliminationPlan, list]:
    scopes = _scopes(poly.rows)
    used = [int(v) for v in poly.variable_indices()]
    names = poly.variables
    if order is not None:
        pos = {n: i for i, n in enumerate(names)}
        unknown = [v for v in order if v not in pos]
        if unknown:
            raise ModelError(f"the order names unknown variables {unknown}")
        idx = [pos[v] for v in order if pos[v] in set(used)]
        missing = [names[v] for v in used if v not in set(idx)]
        if missing or len(set(idx)) != len(idx):
            raise ModelError(f"the order must list every variable of the polynomial once; "
                             f"missing {missing}" if missing else "the order repeats a variable")
        width = _simulate(idx, scopes)
        return EliminationPlan(tuple(names[v] for v in idx), width, 2 ** width, "given"), scopes
    if heuristic not in HEURISTICS:
        raise ModelError(f"heuristic must be one of {HEURISTICS}, not {heuristic!r}")
    n = len(names)
    edges = _edges(scopes)
    is_used = np.zeros(n, dtype=bool)
    is_used[used] = True
    tries = []
    if heuristic in ("auto", "min_degree", "best"):
        tries.append(("min_degree", "min-degree"))
    if heuristic in ("min_fill_in", "best") or (heuristic == "auto" and len(used) <= MIN_FILL_MAX_NODES):
        tries.append(("min_fill_in", "min-fill"))
    best = None
    for label, ordering in tries:
        # the one elimination game of the package (polylip.sparsity.chordal), also used for the
        # chordal extensions of correlative and term sparsity
        order, candidates = chordal.elimination(n, edges, ordering)
        idx = [int(v) for v in order if is_used[v]]
        tw = max((len(candidates[v]) - 1 for v in idx), default=0)
        width = _simulate(idx, scopes)
        log.debug("elimination order %s: treewidth %d, width %d", label, tw, width)
        if best is None or width < best[0].width:
            best = (EliminationPlan(tuple(names[v] for v in idx), width, 2 ** width, label, tw),
                    idx)
    return best[0], scopes


def plan_elimination(obj, domains=None, *, heuristic: str = "auto", order=None) -> EliminationPlan:
    """The elimination order and the table sizes for :func:`eliminate`, without solving.

    Parameters are those of :func:`eliminate`.

    Examples
    --------
    >>> from polylip.poly import Polynomial
    >>> xs = [Polynomial.variable(f"x{i}") for i in range(30)]
    >>> chain = Polynomial.sum(xs[i] * xs[i + 1] for i in range(29))
    >>> plan = plan_elimination(chain, {f"x{i}": "spin" for i in range(30)})
    >>> plan.width, plan.max_table
    (2, 4)
    """
    poly, _, _, _, _ = _prepare(obj, domains, None)
    return _plan(poly, heuristic, order)[0]


# ---------------------------------------------------------------------------------------------
# the numeric elimination
# ---------------------------------------------------------------------------------------------
def _factor_tables(rows, coeffs, pos, lo, hi):
    """Group the non-constant terms by scope (in elimination positions) and build one table per
    scope: ``{scope (sorted positions): ndarray of shape (2,) * len(scope)}``."""
    deg = mono.degrees(rows)
    factors = {}
    inverse = np.full(int(pos.max()) + 1, -1, dtype=np.int64)
    inverse[pos[pos >= 0]] = np.nonzero(pos >= 0)[0]
    for k in np.unique(deg[deg > 0]):
        sel = deg == k
        r = rows[sel][:, :k].astype(np.int64)
        c = coeffs[sel]
        p = np.sort(pos[r], axis=1)  # positions, ascending = axis order of the table
        var = inverse[p]  # the variable at each position
        V = np.stack([lo[var], hi[var]], axis=-1)  # (n, k, 2)
        T = c[:, None] * V[:, 0, :]
        for j in range(1, int(k)):
            T = T[..., None] * V[:, j, :].reshape((-1,) + (1,) * j + (2,))
        uniq, inv = np.unique(p, axis=0, return_inverse=True)
        inv = inv.ravel()
        flat = T.reshape(T.shape[0], -1)
        summed = np.zeros((uniq.shape[0], flat.shape[1]))
        np.add.at(summed, inv, flat)
        shape = (2,) * int(k)
        for s, tab in zip(uniq, summed):
            factors[tuple(int(v) for v in s)] = tab.reshape(shape)
    return factors


def _expand(table, scope, target):
    """View ``table`` (axes = sorted ``scope``) with one axis per variable of sorted ``target``."""
    if scope == target:
        return table
    members = set(scope)
    return table.reshape(tuple(2 if v in members else 1 for v in target))


def _runs_add(a, a_mask, b, b_mask, out=None):
    """``a + b`` for two tables over the same axes, where ``a_mask[i]`` / ``b_mask[i]`` say
    whether the operand has that axis (length 2) or broadcasts along it (length 1).

    Consecutive axes on which both operands behave alike are merged first, so numpy's inner
    loop runs over long contiguous (or stride-0) stretches instead of axes of length 2: with
    20-30 axes of length 2 the plain broadcast is several times slower.
    """
    key = [(bool(x), bool(y)) for x, y in zip(a_mask, b_mask)]
    a_dims, b_dims = [], []
    i = 0
    while i < len(key):
        j = i
        while j < len(key) and key[j] == key[i]:
            j += 1
        size = 1 << (j - i)
        a_dims.append(size if key[i][0] else 1)
        b_dims.append(size if key[i][1] else 1)
        i = j
    full = tuple(2 if x or y else 1 for x, y in key)
    av, bv = a.reshape(a_dims), b.reshape(b_dims)
    if out is not None:
        np.add(av, bv, out=out.reshape(np.broadcast_shapes(tuple(a_dims), tuple(b_dims))))
        return out
    return (av + bv).reshape(full)


def _combine(factors):
    """Sum of factors ``[(scope, table)]`` over the union of their scopes.

    The sum is grown one axis at a time, in the union's (sorted) order: a factor is added as
    soon as the sum has its last variable, so it is added to a table of ``2^k`` entries where
    ``k`` is the rank of its last variable in the union, not to the full table. A bucket of
    ``f`` pairwise factors over ``m`` variables costs about ``4 * 2^m`` additions instead of
    ``f * 2^m``, and the peak memory is one full table plus one half table. Each addition merges
    runs of like axes (:func:`_runs_add`).
    """
    union = tuple(sorted(set().union(*(f[0] for f in factors))))
    rank = {v: i for i, v in enumerate(union)}
    by_last: list[list] = [[] for _ in union]
    for s, t in factors:
        by_last[rank[s[-1]]].append((s, t))
    acc = np.zeros(())
    mask: list[bool] = []  # which axes of acc have length 2
    owned = False  # acc is an array built here (safe to add into in place)
    for k in range(len(union)):
        acc = acc[..., None]
        mask.append(False)
        for s, t in by_last[k]:
            members = set(s)
            t_mask = [union[i] in members for i in range(k + 1)]
            if owned and all(m or not tm for m, tm in zip(mask, t_mask)):
                _runs_add(acc, mask, t, t_mask, out=acc)
            else:
                acc = _runs_add(acc, mask, t, t_mask)
                mask = [m or tm for m, tm in zip(mask, t_mask)]
                owned = True
    # every variable of the union is in some factor's scope, so every axis has length 2 now
    return union, acc


def eliminate(obj, domains=None, *, sense: str | None = None, budget: int = DEFAULT_BUDGET,
              heuristic: str = "auto", order=None) -> EliminationResult:
    """Maximize or minimize a multilinear polynomial exactly over two-valued variables.

    Parameters
    ----------
    obj : Polynomial or POP
        The objective. A :class:`~polylip.model.POP` brings its sense, its binary and spin
        variables and its box constraints (see :func:`pop_domains`); it may have no other
        constraint.
    domains : mapping, optional
        With a polynomial: ``{name: "binary" | "spin" | (lo, hi)}`` for every variable that
        occurs (variables listed here but absent from the polynomial are free, and reported at
        their first value).
    sense : {"max", "min"}, optional
        Default: the POP's sense, or "max" for a polynomial.
    budget : int
        Largest table allowed, in entries (float64). Checked before any table is allocated.
    heuristic : {"auto", "min_degree", "min_fill_in", "best"}
        Elimination-order heuristic (greedy elimination game): "auto" tries min_degree
        and, up to :data:`MIN_FILL_MAX_NODES` variables, min_fill_in, keeping the narrower.
    order : sequence of str, optional
        An elimination order to use instead (every variable that occurs, once).

    Returns
    -------
    EliminationResult

    Raises
    ------
    ModelError
        A variable without a two-valued domain, a POP with other constraints, or a polynomial
        that is not multilinear in a box variable.
    EliminationTooLargeError
        The largest table would exceed ``budget`` entries.

    Examples
    --------
    >>> from polylip.poly import variables
    >>> x, y = variables("x y")
    >>> res = eliminate(3 * x * y - x, {"x": (0, 2), "y": (-1, 1)}, sense="min")
    >>> res.value, res.point
    (-8.0, {'x': 2.0, 'y': -1.0})
    """
    t0 = time.perf_counter()
    poly, lo, hi, domain_names, sense = _prepare(obj, domains, sense)
    plan, scopes = _plan(poly, heuristic, order)
    plan_seconds = time.perf_counter() - t0
    budget = int(budget)
    if plan.max_table > budget:
        raise EliminationTooLargeError(
            f"elimination needs a table of 2^{plan.width} = {plan.max_table:,} entries "
            f"(width {plan.width}, order by {plan.heuristic}), above the budget of {budget:,}; "
            "raise budget= if the memory is there (8 bytes per entry, two or three tables at "
            "once, plus one bit per entry kept per eliminated variable)",
            plan, budget)
    names = poly.variables
    n = len(names)
    pos = np.full(n, -1, dtype=np.int64)
    name_pos = {v: i for i, v in enumerate(names)}
    for p, v in enumerate(plan.order):
        pos[name_pos[v]] = p
    sign = 1.0 if sense == "max" else -1.0
    rows, coeffs = poly.rows, sign * poly.coeffs
    factors = _factor_tables(rows, coeffs, pos, lo, hi) if len(plan.order) else {}
    const = float(coeffs[mono.degrees(rows) == 0].sum()) if rows.shape[0] else 0.0

    m = len(plan.order)
    buckets: list[list] = [[] for _ in range(m)]
    for s, t in factors.items():
        buckets[s[0]].append((s, t))
    nfactors = len(factors)
    args: list = [None] * m
    for p in range(m):
        if not buckets[p]:  # cannot happen: a variable's factors reach its bucket
            continue
        scope, table = _combine(buckets[p])
        buckets[p] = []
        # scope[0] == p (every factor of the bucket holds p and later variables only)
        rest = scope[1:]
        # the argmax of v given the later variables, one bit per entry (C order, packed)
        args[p] = (rest, np.packbits((table[1] > table[0]).ravel()))
        msg = np.maximum(table[0], table[1])
        del table
        if rest:
            buckets[rest[0]].append((rest, msg))
        else:
            const += float(msg)
    bits = np.zeros(m, dtype=np.int64)
    for p in range(m - 1, -1, -1):
        if args[p] is None:
            continue
        rest, packed = args[p]
        flat = int(np.dot(bits[list(rest)], 1 << np.arange(len(rest) - 1, -1, -1))) if rest else 0
        bits[p] = (int(packed[flat >> 3]) >> (7 - (flat & 7))) & 1
    point = {}
    for i, v in enumerate(names):
        if v not in set(domain_names):
            continue
        p = pos[i]
        point[v] = float(hi[i] if (p >= 0 and bits[p]) else lo[i])
    value = sign * const
    mag = np.where(rows >= 0, np.maximum(np.abs(lo), np.abs(hi))[rows], 1.0).prod(axis=1) \
        if rows.size else np.ones(poly.nterms)
    scale = float(np.abs(poly.coeffs) @ mag) if poly.nterms else 0.0
    margin = (2 * poly.nterms + poly.degree + 2) * np.finfo(float).eps * scale
    bound = value + margin if sense == "max" else value - margin
    seconds = time.perf_counter() - t0
    log.info("elimination: %d variables, %d terms, width %d, %.3g s", m, poly.nterms,
             plan.width, seconds)
    return EliminationResult(value, bound, margin, point, sense, plan.width, plan.max_table,
                             plan.order, seconds,
                             {"nterms": int(poly.nterms), "nvars": m, "factors": nfactors,
                              "heuristic": plan.heuristic, "treewidth": plan.treewidth,
                              "plan_seconds": plan_seconds})

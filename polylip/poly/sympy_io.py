"""Conversion between sympy expressions and :class:`~polylip.poly.polynomial.Polynomial`.

sympy is used only here, at the edge; nothing downstream touches it. :func:`from_sympy` reads
the expression tree once, bottom up, with an explicit stack (no recursion, so any depth of
nesting works), and never calls ``sympy.Poly`` (its dense recursive representation has one
level per variable: a RecursionError past about a thousand variables) nor ``sympy.expand``:

* a sum is kept as a dictionary ``{index tuple: coefficient}`` of its terms (plus, for large
  pieces, index-row arrays), merged once;
* a product of a number, symbols and powers of symbols is one term;
* a product or integer power of sums (``(x_i - 1)**2 * (...)``) is expanded by polylip's own
  sparse arithmetic (:mod:`polylip.poly.expand`): small operands as dictionaries, many small
  products in one vectorized batch, large operands as index rows
  (:mod:`polylip.poly.monomials`), the memory of each product estimated first against
  :func:`polylip.runtime.memory_limit`.

Numbers become floats (rationals correctly rounded); constant sub-expressions such as
``sqrt(2)``, ``pi`` or ``sin(1)`` are evaluated. Anything else (a function of the variables,
a symbolic, negative or fractional exponent of a variable, division by a variable, a
non-real or infinite number) is a :class:`~polylip.errors.ModelError` naming the offending
sub-expression. Identical sub-expressions (the same sympy object reached twice) are read once.
"""

from __future__ import annotations

import gc
import math
from typing import Mapping, Sequence

import numpy as np
import sympy

from polylip.errors import ModelError
from polylip.poly import monomials as mono
from polylip.poly.expand import Expansion, add, mul, not_polynomial, power, shown
from polylip.poly.parse import parse_expression
from polylip.poly.polynomial import Polynomial

__all__ = ["from_sympy", "to_sympy", "symbols_of", "same_name_error"]

#: Results with at most this many terms (before merging) are put in canonical order in Python.
SMALL_RESULT = 32


def _constant(node):
    """The value of a sub-expression without variables (a float, or a complex number that
    must cancel into a real one), or a ModelError naming it."""
    try:
        if node.free_symbols:
            raise not_polynomial(node)
        value = complex(node.evalf())
    except ModelError:
        raise
    except RecursionError:
        raise ModelError(f"the subexpression {shown(node)} is nested too deeply to evaluate") from None
    except Exception:  # noqa: BLE001 - sympy raises many kinds for non-numbers
        raise not_polynomial(node) from None
    if not (math.isfinite(value.real) and math.isfinite(value.imag)):
        raise not_polynomial(node, "its value is not a finite number")
    return value if value.imag else value.real


def _number(node) -> float:
    if node.is_Rational:
        try:
            value = node.p / node.q  # correctly rounded, exact ints
        except OverflowError:
            raise ModelError(f"the number {shown(node)} is too large for a float") from None
        return _not_flushed(value, node)
    value = _not_flushed(float(node), node) if node.is_Float else _constant(node)
    if isinstance(value, float) and not math.isfinite(value):
        if node.is_Float and node.is_finite:   # a finite sympy Float beyond the double range
            raise ModelError(f"the number {shown(node)} is too large for a float")
        raise not_polynomial(node, "its value is not a finite number")
    return value


def _not_flushed(value: float, node) -> float:
    """``value`` unless it is 0 for a non-zero ``node``: 1e-400 x read as 0 turns an unbounded
    objective into a constant and drops a constraint 1e-400 x >= 0 (QA round 3)."""
    if value == 0.0 and node.is_zero is False:
        raise ModelError(f"the number {shown(node)} is too small for a float (it would be read "
                         "as 0)")
    return value


_SYMBOL, _NUMBER, _ADD, _MUL, _POW, _EXPR, _OTHER = range(1, 8)  # leaves first; never 0
_KINDS: dict = {}


def _kind(cls) -> int:
    """What the walk does with nodes of a sympy class (cached per class)."""
    kind = _KINDS.get(cls)
    if kind is not None:
        return kind
    if getattr(cls, "is_Symbol", False):
        kind = _SYMBOL
    elif getattr(cls, "is_Number", False):
        kind = _NUMBER
    elif getattr(cls, "is_Add", False):
        kind = _ADD
    elif getattr(cls, "is_Mul", False):
        kind = _MUL
    elif getattr(cls, "is_Pow", False):
        kind = _POW
    elif isinstance(cls, type) and issubclass(cls, sympy.Expr):
        kind = _EXPR
    else:
        kind = _OTHER
    _KINDS[cls] = kind
    return kind


def _read(expr, index: dict):
    """Read ``expr`` bottom up with an explicit stack (no recursion). Symbols get indices in
    ``index`` (name -> int, extended in order of first appearance). Returns a number (float,
    or complex if non-real) or an Expansion.

    Each stack entry is ``(node, slots, j)``: read ``node`` into ``slots[j]``; an Add, Mul or
    Pow first pushes its own combine entry ``(node, kind, vals, slots, j)``, then its operands
    that are not leaves (symbols and numbers are read on the spot, into ``vals``).
    """
    memo: dict = {}     # id(node) -> value of every node read (sympy shares sub-expressions)
    root = [None]
    todo: list = [(expr, root, 0)]
    pop, push = todo.pop, todo.append

    def leaf(node, kind):
        if kind == _SYMBOL:
            v = memo.get(id(node))
            if v is None:
                i = index.get(node.name)
                if i is None:
                    i = index[node.name] = len(index)
                v = memo[id(node)] = Expansion({(i,): 1.0})
            return v
        return _number(node)

    while todo:
        item = pop()
        if len(item) == 5:                     # every operand of `node` is in `vals`
            node, kind, vals, slots, j = item
            if kind == _ADD:
                v = add(node, vals)
            elif kind == _MUL:
                v = mul(node, vals)
            else:
                v = power(vals[0], int(node.args[1]), node)
            slots[j] = memo[id(node)] = v
            continue
        node, slots, j = item
        kind = _KINDS.get(type(node)) or _kind(type(node))
        if kind <= _NUMBER:
            slots[j] = leaf(node, kind)
            continue
        v = memo.get(id(node))
        if v is not None:
            slots[j] = v
        elif kind == _ADD or kind == _MUL:
            args = node.args
            vals = [None] * len(args)
            push((node, kind, vals, slots, j))
            for i in range(len(args) - 1, -1, -1):   # the first operand is read first
                a = args[i]
                k = _KINDS.get(type(a)) or _kind(type(a))
                if k <= _NUMBER:
                    vals[i] = leaf(a, k)
                else:
                    push((a, vals, i))
        elif kind == _POW and node.args[1].is_Integer and node.args[1].p >= 0:
            vals = [None]
            push((node, kind, vals, slots, j))
            push((node.args[0], vals, 0))
        elif kind != _OTHER:
            slots[j] = _constant(node)
        else:
            raise not_polynomial(node)
    return root[0]


def symbols_of(expr) -> dict:
    """``{name: symbol}`` for every symbol in a sympy expression, in order of first appearance
    (iterative: any depth; the first symbol of each name is kept).

    >>> x, y = sympy.symbols("x y")
    >>> list(symbols_of((y + 1)**2 * x))
    ['x', 'y']
    """
    found: dict = {}
    seen: set = set()
    todo = [expr]
    while todo:
        node = todo.pop()
        if node.is_Symbol:
            prev = found.setdefault(node.name, node)
            if prev is not node and prev != node:
                raise same_name_error(prev, node)
        elif not node.args or id(node) in seen:
            continue
        elif node.is_Add or node.is_Mul or node.is_Pow:
            seen.add(id(node))
            todo.extend(reversed(node.args))
        else:  # a function, an integral...: its free symbols (not the bound ones)
            try:
                free = sorted(node.free_symbols, key=str)
            except RecursionError:
                raise ModelError(f"the subexpression {shown(node)} is nested too deeply") from None
            for s in free:
                prev = found.setdefault(getattr(s, "name", str(s)), s)
                if prev is not s and prev != s:
                    raise same_name_error(prev, s)
    return found


def same_name_error(a, b) -> ModelError:
    """The error for two different sympy symbols with one name: polylip matches variables by
    name, so it would merge them into one variable and solve another problem than the one
    written (``(d - 1)**2 + x**2`` with ``d = Dummy("x")`` came back 0.5, certified, where the
    minimum is 0; found by the POP QA round)."""
    def what(s):
        kind = type(s).__name__
        facts = {k: v for k, v in getattr(s, "assumptions0", {}).items()
                 if k in ("positive", "negative", "nonnegative", "nonpositive", "integer", "real")}
        return kind + (f" {facts}" if facts else "")
    return ModelError(f"two different sympy symbols are both named {a.name!r} ({what(a)} and "
                      f"{what(b)}); polylip matches variables by name, so rename one of them")


class _Order:
    """A validated variable order: names and their positions."""

    __slots__ = ("names", "pos")

    def __init__(self, variables):
        names = tuple(v.name if isinstance(v, sympy.Symbol) else str(v) for v in variables)
        pos = {n: i for i, n in enumerate(names)}
        if len(pos) != len(names):
            raise ModelError(f"duplicate variable names in {shown(list(names), 200)}")
        self.names, self.pos = names, pos


#: ``(tuple given, its _Order)`` of the last call: POP converts all its items in one order, and
#: validating 10^4 names per item would make m items cost O(m n). One tuple, replaced whole
#: (atomic), and only for tuples (immutable: the same object has the same names).
_last_order: tuple = (None, None)


def _order(variables) -> _Order:
    global _last_order
    given, order = _last_order
    if isinstance(variables, tuple) and variables is given:
        return order
    order = _Order(variables)
    if isinstance(variables, tuple):
        _last_order = (variables, order)
    return order


def _as_expr(expr):
    if isinstance(expr, str):
        return parse_expression(expr)
    try:
        expr = sympy.sympify(expr, strict=True)   # strict: never str() and parse an object
    except (sympy.SympifyError, SyntaxError, TypeError):
        raise ModelError(f"cannot interpret {shown(repr(expr))} as an expression") from None
    if isinstance(expr, sympy.Poly):
        expr = expr.as_expr()
    if isinstance(expr, (sympy.logic.boolalg.BooleanFunction, sympy.logic.boolalg.BooleanAtom,
                         sympy.core.relational.Relational)):
        raise ModelError(f"expected a polynomial expression, got the relation {shown(expr)}")
    if not isinstance(expr, sympy.Expr):
        raise ModelError(f"expected a polynomial expression, got {shown(repr(expr))}")
    return expr


def from_sympy(expr, variables: Sequence | None = None) -> Polynomial:
    """Convert a sympy expression that expands to a polynomial.

    Parameters
    ----------
    expr : sympy expression, number, Polynomial, or string
        A string is read by polylip's own parser (:func:`polylip.poly.parse.parse_expression`),
        never by sympy. Expanded or not: products and powers of sums are expanded by polylip's
        sparse arithmetic, not by sympy.
    variables : sequence of sympy symbols or names, optional
        The variable order. Defaults to the symbols of ``expr`` sorted by name. A symbol of
        ``expr`` missing from ``variables`` is an error. Symbols are matched by name.

    Examples
    --------
    >>> a, d = sympy.symbols("a d")
    >>> from_sympy((a + d**2)**2).nterms
    3
    >>> from_sympy(sympy.sin(a))
    Traceback (most recent call last):
    ...
    polylip.errors.ModelError: not a polynomial: the subexpression sin(a) is not allowed (only +, -, *, non-negative integer powers and real numbers are)
    """
    if isinstance(expr, Polynomial):
        return expr if variables is None else expr.with_variables(_order(variables).names)
    expr = _as_expr(expr)
    if isinstance(expr, Polynomial):
        return expr if variables is None else expr.with_variables(_order(variables).names)
    index: dict = {}
    # The walk allocates many small dicts and tuples and creates no reference cycles: the
    # cyclic collector would only re-scan the (large) sympy expression, again and again
    # (measured: 40-70% of the time at 10^4 variables). Paused, and restored even on error.
    paused = gc.isenabled()
    gc.disable()
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            value = _read(expr, index)
            rows, coeffs = (value.arrays(False, expr) if type(value) is Expansion
                            else (None, None))
    finally:
        if paused:
            gc.enable()
    seen = list(index)  # provisional index -> name
    if variables is None:
        order = _Order(sorted(seen))
    else:
        order = _order(variables)
        unknown = [n for n in seen if n not in order.pos]
        if unknown:
            raise ModelError(f"the expression {shown(expr)} uses variables {sorted(unknown)} that "
                             f"are not in the variable list {shown(list(order.names), 200)}")
    if type(value) is not Expansion:
        if isinstance(value, complex):
            raise not_polynomial(expr, "a polynomial has real coefficients")
        rows, coeffs = Expansion({(): value} if value else {}).arrays(False, expr)
    if not np.all(np.isfinite(coeffs)):
        raise ModelError(f"a coefficient of {shown(expr)} is too large for a float")
    if rows.shape[0] <= SMALL_RESULT:   # numpy's fixed costs dominate: sort in Python
        rows, coeffs = _small_canonical(rows, coeffs, [order.pos[n] for n in seen])
    else:
        mapping = np.array([order.pos[n] for n in seen] + [mono.PAD], dtype=mono.INDEX_DTYPE)
        rows, coeffs = mono.canonical(mapping[rows], coeffs)
    return Polynomial._canonical(order.names, rows, coeffs)


def _small_canonical(rows: np.ndarray, coeffs: np.ndarray, mapping: list):
    """:func:`~polylip.poly.monomials.canonical` of ``mapping[rows]``, in Python: for a few
    terms (one constraint ``1 - x_i**2`` of thousands) it costs less than numpy's calls."""
    merged: dict = {}
    for row, c in zip(rows.tolist(), coeffs.tolist()):
        k = tuple(sorted(mapping[i] for i in row if i != mono.PAD))
        merged[k] = merged.get(k, 0.0) + c
    keys = sorted((k for k, c in merged.items() if c != 0.0), key=lambda k: (len(k), k))
    width = len(keys[-1]) if keys else 0
    out = np.full((len(keys), width), mono.PAD, dtype=mono.INDEX_DTYPE)
    for t, k in enumerate(keys):
        out[t, :len(k)] = k
    return out, np.array([merged[k] for k in keys], dtype=float)


def to_sympy(poly: Polynomial, symbols: Mapping[str, object] | None = None):
    """Convert a polynomial to a sympy expression.

    Examples
    --------
    >>> x = Polynomial.variable("x")
    >>> to_sympy(2 * x**2 + 1)
    2.0*x**2 + 1.0
    """
    symbols = dict(symbols or {})
    syms = [symbols.get(v) or sympy.Symbol(v) for v in poly.variables]
    terms = []
    for row, c in zip(poly.rows.tolist(), poly.coeffs.tolist()):
        factors = [sympy.Float(c)]
        j = 0
        row = [i for i in row if i != mono.PAD]
        while j < len(row):
            e = 1
            while j + e < len(row) and row[j + e] == row[j]:
                e += 1
            factors.append(syms[row[j]] ** e if e > 1 else syms[row[j]])
            j += e
        terms.append(sympy.Mul(*factors))
    return sympy.Add(*terms) if terms else sympy.Integer(0)

"""A safe parser for polynomial expressions and relations, written by hand.

Security rule: the text is data, never code. It is read by one regular expression (the
tokenizer) and an operator-precedence parser with explicit stacks; nothing here calls ``eval``,
``exec``, ``compile``, ``ast.literal_eval``, ``sympify`` or ``parse_expr``, and the only
conversions of text are ``float(token)`` and ``int(token)`` on number tokens. Every name is a
plain variable (``E``, ``I``, ``S``, ``beta``, ``pi`` included). The parser never recurses, and
sizes are checked *before* anything is expanded (see :class:`ParseLimits`).

Grammar (EBNF; whitespace between tokens is ignored)::

    relation   = expression [ relop expression ] ;          (* a bare g means g >= 0 *)
    relop      = ">=" | "<=" | "==" | "=>" | "=<" ;
    expression = product { ( "+" | "-" ) product } ;
    product    = unary { ( "*" | "/" ) unary } ;             (* "/" only by a non-zero constant *)
    unary      = { "+" | "-" } power ;                       (* -x^2 is -(x^2) *)
    power      = atom [ ( "^" | "**" ) exponent ] ;          (* right-associative *)
    exponent   = int_atom [ ( "^" | "**" ) exponent ] ;      (* 2^3^2 = 2^9 *)
    int_atom   = digits | "(" exponent ")" ;
    atom       = number | name | "(" expression ")" ;
    number     = ( digits [ "." [ digits ] ] | "." digits ) [ ( "e" | "E" ) [ "+" | "-" ] digits ] ;
    name       = letter { letter | digit } ;                 (* letter: A-Z, a-z or "_" *)

Anything else (a function call ``f(...)``, ``=``, ``<``, ``>``, ``!=``, quotes, brackets, dots,
commas, non-ASCII, ...) is a :class:`~polylip.errors.ModelError` naming its column.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from itertools import chain
from typing import Sequence

import numpy as np

from polylip.errors import ModelError
from polylip.poly import monomials as mono
from polylip.poly.polynomial import Polynomial

__all__ = ["ParseLimits", "parse_expression", "parse_relation", "names_in"]

_TOKEN = r"""
    (?P<ws>\s+)
  | (?P<num>(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)
  | (?P<name>[A-Za-z_][A-Za-z_0-9]*)
  | (?P<rel>>=|<=|==|=>|=<)
  | (?P<badrel>!=|[<>=])
  | (?P<op>\*\*|[-+*/^()])
  | (?P<bad>.)"""
_FLAGS = re.VERBOSE | re.ASCII | re.DOTALL
_PREC = {"+": 1, "-": 1, "*": 2, "/": 2, "u+": 3, "u-": 3, "^": 4}
_HINT = {"=": "a single '=' is not a comparison", "<": "strict inequalities are not supported",
         ">": "strict inequalities are not supported", "!=": "'!=' is not supported"}
_ALLOWED = "only +, -, *, / by a constant, ^ or ** with integer exponents"
_OVERFLOW = "a coefficient is too large for a float"
#: A non-zero coefficient read as 0 changes the problem ('1e-400*x >= 0' would be dropped).
_UNDERFLOW = "a coefficient is too small for a float (it would be read as 0)"


@dataclass(frozen=True)
class ParseLimits:
    """Size limits, checked while parsing and before anything large is built.

    ``max_chars``: longest text. ``max_depth``: deepest nesting of parentheses, signs and
    powers (pending operators). ``max_exponent``: largest exponent, every step of a tower
    ``2^3^2`` included. ``max_degree``: of every intermediate polynomial. ``max_terms``: of a
    product or power, estimated before expanding. ``max_work``: index entries (terms x degree)
    that all products, powers and merges of one parse may allocate; it bounds the time and
    memory of chains such as ``p*p*p*...`` (about 0.3 s and 80 MB per 20 million).

    Examples
    --------
    >>> parse_expression("(x + y)^3", limits=ParseLimits(max_terms=3))
    Traceback (most recent call last):
    ...
    polylip.errors.ModelError: column 8: (x + y)^3 would have up to 4 terms, more than max_terms=3
    """

    max_chars: int = 1_000_000
    max_depth: int = 200
    max_exponent: int = 1_000
    max_degree: int = 1_000
    max_terms: int = 1_000_000
    max_work: int = 20_000_000


class _Term:
    """``coeff * prod(variables[i] for i in idx)``; ``exact``: the int value of an integer
    literal or of a tower of them (only those may be exponents), else None."""
    __slots__ = ("coeff", "idx", "exact")

    def __init__(self, coeff: float, idx: tuple = (), exact=None):
        self.coeff, self.idx, self.exact = coeff, idx, exact


class _Sum:
    """A sum not merged yet: merging once keeps long sums linear in their length."""
    __slots__ = ("terms", "polys")

    def __init__(self, terms: list, polys: list):
        self.terms, self.polys = terms, polys


def _tokenize(text: str) -> list[tuple[str, str, int]]:
    matches = re.finditer(_TOKEN, text, _FLAGS)
    return [(m.lastgroup, m.group(), m.start()) for m in matches if m.lastgroup != "ws"]


def _bad_char(ch: str) -> str:
    code = f" (U+{ord(ch):04X})" if not " " <= ch <= "~" else ""
    return f"unexpected character {ch!r}{code}"


def _count(n) -> str:
    return f"{n:,}" if n < 10**15 else f"about 10^{len(str(n)) - 1}"


class _Parser:
    def __init__(self, text: str, variables, limits: ParseLimits, where):
        self.text, self.limits, self.where, self.work = text, limits, where, 0
        if not isinstance(text, str):
            raise self.error(None, f"expected a string, got {type(text).__name__}")
        if len(text) > limits.max_chars:
            raise self.error(None, f"the text has {len(text):,} characters, more than "
                                   f"max_chars={limits.max_chars:,}")
        self.toks = _tokenize(text)
        if variables is None:
            self.declared = None
            self.vars = tuple(sorted({t for k, t, _ in self.toks if k == "name"}))
        else:
            names = variables.replace(",", " ").split() if isinstance(variables, str) else variables
            self.vars = self.declared = tuple(str(v) for v in names)
            if len(set(self.vars)) != len(self.vars):
                raise self.error(None, f"duplicate names in the variables {list(self.vars)}")
        self.index = {v: i for i, v in enumerate(self.vars)}

    def error(self, pos, msg: str) -> ModelError:
        parts = [self.where] if self.where else []
        if pos is not None:
            line, col = self.text.count("\n", 0, pos) + 1, pos - self.text.rfind("\n", 0, pos)
            parts.append(f"line {line}, column {col}" if "\n" in self.text else f"column {col}")
        return ModelError(", ".join(parts) + ": " + msg if parts else msg)

    def snippet(self, start: int, end: int) -> str:
        s = " ".join(self.text[start:end].split())
        return s if len(s) <= 40 else s[:37] + "..."

    # ------------------------------------------------------------------ parsing
    def expression(self, lo: int, hi: int, empty=(None, "empty expression")) -> Polynomial:
        """Parse tokens ``lo:hi`` with an operand and an operator stack (no recursion)."""
        toks, vals, ops = self.toks, [], []   # vals: (value, start, end); ops: (op, pos)
        if lo == hi:
            raise self.error(*empty)
        expect = True                          # an operand, a sign or "(" comes next
        for i in range(lo, hi):
            kind, tok, pos = toks[i]
            if kind == "bad":
                raise self.error(pos, _bad_char(tok))
            if kind == "badrel":
                raise self.error(pos, f"unexpected {tok!r}: {_HINT[tok]}; use '>=', '<=' or '=='")
            if kind == "rel":
                raise self.error(pos, f"unexpected {tok!r}: a relation is not allowed here")
            if expect:
                if kind == "num":
                    vals.append((self.number(tok, pos), pos, pos + len(tok)))
                    expect = False
                elif kind == "name":
                    if i + 1 < hi and toks[i + 1][1] == "(":
                        raise self.error(pos, f"not a polynomial: function call {tok}(...) is not "
                                              f"allowed ({_ALLOWED})")
                    vals.append((self.variable(tok, pos), pos, pos + len(tok)))
                    expect = False
                elif tok in ("+", "-", "("):
                    self.push(ops, "u" + tok if tok != "(" else tok, pos)
                else:
                    raise self.error(pos, f"unexpected {tok!r}: expected a number, a variable or '('")
            elif tok == ")":
                while ops and ops[-1][0] != "(":
                    self.reduce(vals, ops)
                if not ops:
                    raise self.error(pos, "unexpected ')': no '(' to close")
                vals.append((vals.pop()[0], ops.pop()[1], pos + 1))
            elif kind == "op" and tok != "(":
                op = "^" if tok == "**" else tok
                prec = _PREC[op]
                while ops and ops[-1][0] != "(" and (_PREC[ops[-1][0]] > prec or
                                                     (_PREC[ops[-1][0]] == prec and op != "^")):
                    self.reduce(vals, ops)
                self.push(ops, op, pos)
                expect = True
            else:
                what = {"num": "number ", "name": "name "}.get(kind, "")
                raise self.error(pos, f"unexpected {what}{tok!r}: is an operator missing before it?")
        if expect:
            raise self.error(toks[hi - 1][2], f"the expression ends after {toks[hi - 1][1]!r}")
        while ops:
            if ops[-1][0] == "(":
                raise self.error(ops[-1][1], "unclosed '(': no ')' matches it")
            self.reduce(vals, ops)
        return self.poly(vals[0][0], vals[0][1])

    def push(self, ops: list, op: str, pos: int):
        if len(ops) >= self.limits.max_depth:
            raise self.error(pos, f"the expression is nested deeper than max_depth={self.limits.max_depth:,}")
        ops.append((op, pos))

    def reduce(self, vals: list, ops: list):
        op, pos = ops.pop()
        b, bs, be = vals.pop()
        if op in ("u+", "u-"):
            vals.append((self.scale(b, -1.0 if op == "u-" else 1.0, pos), pos, be))
            return
        a, start, _ = vals.pop()
        if op in ("+", "-"):
            out = self.add(a, b, op == "-")
        elif op == "*":
            out = self.mul(a, b, pos)
        elif op == "/":
            out = self.div(a, b, pos, self.snippet(bs, be))
        else:
            out = self.power(a, b, pos, bs, self.snippet(start, be), self.snippet(bs, be))
        vals.append((out, start, be))

    def number(self, tok: str, pos: int) -> _Term:
        value = float(tok)
        if not math.isfinite(value):
            raise self.error(pos, f"the number {self.snippet(pos, pos + len(tok))} is too large")
        if value == 0.0 and any(ch in "123456789" for ch in tok.lower().split("e")[0]):
            raise self.error(pos, f"the number {self.snippet(pos, pos + len(tok))} is too small "
                                  "for a float (it would be read as 0)")
        exact = None
        if tok.isdigit():
            digits = tok.lstrip("0") or "0"
            exact = int(digits) if len(digits) <= 30 else math.inf
        return _Term(value, (), exact)

    def variable(self, name: str, pos: int) -> _Term:
        i = self.index.get(name)
        if i is None:
            shown = ", ".join(self.declared[:10]) + (", ..." if len(self.declared) > 10 else "")
            raise self.error(pos, f"unknown variable {name!r} (declared: {shown or 'none'})")
        return _Term(1.0, (i,))

    # ------------------------------------------------------------------ checks
    def finite(self, v, pos: int):
        """``v`` (a float or a Polynomial) if every coefficient is finite, else an error."""
        if not (math.isfinite(v) if isinstance(v, float) else np.all(np.isfinite(v.coeffs))):
            raise self.error(pos, _OVERFLOW)
        return v

    def nonzero(self, out: float, a: float, b: float, pos: int) -> float:
        """``out`` = ``a`` times (or over) ``b``, unless that rounded a non-zero value to 0."""
        if out == 0.0 and a != 0.0 and b != 0.0 and math.isfinite(b):
            raise self.error(pos, _UNDERFLOW)
        return out

    def charge(self, entries: int, pos: int, what: str):
        self.work += entries
        if self.work > self.limits.max_work:
            raise self.error(pos, f"{what} needs about {_count(entries)} index entries, beyond the "
                                  f"budget max_work={self.limits.max_work:,}")

    def check_degree(self, degree: int, pos: int, what: str):
        if degree > self.limits.max_degree:
            raise self.error(pos, f"{what} has degree {_count(degree)}, more than "
                                  f"max_degree={self.limits.max_degree:,}")

    # ------------------------------------------------------------------ arithmetic
    def poly(self, v, pos: int) -> Polynomial:
        """Merge a value into one Polynomial over the parser's variables."""
        if isinstance(v, _Term):
            if not v.idx:
                return Polynomial.constant(v.coeff, self.vars)
            return Polynomial(self.vars, np.array([v.idx], dtype=mono.INDEX_DTYPE), [v.coeff])
        if not v.terms and len(v.polys) == 1:
            return v.polys[0]
        terms = v.terms
        width = max(chain((len(t.idx) for t in terms), (p.rows.shape[1] for p in v.polys)), default=0)
        lens = np.fromiter((len(t.idx) for t in terms), np.int64, len(terms))
        rows = np.full((len(terms), width), mono.PAD, dtype=mono.INDEX_DTYPE)
        rows[np.arange(width) < lens[:, None]] = np.fromiter(
            chain.from_iterable(t.idx for t in terms), mono.INDEX_DTYPE, int(lens.sum()))
        rows = np.vstack([rows] + [mono.pad_to(p.rows, width) for p in v.polys])
        coeffs = np.concatenate([np.fromiter((t.coeff for t in terms), float, len(terms))]
                                + [p.coeffs for p in v.polys])
        self.charge(rows.size, pos, "this sum")
        out = self.finite(Polynomial(self.vars, rows, coeffs), pos)
        v.terms, v.polys = [], [out]
        return out

    def add(self, a, b, negate: bool) -> _Sum:
        s = a if isinstance(a, _Sum) else _Sum([a], [])
        if isinstance(b, _Term):
            s.terms.append(_Term(-b.coeff, b.idx) if negate else b)
        elif negate:
            s.terms.extend(_Term(-t.coeff, t.idx) for t in b.terms)
            s.polys.extend(-p for p in b.polys)
        else:
            s.terms.extend(b.terms)
            s.polys.extend(b.polys)
        return s

    def scale(self, v, c: float, pos: int):
        if isinstance(v, _Term):
            return _Term(self.nonzero(self.finite(v.coeff * c, pos), v.coeff, c, pos), v.idx)
        if c == 1.0:
            return v
        p = self.poly(v, pos)
        self.charge(p.nterms, pos, "this product")
        if p.nterms:  # the smallest coefficient times c is the first to round to 0
            self.nonzero(float(np.abs(p.coeffs).min()) * abs(c), 1.0, c, pos)
        return _Sum([], [self.finite(p * c, pos)])

    def mul(self, a, b, pos: int):
        if isinstance(a, _Term) and isinstance(b, _Term):
            self.check_degree(len(a.idx) + len(b.idx), pos, "this product")
            return _Term(self.nonzero(self.finite(a.coeff * b.coeff, pos), a.coeff, b.coeff, pos),
                         a.idx + b.idx)
        if isinstance(a, _Term) and not a.idx:
            return self.scale(b, a.coeff, pos)
        if isinstance(b, _Term) and not b.idx:
            return self.scale(a, b.coeff, pos)
        return _Sum([], [self.product(self.poly(a, pos), self.poly(b, pos), pos)])

    def product(self, a: Polynomial, b: Polynomial, pos: int, what="this product", in_power=False):
        degree = a.degree + b.degree
        self.check_degree(degree, pos, what)
        rows = a.nterms * b.nterms              # the rows allocated before merging
        if rows > self.limits.max_terms and not in_power:   # a power checks its own bound
            nv = len(np.union1d(a.variable_indices(), b.variable_indices()))
            bound = min(rows, math.comb(nv + degree, nv))
            if bound > self.limits.max_terms:
                raise self.error(pos, f"{what} would have up to {_count(bound)} terms, more than "
                                      f"max_terms={self.limits.max_terms:,}")
        self.charge(rows * max(degree, 1), pos, what)
        if a.nterms and b.nterms:   # the smallest product of two terms is the first to round to 0
            self.nonzero(float(np.abs(a.coeffs).min()) * float(np.abs(b.coeffs).min()), 1.0, 1.0, pos)
        try:
            return self.finite(a * b, pos)
        except ModelError:   # Polynomial refuses infinite coefficients
            raise self.error(pos, _OVERFLOW) from None

    def div(self, a, b, pos: int, shown: str):
        if isinstance(b, _Term):
            c = b.coeff if not b.idx or b.coeff == 0.0 else None
        else:
            q = self.poly(b, pos)
            c = q.constant_term() if q.is_constant() else None
        if c is None:
            raise self.error(pos, f"not a polynomial: division by {shown!r} (division is only "
                                  "allowed by a non-zero constant)")
        if c == 0.0:
            raise self.error(pos, f"division by zero ({shown!r} is 0)")
        if isinstance(a, _Term):
            return _Term(self.nonzero(self.finite(a.coeff / c, pos), a.coeff, c, pos), a.idx)
        p = self.poly(a, pos)
        self.charge(p.rows.size + p.nterms, pos, "this division")
        if p.nterms:
            self.nonzero(float(np.abs(p.coeffs).min()) / abs(c), 1.0, c, pos)
        return _Sum([], [self.finite(Polynomial(self.vars, p.rows, p.coeffs / c), pos)])

    def power(self, a, e, pos: int, epos: int, shown: str, eshown: str):
        k = e.exact if isinstance(e, _Term) and not e.idx else None
        if k is None:
            raise self.error(epos, f"not a polynomial: the exponent must be a non-negative integer "
                                   f"literal, not {eshown!r}")
        if k > self.limits.max_exponent:
            value = "" if k == math.inf or str(k) == eshown else f" = {k}"
            raise self.error(epos, f"the exponent {eshown}{value} is larger than "
                                   f"max_exponent={self.limits.max_exponent:,}")
        if isinstance(a, _Sum):
            p = self.poly(a, pos)
            if k == 0:
                return _Term(1.0)
            if p.nterms > 1:
                return _Sum([], [self.poly_power(p, k, pos, shown)])
            row = p.rows[0] if p.nterms else ()          # one term or zero: a monomial
            a = _Term(float(p.coeffs[0]) if p.nterms else 0.0, tuple(int(i) for i in row if i != mono.PAD))
        if isinstance(a.exact, int) and (a.exact < 2 or a.exact.bit_length() * k <= 64):
            return _Term(float(a.exact ** k), (), a.exact ** k)   # a small integer tower stays exact
        self.check_degree(len(a.idx) * k, pos, shown)
        try:
            c = a.coeff ** k
        except OverflowError:
            c = math.inf
        return _Term(self.nonzero(self.finite(c, pos), a.coeff, 1.0 if k else 0.0, pos), a.idx * k)

    def poly_power(self, p: Polynomial, k: int, pos: int, shown: str) -> Polynomial:
        """``p^k`` as ``p * p * ... * p``, refused up front if its size bounds exceed the limits."""
        d, n, nv = p.degree, p.nterms, len(p.variable_indices())
        self.check_degree(d * k, pos, shown)
        degs = p.term_degrees
        free = 0 if degs.min() == degs.max() else 1   # homogeneous: only monomials of degree d*j

        def bound(j):  # terms of p^j: at most n^j, and at most the monomials it can have
            return min(n ** j, math.comb(nv - 1 + free + d * j, nv - 1 + free))

        if bound(k) > self.limits.max_terms:
            raise self.error(pos, f"{shown} would have up to {_count(bound(k))} terms, more than "
                                  f"max_terms={self.limits.max_terms:,}")
        need = 0
        for j in range(1, k):                 # p^(j+1) = p^j * p allocates bound(j)*n rows
            need += bound(j) * n * d * (j + 1)
            if self.work + need > self.limits.max_work:
                raise self.error(pos, f"expanding {shown} needs more than {_count(need)} index "
                                      f"entries, beyond the budget max_work={self.limits.max_work:,}")
        out = p
        for _ in range(k - 1):
            out = self.product(out, p, pos, shown, in_power=True)
        return out


def parse_expression(text: str, variables: Sequence[str] | None = None, *,
                     limits: ParseLimits = ParseLimits(), where: str | None = None) -> Polynomial:
    """Parse a polynomial expression (grammar: see the module docstring).

    Parameters
    ----------
    text : str
    variables : sequence of str, optional
        The allowed names and their order (a string is split at spaces and commas); the result
        is over exactly these. Default: the names used in ``text`` in plain ``sorted`` order
        (the order sympy gave), kept even if their terms cancel.
    limits : ParseLimits
    where : str, optional
        Prefix of error messages, e.g. ``"bad.pop, line 3"``. Errors are ModelError naming
        the column (``line L, column C`` if the text has several lines) and the token.

    Examples
    --------
    >>> str(parse_expression("(x + 2*y)^2 - 8*x*y/2"))
    'x**2 + 4*y**2'
    >>> parse_expression("2^3^2").constant_term()
    512.0
    >>> parse_expression("sin(x)", where="bad.pop, line 1")
    Traceback (most recent call last):
    ...
    polylip.errors.ModelError: bad.pop, line 1, column 1: not a polynomial: function call sin(...) is not allowed (only +, -, *, / by a constant, ^ or ** with integer exponents)
    """
    parser = _Parser(text, variables, limits, where)
    with np.errstate(all="ignore"):
        return parser.expression(0, len(parser.toks))


def parse_relation(text: str, variables: Sequence[str] | None = None, *, bare: str = "ineq",
                   limits: ParseLimits = ParseLimits(), where: str | None = None) -> tuple[str, Polynomial]:
    """Parse a constraint ``a >= b``, ``a <= b``, ``a == b`` (also ``=>``, ``=<``) or a bare ``g``.

    Returns ``("ineq", g)`` meaning ``g >= 0`` (``a - b`` for ``>=``, ``b - a`` for ``<=``, ``g``
    for a bare expression) or ``("eq", a - b)`` meaning ``a - b == 0``. ``bare="eq"`` makes a
    bare ``g`` mean ``g == 0`` (for a list of equalities). Other parameters and errors as in
    :func:`parse_expression`; ``variables`` default to the sorted names of the relation.

    Examples
    --------
    >>> kind, g = parse_relation("x^2 + y^2 <= 1")
    >>> kind, str(g)
    ('ineq', '1 - x**2 - y**2')
    >>> parse_relation("0 <= x <= 1")
    Traceback (most recent call last):
    ...
    polylip.errors.ModelError: column 8: chained comparisons are not supported: write one constraint per relation
    """
    if bare not in ("ineq", "eq"):
        raise ValueError(f"bare must be 'ineq' or 'eq', not {bare!r}")
    parser = _Parser(text, variables, limits, where)
    rels = [i for i, t in enumerate(parser.toks) if t[0] == "rel"]
    n = len(parser.toks)
    with np.errstate(all="ignore"):
        if not rels:
            return bare, parser.expression(0, n)
        if len(rels) > 1:
            raise parser.error(parser.toks[rels[1]][2], "chained comparisons are not supported: "
                                                        "write one constraint per relation")
        i = rels[0]
        _, op, pos = parser.toks[i]
        lhs = parser.expression(0, i, (pos, f"nothing before {op!r}"))
        rhs = parser.expression(i + 1, n, (pos, f"nothing after {op!r}"))
        diff = parser.finite(rhs - lhs if op in ("<=", "=<") else lhs - rhs, pos)
        return ("eq" if op == "==" else "ineq"), diff


def names_in(text: str, *, limits: ParseLimits = ParseLimits(), where: str | None = None) -> list[str]:
    """The names a text uses, in order of first appearance, read by the parser's tokenizer.

    Every name token is listed (``sin`` in ``sin(x)`` too, which parsing then refuses); a
    character outside the grammar is a ModelError, as in :func:`parse_expression`.

    Examples
    --------
    >>> names_in("b*a + b^2 >= c")
    ['b', 'a', 'c']
    """
    parser = _Parser(text, (), limits, where)
    for kind, tok, pos in parser.toks:
        if kind == "bad":
            raise parser.error(pos, _bad_char(tok))
    return list(dict.fromkeys(t for k, t, _ in parser.toks if k == "name"))

"""A small plain-text format for polynomial optimization problems (used by the CLI).

Format (one statement per line, ``#`` starts a comment, blank lines are ignored)::

    # Motzkin-like example
    variables: x y            # optional; default: every symbol used, sorted by name
    minimize: x**4*y**2 + x**2*y**4 - 3*x**2*y**2 + 1
    subject to: x**2 + y**2 <= 4
    subject to: x >= -1
    s.t.: x*y == 0.5          # "s.t.:" is short for "subject to:"
    binary: b1 b2             # variables with b^2 = b
    spin: s1                  # variables with s^2 = 1

Exactly one ``minimize:`` or ``maximize:`` line. Constraints use ``>=``, ``<=`` or ``==``
between two polynomial expressions; a bare expression ``g`` means ``g >= 0``. ``^`` is accepted
for powers. Expressions are parsed by sympy with every name treated as a plain symbol (so ``E``,
``I``, ``S`` or ``beta`` are variables here, not sympy constants or functions).

Examples
--------
>>> pop = parse_problem("minimize: x^2 - 2*x\\nsubject to: x <= 3")
>>> pop.variables, str(pop.ineqs[0])
(('x',), '3 - x')
"""

from __future__ import annotations

import re
from pathlib import Path

import sympy
from sympy.parsing.sympy_parser import parse_expr, standard_transformations

from polylip.errors import ModelError
from polylip.model.pop import POP

_KEYS = {"minimize": "min", "maximize": "max", "subject to": "st", "s.t.": "st", "st": "st",
         "variables": "vars", "binary": "binary", "spin": "spin"}
_NAME = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")
_FUNCTION_LIKE = re.compile(r"([A-Za-z_][A-Za-z_0-9]*)\s*\(")


def _expression(text: str, lineno: int, symbols: dict):
    text = text.strip().replace("^", "**")
    if not text:
        raise ModelError(f"line {lineno}: empty expression")
    call = _FUNCTION_LIKE.search(text)
    if call:
        raise ModelError(f"line {lineno}: not a polynomial: function call {call.group(1)}(...) "
                         "is not allowed (only +, -, *, ^ or ** with integer exponents)")
    for name in _NAME.findall(text):
        if name not in symbols:
            symbols[name] = sympy.Symbol(name)
    try:
        return parse_expr(text, local_dict=dict(symbols), transformations=standard_transformations,
                          evaluate=True)
    except Exception as exc:  # sympy raises many kinds; report them all the same way
        raise ModelError(f"line {lineno}: cannot parse {text!r}: {exc}") from None


def _constraint(text: str, lineno: int, symbols: dict):
    for op in ("==", ">=", "<=", "=>", "=<"):
        if op in text:
            left, right = text.split(op, 1)
            if any(o in right for o in ("==", ">=", "<=")):
                raise ModelError(f"line {lineno}: chained comparisons are not supported: {text!r}")
            lhs, rhs = _expression(left, lineno, symbols), _expression(right, lineno, symbols)
            if op == "==":
                return "eq", lhs - rhs
            return "ineq", (lhs - rhs) if op in (">=", "=>") else (rhs - lhs)
    if re.search(r"(?<![<>=])[<>](?![=])", text) or re.search(r"(?<![=<>!])=(?!=)", text):
        raise ModelError(f"line {lineno}: use '>=', '<=' or '==' in constraints: {text!r}")
    return "ineq", _expression(text, lineno, symbols)


def parse_problem(text: str, source: str = "<string>") -> POP:
    """Parse the plain-text format (see the module docstring) into a :class:`POP`."""
    symbols: dict = {}
    objective = sense = None
    variables = None
    ineqs, eqs, binary, spin = [], [], [], []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if ":" not in line:
            raise ModelError(f"{source}, line {lineno}: expected 'keyword: ...' with a keyword among "
                             f"{', '.join(sorted(set(k for k in _KEYS if k != 'st')))}; got {line!r}")
        key, body = line.split(":", 1)
        kind = _KEYS.get(key.strip().lower())
        if kind is None:
            raise ModelError(f"{source}, line {lineno}: unknown keyword {key.strip()!r}; expected one of "
                             "minimize, maximize, subject to (or s.t.), variables, binary, spin")
        try:
            if kind in ("min", "max"):
                if objective is not None:
                    raise ModelError("a problem has exactly one minimize: or maximize: line")
                objective, sense = _expression(body, lineno, symbols), kind
            elif kind == "st":
                which, expr = _constraint(body, lineno, symbols)
                (eqs if which == "eq" else ineqs).append(expr)
            else:
                names = body.replace(",", " ").split()
                for name in names:
                    if not _NAME.fullmatch(name):
                        raise ModelError(f"{name!r} is not a valid variable name")
                    symbols.setdefault(name, sympy.Symbol(name))
                if kind == "vars":
                    variables = (variables or []) + names
                else:
                    (binary if kind == "binary" else spin).extend(names)
        except ModelError as exc:
            msg = str(exc)
            if msg.startswith("line"):
                msg = f"{source}, {msg}"
            elif not msg.startswith(source):
                msg = f"{source}, line {lineno}: {msg}"
            raise ModelError(msg) from None
    if objective is None:
        raise ModelError(f"{source}: no 'minimize:' or 'maximize:' line")
    var_syms = [symbols[v] for v in variables] if variables is not None else None
    return POP(objective, ineqs=ineqs, eqs=eqs, sense=sense, variables=var_syms,
               binary=[symbols[b] for b in binary], spin=[symbols[s] for s in spin])


def load_problem(path) -> POP:
    """Read a problem file in the plain-text format."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ModelError(f"cannot read problem file {str(path)!r}: {exc.strerror}") from None
    return parse_problem(text, source=str(path))

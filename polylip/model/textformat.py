"""A small plain-text format for polynomial optimization problems (used by the CLI).

Format (one statement per line, ``#`` starts a comment, blank lines are ignored)::

    # Motzkin-like example
    variables: x y            # optional; default: every name used, sorted
    minimize: x**4*y**2 + x**2*y**4 - 3*x**2*y**2 + 1
    subject to: x**2 + y**2 <= 4
    subject to: x >= -1
    s.t.: x*y == 0.5          # "s.t.:" is short for "subject to:"
    binary: b1 b2             # variables with b^2 = b
    spin: s1                  # variables with s^2 = 1

Exactly one ``minimize:`` or ``maximize:`` line. Constraints use ``>=``, ``<=`` or ``==``
between two polynomial expressions; a bare expression ``g`` means ``g >= 0``. ``^`` and ``**``
are powers. Expressions are read by polylip's own parser (:mod:`polylip.poly.parse`), which
builds polynomials directly and never evaluates the text: a problem file is data, never code.
Every name is a plain variable (so ``E``, ``I``, ``S`` or ``beta`` are variables here). The
file must be UTF-8 and at most :data:`MAX_FILE_BYTES` long; errors name the line and column.

Examples
--------
>>> pop = parse_problem("minimize: x^2 - 2*x\\nsubject to: x <= 3")
>>> pop.variables, str(pop.ineqs[0])
(('x',), '3 - x')
"""

from __future__ import annotations

import re
from pathlib import Path

from polylip.errors import ModelError
from polylip.model.pop import POP, default_order
from polylip.poly.parse import ParseLimits, names_in, parse_expression, parse_relation

#: Problem files larger than this are refused before they are read (10 MiB: the largest
#: standard problems written out, chained Wood at n = 10,000, take about 1 MB).
MAX_FILE_BYTES = 10 * 2**20

_KEYS = {"minimize": "min", "maximize": "max", "subject to": "st", "s.t.": "st", "st": "st",
         "variables": "vars", "binary": "binary", "spin": "spin"}
_NAME = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")


def _statements(text: str, source: str):
    """(lineno, kind, body padded to its column in the line) for every statement."""
    out = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0]
        if not line.strip():
            continue
        if ":" not in line:
            raise ModelError(f"{source}, line {lineno}: expected 'keyword: ...' with a keyword among "
                             f"{', '.join(sorted(set(k for k in _KEYS if k != 'st')))}; "
                             f"got {line.strip()!r}")
        key, body = line.split(":", 1)
        kind = _KEYS.get(key.strip().lower())
        if kind is None:
            raise ModelError(f"{source}, line {lineno}: unknown keyword {key.strip()!r}; expected one of "
                             "minimize, maximize, subject to (or s.t.), variables, binary, spin")
        out.append((lineno, kind, " " * (len(key) + 1) + body))
    return out


def _names(body: str, where: str) -> list[str]:
    names = body.replace(",", " ").split()
    for name in names:
        if not _NAME.fullmatch(name):
            raise ModelError(f"{where}: {name!r} is not a valid variable name")
    return names


def parse_problem(text: str, source: str = "<string>", *,
                  limits: ParseLimits = ParseLimits()) -> POP:
    """Parse the plain-text format (see the module docstring) into a :class:`POP`.

    Nothing in ``text`` is ever evaluated; sizes are checked against ``limits`` before any
    expression is expanded.
    """
    if not isinstance(text, str):
        raise ModelError(f"{source}: the problem text must be a string, not {type(text).__name__}")
    # a leading byte-order mark is an encoding artefact, not text: accepted here as by
    # load_problem (an editor that saves "UTF-8 with BOM" puts one before 'variables:')
    text = text.removeprefix("\ufeff")
    if len(text) > limits.max_chars:
        raise ModelError(f"{source}: the problem text has {len(text):,} characters, more than "
                         f"the limit of {limits.max_chars:,}")
    statements = _statements(text, source)
    declared, binary, spin, used = None, [], [], []
    for lineno, kind, body in statements:
        where = f"{source}, line {lineno}"
        if kind == "vars":
            declared = (declared or []) + _names(body, where)
        elif kind in ("binary", "spin"):
            (binary if kind == "binary" else spin).extend(_names(body, where))
        else:
            used.extend(names_in(body, limits=limits, where=where))
    if declared is not None:
        if len(set(declared)) != len(declared):
            raise ModelError(f"{source}: a variable is declared twice in 'variables:' "
                             f"({', '.join(sorted(n for n in set(declared) if declared.count(n) > 1))})")
        order = list(declared)
    else:
        order = default_order(set(used) | set(binary) | set(spin))
    objective = sense = None
    ineqs, eqs = [], []
    for lineno, kind, body in statements:
        where = f"{source}, line {lineno}"
        if kind in ("min", "max"):
            if objective is not None:
                raise ModelError(f"{where}: a problem has exactly one minimize: or maximize: line")
            objective, sense = parse_expression(body, order, limits=limits, where=where), kind
        elif kind == "st":
            which, poly = parse_relation(body, order, limits=limits, where=where)
            (eqs if which == "eq" else ineqs).append(poly)
    if objective is None:
        raise ModelError(f"{source}: no 'minimize:' or 'maximize:' line")
    return POP(objective, ineqs=ineqs, eqs=eqs, sense=sense,
               variables=order if declared is not None else None, binary=binary, spin=spin)


def load_problem(path, *, limits: ParseLimits = ParseLimits()) -> POP:
    """Read a problem file in the plain-text format (UTF-8, at most :data:`MAX_FILE_BYTES`)."""
    path = Path(path)
    try:
        if path.is_dir():
            raise ModelError(f"cannot read problem file {str(path)!r}: it is a directory")
        with path.open("rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ModelError(f"cannot read problem file {str(path)!r}: {exc.strerror or exc}") from None
    if len(data) > MAX_FILE_BYTES:
        raise ModelError(f"problem file {str(path)!r} is larger than {MAX_FILE_BYTES // 2**20} MiB; "
                         "refused before reading it")
    if b"\x00" in data:
        raise ModelError(f"problem file {str(path)!r} is binary (it contains NUL bytes), "
                         "not a text problem")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ModelError(f"problem file {str(path)!r} is not UTF-8 (byte {exc.start}: "
                         f"{data[exc.start:exc.start + 1]!r}); save it as UTF-8") from None
    return parse_problem(text, source=str(path), limits=limits)

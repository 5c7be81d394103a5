"""Strict readers of the certificates' JSON documents.

A certificate file may come from anywhere, so ``from_json`` treats it as data to check, not
as polylip's own output: every field is checked for presence, type, size and range **before it
is used**, and anything else is a :class:`~polylip.errors.ModelError` naming the field
(``polylip-sos-certificate/1 document: blocks[2].gram[5]: not a float.hex string``), never a
raw ``KeyError``/``TypeError``/``IndexError``, and never a hang or a huge allocation:

* the text must be a ``str`` (or UTF-8 ``bytes``; a byte-order mark is accepted), at most
  :data:`MAX_CHARS` characters, valid JSON without ``NaN``/``Infinity``;
* floats are ``float.hex`` strings (what ``to_json`` writes): finite unless the field allows
  infinities (a box), never NaN;
* rationals are ``"p"`` or ``"p/q"`` with at most :data:`MAX_DIGITS` digits each and ``q != 0``.
  ``Fraction("1e-999999999")`` would build a 10^9-digit integer (it hung in the QA round 4
  fuzzer), so exponent forms are refused before ``Fraction`` sees the text;
* integers are JSON integers (not booleans, not floats) in their range: variable indices in
  ``[-1, n)``, exponents at most :data:`MAX_EXPONENT`;
* polynomials are checked term by term and built without expanding anything
  (:func:`polynomial_from_terms`), with at most :data:`MAX_ENTRIES` index entries in all.

Whether the checked data proves anything is then ``verify()``'s question; it returns False for
a certificate that does not, whatever its fields hold.

Examples
--------
>>> fraction("-3/4", "x0[0]")
Fraction(-3, 4)
>>> fraction("1e-999999999", "x0[0]")
Traceback (most recent call last):
...
polylip.errors.ModelError: x0[0]: '1e-999999999' is not a rational 'p' or 'p/q' (integers of at most 4000 digits)
"""

from __future__ import annotations

import json
import re
from fractions import Fraction

import numpy as np

from polylip.errors import ModelError
from polylip.poly import Polynomial
from polylip.poly import monomials as mono

__all__ = ["load_document", "field", "array", "hex_float", "fraction", "integer", "boolean",
           "names", "index_rows", "polynomial_from_terms", "MAX_CHARS", "MAX_DIGITS",
           "MAX_EXPONENT", "MAX_ENTRIES"]

#: Longest certificate document read (characters).
MAX_CHARS = 256 * 2**20
#: Most digits of a numerator or denominator (below Python's 4,300-digit int parsing limit;
#: the exact Gram matrices polylip writes are far smaller).
MAX_DIGITS = 4000
#: Largest exponent of a variable in a term (the text format's degree limit,
#: :class:`polylip.poly.parse.ParseLimits`).
MAX_EXPONENT = 1000
#: Most index entries (terms x degree) of all the polynomials of one document.
MAX_ENTRIES = 20_000_000

_RATIONAL = re.compile(r"[-+]?\d{1,%d}(/\d{1,%d})?" % (MAX_DIGITS, MAX_DIGITS))


def _refuse_constant(name):
    raise ValueError(f"{name} is not allowed")


def load_document(text, fmt: str) -> dict:
    """The JSON object of a ``fmt`` document; :class:`ModelError` for anything else.

    >>> load_document('{"format": "f/1"}', "f/1")
    {'format': 'f/1'}
    >>> load_document('[1]', "f/1")
    Traceback (most recent call last):
    ...
    polylip.errors.ModelError: not a f/1 document: a JSON array, not an object
    """
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ModelError(f"not a {fmt} document: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    if not isinstance(text, str):
        raise ModelError(f"not a {fmt} document: expected JSON text, got {type(text).__name__}")
    if len(text) > MAX_CHARS:
        raise ModelError(f"not a {fmt} document: {len(text):,} characters, more than the limit of {MAX_CHARS:,}")
    text = text.removeprefix("\ufeff")
    try:
        doc = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise ModelError(f"not a {fmt} document: JSON nested too deeply") from None
    except ValueError as exc:   # json.JSONDecodeError, NaN / Infinity
        raise ModelError(f"not a {fmt} document: invalid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise ModelError(f"not a {fmt} document: a JSON {_kind(doc)}, not an object")
    if doc.get("format") != fmt:
        raise ModelError(f"not a {fmt} document (format {str(doc.get('format'))[:80]!r})")
    return doc


def _kind(v) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer",
            float: "number", type(None): "null"}.get(type(v), type(v).__name__)


def _bad(where: str, msg: str) -> ModelError:
    return ModelError(f"{where}: {msg}")


def field(doc: dict, key: str, where: str = ""):
    """``doc[key]``, or :class:`ModelError` naming the missing field."""
    if not isinstance(doc, dict):
        raise _bad(where or "document", f"expected an object, got a {_kind(doc)}")
    if key not in doc:
        raise _bad(f"{where}.{key}" if where else key, "missing field")
    return doc[key]


def array(v, where: str, length: int | None = None) -> list:
    """``v`` as a JSON array (of ``length`` items when given)."""
    if not isinstance(v, list):
        raise _bad(where, f"expected an array, got a {_kind(v)}")
    if length is not None and len(v) != length:
        raise _bad(where, f"expected {length} items, got {len(v)}")
    return v


def hex_float(v, where: str, infinite: bool = False) -> float:
    """A ``float.hex`` string as a float: never NaN, infinite only where ``infinite``."""
    if not isinstance(v, str) or len(v) > 40:
        raise _bad(where, f"expected a float.hex string, got {_show(v)}")
    try:
        x = float.fromhex(v)
    except (ValueError, OverflowError):
        raise _bad(where, f"{_show(v)} is not a finite float.hex string") from None
    if x != x or (not infinite and x in (float("inf"), float("-inf"))):
        raise _bad(where, f"{_show(v)} is not a finite number")
    return x


def hex_floats(v, where: str, length: int | None = None, infinite: bool = False) -> np.ndarray:
    return np.array([hex_float(x, f"{where}[{i}]", infinite) for i, x in enumerate(array(v, where, length))],
                    dtype=float)


def fraction(v, where: str) -> Fraction:
    """A rational written ``"p"`` or ``"p/q"`` (integers, at most MAX_DIGITS digits, q != 0)."""
    if not isinstance(v, str) or len(v) > 2 * MAX_DIGITS + 2 or not _RATIONAL.fullmatch(v):
        raise _bad(where, f"{_show(v)} is not a rational 'p' or 'p/q' (integers of at most {MAX_DIGITS} digits)")
    num, _, den = v.partition("/")
    if den and int(den) == 0:
        raise _bad(where, f"{_show(v)} has a zero denominator")
    return Fraction(int(num), int(den) if den else 1)


def integer(v, where: str, lo: int, hi: int) -> int:
    """A JSON integer (not a boolean) in ``[lo, hi]``."""
    if isinstance(v, bool) or not isinstance(v, int):
        raise _bad(where, f"expected an integer, got {_show(v)}")
    if not lo <= v <= hi:
        raise _bad(where, f"{v} is outside [{lo}, {hi}]")
    return v


def boolean(v, where: str) -> bool:
    if not isinstance(v, bool):
        raise _bad(where, f"expected true or false, got {_show(v)}")
    return v


def names(v, where: str = "variables") -> tuple[str, ...]:
    """Distinct non-empty variable names."""
    out = tuple(array(v, where))
    for i, s in enumerate(out):
        if not isinstance(s, str) or not s or len(s) > 1000:
            raise _bad(f"{where}[{i}]", f"expected a variable name, got {_show(s)}")
    if len(set(out)) != len(out):
        raise _bad(where, "duplicate variable names")
    return out


def index_rows(v, where: str, n: int, count: int | None = None) -> np.ndarray:
    """Index rows (:mod:`polylip.poly.monomials`): a rectangular array of integers in
    ``[-1, n)``, ``count`` rows when given."""
    rows = array(v, where, count)
    width = None
    for i, r in enumerate(rows):
        r = array(r, f"{where}[{i}]", width)
        width = len(r)
        for j, e in enumerate(r):
            if isinstance(e, bool) or not isinstance(e, int) or not mono.PAD <= e < n:
                raise _bad(f"{where}[{i}][{j}]", f"expected a variable index in [-1, {n}), got {_show(e)}")
    if width is not None and len(rows) * width > MAX_ENTRIES:
        raise _bad(where, f"{len(rows) * width:,} index entries, more than {MAX_ENTRIES:,}")
    return np.array(rows, dtype=mono.INDEX_DTYPE).reshape(len(rows), width or 0)


def polynomial_from_terms(terms, variables, where: str = "polynomial") -> Polynomial:
    """The polynomial of a certificate's JSON terms ``[[{name: exponent}, float.hex], ...]``
    (the form the moment-ray and ray certificates write), checked term by term and built
    from index rows (nothing is expanded).

    >>> polynomial_from_terms([[{"x": 2}, (3.0).hex()], [{}, (1.0).hex()]], ("x",)).evaluate([2.0])
    13.0
    >>> polynomial_from_terms([[{"x": 10**9}, (1.0).hex()]], ("x",), "objective")
    Traceback (most recent call last):
    ...
    polylip.errors.ModelError: objective[0]: the exponent 1000000000 of x is outside [0, 1000]
    """
    index = {name: i for i, name in enumerate(variables)}
    rows, coeffs, entries = [], [], 0
    for t, term in enumerate(array(terms, where)):
        at = f"{where}[{t}]"
        exps, c = array(term, at, 2)
        if not isinstance(exps, dict):
            raise _bad(at, f"expected an object of exponents, got {_show(exps)}")
        row = []
        for name, e in exps.items():
            if name not in index:
                raise _bad(at, f"{_show(name)} is not a variable of the certificate")
            if isinstance(e, bool) or not isinstance(e, int) or not 0 <= e <= MAX_EXPONENT:
                raise _bad(at, f"the exponent {_show(e)} of {name} is outside [0, {MAX_EXPONENT}]")
            row += [index[name]] * e
        entries += len(row)
        if entries > MAX_ENTRIES:
            raise _bad(where, f"more than {MAX_ENTRIES:,} index entries")
        rows.append(row)
        coeffs.append(hex_float(c, f"{at}[1]"))
    width = max((len(r) for r in rows), default=0)
    grid = np.full((len(rows), width), mono.PAD, dtype=mono.INDEX_DTYPE)
    for i, r in enumerate(rows):
        grid[i, :len(r)] = r
    return Polynomial(tuple(variables), grid, coeffs)


def _show(v) -> str:
    text = repr(v)
    return text if len(text) <= 60 else text[:57] + "..."

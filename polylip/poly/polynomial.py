"""A sparse multivariate polynomial over named variables, always canonical and immutable.

Why this module is long: it is the one value class of the package (arithmetic, evaluation,
substitution, shifting, boolean reduction, display and sympy conversion); its operations
share the index-row invariants, which split modules would each have to restate.
"""

from __future__ import annotations

import numbers
from typing import Iterable, Mapping, Sequence

import numpy as np

from polylip.errors import ModelError
from polylip.poly import monomials as mono

#: :meth:`Polynomial.shift` refuses a result of more index entries than this (terms times
#: degree; 2e7 int32 entries are 80 MB, built in about a second): the shifted product of 40
#: distinct variables has 2^40 terms and would never end.
SHIFT_MAX_ENTRIES = 20_000_000


def _pascal(n: int) -> np.ndarray:
    """Binomial coefficients ``C(e, k)`` for ``e, k <= n`` as floats (Pascal's triangle)."""
    table = np.zeros((n + 1, n + 1))
    table[:, 0] = 1.0
    for e in range(1, n + 1):
        table[e, 1:e + 1] = table[e - 1, :e] + table[e - 1, 1:e + 1]
    return table


class Polynomial:
    """Sparse polynomial with real coefficients over an ordered tuple of named variables.

    Storage: ``rows`` (index rows, see :mod:`polylip.poly.monomials`) and ``coeffs``, one per
    term. Invariants, kept by every constructor and operation: terms are in graded order,
    each monomial appears once, and no coefficient is zero. Instances are immutable.

    Parameters
    ----------
    variables : sequence of str
        Variable names; their order fixes the index of each variable.
    rows : array of int, shape (nterms, width)
        Index rows of the monomials (need not be canonical: they are merged and sorted).
    coeffs : array of float, shape (nterms,)

    Examples
    --------
    >>> x, y = Polynomial.variable("x"), Polynomial.variable("y")
    >>> p = (x + 2 * y) ** 2 - 1
    >>> p.degree, p.nterms
    (2, 4)
    >>> float(p.evaluate({"x": 1.0, "y": 1.0}))
    8.0
    """

    __slots__ = ("_variables", "_rows", "_coeffs", "__weakref__")
    __array_priority__ = 100  # numpy scalars defer to our operators

    def __init__(self, variables: Sequence[str], rows, coeffs):
        variables = tuple(str(v) for v in variables)
        if len(set(variables)) != len(variables):
            raise ModelError(f"duplicate variable names in {variables}")
        coeffs = np.asarray(coeffs, dtype=float).ravel()
        rows = np.asarray(rows, dtype=mono.INDEX_DTYPE)
        if rows.ndim == 1 and rows.size == 0:
            rows = rows.reshape(coeffs.size, 0)
        if rows.ndim != 2 or rows.shape[0] != coeffs.size:
            raise ModelError("a polynomial needs one index row per coefficient")
        if not np.all(np.isfinite(coeffs)):
            raise ModelError("polynomial coefficients must be finite (found NaN or infinity)")
        if rows.size and (rows.max() >= len(variables) or rows.min() < mono.PAD):
            raise ModelError("index rows refer to variables that do not exist")
        rows = mono.normalize(rows)
        if rows.shape[0] <= 1:
            uniq, merged = rows, coeffs.copy()
        else:
            uniq, inv = mono.unique_rows(rows)
            merged = np.bincount(inv, weights=coeffs, minlength=uniq.shape[0])
        keep = merged != 0.0
        if not keep.all():
            uniq = uniq[keep]
            merged = merged[keep]
            width = int((uniq != mono.PAD).sum(axis=1).max(initial=0))
            uniq = uniq[:, :width]
        self._set(variables, np.ascontiguousarray(uniq), merged)

    def _set(self, variables, rows, coeffs):
        self._variables = variables
        self._rows = rows
        self._coeffs = coeffs
        self._rows.setflags(write=False)
        self._coeffs.setflags(write=False)

    @classmethod
    def _canonical(cls, variables, rows, coeffs) -> "Polynomial":
        """Wrap data already known to be canonical (internal fast path, no checks)."""
        obj = cls.__new__(cls)
        obj._set(variables, rows, coeffs)
        return obj

    # ------------------------------------------------------------------ constructors
    @classmethod
    def constant(cls, value: float, variables: Sequence[str] = ()) -> "Polynomial":
        """The constant polynomial ``value``."""
        return cls(variables, np.zeros((1, 0), mono.INDEX_DTYPE), [float(value)])

    @classmethod
    def zero(cls, variables: Sequence[str] = ()) -> "Polynomial":
        return cls(variables, np.zeros((0, 0), mono.INDEX_DTYPE), [])

    @classmethod
    def variable(cls, name: str) -> "Polynomial":
        """The polynomial ``name`` (degree one, one variable)."""
        return cls((name,), np.array([[0]]), [1.0])

    @classmethod
    def from_exponents(cls, variables: Sequence[str], exponents, coeffs) -> "Polynomial":
        """Build from a dense exponent matrix (terms x variables) and coefficients.

        Examples
        --------
        >>> Polynomial.from_exponents(["x", "y"], [[2, 0], [0, 1]], [1.0, -3.0])
        Polynomial(1.0*x**2 - 3.0*y)
        """
        exponents = np.asarray(exponents)
        if exponents.ndim != 2 or exponents.shape[1] != len(variables):
            raise ModelError(f"exponent matrix must have shape (terms, {len(variables)})")
        if np.any(exponents < 0) or np.any(exponents != np.round(exponents)):
            raise ModelError("exponents must be non-negative integers")
        return cls(variables, mono.from_exponents(exponents.astype(np.int64)), coeffs)

    @classmethod
    def sum(cls, polys: Iterable["Polynomial"], variables: Sequence[str] | None = None) -> "Polynomial":
        """Sum of many polynomials in one merge (``p1 + p2 + ...`` merges once per ``+``).

        Examples
        --------
        >>> xs = [Polynomial.variable(f"x{i}") for i in range(3)]
        >>> str(Polynomial.sum(x**2 for x in xs))
        'x0**2 + x1**2 + x2**2'
        """
        polys = list(polys)
        names: list[str] = list(variables or ())
        seen = set(names)
        for p in polys:
            for v in p.variables:
                if v not in seen:
                    seen.add(v)
                    names.append(v)
        if not polys:
            return cls.zero(names)
        pos = {v: i for i, v in enumerate(names)}
        width = max(p.rows.shape[1] for p in polys)
        mapped = []
        for p in polys:
            mapping = np.array([pos[v] for v in p.variables] + [mono.PAD], dtype=mono.INDEX_DTYPE)
            mapped.append(mono.pad_to(mapping[p.rows], width))
        rows = np.vstack(mapped)
        aligned = polys
        return cls(names, rows, np.concatenate([p.coeffs for p in aligned]))

    # ------------------------------------------------------------------ properties
    @property
    def variables(self) -> tuple[str, ...]:
        """Names of the variables, in index order (a superset of those that occur)."""
        return self._variables

    @property
    def rows(self) -> np.ndarray:
        """Index rows of the terms (read-only)."""
        return self._rows

    @property
    def coeffs(self) -> np.ndarray:
        """Coefficients of the terms (read-only), aligned with :attr:`rows`."""
        return self._coeffs

    @property
    def nterms(self) -> int:
        return self._coeffs.size

    @property
    def nvars(self) -> int:
        return len(self._variables)

    @property
    def exponents(self) -> np.ndarray:
        """Dense exponent matrix, shape (nterms, nvars)."""
        return mono.to_exponents(self._rows, self.nvars)

    @property
    def degree(self) -> int:
        """Total degree (0 for constants, -1 for the zero polynomial... reported as 0)."""
        return int(mono.degrees(self._rows).max(initial=0))

    @property
    def term_degrees(self) -> np.ndarray:
        return mono.degrees(self._rows)

    @property
    def used_variables(self) -> tuple[str, ...]:
        """Names of the variables that occur in some term, in index order."""
        idx = np.unique(self._rows[self._rows != mono.PAD])
        return tuple(self._variables[i] for i in idx)

    def variable_indices(self) -> np.ndarray:
        """Indices of the variables that occur."""
        return np.unique(self._rows[self._rows != mono.PAD]).astype(np.int64)

    @property
    def support(self) -> np.ndarray:
        """Exponent vectors of the terms (same as :attr:`exponents`)."""
        return self.exponents

    def is_zero(self) -> bool:
        return self.nterms == 0

    def is_constant(self) -> bool:
        return self.degree == 0

    def constant_term(self) -> float:
        if self.nterms and mono.degrees(self._rows[:1])[0] == 0:
            return float(self._coeffs[0])
        return 0.0

    # ------------------------------------------------------------------ variables
    def with_variables(self, variables: Sequence[str]) -> "Polynomial":
        """The same polynomial expressed over ``variables`` (must contain all used ones)."""
        variables = tuple(str(v) for v in variables)
        if variables == self._variables:
            return self
        pos = {v: i for i, v in enumerate(variables)}
        missing = [v for v in self.used_variables if v not in pos]
        if missing:
            raise ModelError(f"variables {missing} do not appear in the variable list {list(variables)}")
        mapping = np.array([pos.get(v, -1) for v in self._variables] + [mono.PAD],
                           dtype=mono.INDEX_DTYPE)
        return Polynomial(variables, mapping[self._rows], self._coeffs)

    def _aligned(self, other: "Polynomial") -> tuple["Polynomial", "Polynomial"]:
        if other._variables == self._variables:
            return self, other
        union = self._variables + tuple(v for v in other._variables if v not in self._variables)
        return self.with_variables(union), other.with_variables(union)

    def _coerce(self, other) -> "Polynomial":
        if isinstance(other, Polynomial):
            return other
        if isinstance(other, numbers.Real) or (isinstance(other, np.ndarray) and other.ndim == 0):
            return Polynomial.constant(float(other), self._variables)
        return NotImplemented

    # ------------------------------------------------------------------ arithmetic
    def __add__(self, other):
        other = self._coerce(other)
        if other is NotImplemented:
            return NotImplemented
        a, b = self._aligned(other)
        w = max(a._rows.shape[1], b._rows.shape[1])
        rows = np.vstack([mono.pad_to(a._rows, w), mono.pad_to(b._rows, w)])
        return Polynomial(a._variables, rows, np.concatenate([a._coeffs, b._coeffs]))

    __radd__ = __add__

    def __neg__(self):
        return Polynomial._canonical(self._variables, self._rows, -self._coeffs)

    def __pos__(self):
        return self

    def __sub__(self, other):
        other = self._coerce(other)
        if other is NotImplemented:
            return NotImplemented
        return self + (-other)

    def __rsub__(self, other):
        other = self._coerce(other)
        if other is NotImplemented:
            return NotImplemented
        return other + (-self)

    def __mul__(self, other):
        if isinstance(other, numbers.Real) or (isinstance(other, np.ndarray) and other.ndim == 0):
            factor = float(other)
            if factor == 0.0 or not np.isfinite(factor):
                return Polynomial(self._variables, self._rows, self._coeffs * factor)
            return Polynomial._canonical(self._variables, self._rows, self._coeffs * factor)
        other = self._coerce(other)
        if other is NotImplemented:
            return NotImplemented
        a, b = self._aligned(other)
        rows = mono.multiply(a._rows, b._rows)
        coeffs = np.outer(a._coeffs, b._coeffs).ravel()
        return Polynomial(a._variables, rows, coeffs)

    __rmul__ = __mul__

    def __truediv__(self, other):
        if isinstance(other, numbers.Real):
            if other == 0:
                raise ZeroDivisionError("division of a polynomial by zero")
            return self * (1.0 / float(other))
        raise ModelError("a polynomial can only be divided by a non-zero number")

    def __pow__(self, k):
        if not isinstance(k, numbers.Integral) or k < 0:
            raise ModelError(f"polynomials can only be raised to non-negative integer powers, not {k!r}")
        result = Polynomial.constant(1.0, self._variables)
        base = self
        k = int(k)
        while k:
            if k & 1:
                result = result * base
            k >>= 1
            if k:
                base = base * base
        return result

    def __eq__(self, other):
        other = self._coerce(other)
        if other is NotImplemented:
            return NotImplemented
        diff = self - other
        return diff.is_zero()

    def __hash__(self):
        return hash((self._variables, self._rows.tobytes(), self._coeffs.tobytes()))

    def allclose(self, other: "Polynomial", atol: float = 1e-9) -> bool:
        """Equal up to ``atol`` on every coefficient."""
        diff = self - other
        return bool(np.all(np.abs(diff.coeffs) <= atol))

    # ------------------------------------------------------------------ evaluation
    def evaluate(self, points) -> np.ndarray | float:
        """Evaluate at one point or many.

        ``points`` is a mapping ``{name: value}`` (values may be arrays of equal length), an array
        of shape (nvars,) for one point, or (npoints, nvars) for many.

        Examples
        --------
        >>> x = Polynomial.variable("x")
        >>> (x**2 + 1).evaluate(np.array([[1.0], [2.0]])).tolist()
        [2.0, 5.0]
        """
        if isinstance(points, Mapping):
            missing = [v for v in self.used_variables if v not in points]
            if missing:
                raise ModelError(f"no value given for variables {missing}")
            cols = [np.asarray(points.get(v, 0.0), dtype=float) for v in self._variables]
            single = all(c.ndim == 0 for c in cols)
            pts = np.column_stack([np.atleast_1d(c) for c in cols]) if cols else np.zeros((1, 0))
            if pts.shape[0] != max((np.atleast_1d(c).size for c in cols), default=1):
                raise ModelError("all variables need the same number of values")
        else:
            pts = np.asarray(points, dtype=float)
            single = pts.ndim == 1
            pts = np.atleast_2d(pts)
            if pts.shape[1] != self.nvars:
                raise ModelError(f"points must have {self.nvars} columns (one per variable), got {pts.shape[1]}")
        values = np.zeros(pts.shape[0])
        # chunk over points to bound memory at about 8 MB per chunk
        per = max(1, self.nterms * max(self._rows.shape[1], 1))
        step = max(1, 1_000_000 // per)
        ext = np.hstack([pts, np.ones((pts.shape[0], 1))])
        for s in range(0, pts.shape[0], step):
            block = ext[s:s + step]
            if self._rows.shape[1]:
                mons = block[:, self._rows].prod(axis=2)
            else:
                mons = np.ones((block.shape[0], self.nterms))
            values[s:s + step] = mons @ self._coeffs
        return float(values[0]) if single else values

    __call__ = evaluate

    def substitute(self, values: Mapping[str, float]) -> "Polynomial":
        """Fix some variables to numbers; the result keeps the remaining variables.

        Examples
        --------
        >>> x, y = Polynomial.variable("x"), Polynomial.variable("y")
        >>> (x * y + y).substitute({"x": 2.0})
        Polynomial(3.0*y)
        """
        unknown = [v for v in values if v not in self._variables]
        if unknown:
            raise ModelError(f"cannot substitute unknown variables {unknown}")
        fixed = np.array([v in values for v in self._variables] + [False])
        vals = np.array([float(values.get(v, 1.0)) for v in self._variables] + [1.0])
        factor = np.where(fixed[self._rows], vals[self._rows], 1.0).prod(axis=1) if self._rows.size else np.ones(self.nterms)
        keep_vars = [v for v in self._variables if v not in values]
        pos = {v: i for i, v in enumerate(keep_vars)}
        mapping = np.array([pos.get(v, mono.PAD) for v in self._variables] + [mono.PAD], dtype=mono.INDEX_DTYPE)
        return Polynomial(keep_vars, mapping[self._rows], self._coeffs * factor)

    def shift(self, center) -> "Polynomial":
        """The polynomial ``q(z) = p(z + center)`` in the same variables.

        ``center`` is an array (one value per variable) or a mapping ``{name: value}``
        (missing names: 0). One variable at a time, a term with ``x_i^e`` becomes the
        ``e + 1`` terms of ``(z_i + c_i)^e`` and equal monomials are merged, so the work
        follows the size of the result (``(x + y)^60``: 61 terms; a product of k distinct
        shifted variables: 2^k). A result of more than :data:`SHIFT_MAX_ENTRIES` index
        entries is refused with a :class:`~polylip.errors.ModelError` before it is built.

        Examples
        --------
        >>> x, = variables("x")
        >>> str((x**2).shift([1.0]))
        '1 + 2*x + x**2'
        """
        if isinstance(center, Mapping):
            unknown = [v for v in center if v not in self._variables]
            if unknown:
                raise ModelError(f"cannot shift unknown variables {unknown}")
            center = [float(center.get(v, 0.0)) for v in self._variables]
        c = np.asarray(center, dtype=float).ravel()
        if c.size != self.nvars or not np.all(np.isfinite(c)):
            raise ModelError(f"the center needs {self.nvars} finite values")
        rows, coeffs = self._rows, self._coeffs
        w = rows.shape[1]
        if w == 0 or not c.any():
            return self
        for i in np.nonzero(c)[0]:
            hit = rows == i
            e = hit.sum(axis=1)
            if not e.any():
                continue
            reps = e + 1
            total = int(reps.sum())
            if total * w > SHIFT_MAX_ENTRIES:
                raise ModelError(f"shifting the polynomial's variables (to the centre of their "
                                 f"box) would give more than {total:,} terms of degree up to "
                                 f"{w}: too large")
            t = np.repeat(np.arange(rows.shape[0]), reps)
            k = np.arange(total) - np.repeat(np.cumsum(reps) - reps, reps)    # 0 .. e_t
            et = e[t]
            extra = np.where(np.arange(int(e.max()))[None, :] < k[:, None], i, mono.PAD)
            base = np.where(hit, mono.PAD, rows)[t]
            # z_i^k from (z_i + c_i)^e: C(e, k) c_i^(e - k); the row keeps at most w entries
            new = mono.normalize(np.hstack([base, extra.astype(mono.INDEX_DTYPE)]))[:, :w]
            with np.errstate(over="ignore"):
                coeffs = coeffs[t] * _pascal(int(e.max()))[et, k] * c[i] ** (et - k)
            rows, coeffs = mono.canonical(new, coeffs)
            w = rows.shape[1]
            if w == 0:
                break
        return Polynomial(self._variables, rows, coeffs)

    def reduce_boolean(self, binary: Iterable[str] = (), spin: Iterable[str] = ()) -> "Polynomial":
        """Reduce modulo x^2 = x for ``binary`` and x^2 = 1 for ``spin`` variables.

        Linear in the terms, not in the variables: only the variables that occur are looked
        up, and a polynomial without any of them is returned as it is.
        """
        binary, spin = set(binary), set(spin)
        if not binary and not spin or self._rows.size == 0:
            return self
        used = self.variable_indices()
        bmask = np.zeros(self.nvars, dtype=bool)
        smask = np.zeros(self.nvars, dtype=bool)
        bmask[used] = [self._variables[i] in binary for i in used]
        smask[used] = [self._variables[i] in spin for i in used]
        if not bmask.any() and not smask.any():
            return self
        rows, coeffs = mono.canonical(mono.reduce_boolean(self._rows, bmask, smask), self._coeffs)
        return Polynomial._canonical(self._variables, rows, coeffs)

    # ------------------------------------------------------------------ display and sympy
    def terms(self) -> list[tuple[dict[str, int], float]]:
        """The terms as ``({name: exponent}, coefficient)`` pairs, in canonical order."""
        out = []
        for row, c in zip(self._rows, self._coeffs):
            exps: dict[str, int] = {}
            for i in row[row != mono.PAD]:
                name = self._variables[i]
                exps[name] = exps.get(name, 0) + 1
            out.append((exps, float(c)))
        return out

    def __str__(self) -> str:
        if self.is_zero():
            return "0"
        parts = []
        for exps, c in self.terms():
            mon = "*".join(f"{v}**{e}" if e > 1 else v for v, e in exps.items())
            if not mon:
                parts.append(f"{c:g}")
            elif c == 1:
                parts.append(mon)
            elif c == -1:
                parts.append(f"-{mon}")
            else:
                parts.append(f"{c:g}*{mon}")
        text = " + ".join(parts)
        return text.replace("+ -", "- ")

    def __repr__(self) -> str:
        return f"Polynomial({self.to_sympy()})" if self.nterms < 20 else \
            f"Polynomial(<{self.nterms} terms, degree {self.degree}, {self.nvars} variables>)"

    def to_sympy(self, symbols: Mapping[str, object] | None = None):
        """Convert to a sympy expression (symbols created by name unless given)."""
        # lazy: sympy_io imports this module (the one cycle inside poly, kept at call time)
        from polylip.poly.sympy_io import to_sympy

        return to_sympy(self, symbols)


def variables(names: str | Sequence[str]) -> tuple[Polynomial, ...]:
    """Create polynomial variables from a space- or comma-separated string or a list of names.

    Examples
    --------
    >>> x, y = variables("x y")
    >>> str(x * y + 1)
    '1 + x*y'
    """
    if isinstance(names, str):
        names = names.replace(",", " ").split()
    return tuple(Polynomial.variable(n) for n in names)

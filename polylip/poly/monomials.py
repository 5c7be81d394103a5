"""Monomials stored as *index rows*: the building block of every polynomial and relaxation.

A monomial of degree k over variables 0..n-1 is stored as the sorted list of the variable
indices it multiplies, with repetition, padded on the right with ``PAD = -1``:
``x0**2 * x3`` is ``[0, 0, 3, -1, ...]``. A set of monomials is an int array of shape
(count, width) where width is at least the largest degree.

Why not a dense exponent matrix (terms x variables)? Sparse POPs have thousands of variables
and low degree: a Broyden problem with 5,000 variables has ~10^5 terms, and a dense exponent
matrix would hold 5 * 10^8 integers. Index rows hold at most ``degree`` integers per monomial,
and every operation the library needs is a vectorized numpy operation on them: products are
concatenation then a row sort, evaluation is one fancy index, and deduplication is one
lexicographic sort. :func:`to_exponents` gives the dense exponent matrix when it is wanted.

Invariants of a *normalized* row set: each row is sorted ascending over its non-padding entries,
padding sits at the end, and the width equals the largest degree present (at least 0).
The *canonical order* of monomials is graded: by degree, then lexicographically by index row
(``1, x0, x1, x0^2, x0 x1, x1^2, ...``).
"""

from __future__ import annotations

from math import comb

import numpy as np

from polylip.errors import RelaxationError
from polylip.runtime import check_memory, format_count

PAD = -1
INDEX_DTYPE = np.int32
_BIG = np.iinfo(INDEX_DTYPE).max


def normalize(rows: np.ndarray) -> np.ndarray:
    """Sort each row, move padding to the end and trim the width to the largest degree.

    Examples
    --------
    >>> normalize(np.array([[3, -1, 0], [-1, -1, -1]])).tolist()
    [[0, 3], [-1, -1]]
    """
    rows = np.asarray(rows, dtype=INDEX_DTYPE)
    if rows.ndim != 2:
        raise ValueError("index rows must be a 2-D array")
    if rows.shape[1] == 0:
        return rows
    tmp = np.where(rows == PAD, _BIG, rows)
    tmp.sort(axis=1)
    width = int((tmp != _BIG).sum(axis=1).max(initial=0))
    tmp = tmp[:, :width]
    tmp[tmp == _BIG] = PAD
    return np.ascontiguousarray(tmp)


def degrees(rows: np.ndarray) -> np.ndarray:
    """Degree of each monomial (number of non-padding entries)."""
    return (np.asarray(rows) != PAD).sum(axis=1)


def pad_to(rows: np.ndarray, width: int) -> np.ndarray:
    """Widen a normalized row set with padding columns (never narrows)."""
    rows = np.asarray(rows, dtype=INDEX_DTYPE)
    if rows.shape[1] >= width:
        return rows
    extra = np.full((rows.shape[0], width - rows.shape[1]), PAD, dtype=INDEX_DTYPE)
    return np.hstack([rows, extra])


def canonical_order(rows: np.ndarray) -> np.ndarray:
    """Permutation putting normalized rows in graded order (degree, then lexicographic).

    When the degree and every column fit in one int64 as digits of base ``max index + 2``
    (padding as digit 0), one stable argsort of that key gives the same permutation as the
    lexicographic sort of all columns (3x faster, measured on 10^5-3 * 10^6 rows of width 2-6,
    identical permutations); otherwise ``np.lexsort`` over the columns."""
    rows = np.asarray(rows)
    # Padding (-1) must sort after real indices inside a degree: but rows of one degree have
    # padding in the same columns, so a plain lexicographic sort after the degree is enough.
    n, w = rows.shape
    base = int(rows.max(initial=PAD)) + 2 if n else 2
    if n and w and (w + 1) * np.log2(max(base, w + 1)) < 62:
        key = degrees(rows).astype(np.int64)
        for j in range(w):
            key = key * base + (rows[:, j].astype(np.int64) + 1)
        return np.argsort(key, kind="stable")
    keys = tuple(rows[:, j] for j in range(rows.shape[1] - 1, -1, -1)) + (degrees(rows),)
    return np.lexsort(keys)


def unique_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct normalized rows in canonical order, and the index of each input row among them.

    Examples
    --------
    >>> u, inv = unique_rows(np.array([[1, -1], [0, 0], [1, -1]]))
    >>> u.tolist(), inv.tolist()
    ([[1, -1], [0, 0]], [0, 1, 0])
    """
    rows = np.asarray(rows, dtype=INDEX_DTYPE)
    n = rows.shape[0]
    if n == 0:
        return rows.copy(), np.zeros(0, dtype=np.int64)
    order = canonical_order(rows)
    srt = rows[order]
    if rows.shape[1]:
        new = np.empty(n, dtype=bool)
        new[0] = True
        np.any(srt[1:] != srt[:-1], axis=1, out=new[1:])
    else:
        new = np.zeros(n, dtype=bool)
        new[0] = True
    group = np.cumsum(new) - 1
    inverse = np.empty(n, dtype=np.int64)
    inverse[order] = group
    return srt[new], inverse


def canonical(rows: np.ndarray, coeffs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Merge a polynomial's terms: index rows normalized, each monomial once (coefficients
    added) in canonical order, zero coefficients dropped, the width trimmed (the invariants
    :class:`~polylip.poly.polynomial.Polynomial` keeps).

    >>> r, c = canonical(np.array([[1, 0], [0, 1], [2, -1]]), np.array([1.0, 2.0, 0.0]))
    >>> r.tolist(), c.tolist()
    ([[0, 1]], [3.0])
    """
    rows = normalize(rows)
    coeffs = np.asarray(coeffs, dtype=float)
    if rows.shape[0] > 1:
        rows, inv = unique_rows(rows)
        coeffs = np.bincount(inv, weights=coeffs, minlength=rows.shape[0])
    keep = coeffs != 0.0
    if not keep.all():
        rows, coeffs = rows[keep], coeffs[keep]
        rows = rows[:, :int((rows != PAD).sum(axis=1).max(initial=0))]
    return np.ascontiguousarray(rows), np.array(coeffs, dtype=float)


def multiply(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """All pairwise products: row ``i * len(b) + j`` is ``a[i] * b[j]`` (normalized)."""
    a = np.asarray(a, dtype=INDEX_DTYPE)
    b = np.asarray(b, dtype=INDEX_DTYPE)
    left = np.repeat(a, b.shape[0], axis=0)
    right = np.tile(b, (a.shape[0], 1))
    return normalize(np.hstack([left, right]))


def multiply_rowwise(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-by-row products ``a[i] * b[i]`` (normalized)."""
    return normalize(np.hstack([np.asarray(a, INDEX_DTYPE), np.asarray(b, INDEX_DTYPE)]))


def reduce_boolean(rows: np.ndarray, binary: np.ndarray | None = None,
                   spin: np.ndarray | None = None) -> np.ndarray:
    """Reduce monomials modulo x^2 = x (binary variables) and x^2 = 1 (spin variables).

    ``binary`` and ``spin`` are boolean masks over the variables (or None). A binary variable
    keeps one copy of itself; a spin variable keeps its multiplicity modulo 2.

    Examples
    --------
    >>> reduce_boolean(np.array([[0, 0, 0, 1, 1]]), binary=np.array([True, False]),
    ...                spin=np.array([False, True])).tolist()
    [[0]]
    """
    rows = np.asarray(rows, dtype=INDEX_DTYPE)
    if rows.shape[1] == 0 or rows.shape[0] == 0:
        return rows
    if binary is None and spin is None:
        return rows
    nvars = len(binary) if binary is not None else len(spin)
    flag_b = np.zeros(nvars + 1, dtype=bool)
    flag_s = np.zeros(nvars + 1, dtype=bool)
    if binary is not None:
        flag_b[:-1] = binary
    if spin is not None:
        flag_s[:-1] = spin
    w = rows.shape[1]
    idx = np.arange(w)
    differs = rows[:, 1:] != rows[:, :-1]
    is_start = np.hstack([np.ones((rows.shape[0], 1), bool), differs])
    is_end = np.hstack([differs, np.ones((rows.shape[0], 1), bool)])
    start_pos = np.maximum.accumulate(np.where(is_start, idx, 0), axis=1)
    rank = idx - start_pos  # position inside the run of equal indices
    run_len_at_end = rank + 1
    # the padding index -1 maps to the extra last flag (False)
    b = flag_b[rows]
    s = flag_s[rows]
    keep = np.ones_like(rows, dtype=bool)
    keep[b] = (rank == 0)[b]
    keep[s] = (is_end & (run_len_at_end % 2 == 1))[s]
    out = np.where(keep, rows, PAD)
    return normalize(out)


def basis_size(nvars: int, degree: int, min_degree: int = 0) -> int:
    """Number of monomials of degree in [min_degree, degree] in ``nvars`` variables.

    >>> basis_size(10, 50)   # comb(60, 10): order 50 on 10 variables
    75394027566
    """
    if degree < 0 or min_degree > degree:
        return 0
    low = comb(nvars + min_degree - 1, min_degree - 1) if min_degree > 0 else 0
    return comb(nvars + degree, degree) - low


#: Hint appended to a refused basis or relaxation: what to try instead.
SIZE_HINT = ("try a sparsity pattern (sparsity='cs', or 'cs+ts'), a lower order, or the LP "
             "hierarchy (method='lp', for polytope constraints)")


def check_basis(nvars: int, degree: int, min_degree: int = 0) -> int:
    """The basis size, or :class:`~polylip.errors.RelaxationError` naming it when enumerating it
    would exceed :func:`polylip.runtime.memory_limit` (about 8 bytes per index entry: the rows
    and one working copy)."""
    count = basis_size(nvars, degree, min_degree)
    what = (f"the monomial basis of degree {degree} in {nvars} variables "
            f"({format_count(count)} monomials, {format_count(count * max(degree, 1))} index entries)")
    check_memory(8 * count * max(degree, 1), what, SIZE_HINT, RelaxationError)
    return count


def basis(variables, degree: int, *, min_degree: int = 0,
          binary=None, spin=None) -> np.ndarray:
    """Index rows of all monomials in ``variables`` (indices) of degree in [min_degree, degree].

    With boolean masks ``binary``/``spin`` (over all variables), monomials are reduced and
    deduplicated, so a basis over binary variables is multilinear. Within a degree, rows are
    in lexicographic order. The size, ``comb(n + degree, degree)`` rows, is checked against
    :func:`polylip.runtime.memory_limit` before anything is enumerated.

    Examples
    --------
    >>> basis([0, 1], 2).tolist()
    [[-1, -1], [0, -1], [1, -1], [0, 0], [0, 1], [1, 1]]
    """
    variables = np.array(sorted(int(v) for v in variables), dtype=INDEX_DTYPE)
    degree = int(degree)
    if degree < 0:
        return np.zeros((0, 0), INDEX_DTYPE)
    n = variables.size
    check_basis(n, degree, max(min_degree, 0))
    out = []
    local = np.zeros((1, 0), dtype=INDEX_DTYPE)   # degree-k monomials over 0..n-1, lexicographic
    for k in range(degree + 1):
        if k >= min_degree:
            arr = np.full((local.shape[0], degree), PAD, dtype=INDEX_DTYPE)
            arr[:, :k] = variables[local]
            out.append(arr)
        if k == degree:
            break
        # row r extends to r + [j] for every j >= its last index: lexicographic order is kept
        last = local[:, -1] if k else np.zeros(1, dtype=INDEX_DTYPE)
        reps = (n - last).astype(np.int64)
        first = np.concatenate([[0], np.cumsum(reps)[:-1]])
        parent = np.repeat(np.arange(local.shape[0]), reps)
        new = np.arange(parent.size) - first[parent] + last[parent]
        local = np.hstack([local[parent], new.astype(INDEX_DTYPE)[:, None]])
    rows = np.vstack(out) if out else np.zeros((0, degree), INDEX_DTYPE)
    if binary is not None or spin is not None:
        rows = reduce_boolean(rows, binary, spin)
        rows, _ = unique_rows(rows)
        rows = pad_to(rows, degree) if degree else rows
    return rows


def to_exponents(rows: np.ndarray, nvars: int) -> np.ndarray:
    """Dense exponent matrix (count x nvars) of index rows.

    Examples
    --------
    >>> to_exponents(np.array([[0, 0, 2]]), 3).tolist()
    [[2, 0, 1]]
    """
    rows = np.asarray(rows)
    out = np.zeros((rows.shape[0], nvars + 1), dtype=np.int64)
    r = np.repeat(np.arange(rows.shape[0]), rows.shape[1])
    np.add.at(out, (r, rows.ravel()), 1)
    return out[:, :nvars]


def from_exponents(exponents: np.ndarray) -> np.ndarray:
    """Index rows from a dense exponent matrix (count x nvars) of non-negative integers."""
    exponents = np.asarray(exponents, dtype=np.int64)
    if exponents.ndim != 2:
        raise ValueError("an exponent matrix must be 2-D")
    if (exponents < 0).any():
        raise ValueError("exponents must be non-negative")
    deg = exponents.sum(axis=1)
    width = int(deg.max(initial=0))
    rows = np.full((exponents.shape[0], width), PAD, dtype=INDEX_DTYPE)
    if width:
        term, var = np.nonzero(exponents)
        reps = exponents[term, var]
        term = np.repeat(term, reps)
        var = np.repeat(var, reps)
        # position of each entry within its row
        starts = np.concatenate([[0], np.cumsum(deg)[:-1]])
        pos = np.arange(term.size) - starts[term]
        rows[term, pos] = var
    return rows

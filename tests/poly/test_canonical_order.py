"""canonical_order's one-key sort gives the permutation of the lexicographic sort it replaces."""

import numpy as np
import pytest

from polylip.poly import monomials as mono


def _lexsort(rows):
    keys = tuple(rows[:, j] for j in range(rows.shape[1] - 1, -1, -1)) + (mono.degrees(rows),)
    return np.lexsort(keys)


@pytest.mark.parametrize("nvars,width", [(1, 1), (3, 2), (30, 6), (2000, 2), (10**6, 3),
                                         (50, 12)])
def test_same_permutation_as_lexsort(nvars, width):
    rng = np.random.default_rng(nvars + width)
    rows = mono.normalize(rng.integers(-1, nvars, size=(5000, width)))
    rows = np.vstack([rows, rows[:500]])  # repeated rows: stability decides their order
    assert np.array_equal(mono.canonical_order(rows), _lexsort(rows))
    u, inv = mono.unique_rows(rows)
    assert np.array_equal(u[inv], rows)


def test_empty_and_constant_rows():
    assert mono.canonical_order(np.zeros((0, 3), dtype=np.int32)).size == 0
    const = np.full((4, 2), mono.PAD, dtype=np.int32)
    assert mono.canonical_order(const).tolist() == [0, 1, 2, 3]
    assert mono.canonical_order(np.zeros((3, 0), dtype=np.int32)).tolist() == [0, 1, 2]

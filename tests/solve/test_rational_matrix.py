"""RationalMatrix: one integer matrix over one denominator, in lowest terms, read as rows of
Fractions (the exact Gram matrices of the exact faces, polylip/solve/rational_matrix.py)."""

from fractions import Fraction

import numpy as np
import pytest

from polylip.errors import ModelError
from polylip.solve.certificate_exact import _psd_many
from polylip.solve.rational_matrix import RationalMatrix


def test_lowest_terms_make_the_form_unique():
    a = RationalMatrix([[4, 2], [2, 6]], 8)
    b = RationalMatrix([[2, 1], [1, 3]], 4)
    assert (a.den, a.nums.tolist()) == (4, [[2, 1], [1, 3]])
    assert a == b and hash(a) == hash(b)
    assert a[0][0] == Fraction(1, 2) and a[1][1] == Fraction(3, 4)
    assert a == ((Fraction(1, 2), Fraction(1, 4)), (Fraction(1, 4), Fraction(3, 4)))
    assert a != RationalMatrix([[2, 1], [1, 3]], 5)
    assert RationalMatrix.from_rows(a) == a                         # rows back to the matrix
    assert np.array_equal(a.floats(), [[0.5, 0.25], [0.25, 0.75]])


def test_floats_are_the_nearest_floats_of_huge_entries():
    big = 3 ** 200
    X = RationalMatrix([[big, 1], [1, big + 1]], 7 * 2 ** 400)
    assert X.floats()[0, 0] == float(Fraction(big, 7 * 2 ** 400))
    assert X.floats()[0, 1] == float(Fraction(1, 7 * 2 ** 400))


@pytest.mark.parametrize("nums, den", [([[1, 2], [3, 4]], 1), ([[1, 2, 3]], 1), ([[1.5]], 1),
                                       ([[True]], 1), ([[1]], 0), ([[1]], -2), ([[1]], 1.0),
                                       ([["1"]], 1)])
def test_bad_data_is_refused(nums, den):
    with pytest.raises(ModelError):
        RationalMatrix(nums, den)


def test_psd_many_reads_the_numerators():
    psd = RationalMatrix([[1, 1], [1, 1]], 3)                       # rank 1
    indefinite = RationalMatrix([[1, 2], [2, 1]], 3)
    empty = RationalMatrix(np.zeros((0, 0), dtype=object), 1)
    rows = [[Fraction(1, 2), 0], [0, Fraction(1, 3)]]
    assert _psd_many([psd, indefinite, empty, rows]) == [True, False, True, True]

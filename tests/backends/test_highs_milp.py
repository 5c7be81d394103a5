"""The HiGHS MILP backend's model clean-up (polylip.backends.highs_milp): HiGHS ignores matrix
entries up to 1e-9 and works to a feasibility tolerance of 1e-7, so the backend hands it a
relaxation it represents exactly (small entries dropped, their rows widened by what they can
contribute; narrow continuous columns widened). Why: tests/nn/methods/test_milp_numerics.py."""

import numpy as np
import pytest
import scipy.sparse as sp

from polylip.backends.highs_milp import (NARROW_COLUMN, SMALL_ENTRY, drop_small_entries,
                                         solve_milp, widen_narrow_columns)


def test_drop_small_entries_is_a_relaxation():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((30, 12)) * rng.choice([1.0, 1e-10, 1e-26, 0.0], size=(30, 12))
    lb, ub = -rng.random(12), rng.random(12)
    X = lb + (ub - lb) * rng.random((500, 12))
    lo, hi = (A @ X.T).min(axis=1), (A @ X.T).max(axis=1)
    B, lo2, hi2 = drop_small_entries(sp.csr_matrix(A), lo, hi, lb, ub)
    assert np.all(np.abs(B.data) > SMALL_ENTRY)
    BX = B @ X.T
    assert np.all(BX >= lo2[:, None] - 1e-15) and np.all(BX <= hi2[:, None] + 1e-15)
    # a column without finite bounds keeps its entries (no finite widening)
    B, lo3, hi3 = drop_small_entries(sp.csr_matrix([[1.0, 1e-12]]), np.zeros(1), np.zeros(1),
                                     np.array([0.0, -np.inf]), np.array([1.0, np.inf]))
    assert B.nnz == 2 and lo3[0] == 0.0 and hi3[0] == 0.0


def test_narrow_columns_are_widened_not_fixed_ones():
    lb, ub = np.array([0.0, 1.0, 2.0, 0.0]), np.array([1e-10, 1.0, 3.0, 1e-12])
    lo, hi = widen_narrow_columns(lb, ub, np.array([0, 0, 0, 1]))
    assert np.all(lo <= lb) and np.all(hi >= ub)
    assert hi[0] - lo[0] == pytest.approx(NARROW_COLUMN) and lo[1] == hi[1] == 1.0
    assert (lo[3], hi[3]) == (0.0, 1e-12)  # an integer column is left alone


def test_a_model_with_small_entries_and_narrow_columns_keeps_its_optimum():
    """max x0 + x1 s.t. x2 = 1e-10 x0 + 1e-10 (x2 in a 2e-10-wide interval), x0 + x1 <= 1.5,
    x0, x1 binary: the maximum 1 (HiGHS ignores the 1e-10 entries; the model stays feasible)."""
    A_eq = sp.csr_matrix([[-1e-10, 0.0, 1.0]])
    sol = solve_milp(np.array([-1.0, -1.0, 0.0]), A_eq=A_eq, b_eq=np.array([1e-10]),
                     A_ub=sp.csr_matrix([[1.0, 1.0, 0.0]]), b_ub=np.array([1.5]),
                     lb=np.array([0.0, 0.0, 1e-10]), ub=np.array([1.0, 1.0, 2e-10]),
                     integrality=np.array([1, 1, 0]), presolve=False)
    assert sol.status == "optimal" and sol.value == pytest.approx(-1.0)
    assert sol.dual_bound <= -1.0 + 1e-4

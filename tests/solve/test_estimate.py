"""Every run ends: a relaxation is estimated from its block structure before it is built, and
refused at once (status "time_limit", or a RelaxationError past the memory limit) when it cannot
end in the time left. No wall-clock assertion: the tests check the status, that the refusal
came before the work (the work is replaced by a function that fails), and the counts against
the assembled relaxation."""

import dataclasses

import numpy as np
import pytest
import sympy

import polylip.solve.relaxation as relaxation_module
from polylip import POP
from polylip.backends import registry
from polylip.errors import RelaxationError
from polylip.poly import variables
from polylip.runtime import MemoryLimit
from polylip.solve.estimate import REFUSE_FACTOR, estimate_blocks, estimate_data, solver_cost
from polylip.sparsity.blocks import dense_structure


def product_pop(n):
    """(x_1 + ... + x_n)(y_1 + ... + y_n): unbounded; its order-1 relaxation is one block of
    size 2n + 1 whose every entry is its own moment."""
    v = variables(" ".join([f"x{i}" for i in range(n)] + [f"y{i}" for i in range(n)]))
    return POP(sum(v[:n]) * sum(v[n:]))


def _no_work(*args, **kwargs):
    raise AssertionError("the work ran although the estimate refuses it")


def test_counts_match_the_assembled_relaxation():
    rng = np.random.default_rng(0)
    x = sympy.symbols("x0:5")
    f = sum(v**4 for v in x) + sum(float(rng.normal()) * x[i] * x[j] * x[k]
                                   for i in range(5) for j in range(i, 5) for k in range(j, 5))
    pop = POP(f, ineqs=[1 - x[0]**2 - x[1]**2, 2 - x[2]], eqs=[x[3] * x[4] - 1])
    for sparsity in ("dense", "cs", "cs+ts"):
        rel = pop.relax(order=2, sparsity=sparsity)
        before = estimate_blocks(pop, rel.blocks)
        after = estimate_data(rel)
        assert before.largest == after.largest == max(rel.data.sizes)
        assert before.entries == after.entries == sum(k * (k + 1) // 2 for k in rel.data.sizes)
        assert before.moments >= after.moments == rel.data.nmoments  # an upper bound before
        assert before.nnz >= rel.data.stacked.nnz
        assert not before.exact and after.exact


def test_solver_costs_grow_with_the_blocks():
    # Clarabel's dense KKT block of a PSD cone: 8 t^2 bytes, t = k(k+1)/2 (certain)
    nbytes, _ = solver_cost("clarabel", [2001], 1, 0)
    assert nbytes >= 8 * (2001 * 2002 // 2) ** 2
    # CVXOPT's dense Schur complement over N free variables: 8 N^2 / 2 bytes (certain)
    assert solver_cost("cvxopt", [10], 10**5, 0)[0] >= 4 * 10**10
    assert solver_cost("cvxopt", [400], 1, 0)[1] > solver_cost("cvxopt", [200], 1, 0)[1]


def test_hopeless_relaxation_is_refused_before_it_is_built(monkeypatch):
    """(x_1+...+x_300)(y_1+...+y_300): one 601 x 601 block, estimated at tens of seconds for
    CVXOPT and terabytes for Clarabel; with 2 s allowed, nothing is assembled."""
    pop = product_pop(300)
    monkeypatch.setattr(relaxation_module, "assemble", _no_work)
    res = pop.solve(time_limit=2.0)
    assert res.status == "time_limit" and res.bound is None
    assert "not started" in res.message and "601 x 601" in res.message
    assert "time limit" in res.message and "sparser pattern" in res.message


def test_order_auto_is_refused_too(monkeypatch):
    monkeypatch.setattr(relaxation_module, "assemble", _no_work)
    res = product_pop(300).solve(order="auto", time_limit=2.0)
    assert res.status == "time_limit" and "not started" in res.message


def test_built_relaxation_is_refused_before_the_solver(monkeypatch):
    rel = product_pop(300).relax(order=1, sparsity="dense")
    monkeypatch.setattr(registry, "solve_sdp", _no_work)
    res = rel.solve(time_limit=2.0)
    assert res.status == "time_limit" and res.bound is None
    assert "before solving" in res.message and res.solver == "cvxopt"


def test_a_relaxation_that_fits_still_solves():
    x = sympy.Symbol("x")
    res = POP(x**4 - 3 * x**2 + x).solve(order=2, time_limit=30)
    assert res.status == "optimal" and res.bound == pytest.approx(-3.513905, abs=1e-5)


def test_an_unmodelled_solver_is_never_refused_for_time():
    pop = product_pop(3)
    est = estimate_data(pop.relax(order=1, sparsity="dense"), solver="mosek")
    assert est.solver_seconds is None


def test_memory_refusal_names_the_size(monkeypatch):
    monkeypatch.setattr(relaxation_module, "assemble", _no_work)
    x = sympy.symbols("x0:12")
    pop = POP(sum(v**4 for v in x) + x[0] * x[1] * x[2])
    with MemoryLimit("1 MiB"):
        with pytest.raises(RelaxationError, match="memory limit"):
            pop.solve(order=3, sparsity="dense")


def test_refuse_factor_leaves_room():
    # a relaxation estimated just under REFUSE_FACTOR times the limit runs (the model is
    # right to a factor of a few): the rule refuses only beyond it
    pop = product_pop(100)
    est = estimate_blocks(pop, dense_structure(pop, 1))
    from polylip.solve.estimate import too_slow
    assert too_slow(est, 1.01 * est.seconds / REFUSE_FACTOR) is None
    assert too_slow(est, 0.99 * est.seconds / REFUSE_FACTOR) is not None


def test_assembly_estimate_counts_the_row_width():
    """An index row holds one entry per degree: x^1000 at order 500 assembles 125,751
    products of width 1,000, measured 4.0 s of CPU (10 s wall at load 10); the estimate
    charged 2.5e-6 s per product whatever the width (0.31 s), so a time limit let it start
    and the build alone overran it (polylip solve with --time-limit 10: 12.6 s)."""
    x, = variables("x")
    pop = POP(x**1000 + 1)
    est = estimate_blocks(pop, dense_structure(pop, 500))
    assert est.build_seconds >= 2.0
    narrow = POP(sum(v**2 for v in variables("a b c d e f g h")))
    est_narrow = estimate_blocks(narrow, dense_structure(narrow, 4))
    assert est_narrow.build_seconds <= 2 * 2.5e-6 * est_narrow.nnz  # unchanged at small widths


def test_memory_is_checked_before_time_when_solving():
    """A relaxation no solver can fit is a memory refusal (RelaxationError naming the memory
    limit), not a "time_limit" status whose figure was memory (QA round 4: Clarabel's
    113 GiB for (x+y)^60 + 1); with solver "auto" a solver that fits is taken instead."""
    from polylip.solve.estimate import solver_that_fits
    x, y = variables("x y")
    relaxation = POP((x + y)**10 + 1).relax(order=5)
    est = estimate_data(relaxation, "clarabel", "moment")
    assert solver_that_fits(est, "clarabel") == "clarabel"
    with MemoryLimit(est.solver_bytes // 2):
        with pytest.raises(RelaxationError, match="memory limit.*method='lp'"):
            relaxation.solve(solver="clarabel", side="moment", time_limit=30)
    auto = estimate_data(relaxation, "auto", "auto")
    other = {k.split("/")[0]: c[2] for k, c in auto.per_solver.items() if c[0] == auto.side}
    assert len(other) == 2
    (small, low), (big, high) = sorted(other.items(), key=lambda kv: kv[1])
    assert low < high
    # as if the registry had picked the larger one
    picked = dataclasses.replace(auto, solver=big, solver_bytes=high)
    with MemoryLimit((low + high) // 2):
        assert solver_that_fits(picked, "auto") == small
        with pytest.raises(RelaxationError, match="memory limit"):
            solver_that_fits(picked, big)


def test_auto_order_keeps_the_last_answer_when_the_next_order_does_not_fit_memory():
    """order='auto' past an order whose memory estimate does not fit: the last order's answer
    stands, and the message says which order was refused and why (POP QA round 5). The
    Caprasse polynomial on its box (linear constraints): order 2 is unbounded (the top-degree
    moments are free), order 3 would certify -3.1800967."""
    from polylip.model.literature import LITERATURE
    from polylip.solve.relaxation import Relaxation

    pop = LITERATURE["bernstein_caprasse"].build()
    need = {k: Relaxation.plan(pop, k, "auto", "auto")[1].bytes for k in (2, 3)}
    assert need[2] < need[3]
    with MemoryLimit(int((need[2] * need[3]) ** 0.5)):
        res = pop.solve(order="auto", time_limit=30)
    assert res.order == 2 and res.status == "unbounded" and not res.certified, res.message
    assert "order 3 refused" in res.message and "memory limit" in res.message, res.message

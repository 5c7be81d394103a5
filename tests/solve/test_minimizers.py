"""Minimizers from solved relaxations (polylip.solve.minimizers): Henrion-Lasserre extraction
when the moment matrix is flat (dense and per clique), rounding of binary/spin problems, local
polishing; every returned minimizer is feasible and attains the bound."""

import itertools
import json

import numpy as np
import pytest
import sympy

from polylip import POP
from polylip.poly import monomials as mono
from polylip.solve import minimizers as mz

x, y = sympy.symbols("x y")


def _check(pop, res, count=None, certified=True):
    """Every minimizer feasible and at the bound; the candidate closes the gap (to 1e-6
    relative when ``certified``, else to the bound's accuracy)."""
    assert res.status == "optimal"
    tol = max(res.accuracy, 1e-6 * max(1.0, abs(res.bound)))
    for m in res.minimizers:
        point = np.array([m[v] for v in pop.variables])
        assert pop.is_feasible(point)
        assert abs(pop.evaluate(point) - res.bound) <= tol
    if count is not None:
        assert len(res.minimizers) == count
    assert res.gap is not None and res.gap <= tol
    # a global claim needs the certified bound itself within 1e-6 of the candidate
    assert res.is_global or not certified or res.gap > 1e-6 * max(1.0, abs(res.bound))
    assert not res.is_global or res.gap <= 1e-6 * max(1.0, abs(res.bound))
    assert res.candidate in res.minimizers or not res.minimizers


def _points(res, pop):
    return np.array(sorted(tuple(round(m[v], 5) for v in pop.variables) for m in res.minimizers))


def _atoms(pop, order, sparsity="dense", solver="clarabel"):
    r = pop.relax(order=order, sparsity=sparsity)
    out = r.solve_detailed(solver=solver)
    return mz.extracted_points(r, r.moment_vector(out.lmi, out.raw), np.zeros(pop.nvars))


@pytest.mark.parametrize("solver", ["clarabel", "cvxopt"])
def test_two_minimizers_are_extracted(solver):
    pop = POP((x**2 - 1)**2 + y**2)
    res = pop.solve(order=3, solver=solver)   # rank M_2 = rank M_1 = 2: flat
    _check(pop, res, 2)
    assert np.allclose(_points(res, pop), [[-1, 0], [1, 0]], atol=1e-5)
    # order 2 is not flat (the moment of y^4 is free), but polishing finds one minimizer and
    # the sign symmetry x -> -x its image
    low = pop.solve(order=2, solver=solver)
    _check(pop, low, 2)
    assert np.allclose(_points(low, pop), [[-1, 0], [1, 0]], atol=1e-5)


@pytest.mark.parametrize("solver", ["clarabel", "cvxopt"])
def test_four_minimizers_are_extracted(solver):
    pop = POP((x**2 - 1)**2 + (y**2 - 1)**2)
    res = pop.solve(order=4, solver=solver)
    _check(pop, res, 4)
    assert np.allclose(_points(res, pop), [[-1, -1], [-1, 1], [1, -1], [1, 1]], atol=1e-5)
    assert "minimizers: 4" in str(res) and len(json.loads(res.to_json())["minimizers"]) == 4


@pytest.mark.parametrize("order", [1, 2, 3])
def test_circle_of_minimizers_gives_no_wrong_point(order):
    """min -x^2 - y^2 on the disk: the optimal measure is on the whole circle, the moment
    matrix is never flat, so nothing is extracted; polishing gives points on the circle."""
    pop = POP(-x**2 - y**2, ineqs=[1 - x**2 - y**2])
    assert _atoms(pop, order).shape[0] == 0
    res = pop.solve(order=order)
    _check(pop, res)
    for m in res.minimizers:
        assert m["x"]**2 + m["y"]**2 == pytest.approx(1.0, abs=1e-6)


def _maxcut(edges, n):
    s = sympy.symbols(f"s0:{n}")
    pop = POP(sum((1 - s[i] * s[j]) / 2 for i, j in edges), sense="max", spin=s)
    best = max(sum((1 - a[i] * a[j]) / 2 for i, j in edges)
               for a in itertools.product([-1, 1], repeat=n))
    return pop, best


@pytest.mark.parametrize("name, edges, n", [
    ("C5", [(i, (i + 1) % 5) for i in range(5)], 5),
    ("K4", list(itertools.combinations(range(4), 2)), 4),
    ("K5", list(itertools.combinations(range(5), 2)), 5),
])
@pytest.mark.parametrize("order", [1, 2])
def test_maxcut_returns_an_optimal_cut(name, edges, n, order):
    pop, best = _maxcut(edges, n)
    res = pop.solve(order=order)
    assert res.status == "optimal" and res.bound >= best - 1e-6
    cut = np.array([res.candidate[v] for v in pop.variables])
    assert set(np.abs(cut).tolist()) == {1.0}
    assert res.candidate_value == pytest.approx(best)    # the brute-force optimum
    if abs(res.bound - best) <= 1e-6 * best:             # exact relaxation: C5 at 2, K4
        _check(pop, res)
        assert len(res.minimizers) >= 2                   # a cut and its complement at least
    else:                                                 # K5 (6.25 vs 6), C5 at order 1
        assert not res.is_global and res.minimizers == ()
    if name == "K4":
        assert len(res.minimizers) == 6                    # every balanced cut of K4


def test_binary_problem_rounds_and_extracts():
    b = sympy.symbols("b0:4")
    pop = POP(-sum(b) + 3 * b[0] * b[1] + 3 * b[2] * b[3], ineqs=[2.5 - sum(b)], binary=b)
    values = {a: pop.evaluate(np.array(a, float)) for a in itertools.product([0, 1], repeat=4)
              if pop.is_feasible(np.array(a, float))}
    best = min(values.values())
    optimal = sorted(a for a, v in values.items() if v == best)
    low = pop.solve(order=1)                              # not exact: rounding gives the cut
    assert low.bound < best - 1e-3 and low.candidate_value == pytest.approx(best)
    res = pop.solve(order=2)
    _check(pop, res, len(optimal))
    assert sorted(tuple(int(round(m[v])) for v in pop.variables) for m in res.minimizers) == optimal


def test_correlative_sparsity_joins_clique_atoms():
    """Chain: sum (x_i^2 - 1)^2 + (x_i - x_{i+1})^2, minimizers all +1 and all -1. Every clique
    {x_i, x_{i+1}} has the atoms (1, 1), (-1, -1); joined on the shared variables, two points."""
    xs = sympy.symbols("x0:6")
    pop = POP(sum((v**2 - 1)**2 for v in xs) + sum((xs[i] - xs[i + 1])**2 for i in range(5)))
    atoms = _atoms(pop, 2, "cs")
    assert np.allclose(np.sort(atoms[:, 0]), [-1, 1], atol=1e-3)
    res = pop.solve(order=2, sparsity="cs")
    assert res.sparsity == "cs"
    _check(pop, res, 2)
    assert np.allclose(_points(res, pop), [[-1] * 6, [1] * 6], atol=1e-5)


def test_term_sparsity_blocks_are_not_extracted():
    pop = POP((x**2 - 1)**2 + (y**2 - 1)**2 + x * y)
    assert _atoms(pop, 2, "ts").shape[0] == 0
    res = pop.solve(order=2, sparsity="ts")
    assert res.status == "optimal"
    for m in res.minimizers:
        assert pop.evaluate(np.array([m["x"], m["y"]])) == pytest.approx(res.bound, abs=1e-5)


def test_scaled_problem_maps_minimizers_back():
    pop = POP((x**2 - 100**2)**2, ineqs=[200 - x, x + 200])   # solved in scaled variables
    res = pop.solve(order=3)
    assert "scaled variables" in res.message
    _check(pop, res, 2, certified=False)   # accuracy ~1e-8 x objective scale 1e8
    assert np.allclose(_points(res, pop), [[-100], [100]], atol=1e-4)


def test_extract_atoms_of_a_known_measure():
    rng = np.random.default_rng(1)
    pts = rng.uniform(-2, 2, size=(3, 2))
    basis = mono.basis([0, 1], 2)
    ext = np.hstack([np.zeros((3, 1)), pts])
    B = np.ones((basis.shape[0], 3))          # b(x_l) for every basis monomial b
    for j, row in enumerate(basis):
        for i in row[row != mono.PAD]:
            B[j] *= ext[:, i + 1]
    M = B @ np.diag([0.2, 0.3, 0.5]) @ B.T
    got = mz.extract_atoms(M, basis, [0, 1])
    assert np.allclose(got[np.lexsort(got.T[::-1])], pts[np.lexsort(pts.T[::-1])], atol=1e-8)
    # a measure with more atoms than M_1 has rows is not flat at order 2
    pts = rng.uniform(-2, 2, size=(6, 2))
    B = np.array([np.prod([[1, *p][i + 1] for i in row[row != mono.PAD]]) for row in basis
                  for p in pts]).reshape(basis.shape[0], 6)
    assert mz.extract_atoms(B @ B.T / 6, basis, [0, 1]) is None


def test_large_blocks_skip_extraction_and_failures_mean_no_minimizers(monkeypatch):
    pop = POP((x**2 - 1)**2 + y**2)
    monkeypatch.setattr(mz, "MAX_BLOCK", 5)
    assert _atoms(pop, 3).shape[0] == 0
    res = pop.solve(order=3)                       # polishing still closes the gap,
    _check(pop, res, 2)                            # and x -> -x gives the other minimizer

    def boom(*args, **kwargs):
        raise RuntimeError("broken")

    monkeypatch.setattr(mz, "extracted_points", boom)
    res = pop.solve(order=3)
    assert res.status == "optimal" and res.minimizers == ()
    assert res.candidate == {"x": pytest.approx(0, abs=1e-6), "y": pytest.approx(0, abs=1e-6)}


def test_attains():
    assert mz.attains(-1.0 - 1e-7, -1.0)
    assert not mz.attains(-0.99, -1.0)
    assert mz.attains(-0.99, -1.0, accuracy=0.02)


@pytest.mark.parametrize("solver", ["clarabel", "cvxopt"])
def test_no_minimizers_without_a_proven_bound(solver):
    """min x is unbounded: Clarabel's moment side says "Solved" at about -1 / (4 tol)
    (its SOS side is weakly infeasible), and the point x = bound attains that number. A
    feasible point meeting a bound that is not proven proves nothing: no minimizers, as no
    is_global (was: "minimizers: 1 feasible point(s) attaining the bound"; found by QA of
    degenerate POPs)."""
    res = POP(x).solve(order=1, solver=solver)
    # now "unbounded", proven by the ray x = -t (solve/unbounded.py): no bound at all
    assert res.status == "unbounded" and res.bound is None
    assert not res.is_global and res.minimizers == ()


def test_sign_symmetric_images_of_a_minimizer_are_minimizers():
    """A POP unchanged by x -> -x (every term of even degree) has -x* as a minimizer with x*.
    Under correlative sparsity the Petersen max-cut's clique blocks are not flat at order 2 and
    the full order-1 moment matrix is missing (no hyperplane rounding): one cut came back, not
    its complement (found by the literature suite, QA round 3)."""
    from polylip.model.literature import LITERATURE

    pop = LITERATURE["maxcut_petersen"].build()
    res = pop.solve(order=2, sparsity="cs")
    assert res.sparsity == "cs" and res.is_global
    cuts = {tuple(m[v] for v in pop.variables) for m in res.minimizers}
    assert len(cuts) >= 2 and all(tuple(-c for c in cut) in cuts for cut in cuts)
    _check(pop, res)


def test_sign_symmetries():
    a, b, c = sympy.symbols("a b c")
    # flipping (x, y) together, a alone, both; never b (b^3) or the binary c
    pop = POP(x**2 * y**2 + x * y * a**2 + b**3 + c, ineqs=[1 - a**2 - b**2], binary=[c])
    got = {tuple(g) for g in mz.sign_symmetries(pop)}
    names = pop.variables
    want = set()
    for flip in itertools.product([1, -1], repeat=len(names)):
        d = dict(zip(names, flip))
        if d["c"] == 1 and d["b"] == 1 and d["x"] * d["y"] == 1:
            want.add(flip)
    assert got == want


def test_the_list_of_minimizers_is_capped():
    """10 independent spin pairs have 2^10 global minimizers, and the sign images of each
    found point made 1,024 of them, deduplicated pairwise: 132 s at order 1 (QA round 3, from
    the sign symmetries added the same day). At most MAX_POINTS are listed."""
    s = sympy.symbols("s0:20")
    pop = POP(sum(s[2 * k] * s[2 * k + 1] for k in range(10)), spin=s)
    res = pop.solve(order=1, sparsity="dense")
    assert res.is_global and 2 <= len(res.minimizers) <= mz.MAX_POINTS
    _check(pop, res)


def test_a_point_sent_far_off_scores_inf_without_a_warning():
    """SLSQP can send a start to 1e200; its value overflowed with numpy's RuntimeWarning on
    stderr (quartic on the sphere at order 2, through the recentring's polish; QA round 3)."""
    import warnings

    pop = POP(-x**4 - y**4, eqs=[x**2 + y**2 - 1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isinf(mz._score(pop, np.array([[1e200, 1e200]]), 1e-6)).all()

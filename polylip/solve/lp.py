"""Solving the Krivine / Handelman LP hierarchy: :class:`LPRelaxation` hands the LP built by
:mod:`polylip.relax.krivine` to a backend (chosen by :mod:`polylip.backends.registry`), checks
the certificate and returns a :class:`~polylip.solve.result.Result`.

After solving, the certificate is checked: the residual ``f - theta - sum lambda p`` (with
``lambda`` clipped at 0) is bounded on the polytope's bounding box and subtracted from
``theta``, so the reported bound holds even with solver round-off; a residual above the
tolerance makes the status "inaccurate" and no bound is reported.

Large LPs. ``solve(strategy="colgen")`` solves the same LP by delayed column generation
(:mod:`polylip.solve.lp_colgen`); ``strategy="direct"`` solves the whole LP. "auto" stays direct
(see :data:`COLGEN_MIN_PRODUCTS`).

Examples
--------
>>> import sympy
>>> from polylip import POP
>>> x, y = sympy.symbols("x y")
>>> pop = POP(x * y, ineqs=[x + 1, 1 - x, y + 1, 1 - y])
>>> round(LPRelaxation.build(pop, degree=2).solve().bound, 6)
-1.0
"""

from __future__ import annotations

import logging

import numpy as np

from polylip.backends import registry
from polylip.errors import SolverError
from polylip.poly import monomials as mono
from polylip.relax.krivine import KrivineLP, LPProblem  # noqa: F401 (re-exported)
from polylip.relax.polytope import Polytope, polytope_of  # noqa: F401 (re-exported)
from polylip.solve import lp_colgen
from polylip.solve.result import Result
from polylip.sparsity.krivine import LPSparsity, LPStructure  # noqa: F401 (re-exported)

log = logging.getLogger(__name__)

#: A certificate is accepted when the residual of the coefficient matching, bounded on the
#: polytope's bounding box, is at most RESIDUAL_TOL * max(1, |theta|); that bound is then
#: subtracted from theta (so the reported bound is safe). Multipliers below -NEG_TOL make the
#: solution "inaccurate" too (they are clipped at 0 and their products join the residual).
RESIDUAL_TOL = 1e-6
NEG_TOL = 1e-7
#: A candidate point (first-order pseudo-moments) is feasible when every constraint holds to
#: FEAS_TOL; the bound is called global when the candidate's value matches it to GAP_TOL
#: (relative to max(1, |bound|)).
FEAS_TOL = 1e-6
GAP_TOL = 1e-6

#: strategy="auto": solve by delayed column generation (:mod:`polylip.solve.lp_colgen`) when the
#: LP has more than this many products (columns), the whole LP at once otherwise; None: never.
#: Measured (benchmarks/bench_lp_certdnn.py --strategy, 2 cores): on the LiPopt-4 LPs column
#: generation is SLOWER than the direct Clarabel solve (width 20 sparsity 16: 66 s vs 22 s;
#: width 40 sparsity 20: not converged in 600 s vs 283-488 s), because the cost of an
#: interior-point solve is the fill of its factorization, which comes from the rows (monomials)
#: coupled by the columns, and an optimal basis touches almost every row. So "auto" stays direct.
COLGEN_MIN_PRODUCTS = None


class LPRelaxation(KrivineLP):
    """The degree-``k`` Krivine/Handelman LP relaxation of a POP on a polytope, ready to solve.

    Build it with :meth:`build` (or ``pop.solve(method="lp", degree=k)``); inspect
    :attr:`sizes` and :attr:`structure` before solving; call :meth:`solve`. The data (products,
    coefficient-matching matrix, target) are those of :class:`~polylip.relax.krivine.KrivineLP`.

    Examples
    --------
    >>> import sympy
    >>> from polylip import POP
    >>> x = sympy.Symbol("x")
    >>> relaxation = LPRelaxation.build(POP(x - x**2, ineqs=[x, 1 - x], sense="max"), degree=2)
    >>> relaxation.sizes["products"]
    3
    >>> round(relaxation.solve(solver="highs").bound, 6)  # the maximum is 0.25, inside the box
    0.5
    """

    # ------------------------------------------------------------------ solving
    def choose_solver(self, solver: str) -> str:
        """The backend ``solver`` names for this LP (see :mod:`polylip.backends.registry`)."""
        return registry.choose_lp_solver(self.matrix.nnz, solver)

    def choose_strategy(self, strategy: str) -> str:
        if strategy not in ("auto", "direct", "colgen"):
            raise SolverError(f"strategy must be 'auto', 'direct' or 'colgen', not {strategy!r}")
        if strategy != "auto":
            return strategy
        if COLGEN_MIN_PRODUCTS is not None and self.nproducts > COLGEN_MIN_PRODUCTS:
            return "colgen"
        return "direct"

    def solve(self, solver: str = "auto", tol: float | None = None, max_iters: int | None = None,
              verbose: bool = False, time_limit: float | None = None,
              strategy: str = "auto") -> Result:
        """Solve the LP and return a :class:`~polylip.solve.result.Result` (``method="lp"``).

        Parameters
        ----------
        solver : str
            "auto" (HiGHS for small LPs, Clarabel for large ones: :data:`polylip.backends.registry.AUTO_HIGHS_MAX_NNZ`),
            "highs" (``scipy.optimize.linprog``; "highs-ds", "highs-ipm" pick its method),
            "clarabel", or a PICOS LP solver name ("cvxopt", "glpk", "gurobi", "mosek", ...).
        tol, max_iters, verbose, time_limit : solver settings, translated by each backend.
        strategy : str
            "auto" (column generation above :data:`COLGEN_MIN_PRODUCTS` products, the whole LP
            below; currently always direct, see there), "direct" (the whole LP at once) or "colgen" (delayed column generation,
            :mod:`polylip.solve.lp_colgen`: same LP, same bound up to the pricing tolerance;
            "solver" then names the solver of the restricted master LPs, "auto" choosing by
            their size; max_iters caps the column-generation rounds).
        """
        if not isinstance(solver, str):
            raise SolverError(f"solver must be a name such as 'auto', 'highs' or 'cvxopt', not {solver!r}")
        if self.choose_strategy(strategy) == "colgen":
            raw = lp_colgen.solve_colgen(self, solver=solver.lower(), tol=tol, verbose=verbose,
                                         time_limit=time_limit,
                                         max_iterations=max_iters or lp_colgen.MAX_ITERATIONS)
            return self._result(None, raw)
        lp = self.to_lp()
        raw = registry.solve_lp(lp, solver, tol=tol, max_iters=max_iters, verbose=verbose,
                                time_limit=time_limit)
        return self._result(lp, raw)

    def _result(self, lp: LPProblem, raw) -> Result:
        pop = self.pop
        common = dict(order=None, method="lp", degree=self.degree, solver=raw.solver,
                      sense=pop.sense, side=None, sparsity=self.sparsity.kind,
                      build_seconds=self.build_seconds, solve_seconds=raw.seconds, sizes=self.sizes)
        message = raw.message or raw.raw_status
        status = raw.status
        if status != "optimal" or raw.x is None:
            if status == "optimal":
                status, message = "failed", "the solver claimed optimality but returned no solution"
            return Result(status=status, bound=None, message=message, **common)
        theta = float(raw.x[0])
        lam = raw.x[1:]
        neg = float(-lam.min(initial=0.0))
        slack = self.residual_bound(theta, lam)
        scale = max(1.0, abs(theta))
        if neg > NEG_TOL * scale or slack > RESIDUAL_TOL * scale:
            return Result(status="inaccurate", bound=None,
                          message=(f"certificate check failed: residual bound {slack:.3g} on the "
                                   f"polytope, most negative multiplier {-neg:.3g} ({message})"),
                          **common)
        safe = theta - slack
        bound = safe if pop.sense == "min" else -safe
        candidate = cand_value = None
        if raw.eq_duals is not None:
            point = self._candidate(raw.eq_duals)
            if point is not None:
                candidate = dict(zip(pop.variables, point.tolist()))
                if pop.is_feasible(point, tol=FEAS_TOL):
                    cand_value = float(pop.evaluate(point))
        is_global = cand_value is not None and abs(cand_value - bound) <= GAP_TOL * max(1.0, abs(bound))
        return Result(status="optimal", bound=float(bound), candidate=candidate,
                      candidate_value=cand_value, is_global=bool(is_global),
                      message=message + f"; certificate residual bound {slack:.3g}", **common)

    def residual_bound(self, theta: float, lam: np.ndarray) -> float:
        """An upper bound, over the polytope's bounding box, of ``|f - theta - sum lambda_p p|``
        with the multipliers clipped at 0: what the certificate misses by."""
        lam = np.maximum(np.asarray(lam, dtype=float), 0.0)
        r = self.target - self.matrix @ lam
        r[0] -= theta
        P = self.polytope
        mag = np.append(np.nan_to_num(np.maximum(np.abs(P.lower), np.abs(P.upper)), nan=0.0), 1.0)
        mono_max = mag[self.monomials].prod(axis=1) if self.monomials.shape[1] else np.ones(r.size)
        return float(np.abs(r) @ mono_max)

    def _candidate(self, duals: np.ndarray) -> np.ndarray | None:
        """First-order pseudo-moments (from the equality duals) as a point, variables without a
        degree-one row at the middle of their range."""
        L = -np.asarray(duals, dtype=float)
        if L.size != self.matrix.shape[0] or abs(L[0]) < 1e-9:
            return None
        L = L / L[0]
        P = self.polytope
        point = np.nan_to_num((P.lower + P.upper) / 2.0, nan=0.0)
        deg = mono.degrees(self.monomials)
        one = np.flatnonzero(deg == 1)
        point[self.monomials[one, 0]] = L[one]
        return point

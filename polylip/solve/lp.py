"""Solving the Krivine / Handelman LP hierarchy: :class:`LPRelaxation` hands the LP built by
:mod:`polylip.relax.krivine` to a backend (chosen by :mod:`polylip.backends.registry`), checks
the certificate and returns a :class:`~polylip.solve.result.Result`.

After solving, the certificate is checked (:meth:`LPRelaxation.certify`): with the multipliers
clipped at 0, the residual ``f - theta - sum lambda p`` is computed in floating point with a
rigorous bound on its rounding error, its minimum over the polytope's bounding box is bounded
below term by term (each monomial by its range on the box), and what it misses is subtracted
from ``theta``, rounded down. The result is a valid bound whatever the solver's accuracy.

- Interior-point and simplex solvers (every solver but PDLP): a residual bound above
  :data:`RESIDUAL_TOL` (or a multiplier below ``-NEG_TOL``) makes the status "inaccurate"; the
  certified bound ``theta - slack`` of that point is still reported when it is finite (valid,
  not tight: ``accuracy`` is the slack). Random polytopes (a box and one linear cut, run QB1
  of benchmarks/RESULTS.md, degree d + 1 and d + 3): 8 of 60 "Solved" points missed their
  certificates by 4e-6..4e-4, Clarabel's and HiGHS's alike (solving again with the other
  solver was measured on the same problems and not kept); each now has a bound.
- First-order solvers (``solver="pdlp"``, :mod:`polylip.backends.highspy_lp`, and
  ``"pdhg"`` / ``"pdhg-single"``, :mod:`polylip.backends.pdhg_lp`; accurate to 1e-7..1e-5): the certified bound ``theta - slack`` is always reported when it is finite, with
  the solver's numerical value beside it (``numerical_bound``, and in ``message``) and their
  distance as ``accuracy``. A solve stopped by the time or iteration limit keeps status
  "inaccurate" but still carries the certified bound of its last point.

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

import dataclasses
import logging
from fractions import Fraction

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

#: Solvers whose points are first-order accurate: their certified bound is reported whatever the
#: residual (see the module docstring); through the registry these names reach
#: :mod:`polylip.backends.highspy_lp` ("pdlp" and "cupdlp": cuPDLP-C; "hipdlp": HiGHS's own
#: PDLP) and :mod:`polylip.backends.pdhg_lp` ("pdhg", "pdhg-single": polylip's own).
FIRST_ORDER_SOLVERS = registry.FIRST_ORDER_LP_SOLVERS
#: :meth:`KrivineLP.build <polylip.relax.krivine.KrivineLP.build>` drops matrix entries with
#: ``|a| <= DROPPED_REL * max |A|``; the certificate check accounts for them.
DROPPED_REL = 1e-14
_U = 2.0 ** -53

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
        return registry.choose_lp_solver(self.matrix.nnz + 1, solver, rows=self.matrix.shape[0],
                                         cliques=len(self.sparsity.cliques))

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
            "auto" (HiGHS for small LPs, a first-order PDLP for large ones with many rows per
            clique, Clarabel otherwise: :func:`polylip.backends.registry.choose_lp_solver`),
            "highs" (``scipy.optimize.linprog``; "highs-ds", "highs-ipm" pick its method),
            "clarabel", "pdhg" / "pdhg-single" (polylip's own PDLP, :mod:`polylip.backends.pdhg_lp`:
            the fast path for the largest LPs, "auto"'s choice for them), "pdlp" (HiGHS's
            cuPDLP-C, :mod:`polylip.backends.highspy_lp`; "hipdlp" selects HiGHS's own PDLP), or
            a PICOS LP solver name ("cvxopt", "glpk", "gurobi", "mosek", ...).
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
                                time_limit=time_limit, cliques=len(self.sparsity.cliques))
        return self._result(lp, raw)

    def _result(self, lp: LPProblem, raw, first_order: bool | None = None) -> Result:
        """The :class:`Result` of a backend's solution, through the certificate check.

        ``first_order`` (default: whether ``raw.solver`` is in :data:`FIRST_ORDER_SOLVERS`)
        selects the rule of the module docstring: a first-order point always gets its certified
        bound (when finite), also when the solver stopped at a limit ("inaccurate"); any other
        solver's point is refused when its residual is above :data:`RESIDUAL_TOL`.
        """
        pop = self.pop
        if first_order is None:
            first_order = str(raw.solver).lower() in FIRST_ORDER_SOLVERS
        common = dict(order=None, method="lp", degree=self.degree, solver=raw.solver,
                      sense=pop.sense, side=None, sparsity=self.sparsity.kind,
                      build_seconds=self.build_seconds, solve_seconds=raw.seconds, sizes=self.sizes)
        message = raw.message or raw.raw_status
        status = raw.status
        usable = status == "optimal" or (first_order and status == "inaccurate")
        if not usable or raw.x is None:
            if status == "optimal":
                status, message = "failed", "the solver claimed optimality but returned no solution"
            if status in ("infeasible", "unbounded"):
                # Never a status of the POP: an empty polytope is refused before the LP is
                # built (relax/polytope.py), and the solver's claim comes with no
                # Farkas ray that is checked here. HiGHS said "infeasible" on [1, 1 + 1e-13]
                # at degree 2 and "Model error" (status 2) on a box of radius 1e-6 at degree 3,
                # both feasible, with certificates that exist (found by QA of degenerate POPs).
                message = (f"the LP solver reported the LP of degree {self.degree} {status} "
                           f"({message}), a claim not checked (no Farkas certificate): no bound; "
                           "try another degree, solver, or method='sos'")
                status = "inaccurate"
            return Result(status=status, bound=None, message=message, **common)
        x = np.asarray(raw.x, dtype=float)
        if x.size != self.nproducts + 1 or not np.isfinite(x).all():
            return Result(status="failed" if status == "optimal" else status, bound=None,
                          message=f"the solver returned an unusable point (size {x.size}, "
                                  f"finite: {bool(np.isfinite(x).all())}) ({message})", **common)
        theta = float(x[0])
        cert = self.certify(theta, x[1:])
        slack, neg = cert["slack"], cert["negative"]
        scale = max(1.0, abs(theta))
        safe = cert["bound"]
        if not first_order and (neg > NEG_TOL * scale or slack > RESIDUAL_TOL * scale):
            why = (f"certificate check failed: residual bound {slack:.3g} on the polytope, most "
                   f"negative multiplier {-neg:.3g} ({message})")
            if not np.isfinite(safe):
                return Result(status="inaccurate", bound=None, message=why, **common)
            # the point is not what the solver said, but theta - slack is still a proof
            bound = safe if pop.sense == "min" else -safe
            numerical = theta if pop.sense == "min" else -theta
            return Result(status="inaccurate", bound=float(bound), certified=True,
                          numerical_bound=float(numerical),
                          accuracy=float(abs(numerical - bound)),
                          message=(f"{why}; the certified bound {bound:.10g} of that point "
                                   f"(the solver's value {numerical:.10g} minus the residual's "
                                   f"bound) is valid, not tight"), **common)
        if not np.isfinite(safe):
            return Result(status="inaccurate", bound=None,
                          message=f"the certificate gives no finite bound ({message})", **common)
        bound = safe if pop.sense == "min" else -safe
        numerical = theta if pop.sense == "min" else -theta
        candidate = cand_value = None
        if raw.eq_duals is not None:
            point = self._candidate(raw.eq_duals)
            if point is not None:
                candidate = dict(zip(pop.variables, point.tolist()))
                if pop.is_feasible(point, tol=FEAS_TOL):
                    cand_value = float(pop.evaluate(point))
        is_global = cand_value is not None and abs(cand_value - bound) <= GAP_TOL * max(1.0, abs(bound))
        extra = {}
        names = {f.name for f in dataclasses.fields(Result)}
        if "certified" in names:
            extra["certified"] = True
        if "numerical_bound" in names:
            extra["numerical_bound"] = float(numerical)
        message = message + f"; certificate residual bound {slack:.3g}"
        accuracy = None
        if first_order:
            apart = abs(numerical - bound)
            gap = None
            if raw.value is not None and raw.dual_value is not None:
                gap = abs(raw.value - raw.dual_value)
            lo, hi = self._monomial_ranges()
            fscale = float(np.abs(self.target) @ np.maximum(np.abs(lo), np.abs(hi)))
            # as Result.accuracy: the larger of the solver's gap and its tolerance times the
            # objective's scale (its coefficients weighted by the monomials' size on the box);
            # PDLP's tolerances are relative to 1 + |primal| + |dual|, hence the 2
            accuracy = apart + max(gap or 0.0, 2.0 * raw.tolerance * (1.0 + abs(bound) + fscale))
            message += (f"; certified bound {bound:.10g}, solver's value {numerical:.10g}, apart by "
                        f"{apart:.3g}" + (f", primal-dual gap {gap:.3g}" if gap is not None else "")
                        + (f", negative multipliers clipped (most negative {-neg:.3g})" if neg > 0 else ""))
            if status != "optimal":
                message += "; the solver stopped before its tolerances: the bound is valid, not tight"
        return Result(status="optimal" if status == "optimal" else "inaccurate", bound=float(bound),
                      candidate=candidate, candidate_value=cand_value, is_global=bool(is_global),
                      accuracy=accuracy, message=message, **common, **extra)

    def residual_bound(self, theta: float, lam: np.ndarray) -> float:
        """What the certificate misses by: a rigorous ``s >= 0`` with
        ``f - theta >= -s`` on the polytope for the identity of ``(theta, max(lam, 0))``
        (see :meth:`certify`), so ``theta - s`` is a valid bound."""
        return self.certify(theta, lam)["slack"]

    def certify(self, theta: float, lam: np.ndarray) -> dict:
        """Check the certificate ``f - theta = sum_p lambda_p p + r`` of any point, rigorously.

        With ``lambda`` clipped at 0 and ``M`` the coefficient-matching matrix, the residual
        ``r = f - theta e_0 - M lambda`` is computed in floating point, and

            f(x) - theta >= sum_m min_box(r_m x^m) - sum_m err_m |x^m|_box
                            - sum_p lambda_p (expansion_p + dropped_p + negative_p)

        on the polytope, where ``min_box(r_m x^m)`` uses the range of the monomial over the
        polytope's bounding box (interval product, widened for rounding), ``err_m`` bounds the
        rounding of ``r_m`` (``gamma_{2(n_m + 2)} (|f_m| + (|M| lambda)_m + |theta| [m = 0])``,
        Higham's dot-product bound, ``n_m`` the entries of row m), ``expansion_p`` bounds the
        rounding of column p's expansion (``gamma_{k + T^k + 2}`` times the product of its
        generators' weighted 1-norms), ``dropped_p`` the entries below
        ``DROPPED_REL * max |M|`` that the build drops, and ``negative_p`` how far the product
        of the generators (as the floats they are, checked exactly with fractions on the box)
        can go below 0. The sum is inflated for its own rounding and subtracted; ``bound`` is
        ``theta - slack`` rounded down. Boxes (including binary and spin variables) are
        certified fully; for a general polytope, the factors' ranges come from HiGHS LPs and
        are taken as exact.

        Returns a dict: ``bound`` (valid lower bound on ``min f`` in the LP's sense, i.e. of
        the negated objective for ``max``), ``slack``, ``negative`` (most negative multiplier,
        as a positive number), ``residual`` (``sum_m |r_m| |x^m|_box``, the old estimate),
        ``rounding`` and ``model`` (the two error terms).
        """
        lam = np.asarray(lam, dtype=float)
        neg = float(-lam.min(initial=0.0))
        lam = np.maximum(lam, 0.0)
        M = self.matrix.tocsr()
        r = self.target - M @ lam
        r[0] -= theta
        lo, hi = self._monomial_ranges()
        mag = np.maximum(np.abs(lo), np.abs(hi))
        miss = np.maximum(-np.minimum(r * lo, r * hi), 0.0)
        absM = M.copy()
        absM.data = np.abs(absM.data)
        size = np.abs(self.target) + absM @ lam
        size[0] += abs(theta)
        del absM
        err = _gamma(2 * (np.diff(M.indptr) + 2)) * size
        rounding = float((err * mag).sum())
        model = float(self._product_errors(M, mag) @ lam)
        total = float(miss.sum()) + rounding + model
        n = r.size + lam.size + 8
        slack = float(np.nextafter(total * (1.0 + 3.0 * (n + 2) * _U), np.inf)) if total > 0 else 0.0
        bound = float(np.nextafter(theta - slack, -np.inf))
        return dict(bound=bound, slack=slack, negative=neg, residual=float(np.abs(r) @ mag),
                    rounding=rounding, model=model)

    def _monomial_ranges(self) -> tuple[np.ndarray, np.ndarray]:
        """Enclosures ``[lo_m, hi_m]`` of every row's monomial over the bounding box."""
        P = self.polytope
        L = np.append(np.nan_to_num(P.lower, nan=0.0), 1.0)  # index -1 (padding): the constant 1
        H = np.append(np.nan_to_num(P.upper, nan=0.0), 1.0)
        rows = self.monomials
        lo = np.ones(rows.shape[0])
        hi = np.ones(rows.shape[0])
        for c in range(rows.shape[1]):
            a, b = L[rows[:, c]], H[rows[:, c]]
            cand = np.stack([lo * a, lo * b, hi * a, hi * b])
            lo, hi = cand.min(axis=0), cand.max(axis=0)
        widen = _gamma(2 * rows.shape[1] + 2)
        return lo - np.abs(lo) * widen, hi + np.abs(hi) * widen

    def _product_errors(self, M, mag: np.ndarray) -> np.ndarray:
        """Per product (column): a bound, over the box, of what its column misses the exact
        product of its generators by (rounding of the expansion, dropped entries), plus how far
        that product can go below 0 (float generators that dip below 0 on the box)."""
        P = self.polytope
        gv, gc = P.generators()
        vmag = np.append(np.nan_to_num(np.maximum(np.abs(P.lower), np.abs(P.upper)), nan=0.0), 1.0)
        G = (np.abs(gc) * vmag[gv]).sum(axis=1)  # weighted 1-norm of each generator
        const = gv.shape[0] - 1
        prods = np.where(self.products < 0, const, self.products)
        k = prods.shape[1]
        terms = gv.shape[1] ** k
        norm = np.ones(prods.shape[0])
        for i in range(k):
            norm *= G[prods[:, i]]
        amax = float(np.abs(M.data).max(initial=0.0))
        out = _gamma(k + terms + 2) * norm + terms * DROPPED_REL * amax * float(mag.max(initial=1.0))
        low, up = _generator_ranges(P, gv, gc)
        e = np.maximum(-low, 0.0)
        if e.any():
            W = np.maximum(up, e)
            negp = np.zeros(prods.shape[0])
            for i in range(k):
                term = e[prods[:, i]].copy()
                for j in range(k):
                    if j != i:
                        term *= W[prods[:, j]]
                negp += term
            out = out + negp
        return out * (1.0 + 8.0 * (k + 2) * _U)

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
        if one.size:  # none for a constant objective with no variable in any row
            point[self.monomials[one, 0]] = L[one]
        return point


def _gamma(n):
    """Higham's ``gamma_n = n u / (1 - n u)`` (``u = 2^-53``), elementwise."""
    n = np.asarray(n, dtype=float)
    return n * _U / (1.0 - n * _U)


def _generator_ranges(polytope, gv: np.ndarray, gc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact (fractions) minimum and maximum over the bounding box of each generator whose
    terms are all on one variable (box factors, their complements, the constant), rounded
    outward to floats; generators of general inequalities get ``[0, 1]`` (their ranges over
    the polytope come from HiGHS and are taken as exact)."""
    lower = np.nan_to_num(polytope.lower, nan=0.0)
    upper = np.nan_to_num(polytope.upper, nan=0.0)
    low = np.zeros(gv.shape[0])
    up = np.ones(gv.shape[0])
    for g in range(gv.shape[0]):
        vs = [int(v) for v, c in zip(gv[g], gc[g]) if v != mono.PAD and c != 0.0]
        if len(set(vs)) > 1:
            continue
        lo_f = hi_f = Fraction(0)
        for v, c in zip(gv[g], gc[g]):
            c = Fraction(float(c))
            if v == mono.PAD:
                lo_f += c
                hi_f += c
            else:
                a, b = c * Fraction(float(lower[v])), c * Fraction(float(upper[v]))
                lo_f += min(a, b)
                hi_f += max(a, b)
        lf, hf = float(lo_f), float(hi_f)
        low[g] = lf if Fraction(lf) <= lo_f else float(np.nextafter(lf, -np.inf))
        up[g] = hf if Fraction(hf) >= hi_f else float(np.nextafter(hf, np.inf))
    return low, up


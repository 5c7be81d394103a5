"""A built moment-SOS relaxation: inspect its size, then solve it with a backend.

Why this module is long: :class:`Relaxation` holds the whole solve policy of one relaxation
(the estimate's refusal before the solver, the side choice, the retries on the other side or at
another tolerance within the time left, reading the solution back into a result); split, each
retry would reach into the others' state.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
import scipy.sparse as sp

from polylip.backends import registry
from polylip.backends.base import BackendSolution
from polylip.errors import RelaxationError, SolverError
from polylip.poly import monomials as mono
from polylip.relax import conic
from polylip.sparsity.blocks import MOMENT, BlockStructure, dense_structure
from polylip.relax.moment import MomentData, assemble, stacked_blocks
from polylip.solve.minimizers import with_minimizers
from polylip.solve.certify import certify_sos
from polylip.solve.estimate import (CostEstimate, estimate_blocks, estimate_data, refuse_if_too_large,
                                    solver_that_fits, too_slow)
from polylip.solve.feasibility import is_feasibility, solve_feasibility
from polylip.solve.infeasibility import confirm_infeasible
from polylip.solve.result import Result
from polylip.sparsity import build_structure
from polylip.sparsity.choose import choose_sparsity
from polylip.sparsity.report import structure_report

log = logging.getLogger(__name__)

#: Tolerances for reading a solution: a candidate point is feasible when every constraint
#: holds to FEAS_TOL, and the bound is called global when the candidate's value matches it to
#: GAP_TOL (relative to max(1, |bound|)). A moment matrix has rank one when its second largest
#: eigenvalue is below RANK_TOL times its largest.
FEAS_TOL = 1e-6
GAP_TOL = 1e-6
RANK_TOL = 1e-6

#: When every side tried ends "inaccurate" and the caller gave no tolerance, the side that
#: came closest is solved once more at this factor times the backend's tolerance (see
#: :meth:`Relaxation._looser`).
LOOSER_TOL_FACTOR = 10.0

#: When a solve is "optimal" but its bound stays numerical (``certified=False``: no
#: certificate could absorb the solver's residual) and the caller gave no tolerance, the side
#: is solved once more at this factor times the backend's tolerance, and the tighter answer is
#: kept when the solver reaches it (see :meth:`Relaxation._tighter`). Measured on chained
#: singular, n = 100 (benchmarks/bench_hard_problems.py), the alternatives: Clarabel settings at
#: the default tolerance (static regularization 1e-9 or 1e-7, equilibration off or 50 passes,
#: iterative refinement to 1e-15, presolve off, faer, step fraction 0.995/0.999) leave the bound
#: at -4.4e-5 .. -1.1e-4 (the stopping test decides it, not the linear algebra); a gap target
#: of 1e-10 for every solve costs 1-3 iterations on every problem and ends Broyden, Rosenbrock
#: and chained Wood "inaccurate" at n = 100 (they stall just past 1e-8); its SOS side stalls
#: ("AlmostSolved") and CVXOPT's dense Schur complement over 19,974 free moments rules it out
#: at n = 1,000; the null directions of its quartic part are not monomials, so dropping basis
#: monomials (facial reduction on the diagonal) finds nothing. Certified bounds never pay for
#: this second solve.
TIGHTER_TOL_FACTOR = 0.01


@dataclass(frozen=True)
class SolveOutcome:
    """What :meth:`Relaxation.solve_detailed` returns: the result, the LMI problem the solver
    received, and the backend's raw solution."""

    result: Result
    lmi: conic.LMIProblem
    raw: BackendSolution


def resolve_structure(pop, order, sparsity) -> BlockStructure:
    """Build the block structure for a sparsity choice ("dense", "cs", "ts", "cs+ts" or a
    pattern object from :mod:`polylip.sparsity`; "auto": :func:`polylip.sparsity.choose.choose_sparsity`;
    a :class:`~polylip.sparsity.blocks.BlockStructure` built by the caller is used as it is)."""
    if isinstance(sparsity, BlockStructure):
        return sparsity
    sparsity = choose_sparsity(pop, sparsity)
    if sparsity is None or (isinstance(sparsity, str) and sparsity == "dense"):
        return dense_structure(pop, order)
    return build_structure(pop, order, sparsity)


def check_time_limit(time_limit) -> float:
    """A time limit in seconds: a positive finite number (else :class:`SolverError`)."""
    try:
        if isinstance(time_limit, (str, bytes)):  # "10" passed the float() test and then failed
            raise TypeError                        # in arithmetic, a TypeError (POP QA round)
        value = float(time_limit)
    except (TypeError, ValueError):
        raise SolverError(f"time_limit must be a number of seconds, not {time_limit!r}") from None
    if isinstance(time_limit, bool) or not np.isfinite(value) or value <= 0:
        raise SolverError(f"time_limit must be a positive finite number of seconds, not {time_limit!r}")
    return value


class Relaxation:
    """The moment-SOS relaxation of a POP at one order with one sparsity pattern.

    Build it with :meth:`POP.relax`; inspect :attr:`sizes`, :attr:`blocks` (the block
    structure) and :attr:`structure` (a readable report) before solving; call :meth:`solve`.

    Examples
    --------
    >>> import sympy
    >>> from polylip import POP
    >>> x = sympy.Symbol("x")
    >>> relaxation = POP(x**4 - 3*x**2 + x).relax(order=2)
    >>> relaxation.sizes["psd_sizes"]
    [3]
    >>> round(relaxation.solve().bound, 4)
    -3.5139
    """

    def __init__(self, pop, blocks: BlockStructure, data: MomentData, build_seconds: float,
                 estimate: CostEstimate | None = None):
        self.pop = pop
        self.blocks = blocks
        self.data = data
        self.build_seconds = build_seconds
        self.estimate = estimate

    @classmethod
    def plan(cls, pop, order=None, sparsity="dense", solver: str = "auto"):
        """``(blocks, estimate)``: the block structure and its :class:`CostEstimate`
        (:mod:`polylip.solve.estimate`), before any moment data is assembled; a
        :class:`~polylip.errors.RelaxationError` naming the sizes when it cannot fit in the
        memory limit."""
        blocks = resolve_structure(pop, order, sparsity)
        estimate = estimate_blocks(pop, blocks, solver)
        log.info("estimated before building: %s", estimate.describe())
        refuse_if_too_large(estimate)
        return blocks, estimate

    @classmethod
    def build(cls, pop, order=None, sparsity="dense", solver: str = "auto") -> "Relaxation":
        """Build the relaxation (its size estimated first and refused past the memory limit:
        :meth:`plan`); ``solver`` only narrows which solvers the estimate considers."""
        t0 = time.perf_counter()
        blocks, estimate = cls.plan(pop, order, sparsity, solver)
        data = assemble(pop, blocks)
        seconds = time.perf_counter() - t0
        log.info("built %s relaxation of order %d: %d moments, %d PSD blocks, %d equality rows in %.3f s",
                 blocks.kind, blocks.order, data.nmoments, len(data.sizes), data.E.shape[0], seconds)
        return cls(pop, blocks, data, seconds, estimate)

    @property
    def structure(self):
        """A readable report of the relaxation's structure (cliques, blocks, sizes, compared
        with the dense relaxation), computed before and without solving."""
        return structure_report(self)

    @property
    def order(self) -> int:
        return self.blocks.order

    @cached_property
    def sizes(self) -> dict:
        """Counts that decide the cost: moments, PSD block sizes, equality rows, non-zeros and
        the number of free variables on each side."""
        return dict(
            nmoments=self.data.nmoments,
            psd_sizes=list(self.data.sizes),
            equality_rows=int(self.data.E.shape[0]),
            nnz=self.data.nnz,
            moment_side_vars=self.data.nmoments - 1,
            sos_side_vars=conic.sos_side_nvars(self.data),
            cliques=len(self.blocks.cliques),
        )

    # ------------------------------------------------------------------ solving
    def to_lmi(self, side: str = "auto") -> conic.LMIProblem:
        """The LMI problem handed to a solver, from the moment or the SOS side."""
        side = conic.choose_side(self.data, side)
        return conic.moment_side(self.data) if side == "moment" else conic.sos_side(self.data)

    def choose_solver(self, solver: str, lmi: conic.LMIProblem) -> str:
        """The backend ``solver`` names for this LMI problem (see :mod:`polylip.backends.registry`)."""
        return registry.choose_sdp_solver(lmi.nvars, lmi.sizes, solver)

    def solve(self, solver: str = "auto", side: str = "auto", tol: float | None = None,
              max_iters: int | None = None, verbose: bool = False,
              time_limit: float | None = None) -> Result:
        """Solve the relaxation.

        Parameters
        ----------
        solver : str
            "auto" (Clarabel for large relaxations, PICOS/CVXOPT otherwise), "clarabel", or a
            PICOS solver name such as "cvxopt" or "mosek".
        side : {"auto", "moment", "sos"}
            Which form the solver receives (see :mod:`polylip.relax.conic`); "auto" takes the
            one with fewer free variables; if that side ends "inaccurate" or "failed", the
            other side is tried.
        tol, max_iters, verbose : solver settings, translated by each backend. With ``tol=None``
            (the backend's default) and every side tried ending "inaccurate", the closest side
            is solved once more at ``LOOSER_TOL_FACTOR`` times the default; the result's
            ``accuracy`` then reflects the looser tolerance. With ``tol=None`` and a first
            answer "optimal" whose bound could not be certified, the same side is solved once
            more at ``TIGHTER_TOL_FACTOR`` times the default (see :meth:`_tighter`). A constant
            objective is a feasibility question, decided first on the moment side
            (:mod:`polylip.solve.feasibility`) when ``side="auto"``.
        time_limit : float, optional
            Seconds for the whole solve, retries included: every backend honours it (see
            :func:`polylip.backends.registry.solve_sdp`), each retry gets the time left, and
            a solve stopped by it ends with status "time_limit" and no bound.
        """
        return self.solve_detailed(solver, side, tol, max_iters, verbose, time_limit).result

    def solve_detailed(self, solver: str = "auto", side: str = "auto", tol: float | None = None,
                       max_iters: int | None = None, verbose: bool = False,
                       time_limit: float | None = None) -> "SolveOutcome":
        """Like :meth:`solve`, but also return the LMI problem handed to the solver and the
        backend's raw solution (for a caller that post-processes the certificate, such as the
        Lipschitz methods' a-posteriori margin)."""
        if not isinstance(solver, str):
            raise SolverError(f"solver must be a name such as 'auto', 'cvxopt' or 'clarabel', not {solver!r}")
        self._deadline = None if time_limit is None else time.perf_counter() + check_time_limit(time_limit)
        # memory before time: a solver that cannot fit is replaced ("auto") or refused by name
        solver = solver_that_fits(estimate_data(self, solver, side), solver)
        refused = self._refused(solver, side)
        if refused is not None:
            return refused
        if side == "auto" and is_feasibility(self.data):
            # A constant objective: the relaxation only decides feasibility (solve/feasibility.py)
            found = solve_feasibility(self, solver.lower(), tol, max_iters, verbose)
            if found is not None:
                lmi, raw, convert = found
                return SolveOutcome(self._result(lmi, raw, convert), lmi, raw)
        outcome = self._solve_side(solver.lower(), side, tol, max_iters, verbose)
        first = outcome.result
        # (a certified bound that a feasible candidate attains is the optimum: no tighter
        # solve can improve it, e.g. the exact faces of solve/certificate_rational.py)
        faced = first.certified and bool(getattr(first.certificate, "exact", ())) and not first.is_global
        if tol is None and first.status == "optimal" and (not first.certified or faced) \
                and not self._room_for(first):
            outcome = replace(outcome, result=replace(first, message=(
                f"{first.message}; not solved again at a tighter tolerance: "
                f"{max(self._time_left(), 0.0):.3g} s left, the solve took {first.solve_seconds:.3g} s")))
            first = outcome.result
        elif tol is None and first.status == "optimal" and (not first.certified or faced):
            # A numerical-only bound is as accurate as the solver's stopping test: tighten it
            # on the same side first (see _tighter); the other side is tried only if that fails.
            # A bound certified only through exact faces (solve/certificate_face.py) is
            # tightened too, as it was when it was numerical only, and the better certified
            # bound kept: generalized Rosenbrock n = 8, cs+ts:chordal, CVXOPT, certified
            # 0.99993 by a face at 1e-8, 0.9999991 without one at 1e-9.
            tighter = self._tighter(solver.lower(), outcome, max_iters, verbose,
                                    why=("certified only through an exact face, "
                                         f"{first.bound:.8g}") if faced else None)
            if tighter.result.status == "optimal" and (not faced or self._better(tighter.result, first)):
                return tighter
            first = replace(first, solve_seconds=first.solve_seconds + tighter.result.solve_seconds)
            outcome = replace(outcome, result=first)
        tried = [outcome]
        if side == "auto" and first.status in ("inaccurate", "failed") and self._time_left() > 0:
            # Interior-point solvers can stall on one side and converge on the other (e.g.
            # Clarabel on generalized Rosenbrock: moment side inaccurate, SOS side optimal).
            other = "sos" if first.side == "moment" else "moment"
            log.info("%s side ended %s; trying the %s side", first.side, first.status, other)
            retry = self._solve_side(solver.lower(), other, tol, max_iters, verbose)
            if retry.result.status == "optimal":
                result = replace(retry.result,
                                 solve_seconds=retry.result.solve_seconds + first.solve_seconds,
                                 message=f"{retry.result.message} (after the {first.side} side "
                                         f"ended {first.status})")
                return SolveOutcome(result, retry.lmi, retry.raw)
            tried.append(retry)
        if side == "auto" and first.status == "optimal" and self._loose(first) and self._room_for(first):
            # The moment side's Gram matrices are the solver's duals, which carry its
            # stationarity error: the certificate built from them can be much looser than the
            # SOS side's (chained Wood n = 1,000 with cs: 0.88 against 0.9995). Try the other
            # side and keep the better certified bound.
            other = "sos" if first.side == "moment" else "moment"
            log.info("the %s side's certificate is loose (%s vs %s); trying the %s side",
                     first.side, first.bound, first.numerical_bound, other)
            retry = self._solve_side(solver.lower(), other, tol, max_iters, verbose)
            if self._better(retry.result, first):
                result = replace(retry.result,
                                 solve_seconds=retry.result.solve_seconds + first.solve_seconds,
                                 message=f"{retry.result.message} (the {first.side} side's "
                                         f"certificate gave {first.bound:.8g})")
                return SolveOutcome(result, retry.lmi, retry.raw)
            return replace(outcome, result=replace(
                first, solve_seconds=first.solve_seconds + retry.result.solve_seconds))
        if tol is None and all(o.result.status == "inaccurate" for o in tried) and self._time_left() > 0:
            looser = self._looser(solver.lower(), tried, max_iters, verbose)
            if looser is not None:
                return looser
        return outcome

    def _refused(self, solver: str, side: str) -> "SolveOutcome | None":
        """A "time_limit" outcome, at once, when the solve's estimate (:func:`estimate_data`)
        exceeds the time left by more than the rule allows (:mod:`polylip.solve.estimate`)."""
        estimate = estimate_data(self, solver, side)
        log.info("estimated before solving: %s", estimate.describe())
        left = self._time_left()
        why = too_slow(estimate, None if not np.isfinite(left) else left)
        if why is None:
            return None
        lmi = conic.LMIProblem(c=np.zeros(0), offset=0.0, G=(), h=(), sizes=(),
                               A=sp.csr_matrix((0, 0)), b=np.zeros(0),
                               side=estimate.side if estimate.side != "either" else "moment")
        raw = BackendSolution("time_limit", estimate.solver, 0.0, raw_status="estimate",
                              message=why)
        result = Result(status="time_limit", bound=None, order=self.order, solver=estimate.solver,
                        sense=self.pop.sense, side=lmi.side, sparsity=self.blocks.kind,
                        build_seconds=self.build_seconds, message=why, sizes=dict(self.sizes))
        return SolveOutcome(result, lmi, raw)

    @staticmethod
    def _loose(res: Result) -> bool:
        """Whether a bound lost much more to certification than the solver's accuracy."""
        if not res.certified:
            return res.numerical_bound is not None  # a certificate may hold on the other side
        if res.numerical_bound is None or res.bound is None:
            return False
        lost = abs(res.numerical_bound - res.bound)
        solver_accuracy = max(0.0, (res.accuracy or 0.0) - lost)  # accuracy includes the loss
        return lost > max(10.0 * solver_accuracy, 1e-6 * max(1.0, abs(res.bound)))

    @staticmethod
    def _better(new: Result, old: Result) -> bool:
        """Whether ``new`` is a better answer than ``old``: certified over not, then tighter."""
        if new.status != "optimal" or new.bound is None:
            return False
        if new.certified != old.certified:
            return new.certified
        if not new.certified:  # two numerical values: neither is a proof, keep the first
            return False
        return new.bound > old.bound if new.sense == "min" else new.bound < old.bound

    def _looser(self, solver, tried, max_iters, verbose) -> "SolveOutcome | None":
        """Retry a stalled solve once at LOOSER_TOL_FACTOR times the backend's tolerance.

        Every side tried ended "inaccurate" (the solver stalled close to, but not within, its
        tolerance; e.g. Clarabel on generalized Rosenbrock n = 10,000 with chordal term
        sparsity, both sides at 1e-8). The side whose primal and dual objectives were closer is
        solved again at the looser tolerance. A bound comes back only if the solver then says
        "solved"; its ``accuracy`` is computed from the looser tolerance, so it says honestly
        how far the bound may be from the relaxation's value.
        """
        def rel_gap(o):
            v, d = o.raw.value, o.raw.dual_value
            if v is None or d is None or not (np.isfinite(v) and np.isfinite(d)):
                return np.inf
            return abs(v - d) / max(1.0, abs(v))

        best = min(tried, key=rel_gap)
        if not np.isfinite(rel_gap(best)) or not best.raw.tolerance:
            return None
        tol = LOOSER_TOL_FACTOR * float(best.raw.tolerance)
        log.info("every side ended inaccurate; solving the %s side again at tolerance %.0e",
                 best.result.side, tol)
        again = self._solve_side(solver, best.result.side, tol, max_iters, verbose)
        if again.result.status != "optimal":
            return None
        spent = sum(o.result.solve_seconds or 0.0 for o in tried)
        result = replace(again.result, solve_seconds=again.result.solve_seconds + spent,
                         message=f"{again.result.message} (at tolerance {tol:.0e}, after "
                                 f"{len(tried)} solve(s) ended inaccurate at the default)")
        return SolveOutcome(result, again.lmi, again.raw)

    def _tighter(self, solver, outcome, max_iters, verbose, why: str | None = None) -> "SolveOutcome":
        """``outcome``'s side solved once more at TIGHTER_TOL_FACTOR times its tolerance.

        The bound came back numerical only: the certify stage could not absorb the solver's
        residual into a certificate, so the bound is exactly as accurate as the solver's
        stopping test. Chained singular is the case in point: its minimizer 0 is degenerate
        (singular Hessian; the quartic part vanishes on a plane, so the SOS side has no
        interior and the optimal Gram matrices are rank-deficient), and a bound within
        Clarabel's default tolerance is 4.8e-5 (n = 100) to 1.2e-4 (n = 1,000) below the
        optimum 0 in the problem's units: it is solved with the objective divided by 1e5
        (solve/scaling.py), so the absolute gap test at 1e-8 is 1e-3 in those units. Its
        iterations keep converging past the default: at 1e-10 the bound is -5.5e-7 / -1.6e-6
        after 4-7 more iterations (a second solve: Clarabel has no warm start). The tighter
        answer counts when the solver says "optimal" at the tighter tolerance (its
        ``accuracy`` is then computed from that tolerance), or when it stops "AlmostSolved" at
        a point whose own residuals and gap meet the first solve's tolerance (:meth:`_meets`;
        the accuracy is then the first tolerance's): under the exact 2^17 objective scale,
        chained singular n = 1,000 ends so at 1e-10 with residuals 1.1e-10 / 4.1e-13 and gap
        4.6e-11, bound -9.3e-7 against -1.33e-4 at the default (measured 2026-12-01).
        """
        first_tol = float(outcome.raw.tolerance or 1e-8)
        tol = TIGHTER_TOL_FACTOR * first_tol
        log.info("the bound is numerical only; solving the %s side again at tolerance %.0e",
                 outcome.result.side, tol)
        again = self._solve_side(solver, outcome.result.side, tol, max_iters, verbose)
        met = self._meets(again.raw, first_tol)
        if again.result.status == "inaccurate" and met is not None:
            # Clarabel stopped short of 1e-10 ("AlmostSolved") at a point that passes its own
            # stopping test at the first solve's tolerance: a solution at that tolerance, with
            # a smaller gap (chained singular n = 1,000: residuals 1.1e-10 / 4.1e-13, gap
            # 4.6e-11, bound -9.3e-7 where the first solve's was -1.33e-4; the primal residual
            # 1.1e-10 is just what kept it from "Solved" at 1e-10, which is how r_prim/r_dual
            # are read here: the quantities of Clarabel's test against tol_feas)
            raw = replace(again.raw, status="optimal", tolerance=first_tol)
            result = self._result(again.lmi, raw, 0.0)
            if result.status == "optimal":
                result = replace(result, build_seconds=again.result.build_seconds,
                                 message=f"{result.message} ({again.raw.raw_status} at tolerance "
                                         f"{tol:.0e}, within the default {first_tol:.0e}: {met})")
                again = SolveOutcome(result, again.lmi, raw)
        if again.result.status != "optimal":
            return again
        result = replace(again.result,
                         solve_seconds=again.result.solve_seconds + outcome.result.solve_seconds,
                         message=f"{again.result.message} (at tolerance {tol:.0e}: the bound at "
                                 f"the default was {why or f'numerical only, {outcome.result.bound:.3g}'})")
        return SolveOutcome(result, again.lmi, again.raw)

    @staticmethod
    def _meets(raw: BackendSolution, tol: float) -> str | None:
        """Why an "inaccurate" solution passes the solver's stopping test at ``tol`` (its
        primal and dual residuals, as the backend measured them for its own test, at most
        ``tol``, and the relative gap of the two objectives at most ``tol``), or None.
        Only a backend that reports those residuals (Clarabel) is ever accepted."""
        res = (raw.extra or {}).get("residuals")
        if raw.raw_status != "AlmostSolved" or res is None or raw.value is None or raw.dual_value is None:
            return None
        rp, rd = res
        v, d = float(raw.value), float(raw.dual_value)
        if not all(np.isfinite([rp, rd, v, d])):
            return None
        gap = abs(v - d) / max(1.0, abs(v), abs(d))
        if max(rp, rd, gap) > tol:
            return None
        return f"primal residual {rp:.2g}, dual residual {rd:.2g}, relative gap {gap:.2g}"

    def _room_for(self, first: Result) -> bool:
        """Whether another solve of an answered relaxation (a tighter tolerance, the other side)
        fits in the time left: it must have at least the seconds the first solve took, the
        measured cost of this relaxation on this machine now (a tighter tolerance only adds
        iterations). Without this, sum of x_i^2 at n = 100,000 under a 30 s limit started the
        tighter solve with 8 s left after a 12.6 s first solve, and the solver's own deadline
        stopped it 2.8 s past the limit (its conversion and last iteration)."""
        left = self._time_left()
        return left > 0 and (not np.isfinite(left) or left >= (first.solve_seconds or 0.0))

    def _time_left(self) -> float:
        deadline = getattr(self, "_deadline", None)
        return np.inf if deadline is None else deadline - time.perf_counter()

    def _solve_side(self, solver, side, tol, max_iters, verbose) -> "SolveOutcome":
        t0 = time.perf_counter()
        lmi = self.to_lmi(side)
        convert = time.perf_counter() - t0
        left = self._time_left()
        if left <= 0:
            raw = BackendSolution("time_limit", self.choose_solver(solver, lmi), 0.0,
                                  raw_status="time limit", message="no time left for this solve")
        else:
            raw = registry.solve_sdp(lmi, solver, tol=tol, max_iters=max_iters, verbose=verbose,
                                     time_limit=None if not np.isfinite(left) else left)
        return SolveOutcome(self._result(lmi, raw, convert), lmi, raw)

    def _result(self, lmi: conic.LMIProblem, raw: BackendSolution, convert_seconds: float) -> Result:
        status = raw.status
        if lmi.side == "sos":  # the SOS problem is the dual: swap what the statuses mean
            status = {"infeasible": "unbounded", "unbounded": "infeasible"}.get(status, status)
        pop = self.pop
        common = dict(order=self.order, solver=raw.solver,
                      sense=pop.sense, side=lmi.side, sparsity=self.blocks.kind,
                      build_seconds=self.build_seconds + convert_seconds, solve_seconds=raw.seconds,
                      sizes=dict(self.sizes))
        message = raw.message or raw.raw_status
        if status != "optimal" or raw.value is None:
            if status == "optimal":
                status, message = "failed", "the solver claimed optimality but returned no value"
            failed = Result(status=status, bound=None, message=self._explain(status, message),
                            **common)
            if status == "inaccurate":  # the point the solver stopped at may still certify
                return certify_sos(failed, self, lmi, raw, pop, getattr(self, "_deadline", None))
            if status == "infeasible":  # only with a certificate: solve/infeasibility.py
                return confirm_infeasible(failed, self, lmi, raw, pop, self._time_left())
            return failed
        # The relaxation minimizes; of the primal and dual objectives the solver reports, keep
        # the smaller relaxation value (the conservative bound). The SOS side is the dual form,
        # so its objective is the negated relaxation value.
        values = [v for v in (raw.value, raw.dual_value) if v is not None and np.isfinite(v)]
        sign = 1.0 if lmi.side == "moment" else -1.0
        relax_value = min(sign * v for v in values)
        gap = max(values) - min(values)
        accuracy = max(gap, raw.tolerance * max(1.0, abs(relax_value), float(np.abs(self.data.c).sum())))
        bound = relax_value if pop.sense == "min" else -relax_value
        y = self.moment_vector(lmi, raw)
        candidate = cand_value = None
        rank_one = False
        if y is not None:
            point = self._first_order(y)
            rank_one = self._rank_one(y)
            candidate = dict(zip(pop.variables, point.tolist()))
            if pop.is_feasible(point, tol=FEAS_TOL):
                cand_value = float(pop.evaluate(point))
        # Global optimality is certified by a feasible point whose value meets the bound. Rank
        # one alone is not used: under term sparsity the blocks do not form one moment matrix,
        # and a rank-one block says nothing about the point.
        is_global = cand_value is not None and abs(cand_value - bound) <= GAP_TOL * max(1.0, abs(bound))
        result = Result(status="optimal", bound=float(bound), candidate=candidate,
                        candidate_value=cand_value, is_global=bool(is_global), rank_one=rank_one,
                        accuracy=float(accuracy), message=message, **common)
        result = with_minimizers(result, self, y, FEAS_TOL, GAP_TOL,  # solve/minimizers.py
                                 deadline=getattr(self, "_deadline", None))
        return certify_sos(result, self, lmi, raw, pop,  # solve/certify.py
                           getattr(self, "_deadline", None))

    def _explain(self, status: str, solver_message: str) -> str:
        """What a status without a bound means for this relaxation, and what to try."""
        k = self.order
        hint = {
            "unbounded": (f"the relaxation of order {k} gives no finite bound: either the POP "
                          f"is unbounded, or no sum-of-squares certificate of any bound exists at "
                          f"this order (its SOS side is infeasible); try order={k + 1} or "
                          "order='auto'"),
            "infeasible": (f"the moment relaxation of order {k} is infeasible, so the POP is "
                           "infeasible"),
            "inaccurate": (f"the solver stopped without the accuracy a bound needs at order {k}; "
                           f"when this persists on both sides the SOS side may have no interior "
                           f"at this order (e.g. the objective minus a constant is not a sum of "
                           f"squares): try order={k + 1}, order='auto', or bounds on the "
                           "variables"),
            "failed": f"the solver broke down at order {k}; try the other side or solver",
            "time_limit": "stopped at the time limit, no bound",
        }.get(status)
        if hint is None:
            return solver_message
        return f"{hint} (solver: {solver_message})" if solver_message else hint

    def moment_vector(self, lmi: conic.LMIProblem, raw: BackendSolution) -> np.ndarray | None:
        """The moment vector y (aligned with ``self.data.moments``) of a solution, from either
        side; None when the solver returned no point."""
        if lmi.side == "moment":
            return None if raw.x is None else np.concatenate([[1.0], raw.x])
        if raw.lmi_duals is None:
            return None
        return conic.moments_from_sos(lmi, raw.lmi_duals)

    def _first_order(self, y: np.ndarray) -> np.ndarray:
        """First-order moments as a point (0 for a variable whose moment is absent)."""
        moments = self.data.moments
        point = np.zeros(self.pop.nvars)
        if moments.shape[1] == 0:  # no variable at all
            return point
        deg = mono.degrees(moments)
        first = np.nonzero(deg == 1)[0]
        point[moments[first, 0]] = y[first]
        return point

    def _rank_one(self, y: np.ndarray) -> bool:
        """Whether every moment matrix has numerical rank one (batched by block size)."""
        stacked, offsets = stacked_blocks(self.data.blocks, self.data.nmoments)
        tri = stacked @ y
        sizes = np.asarray(self.data.sizes)
        is_moment = np.array([b.constraint == MOMENT for b in self.blocks.psd], dtype=bool)
        for k in np.unique(sizes[is_moment & (sizes > 1)]):
            k = int(k)
            js = np.nonzero(is_moment & (sizes == k))[0]
            iu, ju = np.triu_indices(k)
            vals = tri[offsets[js][:, None] + np.arange(iu.size)[None, :]]
            M = np.zeros((js.size, k, k))
            M[:, iu, ju] = vals
            M[:, ju, iu] = vals
            w = np.linalg.eigvalsh(M)
            if np.any(w[:, -1] <= 0) or np.any(w[:, -2] > RANK_TOL * w[:, -1]):
                return False
        return True

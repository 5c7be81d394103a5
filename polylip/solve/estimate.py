"""What a moment-SOS relaxation will cost, estimated before any work, and the one place that
refuses a relaxation that cannot fit the memory limit or the time limit.

**The rule** ("every run ends: time limits and memory estimates before work, not after"). Two
checks, with the same figures:

1. *Before assembly*, from the block structure only (block sizes, the terms of each
   multiplier; no moment is numbered): :func:`estimate_blocks`. The memory to assemble
   (:func:`polylip.sparsity.blocks.size_summary`), the seconds to assemble, and what every
   interior-point solver must pay for the PSD blocks whatever side it receives (below).
2. *After assembly*, from the moment data (exact moment and free-variable counts of each
   side): :func:`estimate_data`, checked again before the data goes to the solver.

A relaxation is **refused for memory** (:class:`~polylip.errors.RelaxationError`, naming the
size and what to try; exit code 2 in the CLI) when the memory it is certain to need exceeds
:func:`polylip.runtime.memory_limit`; it is **refused for time** (a
:class:`~polylip.solve.result.Result` with status "time_limit" and no bound, returned at once;
exit code 1) when the estimated seconds exceed :data:`REFUSE_FACTOR` times the time left. The
factor is there because the time model is right to a factor of a few only (figures below), and
a relaxation that might finish is run: the backend's own deadline stops it if it does not.

**The cost model** (a solver's cost is set by its dense linear algebra; measured on these
2-core machines at load 2-6, Python 3.11, CVXOPT 1.3 through PICOS 2.6, Clarabel 0.11):

* CVXOPT (PICOS): ``C_K4 * sum_j k_j**4 + C_N3 * N**3`` seconds for the whole solve, ``N`` the
  free variables of the side it gets, ``k_j`` the block sizes. One 201/401/601 block with
  ``N = 1`` (the SOS side of ``(x_1+...+x_n)(y_1+...+y_n)`` at order 1) took 0.55 / 7.7 / 57 s:
  the fourth power, 3.0e-10 .. 4.4e-10 s * k**4; the Schur complement term from Broyden
  tridiagonal with correlative sparsity (docs/DESIGN: 1,175 moments 4.2 s, about 2,400 moments
  26 s). Memory: the dense Schur complement, ``8 N**2`` bytes (certain), plus the blocks.
* Clarabel: ``C_T3 * sum_j t_j**3 + C_NNZ * nnz`` seconds, ``t_j = k_j (k_j + 1) / 2`` (its KKT
  system holds a dense ``t_j x t_j`` scaling block per PSD cone: one 41 / 61 block took 1.2 /
  13.6 s, 2e-9 s * t**3); the non-zero term from Broyden n = 1,000 / 5,000 (2.6 / 15 s).
  Memory: those dense blocks, ``8 sum_j t_j**2`` bytes (certain), plus the factor's fill.
* Assembly: :data:`ASSEMBLY_SECONDS_PER_PRODUCT` per index-row product (2.0 M products of the
  order-1 relaxation above: 5.2 s at load 2, 10 s at load 4), plus
  :data:`ASSEMBLY_SECONDS_PER_ENTRY` per entry of the rows (high degrees: x^1000 at order 500).

The figures are the solver alone on an idle machine, the low end of what was measured:
certification, retries (the other side, a tighter tolerance) and a loaded machine come on top,
so the estimate errs towards running. Before assembly the side is not known, so the first check charges only the block terms (paid
on either side) and the cheapest solver allowed (every one for ``solver="auto"``): a lower
estimate. Solvers other than CVXOPT and Clarabel (PICOS names such as "mosek") get no estimate
and are never refused for time.

Examples
--------
>>> import sympy
>>> from polylip import POP
>>> from polylip.sparsity.blocks import dense_structure
>>> xs = sympy.symbols("x0:3")
>>> pop = POP(sum(v**4 for v in xs) - xs[0] * xs[1])
>>> est = estimate_blocks(pop, dense_structure(pop, 2))
>>> est.largest, est.entries, est.seconds < 1
(10, 55, True)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from polylip.backends import registry
from polylip.errors import RelaxationError
from polylip.relax import conic
from polylip.runtime import check_memory, format_bytes, format_count, memory_limit
from polylip.sparsity.blocks import BlockStructure, count_basis, size_summary

__all__ = ["CostEstimate", "estimate_blocks", "estimate_data", "too_slow", "refuse_if_too_large",
           "solver_that_fits",
           "REFUSE_FACTOR", "solver_cost"]

log = logging.getLogger(__name__)

#: A relaxation is refused for time when its estimated seconds exceed this many times the time
#: left (the model is right to a factor of a few: see the module text).
REFUSE_FACTOR = 3.0
#: CVXOPT (PICOS): seconds per k**4 of a PSD block of size k, for the whole solve (measured
#: 3.0e-10 .. 4.4e-10, module text; the lower figure).
C_K4 = 3e-10
#: CVXOPT: seconds per N**3 of its dense Schur complement over N free variables, whole solve.
C_N3 = 2e-9
#: Clarabel: seconds per t**3 of the dense t x t KKT block of a PSD cone (t = k(k+1)/2).
C_T3 = 2e-9
#: Clarabel: seconds per non-zero of the constraint data (sparse LDL): Broyden tridiagonal with
#: correlative sparsity, n = 1,000 (54,890 non-zeros), 2.6 s at load 1 (docs/DESIGN); the whole
#: solve stage (certification and a second solve at a tighter tolerance included) took 13.7 s at
#: load 11, n = 3,000 (164,890 non-zeros) 47 s: the estimate is the solver alone, idle machine.
C_NNZ = 5e-5
#: Clarabel: bytes per non-zero of the constraint data in its KKT system and factor.
CLARABEL_BYTES_PER_NNZ = 400
#: Assembly (relax/moment.py): seconds per index-row product (module text), plus
#: ASSEMBLY_SECONDS_PER_ENTRY per entry of the row (its width: twice the basis degree plus the
#: multiplier's). Measured CPU per product (2 cores, load 10): 1.4e-6 at width 60 (x^60 + y^60,
#: order 30), 7.7e-6 at width 400, 3.2e-5 at width 1,000 (x^1000, order 500: 4.0 s CPU, 10 s
#: wall); without the width term x^1000's build was estimated 0.31 s and overran its limit.
ASSEMBLY_SECONDS_PER_PRODUCT = 2.5e-6
ASSEMBLY_SECONDS_PER_ENTRY = 3e-8
#: The solvers with a cost model; others get none.
MODELLED = ("cvxopt", "clarabel")

_HINT = ("try a sparser pattern (sparsity='cs', 'cs+ts' or 'ts'), a lower order, fewer or "
         "smaller constraints, or a larger time limit")
#: What to try when the memory is the limit (a larger time limit would not help).
MEMORY_HINT = ("try a sparser pattern (sparsity='cs', 'cs+ts' or 'ts'), a lower order, fewer or "
               "smaller constraints, or the LP hierarchy (method='lp')")


@dataclass(frozen=True)
class CostEstimate:
    """The estimated cost of one relaxation (see the module text).

    Attributes
    ----------
    kind, order : the sparsity and the order.
    blocks, largest, entries : the PSD blocks, the largest size, sum of k(k+1)/2.
    moments : the moments (exact when ``exact``, else an upper bound: the products).
    nnz : non-zeros of the moment data (exact when ``exact``, else the products to assemble).
    exact : whether the counts come from the assembled data.
    build_bytes, build_seconds : assembling the moment data (0 once it is assembled).
    solver, side : the cheapest solver allowed and the side it gets ("either" before assembly).
    solver_bytes, solver_seconds : what that solver needs (None: no model for it).
    per_solver : ``{name: (side, free variables, bytes, seconds)}`` for each solver considered.
    """

    kind: str
    order: int
    blocks: int
    largest: int
    entries: int
    moments: int
    nnz: int
    exact: bool
    build_bytes: int
    build_seconds: float
    solver: str
    side: str
    solver_bytes: int | None
    solver_seconds: float | None
    per_solver: dict = field(default_factory=dict, compare=False)

    @property
    def bytes(self) -> int:
        """Peak memory: the larger of the assembly and the solve."""
        return max(self.build_bytes, self.solver_bytes or 0)

    @property
    def seconds(self) -> float:
        """Seconds to assemble and solve (the solve counts 0 without a model)."""
        return self.build_seconds + (self.solver_seconds or 0.0)

    def what(self) -> str:
        """The relaxation in a few words, for a message."""
        k = format_count(self.largest)
        return (f"the {self.kind} relaxation of order {self.order} ({self.blocks:,} PSD "
                f"block{'s' if self.blocks != 1 else ''}, the largest {k} x {k}; "
                f"{format_count(self.moments)} moments{'' if self.exact else ' at most'}, "
                f"{format_count(self.nnz)} non-zeros{'' if self.exact else ' at most'})")

    def describe(self) -> str:
        """One line: the sizes, the memory and the seconds."""
        solve = ("no estimate for this solver" if self.solver_seconds is None else
                 f"about {_seconds(self.solver_seconds)} with {self.solver}"
                 + ("" if self.side == "either" else f" on the {self.side} side"))
        build = "" if self.exact else f"; {_seconds(self.build_seconds)} to assemble"
        return f"{self.what()}: {format_bytes(self.bytes)}, {solve}{build}"

    def to_dict(self) -> dict:
        return dict(kind=self.kind, order=self.order, blocks=self.blocks, largest=self.largest,
                    entries=self.entries, moments=self.moments, nnz=self.nnz, exact=self.exact,
                    build_bytes=self.build_bytes, build_seconds=self.build_seconds,
                    solver=self.solver, side=self.side, solver_bytes=self.solver_bytes,
                    solver_seconds=self.solver_seconds, bytes=self.bytes, seconds=self.seconds)


def _seconds(s: float) -> str:
    """Seconds for a message: "under 0.01 s", "2.3 s", "4,810 s"."""
    if s < 0.01:
        return "under 0.01 s"
    return f"{s:.2g} s" if s < 10 else f"{s:,.0f} s"


def solver_cost(name: str, sizes, nvars: int | None, nnz: int) -> tuple[int, float] | None:
    """``(bytes, seconds)`` the solver ``name`` needs for PSD blocks of ``sizes``, ``nvars``
    free variables (None: unknown, only the block terms are charged) and ``nnz`` non-zeros of
    constraint data (0: unknown); None for a solver without a model.

    Examples
    --------
    >>> b, s = solver_cost("cvxopt", [601], 1, 0)
    >>> 30 < s < 100
    True
    >>> solver_cost("mosek", [10], 5, 0) is None
    True
    """
    sizes = [int(k) for k in sizes]
    n = 0 if nvars is None else int(nvars)
    if name == "cvxopt":
        k2 = sum(k * k for k in sizes)
        return 8 * n * n // 2 + 8 * 4 * k2, C_K4 * sum(k ** 4 for k in sizes) + C_N3 * n ** 3
    if name == "clarabel":
        tri = [k * (k + 1) // 2 for k in sizes]
        return (8 * sum(t * t for t in tri) + CLARABEL_BYTES_PER_NNZ * int(nnz),
                C_T3 * sum(t ** 3 for t in tri) + C_NNZ * int(nnz))
    return None


def _candidates(solver: str) -> tuple[str, ...]:
    solver = (solver or "auto").lower()
    return MODELLED if solver == "auto" else (solver,)


def _cheapest(costs: dict):
    known = {n: c for n, c in costs.items() if c[3] is not None}
    if not known:
        name = next(iter(costs), "auto")
        return name, costs.get(name, ("either", None, None, None))
    fits = {n: c for n, c in known.items() if c[2] <= memory_limit()}
    pool = fits or known
    name = min(pool, key=lambda n: (pool[n][3], pool[n][2]))
    return name, pool[name]


def _clique_moments(pop, blocks: BlockStructure) -> int:
    """Monomials of degree <= 2 * order in the variables of each clique, summed: an upper
    bound on the moments (the objective's monomials included, each in some clique)."""
    boolean = pop.binary_mask | pop.spin_mask
    total = 0
    for clique in blocks.cliques:
        nb = int(boolean[list(clique)].sum()) if len(clique) else 0
        total += count_basis(len(clique) - nb, nb, 2 * blocks.order)
    return max(total, 1)


def estimate_blocks(pop, blocks: BlockStructure, solver: str = "auto") -> CostEstimate:
    """The cost of the relaxation with these blocks, before its moment data is assembled.

    Charges the assembly and, for each solver allowed (both modelled ones for "auto"), the
    PSD blocks' own terms, which every side pays; the cheapest solver is the estimate.
    """
    psd = blocks.psd
    sizes = [b.size for b in psd]
    ineq_terms = [1 if b.constraint < 0 else pop.ineqs[b.constraint].nterms for b in psd]
    eqs = blocks.equalities
    width = 2 * max((b.basis.shape[1] for b in psd), default=0) + max(
        [0] + [g.rows.shape[1] for g in pop.ineqs])
    summary = size_summary(blocks.order, blocks.kind, sizes, ineq_terms, [e.size for e in eqs],
                           [pop.eqs[e.constraint].nterms for e in eqs], width=width)
    products = int(summary["products"])
    moments = min(products + pop.objective.nterms + 1, _clique_moments(pop, blocks))
    costs = {}
    for name in _candidates(solver):
        cost = solver_cost(name, sizes, None, 0)
        costs[name] = ("either", None, None if cost is None else cost[0],
                       None if cost is None else cost[1])
    name, (side, _, nbytes, secs) = _cheapest(costs)
    return CostEstimate(kind=blocks.kind, order=blocks.order, blocks=len(sizes),
                        largest=max(sizes, default=0), entries=int(summary["entries"]),
                        moments=moments, nnz=products, exact=False,
                        build_bytes=int(summary["bytes"]),
                        build_seconds=(ASSEMBLY_SECONDS_PER_PRODUCT
                                       + ASSEMBLY_SECONDS_PER_ENTRY * width) * products,
                        solver=name,
                        side=side, solver_bytes=nbytes, solver_seconds=secs, per_solver=costs)


def estimate_data(relaxation, solver: str = "auto", side: str = "auto") -> CostEstimate:
    """The cost of solving an assembled :class:`~polylip.solve.relaxation.Relaxation` with
    ``solver`` on ``side`` (for "auto": the side and solver the solve stage would choose, and
    the cheaper of the modelled ones when the chosen one has no model)."""
    data = relaxation.data
    sizes = list(data.sizes)
    sides = {"moment": data.nmoments - 1, "sos": conic.sos_side_nvars(data)}
    chosen = conic.choose_side(data, side)
    costs = {}
    for name in _candidates(solver):
        for s in ((chosen,) if side != "auto" else ("moment", "sos")):
            cost = solver_cost(name, sizes, sides[s], data.nnz)
            key = name if side != "auto" else f"{name}/{s}"
            costs[key] = (s, sides[s], None if cost is None else cost[0],
                          None if cost is None else cost[1])
    if (solver or "auto").lower() == "auto":
        # what the solve stage will actually run: the registry's rule on the chosen side
        picked = registry.choose_sdp_solver(sides[chosen], sizes, "auto")
        key = f"{picked}/{chosen}"
        name, cost = (picked, costs[key]) if key in costs else _cheapest(costs)
    else:
        name, cost = _cheapest(costs)
    name = name.split("/")[0]
    s, _, nbytes, secs = cost
    k = max(sizes, default=0)
    return CostEstimate(kind=relaxation.blocks.kind, order=relaxation.order, blocks=len(sizes),
                        largest=k, entries=sum(j * (j + 1) // 2 for j in sizes),
                        moments=data.nmoments, nnz=data.nnz, exact=True, build_bytes=0,
                        build_seconds=0.0, solver=name, side=s, solver_bytes=nbytes,
                        solver_seconds=secs, per_solver=costs)


def refuse_if_too_large(est: CostEstimate) -> None:
    """:class:`~polylip.errors.RelaxationError` naming the sizes when ``est`` needs more memory
    than :func:`polylip.runtime.memory_limit` (the assembly, or the solver on every side)."""
    check_memory(est.build_bytes, est.what(), MEMORY_HINT, RelaxationError)
    if est.solver_bytes is not None:
        check_memory(est.solver_bytes, f"solving {est.what()} with {est.solver}", MEMORY_HINT,
                     RelaxationError)


def solver_that_fits(est: CostEstimate, solver: str) -> str:
    """The solver to run for the :func:`estimate_data` estimate ``est``: ``solver`` itself
    when its memory fits :func:`polylip.runtime.memory_limit` (or has no model); for "auto",
    when the registry's pick does not fit, the fastest modelled solver that fits on the same
    side; else a :class:`~polylip.errors.RelaxationError` saying it is memory, with the sizes.

    Checked before the time rule (:func:`too_slow`): a relaxation that cannot fit was refused
    "for time" with status "time_limit" when a time limit was given, and the message's figure
    was a memory figure (QA round 4: (x+y)^60 + 1 at order 30, Clarabel's 113 GiB, where
    CVXOPT needs 122 MiB on the same side).
    """
    limit = memory_limit()
    if est.solver_bytes is None or est.solver_bytes <= limit:
        return solver
    if (solver or "auto").lower() == "auto":
        fits = {key.split("/")[0]: c for key, c in est.per_solver.items()
                if c[0] == est.side and c[2] is not None and c[2] <= limit and c[3] is not None}
        if fits:
            name = min(fits, key=lambda n: fits[n][3])
            log.info("solver 'auto': %s would need %s on the %s side, more than the memory limit; "
                     "%s instead (%s)", est.solver, format_bytes(est.solver_bytes), est.side, name,
                     format_bytes(fits[name][2]))
            return name
    check_memory(est.solver_bytes, f"solving {est.what()} with {est.solver} on the {est.side} side",
                 MEMORY_HINT, RelaxationError)
    return solver  # pragma: no cover - check_memory raised


def too_slow(est: CostEstimate, time_left: float | None) -> str | None:
    """Why ``est`` is refused for time (see the module text), or None when it may run."""
    if time_left is None or est.solver_seconds is None and est.exact:
        return None
    if est.seconds <= REFUSE_FACTOR * max(time_left, 0.0):
        return None
    log.info("refused for time: %s", est.describe())
    return (f"not started: {est.describe()}, estimated before "
            f"{'solving' if est.exact else 'building it'}, more than the "
            f"{_seconds(max(time_left, 0.0))} left of the time limit; {_HINT}")

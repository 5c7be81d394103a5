"""The plan of method ``"auto"``: which methods it runs, in which order, on which problems, and
why each sits where it does.

:data:`PLAN` is an ordered tuple of :class:`Step` values. Each names a method of the table and
its options, the share of the time left it gets (a solver time limit, or the time of Shor's cut
rounds), when it applies (input norm, region kind, activation kind, the gradient POP's
formulation, results of earlier steps: :class:`Condition` values, each saying in words what it
needs), a size test made before it starts (``too_large``) or inside its worker once the
relaxation is built (``guard``), and whether a closed result ends the search (``ends``). The
runner, :func:`polylip.nn.methods.auto.auto`, follows the tuple top to bottom; every step not
run is recorded with the reason (``details["plan"]``).

**Cost estimates.** Before a step starts, :func:`estimate` counts what drives its cost from the
network and the region, without building anything: unstable neurons and MILP binaries
("milp"), gradient-POP paths and terms ("dp", and the POPs every relaxation shares: see
:func:`pop_estimate`), the LP's box products ("lp"), the PSD block sizes ("shor", "sdp"), the
layer-pair blocks ("lipsdp"), inputs plus neurons ("geolip"); and from them a rough time in seconds with the constants below
(measured on two loaded cores; right to within a factor of a few, meant for ordering and for
refusing hopeless steps, not as a promise). Each record of ``details["plan"]`` carries its step's
``estimate``.

**Deterministic mode** (``AutoOptions(deterministic=True)``): the time shares are fractions of
*work* left, counted on a virtual clock that starts at the budget and is charged each step's
estimate (and the lower-bound search's counted work), never the wall clock; a step whose
estimate exceeds the work left is skipped; "milp" gets a node limit instead of a time limit
(:data:`MILP_NODES_PER_SECOND`; only where method "milp" accepts ``node_limit``), Shor's cut
rounds no time cap, the LPs none. The same call then takes the same steps with the same limits
on every run, whatever the machine's load.

Why this module is long: the plan is one table, and each step's conditions, options, size
tests and cost model sit beside it with the measured numbers they use; split, a step's reasons
would be read far from its figures.

Examples
--------
>>> [s.id for s in PLAN]  # doctest: +NORMALIZE_WHITESPACE
['product', 'interval', 'geolip', 'bab', 'eclipse', 'lipsdp', 'milp-true', 'dp', 'milp-formal',
 'shor-cuts-l2', 'lp-low', 'shor-cuts', 'shor', 'lp-high', 'sdp-neuron', 'sdp-network',
 'milp-rest']
>>> [c.needs for c in step("milp-true").when][:4]  # doctest: +NORMALIZE_WHITESPACE
['the l_inf or l_1 input norm', 'a fixed output functional (not an l_2 vector output)',
 'a box or a ball region', 'ReLU-type activations (relu, leaky_relu with alpha <= 1, identity)']
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from polylip.errors import ModelError
from polylip.nn.gradient_pop import MAX_TERMS, functionals
from polylip.nn.gradient_terms import count_paths
from polylip.nn.lipsdp import AUTO_CHORDAL_MAX_PAIR, AUTO_DENSE_MAX_N, AUTO_STRUCTURED_MAX_N
from polylip.nn.methods.bab import node_work
from polylip.nn.methods.relax import clique_block, lp_size, predict
from polylip.nn.regions import bounds_cached

__all__ = ["Step", "Condition", "PLAN", "step", "estimate", "pop_estimate", "milp_node_limit",
           "AUTO_MAX_BLOCK", "AUTO_MAX_VARS", "AUTO_MAX_LP_PRODUCTS", "AUTO_CUT_ROUNDS",
           "AUTO_MILP_SHARE", "AUTO_MILP_TRUE_SHARE", "AUTO_MILP_GAP", "AUTO_CUT_SHARE",
           "AUTO_GEOLIP_SHARE",
           "MILP_NODES_PER_SECOND", "MILP_FIRST_BOUND_SECONDS", "MILP_FIRST_BOUND_DOUBLING",
           "milp_first_bound", "milp_too_short", "lifted_shor_seconds", "AUTO_LIPSDP_SHARE",
           "CLOSED_FORM_INLINE_FLOPS", "closed_form_flops", "bab_node_seconds", "lipsdp_model",
           "milp_root_seconds"]

# ---------------------------------------------------------------------------------------------
# the plan's numbers, as measured (benchmarks/RESULTS.md)
# ---------------------------------------------------------------------------------------------
#: "auto" skips an SDP whose largest PSD block exceeds this size, or whose side handed to the
#: solver has more free variables than AUTO_MAX_VARS (the cost grows like their cube).
AUTO_MAX_BLOCK = 400
AUTO_MAX_VARS = 6000
#: "auto" skips an LP whose count of box-constraint products in the cliques (see
#: :func:`~polylip.nn.methods.relax.lp_size`) exceeds this. Measured (CertDNN, degree 3 / 4,
#: HiGHS or Clarabel, 2 shared cores): 1.3e5 products (width 80, sparsity 10, degree 3) 1-4 s;
#: 1.8e5 (width 20, sparsity 24, degree 3) 0.6 s; 6.8e5 (width 20, sparsity 16, degree 4) about
#: 35 s; 8.7e5 (width 80, sparsity 20, degree 3) 290 s.
AUTO_MAX_LP_PRODUCTS = 3e5
#: Rounds of McCormick cuts after Shor in "auto" (each adds ``width`` products; on CertDNN
#: width 80 a round costs about as much as Shor itself, and one round already beats HR-2 on
#: the dense networks).
AUTO_CUT_ROUNDS = 2
#: Share of the time left that Shor's cut rounds may take (divided among the functionals).
AUTO_CUT_SHARE = 0.25
#: Share of the time left that "auto" gives method "milp" (l_inf and l_1, after "dp" did not
#: fit). Measured with a 54-s limit (benchmarks/RESULTS.md, "Formal constant by mixed-integer
#: LP"): on the deep random networks its dual bound is the best step on most l_inf rows (2x20
#: global: 23.00 against LP-3's 28.46 and Shor's 51.38; 3x30 global: 675 where nothing else
#: finishes), while on one-hidden-layer CertDNN networks of width 80 that Shor with cuts
#: handles in seconds it does not close (80x30: 2.50 after 600 s against Shor's 1.97), so it
#: gets a share, not all.
AUTO_MILP_SHARE = 1.0 / 3.0
#: The same over a box or a ball with ReLU-type activations, where "milp" bounds the *true*
#: local constant and is the step that works there (deep random networks, box of radius 0.1,
#: l_inf, benchmarks/RESULTS.md "The true local constant by milp": 2x40 21.79 with 54 s alone,
#: against 33.46 from a third of auto's 60 s; Shor and the LP time out from 2x40 on).
AUTO_MILP_TRUE_SHARE = 2.0 / 3.0
#: Share of the time left that "auto" gives method "bab" (l_inf, a box region, a fixed output),
#: the first step after "interval": it has a bound from its root at once (linear bounds through
#: the Jacobian: 64-100-100-10 digits MLP, margin 3-8, box of radius 0.05: 346 against
#: interval's 506 in 0.1 s) and closes small cases by enumeration (64-16-16-10 digits MLP, the
#: same box: the true 188.545 in 0.2 s, where "milp" took 5.4 s), and on the 64-100-100-10 MLP
#: it reached 215 in 60 s where "milp-true" gave no bound (HiGHS: infeasible). But on random
#: networks with many unstable neurons "milp" gets further (20-40-40-1, N(0, 1/fan_in), box of
#: radius 0.1, 30 s each: milp 36.5, bab 42.5; measured 2026-12-01, load 9-10), so "bab" gets
#: half of the time left and "milp-true" its share of the rest; closed, "bab" ends the search.
AUTO_BAB_SHARE = 0.5
#: Seconds one node of "bab" costs: a fixed part, per loop and per floating-point operation of
#: :func:`polylip.nn.methods.bab.node_work` (:func:`bab_node_seconds`). Fitted on 16 random
#: ReLU networks, 80 nodes each, one BLAS thread, load 1-2 (benchmarks/RESULTS.md "QA:
#: Lipschitz round 5": 10-10-10-1 to 10-10x30-1, 2-2000-1, 784-100-100-1; 3.4-177 ms a node,
#: the fit within 0.8-1.34 of every point), then rounded up by about a quarter for loaded
#: machines. Before, a fixed 30 nodes per second (measured on the digits MLPs) made the
#: deterministic node limit of 20-12x30-1 (0.16 s a node) take 5.7 times its share.
BAB_NODE_SECONDS = 4.5e-3
BAB_LOOP_SECONDS = 1.6e-4
BAB_FLOPS_PER_SECOND = 8e9
#: Relative gap at which "milp" stops inside "auto" (its own default is 1e-4): closing
#: further is cheap where it closes at all (digits MLP, margin 3-8, box of radius 0.05: the
#: true constant 188.545 within 1e-4 in 1 s), and where it does not the time limit decides.
AUTO_MILP_GAP = 1e-6
#: "milp" runs once more at the end when the time left is more than this many times the share
#: its earlier run had (and that run stopped at its time limit).
AUTO_MILP_RERUN_FACTOR = 1.5

# ---------------------------------------------------------------------------------------------
# cost estimates (seconds on two loaded cores; see estimate())
# ---------------------------------------------------------------------------------------------
#: Building a gradient POP: per term of the expanded formulation, per weight of the lifted one
#: (measured: 64-40-40-1 expanded, 102,400 terms, 1.8 s; 64-100-100-10 lifted 0.47 s and
#: 64-200-200-200-10 lifted 3.3 s per functional, 17,400 and 94,800 weights).
POP_TERM_SECONDS = 2e-5
POP_WEIGHT_SECONDS = 3.5e-5
#: "dp" plans its elimination order over the expanded POP's terms (digits MLP, 16,384 terms:
#: 0.9 s to find width 33 and refuse).
DP_TERM_SECONDS = 6e-5
#: "lp": seconds for 1e5 box products, growing with the 2.5th power (1.3e5: 1-4 s, 6.8e5:
#: 35 s, 8.7e5: 290 s; see AUTO_MAX_LP_PRODUCTS).
LP_SECONDS_1E5 = 1.0
#: "shor": a dense PSD block of 161 in CVXOPT on the SOS side, about 3.4 s (DESIGN: CertDNN width
#: 80), cubic in the block; the lifted formulation's equalities make it dearer by about this
#: factor (digits MLP, lifted block 113: 8.6 s).
SHOR_SECONDS_161 = 3.4
SHOR_LIFTED_FACTOR = 7.0
#: "sdp": seconds per (block size)^3 summed over the PSD blocks (order 2 with the network's
#: cliques: 2-2000-1 over a ball 0.78 s for 0.52 estimated).
SDP_SECONDS_PER_CUBE = 2e-6
#: "sdp-neuron" (blocks of 2|C|, Clarabel on the SOS side): the same model with its own rate.
#: Measured on 13 one-hidden-layer networks (2-50-1 to 20-100-1, global and ball 0.1; QA
#: round 5): 0.6e-5 to 1.4e-5 s per cube summed, 0.1-11.8 s; the old 2e-6 of the line above
#: made 10-60-1 take 8.0 s for 1.4 estimated (5.8 times).
SDP_NEURON_SECONDS_PER_CUBE = 1.4e-5
#: "lipsdp", form "structured" (the one above N = 40, :func:`polylip.nn.lipsdp.choose_form`):
#: a fixed cost (the ECLipsE start, the certificate, the formal details) plus, per interior-
#: point iteration, seconds per hidden layer and per N^2 and N^3 of its dense N x N products
#: (N = min(n_0, n_1) + the neurons not pruned). Fitted on 26 runs (10-10x4-1 to 2-1000-1,
#: 20-12x30-1, 64-200x3-1, global and ball 0.1, load 1-2; QA round 5): within 0.68-1.9, then
#: rounded up by about a third. Iterations: at most :data:`LIPSDP_MAX_ITERS` (over a ball it
#: often takes all of them; global 14-59). Before, a fixed 0.5 s plus the layer pairs' cubes
#: (the block tridiagonal pattern, not what the method computes with) estimated 20-12x30-1 at
#: 0.6 s for 1.6-4.4 s measured.
LIPSDP_BASE_SECONDS = 0.1
LIPSDP_ITER_SECONDS = 9e-3
LIPSDP_ITER_LAYER_SECONDS = 4e-4
LIPSDP_ITER_SQUARE_SECONDS = 2e-7
LIPSDP_ITER_CUBE_SECONDS = 5e-10
LIPSDP_MAX_ITERS = 100
#: Form "dense" (N <= 40, CVXOPT): per rebalancing round (two in most runs), measured 0.05-0.5 s
#: (N = 16-40).
LIPSDP_DENSE_ROUND_SECONDS = 0.6
#: Form "chordal" (above 2,000 neurons with layer pairs of at most 60): not measured this
#: round; seconds per (n_k + n_{k+1})^3 summed over consecutive layers, per iteration of
#: about 30.
LIPSDP_CHORDAL_SECONDS_PER_CUBE = 1.2e-8
#: "geolip": a fixed cost plus seconds per N^3 per functional, N = inputs + hidden neurons
#: (the structured interior-point method, about 20 iterations of dense N x N work; digits
#: 64-100-100-10, N = 264: 2.0 s; 64-200-200-200-10, N = 664: 21 s, at load 7-8).
GEOLIP_BASE_SECONDS = 0.3
GEOLIP_SECONDS_PER_CUBE = 8e-8
#: The cost of each functional after the first, as a fraction of a full solve (see
#: ``_cost_geolip``).
GEOLIP_FURTHER_FUNCTIONAL = 0.3
#: The reduced LMI over a local region (inputs + unstable neurons; more iterations, about 50,
#: and dense composed maps): 64-100-100-10 digits MLP, box 0.05, N = 123: 0.57 s;
#: 64-200-200-200-10, N = 258: 5.7 s (load 12). One solve per functional (no dominance stop).
GEOLIP_REDUCED_SECONDS_PER_CUBE = 3e-7
#: Share of the time left that "auto" gives "geolip" (its structured method stops there with
#: a certified bound short of the optimum; the digits MLPs converge well within it at 60 s).
AUTO_GEOLIP_SHARE = 0.5
#: "eclipse": seconds per n_k^3 summed over the hidden layers (a Cholesky factorization and
#: an eigenvalue per layer; 64-200-200-200-10: 0.24 s at load 10, 2.4e7 cubed).
ECLIPSE_SECONDS_PER_CUBE = 1e-8
#: Share of the time left that "lipsdp" gets in "auto" (stopped there it still certifies its
#: multipliers); the rest is for the steps after it (one hidden layer: Shor with cuts).
AUTO_LIPSDP_SHARE = 0.7
#: What any step costs beyond its model: the worker's fork, building and certifying a small
#: relaxation (3-5-1 networks: 0.1-0.6 s per SDP or LP step, two loaded cores).
STEP_SECONDS = 0.1
#: "milp" gives no bound until HiGHS has processed its root node; measured time to a first
#: bound (doubling time limits 0.25-64 s, 2 loaded cores, load 7-9, box of radius 0.05,
#: margins): 64-16-16-10 digits MLP, 6-9 unstable neurons, 0.5-1 s; random 64-30-30-10,
#: 30-36 unstable, 1, 4 and 16 s; random 64-60-60-10, 58 unstable, 64 s; 64-100-100-10 digits
#: MLP, 57 unstable, no bound at 8 s (one margin at 40 s, another not). The lower envelope
#: ``MILP_FIRST_BOUND_SECONDS * 2 ** (unstable / MILP_FIRST_BOUND_DOUBLING)`` lies below every
#: measured point (0.35 s at 7, 1.0 s at 30, 3.5 s at 57): a "milp" step whose time (or node)
#: limit is below it is not started (:func:`milp_too_short`), since it would end with no bound.
#: Before, in a batch of 1,008 local certificates of the 64-100-100-10 MLP with a budget of
#: 2 s a row, "milp-true" took 1.1-1.4 s of every row and gave no bound on any.
MILP_FIRST_BOUND_SECONDS = 0.25
MILP_FIRST_BOUND_DOUBLING = 15.0
#: Deterministic mode: branch-and-bound nodes of "milp" per second of its share (digits MLP,
#: margin 3-8, HiGHS: 50 nodes in 6.4 s, 150 in 9 s, 400 in 11 s, the root about 5 s).
MILP_NODES_PER_SECOND = 25.0


# ---------------------------------------------------------------------------------------------
# what a step is
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Condition:
    """When a step applies: ``holds(run)`` reads the run's facts (:class:`~polylip.nn.methods.
    auto.Facts`: norm, region, activations, gradient POPs) or the outputs of earlier steps;
    ``needs`` says it in words (a skipped step's reason is "needs <needs>")."""

    needs: str
    holds: Callable


@dataclass(frozen=True)
class Step:
    """One step of the plan.

    Attributes
    ----------
    id : str
        Unique label (in ``details["plan"]`` and ``details["best_step"]``).
    method : str
        The method run, by its name in the registry (a step whose method is not registered is
        skipped).
    why : str
        Why the step sits where it does (read by people; shown by ``polylip lipschitz``).
    when : tuple of Condition
        All must hold, else the step is not applicable.
    options : callable
        ``options(run, step) -> dict``: the method's options, computed when the step starts
        (time shares are fractions of the time then left).
    share : float or None
        Fraction of the time left the step gets (for "milp" its solver time limit, for "shor"
        with cuts the time of its rounds); None: no share of its own (it may use what is left).
    too_large : callable or None
        ``too_large(run, options) -> reason or None``, checked before the step starts (cheap:
        counted, not built). A reason is recorded and the step skipped.
    guard : callable or None
        ``guard(run, options) -> reason or None``, checked inside the step's worker (it may
        build the relaxation to measure it, which the deadline must be able to stop).
    ends : tuple or None
        ``(key, value(out))``: a closed result (status "ok" with a bound) ends the search and
        sets ``details[key]``.
    inline : bool
        Run at once in this process ("product", "interval": closed forms, the fallback bound).
    cost : callable or None
        ``cost(run, options) -> dict``: the estimate of :func:`estimate` (None: the method's
        default in :data:`COSTS`).
    """

    id: str
    method: str
    why: str
    when: tuple = ()
    options: Callable = lambda run, step: {}
    share: float | None = None
    too_large: Callable | None = None
    guard: Callable | None = None
    ends: tuple | None = None
    inline: bool = False
    cost: Callable | None = None

    def blocked(self, run) -> str | None:
        """The first condition that does not hold, in words (None: the step applies)."""
        for c in self.when:
            if not c.holds(run):
                return f"needs {c.needs}"
        return None


def step(id: str) -> Step:
    """The step of :data:`PLAN` with this id."""
    return next(s for s in PLAN if s.id == id)


# ---------------------------------------------------------------------------------------------
# conditions
# ---------------------------------------------------------------------------------------------
def _norm_name(p: float) -> str:
    return "l_inf" if p == math.inf else f"l_{p:g}"


def norm_in(*norms) -> Condition:
    """The input norm is one of ``norms``."""
    return Condition("the " + " or ".join(_norm_name(p) for p in norms) + " input norm",
                     lambda run: run.facts.norm in norms)


BOUNDED = Condition("a box or a ball region", lambda run: run.facts.bounded)
RELU_TYPE = Condition("ReLU-type activations (relu, leaky_relu with alpha <= 1, identity)",
                      lambda run: run.facts.relu_type)
FIXED_OUTPUT = Condition("a fixed output functional (not an l_2 vector output)",
                         lambda run: run.facts.fixed_output)
FORMAL_TARGET = Condition("a global region or an activation that is not ReLU-type (else "
                          "milp-true bounds the true constant instead)",
                          lambda run: not (run.facts.bounded and run.facts.relu_type))
GRADIENT_POP = Condition("the gradient POP (it could not be built: see the 'shor, lp, sdp' "
                         "record of details['tried'])", lambda run: run.facts.pops is not None)
EXPANDED = Condition("the expanded gradient POP with a fixed output functional",
                     lambda run: run.facts.expanded)
DEGREE_2 = Condition("the expanded gradient POP of degree 2 (one hidden layer)",
                     lambda run: run.facts.degree_2)
NOT_DEGREE_2 = Condition("a gradient POP of degree above 2 or the lifted one (degree 2: "
                         "shor-cuts)", lambda run: run.facts.pops is not None
                         and not run.facts.degree_2)
NOT_L2 = Condition("an input norm other than l_2 (l_2: shor-cuts-l2 ran instead)",
                   lambda run: run.facts.norm != 2.0)
def _l2_outputs(run) -> bool:
    """A scalar or margin output, an l_2 vector output, or a vector output whose dual ball
    has a finite list of extreme functionals (l_inf; l_1 up to 16 outputs): one LipSDP each."""
    net = run.problem.net
    if net.functional() is not None or net.output.norm == 2.0:
        return True
    try:
        functionals(net)
    except ModelError:
        return False
    return True


FIXED_OR_L2 = Condition("a scalar or margin output, a vector output in l_2, or one in l_inf "
                        "or l_1 (then one LipSDP per extreme functional)", _l2_outputs)
ONE_HIDDEN = Condition("one hidden layer", lambda run: run.facts.num_hidden == 1)
LP_LOW_BOUNDED = Condition("a bound from lp-low (a degree that reaches no bound makes the next "
                           "one no cheaper)",
                           lambda run: getattr(run.output_of("lp-low"), "upper", None)
                           is not None)
def _milp_share(run) -> float | None:
    """The time limit (its share of the time left) of the last "milp" step that stopped at it;
    None when none did."""
    share = None
    for kw, out in run.runs_of("milp"):
        if out is None or out.status not in ("time_limit", "node_limit"):
            continue
        if kw.get("time_limit") is not None:
            share = kw["time_limit"]
        elif kw.get("node_limit") is not None:
            share = kw["node_limit"] / MILP_NODES_PER_SECOND
    return share


def milp_node_limit(run) -> bool:
    """Whether the registered method "milp" takes a work limit (``node_limit``)."""
    entry = run.methods.get("milp") if run.methods is not None else None
    names = getattr(getattr(entry, "options", None), "names", None)
    return names is not None and "node_limit" in names()


BOX = Condition("a box region", lambda run: getattr(run.problem.region, "kind", None) == "box")


MILP_WORK = Condition("a work limit for milp in deterministic mode (its option node_limit; "
                      "without it milp stops only by the clock)",
                      lambda run: not run.deterministic or milp_node_limit(run))


MILP_STOPPED = Condition(
    f"an earlier milp step stopped at its time limit, with more than {AUTO_MILP_RERUN_FACTOR:g} "
    "times its share still left",
    lambda run: (_milp_share(run) is not None
                 and run.time_left() > AUTO_MILP_RERUN_FACTOR * _milp_share(run)))


# ---------------------------------------------------------------------------------------------
# options and size tests
# ---------------------------------------------------------------------------------------------
def _nodes(seconds: float) -> int:
    return max(1, int(MILP_NODES_PER_SECOND * seconds))


def milp_root_seconds(run) -> float:
    """Deterministic mode: the seconds of "milp" its node limit does not count, HiGHS's root
    node (presolve, root LP, cuts) once per output functional, at the lower envelope
    :func:`milp_first_bound`. Before, the node limit alone was the estimate: on 64-30-30-10
    with ten outputs (vector:inf, box 0.05, 33 unstable neurons) "milp-true" estimated at
    1.6 s ran 14.7 s, its ten roots, and was stopped by the safety net (QA round 5)."""
    return len(functionals(run.problem.net)) * milp_first_bound(run.problem)


def _milp_options(run, step) -> dict:
    """Its share of the time left as the time limit (the runner leaves a reserve before the
    deadline); stopped there, HiGHS's dual bound is still certified. Deterministic: the same
    share, less the root nodes (:func:`milp_root_seconds`), as a node limit."""
    if run.deterministic:
        work = step.share * run.time_left() - milp_root_seconds(run)
        return {"time_limit": None, "node_limit": _nodes(max(work, 0.0)),
                "gap": AUTO_MILP_GAP}
    return {"time_limit": step.share * run.time_left(), "gap": AUTO_MILP_GAP}


def bab_node_seconds(problem) -> float:
    """The estimated seconds of one node of "bab" on ``problem`` (:data:`BAB_NODE_SECONDS`,
    from :func:`polylip.nn.methods.bab.node_work`; it reads ``problem.net`` only)."""
    loops, flops = node_work(problem.net)
    return BAB_NODE_SECONDS + BAB_LOOP_SECONDS * loops + flops / BAB_FLOPS_PER_SECOND


def _bab_options(run, step) -> dict:
    """Its share of the time left as the time limit; deterministic: as a node limit (the
    share over :func:`bab_node_seconds`)."""
    seconds = step.share * run.time_left()
    if run.deterministic:
        nodes = int(seconds / bab_node_seconds(run.problem))
        return {"time_limit": None, "node_limit": max(1, nodes)}
    return {"time_limit": seconds}


def _milp_rest_options(run, step) -> dict:
    if run.deterministic:
        work = run.time_left() - milp_root_seconds(run)
        return {"time_limit": None, "node_limit": _nodes(max(work, 0.0)), "gap": AUTO_MILP_GAP}
    return {"time_limit": None, "gap": AUTO_MILP_GAP}  # None: all the time left


def _shor_cuts_options(run, step) -> dict:
    seconds = None if run.deterministic else step.share * run.time_left() / len(run.facts.pops)
    return {"solver": run.solver, "rlt": "cuts", "rounds": AUTO_CUT_ROUNDS, "seconds": seconds}


def _solver_options(run, step) -> dict:
    return {"solver": run.solver}


def _lipsdp_options(run, step) -> dict:
    """Its share of the time left as its time limit (stopped there, the structured form's
    multipliers are feasible and still certify a bound; 64-200-200-200-10: 39.2 after 3 s,
    33.84 after 6 s, 33.65 at its optimum after 16-18 s)."""
    out = {} if run.solver == "auto" else {"solver": run.solver}
    out["time_limit"] = None if run.deterministic else step.share * run.time_left()
    if run.deterministic:  # the share as an iteration limit of the structured form
        model = lipsdp_model(run.problem)
        if model["form"] == "structured":
            work = step.share * run.time_left() / model["functionals"] - LIPSDP_BASE_SECONDS
            out["max_iters"] = int(min(LIPSDP_MAX_ITERS,
                                       max(1, work // model["iteration_seconds"])))
    return out


def _geolip_options(run, step) -> dict:
    """Its share of the time left as the time limit (deterministic: none; the estimate is
    charged to the virtual clock and the method's iterations are bounded)."""
    if run.deterministic:
        return {"time_limit": None}
    return {"time_limit": step.share * run.time_left()}


def _lp_options(extra: int):
    def options(run, step) -> dict:
        degree = run.facts.pops[0].pop.objective.degree + extra
        return {"degree": degree, "solver": run.solver, "time_limit": None}
    return options


def _lp_too_large(run, options) -> str | None:
    size = lp_size(run.facts.pops[0], options["degree"])
    if size > AUTO_MAX_LP_PRODUCTS:
        return f"too large ({size:.3g} box products in the cliques)"
    return None


def _neuron_options(run, step) -> dict:
    return {"sparsity": "neuron", "solver": "clarabel", "side": "sos"}


def _neuron_guard(run, options) -> str | None:
    block, nvars = predict(run.facts.pops, None, "neuron")
    if block > AUTO_MAX_BLOCK or nvars > 4 * AUTO_MAX_VARS:
        return f"too large (block {block}, {nvars} free variables)"
    return None


def _network_options(run, step) -> dict:
    order = max(2, max(gp.pop.min_order() for gp in run.facts.pops))
    return {"order": order, "solver": run.solver}


def _network_too_large(run, options) -> str | None:
    block = max(clique_block(gp, options["order"]) for gp in run.facts.pops)
    if block > AUTO_MAX_BLOCK:
        return f"too large (a clique's moment matrix has size {block})"
    return None


def _network_guard(run, options) -> str | None:
    block, nvars = predict(run.facts.pops, options["order"], "network")
    if block > AUTO_MAX_BLOCK or nvars > AUTO_MAX_VARS:
        return f"too large (block {block}, {nvars} free variables)"
    return None


def _l2_clique(net) -> int:
    """The most hidden neurons on paths from one input to the output (nonzero weights)."""
    layers = net.affine_layers
    back = np.ones(layers[-1][0].shape[0], dtype=bool)
    backs = []
    for W, _ in layers[:0:-1]:  # which neurons of each hidden layer reach the output
        back = np.asarray(abs(W).T @ back.astype(float)).ravel() > 0
        backs.append(back)
    backs = backs[::-1]
    reach = np.eye(net.input_dim, dtype=float)  # rows: inputs
    count = np.zeros(net.input_dim)
    for (W, _), live in zip(layers[:-1], backs):
        reach = (np.asarray(abs(W) @ reach.T).T > 0).astype(float)
        count += (reach * live).sum(axis=1)
        reach = reach * live
    return int(count.max(initial=0))


def _dp_too_large(run, options) -> str | None:
    """"dp" works on the expanded POP only: refuse at once when it would exceed the method's
    ``max_terms`` (it would build the lifted POP of every functional to find out)."""
    if run.problem.net.num_hidden <= 1:
        return None  # one hidden layer: always expanded
    entry = run.methods.get("dp")
    defaults = getattr(getattr(entry, "options", None), "defaults", dict)()
    table = defaults.get("max_table_entries")
    if run.problem.norm == 2.0 and table is not None:
        # l_2: the squared gradient norm ties every hidden neuron on a path from one input to
        # the output into one clique (methods/dp.py, _check_square), so its width is at least
        # that clique's size less one; counted here by reachability, before any POP is built
        # (digits 64-100-100-10: dp spent 50-55 s building the POPs before refusing 2^200)
        width = _l2_clique(run.problem.net) - 1
        # compared in log2: 2.0 ** width overflowed past width 1023 (an OverflowError out of
        # lipschitz() on 784-1000-1000-1000-10, l_2)
        if width > 0 and width > math.log2(max(float(table), 1.0)):
            return (f"too large (l_2: one input reaches {width + 1} hidden neurons, a table of "
                    f"at least 2^{width} entries, above dp's max_table_entries = {int(table):,})")
    limit = defaults.get("max_terms")
    pops = pop_estimate(run.problem)
    if limit is not None and pops["paths"] > limit:
        return (f"too large (the expanded gradient POP has {pops['paths']:.3g} paths, above "
                f"dp's max_terms = {int(limit):,})")
    return None


def _milp_gap(out):
    return out.details["gap"]


def milp_first_bound(problem) -> float:
    """The least seconds "milp" needs for a first bound on ``problem`` (a lower envelope of
    measured times, see :data:`MILP_FIRST_BOUND_SECONDS`)."""
    doublings = _unstable(problem) / MILP_FIRST_BOUND_DOUBLING
    if doublings > 1000:  # 2.0 ** 1024 overflows; any such estimate is "never"
        return math.inf
    return MILP_FIRST_BOUND_SECONDS * 2.0 ** doublings


def milp_too_short(run, options) -> str | None:
    """Why a "milp" step is not started: its time limit (no limit: the time left) is below
    :func:`milp_first_bound`, so it would stop before its first bound; deterministic mode:
    its share did not cover the root nodes (:func:`milp_root_seconds`)."""
    if options.get("node_limit") is not None:
        # deterministic: the node limit is the share less the root nodes (_milp_options); at
        # its floor of one node the share did not cover them
        roots = milp_root_seconds(run)
        if options["node_limit"] <= 1 and roots > 0:
            return (f"its share of the work left does not cover the {roots:.3g} s of HiGHS's "
                    f"root nodes ({len(functionals(run.problem.net))} functionals, "
                    f"{_unstable(run.problem)} unstable neurons)")
        return None
    if options.get("time_limit") is not None:
        seconds = min(options["time_limit"], run.time_left())
    else:
        seconds = run.time_left()
    need = milp_first_bound(run.problem)
    if seconds < need:
        return (f"its limit ({seconds:.3g} s) is below the {need:.3g} s HiGHS needs at least "
                f"for a first bound with {_unstable(run.problem)} unstable neurons (it would "
                "stop with no bound)")
    return None


def lifted_shor_seconds(problem) -> float:
    """The estimated seconds of "shor" on the lifted gradient POP (one functional; its
    variables t, one sigma per unstable neuron and one z per neuron after the first layer):
    the cheapest step that reads a lifted POP (:func:`_cost_shor`'s model, counted from the
    network before the POPs are built)."""
    net = problem.net
    nvars = net.input_dim + _unstable(problem) + sum(net.widths[1:])
    return SHOR_SECONDS_161 * ((nvars + 1) / 161.0) ** 3 * SHOR_LIFTED_FACTOR


# ---------------------------------------------------------------------------------------------
# cost estimates
# ---------------------------------------------------------------------------------------------
def _nnz(W) -> int:
    return int(W.nnz) if hasattr(W, "nnz") else int(np.count_nonzero(W))


def _unstable(problem) -> int:
    return int(sum(np.count_nonzero(hi > lo) for lo, hi in
                   zip(problem.bounds.deriv_lo, problem.bounds.deriv_hi)))


def pop_estimate(problem) -> dict:
    """What building the gradient POPs costs, counted before building them (kept in
    ``problem.cache``): ``functionals``, ``paths`` (largest over functionals, stable-off
    neurons removed), the ``formulation`` "auto" would choose, ``weights`` and ``seconds``.
    """
    key = ("pop_estimate",)
    if key in problem.cache:
        return problem.cache[key]
    net = problem.net
    b = problem.bounds
    zero = [hi <= 0 for hi in b.deriv_hi]
    fs = functionals(net)
    paths = max(count_paths(net, zero, None if u is None else np.asarray(u, float))
                * (net.output_dim if u is None else 1) for u in fs)
    weights = sum(_nnz(W) for W, _ in net.affine_layers)
    expanded = paths <= MAX_TERMS or (net.num_hidden <= 1 and fs[0] is not None)
    each = POP_TERM_SECONDS * paths if expanded else POP_WEIGHT_SECONDS * weights
    out = {"functionals": len(fs), "paths": float(paths),
           "formulation": "expanded" if expanded else "lifted", "weights": int(weights),
           "seconds": float(len(fs) * each)}
    problem.cache[key] = out
    return out


#: "product" and "interval" run in "auto"'s own process (no fork) when they are counted at
#: most this many floating-point operations (:func:`closed_form_flops`), else in a worker
#: stopped at the deadline. Measured with one BLAS thread, loads 4-8: 784-500-500-10 l_2
#: product (8e8 counted) 0.08 s; CROWN bounds of 784-1000-1000-1000-10 over a box (9e9)
#: 0.95 s of CPU, 2.0 s of wall clock; the 64-100-100-10 digits MLP (4e6 over a box) stays
#: in-process, as before (a fork costs 10-30 ms, a row of a 1,000-certificate batch ~2 s).
CLOSED_FORM_INLINE_FLOPS = 3e8


def closed_form_flops(problem, method) -> float:
    """Floating-point operations "product" or "interval" would spend on ``problem``, counted
    from the layer sizes: the region's bound propagation when it is not cached (CROWN: each
    hidden layer's back-substitution through the layers before it, upper and lower; IBP: the
    weights), and for "product" in l_2 the spectral norms (the Gram matrix and its symmetric
    eigenvalue problem of the smaller side k: ``m n k + 2 k^3``)."""
    net, region = problem.net, problem.region
    layers = net.affine_layers
    flops = 0.0
    if region.input_box() is not None and "bounds" not in problem.__dict__ \
            and not bounds_cached(region, net):
        nnz = [float(_nnz(W)) for W, _ in layers[:net.num_hidden]]
        flops += sum(nnz)
        if getattr(region, "bounds", "crown") == "crown":
            flops += sum(2.0 * layers[k][0].shape[0] * sum(nnz[:k + 1])
                         for k in range(1, net.num_hidden))
    if method == "product" and problem.norm == 2.0:
        mats = [W for W, _ in layers[:-1]]
        if net.functional() is None and getattr(net.output, "norm", None) == 2.0:
            mats.append(layers[-1][0])
        for W in mats:
            m, n = W.shape
            k = min(m, n)
            flops += float(m) * n * k + 2.0 * float(k) ** 3
    return flops


def _cost_closed_form(run, options) -> dict:
    return {"weights": sum(_nnz(W) for W, _ in run.problem.net.affine_layers), "seconds": 0.0}


def _cost_dp(run, options) -> dict:
    pops = pop_estimate(run.problem)
    return {"paths": pops["paths"], "functionals": pops["functionals"],
            "seconds": pops["functionals"] * (POP_TERM_SECONDS + DP_TERM_SECONDS)
            * pops["paths"]}


def _cost_milp(run, options) -> dict:
    net, K = run.problem.net, _unstable(run.problem)
    n0 = net.input_dim
    out = {"unstable": K, "binaries": K + (n0 if run.facts.norm == math.inf else 2 * n0),
           "functionals": len(functionals(net))}
    if options.get("node_limit") is not None:  # the nodes, and the roots they do not count
        out["node_limit"] = options["node_limit"]
        out["root_seconds"] = milp_root_seconds(run)
        out["seconds"] = options["node_limit"] / MILP_NODES_PER_SECOND + out["root_seconds"]
    else:  # it stops at its time limit (None: all the time left)
        limit = options.get("time_limit")
        out["seconds"] = run.time_left() if limit is None else min(limit, run.time_left())
    return out


def _cost_bab(run, options) -> dict:
    """It stops at its time or node limit (or earlier, closed)."""
    K = _unstable(run.problem)
    if options.get("node_limit") is not None:
        each = bab_node_seconds(run.problem)
        return {"unstable": K, "node_limit": options["node_limit"], "node_seconds": each,
                "seconds": options["node_limit"] * each}
    limit = options.get("time_limit")
    return {"unstable": K, "seconds": run.time_left() if limit is None
            else min(limit, run.time_left())}


def _cost_lp(run, options) -> dict:
    size = lp_size(run.facts.pops[0], options["degree"])
    return {"products": size, "degree": options["degree"],
            "functionals": len(run.facts.pops),
            "seconds": len(run.facts.pops) * LP_SECONDS_1E5 * (size / 1e5) ** 2.5}


def _cost_shor(run, options) -> dict:
    pops = run.facts.pops
    gp = pops[0]
    lifted = gp.pop.degree > 2 or gp.formulation == "lifted"
    if gp.pop.degree > 2:  # shor rebuilds it lifted: t, the free sigmas and one z per neuron
        net = run.problem.net
        nvars = net.input_dim + _unstable(run.problem) + sum(net.widths[1:])
    else:
        nvars = len(gp.pop.variables)
    solves = 1 + (options.get("rounds") or 0) if options.get("rlt") == "cuts" else 1
    seconds = len(pops) * solves * SHOR_SECONDS_161 * ((nvars + 1) / 161.0) ** 3 \
        * (SHOR_LIFTED_FACTOR if lifted else 1.0)
    if options.get("seconds") is not None and solves > 1:  # the rounds stop at their share
        seconds = min(seconds, len(pops) * (SHOR_SECONDS_161 * ((nvars + 1) / 161.0) ** 3
                                            + options["seconds"]))
    return {"block": nvars + 1, "formulation": "lifted" if lifted else gp.formulation,
            "solves": solves, "functionals": len(pops), "seconds": seconds}


def _cost_sdp(run, options) -> dict:
    pops = run.facts.pops
    if options.get("sparsity") == "neuron":
        sizes = [2 * len(c) for c in pops[0].cliques]
    else:
        order = options.get("order") or 2
        block = max(clique_block(gp, order) for gp in pops)
        sizes = [block] * len(pops[0].cliques)
    rate = SDP_NEURON_SECONDS_PER_CUBE if options.get("sparsity") == "neuron" \
        else SDP_SECONDS_PER_CUBE
    return {"block": max(sizes, default=0), "blocks": len(sizes), "functionals": len(pops),
            "seconds": len(pops) * rate * float(sum(float(k) ** 3 for k in sizes))}


def _functional_count(net) -> int:
    """How many LipSDP / ECLipsE solves the output takes (one per extreme functional of an
    l_inf or l_1 vector output, else one)."""
    return 1 if net.functional() is not None or net.output.norm == 2.0 else len(functionals(net))


def _cost_eclipse(run, options) -> dict:
    """One recursion and certificate per output functional."""
    net = run.problem.net
    sizes = net.layer_sizes
    k = _functional_count(net)
    return {"neurons": int(sum(sizes[1:-1])), "functionals": k,
            "seconds": k * ECLIPSE_SECONDS_PER_CUBE * float(sum(float(n) ** 3
                                                                for n in sizes[1:-1]))}


def lipsdp_model(problem) -> dict:
    """What "lipsdp" will solve, counted from the network and the region's slope ranges as
    :func:`polylip.nn.lipsdp.lipsdp_data` prunes them (neurons with a zero slope range go;
    the input block is reduced to ``min(n_0, n_1)``): ``form`` (by the rule of
    :func:`polylip.nn.lipsdp.choose_form`), ``N``, ``depth``, ``functionals`` and, for the
    structured form, ``iteration_seconds``."""
    net = problem.net
    kept = [int(np.count_nonzero((np.asarray(lo) != 0) | (np.asarray(hi) != 0)))
            for lo, hi in problem.bounds.derivative_bounds]
    depth = sum(1 for k in kept if k > 0)
    nh = int(sum(kept))
    sizes = [net.input_dim] + [k for k in kept if k > 0]
    N = min(net.input_dim, net.layer_sizes[1]) + nh
    out = {"form": "structured", "N": N, "depth": depth, "functionals": _functional_count(net)}
    if N <= AUTO_DENSE_MAX_N or depth == 0:
        out["form"] = "dense"
    elif N > AUTO_STRUCTURED_MAX_N:
        pair = max((a + b for a, b in zip(sizes[:-1], sizes[1:])), default=0)
        out["form"] = "chordal" if pair <= AUTO_CHORDAL_MAX_PAIR else None
        out["cube"] = float(sum(float(a + b) ** 3 for a, b in zip(sizes[:-1], sizes[1:])))
    if out["form"] == "structured":
        out["iteration_seconds"] = (LIPSDP_ITER_SECONDS + LIPSDP_ITER_LAYER_SECONDS * depth
                                    + LIPSDP_ITER_SQUARE_SECONDS * float(N) ** 2
                                    + LIPSDP_ITER_CUBE_SECONDS * float(N) ** 3)
    return out


def _cost_lipsdp(run, options) -> dict:
    """One solve per output functional (an l_inf vector output: one per class), by the form
    it will use (:func:`lipsdp_model`): structured, its iterations (``max_iters``, else
    :data:`LIPSDP_MAX_ITERS`) at the iteration's cost; stopped at a time limit, that."""
    model = lipsdp_model(run.problem)
    k, form = model["functionals"], model["form"]
    if form == "structured":
        iters = options.get("max_iters") or LIPSDP_MAX_ITERS
        each = LIPSDP_BASE_SECONDS + iters * model["iteration_seconds"]
    elif form == "dense":
        each = LIPSDP_BASE_SECONDS + 2 * LIPSDP_DENSE_ROUND_SECONDS
    elif form == "chordal":
        each = LIPSDP_BASE_SECONDS + 30 * LIPSDP_CHORDAL_SECONDS_PER_CUBE * model["cube"]
    else:  # refused at once: too large for every form
        each = 0.0
    seconds = k * each
    if options.get("time_limit") is not None:
        seconds = min(seconds, float(options["time_limit"]))
    return {**{key: v for key, v in model.items() if key != "cube"}, "seconds": seconds}


def _cost_geolip(run, options) -> dict:
    """The layered LMI's size; over a box or a ball with neurons of fixed slope the reduced one
    (inputs + unstable neurons, :mod:`polylip.nn.geolip_reduced`)."""
    net = run.problem.net
    N = net.input_dim + int(sum(net.widths))
    k = len(functionals(net))
    out = {"lmi_size": N, "functionals": k}
    if (options.get("reduce", True) and options.get("form") != "dense"
            and getattr(run.problem.region, "center", None) is not None):
        n = net.input_dim + _unstable(run.problem)
        if n < N:
            out["reduced_size"] = n
            out["seconds"] = k * (GEOLIP_BASE_SECONDS
                                  + GEOLIP_REDUCED_SECONDS_PER_CUBE * float(n) ** 3)
            return out
    # one full solve, then each further functional stops once it is below the largest
    # (geolip_max): 64 and 58 iterations for the 10 outputs of the digits MLPs against 211 and
    # 183 solving each, i.e. about a quarter of a solve per further functional
    solves = 1.0 + GEOLIP_FURTHER_FUNCTIONAL * (k - 1)
    out["seconds"] = solves * (GEOLIP_BASE_SECONDS + GEOLIP_SECONDS_PER_CUBE * float(N) ** 3)
    return out


#: The default cost estimate of each method (a step's ``cost`` replaces it).
COSTS = {"product": _cost_closed_form, "interval": _cost_closed_form, "dp": _cost_dp,
         "milp": _cost_milp, "bab": _cost_bab, "lp": _cost_lp, "shor": _cost_shor,
         "sdp": _cost_sdp, "lipsdp": _cost_lipsdp, "geolip": _cost_geolip,
         "eclipse": _cost_eclipse}


def estimate(run, step, options) -> dict | None:
    """The estimated cost of ``step`` run with ``options`` (a dict of the sizes that drive it
    and ``seconds``, a rough time), or None when there is no model for its method. Counted
    from the network, the region's bounds and the gradient POPs already built: nothing is
    built for it.

    Examples
    --------
    >>> import numpy as np
    >>> from polylip.nn import METHODS, Network
    >>> from polylip.nn.methods.auto import AutoOptions, Facts, Run
    >>> from polylip.nn.problem import LipschitzProblem
    >>> from polylip.nn.regions import GlobalRegion
    >>> net = Network.from_weights([np.ones((4, 3)), np.ones((1, 4))])
    >>> run = Run(LipschitzProblem(net, np.inf, GlobalRegion(), methods=METHODS), AutoOptions())
    >>> run.facts = Facts.of(run.problem)
    >>> e = estimate(run, step("milp-formal"), {"time_limit": 5.0})
    >>> e["unstable"], e["binaries"], e["seconds"] > 0
    (4, 7, True)
    """
    fn = step.cost or COSTS.get(step.method)
    if fn is None:
        return None
    try:
        out = fn(run, options)
    except (AttributeError, TypeError, ValueError, KeyError, IndexError, ArithmeticError):
        return None  # a replaced method's options or a POP of another shape: no estimate
    if out.get("seconds") is not None:
        out["seconds"] = float(out["seconds"]) + (0.0 if step.inline else STEP_SECONDS)
    return out


# ---------------------------------------------------------------------------------------------
# the plan
# ---------------------------------------------------------------------------------------------
PLAN = (
    Step("product", "product", inline=True, why=(
        "Always, first, at once (a closed form): the result is never above it.")),
    Step("interval", "interval", inline=True, why=(
        "Always, at once: interval bounds on the Jacobian, often below the product; with it, "
        "the bound returned when no later step finishes in the budget.")),
    Step("geolip", "geolip", share=AUTO_GEOLIP_SHARE, options=_geolip_options,
         when=(norm_in(math.inf), FIXED_OUTPUT), why=(
        "l_inf: GeoLIP's SDP (one multiplier per input and per neuron, cost about "
        "(inputs + neurons)^3, seconds on the digits MLPs), right after the closed forms: on "
        "deep networks it is far below them and below Shor of the lifted POP (digits "
        "64-200-200-200-10, margin 3-8, global: 237 against interval's 9850; benchmarks/"
        "RESULTS.md, \"Global l_inf: GeoLIP\"), and it gives "
        "the later, dearer steps a bound to beat. Half the time left: stopped there it still "
        "certifies its current multipliers. Over a box or a ball the stable neurons are "
        "eliminated (an LMI of inputs plus unstable neurons: 64-200-200-200-10, box 0.05, "
        "193.7 in 6 s where bab reached 1077 in 60 s), so it runs before bab.")),
    Step("bab", "bab", share=AUTO_BAB_SHARE, options=_bab_options,
         when=(norm_in(math.inf), FIXED_OUTPUT, BOX),
         ends=("true_within", lambda out: out.details["gap"]), why=(
        "Over a box in l_inf: branch and bound on the activation signs with linear bounds "
        "through the Jacobian bounds the true local constant from its first node (in "
        "milliseconds, below \"interval\") and closes small cases by enumeration (digits "
        "64-16-16-10, box 0.05: 0.2 s where \"milp\" took 5.4 s); on the 64-100-100-10 MLP "
        "it is the step that gets furthest (215 in 60 s; \"milp-true\" no bound). Half of the "
        "time left, since \"milp\" gets further on random networks with many unstable "
        "neurons; closed, it ends the search.")),
    Step("eclipse", "eclipse", when=(norm_in(2.0), FIXED_OR_L2), why=(
        "l_2: ECLipsE-Fast, a closed-form layer-by-layer bound on the LipSDP matrix (no SDP; "
        "64-200-200-200-10: 49.0 in 0.24 s against the product's 73.9), the l_2 bound when "
        "LipSDP does not finish in the budget.")),
    Step("lipsdp", "lipsdp", share=AUTO_LIPSDP_SHARE, options=_lipsdp_options,
         when=(norm_in(2.0), FIXED_OR_L2), why=(
        "l_2: LipSDP-Neuron, one LMI in the slope multipliers, the l_2 relaxation that scales "
        "to wide and deep networks and vector outputs (the structured interior-point form; "
        "64-100-100-10 in 2 s, 64-200-200-200-10 in 16-18 s, 0.6-2% above the formal "
        "constant). Before \"dp\" and before the gradient POPs are built, with "
        f"{AUTO_LIPSDP_SHARE:.0%} of the time left as its time limit: stopped there its "
        "multipliers still certify a bound, and the rest goes to the steps after it (one "
        "hidden layer: Shor with cuts, which on the digits CNN over a box of radius 0.05 "
        "reached the lower bound in 1.2 s where LipSDP took over 30 s).")),
    Step("milp-true", "milp", share=AUTO_MILP_TRUE_SHARE, options=_milp_options,
         too_large=milp_too_short, when=(norm_in(math.inf, 1.0), FIXED_OUTPUT, BOUNDED, RELU_TYPE, MILP_WORK),
         ends=("true_within", _milp_gap), why=(
        "Over a box or a ball with ReLU-type activations, \"milp\" ties the activation pattern "
        "to an input and bounds the *true* local constant, which can lie below the formal one "
        "that every later step bounds; on such regions it closes in seconds where \"dp\" may "
        "take the whole budget (deep 3x20 box: milp 4 s, dp over 54 s). So it comes first, "
        "with two thirds of the time left (deep 2x40 box: 21.79 with 54 s against 33.46 with a "
        "third of 60 s; Shor and the LP time out there), and closed it ends the search.")),
    Step("dp", "dp", when=(norm_in(math.inf, 2.0, 1.0), FIXED_OUTPUT), too_large=_dp_too_large,
         ends=("exact_formal", lambda out: True), why=(
        "When the POP's elimination width fits (banded or small networks), \"dp\" gives the "
        "exact formal constant, the optimum of the POP every relaxation below bounds from "
        "above; LipSDP cannot go below it either (every fixed activation pattern is "
        "slope-restricted in the derivative ranges). Planning is cheap and a width above its "
        "table budget returns too_large at once, so it comes before every relaxation, and a "
        "certified \"dp\" ends the search. Refused before it starts when the expanded POP "
        "exceeds its max_terms (counted paths).")),
    Step("milp-formal", "milp", share=AUTO_MILP_SHARE, options=_milp_options,
         too_large=milp_too_short, when=(norm_in(math.inf, 1.0), FIXED_OUTPUT, FORMAL_TARGET, MILP_WORK),
         ends=("formal_within", _milp_gap), why=(
        "For networks whose elimination width is too large for \"dp\": the formal constant by "
        "branch and bound. Closed to its gap it ends the search like \"dp\"; stopped at its "
        "time limit its dual bound still counts. A third of the time left, not all: it is the "
        "best step on most deep random l_inf networks (2x20 global: 23.00 against LP-3's "
        "28.46), but on width-80 one-hidden-layer networks it does not close (2.50 after "
        "600 s) where Shor with cuts gets 1.97 in seconds.")),
    Step("shor-cuts-l2", "shor", share=AUTO_CUT_SHARE, options=_shor_cuts_options,
         when=(norm_in(2.0), DEGREE_2), why=(
        "l_2 on one hidden layer, where Shor's POP is the small expanded one: Shor with cuts "
        "in the time LipSDP's share left (digits CNN, box of radius 0.05: Shor 1.2 s at the "
        "lower bound, LipSDP over 30 s).")),
    Step("lp-low", "lp", options=_lp_options(1), too_large=_lp_too_large,
         when=(norm_in(math.inf), EXPANDED), why=(
        "l_inf: the Krivine LP of the objective's degree + 1 (LiPopt-3 on one hidden layer), "
        "the tight and fast bound on sparse networks (receptive field about 10), before Shor. "
        f"Skipped above {AUTO_MAX_LP_PRODUCTS:.0e} box products in the cliques (8.7e5 took "
        "290 s).")),
    Step("shor-cuts", "shor", share=AUTO_CUT_SHARE, options=_shor_cuts_options,
         when=(NOT_L2, DEGREE_2), why=(
        f"Shor with {AUTO_CUT_ROUNDS} rounds of McCormick cuts (the rounds stop after a "
        f"quarter of the time left): the tight bound on dense one-hidden-layer networks "
        "(CertDNN width 80: one round beats HR-2 in 8-20 s), after the LP, which is faster "
        "where the cliques are small.")),
    Step("shor", "shor", options=_solver_options, when=(NOT_DEGREE_2,), why=(
        "Deeper networks: Shor of the lifted (degree-2) formulation, weaker but small at any "
        "depth.")),
    Step("lp-high", "lp", options=_lp_options(2), too_large=_lp_too_large,
         when=(norm_in(math.inf), EXPANDED, LP_LOW_BOUNDED), why=(
        "The LP of the objective's degree + 2 (LiPopt-4), tighter and dearer, when the lower "
        "degree gave a bound (same size test).")),
    Step("sdp-neuron", "sdp", options=_neuron_options, guard=_neuron_guard,
         when=(EXPANDED, ONE_HIDDEN), why=(
        "The \"neuron\" blocks (between Shor and order 2, blocks of size 2|C|; on the CertDNN "
        "networks they match LiPopt-4), with Clarabel on the SOS side. Its size is measured in "
        f"the worker, on the built relaxation: skipped above a block of {AUTO_MAX_BLOCK} or "
        f"{4 * AUTO_MAX_VARS} free variables.")),
    Step("sdp-network", "sdp", options=_network_options, too_large=_network_too_large,
         guard=_network_guard, when=(GRADIENT_POP,), why=(
        "Order 2 with the network's cliques: the tightest relaxation and the most expensive, "
        "last. Skipped when a clique's moment matrix (counted from the cliques before anything "
        f"is built) exceeds {AUTO_MAX_BLOCK}, or, measured in the worker, the free variables "
        f"exceed {AUTO_MAX_VARS}.")),
    Step("milp-rest", "milp", options=_milp_rest_options, when=(MILP_STOPPED, MILP_WORK), why=(
        "Time left after every step: \"milp\" again with all of it (HiGHS is deterministic, so "
        "the longer run gets at least as far as the stopped one).")),
)

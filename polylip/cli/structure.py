"""``polylip structure FILE``: report the structure of a relaxation without solving it."""

from __future__ import annotations

import json
from dataclasses import replace

from polylip.cli.common import load_pop, positive_int
from polylip.errors import PolylipError
from polylip.sparsity.choose import choose_sparsity
from polylip.sparsity.patterns import (COMPLETIONS, ORDERINGS, Correlative, CorrelativeTerm,
                                       Term, as_pattern)


def register(subparsers, parents=()) -> None:
    p = subparsers.add_parser(
        "structure", parents=list(parents),
        help="show cliques, PSD blocks and sizes of a relaxation (no solving)",
        description="Build the moment-SOS relaxation of a problem file (polylip's text format) "
                    "and report its structure: cliques, PSD block sizes, moments, equality "
                    "rows, non-zeros and free variables, next to the dense relaxation of the "
                    "same order (counted, not built).")
    p.add_argument("file", help="problem file (UTF-8 text, at most 10 MiB)")
    p.add_argument("--order", type=positive_int, default=None,
                   help="relaxation order (default: smallest valid)")
    p.add_argument("--sparsity", default="auto",
                   help="auto (default: cs when its cliques are much smaller than the problem, "
                        "else dense), dense, cs, ts, cs+ts, ts:chordal or cs+ts:chordal")
    p.add_argument("--ordering", choices=ORDERINGS, default=None,
                   help="chordal extension heuristic for cs (default min-degree)")
    p.add_argument("--completion", choices=COMPLETIONS, default=None,
                   help="term sparsity completion for ts (default block)")
    p.add_argument("--steps", type=positive_int, default=None,
                   help="term sparsity steps (default 1)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--plot", metavar="OUT.png", default=None,
                   help="save the csp graph and the moment-matrix blocks to a file "
                        "(needs the 'plot' extra)")
    p.set_defaults(func=run)


def pattern_from_args(args, pop=None):
    """The sparsity pattern from --sparsity and the optional --ordering/--completion/--steps
    ("auto" is resolved for ``pop`` first, as ``POP.relax`` would)."""
    sparsity = args.sparsity
    if sparsity == "auto":
        sparsity = "dense" if pop is None else choose_sparsity(pop, "auto")
    pattern = as_pattern(sparsity)
    cs_opts = {} if args.ordering is None else dict(ordering=args.ordering)
    ts_opts = {k: v for k, v in (("completion", args.completion), ("steps", args.steps))
               if v is not None}
    if isinstance(pattern, Correlative):
        if ts_opts:
            raise PolylipError("--completion/--steps need --sparsity ts or cs+ts")
        return Correlative(**cs_opts) if cs_opts else pattern
    if isinstance(pattern, Term):
        if cs_opts:
            raise PolylipError("--ordering needs --sparsity cs or cs+ts")
        return replace(pattern, **ts_opts)
    if isinstance(pattern, CorrelativeTerm):
        # options refine the shorthand's parts (e.g. "cs+ts:chordal" keeps its completion)
        return CorrelativeTerm(replace(pattern.correlative, **cs_opts), replace(pattern.term, **ts_opts))
    if cs_opts or ts_opts:
        raise PolylipError("--ordering/--completion/--steps need a sparse --sparsity")
    return pattern


def run(args) -> int:
    pop = load_pop(args.file)
    relaxation = pop.relax(order=args.order, sparsity=pattern_from_args(args, pop))
    report = relaxation.structure
    if args.plot:
        report.plot(args.plot)
    estimate = getattr(relaxation, "estimate", None)
    if args.json:
        d = report.to_dict()
        d["build_seconds"] = relaxation.build_seconds
        if estimate is not None:
            d["estimate"] = estimate.to_dict()
        if args.plot:
            d["plot"] = args.plot
        print(json.dumps(d))
    else:
        print(report)
        if estimate is not None:
            print(f"\nestimated before building: {estimate.describe()}")
        print(f"\nbuilt in {relaxation.build_seconds:.3f} s"
              + (f"; plot saved to {args.plot}" if args.plot else ""))
    return 0

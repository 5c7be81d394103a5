"""``polylip solve FILE``: bound a polynomial optimization problem written in the text format.

Exit code 0 when the solver certifies a bound (status "optimal"); 1 when it does not
(infeasible, unbounded, inaccurate, failed, time_limit), after printing the result and one line
on stderr saying why; 2 on bad input. ``--time-limit`` (default :data:`DEFAULT_TIME_LIMIT`
seconds, ``none`` for no limit) stops the solver; the status is then "time_limit".
"""

from __future__ import annotations

import inspect
import logging

from polylip.cli.common import load_pop, order_or_auto, positive_int, say, seconds_or_none
from polylip.errors import ModelError

log = logging.getLogger("polylip.cli")

#: Seconds the solver may run when ``--time-limit`` is not given.
DEFAULT_TIME_LIMIT = 600.0


def register(subparsers, parents=()) -> None:
    p = subparsers.add_parser(
        "solve", parents=list(parents),
        help="bound a polynomial optimization problem from a text file",
        description="Relax and solve a POP written in polylip's text format "
                    "(see docs/problem-format.md). Exit code 0 when a bound is certified "
                    "(also from an inaccurate solve, said on stderr), 1 when it is not (infeasible, unbounded, inaccurate, failed, "
                    "time limit), 2 on bad input, 130 when interrupted.")
    p.add_argument("file", help="problem file (UTF-8 text, at most 10 MiB)")
    p.add_argument("--method", choices=("sos", "lp"), default="sos",
                   help="moment-SOS hierarchy (default) or Krivine/Handelman LP hierarchy")
    p.add_argument("--order", type=order_or_auto, default=None,
                   help="relaxation order for --method sos (default: smallest valid), or "
                        "'auto': raise it until the bound is certified")
    p.add_argument("--max-order", type=positive_int, default=None, metavar="K",
                   help="with --order auto: the highest order tried (default: the smallest "
                        "valid order + 3)")
    p.add_argument("--degree", type=positive_int, default=None,
                   help="certificate degree for --method lp")
    p.add_argument("--sparsity", default="auto",
                   help="auto (default: cs when its cliques are much smaller than the problem, "
                        "else dense), dense, cs, ts, cs+ts, ts:chordal or cs+ts:chordal")
    p.add_argument("--solver", default="auto",
                   help="auto (default), clarabel, highs (LP), or a PICOS solver such as cvxopt")
    p.add_argument("--side", choices=("auto", "moment", "sos"), default="auto",
                   help="form handed to an SDP solver (default: fewer free variables)")
    p.add_argument("--time-limit", type=seconds_or_none, default=DEFAULT_TIME_LIMIT,
                   metavar="SECONDS",
                   help=f"stop the solver after this many seconds (default {DEFAULT_TIME_LIMIT:g}; "
                        "'none': no limit); the status is then time_limit, exit code 1")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def _takes_time_limit(method: str) -> bool:
    """Whether this build's ``POP.solve`` passes ``time_limit=`` on to the solver of
    ``method`` (POP.solve forwards unknown keywords to the relaxation's ``solve``)."""
    # lazy: the model and solve stages are needed by this subcommand only
    from polylip.model.pop import POP

    params = inspect.signature(POP.solve).parameters
    if "time_limit" in params:
        return True
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return False
    if method == "lp":
        # lazy: the model and solve stages are needed by this subcommand only
        from polylip.solve.lp import LPRelaxation as target
    else:
        # lazy: the model and solve stages are needed by this subcommand only
        from polylip.solve.relaxation import Relaxation as target
    return "time_limit" in inspect.signature(target.solve).parameters


def run(args) -> int:
    pop = load_pop(args.file)
    options = {} if args.method == "lp" else {"side": args.side}
    if args.verbose + getattr(args, "verbose_after", 0) >= 2 and not args.json:
        options["verbose"] = True  # -vv: the solver's own iteration log, as it runs
    if args.time_limit is not None:
        if _takes_time_limit(args.method):
            options["time_limit"] = args.time_limit
        else:
            log.info("--time-limit: the %s solve of this build takes no time limit; ignored",
                     args.method)
    certificate = None
    if args.max_order is not None:
        if args.order != "auto" or args.method != "sos":
            raise ModelError("--max-order is the highest order --order auto tries; give it with "
                             "--order auto (and --method sos)")
        # lazy: the hierarchy values are needed by this subcommand only
        from polylip.relax.hierarchy import Putinar

        certificate = Putinar(order="auto", sparsity=args.sparsity, max_order=args.max_order)
    result = pop.solve(order=args.order, degree=args.degree, sparsity=args.sparsity,
                       solver=args.solver, method=args.method, certificate=certificate,
                       **options)
    if args.json:
        print(result.to_json())
    else:
        print(result)
    if result.status == "inaccurate" and result.certified and result.bound is not None:
        # a point that missed the solver's tolerance or its certificate, whose own certificate
        # still proves the bound (the LP hierarchy, solve/lp.py): a bound, not a tight one
        say(f"polylip: certified bound, not tight: status {result.status}"
            + (f" ({result.message})" if result.message else ""))
        return 0
    if result.status != "optimal":
        say(f"polylip: no certified bound: status {result.status}"
            + (f" ({result.message})" if result.message else ""))
        return 1
    if not result.certified:
        # exit 0 means a certified bound (docs/cli.md): a script must be able to trust it
        say("polylip: no certified bound: the bound is numerical only"
            + (f" ({result.message})" if result.message else ""))
        return 1
    return 0

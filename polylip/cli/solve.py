"""``polylip solve FILE``: bound a polynomial optimization problem written in the text format."""

from __future__ import annotations

import sys

from polylip.model.textformat import load_problem


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "solve", help="bound a polynomial optimization problem from a text file",
        description="Relax and solve a POP written in polylip's text format "
                    "(see docs/problem-format.md). Exit code 0 when the solver certifies a "
                    "bound, 1 when it does not (infeasible, unbounded, inaccurate, failed), "
                    "2 on bad input.")
    p.add_argument("file", help="problem file")
    p.add_argument("--method", choices=("sos", "lp"), default="sos",
                   help="moment-SOS hierarchy (default) or Krivine/Handelman LP hierarchy")
    p.add_argument("--order", type=int, default=None,
                   help="relaxation order for --method sos (default: smallest valid)")
    p.add_argument("--degree", type=int, default=None, help="certificate degree for --method lp")
    p.add_argument("--sparsity", default="dense",
                   help="dense (default), cs, ts, cs+ts, ts:chordal or cs+ts:chordal")
    p.add_argument("--solver", default="auto",
                   help="auto (default), clarabel, highs (LP), or a PICOS solver such as cvxopt")
    p.add_argument("--side", choices=("auto", "moment", "sos"), default="auto",
                   help="form handed to an SDP solver (default: fewer free variables)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def run(args) -> int:
    pop = load_problem(args.file)
    options = {} if args.method == "lp" else {"side": args.side}
    result = pop.solve(order=args.order, degree=args.degree, sparsity=args.sparsity,
                       solver=args.solver, method=args.method, **options)
    if args.json:
        print(result.to_json())
    else:
        print(result)
    if result.status != "optimal":
        print(f"polylip: no certified bound: status {result.status}"
              + (f" ({result.message})" if result.message else ""), file=sys.stderr)
        return 1
    return 0

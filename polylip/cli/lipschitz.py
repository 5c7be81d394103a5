"""``polylip lipschitz MODEL``: bound the Lipschitz constant of a saved network.

MODEL is a ``.npz`` file (see :mod:`polylip.nn.loaders`), an ``.onnx`` file (extra ``onnx``) or
a ``.pt``/``.pth`` file holding a whole pickled ``torch.nn.Module`` (extra ``torch``). Loading a
pickle runs code from the file, so it needs ``--trust-pickle``. ``--center x0.npy --radius R``
bounds the constant over the l_inf box (``--region box``, default) or l_2 ball (``--region
ball``) of radius R around x0.

The default method is "auto": the smallest certified bound reached within ``--budget`` seconds
(default 60); ``--method product`` answers at once. Exit code 0 with a certified upper bound,
1 without one (the result is printed, then one line on stderr says why), 2 on bad input.
"""

from __future__ import annotations

import argparse
import json
import logging
import os

import numpy as np

from polylip.cli.common import (Progress, check_model_file, non_negative_int, positive_float,
                                positive_int, say, seconds)
from polylip.errors import ModelError

log = logging.getLogger("polylip.cli")


def _method(names):
    def parse(text: str) -> str:
        if text not in names:
            raise argparse.ArgumentTypeError(
                f"unknown method {text!r}; available: {', '.join(sorted(names))}")
        return text
    parse.__name__ = "method"
    return parse


def register(subparsers, parents=()) -> None:
    # lazy: the nn stage is loaded when the parser is built, not when polylip.cli is imported
    from polylip.nn.estimate import DEFAULT_METHOD, method_names
    # lazy: as above
    from polylip.nn.methods.auto import DEFAULT_BUDGET

    methods = method_names()
    p = subparsers.add_parser(
        "lipschitz", parents=list(parents), help="bound the Lipschitz constant of a network",
        description="Bound the Lipschitz constant of a network (upper bound from the chosen "
                    "method, lower bound from a search for large local constants).")
    p.add_argument("model", help="network file: .npz, .mat (LipSDP's weights cell array), "
                                 ".onnx, or .pt/.pth (pickled torch module, with "
                                 "--trust-pickle)")
    p.add_argument("--trust-pickle", action="store_true",
                   help="allow loading a .pt/.pth file that holds a whole pickled module: "
                        "unpickling runs code from the file, so only for files you trust")
    p.add_argument("--norm", default="inf", choices=["inf", "2", "1"], help="input norm")
    p.add_argument("--method", default=DEFAULT_METHOD, type=_method(methods),
                   help="method: " + ", ".join(f"{k} ({v})" for k, v in sorted(methods.items()))
                   + f" (default: {DEFAULT_METHOD}; product answers at once)")
    p.add_argument("--center", metavar="FILE.npy", help="center of a local region (.npy vector)")
    p.add_argument("--radius", type=positive_float, help="radius of the local region")
    p.add_argument("--region", choices=["box", "ball"], default="box",
                   help="local region shape: l_inf box or l_2 ball (default: box)")
    p.add_argument("--output", metavar="SPEC", action=_Output,
                   help="output functional: scalar, vector:inf|2|1, margin:i,j (repeatable "
                        "with --centers: each one is a row of every center)")
    p.add_argument("--input-shape", metavar="C,H,W",
                   help="input shape for a torch CNN (C,L for a Conv1d network)")
    p.add_argument("--no-lower", action="store_true", help="skip the lower-bound search")
    p.add_argument("--seed", type=non_negative_int, default=0,
                   help="seed of the lower-bound search (an integer >= 0)")
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help="method option (repeatable), e.g. --option max_unstable=20")
    p.add_argument("--json", nargs="?", const=True, default=False, metavar="FILE",
                   help="print the result as JSON (with --centers: the table, written to FILE "
                        "when given)")
    # polynomial-optimization methods (issue 6): shorthands for --option KEY=VALUE
    p.add_argument("--order", type=positive_int, metavar="D",
                   help="relaxation order of method sdp (default: smallest valid, at least 2)")
    p.add_argument("--degree", type=positive_int, metavar="K",
                   help="certificate degree of method lp (LiPopt-K; default: objective degree + 1)")
    p.add_argument("--sparsity", metavar="S",
                   help="sparsity of sdp/shor/lp: neuron, network, network+ts, dense, cs, ts, "
                        "cs+ts (lp: network, cs, dense)")
    p.add_argument("--budget", type=seconds, metavar="SECONDS",
                   help=f"time budget of the call (with --centers: of each row), counted from "
                        f"its start, every stage included (method auto: default "
                        f"{DEFAULT_BUDGET:g}; it stops any step still running then and keeps "
                        "the best bound found; another method is stopped then)")
    # batches (issue 14 item 5): one certificate per (center, output) pair, see _run_batch
    p.add_argument("--centers", metavar="POINTS.npy",
                   help="a batch: bound around every row of this (N, d) array (--radius R)")
    p.add_argument("--outputs", metavar="SPEC",
                   help="outputs of a batch: margins:C (class C against the others) or "
                        "margins:predicted (the class predicted at each center)")
    p.add_argument("--jobs", type=positive_int, default=1, metavar="N",
                   help="local worker processes of a batch (default 1)")
    p.add_argument("--scheduler", metavar="ADDR",
                   help="run a batch on the Dask cluster of this scheduler (extra dask)")
    p.add_argument("--csv", metavar="FILE", help="write the table of a batch as CSV")
    p.add_argument("--total-budget", type=seconds, metavar="SECONDS",
                   help="seconds for a whole batch instead of --budget a row: each row gets "
                        "its share (0.9 x SECONDS x workers / rows)")
    p.add_argument("--deterministic", action="store_true",
                   help="work limits instead of wall-clock limits (node limits, a counted "
                        "lower-bound search, auto's budget counted in work): the same figures "
                        "on every run and machine load")
    p.set_defaults(func=run)


class _Output(argparse.Action):
    """``--output SPEC``: the last one is the output of a single run; with ``--centers`` each
    one given is an output of the batch (``args.output_list``)."""

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, values)
        namespace.output_list = [*(getattr(namespace, "output_list", None) or []), values]


def _input_shape(text):
    if not text:
        return None
    try:
        shape = tuple(int(v) for v in text.split(","))
    except ValueError:
        shape = ()
    if not shape or any(v < 1 for v in shape):
        raise ModelError(f"bad --input-shape {text!r}; expected positive integers C,H,W (or C,L)")
    return shape


def _load(args):
    """The network of ``args.model`` (:func:`polylip.nn.loaders.load_model`), with the output
    functional of ``--output``."""
    # lazy: the nn stage is needed by this subcommand only
    from polylip.nn.loaders import load_model

    check_model_file(args.model)
    return load_model(args.model, trust_pickle=args.trust_pickle,
                      input_shape=_input_shape(args.input_shape), output=args.output or None)


def _region(args, net):
    # lazy: the nn stage is needed by this subcommand only
    from polylip.nn.regions import BallRegion, BoxRegion

    if args.center is None and args.radius is None:
        return None
    if args.center is None or args.radius is None:
        raise ModelError("a local region needs both --center and --radius")
    # lazy: the nn stage is needed by this subcommand only
    from polylip.nn.loaders.npz import load_npy

    center = load_npy(args.center, what="the center")
    cls = BallRegion if args.region == "ball" else BoxRegion
    return cls(np.asarray(center, dtype=float).reshape(-1), args.radius)


def _options(items, method: str | None = None):
    """``KEY=VALUE`` items as a dict: each value read as JSON (numbers, true/false, null,
    lists), else kept as text. Where the method's option takes the text but not what JSON made
    of it, the text wins: ``--option constant=true`` is milp's word 'true', not a boolean."""
    # lazy: the nn stage is needed by this subcommand only
    from polylip.nn.methods import BY_NAME

    entry = BY_NAME.get(method)
    out = {}
    for item in items:
        key, sep, val = item.partition("=")
        if not sep or not key:
            raise ModelError(f"bad --option {item!r}; expected KEY=VALUE")
        try:
            value = json.loads(val)
        except json.JSONDecodeError:
            value = val
        if (entry is not None and not isinstance(value, str)
                and entry.options.accepts(key, val) and not entry.options.accepts(key, value)):
            value = val
        out[key] = value
    return out


def run(args) -> int:
    # lazy: the nn stage is needed by this subcommand only
    from polylip.nn.estimate import lipschitz
    # lazy: as above
    from polylip.nn.lower import LowerOptions

    options = _options(args.option, args.method)
    for key in ("order", "degree", "sparsity"):
        if getattr(args, key, None) is not None:
            options[key] = getattr(args, key)
    # --budget and --deterministic are the call's budget= and deterministic= (any method, as
    # in lipschitz() and lipschitz_batch(): the budget holds for every method, and
    # deterministic mode replaces every method's wall-clock limits by work limits)
    net = _load(args)
    if args.centers is not None or _batch_only(args):
        return _run_batch(args, net, options)
    region = _region(args, net)
    lower = False if args.no_lower else LowerOptions(seed=args.seed)
    log.info("%r, method %s", net, args.method)
    with Progress() as progress:
        res = lipschitz(net, norm=args.norm, method=args.method, region=region, lower=lower,
                        options=options, progress=progress, budget=args.budget,
                        deterministic=args.deterministic)
    if args.json:
        out = res.to_dict()
        out["network"] = {"sizes": net.layer_sizes, "output": net.output.spec(),
                          "activations": [a.spec() for a in net.activations]}
        out["region"] = {"kind": "global"} if region is None else region.spec()
        print(json.dumps(out, indent=2))
    else:
        f = (lambda v: "-" if v is None else f"{v:.6g}")
        print(f"network: {net!r}")
        print(f"region:  {'global' if region is None else region!r}, input norm l_{args.norm}")
        best = res.details.get("best_method")
        print(f"method:  {res.method}" + (f" (bound from {best})" if best else "")
              + f" ({res.status})")
        print(f"upper:   {f(res.upper)}")
        print(f"lower:   {f(res.lower)}")
        rel = res.relative_gap
        print(f"gap:     {f(res.gap)}" + ("" if rel is None else f" ({100 * rel:.2f}% of upper)"))
        for key in ("formal", "true"):
            if key in res.details:
                print(f"{key}:  {' ' * (6 - len(key))}{f(res.details[key])}")
        print(f"time:    {res.seconds:.3f} s")
        # what the figures mean (issue 14 item 6): which constant the upper bound bounds, the
        # status, the lower bound's witness, and for auto the plan, one line a step
        print()
        print(res.explain())
    if res.upper is None:
        why = res.details.get("message") or res.details.get("reason")
        say(f"polylip: no certified upper bound: method {res.method}, status {res.status}"
            + (f" ({why})" if why else ""))
        return 1
    return 0


# ------------------------------------------------------------------ batches (--centers)
def _batch_only(args) -> list:
    """The batch flags given (they need --centers)."""
    return [flag for flag, given in (("--outputs", args.outputs), ("--jobs", args.jobs != 1),
                                     ("--scheduler", args.scheduler), ("--csv", args.csv),
                                     ("--json FILE", isinstance(args.json, str)),
                                     ("--total-budget", args.total_budget)) if given]


def _centers(args, net):
    # lazy: the nn stage is needed by this subcommand only
    from polylip.nn.batch import check_centers

    # lazy: as above
    from polylip.nn.loaders.npz import load_npy

    X = load_npy(args.centers, what="--centers")
    if not isinstance(X, np.ndarray) or X.dtype.kind not in "iuf":
        raise ModelError(f"--centers {args.centers}: expected a .npy array of numbers, got "
                         f"{getattr(X, 'dtype', type(X).__name__)}")
    try:
        return check_centers(X, net.input_dim)
    except ModelError as exc:
        raise ModelError(f"--centers {args.centers}: {exc}") from None


def _legend(rows) -> list:
    """What the columns of the text table mean (the first row's constant as the example) and
    what each status that occurs means."""
    # lazy: the nn stage is needed by this subcommand only
    from polylip.nn.estimate import STATUS_MEANINGS

    first = next((r for r in rows if r.get("constant")), None)
    lines = ["upper: a certified upper bound of the local constant of the row's output"
             + (f" (first row: {first['constant']})" if first else "") + "; lower: that "
             "constant measured at an input of the region (a true lower bound); min f: "
             "f(center) - upper * max ||x - center||, a certified lower bound of the output "
             "on the region (for a margin y_c - y_j, min f > 0 proves class c beats j there)."]
    seen = []
    for r in rows:
        if r["status"] not in seen:
            seen.append(r["status"])
    for status in seen:
        text = STATUS_MEANINGS.get(status)
        if status == "error":
            text = "the row's task failed (its message is in the CSV/JSON column 'error')"
        if text:
            lines.append(f"status {status}: {text}.")
    return lines


def _run_batch(args, net, options) -> int:
    """``--centers POINTS.npy --radius R``: one row per (center, output), a tqdm bar on a
    terminal, the table on stdout or in --csv / --json FILE; exit 1 if a row has no bound."""
    # lazy: the nn stage is needed by this subcommand only
    from polylip.nn.batch import lipschitz_batch
    # lazy: as above
    from polylip.nn.lower import LowerOptions

    if args.centers is None:
        raise ModelError(f"{', '.join(_batch_only(args))}: for a batch only (--centers "
                         "POINTS.npy)")
    if args.center is not None or args.radius is None:
        raise ModelError("--centers needs --radius R, and excludes --center")
    if args.outputs and getattr(args, "output_list", None):
        raise ModelError("give --outputs or --output, not both")
    for path in (args.csv, args.json if isinstance(args.json, str) else None):
        if path and not os.path.isdir(os.path.dirname(os.path.abspath(path))):
            raise ModelError(f"cannot write {path}: no such folder")
    X = _centers(args, net)
    lower = False if args.no_lower else LowerOptions(seed=args.seed)
    with Progress() as progress:
        res = lipschitz_batch(net, X, args.radius, outputs=args.outputs or getattr(
            args, "output_list", None), norm=args.norm, method=args.method, options=options,
            n_jobs=args.jobs, scheduler=args.scheduler, region=args.region, lower=lower,
            budget=args.budget, total_budget=args.total_budget,
            deterministic=args.deterministic, callback=lambda done, total, row: progress("certificates", done, total))
    if args.csv:
        res.to_csv(args.csv)
    if isinstance(args.json, str):
        res.to_json(args.json)
    if args.json is True:
        print(res.to_json())
    elif not args.csv and not isinstance(args.json, str):
        f = (lambda v: "-" if v is None else f"{v:.6g}")
        print(f"{'center':>6} {'output':<12} {'upper':>12} {'lower':>12} {'min f':>10} status")
        for r in res.rows:
            print(f"{r['center']:>6} {r['output']:<12} {f(r['upper']):>12} {f(r['lower']):>12} "
                  f"{f(r['min_value']):>10} {r['status']}")
    info, missing = res.info, [r for r in res.rows if r["upper"] is None]
    if args.json is not True:
        print(f"{info['rows']} certificates ({info['centers']} centers), "
              f"{info['rows'] - len(missing)} with an upper bound, {info['seconds']:.1f} s "
              f"({info['backend']}, {info['workers']} worker(s))")
        if not args.csv and not isinstance(args.json, str):
            for line in _legend(res.rows):
                print(line)
    if missing:
        r = missing[0]
        say(f"polylip: no certified upper bound for {len(missing)} of {info['rows']} "
            f"certificates (first: center {r['center']}, {r['output']}, status {r['status']}"
            + (f", {r['error']}" if r["error"] else "") + ")")
        return 1
    return 0

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
    p.add_argument("model", help="network file: .npz, .onnx, or .pt/.pth (pickled torch module, "
                                 "with --trust-pickle)")
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
    p.add_argument("--output", metavar="SPEC",
                   help="output functional: scalar, vector:inf|2|1, margin:i,j")
    p.add_argument("--input-shape", metavar="C,H,W", help="input shape for a torch CNN")
    p.add_argument("--no-lower", action="store_true", help="skip the lower-bound search")
    p.add_argument("--seed", type=non_negative_int, default=0,
                   help="seed of the lower-bound search (an integer >= 0)")
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help="method option (repeatable), e.g. --option max_unstable=20")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    # polynomial-optimization methods (issue 6): shorthands for --option KEY=VALUE
    p.add_argument("--order", type=positive_int, metavar="D",
                   help="relaxation order of method sdp (default: smallest valid, at least 2)")
    p.add_argument("--degree", type=positive_int, metavar="K",
                   help="certificate degree of method lp (LiPopt-K; default: objective degree + 1)")
    p.add_argument("--sparsity", metavar="S",
                   help="sparsity of sdp/shor/lp: neuron, network, network+ts, dense, cs, ts, "
                        "cs+ts (lp: network, cs, dense)")
    p.add_argument("--budget", type=seconds, metavar="SECONDS",
                   help=f"time budget of method auto, counted from the start (default "
                        f"{DEFAULT_BUDGET:g}); auto stops any step still running then and "
                        "keeps the best bound found")
    p.set_defaults(func=run)


def _input_shape(text):
    if not text:
        return None
    try:
        shape = tuple(int(v) for v in text.split(","))
    except ValueError:
        shape = ()
    if not shape or any(v < 1 for v in shape):
        raise ModelError(f"bad --input-shape {text!r}; expected positive integers C,H,W")
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
    try:
        center = np.load(args.center, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot read the center {args.center}: {exc}") from exc
    cls = BallRegion if args.region == "ball" else BoxRegion
    return cls(np.asarray(center, dtype=float).reshape(-1), args.radius)


def _options(items):
    out = {}
    for item in items:
        key, sep, val = item.partition("=")
        if not sep or not key:
            raise ModelError(f"bad --option {item!r}; expected KEY=VALUE")
        try:
            out[key] = json.loads(val)
        except json.JSONDecodeError:
            out[key] = val
    return out


def run(args) -> int:
    # lazy: the nn stage is needed by this subcommand only
    from polylip.nn.estimate import lipschitz
    # lazy: as above
    from polylip.nn.lower import LowerOptions

    if args.budget is not None and args.method != "auto":
        raise ModelError("--budget applies to --method auto only")
    options = _options(args.option)
    for key in ("order", "degree", "sparsity", "budget"):
        if getattr(args, key, None) is not None:
            options[key] = getattr(args, key)
    net = _load(args)
    region = _region(args, net)
    lower = False if args.no_lower else LowerOptions(seed=args.seed)
    log.info("%r, method %s", net, args.method)
    with Progress() as progress:
        res = lipschitz(net, norm=args.norm, method=args.method, region=region, lower=lower,
                        options=options, progress=progress)
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
    if res.upper is None:
        why = res.details.get("message") or res.details.get("reason")
        say(f"polylip: no certified upper bound: method {res.method}, status {res.status}"
            + (f" ({why})" if why else ""))
        return 1
    return 0

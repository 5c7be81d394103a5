"""``polylip lipschitz MODEL``: bound the Lipschitz constant of a saved network.

MODEL is a ``.npz`` file (see :mod:`polylip.nn.loaders`), an ``.onnx`` file (extra ``onnx``) or
a ``.pt``/``.pth`` file holding a whole pickled ``torch.nn.Sequential`` (extra ``torch``; only
load files you trust). ``--center x0.npy --radius R`` bounds the constant over the l_inf box
(``--region box``, default) or l_2 ball (``--region ball``) of radius R around x0.

The default method is "auto": the smallest certified bound reached within ``--budget`` seconds
(default 60); ``--method product`` answers at once.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np

from polylip.errors import ModelError

#: Seconds between progress lines on stderr.
PROGRESS_EVERY = 2.0


def register(subparsers) -> None:
    from polylip.nn.estimate import DEFAULT_METHOD, method_names
    from polylip.nn.pop_methods import DEFAULT_BUDGET

    methods = method_names()
    p = subparsers.add_parser(
        "lipschitz", help="bound the Lipschitz constant of a network",
        description="Bound the Lipschitz constant of a network (upper bound from the chosen "
                    "method, lower bound from a search for large local constants).")
    p.add_argument("model", help="network file: .npz, .onnx, or .pt/.pth (pickled torch module)")
    p.add_argument("--norm", default="inf", choices=["inf", "2", "1"], help="input norm")
    p.add_argument("--method", default=DEFAULT_METHOD,
                   help="method: " + ", ".join(f"{k} ({v})" for k, v in sorted(methods.items()))
                   + f" (default: {DEFAULT_METHOD}; product answers at once)")
    p.add_argument("--center", metavar="FILE.npy", help="center of a local region (.npy vector)")
    p.add_argument("--radius", type=float, help="radius of the local region")
    p.add_argument("--region", choices=["box", "ball"], default="box",
                   help="local region shape: l_inf box or l_2 ball (default: box)")
    p.add_argument("--output", metavar="SPEC",
                   help="output functional: scalar, vector:inf|2|1, margin:i,j")
    p.add_argument("--input-shape", metavar="C,H,W", help="input shape for a torch CNN")
    p.add_argument("--no-lower", action="store_true", help="skip the lower-bound search")
    p.add_argument("--seed", type=int, default=0, help="seed of the lower-bound search")
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help="method option (repeatable), e.g. --option max_unstable=20")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    # polynomial-optimization methods (issue 6): shorthands for --option KEY=VALUE
    p.add_argument("--order", type=int, metavar="D",
                   help="relaxation order of method sdp (default: smallest valid, at least 2)")
    p.add_argument("--degree", type=int, metavar="K",
                   help="certificate degree of method lp (LiPopt-K; default: objective degree + 1)")
    p.add_argument("--sparsity", metavar="S",
                   help="sparsity of sdp/shor/lp: neuron, network, network+ts, dense, cs, ts, "
                        "cs+ts (lp: network, cs, dense)")
    p.add_argument("--budget", type=float, metavar="SECONDS",
                   help=f"time budget of method auto, counted from the start (default "
                        f"{DEFAULT_BUDGET:g}); auto stops any step still running then and "
                        "keeps the best bound found")
    p.set_defaults(func=run)


def _load(args):
    from polylip.nn.network import Network

    path = args.model
    shape = None
    if args.input_shape:
        try:
            shape = tuple(int(v) for v in args.input_shape.split(","))
        except ValueError as exc:
            raise ModelError(f"bad --input-shape {args.input_shape!r}; expected C,H,W") from exc
    low = path.lower()
    if low.endswith(".onnx"):
        net = Network.from_onnx(path)
    elif low.endswith((".pt", ".pth")):
        from polylip.errors import require
        torch = require("torch", "loading .pt models", "torch")
        try:
            module = torch.load(path, weights_only=False, map_location="cpu")
        except FileNotFoundError as exc:
            raise ModelError(f"no such model file: {path}") from exc
        except Exception as exc:  # noqa: BLE001 - torch raises many types on bad files
            raise ModelError(f"cannot load {path} with torch: {exc}") from exc
        net = Network.from_torch(module, input_shape=shape)
    else:
        net = Network.load(path)
    if args.output:
        net = net.with_output(args.output)
    return net


def _region(args, net):
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


def _progress():
    last = [time.perf_counter()]

    def report(stage, done, total):
        now = time.perf_counter()
        if now - last[0] >= PROGRESS_EVERY or done == total and total > 1 and now - last[0] > 1:
            print(f"polylip: {stage} {done}/{total}", file=sys.stderr, flush=True)
            last[0] = now
    return report


def run(args) -> int:
    from polylip.nn.estimate import lipschitz
    from polylip.nn.lower import LowerOptions

    net = _load(args)
    region = _region(args, net)
    lower = False if args.no_lower else LowerOptions(seed=args.seed)
    print(f"polylip: {net!r}, method {args.method}", file=sys.stderr, flush=True)
    options = _options(args.option)
    if args.budget is not None and args.method != "auto":
        raise ModelError("--budget applies to --method auto only")
    for key in ("order", "degree", "sparsity", "budget"):
        if getattr(args, key, None) is not None:
            options[key] = getattr(args, key)
    res = lipschitz(net, norm=args.norm, method=args.method, region=region, lower=lower,
                    options=options, progress=_progress())
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
    return 0

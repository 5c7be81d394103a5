"""Batches of local certificates: serial vs joblib vs a local Dask cluster.

A robustness certificate of a test set: for each of the first P test images of scikit-learn's
digits, the margins of the predicted class against the 9 others (``outputs="margins:predicted"``)
over the l_inf box of radius 0.05, one :func:`polylip.lipschitz_batch` row each
(P = 112 gives 1,008 certificates). The network is a 64-100-100-10 ReLU MLP trained here with a
fixed seed (about a minute on a loaded machine; cached in the temp folder), or with
``--small`` the bundled 64-16-16-10 ``examples/digits_mlp.npz``.

Each backend runs the same rows; the serial run covers the first ``--serial-points`` centers
only (it is the slow one) and its time is projected to 1,000 certificates, like the others'.
The rows that every backend ran are compared: "same" counts those whose upper and lower bounds
equal the serial run's exactly. The Dask cluster is a ``LocalCluster`` on 127.0.0.1 (no
dashboard) whose workers are not daemonic, so method "auto" forks its steps there as it does
serially (a hard deadline per step). ``uptime`` is printed before and after each run: the
machine has 2 cores shared with other work, so 4 workers cannot be 4 times faster.

Run by hand::

    python3 benchmarks/bench_lipschitz_batch.py --method interval --lower off   # overhead only
    python3 benchmarks/bench_lipschitz_batch.py --method interval               # lower search
    python3 benchmarks/bench_lipschitz_batch.py --method auto --budget 5 --points 12
    python3 benchmarks/bench_lipschitz_batch.py --method auto --budget 5 --deterministic \
        --points 12
    python3 benchmarks/bench_lipschitz_batch.py --method auto --budget 5 --backends dask
"""

import argparse
import os
import subprocess
import tempfile
import time
import warnings

import numpy as np

from polylip.nn import LowerOptions, Network, lipschitz_batch

HERE = os.path.dirname(os.path.abspath(__file__))
CACHE = os.path.join(tempfile.gettempdir(), "polylip_bench_digits_mlp_100x100.npz")


def data():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, test_size=0.25, random_state=0)


def network(small: bool):
    if small:
        return Network.load(os.path.join(HERE, "..", "examples", "digits_mlp.npz"))
    if os.path.exists(CACHE):
        return Network.load(CACHE)
    from sklearn.neural_network import MLPClassifier

    Xtr, Xte, ytr, yte = data()
    t0 = time.perf_counter()
    clf = MLPClassifier(hidden_layer_sizes=(100, 100), activation="relu", max_iter=200,
                        random_state=0, alpha=1e-3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(Xtr, ytr)
    print(f"trained 64-100-100-10 in {time.perf_counter() - t0:.1f} s, test accuracy "
          f"{clf.score(Xte, yte):.4f}")
    net = Network.from_weights([W.T for W in clf.coefs_], list(clf.intercepts_))
    net.save(CACHE)
    return net


def uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "(uptime not available)"


def run(name, workers, net, X, kw, **backend):
    print(f"{name}: {len(X)} centers; {uptime()}", flush=True)
    t0 = time.perf_counter()
    res = lipschitz_batch(net, X, **kw, **backend)
    wall = time.perf_counter() - t0
    print(f"{name}: {len(res)} rows in {wall:.1f} s (row budget {res.info.get('row_budget')});"
          f" {uptime()}", flush=True)
    return name, workers, res, wall


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--small", action="store_true", help="the bundled 64-16-16-10 MLP")
    ap.add_argument("--points", type=int, default=112, help="test points (x 9 margins)")
    ap.add_argument("--serial-points", type=int, default=5)
    ap.add_argument("--joblib-points", type=int, default=None, help="default: --points")
    ap.add_argument("--radius", type=float, default=0.05)
    ap.add_argument("--method", default="auto")
    ap.add_argument("--budget", type=float, default=None, help="seconds per row")
    ap.add_argument("--total-budget", type=float, default=None,
                    help="seconds for each backend's whole batch (rows get their share)")
    ap.add_argument("--deterministic", action="store_true", help="budget counted in work")
    ap.add_argument("--lower", choices=["default", "off"], default="default")
    ap.add_argument("--jobs", type=int, default=2, help="joblib processes")
    ap.add_argument("--workers", type=int, default=4, help="Dask worker processes")
    ap.add_argument("--backends", default="serial,joblib,dask")
    ap.add_argument("--csv", metavar="PREFIX", help="each table to PREFIX-BACKEND.csv")
    args = ap.parse_args(argv)

    net = network(args.small)
    _, Xte, _, _ = data()
    X = Xte[:args.points]
    kw = dict(radius=args.radius, outputs="margins:predicted", norm="inf", method=args.method,
              budget=args.budget, total_budget=args.total_budget,
              lower=False if args.lower == "off" else LowerOptions(),
              deterministic=args.deterministic)
    print(f"network {net!r}; method {args.method}, budget {args.budget}, total budget "
          f"{args.total_budget}, deterministic "
          f"{args.deterministic}, lower {args.lower}, "
          f"box radius {args.radius}, {os.cpu_count()} cores")
    runs = []
    backends = args.backends.split(",")
    if "serial" in backends:
        runs.append(run("serial", 1, net, X[:args.serial_points], kw))
    if "joblib" in backends:
        t0 = time.perf_counter()  # the pool starts (and imports polylip) once, then is reused
        lipschitz_batch(net, X[:1], args.radius, method="product", lower=False, n_jobs=args.jobs)
        print(f"joblib: pool of {args.jobs} processes up in {time.perf_counter() - t0:.1f} s")
        runs.append(run("joblib", args.jobs, net, X[:args.joblib_points or args.points], kw,
                        n_jobs=args.jobs))
    if "dask" in backends:
        import dask
        from distributed import Client, LocalCluster

        dask.config.set({"distributed.worker.daemon": False})  # auto forks its steps there
        t0 = time.perf_counter()
        with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                          host="127.0.0.1", dashboard_address=None) as cluster, \
                Client(cluster) as client:
            print(f"dask: cluster of {args.workers} workers up in "
                  f"{time.perf_counter() - t0:.1f} s")
            runs.append(run("dask", args.workers, net, X, kw, client=client))

    common = min(len(r[2]) for r in runs)
    ref = runs[0][2].rows[:common]
    print()
    print(f"| backend | workers | certificates | wall s | s / certificate | projected s per 1,000 "
          f"| with bound | median upper | median lower | min f > 0 | same as {runs[0][0]} "
          f"(first {common}) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, workers, res, wall in runs:
        rows = res.rows
        up = [r["upper"] for r in rows if r["upper"] is not None]
        lo = [r["lower"] for r in rows if r["lower"] is not None]
        robust = sum(1 for r in rows if r["min_value"] is not None and r["min_value"] > 0)
        same = sum(1 for a, b in zip(rows[:common], ref)
                   if a["upper"] == b["upper"] and a["lower"] == b["lower"])
        med = (lambda v: f"{np.median(v):.4g}" if v else "-")
        print(f"| {name} | {workers} | {len(rows)} | {wall:.1f} | {wall / len(rows):.3f} | "
              f"{1000 * wall / len(rows):.0f} | {len(up)} | {med(up)} | {med(lo)} | {robust} | "
              f"{same}/{common} |")
    for name, _, res, _ in runs:
        statuses = {}
        for r in res.rows:
            statuses[r["status"]] = statuses.get(r["status"], 0) + 1
        print(f"statuses ({name}): {statuses}")
        if args.csv:
            res.to_csv(f"{args.csv}-{name}.csv")
    best = [r for r in runs[-1][2].rows if r.get("best_method")]
    if best:
        counts = {}
        for r in best:
            counts[r["best_method"]] = counts.get(r["best_method"], 0) + 1
        print(f"\nbound from ({runs[-1][0]}): {counts}")


if __name__ == "__main__":
    main()

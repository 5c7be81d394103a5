"""Many local Lipschitz bounds at once: :func:`lipschitz_batch` and its table :class:`BatchResult`.

A robustness certificate of a test set needs one bound per (input, output) pair: the
constant of each margin ``y_c - y_j`` over the box (or ball) of radius ``r`` around each test
point. :func:`lipschitz_batch` builds one task per pair and runs it

* in this process, one after the other (``n_jobs=1``, the default);
* in a pool of local processes with joblib (``n_jobs=N``; ``-1`` for one per core);
* on a Dask cluster (``client=`` a ``distributed.Client``, or ``scheduler=`` the address of a
  scheduler; extra ``dask``).

Every task is :func:`certify`, a plain function of plain values that calls
:func:`~polylip.nn.lipschitz` as a caller would: a row has the bounds of that call. The inputs
are checked before the first task starts (a bad center, radius, output, method or option is a
:class:`~polylip.errors.ModelError` at once, not a thousand failed tasks); an exception inside
a task (a solver failure) becomes that row's ``status="error"``, and the other rows go on.

The table, :class:`BatchResult` (CSV and JSON), is in :mod:`polylip.nn.batch_table`.
A row (:data:`COLUMNS`) has the pair (``center`` index, ``output`` spec), the region, the
call's ``upper``, ``lower``, ``gap``, ``status``, ``method``, ``best_method`` (for "auto") and
``seconds``, the ``constant`` that ``upper`` bounds (in words), ``value`` (``f(center)``) and
``min_value = value - upper * max ||x - center||_p``, a certified lower bound of ``f`` on the
region (for a margin ``y_c - y_j``, ``min_value > 0`` proves class ``c`` beats ``j`` there).

Examples
--------
>>> import numpy as np
>>> from polylip.nn.network import Network
>>> net = Network.from_weights([np.array([[1.0, -1.0], [2.0, 1.0]]), np.eye(2)])
>>> res = lipschitz_batch(net, np.array([[1.0, -1.0], [2.0, -1.0]]), 0.1,
...                       outputs=["margin:0,1"], method="interval", lower=False)
>>> [(r["center"], r["output"], r["upper"], r["value"]) for r in res.rows]
[(0, 'margin:0,1', 3.0, 1.0), (1, 'margin:0,1', 3.0, 0.0)]
>>> margins(3, 5)
['margin:3,0', 'margin:3,1', 'margin:3,2', 'margin:3,4']
"""

from __future__ import annotations

import logging
import math
import multiprocessing
import time
from numbers import Real

import numpy as np

from polylip.errors import MissingDependencyError, ModelError
from polylip.nn.batch_table import COLUMNS, BatchResult
from polylip.nn.estimate import METHODS, lipschitz
from polylip.nn.loaders import as_network
from polylip.nn.methods import BY_NAME
from polylip.nn.methods.base import Method
from polylip.nn.network import Network
from polylip.nn.norms import parse_norm
from polylip.nn.outputs import MarginOutput, ScalarOutput, parse_output
from polylip.nn.regions import BallRegion, BoxRegion

__all__ = ["lipschitz_batch", "BatchResult", "certify", "margins", "check_centers", "COLUMNS"]

log = logging.getLogger(__name__)

_REGIONS = {"box": BoxRegion, "ball": BallRegion}
#: ``total_budget``: the share of it the rows' budgets add up to (per worker); the rest is
#: for what a row spends outside its budget (starting the task, pickling its row) and the
#: scheduler.
TOTAL_BUDGET_USE = 0.9
#: Smallest row budget ``total_budget`` may give: what a row costs whatever its budget (the
#: region's bounds, "product" and "interval", a lower-bound search and a method step in forked
#: workers), about 0.2 s on the digits MLP at load 4. Below it the batch overran its total:
#: ``total_budget=6`` for 180 rows (0.03 s a row) took 50 s (QA round 4).
MIN_ROW_BUDGET = 0.25
#: A parallel batch sends all the outputs of a center as one task when there are at least
#: this many centers a worker (see :func:`_chunks`).
CHUNK_CENTERS_PER_WORKER = 2


def margins(cls, num_classes: int) -> list:
    """The specs of the margins of class ``cls`` against every other class,
    ``["margin:cls,0", ..., "margin:cls,num_classes-1"]`` (without ``cls`` itself)."""
    cls, num_classes = int(cls), int(num_classes)
    if not 0 <= cls < num_classes:
        raise ModelError(f"class {cls} out of range for {num_classes} classes")
    return [f"margin:{cls},{j}" for j in range(num_classes) if j != cls]


def _norm_text(p: float) -> str:
    return "inf" if p == math.inf else f"{p:g}"


def _reach(region: str, p: float, dim: int) -> float:
    """``max ||x - c||_p`` over the unit box (l_inf) or the unit ball (l_2) of dimension dim."""
    inv = 0.0 if p == math.inf else 1.0 / p
    return dim ** inv if region == "box" else dim ** max(0.0, inv - 0.5)


def _constant(out, p: float, region: str, radius: float) -> str:
    """What the upper bound bounds, in words."""
    where = (f"||x - c||_inf <= {radius:g}" if region == "box" else f"||x - c||_2 <= {radius:g}")
    q = _norm_text(1.0 if p == math.inf else math.inf if p == 1.0 else p / (p - 1.0))
    if isinstance(out, MarginOutput):
        return f"sup ||grad(y{out.i} - y{out.j})(x)||_{q} over {where}"
    if isinstance(out, ScalarOutput):
        return f"sup ||grad y(x)||_{q} over {where}"
    return f"sup ||J(x)||_({_norm_text(p)}->{_norm_text(out.norm)}) over {where}"


def certify(net, center, radius, output, *, norm="inf", method="auto", options=None,
            lower=True, region="box", index=0, center_index=0, budget=None,
            deterministic=False) -> dict:
    """One row of the table: :func:`~polylip.nn.lipschitz` of ``net`` with the output
    ``output`` over the box (or ball) of ``radius`` around ``center``.

    This is the task that :func:`lipschitz_batch` runs, here or in a worker process: its
    arguments are plain values that pickle (a :class:`~polylip.nn.network.Network`, a 1-D
    array, floats, strings, an options dict or dataclass). An exception of the call is caught
    and returned as ``status="error"`` with its message, so that one failure does not end a
    batch.
    """
    t0 = time.perf_counter()
    p = parse_norm(norm)
    spec = output if isinstance(output, str) else output.spec()
    row = dict.fromkeys(COLUMNS)
    row.update(index=int(index), center=int(center_index), output=spec, norm=_norm_text(p),
               region=region, radius=float(radius), method=method)
    try:
        net = net.with_output(output)
        out = net.output
        row["constant"] = _constant(out, p, region, float(radius))
        c = np.asarray(center, dtype=float).reshape(-1)
        res = lipschitz(net, norm=p, method=method, region=_REGIONS[region](c, radius),
                        lower=lower, options=options, budget=budget, deterministic=deterministic)
        row.update(upper=res.upper, lower=res.lower, gap=res.gap, status=res.status,
                   best_method=res.details.get("best_method"), seconds=res.seconds)
        if out.functional(net.output_dim) is not None:
            value = float(net.value(c[None, :])[0])
            row["value"] = value
            if res.upper is not None:
                row["min_value"] = value - res.upper * float(radius) * _reach(region, p, c.size)
    except Exception as exc:  # noqa: BLE001 - one failed task is one row, the batch goes on
        row.update(status="error", error=f"{type(exc).__name__}: {exc}",
                   seconds=time.perf_counter() - t0)
    return row


# --------------------------------------------------------------------------------------------
# checking the inputs, then running the tasks
# --------------------------------------------------------------------------------------------
def check_centers(centers, dim: int) -> np.ndarray:
    """``centers`` as a finite float array of shape (N, dim), N >= 1, or :class:`ModelError`."""
    try:
        X = np.asarray(centers, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ModelError(f"centers must be a numeric (N, {dim}) array: {exc}") from None
    if X.ndim != 2:
        raise ModelError(f"centers must be a 2-D array (N, {dim}), one center a row; got shape "
                         f"{X.shape}")
    if X.shape[0] == 0:
        raise ModelError("centers is empty: no center to bound around")
    if X.shape[1] != dim:
        raise ModelError(f"centers have width {X.shape[1]} but the network has {dim} inputs")
    bad = np.flatnonzero(~np.isfinite(X).all(axis=1))
    if bad.size:
        raise ModelError(f"center {int(bad[0])} has a NaN or infinite entry "
                         f"({bad.size} such rows)")
    return X


def _radii(radius, n: int) -> np.ndarray:
    try:
        r = np.asarray(radius, dtype=float)
    except (TypeError, ValueError):
        raise ModelError(f"radius must be a number or an array of {n} numbers, got "
                         f"{radius!r}") from None
    if r.ndim == 0:
        r = np.full(n, float(r))
    elif r.shape != (n,):
        raise ModelError(f"radius must be a number or an array of shape ({n},), got shape "
                         f"{r.shape}")
    if not np.all(np.isfinite(r)) or np.any(r <= 0):
        raise ModelError("radius must be finite and > 0 (a region of one point has no "
                         "Lipschitz constant)")
    return r


def _outputs(outputs, net, X) -> list:
    """One list of output specs per center."""
    m = net.output_dim
    if outputs is None:
        return [[net.output.spec()]] * len(X)
    if isinstance(outputs, str) and outputs.strip().lower().startswith("margins:"):
        which = outputs.split(":", 1)[1].strip().lower()
        if which == "predicted":  # the class the network gives each center
            pred = np.argmax(np.atleast_2d(net.forward(X)), axis=1)
            return [margins(c, m) for c in pred]
        try:
            cls = int(which)
        except ValueError:
            raise ModelError(f"bad outputs {outputs!r}; expected 'margins:C' (a class) or "
                             "'margins:predicted'") from None
        return [margins(cls, m)] * len(X)
    if isinstance(outputs, str) or not hasattr(outputs, "__iter__"):
        outputs = [outputs]
    specs = []
    for spec in outputs:
        out = parse_output(spec)
        if out is None:
            raise ModelError("an output spec is None; give e.g. 'margin:3,5'")
        out.check(m)
        specs.append(out.spec())
    if not specs:
        raise ModelError("outputs is empty: no output to bound")
    return [specs] * len(X)


def _options(method, options, budget, deterministic):
    if method not in METHODS:
        raise ModelError(f"unknown Lipschitz method {method!r}; available: "
                         f"{', '.join(sorted(METHODS))}")
    if budget is not None and (isinstance(budget, bool) or not isinstance(budget, Real)
                               or not 0 < budget < math.inf):
        raise ModelError(f"budget must be a positive number of seconds or None, got {budget!r}")
    if not isinstance(deterministic, bool):
        raise ModelError(f"deterministic must be True or False, got {deterministic!r}")
    if budget is not None and isinstance(options, dict) and "budget" in options:
        raise ModelError("give the budget once: budget= or options['budget']")
    entry = METHODS[method]
    if isinstance(entry, Method):
        return entry.parse(options)  # checked once, here; the dataclass pickles
    if options is not None and not isinstance(options, dict):
        raise ModelError(f"the options of method {method!r} must be a dict, not "
                         f"{type(options).__name__}")
    return dict(options or {})


def _chunks(tasks, centers: int, workers: int) -> list:
    """The tasks in the groups a worker runs at once: all the outputs of one center when there
    are at least :data:`CHUNK_CENTERS_PER_WORKER` centers a worker (so that the center's
    pre-activation bounds, :meth:`~polylip.nn.regions.Region.propagate`, are computed once,
    and the scheduler handles one task per center), else one row each (a few centers with
    many outputs keep every worker busy). The rows do not depend on it."""
    if centers < CHUNK_CENTERS_PER_WORKER * workers:
        return [[t] for t in tasks]
    groups: dict = {}
    for t in tasks:
        groups.setdefault(t[1]["center_index"], []).append(t)
    return list(groups.values())


def _chunk_rows(chunk) -> list:  # what a joblib process runs
    return [certify(*args, **kw) for args, kw in chunk]


def _joblib_rows(chunks, n_jobs):
    try:
        from joblib import Parallel, delayed
    except ImportError:
        raise MissingDependencyError("joblib", "lipschitz_batch(n_jobs > 1)") from None
    # unordered: each chunk's rows reach the callback as soon as it ends
    par = Parallel(n_jobs=n_jobs, return_as="generator_unordered")
    for rows in par(delayed(_chunk_rows)(chunk) for chunk in chunks):
        yield from rows


def _task(net, chunk) -> list:  # what a Dask worker runs: [(args without net, kw), ...]
    return [certify(net, *args, **kw) for args, kw in chunk]


def _dask_rows(chunks, net, client):
    try:
        from distributed import as_completed
    except ImportError:
        raise MissingDependencyError("distributed", "lipschitz_batch(client=...)",
                                     "dask") from None
    daemonic = client.run(lambda: multiprocessing.current_process().daemon)
    if any(daemonic.values()):
        log.info("the Dask workers are daemonic processes: they cannot fork, so method "
                 "'auto' runs its steps in the worker and its budget is checked between steps "
                 "only; start the workers with the dask setting distributed.worker.daemon "
                 "False for a hard deadline")
    shared = client.scatter(net, broadcast=True, hash=False)  # sent once to every worker
    futures = client.map(_task, [shared] * len(chunks),
                         [[(a[1:], kw) for a, kw in chunk] for chunk in chunks],
                         pure=False)  # one message, not one a task
    where = {fut.key: k for k, fut in enumerate(futures)}
    try:
        # results fetched in batches; a task lost with its worker gives error rows
        for fut, out in as_completed(futures, with_results=True, raise_errors=False):
            if isinstance(out, list):
                yield from out
            else:
                err = out[1] if isinstance(out, tuple) else out  # an error: (type, value, tb)
                for args, kw in chunks[where[fut.key]]:
                    yield _lost_row(args, kw, err)
    finally:
        client.cancel([f for f in futures if not f.done()])


def _lost_row(args, kw, exc) -> dict:
    """The row of a task whose worker failed without an answer."""
    row = dict.fromkeys(COLUMNS)
    row.update(index=kw["index"], center=kw["center_index"], output=args[3],
               norm=_norm_text(kw["norm"]), region=kw["region"], radius=args[2],
               method=kw["method"], status="error", error=f"{type(exc).__name__}: {exc}")
    return row


def _open_client(scheduler):
    try:
        from distributed import Client
    except ImportError:
        raise MissingDependencyError("distributed", "lipschitz_batch(scheduler=...)",
                                     "dask") from None
    try:
        return Client(scheduler, timeout=30)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ModelError(f"cannot reach the Dask scheduler {scheduler!r}: {exc}") from None


def lipschitz_batch(net, centers, radius, outputs=None, norm="inf", method="auto", options=None,
                    budget=None, n_jobs=1, client=None, scheduler=None, callback=None,
                    region="box", lower=True, deterministic=False,
                    total_budget=None) -> BatchResult:
    """Local Lipschitz bounds of ``net`` around many centers, for several outputs: one row per
    (center, output) pair.

    Parameters
    ----------
    net : Network (or a torch module / ONNX model, read by :func:`~polylip.nn.loaders.as_network`)
    centers : array of shape (N, d)
        One center a row; ``d`` is the network's input size; finite values.
    radius : float or array of shape (N,)
        Radius of each region (one for all, or one per center), finite and >= 0.
    outputs : list of specs, or str, optional
        Output functionals, the same for every center: specs such as ``"margin:3,0"``,
        :class:`~polylip.nn.outputs.Output` values, or :func:`margins` ``(c, m)``;
        ``"margins:C"`` is the margins of class C against the others, ``"margins:predicted"``
        those of the class the network predicts at each center. Default: the network's own.
    norm, method, options, lower
        As for :func:`~polylip.nn.lipschitz`, for every row; checked once, before any task.
    budget, deterministic
        ``lipschitz(..., budget=, deterministic=)`` of each row: seconds per row (any method),
        and work counted instead of time (the rows of "auto" then do not depend on the load).
    total_budget : float, optional
        Seconds of wall clock for the whole batch instead of ``budget``: each row gets
        ``TOTAL_BUDGET_USE * total_budget * workers / rows`` (``info["row_budget"]``), so the
        batch ends in about ``total_budget`` whatever its size (the rows then depend on the
        number of workers: give ``budget`` for rows that do not).
    n_jobs : int
        Local worker processes (joblib; ``-1`` for one per core); 1 runs here.
    client : distributed.Client, optional
        Run the tasks on this Dask cluster (extra ``dask``); the network is sent to every
        worker once.
    scheduler : str, optional
        Address of a Dask scheduler (``"tcp://host:8786"``): a client is opened for the run and
        closed after.
    callback : callable, optional
        ``callback(done, total, row)`` in this process after each row, in the order the rows
        finish.
    region : {"box", "ball"}
        The l_inf box or the l_2 ball of ``radius`` around each center.

    Returns
    -------
    BatchResult
        Rows in (center, output) order.

    Notes
    -----
    A row equals the serial call ``lipschitz(net.with_output(spec), norm, method,
    BoxRegion(center, r), lower, options, budget=, deterministic=)``, wherever it runs, except
    when a budget cuts a step short: what finishes in time depends on the load (not with
    ``deterministic=True``, where the budget is counted in work). A method
    added with :func:`~polylip.nn.estimate.register_method` exists in this process only, so it
    runs with ``n_jobs=1`` and no cluster.
    """
    t0 = time.perf_counter()
    net = as_network(net)
    if not isinstance(net, Network):
        raise ModelError(f"expected a polylip Network, got {type(net).__name__}")
    if region not in _REGIONS:
        raise ModelError(f"region must be 'box' or 'ball', got {region!r}")
    p = parse_norm(norm)
    X = check_centers(centers, net.input_dim)
    radii = _radii(radius, len(X))
    specs = _outputs(outputs, net, X)
    parsed = _options(method, options, budget, deterministic)
    if client is not None and scheduler is not None:
        raise ModelError("give a Dask client or a scheduler address, not both")
    remote = client is not None or scheduler is not None
    if not isinstance(n_jobs, (int, np.integer)) or isinstance(n_jobs, bool) or (
            n_jobs < 1 and n_jobs != -1):
        raise ModelError(f"n_jobs must be a positive integer or -1, got {n_jobs!r}")
    if remote and n_jobs != 1:
        raise ModelError("n_jobs is the size of the local pool; on a Dask cluster its workers "
                         "run the tasks (leave n_jobs at 1)")
    if (remote or n_jobs != 1) and method not in BY_NAME:
        raise ModelError(f"method {method!r} is registered in this process only; run it with "
                         "n_jobs=1 and no cluster")
    if total_budget is not None:
        if budget is not None:
            raise ModelError("give budget= (seconds a row) or total_budget= (seconds for the "
                             "batch), not both")
        _options(method, options, total_budget, deterministic)  # the same checks
    own_client = None
    if remote:
        if client is None:
            own_client = client = _open_client(scheduler)
        backend, workers = "dask", len(client.scheduler_info().get("workers", {}))
    elif n_jobs == 1:
        backend, workers = "serial", 1
    else:
        backend = "joblib"
        workers = multiprocessing.cpu_count() if n_jobs == -1 else int(n_jobs)
    nrows = sum(len(outs) for outs in specs)
    if total_budget is not None:  # the rows' share of the batch's wall clock
        budget = TOTAL_BUDGET_USE * float(total_budget) * max(1, workers) / nrows
        if budget < MIN_ROW_BUDGET:
            need = MIN_ROW_BUDGET * nrows / (TOTAL_BUDGET_USE * max(1, workers))
            raise ModelError(f"total_budget={float(total_budget):g} s gives {budget:.3g} s to "
                             f"each of the {nrows} rows ({max(1, workers)} worker(s)); a row "
                             f"needs at least {MIN_ROW_BUDGET:g} s whatever its budget: give "
                             f"total_budget >= {need:.3g} s, more workers, or fewer rows")
    tasks = [((net, c, float(r), spec),
              dict(norm=p, method=method, options=parsed, lower=lower, region=region,
                   index=0, center_index=i, budget=budget, deterministic=deterministic))
             for i, (c, r, outs) in enumerate(zip(X, radii, specs)) for spec in outs]
    for k, (_, kw) in enumerate(tasks):
        kw["index"] = k
    total, rows = len(tasks), [None] * len(tasks)
    if remote:
        stream = _dask_rows(_chunks(tasks, len(X), max(1, workers)), net, client)
    elif n_jobs == 1:
        stream = (certify(*args, **kw) for args, kw in tasks)
    else:
        stream = _joblib_rows(_chunks(tasks, len(X), workers), n_jobs)
    log.info("%d certificates (%d centers), %s, %d worker(s)", total, len(X), backend, workers)
    try:
        for done, row in enumerate(stream, 1):
            rows[row["index"]] = row
            if row["status"] == "error":  # logged here: a worker's log has no handler
                log.warning("row %d (center %d, %s) failed: %s", row["index"], row["center"],
                            row["output"], row["error"])
            if callback is not None:
                callback(done, total, row)
    finally:
        stream.close()  # stops the tasks left (an exception in the callback, Ctrl-C)
        if own_client is not None:
            own_client.close()
    info = {"backend": backend, "workers": workers, "rows": total, "centers": len(X),
            "method": method, "norm": _norm_text(p), "region": region,
            "errors": sum(r["status"] == "error" for r in rows), "row_budget": budget,
            "seconds": time.perf_counter() - t0}
    return BatchResult(rows, info)

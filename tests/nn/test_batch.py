"""lipschitz_batch: every row equals the serial lipschitz() call it stands for (upper and lower
bounds, exactly), in this process, in joblib processes and on a local Dask cluster (loopback
only, closed after); the inputs are checked before any task; a failing task is one error row;
the table survives CSV and JSON; the network pickles."""

import math
import pickle

import numpy as np
import pytest

from polylip.errors import MissingDependencyError, ModelError
from polylip.nn import (BallRegion, BatchResult, BoxRegion, Network, lipschitz,
                        lipschitz_batch, margins)
from polylip.nn.batch import COLUMNS, certify
from polylip.nn.estimate import METHODS, MethodOutput, register_method
from support.nn import random_net

OUTPUTS = ["margin:0,1", "margin:0,2", "margin:2,1"]


@pytest.fixture(scope="module")
def net():
    Ws, bs = random_net(3, [4, 6, 5, 3])
    return Network.from_weights(Ws, bs)


@pytest.fixture(scope="module")
def centers():
    return np.random.default_rng(7).uniform(-1.0, 1.0, (4, 4))


def serial(net, centers, radius, outputs, method="interval", region=BoxRegion, norm="inf",
           **kw):
    radii = np.broadcast_to(np.asarray(radius, dtype=float), (len(centers),))
    return [lipschitz(net.with_output(spec), norm=norm, method=method,
                      region=region(c, r), **kw)
            for c, r in zip(centers, radii) for spec in outputs]


def assert_rows_equal(rows, expected):
    assert len(rows) == len(expected)
    for row, ref in zip(rows, expected):
        assert row["upper"] == ref.upper and row["lower"] == ref.lower, (row, ref)
        assert row["status"] == ref.status


def test_network_pickles(net, centers):
    back = pickle.loads(pickle.dumps(net.with_output("margin:0,1")))
    assert back.layer_sizes == net.layer_sizes and back.output.spec() == "margin:0,1"
    for (W, b), (W2, b2) in zip(net.affine_layers, back.affine_layers):
        assert np.array_equal(W, W2) and np.array_equal(b, b2)
    region = BoxRegion(centers[0], 0.1)
    assert (lipschitz(back, method="interval", region=region).upper
            == lipschitz(net.with_output("margin:0,1"), method="interval", region=region).upper)


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_rows_equal_serial_calls(net, centers, n_jobs):
    res = lipschitz_batch(net, centers, 0.1, outputs=OUTPUTS, method="interval", n_jobs=n_jobs)
    assert_rows_equal(res.rows, serial(net, centers, 0.1, OUTPUTS))
    assert [(r["index"], r["center"], r["output"]) for r in res.rows] == [
        (3 * i + k, i, spec) for i in range(len(centers)) for k, spec in enumerate(OUTPUTS)]
    assert res.info["backend"] == ("serial" if n_jobs == 1 else "joblib")
    assert res.info["rows"] == len(res) == 12 and res.errors == []


def test_exact_method_radius_per_center_and_joblib(net, centers):
    radii = np.array([0.05, 0.1, 0.2, 1e-9])  # radius 0 is refused: one point has no constant
    res = lipschitz_batch(net, centers, radii, outputs=OUTPUTS[:2], method="exact", n_jobs=2)
    assert_rows_equal(res.rows, serial(net, centers, radii, OUTPUTS[:2], method="exact"))
    assert [r["radius"] for r in res.rows] == list(np.repeat(radii, 2))


def test_ball_l2_and_product(net, centers):
    res = lipschitz_batch(net, centers, 0.3, outputs=OUTPUTS, norm="2", method="product",
                          region="ball", lower=False)
    assert_rows_equal(res.rows, serial(net, centers, 0.3, OUTPUTS, method="product",
                                       region=BallRegion, norm="2", lower=False))
    assert all(r["region"] == "ball" and r["norm"] == "2" and r["lower"] is None
               for r in res.rows)


def test_value_and_min_value_certify_the_margin(net, centers):
    res = lipschitz_batch(net, centers, 0.1, outputs=OUTPUTS, method="interval")
    rng = np.random.default_rng(0)
    for r in res.rows:
        f = net.with_output(r["output"])
        c = centers[r["center"]]
        assert r["value"] == pytest.approx(float(f.value(c[None])[0]), abs=1e-12)
        assert r["min_value"] == pytest.approx(r["value"] - 0.1 * r["upper"])
        X = c + 0.1 * rng.uniform(-1, 1, (200, 4))  # min_value bounds f on the box
        assert f.value(X).min() >= r["min_value"] - 1e-9
        assert "grad(y" in r["constant"] and "||_1" in r["constant"]


def test_outputs_forms(net, centers):
    default = lipschitz_batch(net, centers[:2], 0.1, method="product", lower=False)
    assert [r["output"] for r in default.rows] == ["vector:inf"] * 2
    assert "J(x)" in default.rows[0]["constant"] and default.rows[0]["value"] is None
    cls = lipschitz_batch(net, centers[:2], 0.1, outputs="margins:2", method="product",
                          lower=False)
    assert [r["output"] for r in cls.rows] == margins(2, 3) * 2 == ["margin:2,0",
                                                                    "margin:2,1"] * 2
    pred = lipschitz_batch(net, centers, 0.1, outputs="margins:predicted", method="product",
                           lower=False)
    labels = np.argmax(net.forward(centers), axis=1)
    assert [r["output"] for r in pred.rows] == [s for c in labels for s in margins(c, 3)]
    assert all(r["value"] >= 0 for r in pred.rows)  # the predicted class wins at the center


def test_callback_sees_every_row(net, centers):
    seen = []
    res = lipschitz_batch(net, centers, 0.1, outputs=OUTPUTS, method="interval", n_jobs=2,
                          callback=lambda done, total, row: seen.append((done, total, row)))
    assert [d for d, _, _ in seen] == list(range(1, 13)) and {t for _, t, _ in seen} == {12}
    assert sorted(r["index"] for _, _, r in seen) == list(range(12))
    assert sorted((r["index"], r["upper"]) for _, _, r in seen) == [
        (r["index"], r["upper"]) for r in res.rows]


def test_auto_with_a_tiny_budget(net, centers):
    res = lipschitz_batch(net, centers[:1], 0.1, outputs=OUTPUTS[:2], budget=2.0)
    product = lipschitz_batch(net, centers[:1], 0.1, outputs=OUTPUTS[:2], method="product")
    for r, p in zip(res.rows, product.rows):
        assert r["method"] == "auto" and r["best_method"] is not None
        assert r["lower"] - 1e-9 <= r["upper"] <= p["upper"] + 1e-9
        assert r["seconds"] < 30


def test_deterministic_auto_rows_equal_serial_calls_in_processes(net, centers):
    kw = dict(method="auto", budget=2.0, deterministic=True)
    res = lipschitz_batch(net, centers[:2], 0.1, outputs=OUTPUTS[:2], n_jobs=2, **kw)
    assert_rows_equal(res.rows, serial(net, centers[:2], 0.1, OUTPUTS[:2], **kw))
    assert all(r["best_method"] is not None for r in res.rows)


def test_budget_applies_to_any_method(net, centers):
    res = lipschitz_batch(net, centers[:1], 0.1, outputs=OUTPUTS, method="exact", budget=30.0)
    assert_rows_equal(res.rows, serial(net, centers[:1], 0.1, OUTPUTS, method="exact",
                                       budget=30.0))


@pytest.mark.parametrize("bad, match", [
    (dict(centers=np.zeros(4)), "2-D array"),
    (dict(centers=np.zeros((2, 5))), "width 5 but the network has 4 inputs"),
    (dict(centers=np.array([[0.0, 0, 0, 0], [0, np.nan, 0, 0]])), "center 1 has a NaN"),
    (dict(centers=np.zeros((0, 4))), "empty"),
    (dict(centers=[["a", "b", "c", "d"]]), "numeric"),
    (dict(radius=[0.1, 0.2]), "shape (3,)"),
    (dict(radius=-1.0), "> 0"), (dict(radius=0.0), "> 0"),
    (dict(radius=math.inf), "finite"),
    (dict(outputs=["margin:0,7"]), "out of range"),
    (dict(outputs="margins:x"), "margins:C"),
    (dict(outputs=[]), "empty"),
    (dict(method="nope"), "unknown Lipschitz method"),
    (dict(method="exact", options={"max_unstable": -1}), "max_unstable"),
    (dict(method="interval", budget=-1), "budget must be a positive number"),
    (dict(method="auto", budget=5, options={"budget": 5}), "give the budget once"),
    (dict(deterministic="yes"), "deterministic must be True or False"),
    (dict(n_jobs=0), "n_jobs"),
    (dict(region="cube"), "region"),
    (dict(client=object(), scheduler="tcp://127.0.0.1:1"), "not both"),
    (dict(scheduler="tcp://127.0.0.1:1", n_jobs=2), "n_jobs"),
])
def test_bad_inputs_are_refused_before_any_task(net, bad, match):
    kw = dict(centers=np.zeros((3, 4)), radius=0.1, outputs=OUTPUTS, method="interval")
    kw.update(bad)
    with pytest.raises(ModelError, match=match.replace("(", r"\(").replace(")", r"\)")):
        lipschitz_batch(net, **kw)


def test_a_failing_task_is_an_error_row_and_local_methods_stay_local(net, centers):
    calls = []

    @register_method("batch-test-fails", replace=True)
    def _fails(problem):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("solver exploded")
        return MethodOutput(upper=1e6)

    try:
        res = lipschitz_batch(net, centers[:1], 0.1, outputs=OUTPUTS, method="batch-test-fails",
                              lower=False)
        assert [r["status"] for r in res.rows] == ["ok", "error", "ok"]
        assert res.rows[1]["upper"] is None and "solver exploded" in res.rows[1]["error"]
        assert res.errors == [res.rows[1]] and res.info["errors"] == 1
        with pytest.raises(ModelError, match="registered in this process only"):
            lipschitz_batch(net, centers[:1], 0.1, outputs=OUTPUTS, method="batch-test-fails",
                            n_jobs=2)
    finally:
        METHODS.pop("batch-test-fails", None)


def test_certify_is_a_plain_function_of_plain_values(net, centers):
    row = certify(pickle.loads(pickle.dumps(net)), centers[0], 0.1, "margin:0,1",
                  method="interval", index=5, center_index=2)
    ref = lipschitz(net.with_output("margin:0,1"), method="interval",
                    region=BoxRegion(centers[0], 0.1))
    assert (row["index"], row["center"], row["upper"], row["lower"]) == (5, 2, ref.upper,
                                                                        ref.lower)
    assert set(row) == set(COLUMNS)


def test_csv_and_json_round_trip(net, centers, tmp_path):
    res = lipschitz_batch(net, centers, 0.1, outputs=OUTPUTS, method="interval")
    res.rows[0]["upper"] = math.inf  # an infinite bound survives both
    res.rows[1]["error"] = 'a "quoted", multi\nline message'
    res.to_csv(tmp_path / "t.csv")
    back = BatchResult.from_csv(tmp_path / "t.csv")
    assert back.rows == res.rows
    res.to_json(tmp_path / "t.json")
    for again in (BatchResult.from_json(tmp_path / "t.json"), BatchResult.from_json(res.to_json())):
        assert again.rows == res.rows
        assert again.info == res.info
    assert res.to_csv().splitlines()[0] == ",".join(COLUMNS)


def test_to_pandas_only_with_pandas(net, centers):
    res = lipschitz_batch(net, centers[:1], 0.1, outputs=OUTPUTS, method="product", lower=False)
    try:
        import pandas  # noqa: F401
    except ImportError:
        with pytest.raises(MissingDependencyError, match="pandas"):
            res.to_pandas()
        return
    df = res.to_pandas()
    assert list(df.columns) == list(COLUMNS) and len(df) == 3
    assert df["upper"].tolist() == [r["upper"] for r in res.rows]


# ------------------------------------------------------------------ a local Dask cluster
@pytest.fixture(scope="module")
def cluster(request):
    distributed = pytest.importorskip("distributed")
    cl = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None)
    request.addfinalizer(cl.close)
    assert cl.scheduler_address.startswith("tcp://127.0.0.1:")
    return cl


@pytest.fixture
def client(cluster, request):
    distributed = pytest.importorskip("distributed")
    c = distributed.Client(cluster)
    request.addfinalizer(c.close)
    return c


def test_dask_client_rows_equal_serial_calls(net, centers, client):
    seen = []
    res = lipschitz_batch(net, centers, 0.1, outputs=OUTPUTS, method="interval", client=client,
                          callback=lambda done, total, row: seen.append(done))
    assert_rows_equal(res.rows, serial(net, centers, 0.1, OUTPUTS))
    assert res.info["backend"] == "dask" and res.info["workers"] == 2
    assert seen == list(range(1, 13))
    exact = lipschitz_batch(net, centers, 0.2, outputs=OUTPUTS[:1], method="exact",
                            client=client)
    assert_rows_equal(exact.rows, serial(net, centers, 0.2, OUTPUTS[:1], method="exact"))


def test_dask_scheduler_address_rows_equal_serial_calls(net, centers, cluster):
    res = lipschitz_batch(net, centers, 0.1, outputs=OUTPUTS, method="interval",
                          scheduler=cluster.scheduler_address)
    assert_rows_equal(res.rows, serial(net, centers, 0.1, OUTPUTS))
    assert res.info["backend"] == "dask"


def test_a_task_lost_with_its_worker_is_an_error_row(centers):
    from polylip.nn.batch import _lost_row

    kw = dict(norm=math.inf, method="interval", options=None, lower=True, region="box",
              index=7, center_index=2)
    row = _lost_row((None, centers[2], 0.1, "margin:0,1"), kw, RuntimeError("worker died"))
    assert set(row) == set(COLUMNS) and row["upper"] is None
    assert (row["index"], row["center"], row["output"], row["norm"], row["status"]) == (
        7, 2, "margin:0,1", "inf", "error")
    assert row["error"] == "RuntimeError: worker died"


def test_dask_task_that_fails_outside_certify_is_an_error_row(net, centers, client):
    # in the workers only, certify is replaced by int: the task itself raises (as when its
    # worker dies), and the row says so instead of ending the batch
    client.run(exec, "import polylip.nn.batch as b; b._saved = b.certify; b.certify = int", {})
    try:
        res = lipschitz_batch(net, centers[:2], 0.1, outputs=OUTPUTS[:1], method="interval",
                              client=client)
    finally:
        client.run(exec, "import polylip.nn.batch as b; b.certify = b._saved", {})
    assert [r["status"] for r in res.rows] == ["error", "error"]
    assert all(r["error"].startswith("TypeError") and r["upper"] is None for r in res.rows)
    assert [(r["index"], r["center"]) for r in res.rows] == [(0, 0), (1, 1)]


def test_total_budget_is_shared_among_the_rows(net, centers):
    res = lipschitz_batch(net, centers, 0.1, outputs=OUTPUTS, method="interval",
                          total_budget=12.0, n_jobs=2)
    from polylip.nn.batch import TOTAL_BUDGET_USE

    assert res.info["row_budget"] == pytest.approx(TOTAL_BUDGET_USE * 12.0 * 2 / 12)
    assert_rows_equal(res.rows, serial(net, centers, 0.1, OUTPUTS,
                                       budget=res.info["row_budget"]))
    with pytest.raises(ModelError, match="not both"):
        lipschitz_batch(net, centers, 0.1, method="interval", budget=1.0, total_budget=5.0)
    with pytest.raises(ModelError, match="budget"):
        lipschitz_batch(net, centers, 0.1, method="interval", total_budget=-1.0)


def test_total_budget_below_the_rows_floor_is_refused(net, centers):
    """total_budget=6 for 180 rows (0.03 s a row) took 50 s: a row costs about 0.2 s whatever
    its budget. Such a total is refused before any row runs, naming the total that works
    (QA round 4)."""
    from polylip.nn.batch import MIN_ROW_BUDGET, TOTAL_BUDGET_USE

    rows = len(centers) * len(OUTPUTS)
    enough = MIN_ROW_BUDGET * rows / TOTAL_BUDGET_USE
    with pytest.raises(ModelError, match=f"total_budget >= {enough:.3g} s"):
        lipschitz_batch(net, centers, 0.1, outputs=OUTPUTS, method="interval",
                        total_budget=0.5 * enough)


def test_region_bounds_are_shared_by_the_outputs_and_keyed_by_content(net, centers):
    # the margins of one center get the same pre-activation bounds (one propagation), which
    # are those of a fresh computation; other weights (same shapes) give other bounds
    from polylip.nn import regions

    region = BoxRegion(centers[0], 0.2)
    a = region.propagate(net.with_output("margin:0,1"))
    b = BoxRegion(centers[0].copy(), 0.2).propagate(net.with_output("margin:2,1"))
    assert a is b
    fresh = BoxRegion(centers[0], 0.2)._propagate(net)
    for x, y in zip(a.pre_lo + a.pre_hi, fresh.pre_lo + fresh.pre_hi):
        assert np.array_equal(x, y)
    Ws = [W * (2.0 if k == 0 else 1.0) for k, (W, _) in enumerate(net.affine_layers)]
    other = Network.from_weights(Ws, [bias for _, bias in net.affine_layers])
    c = BoxRegion(centers[0], 0.2).propagate(other)
    assert c is not a and not np.array_equal(c.pre_hi[0], a.pre_hi[0])
    assert BoxRegion(centers[0], 0.3).propagate(net) is not a
    assert len(regions._BOUNDS_CACHE) <= regions.BOUNDS_CACHE_SIZE


@pytest.mark.parametrize("text, match", [
    ("{", "invalid JSON"), ('{"row": []}', "not a batch table"), ('{"rows": 3}', "not a batch table"),
    ('{"rows": [1]}', "not a batch table"), ('{"rows": [{"index": "1.5"}]}', "row 0, column index"),
    ('{"rows": [{"upper": []}]}', "column upper"), ('{"rows": [{"nope": 1}]}', "unknown column"),
    ('{"rows": [{"index": 1e308}]}', "column index"), ('{"rows": [], "info": []}', "not a batch table")])
def test_tables_from_elsewhere_are_model_errors(text, match):
    """QA round 4: a table's JSON is checked (it raised KeyError/ValueError/TypeError raw)."""
    with pytest.raises(ModelError, match=match):
        BatchResult.from_json(text)

"""``polylip lipschitz NET --centers POINTS.npy --radius R``: the table equals the library's
(lipschitz_batch, hence the serial lipschitz() calls), in text, CSV and JSON, with --jobs and
--scheduler (a loopback Dask cluster, closed after); bad points and misplaced batch flags are
one-line errors with exit code 2; a row without an upper bound is exit code 1."""

import json

import numpy as np
import pytest

from polylip.nn import BatchResult, Network, lipschitz_batch
from support.cli import assert_one_line_error
from support.nn import random_net


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("batch")
    Ws, bs = random_net(5, [4, 6, 5, 4])
    net = Network.from_weights(Ws, bs)
    net.save(root / "net.npz")
    X = np.random.default_rng(1).uniform(-1, 1, (3, 4))
    np.save(root / "points.npy", X)
    bad = {"one_d": np.zeros(4), "width": np.zeros((2, 3)), "nan": np.array([[0, 0, np.nan, 0.]]),
           "text": np.array([["a"] * 4]), "empty": np.zeros((0, 4))}
    for name, arr in bad.items():
        np.save(root / f"{name}.npy", arr)
    np.save(root / "pickled.npy", np.array([{"x": 1}], dtype=object), allow_pickle=True)
    (root / "not_npy.npy").write_text("0 1 2 3\n")
    return {"root": root, "net": net, "X": X, **{k: root / f"{k}.npy" for k in bad},
            "model": root / "net.npz", "points": root / "points.npy",
            "pickled": root / "pickled.npy", "not_npy": root / "not_npy.npy"}


def library(files, outputs, **kw):
    return lipschitz_batch(files["net"], files["X"], 0.1, outputs=outputs, method="interval",
                           **kw).rows


def bounds(rows):
    return [(r["center"], r["output"], r["upper"], r["lower"]) for r in rows]


def test_csv_equals_the_library_rows(cli, files, tmp_path):
    out = tmp_path / "out.csv"
    run = cli("lipschitz", files["model"], "--centers", files["points"], "--radius", "0.1",
              "--method", "interval", "--outputs", "margins:1", "--csv", out)
    assert run.code == 0, run.err
    assert "9 certificates (3 centers), 9 with an upper bound" in run.out
    assert bounds(BatchResult.from_csv(out).rows) == bounds(library(files, "margins:1"))


def test_repeated_output_jobs_and_json_file(cli, files, tmp_path):
    out = tmp_path / "out.json"
    run = cli("lipschitz", files["model"], "--centers", files["points"], "--radius", "0.1",
              "--method", "interval", "--output", "margin:0,3", "--output", "margin:2,1",
              "--jobs", "2", "--json", out)
    assert run.code == 0, run.err
    rows = BatchResult.from_json(out).rows
    assert [r["output"] for r in rows] == ["margin:0,3", "margin:2,1"] * 3
    assert bounds(rows) == bounds(library(files, ["margin:0,3", "margin:2,1"]))
    assert json.loads(out.read_text())["info"]["backend"] == "joblib"


def test_json_on_stdout_and_text_table(cli, files):
    run = cli("lipschitz", files["model"], "--centers", files["points"], "--radius", "0.1",
              "--method", "interval", "--outputs", "margins:predicted", "--json")
    assert run.code == 0, run.err
    doc = json.loads(run.out)  # nothing else on stdout
    assert bounds(doc["rows"]) == bounds(library(files, "margins:predicted"))
    text = cli("lipschitz", files["model"], "--centers", files["points"], "--radius", "0.1",
               "--method", "interval", "--output", "margin:0,3", "--no-lower")
    assert text.code == 0 and text.err == ""
    lines = text.out.splitlines()
    assert lines[0].split() == ["center", "output", "upper", "lower", "min", "f", "status"]
    assert lines[1].split()[:2] == ["0", "margin:0,3"]
    assert lines[4].startswith("3 certificates") and lines[5].startswith("upper: ")  # legend


@pytest.mark.parametrize("name, match", [
    ("one_d", "centers must be a 2-D array (N, 4)"),
    ("width", "centers have width 3 but the network has 4 inputs"),
    ("nan", "center 0 has a NaN or infinite entry"),
    ("text", "expected an array of real numbers"),  # loaders.npz.load_npy's messages
    ("empty", "empty"),
    ("pickled", "expected an array of real numbers"),
    ("not_npy", "is not a valid .npy array"),
])
def test_bad_points_are_one_line_errors(cli, files, name, match):
    run = cli("lipschitz", files["model"], "--centers", files[name], "--radius", "0.1",
              "--method", "interval")
    line = assert_one_line_error(run, 2, match)
    assert name in line or "cannot read" in line


@pytest.mark.parametrize("extra, match", [
    (["--jobs", "2"], "--jobs: for a batch only"),
    (["--csv", "x.csv"], "--csv: for a batch only"),
    (["--outputs", "margins:1"], "--outputs: for a batch only"),
    (["--json", "x.json"], "--json FILE: for a batch only"),
    (["--centers", "POINTS"], "--centers needs --radius"),
    (["--centers", "POINTS", "--radius", "0.1", "--center", "POINTS"], "excludes --center"),
    (["--centers", "POINTS", "--radius", "0.1", "--outputs", "margins:1", "--output",
      "margin:0,1"], "not both"),
    (["--centers", "POINTS", "--radius", "0.1", "--jobs", "2", "--scheduler",
      "tcp://127.0.0.1:9"], "n_jobs"),
    (["--centers", "POINTS", "--radius", "0.1", "--csv", "/no/such/folder/x.csv"],
     "no such folder"),
    (["--centers", "POINTS", "--radius", "0.1", "--outputs", "margins:9"], "out of range"),
    (["--centers", "POINTS", "--radius", "0.1", "--jobs", "0"], "positive integer"),
])
def test_misplaced_batch_flags_are_one_line_errors(cli, files, extra, match):
    extra = [str(files["points"]) if a == "POINTS" else a for a in extra]
    run = cli("lipschitz", files["model"], "--method", "interval", *extra)
    assert_one_line_error(run, 2, match)


def test_rows_without_an_upper_bound_exit_1(cli, files):
    # LP of degree 1 is below the gradient POP's degree: no certified bound, for every row
    run = cli("lipschitz", files["model"], "--centers", files["points"], "--radius", "0.1",
              "--method", "lp", "--degree", "1", "--no-lower", "--output", "margin:0,1")
    assert_one_line_error(run, 1, "no certified upper bound for 3 of 3 certificates")
    assert "0 with an upper bound" in run.out


@pytest.fixture(scope="module")
def scheduler(request):
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                       host="127.0.0.1", dashboard_address=None)
    request.addfinalizer(cluster.close)
    return cluster.scheduler_address


def test_scheduler_rows_equal_the_library_rows(cli, files, scheduler, tmp_path):
    out = tmp_path / "out.csv"
    run = cli("lipschitz", files["model"], "--centers", files["points"], "--radius", "0.1",
              "--method", "interval", "--outputs", "margins:2", "--scheduler", scheduler,
              "--csv", out)
    assert run.code == 0, run.err
    assert "(dask, 1 worker(s))" in run.out
    assert bounds(BatchResult.from_csv(out).rows) == bounds(library(files, "margins:2"))


@pytest.mark.parametrize("method", ["interval", "milp"])
def test_deterministic_batch_of_any_method_equals_the_library(cli, files, tmp_path, method):
    out = tmp_path / "out.csv"
    run = cli("lipschitz", files["model"], "--centers", files["points"], "--radius", "0.1",
              "--method", method, "--outputs", "margins:1", "--deterministic", "--csv", out)
    assert run.code == 0, run.err
    lib = lipschitz_batch(files["net"], files["X"], 0.1, outputs="margins:1", method=method,
                          deterministic=True).rows
    assert bounds(BatchResult.from_csv(out).rows) == bounds(lib)


def test_text_table_has_a_legend(cli, files):
    run = cli("lipschitz", files["model"], "--centers", files["points"], "--radius", "0.1",
              "--method", "interval", "--outputs", "margins:1")
    assert run.code == 0, run.err
    assert "upper: a certified upper bound" in run.out and "min f > 0 proves" in run.out
    assert "status ok: the upper bound is certified" in run.out

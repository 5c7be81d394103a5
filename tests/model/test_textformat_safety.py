"""Problem files and string arguments are data, never code: injection attempts, encodings and
sizes end in a ModelError before anything runs."""

import pytest

from polylip import POP
from polylip.errors import ModelError
from polylip.model.textformat import MAX_FILE_BYTES, load_problem, parse_problem


def _injections(marker):
    m = str(marker)
    return [
        f"((x.__class__.__new__.__globals__['__builtins__']['__import__'])('os').system)"
        f"('touch {m}') + 1 >= 0",
        f"__import__('os').system('touch {m}')",
        f"'a' 'b' + x",
        "x.__class__",
        f"exec('open(\"{m}\", \"w\")')",
        f"eval(\"__import__('os').system('touch {m}')\")",
        "lambda: 0",
        "[x for x in ()]",
    ]


@pytest.mark.parametrize("k", range(8))
def test_problem_file_never_runs_code(tmp_path, k):
    marker = tmp_path / "pwned"
    payload = _injections(marker)[k]
    for text in (f"minimize: x\nsubject to: {payload}", f"minimize: {payload}"):
        path = tmp_path / "bad.pop"
        path.write_text(text)
        with pytest.raises(ModelError, match=r"bad.pop, line \d+, column \d+"):
            load_problem(path)
        assert not marker.exists()


@pytest.mark.parametrize("k", range(8))
def test_string_arguments_never_run_code(tmp_path, k):
    marker = tmp_path / "pwned"
    payload = _injections(marker)[k]
    for kwargs in (dict(objective=payload), dict(objective="x", ineqs=[payload]),
                   dict(objective="x", eqs=[payload])):
        with pytest.raises(ModelError):
            POP(**kwargs)
        assert not marker.exists()


def test_string_arguments_are_parsed():
    pop = POP("x^2 - 2*x*y", ineqs=["x^2 + y^2 <= 1"], eqs=["x - y"])
    assert pop.variables == ("x", "y")
    assert str(pop.ineqs[0]) == "1 - x**2 - y**2"
    assert str(pop.eqs[0]) == "x - y"
    assert POP("x + y", ineqs=["x == 1"]).eqs[0].nterms == 2


def test_encodings_and_binary_files(tmp_path):
    latin = tmp_path / "latin.pop"
    latin.write_bytes("minimize: x  # café\n".encode("latin-1"))
    with pytest.raises(ModelError, match="not UTF-8"):
        load_problem(latin)
    binary = tmp_path / "bin.pop"
    binary.write_bytes(b"minimize: x\x00\x01\x02")
    with pytest.raises(ModelError, match="binary"):
        load_problem(binary)
    bom = tmp_path / "bom.pop"
    bom.write_bytes("\ufeffminimize: x^2\n".encode("utf-8"))
    assert load_problem(bom).variables == ("x",)
    # the string parser agrees with the file reader (it refused the BOM: POP QA round 5)
    assert parse_problem("\ufeffminimize: x^2\n").variables == ("x",)
    with pytest.raises(ModelError, match="directory"):
        load_problem(tmp_path)
    with pytest.raises(ModelError, match="cannot read"):
        load_problem(tmp_path / "missing.pop")


def test_huge_and_endless_files_are_refused_before_reading(tmp_path):
    big = tmp_path / "big.pop"
    with big.open("wb") as fh:
        fh.truncate(MAX_FILE_BYTES + 10)  # sparse file: no disk used
    with pytest.raises(ModelError, match="larger than"):
        load_problem(big)
    with pytest.raises(ModelError):
        load_problem("/dev/zero")  # endless: read is capped, then NUL bytes are refused


def test_sizes_are_refused_before_expanding():
    with pytest.raises(ModelError, match="exponent"):
        parse_problem("minimize: x^1000000")
    with pytest.raises(ModelError):
        parse_problem("minimize: (x + y + z + w)^200")
    with pytest.raises(ModelError):
        parse_problem("minimize: 2^2^2^2^2^2 * x")


def test_constant_objective_is_a_problem():
    pop = parse_problem("minimize: 3\nsubject to: 1 - x^2 >= 0")
    assert pop.objective.is_constant() and pop.variables == ("x",)


def test_constant_objective_solves():
    res = parse_problem("minimize: 3").solve()
    assert res.status == "optimal" and res.bound <= 3.0 and res.bound == pytest.approx(3.0, rel=1e-12)
    res = parse_problem("maximize: 2 - 5").solve()
    assert res.status == "optimal" and res.bound >= -3.0 and res.bound == pytest.approx(-3.0, rel=1e-12)

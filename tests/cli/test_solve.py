"""``polylip solve FILE`` and ``polylip structure FILE``: exit codes, --time-limit, and every way
a problem file can be bad ending in one line on stderr."""

import json
from pathlib import Path

import pytest

import polylip.cli.solve as cli_solve
from polylip.model.pop import POP
from support.cli import assert_one_line_error, run_module

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def problem(tmp_path):
    path = tmp_path / "p.pop"
    path.write_text("minimize: x^4 - 3*x^2 + x\n")
    return path


def test_exit_codes(cli, problem, tmp_path):
    run = cli("solve", problem, "--json")
    assert run.code == 0 and run.err == ""
    assert json.loads(run.out)["status"] == "optimal"
    unbounded = tmp_path / "u.pop"
    unbounded.write_text("minimize: x^3\n")
    run = cli("solve", unbounded, "--order", "2", "--json")
    assert json.loads(run.out)["status"] == "unbounded"  # the result still goes to stdout
    assert_one_line_error(run, 1, "no certified bound: status unbounded")


def test_constant_objective_is_solved_not_refused(cli, tmp_path):
    """A problem without variables is a valid (trivial) problem: the library answers it, so
    the CLI does too (it used to end in a solver traceback)."""
    path = tmp_path / "c.pop"
    path.write_text("minimize: 3\n")
    run = cli("solve", path, "--json")
    bound = json.loads(run.out)["bound"]
    assert run.code == 0 and run.err == "" and bound <= 3 and abs(bound - 3) <= 1e-12  # certified
    assert cli("structure", path).code == 0


BAD_FILES = [("binary", "binary"), ("latin1", "not UTF-8"), ("directory", "directory"),
             ("missing", "cannot read problem file"), ("huge", "refused before reading it")]


@pytest.mark.parametrize("command", ["solve", "structure"])
@pytest.mark.parametrize("kind, message", BAD_FILES)
def test_bad_problem_files(cli, bad_files, command, kind, message):
    assert_one_line_error(cli(command, bad_files[kind]), 2, message)


def test_dev_zero_is_refused_after_the_size_limit(cli):
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero")
    assert_one_line_error(cli("solve", "/dev/zero"), 2, "/dev/zero")


def test_malformed_problem(cli, tmp_path):
    path = tmp_path / "bad.pop"
    path.write_text("minimize: sin(x)\n")
    assert_one_line_error(cli("solve", path), 2, "not a polynomial")
    path.write_text("minimize: (x + 1\n")
    assert_one_line_error(cli("structure", path), 2, "line 1")


@pytest.mark.parametrize("flags, message", [
    (["--order", "0"], "--order"), (["--order", "-1"], "--order"), (["--order", "two"], "--order"),
    (["--degree", "0", "--method", "lp"], "--degree"), (["--method", "simplex"], "--method"),
    (["--time-limit", "0"], "--time-limit"), (["--time-limit", "-1"], "--time-limit"),
    (["--time-limit", "inf"], "--time-limit"), (["--time-limit", "nan"], "--time-limit"),
    (["--solver", "nosuchsolver"], "not available"),
])
def test_bad_flag_values(cli, problem, flags, message):
    assert_one_line_error(cli("solve", problem, *flags), 2, message)


@pytest.mark.parametrize("flags, message", [
    (["--steps", "0"], "--steps"), (["--sparsity", "nope"], "nope"),
    (["--sparsity", "cs", "--steps", "2"], "--steps"),
])
def test_bad_structure_flags(cli, problem, flags, message):
    assert_one_line_error(cli("structure", problem, *flags), 2, message)


def test_structure_plot_into_a_missing_folder(cli, problem, tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "no" / "such" / "folder" / "s.png"
    assert_one_line_error(cli("structure", problem, "--plot", out), 2, "No such file")


class _Stub:
    status = "optimal"
    certified = True

    def __str__(self):
        return "stub result"


def test_time_limit_is_passed_on(cli, problem, monkeypatch):
    seen = []

    def solve(self, order=None, sparsity="dense", solver="auto", method="sos", degree=None,
              time_limit=None, **options):
        seen.append(time_limit)
        return _Stub()

    monkeypatch.setattr(POP, "solve", solve)
    assert cli("solve", problem).code == 0
    assert cli("solve", problem, "--time-limit", "2.5").code == 0
    assert cli("solve", problem, "--time-limit", "none").code == 0
    assert seen == [cli_solve.DEFAULT_TIME_LIMIT, 2.5, None] and seen[0] == 600


@pytest.mark.parametrize("certified, bound, code, line", [
    (True, -1.0, 0, "certified bound, not tight: status inaccurate"),
    (False, None, 1, "no certified bound: status inaccurate")])
def test_inaccurate_with_a_certified_bound_is_exit_0(cli, problem, monkeypatch, certified,
                                                      bound, code, line):
    # an LP point that missed its certificate keeps its own certified bound (solve/lp.py):
    # exit 0 means a certified bound, and this is one; stderr says it is not tight
    class Inaccurate(_Stub):
        status, message = "inaccurate", "certificate check failed: residual bound 1e-4"

    Inaccurate.certified, Inaccurate.bound = certified, bound
    monkeypatch.setattr(POP, "solve", lambda self, **kw: Inaccurate())
    assert_one_line_error(cli("solve", problem), code, line)


def test_time_limit_reached_is_exit_1(cli):
    if not cli_solve._takes_time_limit("sos"):
        pytest.skip("this build's SOS solve takes no time limit yet")
    run = cli("solve", EXAMPLES / "box_quartic.pop", "--time-limit", "1e-6")
    assert "time_limit" in run.out
    assert_one_line_error(run, 1, "status time_limit")


def test_as_a_subprocess(bad_files):
    assert_one_line_error(run_module("solve", bad_files["binary"]), 2, "binary")
    assert_one_line_error(run_module("structure", bad_files["latin1"]), 2, "UTF-8")


def test_hopeless_relaxation_ends_at_once_with_one_line(cli, tmp_path):
    """(x0+...+x299)(y0+...+y299): its order-1 relaxation is refused from its estimate before
    it is built (status time_limit, exit 1, one line naming the size and what to try)."""
    n = 300
    names = [f"x{i}" for i in range(n)] + [f"y{i}" for i in range(n)]
    path = tmp_path / "product.pop"
    path.write_text(f"variables: {' '.join(names)}\n"
                    f"minimize: ({'+'.join(names[:n])})*({'+'.join(names[n:])})\n")
    run = cli("solve", path, "--time-limit", "2")
    line = assert_one_line_error(run, 1, "status time_limit")
    assert "not started" in line and "601 x 601" in line
    assert "status:    time_limit" in run.out


def test_numerical_only_bound_is_exit_1(cli, tmp_path):
    """Exit 0 means a certified bound (docs/cli.md): a bound the certify stage could not prove
    (here no box bounds the residual's monomials) is printed, with exit code 1 and one line."""
    path = tmp_path / "n.pop"
    path.write_text("minimize: x^2 + y^2\nsubject to: x*y >= 1\n")
    run = cli("solve", path, "--order", "2", "--json")
    out = json.loads(run.out)
    if out["certified"]:
        pytest.skip("certified on this machine's solver path")
    assert out["status"] == "optimal" and out["bound"] is not None
    assert_one_line_error(run, 1, "no certified bound: the bound is numerical only")


#: Adversarial problem files (QA round of issue 12): each is refused with one line naming the
#: problem and exit code 2, or solved; never an internal error. Measured all 97 of a larger
#: set by hand (RESULTS.md, "Problem files from elsewhere"); these are the kinds.
ADVERSARIAL = {
    "dunder": ("minimize: __import__('os').system('echo pwned')", 2, "unexpected character"),
    "lambda": ("minimize: lambda: 0", 2, "unexpected character ':'"),
    "semicolon": ("minimize: x^2; import os", 2, "unexpected character ';'"),
    "huge_exponent": ("minimize: x^1000000", 2, "max_exponent"),
    "tower": ("minimize: 2^2^2^2^2", 2, "max_exponent"),
    "bomb": ("minimize: (x+y+z+w+1)^60", 2, "max_work"),
    "overflow": ("minimize: 1e309*x^2", 2, "too large"),
    "sum_overflow": ("minimize: 1e308*x^2 + 1e308*x^2", 2, "too large for a float"),
    "nested": ("minimize: " + "(" * 300 + "x" + ")" * 300, 2, "max_depth"),
    "unicode_minus": ("minimize: x\u22122", 2, "U+2212"),
    "zero_width": ("minimize: x\u200b^2", 2, "U+200B"),
    "fractional_power": ("minimize: x^0.5", 2, "non-negative integer"),
    "hex": ("minimize: 0x10*x", 2, "operator missing"),
    "builtins_are_variables": ("minimize: print^2 + len^2 + eval^2 + exec^2 - open", 1,
                               "unbounded"),
    # a subnormal box: the scaling divided by 2^-1074 through its reciprocal (overflow) and
    # the error blamed the input ("coefficients must be finite") after a numpy warning
    "subnormal_box": ("minimize: x\nsubject to: x^2 <= 5e-324", 0, None),
    # the scaling's shift expanded a term of degree k into 2^k rows: numpy's "array is too
    # big" as an internal error (QA round 3); now the relaxation's own estimate answers (order
    # 30, about 18 s with CVXOPT: refused before building under a 5 s limit; under the 60 s of
    # the other files it is built and runs to the deadline, a minute of suite time)
    "degree_60_shifted": ("minimize: (x+y)^60 + 1", 1, "time_limit", 5),
    # 1e-400 was read as 0: an unbounded objective solved as the constant 0, "= global optimum"
    "underflow": ("minimize: 1e-400*x", 2, "too small for a float"),
    "underflow_constraint": ("minimize: x\nsubject to: 1e-400*x >= 0\nsubject to: x >= -1", 2,
                             "too small for a float"),
}


@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
def test_adversarial_problem_files(cli, tmp_path, name):
    text, code, match, *limit = ADVERSARIAL[name]
    path = tmp_path / f"{name}.pop"
    path.write_text(text, encoding="utf-8")
    run = cli("solve", path, "--time-limit", str(limit[0] if limit else 60))
    assert "internal error" not in run.err and "Traceback" not in run.err
    if code == 0:
        assert run.code == 0 and run.err == "", run.err
    else:
        line = assert_one_line_error(run, code, match)
        if code == 2:
            assert f"{name}.pop" in line  # the error names the file


def test_a_globallib_file_from_yalmip(cli):
    """GLOBALLib st_bsj2 as converted from YALMIP's test (tests/support/globallib): the
    command prints the certified bound, at or below YALMIP's optimum 1, and exits 0."""
    path = Path(__file__).resolve().parents[1] / "support" / "globallib" / "st_bsj2.pop"
    run = cli("solve", path, "--order", "2", "--json", "--time-limit", "120")
    assert run.code == 0 and run.err == "", run.err
    out = json.loads(run.out)
    assert out["status"] == "optimal" and out["certified"] and out["bound"] <= 1.0


def test_order_auto(cli, problem):
    """--order auto is the API's order="auto" (it used to be refused as "expected an integer")."""
    run = cli("solve", problem, "--order", "auto", "--json")
    out = json.loads(run.out)
    assert run.code == 0 and out["status"] == "optimal" and out["certified"]
    assert out["order"] == 2
    assert out["bound"] <= -3.5138  # min of x^4 - 3x^2 + x is -3.51378...


def test_max_order_goes_with_order_auto(cli, problem):
    """--max-order is the CLI's Putinar(max_order=), named by the message of --order auto when
    it stops there (QA round 4: the message named a flag-less Python keyword)."""
    run = cli("solve", problem, "--order", "auto", "--max-order", "2", "--json")
    assert run.code == 0 and json.loads(run.out)["status"] == "optimal"
    assert_one_line_error(cli("solve", problem, "--max-order", "3"), 2, "--max-order")
    assert_one_line_error(cli("solve", problem, "--order", "auto", "--max-order", "0"), 2,
                          "positive integer")

"""``polylip`` itself: --version, global flags before or after the subcommand, and the failure
contract (one line on stderr, no traceback unless --debug; exit 2 bad input, 1 no bound /
out of memory / internal error, 130 interrupted)."""

import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import polylip
import polylip.cli.solve as cli_solve
from polylip.errors import ModelError
from support.cli import assert_one_line_error, run_module

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def problem(tmp_path):
    path = tmp_path / "p.pop"
    path.write_text("minimize: x^4 - 3*x^2 + x\n")
    return path


def _raise(exc):
    def fake(*args, **kwargs):
        raise exc
    return fake


def test_version(cli):
    run = cli("--version")
    assert run.code == 0 and run.out == f"polylip {polylip.__version__}\n" and run.err == ""
    sub = run_module("--version")
    assert sub.code == 0 and sub.out.strip() == f"polylip {polylip.__version__}"


def test_usage_errors_are_one_line(cli):
    assert_one_line_error(cli(), 2, "required: COMMAND")
    assert_one_line_error(cli("frobnicate"), 2, "invalid choice")
    assert_one_line_error(cli("solve"), 2, "required: file")
    assert_one_line_error(cli("solve", "p.pop", "--no-such-flag"), 2, "--no-such-flag")


def test_help_exits_zero(cli):
    run = cli("solve", "--help")
    assert run.code == 0 and "--time-limit" in run.out and "--debug" in run.out


@pytest.mark.parametrize("argv", [["-v", "solve", "{f}"], ["solve", "{f}", "-v"],
                                  ["solve", "-v", "{f}"]])
def test_verbose_before_or_after_the_subcommand(cli, problem, argv):
    run = cli(*[a.format(f=problem) for a in argv])
    assert run.code == 0
    infos = [line for line in run.err.splitlines() if line.startswith("polylip: info:")]
    assert infos, run.err
    assert not logging.getLogger("polylip").handlers  # main() took its handler away


def test_quiet_by_default_and_vv_is_debug(cli, problem):
    run = cli("solve", problem)
    assert run.code == 0 and run.err == ""
    run = cli("-v", "solve", problem, "-v")  # counts add up: -vv
    assert run.code == 0 and "polylip: info: polylip." in run.err  # DEBUG names the module


def test_internal_error_is_one_line(cli, problem, monkeypatch):
    monkeypatch.setattr(cli_solve, "load_pop", _raise(RuntimeError("boom\nsecond line")))
    line = assert_one_line_error(cli("solve", problem), 1)
    assert line == ("polylip: internal error: RuntimeError: boom second line (run with --debug "
                    "for the traceback; please report it)")


@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_shows_the_traceback(cli, problem, monkeypatch, where):
    monkeypatch.setattr(cli_solve, "load_pop", _raise(RuntimeError("boom")))
    argv = ["--debug", "solve", problem] if where == "before" else ["solve", problem, "--debug"]
    run = cli(*argv)
    assert run.code == 1
    assert "Traceback (most recent call last)" in run.err
    assert "in fake" in run.err  # the frame that raised
    assert run.err.splitlines()[-1].startswith("polylip: internal error: RuntimeError: boom")


def test_debug_shows_the_traceback_of_a_model_error(cli, problem, monkeypatch):
    monkeypatch.setattr(cli_solve, "load_pop", _raise(ModelError("bad thing")))
    assert_one_line_error(cli("solve", problem), 2, "polylip: error: bad thing")
    run = cli("solve", problem, "--debug")
    assert run.code == 2 and "Traceback" in run.err
    assert run.err.splitlines()[-1] == "polylip: error: bad thing"


def test_ctrl_c(cli, problem, monkeypatch):
    monkeypatch.setattr(cli_solve, "load_pop", _raise(KeyboardInterrupt()))
    line = assert_one_line_error(cli("solve", problem), 130)
    assert line == "polylip: interrupted"


def test_memory_error(cli, problem, monkeypatch):
    monkeypatch.setattr(cli_solve, "load_pop", _raise(MemoryError()))
    assert_one_line_error(cli("solve", problem), 1, "out of memory")


def test_file_error_while_writing_is_bad_input(cli, problem, monkeypatch):
    monkeypatch.setattr(cli_solve, "load_pop",
                        _raise(PermissionError(13, "Permission denied", "/root/x.png")))
    assert_one_line_error(cli("solve", problem), 2, "/root/x.png: Permission denied")


@pytest.mark.skipif(not hasattr(os, "killpg"), reason="needs POSIX process groups")
def test_ctrl_c_in_a_subprocess():
    """A real SIGINT to the process group (what Ctrl-C sends) during method auto: exit 130,
    the last line says so, no traceback from the process or its forked workers."""
    proc = subprocess.Popen([sys.executable, "-m", "polylip", "-v", "lipschitz",
                             str(EXAMPLES / "digits_mlp.npz"), "--budget", "60"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        lines = []
        for line in proc.stderr:  # wait until the run is under way (the network is loaded)
            lines.append(line)
            if "method auto" in line:
                break
        os.killpg(proc.pid, signal.SIGINT)
        _, rest = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    err = "".join(lines) + rest
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert err.splitlines()[-1] == "polylip: interrupted"

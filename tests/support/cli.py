"""Helpers of the command-line tests (tests/cli/): run ``polylip`` in-process or as
``python3 -m polylip``, and check the contract every failure keeps: exactly one line on stderr,
starting with ``polylip:``, no traceback, the documented exit code."""

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

#: The repository root: ``python3 -m polylip`` runs there, so it is this checkout's polylip.
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Run:
    code: int
    out: str
    err: str


def assert_one_line_error(run: Run, code: int, match: str | None = None) -> str:
    """``run`` ended with ``code`` and wrote exactly one line on stderr, without a traceback;
    returns that line."""
    lines = run.err.splitlines()
    assert run.code == code, (run.code, run.err)
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}:\n{run.err}"
    assert "Traceback" not in run.err
    assert lines[0].startswith("polylip: "), lines[0]
    if match is not None:
        assert match in lines[0], lines[0]
    return lines[0]


def run_module(*argv, timeout=300) -> Run:
    """``python3 -m polylip *argv`` in a subprocess."""
    proc = subprocess.run([sys.executable, "-m", "polylip", *map(str, argv)],
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    return Run(proc.returncode, proc.stdout, proc.stderr)

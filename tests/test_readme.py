"""The README's two opening commands: CI runs exactly the second, and the first one's job works."""

import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def readme_commands():
    text = (ROOT / "README.md").read_text()
    block = re.search(r"```\n(.*?)```", text, re.S).group(1)
    return [line.strip() for line in block.strip().splitlines()]


def test_ci_runs_exactly_the_readme_test_command():
    install_and_run, install_and_test = readme_commands()[:2]
    assert "pytest" in install_and_test
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert install_and_test in [line.strip() for line in ci]


def test_readme_main_job_runs():
    install_and_run = readme_commands()[0]
    job = install_and_run.split("&&", 1)[1].strip()
    argv = shlex.split(job)
    assert argv[:3] == ["python3", "-m", "polylip"]
    out = subprocess.run([sys.executable, "-m", "polylip", *argv[3:]], capture_output=True,
                         text=True, cwd=ROOT, timeout=600)
    assert out.returncode == 0, out.stderr
    assert "upper" in out.stdout and "lower" in out.stdout

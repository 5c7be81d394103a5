"""The README's two opening commands: CI runs exactly the second, and the first one's job works,
gives the same figures on every run (it is deterministic) and the README quotes them."""

import functools
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


def main_job_argv():
    install_and_run = readme_commands()[0]
    job = install_and_run.split("&&", 1)[1].strip()
    argv = shlex.split(job)
    assert argv[:3] == ["python3", "-m", "polylip"]
    return argv[3:]


def run_polylip(argv, capsys, monkeypatch):
    """``python3 -m polylip *argv`` in-process (``polylip.cli.main``; the main job above runs
    as the README's own command)."""
    from polylip.cli import main

    monkeypatch.chdir(ROOT)
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(["polylip", *argv], code, out, err)


@functools.lru_cache(maxsize=None)
def main_job_twice():
    """The README's main job, run twice at once for the tests below (two independent
    processes on the two cores: the determinism check compares them, and the suite waits for
    one run's time instead of two, about 11 s at load 1; deterministic mode counts work, not
    time, so running side by side changes no figure)."""
    cmd = [sys.executable, "-m", "polylip", *main_job_argv()]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              cwd=ROOT) for _ in range(2)]
    runs = []
    try:
        for p in procs:
            out, err = p.communicate(timeout=600)
            runs.append(subprocess.CompletedProcess(cmd, p.returncode, out, err))
    finally:
        for p in procs:   # a run past the timeout is not left behind
            p.kill()
    return tuple(runs)


def main_job():
    """The README's main job, run once for the tests below."""
    return main_job_twice()[0]


def figures(stdout: str) -> dict:
    """``name: value`` lines of ``polylip lipschitz`` (all but the time it took; not the
    indented lines of the plan, which carry each step's seconds)."""
    out = {}
    for line in stdout.splitlines():
        key, sep, value = line.partition(":")
        if sep and not line[:1].isspace() and key.strip() != "time":
            out[key.strip()] = value.strip()
    return out


def test_ci_runs_exactly_the_readme_test_command():
    install_and_run, install_and_test = readme_commands()[:2]
    assert "pytest" in install_and_test
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert install_and_test in [line.strip() for line in ci]


def test_readme_main_job_runs():
    out = main_job()
    assert out.returncode == 0, out.stderr
    assert "upper" in out.stdout and "lower" in out.stdout


def test_readme_main_job_is_deterministic_and_its_figures_are_quoted(capsys, monkeypatch):
    """Run twice (deterministic mode): the same figures; the README's paragraph quotes the
    upper and lower bounds it prints, the method that gave the bound, and the product bound."""
    argv = main_job_argv()
    assert "--deterministic" in argv
    first, second = main_job_twice()
    assert first.returncode == 0 and second.returncode == 0, second.stderr
    a, b = figures(first.stdout), figures(second.stdout)
    assert a == b
    text = " ".join((ROOT / "README.md").read_text().split())
    assert f"upper {a['upper']}, lower {a['lower']}" in text
    best = re.search(r"bound from (\w+)", a["method"]).group(1)
    assert f'(method "{best}"' in text
    if "--budget" in argv:  # the budget is method auto's
        i = argv.index("--budget")
        argv = argv[:i] + argv[i + 2:]
    product = run_polylip([*argv, "--method", "product"], capsys, monkeypatch)
    assert product.returncode == 0, product.stderr
    assert f"is {figures(product.stdout)['upper']}," in text

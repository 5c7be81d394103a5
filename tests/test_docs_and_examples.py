"""Every ```python block in docs/*.md and README.md runs (blocks of one page share a namespace, in order),
and every bundled example runs, so neither rots. A block whose first line is
``# doc-test: skip`` is not run (use it only for snippets that need optional extras or minutes)."""

import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]
BLOCK = re.compile(r"```python\n(.*?)```", re.S)


@pytest.mark.parametrize("page", DOCS, ids=[p.name for p in DOCS])
def test_doc_snippets_run(page, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    namespace: dict = {"__name__": f"doc_{page.stem}"}
    for i, code in enumerate(BLOCK.findall(page.read_text())):
        if code.lstrip().startswith("# doc-test: skip"):
            continue
        try:
            exec(compile(code, f"{page.name}[block {i}]", "exec"), namespace)
        except Exception as exc:  # pragma: no cover - the failure message is the point
            pytest.fail(f"{page.name}, python block {i} failed: {type(exc).__name__}: {exc}\n{code}")


@pytest.mark.parametrize("problem", sorted((ROOT / "examples").glob("*.pop")), ids=lambda p: p.name)
def test_example_problems_solve(problem, capsys, monkeypatch):
    """``polylip solve FILE --json`` on each bundled problem, in-process (the command's
    subprocess entry point is tested in tests/cli/test_solve.py)."""
    from polylip.cli import main

    extra = []
    for line in problem.read_text().splitlines():  # "# polylip-args: ..." gives the CLI options
        if line.startswith("# polylip-args:"):
            extra = line.split(":", 1)[1].split()
    monkeypatch.chdir(ROOT)
    code = main(["solve", str(problem), "--json", *extra])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert '"status": "optimal"' in out


def test_maxcut_example_bounds_are_valid_and_tighten():
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        import maxcut
    finally:
        sys.path.pop(0)
    best, bounds = maxcut.main(["--nodes", "7", "--seed", "1"])
    assert bounds[0] >= bounds[1] - 1e-6 >= best - 2e-6  # upper bounds, non-increasing in the order
    assert bounds[1] == pytest.approx(best, rel=1e-6)  # exact at order 2 on this graph

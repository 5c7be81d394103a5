"""The layout's rules (docs/architecture.md), enforced: the import contract of pyproject.toml,
no import cycle between packages, function-level imports of polylip only with a reason, and no
module over 500 lines without a reason at its top."""

import ast
import logging
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "polylip"
MAX_LINES = 500
#: A function-level import of a polylip module must carry this marker on its line or the line
#: above, followed by the reason (an optional dependency, a cycle avoided, start-up cost).
LAZY_MARK = "# lazy:"


def _modules():
    return sorted(p for p in PACKAGE.rglob("*.py"))


def _logging_state():
    """Every logger's level, handlers, propagation and disabled flag (the root's too)."""
    loggers = [logging.getLogger()] + [logging.getLogger(n) for n in
                                        sorted(logging.Logger.manager.loggerDict)]
    return {lg.name: (lg.level, tuple(lg.handlers), lg.propagate, lg.disabled)
            for lg in loggers}


def _lint_imports():
    """import-linter's check, run in this process; returns its exit code. The logging
    configuration it installs (``dictConfig``, which disables every existing logger) is undone
    afterwards, so the tests that run later see the logging they would see alone."""
    cli = pytest.importorskip("importlinter.cli")
    cwd = os.getcwd()
    saved = _logging_state()
    os.chdir(ROOT)
    try:
        return cli.lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_logo=True,
                                cache_dir=None)
    finally:
        os.chdir(cwd)
        for name, (level, handlers, propagate, disabled) in saved.items():
            lg = logging.getLogger(name if name != "root" else None)
            lg.setLevel(level)
            lg.handlers[:] = list(handlers)
            lg.propagate, lg.disabled = propagate, disabled


def test_import_contract_holds():
    code = _lint_imports()
    assert code == 0, "an import breaks the layer contract of pyproject.toml (run lint-imports)"


def test_import_contract_check_leaves_logging_alone():
    # lint_imports configures logging with logging.config.dictConfig, whose default
    # disable_existing_loggers=True disabled every logger that existed then (polylip.cli's
    # among them): the CLI's logging tests failed when they ran after this module
    name = "polylip.cli"
    logging.getLogger(name)
    before = _logging_state()
    _lint_imports()
    assert _logging_state() == before
    assert not logging.getLogger(name).disabled


def test_no_cycle_between_packages():
    grimp = pytest.importorskip("grimp")
    graph = grimp.build_graph("polylip", cache_dir=None)
    top = lambda m: ".".join(m.split(".")[:2])  # noqa: E731
    edges = {}
    for m in graph.modules:
        for dep in graph.find_modules_directly_imported_by(m):
            a, b = top(m), top(dep)
            if a != b and a != "polylip" and b != "polylip":
                edges.setdefault(a, set()).add(b)
    import networkx as nx

    cycles = list(nx.simple_cycles(nx.DiGraph([(a, b) for a, bs in edges.items() for b in bs])))
    assert cycles == [], f"import cycles between packages: {cycles}"


def _function_level_imports(path: Path):
    text = path.read_text()
    lines = text.splitlines()
    tree = ast.parse(text)
    for fn in ast.walk(tree):
        if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(fn):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("polylip"):
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names if a.name.startswith("polylip")]
            else:
                continue
            if not names:
                continue
            here = lines[node.lineno - 1]
            above = lines[node.lineno - 2] if node.lineno >= 2 else ""
            if LAZY_MARK not in here and LAZY_MARK not in above:
                yield f"{path.relative_to(ROOT)}:{node.lineno}: {names[0]}"


def test_function_level_imports_say_why():
    bad = [hit for p in _modules() for hit in _function_level_imports(p)]
    assert bad == [], ("function-level imports of polylip modules without a '# lazy: <reason>' "
                       "comment:\n" + "\n".join(bad))


def test_modules_are_small_or_say_why():
    big = []
    for p in _modules():
        lines = p.read_text().splitlines()
        if len(lines) > MAX_LINES and not any("Why this module is long" in l for l in lines[:60]):
            big.append(f"{p.relative_to(ROOT)} ({len(lines)} lines)")
    assert big == [], ("modules over 500 lines without 'Why this module is long' in their "
                       "docstring: " + ", ".join(big))

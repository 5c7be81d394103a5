"""The explicit method table (polylip.nn.methods.TABLE): every built-in listed once, with a
function, a frozen options class and a description; the registry starts as the table, and
nothing registers itself by being imported."""

import ast
import subprocess
import sys
from dataclasses import FrozenInstanceError, fields
from pathlib import Path

import numpy as np
import pytest

from polylip.errors import ModelError
from polylip.nn import METHODS, TABLE, Network, lipschitz, method_names, register_method
from polylip.nn.methods import BY_NAME, Method, MethodOptions
from polylip.nn.problem import MethodOutput

ROOT = Path(__file__).resolve().parents[3]
BUILTIN = ["product", "interval", "eclipse", "exact", "shor", "sdp", "lp", "lipsdp", "geolip", "dp",
           "milp", "bab", "auto"]


def test_every_builtin_is_listed_once_in_order():
    names = [m.name for m in TABLE]
    assert names == BUILTIN
    assert len(set(names)) == len(names)
    assert set(BY_NAME) == set(names)


@pytest.mark.parametrize("entry", TABLE, ids=lambda m: m.name)
def test_entry_has_function_options_and_description(entry):
    assert isinstance(entry, Method) and callable(entry.run)
    assert issubclass(entry.options, MethodOptions)
    assert entry.options.method == entry.name  # the options name their method in errors
    assert entry.description and entry.description == method_names()[entry.name]
    defaults = entry.options()  # every option has a default
    if fields(defaults):
        with pytest.raises(FrozenInstanceError):
            setattr(defaults, fields(defaults)[0].name, None)


def test_the_registry_starts_as_the_table():
    for entry in TABLE:
        assert METHODS[entry.name] is entry


def test_importing_the_estimate_module_alone_registers_every_builtin():
    code = ("import polylip.nn.estimate as e; "
            "print(','.join(sorted(e.METHODS)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT).stdout.strip()
    assert out.split(",") == sorted(BUILTIN)


def test_no_module_registers_a_method_when_imported():
    """register_method stays a user extension point: no module of polylip calls it at its top
    level (as a decorator or a call)."""
    hits = []
    for path in sorted((ROOT / "polylip").rglob("*.py")):
        tree = ast.parse(path.read_text())
        for node in tree.body:
            decos = getattr(node, "decorator_list", [])
            calls = [d for d in decos if isinstance(d, ast.Call)]
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
                calls.append(node.value)
            for c in calls:
                f = c.func
                name = getattr(f, "id", getattr(f, "attr", ""))
                if name == "register_method":
                    hits.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert hits == []


def test_register_method_with_and_without_an_options_class():
    from dataclasses import dataclass

    from polylip.nn.methods.base import number

    @dataclass(frozen=True)
    class ConstOptions(MethodOptions):
        method = "test-const-typed"
        value: float = number(5.0, low=0)

    net = Network.from_weights([np.eye(2), np.ones((1, 2))])

    @register_method("test-const-typed", options=ConstOptions)
    def typed(problem, options):
        assert isinstance(options, ConstOptions)
        return MethodOutput(upper=options.value)

    @register_method("test-const-plain", description="a constant")
    def plain(problem, value=5.0):
        return MethodOutput(upper=value)

    try:
        assert lipschitz(net, method="test-const-typed", lower=False,
                         options={"value": 7}).upper == 7.0
        with pytest.raises(ModelError, match="value must be a number >= 0"):
            lipschitz(net, method="test-const-typed", lower=False, options={"value": -1})
        assert lipschitz(net, method="test-const-plain", lower=False,
                         options={"value": 3.0}).upper == 3.0
        with pytest.raises(ModelError, match="does not accept"):
            lipschitz(net, method="test-const-plain", lower=False, options={"order": 2})
        with pytest.raises(ModelError, match="must be a dict"):
            lipschitz(net, method="test-const-plain", lower=False, options=[1])
        assert method_names()["test-const-plain"] == "a constant"
        with pytest.raises(ValueError, match="already registered"):
            register_method("test-const-plain")(plain)
    finally:
        del METHODS["test-const-typed"], METHODS["test-const-plain"]

"""POP construction, validation and the plain-text format."""

import json

import numpy as np
import pytest
import sympy

from polylip import POP, ModelError, PolylipError, variables
from polylip.cli import main
from polylip.model.textformat import load_problem, parse_problem

x, y, z = sympy.symbols("x y z")


def test_relations_are_normalized():
    pop = POP(x + y, ineqs=[x >= 1, y <= 2, sympy.Eq(x, y)], eqs=[sympy.Eq(x * y, 3)])
    assert [str(g) for g in pop.ineqs] == ["-1 + x", "2 - y"]
    assert len(pop.eqs) == 2
    assert pop.variables == ("x", "y")


def test_polylip_polynomials_are_accepted():
    a, b = variables("a b")
    res = POP((a - 1) ** 2 + (b + 2) ** 2).solve()
    assert res.bound == pytest.approx(0.0, abs=1e-6)
    assert res.minimizer == pytest.approx({"a": 1.0, "b": -2.0}, abs=1e-4)


@pytest.mark.parametrize("kwargs, message", [
    (dict(objective=sympy.sin(x)), "not a polynomial"),
    (dict(objective=x, ineqs=[1 / y]), "inequality 0: not a polynomial"),
    (dict(objective=x, ineqs=[y], variables=[x]), "not in the variable list"),
    (dict(objective=x, sense="minimise"), "sense must be"),
    (dict(objective=x, eqs=[x >= 1]), "is an inequality"),
    (dict(objective=x, binary=[y], variables=[x]), "not among the problem variables"),
    (dict(objective=x, binary=[x], spin=[x]), "both binary and spin"),
    (dict(objective=x >= 1), "not a relation"),
    (dict(objective=x, ineqs=[sympy.Ne(x, 1)]), "unsupported relation"),
    (dict(objective=x + y, variables="x y"), "not a variable name"),     # a list as one string
    (dict(objective=x, binary=["x,"]), "not a variable name"),
])
def test_bad_input_gives_clear_errors(kwargs, message):
    with pytest.raises(PolylipError, match=message):
        POP(**kwargs)


def test_feasibility_and_evaluation():
    pop = POP(x ** 2 + y, ineqs=[1 - x ** 2], eqs=[y - 1], binary=[])
    assert pop.is_feasible(np.array([0.5, 1.0]))
    assert not pop.is_feasible(np.array([2.0, 1.0]))
    assert pop.evaluate(np.array([2.0, 1.0])) == pytest.approx(5.0)


def test_text_format_round_trip(tmp_path):
    text = """
    # comment line
    variables: x y
    maximize: x^2*y - y   # trailing comment
    subject to: x^2 + y^2 <= 4
    s.t.: x >= -1
    subject to: x*y == 1
    """
    pop = parse_problem(text)
    assert pop.sense == "max"
    assert len(pop.ineqs) == 2 and len(pop.eqs) == 1
    path = tmp_path / "p.pop"
    path.write_text("minimize: (x - E)^2\nbinary: b\nspin: S\nsubject to: b + S + x\n")
    pop = load_problem(path)
    assert pop.variables == ("E", "S", "b", "x")  # E and S are variables, not sympy constants
    assert pop.binary == ("b",) and pop.spin == ("S",)


@pytest.mark.parametrize("text, message", [
    ("minimize: x\nsubject to: x = 1", "line 2, column 15: unexpected '=': .*use '>=', '<=' or '=='"),
    ("minimize: log(x)", r"line 1, column 11: not a polynomial: function call log\(\.\.\.\)"),
    ("minimise: x", "unknown keyword 'minimise'"),
    ("subject to: x >= 0", "no 'minimize:' or 'maximize:' line"),
    ("minimize: x\nmaximize: y", "exactly one"),
    ("minimize: x +* y", r"line 1, column 14: unexpected '\*'"),
    ("minimize: x\nvariables: y", r"line 1, column 11: unknown variable 'x' \(declared: y\)"),
    ("minimize: x\nwhat is this", "expected 'keyword: ...'"),
])
def test_text_format_errors(text, message):
    with pytest.raises(ModelError, match=message):
        parse_problem(text)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(ModelError, match="cannot read problem file"):
        load_problem(tmp_path / "nope.pop")


def test_cli_solve_json_and_exit_codes(tmp_path, capsys):
    path = tmp_path / "p.pop"
    path.write_text("minimize: x^4 - 3*x^2 + x\n")
    assert main(["solve", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "optimal"
    assert out["bound"] == pytest.approx(-3.513905039, rel=1e-6)
    assert {"bound", "status", "order", "solver", "seconds"} <= out.keys()

    assert main(["solve", str(path), "--order", "3", "--solver", "clarabel"]) == 0
    assert "lower bound" in capsys.readouterr().out

    path.write_text("minimize: x^3\n")
    assert main(["solve", str(path), "--order", "2"]) == 1
    assert "unbounded" in capsys.readouterr().err

    path.write_text("minimize: sin(x)\n")
    assert main(["solve", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("polylip: error:") and "not a polynomial" in err
    assert main(["solve", str(path.parent / "missing.pop")]) == 2
    assert "cannot read problem file" in capsys.readouterr().err
    path.write_text("minimize: x^2\n")
    assert main(["solve", str(path), "--solver", "nosuchsolver"]) == 2
    assert "not available" in capsys.readouterr().err


@pytest.mark.parametrize("make", [
    lambda x: POP((sympy.Dummy("x") - 1) ** 2 + x**2),                 # Dummy: unique by design
    lambda x: POP((x - 1) ** 2 + (sympy.Symbol("x", positive=True) + 1) ** 2),
    lambda x: POP(x**2, ineqs=[sympy.Symbol("x", integer=True) - 1]),  # across items
    lambda x: POP(x**2, variables=[sympy.Symbol("x", real=True)]),     # and the variables list
    lambda x: POP(sympy.sin(sympy.Dummy("x")) + x),                    # inside a function
])
def test_two_sympy_symbols_with_one_name_are_refused(make):
    """polylip matches variables by name: two different sympy symbols named "x" were merged
    into one variable, so another problem was solved, with a certificate: (d - 1)^2 + x^2
    with d = Dummy("x") came back 0.5 "certified" where the minimum is 0 (POP QA round)."""
    with pytest.raises(ModelError, match="two different sympy symbols are both named 'x'"):
        make(sympy.Symbol("x"))


def test_one_symbol_used_twice_and_strings_still_mix():
    x = sympy.Symbol("x")
    pop = POP((x - 1) ** 2 + sympy.Symbol("x") ** 2, ineqs=["x >= 0"], variables=["x"])
    assert pop.variables == ("x",)


@pytest.mark.parametrize("kwargs", [dict(spin=[x + 1]), dict(binary=[2 * x]), dict(binary=[3]),
                                    dict(variables=[x, y**2]), dict(spin=[variables("a b")[0] * 2])])
def test_entries_of_variables_binary_spin_must_be_variables(kwargs):
    """spin=[x + 1] made a fifth variable named "x + 1" (and solved); found by the POP QA round."""
    with pytest.raises(ModelError, match="is not a variable"):
        POP(x**2 + y**2, **kwargs)


def test_polylip_variables_name_binary_entries():
    a, b = variables("a b")
    pop = POP(a + b, binary=[a], spin=[b])
    assert pop.binary == ("a",) and pop.spin == ("b",)

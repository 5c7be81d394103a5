"""Bounded fuzzing of the problem file format (``parse_problem`` / ``load_problem``): random
lines of keywords, expressions, relations, towers of powers and nesting, random bytes. Every
input ends in a POP or one ModelError, never another exception, and nothing grows beyond the
parse limits (the cases are built to hit them: towers such as 9^9^9, long products)."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from polylip.errors import ModelError
from polylip.model.pop import POP
from polylip.model.textformat import load_problem, parse_problem

FUZZ = settings(max_examples=80, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow,
                                       HealthCheck.function_scoped_fixture])

_ATOMS = ["x", "y", "z", "x1", "0", "1", "2", "9", "99999999", "1e308", "1e-400", ".5", "3.",
          "__import__", "os", "(", ")", "(x+y+z+1)", "(x-x)", "sin", "'a'", "[1]", ".", ","]
_OPS = ["+", "-", "*", "/", "^", "**", " ", ">=", "<=", "==", "=", "<", "!=", ";", "#"]
_KEYS = ["minimize:", "maximize:", "subject to:", "s.t.:", "variables:", "binary:", "spin:",
         "st:", "minimise:", "", "x:"]

expression = st.lists(st.one_of(st.sampled_from(_ATOMS), st.sampled_from(_OPS)),
                      max_size=25).map("".join)
line = st.tuples(st.sampled_from(_KEYS), expression).map(lambda kv: f"{kv[0]} {kv[1]}")
problem = st.lists(line, max_size=8).map("\n".join)


def _tower(parts):
    base, exps = parts
    return f"minimize: {base}" + "".join(f"^{e}" for e in exps)


towers = st.tuples(st.sampled_from(["x", "(x+1)", "(x+y)", "2", "9", "(x*y*z)", "1", "0"]),
                   st.lists(st.sampled_from(["0", "1", "2", "3", "9", "10", "(2^3)", "999"]),
                            min_size=1, max_size=4)).map(_tower)
nesting = st.tuples(st.integers(0, 400), st.sampled_from(["(", "-(", "+(", "((x+1)*"])).map(
    lambda kv: "minimize: " + kv[1] * kv[0] + "x" + ")" * kv[0])


def _check(text):
    try:
        pop = parse_problem(text, source="fuzz.pop")
    except ModelError as exc:
        assert str(exc)  # a message, never an empty error
        return
    assert isinstance(pop, POP)


@FUZZ
@given(problem)
def test_random_problem_files(text):
    _check(text)


@FUZZ
@given(st.one_of(towers, nesting))
def test_towers_and_nesting_stay_within_the_limits(text):
    _check(text)


@FUZZ
@given(st.binary(max_size=300))
def test_random_bytes_as_a_problem_file(tmp_path, data):
    path = tmp_path / "p.pop"
    path.write_bytes(data)
    try:
        pop = load_problem(path)
    except ModelError:
        return
    assert isinstance(pop, POP)


@pytest.mark.parametrize("text", [
    "minimize: 9^9^9", "minimize: x^99999999", "minimize: 10^10^10",
    "minimize: ((((x+y+1)^5)^5)^5)", "minimize: (x+y+z)^200",
    "minimize: " + "(" * 10_000 + "x" + ")" * 10_000, "minimize: " + "-" * 10_000 + "x",
])
def test_known_bombs_are_refused(text):
    with pytest.raises(ModelError):
        parse_problem(text)

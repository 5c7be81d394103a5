"""A method that does not apply to the norm, region or network is refused before any work:
before the lower-bound search, the region's bounds and the gradient POPs (QA round of issue 14:
"lp" with norm 2 on a 784-500-500-10 network built its expanded gradient POP, 2e8 terms, for
more than 10 minutes before saying it needs l_inf; the others were refused after the lower-bound
search, 1.2-4.2 s at MNIST scale)."""

import numpy as np
import pytest

import polylip.nn.estimate as estimate
import polylip.nn.methods.bound as bound_module
from polylip.errors import ModelError
from polylip.nn import BallRegion, BoxRegion, Network, lipschitz
from polylip.nn.exact import ExactTooLargeError
from polylip.nn.methods import TABLE


def _net(output):
    rng = np.random.default_rng(0)
    W2 = rng.standard_normal((1 if output == "scalar" else 3, 4))
    return Network.from_weights([rng.standard_normal((4, 2)), W2], output=output)


# (method, output, norm, region, what the message says)
REFUSED = [
    ("lp", "margin:0,1", "2", None, "l_inf"),
    ("lp", "margin:0,1", "1", None, "l_inf"),
    ("lp", "vector:2", "inf", None, "fixed output"),
    ("eclipse", "margin:0,1", "inf", None, "l_2"),
    ("lipsdp", "scalar", "1", None, "l_2"),
    ("geolip", "margin:0,1", "2", None, "l_inf"),
    ("geolip", "vector:2", "inf", None, "scalar, margin"),
    ("bab", "margin:0,1", "2", BoxRegion([0, 0], 0.5), "l_inf"),
    ("bab", "margin:0,1", "inf", None, "box region"),
    ("bab", "margin:0,1", "inf", BallRegion([0, 0], 0.5), "box region"),
    ("bab", "vector:inf", "inf", BoxRegion([0, 0], 0.5), "fixed output"),
    ("milp", "margin:0,1", "2", None, "inf and 1"),
    ("milp", "vector:2", "inf", None, "fixed output"),
    ("dp", "vector:2", "2", None, "fixed output"),
    ("shor", "margin:0,1", "1", None, "norms inf and 2"),
    ("sdp", "margin:0,1", "1", None, "norms inf and 2"),
]


@pytest.fixture
def no_work(monkeypatch):
    """Any lower-bound search, gradient POP or method run fails the test."""
    def boom(*args, **kwargs):
        raise AssertionError("work started before the method was refused")
    monkeypatch.setattr(estimate, "lower_bound", boom)
    monkeypatch.setattr(estimate, "_bounded_lower", boom)
    monkeypatch.setattr(estimate, "_run_method", boom)
    monkeypatch.setattr(bound_module, "gradient_pop", boom)


@pytest.mark.parametrize("method,output,norm,region,words", REFUSED)
def test_refused_before_any_work(no_work, method, output, norm, region, words):
    with pytest.raises(ModelError, match=words):
        lipschitz(_net(output), norm, method=method, region=region)
    with pytest.raises(ModelError, match=words):  # with a budget (the worker path) too
        lipschitz(_net(output), norm, method=method, region=region, budget=5)


@pytest.mark.parametrize("method,output,norm,region,words", REFUSED)
def test_the_method_itself_refuses_the_same(method, output, norm, region, words):
    """The check is the method's own: called directly (as "auto" calls its steps) it refuses
    with the same message."""
    from polylip.nn.problem import LipschitzProblem
    from polylip.nn.regions import as_region
    from polylip.nn.norms import parse_norm
    entry = {m.name: m for m in TABLE}[method]
    problem = LipschitzProblem(_net(output), parse_norm(norm), as_region(region))
    with pytest.raises(ModelError, match=words):
        entry(problem)


def test_milp_true_constant_needs_a_bounded_region(no_work):
    with pytest.raises(ModelError, match="bounded region"):
        lipschitz(_net("scalar"), "inf", method="milp", options={"constant": "true"})


def test_exact_too_large_refused_before_the_search(no_work):
    rng = np.random.default_rng(1)
    net = Network.from_weights([rng.standard_normal((30, 3)), rng.standard_normal((1, 30))])
    with pytest.raises(ExactTooLargeError, match="K = 30"):
        lipschitz(net, "inf", method="exact", options={"max_unstable": 20})


def test_applicable_methods_still_run():
    """The checks refuse nothing that works: every (method, norm) pair the methods accept on
    a small network still gives a bound at least the sampled gradient norm."""
    net = _net("margin:0,1")
    X = np.random.default_rng(2).uniform(-3, 3, (4000, 2))
    for method, norm in [("lp", "inf"), ("eclipse", "2"), ("lipsdp", "2"), ("geolip", "inf"),
                         ("milp", "1"), ("dp", "2"), ("shor", "2"), ("exact", "1")]:
        res = lipschitz(net, norm, method=method, lower=False)
        q = {"inf": 1, "2": 2, "1": np.inf}[norm]
        sampled = max(np.linalg.norm(net.gradient(x), q) for x in X[:400])
        assert res.upper is not None and res.upper >= sampled - 1e-7, (method, norm)

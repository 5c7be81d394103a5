"""Typed options per method: frozen dataclasses validated once; lipschitz() takes the dataclass
or a dict (converted and validated, unknown keys named); anything else is a ModelError."""

import math

import numpy as np
import pytest

from polylip.errors import ModelError
from polylip.nn import (AutoOptions, DPOptions, ExactOptions, IntervalOptions, LipSDPOptions,
                        LPOptions, MILPOptions, Network, ProductOptions, SDPOptions, ShorOptions,
                        lipschitz)
from polylip.sparsity import Correlative


def net():
    return Network.from_weights([np.array([[1.0, -1.0], [2.0, 1.0]]), np.array([[1.0, 1.0]])])


BAD = [
    (AutoOptions, "budget", 0, "budget must be a positive number of seconds"),
    (AutoOptions, "budget", "soon", "budget must be a positive number of seconds"),
    (AutoOptions, "budget", math.inf, "budget must be"),
    (AutoOptions, "isolate", "yes", "isolate must be True or False"),
    (AutoOptions, "rel_gap", -1e-3, "rel_gap must be a number >= 0"),
    (AutoOptions, "solver", 3, "solver must be a solver name"),
    (MILPOptions, "gap", 2.0, r"gap must be a number in \[0, 1\)"),
    (MILPOptions, "time_limit", -1, "time_limit must be positive seconds or None"),
    (MILPOptions, "constant", "exact", "constant must be one of 'auto', 'formal', 'true'"),
    (DPOptions, "max_table_entries", 0, "max_table_entries must be an integer >= 1"),
    (DPOptions, "max_table_entries", 2.5, "max_table_entries must be an integer"),
    (DPOptions, "heuristic", "greedy", "heuristic must be one of 'auto', 'min_degree'"),
    (DPOptions, "max_terms", True, "max_terms must be an integer"),
    (ExactOptions, "max_unstable", -1, "max_unstable must be an integer >= 0"),
    (ShorOptions, "rlt", 1, "rlt must be one of False, True, 'all', 'cuts'"),
    (ShorOptions, "side", "dual", "side must be one of 'auto', 'moment', 'sos'"),
    (ShorOptions, "rounds", -1, "rounds must be an integer >= 0"),
    (ShorOptions, "formulation", "flat", "formulation must be one of 'auto', 'expanded'"),
    (SDPOptions, "order", 0, "order must be an integer >= 1 or None"),
    (SDPOptions, "sparsity", "diagonal", "sparsity must be one of 'network'"),
    (SDPOptions, "tol", 0.0, "tol must be a number > 0 or None"),
    (LPOptions, "sparsity", "neuron", "sparsity must be one of 'network', 'cs', 'dense'"),
    (LPOptions, "degree", "3", "degree must be an integer >= 1 or None"),
    (LipSDPOptions, "solver", "", "solver must be"),
]


@pytest.mark.parametrize("cls,option,value,words", BAD,
                         ids=[f"{c.__name__}.{o}={v!r}" for c, o, v, _ in BAD])
def test_a_bad_value_names_the_method_the_option_and_what_it_accepts(cls, option, value, words):
    with pytest.raises(ModelError, match=words) as err:
        cls(**{option: value})
    assert str(err.value).startswith(f"method {cls.method!r}: {option} ")
    with pytest.raises(ModelError, match=words):  # the same through a dict
        cls.coerce({option: value})


def test_good_values_are_normalized():
    assert AutoOptions(budget=30).budget == 30.0 and isinstance(AutoOptions(budget=30).budget, float)
    assert SDPOptions(order=2.0).order == 2 and isinstance(SDPOptions(order=2.0).order, int)
    assert SDPOptions(order=np.int64(3)).order == 3
    assert MILPOptions(time_limit=None).time_limit is None
    assert SDPOptions(sparsity=Correlative()).sparsity == Correlative()  # a pattern object
    assert LPOptions(sparsity=[[0, 1], [1, 2]]).sparsity == [[0, 1], [1, 2]]  # cliques
    assert ShorOptions(rlt="cuts", cuts=4).cuts == 4


def test_unknown_keys_name_the_known_options():
    with pytest.raises(ModelError, match="method 'milp' does not accept the option 'gapp'; "
                                         "its options: time_limit, gap, constant"):
        lipschitz(net(), method="milp", lower=False, options={"gapp": 1e-3})
    with pytest.raises(ModelError, match="its options: none"):
        lipschitz(net(), method="product", lower=False, options={"budget": 5})
    assert ProductOptions.names() == () and IntervalOptions.names() == ()


@pytest.mark.parametrize("bad", [["budget", 10], ("budget",), "budget=10", 10])
def test_options_that_are_neither_a_dict_nor_the_dataclass_are_refused(bad):
    with pytest.raises(ModelError, match="must be a dict or AutoOptions"):
        lipschitz(net(), lower=False, options=bad)


def test_another_methods_dataclass_is_refused():
    with pytest.raises(ModelError, match="takes SDPOptions, not ShorOptions"):
        lipschitz(net(), method="sdp", lower=False, options=ShorOptions())


def test_the_dataclass_and_the_dict_give_the_same_result():
    a = lipschitz(net(), method="dp", lower=False, options=DPOptions(max_table_entries=64))
    b = lipschitz(net(), method="dp", lower=False, options={"max_table_entries": 64})
    assert a.upper == b.upper and a.details["max_table_entries"] == 64
    c = lipschitz(net(), method="lp", lower=False, options=LPOptions(degree=3))
    assert c.details["degree"] == 3


def test_bad_options_fail_before_the_lower_bound_search(monkeypatch):
    import polylip.nn.estimate as estimate

    def no_search(*args, **kw):
        raise AssertionError("the lower-bound search ran before the options were checked")
    monkeypatch.setattr(estimate, "lower_bound", no_search)
    with pytest.raises(ModelError, match="order"):
        lipschitz(net(), method="sdp", options={"order": -2})


def test_dp_budget_is_the_old_name_of_max_table_entries():
    """"budget" now means seconds (method "auto"); dp's table size is max_table_entries. The old
    keyword still works, with a DeprecationWarning."""
    with pytest.warns(DeprecationWarning, match="max_table_entries"):
        opts = DPOptions.coerce({"budget": 64})
    assert opts.max_table_entries == 64
    with pytest.raises(ModelError, match="not both"):
        DPOptions.coerce({"budget": 64, "max_table_entries": 64})
    with pytest.warns(DeprecationWarning) as caught:
        res = lipschitz(net(), method="dp", lower=False, options={"budget": 2})
    # attributed to the caller's line (Python shows a DeprecationWarning by default only
    # there, in __main__), not to a line of polylip however deep the call
    assert [w.filename for w in caught] == [__file__]
    assert res.status == "too_large" and "max_table_entries = 2" in res.details["message"]
    assert "budget" not in AutoOptions.renamed and "budget" in AutoOptions.names()

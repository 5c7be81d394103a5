"""Regressions found by benchmarks/bench_lipschitz_deep.py (issue 6, deeper random networks)."""

import numpy as np
import pytest

from polylip.nn import BoxRegion, Network, lipschitz
from polylip.nn.deadline import call_with_deadline, fork_available


def _two_neurons(b):
    """f(x) = relu(x_1 + b_1) + relu(x_2 + b_2): over the box of radius 0.1 around 0 a bias of
    +-1 makes its neuron stable (on / off), a bias of 0 leaves it unstable."""
    return Network.from_weights([np.eye(2), np.array([[1.0, 1.0]])], [np.array(b, float), None])


# LipSDP-Neuron with CVXOPT gave no bound on a local box as soon as a neuron was stable on
# (slope range [1, 1]) or a stable-off neuron sat next to an unstable one: status "failed" with
# CVXOPT's bare message ("domain error", "float division by zero", "29"), on every l_2 box row of
# the deep benchmark. Fixed in c3007c8 (lipsdp solver "auto": Clarabel for such ranges).
@pytest.mark.parametrize("b, value", [([1.0, -1.0], 1.0), ([1.0, 0.0], np.sqrt(2.0)),
                                      ([-1.0, 0.0], 1.0), ([1.0, 1.0], np.sqrt(2.0))])
def test_lipsdp_default_solver_local_box_with_stable_neurons(b, value):
    net = _two_neurons(b)
    res = lipschitz(net, norm=2, method="lipsdp", region=BoxRegion(np.zeros(2), 0.1), lower=False)
    assert res.upper is not None, (res.status, res.details.get("message"))
    assert value - 1e-7 <= res.upper <= value * (1 + 1e-3)


@pytest.mark.parametrize("b, value", [([1.0, -1.0], 1.0), ([1.0, 0.0], np.sqrt(2.0))])
def test_lipsdp_clarabel_local_box_with_stable_neurons(b, value):
    """The same LMIs with Clarabel: a bound at the true value (control for the test above)."""
    net = _two_neurons(b)
    res = lipschitz(net, norm=2, method="lipsdp", region=BoxRegion(np.zeros(2), 0.1),
                    lower=False, options={"solver": "clarabel"})
    assert res.upper is not None
    assert value - 1e-7 <= res.upper <= value * (1 + 1e-3)


def _auto_in_daemon():
    net = _two_neurons([0.0, 0.0])
    return lipschitz(net, norm="inf", options={"budget": 20}).upper


@pytest.mark.skipif(not fork_available(), reason="needs fork")
def test_auto_inside_a_daemonic_process():
    """Method "auto" (the default) called inside a daemonic process (a multiprocessing.Pool
    worker, or a call_with_deadline worker) must not crash with multiprocessing's
    "AssertionError: daemonic processes are not allowed to have children"."""
    out = call_with_deadline(_auto_in_daemon, 60.0)
    assert out.status == "done", out.message
    assert out.value == pytest.approx(2.0)


@pytest.mark.skipif(not fork_available(), reason="needs fork")
def test_fork_available_false_in_daemonic_process():
    out = call_with_deadline(fork_available, 30.0)
    assert out.status == "done" and out.value is False

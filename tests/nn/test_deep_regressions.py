"""Regressions found by benchmarks/bench_lipschitz_deep.py (issue 6, deeper random networks)."""

import numpy as np
import pytest

from polylip.nn import BoxRegion, Network, lipschitz
from polylip.runtime import call_with_deadline, fork_available


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


def _deep(depth, width):
    """The benchmark's network of this depth and width, and its local center (same recipe as
    benchmarks/bench_lipschitz_deep.py: rng seed 1000 * depth + width, He-scaled weights,
    N(0, 0.25) biases)."""
    rng = np.random.default_rng(1000 * depth + width)
    weights, biases = [], []
    for _ in range(depth):
        weights.append(rng.normal(0.0, np.sqrt(2.0 / width), (width, width)))
        biases.append(rng.normal(0.0, 0.5, width))
    weights.append(rng.normal(0.0, np.sqrt(2.0 / width), (1, width)))
    biases.append(None)
    return Network.from_weights(weights, biases), rng.normal(0.0, 1.0, width)


def _deep_3x10():
    return _deep(3, 10)


def _sdp2_local_3x10():
    net, x0 = _deep_3x10()
    res = lipschitz(net, norm="inf", method="sdp", options={"order": 2},
                    region=BoxRegion(x0, 0.1), lower=False)
    return res.status, res.upper


# Method "sdp" (order 2, network cliques) on the 3x10 network over a box of radius 0.1: the
# relaxation (5 PSD blocks, the largest 172, 7384 moments) passes Clarabel's memory guard
# (kkt_bytes: (k(k+1)/2)^2 * 8 bytes per block, about 1.8 GB for the largest) but Clarabel then
# needs far more: under a 4 GB address-space cap it aborts the process ("memory allocation of
# 1770839072 bytes failed", SIGABRT), without a cap the process grew past the machine's 23 GB and
# was killed by the kernel (SIGKILL, exit 137). Expected: a bound, or a PolylipError /
# MemoryError raised before the allocation (as "Clarabel would need about N GiB ..." does for
# the global region), never a dead process. Run in a capped worker so the test cannot take the
# machine down.
@pytest.mark.skipif(not fork_available(), reason="needs fork")
def test_sdp_order2_local_3x10_does_not_kill_the_process():
    # fixed: Clarabel solves above ISOLATE_KKT_BYTES run in a capped child (polylip.runtime)
    out = call_with_deadline(_sdp2_local_3x10, 300.0, memory=4 << 30)
    assert out.status != "died", out.message
    if out.status == "error":
        from polylip.errors import PolylipError

        assert isinstance(out.error, (PolylipError, MemoryError)), out.message


def _deep_2x40():
    return _deep(2, 40)[0]


def _deep_2x40_dp_l2():
    res = lipschitz(_deep_2x40(), norm=2, method="dp", lower=False)
    return res.status, res.upper


# Method "dp", l_2, global, on the benchmark's dense 2x40 network (64,000 paths, under
# max_terms): instead of refusing with status "too_large" (as it does at 2x20 and 2x30, where the
# elimination width is 40 and 60), it runs out of memory while forming the squared gradient norm
# ("Unable to allocate 1.53 GiB for an array with shape (102400000, 4)" under a 6 GB cap, after
# about 20 s; 2x50: 2.33 GiB). Expected: status "too_large" before the allocation.
@pytest.mark.skipif(not fork_available(), reason="needs fork")
def test_dp_l2_dense_2x40_refuses_instead_of_exhausting_memory():
    # fixed: polylip.nn.methods.dp._check_square plans the width from one clique per input before squaring
    out = call_with_deadline(_deep_2x40_dp_l2, 300.0, memory=3 << 30)
    assert out.status == "done", out.message
    assert out.value == ("too_large", None)


# Method "auto" (the default) on the dense 2x40 network, l_2, global: "lipsdp" alone gives 3.7405
# in about 1 s (lower bound 3.506), but "auto" (which now tries "dp" first) returned the
# "product" bound 10.274 after its whole 60 s budget in the deep benchmark: its "dp" step spends
# the budget forming the squared gradient norm (the dp l_2 bug above) before "lipsdp" runs.
# Expected: auto's bound at most lipsdp's whenever lipsdp finishes well within the budget.
def test_auto_l2_dense_2x40_not_worse_than_lipsdp():
    # fixed with the dp l_2 bug above: dp refuses at once, lipsdp runs
    net = _deep_2x40()
    ref = lipschitz(net, norm=2, method="lipsdp", lower=False)
    assert ref.upper is not None  # about 1 s idle: well within the budget below
    res = lipschitz(net, norm=2, options={"budget": 20}, lower=False)
    assert res.upper <= ref.upper * (1 + 1e-6), res.details["tried"]

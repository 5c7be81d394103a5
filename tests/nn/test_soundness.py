"""Soundness of the bounds on small random networks, degenerate ones included (issue 12 item 6,
issue 14): for every local and global method, l_inf and l_2,

* ``upper >= lower`` (the lower bound is attained, so an upper bound below it is wrong);
* ``upper >=`` the largest gradient norm over dense samples of the region (brute force);
* the lower bound is attained: its witness lies in the region, the network is differentiable
  there (every pre-activation that is not locally constant is nonzero), and the gradient norm
  recomputed there, with this file's own numpy code and with finite differences, is ``lower``.

The references are this file's own (plain numpy forward and backward passes), not the
package's. The networks: Gaussian weights; integer weights and biases in {-2..2} with
identical, negated and doubled rows and a zero row (coincident hyperplanes through the
region's center); and "trained-like" ones, whose dead neurons have weights of 1e-26 to 1e-9
and narrow pre-activation intervals (what L2-regularized training leaves: the 64-100-100-10
digits MLP of benchmarks/bench_lipschitz_batch.py, on whose true-constant MILPs HiGHS, which
ignores matrix entries up to 1e-9, answered "infeasible" for a feasible model).
"""

import math

import numpy as np
import pytest

from polylip.nn import BallRegion, BoxRegion, Network, lipschitz

# ----------------------------------------------------------------------------- the networks


def gauss_net(sizes, rng):
    Ws = [rng.standard_normal((m, a)) for a, m in zip(sizes[:-1], sizes[1:])]
    bs = [0.5 * rng.standard_normal(m) for m in sizes[1:]]
    return Ws, bs


def integer_net(sizes, rng):
    """Integer weights; in each hidden layer a copy, a negated copy, a doubled row, a zero row."""
    Ws, bs = [], []
    for k, (a, m) in enumerate(zip(sizes[:-1], sizes[1:])):
        W = rng.integers(-2, 3, size=(m, a)).astype(float)
        b = rng.integers(-1, 2, size=m).astype(float)
        if k < len(sizes) - 2 and m >= 4:
            W[0] = W[0] if W[0].any() else np.eye(a)[0]
            W[1], b[1] = W[0], b[0]            # duplicate neuron
            W[2], b[2] = -W[0], -b[0]          # the same hyperplane, other side
            W[3], b[3] = 0.0, 0.0              # zero row
            if m >= 5:
                W[4], b[4] = 2 * W[0], 2 * b[0]  # coincident, scaled
            perm = rng.permutation(m)
            W, b = W[perm], b[perm]
        Ws.append(W)
        bs.append(b)
    return Ws, bs


def trained_like_net(sizes, rng):
    """Gaussian weights, with dead neurons (weights 1e-26..1e-9, a small bias of either sign:
    some stable, some straddling zero on a 1e-9-wide interval) and tiny entries sprinkled in."""
    Ws, bs = gauss_net(sizes, rng)
    for k in range(len(Ws) - 1):
        m, a = Ws[k].shape
        dead = rng.choice(m, size=max(1, m // 3), replace=False)
        Ws[k][dead] = rng.choice([1e-26, 1e-12, 1e-10, 1e-9], size=(dead.size, a)) * \
            rng.standard_normal((dead.size, a))
        bs[k][dead] = rng.choice([-0.2, -1e-10, 0.0, 1e-10], size=dead.size)
        mask = rng.random((m, a)) < 0.2
        Ws[k][mask] *= 1e-11
        Ws[k + 1][:, rng.random(m) < 0.3] *= 1e-10
    return Ws, bs


FAMILIES = {"gauss": gauss_net, "integer": integer_net, "trained": trained_like_net}


def relu_net(family, sizes, seed):
    rng = np.random.default_rng(seed)
    Ws, bs = FAMILIES[family](sizes, rng)
    return Ws, bs, Network.from_weights(Ws, bs)


# ------------------------------------------------------------- the test's own gradient code


def forward(Ws, bs, X):
    """Pre-activations of every hidden layer and the output, rows of ``X`` (plain numpy)."""
    zs, h = [], X
    for W, b in zip(Ws[:-1], bs[:-1]):
        z = h @ W.T + b
        zs.append(z)
        h = np.maximum(z, 0.0)
    return zs, h @ Ws[-1].T + bs[-1]


def gradients(Ws, bs, X):
    """The gradient of the scalar output at each row of ``X`` from its activation pattern
    (``z > 0``: derivative 1)."""
    zs, _ = forward(Ws, bs, X)
    G = np.repeat(Ws[-1], X.shape[0], axis=0)
    for W, z in zip(Ws[-2::-1], zs[::-1]):
        G = (G * (z > 0)) @ W
    return G


def dual_norm(G, norm):
    return np.abs(G).sum(axis=1) if norm == "inf" else np.linalg.norm(G, axis=1)


def dense_samples(region, n0, rng):
    """Uniform points, the box's vertices and a grid (box), or points of the ball and its
    sphere; for the global region, Gaussian points at radii 0.01 to 100."""
    if region is None:
        return np.vstack([s * rng.standard_normal((4000, n0)) for s in (0.01, 0.3, 1, 3, 100)])
    c, r = region.center, region.radius
    if isinstance(region, BoxRegion):
        grid = np.stack(np.meshgrid(*[np.linspace(-1, 1, 13)] * n0), -1).reshape(-1, n0)
        corners = np.stack(np.meshgrid(*[[-1.0, 1.0]] * n0), -1).reshape(-1, n0)
        U = np.vstack([rng.uniform(-1, 1, (20000, n0)), grid, corners])
        return c + r * U
    D = rng.standard_normal((20000, n0))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    return c + r * D * np.r_[np.ones(5000), rng.random(15000) ** (1.0 / n0)][:, None]


def assert_attained(Ws, bs, region, norm, value, x):
    """``x`` is in the region, the network is differentiable at ``x``, and its gradient norm
    there (own numpy code, and central finite differences with a step that crosses no kink)
    is ``value``."""
    x = np.asarray(x, float)
    if isinstance(region, BoxRegion):
        assert np.all(np.abs(x - region.center) <= region.radius * (1 + 1e-9) + 1e-12)
    elif isinstance(region, BallRegion):
        assert np.linalg.norm(x - region.center) <= region.radius * (1 + 1e-9) + 1e-12
    # off every kink: each pre-activation nonzero, unless it is locally constant (zero
    # Jacobian row: a zero row, or inputs that cancel); dist: how far x may move
    h, J = x, np.eye(x.size)
    dist = math.inf
    for W, b in zip(Ws[:-1], bs[:-1]):
        z, Jz = W @ h + b, W @ J
        row = np.abs(Jz).sum(axis=1)
        constant = row <= 1e-12 * (np.abs(W) @ np.abs(J)).sum(axis=1)
        assert np.all((z != 0) | constant), f"witness {x} on a kink: z = {z}"
        live = ~constant
        if live.any():
            dist = min(dist, float(np.min(np.abs(z[live]) / row[live])))
        h, J = np.maximum(z, 0.0), (z > 0)[:, None] * Jz
    g = gradients(Ws, bs, x[None, :])
    assert value == pytest.approx(float(dual_norm(g, norm)[0]), rel=1e-9, abs=1e-12)
    step = 0.25 * dist  # the pattern holds on the l_inf ball of radius dist around x
    if step >= 1e-6 * (1 + np.abs(x).max()):
        E = step * np.eye(x.size)
        fp = forward(Ws, bs, x + E)[1][:, 0]
        fm = forward(Ws, bs, x - E)[1][:, 0]
        fd = (fp - fm) / (2 * step)
        scale = np.abs(Ws[-1]).sum() * np.prod([np.abs(W).max() for W in Ws[:-1]]) + 1.0
        assert np.allclose(fd, g[0], rtol=1e-6, atol=1e-9 * scale * (1 + np.abs(x).max()) /
                           step)


# ------------------------------------------------------------------------- the property

LOCAL = {"inf": ("product", "interval", "dp", "milp", "exact", "lp", "geolip"),
         "2": ("product", "interval", "eclipse", "dp", "lipsdp", "exact")}
GLOBAL = {"inf": ("product", "interval", "dp", "milp", "exact", "geolip"),
          "2": ("product", "interval", "eclipse", "dp", "lipsdp", "exact")}
CASES = [(family, sizes, seed) for family in FAMILIES
         for sizes, seed in (((2, 5, 1), 0), ((3, 4, 4, 1), 1), ((2, 6, 3, 1), 2))]


def region_of(family, n0, norm, seed):
    rng = np.random.default_rng(seed + 77)
    center = np.round(rng.normal(size=n0)) / 2 if family == "integer" else rng.normal(size=n0)
    radius = float(rng.choice([0.3, 1.0]))
    return BoxRegion(center, radius) if norm == "inf" else BallRegion(center, radius)


def check(Ws, bs, net, norm, region, methods):
    rng = np.random.default_rng(5)
    X = dense_samples(region, Ws[0].shape[1], rng)
    sampled = float(dual_norm(gradients(Ws, bs, X), norm).max())
    for method in methods:
        res = lipschitz(net, norm, region=region, method=method)
        assert res.status != "inconsistent", (method, res.upper, res.lower)
        if res.lower is not None:
            assert_attained(Ws, bs, region, norm, res.lower, res.witness)
        if res.upper is None:
            continue
        tol = 1e-7 * max(1.0, abs(res.upper))
        assert res.upper >= sampled - tol, (method, res.upper, sampled)
        if res.lower is not None:
            assert res.upper >= res.lower - tol, (method, res.upper, res.lower)


@pytest.mark.parametrize("norm", ["inf", "2"])
@pytest.mark.parametrize("family,sizes,seed", CASES)
def test_local_bounds_are_sound(family, sizes, seed, norm):
    Ws, bs, net = relu_net(family, sizes, seed)
    check(Ws, bs, net, norm, region_of(family, sizes[0], norm, seed), LOCAL[norm])


@pytest.mark.parametrize("norm", ["inf", "2"])
@pytest.mark.parametrize("family,sizes,seed", CASES[::2])
def test_global_bounds_are_sound(family, sizes, seed, norm):
    Ws, bs, net = relu_net(family, sizes, seed)
    check(Ws, bs, net, norm, None, GLOBAL[norm])


def test_the_check_catches_a_wrong_witness():
    """The references can fail: a lower bound at a kink, or of a wrong value, is caught."""
    W1, b1 = np.array([[1.0, 0.0], [0.0, 1.0]]), np.zeros(2)
    Ws, bs = [W1, np.array([[1.0, 1.0]])], [b1, np.zeros(1)]
    with pytest.raises(AssertionError, match="kink"):
        assert_attained(Ws, bs, BoxRegion([0.0, 0.0], 1.0), "inf", 2.0, [0.0, 0.5])
    with pytest.raises(AssertionError):
        assert_attained(Ws, bs, BoxRegion([0.0, 0.0], 1.0), "inf", 1.5, [0.5, 0.5])
    with pytest.raises(AssertionError):
        assert_attained(Ws, bs, BoxRegion([0.0, 0.0], 0.1), "inf", 2.0, [0.5, 0.5])


# ---------------------------------------------------------------------- bad inputs
from polylip.errors import ModelError  # noqa: E402


@pytest.mark.parametrize("make, message", [
    (lambda: Network.from_weights([np.array([[np.nan, 1.0]]), np.ones((1, 1))]), "NaN"),
    (lambda: Network.from_weights([np.ones((3, 2)), np.ones((1, 4))]), "expects 4 inputs"),
    (lambda: Network.from_weights([np.ones((3, 2)), np.ones((1, 3))], [np.ones(2), None]),
     "bias has length 2"),
    (lambda: BoxRegion([np.nan, 0.0], 1.0), "finite"),
    (lambda: BallRegion([0.0, 0.0], -1.0), ">= 0"),
])
def test_bad_networks_and_regions_are_model_errors(make, message):
    with pytest.raises(ModelError, match=message):
        make()


NET = Network.from_weights([np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([[1.0, 1.0]])])


@pytest.mark.parametrize("kwargs, message", [
    (dict(region=BoxRegion(np.zeros(3), 1.0)), "dimension 3 but the network has 2"),
    # a point on a kink: no point of differentiability, and the lower bound was claimed there
    (dict(region=BoxRegion([0.0, 0.5], 0.0)), "radius must be > 0"),
    (dict(region=BallRegion([0.0, 0.5], 0.0), norm="2"), "radius must be > 0"),
    (dict(norm="3"), "unknown norm"), (dict(budget=-1.0), "budget"),
])
def test_bad_calls_are_model_errors(kwargs, message):
    kwargs = dict(kwargs)
    norm = kwargs.pop("norm", "inf")
    with pytest.raises(ModelError, match=message):
        lipschitz(NET, norm, method="product", **kwargs)


@pytest.mark.parametrize("scale, message", [(1e200, "overflows"), (1e-200, "underflows")])
def test_a_network_beyond_double_precision_is_refused(scale, message):
    """Weights of 1e200 gave upper = lower = inf: a lower bound above the true constant
    (4e400, which float64 cannot hold); 1e-200 gave bounds rounded to 0."""
    net = Network.from_weights([np.full((2, 2), scale), np.full((1, 2), scale)])
    with pytest.raises(ModelError, match=message):
        lipschitz(net, "inf", method="product")
    zero = Network.from_weights([np.zeros((2, 2)), np.full((1, 2), 1e-200)])
    assert lipschitz(zero, "inf", method="product").upper == 0.0  # exactly 0: fine


@pytest.mark.parametrize("scale", [1e-8, 1e8])
def test_huge_and_tiny_scales_keep_their_bounds(scale):
    """The same network scaled by s in every layer: bounds scale by s^L, stay sound."""
    Ws, bs, _ = relu_net("gauss", (3, 4, 4, 1), 3)
    Ws2 = [W * scale for W in Ws]
    bs2 = [b * scale ** (k + 1) for k, b in enumerate(bs)]
    net = Network.from_weights(Ws2, bs2)
    X = dense_samples(None, 3, np.random.default_rng(5))
    sampled = float(dual_norm(gradients(Ws2, bs2, X * scale ** -1), "inf").max())
    unscaled = Network.from_weights(Ws, bs)
    for method in ("product", "interval", "dp", "milp", "exact", "geolip"):
        res = lipschitz(net, "inf", method=method)
        # HiGHS failed with "Model error" at 1e8 (no bound); at 1e-8 milp gave 1e-6 for a
        # constant of 5e-24 and "product" was called optimal with a gap of 8x (absolute
        # tolerances): the network is normalized by powers of two first
        assert res.upper is not None, (method, res.status, res.details.get("message"))
        assert res.upper >= sampled * (1 - 1e-7), (method, res.upper, sampled)  # relative
        ref = lipschitz(unscaled, "inf", method=method)
        assert res.upper == pytest.approx(ref.upper * scale ** 3, rel=1e-4), method
        assert res.status == ref.status, method
        g = gradients(Ws2, bs2, np.asarray(res.witness)[None, :])
        assert res.lower == pytest.approx(float(dual_norm(g, "inf")[0]), rel=1e-9)
        assert res.lower <= res.upper * (1 + 1e-9)
    base = lipschitz(Network.from_weights(Ws, bs), "inf", method="exact").upper
    assert lipschitz(net, "inf", method="exact").upper == pytest.approx(base * scale ** 3,
                                                                        rel=1e-9)


def test_exact_keeps_a_thin_realizable_cell():
    """Fuzz seed 235 (weights 1e4 in the first two layers): the cell of the largest gradient
    is 1e-9 wide in x, below the LP margin tolerance, and "exact" dropped it: its true
    constant, 3.4e8, was a third of the lower bound attained inside that cell (1.06e9)."""
    Ws = [np.array([[1533.85203761774], [-16409.648896244526]]),
          np.array([[-2933.488387059995, -13573.239445434287]]),
          np.array([[1.2588901707059679], [-1.506163912984396], [-0.5777574046719547],
                    [0.3687912310934909]]),
          np.array([[0.8121378281016395, -2.14134821714008, 0.17745335802149514,
                     1.3751967871622701]])]
    bs = [np.array([-8644.89930058285, -1459.6251195816392]), np.array([3282.3989913110786]),
          np.array([0.2297032607275317, 0.3228393060875645, -0.6322610575574487,
                    0.34526095535427237]), np.array([-0.2024365786791467])]
    net = Network.from_weights(Ws, bs)
    res = lipschitz(net, "inf", method="exact")
    assert res.status != "inconsistent"
    assert res.upper >= res.lower * (1 - 1e-9)
    assert_attained(Ws, bs, None, "inf", res.lower, res.witness)
    assert res.lower == pytest.approx(1.0590408248e9, rel=1e-9)

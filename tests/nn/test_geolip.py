"""GeoLIP (method "geolip", polylip/nn/geolip.py): valid against brute force, the two forms
agree, the two-layer case equals the natural relaxation solved independently, the certificate
refuses what it cannot prove, and a time limit still returns a certified bound."""

import itertools

import numpy as np
import pytest

from polylip.errors import ModelError
from polylip.nn import Network, lipschitz
from polylip.nn.geolip import certify_geolip, geolip_bound
from polylip.nn.lipsdp import lipsdp_data
from polylip.nn.regions import BoxRegion


def _net(sizes, seed, output=None, bias=False):
    rng = np.random.default_rng(seed)
    Ws = [rng.standard_normal((sizes[i + 1], sizes[i])) for i in range(len(sizes) - 1)]
    bs = [rng.standard_normal(sizes[i + 1]) for i in range(len(sizes) - 1)] if bias else None
    return Network.from_weights(Ws, bs, output=output)


def _formal_by_enumeration(net, u=None):
    """max over all activation patterns of ||W_1^T D_1 ... W_L^T u||_1 (independent of the
    package's exact method)."""
    Ws = [np.asarray(W, dtype=float) for W, _ in net.affine_layers]
    u = net.functional() if u is None else u
    widths = [W.shape[0] for W in Ws[:-1]]
    best = 0.0
    for pattern in itertools.product((0.0, 1.0), repeat=sum(widths)):
        s = np.asarray(pattern)
        g = Ws[-1].T @ u
        off = sum(widths)
        for W, n in zip(reversed(Ws[:-1]), reversed(widths)):
            off -= n
            g = W.T @ (s[off:off + n] * g)
        best = max(best, float(np.abs(g).sum()))
    return best


@pytest.mark.parametrize("sizes,seed", [((3, 4, 1), 0), ((4, 3, 3, 1), 1), ((3, 3, 3, 3, 1), 2),
                                        ((5, 4, 4, 3), 3)])
def test_upper_above_formal_above_true_above_lower(sizes, seed):
    net = _net(sizes, seed, output="margin:0,1" if sizes[-1] > 1 else None, bias=True)
    res = lipschitz(net, norm="inf", method="geolip")
    formal = _formal_by_enumeration(net)
    true = lipschitz(net, norm="inf", method="exact", lower=False).upper
    assert res.upper >= formal * (1 - 1e-9)
    assert formal >= true * (1 - 1e-9)
    assert true >= res.lower * (1 - 1e-9)


@pytest.mark.parametrize("sizes,seed", [((4, 5, 1), 4), ((4, 5, 5, 1), 5), ((5, 6, 6, 6, 1), 6)])
def test_dense_clarabel_and_structured_agree(sizes, seed):
    net = _net(sizes, seed)
    a = geolip_bound(net, form="dense")
    b = geolip_bound(net, form="structured")
    assert a["status"] == b["status"] == "optimal"
    assert a["bound"] == pytest.approx(b["bound"], rel=1e-5)
    # the certified bound is the solver's value plus a margin that covers the round-off only
    assert b["bound"] >= b["value_solver"] * (1 - 1e-9)
    assert b["bound"] <= b["value_solver"] * (1 + 1e-6)


def test_two_layers_equal_the_natural_relaxation_solved_independently():
    """One hidden layer: max c^T W2 diag(s) W1 x over x in {-1,1}^n, s in {0,1}^m, relaxed as
    max <Q, X>, X PSD, diag X = 1 over (x0, x, sigma) with s = (1 + sigma)/2 (GeoLIP's primal),
    solved with PICOS/CVXOPT here."""
    picos = pytest.importorskip("picos")
    rng = np.random.default_rng(7)
    n, m = 4, 5
    W1, u = rng.standard_normal((m, n)), rng.standard_normal(m)
    net = Network.from_weights([W1, u[None, :]])
    A = u[:, None] * W1
    N = 1 + n + m
    Q = np.zeros((N, N))
    Q[0, 1:1 + n] = 0.5 * A.sum(axis=0)
    Q[1 + n:, 1:1 + n] = 0.5 * A
    Q = 0.5 * (Q + Q.T)
    X = picos.SymmetricVariable("X", N)
    P = picos.Problem()
    P.set_objective("max", picos.Constant(Q) | X)
    P.add_constraint(X >> 0)
    P.add_constraint(picos.maindiag(X) == 1)
    P.solve(solver="cvxopt")
    assert geolip_bound(net)["bound"] == pytest.approx(P.value, rel=1e-6)


def test_never_above_sqrt_n_times_lipsdp():
    """mu = rho 1 is feasible: GeoLIP <= sqrt(n_0) * LipSDP-Neuron (l_2)."""
    net = _net((6, 8, 8, 1), 8)
    g = lipschitz(net, norm="inf", method="geolip", lower=False).upper
    l2 = lipschitz(net, norm=2, method="lipsdp", lower=False).upper
    assert g <= np.sqrt(6) * l2 * (1 + 1e-6)


def test_tighter_than_interval_and_shor_on_a_deep_net():
    net = _net((5, 8, 8, 1), 5)
    g = lipschitz(net, norm="inf", method="geolip", lower=False).upper
    for m in ("interval", "shor"):
        assert g < lipschitz(net, norm="inf", method=m, lower=False).upper


def test_certificate_refuses_infeasible_multipliers_and_is_scale_free():
    net = _net((4, 5, 5, 1), 9)
    data = lipsdp_data(net)
    out = geolip_bound(net, form="structured")
    assert out["bound"] is not None
    # no neuron multipliers: the last block is -w w^T, not PSD; nothing is proved
    bad = certify_geolip(data, np.zeros(data.nh), np.ones(data.n0))
    assert bad["bound"] is None
    # the bound does not depend on the scale of mu (rho takes it)
    rng = np.random.default_rng(0)
    lam = rng.uniform(0.5, 2.0, data.nh)
    one = certify_geolip(data, lam, np.ones(data.n0))
    ten = certify_geolip(data, lam, 10.0 * np.ones(data.n0))
    if one["bound"] is not None:
        assert ten["bound"] == pytest.approx(one["bound"], rel=1e-9)


def test_local_box_uses_the_slope_ranges():
    net = _net((3, 4, 4, 1), 10, bias=True)
    x0 = np.array([0.3, -0.2, 0.1])
    box = BoxRegion(center=x0, radius=0.05)
    loc = lipschitz(net, norm="inf", region=box, method="geolip")
    glob = lipschitz(net, norm="inf", method="geolip", lower=False)
    assert loc.upper <= glob.upper * (1 + 1e-9)
    assert loc.upper >= loc.lower * (1 - 1e-9)
    true = lipschitz(net, norm="inf", region=box, method="exact", lower=False).upper
    assert loc.upper >= true * (1 - 1e-9)


def test_vector_output_is_the_maximum_over_the_functionals():
    net = _net((3, 4, 3), 11, output="vector:inf")
    res = lipschitz(net, norm="inf", method="geolip", lower=False)
    assert res.details["functionals"] == 3
    best = max(_formal_by_enumeration(net, u) for u in np.eye(3))
    assert res.upper >= best * (1 - 1e-9)
    assert res.upper == pytest.approx(max(p["bound"] for p in res.details["parts"]))


def test_time_limit_returns_a_certified_bound():
    net = _net((4, 6, 6, 1), 12)
    out = geolip_bound(net, form="structured", time_limit=1e-9)
    assert out["status"] == "time_limit"
    assert out["bound"] >= _formal_by_enumeration(net) * (1 - 1e-9)
    res = lipschitz(net, norm="inf", method="geolip", lower=False,
                    options={"form": "structured", "time_limit": 1e-9})
    assert res.status == "time_limit" and res.upper is not None


def test_budget_is_honoured_through_lipschitz():
    net = _net((4, 6, 6, 1), 13)
    res = lipschitz(net, norm="inf", method="geolip", budget=5)
    assert res.status in ("ok", "optimal", "time_limit")
    assert res.upper is not None and res.upper >= res.lower


def test_wrong_norm_and_constant_and_linear_networks():
    net = _net((3, 4, 1), 14)
    with pytest.raises(ModelError):
        lipschitz(net, norm=2, method="geolip", lower=False)
    lin = Network.from_weights([np.array([[1.0, -2.0, 0.5]])])
    assert geolip_bound(lin)["bound"] == pytest.approx(3.5)
    dead = Network.from_weights([np.zeros((2, 3)), np.ones((1, 2))])
    assert geolip_bound(dead)["bound"] == 0.0


def test_dense_form_without_an_answer_certifies_its_start():
    net = _net((3, 4, 1), 15)
    out = geolip_bound(net, form="dense", max_iters=1)
    assert out["bound"] is not None and out["status"] in ("inaccurate", "optimal")
    assert out["bound"] >= _formal_by_enumeration(net) * (1 - 1e-9)


def test_leaky_relu_against_its_two_slopes():
    rng = np.random.default_rng(16)
    Ws = [rng.standard_normal((4, 3)), rng.standard_normal((4, 4)), rng.standard_normal((1, 4))]
    net = Network.from_weights(Ws, activation="leaky_relu:0.1")
    best = 0.0
    for pattern in itertools.product((0.1, 1.0), repeat=8):
        s = np.asarray(pattern)
        g = Ws[0].T @ (s[:4] * (Ws[1].T @ (s[4:] * Ws[2][0])))
        best = max(best, float(np.abs(g).sum()))
    for form in ("dense", "structured"):
        assert geolip_bound(net, form=form)["bound"] >= best * (1 - 1e-9)


def test_multipliers_of_one_functional_rescale_exactly_to_another():
    """The output enters only through the rank-one last-block term: multipliers certified for
    u are feasible for u' after one scale t >= q = w'^T K^{-1} w', and not below q (checked
    by the eigenvalues of the assembled matrix, independently of the certificate)."""
    from polylip.nn.geolip import _DiagOps, _geolip, _rescaled
    from polylip.nn.methods.geolip import scalar_network

    net = _net((4, 5, 5, 3), 21, output="vector:inf")
    a, b = (scalar_network(net, u) for u in np.eye(3)[:2])
    _, (data_a, lam, mu) = _geolip(a, None, form="structured", solver="clarabel", tol=None,
                                   time_limit=None, max_iters=None, warm=None, stop_below=None)
    data_b = lipsdp_data(b)
    lam_t, mu_t = _rescaled(data_b, lam, mu, margin=1e-6)
    t = float(np.max(lam_t[lam > 0] / lam[lam > 0]))
    ops = _DiagOps(data_b)
    o = data_b.offsets[-2]

    def mineig(s):
        Mb = ops.adjoint(np.concatenate([s * mu, s * lam]))
        Mb[o:, o:] -= data_b.wout.T @ data_b.wout
        return float(np.linalg.eigvalsh(Mb)[0])

    q = t / (1 + 1e-6)
    assert mineig(q * (1 + 1e-4)) > 0 > mineig(q * (1 - 1e-4))
    cert = certify_geolip(data_b, lam_t, mu_t)
    assert cert["bound"] is not None
    assert cert["bound"] >= _formal_by_enumeration(net, np.eye(3)[1]) * (1 - 1e-9)


def test_vector_output_stops_dominated_functionals_and_keeps_the_maximum():
    from polylip.nn.geolip import geolip_max
    from polylip.nn.methods.geolip import scalar_network

    net = _net((5, 6, 6, 4), 22, output="vector:inf")
    nets = [scalar_network(net, u) for u in np.eye(4)]
    cold, pc, _ = geolip_max(nets, form="structured", warm=False)
    hot, ph, status = geolip_max(nets, form="structured")
    assert status == "ok" and hot == pytest.approx(cold, rel=1e-6)
    formal = [_formal_by_enumeration(net, u) for u in np.eye(4)]
    assert max(formal) <= hot * (1 + 1e-9)
    for p, c, f in zip(ph, pc, formal):
        assert p["bound"] >= f * (1 - 1e-9)  # every part a valid bound
        if p["status"] == "dominated":
            assert p["bound"] <= hot and p["iterations"] <= c["iterations"]
        else:
            assert p["bound"] == pytest.approx(c["bound"], rel=1e-6)
    assert sum(p["status"] == "dominated" for p in ph) >= 1

"""Network model, activations, regions, conv unrolling, validation errors."""

import numpy as np
import pytest
import scipy.sparse as sp

from polylip.errors import ModelError, PolylipError
from polylip.nn import (BallRegion, BoxRegion, Conv2d, Dense, GlobalRegion, MarginOutput,
                        Network, VectorOutput, conv2d_matrix, get_activation, lipschitz)
from polylip.nn.layers import adaptive_avg_pool2d_matrix, avg_pool2d_matrix
from support.nn import numeric_grad_norms, random_net

ACTS = ["relu", "leaky_relu:0.1", "elu:0.5", "elu:2.0", "tanh", "sigmoid", "softplus",
        "identity"]


@pytest.mark.parametrize("name", ACTS)
def test_derivative_ranges_against_finite_differences(name):
    act = get_activation(name)
    rng = np.random.default_rng(0)
    a = rng.uniform(-4, 4, 200)
    w = rng.uniform(0, 3, 200)
    lo, hi = a, a + w
    dlo, dhi = act.derivative_range(lo, hi)
    ts = np.linspace(0, 1, 401)[:, None]
    Z = lo + ts * (hi - lo)
    h = 1e-6
    fd = (act(Z + h) - act(Z - h)) / (2 * h)
    away = np.abs(Z) > 1e-4  # finite differences straddling a kink are meaningless
    assert np.all((fd >= dlo - 1e-6) | ~away) and np.all((fd <= dhi + 1e-6) | ~away)
    # the ranges are tight (up to the grid): the extreme sampled slopes reach the ends
    fdm = np.where(away, fd, np.nan)
    assert np.nanmin(fdm, axis=0) == pytest.approx(dlo, abs=2e-2)
    assert np.nanmax(fdm, axis=0) == pytest.approx(dhi, abs=2e-2)
    glo, ghi = act.derivative_range()
    assert glo <= dlo.min() + 1e-12 and ghi >= dhi.max() - 1e-12
    assert act(np.array([-np.inf])).shape == (1,) and np.isfinite(act.derivative_range()[1])


def test_activation_errors():
    for bad in ["swish", "leaky_relu:x", ("relu", 1.0), 3, "leaky_relu:-1"]:
        with pytest.raises(ModelError):
            get_activation(bad)


def test_forward_gradient_jacobian_vectorized():
    Ws, bs = random_net(0, [4, 5, 3, 2])
    net = Network.from_weights(Ws, bs, activation="tanh")
    X = np.random.default_rng(1).standard_normal((7, 4))
    Y = np.tanh(np.tanh(X @ Ws[0].T + bs[0]) @ Ws[1].T + bs[1]) @ Ws[2].T + bs[2]
    assert np.allclose(net(X), Y)
    J = net.jacobian(X)
    h = 1e-6
    Jfd = np.stack([(net(X + h * e) - net(X - h * e)) / (2 * h) for e in np.eye(4)], axis=2)
    assert np.allclose(J, Jfd, atol=1e-6)
    m = Network.from_weights(Ws, bs, activation="tanh", output=MarginOutput(1, 0))
    assert np.allclose(m.gradient(X), J[:, 1] - J[:, 0])
    assert np.allclose(net.local_lipschitz(X, "inf"), np.abs(J).sum(axis=2).max(axis=1))
    assert np.allclose(net.local_lipschitz(X, 2), np.linalg.norm(J, axis=2).max(axis=1))
    n22 = net.with_output(VectorOutput(2))
    assert np.allclose(n22.local_lipschitz(X, 2), np.linalg.norm(J, 2, axis=(1, 2)))
    single = net(X[0])
    assert single.shape == (2,)


def test_relu_gradient_matches_finite_differences():
    Ws, bs = random_net(3, [3, 6, 4, 1])
    net = Network.from_weights(Ws, bs)
    X = np.random.default_rng(2).standard_normal((50, 3))
    assert np.allclose(net.local_lipschitz(X, "inf"), numeric_grad_norms(Ws, bs, X, np.inf),
                       atol=1e-5)


def test_sparse_layers_equal_dense():
    Ws, bs = random_net(1, [5, 6, 1])
    Ws[0][np.abs(Ws[0]) < 0.7] = 0.0
    dense = Network.from_weights(Ws, bs)
    sparse = Network.from_weights([sp.csr_matrix(Ws[0]), Ws[1]], bs)
    X = np.random.default_rng(0).standard_normal((9, 5))
    assert np.allclose(dense(X), sparse(X)) and np.allclose(dense.gradient(X), sparse.gradient(X))
    for m in ("product", "exact"):
        assert lipschitz(dense, method=m).upper == pytest.approx(lipschitz(sparse, method=m).upper)
    assert sp.issparse(sparse.affine_layers[0][0])


def test_conv2d_matrix_against_direct_loop():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((2, 3, 3, 2))
    x = rng.standard_normal((3, 6, 5))
    for stride, pad in [(1, 0), (2, 1), ((1, 2), (2, 0))]:
        M, (co, Ho, Wo) = conv2d_matrix(w, x.shape, stride, pad)
        s = (stride, stride) if np.isscalar(stride) else stride
        p = (pad, pad) if np.isscalar(pad) else pad
        xp = np.pad(x, ((0, 0), (p[0], p[0]), (p[1], p[1])))
        ref = np.zeros((co, Ho, Wo))
        for o in range(co):
            for i in range(Ho):
                for j in range(Wo):
                    patch = xp[:, i * s[0]:i * s[0] + 3, j * s[1]:j * s[1] + 2]
                    ref[o, i, j] = np.sum(patch * w[o])
        assert np.allclose(M @ x.ravel(), ref.ravel())


def test_from_layers_cnn():
    rng = np.random.default_rng(0)
    net = Network.from_layers([Conv2d(rng.standard_normal((2, 1, 3, 3)), rng.standard_normal(2),
                                      stride=1, padding=1),
                               "relu",
                               Dense(rng.standard_normal((3, 2 * 4 * 4)), rng.standard_normal(3)),
                               "relu", Dense(rng.standard_normal((1, 3)))],
                              input_shape=(1, 4, 4))
    assert net.layer_sizes == [16, 32, 3, 1] and net.input_shape == (1, 4, 4)
    assert sp.issparse(net.affine_layers[0][0])
    assert net.gradient(rng.standard_normal((2, 16))).shape == (2, 16)
    with pytest.raises(ModelError, match="input shape"):
        Network.from_layers([Conv2d(np.ones((1, 1, 2, 2))), "relu", Dense(np.ones((1, 4)))])


def test_validation_errors():
    W1, W2 = np.ones((3, 2)), np.ones((1, 4))
    with pytest.raises(ModelError, match="expects 4 inputs"):
        Network.from_weights([W1, W2])
    bad = np.ones((3, 2))
    bad[0, 0] = np.nan
    with pytest.raises(ModelError, match="NaN"):
        Network.from_weights([bad, np.ones((1, 3))])
    with pytest.raises(ModelError, match="NaN"):
        Network.from_weights([W1, np.ones((1, 3))], [np.array([0, np.inf, 0]), None])
    with pytest.raises(ModelError, match="bias"):
        Network.from_weights([W1, np.ones((1, 3))], [np.zeros(2), None])
    with pytest.raises(ModelError, match="unknown activation"):
        Network.from_weights([W1, np.ones((1, 3))], activation="gelu")
    with pytest.raises(ModelError, match="scalar output"):
        Network.from_weights([W1, np.ones((2, 3))], output="scalar")
    with pytest.raises(ModelError):
        Network.from_weights([W1, np.ones((2, 3))], output="margin:0,5")
    with pytest.raises(ModelError):
        Network.from_weights([np.ones(3)])
    with pytest.raises(ModelError):
        Network.from_weights([[["a"]]])
    net = Network.from_weights([W1, np.ones((1, 3))])
    with pytest.raises(ModelError, match="shape"):
        net(np.ones((2, 5)))
    with pytest.raises(ModelError, match="dimension 3"):
        lipschitz(net, region=BoxRegion(np.zeros(3), 0.1))
    with pytest.raises(ModelError, match="dimension 3"):
        BallRegion(np.zeros(3), 0.1).propagate(net)
    with pytest.raises(ModelError):
        BoxRegion([0.0, np.nan], 1.0)
    with pytest.raises(ModelError):
        BoxRegion([0.0, 0.0], -1.0)
    with pytest.raises(ModelError, match="unknown norm"):
        lipschitz(net, norm="3")
    with pytest.raises(ModelError, match="unknown Lipschitz method"):
        lipschitz(net, method="magic")
    with pytest.raises(ModelError, match="does not accept"):
        lipschitz(net, method="product", options={"order": 2})
    with pytest.raises(ModelError):
        lipschitz(net, lower={"samples": -1})
    with pytest.raises(PolylipError):
        lipschitz("not a network")


def test_ibp_is_sound_and_stable_masks():
    Ws, bs = random_net(2, [3, 5, 4, 1])
    net = Network.from_weights(Ws, bs)
    x0 = np.array([0.3, -0.2, 0.1])
    rng = np.random.default_rng(0)
    for region in (BoxRegion(x0, 0.3), BallRegion(x0, 0.3), GlobalRegion(tighten=True)):
        rb = region.propagate(net)
        X = region.sample(3000, rng) if region.dim else rng.standard_normal((3000, 3)) * 50
        for z, lo, hi, on, off in zip(net.pre_activations(X), rb.pre_lo, rb.pre_hi,
                                      rb.stable_on, rb.stable_off):
            assert np.all(z >= lo - 1e-9) and np.all(z <= hi + 1e-9)
            assert np.all(z[:, on] >= 0) and np.all(z[:, off] <= 0)
        for (dlo, dhi), on, off in zip(region.derivative_bounds(net), rb.stable_on,
                                       rb.stable_off):
            assert np.all(dlo[on] == 1) and np.all(dhi[off] == 0)
    rb = BoxRegion(x0, 0.01).propagate(net)
    assert rb.num_stable > 0 and rb.num_unstable < sum(net.widths)
    g = GlobalRegion().propagate(net)
    assert g.num_stable == 0 and all(np.all(d == 1) for d in g.deriv_hi)


def test_vector_output_functionals():
    out = VectorOutput("inf")
    assert np.array_equal(out.extreme_functionals(3), np.eye(3)) and out.dual_norm == 1.0
    assert VectorOutput(1).extreme_functionals(3).shape == (4, 3)
    with pytest.raises(ModelError, match="not a polytope"):
        VectorOutput(2).extreme_functionals(3)
    assert np.array_equal(MarginOutput(2, 0).functional(3), [-1.0, 0.0, 1.0])


def test_pooling_matrices_by_hand():
    """No torch needed: a 2x2 average of a 3x3 image with stride 1, and the divisor rules."""
    M, shape = avg_pool2d_matrix((1, 3, 3), 2, 1)
    assert shape == (1, 2, 2)
    assert M.toarray()[0].tolist() == [0.25, 0.25, 0, 0.25, 0.25, 0, 0, 0, 0]
    # padding 1, kernel 2, stride 2 on 2x2: each window sees one input pixel
    M, shape = avg_pool2d_matrix((1, 2, 2), 2, 2, 1, count_include_pad=True)
    assert shape == (1, 2, 2) and np.allclose(M.toarray(), np.eye(4) / 4)
    M, _ = avg_pool2d_matrix((1, 2, 2), 2, 2, 1, count_include_pad=False)
    assert np.allclose(M.toarray(), np.eye(4))
    M, shape = adaptive_avg_pool2d_matrix((2, 3, 5), (1, 2))
    assert shape == (2, 1, 2)
    # torch's windows: columns [0, 3) and [2, 5) of each of the 3 rows
    row = M.toarray()[0].reshape(2, 3, 5)
    assert np.allclose(row[0], np.tile([1, 1, 1, 0, 0], (3, 1)) / 9) and not row[1].any()
    with pytest.raises(ModelError, match="padding at most half"):
        avg_pool2d_matrix((1, 4, 4), 2, 2, 2)
    with pytest.raises(ModelError, match="groups=3 must divide"):
        conv2d_matrix(np.ones((2, 1, 1, 1)), (4, 2, 2), groups=3)


@pytest.mark.parametrize("p, r", [(np.inf, 2.0), (np.inf, 1.0), (2.0, 1.0)])
def test_operator_norms_of_one_row_or_one_column_by_enumeration(p, r):
    """One input (p = inf) or one output (r = 1): the sign vertices of length 1. They raised a
    ValueError (reshape of an empty product), so lipschitz() on a 1-input network with a
    "vector:2" output crashed in its lower-bound search."""
    from polylip.nn import lipschitz
    from polylip.nn.norms import dual, operator_norm, vec_norm

    rng = np.random.default_rng(0)
    col, row = rng.standard_normal((3, 1)), rng.standard_normal((1, 3))
    if p == np.inf:  # ||J t||_r at t = +-1
        assert operator_norm(col, p, r) == pytest.approx(vec_norm(col[:, 0], r))
    assert operator_norm(row, p, r) == pytest.approx(
        vec_norm(row[0], dual(p)) if r != 2.0 or p != 2.0 else np.linalg.norm(row))
    net = Network.from_weights([rng.standard_normal((4, 1)), rng.standard_normal((2, 4))],
                               output="vector:2")
    res = lipschitz(net, "inf", method="interval", region=BoxRegion([0.1], 0.5))
    assert res.upper >= res.lower > 0

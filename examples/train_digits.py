"""Train the bundled example networks on scikit-learn's digits data (8x8 images, 10 classes).

Writes, next to this script (or to --out):

* ``digits_mlp.npz``: a 64-16-16-10 ReLU MLP (scikit-learn ``MLPClassifier``), vector output.
* ``digits_mlp_pruned.npz``: the same MLP with the 50% smallest weights of each layer set to
  zero (stored as sparse matrices), no retraining.
* ``digits_cnn.npz``: a small CNN, conv 1->4 channels (3x3, stride 2, padding 1) + ReLU +
  dense 64->10, trained with plain numpy (the convolution is stored unrolled, sparse).
* ``digits_x0.npy``: the first test image (pixels scaled to [0, 1]), a center for local regions.

The data ships with scikit-learn (no download). Run::

    python3 examples/train_digits.py            # about 10 s
    polylip lipschitz examples/digits_mlp.npz --method product
"""

import argparse
import logging
import os

import numpy as np
import scipy.sparse as sp

from polylip.nn import Conv2d, Dense, Network

log = logging.getLogger("train_digits")


def load_data():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    return train_test_split(X, y, test_size=0.25, random_state=0)


def train_mlp(Xtr, ytr, iters):
    from sklearn.neural_network import MLPClassifier

    clf = MLPClassifier(hidden_layer_sizes=(16, 16), activation="relu", max_iter=iters,
                        random_state=0, alpha=1e-3)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(Xtr, ytr)
    return Network.from_weights([W.T for W in clf.coefs_], list(clf.intercepts_),
                                output="vector:inf")


def prune(net, fraction=0.5):
    layers = []
    for W, b in net.affine_layers:
        W = np.asarray(W)
        cut = np.quantile(np.abs(W), fraction)
        layers.append((sp.csr_matrix(np.where(np.abs(W) > cut, W, 0.0)), b))
    return Network(layers, net.activations, net.output)


def _im2col(X, stride=2, pad=1, k=3):
    N = X.shape[0]
    Xp = np.pad(X.reshape(N, 8, 8), ((0, 0), (pad, pad), (pad, pad)))
    Ho = (8 + 2 * pad - k) // stride + 1
    cols = np.stack([Xp[:, i * stride:i * stride + k, j * stride:j * stride + k].reshape(N, -1)
                     for i in range(Ho) for j in range(Ho)], axis=1)
    return cols  # (N, Ho*Ho, k*k)


def train_cnn(Xtr, ytr, epochs, channels=4, seed=0):
    rng = np.random.default_rng(seed)
    K = rng.standard_normal((channels, 9)) * 0.3
    kb = np.zeros(channels)
    W = rng.standard_normal((10, channels * 16)) * 0.1
    b = np.zeros(10)
    P = _im2col(Xtr)  # (N, 16, 9)
    Y = np.eye(10)[ytr]
    lr, params = 0.1, None
    for epoch in range(epochs):
        order = rng.permutation(len(Xtr))
        for start in range(0, len(order), 32):
            idx = order[start:start + 32]
            Z = P[idx] @ K.T + kb  # (n, 16, C)
            H = np.maximum(Z, 0).transpose(0, 2, 1).reshape(len(idx), -1)  # channel-major
            logits = H @ W.T + b
            logits -= logits.max(axis=1, keepdims=True)
            prob = np.exp(logits)
            prob /= prob.sum(axis=1, keepdims=True)
            G = (prob - Y[idx]) / len(idx)
            gW, gb = G.T @ H, G.sum(axis=0)
            GH = (G @ W).reshape(len(idx), channels, 16).transpose(0, 2, 1) * (Z > 0)
            gK = np.einsum("npc,npk->ck", GH, P[idx])
            gkb = GH.sum(axis=(0, 1))
            W -= lr * gW
            b -= lr * gb
            K -= lr * gK
            kb -= lr * gkb
    return Network.from_layers([Conv2d(K.reshape(channels, 1, 3, 3), kb, stride=2, padding=1),
                                "relu", Dense(W, b)], output="vector:inf", input_shape=(1, 8, 8))


def accuracy(net, X, y):
    return float(np.mean(np.argmax(net(X), axis=1) == y))


def main(argv=None):
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=here, help="output directory")
    ap.add_argument("--quick", action="store_true", help="few iterations (for tests)")
    args = ap.parse_args(argv)
    Xtr, Xte, ytr, yte = load_data()
    os.makedirs(args.out, exist_ok=True)
    mlp = train_mlp(Xtr, ytr, 60 if args.quick else 600)
    pruned = prune(mlp)
    cnn = train_cnn(Xtr, ytr, 2 if args.quick else 20)
    accs = {}
    for name, net in (("digits_mlp", mlp), ("digits_mlp_pruned", pruned), ("digits_cnn", cnn)):
        net.save(os.path.join(args.out, name + ".npz"))
        accs[name] = accuracy(net, Xte, yte)
        print(f"{name}: sizes {net.layer_sizes}, test accuracy {accs[name]:.3f}")
    np.save(os.path.join(args.out, "digits_x0.npy"), Xte[0])
    return accs


if __name__ == "__main__":
    main()

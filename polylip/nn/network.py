"""Feed-forward networks as a chain of affine maps and element-wise activations.

A :class:`Network` computes ``y = W_L a_{L-1}(... a_1(W_1 x + b_1) ...) + b_L`` followed by an
*output functional* (:class:`ScalarOutput`, :class:`MarginOutput` or :class:`VectorOutput`).
Convolutions are unrolled into scipy CSR matrices when the network is built (the layers are
:mod:`polylip.nn.layers`, the output functionals :mod:`polylip.nn.outputs`; both re-exported
here), so every later stage sees the same uniform data:

* ``net.affine_layers``: list of ``(W, b)``; ``W`` a dense ndarray or a ``scipy.sparse`` CSR
  matrix of shape ``(out, in)``, ``b`` a 1-D ndarray of length ``out``.
* ``net.activations``: one :class:`~polylip.nn.activations.Activation` per hidden layer
  (``len(net.activations) == len(net.affine_layers) - 1``).
* ``net.output``: the output functional.

The gradient of a scalar output ``u . y`` is
``W_1^T D_1 W_2^T D_2 ... W_{L-1}^T D_{L-1} W_L^T u`` with ``D_k = diag(a_k'(z_k))``
(:meth:`Network.backward` evaluates this for any derivative values, not only realizable ones).

Examples
--------
>>> import numpy as np
>>> net = Network.from_weights([np.array([[1.0, -1.0], [0.5, 2.0]]), np.array([[1.0, 1.0]])])
>>> net.layer_sizes
[2, 2, 1]
>>> net.gradient(np.array([[1.0, 0.0]])).tolist()
[[1.5, 1.0]]
"""

from __future__ import annotations

import logging

import numpy as np
import scipy.sparse as sp

from polylip.errors import ModelError
from polylip.nn.activations import Activation, get_activation
from polylip.nn.layers import Conv2d, Dense, as_bias, as_matrix, conv2d_matrix
from polylip.nn.norms import dual, operator_norm, parse_norm, vec_norm
from polylip.nn.outputs import MarginOutput, ScalarOutput, VectorOutput, parse_output

__all__ = ["Network", "Dense", "Conv2d", "ScalarOutput", "MarginOutput", "VectorOutput",
           "conv2d_matrix", "parse_output"]

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------------
# the network
# --------------------------------------------------------------------------------------------
def _matmul_right(X, W):
    """``X @ W.T`` for a batch ``X`` of shape (N, in) and dense or sparse ``W`` (out, in)."""
    if sp.issparse(W):
        return np.asarray((W @ X.T).T)
    return X @ W.T


def _matmul_left(G, W):
    """``G @ W`` for a batch ``G`` of shape (N, out) and dense or sparse ``W`` (out, in)."""
    if sp.issparse(W):
        return np.asarray((W.T @ G.T).T)
    return G @ W


class Network:
    """A feed-forward network: affine maps, element-wise activations, an output functional.

    Parameters
    ----------
    affine_layers : list of (W, b)
        ``W`` dense array or scipy sparse matrix of shape (out, in); ``b`` a vector or None.
    activations : Activation, str, or list of them
        One per hidden layer (``len(affine_layers) - 1``), or one applied to all.
    output : ScalarOutput, MarginOutput, VectorOutput or str, optional
        Default: scalar if the last layer has one output, else ``VectorOutput(inf)``.
    input_shape : tuple, optional
        (C, H, W) for image inputs (informational; inputs are always flat vectors).

    Raises
    ------
    ModelError
        Shapes that do not chain, NaN/inf weights, unknown activation or output.

    Examples
    --------
    >>> import numpy as np
    >>> net = Network([(np.eye(2), None), (np.ones((1, 2)), [0.5])], "relu")
    >>> net(np.array([[1.0, -1.0]])).tolist()
    [[1.5]]
    """

    def __init__(self, affine_layers, activations="relu", output=None, input_shape=None):
        layers = []
        if not isinstance(affine_layers, (list, tuple)) or len(affine_layers) == 0:
            raise ModelError("a network needs at least one affine layer")
        for k, layer in enumerate(affine_layers):
            try:
                W, b = layer
            except (TypeError, ValueError) as exc:
                raise ModelError(f"layer {k}: expected a pair (W, b)") from exc
            W = as_matrix(W, f"layer {k}")
            b = as_bias(b, W.shape[0], f"layer {k}")
            if k > 0 and W.shape[1] != layers[-1][0].shape[0]:
                raise ModelError(f"layer {k} expects {W.shape[1]} inputs but layer {k - 1} has "
                                 f"{layers[-1][0].shape[0]} outputs")
            if W.shape[0] == 0 or W.shape[1] == 0:
                raise ModelError(f"layer {k} has an empty weight matrix {W.shape}")
            layers.append((W, b))
        nh = len(layers) - 1
        if isinstance(activations, (list, tuple)) and all(
                isinstance(a, (str, Activation)) for a in activations):
            acts = [get_activation(a) for a in activations]
            if len(acts) != nh:
                raise ModelError(f"{len(acts)} activations given for {nh} hidden layers")
        else:
            acts = [get_activation(activations)] * nh
        self._layers = layers
        self._acts = acts
        m = layers[-1][0].shape[0]
        out = parse_output(output)
        if out is None:
            out = ScalarOutput() if m == 1 else VectorOutput(np.inf)
        out.check(m)
        self._output = out
        self.input_shape = tuple(int(v) for v in input_shape) if input_shape is not None else None
        if self.input_shape is not None and (not self.input_shape
                                             or min(self.input_shape) < 1):
            raise ModelError(f"input shape {self.input_shape} must be positive integers")
        if self.input_shape is not None and int(np.prod(self.input_shape)) != self.input_dim:
            raise ModelError(f"input shape {self.input_shape} does not match {self.input_dim} "
                             "inputs")

    # ---- construction ------------------------------------------------------------------
    @classmethod
    def from_weights(cls, weights, biases=None, activation="relu", output=None):
        """Build from weight matrices ``weights[k]`` of shape (out, in) and optional biases.

        The activation follows every layer but the last.

        Examples
        --------
        >>> import numpy as np
        >>> Network.from_weights([np.ones((3, 2)), np.ones((1, 3))], [np.zeros(3), None]).widths
        [3]
        """
        weights = list(weights)
        if biases is None:
            biases = [None] * len(weights)
        biases = list(biases)
        if len(biases) != len(weights):
            raise ModelError(f"{len(biases)} biases given for {len(weights)} weight matrices")
        return cls(list(zip(weights, biases)), activation, output)

    @classmethod
    def from_layers(cls, layers, output=None, input_shape=None):
        """Build from a sequence ``[layer, activation, layer, activation, ..., layer]``.

        Layers are :class:`Dense`, :class:`Conv2d` or a pair ``(W, b)``; activations are names
        or :class:`Activation` objects. ``input_shape`` (C, H, W) is needed by a first
        convolution.
        """
        affine, acts = [], []
        shape = tuple(input_shape) if input_shape is not None else None
        expect_layer = True
        for item in layers:
            if expect_layer:
                if isinstance(item, (Dense, Conv2d)):
                    W, b, shape = item.affine(shape)
                elif isinstance(item, (tuple, list)) and len(item) == 2:
                    W, b, shape = Dense(*item).affine()
                else:
                    raise ModelError(f"expected an affine layer, got {item!r}")
                affine.append((W, b))
            else:
                if isinstance(item, (Dense, Conv2d)):
                    raise ModelError("two affine layers in a row: put an activation between "
                                     "them (e.g. 'identity')")
                acts.append(get_activation(item))
            expect_layer = not expect_layer
        if expect_layer:
            raise ModelError("a network must end with an affine layer, not an activation")
        first = input_shape if input_shape is not None else None
        return cls(affine, acts, output, input_shape=first)

    @classmethod
    def load(cls, path, *, max_bytes=None):
        """Load a network saved by :meth:`save`, validated first (see
        :mod:`polylip.nn.loaders.npz`; ``max_bytes`` caps the size of its arrays, default
        2 GiB). Other formats: :func:`polylip.nn.loaders.load_model`."""
        # lazy: the loaders build Networks (they import this module)
        from polylip.nn.loaders import load_npz
        return load_npz(path, max_bytes=max_bytes)

    def save(self, path) -> None:
        """Save to ``.npz`` (see :mod:`polylip.nn.loaders.npz`)."""
        # lazy: the loaders build Networks (they import this module)
        from polylip.nn.loaders import save_npz
        save_npz(self, path)

    @classmethod
    def from_torch(cls, module, input_shape=None, output=None, *, state_dict=None):
        """Convert a torch model (optional extra ``torch``): ``nn.Sequential``, a module whose
        forward is a chain of supported layers, TorchScript; ``state_dict`` (mapping or
        ``.pt`` path) fills a copy of ``module`` first. Checked against torch's forward pass
        and gradient; see :func:`polylip.nn.loaders.from_torch`."""
        # lazy: the loaders build Networks (they import this module)
        from polylip.nn.loaders import from_torch
        return from_torch(module, input_shape=input_shape, output=output,
                          state_dict=state_dict)

    @classmethod
    def from_onnx(cls, path, output=None, *, input_shape=None):
        """Load an ONNX model (optional extra ``onnx``), bounded at its declared output; see
        :func:`polylip.nn.loaders.from_onnx`."""
        # lazy: the loaders build Networks (they import this module)
        from polylip.nn.loaders import from_onnx
        return from_onnx(path, output=output, input_shape=input_shape)

    def with_output(self, output) -> "Network":
        """The same network with another output functional."""
        return Network(self._layers, self._acts, output, self.input_shape)

    # ---- structure -----------------------------------------------------------------------
    @property
    def affine_layers(self) -> list:
        """List of ``(W, b)`` (W dense ndarray or CSR matrix, shape (out, in))."""
        return list(self._layers)

    @property
    def activations(self) -> list:
        """One :class:`Activation` per hidden layer."""
        return list(self._acts)

    @property
    def output(self):
        return self._output

    @property
    def layer_sizes(self) -> list:
        """``[n_0, n_1, ..., n_L]``: input, hidden widths, raw output size."""
        return [self._layers[0][0].shape[1]] + [W.shape[0] for W, _ in self._layers]

    @property
    def input_dim(self) -> int:
        return self._layers[0][0].shape[1]

    @property
    def output_dim(self) -> int:
        return self._layers[-1][0].shape[0]

    @property
    def widths(self) -> list:
        """Hidden layer widths."""
        return self.layer_sizes[1:-1]

    @property
    def num_hidden(self) -> int:
        return len(self._acts)

    @property
    def piecewise_linear(self) -> bool:
        """True when every activation is piecewise linear (ReLU, leaky ReLU, identity)."""
        return all(a.piecewise_linear for a in self._acts)

    def functional(self):
        """``u`` with ``f = u . y`` for scalar and margin outputs; None for vector outputs."""
        return self._output.functional(self.output_dim)

    def __repr__(self) -> str:
        acts = ",".join(sorted({a.spec() for a in self._acts})) or "none"
        return (f"Network(sizes={self.layer_sizes}, activations={acts}, "
                f"output={self._output.spec()})")

    # ---- evaluation ----------------------------------------------------------------------
    def _check_inputs(self, X):
        try:
            X = np.asarray(X, dtype=float)
        except (TypeError, ValueError) as exc:
            raise ModelError("inputs are not numeric") from exc
        single = X.ndim == 1
        X = np.atleast_2d(X)
        if X.ndim != 2 or X.shape[1] != self.input_dim:
            raise ModelError(f"inputs must have shape (N, {self.input_dim}), got {X.shape}")
        return X, single

    def pre_activations(self, X) -> list:
        """Pre-activations ``z_k`` of every hidden layer, each of shape (N, n_k)."""
        X, _ = self._check_inputs(X)
        zs, h = [], X
        for (W, b), act in zip(self._layers[:-1], self._acts):
            z = _matmul_right(h, W) + b
            zs.append(z)
            h = act(z)
        return zs

    def forward(self, X):
        """Raw outputs ``y`` of the last affine layer: shape (N, m) (or (m,) for one input)."""
        X, single = self._check_inputs(X)
        h = X
        for (W, b), act in zip(self._layers[:-1], self._acts):
            h = act(_matmul_right(h, W) + b)
        W, b = self._layers[-1]
        y = _matmul_right(h, W) + b
        return y[0] if single else y

    __call__ = forward

    def value(self, X):
        """The scalar ``f = u . y`` (scalar and margin outputs), shape (N,)."""
        u = self.functional()
        if u is None:
            raise ModelError("value() needs a scalar or margin output")
        return np.atleast_2d(self.forward(X)) @ u

    def derivatives(self, X) -> list:
        """Activation derivatives ``a_k'(z_k)`` at the inputs, each of shape (N, n_k)."""
        return [act.derivative(z) for act, z in zip(self._acts, self.pre_activations(X))]

    def backward(self, S, U):
        """``W_1^T diag(s_1) ... W_{L-1}^T diag(s_{L-1}) W_L^T u`` for a batch.

        Parameters
        ----------
        S : list of arrays
            Derivative values per hidden layer, shape (N, n_k) or (n_k,) (any values, e.g. an
            activation pattern, not only realizable ones).
        U : array
            Output functionals, shape (N, m) or (m,).

        Returns
        -------
        ndarray of shape (N, n_0)
        """
        if len(S) != self.num_hidden:
            raise ModelError(f"expected {self.num_hidden} derivative arrays, got {len(S)}")
        G = np.atleast_2d(np.asarray(U, dtype=float))
        W, _ = self._layers[-1]
        G = _matmul_left(G, W)
        for k in range(self.num_hidden - 1, -1, -1):
            G = G * np.atleast_2d(S[k])
            G = _matmul_left(G, self._layers[k][0])
        return G

    def gradient(self, X):
        """Gradient of the scalar output ``f = u . y`` at each input: shape (N, n_0)."""
        u = self.functional()
        if u is None:
            raise ModelError("gradient() needs a scalar or margin output; use jacobian()")
        X, single = self._check_inputs(X)
        G = self.backward(self.derivatives(X), u[None, :])
        if G.shape[0] != X.shape[0]:
            G = np.broadcast_to(G, (X.shape[0], G.shape[1])).copy()
        return G[0] if single else G

    def jacobian(self, X):
        """Jacobian of the raw outputs ``y``: shape (N, m, n_0)."""
        X, single = self._check_inputs(X)
        S = self.derivatives(X)
        N, m = X.shape[0], self.output_dim
        rows = []
        for i in range(m):
            u = np.zeros((1, m))
            u[0, i] = 1.0
            G = self.backward(S, u)
            rows.append(np.broadcast_to(G, (N, self.input_dim)))
        J = np.stack(rows, axis=1)
        return J[0] if single else J

    def local_lipschitz(self, X, norm="inf"):
        """The local Lipschitz constant at each input: ``||grad f||_{q}`` (scalar, margin) or
        ``||J||_{p->r}`` (vector output), with ``p`` = ``norm``. Shape (N,)."""
        p = parse_norm(norm)
        X, _ = self._check_inputs(X)
        if self.functional() is not None:
            return vec_norm(self.gradient(X), dual(p))
        return operator_norm(self.jacobian(X), p, self._output.norm)

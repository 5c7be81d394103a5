"""Shared by the loaders: assembling a :class:`Network` from a chain of layers, and checking
the network read against the framework's own forward pass and gradient.

Not public: see :mod:`polylip.nn.loaders`.
"""

from __future__ import annotations

import logging

import numpy as np
import scipy.sparse as sp

from polylip.errors import ModelError
from polylip.nn.activations import get_activation
from polylip.nn.network import Conv2d, Dense, Network

log = logging.getLogger(__name__)

#: Relative tolerance (float64) of the check of a loaded network against its framework.
CHECK_RTOL = 1e-6
#: Number of seeded random inputs of that check.
CHECK_INPUTS = 4
CHECK_SEED = 0


def _scale_rows(W, s):
    """``diag(s) @ W`` (s scalar or vector), dense or CSR."""
    if np.isscalar(s):
        return W * s
    if sp.issparse(W):
        return sp.csr_matrix(sp.diags(s) @ W)
    return s[:, None] * W


def _scale_cols(W, s):
    """``W @ diag(s)`` (s scalar or vector), dense or CSR."""
    if np.isscalar(s):
        return W * s
    if sp.issparse(W):
        return sp.csr_matrix(W @ sp.diags(s))
    return W * s[None, :]


def _entries(W):
    return W.nnz if sp.issparse(W) else W.size


def _matvec(W, t):
    return np.asarray(W @ t).reshape(-1)


class Builder:
    """Collects affine layers and activations of a chain, tracking the tensor shape.

    Element-wise affine steps (a BatchNorm in inference mode, a multiplication or addition of
    constants) are folded: into the affine layer before them when there is one, else into the
    next affine layer (an activation in between makes them an affine layer of their own).
    """

    def __init__(self, input_shape=None):
        self.items = []  # Dense (concrete matrices) and activations, alternating
        self.shape = tuple(int(v) for v in input_shape) if input_shape is not None else None
        self.input_shape = self.shape
        self.last = None  # None (nothing yet), "affine" or "act"
        self.pending = None  # (scale, shift) waiting for the next affine layer
        self.pending_map = None  # (M, shift): a linear map (pooling) waiting for the next one

    # ---- helpers ---------------------------------------------------------------------------
    @property
    def size(self):
        return None if self.shape is None else int(np.prod(self.shape))

    def _features(self, c, where, what):
        """``c`` broadcast (numpy rules) against one sample of the current tensor, as a float
        (a scalar) or a flat vector; refused when broadcasting would change the shape."""
        try:
            c = np.asarray(c, dtype=float)
        except (TypeError, ValueError) as exc:
            raise ModelError(f"{where}: the {what} is not numeric") from exc
        if not np.all(np.isfinite(c)):
            raise ModelError(f"{where}: the {what} contains NaN or infinite values")
        if c.size == 1 and c.ndim <= (2 if self.shape is None else len(self.shape) + 1):
            return float(c.reshape(-1)[0])  # a scalar, whatever the batch
        if self.shape is None:
            if c.ndim == 1:  # a flat input of this size
                self.shape = self.input_shape = (c.size,)
            elif c.ndim == 2 and c.shape[0] == 1:
                self.shape = self.input_shape = (c.shape[1],)
            else:
                raise ModelError(f"{where}: a {what} of shape {c.shape} needs the input shape; "
                                 "pass input_shape")
        full = (1,) + self.shape
        try:
            ok = np.broadcast_shapes(c.shape, full) == full
        except ValueError:
            ok = False
        if not ok:
            raise ModelError(f"{where}: a {what} of shape {c.shape} does not broadcast to the "
                             f"tensor shape {self.shape} (batch first) without changing it")
        flat = np.broadcast_to(c, full).reshape(-1)
        return float(flat[0]) if np.all(flat == flat[0]) else flat.copy()

    def _materialize(self, where):
        """Turn the pending element-wise map into an affine layer of its own."""
        s, t = self.pending
        n = self.size
        if n is None:
            raise ModelError(f"{where}: cannot tell the number of inputs; pass input_shape")
        s = np.full(n, s) if np.isscalar(s) else s
        t = np.full(n, t) if np.isscalar(t) else t
        self.items.append(Dense(sp.csr_matrix(sp.diags(s)), t))
        self.pending = None
        self.last = "affine"

    def _materialize_map(self):
        """Turn the pending linear map into an affine layer of its own."""
        M, t = self.pending_map
        self.pending_map = None
        if self.last == "affine":  # cannot happen (it was composed), kept for safety
            self.items.append(get_activation("identity"))
        self.items.append(Dense(M, t))
        self.last = "affine"

    # ---- the steps of a chain ----------------------------------------------------------------
    def linear_map(self, M, out_shape, where):
        """A fixed linear map of the flattened tensor that may change its shape (average
        pooling): ``M`` a CSR matrix of shape (out, in).

        Composed into the affine layer before it when nothing lies in between (``M W``,
        ``M b``: still sparse after a convolution); after an activation it waits and is
        composed into the next affine layer (``W M``) unless that product is large (see
        :meth:`affine`), else it becomes a layer of its own (an identity activation after
        it; the same function, one more layer for the methods to carry).
        """
        if self.shape is None:
            raise ModelError(f"{where}: needs the input shape (C, H, W); pass input_shape")
        if M.shape[1] != self.size:
            raise ModelError(f"{where}: expects {M.shape[1]} inputs, receives a tensor of "
                             f"shape {self.shape}")  # pragma: no cover - built from the shape
        M = sp.csr_matrix(M, dtype=float)
        t = np.zeros(M.shape[0])
        if self.pending_map is not None:
            M0, t0 = self.pending_map
            M, t = sp.csr_matrix(M @ M0), _matvec(M, t0)
            self.pending_map = None
        if self.pending is not None:  # x -> M (s x + t0) = (M diag s) x + M t0
            s0, t0 = self.pending
            self.pending = None
            t = t + (_matvec(M, np.full(M.shape[1], t0)) if np.isscalar(t0) else _matvec(M, t0))
            M = sp.csr_matrix(_scale_cols(M, s0))
            self.pending_map = (M, t)
        elif self.last == "affine":
            layer = self.items[-1]
            W, b = layer.weight, np.asarray(layer.bias, dtype=float)
            W2 = M @ W
            self.items[-1] = Dense(sp.csr_matrix(W2) if sp.issparse(W2) else np.asarray(W2),
                                   _matvec(M, b) + t)
        else:
            self.pending_map = (M, t)
        self.shape = tuple(int(v) for v in out_shape)

    def affine(self, layer, where):
        """Append a :class:`Dense` or :class:`Conv2d` layer."""
        if isinstance(layer, Conv2d):
            if self.shape is None or len(self.shape) != 3:
                raise ModelError(f"{where}: a convolution needs a (C, H, W) input shape; pass "
                                 "input_shape=(C, H, W)")
            W, b, out_shape = layer.affine(self.shape)
        else:
            W, b, out_shape = layer.affine()
            if self.shape is not None and len(self.shape) > 1:
                raise ModelError(f"{where}: a dense layer on a tensor of shape {self.shape} "
                                 "needs a Flatten before it")
            if self.shape is not None and self.size != W.shape[1]:
                raise ModelError(f"{where}: expects {W.shape[1]} inputs but receives a tensor "
                                 f"of shape {self.shape}")
        if self.pending is not None:
            s, t = self.pending
            b = b + (_matvec(W, np.full(W.shape[1], t)) if np.isscalar(t) else _matvec(W, t))
            W = _scale_cols(W, s)
            self.pending = None
        if self.pending_map is not None:
            M, t = self.pending_map
            # W M is dense when W is (a Linear after the pooling). Composed, the methods see
            # one layer, and the bounds built from layer norms are tighter (||W M|| <=
            # ||W|| ||M||); kept apart, the pooling is a layer of identity neurons. Composed
            # unless the dense product is large and much larger than the two factors
            entries = W.shape[0] * M.shape[1] if not sp.issparse(W) else 0
            if sp.issparse(W) or entries <= max(4 * (_entries(W) + M.nnz), 2_000_000):
                b = b + _matvec(W, t)
                W = sp.csr_matrix(W @ M) if sp.issparse(W) else np.asarray(W @ M)
                self.pending_map = None
            else:
                self._materialize_map()
        if self.last == "affine":
            self.items.append(get_activation("identity"))
        self.items.append(Dense(W, b))
        self.shape = tuple(out_shape)
        self.last = "affine"

    def elementwise(self, scale=1.0, shift=0.0, where="layer"):
        """``x -> scale * x + shift`` with constants broadcast against the current tensor."""
        s = self._features(scale, where, "factor")
        t = self._features(shift, where, "addend")
        if self.pending_map is not None:  # x -> s (M x + t0) + t: still one pending map
            M, t0 = self.pending_map
            self.pending_map = (sp.csr_matrix(_scale_rows(M, s)), s * t0 + t)
            return
        if not np.isscalar(s) and np.isscalar(t):
            t = np.full(s.size, t)
        if self.last == "affine" and self.pending is None:
            layer = self.items[-1]
            W, b = layer.weight, np.asarray(layer.bias, dtype=float)
            self.items[-1] = Dense(_scale_rows(W, s), s * b + t)
            return
        if self.pending is None:
            self.pending = (s, t)
        else:
            s0, t0 = self.pending
            self.pending = (s * s0, s * t0 + t)

    def channelwise(self, scale, shift, ndim, where):
        """A per-channel affine map (BatchNorm): ``ndim`` 1 for (C,), 3 for (C, H, W)."""
        scale = np.asarray(scale, dtype=float).reshape(-1)
        shift = np.asarray(shift, dtype=float).reshape(-1)
        C = scale.size
        if self.shape is None and ndim == 1:
            self.shape = self.input_shape = (C,)
        if self.shape is None or len(self.shape) != ndim or self.shape[0] != C:
            want = "(C,)" if ndim == 1 else "(C, H, W)"
            raise ModelError(f"{where}: expects a tensor of shape {want} with C={C}, receives "
                             f"{'an unknown shape' if self.shape is None else self.shape}")
        if ndim == 3:
            scale, shift = scale.reshape(C, 1, 1), shift.reshape(C, 1, 1)
        self.elementwise(scale, shift, where)

    def activation(self, act, where):
        try:
            act = get_activation(act)
        except ModelError as exc:
            raise ModelError(f"{where}: {exc}") from exc
        if self.pending is not None:
            self._materialize(where)
        if self.pending_map is not None:
            self._materialize_map()
        if self.last != "affine":
            raise ModelError(f"{where}: an activation must follow an affine layer (two "
                             "activations in a row, or an activation first, are not supported)")
        self.items.append(act)
        self.last = "act"

    def flatten(self):
        if self.shape is not None:
            self.shape = (self.size,)

    def build(self, output):
        if self.pending is not None:
            self._materialize("the last layer")
        if self.pending_map is not None:
            self._materialize_map()
        if self.last != "affine":
            # a final element-wise activation (a Sigmoid or Tanh after the logits): the same
            # function is the activation as a hidden layer followed by the identity, so every
            # method bounds the composed function as it is, nothing assumed about it
            act = self.items[-1]
            n = self.size
            log.info("the network ends with the activation %s: read as a hidden layer of %d "
                     "neurons followed by the identity", act.name, n)
            self.items.append(Dense(sp.identity(n, format="csr"), None))
            self.last = "affine"
        return Network.from_layers(self.items, output=output, input_shape=self.input_shape)


# --------------------------------------------------------------------------------------------
# checking a loaded network against its framework
# --------------------------------------------------------------------------------------------
def _compare(mine, ref, source, framework, what):
    mine = np.asarray(mine, dtype=float)
    ref = np.asarray(ref, dtype=float)
    if mine.shape != ref.shape:
        raise ModelError(f"{source}: the network polylip read gives a {what} of shape "
                         f"{mine.shape}, {framework} gives {ref.shape}")
    if not np.all(np.isfinite(ref)):
        raise ModelError(f"{source}: {framework}'s {what} is not finite on random inputs")
    err = float(np.max(np.abs(mine - ref))) if ref.size else 0.0
    scale = float(np.max(np.abs(ref))) if ref.size else 0.0
    if not err <= CHECK_RTOL * max(scale, 1e-12):
        raise ModelError(
            f"{source}: the network polylip read does not reproduce {framework}'s {what}: max "
            f"difference {err:.3g} (relative {err / max(scale, 1e-300):.3g}, tolerance "
            f"{CHECK_RTOL:g}) on {ref.shape[0]} seeded random inputs; polylip refuses to bound "
            "a network it may have misread")


def verify(net, forward, gradient=None, *, source, framework, n=CHECK_INPUTS):
    """Check ``net`` against a framework on ``n`` seeded standard-normal inputs (flat rows).

    ``forward(X)`` returns the framework's outputs (any shape with ``n`` rows);
    ``gradient(X, u)``, if given, the gradient of ``u . y`` at each input. A mismatch beyond
    :data:`CHECK_RTOL` (relative to the largest reference value) raises :class:`ModelError`
    naming the maximum difference.
    """
    rng = np.random.default_rng(CHECK_SEED)
    X = rng.standard_normal((n, net.input_dim))
    u = rng.standard_normal(net.output_dim)
    try:
        ref = np.asarray(forward(X), dtype=float)
        ref_g = None if gradient is None else np.asarray(gradient(X, u), dtype=float)
    except ModelError:
        raise
    except Exception as exc:  # noqa: BLE001 - whatever the framework raises
        raise ModelError(f"{source}: cannot run {framework} on {n} random inputs to check the "
                         f"network read ({type(exc).__name__}: {exc})") from exc
    ref = ref.reshape(n, -1)
    if ref.shape[1] != net.output_dim:
        raise ModelError(f"{source}: {framework} returns {ref.shape[1]} values per input, the "
                         f"network polylip read has {net.output_dim} outputs")
    _compare(net.forward(X), ref, source, framework, "forward pass")
    if ref_g is not None:
        G = net.backward(net.derivatives(X), u[None, :])
        G = np.broadcast_to(G, (n, net.input_dim))
        _compare(G, ref_g.reshape(n, -1), source, framework, "gradient")

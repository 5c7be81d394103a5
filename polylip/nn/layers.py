"""Layers a :class:`~polylip.nn.network.Network` is built from (:class:`Dense`,
:class:`Conv2d`), each turned into one affine map ``(W, b)`` when the network is built;
convolutions are unrolled into scipy CSR matrices (:func:`conv2d_matrix`).

Examples
--------
>>> W, b, shape = Conv2d(np.ones((1, 1, 2, 2)), input_shape=(1, 3, 3)).affine()
>>> W.shape, b.tolist(), shape
((4, 9), [0.0, 0.0, 0.0, 0.0], (1, 2, 2))
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from polylip.errors import ModelError
from polylip.runtime import check_memory

__all__ = ["Dense", "Conv2d", "conv2d_matrix", "as_matrix", "as_bias"]


def as_matrix(W, where: str):
    """``W`` as a float ndarray or CSR matrix, checked (2-D, finite); ``where`` names it."""
    if sp.issparse(W):
        W = sp.csr_matrix(W, dtype=float)
        data = W.data
    else:
        try:
            W = np.array(W, dtype=float)
        except (TypeError, ValueError) as exc:
            raise ModelError(f"{where}: weights are not a numeric matrix") from exc
        if W.ndim != 2:
            raise ModelError(f"{where}: weights must be 2-D (out, in), got shape {W.shape}")
        data = W
    if not np.all(np.isfinite(data)):
        raise ModelError(f"{where}: weights contain NaN or infinite values")
    return W


def as_bias(b, out: int, where: str):
    """``b`` as a float vector of length ``out`` (zeros for None), checked."""
    if b is None:
        return np.zeros(out)
    try:
        b = np.array(b, dtype=float).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise ModelError(f"{where}: bias is not numeric") from exc
    if b.shape != (out,):
        raise ModelError(f"{where}: bias has length {b.size}, expected {out}")
    if not np.all(np.isfinite(b)):
        raise ModelError(f"{where}: bias contains NaN or infinite values")
    return b


@dataclass
class Dense:
    """A dense or sparse affine layer ``x -> W x + b`` (``W`` of shape (out, in))."""

    weight: object
    bias: object = None

    def affine(self, input_shape=None):
        W = as_matrix(self.weight, "dense layer")
        return W, as_bias(self.bias, W.shape[0], "dense layer"), (W.shape[0],)


def _pair(v, name):
    if np.isscalar(v):
        v = (v, v)
    try:
        a, b = (int(x) for x in v)
    except (TypeError, ValueError) as exc:
        raise ModelError(f"conv2d {name} must be an int or a pair, got {v!r}") from exc
    return a, b


def conv2d_matrix(weight, input_shape, stride=1, padding=0):
    """Unroll a 2-D convolution (cross-correlation, as in PyTorch) into a CSR matrix.

    Parameters
    ----------
    weight : ndarray, shape (C_out, C_in, kH, kW)
    input_shape : (C_in, H, W)
        Inputs and outputs are flattened in C order (channel, row, column), like
        ``torch.flatten``.
    stride, padding : int or pair of int
        Zero padding on both sides.

    Returns
    -------
    (scipy.sparse.csr_matrix, tuple)
        The matrix of shape ``(C_out*H_out*W_out, C_in*H*W)`` and the output shape.

    Examples
    --------
    >>> M, shape = conv2d_matrix(np.ones((1, 1, 2, 2)), (1, 3, 3))
    >>> shape, M.shape
    ((1, 2, 2), (4, 9))
    """
    w = np.asarray(weight, dtype=float)
    if w.ndim != 4:
        raise ModelError(f"conv2d weight must have shape (C_out, C_in, kH, kW), got {w.shape}")
    try:
        cin, H, Wd = (int(v) for v in input_shape)
    except (TypeError, ValueError) as exc:
        raise ModelError(f"conv2d needs an input shape (C, H, W), got {input_shape!r}") from exc
    cout, cin_w, kh, kw = w.shape
    if cin != cin_w:
        raise ModelError(f"conv2d weight expects {cin_w} input channels, input has {cin}")
    sh, sw = _pair(stride, "stride")
    ph, pw = _pair(padding, "padding")
    if sh < 1 or sw < 1 or ph < 0 or pw < 0:
        raise ModelError("conv2d stride must be >= 1 and padding >= 0")
    Ho = (H + 2 * ph - kh) // sh + 1
    Wo = (Wd + 2 * pw - kw) // sw + 1
    if Ho < 1 or Wo < 1:
        raise ModelError(f"conv2d kernel {kh}x{kw} does not fit input {H}x{Wd} with padding "
                         f"{(ph, pw)}")
    # the unrolling's index tables, before allocating them (about 10 arrays of 8 bytes per
    # kernel entry and output position): a 64-channel 3x3 kernel declared on a 3x1000x1000
    # input in a 7 KB ONNX file would otherwise ask for ~140 GB
    entries = cout * Ho * Wo * cin * kh * kw
    check_memory(80 * entries, f"unrolling the {kh}x{kw} convolution ({cin} -> {cout} "
                 f"channels) on a {H}x{Wd} input into a sparse matrix",
                 "use a smaller input shape", error=ModelError)
    oc, oy, ox, ic, ky, kx = np.meshgrid(np.arange(cout), np.arange(Ho), np.arange(Wo),
                                         np.arange(cin), np.arange(kh), np.arange(kw),
                                         indexing="ij")
    iy = oy * sh - ph + ky
    ix = ox * sw - pw + kx
    ok = (iy >= 0) & (iy < H) & (ix >= 0) & (ix < Wd)
    rows = ((oc * Ho + oy) * Wo + ox)[ok]
    cols = ((ic * H + iy) * Wd + ix)[ok]
    vals = w[oc[ok], ic[ok], ky[ok], kx[ok]]
    M = sp.csr_matrix((vals, (rows, cols)), shape=(cout * Ho * Wo, cin * H * Wd))
    M.eliminate_zeros()
    return M, (cout, Ho, Wo)


@dataclass
class Conv2d:
    """A 2-D convolution layer (PyTorch layout), unrolled to a sparse matrix.

    ``input_shape`` (C, H, W) may be omitted when a previous convolution fixes it.
    """

    weight: object
    bias: object = None
    stride: object = 1
    padding: object = 0
    input_shape: object = None

    def affine(self, input_shape=None):
        shape = self.input_shape if self.input_shape is not None else input_shape
        if shape is None or len(tuple(shape)) != 3:
            raise ModelError("conv2d needs the input shape (C, H, W): pass input_shape")
        w = np.asarray(self.weight, dtype=float)
        if not np.all(np.isfinite(w)):
            raise ModelError("conv2d layer: weights contain NaN or infinite values")
        M, out_shape = conv2d_matrix(w, shape, self.stride, self.padding)
        if self.bias is None:
            b = np.zeros(M.shape[0])
        else:
            bc = as_bias(self.bias, w.shape[0], "conv2d layer")
            b = np.repeat(bc, out_shape[1] * out_shape[2])
        return M, b, out_shape

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

__all__ = ["Dense", "Conv2d", "conv2d_matrix", "avg_pool2d_matrix",
           "adaptive_avg_pool2d_matrix", "as_matrix", "as_bias"]


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


def _padding(v):
    """Zero padding as ``((top, bottom), (left, right))`` from an int, a pair ``(ph, pw)``
    (both sides alike) or a pair of pairs (each side its own, as torch's ``padding="same"``
    with an even kernel and ONNX's ``pads`` give)."""
    if not np.isscalar(v) and len(v) == 2 and not np.isscalar(v[0]):
        (t, bo), (le, ri) = _pair(v[0], "padding"), _pair(v[1], "padding")
        return (t, bo), (le, ri)
    ph, pw = _pair(v, "padding")
    return (ph, ph), (pw, pw)


def conv2d_matrix(weight, input_shape, stride=1, padding=0, dilation=1, groups=1):
    """Unroll a 2-D convolution (cross-correlation, as in PyTorch) into a CSR matrix.

    Parameters
    ----------
    weight : ndarray, shape (C_out, C_in / groups, kH, kW)
    input_shape : (C_in, H, W)
        Inputs and outputs are flattened in C order (channel, row, column), like
        ``torch.flatten``.
    stride, dilation : int or pair of int
    padding : int, pair ``(ph, pw)`` (zeros on both sides), or pair of pairs
        ``((top, bottom), (left, right))``.
    groups : int
        As in ``torch.nn.Conv2d``: output channel ``o`` sees the input channels of its group
        ``o // (C_out / groups)``; ``groups = C_in`` is a depthwise convolution.

    Returns
    -------
    (scipy.sparse.csr_matrix, tuple)
        The matrix of shape ``(C_out*H_out*W_out, C_in*H*W)`` and the output shape.

    Examples
    --------
    >>> M, shape = conv2d_matrix(np.ones((1, 1, 2, 2)), (1, 3, 3))
    >>> shape, M.shape
    ((1, 2, 2), (4, 9))
    >>> conv2d_matrix(np.ones((2, 1, 3, 3)), (2, 5, 5), dilation=2, groups=2)[1]
    (2, 1, 1)
    """
    w = np.asarray(weight, dtype=float)
    if w.ndim != 4:
        raise ModelError(f"conv2d weight must have shape (C_out, C_in, kH, kW), got {w.shape}")
    try:
        cin, H, Wd = (int(v) for v in input_shape)
    except (TypeError, ValueError) as exc:
        raise ModelError(f"conv2d needs an input shape (C, H, W), got {input_shape!r}") from exc
    cout, cin_g, kh, kw = w.shape
    try:
        groups = int(groups)
    except (TypeError, ValueError) as exc:
        raise ModelError(f"conv2d groups must be an integer, got {groups!r}") from exc
    if groups < 1 or cin % groups or cout % groups:
        raise ModelError(f"conv2d groups={groups} must divide the {cin} input and {cout} "
                         "output channels")
    if cin_g * groups != cin:
        raise ModelError(f"conv2d weight expects {cin_g * groups} input channels "
                         f"({cin_g} per group, {groups} groups), input has {cin}")
    sh, sw = _pair(stride, "stride")
    dh, dw = _pair(dilation, "dilation")
    (pt, pb), (pl, pr) = _padding(padding)
    if sh < 1 or sw < 1 or dh < 1 or dw < 1 or min(pt, pb, pl, pr) < 0:
        raise ModelError("conv2d stride and dilation must be >= 1 and padding >= 0")
    Ho = (H + pt + pb - dh * (kh - 1) - 1) // sh + 1
    Wo = (Wd + pl + pr - dw * (kw - 1) - 1) // sw + 1
    if Ho < 1 or Wo < 1:
        raise ModelError(f"conv2d kernel {kh}x{kw} (dilation {(dh, dw)}) does not fit input "
                         f"{H}x{Wd} with padding {((pt, pb), (pl, pr))}")
    # the unrolling's index tables, before allocating them (about 10 arrays of 8 bytes per
    # kernel entry and output position): a 64-channel 3x3 kernel declared on a 3x1000x1000
    # input in a 7 KB ONNX file would otherwise ask for ~140 GB
    entries = cout * Ho * Wo * cin_g * kh * kw
    check_memory(80 * entries, f"unrolling the {kh}x{kw} convolution ({cin} -> {cout} "
                 f"channels) on a {H}x{Wd} input into a sparse matrix",
                 "use a smaller input shape", error=ModelError)
    oc, oy, ox, jc, ky, kx = np.meshgrid(np.arange(cout), np.arange(Ho), np.arange(Wo),
                                         np.arange(cin_g), np.arange(kh), np.arange(kw),
                                         indexing="ij")
    ic = (oc // (cout // groups)) * cin_g + jc  # the input channel of the group
    iy = oy * sh - pt + ky * dh
    ix = ox * sw - pl + kx * dw
    ok = (iy >= 0) & (iy < H) & (ix >= 0) & (ix < Wd)
    rows = ((oc * Ho + oy) * Wo + ox)[ok]
    cols = ((ic * H + iy) * Wd + ix)[ok]
    vals = w[oc[ok], jc[ok], ky[ok], kx[ok]]
    M = sp.csr_matrix((vals, (rows, cols)), shape=(cout * Ho * Wo, cin * H * Wd))
    M.eliminate_zeros()
    return M, (cout, Ho, Wo)


def _pool_windows(n, k, s, p_lo, p_hi, ceil_mode):
    """Start indices (in padded coordinates) of the windows of a 1-D pooling, as torch counts
    them: with ``ceil_mode`` a last partial window is kept only if it starts inside the input
    or the left padding."""
    # torch's pooling_output_shape: floor division (of a negative span too)
    out = (n + p_lo + p_hi - k + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= n + p_lo:
        out -= 1
    return np.arange(max(out, 0)) * s


def _window(rows, cols, vals, iy, ix, i, j, C, in_hw, out_hw, weight):
    """Append the entries of output cell ``(i, j)`` of every channel: ``weight`` times each
    input position ``(iy, ix)`` of the window (a pooling's matrix, flattened in C order)."""
    (H, Wd), (Ho, Wo) = in_hw, out_hw
    pos = (iy[:, None] * Wd + ix[None, :]).reshape(1, -1)
    c = np.arange(C)[:, None]
    rows.append(np.broadcast_to((c * Ho + i) * Wo + j, (C, pos.size)).reshape(-1))
    cols.append((c * H * Wd + pos).reshape(-1))
    vals.append(np.full(C * pos.size, weight))


def avg_pool2d_matrix(input_shape, kernel_size, stride=None, padding=0, ceil_mode=False,
                      count_include_pad=True, divisor_override=None):
    """The CSR matrix of ``torch.nn.AvgPool2d`` (flattened in C order), and the output shape.

    Exact: each output is a fixed weighted sum of inputs. Padding is zeros; the divisor is
    the window's size counted as torch does (``count_include_pad``: the padded window, cut
    at the end of the padded input; otherwise only the input positions;
    ``divisor_override``: that number).

    Examples
    --------
    >>> M, shape = avg_pool2d_matrix((1, 2, 2), 2)
    >>> shape, M.toarray().tolist()
    ((1, 1, 1), [[0.25, 0.25, 0.25, 0.25]])
    """
    try:
        C, H, Wd = (int(v) for v in input_shape)
    except (TypeError, ValueError) as exc:
        raise ModelError(f"avg_pool2d needs an input shape (C, H, W), got {input_shape!r}") \
            from exc
    kh, kw = _pair(kernel_size, "kernel_size")
    sh, sw = _pair(kernel_size if stride is None or (not np.isscalar(stride) and len(stride)
                                                     == 0) else stride, "stride")
    ph, pw = _pair(padding, "padding")
    if min(kh, kw, sh, sw) < 1 or min(ph, pw) < 0 or 2 * ph > kh or 2 * pw > kw:
        raise ModelError(f"avg_pool2d: kernel {kh}x{kw}, stride {(sh, sw)} and padding "
                         f"{(ph, pw)} are invalid (padding at most half the kernel)")
    ys = _pool_windows(H, kh, sh, ph, ph, ceil_mode)
    xs = _pool_windows(Wd, kw, sw, pw, pw, ceil_mode)
    if ys.size == 0 or xs.size == 0:
        raise ModelError(f"avg_pool2d kernel {kh}x{kw} does not fit input {H}x{Wd}")
    Ho, Wo = ys.size, xs.size
    rows, cols, vals = [], [], []
    for i, y0 in enumerate(ys):
        for j, x0 in enumerate(xs):
            y1, x1 = min(y0 + kh, H + 2 * ph), min(x0 + kw, Wd + 2 * pw)
            iy = np.arange(max(y0, ph), min(y1, H + ph)) - ph
            ix = np.arange(max(x0, pw), min(x1, Wd + pw)) - pw
            if divisor_override:
                div = float(divisor_override)
            elif count_include_pad:
                div = float((y1 - y0) * (x1 - x0))
            else:
                div = float(iy.size * ix.size)
            if iy.size == 0 or ix.size == 0:
                continue  # a window on padding only: the output is 0
            _window(rows, cols, vals, iy, ix, i, j, C, (H, Wd), (Ho, Wo), 1.0 / div)
    M = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                      shape=(C * Ho * Wo, C * H * Wd))
    return M, (C, Ho, Wo)


def adaptive_avg_pool2d_matrix(input_shape, output_size):
    """The CSR matrix of ``torch.nn.AdaptiveAvgPool2d`` and the output shape: output cell
    ``(i, j)`` averages rows ``floor(i H / Ho)`` to ``ceil((i + 1) H / Ho)`` (exclusive) and
    the columns alike, torch's windows. ``output_size`` entries may be None (the input's).

    Examples
    --------
    >>> M, shape = adaptive_avg_pool2d_matrix((2, 3, 3), 1)
    >>> shape, M.shape, float(M.sum())
    ((2, 1, 1), (2, 18), 2.0)
    """
    try:
        C, H, Wd = (int(v) for v in input_shape)
    except (TypeError, ValueError) as exc:
        raise ModelError(f"adaptive_avg_pool2d needs an input shape (C, H, W), got "
                         f"{input_shape!r}") from exc
    if np.isscalar(output_size) or output_size is None:
        output_size = (output_size, output_size)
    Ho, Wo = (n if o is None else int(o) for o, n in zip(output_size, (H, Wd)))
    if Ho < 1 or Wo < 1:
        raise ModelError(f"adaptive_avg_pool2d output size {(Ho, Wo)} must be positive")
    rows, cols, vals = [], [], []
    for i in range(Ho):
        y0, y1 = (i * H) // Ho, -(-((i + 1) * H) // Ho)
        for j in range(Wo):
            x0, x1 = (j * Wd) // Wo, -(-((j + 1) * Wd) // Wo)
            _window(rows, cols, vals, np.arange(y0, y1), np.arange(x0, x1), i, j, C, (H, Wd),
                    (Ho, Wo), 1.0 / ((y1 - y0) * (x1 - x0)))
    M = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                      shape=(C * Ho * Wo, C * H * Wd))
    return M, (C, Ho, Wo)


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
    dilation: object = 1
    groups: int = 1

    def affine(self, input_shape=None):
        shape = self.input_shape if self.input_shape is not None else input_shape
        if shape is None or len(tuple(shape)) != 3:
            raise ModelError("conv2d needs the input shape (C, H, W): pass input_shape")
        w = np.asarray(self.weight, dtype=float)
        if not np.all(np.isfinite(w)):
            raise ModelError("conv2d layer: weights contain NaN or infinite values")
        M, out_shape = conv2d_matrix(w, shape, self.stride, self.padding, self.dilation,
                                      self.groups)
        if self.bias is None:
            b = np.zeros(M.shape[0])
        else:
            bc = as_bias(self.bias, w.shape[0], "conv2d layer")
            b = np.repeat(bc, out_shape[1] * out_shape[2])
        return M, b, out_shape

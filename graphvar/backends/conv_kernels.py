"""Convolution and pooling kernels written once against `xp` (NumPy or CuPy).

Everything runs in NHWC (NCHW inputs are transposed in and out). A convolution is im2col + one
matmul: a strided view of the padded input holds every window, ``(N, OH, OW, KH, KW, C)``; its one
copy into a ``(N*OH*OW, KH*KW*C)`` matrix times the ``(KH*KW*C, OC)`` filter is the output, so the
cost is the matmul's (BLAS on the host, cuBLAS on the GPU). The filter gradient is the same matrix
transposed times the output gradient; the input gradient is the output gradient times the filter
transposed, one tap at a time, added back where each tap read (col2im: KH*KW matmuls and adds).
Pooling and depthwise convolution loop over the KH*KW window positions with whole-array ops.
On CuPy with cuDNN present, Conv2D and its two gradients go through ``cupy.cudnn`` instead.
"""

from __future__ import annotations

from typing import Any

from graphvar.ops.conv_geometry import spatial_axes, window_2d


class _Geometry:
    """One op's window in NHWC terms: output size, pads, strides and dilations per spatial axis."""

    __slots__ = ("out", "pads", "strides", "dilations")

    def __init__(self, attrs: dict, in_hw: tuple[int, int], k_hw: tuple[int, int]) -> None:
        h, w, _ = spatial_axes(attrs["data_format"])
        self.out, self.pads = window_2d(in_hw, k_hw, attrs)
        self.strides = (attrs["strides"][h], attrs["strides"][w])
        dil = attrs.get("dilations", (1, 1, 1, 1))
        self.dilations = (dil[h], dil[w])

    def slices(self, i: int, j: int) -> tuple:
        """The padded-input positions that window tap (i, j) reads, one per output pixel."""
        (oh, ow), (sh, sw), (dh, dw) = self.out, self.strides, self.dilations
        return (
            slice(None),
            slice(i * dh, i * dh + sh * (oh - 1) + 1, sh),
            slice(j * dw, j * dw + sw * (ow - 1) + 1, sw),
            slice(None),
        )


def _nhwc(xp: Any, x: Any, fmt: str) -> Any:
    return x if fmt == "NHWC" else xp.transpose(x, (0, 2, 3, 1))


def _back(xp: Any, x: Any, fmt: str) -> Any:
    return x if fmt == "NHWC" else xp.ascontiguousarray(xp.transpose(x, (0, 3, 1, 2)))


def _sizes_nhwc(xp: Any, sizes: Any, fmt: str) -> tuple[int, ...]:
    dims = tuple(int(v) for v in (sizes.tolist() if hasattr(sizes, "tolist") else sizes))
    return dims if fmt == "NHWC" else (dims[0], dims[2], dims[3], dims[1])


def _pad(xp: Any, x: Any, pads: list, value: Any = 0) -> Any:
    (t, b), (left, r) = pads
    if t == b == left == r == 0:
        return x
    return xp.pad(x, ((0, 0), (t, b), (left, r), (0, 0)), constant_values=value)


def _crop(x: Any, pads: list, h: int, w: int) -> Any:
    (t, _), (left, _) = pads
    return x[:, t : t + h, left : left + w, :]


def _padded_zeros(xp: Any, shape: tuple, pads: list, dtype: Any) -> Any:
    (t, b), (left, r) = pads
    n, h, w, c = shape
    return xp.zeros((n, h + t + b, w + left + r, c), dtype)


def _windows(xp: Any, xpad: Any, g: _Geometry, k_hw: tuple[int, int]) -> Any:
    """A strided view (N, OH, OW, KH, KW, C) of every window of the padded input (no copy)."""
    n, _, _, c = xpad.shape
    s0, s1, s2, s3 = xpad.strides
    (oh, ow), (sh, sw), (dh, dw) = g.out, g.strides, g.dilations
    shape = (n, oh, ow, k_hw[0], k_hw[1], c)
    return xp.lib.stride_tricks.as_strided(xpad, shape, (s0, s1 * sh, s2 * sw, s1 * dh, s2 * dw, s3))


def _cols(xp: Any, x: Any, g: _Geometry, k_hw: tuple[int, int]) -> Any:
    """im2col: the (N*OH*OW, KH*KW*C) matrix of windows (one copy)."""
    win = _windows(xp, _pad(xp, x, g.pads), g, k_hw)
    n, oh, ow, kh, kw, c = win.shape
    return xp.ascontiguousarray(win).reshape(n * oh * ow, kh * kw * c)


def _col2im(xp: Any, dy: Any, w: Any, g: _Geometry, x_shape: tuple) -> Any:
    """The input gradient: for each window tap, ``dy @ w[tap].T`` added back to the input positions it read.

    One (N*OH*OW, OC) x (OC, C) matmul per tap into a reused buffer, so each add reads a contiguous
    source (a single matmul to (N, OH, OW, KH, KW, C) costs as much again in strided adds).
    """
    kh, kw, c, oc = w.shape
    n, (oh, ow) = x_shape[0], g.out
    dy2 = dy.reshape(-1, oc)
    buf = xp.empty((dy2.shape[0], c), dy.dtype)
    dxp = _padded_zeros(xp, x_shape, g.pads, dy.dtype)
    for i in range(kh):
        for j in range(kw):
            xp.matmul(dy2, w[i, j].T, out=buf)
            dxp[g.slices(i, j)] += buf.reshape(n, oh, ow, c)
    return _crop(dxp, g.pads, x_shape[1], x_shape[2])


def make_conv_kernels(xp: Any) -> dict[str, Any]:
    """The table op type -> kernel for convolution and pooling on array module `xp`."""
    cudnn = _cudnn_module(xp)

    def conv2d(step: Any, args: list, ctx: Any) -> Any:
        a, (x, w) = step.attrs, args
        fmt = a["data_format"]
        x = _nhwc(xp, x, fmt)
        n, h, wd, c = x.shape
        kh, kw, _, oc = w.shape
        g = _Geometry(a, (h, wd), (kh, kw))
        if cudnn is not None:
            return _back(xp, cudnn.forward(x, w, g), fmt)
        out = _cols(xp, x, g, (kh, kw)) @ w.reshape(kh * kw * c, oc)
        return _back(xp, out.reshape(n, g.out[0], g.out[1], oc), fmt)

    def conv2d_backprop_input(step: Any, args: list, ctx: Any) -> Any:
        a, (sizes, w, dy) = step.attrs, args
        fmt = a["data_format"]
        shape, dy = _sizes_nhwc(xp, sizes, fmt), _nhwc(xp, dy, fmt)
        kh, kw, c, oc = w.shape
        g = _Geometry(a, shape[1:3], (kh, kw))
        if cudnn is not None:
            return _back(xp, cudnn.backward_data(dy, w, g, shape), fmt)
        return _back(xp, xp.ascontiguousarray(_col2im(xp, dy, w, g, shape)), fmt)

    def conv2d_backprop_filter(step: Any, args: list, ctx: Any) -> Any:
        a, (x, sizes, dy) = step.attrs, args
        fmt = a["data_format"]
        x, dy = _nhwc(xp, x, fmt), _nhwc(xp, dy, fmt)
        kh, kw, c, oc = (int(v) for v in (sizes.tolist() if hasattr(sizes, "tolist") else sizes))
        g = _Geometry(a, x.shape[1:3], (kh, kw))
        if cudnn is not None:
            return cudnn.backward_filter(x, dy, g, (kh, kw, c, oc))
        dw = _cols(xp, x, g, (kh, kw)).T @ dy.reshape(-1, oc)
        return dw.reshape(kh, kw, c, oc)

    def max_pool(step: Any, args: list, ctx: Any) -> Any:
        a, fmt = step.attrs, step.attrs["data_format"]
        x = _nhwc(xp, args[0], fmt)
        k, g = _pool_geometry(a, x.shape)
        xpad = _pad(xp, x, g.pads, _lowest(xp, x.dtype))
        out = None
        for i in range(k[0]):
            for j in range(k[1]):
                s = xpad[g.slices(i, j)]
                out = s.copy() if out is None else xp.maximum(out, s, out=out)
        return _back(xp, out, fmt)

    def max_pool_grad(step: Any, args: list, ctx: Any) -> Any:
        a, fmt = step.attrs, step.attrs["data_format"]
        x, y, dy = (_nhwc(xp, v, fmt) for v in args)
        k, g = _pool_geometry(a, x.shape)
        xpad = _pad(xp, x, g.pads, _lowest(xp, x.dtype))
        dxp = xp.zeros(xpad.shape, dy.dtype)
        taken = xp.zeros(y.shape, bool)
        zero = xp.zeros((), dy.dtype)
        for i in range(
            k[0]
        ):  # the first maximum of each window in row-major order gets the gradient, as TF's CPU kernel
            for j in range(k[1]):
                hit = (xpad[g.slices(i, j)] == y) & ~taken
                dxp[g.slices(i, j)] += xp.where(hit, dy, zero)
                taken |= hit
        return _back(xp, xp.ascontiguousarray(_crop(dxp, g.pads, x.shape[1], x.shape[2])), fmt)

    def avg_pool(step: Any, args: list, ctx: Any) -> Any:
        a, fmt = step.attrs, step.attrs["data_format"]
        x = _nhwc(xp, args[0], fmt)
        k, g = _pool_geometry(a, x.shape)
        xpad = _pad(xp, x, g.pads)
        out = xp.zeros((x.shape[0], g.out[0], g.out[1], x.shape[3]), x.dtype)
        for i in range(k[0]):
            for j in range(k[1]):
                out += xpad[g.slices(i, j)]
        return _back(xp, out / _window_counts(xp, g, k, x.shape, x.dtype), fmt)

    def avg_pool_grad(step: Any, args: list, ctx: Any) -> Any:
        a, fmt = step.attrs, step.attrs["data_format"]
        shape, dy = _sizes_nhwc(xp, args[0], fmt), _nhwc(xp, args[1], fmt)
        k, g = _pool_geometry(a, shape)
        share = dy / _window_counts(xp, g, k, shape, dy.dtype)
        dxp = _padded_zeros(xp, shape, g.pads, dy.dtype)
        for i in range(k[0]):
            for j in range(k[1]):
                dxp[g.slices(i, j)] += share
        return _back(xp, xp.ascontiguousarray(_crop(dxp, g.pads, shape[1], shape[2])), fmt)

    return {
        "Conv2D": conv2d, "Conv2DBackpropInput": conv2d_backprop_input,
        "Conv2DBackpropFilter": conv2d_backprop_filter,
        "MaxPool": max_pool, "MaxPoolGrad": max_pool_grad, "AvgPool": avg_pool, "AvgPoolGrad": avg_pool_grad,
        **_depthwise_kernels(xp),
    }  # fmt: skip


def _pool_geometry(attrs: dict, shape_nhwc: tuple) -> tuple[tuple[int, int], _Geometry]:
    h, w, _ = spatial_axes(attrs["data_format"])
    k = (attrs["ksize"][h], attrs["ksize"][w])
    return k, _Geometry(attrs, shape_nhwc[1:3], k)


def _lowest(xp: Any, dtype: Any) -> Any:
    return -xp.inf if dtype.kind == "f" else xp.iinfo(dtype).min


def _window_counts(xp: Any, g: _Geometry, k: tuple[int, int], shape: tuple, dtype: Any) -> Any:
    """(1, OH, OW, 1): how many real (not padding) inputs each window covers; TF's average divides by it."""
    counts = []
    for axis in range(2):
        size, (before, _), stride = shape[1 + axis], g.pads[axis], g.strides[axis]
        start = xp.arange(g.out[axis]) * stride - before
        counts.append(xp.minimum(start + k[axis], size) - xp.maximum(start, 0))
    return (counts[0][:, None] * counts[1][None, :]).astype(dtype)[None, :, :, None]


def _depthwise_kernels(xp: Any) -> dict[str, Any]:
    """DepthwiseConv2dNative: output channel c*M + m is input channel c convolved with filter[..., c, m]."""

    def forward(step: Any, args: list, ctx: Any) -> Any:
        a, (x, w) = step.attrs, args
        fmt = a["data_format"]
        x = _nhwc(xp, x, fmt)
        kh, kw, c, m = w.shape
        g = _Geometry(a, x.shape[1:3], (kh, kw))
        xpad = _pad(xp, x, g.pads)
        out = xp.zeros((x.shape[0], g.out[0], g.out[1], c, m), x.dtype)
        for i in range(kh):
            for j in range(kw):
                out += xpad[g.slices(i, j)][..., None] * w[i, j]
        return _back(xp, out.reshape(out.shape[:3] + (c * m,)), fmt)

    def backprop_input(step: Any, args: list, ctx: Any) -> Any:
        a, (sizes, w, dy) = step.attrs, args
        fmt = a["data_format"]
        shape, dy = _sizes_nhwc(xp, sizes, fmt), _nhwc(xp, dy, fmt)
        kh, kw, c, m = w.shape
        g = _Geometry(a, shape[1:3], (kh, kw))
        dy5 = dy.reshape(dy.shape[:3] + (c, m))
        dxp = _padded_zeros(xp, shape, g.pads, dy.dtype)
        for i in range(kh):
            for j in range(kw):
                dxp[g.slices(i, j)] += (dy5 * w[i, j]).sum(axis=-1)
        return _back(xp, xp.ascontiguousarray(_crop(dxp, g.pads, shape[1], shape[2])), fmt)

    def backprop_filter(step: Any, args: list, ctx: Any) -> Any:
        a, (x, sizes, dy) = step.attrs, args
        fmt = a["data_format"]
        x, dy = _nhwc(xp, x, fmt), _nhwc(xp, dy, fmt)
        kh, kw, c, m = (int(v) for v in (sizes.tolist() if hasattr(sizes, "tolist") else sizes))
        g = _Geometry(a, x.shape[1:3], (kh, kw))
        xpad = _pad(xp, x, g.pads)
        dy5 = dy.reshape(-1, c, m)
        dw = xp.empty((kh, kw, c, m), dy.dtype)
        for i in range(kh):
            for j in range(kw):
                dw[i, j] = xp.einsum("pc,pcm->cm", xpad[g.slices(i, j)].reshape(-1, c), dy5)
        return dw

    return {
        "DepthwiseConv2dNative": forward,
        "DepthwiseConv2dNativeBackpropInput": backprop_input,
        "DepthwiseConv2dNativeBackpropFilter": backprop_filter,
    }


def _cudnn_module(xp: Any) -> Any:
    """The cuDNN path when `xp` is CuPy built with cuDNN (None otherwise: im2col on the device)."""
    if getattr(xp, "__name__", "") != "cupy":
        return None
    try:
        from graphvar.backends import conv_cudnn
    except ImportError:
        return None
    return conv_cudnn if conv_cudnn.available() else None

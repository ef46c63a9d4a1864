"""Conv2D and its gradients through CuPy's cuDNN bindings (``cupy.cudnn``), NHWC throughout.

cuDNN pads both sides of a dimension alike; TF's SAME pads the odd extra row after. So the input is
padded by the difference first (``_split_pads``) and cuDNN pads the common part; the input gradient
is computed on that padded shape and cropped. The filter is kept in TF's HWIO and handed to cuDNN as
OHWI (its NHWC filter layout). Imported only by ``conv_kernels`` when the array module is CuPy.
Unverified on a device here (no GPU in the development machine); ``tests/gpu`` compares it with the
host kernels.
"""

from __future__ import annotations

from typing import Any

import cupy

try:
    from cupy import cudnn as _cudnn
    from cupy.cuda import cudnn as _lib
except ImportError:  # CuPy built without cuDNN: conv_kernels runs im2col on the device instead
    _cudnn = _lib = None

_DTYPES = ("float16", "float32", "float64")


def available() -> bool:
    return _cudnn is not None


def _split_pads(pads: list) -> tuple[tuple, tuple[int, int]]:
    """(extra per side to pad by hand, the symmetric pad cuDNN applies) for [(top, bottom), (left, right)]."""
    common = tuple(min(p) for p in pads)
    extra = tuple((p[0] - c, p[1] - c) for p, c in zip(pads, common))
    return extra, common


def _prepad(x: Any, extra: tuple) -> Any:
    if not any(any(e) for e in extra):
        return cupy.ascontiguousarray(x)
    return cupy.pad(x, ((0, 0), extra[0], extra[1], (0, 0)))


def _ohwi(w: Any) -> Any:
    return cupy.ascontiguousarray(cupy.transpose(w, (3, 0, 1, 2)))


def _conv_args(g: Any, common: tuple) -> tuple:
    return common, tuple(g.strides), tuple(g.dilations), 1


def _layout() -> dict:
    return {"d_layout": _lib.CUDNN_TENSOR_NHWC, "w_layout": _lib.CUDNN_TENSOR_NHWC}


def forward(x: Any, w: Any, g: Any) -> Any:
    """NHWC x, HWIO w -> NHWC output of geometry `g` (conv_kernels._Geometry)."""
    if x.dtype.name not in _DTYPES:
        raise TypeError(f"cuDNN Conv2D does not take {x.dtype.name}")
    extra, common = _split_pads(g.pads)
    xp_ = _prepad(x, extra)
    y = cupy.empty((x.shape[0], g.out[0], g.out[1], w.shape[3]), x.dtype)
    _cudnn.convolution_forward(xp_, _ohwi(w), None, y, *_conv_args(g, common), auto_tune=False,
                               tensor_core="never", **_layout())  # fmt: skip
    return y


def backward_data(dy: Any, w: Any, g: Any, shape: tuple) -> Any:
    """The input gradient (NHWC, `shape`) from the output gradient `dy`."""
    extra, common = _split_pads(g.pads)
    n, h, wd, c = shape
    padded = (n, h + sum(extra[0]), wd + sum(extra[1]), c)
    dx = cupy.empty(padded, dy.dtype)
    _cudnn.convolution_backward_data(_ohwi(w), cupy.ascontiguousarray(dy), None, dx, *_conv_args(g, common),
                                     deterministic=True, auto_tune=False, tensor_core="never", **_layout())  # fmt: skip
    return cupy.ascontiguousarray(dx[:, extra[0][0] : extra[0][0] + h, extra[1][0] : extra[1][0] + wd, :])


def backward_filter(x: Any, dy: Any, g: Any, filter_shape: tuple) -> Any:
    """The filter gradient (HWIO, `filter_shape`)."""
    extra, common = _split_pads(g.pads)
    kh, kw, c, oc = filter_shape
    dw = cupy.empty((oc, kh, kw, c), dy.dtype)
    _cudnn.convolution_backward_filter(_prepad(x, extra), cupy.ascontiguousarray(dy), dw, *_conv_args(g, common),
                                       deterministic=True, auto_tune=False, tensor_core="never", **_layout())  # fmt: skip
    return cupy.ascontiguousarray(cupy.transpose(dw, (1, 2, 3, 0)))

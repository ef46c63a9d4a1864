"""More of tf.nn: local_response_normalization (TF's LRN / LRNGrad ops, kernels in
``backends/extra_kernels.py``), and compositions of existing ops as TF1 builds them: xw_plus_b,
zero_fraction, conv1d (an expanded conv2d), separable_conv2d (depthwise then 1x1 pointwise),
and tf.norm.
"""

from __future__ import annotations

from typing import Any

from graphvar import dtypes
from graphvar.framework import ops
from graphvar.framework.gradient_registry import NotDifferentiable, RegisterGradient
from graphvar.framework.op_registry import register_op
from graphvar.ops import array_ops, math_ops, nn_conv, nn_ops, shape_ops


def _lrn_spec(op: Any) -> list:
    x = op._inputs[0]
    nn_ops.check_float(op, x, "input")
    if x.shape.ndims not in (None, 4):
        raise ValueError(f"Shape must be rank 4 but is rank {x.shape.ndims}")
    if op.type == "LRNGrad":
        for t in op._inputs[1:]:
            if not t.shape.is_compatible_with(x.shape):
                raise ValueError(f"LRNGrad inputs must have one shape: {x.shape} and {t.shape}")
    return [(x.dtype, x.shape)]


register_op("LRN", _lrn_spec)
register_op("LRNGrad", _lrn_spec)
NotDifferentiable("LRNGrad")


@RegisterGradient("LRN")
def _lrn_grad(op: Any, grad: Any) -> Any:
    a = op._attrs
    attrs = {k: a[k] for k in ("depth_radius", "bias", "alpha", "beta")}
    return op.graph.create_op("LRNGrad", [grad, op.inputs[0], op.outputs[0]], attrs, name="LRNGrad").outputs[0]


def local_response_normalization(input: Any, depth_radius: int = 5, bias: float = 1.0, alpha: float = 1.0,  # noqa: A002
                                 beta: float = 0.5, name: str | None = None) -> ops.Tensor:  # fmt: skip
    """TF's LRN over the last axis of a 4-D tensor:
    ``sqr_sum[a, b, c, d] = sum(input[a, b, c, d - depth_radius : d + depth_radius + 1] ** 2)``,
    ``output = input / (bias + alpha * sqr_sum) ** beta``. Differentiable (LRNGrad).

    Raises:
      ValueError: the input is not 4-D.

    Example:
      >>> norm1 = tf.nn.lrn(pool1, 4, bias=1.0, alpha=0.001 / 9.0, beta=0.75)
    """
    x = ops.convert_to_tensor(input)
    attrs = {"depth_radius": int(depth_radius), "bias": float(bias), "alpha": float(alpha), "beta": float(beta)}
    return x.graph.create_op("LRN", [x], attrs, name=name or "LRN").outputs[0]


lrn = local_response_normalization


def xw_plus_b(x: Any, weights: Any, biases: Any, name: str | None = None) -> ops.Tensor:
    """matmul(x, weights) + biases (a BiasAdd), in the name scope "xw_plus_b"."""
    with ops.name_scope(name, "xw_plus_b", [x, weights, biases]) as scope:
        mm = math_ops.matmul(x, weights)
        return nn_ops.bias_add(mm, biases, name=scope)


def zero_fraction(value: Any, name: str | None = None) -> ops.Tensor:
    """The fraction of entries of `value` equal to zero (a float32 scalar), e.g. of relu activations."""
    with ops.name_scope(name, "zero_fraction", [value]):
        x = ops.convert_to_tensor(value, name="value")
        zero = array_ops.zeros([], dtype=x.dtype)
        return math_ops.reduce_mean(array_ops.cast(math_ops.equal(x, zero), dtypes.float32))


def conv1d(value: Any = None, filters: Any = None, stride: Any = None, padding: Any = None,
           use_cudnn_on_gpu: Any = None, data_format: str | None = None, name: str | None = None,
           input: Any = None, dilations: Any = None) -> ops.Tensor:  # noqa: A002  # fmt: skip
    """1-D convolution of [batch, width, in] ("NWC"; "NCW": [batch, in, width]) with a [k, in, out] filter.

    As TF1: the input gets a height of 1 (ExpandDims), a Conv2D runs, and the height is squeezed away.

    Raises:
      ValueError: data_format is not "NWC" / "NCW", or no input or filter.

    Example:
      >>> y = tf.nn.conv1d(x, w, stride=2, padding="SAME")
    """
    value = value if value is not None else input
    if value is None or filters is None:
        raise ValueError("conv1d needs `value` (or `input`) and `filters`")
    fmt = data_format or "NWC"
    if fmt not in ("NWC", "NHWC", "NCW", "NCHW"):
        raise ValueError(f'data_format must be "NWC" or "NCW", got {fmt!r}')
    channels_first = fmt in ("NCW", "NCHW")
    stride = stride if stride is not None else 1
    s = int(stride) if isinstance(stride, int) else int(list(stride)[-1 if not channels_first else -1])
    d = 1 if dilations is None else (int(dilations) if isinstance(dilations, int) else int(list(dilations)[-1]))
    with ops.name_scope(name, "conv1d", [value, filters]) as scope:
        x = shape_ops.expand_dims(value, 2 if channels_first else 1)
        f = shape_ops.expand_dims(filters, 0)
        y = nn_conv.conv2d(x, f, strides=[1, 1, s, 1] if not channels_first else [1, 1, 1, s], padding=padding,
                           data_format="NCHW" if channels_first else "NHWC",
                           dilations=[1, 1, d, 1] if not channels_first else [1, 1, 1, d])  # fmt: skip
        return shape_ops.squeeze(y, [2 if channels_first else 1], name=scope)


def separable_conv2d(input: Any, depthwise_filter: Any, pointwise_filter: Any, strides: Any, padding: Any,  # noqa: A002
                     rate: Any = None, name: str | None = None, data_format: str | None = None,
                     dilations: Any = None) -> ops.Tensor:  # fmt: skip
    """A depthwise convolution ([h, w, in, multiplier]) followed by a 1x1 convolution
    ([1, 1, in * multiplier, out]) mixing the channels, as TF1's separable_conv2d.

    Raises:
      ValueError: the pointwise filter is not [1, 1, in * multiplier, out].
    """
    with ops.name_scope(name, "separable_conv2d", [input, depthwise_filter, pointwise_filter]) as scope:
        dw = ops.convert_to_tensor(depthwise_filter, name="depthwise_filter")
        pw = ops.convert_to_tensor(pointwise_filter, name="pointwise_filter")
        pd, dd = pw.shape.as_list() if pw.shape.ndims else None, dw.shape.as_list() if dw.shape.ndims else None
        if pd is not None and (len(pd) != 4 or pd[0] != 1 or pd[1] != 1):
            raise ValueError(f"separable_conv2d: the pointwise filter must be [1, 1, in, out], got {pw.shape}")
        if pd is not None and dd is not None and None not in (dd[2], dd[3], pd[2]) and dd[2] * dd[3] != pd[2]:
            raise ValueError(f"separable_conv2d: the pointwise filter has {pd[2]} input channels, the depthwise "
                             f"output has {dd[2] * dd[3]}")  # fmt: skip
        depthwise = nn_conv.depthwise_conv2d(input, dw, strides, padding, rate=rate, name="depthwise",
                                             data_format=data_format, dilations=dilations)  # fmt: skip
        return nn_conv.conv2d(depthwise, pw, [1, 1, 1, 1], padding="VALID", data_format=data_format or "NHWC",
                              name=scope)  # fmt: skip


def norm(tensor: Any, ord: Any = "euclidean", axis: Any = None, keepdims: Any = None, name: str | None = None,  # noqa: A002
         keep_dims: Any = None) -> ops.Tensor:  # fmt: skip
    """TF's tf.norm: vector norms (ord "euclidean"/2, 1, p > 0, inf) over `axis` (all entries when None),
    or matrix norms over a pair of axes (ord "fro"/"euclidean", 1, inf).

    Raises:
      ValueError: an unsupported ord / axis combination (TF's message).

    Example:
      >>> tf.norm(w, ord=1, axis=[0, 1])
    """
    keep = bool(keepdims if keepdims is not None else keep_dims)
    is_matrix = isinstance(axis, (list, tuple)) and len(axis) == 2
    inf = float("inf")
    if is_matrix:
        if ord not in ("fro", "euclidean", 1, inf, 1.0):
            raise ValueError(f"'ord' must be a supported matrix norm in ['euclidean', 'fro', 1, inf], got {ord}")
    elif ord == "fro" or not (ord == "euclidean" or (isinstance(ord, (int, float)) and ord > 0)):
        raise ValueError(f"'ord' must be a supported vector norm, got {ord}")
    with ops.name_scope(name, "norm", [tensor]) as scope:
        x = ops.convert_to_tensor(tensor)
        if ord in ("euclidean", "fro", 2, 2.0) and not (is_matrix and ord in (2, 2.0)):
            out = math_ops.sqrt(math_ops.reduce_sum(x * x, axis, keepdims=True))
        elif is_matrix:
            rows, cols = axis
            sum_axis, max_axis = (rows, cols) if ord in (1, 1.0) else (cols, rows)
            out = math_ops.reduce_max(math_ops.reduce_sum(math_ops.abs(x), sum_axis, keepdims=True),
                                      max_axis, keepdims=True)  # fmt: skip
        elif ord == inf:
            out = math_ops.reduce_max(math_ops.abs(x), axis, keepdims=True)
        else:
            p = ops.convert_to_tensor(ord, dtype=x.dtype)
            out = math_ops.pow(math_ops.reduce_sum(math_ops.pow(math_ops.abs(x), p), axis, keepdims=True), 1.0 / p)
        if not keep:
            out = shape_ops.squeeze(out, list(axis) if isinstance(axis, (list, tuple)) else axis)
        return array_ops.identity(out, name=scope)

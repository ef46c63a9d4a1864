"""Convolution and pooling ops: ``tf.nn.conv2d``, ``conv2d_transpose``, ``max_pool``, ``avg_pool``,
``depthwise_conv2d`` and the backprop ops their gradients use (TF's op types and attributes).

Shapes are checked when the op is built (TF's SAME / VALID / explicit padding rules live in
``conv_geometry``); the kernels are in ``backends/conv_kernels.py``, the gradient rules in
``nn_conv_grad.py``. A backprop op takes the shape it produces as its first tensor input, as TF's
does, so a batch size known only at run time (``tf.shape(x)``) works.
"""

from __future__ import annotations

from typing import Any

from graphvar import dtypes
from graphvar.framework import ops
from graphvar.framework.op_registry import register_op
from graphvar.framework.tensor_shape import TensorShape, unknown_shape
from graphvar.ops import array_ops
from graphvar.ops.conv_geometry import four, padding_attr, spatial_axes, window_2d

_FLOATS = (dtypes.float16, dtypes.bfloat16, dtypes.float32, dtypes.float64)


# ---- shape rules ----
def _dims4(t: Any, what: str) -> list | None:
    if t.shape.ndims is None:
        return None
    if t.shape.ndims != 4:
        raise ValueError(f"{what} must be 4-dimensional, got shape {t.shape}")
    return t.shape.as_list()


def _check_float(op: Any, *tensors: Any) -> None:
    for t in tensors:
        if t.dtype not in _FLOATS:
            raise TypeError(f"Value passed to '{op.type}' Op {op.name!r} has DataType {t.dtype.name} not in list of "
                            "allowed values: float16, bfloat16, float32, float64")  # fmt: skip
    if any(t.dtype != tensors[0].dtype for t in tensors):
        raise TypeError(f"'{op.type}' Op {op.name!r}: inputs must share one dtype, got {[t.dtype.name for t in tensors]}")  # fmt: skip


def static_ints(t: Any) -> list | None:
    """What is known at build time of a 1-D int shape tensor: a list (None for unknown entries) or None."""
    op = t.op
    if op.type == "Const":
        return [int(v) for v in op.get_attr("value").reshape(-1)]
    if op.type == "Shape" and op.inputs[0].shape.ndims is not None:
        return op.inputs[0].shape.as_list()
    if op.type == "Pack":
        return [int(x.op.get_attr("value")) if x.op.type == "Const" else None for x in op.inputs]
    n = t.shape.as_list()[0] if t.shape.ndims == 1 else None
    return [None] * n if n is not None else None


def _output(x_dims: list | None, out_hw: list, channels: int | None, fmt: str) -> TensorShape:
    h, w, c = spatial_axes(fmt)
    dims: list = [None] * 4
    dims[0] = x_dims[0] if x_dims else None
    dims[h], dims[w], dims[c] = out_hw[0], out_hw[1], channels
    return TensorShape(dims)


def _conv_out(op: Any, x_dims: list | None, k_hw: list) -> list:
    h, w, _ = spatial_axes(op._attrs["data_format"])
    in_hw = [x_dims[h], x_dims[w]] if x_dims else [None, None]
    if None in k_hw:
        return [None, None]
    return window_2d(in_hw, k_hw, op._attrs)[0]


def _conv2d_spec(op: Any) -> list:
    x, f = op._inputs
    _check_float(op, x, f)
    xd, fd = _dims4(x, "input"), _dims4(f, "filter")
    c = spatial_axes(op._attrs["data_format"])[2]
    if xd and fd and xd[c] is not None and fd[2] is not None and xd[c] != fd[2]:
        raise ValueError(f"Depth of input ({xd[c]}) must equal the input depth of the filter ({fd[2]}); "
                         "graphvar has no grouped convolution")  # fmt: skip
    k = fd[:2] if fd else [None, None]
    return [(x.dtype, _output(xd, _conv_out(op, xd, k), fd[3] if fd else None, op._attrs["data_format"]))]


def _depthwise_spec(op: Any) -> list:
    x, f = op._inputs
    _check_float(op, x, f)
    xd, fd = _dims4(x, "input"), _dims4(f, "filter")
    c = spatial_axes(op._attrs["data_format"])[2]
    if xd and fd and None not in (xd[c], fd[2]) and xd[c] != fd[2]:
        raise ValueError(f"input and filter must have the same depth: {xd[c]} vs {fd[2]}")
    k = fd[:2] if fd else [None, None]
    out_c = fd[2] * fd[3] if fd and None not in fd[2:] else None
    return [(x.dtype, _output(xd, _conv_out(op, xd, k), out_c, op._attrs["data_format"]))]


def _backprop_input_spec(op: Any) -> list:
    sizes, f, dy = op._inputs
    _check_float(op, f, dy)
    dims = static_ints(sizes)
    if dims is not None and len(dims) != 4:
        raise ValueError(f"input_sizes must have 4 elements, got {dims}")
    if dims and None not in dims and _dims4(dy, "out_backprop") and _dims4(f, "filter"):
        fd, dyd = f.shape.as_list(), dy.shape.as_list()
        h, w, _ = spatial_axes(op._attrs["data_format"])
        if None not in fd[:2]:
            want = window_2d([dims[h], dims[w]], fd[:2], op._attrs)[0]
            for got, exp in zip((dyd[h], dyd[w]), want):
                if got is not None and got != exp:
                    raise ValueError(f"{op.type}: Size of out_backprop doesn't match computed: actual = {got}, "
                                     f"computed = {exp} (input size {[dims[h], dims[w]]})")  # fmt: skip
    return [(dy.dtype, TensorShape(dims) if dims is not None else unknown_shape(4))]


def _backprop_filter_spec(op: Any) -> list:
    x, sizes, dy = op._inputs
    _check_float(op, x, dy)
    dims = static_ints(sizes)
    return [(x.dtype, TensorShape(dims) if dims is not None else unknown_shape(4))]


def _pool_spec(op: Any) -> list:
    x = op._inputs[0]
    _check_float(op, x)
    xd = _dims4(x, "input")
    h, w, c = spatial_axes(op._attrs["data_format"])
    in_hw = [xd[h], xd[w]] if xd else [None, None]
    k = op._attrs["ksize"]
    out = window_2d(in_hw, [k[h], k[w]], op._attrs)[0]
    return [(x.dtype, _output(xd, out, xd[c] if xd else None, op._attrs["data_format"]))]


def _pool_grad_spec(op: Any) -> list:
    if op.type == "MaxPoolGrad":
        return [(op._inputs[2].dtype, op._inputs[0].shape)]
    dims = static_ints(op._inputs[0])
    return [(op._inputs[1].dtype, TensorShape(dims) if dims is not None else unknown_shape(4))]


register_op("Conv2D", _conv2d_spec, blas=True)
register_op("Conv2DBackpropInput", _backprop_input_spec)
register_op("Conv2DBackpropFilter", _backprop_filter_spec)
register_op("DepthwiseConv2dNative", _depthwise_spec)
register_op("DepthwiseConv2dNativeBackpropInput", _backprop_input_spec)
register_op("DepthwiseConv2dNativeBackpropFilter", _backprop_filter_spec)
for _t in ("MaxPool", "AvgPool"):
    register_op(_t, _pool_spec)
for _t in ("MaxPoolGrad", "AvgPoolGrad"):
    register_op(_t, _pool_grad_spec)


# ---- building ----
def conv_attrs(strides: Any, padding: Any, data_format: str | None, dilations: Any = None) -> dict:
    """TF's Conv2D attrs from the Python arguments (strides / dilations of 1, 2 or 4 elements)."""
    fmt = data_format or "NHWC"
    fmt = fmt.decode() if isinstance(fmt, bytes) else fmt
    if strides is None:
        raise ValueError("strides must be given (a list of 1, 2 or 4 ints)")
    if padding is None:
        raise ValueError("padding must be given ('SAME', 'VALID' or explicit pairs)")
    pad, explicit = padding_attr(padding, fmt)
    return {
        "strides": four(strides, fmt, "strides"), "padding": pad, "explicit_paddings": explicit,
        "data_format": fmt, "dilations": four(dilations if dilations is not None else 1, fmt, "dilations"),
    }  # fmt: skip


def sizes_tensor(sizes: Any, name: str) -> ops.Tensor:
    """A shape argument (list, tuple, TensorShape or int tensor) as an int32 tensor."""
    if isinstance(sizes, ops.Tensor):
        return sizes
    if isinstance(sizes, TensorShape):
        sizes = sizes.as_list()
    return array_ops.constant([int(d) for d in sizes], dtype=dtypes.int32, name=name)


def _create(op_type: str, inputs: list, attrs: dict, name: str | None) -> ops.Tensor:
    g = ops.get_default_graph()
    return g.create_op(op_type, inputs, attrs, name=name or op_type).outputs[0]


def _first(*values: Any, what: str) -> Any:
    for v in values:
        if v is not None:
            return v
    raise ValueError(f"{what} must be given")


def conv2d(input: Any, filter: Any = None, strides: Any = None, padding: Any = None, use_cudnn_on_gpu: bool = True,  # noqa: A002
           data_format: str = "NHWC", dilations: Any = None, name: str | None = None, filters: Any = None) -> ops.Tensor:  # fmt: skip
    """2-D convolution (cross-correlation) of a 4-D `input` with a [h, w, in, out] filter.

    Args:
      input: [batch, height, width, channels] (NHWC) or [batch, channels, height, width] (NCHW).
      filter: [filter_height, filter_width, in_channels, out_channels]; `filters` is the TF2 name.
      strides, dilations: 1, 2 or 4 ints (in `data_format` order; batch and depth must be 1).
      padding: "SAME", "VALID" or 4 [before, after] pairs.

    Raises:
      ValueError: ranks, depths or window sizes that do not fit, naming the op.

    Example:
      >>> h = tf.nn.conv2d(x_image, W, strides=[1, 1, 1, 1], padding="SAME")
    """
    x = ops.convert_to_tensor(input)
    f = ops.convert_to_tensor(_first(filter, filters, what="filter"), dtype_hint=x.dtype)
    attrs = conv_attrs(strides, padding, data_format, dilations) | {"use_cudnn_on_gpu": bool(use_cudnn_on_gpu)}
    return _create("Conv2D", [x, f], attrs, name)


def conv2d_backprop_input(input_sizes: Any, filter: Any = None, out_backprop: Any = None, strides: Any = None,  # noqa: A002
                          padding: Any = None, use_cudnn_on_gpu: bool = True, data_format: str = "NHWC",
                          dilations: Any = None, name: str | None = None, filters: Any = None) -> ops.Tensor:  # fmt: skip
    """The gradient of conv2d with respect to its input, of shape `input_sizes`."""
    f = ops.convert_to_tensor(_first(filter, filters, what="filter"))
    dy = ops.convert_to_tensor(out_backprop, dtype_hint=f.dtype)
    attrs = conv_attrs(strides, padding, data_format, dilations) | {"use_cudnn_on_gpu": bool(use_cudnn_on_gpu)}
    return _create("Conv2DBackpropInput", [sizes_tensor(input_sizes, "input_sizes"), f, dy], attrs, name)


def conv2d_backprop_filter(input: Any, filter_sizes: Any, out_backprop: Any, strides: Any, padding: Any,  # noqa: A002
                           use_cudnn_on_gpu: bool = True, data_format: str = "NHWC", dilations: Any = None,
                           name: str | None = None) -> ops.Tensor:  # fmt: skip
    """The gradient of conv2d with respect to its filter, of shape `filter_sizes`."""
    x = ops.convert_to_tensor(input)
    dy = ops.convert_to_tensor(out_backprop, dtype_hint=x.dtype)
    attrs = conv_attrs(strides, padding, data_format, dilations) | {"use_cudnn_on_gpu": bool(use_cudnn_on_gpu)}
    return _create("Conv2DBackpropFilter", [x, sizes_tensor(filter_sizes, "filter_sizes"), dy], attrs, name)


def conv2d_transpose(value: Any = None, filter: Any = None, output_shape: Any = None, strides: Any = None,  # noqa: A002
                     padding: Any = "SAME", data_format: str = "NHWC", name: str | None = None, input: Any = None,  # noqa: A002
                     filters: Any = None, dilations: Any = None) -> ops.Tensor:  # fmt: skip
    """The transpose of conv2d ("deconvolution"): the gradient of conv2d with respect to its input.

    Args:
      value: [batch, height, width, in_channels] (NHWC).
      filter: [height, width, output_channels, in_channels] (note the order: conv2d's filter).
      output_shape: the 4 dims of the result (a list or an int32 tensor).

    Raises:
      ValueError: the filter's last dim differs from value's channels, or output_shape does not
        produce value's spatial size under conv2d with these strides and padding.
    """
    with ops.name_scope(name, "conv2d_transpose") as scope:
        x = ops.convert_to_tensor(_first(value, input, what="value"))
        f = ops.convert_to_tensor(_first(filter, filters, what="filter"), dtype_hint=x.dtype)
        fmt = data_format or "NHWC"
        c = spatial_axes(fmt)[2]
        if x.shape.ndims == 4 and f.shape.ndims == 4 and None not in (x.shape[c].value, f.shape[3].value):
            if x.shape[c].value != f.shape[3].value:
                raise ValueError(f"input channels does not match filter's input channels, {x.shape[c].value} != "
                                 f"{f.shape[3].value} (op {scope!r})")  # fmt: skip
        attrs = conv_attrs(strides, padding, fmt, dilations) | {"use_cudnn_on_gpu": True}
        return _create("Conv2DBackpropInput", [sizes_tensor(output_shape, "output_shape"), f, x], attrs, scope)


def _pool(op_type: str, value: Any, ksize: Any, strides: Any, padding: Any, data_format: str | None, name: str | None) -> ops.Tensor:  # fmt: skip
    x = ops.convert_to_tensor(value)
    fmt = data_format or "NHWC"
    if ksize is None:
        raise ValueError(f"{op_type}: ksize must be given")
    attrs = conv_attrs(strides, padding, fmt) | {"ksize": four(ksize, fmt, "ksize")}
    if attrs["padding"] == "EXPLICIT":
        raise ValueError(f"{op_type}: padding must be 'SAME' or 'VALID', got {padding!r}")
    del attrs["dilations"]
    return _create(op_type, [x], attrs, name)


def max_pool(value: Any = None, ksize: Any = None, strides: Any = None, padding: Any = None, data_format: str = "NHWC",
             name: str | None = None, input: Any = None) -> ops.Tensor:  # noqa: A002  # fmt: skip
    """Max over each [kh, kw] window (padding never wins: SAME pads with -inf).

    Example:
      >>> h_pool = tf.nn.max_pool(h, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="SAME")
    """
    return _pool("MaxPool", _first(value, input, what="value"), ksize, strides, padding, data_format, name)


def avg_pool(value: Any = None, ksize: Any = None, strides: Any = None, padding: Any = None, data_format: str = "NHWC",
             name: str | None = None, input: Any = None) -> ops.Tensor:  # noqa: A002  # fmt: skip
    """Mean over each window, counting only real (not padding) inputs, as TF does."""
    return _pool("AvgPool", _first(value, input, what="value"), ksize, strides, padding, data_format, name)


def depthwise_conv2d_native(input: Any, filter: Any, strides: Any, padding: Any, data_format: str = "NHWC",  # noqa: A002
                            dilations: Any = None, name: str | None = None) -> ops.Tensor:  # fmt: skip
    """Each input channel convolved with its own [h, w, 1, multiplier] filter; out channel c*M + m."""
    x = ops.convert_to_tensor(input)
    f = ops.convert_to_tensor(filter, dtype_hint=x.dtype)
    return _create("DepthwiseConv2dNative", [x, f], conv_attrs(strides, padding, data_format, dilations), name)


def depthwise_conv2d(input: Any, filter: Any, strides: Any, padding: Any, rate: Any = None, name: str | None = None,  # noqa: A002
                     data_format: str | None = None, dilations: Any = None) -> ops.Tensor:  # fmt: skip
    """TF1's depthwise convolution; `rate` (or `dilations`) dilates the filter (then strides must be 1).

    Raises:
      ValueError: rate > 1 together with strides > 1 (TF's rule).
    """
    rate = dilations if rate is None else rate
    rates = [1, 1] if rate is None else ([rate, rate] if isinstance(rate, int) else [int(r) for r in rate])
    fmt = data_format or "NHWC"
    s = four(strides, fmt, "strides")
    if max(rates) > 1 and max(s) > 1:
        raise ValueError(f"strides > 1 not supported in conjunction with rate > 1 (strides {list(s)}, rate {rates})")
    with ops.name_scope(name, "depthwise") as scope:
        return depthwise_conv2d_native(input, filter, s, padding, fmt, rates, name=scope)


max_pool2d = max_pool
avg_pool2d = avg_pool

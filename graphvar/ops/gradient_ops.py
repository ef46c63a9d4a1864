"""Small ops that gradient rules build: run-time shapes, broadcasting, selection, sums.

Gradients of broadcasting ops need the inputs' shapes at run time when a dimension (the
batch) is unknown while the graph is built; these ops compute with those shapes as tensors
instead of special-casing each rule. Each is also TF public API (tf.add_n, tf.tile, ...).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from graphvar import dtypes
from graphvar.framework import ops
from graphvar.framework.gradient_registry import NotDifferentiable
from graphvar.framework.op_registry import register_op
from graphvar.framework.tensor_shape import TensorShape, unknown_shape
from graphvar.ops._shapes import broadcast_shapes, check_same_dtype, same_as_input


def shape_value(t: ops.Tensor) -> list[int | None] | None:
    """The value of a 1-D shape tensor as far as it is known when building (Const or Shape of a known shape)."""
    if t.op.type == "Const":
        return [int(d) for d in np.asarray(t.op.get_attr("value")).reshape(-1)]
    if t.op.type == "Shape":
        src = t.op._inputs[0].shape
        return src.as_list() if src.ndims is not None else None
    n = t.shape.as_list()[0] if t.shape.ndims == 1 else None
    return None if n is None else [None] * n


def _check_shape_tensor(op: Any, t: ops.Tensor, what: str) -> None:
    if not t.dtype.is_integer:
        raise TypeError(f"{what} of {op.type} must be int32 or int64, got {t.dtype.name}")
    if t.shape.ndims not in (None, 1):
        raise ValueError(f"{what} must be a 1-D tensor, got shape {t.shape}")


def _bga_spec(op: Any) -> list:
    s0, s1 = op._inputs
    for t in (s0, s1):
        _check_shape_tensor(op, t, "shape")
    return [(s0.dtype, TensorShape([None])), (s0.dtype, TensorShape([None]))]


def _broadcast_to_spec(op: Any) -> list:
    x, shape = op._inputs
    _check_shape_tensor(op, shape, "shape")
    dims = shape_value(shape)
    if dims is None:
        return [(x.dtype, unknown_shape())]
    target = TensorShape(dims)
    broadcast_shapes(x.shape, target)  # raises when incompatible
    return [(x.dtype, target)]


def _tile_spec(op: Any) -> list:
    x, multiples = op._inputs
    _check_shape_tensor(op, multiples, "multiples")
    m = shape_value(multiples) if multiples.op.type == "Const" else None
    if x.shape.ndims is None:
        return [(x.dtype, unknown_shape())]
    if m is None:
        return [(x.dtype, unknown_shape(x.shape.ndims))]
    if len(m) != x.shape.ndims:
        raise ValueError(f"Shape must be rank {x.shape.ndims} (multiples), but is rank {len(m)}")
    return [(x.dtype, TensorShape([None if d is None else d * k for d, k in zip(x.shape.as_list(), m)]))]


def _select_spec(op: Any) -> list:
    cond, x, y = op._inputs
    if cond.dtype != dtypes.bool:
        raise TypeError(f"condition of {op.type} must be bool, got {cond.dtype.name}")
    check_same_dtype(op, x, y)
    if op.type == "SelectV2":
        return [(x.dtype, broadcast_shapes(broadcast_shapes(cond.shape, x.shape), y.shape))]
    if not x.shape.is_compatible_with(y.shape):
        raise ValueError(f"Shapes must be equal: x {x.shape} and y {y.shape}")
    shape = x.shape.merge_with(y.shape)
    vector = cond.shape.ndims == 1 and (shape.ndims or 0) > 1
    if vector and not TensorShape(shape.as_list()[:1]).is_compatible_with(cond.shape):
        raise ValueError(f"condition shape {cond.shape} must be x's {shape} or a vector of its first dimension")
    if cond.shape.ndims not in (None, 0) and not vector:
        if not cond.shape.is_compatible_with(shape):
            raise ValueError(f"condition shape {cond.shape} must be x's {shape} or a vector of its first dimension")
    return [(x.dtype, shape)]


def _add_n_spec(op: Any) -> list:
    xs = op._inputs
    shape = xs[0].shape
    for t in xs[1:]:
        check_same_dtype(op, xs[0], t)
        if not shape.is_compatible_with(t.shape):
            raise ValueError(f"Inputs of AddN must have one shape, got {xs[0].shape} and {t.shape}")
        shape = shape.merge_with(t.shape)
    return [(xs[0].dtype, shape)]


def _like_first(op: Any) -> list:
    return [(op._inputs[1].dtype, op._inputs[0].shape)]


def _slice_grad_spec(op: Any) -> list:
    shape, dy = op._inputs
    dims = shape_value(shape)
    return [(dy.dtype, TensorShape(dims) if dims is not None else unknown_shape())]


def _segment_sum_spec(op: Any) -> list:
    data, ids, num = op._inputs
    if not ids.dtype.is_integer:
        raise TypeError(f"segment_ids must be int32 or int64, got {ids.dtype.name}")
    n = shape_value_scalar(num)
    if data.shape.ndims is None or ids.shape.ndims is None:
        return [(data.dtype, unknown_shape())]
    return [(data.dtype, TensorShape([n]).concatenate(data.shape[ids.shape.ndims :]))]


def shape_value_scalar(t: ops.Tensor) -> int | None:
    return int(np.asarray(t.op.get_attr("value"))) if t.op.type == "Const" else None


register_op("BroadcastGradientArgs", _bga_spec)
register_op("BroadcastTo", _broadcast_to_spec)
register_op("Tile", _tile_spec)
register_op("Select", _select_spec)
register_op("SelectV2", _select_spec)
register_op("AddN", _add_n_spec)
register_op("StopGradient", same_as_input, identity=True)
register_op("ReluGrad", same_as_input)  # (gradients, features)
register_op("SigmoidGrad", same_as_input)  # (y, dy)
register_op("TanhGrad", same_as_input)  # (y, dy)
register_op("StridedSliceGrad", _slice_grad_spec)  # (shape of the input, dy); attr key as StridedSlice
register_op("UnsortedSegmentSum", _segment_sum_spec)
for _t in ("BroadcastGradientArgs", "StopGradient", "Shape", "Size", "Rank", "ZerosLike", "OnesLike",
           "Less", "LessEqual", "Greater", "GreaterEqual", "Equal", "NotEqual", "LogicalAnd", "LogicalOr",
           "LogicalNot", "ArgMax", "ArgMin", "FloorDiv", "IsVariableInitialized", "Sign"):  # fmt: skip
    NotDifferentiable(_t)


def _int_tensor(value: Any, name: str) -> ops.Tensor:
    if isinstance(value, ops.Tensor):
        return value
    if isinstance(value, (list, tuple)) and any(isinstance(v, ops.Tensor) for v in value):
        from graphvar.ops import shape_ops

        parts = [v if isinstance(v, ops.Tensor) else ops.convert_to_tensor(int(v), dtype=dtypes.int32) for v in value]
        return shape_ops.stack(parts, name=name)
    return ops.convert_to_tensor(np.asarray(value, dtype=np.int32).reshape(-1), name=name)


def _create(op_type: str, inputs: list, name: str, attrs: dict | None = None) -> ops.Operation:
    return inputs[0].graph.create_op(op_type, inputs, attrs, name=name)


def broadcast_gradient_args(s0: Any, s1: Any, name: str | None = None) -> tuple[ops.Tensor, ops.Tensor]:
    """The axes to sum each input's gradient over when the two shapes were broadcast together."""
    a, b = _int_tensor(s0, "s0"), _int_tensor(s1, "s1")
    op = _create("BroadcastGradientArgs", [a, b], name or "BroadcastGradientArgs")
    return op.outputs[0], op.outputs[1]


def broadcast_to(input: Any, shape: Any, name: str | None = None) -> ops.Tensor:  # noqa: A002 - TF's name
    """`input` broadcast to `shape` (a list or a 1-D int tensor, e.g. tf.shape(y))."""
    x = ops.convert_to_tensor(input)
    with x.graph.as_default():
        s = _int_tensor(shape, "shape")
    return _create("BroadcastTo", [x, s], name or "BroadcastTo").outputs[0]


def tile(input: Any, multiples: Any, name: str | None = None) -> ops.Tensor:  # noqa: A002
    """`input` repeated `multiples[i]` times along dimension i."""
    x = ops.convert_to_tensor(input)
    with x.graph.as_default():
        m = _int_tensor(multiples, "multiples")
    return _create("Tile", [x, m], name or "Tile").outputs[0]


def select(condition: Any, x: Any, y: Any, name: str | None = None) -> ops.Tensor:
    """TF1's Select: x where condition, else y (condition: x's shape, a scalar, or a vector of its first dim)."""
    c = ops.convert_to_tensor(condition)
    xt = ops.convert_to_tensor(x)
    yt = ops.convert_to_tensor(y, dtype_hint=xt.dtype)
    return _create("Select", [c, xt, yt], name or "Select").outputs[0]


def select_v2(condition: Any, x: Any, y: Any, name: str | None = None) -> ops.Tensor:
    """x where condition, else y, all three broadcast together."""
    c = ops.convert_to_tensor(condition)
    xt = ops.convert_to_tensor(x)
    yt = ops.convert_to_tensor(y, dtype_hint=xt.dtype)
    return _create("SelectV2", [c, xt, yt], name or "SelectV2").outputs[0]


def add_n(inputs: Any, name: str | None = None) -> ops.Tensor:
    """The elementwise sum of a list of tensors of one shape and dtype.

    Raises:
      ValueError: `inputs` is empty or the shapes differ.
    """
    if not isinstance(inputs, (list, tuple)) or not inputs:
        raise ValueError("inputs must be a non-empty list of tensors of one shape and dtype")
    ts = [ops.convert_to_tensor(t) for t in inputs]
    if len(ts) == 1:
        from graphvar.ops import array_ops

        return array_ops.identity(ts[0], name=name)
    return _create("AddN", ts, name or "AddN").outputs[0]


def stop_gradient(input: Any, name: str | None = None) -> ops.Tensor:  # noqa: A002
    """`input` unchanged, but tf.gradients treats it as a constant."""
    x = ops.convert_to_tensor(input)
    return _create("StopGradient", [x], name or "StopGradient").outputs[0]


def unsorted_segment_sum(data: Any, segment_ids: Any, num_segments: Any, name: str | None = None) -> ops.Tensor:
    """out[i] = sum of data[j] over the j with segment_ids[j] == i (ids outside [0, num_segments) dropped)."""
    d = ops.convert_to_tensor(data)
    with d.graph.as_default():
        ids = ops.convert_to_tensor(segment_ids)
        n = ops.convert_to_tensor(num_segments, dtype_hint=ids.dtype)
    return _create("UnsortedSegmentSum", [d, ids, n], name or "UnsortedSegmentSum").outputs[0]

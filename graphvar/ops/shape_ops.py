"""Shape-changing ops: shape, size, rank, transpose, concat, stack, expand_dims, squeeze, argmax."""

from __future__ import annotations

from typing import Any

from graphvar import dtypes
from graphvar.framework import ops
from graphvar.framework.op_registry import register_op
from graphvar.framework.tensor_shape import TensorShape, unknown_shape


def _axis(axis: int, rank: int, what: str) -> int:
    if not -rank <= axis < rank:
        raise ValueError(f"{what}: axis {axis} is out of range for rank {rank}")
    return axis % rank


def _transpose_spec(op: Any) -> list:
    x, perm = op._inputs[0], op._attrs["perm"]
    if x.shape.ndims is None:
        return [(x.dtype, unknown_shape() if perm is None else unknown_shape(len(perm)))]
    dims = x.shape.as_list()
    perm = perm if perm is not None else list(range(len(dims)))[::-1]
    if sorted(perm) != list(range(len(dims))):
        raise ValueError(f"perm {list(perm)} is not a permutation of the {len(dims)} dimensions")
    op._attrs["perm"] = tuple(perm)
    return [(x.dtype, TensorShape([dims[p] for p in perm]))]


def _concat_spec(op: Any) -> list:
    xs, axis = op._inputs, op._attrs["axis"]
    for t in xs[1:]:
        if t.dtype != xs[0].dtype:
            raise TypeError(f"concat: all inputs must have dtype {xs[0].dtype.name}, got {t.dtype.name}")
    if any(t.shape.ndims is None for t in xs):
        return [(xs[0].dtype, unknown_shape())]
    rank = xs[0].shape.ndims
    if any(t.shape.ndims != rank for t in xs) or rank == 0:
        raise ValueError(f"Shapes {[str(t.shape) for t in xs]} must have equal rank >= 1")
    a = op._attrs["axis"] = _axis(axis, rank, "concat")
    out = xs[0].shape.as_list()
    for t in xs[1:]:
        for i, d in enumerate(t.shape.as_list()):
            if i == a:
                out[i] = None if out[i] is None or d is None else out[i] + d
            elif out[i] is not None and d is not None and out[i] != d:
                raise ValueError(f"Dimension {i} in both shapes must be equal, but are {out[i]} and {d}")
    return [(xs[0].dtype, TensorShape(out))]


def _stack_spec(op: Any) -> list:
    xs = op._inputs
    shape = xs[0].shape
    for t in xs[1:]:
        if t.dtype != xs[0].dtype or not t.shape.is_compatible_with(shape):
            raise ValueError(f"stack: inputs must have one dtype and shape, got {xs[0].shape}/{t.shape}")
        shape = shape.merge_with(t.shape)
    if shape.ndims is None:
        return [(xs[0].dtype, unknown_shape())]
    dims = shape.as_list()
    a = op._attrs["axis"] = _axis(op._attrs["axis"], len(dims) + 1, "stack")
    return [(xs[0].dtype, TensorShape(dims[:a] + [len(xs)] + dims[a:]))]


def _expand_spec(op: Any) -> list:
    x = op._inputs[0]
    if x.shape.ndims is None:
        return [(x.dtype, unknown_shape())]
    dims = x.shape.as_list()
    a = op._attrs["axis"] = _axis(op._attrs["axis"], len(dims) + 1, "expand_dims")
    return [(x.dtype, TensorShape(dims[:a] + [1] + dims[a:]))]


def _squeeze_spec(op: Any) -> list:
    x, axis = op._inputs[0], op._attrs["axis"]
    if x.shape.ndims is None:
        return [(x.dtype, unknown_shape())]
    dims = x.shape.as_list()
    if axis is None:
        if None in dims:
            return [(x.dtype, unknown_shape())]
        axes = tuple(i for i, d in enumerate(dims) if d == 1)
    else:
        axes = tuple(_axis(a, len(dims), "squeeze") for a in axis)
        for a in axes:
            if dims[a] not in (1, None):
                raise ValueError(f"Can not squeeze dim[{a}], expected a dimension of 1, got {dims[a]}")
    op._attrs["axis"] = axes
    return [(x.dtype, TensorShape([d for i, d in enumerate(dims) if i not in axes]))]


def _arg_spec(op: Any) -> list:
    x = op._inputs[0]
    if x.shape.ndims is None:
        return [(op._attrs["output_type"], unknown_shape())]
    dims = x.shape.as_list()
    a = op._attrs["axis"] = _axis(op._attrs["axis"], len(dims), op.type)
    return [(op._attrs["output_type"], TensorShape(dims[:a] + dims[a + 1 :]))]


register_op("Shape", lambda op: [(op._attrs["out_type"], TensorShape([op._inputs[0].shape.ndims]))])
register_op("Size", lambda op: [(op._attrs["out_type"], TensorShape([]))])
register_op("Rank", lambda op: [(dtypes.int32, TensorShape([]))])
register_op("Transpose", _transpose_spec, aliases=True)  # may return a view of its input
register_op("ConcatV2", _concat_spec)
register_op("Pack", _stack_spec)
register_op("ExpandDims", _expand_spec, aliases=True)
register_op("Squeeze", _squeeze_spec, aliases=True)
register_op("ArgMax", _arg_spec)
register_op("ArgMin", _arg_spec)


def _unary(op_type: str, x: Any, name: str | None, **attrs: Any) -> ops.Tensor:
    t = ops.convert_to_tensor(x)
    return t.graph.create_op(op_type, [t], attrs, name=name or op_type).outputs[0]


def shape(input: Any, name: str | None = None, out_type: Any = dtypes.int32) -> ops.Tensor:
    """The run-time shape of `input` as a 1-D integer tensor."""
    return _unary("Shape", input, name, out_type=dtypes.as_dtype(out_type))


def size(input: Any, name: str | None = None, out_type: Any = dtypes.int32) -> ops.Tensor:
    return _unary("Size", input, name, out_type=dtypes.as_dtype(out_type))


def rank(input: Any, name: str | None = None) -> ops.Tensor:
    return _unary("Rank", input, name)


def transpose(a: Any, perm: Any = None, name: str = "transpose", conjugate: bool = False) -> ops.Tensor:
    """Permutes the dimensions (default: reverses them)."""
    return _unary("Transpose", a, name, perm=None if perm is None else [int(p) for p in perm])


def expand_dims(input: Any, axis: int | None = None, name: str | None = None, dim: int | None = None) -> ops.Tensor:
    return _unary("ExpandDims", input, name, axis=int(axis if axis is not None else dim))


def squeeze(input: Any, axis: Any = None, name: str | None = None, squeeze_dims: Any = None) -> ops.Tensor:
    axis = axis if axis is not None else squeeze_dims
    axis = None if axis is None else [int(a) for a in (axis if isinstance(axis, (list, tuple)) else [axis])]
    return _unary("Squeeze", input, name, axis=axis)


def argmax(input: Any, axis: Any = None, name: str | None = None, dimension: Any = None,
           output_type: Any = dtypes.int64) -> ops.Tensor:  # fmt: skip
    """Index of the largest value along `axis` (default 0)."""
    axis = axis if axis is not None else (dimension if dimension is not None else 0)
    return _unary("ArgMax", input, name, axis=int(axis), output_type=dtypes.as_dtype(output_type))


def argmin(input: Any, axis: Any = None, name: str | None = None, dimension: Any = None,
           output_type: Any = dtypes.int64) -> ops.Tensor:  # fmt: skip
    axis = axis if axis is not None else (dimension if dimension is not None else 0)
    return _unary("ArgMin", input, name, axis=int(axis), output_type=dtypes.as_dtype(output_type))


def _many(op_type: str, values: Any, axis: int, name: str) -> ops.Tensor:
    tensors = [ops.convert_to_tensor(v) for v in values]
    if not tensors:
        raise ValueError(f"{name}: needs at least one tensor")
    tensors = [tensors[0]] + [ops.convert_to_tensor(v, dtype_hint=tensors[0].dtype) for v in values[1:]]
    return tensors[0].graph.create_op(op_type, tensors, {"axis": int(axis)}, name=name).outputs[0]


def concat(values: Any, axis: int, name: str = "concat") -> ops.Tensor:
    """Joins tensors along an existing axis."""
    return _many("ConcatV2", list(values), axis, name)


def stack(values: Any, axis: int = 0, name: str = "stack") -> ops.Tensor:
    """Joins tensors of one shape along a new axis."""
    return _many("Pack", list(values), axis, name)

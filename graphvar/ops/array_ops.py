"""Array ops: constants, fills, placeholders, identity, reshape, cast, slicing."""

from __future__ import annotations

from typing import Any

import numpy as np

from graphvar import dtypes
from graphvar.framework import ops
from graphvar.framework.op_registry import register_op
from graphvar.framework.tensor_shape import TensorShape, as_shape, unknown_shape
from graphvar.ops._shapes import same_as_input, static_shape_value

_ANY_FLOAT = {np.dtype(np.float64): np.float32}


def _attr_spec(op: Any) -> list:
    return [(op._attrs["dtype"], TensorShape(op._attrs["shape"]))]


def _cast_spec(op: Any) -> list:
    return [(op._attrs["DstT"], op._inputs[0].shape)]


def _reshape_spec(op: Any) -> list:
    x = op._inputs[0]
    if len(op._inputs) == 2:  # the shape is a tensor (e.g. tf.shape(y)): as much of it as is known now
        from graphvar.ops.gradient_ops import shape_value

        s = op._inputs[1]
        if not s.dtype.is_integer or s.shape.ndims not in (None, 1):
            raise TypeError(f"shape must be a 1-D int32 or int64 tensor, got {s.dtype.name} of shape {s.shape}")
        dims = shape_value(s)
        if dims is None:
            return [(x.dtype, unknown_shape())]
        if None in dims or -1 in dims:
            return [(x.dtype, TensorShape([None if d is None or d == -1 else d for d in dims]))]
        op._attrs["shape"] = tuple(dims)
        return _reshape_spec_static(op, x)
    return _reshape_spec_static(op, x)


def _reshape_spec_static(op: Any, x: Any) -> list:
    shape = list(op._attrs["shape"])
    n = x.shape.num_elements()
    if shape.count(-1) > 1:
        raise ValueError(f"Only one dimension can be -1 in the new shape, got {shape}")
    if -1 in shape:
        known = int(np.prod([d for d in shape if d != -1]))
        if n is None:
            return [(x.dtype, TensorShape([None if d == -1 else d for d in shape]))]
        if known == 0 or n % known:
            raise ValueError(f"Cannot reshape a tensor with {n} elements to shape {shape}")
        shape[shape.index(-1)] = n // known
    elif n is not None and n != int(np.prod(shape)):
        raise ValueError(f"Cannot reshape a tensor with {n} elements to shape {shape} ({int(np.prod(shape))} elements)")
    return [(x.dtype, TensorShape(shape))]


def _getitem_spec(op: Any) -> list:
    x = op._inputs[0]
    full = x.shape.as_tuple()
    if full is None:
        return [(x.dtype, unknown_shape())]
    try:
        view = np.broadcast_to(np.zeros((), np.bool_), full)[op._attrs["key"]]
    except IndexError as e:
        raise ValueError(f"Slice {op._attrs['key']!r} does not fit shape {list(full)}: {e}") from None
    return [(x.dtype, TensorShape(view.shape))]


def _placeholder_spec(op: Any) -> list:
    return [(op._attrs["dtype"], op._attrs["shape"])]


register_op("Const", lambda op: [(op._attrs["dtype"], TensorShape(op._attrs["value"].shape))], constant=True)
register_op("Fill", lambda op: [(op._attrs["dtype"], TensorShape(op._attrs["shape"]))], fills=True)
register_op("ZerosLike", same_as_input)
register_op("OnesLike", same_as_input)
register_op("Placeholder", _placeholder_spec)
register_op("Identity", same_as_input, aliases=True, identity=True)
register_op("Reshape", _reshape_spec, aliases=True)
register_op("Cast", _cast_spec)
register_op("StridedSlice", _getitem_spec, aliases=True)


def as_bytes_array(arr: np.ndarray) -> np.ndarray:
    """An object array of bytes (str encoded as UTF-8), as TF holds string tensors (fetches give b'...')."""
    items = np.array(arr.tolist(), dtype=object) if arr.dtype.kind == "O" else arr.astype(object)
    flat = items.reshape(-1)
    for i, v in enumerate(flat):
        if isinstance(v, str):
            flat[i] = v.encode("utf-8")
    return items


def _to_numpy(value: Any, dtype: dtypes.DType | None) -> np.ndarray:
    """Python/NumPy value -> array with TF's default dtypes (float32, int32) or the requested one."""
    if isinstance(value, (ops.Tensor, ops.Operation)):
        raise TypeError(f"Expected a Python or NumPy value, got {value!r}")
    is_numpy = isinstance(value, (np.ndarray, np.generic))
    try:
        arr = np.asarray(value)
    except ValueError as e:
        raise ValueError(f"Cannot convert {value!r} to a tensor: {e}") from None
    if arr.dtype.kind == "O" and any(type(v) is int for v in arr.flat):  # beyond int64 and uint64, as TF
        raise TypeError(f"Failed to convert elements of {value!r} to Tensor: integer out of range for int64 / uint64")
    if arr.dtype.kind in "USO":
        if dtype is not None and dtype != dtypes.string:
            raise TypeError(f"Expected {dtype.name}, got {value!r} of type {type(value).__name__!r} instead.")
        return as_bytes_array(arr)
    if dtype is None:
        if is_numpy:
            return np.array(arr, copy=True)  # the caller may change (or view) its array later: TF copies too
        if arr.dtype.kind == "f":
            return arr.astype(np.float32)
        if arr.dtype.kind in "iu":
            info = np.iinfo(np.int32)
            fits = arr.size == 0 or (arr.min() >= info.min and arr.max() <= info.max)
            if arr.dtype == np.uint64 and not fits and arr.max() > np.iinfo(np.int64).max:
                return arr  # a Python int in [2**63, 2**64): uint64, as TF infers
            return arr.astype(np.int32 if fits else np.int64)
        return arr
    if dtype == dtypes.string:
        raise TypeError(f"Expected string, got {value!r} of type {type(value).__name__!r} instead.")
    target, kind = dtype.np, dtypes.kind(arr.dtype)  # bfloat16 arrays count as floats
    if target.kind in "iub" and kind in "fc" and not np.all(np.mod(arr, 1) == 0):
        raise TypeError(f"Expected {dtype.name}, got {value!r} of type {type(value).__name__!r} instead.")
    if target.kind in "iu" and kind in "iuf" and arr.size:
        info = np.iinfo(target)
        too_big = arr.max() >= float(info.max) + 1 if kind == "f" else arr.max() > info.max  # 2**63 as float
        if arr.min() < info.min or too_big:  # floats too: astype would wrap 1e20 to -2**31
            raise TypeError(f"Value {value!r} is out of range for dtype {dtype.name}")
    return arr.astype(target)


def constant(
    value: Any, dtype: Any = None, shape: Any = None, name: str = "Const", verify_shape: bool = False
) -> ops.Tensor:
    """A tensor holding a fixed value; a list shorter than `shape` is padded with its last element (TF1).

    Raises:
      TypeError: the value does not fit the dtype.
      ValueError: the value does not fit the shape.
    """
    dtype = dtypes.as_dtype(dtype) if dtype is not None else None
    arr = _to_numpy(value, dtype)
    if shape is not None:
        target = static_shape_value(shape, f"constant {name!r}")
        n = int(np.prod(target))
        if verify_shape and arr.shape != target:
            raise TypeError(f"Expected Tensor's shape: {target}, got {arr.shape}.")
        if arr.size == 1:
            arr = np.full(target, arr.reshape(()), dtype=arr.dtype)
        elif arr.size > n:
            raise TypeError(f"Too many elements provided. Needed at most {n}, but received {arr.size}")
        elif arr.size < n:
            if arr.size == 0:
                raise ValueError(f"constant {name!r}: cannot fill shape {list(target)} from an empty value")
            flat = arr.reshape(-1)
            arr = np.concatenate([flat, np.full(n - arr.size, flat[-1], dtype=arr.dtype)]).reshape(target)
        else:
            arr = arr.reshape(target)
    arr.setflags(write=False)
    dt = dtypes.string if arr.dtype == object else dtypes.as_dtype(arr.dtype)
    return ops.get_default_graph().create_op("Const", [], {"value": arr, "dtype": dt}, name=name).outputs[0]


def _fill(shape: Any, value: Any, dtype: Any, name: str) -> ops.Tensor:
    dtype = dtypes.as_dtype(dtype)
    dims = static_shape_value(shape, name)
    attrs = {"shape": dims, "dtype": dtype, "value": dtype.np.type(value)}
    return ops.get_default_graph().create_op("Fill", [], attrs, name=name).outputs[0]


def zeros(shape: Any, dtype: Any = dtypes.float32, name: str | None = None) -> ops.Tensor:
    """A tensor of zeros; as a Variable's initial value it is written straight into the variable."""
    return _fill(shape, 0, dtype, name or "zeros")


def ones(shape: Any, dtype: Any = dtypes.float32, name: str | None = None) -> ops.Tensor:
    return _fill(shape, 1, dtype, name or "ones")


def fill(dims: Any, value: Any, name: str | None = None) -> ops.Tensor:
    """A tensor of shape `dims` filled with the scalar `value` (its dtype is the value's)."""
    if isinstance(value, ops.Tensor):
        if value.op.type != "Const":
            raise ValueError(f"fill: graphvar needs a value known when the graph is built, got {value.name!r}")
        dtype, value = value.dtype, value.op.get_attr("value")
    else:
        arr = _to_numpy(value, None)
        dtype, value = dtypes.as_dtype(arr.dtype), arr
    if np.ndim(value) != 0:
        raise ValueError(f"fill: value must be a scalar, got shape {list(np.shape(value))}")
    return _fill(dims, value.item() if hasattr(value, "item") else value, dtype, name or "Fill")


def zeros_like(tensor: Any, dtype: Any = None, name: str | None = None, optimize: bool = True) -> ops.Tensor:
    t = ops.convert_to_tensor(tensor)
    if dtype is not None and dtypes.as_dtype(dtype) != t.dtype:
        return cast(zeros_like(t), dtype, name=name)
    return ops.get_default_graph().create_op("ZerosLike", [t], name=name or "zeros_like").outputs[0]


def ones_like(tensor: Any, dtype: Any = None, name: str | None = None, optimize: bool = True) -> ops.Tensor:
    t = ops.convert_to_tensor(tensor)
    if dtype is not None and dtypes.as_dtype(dtype) != t.dtype:
        return cast(ones_like(t), dtype, name=name)
    return ops.get_default_graph().create_op("OnesLike", [t], name=name or "ones_like").outputs[0]


def placeholder(dtype: Any, shape: Any = None, name: str | None = None) -> ops.Tensor:
    """A tensor whose value must be fed in `Session.run(..., feed_dict=...)`."""
    attrs = {"dtype": dtypes.as_dtype(dtype), "shape": as_shape(shape) if shape is not None else unknown_shape()}
    return ops.get_default_graph().create_op("Placeholder", [], attrs, name=name or "Placeholder").outputs[0]


def identity(input: Any, name: str | None = None) -> ops.Tensor:  # noqa: A002 - TF's argument name
    t = ops.convert_to_tensor(input)
    return t.graph.create_op("Identity", [t], name=name or "Identity").outputs[0]


def reshape(tensor: Any, shape: Any, name: str | None = None) -> ops.Tensor:
    """`tensor` with a new shape: a list of ints (one may be -1), or an int tensor such as tf.shape(y).

    Raises:
      ValueError: the element counts differ (when known at build time, else InvalidArgumentError at run time).
    """
    t = ops.convert_to_tensor(tensor)
    if isinstance(shape, ops.Tensor) and shape.op.type == "Const":
        shape = shape.op.get_attr("value").tolist()
    if isinstance(shape, ops.Tensor) or (
        isinstance(shape, (list, tuple)) and any(isinstance(d, ops.Tensor) for d in shape)
    ):
        from graphvar.ops.gradient_ops import _int_tensor

        with t.graph.as_default():
            s = _int_tensor(shape, "Reshape/shape")
        return t.graph.create_op("Reshape", [t, s], {"shape": None}, name=name or "Reshape").outputs[0]
    dims = [int(d) for d in (shape.as_list() if isinstance(shape, TensorShape) else shape)]
    return t.graph.create_op("Reshape", [t], {"shape": tuple(dims)}, name=name or "Reshape").outputs[0]


def cast(x: Any, dtype: Any, name: str | None = None) -> ops.Tensor:
    t = ops.convert_to_tensor(x)
    dst = dtypes.as_dtype(dtype)
    if t.dtype == dst:
        return t
    return t.graph.create_op("Cast", [t], {"DstT": dst}, name=name or "Cast").outputs[0]


def to_float(x: Any, name: str = "ToFloat") -> ops.Tensor:
    return cast(x, dtypes.float32, name=name)


def _getitem(tensor: Any, key: Any) -> ops.Tensor:
    t = ops.convert_to_tensor(tensor)
    if isinstance(key, list) or any(
        isinstance(k, (ops.Tensor, list, np.ndarray)) for k in (key if isinstance(key, tuple) else (key,))
    ):
        raise TypeError(
            f"Only integers, slices (`:`), ellipsis (`...`) and tf.newaxis (`None`) are valid indices, got {key!r}"
        )
    return t.graph.create_op("StridedSlice", [t], {"key": key}, name="strided_slice").outputs[0]


ops._override_operator("__getitem__", _getitem)

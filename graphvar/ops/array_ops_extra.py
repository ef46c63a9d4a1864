"""Array ops users reach for: gather, gather_nd, one_hot, where, pad, split, unstack, reverse,
range, linspace, cumsum. Kernels: ``backends/nn_kernels.py``; gradients: ``ops/extra_grad.py``."""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from graphvar import dtypes
from graphvar.framework import ops
from graphvar.framework.op_registry import register_op
from graphvar.framework.tensor_shape import TensorShape, unknown_shape
from graphvar.ops import array_ops, gradient_ops


def _axis(axis: int, rank: int) -> int:
    if not -rank <= axis < rank:
        raise ValueError(f"axis {axis} is out of range for a tensor of rank {rank}")
    return axis % rank


def _check_int(op: Any, t: Any, arg: str) -> None:
    if t.dtype not in (dtypes.int32, dtypes.int64):
        raise TypeError(f"{arg} of {op.name!r} ({op.type}) must be int32 or int64, got {t.dtype.name}")


def _gather_spec(op: Any) -> list:
    params, indices = op._inputs
    _check_int(op, indices, "indices")
    if params.shape.ndims is None or indices.shape.ndims is None:
        return [(params.dtype, unknown_shape())]
    if params.shape.ndims == 0:
        raise ValueError("params must be at least 1 dimensional")
    dims = params.shape.as_list()
    a = op._attrs["axis"] = _axis(op._attrs["axis"], len(dims))
    return [(params.dtype, TensorShape(dims[:a] + indices.shape.as_list() + dims[a + 1 :]))]


def _gather_nd_spec(op: Any) -> list:
    params, indices = op._inputs
    _check_int(op, indices, "indices")
    if params.shape.ndims is None or indices.shape.ndims is None or indices.shape.as_list()[-1:] == [None]:
        return [(params.dtype, unknown_shape())]
    depth = indices.shape.as_list()[-1]
    if depth > params.shape.ndims:
        raise ValueError(f"indices.shape[-1] must be <= params.rank, but saw indices shape {indices.shape} "
                         f"and params shape {params.shape}")  # fmt: skip
    return [(params.dtype, TensorShape(indices.shape.as_list()[:-1] + params.shape.as_list()[depth:]))]


def _one_hot_spec(op: Any) -> list:
    indices, a = op._inputs[0], op._attrs
    if indices.dtype not in (dtypes.uint8, dtypes.int32, dtypes.int64):
        raise TypeError(f"indices of {op.name!r} must be uint8, int32 or int64, got {indices.dtype.name}")
    if indices.shape.ndims is None:
        return [(a["dtype"], unknown_shape())]
    dims = indices.shape.as_list()
    axis = a["axis"]
    if not -1 <= axis <= len(dims):
        raise ValueError(f"Expected axis to be -1 or between [0, {len(dims)}).  But received: {axis}")
    pos = len(dims) if axis == -1 else axis
    return [(a["dtype"], TensorShape(dims[:pos] + [a["depth"]] + dims[pos:]))]


def _where_spec(op: Any) -> list:
    cond = op._inputs[0]
    return [(dtypes.int64, TensorShape([None, cond.shape.ndims]))]


def _pad_spec(op: Any) -> list:
    x, paddings = op._inputs[0], op._attrs["paddings"]
    if x.shape.ndims is None:
        return [(x.dtype, unknown_shape(len(paddings)))]
    if len(paddings) != x.shape.ndims or any(len(p) != 2 or min(p) < 0 for p in paddings):
        raise ValueError(f"paddings must be a [{x.shape.ndims}, 2] list of non-negative ints, got {list(paddings)}")
    if op._attrs.get("mode") in ("REFLECT", "SYMMETRIC"):
        extra = 0 if op._attrs["mode"] == "SYMMETRIC" else 1
        for d, (lo, hi) in zip(x.shape.as_list(), paddings):
            if d is not None and max(lo, hi) > d - extra:
                raise ValueError(
                    f"paddings {list(paddings)} are too large for mode {op._attrs['mode']} and shape {x.shape}"
                )
    return [
        (x.dtype, TensorShape([None if d is None else d + lo + hi for d, (lo, hi) in zip(x.shape.as_list(), paddings)]))
    ]


def _split_spec(op: Any) -> list:
    x, a = op._inputs[0], op._attrs
    sizes = a.get("size_splits")
    n = len(sizes) if sizes is not None else a["num_split"]
    if x.shape.ndims is None:
        return [(x.dtype, unknown_shape())] * n
    dims = x.shape.as_list()
    axis = a["axis"] = _axis(a["axis"], len(dims))
    total = dims[axis]
    if sizes is None:
        if total is not None and total % n:
            raise ValueError(f"Dimension size must be evenly divisible by {n} but is {total}")
        sizes = [None if total is None else total // n] * n
    else:
        sizes = list(sizes)
        if sizes.count(-1) > 1:
            raise ValueError(f"Only one size_splits entry can be -1, got {sizes}")
        if total is not None:
            if -1 in sizes:
                sizes[sizes.index(-1)] = total - (sum(sizes) + 1)
            if sum(sizes) != total or min(sizes) < 0:
                raise ValueError(f"Determined shape must either match input shape along split_dim exactly if fully "
                                 f"specified, or be less than the size of the input along split_dim if not fully "
                                 f"specified. Got: {total} and {list(a['size_splits'])}")  # fmt: skip
        sizes = [None if s == -1 else s for s in sizes]
    return [(x.dtype, TensorShape(dims[:axis] + [s] + dims[axis + 1 :])) for s in sizes]


def _unpack_spec(op: Any) -> list:
    x, a = op._inputs[0], op._attrs
    dims = x.shape.as_list()
    axis = a["axis"] = _axis(a["axis"], len(dims))
    if dims[axis] is not None and dims[axis] != a["num"]:
        raise ValueError(f"Dimension {axis} has size {dims[axis]}, expected num={a['num']}")
    return [(x.dtype, TensorShape(dims[:axis] + dims[axis + 1 :]))] * a["num"]


def _reverse_spec(op: Any) -> list:
    x = op._inputs[0]
    if x.shape.ndims is not None:
        op._attrs["axis"] = tuple(sorted({_axis(a, x.shape.ndims) for a in op._attrs["axis"]}))
    return [(x.dtype, x.shape)]


def _cumsum_spec(op: Any) -> list:
    x = op._inputs[0]
    if x.shape.ndims is not None:
        op._attrs["axis"] = _axis(op._attrs["axis"], max(x.shape.ndims, 1))
    return [(x.dtype, x.shape)]


def _range_spec(op: Any) -> list:
    start, limit, delta = op._attrs["range"]
    if delta == 0:
        raise ValueError("Requires delta != 0")
    if (delta > 0 and start > limit) or (delta < 0 and start < limit):
        raise ValueError(f"Requires start <= limit when delta > 0: {start}/{limit}" if delta > 0 else
                         f"Requires start >= limit when delta < 0: {start}/{limit}")  # fmt: skip
    return [(op._attrs["Tidx"], TensorShape([len(np.arange(start, limit, delta))]))]


def _linspace_spec(op: Any) -> list:
    num = op._attrs["range"][2]
    if num <= 0:
        raise ValueError(f"Requires num > 0: {num}")
    return [(op._attrs["T"], TensorShape([num]))]


register_op("GatherV2", _gather_spec)
register_op("GatherNd", _gather_nd_spec)
register_op("OneHot", _one_hot_spec)
register_op("Where", _where_spec)
register_op("Pad", _pad_spec)
register_op("PadV2", _pad_spec)
register_op("MirrorPad", _pad_spec)
register_op("Split", _split_spec)
register_op("SplitV", _split_spec)
register_op("Unpack", _unpack_spec)
register_op("ReverseV2", _reverse_spec)
register_op("Cumsum", _cumsum_spec)
register_op("Range", _range_spec)
register_op("LinSpace", _linspace_spec)


def _make(op_type: str, inputs: list, attrs: dict, name: str | None) -> ops.Operation:
    return inputs[0].graph.create_op(op_type, inputs, attrs, name=name or op_type)


def _int_list(value: Any, what: str) -> list[int]:
    if isinstance(value, ops.Tensor):
        if value.op.type != "Const":
            raise ValueError(f"{what}: graphvar needs a value known when the graph is built, got {value.name!r}")
        value = value.op.get_attr("value")
    return [int(v) for v in np.asarray(value).reshape(-1)]


def gather(params: Any, indices: Any, validate_indices: Any = None, name: str | None = None, axis: Any = 0,
           batch_dims: int = 0) -> ops.Tensor:  # fmt: skip
    """Slices of `params` along `axis` at `indices`: shape params.shape[:axis] + indices.shape + params.shape[axis+1:].

    Raises:
      InvalidArgumentError: at run time, an index outside [0, params.shape[axis]).
    Example:
      >>> tf.gather(tf.constant([[1, 2], [3, 4], [5, 6]]), [2, 0])   # [[5, 6], [1, 2]]
    """
    if batch_dims:
        raise NotImplementedError("tf.gather: batch_dims != 0 is not supported by graphvar")
    p = ops.convert_to_tensor(params)
    i = ops.convert_to_tensor(indices, dtype_hint=dtypes.int32)
    (axis,) = _int_list(axis, "gather axis")
    return _make("GatherV2", [p, i], {"axis": axis}, name or "GatherV2").outputs[0]


def gather_nd(params: Any, indices: Any, name: str | None = None, batch_dims: int = 0) -> ops.Tensor:
    """params[indices[..., 0], indices[..., 1], ...]: the last axis of indices indexes params' leading axes."""
    if batch_dims:
        raise NotImplementedError("tf.gather_nd: batch_dims != 0 is not supported by graphvar")
    p = ops.convert_to_tensor(params)
    i = ops.convert_to_tensor(indices, dtype_hint=dtypes.int32)
    return _make("GatherNd", [p, i], {}, name or "GatherNd").outputs[0]


def one_hot(indices: Any, depth: Any, on_value: Any = None, off_value: Any = None, axis: int | None = None,
            dtype: Any = None, name: str | None = None) -> ops.Tensor:  # fmt: skip
    """A tensor with `on_value` where the new `axis` equals indices and `off_value` elsewhere (default 1 / 0, float32).

    Indices outside [0, depth) give a row of `off_value`, as in TF.
    """
    i = ops.convert_to_tensor(indices, dtype_hint=dtypes.int32)
    values = [v.op.get_attr("value") if isinstance(v, ops.Tensor) else v for v in (on_value, off_value)]
    if dtype is None:
        given = [v for v in values if v is not None]  # TF: the dtype of on_value (else off_value), else float32
        dtype = dtypes.as_dtype(array_ops._to_numpy(given[0], None).dtype) if given else dtypes.float32
    dtype = dtypes.as_dtype(dtype)
    on = 1 if values[0] is None else np.asarray(values[0]).item()
    off = 0 if values[1] is None else np.asarray(values[1]).item()
    (d,) = _int_list(depth, "one_hot depth")
    attrs = {"depth": d, "on_value": on, "off_value": off, "axis": -1 if axis is None else int(axis), "dtype": dtype}
    return _make("OneHot", [i], attrs, name or "one_hot").outputs[0]


def where(condition: Any, x: Any = None, y: Any = None, name: str | None = None) -> ops.Tensor:
    """With x and y: x where condition else y (condition of x's shape, or a vector over x's first dimension).
    Without: the int64 coordinates [num_true, rank] of the true entries.

    Raises:
      ValueError: only one of x and y is given, or shapes do not match.
    """
    cond = ops.convert_to_tensor(condition)
    if x is None and y is None:
        return _make("Where", [cond], {}, name or "Where").outputs[0]
    if x is None or y is None:
        raise ValueError("x and y must both be non-None or both be None.")
    from graphvar.ops.math_ops import _convert_pair

    xt, yt = _convert_pair(x, y)
    return gradient_ops.select(cond, xt, yt, name=name or "Select")


def where_v2(condition: Any, x: Any = None, y: Any = None, name: str | None = None) -> ops.Tensor:
    """tf.where_v2: as where, but condition, x and y broadcast against each other."""
    if x is None and y is None:
        return where(condition, name=name)
    from graphvar.ops.math_ops import _convert_pair

    xt, yt = _convert_pair(x, y)
    return gradient_ops.select_v2(condition, xt, yt, name=name or "SelectV2")


def pad(
    tensor: Any, paddings: Any, mode: str = "CONSTANT", name: str | None = None, constant_values: Any = 0
) -> ops.Tensor:
    """Pads axis i with paddings[i][0] values before and paddings[i][1] after (CONSTANT, REFLECT or SYMMETRIC)."""
    t = ops.convert_to_tensor(tensor)
    flat = _int_list(paddings, "pad paddings")
    pairs = tuple((flat[i], flat[i + 1]) for i in builtins.range(0, len(flat), 2))
    mode = mode.upper()
    if mode not in ("CONSTANT", "REFLECT", "SYMMETRIC"):
        raise ValueError(f"Unknown padding mode: {mode}")
    if mode != "CONSTANT":
        return _make("MirrorPad", [t], {"paddings": pairs, "mode": mode}, name or "MirrorPad").outputs[0]
    value = constant_values.op.get_attr("value").item() if isinstance(constant_values, ops.Tensor) else constant_values
    op_type = "Pad" if value == 0 else "PadV2"
    return _make(op_type, [t], {"paddings": pairs, "constant_values": value}, name or op_type).outputs[0]


def split(value: Any, num_or_size_splits: Any, axis: int = 0, num: int | None = None, name: str = "split") -> list:
    """Splits along `axis` into num_or_size_splits equal parts, or parts of the given sizes (one may be -1)."""
    t = ops.convert_to_tensor(value)
    (axis,) = _int_list(axis, "split axis")
    if isinstance(num_or_size_splits, int) and not isinstance(num_or_size_splits, bool):
        return _make("Split", [t], {"axis": axis, "num_split": num_or_size_splits}, name).outputs
    sizes = tuple(_int_list(num_or_size_splits, "split size_splits"))
    return _make("SplitV", [t], {"axis": axis, "size_splits": sizes}, name).outputs


def unstack(value: Any, num: int | None = None, axis: int = 0, name: str = "unstack") -> list:
    """The slices of `value` along `axis`, as a list (`num` defaults to the static size of that axis).

    Raises:
      ValueError: num is not given and the axis size is unknown.
    """
    t = ops.convert_to_tensor(value)
    if t.shape.ndims is None:
        raise ValueError(f"unstack: the rank of {t.name!r} must be known")
    if num is None:
        num = t.shape.as_list()[_axis(axis, t.shape.ndims)]
        if num is None:
            raise ValueError(f"Cannot infer num from shape {t.shape}")
    return _make("Unpack", [t], {"axis": int(axis), "num": int(num)}, name).outputs


def reverse(tensor: Any, axis: Any, name: str | None = None) -> ops.Tensor:
    """`tensor` with the order of the given axes reversed (tf.reverse / reverse_v2)."""
    t = ops.convert_to_tensor(tensor)
    return _make("ReverseV2", [t], {"axis": tuple(_int_list(axis, "reverse axis"))}, name or "ReverseV2").outputs[0]


def cumsum(
    x: Any, axis: int = 0, exclusive: bool = False, reverse: bool = False, name: str | None = None
) -> ops.Tensor:
    """Cumulative sum along `axis` (exclusive: each entry leaves itself out; reverse: from the end)."""
    t = ops.convert_to_tensor(x)
    (axis,) = _int_list(axis, "cumsum axis")
    attrs = {"axis": axis, "exclusive": bool(exclusive), "reverse": bool(reverse)}
    return _make("Cumsum", [t], attrs, name or "Cumsum").outputs[0]


def _scalar_value(v: Any, what: str) -> Any:
    if isinstance(v, ops.Tensor):
        if v.op.type != "Const":
            raise ValueError(f"{what}: graphvar needs a value known when the graph is built, got {v.name!r}")
        return v.op.get_attr("value").item()
    return np.asarray(v).item()


def range(start: Any, limit: Any = None, delta: Any = 1, dtype: Any = None, name: str = "range") -> ops.Tensor:  # noqa: A001
    """[start, start + delta, ...) up to `limit` (exclusive); range(n) is [0, n). int32 unless a bound is a float."""
    if limit is None:
        start, limit = 0, start
    bounds = [_scalar_value(v, "range") for v in (start, limit, delta)]
    if dtype is None:
        given = [v.dtype for v in (start, limit, delta) if isinstance(v, ops.Tensor)]
        floats = any(isinstance(b, float) for b in bounds)
        dtype = given[0] if given else (dtypes.float32 if floats else dtypes.int32)
    dtype = dtypes.as_dtype(dtype)
    bounds = [dtype.np.type(b) for b in bounds]
    return ops.get_default_graph().create_op("Range", [], {"range": tuple(bounds), "Tidx": dtype}, name=name).outputs[0]


def linspace(start: Any, stop: Any, num: Any, name: str | None = None, axis: int = 0) -> ops.Tensor:
    """`num` evenly spaced values from start to stop, both included (float32 unless start is a float64 tensor)."""
    dtype = start.dtype if isinstance(start, ops.Tensor) else dtypes.float32
    bounds = (_scalar_value(start, "linspace"), _scalar_value(stop, "linspace"), int(_scalar_value(num, "linspace")))
    graph = ops.get_default_graph()
    return graph.create_op("LinSpace", [], {"range": bounds, "T": dtype}, name=name or "LinSpace").outputs[0]


lin_space = linspace
reverse_v2 = reverse

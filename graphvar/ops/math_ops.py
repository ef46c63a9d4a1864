"""Math ops: elementwise arithmetic, comparisons, matmul, reductions, activations."""

from __future__ import annotations

from typing import Any

from graphvar import dtypes
from graphvar.framework import ops
from graphvar.framework.op_registry import register_op
from graphvar.framework.tensor_shape import TensorShape, unknown_shape
from graphvar.ops import array_ops
from graphvar.ops._shapes import binary, broadcast_shapes, check_same_dtype, same_as_input

BINARY = ("Add", "Sub", "Mul", "RealDiv", "FloorDiv", "FloorMod", "Pow", "Maximum", "Minimum")
COMPARE = ("Less", "LessEqual", "Greater", "GreaterEqual", "Equal", "NotEqual")
LOGICAL = ("LogicalAnd", "LogicalOr")
UNARY = ("Neg", "Abs", "Sign", "Square", "Sqrt", "Exp", "Log", "Relu", "Sigmoid", "Tanh", "Softmax", "LogicalNot")
REDUCE = ("Sum", "Mean", "Max", "Min", "Prod")


def _compare_spec(op: Any) -> list:
    (dt, shape), = binary(op)  # fmt: skip
    return [(dtypes.bool, shape)]


def _softmax_spec(op: Any) -> list:
    x = op._inputs[0]
    if x.shape.ndims == 0:
        raise ValueError("Shape must be at least rank 1 but is rank 0")
    return same_as_input(op)


def _matmul_spec(op: Any) -> list:
    a, b = op._inputs
    check_same_dtype(op, a, b)
    ta, tb = op._attrs["transpose_a"], op._attrs["transpose_b"]
    if a.shape.ndims is None or b.shape.ndims is None:
        return [(a.dtype, unknown_shape())]
    if a.shape.ndims < 2 or b.shape.ndims < 2:
        raise ValueError(f"Shape must be rank 2 but is rank {min(a.shape.ndims, b.shape.ndims)}")
    sa, sb = a.shape.as_list(), b.shape.as_list()
    m, k1 = (sa[-1], sa[-2]) if ta else (sa[-2], sa[-1])
    k2, n = (sb[-1], sb[-2]) if tb else (sb[-2], sb[-1])
    if k1 is not None and k2 is not None and k1 != k2:
        raise ValueError(f"Dimensions must be equal, but are {k1} and {k2}")
    batch = broadcast_shapes(TensorShape(sa[:-2]), TensorShape(sb[:-2]))
    return [(a.dtype, batch.concatenate([m, n]))]


def _reduce_spec(op: Any) -> list:
    x = op._inputs[0]
    axis, keep = op._attrs["axis"], op._attrs["keep_dims"]
    if len(op._inputs) == 2:  # axes as a tensor known only at run time (gradients of broadcasting)
        axes = op._inputs[1]
        if not axes.dtype.is_integer:
            raise TypeError(f"reduction axes must be int32 or int64, got {axes.dtype.name}")
        return [(x.dtype, unknown_shape(x.shape.ndims) if keep and x.shape.ndims is not None else unknown_shape())]
    if x.shape.ndims is None:
        return [(x.dtype, unknown_shape())]
    dims = x.shape.as_list()
    if axis is None:
        return [(x.dtype, TensorShape([1] * len(dims) if keep else []))]
    rank = len(dims)
    for a in axis:
        if not -rank <= a < max(rank, 1):
            raise ValueError(f"Invalid reduction dimension {a} for input with {rank} dimensions")
    axes = {a % rank for a in axis} if rank else set()
    out = (
        [1 if i in axes else d for i, d in enumerate(dims)]
        if keep
        else [d for i, d in enumerate(dims) if i not in axes]
    )
    return [(x.dtype, TensorShape(out))]


for _t in BINARY:
    register_op(_t, binary)
for _t in COMPARE + LOGICAL:
    register_op(_t, _compare_spec if _t in COMPARE else binary)
for _t in UNARY:
    register_op(_t, _softmax_spec if _t == "Softmax" else same_as_input)
for _t in REDUCE:
    register_op(_t, _reduce_spec)
register_op("MatMul", _matmul_spec, blas=True)


def _convert_pair(x: Any, y: Any) -> tuple[ops.Tensor, ops.Tensor]:
    """Both operands as tensors; a Python value takes the dtype of the tensor beside it."""
    if not (isinstance(x, ops.Tensor) or _is_var(x)) and (isinstance(y, ops.Tensor) or _is_var(y)):
        y = ops.convert_to_tensor(y)
        return ops.convert_to_tensor(x, dtype_hint=y.dtype), y
    x = ops.convert_to_tensor(x)
    return x, ops.convert_to_tensor(y, dtype_hint=x.dtype)


def _binary_op(op_type: str, x: Any, y: Any, name: str | None) -> ops.Tensor:
    x, y = _convert_pair(x, y)
    return x.graph.create_op(op_type, [x, y], name=name or op_type).outputs[0]


def _is_var(v: Any) -> bool:
    return hasattr(v, "_as_graph_element") and not isinstance(v, (ops.Tensor, ops.Operation))


def _unary_op(op_type: str, x: Any, name: str | None) -> ops.Tensor:
    x = ops.convert_to_tensor(x)
    return x.graph.create_op(op_type, [x], name=name or op_type).outputs[0]


def add(x: Any, y: Any, name: str | None = None) -> ops.Tensor:
    """x + y elementwise with NumPy broadcasting; both of one dtype (Python numbers take the other's)."""
    return _binary_op("Add", x, y, name)


def subtract(x: Any, y: Any, name: str | None = None) -> ops.Tensor:
    return _binary_op("Sub", x, y, name)


def multiply(x: Any, y: Any, name: str | None = None) -> ops.Tensor:
    return _binary_op("Mul", x, y, name)


def truediv(x: Any, y: Any, name: str | None = None) -> ops.Tensor:
    """x / y; integers are cast to floating point first (int8/16 -> float32, int32/64 -> float64) as in TF."""
    x, y = _convert_pair(x, y)
    if x.dtype.is_integer and y.dtype == x.dtype:
        target = dtypes.float32 if x.dtype.size <= 2 else dtypes.float64
        x, y = array_ops.cast(x, target), array_ops.cast(y, target)
    return _binary_op("RealDiv", x, y, name or "truediv")


divide = truediv


def div(x: Any, y: Any, name: str | None = None) -> ops.Tensor:
    """TF1's Python-2 division: floor division for integers, true division for floats."""
    x = ops.convert_to_tensor(x)
    return floordiv(x, y, name) if x.dtype.is_integer else _binary_op("RealDiv", x, y, name or "div")


def floordiv(x: Any, y: Any, name: str | None = None) -> ops.Tensor:
    return _binary_op("FloorDiv", x, y, name or "floordiv")


def floormod(x: Any, y: Any, name: str | None = None) -> ops.Tensor:
    return _binary_op("FloorMod", x, y, name or "floormod")


mod = floormod


def pow(x: Any, y: Any, name: str | None = None) -> ops.Tensor:  # noqa: A001 - TF's name
    return _binary_op("Pow", x, y, name)


def maximum(x: Any, y: Any, name: str | None = None) -> ops.Tensor:
    return _binary_op("Maximum", x, y, name)


def minimum(x: Any, y: Any, name: str | None = None) -> ops.Tensor:
    return _binary_op("Minimum", x, y, name)


def less(x: Any, y: Any, name: str | None = None) -> ops.Tensor:
    return _binary_op("Less", x, y, name)


def less_equal(x: Any, y: Any, name: str | None = None) -> ops.Tensor:
    return _binary_op("LessEqual", x, y, name)


def greater(x: Any, y: Any, name: str | None = None) -> ops.Tensor:
    return _binary_op("Greater", x, y, name)


def greater_equal(x: Any, y: Any, name: str | None = None) -> ops.Tensor:
    return _binary_op("GreaterEqual", x, y, name)


def equal(x: Any, y: Any, name: str | None = None) -> ops.Tensor:
    return _binary_op("Equal", x, y, name)


def not_equal(x: Any, y: Any, name: str | None = None) -> ops.Tensor:
    return _binary_op("NotEqual", x, y, name)


def logical_and(x: Any, y: Any, name: str | None = None) -> ops.Tensor:
    return _binary_op("LogicalAnd", x, y, name)


def logical_or(x: Any, y: Any, name: str | None = None) -> ops.Tensor:
    return _binary_op("LogicalOr", x, y, name)


def logical_not(x: Any, name: str | None = None) -> ops.Tensor:
    return _unary_op("LogicalNot", x, name)


def negative(x: Any, name: str | None = None) -> ops.Tensor:
    return _unary_op("Neg", x, name)


def abs(x: Any, name: str | None = None) -> ops.Tensor:  # noqa: A001 - TF's name
    return _unary_op("Abs", x, name)


def sign(x: Any, name: str | None = None) -> ops.Tensor:
    """-1, 0 or 1 elementwise by the sign of x."""
    return _unary_op("Sign", x, name)


def square(x: Any, name: str | None = None) -> ops.Tensor:
    return _unary_op("Square", x, name)


def sqrt(x: Any, name: str | None = None) -> ops.Tensor:
    return _unary_op("Sqrt", x, name)


def exp(x: Any, name: str | None = None) -> ops.Tensor:
    return _unary_op("Exp", x, name)


def log(x: Any, name: str | None = None) -> ops.Tensor:
    return _unary_op("Log", x, name)


def relu(features: Any, name: str | None = None) -> ops.Tensor:
    return _unary_op("Relu", features, name)


def sigmoid(x: Any, name: str | None = None) -> ops.Tensor:
    return _unary_op("Sigmoid", x, name)


def tanh(x: Any, name: str | None = None) -> ops.Tensor:
    return _unary_op("Tanh", x, name)


def softmax(logits: Any, axis: int | None = None, name: str | None = None, dim: int | None = None) -> ops.Tensor:
    """Softmax along `axis` (default: the last)."""
    x = ops.convert_to_tensor(logits)
    axis = -1 if axis is None and dim is None else (axis if axis is not None else dim)
    return x.graph.create_op("Softmax", [x], {"axis": axis}, name=name or "Softmax").outputs[0]


def matmul(a: Any, b: Any, transpose_a: bool = False, transpose_b: bool = False, adjoint_a: bool = False,
           adjoint_b: bool = False, a_is_sparse: bool = False, b_is_sparse: bool = False, name: str | None = None) -> ops.Tensor:  # fmt: skip
    """Matrix product a @ b (batched over leading dims); ValueError naming the op when inner dims differ."""
    a = ops.convert_to_tensor(a)
    b = ops.convert_to_tensor(b, dtype_hint=a.dtype)
    attrs = {"transpose_a": transpose_a or adjoint_a, "transpose_b": transpose_b or adjoint_b}
    return a.graph.create_op("MatMul", [a, b], attrs, name=name or "MatMul").outputs[0]


def _reduce(
    op_type: str, x: Any, axis: Any, keepdims: Any, name: str | None, reduction_indices: Any, keep_dims: Any
) -> ops.Tensor:
    x = ops.convert_to_tensor(x)
    axis = axis if axis is not None else reduction_indices
    if isinstance(axis, ops.Tensor):
        axis = axis.op.get_attr("value").tolist()
    axis = None if axis is None else tuple(int(a) for a in (axis if isinstance(axis, (list, tuple)) else [axis]))
    keep = bool(keepdims if keepdims is not None else keep_dims)
    return x.graph.create_op(op_type, [x], {"axis": axis, "keep_dims": keep}, name=name or op_type).outputs[0]


def reduce_sum(input_tensor: Any, axis: Any = None, keepdims: Any = None, name: str | None = None,
               reduction_indices: Any = None, keep_dims: Any = None) -> ops.Tensor:  # fmt: skip
    """Sum over `axis` (all axes when None)."""
    return _reduce("Sum", input_tensor, axis, keepdims, name, reduction_indices, keep_dims)


def reduce_mean(input_tensor: Any, axis: Any = None, keepdims: Any = None, name: str | None = None,
                reduction_indices: Any = None, keep_dims: Any = None) -> ops.Tensor:  # fmt: skip
    """Mean over `axis` (integer inputs give a truncated integer mean, as in TF)."""
    return _reduce("Mean", input_tensor, axis, keepdims, name, reduction_indices, keep_dims)


def reduce_max(input_tensor: Any, axis: Any = None, keepdims: Any = None, name: str | None = None,
               reduction_indices: Any = None, keep_dims: Any = None) -> ops.Tensor:  # fmt: skip
    return _reduce("Max", input_tensor, axis, keepdims, name, reduction_indices, keep_dims)


def reduce_min(input_tensor: Any, axis: Any = None, keepdims: Any = None, name: str | None = None,
               reduction_indices: Any = None, keep_dims: Any = None) -> ops.Tensor:  # fmt: skip
    return _reduce("Min", input_tensor, axis, keepdims, name, reduction_indices, keep_dims)


def reduce_prod(input_tensor: Any, axis: Any = None, keepdims: Any = None, name: str | None = None,
                reduction_indices: Any = None, keep_dims: Any = None) -> ops.Tensor:  # fmt: skip
    return _reduce("Prod", input_tensor, axis, keepdims, name, reduction_indices, keep_dims)


def _r(fn: Any) -> Any:
    return lambda self, other: fn(other, self)


for _name, _fn in {
    "__add__": add, "__sub__": subtract, "__mul__": multiply, "__truediv__": truediv, "__floordiv__": floordiv,
    "__mod__": floormod, "__pow__": pow, "__matmul__": matmul, "__lt__": less, "__le__": less_equal,
    "__gt__": greater, "__ge__": greater_equal, "__and__": logical_and, "__or__": logical_or,
}.items():  # fmt: skip
    ops._override_operator(_name, _fn)
    if _name not in ("__lt__", "__le__", "__gt__", "__ge__"):
        ops._override_operator("__r" + _name[2:], _r(_fn))
ops._override_operator("__neg__", negative)
ops._override_operator("__abs__", abs)
ops._override_operator("__invert__", logical_not)

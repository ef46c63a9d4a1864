"""More math ops: elementwise functions (sign, floor, rsqrt, log1p, erf, ...), reduce_any / reduce_all,
reduce_logsumexp, count_nonzero, einsum, tensordot, matrix_transpose, and TF1's aliases (to_int32,
arg_max, log_sigmoid, ...). Kernels: ``backends/nn_kernels.py``; gradients: ``ops/extra_grad.py``."""

from __future__ import annotations

import string
from typing import Any

from graphvar import dtypes
from graphvar.framework import ops
from graphvar.framework.op_registry import register_op
from graphvar.framework.tensor_shape import TensorShape, unknown_shape
from graphvar.ops import array_ops, math_ops, shape_ops
from graphvar.ops._shapes import same_as_input
from graphvar.ops.training_ops import ceil, floor  # noqa: F401 - registered there for the LR schedules

FLOAT_UNARY = ("Rsqrt", "Log1p", "Expm1", "Sin", "Cos", "Erf")
UNARY = ("Round", "Reciprocal")


def _float_spec(op: Any) -> list:
    x = op._inputs[0]
    if not x.dtype.is_floating:
        raise TypeError(f"Value passed to parameter 'x' has DataType {x.dtype.name} not in list of allowed values: "
                        f"float16, bfloat16, float32, float64 (op {op.name!r} of type {op.type})")  # fmt: skip
    return [(x.dtype, x.shape)]


def _bool_reduce_spec(op: Any) -> list:
    if op._inputs[0].dtype != dtypes.bool:
        raise TypeError(f"input of {op.name!r} ({op.type}) must be bool, got {op._inputs[0].dtype.name}")
    return math_ops._reduce_spec(op)


def _einsum_spec(op: Any) -> list:
    inputs, eq = op._inputs, op._attrs["equation"]
    for t in inputs[1:]:
        if t.dtype != inputs[0].dtype:
            raise TypeError(f"inputs of {op.name!r} must have one dtype, got {inputs[0].dtype.name} and {t.dtype.name}")
    lhs, out = _parse_equation(eq, len(inputs))
    sizes: dict[str, int | None] = {}
    for subs, t in zip(lhs, inputs):
        if t.shape.ndims is None:
            continue
        if len(subs) != t.shape.ndims:
            raise ValueError(f"einsum subscripts {subs!r} do not match an input of rank {t.shape.ndims} in {eq!r}")
        for c, d in zip(subs, t.shape.as_list()):
            known = sizes.get(c)
            if known is not None and d is not None and known != d:
                raise ValueError(f"Dimension {c!r} has sizes {known} and {d} in einsum {eq!r}")
            sizes[c] = known if d is None else d
    if any(t.shape.ndims is None for t in inputs) and any(c not in sizes for c in out):
        return [(inputs[0].dtype, unknown_shape(len(out)))]
    return [(inputs[0].dtype, TensorShape([sizes.get(c) for c in out]))]


def _parse_equation(equation: str, n: int) -> tuple[list[str], str]:
    """('ij,jk', 'ik') -> (['ij', 'jk'], 'ik'); an implicit output is the once-seen letters, sorted."""
    eq = equation.replace(" ", "")
    if "." in eq:
        raise ValueError(f"einsum: ellipsis ('...') is not supported by graphvar: {equation!r}")
    lhs, _, out = eq.partition("->")
    subs = lhs.split(",")
    if len(subs) != n:
        raise ValueError(f"einsum {equation!r} names {len(subs)} inputs but {n} were given")
    if "->" not in eq:
        letters = "".join(subs)
        out = "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    bad = [c for c in "".join(subs) + out if c not in string.ascii_letters]
    if bad or len(set(out)) != len(out) or any(c not in "".join(subs) for c in out):
        raise ValueError(f"einsum: invalid equation {equation!r}")
    return subs, out


for _t in FLOAT_UNARY:
    register_op(_t, _float_spec)
for _t in UNARY:
    register_op(_t, same_as_input)
register_op("IsFinite", lambda op: [(dtypes.bool, _float_spec(op)[0][1])])
register_op("Any", _bool_reduce_spec)
register_op("All", _bool_reduce_spec)
register_op("Einsum", _einsum_spec)


def _unary(op_type: str, x: Any, name: str | None) -> ops.Tensor:
    t = ops.convert_to_tensor(x)
    return t.graph.create_op(op_type, [t], name=name or op_type).outputs[0]


def round(x: Any, name: str | None = None) -> ops.Tensor:  # noqa: A001 - TF's name
    """Rounds half to even (banker's rounding), as TF does."""
    return _unary("Round", x, name)


def rsqrt(x: Any, name: str | None = None) -> ops.Tensor:
    """1 / sqrt(x)."""
    return _unary("Rsqrt", x, name)


def reciprocal(x: Any, name: str | None = None) -> ops.Tensor:
    return _unary("Reciprocal", x, name)


def log1p(x: Any, name: str | None = None) -> ops.Tensor:
    """log(1 + x), accurate for small x."""
    return _unary("Log1p", x, name)


def expm1(x: Any, name: str | None = None) -> ops.Tensor:
    """exp(x) - 1, accurate for small x."""
    return _unary("Expm1", x, name)


def sin(x: Any, name: str | None = None) -> ops.Tensor:
    return _unary("Sin", x, name)


def cos(x: Any, name: str | None = None) -> ops.Tensor:
    return _unary("Cos", x, name)


def erf(x: Any, name: str | None = None) -> ops.Tensor:
    """The Gauss error function."""
    return _unary("Erf", x, name)


def is_finite(x: Any, name: str | None = None) -> ops.Tensor:
    return _unary("IsFinite", x, name)


def reduce_any(input_tensor: Any, axis: Any = None, keepdims: Any = None, name: str | None = None,
               reduction_indices: Any = None, keep_dims: Any = None) -> ops.Tensor:  # fmt: skip
    """Logical or over `axis` (all axes when None) of a bool tensor."""
    return math_ops._reduce("Any", input_tensor, axis, keepdims, name, reduction_indices, keep_dims)


def reduce_all(input_tensor: Any, axis: Any = None, keepdims: Any = None, name: str | None = None,
               reduction_indices: Any = None, keep_dims: Any = None) -> ops.Tensor:  # fmt: skip
    """Logical and over `axis` (all axes when None) of a bool tensor."""
    return math_ops._reduce("All", input_tensor, axis, keepdims, name, reduction_indices, keep_dims)


def reduce_logsumexp(input_tensor: Any, axis: Any = None, keepdims: Any = None, name: str | None = None,
                     reduction_indices: Any = None, keep_dims: Any = None) -> ops.Tensor:  # fmt: skip
    """log(sum(exp(x), axis)) computed stably: the max is subtracted first (and treated as a constant)."""
    from graphvar.ops import array_ops_extra, nn_ops

    keep = bool(keepdims if keepdims is not None else keep_dims)
    axis = axis if axis is not None else reduction_indices
    with ops.name_scope(name, "ReduceLogSumExp", [input_tensor]) as scope:
        x = ops.convert_to_tensor(input_tensor)
        raw_max = math_ops.reduce_max(x, axis, keepdims=True)
        my_max = nn_ops._stop_gradient(
            array_ops_extra.where(is_finite(raw_max), raw_max, array_ops.zeros_like(raw_max))
        )
        summed = math_ops.reduce_sum(math_ops.exp(x - my_max), axis, keepdims=keep)
        offset = my_max if keep else math_ops.reduce_sum(my_max, axis, keepdims=False)
        return math_ops.add(math_ops.log(summed), offset, name=scope)


def count_nonzero(input_tensor: Any, axis: Any = None, keepdims: Any = None, dtype: Any = dtypes.int64,
                  name: str | None = None, reduction_indices: Any = None, keep_dims: Any = None) -> ops.Tensor:  # fmt: skip
    """The number of non-zero entries over `axis`, as `dtype` (int64)."""
    with ops.name_scope(name, "count_nonzero", [input_tensor]):
        x = ops.convert_to_tensor(input_tensor)
        zero = array_ops.zeros_like(x)
        nonzero = array_ops.cast(math_ops.not_equal(x, zero), dtypes.int64)
        axis = axis if axis is not None else reduction_indices
        keep = keepdims if keepdims is not None else keep_dims
        return array_ops.cast(math_ops.reduce_sum(nonzero, axis, keepdims=keep), dtype)


def einsum(equation: str, *inputs: Any, **kwargs: Any) -> ops.Tensor:
    """Einstein summation, e.g. ``einsum('ij,jk->ik', a, b)``; no ellipsis.

    Raises:
      ValueError: an invalid equation, or sizes that disagree.
    """
    name = kwargs.pop("name", None)
    if kwargs:
        raise TypeError(f"einsum: unexpected keyword arguments {sorted(kwargs)}")
    if len(inputs) == 1 and isinstance(inputs[0], (list, tuple)):
        inputs = tuple(inputs[0])
    ts = [ops.convert_to_tensor(t) for t in inputs]
    ts = [ts[0]] + [ops.convert_to_tensor(t, dtype_hint=ts[0].dtype) for t in inputs[1:]]
    lhs, out = _parse_equation(equation, len(ts))
    eq = ",".join(lhs) + "->" + out
    return ts[0].graph.create_op("Einsum", ts, {"equation": eq}, name=name or "Einsum").outputs[0]


def tensordot(a: Any, b: Any, axes: Any, name: str | None = None) -> ops.Tensor:
    """Sums the products of a's and b's entries over the given axes (an int N: a's last N with b's first N).

    Built as an Einsum, so partially known shapes work too.
    """
    a, b = ops.convert_to_tensor(a), ops.convert_to_tensor(b)
    ra, rb = a.shape.ndims, b.shape.ndims
    if ra is None or rb is None:
        raise ValueError("tensordot: graphvar needs the ranks of both inputs known when the graph is built")
    if isinstance(axes, int):
        a_axes, b_axes = list(range(ra - axes, ra)), list(range(axes))
    else:
        a_axes, b_axes = axes
        a_axes = [a_axes] if isinstance(a_axes, int) else list(a_axes)
        b_axes = [b_axes] if isinstance(b_axes, int) else list(b_axes)
    if len(a_axes) != len(b_axes):
        raise ValueError(f"tensordot: {a_axes} and {b_axes} must name as many axes")
    letters = iter(string.ascii_letters)
    sa = [next(letters) for _ in range(ra)]
    sb = [next(letters) for _ in range(rb)]
    for i, j in zip(a_axes, b_axes):
        sb[j % rb] = sa[i % ra]
    contracted = {sa[i % ra] for i in a_axes}
    out = [c for c in sa if c not in contracted] + [c for c in sb if c not in contracted]
    return einsum(f"{''.join(sa)},{''.join(sb)}->{''.join(out)}", a, b, name=name or "Tensordot")


def matrix_transpose(a: Any, name: str = "matrix_transpose", conjugate: bool = False) -> ops.Tensor:
    """Swaps the last two dimensions (rank >= 2, known)."""
    t = ops.convert_to_tensor(a)
    rank = t.shape.ndims
    if rank is None or rank < 2:
        raise ValueError(f"matrix_transpose: input must have rank >= 2 and known, got shape {t.shape}")
    return shape_ops.transpose(t, list(range(rank - 2)) + [rank - 1, rank - 2], name=name)


def batch_matmul(x: Any, y: Any, adj_x: bool = False, adj_y: bool = False, name: str | None = None) -> ops.Tensor:
    """matmul over the leading (batch) dimensions."""
    return math_ops.matmul(x, y, adjoint_a=adj_x, adjoint_b=adj_y, name=name or "BatchMatMul")


def to_int32(x: Any, name: str = "ToInt32") -> ops.Tensor:
    return array_ops.cast(x, dtypes.int32, name=name)


def to_int64(x: Any, name: str = "ToInt64") -> ops.Tensor:
    return array_ops.cast(x, dtypes.int64, name=name)


def to_double(x: Any, name: str = "ToDouble") -> ops.Tensor:
    return array_ops.cast(x, dtypes.float64, name=name)


def arg_max(input: Any, dimension: Any = None, name: str | None = None, output_type: Any = dtypes.int64) -> ops.Tensor:  # noqa: A002
    """TF1's arg_max (dimension: the axis)."""
    return shape_ops.argmax(input, axis=dimension, name=name, output_type=output_type)


def arg_min(input: Any, dimension: Any = None, name: str | None = None, output_type: Any = dtypes.int64) -> ops.Tensor:  # noqa: A002
    """TF1's arg_min (dimension: the axis)."""
    return shape_ops.argmin(input, axis=dimension, name=name, output_type=output_type)


def log_sigmoid(x: Any, name: str | None = None) -> ops.Tensor:
    """log(sigmoid(x)) = -softplus(-x), without overflow."""
    from graphvar.ops import nn_ops

    with ops.name_scope(name, "LogSigmoid", [x]) as scope:
        return math_ops.negative(nn_ops.softplus(math_ops.negative(x)), name=scope)


def squared_difference(x: Any, y: Any, name: str | None = None) -> ops.Tensor:
    """(x - y) ** 2 elementwise."""
    with ops.name_scope(name, "SquaredDifference", [x, y]) as scope:
        return math_ops.square(math_ops.subtract(x, y), name=scope)

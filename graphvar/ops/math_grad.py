"""Gradient rules of the math ops (TF's python/ops/math_grad.py semantics), one per op type.

Broadcasting: the gradient of an input that was broadcast is summed over the broadcast axes.
When the shapes say which axes those are (the common `[None, k] + [k]` bias case included) the
axes are fixed at build time; otherwise `BroadcastGradientArgs` finds them at run time.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from graphvar.framework import ops
from graphvar.framework.gradient_registry import RegisterGradient
from graphvar.ops import array_ops, gradient_ops, math_ops, shape_ops
from graphvar.ops._shapes import broadcast_shapes


def shape_tensor(t: ops.Tensor) -> ops.Tensor:
    """t's shape as an int32 tensor: a constant when known now, else tf.shape(t)."""
    dims = t.shape.as_tuple()
    if dims is not None:
        return array_ops.constant(np.asarray(dims, np.int32), name="Shape")
    return shape_ops.shape(t)


def _static_reduction(sx: Any, so: Any) -> tuple[int, list[int]] | None:
    """(leading axes x lacks, axes where x has 1) when x broadcast against `so`; None when unknown now."""
    if sx.ndims is None or so.ndims is None:
        return None
    dx, do = sx.as_list(), so.as_list()
    n = max(len(dx), len(do))
    lead = n - len(dx)
    other = [1] * (n - len(do)) + do
    keep = []
    for j, d in enumerate(dx):
        k = lead + j
        if d == 1:
            if other[k] != 1:
                keep.append(k)  # summing a size-1 axis is exact even when the other is 1 at run time
        elif d is None and other[k] != 1:
            return None
    return lead, keep


def _sum(x: ops.Tensor, axes: Any, keep_dims: bool) -> ops.Tensor:
    attrs = {"axis": tuple(axes), "keep_dims": keep_dims}
    return x.graph.create_op("Sum", [x], attrs, name="Sum").outputs[0]


def _sum_broadcast_axes(grad: ops.Tensor, lead: int, keep: list[int]) -> ops.Tensor:
    """`grad` summed over the `lead` leading axes its input lacked (dropped) and the `keep` axes where it had 1."""
    if not keep:  # only leading axes (the bias of a batch): one Sum
        return _sum(grad, range(lead), False) if lead else grad
    g = _sum(grad, list(range(lead)) + keep, True)
    return shape_ops.squeeze(g, axis=list(range(lead))) if lead else g


def reduce_to(grad: ops.Tensor, x: ops.Tensor, other: Any) -> ops.Tensor:
    """`grad` (of broadcast(x, other)'s shape) summed back to x's shape; `other` is a tensor or a static shape."""
    other_shape = other.shape if isinstance(other, ops.Tensor) else other
    if x.shape.is_fully_defined() and grad.shape.is_fully_defined() and x.shape.as_list() == grad.shape.as_list():
        return grad
    static = _static_reduction(x.shape, other_shape)
    if static is not None:
        return _sum_broadcast_axes(grad, *static)
    rx, _ = gradient_ops.broadcast_gradient_args(shape_ops.shape(x), shape_ops.shape(grad))
    total = grad.graph.create_op("Sum", [grad, rx], {"axis": None, "keep_dims": False}, name="Sum").outputs[0]
    return array_ops.reshape(total, shape_ops.shape(x))


def _binary(op: ops.Operation) -> tuple[ops.Tensor, ops.Tensor]:
    return op._inputs[0], op._inputs[1]


@RegisterGradient("Add")
def _add_grad(op: ops.Operation, grad: ops.Tensor) -> list:
    x, y = _binary(op)
    return [reduce_to(grad, x, y), reduce_to(grad, y, x)]


@RegisterGradient("Sub")
def _sub_grad(op: ops.Operation, grad: ops.Tensor) -> list:
    x, y = _binary(op)
    return [reduce_to(grad, x, y), math_ops.negative(reduce_to(grad, y, x))]


@RegisterGradient("Mul")
def _mul_grad(op: ops.Operation, grad: ops.Tensor) -> list:
    x, y = _binary(op)
    return [reduce_to(math_ops.multiply(grad, y), x, y), reduce_to(math_ops.multiply(x, grad), y, x)]


@RegisterGradient("RealDiv")
def _real_div_grad(op: ops.Operation, grad: ops.Tensor) -> list:
    x, y = _binary(op)
    gy = math_ops.multiply(grad, math_ops.truediv(math_ops.truediv(math_ops.negative(x), y), y))
    return [reduce_to(math_ops.truediv(grad, y), x, y), reduce_to(gy, y, x)]


@RegisterGradient("FloorMod")
def _floor_mod_grad(op: ops.Operation, grad: ops.Tensor) -> list:
    x, y = _binary(op)
    floor_xy = math_ops.floordiv(x, y)
    return [reduce_to(grad, x, y), reduce_to(math_ops.multiply(grad, math_ops.negative(floor_xy)), y, x)]


@RegisterGradient("Pow")
def _pow_grad(op: ops.Operation, grad: ops.Tensor) -> list:
    x, y = _binary(op)
    z = op._outputs[0]
    one = array_ops.constant(1, dtype=y.dtype)
    gx = math_ops.multiply(grad, math_ops.multiply(y, math_ops.pow(x, math_ops.subtract(y, one))))
    zero = array_ops.zeros_like(x)
    safe_log = gradient_ops.select_v2(math_ops.greater(x, zero), math_ops.log(_where_positive(x)), zero)
    gy = math_ops.multiply(grad, math_ops.multiply(z, safe_log))
    return [reduce_to(gx, x, y), reduce_to(gy, y, x)]


def _where_positive(x: ops.Tensor) -> ops.Tensor:
    # log only where x > 0, so no NaN from the other branch reaches the product
    return gradient_ops.select_v2(math_ops.greater(x, array_ops.zeros_like(x)), x, array_ops.ones_like(x))


def _minmax_grad(op: ops.Operation, grad: ops.Tensor, mask_fn: Any) -> list:
    x, y = _binary(op)
    mask = mask_fn(x, y)
    zeros = array_ops.zeros_like(grad)
    gx = gradient_ops.select_v2(mask, grad, zeros)
    gy = gradient_ops.select_v2(mask, zeros, grad)
    return [reduce_to(gx, x, y), reduce_to(gy, y, x)]


@RegisterGradient("Maximum")
def _maximum_grad(op: ops.Operation, grad: ops.Tensor) -> list:
    return _minmax_grad(op, grad, math_ops.greater_equal)


@RegisterGradient("Minimum")
def _minimum_grad(op: ops.Operation, grad: ops.Tensor) -> list:
    return _minmax_grad(op, grad, math_ops.less_equal)


@RegisterGradient("Neg")
def _neg_grad(op: ops.Operation, grad: ops.Tensor) -> ops.Tensor:
    return math_ops.negative(grad)


@RegisterGradient("Abs")
def _abs_grad(op: ops.Operation, grad: ops.Tensor) -> ops.Tensor:
    return math_ops.multiply(grad, math_ops.sign(op._inputs[0]))


@RegisterGradient("Square")
def _square_grad(op: ops.Operation, grad: ops.Tensor) -> ops.Tensor:
    x = op._inputs[0]
    return math_ops.multiply(grad, math_ops.multiply(x, array_ops.constant(2, dtype=x.dtype)))


@RegisterGradient("Sqrt")
def _sqrt_grad(op: ops.Operation, grad: ops.Tensor) -> ops.Tensor:
    y = op._outputs[0]  # TF's SqrtGrad: dy * 0.5 / y
    return math_ops.truediv(math_ops.multiply(grad, array_ops.constant(0.5, dtype=y.dtype)), y)


@RegisterGradient("Exp")
def _exp_grad(op: ops.Operation, grad: ops.Tensor) -> ops.Tensor:
    return math_ops.multiply(grad, op._outputs[0])


@RegisterGradient("Log")
def _log_grad(op: ops.Operation, grad: ops.Tensor) -> ops.Tensor:
    return math_ops.truediv(grad, op._inputs[0])


def _create(op_type: str, inputs: list) -> ops.Tensor:
    return inputs[0].graph.create_op(op_type, inputs, name=op_type).outputs[0]


@RegisterGradient("Relu")
def _relu_grad(op: ops.Operation, grad: ops.Tensor) -> ops.Tensor:
    return _create("ReluGrad", [grad, op._outputs[0]])


@RegisterGradient("ReluGrad")
def _relu_grad_grad(op: ops.Operation, grad: ops.Tensor) -> list:
    return [_create("ReluGrad", [grad, op._inputs[1]]), array_ops.zeros_like(op._inputs[1])]


@RegisterGradient("Sigmoid")
def _sigmoid_grad(op: ops.Operation, grad: ops.Tensor) -> ops.Tensor:
    return _create("SigmoidGrad", [op._outputs[0], grad])


@RegisterGradient("Tanh")
def _tanh_grad(op: ops.Operation, grad: ops.Tensor) -> ops.Tensor:
    return _create("TanhGrad", [op._outputs[0], grad])


@RegisterGradient("SigmoidGrad")
def _sigmoid_grad_grad(op: ops.Operation, grad: ops.Tensor) -> list:
    y, dy = op._inputs  # d/dy [dy*y*(1-y)] = dy*(1-2y); d/ddy = y*(1-y)
    one = array_ops.constant(1, dtype=y.dtype)
    two = array_ops.constant(2, dtype=y.dtype)
    gy = math_ops.multiply(grad, math_ops.multiply(dy, math_ops.subtract(one, math_ops.multiply(two, y))))
    return [gy, _create("SigmoidGrad", [y, grad])]


@RegisterGradient("TanhGrad")
def _tanh_grad_grad(op: ops.Operation, grad: ops.Tensor) -> list:
    y, dy = op._inputs  # d/dy [dy*(1-y^2)] = -2*dy*y
    minus_two = array_ops.constant(-2, dtype=y.dtype)
    return [math_ops.multiply(grad, math_ops.multiply(minus_two, math_ops.multiply(dy, y))), _create("TanhGrad", [y, grad])]  # fmt: skip


@RegisterGradient("Softmax")
def _softmax_grad(op: ops.Operation, grad: ops.Tensor) -> ops.Tensor:
    y, axis = op._outputs[0], op._attrs["axis"]
    inner = math_ops.reduce_sum(math_ops.multiply(grad, y), axis=axis, keepdims=True)
    return math_ops.multiply(math_ops.subtract(grad, inner), y)


@RegisterGradient("MatMul")
def _matmul_grad(op: ops.Operation, grad: ops.Tensor) -> list:
    a, b = _binary(op)
    ta, tb = op._attrs["transpose_a"], op._attrs["transpose_b"]
    mm = math_ops.matmul
    if not ta and not tb:
        ga, gb = mm(grad, b, transpose_b=True), mm(a, grad, transpose_a=True)
    elif not ta and tb:
        ga, gb = mm(grad, b), mm(grad, a, transpose_a=True)
    elif ta and not tb:
        ga, gb = mm(b, grad, transpose_b=True), mm(a, grad)
    else:
        ga, gb = mm(b, grad, transpose_a=True, transpose_b=True), mm(grad, a, transpose_a=True, transpose_b=True)
    if (a.shape.ndims or 2) > 2 or (b.shape.ndims or 2) > 2:  # broadcast batch dimensions sum back
        ga, gb = _reduce_batch(ga, a, b), _reduce_batch(gb, b, a)
    return [ga, gb]


def _reduce_batch(g: ops.Tensor, x: ops.Tensor, other: ops.Tensor) -> ops.Tensor:
    if x.shape.ndims is None or other.shape.ndims is None:
        return g
    if x.shape.ndims == other.shape.ndims and x.shape[:-2].is_compatible_with(other.shape[:-2]):
        xb, ob = x.shape[:-2].as_list(), other.shape[:-2].as_list()
        if xb == ob and None not in xb:
            return g
    batch_x = x.shape[:-2]
    static = _static_reduction(batch_x, other.shape[:-2])
    if static is None:
        raise NotImplementedError(f"gradient of a batched matmul over unknown broadcast batch dims ({x.name!r})")
    return _sum_broadcast_axes(g, *static)


def _reduced_axes(op: ops.Operation) -> tuple[int, list[int]]:
    x = op._inputs[0]
    rank = x.shape.ndims
    if rank is None:
        raise NotImplementedError(f"gradient of {op.type} {op.name!r}: the input's rank must be known")
    axis = op._attrs["axis"]
    return rank, sorted({a % rank for a in axis}) if axis is not None else list(range(rank))


def _broadcast_back(op: ops.Operation, grad: ops.Tensor) -> ops.Tensor:
    """The gradient of a reduction broadcast to the input's shape."""
    x = op._inputs[0]
    if op._attrs["axis"] is None:  # a scalar (or all-ones shape) broadcasts to any rank
        return gradient_ops.broadcast_to(grad, shape_tensor(x))
    rank, axes = _reduced_axes(op)
    g = grad
    if not op._attrs["keep_dims"] and axes:
        kept = [1 if i in axes else d for i, d in enumerate(x.shape.as_list())]
        g = array_ops.reshape(g, kept) if None not in kept else _expand_axes(g, axes)
    return gradient_ops.broadcast_to(g, shape_tensor(x))


def _expand_axes(g: ops.Tensor, axes: list[int]) -> ops.Tensor:
    for a in axes:
        g = shape_ops.expand_dims(g, a)
    return g


@RegisterGradient("Sum")
def _sum_grad(op: ops.Operation, grad: ops.Tensor) -> Any:
    if len(op._inputs) == 2:
        raise NotImplementedError(f"gradient of {op.name!r}: reduction axes given as a run-time tensor")
    return _broadcast_back(op, grad)


@RegisterGradient("Mean")
def _mean_grad(op: ops.Operation, grad: ops.Tensor) -> ops.Tensor:
    x, y = op._inputs[0], op._outputs[0]
    g = _broadcast_back(op, grad)
    nx, ny = x.shape.num_elements(), y.shape.num_elements()
    if nx is not None and ny is not None:
        factor = array_ops.constant(nx // max(ny, 1), dtype=g.dtype)
    else:
        count = math_ops.floordiv(shape_ops.size(x), math_ops.maximum(shape_ops.size(y), 1))
        factor = array_ops.cast(count, g.dtype)
    return math_ops.truediv(g, factor)


def _minmax_reduce_grad(op: ops.Operation, grad: ops.Tensor) -> ops.Tensor:
    x, y = op._inputs[0], op._outputs[0]
    rank, axes = _reduced_axes(op)
    keep = {"axis": op._attrs["axis"], "keep_dims": True}
    y_kept = y if op._attrs["keep_dims"] else x.graph.create_op(op.type, [x], keep, name=op.type).outputs[0]
    indicators = array_ops.cast(math_ops.equal(y_kept, x), grad.dtype)
    num_selected = _sum(indicators, axes, True)
    g = _broadcast_back(op, grad)
    return math_ops.multiply(math_ops.truediv(indicators, num_selected), g)


RegisterGradient("Max")(_minmax_reduce_grad)
RegisterGradient("Min")(_minmax_reduce_grad)


@RegisterGradient("Prod")
def _prod_grad(op: ops.Operation, grad: ops.Tensor) -> ops.Tensor:
    """d prod / d x_i = the product of the others, exact where x has zeros (no y / x)."""
    x = op._inputs[0]
    rank, axes = _reduced_axes(op)
    zero, one = array_ops.zeros_like(x), array_ops.ones_like(x)
    is_zero = math_ops.equal(x, zero)
    nonzero = gradient_ops.select_v2(is_zero, one, x)
    prod_nz = x.graph.create_op("Prod", [nonzero], {"axis": tuple(axes), "keep_dims": True}, name="Prod").outputs[0]
    zeros = _sum(array_ops.cast(is_zero, x.dtype), axes, True)
    zero_t = array_ops.constant(0, dtype=x.dtype)
    one_t = array_ops.constant(1, dtype=x.dtype)
    others = gradient_ops.select_v2(
        is_zero,
        gradient_ops.select_v2(math_ops.equal(zeros, one_t), prod_nz, zero_t),
        gradient_ops.select_v2(math_ops.equal(zeros, zero_t), math_ops.truediv(prod_nz, nonzero), zero_t),
    )
    return math_ops.multiply(others, _broadcast_back(op, grad))


@RegisterGradient("AddN")
def _add_n_grad(op: ops.Operation, grad: ops.Tensor) -> list:
    return [grad] * len(op._inputs)


def _select_grad(op: ops.Operation, grad: ops.Tensor) -> list:
    c, x, y = op._inputs
    zeros = array_ops.zeros_like(grad)
    gx, gy = gradient_ops.select_v2(c, grad, zeros), gradient_ops.select_v2(c, zeros, grad)
    if op.type == "Select" and c.shape.ndims == 1 and (x.shape.ndims or 0) > 1:
        c_b = array_ops.reshape(c, [-1] + [1] * (x.shape.ndims - 1))
        gx, gy = gradient_ops.select_v2(c_b, grad, zeros), gradient_ops.select_v2(c_b, zeros, grad)
    if op.type == "SelectV2":
        gx, gy = (
            reduce_to(gx, x, broadcast_shapes(c.shape, y.shape)),
            reduce_to(gy, y, broadcast_shapes(c.shape, x.shape)),
        )
    return [None, gx, gy]


RegisterGradient("Select")(_select_grad)
RegisterGradient("SelectV2")(_select_grad)


@RegisterGradient("Cast")
def _cast_grad(op: ops.Operation, grad: ops.Tensor) -> Any:
    src = op._inputs[0].dtype
    if (src.is_floating or src.is_complex) and (grad.dtype.is_floating or grad.dtype.is_complex):
        return array_ops.cast(grad, src)
    return None

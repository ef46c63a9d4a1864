"""Gradient rules of the extra array and math ops (ops/array_ops_extra.py, ops/math_ops_extra.py).

GatherV2 on axis 0 gives an IndexedSlices (the rows it read), as in TF: optimizers apply it as a
sparse update. Other rules follow TF's python/ops/{array,math}_grad.py.
"""

from __future__ import annotations

import math
from typing import Any

from graphvar.framework import ops
from graphvar.framework.gradient_registry import NotDifferentiable, RegisterGradient
from graphvar.framework.indexed_slices import IndexedSlices
from graphvar.ops import array_ops, array_ops_extra, gradient_ops, math_ops, shape_ops
from graphvar.ops import math_ops_extra as mx
from graphvar.ops.math_grad import shape_tensor


def _static_dims(t: ops.Tensor, what: str) -> list[int]:
    dims = t.shape.as_list() if t.shape.ndims is not None else None
    if dims is None or None in dims:
        raise ValueError(f"the gradient of {what} needs a static shape, got {t.shape}")
    return dims


@RegisterGradient("GatherV2")
def _gather_grad(op: ops.Operation, grad: ops.Tensor) -> list:
    params, indices = op.inputs
    axis = op.get_attr("axis")
    if axis == 0:
        rest = params.shape.as_list()[1:] if params.shape.ndims is not None else None
        if rest is not None and None not in rest:
            values = array_ops.reshape(grad, [-1] + rest)
        else:
            values = array_ops.reshape(grad, shape_ops.concat([[-1], shape_ops.shape(params)[1:]], 0))
        return [IndexedSlices(values, array_ops.reshape(indices, [-1]), shape_tensor(params)), None]
    # another axis: move the gathered dims to the front, sum rows per index, move back
    p = _static_dims(params, op.name)
    q = indices.shape.ndims
    r = len(p)
    perm = list(range(axis, axis + q)) + list(range(axis)) + list(range(axis + q, r + q - 1))
    moved = shape_ops.transpose(grad, perm)
    rest = p[:axis] + p[axis + 1 :]
    rows = array_ops.reshape(moved, [-1] + rest)
    summed = gradient_ops.unsorted_segment_sum(rows, array_ops.reshape(indices, [-1]), p[axis])
    back = list(range(1, axis + 1)) + [0] + list(range(axis + 1, r))
    return [shape_ops.transpose(summed, back), None]


@RegisterGradient("GatherNd")
def _gather_nd_grad(op: ops.Operation, grad: ops.Tensor) -> list:
    """As TF: rows of params for [N, 1] indices (an IndexedSlices), else grad summed at each indexed position."""
    params, indices = op.inputs
    depth = indices.shape.as_list()[-1] if indices.shape.ndims is not None else None
    if depth is None:
        raise ValueError(f"the gradient of {op.name!r} (GatherNd) needs indices.shape[-1] known, got {indices.shape}")
    ref_shape = shape_tensor(params)
    if indices.shape.ndims == 2 and depth == 1:
        return [IndexedSlices(grad, shape_ops.squeeze(indices, [-1]), ref_shape), None]
    # linear position of each index in params' first `depth` dimensions
    strides = shape_ops.stack([math_ops.reduce_prod(ref_shape[i + 1 : depth]) for i in range(depth)])
    lin = math_ops.reduce_sum(indices * array_ops.cast(strides, indices.dtype), -1)
    values = array_ops.reshape(grad, shape_ops.concat([[-1], ref_shape[depth:]], 0))
    total = array_ops.cast(math_ops.reduce_prod(ref_shape[:depth]), indices.dtype)
    dense = gradient_ops.unsorted_segment_sum(values, array_ops.reshape(lin, [-1]), total)
    return [array_ops.reshape(dense, ref_shape), None]


def _pad_pairs(op: ops.Operation) -> tuple:
    return op.get_attr("paddings")


@RegisterGradient("Pad")
def _pad_grad(op: ops.Operation, grad: ops.Tensor) -> ops.Tensor:
    key = tuple(slice(lo, -hi if hi else None) for lo, hi in _pad_pairs(op))
    return grad[key]


RegisterGradient("PadV2")(_pad_grad)


@RegisterGradient("Split")
def _split_grad(op: ops.Operation, *grads: Any) -> ops.Tensor:
    parts = [g if g is not None else array_ops.zeros_like(out) for g, out in zip(grads, op.outputs)]
    return shape_ops.concat(parts, op.get_attr("axis"))


RegisterGradient("SplitV")(_split_grad)


@RegisterGradient("Unpack")
def _unpack_grad(op: ops.Operation, *grads: Any) -> ops.Tensor:
    parts = [g if g is not None else array_ops.zeros_like(out) for g, out in zip(grads, op.outputs)]
    return shape_ops.stack(parts, axis=op.get_attr("axis"))


@RegisterGradient("ReverseV2")
def _reverse_grad(op: ops.Operation, grad: ops.Tensor) -> ops.Tensor:
    return array_ops_extra.reverse(grad, list(op.get_attr("axis")))


@RegisterGradient("Cumsum")
def _cumsum_grad(op: ops.Operation, grad: ops.Tensor) -> ops.Tensor:
    a = op._attrs
    return array_ops_extra.cumsum(grad, a["axis"], exclusive=a["exclusive"], reverse=not a["reverse"])


@RegisterGradient("Rsqrt")
def _rsqrt_grad(op: ops.Operation, grad: ops.Tensor) -> ops.Tensor:
    y = op.outputs[0]
    return grad * -0.5 * y * y * y


@RegisterGradient("Reciprocal")
def _reciprocal_grad(op: ops.Operation, grad: ops.Tensor) -> ops.Tensor:
    y = op.outputs[0]
    return -grad * y * y


@RegisterGradient("Log1p")
def _log1p_grad(op: ops.Operation, grad: ops.Tensor) -> ops.Tensor:
    return grad / (1 + op.inputs[0])


@RegisterGradient("Expm1")
def _expm1_grad(op: ops.Operation, grad: ops.Tensor) -> ops.Tensor:
    return grad * (op.outputs[0] + 1)


@RegisterGradient("Sin")
def _sin_grad(op: ops.Operation, grad: ops.Tensor) -> ops.Tensor:
    return grad * mx.cos(op.inputs[0])


@RegisterGradient("Cos")
def _cos_grad(op: ops.Operation, grad: ops.Tensor) -> ops.Tensor:
    return -grad * mx.sin(op.inputs[0])


@RegisterGradient("Erf")
def _erf_grad(op: ops.Operation, grad: ops.Tensor) -> ops.Tensor:
    x = op.inputs[0]
    return grad * (2.0 / math.sqrt(math.pi)) * math_ops.exp(-math_ops.square(x))


@RegisterGradient("Einsum")
def _einsum_grad(op: ops.Operation, grad: ops.Tensor) -> list:
    """d/d input k: einsum of the output gradient with the other inputs, onto input k's subscripts.

    Letters of input k that appear nowhere else were summed out: the gradient is broadcast along them.
    """
    lhs, out = op.get_attr("equation").split("->")
    subs = lhs.split(",")
    grads = []
    for k, (sk, xk) in enumerate(zip(subs, op.inputs)):
        if len(set(sk)) != len(sk):
            raise ValueError(f"Einsum gradient of {op.name!r}: repeated subscripts ({sk!r}) are not supported")
        others = [(s, t) for j, (s, t) in enumerate(zip(subs, op.inputs)) if j != k]
        seen = set(out).union(*[set(s) for s, _ in others])
        kept = "".join(c for c in sk if c in seen)
        eq = ",".join([out] + [s for s, _ in others]) + "->" + kept
        g = mx.einsum(eq, grad, *[t for _, t in others])
        if kept != sk:
            g = _broadcast_into(g, kept, sk, xk)
        grads.append(g)
    return grads


def _broadcast_into(g: ops.Tensor, kept: str, full: str, like: ops.Tensor) -> ops.Tensor:
    """g (subscripts `kept`) expanded to `full` and broadcast to like's shape."""
    for i, c in enumerate(full):  # kept is a subsequence of full, so positions line up left to right
        if c not in kept:
            g = shape_ops.expand_dims(g, i)
    return g * array_ops.ones_like(like)


for _t in ("Round", "IsFinite", "Any", "All", "Where", "OneHot", "Range", "LinSpace"):
    NotDifferentiable(_t)

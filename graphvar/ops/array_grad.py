"""Gradient rules of the array and shape ops (TF's python/ops/array_grad.py semantics)."""

from __future__ import annotations

from typing import Any

from graphvar.framework import ops
from graphvar.framework.gradient_registry import RegisterGradient
from graphvar.ops import array_ops, shape_ops
from graphvar.ops.math_grad import reduce_to, shape_tensor


def _reshape_like(grad: ops.Tensor, x: ops.Tensor) -> ops.Tensor:
    dims = x.shape.as_tuple()
    return array_ops.reshape(grad, list(dims) if dims is not None else shape_ops.shape(x))


@RegisterGradient("Identity")
def _identity_grad(op: ops.Operation, grad: ops.Tensor) -> ops.Tensor:
    return grad


@RegisterGradient("Reshape")
def _reshape_grad(op: ops.Operation, grad: ops.Tensor) -> Any:
    g = _reshape_like(grad, op._inputs[0])
    return [g, None] if len(op._inputs) == 2 else g


@RegisterGradient("ExpandDims")
def _expand_dims_grad(op: ops.Operation, grad: ops.Tensor) -> ops.Tensor:
    return shape_ops.squeeze(grad, axis=[op._attrs["axis"]])


@RegisterGradient("Squeeze")
def _squeeze_grad(op: ops.Operation, grad: ops.Tensor) -> ops.Tensor:
    return _reshape_like(grad, op._inputs[0])


@RegisterGradient("Transpose")
def _transpose_grad(op: ops.Operation, grad: ops.Tensor) -> ops.Tensor:
    perm = op._attrs["perm"]
    inverse = [0] * len(perm)
    for i, p in enumerate(perm):
        inverse[p] = i
    return shape_ops.transpose(grad, inverse)


@RegisterGradient("ConcatV2")
def _concat_grad(op: ops.Operation, grad: ops.Tensor) -> list:
    axis = op._attrs["axis"]
    sizes = [t.shape.as_list()[axis] if t.shape.ndims is not None else None for t in op._inputs]
    if None in sizes:
        raise NotImplementedError(
            f"gradient of concat {op.name!r}: the inputs' sizes along axis {axis} must be known when the graph is built"
        )
    out, start = [], 0
    for n in sizes:
        key = (slice(None),) * axis + (slice(start, start + n),)
        out.append(grad.graph.create_op("StridedSlice", [grad], {"key": key}, name="Slice").outputs[0])
        start += n
    return out


@RegisterGradient("Pack")
def _pack_grad(op: ops.Operation, grad: ops.Tensor) -> list:
    axis = op._attrs["axis"]
    return [
        grad.graph.create_op("StridedSlice", [grad], {"key": (slice(None),) * axis + (i,)}, name="unstack").outputs[0]
        for i in range(len(op._inputs))
    ]


@RegisterGradient("StridedSlice")
def _strided_slice_grad(op: ops.Operation, grad: ops.Tensor) -> ops.Tensor:
    x = op._inputs[0]
    return grad.graph.create_op(
        "StridedSliceGrad", [shape_tensor(x), grad], {"key": op._attrs["key"]}, name="StridedSliceGrad"
    ).outputs[0]


@RegisterGradient("StridedSliceGrad")
def _strided_slice_grad_grad(op: ops.Operation, grad: ops.Tensor) -> list:
    return [None, grad.graph.create_op("StridedSlice", [grad], {"key": op._attrs["key"]}, name="strided_slice").outputs[0]]  # fmt: skip


@RegisterGradient("BroadcastTo")
def _broadcast_to_grad(op: ops.Operation, grad: ops.Tensor) -> list:
    x = op._inputs[0]
    return [reduce_to(grad, x, op._outputs[0].shape), None]


@RegisterGradient("Tile")
def _tile_grad(op: ops.Operation, grad: ops.Tensor) -> list:
    x, multiples = op._inputs
    dims = x.shape.as_tuple()
    if dims is None or multiples.op.type != "Const":
        raise NotImplementedError(f"gradient of tile {op.name!r}: the input's shape and multiples must be known when building")  # fmt: skip
    m = [int(k) for k in multiples.op.get_attr("value").reshape(-1)]
    split = [v for pair in zip(m, dims) for v in pair]
    g = array_ops.reshape(grad, split)
    total = g.graph.create_op("Sum", [g], {"axis": tuple(range(0, len(split), 2)), "keep_dims": False}, name="Sum")
    return [total.outputs[0], None]

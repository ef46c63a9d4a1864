"""Gradient rules of tf.nn's primitive ops (ops/nn_ops.py), TF's python/ops/nn_grad.py semantics."""

from __future__ import annotations

from typing import Any

from graphvar.backends.nn_kernels import SELU_ALPHA, SELU_SCALE
from graphvar.framework import ops
from graphvar.framework.gradient_registry import NotDifferentiable, RegisterGradient
from graphvar.ops import array_ops, gradient_ops, math_ops, shape_ops
from graphvar.ops.array_ops_extra import where


def _mask(cond: ops.Tensor, like: ops.Tensor) -> ops.Tensor:
    return array_ops.cast(cond, like.dtype)


@RegisterGradient("Relu6")
def _relu6_grad(op: ops.Operation, grad: ops.Tensor) -> ops.Tensor:
    x = op.inputs[0]
    return grad * _mask(math_ops.logical_and(x > 0, x < 6), x)


@RegisterGradient("Elu")
def _elu_grad(op: ops.Operation, grad: ops.Tensor) -> ops.Tensor:
    x, y = op.inputs[0], op.outputs[0]
    return where(x > 0, grad, grad * (y + 1))


@RegisterGradient("Selu")
def _selu_grad(op: ops.Operation, grad: ops.Tensor) -> ops.Tensor:
    x, y = op.inputs[0], op.outputs[0]
    return where(x > 0, grad * SELU_SCALE, grad * (y + SELU_SCALE * SELU_ALPHA))


@RegisterGradient("Softplus")
def _softplus_grad(op: ops.Operation, grad: ops.Tensor) -> ops.Tensor:
    return grad * math_ops.sigmoid(op.inputs[0])


@RegisterGradient("Softsign")
def _softsign_grad(op: ops.Operation, grad: ops.Tensor) -> ops.Tensor:
    return grad / math_ops.square(1 + math_ops.abs(op.inputs[0]))


@RegisterGradient("LeakyRelu")
def _leaky_relu_grad(op: ops.Operation, grad: ops.Tensor) -> ops.Tensor:
    x = op.inputs[0]
    return where(x > 0, grad, grad * op.get_attr("alpha"))


@RegisterGradient("LogSoftmax")
def _log_softmax_grad(op: ops.Operation, grad: ops.Tensor) -> ops.Tensor:
    axis = op.get_attr("axis")
    return grad - math_ops.reduce_sum(grad, axis, keepdims=True) * math_ops.exp(op.outputs[0])


@RegisterGradient("BiasAdd")
def _bias_add_grad(op: ops.Operation, grad: ops.Tensor) -> list:
    rank = op.inputs[0].shape.ndims
    if rank is None:
        raise ValueError(f"BiasAdd gradient of {op.name!r} needs the rank of its input known")
    channel = 1 if op.get_attr("data_format") == "NCHW" else rank - 1
    axes = [i for i in range(rank) if i != channel]
    return [grad, math_ops.reduce_sum(grad, axes)]


@RegisterGradient("L2Loss")
def _l2_loss_grad(op: ops.Operation, grad: ops.Tensor) -> ops.Tensor:
    return op.inputs[0] * grad


@RegisterGradient("SoftmaxCrossEntropyWithLogits")
def _xent_grad(op: ops.Operation, grad_loss: ops.Tensor, grad_grad: Any) -> list:
    from graphvar.ops import nn_ops

    g = shape_ops.expand_dims(grad_loss, -1)
    return [g * op.outputs[1], g * -nn_ops.log_softmax(op.inputs[0])]


@RegisterGradient("SparseSoftmaxCrossEntropyWithLogits")
def _sparse_xent_grad(op: ops.Operation, grad_loss: ops.Tensor, grad_grad: Any) -> list:
    return [shape_ops.expand_dims(grad_loss, -1) * op.outputs[1], None]


@RegisterGradient("TopKV2")
def _top_k_grad(op: ops.Operation, grad: ops.Tensor, grad_indices: Any) -> list:
    """The values' gradient scattered back to the positions they came from (shapes known at run time only)."""
    from graphvar.ops.array_ops_extra import cumsum

    x, indices = op.inputs[0], op.outputs[1]
    in_shape = shape_ops.shape(x)
    ind_2d = array_ops.reshape(indices, [-1, shape_ops.shape(indices)[-1]])
    # row r of the flattened input starts at r * n: an exclusive cumsum of ones down the rows
    rows = cumsum(array_ops.ones_like(ind_2d[:, :1]), axis=0, exclusive=True)
    flat_idx = array_ops.reshape(ind_2d + rows * in_shape[-1], [-1])
    total = math_ops.reduce_prod(in_shape)
    dense = gradient_ops.unsorted_segment_sum(array_ops.reshape(grad, [-1]), flat_idx, total)
    return [array_ops.reshape(dense, in_shape), None]


NotDifferentiable("InTopKV2")

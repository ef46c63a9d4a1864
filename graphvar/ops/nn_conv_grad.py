"""Gradient rules of the convolution and pooling ops (TF's ``nn_grad.py`` formulas).

Each backprop op takes the same attrs (strides, padding, dilations, data_format) as the op it
differentiates; a shape input is a constant when the static shape is known, ``tf.shape`` otherwise.
"""

from __future__ import annotations

from typing import Any

from graphvar import dtypes
from graphvar.framework.gradient_registry import RegisterGradient
from graphvar.ops import array_ops, shape_ops


def _shape_of(t: Any) -> Any:
    if t.shape.is_fully_defined():
        return array_ops.constant(t.shape.as_list(), dtype=dtypes.int32, name="Shape")
    return shape_ops.shape(t)


def _make(op: Any, op_type: str, inputs: list, drop: tuple = ()) -> Any:
    attrs = {k: v for k, v in op._attrs.items() if k not in drop and not k.startswith("_")}
    return op.graph.create_op(op_type, inputs, attrs, name=op_type).outputs[0]


@RegisterGradient("Conv2D")
def _conv2d_grad(op: Any, grad: Any) -> list:
    x, f = op.inputs
    return [
        _make(op, "Conv2DBackpropInput", [_shape_of(x), f, grad]),
        _make(op, "Conv2DBackpropFilter", [x, _shape_of(f), grad]),
    ]


@RegisterGradient("Conv2DBackpropInput")
def _conv2d_backprop_input_grad(op: Any, grad: Any) -> list:
    _, f, dy = op.inputs
    return [None, _make(op, "Conv2DBackpropFilter", [grad, _shape_of(f), dy]), _make(op, "Conv2D", [grad, f])]


@RegisterGradient("Conv2DBackpropFilter")
def _conv2d_backprop_filter_grad(op: Any, grad: Any) -> list:
    x, _, dy = op.inputs
    return [_make(op, "Conv2DBackpropInput", [_shape_of(x), grad, dy]), None, _make(op, "Conv2D", [x, grad])]


@RegisterGradient("DepthwiseConv2dNative")
def _depthwise_grad(op: Any, grad: Any) -> list:
    x, f = op.inputs
    return [
        _make(op, "DepthwiseConv2dNativeBackpropInput", [_shape_of(x), f, grad]),
        _make(op, "DepthwiseConv2dNativeBackpropFilter", [x, _shape_of(f), grad]),
    ]


@RegisterGradient("MaxPool")
def _max_pool_grad(op: Any, grad: Any) -> Any:
    return _make(op, "MaxPoolGrad", [op.inputs[0], op.outputs[0], grad])


@RegisterGradient("AvgPool")
def _avg_pool_grad(op: Any, grad: Any) -> Any:
    return _make(op, "AvgPoolGrad", [_shape_of(op.inputs[0]), grad])


@RegisterGradient("AvgPoolGrad")
def _avg_pool_grad_grad(op: Any, grad: Any) -> list:
    return [None, _make(op, "AvgPool", [grad])]

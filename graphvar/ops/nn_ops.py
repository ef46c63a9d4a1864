"""tf.nn's primitive ops: activations, bias_add, l2_loss, cross entropies, top_k, in_top_k.

Each op type is TF's (``Relu6``, ``SoftmaxCrossEntropyWithLogits``, ``TopKV2`` ...) with its shape
rule here, its kernel in ``backends/nn_kernels.py`` and its gradient rule in ``ops/nn_grad.py``.
"""

from __future__ import annotations

from typing import Any

from graphvar import dtypes
from graphvar.framework import ops
from graphvar.framework.op_registry import register_op
from graphvar.framework.tensor_shape import TensorShape, unknown_shape
from graphvar.ops._shapes import check_same_dtype

ACTIVATIONS = ("Relu6", "Elu", "Selu", "Softplus", "Softsign", "LeakyRelu")


def check_float(op: Any, t: Any, arg: str = "features") -> None:
    """TypeError naming the op when `t` is not a floating point tensor."""
    if not t.dtype.is_floating:
        raise TypeError(
            f"Value passed to parameter '{arg}' has DataType {t.dtype.name} not in list of allowed values: "
            f"float16, bfloat16, float32, float64 (op {op.name!r} of type {op.type})"
        )


def _float_unary_spec(op: Any) -> list:
    x = op._inputs[0]
    check_float(op, x)
    return [(x.dtype, x.shape)]


def _log_softmax_spec(op: Any) -> list:
    x = op._inputs[0]
    check_float(op, x, "logits")
    if x.shape.ndims == 0:
        raise ValueError("Shape must be at least rank 1 but is rank 0")
    return [(x.dtype, x.shape)]


def _bias_add_spec(op: Any) -> list:
    value, bias = op._inputs
    check_same_dtype(op, value, bias)
    if bias.shape.ndims is not None and bias.shape.ndims != 1:
        raise ValueError(f"Shape must be rank 1 but is rank {bias.shape.ndims}")
    if value.shape.ndims is None:
        return [(value.dtype, unknown_shape())]
    if value.shape.ndims < 2:
        raise ValueError(f"Shape must be at least rank 2 but is rank {value.shape.ndims}")
    channel = 1 if op._attrs["data_format"] == "NCHW" else -1
    c, b = value.shape.as_list()[channel], bias.shape.as_list()[0] if bias.shape.ndims else None
    if c is not None and b is not None and c != b:
        raise ValueError(f"Dimensions must be equal, but are {c} and {b}")
    return [(value.dtype, value.shape)]


def _l2_loss_spec(op: Any) -> list:
    check_float(op, op._inputs[0], "t")
    return [(op._inputs[0].dtype, TensorShape([]))]


def _xent_spec(op: Any) -> list:
    logits, labels = op._inputs
    check_float(op, logits)
    check_same_dtype(op, logits, labels)
    shape = logits.shape.merge_with(labels.shape) if labels.shape.is_compatible_with(logits.shape) else None
    if shape is None:
        raise ValueError(
            f"logits and labels must be broadcastable: logits_size={logits.shape} labels_size={labels.shape}"
        )
    if shape.ndims is None:
        return [(logits.dtype, unknown_shape()), (logits.dtype, unknown_shape())]
    if shape.ndims < 1:
        raise ValueError("logits and labels must have rank at least 1")
    return [(logits.dtype, TensorShape(shape.as_list()[:-1])), (logits.dtype, shape)]


def _sparse_xent_spec(op: Any) -> list:
    logits, labels = op._inputs
    check_float(op, logits)
    if labels.dtype not in (dtypes.int32, dtypes.int64):
        raise TypeError(f"labels of {op.name!r} must be int32 or int64, got {labels.dtype.name}")
    if logits.shape.ndims is None or labels.shape.ndims is None:
        return [(logits.dtype, unknown_shape()), (logits.dtype, logits.shape)]
    if logits.shape.ndims != labels.shape.ndims + 1:
        raise ValueError(
            f"Rank mismatch: Rank of labels (received {labels.shape.ndims}) should equal rank of logits minus 1 "
            f"(received {logits.shape.ndims})."
        )
    batch = TensorShape(logits.shape.as_list()[:-1])
    if not batch.is_compatible_with(labels.shape):
        raise ValueError(f"logits and labels must have the same first dimension, got logits shape {logits.shape} "
                         f"and labels shape {labels.shape}")  # fmt: skip
    return [(logits.dtype, batch.merge_with(labels.shape)), (logits.dtype, logits.shape)]


def _k_value(op: Any) -> int | None:
    k = op._inputs[-1]
    return int(k.op.get_attr("value")) if k.op.type == "Const" else None


def _top_k_spec(op: Any) -> list:
    x = op._inputs[0]
    k = _k_value(op)
    if k is not None and k < 0:
        raise ValueError(f"Need k >= 0, got {k}")
    if x.shape.ndims is None:
        return [(x.dtype, unknown_shape()), (dtypes.int32, unknown_shape())]
    if x.shape.ndims < 1:
        raise ValueError("input must have rank at least 1")
    dims = x.shape.as_list()
    if k is not None and dims[-1] is not None and dims[-1] < k:
        raise ValueError(f"input must have at least k={k} columns, got {dims[-1]}")
    out = TensorShape(dims[:-1] + [k])
    return [(x.dtype, out), (dtypes.int32, out)]


def _in_top_k_spec(op: Any) -> list:
    predictions, targets, _ = op._inputs
    if predictions.shape.ndims not in (None, 2):
        raise ValueError(f"predictions must be rank 2, got rank {predictions.shape.ndims}")
    if targets.shape.ndims not in (None, 1):
        raise ValueError(f"targets must be rank 1, got rank {targets.shape.ndims}")
    batch = TensorShape([predictions.shape.as_list()[0] if predictions.shape.ndims else None])
    return [(dtypes.bool, batch.merge_with(targets.shape) if targets.shape.ndims else batch)]


for _t in ACTIVATIONS:
    register_op(_t, _float_unary_spec)
register_op("LogSoftmax", _log_softmax_spec)
register_op("BiasAdd", _bias_add_spec)
register_op("L2Loss", _l2_loss_spec)
register_op("SoftmaxCrossEntropyWithLogits", _xent_spec)
register_op("SparseSoftmaxCrossEntropyWithLogits", _sparse_xent_spec)
register_op("TopKV2", _top_k_spec)
register_op("InTopKV2", _in_top_k_spec)


def _unary(op_type: str, x: Any, name: str | None, **attrs: Any) -> ops.Tensor:
    t = ops.convert_to_tensor(x)
    return t.graph.create_op(op_type, [t], attrs, name=name or op_type).outputs[0]


def relu6(features: Any, name: str | None = None) -> ops.Tensor:
    """min(max(features, 0), 6)."""
    return _unary("Relu6", features, name)


def elu(features: Any, name: str | None = None) -> ops.Tensor:
    """features where > 0, else exp(features) - 1."""
    return _unary("Elu", features, name)


def selu(features: Any, name: str | None = None) -> ops.Tensor:
    """scale * elu(features, alpha) with the SELU constants (alpha 1.6732..., scale 1.0507...)."""
    return _unary("Selu", features, name)


def softplus(features: Any, name: str | None = None) -> ops.Tensor:
    """log(exp(features) + 1), computed without overflow."""
    return _unary("Softplus", features, name)


def softsign(features: Any, name: str | None = None) -> ops.Tensor:
    """features / (abs(features) + 1)."""
    return _unary("Softsign", features, name)


def leaky_relu(features: Any, alpha: float = 0.2, name: str | None = None) -> ops.Tensor:
    """features where > 0, else alpha * features."""
    return _unary("LeakyRelu", features, name, alpha=float(alpha))


def log_softmax(logits: Any, axis: int | None = None, name: str | None = None, dim: int | None = None) -> ops.Tensor:
    """logits - log(reduce_sum(exp(logits), axis)) along `axis` (default the last; `dim` is TF1's name)."""
    axis = axis if axis is not None else (dim if dim is not None else -1)
    return _unary("LogSoftmax", logits, name, axis=int(axis))


def bias_add(value: Any, bias: Any, data_format: str | None = None, name: str | None = None) -> ops.Tensor:
    """value + bias, bias a 1-D tensor matching the channel dimension (the last, or 1 for NCHW).

    Raises:
      ValueError: bias is not 1-D or its size differs from the channel dimension.
    """
    data_format = data_format or "NHWC"
    if data_format not in ("NHWC", "NCHW"):
        raise ValueError(f"bias_add: data_format must be NHWC or NCHW, got {data_format!r}")
    v = ops.convert_to_tensor(value)
    b = ops.convert_to_tensor(bias, dtype_hint=v.dtype)
    return v.graph.create_op("BiasAdd", [v, b], {"data_format": data_format}, name=name or "BiasAdd").outputs[0]


def l2_loss(t: Any, name: str | None = None) -> ops.Tensor:
    """sum(t ** 2) / 2, a scalar."""
    return _unary("L2Loss", t, name)


def _xent(op_type: str, logits: Any, labels: Any, name: str | None) -> ops.Tensor:
    op = logits.graph.create_op(op_type, [logits, labels], name=name or op_type)
    return op.outputs[0]


def _move_axis_last(t: ops.Tensor, axis: int, what: str) -> ops.Tensor:
    from graphvar.ops import shape_ops

    rank = t.shape.ndims
    if rank is None:
        raise ValueError(f"{what}: the rank of logits must be known to use axis={axis}")
    axis %= rank
    if axis == rank - 1:
        return t
    perm = [i for i in range(rank) if i != axis] + [axis]
    return shape_ops.transpose(t, perm)


def softmax_cross_entropy_with_logits_v2(_sentinel: Any = None, labels: Any = None, logits: Any = None,
                                         axis: int | None = None, name: str | None = None,
                                         dim: int | None = None) -> ops.Tensor:  # fmt: skip
    """Per-example -sum(labels * log_softmax(logits)) along `axis`; gradients flow into labels too.

    Args:
      labels: a distribution over classes per example, the shape of logits.
      logits: unscaled log probabilities (float).
      axis: the class dimension (default the last; `dim` is the deprecated name).
    Returns:
      A tensor of logits' shape without the class dimension.
    Raises:
      ValueError: labels and logits shapes differ, or called positionally.
    """
    if _sentinel is not None or labels is None or logits is None:
        raise ValueError("Only call `softmax_cross_entropy_with_logits` with named arguments (labels=..., logits=...)")
    axis = axis if axis is not None else (dim if dim is not None else -1)
    with ops.name_scope(name, "softmax_cross_entropy_with_logits", [logits, labels]) as scope:
        logits = ops.convert_to_tensor(logits)
        labels = ops.convert_to_tensor(labels, dtype_hint=logits.dtype)
        if labels.dtype != logits.dtype:
            labels = _cast(labels, logits.dtype)
        logits = _move_axis_last(logits, axis, "softmax_cross_entropy_with_logits")
        labels = _move_axis_last(labels, axis, "softmax_cross_entropy_with_logits")
        return _xent("SoftmaxCrossEntropyWithLogits", logits, labels, scope)


def softmax_cross_entropy_with_logits(_sentinel: Any = None, labels: Any = None, logits: Any = None,
                                      dim: int = -1, name: str | None = None, axis: int | None = None) -> ops.Tensor:  # fmt: skip
    """TF1's version: as ``_v2`` but no gradient flows into `labels` (they pass through stop_gradient)."""
    if _sentinel is not None or labels is None or logits is None:
        raise ValueError("Only call `softmax_cross_entropy_with_logits` with named arguments (labels=..., logits=...)")
    with ops.name_scope(name, "softmax_cross_entropy_with_logits_sg", [logits, labels]) as scope:
        labels = _stop_gradient(ops.convert_to_tensor(labels))
        return softmax_cross_entropy_with_logits_v2(labels=labels, logits=logits, axis=axis if axis is not None else dim,
                                                    name=scope)  # fmt: skip


def sparse_softmax_cross_entropy_with_logits(_sentinel: Any = None, labels: Any = None, logits: Any = None,
                                             name: str | None = None) -> ops.Tensor:  # fmt: skip
    """Per-example -log_softmax(logits)[label]; labels are class indices (int32/int64).

    Raises:
      ValueError: ranks or batch sizes differ (at build time).
      InvalidArgumentError: at run time, a label outside [0, num_classes), naming the op.
    """
    if _sentinel is not None or labels is None or logits is None:
        raise ValueError(
            "Only call `sparse_softmax_cross_entropy_with_logits` with named arguments (labels=..., logits=...)"
        )
    with ops.name_scope(name, "SparseSoftmaxCrossEntropyWithLogits", [labels, logits]) as scope:
        logits = ops.convert_to_tensor(logits)
        labels = ops.convert_to_tensor(labels, dtype_hint=dtypes.int32)
        return _xent("SparseSoftmaxCrossEntropyWithLogits", logits, labels, scope)


def top_k(input: Any, k: Any = 1, sorted: bool = True, name: str | None = None) -> tuple[ops.Tensor, ops.Tensor]:  # noqa: A002
    """The k largest entries of the last dimension and their indices (ties: the lower index first).

    Returns:
      (values, indices): values of input's dtype, indices int32, both of shape input.shape[:-1] + [k].
    """
    x = ops.convert_to_tensor(input)
    kt = ops.convert_to_tensor(k, dtype=dtypes.int32)
    op = x.graph.create_op("TopKV2", [x, kt], {"sorted": bool(sorted)}, name=name or "TopKV2")
    return op.outputs[0], op.outputs[1]


def in_top_k(predictions: Any, targets: Any, k: Any, name: str | None = None) -> ops.Tensor:
    """Whether targets[i] is among the k largest predictions[i] (ties count for the target; non-finite: False)."""
    p = ops.convert_to_tensor(predictions)
    t = ops.convert_to_tensor(targets)
    kt = ops.convert_to_tensor(k, dtype=t.dtype)
    return p.graph.create_op("InTopKV2", [p, t, kt], name=name or "in_top_k").outputs[0]


def _cast(t: ops.Tensor, dtype: dtypes.DType) -> ops.Tensor:
    from graphvar.ops import array_ops

    return array_ops.cast(t, dtype)


def _stop_gradient(t: ops.Tensor) -> ops.Tensor:
    from graphvar.ops.gradient_ops import stop_gradient

    return stop_gradient(t)

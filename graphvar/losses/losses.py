"""The TF1 loss functions: elementwise losses handed to ``compute_weighted_loss``."""

from __future__ import annotations

from typing import Any

from graphvar.framework import ops
from graphvar.framework.ops import GraphKeys
from graphvar.losses.losses_impl import Reduction, _pair, compute_weighted_loss
from graphvar.ops import array_ops, gradient_ops, math_ops, shape_ops

_LOSSES = GraphKeys.LOSSES
_DEFAULT = Reduction.SUM_BY_NONZERO_WEIGHTS


def absolute_difference(labels: Any, predictions: Any, weights: Any = 1.0, scope: str | None = None,
                        loss_collection: str | None = _LOSSES, reduction: str = _DEFAULT) -> ops.Tensor:  # fmt: skip
    """|predictions - labels|, weighted and reduced (default: mean over non-zero weights)."""
    with ops.name_scope(scope, "absolute_difference") as s:
        labels, predictions = _pair(labels, predictions, "absolute_difference")
        losses = math_ops.abs(math_ops.subtract(predictions, labels))
        return compute_weighted_loss(losses, weights, s, loss_collection, reduction)


def mean_squared_error(labels: Any, predictions: Any, weights: Any = 1.0, scope: str | None = None,
                       loss_collection: str | None = _LOSSES, reduction: str = _DEFAULT) -> ops.Tensor:  # fmt: skip
    """(predictions - labels)^2, weighted and reduced.

    Example:
      >>> loss = tf.losses.mean_squared_error(labels=y, predictions=y_hat)
    """
    with ops.name_scope(scope, "mean_squared_error") as s:
        labels, predictions = _pair(labels, predictions, "mean_squared_error")
        losses = math_ops.square(math_ops.subtract(predictions, labels))
        return compute_weighted_loss(losses, weights, s, loss_collection, reduction)


def log_loss(labels: Any, predictions: Any, weights: Any = 1.0, epsilon: float = 1e-7, scope: str | None = None,
             loss_collection: str | None = _LOSSES, reduction: str = _DEFAULT) -> ops.Tensor:  # fmt: skip
    """-labels log(p + eps) - (1 - labels) log(1 - p + eps) for probabilities p."""
    with ops.name_scope(scope, "log_loss") as s:
        labels, p = _pair(labels, predictions, "log_loss")
        losses = -labels * math_ops.log(p + epsilon) - (1.0 - labels) * math_ops.log(1.0 - p + epsilon)
        return compute_weighted_loss(losses, weights, s, loss_collection, reduction)


def huber_loss(labels: Any, predictions: Any, weights: Any = 1.0, delta: float = 1.0, scope: str | None = None,
               loss_collection: str | None = _LOSSES, reduction: str = _DEFAULT) -> ops.Tensor:  # fmt: skip
    """0.5 e^2 where |e| <= delta, else 0.5 delta^2 + delta (|e| - delta); e = predictions - labels."""
    with ops.name_scope(scope, "huber_loss") as s:
        labels, predictions = _pair(labels, predictions, "huber_loss")
        abs_error = math_ops.abs(math_ops.subtract(predictions, labels))
        quadratic = math_ops.minimum(abs_error, delta)
        linear = math_ops.subtract(abs_error, quadratic)
        losses = 0.5 * quadratic * quadratic + delta * linear
        return compute_weighted_loss(losses, weights, s, loss_collection, reduction)


def hinge_loss(labels: Any, logits: Any, weights: Any = 1.0, scope: str | None = None,
               loss_collection: str | None = _LOSSES, reduction: str = _DEFAULT) -> ops.Tensor:  # fmt: skip
    """max(0, 1 - (2 labels - 1) logits) for 0/1 labels."""
    with ops.name_scope(scope, "hinge_loss") as s:
        labels, logits = _pair(labels, logits, "hinge_loss")
        losses = math_ops.relu(1.0 - (2.0 * labels - 1.0) * logits)
        return compute_weighted_loss(losses, weights, s, loss_collection, reduction)


def softmax_cross_entropy(onehot_labels: Any, logits: Any, weights: Any = 1.0, label_smoothing: float = 0,
                          scope: str | None = None, loss_collection: str | None = _LOSSES,
                          reduction: str = _DEFAULT) -> ops.Tensor:  # fmt: skip
    """Softmax cross-entropy per example; label_smoothing > 0 mixes the labels with 1/num_classes.

    Raises:
      ValueError: labels and logits of incompatible shapes.
    """
    from graphvar.ops import nn_ops

    with ops.name_scope(scope, "softmax_cross_entropy_loss") as s:
        logits = ops.convert_to_tensor(logits)
        labels = array_ops.cast(ops.convert_to_tensor(onehot_labels), logits.dtype)
        if not logits.shape.is_compatible_with(labels.shape):
            raise ValueError(f"softmax_cross_entropy: Shapes {logits.shape} and {labels.shape} are incompatible")
        if label_smoothing > 0:
            num_classes = array_ops.cast(shape_ops.shape(labels)[-1], logits.dtype)
            labels = labels * (1.0 - label_smoothing) + label_smoothing / num_classes
        labels = gradient_ops.stop_gradient(labels, name="labels_stop_gradient")
        losses = nn_ops.softmax_cross_entropy_with_logits_v2(labels=labels, logits=logits, name="xentropy")
        return compute_weighted_loss(losses, weights, s, loss_collection, reduction)


def sparse_softmax_cross_entropy(labels: Any, logits: Any, weights: Any = 1.0, scope: str | None = None,
                                 loss_collection: str | None = _LOSSES, reduction: str = _DEFAULT) -> ops.Tensor:  # fmt: skip
    """Cross-entropy of class indices `labels` ([batch] or [batch, 1]) against `logits` [batch, classes]."""
    from graphvar.ops import nn_ops

    with ops.name_scope(scope, "sparse_softmax_cross_entropy_loss") as s:
        labels, logits = ops.convert_to_tensor(labels), ops.convert_to_tensor(logits)
        if labels.shape.ndims is not None and logits.shape.ndims is not None:
            if labels.shape.ndims == logits.shape.ndims and labels.shape[-1].value == 1:
                labels = shape_ops.squeeze(labels, axis=[-1])
        losses = nn_ops.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits, name="xentropy")
        return compute_weighted_loss(losses, weights, s, loss_collection, reduction)


def sigmoid_cross_entropy(multi_class_labels: Any, logits: Any, weights: Any = 1.0, label_smoothing: float = 0,
                          scope: str | None = None, loss_collection: str | None = _LOSSES,
                          reduction: str = _DEFAULT) -> ops.Tensor:  # fmt: skip
    """Sigmoid cross-entropy per element; label_smoothing > 0 pulls labels towards 0.5."""
    from graphvar.ops import nn_impl

    with ops.name_scope(scope, "sigmoid_cross_entropy_loss") as s:
        logits = ops.convert_to_tensor(logits)
        labels = array_ops.cast(ops.convert_to_tensor(multi_class_labels), logits.dtype)
        if not logits.shape.is_compatible_with(labels.shape):
            raise ValueError(f"sigmoid_cross_entropy: Shapes {logits.shape} and {labels.shape} are incompatible")
        if label_smoothing > 0:
            labels = labels * (1.0 - label_smoothing) + 0.5 * label_smoothing
        losses = nn_impl.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits, name="logistic_loss")
        return compute_weighted_loss(losses, weights, s, loss_collection, reduction)

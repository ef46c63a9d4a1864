"""``tf.losses`` (TF1): per-element losses reduced by TF1's weighting rules, added to LOSSES.

Every loss computes the elementwise losses, multiplies them by `weights` (broadcast to their shape)
and reduces them by `reduction`; the default, SUM_BY_NONZERO_WEIGHTS, divides the weighted sum by the
number of elements whose weight is not zero (0 when there is none, as TF's div_no_nan). The result is
cast back to the input dtype and added to `loss_collection`.
"""

from __future__ import annotations

from typing import Any

from graphvar import dtypes
from graphvar.framework import ops
from graphvar.framework.ops import GraphKeys
from graphvar.ops import array_ops, gradient_ops, math_ops


class Reduction:
    """How ``compute_weighted_loss`` reduces the weighted losses (TF1's names and values)."""

    NONE = "none"
    SUM = "weighted_sum"
    SUM_OVER_BATCH_SIZE = "weighted_sum_over_batch_size"
    MEAN = "weighted_mean"
    SUM_BY_NONZERO_WEIGHTS = "weighted_sum_by_nonzero_weights"
    SUM_OVER_NONZERO_WEIGHTS = SUM_BY_NONZERO_WEIGHTS

    @classmethod
    def all(cls) -> tuple[str, ...]:
        return (cls.NONE, cls.SUM, cls.MEAN, cls.SUM_OVER_BATCH_SIZE, cls.SUM_OVER_NONZERO_WEIGHTS)

    @classmethod
    def validate(cls, key: str) -> None:
        if key not in cls.all():
            raise ValueError(f"Invalid Reduction Key {key!r}.")


def add_loss(loss: Any, loss_collection: str | None = GraphKeys.LOSSES) -> None:
    """Adds `loss` to `loss_collection` (nothing when it is None)."""
    if loss_collection:
        ops.add_to_collection(loss_collection, loss)


def get_losses(scope: str | None = None, loss_collection: str = GraphKeys.LOSSES) -> list:
    return ops.get_collection(loss_collection, scope)


def get_regularization_losses(scope: str | None = None) -> list:
    return ops.get_collection(GraphKeys.REGULARIZATION_LOSSES, scope)


def get_regularization_loss(scope: str | None = None, name: str = "total_regularization_loss") -> ops.Tensor:
    """The sum of REGULARIZATION_LOSSES (a constant 0.0 when there are none)."""
    losses = get_regularization_losses(scope)
    if losses:
        return gradient_ops.add_n(losses, name=name)
    return array_ops.constant(0.0, name=name)


def get_total_loss(add_regularization_losses: bool = True, name: str = "total_loss", scope: str | None = None) -> ops.Tensor:  # fmt: skip
    """The sum of LOSSES (and REGULARIZATION_LOSSES unless told not to).

    Raises:
      ValueError: there is no loss at all (TF's add_n of nothing).
    """
    losses = get_losses(scope=scope)
    if add_regularization_losses:
        losses = losses + get_regularization_losses(scope)
    if not losses:
        raise ValueError("get_total_loss: no losses in the LOSSES / REGULARIZATION_LOSSES collections")
    return gradient_ops.add_n(losses, name=name)


def _div_no_nan(total: ops.Tensor, count: ops.Tensor) -> ops.Tensor:
    zero = math_ops.equal(count, 0.0)
    safe = gradient_ops.select(zero, array_ops.ones_like(count), count)
    return gradient_ops.select(zero, array_ops.zeros_like(total), math_ops.truediv(total, safe), name="value")


def _num_present(losses: ops.Tensor, weights: Any) -> ops.Tensor:
    """How many elements of `losses` have a non-zero weight (weights broadcast to losses)."""
    if isinstance(weights, (int, float)) and weights != 0:
        return math_ops.reduce_sum(array_ops.ones_like(losses), name="num_present")
    with ops.name_scope(None, "num_present"):
        present = array_ops.cast(math_ops.not_equal(weights, 0.0), dtypes.float32)
        return math_ops.reduce_sum(present * array_ops.ones_like(losses))


def compute_weighted_loss(losses: Any, weights: Any = 1.0, scope: str | None = None,
                          loss_collection: str | None = GraphKeys.LOSSES,
                          reduction: str = Reduction.SUM_BY_NONZERO_WEIGHTS) -> ops.Tensor:  # fmt: skip
    """`losses` * `weights` reduced by `reduction`, cast to the losses' dtype, added to `loss_collection`.

    Raises:
      ValueError: an unknown reduction, or weights that do not broadcast to the losses' shape.
    """
    Reduction.validate(reduction)
    with ops.name_scope(scope, "weighted_loss"):
        losses = ops.convert_to_tensor(losses)
        input_dtype = losses.dtype
        losses = array_ops.cast(losses, dtypes.float32)
        w = array_ops.cast(ops.convert_to_tensor(weights, dtype_hint=dtypes.float32), dtypes.float32)
        if w.shape.ndims and losses.shape.ndims is not None and w.shape.ndims > losses.shape.ndims:
            raise ValueError(f"weights can not be broadcast to values: weights shape {w.shape}, losses shape {losses.shape}")  # fmt: skip
        weighted = math_ops.multiply(losses, w)
        if reduction == Reduction.NONE:
            loss = weighted
        else:
            loss = math_ops.reduce_sum(weighted)
            if reduction == Reduction.MEAN:
                loss = _div_no_nan(loss, math_ops.reduce_sum(array_ops.ones_like(losses) * w))
            elif reduction == Reduction.SUM_BY_NONZERO_WEIGHTS:
                loss = _div_no_nan(loss, _num_present(losses, weights))
            elif reduction == Reduction.SUM_OVER_BATCH_SIZE:
                loss = _div_no_nan(loss, math_ops.reduce_sum(array_ops.ones_like(losses)))
        loss = array_ops.cast(loss, input_dtype)
        add_loss(loss, loss_collection)
        return loss


def _pair(labels: Any, predictions: Any, what: str) -> tuple[ops.Tensor, ops.Tensor]:
    if labels is None or predictions is None:
        raise ValueError(f"{what}: labels and predictions must be given")
    predictions = array_ops.cast(ops.convert_to_tensor(predictions), dtypes.float32)
    labels = array_ops.cast(ops.convert_to_tensor(labels), dtypes.float32)
    if not predictions.shape.is_compatible_with(labels.shape):
        raise ValueError(f"{what}: Shapes {predictions.shape} and {labels.shape} are incompatible")
    return labels, predictions

"""``tf.metrics`` (TF1): streaming metrics as (value tensor, update op) pairs over local variables.

Each metric keeps its running sums in float32 local variables (LOCAL_VARIABLES and METRIC_VARIABLES,
not trainable, zero-initialized) under a variable scope of its name (``accuracy/total``,
``accuracy/count``, ``precision/true_positives/count``...). Run ``tf.local_variables_initializer()``
first; each run of the update op adds one batch, and the value reads the totals so far.
"""

from __future__ import annotations

from typing import Any

from graphvar import dtypes
from graphvar.framework import ops
from graphvar.framework.ops import GraphKeys
from graphvar.ops import array_ops, gradient_ops, math_ops, shape_ops, state_ops
from graphvar.variable_scope import variable_scope
from graphvar.variables import Variable


def metric_variable(shape: list, dtype: Any, name: str) -> Variable:
    """A zero-initialized local variable in LOCAL_VARIABLES and METRIC_VARIABLES."""
    return Variable(array_ops.zeros(shape, dtype), trainable=False, name=name,
                    collections=[GraphKeys.LOCAL_VARIABLES, GraphKeys.METRIC_VARIABLES])  # fmt: skip


def _collect(value: Any, update: Any, metrics_collections: Any, updates_collections: Any) -> tuple:
    if metrics_collections:
        ops.add_to_collections(metrics_collections, value)
    if updates_collections:
        ops.add_to_collections(updates_collections, update)
    return value, update


def _div_no_nan(num: Any, den: Any, name: str) -> Any:
    positive = math_ops.greater(den, 0.0)
    safe = gradient_ops.select(positive, den, array_ops.ones_like(den))
    return gradient_ops.select(positive, math_ops.truediv(num, safe), array_ops.zeros_like(num), name=name)


def _float(x: Any) -> Any:
    return array_ops.cast(ops.convert_to_tensor(x), dtypes.float32)


def _weights(weights: Any, values: Any) -> Any:
    """Weights broadcast to the values' shape (float32), or None."""
    if weights is None:
        return None
    return _float(weights) * array_ops.ones_like(values)


def mean(values: Any, weights: Any = None, metrics_collections: Any = None, updates_collections: Any = None,
         name: str | None = None) -> tuple[ops.Tensor, ops.Tensor]:  # fmt: skip
    """The (weighted) mean of every value seen: (mean, update_op).

    Example:
      >>> m, update = tf.metrics.mean(loss)
      >>> sess.run(tf.local_variables_initializer()); sess.run(update, feed); sess.run(m)
    """
    with variable_scope(name, "mean"):
        values = _float(values)
        total = metric_variable([], dtypes.float32, "total")
        count = metric_variable([], dtypes.float32, "count")
        w = _weights(weights, values)
        if w is None:
            num = array_ops.cast(shape_ops.size(values), dtypes.float32)
        else:
            values, num = values * w, math_ops.reduce_sum(w)
        update_total = state_ops.assign_add(total, math_ops.reduce_sum(values))
        update_count = state_ops.assign_add(count, num)
        value = _div_no_nan(total, count, "value")
        update = _div_no_nan(update_total, update_count, "update_op")
        return _collect(value, update, metrics_collections, updates_collections)


def accuracy(labels: Any, predictions: Any, weights: Any = None, metrics_collections: Any = None,
             updates_collections: Any = None, name: str | None = None) -> tuple[ops.Tensor, ops.Tensor]:  # fmt: skip
    """How often predictions equal labels: (accuracy, update_op).

    Raises:
      ValueError: labels and predictions of incompatible shapes.
    """
    labels, predictions = ops.convert_to_tensor(labels), ops.convert_to_tensor(predictions)
    if not labels.shape.is_compatible_with(predictions.shape):
        raise ValueError(f"accuracy: Shapes {labels.shape} and {predictions.shape} are incompatible")
    if predictions.dtype != labels.dtype:
        predictions = array_ops.cast(predictions, labels.dtype)
    is_correct = array_ops.cast(math_ops.equal(predictions, labels), dtypes.float32)
    return mean(is_correct, weights, metrics_collections, updates_collections, name or "accuracy")


def _count_condition(condition: Any, weights: Any, name: str) -> tuple[ops.Tensor, ops.Tensor]:
    with variable_scope(None, name):
        count = metric_variable([], dtypes.float32, "count")
        c = array_ops.cast(condition, dtypes.float32)
        w = _weights(weights, c)
        update = state_ops.assign_add(count, math_ops.reduce_sum(c if w is None else c * w))
        return array_ops.identity(count), update


def _bools(labels: Any, predictions: Any, what: str) -> tuple[ops.Tensor, ops.Tensor]:
    labels, predictions = ops.convert_to_tensor(labels), ops.convert_to_tensor(predictions)
    if not labels.shape.is_compatible_with(predictions.shape):
        raise ValueError(f"{what}: Shapes {labels.shape} and {predictions.shape} are incompatible")
    return array_ops.cast(labels, dtypes.bool), array_ops.cast(predictions, dtypes.bool)


def _ratio(tp: Any, other: Any, name: str) -> Any:
    return _div_no_nan(tp, tp + other, name)


def precision(labels: Any, predictions: Any, weights: Any = None, metrics_collections: Any = None,
              updates_collections: Any = None, name: str | None = None) -> tuple[ops.Tensor, ops.Tensor]:  # fmt: skip
    """true_positives / (true_positives + false_positives) over booleans: (precision, update_op)."""
    with variable_scope(name, "precision"):
        labels, predictions = _bools(labels, predictions, "precision")
        tp, tp_up = _count_condition(math_ops.logical_and(labels, predictions), weights, "true_positives")
        fp, fp_up = _count_condition(math_ops.logical_and(math_ops.logical_not(labels), predictions), weights,
                                     "false_positives")  # fmt: skip
        return _collect(_ratio(tp, fp, "value"), _ratio(tp_up, fp_up, "update_op"), metrics_collections,
                        updates_collections)  # fmt: skip


def recall(labels: Any, predictions: Any, weights: Any = None, metrics_collections: Any = None,
           updates_collections: Any = None, name: str | None = None) -> tuple[ops.Tensor, ops.Tensor]:  # fmt: skip
    """true_positives / (true_positives + false_negatives) over booleans: (recall, update_op)."""
    with variable_scope(name, "recall"):
        labels, predictions = _bools(labels, predictions, "recall")
        tp, tp_up = _count_condition(math_ops.logical_and(labels, predictions), weights, "true_positives")
        fn, fn_up = _count_condition(math_ops.logical_and(labels, math_ops.logical_not(predictions)), weights,
                                     "false_negatives")  # fmt: skip
        return _collect(_ratio(tp, fn, "value"), _ratio(tp_up, fn_up, "update_op"), metrics_collections,
                        updates_collections)  # fmt: skip


def auc(labels: Any, predictions: Any, weights: Any = None, num_thresholds: int = 200, metrics_collections: Any = None,
        updates_collections: Any = None, curve: str = "ROC", name: str | None = None,
        summation_method: str = "trapezoidal", thresholds: Any = None) -> tuple[ops.Tensor, ops.Tensor]:  # fmt: skip
    """Area under the ROC or PR curve from confusion counts at `num_thresholds` thresholds in [0, 1]
    (TF1's trapezoidal rule; predictions are probabilities).

    Raises:
      ValueError: curve not 'ROC' / 'PR', or a summation method other than 'trapezoidal'.
    """
    if curve not in ("ROC", "PR"):
        raise ValueError(f"curve must be either ROC or PR, {curve} unknown")
    if summation_method != "trapezoidal":
        raise NotImplementedError(f"auc: graphvar implements summation_method='trapezoidal' only, got {summation_method!r}")  # fmt: skip
    eps = 1e-7
    if thresholds is None:
        thresholds = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
        thresholds = [-eps, *thresholds, 1.0 + eps]
    with variable_scope(name, "auc"):
        labels = array_ops.reshape(array_ops.cast(ops.convert_to_tensor(labels), dtypes.float32), [1, -1])
        preds = array_ops.reshape(_float(predictions), [1, -1])
        w = array_ops.ones_like(labels) if weights is None else array_ops.reshape(_float(weights), [1, -1]) * array_ops.ones_like(labels)  # fmt: skip
        above = array_ops.cast(math_ops.greater(preds, array_ops.constant([[t] for t in thresholds])), dtypes.float32)
        sums = {
            "true_positives": above * labels * w, "false_negatives": (1.0 - above) * labels * w,
            "true_negatives": (1.0 - above) * (1.0 - labels) * w, "false_positives": above * (1.0 - labels) * w,
        }  # fmt: skip
        values, updates = {}, {}
        for key, per in sums.items():
            var = metric_variable([len(thresholds)], dtypes.float32, key)
            values[key] = array_ops.identity(var)
            updates[key] = state_ops.assign_add(var, math_ops.reduce_sum(per, axis=1))

        def area(c: dict, name: str) -> Any:
            tp, fn, tn, fp = c["true_positives"], c["false_negatives"], c["true_negatives"], c["false_positives"]
            rec = math_ops.truediv(tp + eps, tp + fn + eps)
            if curve == "ROC":
                x, y = math_ops.truediv(fp, fp + tn + eps), rec
            else:
                x, y = rec, math_ops.truediv(tp + eps, tp + fp + eps)
            return math_ops.reduce_sum((x[:-1] - x[1:]) * (y[:-1] + y[1:]) / 2.0, name=name)

        return _collect(area(values, "value"), area(updates, "update_op"), metrics_collections, updates_collections)

"""``tf.metrics``: TF1's streaming metrics, (value, update_op) pairs over local variables."""

from graphvar.metrics.metrics_impl import accuracy, auc, mean, metric_variable, precision, recall

__all__ = ["accuracy", "auc", "mean", "metric_variable", "precision", "recall"]

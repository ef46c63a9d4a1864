"""``tf.nn``: the activations graphvar provides."""

from graphvar.ops.math_ops import relu, sigmoid, softmax, tanh

__all__ = ["relu", "sigmoid", "softmax", "tanh"]

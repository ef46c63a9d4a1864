"""``tf.layers.Dense`` / ``dense``, ``Dropout`` / ``dropout``, ``Flatten`` / ``flatten`` (TF1 signatures)."""

from __future__ import annotations

import math
from typing import Any

from graphvar import dtypes
from graphvar.framework import ops
from graphvar.layers.base import Layer
from graphvar.ops import array_ops, init_ops, math_ops

ZEROS = init_ops.zeros_initializer()  # TF1's defaults (one shared instance: ruff B008)
ONES = init_ops.ones_initializer()


def apply_bias_activation(outputs: Any, bias: Any, activation: Any, data_format: str = "NHWC") -> Any:
    """outputs + bias (tf.nn.bias_add, named BiasAdd), then the activation if any."""
    if bias is not None:
        from graphvar.ops import nn_ops

        outputs = nn_ops.bias_add(outputs, bias, data_format=data_format, name="BiasAdd")
    return activation(outputs) if activation is not None else outputs


def is_training(training: Any) -> Any:
    """A Python bool, or the bool tensor deciding at run time (TF1's `training=` argument)."""
    if isinstance(training, ops.Tensor) or hasattr(training, "_as_graph_element"):
        t = ops.convert_to_tensor(training)
        if t.dtype != dtypes.bool:
            raise TypeError(f"training must be a Python bool or a bool tensor, got {t.dtype.name} tensor {t.name!r}")
        return t
    return bool(training)


class Dense(Layer):
    """A densely connected layer: ``activation(inputs @ kernel + bias)``; kernel [in, units].

    Example:
      >>> h = tf.layers.dense(x, 128, activation=tf.nn.relu)   # variables dense/kernel, dense/bias
    """

    def __init__(self, units: int, activation: Any = None, use_bias: bool = True, kernel_initializer: Any = None,
                 bias_initializer: Any = ZEROS, kernel_regularizer: Any = None,
                 bias_regularizer: Any = None, activity_regularizer: Any = None, kernel_constraint: Any = None,
                 bias_constraint: Any = None, trainable: bool = True, name: str | None = None, **kwargs: Any) -> None:  # fmt: skip
        super().__init__(trainable=trainable, name=name, **kwargs)
        if int(units) <= 0:
            raise ValueError(f"Dense: units must be a positive integer, got {units!r}")
        self.units, self.activation, self.use_bias = int(units), activation, use_bias
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        self.kernel_regularizer, self.bias_regularizer = kernel_regularizer, bias_regularizer
        self.activity_regularizer = activity_regularizer
        self.kernel_constraint, self.bias_constraint = kernel_constraint, bias_constraint

    def build(self, input_shape: Any) -> None:
        last = input_shape[-1].value if input_shape.ndims else None
        if last is None:
            raise ValueError(f"The last dimension of the inputs to `Dense` should be defined. Found `None` "
                             f"(layer {self.name!r}, input shape {input_shape}).")  # fmt: skip
        self.kernel = self.add_weight("kernel", [last, self.units], initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)  # fmt: skip
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight("bias", [self.units], initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint)  # fmt: skip

    def call(self, inputs: Any) -> Any:
        rank = inputs.shape.ndims
        if rank is not None and rank > 2:
            dims = inputs.shape.as_list()
            flat = array_ops.reshape(inputs, [-1, dims[-1]])
            out = math_ops.matmul(flat, self.kernel, name="Tensordot")
            out = array_ops.reshape(out, [-1 if d is None else d for d in dims[:-1]] + [self.units])
        else:
            out = math_ops.matmul(inputs, self.kernel)
        out = apply_bias_activation(out, self.bias, self.activation)
        if self.activity_regularizer is not None:
            self.add_loss(self.activity_regularizer(out))
        return out


def dense(inputs: Any, units: int, activation: Any = None, use_bias: bool = True, kernel_initializer: Any = None,
          bias_initializer: Any = ZEROS, kernel_regularizer: Any = None,
          bias_regularizer: Any = None, activity_regularizer: Any = None, kernel_constraint: Any = None,
          bias_constraint: Any = None, trainable: bool = True, name: str | None = None, reuse: Any = None) -> Any:  # fmt: skip
    """Functional form of `Dense`; `reuse=True` reuses the weights of the layer called `name`."""
    layer = Dense(units, activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
                  bias_regularizer, activity_regularizer, kernel_constraint, bias_constraint, trainable, name,
                  _reuse=reuse, dtype=_float_dtype(inputs))  # fmt: skip
    return layer(inputs)


def _float_dtype(inputs: Any) -> Any:
    t = ops.convert_to_tensor(inputs)
    return t.dtype if t.dtype.is_floating else None


class Dropout(Layer):
    """Drops each entry with probability `rate` when ``training`` is true (a bool or a bool tensor)."""

    def __init__(self, rate: float = 0.5, noise_shape: Any = None, seed: int | None = None, name: str | None = None,
                 **kwargs: Any) -> None:  # fmt: skip
        super().__init__(name=name, **kwargs)
        self.rate, self.noise_shape, self.seed = rate, noise_shape, seed

    def call(self, inputs: Any, training: Any = False) -> Any:
        from graphvar.ops import nn_impl

        training = is_training(training)
        if training is False:
            return array_ops.identity(inputs)
        dropped = nn_impl.dropout(inputs, rate=self.rate, noise_shape=self.noise_shape, seed=self.seed)
        if training is True:
            return dropped
        from graphvar.ops import array_ops_extra

        return array_ops_extra.where(training, dropped, inputs)


def dropout(inputs: Any, rate: float = 0.5, noise_shape: Any = None, seed: int | None = None, training: Any = False,
            name: str | None = None) -> Any:  # fmt: skip
    """Functional form of `Dropout` (note TF1's default ``training=False``: no dropout unless asked)."""
    return Dropout(rate, noise_shape, seed, name)(inputs, training=training)


class Flatten(Layer):
    """[batch, d1, d2, ...] -> [batch, d1 * d2 * ...]; channels_first inputs are moved to NHWC order first."""

    def __init__(self, data_format: str = "channels_last", name: str | None = None, **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        self.data_format = data_format

    def call(self, inputs: Any) -> Any:
        dims = inputs.shape.as_list() if inputs.shape.ndims is not None else None
        if dims is None or None in dims[1:]:
            raise ValueError(f"Flatten: graphvar needs the non-batch dimensions at build time, got {inputs.shape}")
        if self.data_format == "channels_first" and len(dims) > 2:
            from graphvar.ops import shape_ops

            inputs = shape_ops.transpose(inputs, [0, *range(2, len(dims)), 1])
        return array_ops.reshape(inputs, [-1 if dims[0] is None else dims[0], math.prod(dims[1:])])


def flatten(inputs: Any, name: str | None = None, data_format: str = "channels_last") -> Any:
    return Flatten(data_format=data_format, name=name)(inputs)

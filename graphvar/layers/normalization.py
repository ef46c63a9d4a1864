"""``tf.layers.BatchNormalization`` / ``batch_normalization`` (TF1: moving averages into UPDATE_OPS).

Training normalizes with the batch's mean and (biased) variance and adds two ops to UPDATE_OPS:
``moving -= (moving - batch) * (1 - momentum)``. As TF1's default fused kernel does for 4-D inputs
normalized over the channel axis, the variance fed to the moving average there carries Bessel's
correction (n / (n - 1)); other inputs use the biased variance, as TF's non-fused path.
Inference (training false) uses the moving statistics and adds no updates.
"""

from __future__ import annotations

from typing import Any

from graphvar import dtypes
from graphvar.layers.base import Layer
from graphvar.layers.core import ONES, ZEROS, is_training
from graphvar.ops import array_ops, math_ops, shape_ops, state_ops


class BatchNormalization(Layer):
    """Batch normalization over `axis` (the channel axis); variables gamma, beta, moving_mean, moving_variance."""

    def __init__(self, axis: int = -1, momentum: float = 0.99, epsilon: float = 1e-3, center: bool = True,
                 scale: bool = True, beta_initializer: Any = ZEROS,
                 gamma_initializer: Any = ONES,
                 moving_mean_initializer: Any = ZEROS,
                 moving_variance_initializer: Any = ONES, beta_regularizer: Any = None,
                 gamma_regularizer: Any = None, beta_constraint: Any = None, gamma_constraint: Any = None,
                 renorm: bool = False, renorm_clipping: Any = None, renorm_momentum: float = 0.99, fused: Any = None,
                 trainable: bool = True, virtual_batch_size: Any = None, adjustment: Any = None,
                 name: str | None = None, **kwargs: Any) -> None:  # fmt: skip
        super().__init__(trainable=trainable, name=name, **kwargs)
        if renorm or virtual_batch_size is not None or adjustment is not None:
            raise NotImplementedError("batch_normalization: graphvar has no renorm, virtual_batch_size or adjustment")
        if isinstance(axis, (list, tuple)):
            if len(axis) != 1:
                raise NotImplementedError(f"batch_normalization: one axis only, got {axis!r}")
            axis = axis[0]
        self.axis, self.momentum, self.epsilon = int(axis), float(momentum), float(epsilon)
        self.center, self.scale, self.fused = center, scale, fused
        self.initializers = (beta_initializer, gamma_initializer, moving_mean_initializer, moving_variance_initializer)
        self.beta_regularizer, self.gamma_regularizer = beta_regularizer, gamma_regularizer
        self.beta_constraint, self.gamma_constraint = beta_constraint, gamma_constraint

    def build(self, input_shape: Any) -> None:
        rank = input_shape.ndims
        if rank is None or not -rank <= self.axis < rank:
            raise ValueError(f"batch_normalization: axis {self.axis} does not fit input shape {input_shape}")
        self._axis = self.axis % rank
        depth = input_shape[self._axis].value
        if depth is None:
            raise ValueError(f"batch_normalization: input dimension {self._axis} must be known, got {input_shape}")
        # TF1 fuses (and then Bessel-corrects the moving variance) for 4-D inputs over axis 1 or 3
        self._bessel = rank == 4 and self._axis in (1, 3) and self.fused is not False
        self._dtype = self._dtype if self._dtype in (dtypes.float32, dtypes.float64) else dtypes.float32
        beta_i, gamma_i, mean_i, var_i = self.initializers
        self.gamma = self.add_weight("gamma", [depth], initializer=gamma_i, regularizer=self.gamma_regularizer,
                                     constraint=self.gamma_constraint) if self.scale else None  # fmt: skip
        self.beta = self.add_weight("beta", [depth], initializer=beta_i, regularizer=self.beta_regularizer,
                                    constraint=self.beta_constraint) if self.center else None  # fmt: skip
        self.moving_mean = self.add_weight("moving_mean", [depth], initializer=mean_i, trainable=False)
        self.moving_variance = self.add_weight("moving_variance", [depth], initializer=var_i, trainable=False)

    def _broadcast(self, v: Any, rank: int) -> Any:
        if self._axis == rank - 1:
            return v
        return array_ops.reshape(v, [-1 if i == self._axis else 1 for i in range(rank)])

    def _normalize(self, x: Any, mean: Any, variance: Any) -> Any:
        rank = x.shape.ndims
        inv = math_ops.truediv(1.0, math_ops.sqrt(variance + self.epsilon))
        if self.gamma is not None:
            inv = inv * self.gamma
        shift = -mean * inv if self.beta is None else self.beta - mean * inv
        return x * self._broadcast(inv, rank) + self._broadcast(shift, rank)

    def call(self, inputs: Any, training: Any = False) -> Any:
        training = is_training(training)
        if training is False:
            return self._normalize(inputs, self.moving_mean, self.moving_variance)
        rank = inputs.shape.ndims
        axes = [i for i in range(rank) if i != self._axis]
        mean = math_ops.reduce_mean(inputs, axis=axes, name="mean")
        centered = inputs - self._broadcast(mean, rank)
        variance = math_ops.reduce_mean(math_ops.square(centered), axis=axes, name="variance")
        out = self._normalize(inputs, mean, variance)
        moving_var_value = variance
        if self._bessel:
            n = math_ops.truediv(
                array_ops.cast(shape_ops.size(inputs), self._dtype), float(inputs.shape[self._axis].value)
            )
            moving_var_value = variance * (n / math_ops.maximum(n - 1.0, 1.0))
        decay = 1.0 - self.momentum
        if training is not True:
            from graphvar.ops import array_ops_extra

            out = array_ops_extra.where(training, out, self._normalize(inputs, self.moving_mean, self.moving_variance))
            decay = array_ops_extra.where(training, array_ops.constant(decay, self._dtype),
                                          array_ops.constant(0.0, self._dtype))  # fmt: skip
        self.add_update(state_ops.assign_sub(self.moving_mean, (self.moving_mean - mean) * decay,
                                             name="AssignMovingAvg").op)  # fmt: skip
        self.add_update(state_ops.assign_sub(self.moving_variance, (self.moving_variance - moving_var_value) * decay,
                                             name="AssignMovingAvg_1").op)  # fmt: skip
        return out


def batch_normalization(inputs: Any, axis: int = -1, momentum: float = 0.99, epsilon: float = 1e-3,
                        center: bool = True, scale: bool = True, beta_initializer: Any = ZEROS,
                        gamma_initializer: Any = ONES,
                        moving_mean_initializer: Any = ZEROS,
                        moving_variance_initializer: Any = ONES, beta_regularizer: Any = None,
                        gamma_regularizer: Any = None, beta_constraint: Any = None, gamma_constraint: Any = None,
                        training: Any = False, trainable: bool = True, name: str | None = None, reuse: Any = None,
                        renorm: bool = False, renorm_clipping: Any = None, renorm_momentum: float = 0.99,
                        fused: Any = None, virtual_batch_size: Any = None, adjustment: Any = None) -> Any:  # fmt: skip
    """Functional form of `BatchNormalization`; run the UPDATE_OPS with the train op:

    Example:
      >>> h = tf.layers.batch_normalization(h, training=True)
      >>> with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
      ...     train_op = tf.train.AdamOptimizer(1e-3).minimize(loss)
    """
    layer = BatchNormalization(axis, momentum, epsilon, center, scale, beta_initializer, gamma_initializer,
                               moving_mean_initializer, moving_variance_initializer, beta_regularizer,
                               gamma_regularizer, beta_constraint, gamma_constraint, renorm, renorm_clipping,
                               renorm_momentum, fused, trainable, virtual_batch_size, adjustment, name, _reuse=reuse)  # fmt: skip
    return layer(inputs, training=training)


BatchNorm = BatchNormalization

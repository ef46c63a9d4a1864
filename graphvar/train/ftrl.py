"""``tf.train.FtrlOptimizer``: FTRL-proximal (McMahan et al.) as TF1 implements it (ApplyFtrl / ApplyFtrlV2)."""

from __future__ import annotations

from typing import Any

from graphvar.framework import ops
from graphvar.ops import init_ops, training_ops
from graphvar.train.optimizer import Optimizer, as_dtype_of, hyper_tensor
from graphvar.variables import Variable


class FtrlOptimizer(Optimizer):
    """FTRL-proximal with online L1 / L2 and shrinkage-type L2. Slots "accum" ("<var>/Ftrl", starting at
    initial_accumulator_value) and "linear" ("<var>/Ftrl_1", zeros); `accum_name` / `linear_name` replace
    the suffixes. With l2_shrinkage_regularization_strength > 0 the update op is ApplyFtrlV2.

    Args:
      learning_rate: a Python number, a scalar tensor or a callable.
      learning_rate_power: <= 0; -0.5 (default) is the usual 1 / sqrt(t) decay, 0 a fixed rate.
      initial_accumulator_value: >= 0.
      l1_regularization_strength, l2_regularization_strength, l2_shrinkage_regularization_strength: >= 0.
      beta: added to the L2 strength as beta / (2 * learning_rate) (TF's `beta`; default 0).
      use_locking, name, accum_name, linear_name: as TF1.

    Raises:
      ValueError: a negative strength or accumulator value, or learning_rate_power > 0.

    Example:
      >>> train_op = tf.train.FtrlOptimizer(0.1, l1_regularization_strength=0.001).minimize(loss)
    """

    def __init__(self, learning_rate: Any, learning_rate_power: float = -0.5, initial_accumulator_value: float = 0.1,
                 l1_regularization_strength: float = 0.0, l2_regularization_strength: float = 0.0,
                 use_locking: bool = False, name: str = "Ftrl", accum_name: str | None = None,
                 linear_name: str | None = None, l2_shrinkage_regularization_strength: float = 0.0,
                 beta: float | None = None) -> None:  # fmt: skip
        super().__init__(use_locking, name)
        checks = (("initial_accumulator_value", initial_accumulator_value, 0.0),
                  ("l1_regularization_strength", l1_regularization_strength, 0.0),
                  ("l2_regularization_strength", l2_regularization_strength, 0.0),
                  ("l2_shrinkage_regularization_strength", l2_shrinkage_regularization_strength, 0.0))  # fmt: skip
        for what, value, low in checks:
            if value < low:
                raise ValueError(f"{what} {value} must be greater than or equal to {low}.")
        if learning_rate_power > 0.0:
            raise ValueError(f"learning_rate_power {learning_rate_power} must be less than or equal to 0.0.")
        self._learning_rate, self._learning_rate_power = learning_rate, learning_rate_power
        self._initial_accumulator_value = initial_accumulator_value
        self._l1, self._l2, self._l2_shrinkage = l1_regularization_strength, l2_regularization_strength, \
            l2_shrinkage_regularization_strength  # fmt: skip
        self._beta = 0.0 if beta is None else beta
        self._accum_name, self._linear_name = accum_name, linear_name
        self._tensors: dict[str, ops.Tensor] = {}

    def _create_slots(self, var_list: list[Variable]) -> None:
        for v in var_list:
            init = init_ops.constant_initializer(self._initial_accumulator_value, dtype=v.dtype)
            self._get_or_make_slot_with_initializer(v, init, v.get_shape(), v.dtype, "accum",
                                                    self._accum_name or self._name)  # fmt: skip
            self._zeros_slot(v, "linear", self._linear_name or self._name)

    def _prepare(self) -> None:
        from graphvar.ops import math_ops

        lr = hyper_tensor(self._learning_rate, "learning_rate")
        l2 = self._l2
        if self._beta:
            l2 = self._l2 + self._beta / (2.0 * math_ops.maximum(lr, 1e-36))
        self._tensors = {
            "lr": lr,
            "l1": hyper_tensor(self._l1, "l1_regularization_strength"),
            "l2": ops.convert_to_tensor(l2, name="adjusted_l2_regularization_strength"),
            "l2_shrinkage": hyper_tensor(self._l2_shrinkage, "l2_shrinkage_regularization_strength"),
            "lr_power": hyper_tensor(self._learning_rate_power, "learning_rate_power"),
        }

    def _apply_dense(self, grad: ops.Tensor, var: Variable) -> Any:
        t = {n: as_dtype_of(x, var) for n, x in self._tensors.items()}
        accum, linear = self.get_slot(var, "accum"), self.get_slot(var, "linear")
        if self._l2_shrinkage <= 0.0:
            return training_ops.apply_ftrl(var, accum, linear, grad, t["lr"], t["l1"], t["l2"], t["lr_power"],
                                           use_locking=self._use_locking).op  # fmt: skip
        return training_ops.apply_ftrl_v2(var, accum, linear, grad, t["lr"], t["l1"], t["l2"], t["l2_shrinkage"],
                                          t["lr_power"], use_locking=self._use_locking).op  # fmt: skip

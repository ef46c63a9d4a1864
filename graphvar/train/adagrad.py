"""``tf.train.AdagradOptimizer``: accum += grad * grad; var -= lr * grad / sqrt(accum)."""

from __future__ import annotations

from typing import Any

from graphvar.framework import ops
from graphvar.ops import init_ops, training_ops
from graphvar.train.optimizer import Optimizer, as_dtype_of, hyper_tensor
from graphvar.variables import Variable


class AdagradOptimizer(Optimizer):
    """Adagrad; one slot per variable, "accumulator" (key "<var>/Adagrad", starts at initial_accumulator_value).

    Args:
      learning_rate: a Python number, a scalar tensor or a callable.
      initial_accumulator_value: the accumulators' starting value; must be positive.
      use_locking: passed to the update ops.
      name: the name scope of the update ops and the slots' suffix.

    Raises:
      ValueError: initial_accumulator_value <= 0.

    Example:
      >>> train_op = tf.train.AdagradOptimizer(0.1).minimize(loss)
    """

    def __init__(self, learning_rate: Any, initial_accumulator_value: float = 0.1, use_locking: bool = False,
                 name: str = "Adagrad") -> None:  # fmt: skip
        if initial_accumulator_value <= 0.0:
            raise ValueError(f"initial_accumulator_value must be positive: {initial_accumulator_value}")
        super().__init__(use_locking, name)
        self._learning_rate = learning_rate
        self._initial_accumulator_value = initial_accumulator_value
        self._learning_rate_tensor: ops.Tensor | None = None

    def _create_slots(self, var_list: list[Variable]) -> None:
        for v in var_list:
            init = init_ops.constant_initializer(self._initial_accumulator_value, dtype=v.dtype)
            self._get_or_make_slot_with_initializer(v, init, v.get_shape(), v.dtype, "accumulator", self._name)

    def _prepare(self) -> None:
        self._learning_rate_tensor = hyper_tensor(self._learning_rate, "learning_rate")

    def _apply_dense(self, grad: ops.Tensor, var: Variable) -> Any:
        acc = self.get_slot(var, "accumulator")
        lr = as_dtype_of(self._learning_rate_tensor, var)
        return training_ops.apply_adagrad(var, acc, lr, grad, use_locking=self._use_locking).op

    def _apply_sparse(self, grad: Any, var: Variable) -> Any:
        acc = self.get_slot(var, "accumulator")
        lr = as_dtype_of(self._learning_rate_tensor, var)
        return training_ops.sparse_apply_adagrad(var, acc, lr, grad.values, grad.indices,
                                                 use_locking=self._use_locking).op  # fmt: skip

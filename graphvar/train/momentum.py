"""``tf.train.MomentumOptimizer``: accum = accum * momentum + grad; var -= lr * accum (or Nesterov)."""

from __future__ import annotations

from typing import Any

from graphvar.framework import ops
from graphvar.ops import training_ops
from graphvar.train.optimizer import Optimizer, as_dtype_of, hyper_tensor
from graphvar.variables import Variable


class MomentumOptimizer(Optimizer):
    """Momentum; one slot per variable, "momentum" (checkpoint key "<var>/Momentum", zeros).

    Args:
      learning_rate: a Python number, a scalar tensor or a callable.
      momentum: the momentum (a number or scalar tensor).
      use_locking: passed to the update ops.
      name: the name scope of the update ops and the slots' suffix.
      use_nesterov: var -= grad * lr + accum * momentum * lr instead of var -= accum * lr.

    Example:
      >>> train_op = tf.train.MomentumOptimizer(0.01, 0.9, use_nesterov=True).minimize(loss)
    """

    def __init__(self, learning_rate: Any, momentum: Any, use_locking: bool = False, name: str = "Momentum",
                 use_nesterov: bool = False) -> None:  # fmt: skip
        super().__init__(use_locking, name)
        self._learning_rate, self._momentum, self._use_nesterov = learning_rate, momentum, use_nesterov
        self._learning_rate_tensor: ops.Tensor | None = None
        self._momentum_tensor: ops.Tensor | None = None

    def _create_slots(self, var_list: list[Variable]) -> None:
        for v in var_list:
            self._zeros_slot(v, "momentum", self._name)

    def _prepare(self) -> None:
        self._learning_rate_tensor = hyper_tensor(self._learning_rate, "learning_rate")
        self._momentum_tensor = hyper_tensor(self._momentum, "momentum")

    def _apply_dense(self, grad: ops.Tensor, var: Variable) -> Any:
        mom = self.get_slot(var, "momentum")
        return training_ops.apply_momentum(
            var, mom, as_dtype_of(self._learning_rate_tensor, var), grad, as_dtype_of(self._momentum_tensor, var),
            use_locking=self._use_locking, use_nesterov=self._use_nesterov,
        ).op  # fmt: skip

    def _apply_sparse(self, grad: Any, var: Variable) -> Any:
        mom = self.get_slot(var, "momentum")
        return training_ops.sparse_apply_momentum(
            var, mom, as_dtype_of(self._learning_rate_tensor, var), grad.values, grad.indices,
            as_dtype_of(self._momentum_tensor, var), use_locking=self._use_locking, use_nesterov=self._use_nesterov,
        ).op  # fmt: skip

"""``tf.train.AdadeltaOptimizer``: Zeiler's Adadelta as TF1 implements it (ApplyAdadelta)."""

from __future__ import annotations

from typing import Any

from graphvar.framework import ops
from graphvar.ops import training_ops
from graphvar.train.optimizer import Optimizer, as_dtype_of, hyper_tensor
from graphvar.variables import Variable


class AdadeltaOptimizer(Optimizer):
    """Adadelta. Slots "accum" ("<var>/Adadelta") and "accum_update" ("<var>/Adadelta_1"), zeros.

    Args:
      learning_rate: a Python number, a scalar tensor or a callable (TF1's default 0.001).
      rho: the decay of both accumulators.
      epsilon: added inside both square roots.
      use_locking: passed to the update ops.
      name: the name scope of the update ops and the slots' suffix.

    Example:
      >>> train_op = tf.train.AdadeltaOptimizer(1.0).minimize(loss)
    """

    def __init__(self, learning_rate: Any = 0.001, rho: Any = 0.95, epsilon: Any = 1e-8, use_locking: bool = False,
                 name: str = "Adadelta") -> None:  # fmt: skip
        super().__init__(use_locking, name)
        self._lr, self._rho, self._epsilon = learning_rate, rho, epsilon
        self._tensors: dict[str, ops.Tensor] = {}

    def _create_slots(self, var_list: list[Variable]) -> None:
        for v in var_list:
            self._zeros_slot(v, "accum", self._name)
            self._zeros_slot(v, "accum_update", self._name)

    def _prepare(self) -> None:
        self._tensors = {n: hyper_tensor(x, n) for n, x in (("lr", self._lr), ("rho", self._rho),
                                                             ("epsilon", self._epsilon))}  # fmt: skip

    def _apply_dense(self, grad: ops.Tensor, var: Variable) -> Any:
        t = self._tensors
        return training_ops.apply_adadelta(
            var, self.get_slot(var, "accum"), self.get_slot(var, "accum_update"), as_dtype_of(t["lr"], var),
            as_dtype_of(t["rho"], var), as_dtype_of(t["epsilon"], var), grad, use_locking=self._use_locking,
        ).op  # fmt: skip

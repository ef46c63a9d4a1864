"""``tf.train.RMSPropOptimizer``: TF1's RMSProp, optionally centered and with momentum."""

from __future__ import annotations

from typing import Any

from graphvar.framework import ops
from graphvar.ops import init_ops, training_ops
from graphvar.train.optimizer import Optimizer, as_dtype_of, hyper_tensor
from graphvar.variables import Variable


class RMSPropOptimizer(Optimizer):
    """RMSProp. Slots, in TF's creation order: "rms" ("<var>/RMSProp", starts at 1.0), when centered
    "mg" ("<var>/RMSProp_1", zeros), then "momentum" ("<var>/RMSProp_1", or "_2" when centered, zeros).

    Args:
      learning_rate: a Python number, a scalar tensor or a callable.
      decay: the discount of the running mean of squared gradients (rho).
      momentum: the momentum of the update.
      epsilon: added inside the square root.
      use_locking: passed to the update ops.
      centered: normalize by the variance estimate ms - mg**2 instead of ms.
      name: the name scope of the update ops and the slots' suffix.

    Example:
      >>> train_op = tf.train.RMSPropOptimizer(0.01, momentum=0.9, centered=True).minimize(loss)
    """

    def __init__(self, learning_rate: Any, decay: Any = 0.9, momentum: Any = 0.0, epsilon: Any = 1e-10,
                 use_locking: bool = False, centered: bool = False, name: str = "RMSProp") -> None:  # fmt: skip
        super().__init__(use_locking, name)
        self._learning_rate, self._decay, self._momentum, self._epsilon = learning_rate, decay, momentum, epsilon
        self._centered = centered
        self._tensors: dict[str, ops.Tensor] = {}

    def _create_slots(self, var_list: list[Variable]) -> None:
        for v in var_list:
            ones = init_ops.ones_initializer(dtype=v.dtype)
            self._get_or_make_slot_with_initializer(v, ones, v.get_shape(), v.dtype, "rms", self._name)
            if self._centered:
                self._zeros_slot(v, "mg", self._name)
            self._zeros_slot(v, "momentum", self._name)

    def _prepare(self) -> None:
        params = ("learning_rate", "decay", "momentum", "epsilon")
        values = (self._learning_rate, self._decay, self._momentum, self._epsilon)
        self._tensors = {n: hyper_tensor(x, n) for n, x in zip(params, values)}

    def _hyper(self, var: Variable) -> tuple:
        return tuple(as_dtype_of(self._tensors[n], var) for n in ("learning_rate", "decay", "momentum", "epsilon"))

    def _apply_dense(self, grad: ops.Tensor, var: Variable) -> Any:
        rms, mom = self.get_slot(var, "rms"), self.get_slot(var, "momentum")
        lr, rho, mu, eps = self._hyper(var)
        if self._centered:
            mg = self.get_slot(var, "mg")
            return training_ops.apply_centered_rms_prop(
                var, mg, rms, mom, lr, rho, mu, eps, grad, use_locking=self._use_locking
            ).op
        return training_ops.apply_rms_prop(var, rms, mom, lr, rho, mu, eps, grad, use_locking=self._use_locking).op

    def _apply_sparse(self, grad: Any, var: Variable) -> Any:
        rms, mom = self.get_slot(var, "rms"), self.get_slot(var, "momentum")
        lr, rho, mu, eps = self._hyper(var)
        if self._centered:
            mg = self.get_slot(var, "mg")
            return training_ops.sparse_apply_centered_rms_prop(
                var, mg, rms, mom, lr, rho, mu, eps, grad.values, grad.indices, use_locking=self._use_locking
            ).op
        return training_ops.sparse_apply_rms_prop(
            var, rms, mom, lr, rho, mu, eps, grad.values, grad.indices, use_locking=self._use_locking
        ).op

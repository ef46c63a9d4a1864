"""``tf.train.ProximalGradientDescentOptimizer``: gradient descent with FOBOS L1 / L2 (ApplyProximalGradientDescent)."""

from __future__ import annotations

from typing import Any

from graphvar.framework import ops
from graphvar.ops import training_ops
from graphvar.train.optimizer import Optimizer, as_dtype_of, hyper_tensor
from graphvar.variables import Variable


class ProximalGradientDescentOptimizer(Optimizer):
    """var -= lr * grad, then the L1 soft threshold (lr * l1) and the L2 shrink (1 / (1 + lr * l2)). No slots.

    Example:
      >>> train_op = tf.train.ProximalGradientDescentOptimizer(0.1, l1_regularization_strength=0.01).minimize(loss)
    """

    def __init__(self, learning_rate: Any, l1_regularization_strength: float = 0.0,
                 l2_regularization_strength: float = 0.0, use_locking: bool = False,
                 name: str = "ProximalGradientDescent") -> None:  # fmt: skip
        super().__init__(use_locking, name)
        self._lr, self._l1, self._l2 = learning_rate, l1_regularization_strength, l2_regularization_strength
        self._tensors: dict[str, ops.Tensor] = {}

    def _prepare(self) -> None:
        self._tensors = {"lr": hyper_tensor(self._lr, "learning_rate"),
                         "l1": hyper_tensor(self._l1, "l1_regularization_strength"),
                         "l2": hyper_tensor(self._l2, "l2_regularization_strength")}  # fmt: skip

    def _apply_dense(self, grad: ops.Tensor, var: Variable) -> Any:
        t = {n: as_dtype_of(x, var) for n, x in self._tensors.items()}
        return training_ops.apply_proximal_gradient_descent(var, t["lr"], t["l1"], t["l2"], grad,
                                                            use_locking=self._use_locking).op  # fmt: skip

"""``tf.train.GradientDescentOptimizer``: var -= learning_rate * grad."""

from __future__ import annotations

from typing import Any

from graphvar.framework import ops
from graphvar.ops import state_ops, training_ops
from graphvar.train.optimizer import Optimizer, as_dtype_of, hyper_tensor
from graphvar.variables import Variable


class GradientDescentOptimizer(Optimizer):
    """Plain gradient descent (no slots).

    Args:
      learning_rate: a Python number, a scalar tensor (placeholder, decay schedule) or a callable.
      use_locking: passed to the update ops.
      name: the name scope of the update ops.

    Example:
      >>> train_op = tf.train.GradientDescentOptimizer(0.5).minimize(loss)
    """

    def __init__(self, learning_rate: Any, use_locking: bool = False, name: str = "GradientDescent") -> None:
        super().__init__(use_locking, name)
        self._learning_rate = learning_rate
        self._learning_rate_tensor: ops.Tensor | None = None

    def _prepare(self) -> None:
        self._learning_rate_tensor = hyper_tensor(self._learning_rate, "learning_rate")

    def _apply_dense(self, grad: ops.Tensor, var: Variable) -> Any:
        lr = as_dtype_of(self._learning_rate_tensor, var)
        return training_ops.apply_gradient_descent(var, lr, grad, use_locking=self._use_locking).op

    def _apply_sparse_duplicate_indices(self, grad: Any, var: Variable) -> Any:
        # ScatterSub adds up repeated indices itself, so the gradient is not deduplicated (as TF)
        delta = grad.values * as_dtype_of(self._learning_rate_tensor, var)
        return state_ops.scatter_sub(var, grad.indices, delta, use_locking=self._use_locking).op

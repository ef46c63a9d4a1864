"""``tf.train.AdamOptimizer``: Kingma & Ba's Adam as TF1 implements it."""

from __future__ import annotations

from typing import Any

from graphvar.framework import ops
from graphvar.ops import control_flow_ops, training_ops
from graphvar.train import slot_creator
from graphvar.train.optimizer import Optimizer, as_dtype_of, hyper_tensor
from graphvar.variables import Variable


class AdamOptimizer(Optimizer):
    """Adam. Slots "m" ("<var>/Adam") and "v" ("<var>/Adam_1"), zeros; non-slot float32 scalars
    "beta1_power" and "beta2_power" (a second Adam in the graph gets "beta1_power_1"), multiplied by
    beta1 / beta2 after each step.

    Args:
      learning_rate: a Python number, a scalar tensor or a callable.
      beta1: the decay of the first-moment estimates.
      beta2: the decay of the second-moment estimates.
      epsilon: added to sqrt(v) in the denominator.
      use_locking: passed to the update ops.
      name: the name scope of the update ops and the slots' suffix.

    Example:
      >>> train_op = tf.train.AdamOptimizer(1e-3).minimize(loss)
    """

    def __init__(self, learning_rate: Any = 0.001, beta1: Any = 0.9, beta2: Any = 0.999, epsilon: Any = 1e-08,
                 use_locking: bool = False, name: str = "Adam") -> None:  # fmt: skip
        super().__init__(use_locking, name)
        self._lr, self._beta1, self._beta2, self._epsilon = learning_rate, beta1, beta2, epsilon
        self._tensors: dict[str, ops.Tensor] = {}

    def _get_beta_accumulators(self) -> tuple[Variable | None, Variable | None]:
        graph = ops.get_default_graph()
        return self._get_non_slot_variable("beta1_power", graph), self._get_non_slot_variable("beta2_power", graph)

    def _create_slots(self, var_list: list[Variable]) -> None:
        first_var = min(var_list, key=lambda x: x.name)
        self._create_non_slot_variable(self._beta1, "beta1_power", first_var)
        self._create_non_slot_variable(self._beta2, "beta2_power", first_var)
        for v in var_list:
            self._zeros_slot(v, "m", self._name)
            self._zeros_slot(v, "v", self._name)

    def _prepare(self) -> None:
        params = ("learning_rate", "beta1", "beta2", "epsilon")
        values = (self._lr, self._beta1, self._beta2, self._epsilon)
        self._tensors = {n: hyper_tensor(x, n) for n, x in zip(params, values)}

    def _apply_dense(self, grad: ops.Tensor, var: Variable) -> Any:
        m, v = self.get_slot(var, "m"), self.get_slot(var, "v")
        b1p, b2p = self._get_beta_accumulators()
        t = self._tensors
        return training_ops.apply_adam(
            var, m, v, as_dtype_of(b1p, var), as_dtype_of(b2p, var), as_dtype_of(t["learning_rate"], var),
            as_dtype_of(t["beta1"], var), as_dtype_of(t["beta2"], var), as_dtype_of(t["epsilon"], var), grad,
            use_locking=self._use_locking,
        ).op  # fmt: skip

    def _finish(self, update_ops: list, name_scope: str) -> ops.Operation:
        graph = ops.get_default_graph()
        b1p, b2p = self._get_beta_accumulators()
        with graph.control_dependencies(update_ops), slot_creator.colocated(b1p):
            update_beta1 = b1p.assign(b1p * self._tensors["beta1"], use_locking=self._use_locking)
            update_beta2 = b2p.assign(b2p * self._tensors["beta2"], use_locking=self._use_locking)
        return control_flow_ops.group(*update_ops, update_beta1, update_beta2, name=name_scope)

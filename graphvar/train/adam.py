"""``tf.train.AdamOptimizer``: Kingma & Ba's Adam as TF1 implements it."""

from __future__ import annotations

from typing import Any

from graphvar.framework import ops
from graphvar.ops import control_flow_ops, math_ops, state_ops, training_ops
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

    def _apply_sparse(self, grad: Any, var: Variable) -> Any:
        # TF1's AdamOptimizer._apply_sparse_shared, op for op: m and v decay on every row (an Assign),
        # then the gradient rows are scatter-added, then the whole variable moves.
        b1p, b2p = self._get_beta_accumulators()
        t = self._tensors
        b1p, b2p = as_dtype_of(b1p, var), as_dtype_of(b2p, var)
        lr_t, beta1_t, beta2_t, epsilon_t = (
            as_dtype_of(t[n], var) for n in ("learning_rate", "beta1", "beta2", "epsilon")
        )
        graph = ops.get_default_graph()
        lr = lr_t * math_ops.sqrt(1 - b2p) / (1 - b1p)
        m = self.get_slot(var, "m")
        m_scaled_g_values = grad.values * (1 - beta1_t)
        m_t = state_ops.assign(m, m * beta1_t, use_locking=self._use_locking)
        with graph.control_dependencies([m_t]):
            m_t = state_ops.scatter_add(m, grad.indices, m_scaled_g_values, use_locking=self._use_locking)
        v = self.get_slot(var, "v")
        v_scaled_g_values = _times_decay(grad.values, 1 - beta2_t)
        v_t = state_ops.assign(v, v * beta2_t, use_locking=self._use_locking)
        with graph.control_dependencies([v_t]):
            v_t = state_ops.scatter_add(v, grad.indices, v_scaled_g_values, use_locking=self._use_locking)
        v_sqrt = math_ops.sqrt(v_t)
        var_update = state_ops.assign_sub(var, lr * m_t / (v_sqrt + epsilon_t), use_locking=self._use_locking)
        return control_flow_ops.group(var_update, m_t, v_t)

    def _finish(self, update_ops: list, name_scope: str) -> ops.Operation:
        graph = ops.get_default_graph()
        b1p, b2p = self._get_beta_accumulators()
        with graph.control_dependencies(update_ops), slot_creator.colocated(b1p):
            update_beta1 = b1p.assign(b1p * self._tensors["beta1"], use_locking=self._use_locking)
            update_beta2 = b2p.assign(b2p * self._tensors["beta2"], use_locking=self._use_locking)
        return control_flow_ops.group(*update_ops, update_beta1, update_beta2, name=name_scope)


def _times_decay(g: ops.Tensor, one_minus_beta2: ops.Tensor) -> ops.Tensor:
    """TF1's ``(g * g) * (1 - beta2_t)`` as TensorFlow executes it: when beta2 is a constant (a Python
    number), Grappler's constant folding pushes the constant down, ``g * (g * (1 - beta2))`` (measured:
    the two differ by an ULP in v on a third of the rows); a tensor beta2 keeps the written order."""
    if _is_constant(one_minus_beta2):
        return g * (g * one_minus_beta2)
    return (g * g) * one_minus_beta2


def _is_constant(t: ops.Tensor) -> bool:
    """Whether Grappler would fold `t` to a constant: only Const ops below it (through Cast, Identity, Sub...)."""
    seen, stack = set(), [t.op]
    while stack:
        op = stack.pop()
        if op in seen:
            continue
        seen.add(op)
        if op.type == "Const":
            continue
        if op.type not in ("Cast", "Identity", "Sub", "Add", "Mul", "RealDiv", "Neg") or not op.inputs:
            return False
        stack.extend(x.op for x in op.inputs)
    return True

"""``tf.train.ExponentialMovingAverage`` and ``assign_moving_average`` (TF1's training/moving_averages.py).

Each averaged variable ``v`` gets a shadow variable ``v/ExponentialMovingAverage`` (a slot: global,
not trainable, starting at v's initial value; a tensor's starts at zeros), and ``apply`` adds one
``AssignSub(shadow, (shadow - v) * (1 - decay))`` per variable, TF's float32 operations in TF's order.
``variables_to_restore`` maps the shadows' checkpoint keys onto the model's variables, so an evaluation
graph restores the averaged weights in place of the trained ones.
"""

from __future__ import annotations

from typing import Any

from graphvar import dtypes
from graphvar.framework import ops
from graphvar.framework.ops import GraphKeys
from graphvar.ops import array_ops, control_flow_ops, init_ops, math_ops, state_ops
from graphvar.train import slot_creator
from graphvar.variables import Variable, global_variables, trainable_variables

MOVING_AVERAGE_VARIABLES = "moving_average_variables"  # TF's GraphKeys.MOVING_AVERAGE_VARIABLES
_FLOATS = (dtypes.bfloat16, dtypes.float16, dtypes.float32, dtypes.float64)


def _key(x: Any) -> tuple:
    return (id(x.graph), x.name)  # Variables overload operators; key them by name, never by ==


def assign_moving_average(variable: Variable, value: Any, decay: Any, zero_debias: bool = True,
                          name: str | None = None) -> ops.Tensor:  # fmt: skip
    """variable -= (variable - value) * (1 - decay), in place; with zero_debias, variable is set to a
    debiased average kept in ``<variable>/biased`` and ``<variable>/local_step`` (as TF1).

    Returns:
      The updated variable's value.
    """
    with ops.name_scope(name, "AssignMovingAvg", [variable, value, decay]) as scope:
        one_minus = ops.convert_to_tensor(1.0 - ops.convert_to_tensor(decay), name="decay")
        if one_minus.dtype != variable.dtype:
            one_minus = array_ops.cast(one_minus, variable.dtype)
        if zero_debias:
            return _zero_debias(variable, value, one_minus)
        return state_ops.assign_sub(variable, (variable - value) * one_minus, name=scope)


def _zero_debias(unbiased: Variable, value: Any, one_minus: ops.Tensor) -> ops.Tensor:
    from graphvar.variable_scope import get_variable, variable_scope

    graph = unbiased.graph
    with graph.control_dependencies(None), variable_scope(unbiased.op.name):
        biased = get_variable("biased", shape=unbiased.get_shape(), dtype=unbiased.dtype,
                              initializer=init_ops.zeros_initializer(), trainable=False)  # fmt: skip
        local_step = get_variable("local_step", shape=[], dtype=unbiased.dtype,
                                  initializer=init_ops.zeros_initializer(), trainable=False)  # fmt: skip
    update_biased = state_ops.assign_sub(biased, (biased - value) * one_minus)
    update_local_step = state_ops.assign_add(local_step, ops.convert_to_tensor(1, dtype=unbiased.dtype))
    bias_factor = 1 - math_ops.pow(1.0 - one_minus, update_local_step)
    return state_ops.assign(unbiased, update_biased / bias_factor)


class ExponentialMovingAverage:
    """Keeps exponential moving averages of variables (and tensors): shadow = decay * shadow + (1 - decay) * v.

    Args:
      decay: the decay (a number or scalar tensor), typically 0.999 .. 0.9999.
      num_updates: optional step count; the decay used is then min(decay, (1 + n) / (10 + n)).
      zero_debias: debias the averages of tensors (not of variables), as TF1.
      name: the shadows' suffix and the name scope of the update ops.

    Example:
      >>> ema = tf.train.ExponentialMovingAverage(0.999, num_updates=global_step)
      >>> with tf.control_dependencies([train_op]):
      ...     train_op = ema.apply(tf.trainable_variables())
      >>> saver = tf.train.Saver(ema.variables_to_restore())  # evaluation: averaged weights
    """

    def __init__(self, decay: Any, num_updates: Any = None, zero_debias: bool = False,
                 name: str = "ExponentialMovingAverage") -> None:  # fmt: skip
        self._decay, self._num_updates, self._zero_debias, self._name = decay, num_updates, zero_debias, name
        self._averages: dict[tuple, Variable] = {}
        self._debiased: set[tuple] = set()

    @property
    def name(self) -> str:
        return self._name

    def apply(self, var_list: Any = None) -> ops.Operation:
        """Creates the shadows (once per variable) and returns the op updating them all.

        Args:
          var_list: Variables and / or float tensors (default: the trainable variables).

        Returns:
          An op (named after the EMA) that updates every shadow.

        Raises:
          TypeError: a variable or tensor that is not half, float or double.
          ValueError: a variable given twice in one call.
        """
        var_list = trainable_variables() if var_list is None else list(var_list)
        keys = [_key(v) for v in var_list]
        if len(set(keys)) != len(keys):
            raise ValueError(f"Using a variable twice in ExponentialMovingAverage.apply: {[v.name for v in var_list]}")
        for var, k in zip(var_list, keys):
            if var.dtype not in _FLOATS:
                raise TypeError(f"The variables must be half, float, or double: {var.name}")
            if k not in self._averages:
                self._averages[k] = self._create_shadow(var)
        graph = var_list[0].graph if var_list else ops.get_default_graph()
        with graph.as_default(), ops.name_scope(self._name) as scope:
            decay = ops.convert_to_tensor(self._decay, name="decay")
            if self._num_updates is not None:
                n = array_ops.cast(self._num_updates, dtypes.float32, name="num_updates")
                decay = math_ops.minimum(decay, (1.0 + n) / (10.0 + n))
            updates = [assign_moving_average(self._averages[k], var, decay, zero_debias=k in self._debiased)
                       for var, k in zip(var_list, keys)]  # fmt: skip
            return control_flow_ops.group(*updates, name=scope)

    def _create_shadow(self, var: Any) -> Variable:
        graph = var.graph
        with graph.as_default(), graph.control_dependencies(None):
            if isinstance(var, Variable):
                initial = var.initialized_value()
                shadow = slot_creator.create_slot_with_initializer(
                    var, lambda shape, dtype=None: initial, var.get_shape(), var.dtype, self._name
                )
                if var not in graph.get_collection(MOVING_AVERAGE_VARIABLES):
                    graph.add_to_collection(MOVING_AVERAGE_VARIABLES, var)
                return shadow
            shadow = slot_creator.create_zeros_slot(var, self._name)
            if self._zero_debias:
                self._debiased.add(_key(var))
            return shadow

    def average(self, var: Any) -> Variable | None:
        """The shadow variable of `var`, or None."""
        return self._averages.get(_key(var))

    def average_name(self, var: Any) -> str:
        """The op name (checkpoint key) of `var`'s shadow: ``<var op name>/<EMA name>``."""
        shadow = self.average(var)
        return shadow.op.name if shadow is not None else f"{var.op.name}/{self._name}"

    def variables_to_restore(self, moving_avg_variables: Any = None) -> dict[str, Variable]:
        """A Saver var_list restoring each averaged variable from its shadow's key, the rest under their own.

        Args:
          moving_avg_variables: the averaged variables (default: the trainable variables and those
            in the moving-average collection).

        Returns:
          A dict checkpoint key -> variable.
        """
        if moving_avg_variables is None:
            moving_avg_variables = trainable_variables() + ops.get_collection(MOVING_AVERAGE_VARIABLES)
        averaged = {_key(v): v for v in moving_avg_variables}
        name_map = {self.average_name(v): v for v in averaged.values()}
        names = {v.name for v in averaged.values()}
        for v in global_variables():
            if v.name not in names and v.op.name not in name_map:
                name_map[v.op.name] = v
        return name_map


GraphKeys.MOVING_AVERAGE_VARIABLES = MOVING_AVERAGE_VARIABLES

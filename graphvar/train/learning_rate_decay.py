"""TF1's learning-rate schedules (tensorflow/python/training/learning_rate_decay.py): each builds a
scalar tensor of the global step, computed in the learning rate's dtype with TF's formula and op order.
"""

from __future__ import annotations

from typing import Any

from graphvar.framework import ops
from graphvar.ops import array_ops, math_ops, training_ops


def _require_step(global_step: Any, fn: str) -> None:
    if global_step is None:
        raise ValueError(f"global_step is required for {fn}.")


def exponential_decay(learning_rate: Any, global_step: Any, decay_steps: Any, decay_rate: Any,
                      staircase: bool = False, name: str | None = None) -> ops.Tensor:  # fmt: skip
    """learning_rate * decay_rate ** (global_step / decay_steps) (the exponent floored when staircase).

    Args:
      learning_rate: the initial learning rate (number or scalar tensor).
      global_step: the step (an integer variable such as tf.train.get_or_create_global_step()).
      decay_steps: steps per decay period; decay_rate: the factor per period.
      staircase: decay in discrete intervals.
      name: the name of the result (default "ExponentialDecay").

    Returns:
      The decayed learning rate, a scalar tensor of learning_rate's dtype.

    Raises:
      ValueError: global_step is None.

    Example:
      >>> lr = tf.train.exponential_decay(0.1, global_step, 1000, 0.96, staircase=True)
    """
    _require_step(global_step, "exponential_decay")
    graph = ops.get_default_graph()
    with graph.name_scope(name or "ExponentialDecay") as scope:
        lr = ops.convert_to_tensor(learning_rate, name="learning_rate")
        p = math_ops.truediv(array_ops.cast(global_step, lr.dtype), array_ops.cast(decay_steps, lr.dtype))
        if staircase:
            p = training_ops.floor(p)
        return math_ops.multiply(lr, math_ops.pow(array_ops.cast(decay_rate, lr.dtype), p), name=scope)


def natural_exp_decay(learning_rate: Any, global_step: Any, decay_steps: Any, decay_rate: Any,
                      staircase: bool = False, name: str | None = None) -> ops.Tensor:  # fmt: skip
    """learning_rate * exp(-decay_rate * global_step / decay_steps): exponential_decay with rate exp(-decay_rate).

    Raises:
      ValueError: global_step is None.
    """
    _require_step(global_step, "natural_exp_decay")
    rate = math_ops.exp(math_ops.negative(ops.convert_to_tensor(decay_rate)))
    return exponential_decay(learning_rate, global_step, decay_steps, rate, staircase=staircase, name=name)


def inverse_time_decay(learning_rate: Any, global_step: Any, decay_steps: Any, decay_rate: Any,
                       staircase: bool = False, name: str | None = None) -> ops.Tensor:  # fmt: skip
    """learning_rate / (1 + decay_rate * global_step / decay_steps) (the quotient floored when staircase).

    Raises:
      ValueError: global_step is None.
    """
    _require_step(global_step, "inverse_time_decay")
    graph = ops.get_default_graph()
    with graph.name_scope(name or "InverseTimeDecay") as scope:
        lr = ops.convert_to_tensor(learning_rate, name="learning_rate")
        dtype = lr.dtype
        p = math_ops.truediv(array_ops.cast(global_step, dtype), array_ops.cast(decay_steps, dtype))
        if staircase:
            p = training_ops.floor(p)
        denom = math_ops.add(
            array_ops.constant(1, dtype=dtype), math_ops.multiply(array_ops.cast(decay_rate, dtype), p)
        )
        return math_ops.truediv(lr, denom, name=scope)


def polynomial_decay(learning_rate: Any, global_step: Any, decay_steps: Any, end_learning_rate: Any = 0.0001,
                     power: Any = 1.0, cycle: bool = False, name: str | None = None) -> ops.Tensor:  # fmt: skip
    """(learning_rate - end) * (1 - step / decay_steps) ** power + end, with step capped at decay_steps,
    or (cycle) decay_steps stretched to the first multiple of itself not below the step.

    Raises:
      ValueError: global_step is None.
    """
    _require_step(global_step, "polynomial_decay")
    graph = ops.get_default_graph()
    with graph.name_scope(name or "PolynomialDecay") as scope:
        lr = ops.convert_to_tensor(learning_rate, name="learning_rate")
        dtype = lr.dtype
        end = array_ops.cast(end_learning_rate, dtype)
        pw = array_ops.cast(power, dtype)
        step = array_ops.cast(global_step, dtype)
        steps = array_ops.cast(decay_steps, dtype)
        if cycle:
            ratio = training_ops.ceil(math_ops.truediv(step, ops.convert_to_tensor(decay_steps, dtype=dtype)))
            multiplier = training_ops.where_v2(math_ops.equal(step, array_ops.constant(0, dtype=dtype)),
                                               array_ops.constant(1, dtype=dtype), ratio)  # fmt: skip
            steps = math_ops.multiply(steps, multiplier)
        else:
            step = math_ops.minimum(step, steps)
        p = math_ops.truediv(step, steps)
        one_minus = math_ops.subtract(array_ops.constant(1, dtype=dtype), p)
        return math_ops.add(math_ops.multiply(lr - end, math_ops.pow(one_minus, pw)), end, name=scope)


def piecewise_constant(x: Any, boundaries: list, values: list, name: str | None = None) -> ops.Tensor:
    """values[0] while x <= boundaries[0], values[i] while boundaries[i-1] < x <= boundaries[i],
    values[-1] once x > boundaries[-1].

    Raises:
      ValueError: len(boundaries) != len(values) - 1, or the values have different dtypes.

    Example:
      >>> lr = tf.train.piecewise_constant(global_step, [100000, 110000], [1.0, 0.5, 0.1])
    """
    if len(boundaries) != len(values) - 1:
        raise ValueError("The length of boundaries should be 1 less than the length of values")
    graph = ops.get_default_graph()
    with graph.name_scope(name or "PiecewiseConstant") as scope:
        xt = ops.convert_to_tensor(x)
        vals = [ops.convert_to_tensor(v) for v in values]
        for v in vals[1:]:
            if v.dtype != vals[0].dtype:
                raise ValueError(
                    f"Values must have elements all with the same dtype ({vals[0].dtype.name} vs {v.dtype.name})."
                )
        bounds = [array_ops.cast(ops.convert_to_tensor(b), xt.dtype) for b in boundaries]
        result = vals[-1]
        for i in range(len(bounds) - 1, -1, -1):
            last = i == 0
            result = training_ops.where_v2(math_ops.less_equal(xt, bounds[i]), vals[i], result,
                                           name=scope if last else None)  # fmt: skip
        return result

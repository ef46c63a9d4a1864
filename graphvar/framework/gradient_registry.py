"""Gradient rules: one function per op type, registered next to the op's module.

A rule is ``fn(op, *output_grads) -> gradient or list of gradients, one per input`` (None for an
input that gets no gradient), exactly as TF's ``@tf.RegisterGradient("OpType")``. Rules build
ordinary graph ops, so gradients run on the same backends as everything else.

Example:
  >>> @tf.RegisterGradient("MySquare")
  ... def _my_square_grad(op, grad):
  ...     return grad * 2.0 * op.inputs[0]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_RULES: dict[str, Callable[..., Any] | None] = {}


class RegisterGradient:
    """Decorator registering the gradient rule of an op type (KeyError if it already has one)."""

    def __init__(self, op_type: str) -> None:
        if not isinstance(op_type, str):
            raise TypeError(f"op_type must be a string, got {op_type!r}")
        self._op_type = op_type

    def __call__(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        if self._op_type in _RULES:
            raise KeyError(f"Registering two gradient with name '{self._op_type}'!")
        _RULES[self._op_type] = fn
        return fn


def NotDifferentiable(op_type: str) -> None:  # noqa: N802 - TF's name
    """Declares that ops of `op_type` pass no gradient to their inputs (e.g. Shape, ArgMax)."""
    if not isinstance(op_type, str):
        raise TypeError(f"op_type must be a string, got {op_type!r}")
    if op_type in _RULES:
        raise KeyError(f"Registering two gradient with name '{op_type}'!")
    _RULES[op_type] = None


NoGradient = NotDifferentiable


def get_gradient_function(op: Any) -> Callable[..., Any] | None:
    """The rule for `op` (honouring the graph's gradient_override_map); None when not differentiable.

    Raises:
      LookupError: no rule is registered for the op's type (TF's message).
    """
    op_type = op.get_attr("_gradient_op_type") if "_gradient_op_type" in op._attrs else op.type
    try:
        return _RULES[op_type]
    except KeyError:
        raise LookupError(f"No gradient defined for operation '{op.name}' (op type: {op_type})") from None


def is_registered(op_type: str) -> bool:
    return op_type in _RULES

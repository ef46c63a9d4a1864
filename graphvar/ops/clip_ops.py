"""tf.clip_by_value, tf.clip_by_norm, tf.clip_by_global_norm, tf.global_norm: built from existing ops
(TF1's own formulations), so their gradients are the composition of the parts'."""

from __future__ import annotations

from typing import Any

from graphvar.framework import ops
from graphvar.ops import array_ops, math_ops
from graphvar.ops import math_ops_extra as mx
from graphvar.ops.array_ops_extra import where


def clip_by_value(t: Any, clip_value_min: Any, clip_value_max: Any, name: str | None = None) -> ops.Tensor:
    """min(max(t, clip_value_min), clip_value_max) elementwise.

    Raises:
      ValueError: the clipped tensor's shape differs from t's (the bounds broadcast wider).
    """
    with ops.name_scope(name, "clip_by_value", [t, clip_value_min, clip_value_max]) as scope:
        values = ops.convert_to_tensor(t)
        t_min = math_ops.minimum(values, clip_value_max)
        if not t_min.shape.is_compatible_with(values.shape):
            raise ValueError(f"clip_by_value: clipping changes the shape {values.shape} to {t_min.shape}")
        return math_ops.maximum(t_min, clip_value_min, name=scope)


def clip_by_norm(t: Any, clip_norm: Any, axes: Any = None, name: str | None = None) -> ops.Tensor:
    """t * clip_norm / max(l2norm(t, axes), clip_norm): t rescaled so its L2 norm is at most clip_norm."""
    with ops.name_scope(name, "clip_by_norm", [t, clip_norm]) as scope:
        values = ops.convert_to_tensor(t)
        l2sum = math_ops.reduce_sum(values * values, axes, keepdims=True)
        pred = math_ops.greater(l2sum, 0)
        l2sum_safe = where(pred, l2sum, array_ops.ones_like(l2sum))
        l2norm = where(pred, math_ops.sqrt(l2sum_safe), l2sum)
        clip = ops.convert_to_tensor(clip_norm, dtype_hint=values.dtype)
        return math_ops.truediv(values * clip, math_ops.maximum(l2norm, clip), name=scope)


def _values(t: Any) -> Any:
    return getattr(t, "values", t) if t is not None and not isinstance(t, ops.Tensor) else t


def global_norm(t_list: Any, name: str | None = None) -> ops.Tensor:
    """sqrt(sum of the squared L2 norms of the tensors in t_list); None entries are skipped.

    Raises:
      TypeError: t_list is not a list or tuple.
    """
    if not isinstance(t_list, (list, tuple)):
        raise TypeError("t_list should be a sequence")
    from graphvar.ops import nn_ops

    with ops.name_scope(name, "global_norm", list(t_list)) as scope:
        values = [ops.convert_to_tensor(_values(t)) for t in t_list if t is not None]
        half_squares = [nn_ops.l2_loss(v) for v in values]
        total = half_squares[0] if len(half_squares) == 1 else _add_n(half_squares)
        return math_ops.sqrt(total * 2.0, name=scope)


def _add_n(ts: list) -> ops.Tensor:
    total = ts[0]
    for t in ts[1:]:
        total = total + t
    return total


def clip_by_global_norm(t_list: Any, clip_norm: Any, use_norm: Any = None, name: str | None = None) -> tuple:
    """Scales every tensor by clip_norm / max(global_norm, clip_norm).

    Returns:
      (list of clipped tensors (None stays None; IndexedSlices keep their indices), the global norm).
    Raises:
      TypeError: t_list is not a list or tuple.
    """
    if not isinstance(t_list, (list, tuple)):
        raise TypeError("t_list should be a sequence")
    t_list = list(t_list)
    with ops.name_scope(name, "clip_by_global_norm", t_list):
        norm = use_norm if use_norm is not None else global_norm(t_list, "global_norm")
        clip = ops.convert_to_tensor(clip_norm, dtype_hint=norm.dtype)
        scale = clip * math_ops.minimum(mx.reciprocal(norm), mx.reciprocal(clip))
        return [_scaled(t, scale) for t in t_list], norm


def _scaled(t: Any, scale: ops.Tensor) -> Any:
    if t is None:
        return None
    if isinstance(t, ops.Tensor) or not hasattr(t, "indices"):
        v = ops.convert_to_tensor(t)
        return array_ops.identity(v * array_ops.cast(scale, v.dtype))
    return type(t)(t.values * array_ops.cast(scale, t.values.dtype), t.indices, t.dense_shape)

"""tf.nn functions built from other ops (TF1's own formulations, so gradients come from the parts):
sigmoid / weighted cross entropy, dropout, moments, batch_normalization, l2_normalize, embedding_lookup."""

from __future__ import annotations

import numbers
from typing import Any

from graphvar import dtypes
from graphvar.framework import ops
from graphvar.ops import array_ops, array_ops_extra, gradient_ops, math_ops, random_ops, shape_ops
from graphvar.ops import math_ops_extra as mx


def _named_pair(labels: Any, logits: Any, what: str) -> tuple[ops.Tensor, ops.Tensor]:
    logits = ops.convert_to_tensor(logits)
    labels = ops.convert_to_tensor(labels, dtype_hint=logits.dtype)
    if labels.dtype != logits.dtype:
        labels = array_ops.cast(labels, logits.dtype)
    if not logits.shape.is_compatible_with(labels.shape):
        raise ValueError(f"{what}: logits and labels must have the same shape ({logits.shape} vs {labels.shape})")
    return labels, logits


def sigmoid_cross_entropy_with_logits(_sentinel: Any = None, labels: Any = None, logits: Any = None,
                                      name: str | None = None) -> ops.Tensor:  # fmt: skip
    """Elementwise max(x, 0) - x * z + log(1 + exp(-|x|)) for logits x and labels z (no overflow).

    Raises:
      ValueError: positional arguments, or shapes that differ.
    """
    if _sentinel is not None or labels is None or logits is None:
        raise ValueError("Only call `sigmoid_cross_entropy_with_logits` with named arguments (labels=..., logits=...)")
    with ops.name_scope(name, "logistic_loss", [logits, labels]) as scope:
        labels, logits = _named_pair(labels, logits, "sigmoid_cross_entropy_with_logits")
        zeros = array_ops.zeros_like(logits)
        cond = math_ops.greater_equal(logits, zeros)
        relu_logits = array_ops_extra.where(cond, logits, zeros)
        neg_abs_logits = array_ops_extra.where(cond, -logits, logits)
        return math_ops.add(relu_logits - logits * labels, mx.log1p(math_ops.exp(neg_abs_logits)), name=scope)


def weighted_cross_entropy_with_logits(labels: Any = None, logits: Any = None, pos_weight: Any = None,
                                       name: str | None = None, targets: Any = None) -> ops.Tensor:  # fmt: skip
    """Sigmoid cross entropy with the positive term weighted by `pos_weight` (`targets`: TF1's name for labels)."""
    labels = labels if labels is not None else targets
    if labels is None or logits is None or pos_weight is None:
        raise ValueError("weighted_cross_entropy_with_logits needs labels (or targets), logits and pos_weight")
    with ops.name_scope(name, "logistic_loss", [logits, labels]) as scope:
        labels, logits = _named_pair(labels, logits, "weighted_cross_entropy_with_logits")
        log_weight = 1 + (pos_weight - 1) * labels
        softplus_neg_abs = mx.log1p(math_ops.exp(-math_ops.abs(logits)))
        relu_neg = math_ops.relu(-logits)
        return math_ops.add((1 - labels) * logits, log_weight * (softplus_neg_abs + relu_neg), name=scope)


def _const_value(t: Any) -> Any:
    if isinstance(t, numbers.Real):
        return float(t)
    if isinstance(t, ops.Tensor) and t.op.type == "Const":
        return float(t.op.get_attr("value"))
    return None


def dropout(x: Any, keep_prob: Any = None, noise_shape: Any = None, seed: int | None = None, name: str | None = None,
            rate: Any = None) -> ops.Tensor:  # fmt: skip
    """Zeroes each entry with probability `rate` (= 1 - keep_prob) and scales the rest by 1 / (1 - rate).

    The mask comes from a RandomUniform op under TF1's seed rules, so a seeded dropout draws the same
    mask on every backend and a new Session starts the sequence again.

    Args:
      x: a floating point tensor.
      keep_prob: TF1's (deprecated) probability of keeping an entry; give this or `rate`.
      noise_shape: the shape of the mask (broadcast against x), default x's shape.
      seed: the op seed (see tf.set_random_seed).
      rate: the probability of dropping an entry, in [0, 1).
    Returns:
      A tensor of x's shape.
    Raises:
      ValueError: neither or both of keep_prob and rate, or a constant rate outside [0, 1).
    """
    if (keep_prob is None) == (rate is None):
        raise ValueError("dropout: give exactly one of keep_prob and rate")
    with ops.name_scope(name, "dropout", [x]) as scope:
        x = ops.convert_to_tensor(x)
        if not x.dtype.is_floating:
            raise ValueError(
                f"x has to be a floating point tensor since it's going to be scaled. Got a {x.dtype.name} tensor instead."
            )
        keep_value = _const_value(keep_prob) if keep_prob is not None else None
        if keep_prob is not None and keep_value is not None and not 0 < keep_value <= 1:
            raise ValueError(f"keep_prob must be a scalar tensor or a float in the range (0, 1], got {keep_value}")
        if keep_value == 1:
            return x
        rate_t = (1 - ops.convert_to_tensor(keep_prob, dtype_hint=x.dtype)) if rate is None else rate
        rate_value = _const_value(rate_t)
        if rate_value is not None and not 0 <= rate_value < 1:
            raise ValueError(f"rate must be a scalar tensor or a float in the range [0, 1), got {rate_value}")
        rate_t = ops.convert_to_tensor(rate_t, dtype_hint=x.dtype)
        if noise_shape is None:
            noise_shape = x.shape.as_list() if x.shape.is_fully_defined() else shape_ops.shape(x)
        random_tensor = random_ops.random_uniform(noise_shape, seed=seed, dtype=x.dtype)
        keep_mask = array_ops.cast(math_ops.greater_equal(random_tensor, rate_t), x.dtype)
        scale = math_ops.truediv(1.0, 1 - rate_t)
        out = math_ops.multiply(x * scale, keep_mask, name=scope)
        out.set_shape(x.get_shape())  # as TF: the mask is x's shape even when keep_prob's shape is unknown
        return out


def moments(x: Any, axes: Any, shift: Any = None, name: str | None = None, keep_dims: bool | None = None,
            keepdims: bool | None = None) -> tuple[ops.Tensor, ops.Tensor]:  # fmt: skip
    """Mean and variance of x over `axes` (the variance about the mean, which is held constant for gradients).

    Returns:
      (mean, variance), with the reduced axes kept as size 1 when keep_dims.
    """
    keep = bool(keepdims if keepdims is not None else keep_dims)
    with ops.name_scope(name, "moments", [x, axes]):
        y = ops.convert_to_tensor(x)
        compute = array_ops.cast(y, dtypes.float32) if y.dtype == dtypes.float16 else y
        mean = math_ops.reduce_mean(compute, axes, keepdims=True, name="mean")
        sq = mx.squared_difference(compute, gradient_ops.stop_gradient(mean))
        variance = math_ops.reduce_mean(sq, axes, keepdims=True, name="variance")
        if not keep:
            axes_list = [int(a) for a in (axes if isinstance(axes, (list, tuple)) else [axes])]
            mean = shape_ops.squeeze(mean, axes_list)
            variance = shape_ops.squeeze(variance, axes_list)
        if y.dtype == dtypes.float16:
            return array_ops.cast(mean, dtypes.float16), array_ops.cast(variance, dtypes.float16)
        return mean, variance


def batch_normalization(x: Any, mean: Any, variance: Any, offset: Any, scale: Any, variance_epsilon: float,
                        name: str | None = None) -> ops.Tensor:  # fmt: skip
    """(x - mean) * scale / sqrt(variance + variance_epsilon) + offset (offset and scale may be None)."""
    with ops.name_scope(name, "batchnorm", [x, mean, variance, scale, offset]) as scope:
        x = ops.convert_to_tensor(x)
        inv = mx.rsqrt(ops.convert_to_tensor(variance, dtype_hint=x.dtype) + variance_epsilon)
        if scale is not None:
            inv = inv * scale
        shift = (offset - mean * inv) if offset is not None else -mean * inv
        return math_ops.add(x * array_ops.cast(inv, x.dtype), array_ops.cast(shift, x.dtype), name=scope)


def l2_normalize(
    x: Any, axis: Any = None, epsilon: float = 1e-12, name: str | None = None, dim: Any = None
) -> ops.Tensor:
    """x / sqrt(max(sum(x ** 2, axis), epsilon)) (`dim` is TF1's name for axis)."""
    axis = axis if axis is not None else dim
    with ops.name_scope(name, "l2_normalize", [x]) as scope:
        x = ops.convert_to_tensor(x)
        square_sum = math_ops.reduce_sum(math_ops.square(x), axis, keepdims=True)
        x_inv_norm = mx.rsqrt(math_ops.maximum(square_sum, epsilon))
        return math_ops.multiply(x, x_inv_norm, name=scope)


def embedding_lookup(params: Any, ids: Any, partition_strategy: str = "mod", name: str | None = None,
                     validate_indices: bool = True, max_norm: Any = None) -> ops.Tensor:  # fmt: skip
    """Rows of `params` at `ids` (a gather on axis 0); its gradient is an IndexedSlices of those rows.

    params may be a list of shards or a PartitionedVariable (partition_strategy "mod": id i lives in
    shard i % n at row i // n; "div": contiguous blocks).

    Raises:
      ValueError: an empty params list or an unknown partition strategy.
      InvalidArgumentError: at run time, an id outside the table.
    """
    if hasattr(params, "_get_variable_list"):  # a PartitionedVariable: look up over its parts
        params = params._get_variable_list()
    if isinstance(params, (list, tuple)):
        if not params:
            raise ValueError("Need at least one param")
        shards = list(params)
    else:
        shards = [params]
    if partition_strategy not in ("mod", "div"):
        raise ValueError(f"Unrecognized partition strategy: {partition_strategy}")
    with ops.name_scope(name, "embedding_lookup", [ids]) as scope:
        ids = ops.convert_to_tensor(ids, dtype_hint=dtypes.int32)
        if len(shards) == 1:
            result = array_ops_extra.gather(shards[0], ids, name=scope)
        else:
            result = _sharded_lookup(shards, ids, partition_strategy, scope)
        if max_norm is not None:
            result = _clip_rows(result, ids, max_norm)
        return result


def _sharded_lookup(shards: list, ids: ops.Tensor, strategy: str, scope: str) -> ops.Tensor:
    """Gathers from the concatenated table: row order is rebuilt from the partition rule."""
    tables = [ops.convert_to_tensor(s) for s in shards]
    sizes = [t.shape.as_list()[0] for t in tables]
    if None in sizes:
        raise ValueError("embedding_lookup: graphvar needs the shard sizes known when the graph is built")
    n, total = len(tables), sum(sizes)
    if strategy == "mod":
        # global id g is row g // n of shard g % n; list the rows of the concatenation in id order
        offsets = [sum(sizes[:k]) for k in range(n)]
        order = [offsets[g % n] + g // n for g in range(total)]
        table = array_ops_extra.gather(shape_ops.concat(tables, 0), order)
    else:
        table = shape_ops.concat(tables, 0)
    return array_ops_extra.gather(table, ids, name=scope)


def _clip_rows(result: ops.Tensor, ids: ops.Tensor, max_norm: Any) -> ops.Tensor:
    from graphvar.ops import clip_ops

    rank = result.shape.ndims
    axes = list(range(ids.shape.ndims, rank)) if rank is not None and ids.shape.ndims is not None else None
    return clip_ops.clip_by_norm(result, max_norm, axes=axes)

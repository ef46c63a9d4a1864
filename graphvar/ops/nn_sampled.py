"""Candidate-sampling losses: tf.nn.nce_loss and tf.nn.sampled_softmax_loss, TF1's nn_impl.py formulation.

Both score the true classes and `num_sampled` classes drawn by a candidate sampler (log-uniform by
default, seeded by TF1's rules) with one embedding lookup of the weights and biases, so the weights'
gradient is an IndexedSlices of the rows read. The sampled classes are constants for the gradient.
"""

from __future__ import annotations

from typing import Any

from graphvar import dtypes
from graphvar.framework import ops
from graphvar.ops import array_ops, array_ops_extra, gradient_ops, math_ops, nn_impl, nn_ops, sampling_ops, shape_ops
from graphvar.ops.sparse_ops import sparse_to_dense


def _weights_list(weights: Any) -> list:
    return list(weights) if isinstance(weights, (list, tuple)) else [weights]


def _lookup(params: list, ids: ops.Tensor, dtype: dtypes.DType, strategy: str) -> ops.Tensor:
    rows = nn_impl.embedding_lookup(params if len(params) > 1 else params[0], ids, partition_strategy=strategy)
    return rows if rows.dtype == dtype else array_ops.cast(rows, dtype)


def _as_dtype(t: ops.Tensor, dtype: dtypes.DType) -> ops.Tensor:
    return t if t.dtype == dtype else array_ops.cast(t, dtype)


def _accidental_hit_mask(labels: ops.Tensor, sampled: ops.Tensor, num_true: int, num_sampled: int,
                         dtype: dtypes.DType) -> ops.Tensor:  # fmt: skip
    """-FLT_MAX where a sampled class is one of the row's true classes, else 0: [batch_size, num_sampled]."""
    acc_indices, acc_ids, acc_weights = sampling_ops.compute_accidental_hits(labels, sampled, num_true=num_true)
    sparse_indices = shape_ops.concat(
        [array_ops.reshape(acc_indices, [-1, 1]), array_ops.reshape(array_ops.cast(acc_ids, dtypes.int32), [-1, 1])],
        1, name="sparse_indices",
    )  # fmt: skip
    dense_shape = shape_ops.stack([shape_ops.shape(labels)[0], num_sampled])
    mask = sparse_to_dense(sparse_indices, dense_shape, _as_dtype(acc_weights, dtype), 0.0, validate_indices=False)
    mask.set_shape([labels.shape.as_list()[0] if labels.shape.ndims else None, num_sampled])
    return mask


def compute_sampled_logits(weights: Any, biases: Any, labels: Any, inputs: Any, num_sampled: int, num_classes: int,
                           num_true: int = 1, sampled_values: Any = None, subtract_log_q: bool = True,
                           remove_accidental_hits: bool = False, partition_strategy: str = "mod",
                           name: str | None = None, seed: int | None = None) -> tuple[ops.Tensor, ops.Tensor]:  # fmt: skip
    """TF's ``_compute_sampled_logits``: logits and labels [batch_size, num_true + num_sampled], true classes first.

    The true classes' labels are 1 / num_true, the sampled ones' 0. With subtract_log_q, log of each
    class's expected count is subtracted from its logit; with remove_accidental_hits, a sampled class
    that is also a true class of the row gets -FLT_MAX added.
    """
    weights = _weights_list(weights)
    with ops.name_scope(name, "compute_sampled_logits", weights + [biases, inputs, labels]):
        inputs = ops.convert_to_tensor(inputs)
        labels = ops.convert_to_tensor(labels, dtype_hint=dtypes.int64)
        if labels.dtype != dtypes.int64:
            labels = array_ops.cast(labels, dtypes.int64)
        labels_flat = array_ops.reshape(labels, [-1])
        if sampled_values is None:
            sampled_values = sampling_ops.log_uniform_candidate_sampler(
                true_classes=labels, num_true=num_true, num_sampled=num_sampled, unique=True,
                range_max=num_classes, seed=seed,
            )  # fmt: skip
        sampled, true_expected_count, sampled_expected_count = (gradient_ops.stop_gradient(s) for s in sampled_values)
        sampled = array_ops.cast(sampled, dtypes.int64)
        all_ids = shape_ops.concat([labels_flat, sampled], 0)
        # one lookup of every row (as TF), split into the true rows and the num_sampled sampled rows
        all_w = _lookup(weights, all_ids, inputs.dtype, partition_strategy)
        true_w, sampled_w = array_ops_extra.split(all_w, [-1, num_sampled], axis=0)
        all_b = _lookup([biases], all_ids, inputs.dtype, partition_strategy)
        true_b, sampled_b = array_ops_extra.split(all_b, [-1, num_sampled], axis=0)

        sampled_logits = math_ops.matmul(inputs, sampled_w, transpose_b=True) + sampled_b
        dim = all_w.shape.as_list()[1] if all_w.shape.ndims == 2 else None
        dim = dim if dim is not None else shape_ops.shape(all_w)[1]
        row_wise_dots = shape_ops.expand_dims(inputs, 1) * array_ops.reshape(true_w, [-1, num_true, dim])
        true_logits = math_ops.reduce_sum(row_wise_dots, 2) + array_ops.reshape(true_b, [-1, num_true])

        if remove_accidental_hits:
            sampled_logits += _accidental_hit_mask(labels, sampled, num_true, num_sampled, sampled_logits.dtype)
        if subtract_log_q:
            true_logits -= math_ops.log(_as_dtype(true_expected_count, true_logits.dtype))
            sampled_logits -= math_ops.log(_as_dtype(sampled_expected_count, sampled_logits.dtype))
        out_logits = shape_ops.concat([true_logits, sampled_logits], 1)
        out_labels = shape_ops.concat(
            [array_ops.ones_like(true_logits) / num_true, array_ops.zeros_like(sampled_logits)], 1
        )
        return out_logits, out_labels


def nce_loss(weights: Any, biases: Any, labels: Any, inputs: Any, num_sampled: int, num_classes: int,
             num_true: int = 1, sampled_values: Any = None, remove_accidental_hits: bool = False,
             partition_strategy: str = "mod", name: str = "nce_loss") -> ops.Tensor:  # fmt: skip
    """Noise-contrastive estimation loss per example: sigmoid cross entropy of the true and sampled logits, summed.

    Args:
      weights: [num_classes, dim] (or a list of shards, see embedding_lookup's partition_strategy).
      biases: [num_classes].
      labels: int64 [batch_size, num_true], the target classes.
      inputs: [batch_size, dim], the forward activations.
      num_sampled: the number of negative classes drawn per batch (shared by its examples).
      num_classes: classes are in [0, num_classes).
      sampled_values: (sampled_candidates, true_expected_count, sampled_expected_count) from a
        *_candidate_sampler; default log_uniform_candidate_sampler(unique=True).
      remove_accidental_hits: mask sampled classes that equal a true class of the example.
    Returns:
      A [batch_size] tensor of per-example losses.
    Raises:
      ValueError: shapes that do not fit (naming the op), an unknown partition strategy.
    Example:
      >>> loss = tf.reduce_mean(tf.nn.nce_loss(nce_weights, nce_biases, train_labels, embed, 64, vocabulary_size))
    """
    logits, labels = compute_sampled_logits(
        weights=weights, biases=biases, labels=labels, inputs=inputs, num_sampled=num_sampled,
        num_classes=num_classes, num_true=num_true, sampled_values=sampled_values, subtract_log_q=True,
        remove_accidental_hits=remove_accidental_hits, partition_strategy=partition_strategy, name=name,
    )  # fmt: skip
    sampled_losses = nn_impl.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits, name="sampled_losses")
    return math_ops.reduce_sum(sampled_losses, 1)


def sampled_softmax_loss(weights: Any, biases: Any, labels: Any, inputs: Any, num_sampled: int, num_classes: int,
                         num_true: int = 1, sampled_values: Any = None, remove_accidental_hits: bool = True,
                         partition_strategy: str = "mod", name: str = "sampled_softmax_loss",
                         seed: int | None = None) -> ops.Tensor:  # fmt: skip
    """Sampled softmax loss per example: softmax cross entropy over the true and sampled classes only.

    Arguments as nce_loss (accidental hits are removed by default); `seed` seeds the default sampler.

    Returns:
      A [batch_size] tensor of per-example losses.
    """
    logits, labels = compute_sampled_logits(
        weights=weights, biases=biases, labels=labels, inputs=inputs, num_sampled=num_sampled,
        num_classes=num_classes, num_true=num_true, sampled_values=sampled_values, subtract_log_q=True,
        remove_accidental_hits=remove_accidental_hits, partition_strategy=partition_strategy, name=name, seed=seed,
    )  # fmt: skip
    labels = gradient_ops.stop_gradient(labels, name="labels_stop_gradient")
    return nn_ops.softmax_cross_entropy_with_logits_v2(labels=labels, logits=logits)

"""Random ops that draw from data: tf.multinomial / tf.random.categorical, tf.random_shuffle, and the
log-uniform candidate sampler of nce_loss / sampled_softmax_loss.

Like the generators in random_ops they carry (seed, seed2) from TF1's seed rules and draw from the
shared Philox stream (graphvar/random.py): the n-th run in a Session uses run index n. Their kernels
run on the host (``backends/nn_kernels.host_random_kernels``), so every device gives the same samples.
"""

from __future__ import annotations

from typing import Any

from graphvar import dtypes
from graphvar.framework import ops, random_seed
from graphvar.framework.gradient_registry import NotDifferentiable
from graphvar.framework.op_registry import register_op
from graphvar.framework.tensor_shape import TensorShape, unknown_shape


def _multinomial_spec(op: Any) -> list:
    logits = op._inputs[0]
    if not logits.dtype.is_floating:
        raise TypeError(f"logits of {op.name!r} must be floating point, got {logits.dtype.name}")
    if logits.shape.ndims not in (None, 2):
        raise ValueError(f"logits should be a matrix, got shape {logits.shape}")
    batch = logits.shape.as_list()[0] if logits.shape.ndims else None
    return [(op._attrs["output_dtype"], TensorShape([batch, op._attrs["num_samples"]]))]


def _sampler_spec(op: Any) -> list:
    true_classes, a = op._inputs[0], op._attrs
    if true_classes.dtype != dtypes.int64:
        raise TypeError(f"true_classes of {op.name!r} must be int64, got {true_classes.dtype.name}")
    if true_classes.shape.ndims not in (None, 2):
        raise ValueError(f"true_classes must be a matrix [batch_size, num_true], got shape {true_classes.shape}")
    if a["unique"] and a["num_sampled"] > a["range_max"]:
        raise ValueError(f"Sampler's range is too small: num_sampled {a['num_sampled']} > range_max {a['range_max']}")
    true_shape = true_classes.shape if true_classes.shape.ndims else unknown_shape(2)
    n = a["num_sampled"]
    return [(dtypes.int64, TensorShape([n])), (dtypes.float32, true_shape), (dtypes.float32, TensorShape([n]))]


register_op("Multinomial", _multinomial_spec, stateful=True)
register_op("RandomShuffle", lambda op: [(op._inputs[0].dtype, op._inputs[0].shape)], stateful=True)
register_op("LogUniformCandidateSampler", _sampler_spec, stateful=True)
for _t in ("Multinomial", "RandomShuffle", "LogUniformCandidateSampler"):
    NotDifferentiable(_t)


def _seeds(seed: int | None) -> dict:
    seed1, seed2 = random_seed.get_seed(seed)
    return {"seed": seed1 or 0, "seed2": seed2 or 0}


def multinomial(logits: Any, num_samples: int, seed: int | None = None, name: str | None = None,
                output_dtype: Any = None) -> ops.Tensor:  # fmt: skip
    """`num_samples` class indices per row, drawn with probabilities softmax(logits[row]).

    Returns:
      An int64 (or output_dtype) tensor [batch_size, num_samples].
    """
    x = ops.convert_to_tensor(logits)
    attrs = {
        "num_samples": int(num_samples),
        "output_dtype": dtypes.as_dtype(output_dtype or dtypes.int64),
        **_seeds(seed),
    }
    return x.graph.create_op("Multinomial", [x], attrs, name=name or "multinomial").outputs[0]


def categorical(logits: Any, num_samples: int, dtype: Any = None, seed: int | None = None,
                name: str | None = None) -> ops.Tensor:  # fmt: skip
    """tf.random.categorical: as tf.multinomial, with the output dtype named `dtype`."""
    return multinomial(logits, num_samples, seed=seed, name=name or "categorical", output_dtype=dtype)


def random_shuffle(value: Any, seed: int | None = None, name: str | None = None) -> ops.Tensor:
    """`value` with its first dimension randomly permuted."""
    x = ops.convert_to_tensor(value)
    if x.shape.ndims == 0:
        raise ValueError(f"random_shuffle: value must have rank >= 1, got a scalar {x.name!r}")
    return x.graph.create_op("RandomShuffle", [x], _seeds(seed), name=name or "random_shuffle").outputs[0]


def log_uniform_candidate_sampler(true_classes: Any, num_true: int, num_sampled: int, unique: bool, range_max: int,
                                  seed: int | None = None, name: str | None = None) -> tuple:  # fmt: skip
    """Samples classes from P(c) = log((c + 2) / (c + 1)) / log(range_max + 1) (Zipf-like: small ids are frequent).

    Returns:
      (sampled_candidates int64 [num_sampled], true_expected_count float32 [batch, num_true],
      sampled_expected_count float32 [num_sampled]); with unique=True the samples are distinct and
      the expected counts account for the number of draws it took.
    """
    t = ops.convert_to_tensor(true_classes, dtype=dtypes.int64)
    attrs = {"num_true": int(num_true), "num_sampled": int(num_sampled), "unique": bool(unique),
             "range_max": int(range_max), **_seeds(seed)}  # fmt: skip
    op = t.graph.create_op("LogUniformCandidateSampler", [t], attrs, name=name or "LogUniformCandidateSampler")
    return tuple(op.outputs)


random_categorical = categorical

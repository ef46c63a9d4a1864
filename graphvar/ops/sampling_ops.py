"""Random ops that draw from data: tf.multinomial / tf.random.categorical, tf.random_shuffle, and the
candidate samplers of nce_loss / sampled_softmax_loss (log-uniform, uniform; compute_accidental_hits).

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


def _accidental_hits_spec(op: Any) -> list:
    true_classes, sampled = op._inputs
    for t, what in ((true_classes, "true_classes"), (sampled, "sampled_candidates")):
        if t.dtype != dtypes.int64:
            raise TypeError(f"{what} of {op.name!r} (ComputeAccidentalHits) must be int64, got {t.dtype.name}")
    if true_classes.shape.ndims not in (None, 2):
        raise ValueError(f"true_classes must be a matrix [batch_size, num_true], got shape {true_classes.shape}")
    if sampled.shape.ndims not in (None, 1):
        raise ValueError(f"sampled_candidates must be a vector, got shape {sampled.shape}")
    num_true = true_classes.shape.as_list()[1] if true_classes.shape.ndims else None
    if num_true is not None and num_true != op._attrs["num_true"]:
        raise ValueError(f"true_classes of {op.name!r} has {num_true} columns, but num_true is {op._attrs['num_true']}")
    n = TensorShape([None])
    return [(dtypes.int32, n), (dtypes.int64, n), (dtypes.float32, n)]


SAMPLERS = ("LogUniformCandidateSampler", "UniformCandidateSampler")
register_op("Multinomial", _multinomial_spec, stateful=True)
register_op("RandomShuffle", lambda op: [(op._inputs[0].dtype, op._inputs[0].shape)], stateful=True)
for _t in SAMPLERS:
    register_op(_t, _sampler_spec, stateful=True)
register_op("ComputeAccidentalHits", _accidental_hits_spec)
for _t in ("Multinomial", "RandomShuffle", "ComputeAccidentalHits", *SAMPLERS):
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


def _candidate_sampler(op_type: str, true_classes: Any, num_true: int, num_sampled: int, unique: bool,
                       range_max: int, seed: int | None, name: str | None) -> tuple:  # fmt: skip
    t = ops.convert_to_tensor(true_classes, dtype=dtypes.int64)
    attrs = {"num_true": int(num_true), "num_sampled": int(num_sampled), "unique": bool(unique),
             "range_max": int(range_max), **_seeds(seed)}  # fmt: skip
    return tuple(t.graph.create_op(op_type, [t], attrs, name=name or op_type).outputs)


def log_uniform_candidate_sampler(true_classes: Any, num_true: int, num_sampled: int, unique: bool, range_max: int,
                                  seed: int | None = None, name: str | None = None) -> tuple:  # fmt: skip
    """Samples classes from P(c) = log((c + 2) / (c + 1)) / log(range_max + 1) (Zipf-like: small ids are frequent).

    Args:
      true_classes: int64 [batch_size, num_true], the target classes (only their expected counts are computed).
      num_sampled: how many classes to draw; unique=True draws until that many distinct classes were seen.
      range_max: classes are in [0, range_max).
      seed: the op seed (TF1's seed rules, tf.set_random_seed).
    Returns:
      (sampled_candidates int64 [num_sampled], true_expected_count float32 [batch, num_true],
      sampled_expected_count float32 [num_sampled]); with unique=True the expected counts are
      1 - (1 - P(c)) ** num_tries, else P(c) * num_sampled, as TF's range_sampler.
    Raises:
      ValueError: unique and num_sampled > range_max, or true_classes is not a matrix.
    Example:
      >>> ids, true_count, sampled_count = tf.nn.log_uniform_candidate_sampler(labels, 1, 64, True, 10000, seed=1)
    """
    return _candidate_sampler("LogUniformCandidateSampler", true_classes, num_true, num_sampled, unique, range_max,
                              seed, name)  # fmt: skip


def uniform_candidate_sampler(true_classes: Any, num_true: int, num_sampled: int, unique: bool, range_max: int,
                              seed: int | None = None, name: str | None = None) -> tuple:  # fmt: skip
    """Samples classes uniformly from [0, range_max); the outputs are log_uniform_candidate_sampler's."""
    return _candidate_sampler("UniformCandidateSampler", true_classes, num_true, num_sampled, unique, range_max,
                              seed, name)  # fmt: skip


def compute_accidental_hits(true_classes: Any, sampled_candidates: Any, num_true: int, seed: int | None = None,
                            name: str | None = None) -> tuple:  # fmt: skip
    """Where a sampled candidate equals one of a row's true classes (to be masked out of the sampled logits).

    Returns:
      (indices int32, ids int64, weights float32), one entry per hit: row `indices[k]` of true_classes
      holds sampled_candidates[ids[k]]; weights are -FLT_MAX. When a candidate was sampled several
      times, only its last position counts (as TF's kernel).
    """
    t = ops.convert_to_tensor(true_classes, dtype=dtypes.int64)
    s = ops.convert_to_tensor(sampled_candidates, dtype=dtypes.int64)
    attrs = {"num_true": int(num_true), **_seeds(seed)}
    return tuple(
        t.graph.create_op("ComputeAccidentalHits", [t, s], attrs, name=name or "ComputeAccidentalHits").outputs
    )


random_categorical = categorical

"""Kernels of the candidate samplers and their helpers (ops/sampling_ops.py, ops/sparse_ops.py).

The samplers run on the host (their draws come from the shared Philox stream, so every device
samples the same classes); the expected counts follow TF's ``range_sampler.cc`` in float32:
P(c) * num_sampled when every draw was kept, else 1 - (1 - P(c)) ** num_tries. ComputeAccidentalHits
runs on the host too (its output size depends on the data). SparseToDense is written against ``xp``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from graphvar import errors
from graphvar import random as rnd

FLT_MAX = float(np.finfo(np.float32).max)


def _bad_arg(step: Any, message: str) -> errors.InvalidArgumentError:
    return errors.InvalidArgumentError(None, step.op, f"{step.op.name} ({step.op.type}): {message}")


def _log_uniform(range_max: int) -> tuple:
    log_range = np.log1p(float(range_max))

    def draw(u: np.ndarray) -> np.ndarray:
        return np.minimum(np.exp(u * log_range).astype(np.int64) - 1, range_max - 1)

    def prob(c: np.ndarray) -> np.ndarray:
        c = c.astype(np.float64)
        return (np.log((c + 2.0) / (c + 1.0)) / log_range).astype(np.float32)

    return draw, prob


def _uniform(range_max: int) -> tuple:
    def draw(u: np.ndarray) -> np.ndarray:
        return np.minimum((u * range_max).astype(np.int64), range_max - 1)

    def prob(c: np.ndarray) -> np.ndarray:
        return np.full(np.shape(c), 1.0 / range_max, np.float32)

    return draw, prob


def _sample(step: Any, ctx: Any, draw: Any) -> tuple[np.ndarray, int]:
    """(num_sampled classes, num_tries): with `unique`, draws until that many distinct classes were seen."""
    a = step.attrs
    n = a["num_sampled"]
    key, run = ctx.session._random_stream(step)
    u = np.empty((n,), np.float64)
    rnd.fill_uniform(u, key, run)
    if not a["unique"]:
        return draw(u), n
    seen: dict[int, None] = {}
    tries, base = 0, 0
    while len(seen) < n:
        for c in draw(u).tolist():
            tries += 1
            seen.setdefault(c)
            if len(seen) == n:
                break
        base += u.size
        rnd.fill_uniform(u, key, run, base=base)  # the stream's next values, as one long draw
    return np.asarray(list(seen), np.int64), tries


def _expected_count(p: np.ndarray, n: int, tries: int) -> np.ndarray:
    if tries == n:
        return p * np.float32(n)
    return -np.expm1(np.float32(tries) * np.log1p(-p))


def _sampler(distribution: Any) -> Any:
    def kernel(step: Any, args: list, ctx: Any) -> tuple:
        a = step.attrs
        if a["unique"] and a["num_sampled"] > a["range_max"]:
            raise _bad_arg(step, "Sampler's range is too small.")
        draw, prob = distribution(a["range_max"])
        sampled, tries = _sample(step, ctx, draw)
        true_classes = np.asarray(args[0])
        n = a["num_sampled"]
        return (sampled, _expected_count(prob(true_classes), n, tries).astype(np.float32),
                _expected_count(prob(sampled), n, tries).astype(np.float32))  # fmt: skip

    return kernel


def accidental_hits(step: Any, args: list, ctx: Any) -> tuple:
    true_classes, sampled = (np.asarray(a) for a in args)
    if true_classes.ndim != 2 or true_classes.shape[1] != step.attrs["num_true"]:
        raise _bad_arg(
            step, f"true_classes must be [batch_size, {step.attrs['num_true']}], got {list(true_classes.shape)}"
        )
    position = {int(c): i for i, c in enumerate(sampled.tolist())}  # a repeated candidate: its last position
    rows, ids = [], []
    for i, row in enumerate(true_classes.tolist()):
        for c in row:
            k = position.get(c)
            if k is not None:
                rows.append(i)
                ids.append(k)
    return (np.asarray(rows, np.int32), np.asarray(ids, np.int64), np.full(len(rows), -FLT_MAX, np.float32))


def host_sampling_kernels() -> dict[str, Any]:
    """LogUniformCandidateSampler, UniformCandidateSampler, ComputeAccidentalHits (host only)."""
    return {
        "LogUniformCandidateSampler": _sampler(_log_uniform),
        "UniformCandidateSampler": _sampler(_uniform),
        "ComputeAccidentalHits": accidental_hits,
    }


def sparse_kernels(xp: Any) -> dict[str, Any]:
    """SparseToDense: a dense tensor of default_value with sparse_values at sparse_indices."""

    def sparse_to_dense(step: Any, args: list, ctx: Any) -> Any:
        indices, shape, values, default = args
        dims = tuple(int(d) for d in shape.reshape(-1).tolist())
        idx = indices.reshape(-1, 1) if indices.ndim < 2 else indices
        if idx.shape[1] != len(dims):
            raise _bad_arg(step, f"sparse_indices has {idx.shape[1]} columns, but output_shape has rank {len(dims)}")
        n = idx.shape[0]
        if values.ndim and values.shape[0] != n:
            raise _bad_arg(step, f"sparse_values has {values.shape[0]} entries, but there are {n} indices")
        out = xp.full(dims, default, dtype=values.dtype)
        if n == 0:
            return out
        idx = idx.astype(xp.int64)
        bad = xp.any((idx < 0) | (idx >= xp.asarray(dims, xp.int64)), axis=1)
        if bool(bad.any()):
            k = int(xp.flatnonzero(bad)[0])
            raise _bad_arg(step, f"indices[{k}] = {idx[k].tolist()} is out of bounds: need 0 <= index < {list(dims)}")
        if step.attrs["validate_indices"] and n > 1:
            strides = [int(np.prod(dims[j + 1 :], dtype=np.int64)) for j in range(len(dims))]
            lin = idx @ xp.asarray(strides, xp.int64)
            order = xp.flatnonzero(lin[1:] <= lin[:-1])
            if order.size:
                k = int(order[0]) + 1
                what = "repeated" if int(lin[k]) == int(lin[k - 1]) else "out of order"
                raise _bad_arg(step, f"indices[{k}] = {idx[k].tolist()} is {what}")
        out[tuple(idx[:, j] for j in range(len(dims)))] = values
        return out

    return {"SparseToDense": sparse_to_dense}

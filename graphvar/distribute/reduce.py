"""Gradient reductions: a fixed, rank-ordered mean, so every replica applies the same bits.

Floating-point addition is not associative, so a ring or tree all-reduce gives results that
depend on the topology. :func:`rank_ordered_mean` sums rank 0's gradient, then rank 1's, ... in
the gradient's own dtype and divides by the number of ranks last: one order, whatever carries
the bytes. The simulator and the Ray cluster both call it, so they agree bit for bit.

A reducer is any object with ``reduce(per_rank) -> averaged`` (``per_rank[r]`` is rank r's list of
gradients: arrays, or :class:`~graphvar.distribute.worker.SparseGrad` for IndexedSlices).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from graphvar.distribute.worker import SparseGrad

__all__ = ["NcclReducer", "ObjectStoreReducer", "rank_ordered_mean"]


def rank_ordered_mean(per_rank: Sequence[Sequence[Any]]) -> list[Any]:
    """The mean over ranks of each gradient: summed in rank order, then divided by the rank count.

    Args:
      per_rank: one list of gradients per rank, in rank order, all of the same structure.

    Returns:
      One averaged gradient per position: an array, or a SparseGrad whose indices are the
      distinct indices in order of first appearance (rank 0's first), each row the rank-ordered
      sum of that index's rows divided by the rank count.

    Raises:
      ValueError: ranks with different numbers, shapes or kinds of gradients.

    Example:
      >>> rank_ordered_mean([[np.float32([1, 2])], [np.float32([3, 4])]])
      [array([2., 3.], dtype=float32)]
    """
    n = len(per_rank)
    if n == 0:
        raise ValueError("no ranks to reduce")
    lengths = {len(g) for g in per_rank}
    if len(lengths) != 1:
        raise ValueError(f"ranks sent different numbers of gradients: {[len(g) for g in per_rank]}")
    return [_mean([grads[i] for grads in per_rank], i) for i in range(lengths.pop())]


def _mean(grads: list[Any], position: int) -> Any:
    if isinstance(grads[0], SparseGrad):
        if not all(isinstance(g, SparseGrad) for g in grads):
            raise ValueError(f"gradient {position}: sparse on some ranks only")
        return _sparse_mean(grads)
    first = np.asarray(grads[0])
    acc = np.array(first, copy=True)
    for r, g in enumerate(grads[1:], start=1):
        g = np.asarray(g)
        if g.shape != acc.shape or g.dtype != acc.dtype:
            raise ValueError(f"gradient {position}: rank {r} sent {g.dtype} {g.shape}, rank 0 {acc.dtype} {acc.shape}")
        np.add(acc, g, out=acc)
    return _divide(acc, len(grads))


def _sparse_mean(grads: list[SparseGrad]) -> SparseGrad:
    values = np.concatenate([np.asarray(g[0]) for g in grads])
    indices = np.concatenate([np.asarray(g[1]) for g in grads])
    unique, first, inverse = np.unique(indices, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")  # distinct indices in order of first appearance
    rank_of = np.empty_like(order)
    rank_of[order] = np.arange(order.size)
    acc = np.zeros((unique.size, *values.shape[1:]), values.dtype)
    np.add.at(acc, rank_of[inverse.reshape(-1)], values)  # unbuffered: rows added in rank order
    return SparseGrad(_divide(acc, len(grads)), unique[order].astype(indices.dtype), grads[0][2])


def _divide(acc: np.ndarray, n: int) -> np.ndarray:
    if n > 1:
        np.divide(acc, np.asarray(n, acc.dtype), out=acc)
    return acc


class ObjectStoreReducer:
    """The default on CPU: every rank's gradients travel through Ray's object store to the
    coordinator, which computes :func:`rank_ordered_mean` and puts the result back once; every
    worker reads that one object (zero-copy on its node).

    Cost per step: the coordinator receives N gradient sets and sends one, so its traffic grows
    with N (fine for a few workers on one node; see docs/distributed.md).
    """

    name = "object_store"

    def reduce(self, per_rank: Sequence[Sequence[Any]]) -> list[Any]:
        return rank_ordered_mean(per_rank)


class NcclReducer:
    """Design stub: Ray's NCCL collective (``ray.util.collective``, CuPy arrays) on GPUs.

    Not implemented: this project's machines have no GPU, so it cannot be tested here.
    The design, to keep the replicas bit-identical and equal to the simulator: each worker
    ``allgather``s its gradients (NCCL, device to device) and sums the N copies in rank order on
    its own GPU, then divides; an NCCL ``allreduce`` would give every replica the same bytes but
    in the ring's order, not the simulator's. Expected cost: (N-1)/N of N gradient sets received
    per worker (allgather) instead of 2(N-1)/N of one (ring allreduce), no coordinator traffic.

    Raises:
      NotImplementedError: always.
    """

    name = "nccl"

    def __init__(self, group_name: str = "graphvar") -> None:
        raise NotImplementedError(
            "NcclReducer (Ray's NCCL collective over CuPy gradients) is designed but not implemented: it needs "
            "GPUs, which the machines this was built on do not have; use ObjectStoreReducer (the default)"
        )

    def reduce(self, per_rank: Sequence[Sequence[Any]]) -> list[Any]:  # pragma: no cover - never constructed
        raise NotImplementedError

"""The coordinator of N workers: data-parallel steps over any transport.

:class:`Coordinator` holds the logic; a subclass says how to call a method on every worker
(``_gather``): Ray actors (:class:`graphvar.distribute.Cluster`) or plain objects in this
process (:class:`SimulatedCluster`). Same steps, same reducer, so the same numbers.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from graphvar import errors
from graphvar.distribute.reduce import ObjectStoreReducer
from graphvar.distribute.worker import Worker

__all__ = ["Coordinator", "SimulatedCluster", "split_batch"]


@dataclasses.dataclass
class Failure:
    """A worker's call that raised (or whose worker died): the rank and the error to raise."""

    rank: int
    error: BaseException
    died: bool = False


def split_batch(feed_dict: dict, num_workers: int) -> list[dict]:
    """Splits every fed array along axis 0 into ``num_workers`` contiguous shards, rank 0 first
    (the first ``len % num_workers`` shards one row longer, as ``np.array_split``).

    Raises:
      InvalidArgumentError: fed arrays with different batch sizes, or fewer rows than workers.
    """
    arrays = {k: np.asarray(v) for k, v in feed_dict.items()}
    sizes = {k: (a.shape[0] if a.ndim else None) for k, a in arrays.items()}
    batch = {s for s in sizes.values() if s is not None}
    if len(batch) > 1:
        raise errors.InvalidArgumentError(None, None, f"fed arrays have different batch sizes: {sizes}")
    rows = batch.pop() if batch else 0
    if rows < num_workers:
        raise errors.InvalidArgumentError(
            None, None, f"a batch of {rows} rows cannot be split over {num_workers} workers (feed {sorted(sizes)})"
        )
    parts = {k: (np.array_split(a, num_workers) if a.ndim else [a] * num_workers) for k, a in arrays.items()}
    return [{k: parts[k][r] for k in arrays} for r in range(num_workers)]


class Coordinator:
    """Drives ``num_workers`` replicas (subclasses provide the transport).

    Example:
      >>> with SimulatedCluster(2) as cluster:
      ...     cluster.build(model_fn, seed=1)
      ...     loss = cluster.step({"x": xs, "y": ys})
    """

    def __init__(self, num_workers: int, reducer: Any = None) -> None:
        if int(num_workers) < 1:
            raise ValueError(f"num_workers must be at least 1, got {num_workers!r}")
        self.num_workers = int(num_workers)
        self.reducer = reducer if reducer is not None else ObjectStoreReducer()
        self._model_fn: Callable[[], Any] | None = None
        self._seed: int | None = None
        self.save_plan: list[tuple[str, str]] = []  # ("key|part", device) per Saver entry, in order

    # ---- the transport (subclasses) ----
    def _gather(self, method: str, args: Sequence[tuple], ranks: Sequence[int]) -> list[Any]:
        """Calls ``method(*args[i])`` on worker ``ranks[i]`` for every i, waits for all; a call that
        failed gives a :class:`Failure` in its place."""
        raise NotImplementedError

    def _call(self, method: str, args: Sequence[tuple] | None = None, ranks: Sequence[int] | None = None) -> list:
        ranks = list(range(self.num_workers)) if ranks is None else list(ranks)
        args = [()] * len(ranks) if args is None else list(args)
        results = self._gather(method, args, ranks)
        failures = [r for r in results if isinstance(r, Failure)]
        if failures:
            died = [f for f in failures if f.died]
            raise (died or failures)[0].error
        return results

    def _broadcast(self, method: str, value: Any) -> list:
        return self._call(method, [(value,)] * self.num_workers)

    # ---- the model ----
    def build(self, model_fn: Callable[[], Any], seed: int | None = 0) -> None:
        """Builds ``model_fn``'s model on every worker with graph-level seed ``seed``.

        ``model_fn()`` runs in each worker's own new Graph and returns ``(loss, optimizer)`` or
        a dict with ``loss``, ``optimizer`` and optionally ``global_step`` (else the graph's).

        Raises:
          InternalError: the workers' initial values differ (a model_fn that is not
            deterministic, e.g. one drawing from NumPy's global random state).
        """
        digests = self._call("build", [(model_fn, seed)] * self.num_workers)
        self._check_identical(digests, "after build (same model_fn, same seed)")
        plans = self._call("save_plan")
        if any(p != plans[0] for p in plans):
            raise errors.InternalError(None, None, "workers built different sets of variables from one model_fn")
        self._model_fn, self._seed, self.save_plan = model_fn, seed, plans[0]

    def _check_identical(self, digests: list[dict], when: str) -> None:
        for rank, d in enumerate(digests[1:], start=1):
            if d != digests[0]:
                diff = sorted(k for k in set(d) | set(digests[0]) if d.get(k) != digests[0].get(k))
                raise errors.InternalError(
                    None, None, f"replicas differ {when}: worker {rank} and worker 0 disagree on {', '.join(diff[:5])}"
                )

    def run(self, fn: Callable[..., Any], *args: Any) -> list:
        """Calls ``fn(worker, *args)`` on every worker (a :class:`~graphvar.distribute.worker.Worker`,
        inside its graph); returns the results in rank order."""
        return self._call("run", [(fn, args)] * self.num_workers)

    def on(self, rank: int, point: str, fn: Callable[[Worker], None] | None) -> None:
        """Calls ``fn(worker)`` when worker ``rank`` reaches ``point`` (tests: fault injection)."""
        self._call("on", [(point, fn)], ranks=[rank])

    def values(self, rank: int = 0) -> dict[str, np.ndarray]:
        """Worker ``rank``'s variables, by name."""
        return self._call("values", ranks=[rank])[0]

    def digests(self) -> list[dict[str, str]]:
        """Every worker's variable digests (SHA-256 of the bytes), in rank order."""
        return self._call("digests")

    def check_replicas(self) -> None:
        """Raises InternalError unless every replica's variables are bit-identical."""
        self._check_identical(self.digests(), "now")

    # ---- training ----
    def step(self, feed_dict: dict | None = None, worker_feeds: Sequence[dict] | None = None) -> float:
        """One data-parallel step: gradients on every worker's shard, averaged, applied everywhere.

        Args:
          feed_dict: tensor name ("x" or "x:0") -> the whole batch; split along axis 0 in rank order.
          worker_feeds: instead, one feed dict per worker.

        Returns:
          The mean over workers of their shard's loss (summed in rank order, in float64).

        Raises:
          UnavailableError: a worker died (the message names it); FailedPreconditionError afterwards.
        """
        feeds = list(worker_feeds) if worker_feeds is not None else split_batch(feed_dict or {}, self.num_workers)
        if len(feeds) != self.num_workers:
            raise ValueError(f"worker_feeds has {len(feeds)} feeds for {self.num_workers} workers")
        results = self._call("compute_gradients", [(f,) for f in feeds])
        averaged = self.reducer.reduce([grads for _, grads in results])
        self._broadcast("apply_gradients", averaged)
        return float(sum(float(loss) for loss, _ in results)) / self.num_workers

    def shutdown(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Coordinator:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.shutdown()


class SimulatedCluster(Coordinator):
    """N workers in this process, called one after another: the numbers of a Ray cluster of N, without Ray.

    Args:
      num_workers: how many replicas.
      reducer: as for :class:`~graphvar.distribute.Cluster`.
    """

    def __init__(self, num_workers: int, reducer: Any = None) -> None:
        super().__init__(num_workers, reducer)
        self.workers = [Worker(r, self.num_workers) for r in range(self.num_workers)]

    def _gather(self, method: str, args: Sequence[tuple], ranks: Sequence[int]) -> list[Any]:
        out: list[Any] = []
        for rank, a in zip(ranks, args):
            try:
                out.append(getattr(self.workers[rank], method)(*a))
            except Exception as e:  # handed to the caller as a Failure, raised by _call
                out.append(Failure(rank, e))
        return out

    def shutdown(self) -> None:
        for w in self.workers:
            w.close()

"""``Cluster``: N graphvar workers as Ray actors (the ``graphvar[ray]`` extra).

Ray is imported only here, when a Cluster is made; the rest of graphvar.distribute works
without it (:class:`~graphvar.distribute.SimulatedCluster`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from graphvar import errors
from graphvar.distribute.coordinator import Coordinator, Failure
from graphvar.distribute.worker import Worker

__all__ = ["Cluster", "WorkerDiedError"]

_REMOTE_WORKER: Any = None


class WorkerDiedError(errors.UnavailableError):
    """A worker's process died (killed, out of memory, its node lost). ``rank`` names it."""

    def __init__(self, node_def: Any, op: Any, message: str, rank: int = -1) -> None:
        super().__init__(node_def, op, message)
        self.rank = rank

    def __reduce__(self) -> Any:
        return (type(self), (None, None, self.message, self.rank))


def _ray() -> Any:
    try:
        import ray
    except ImportError as e:
        raise ImportError(
            "graphvar.distribute.Cluster needs Ray: pip install 'graphvar[ray]' "
            "(SimulatedCluster runs the same workers in one process without it)"
        ) from e
    return ray


def _remote_worker(ray: Any) -> Any:
    global _REMOTE_WORKER
    if _REMOTE_WORKER is None:
        _REMOTE_WORKER = ray.remote(Worker)
    return _REMOTE_WORKER


def _actor_options(resources: dict | None) -> dict:
    """Ray actor options from ``{"CPU": 1, "GPU": 1, "memory": bytes, "<custom>": n}``."""
    if not resources:
        return {}
    rest = dict(resources)
    options: dict[str, Any] = {}
    for key, option in (("CPU", "num_cpus"), ("GPU", "num_gpus"), ("memory", "memory")):
        if key in rest:
            options[option] = rest.pop(key)
    if rest:
        options["resources"] = rest
    return options


class Cluster(Coordinator):
    """``num_workers`` graphvar workers, each a Ray actor holding its own Graph and Session.

    Args:
      num_workers: how many replicas (actors).
      resources_per_worker: each actor's Ray resources, e.g. ``{"CPU": 1}`` or ``{"GPU": 1}``
        (default: Ray's defaults for an actor, which lets more actors than CPUs share a node).
      address: a running Ray cluster to attach to ("auto", "ray://host:10001", ...); None starts a
        local one unless this process is already connected to Ray.
      reducer: how gradients are averaged (default :class:`ObjectStoreReducer`).
      start_timeout_s: how long to wait for the actors to start (Ray waits forever for resources
        that no node has).

    Raises:
      ImportError: Ray is not installed.
      UnavailableError: the actors did not start in time (the message lists Ray's free resources).

    Example:
      >>> with graphvar.distribute.Cluster(4) as cluster:
      ...     cluster.build(model_fn, seed=1)
      ...     for xs, ys in batches:
      ...         loss = cluster.step({"x": xs, "y": ys})
    """

    def __init__(self, num_workers: int, resources_per_worker: dict | None = None, address: str | None = None,
                 reducer: Any = None, start_timeout_s: float = 300.0) -> None:  # fmt: skip
        super().__init__(num_workers, reducer)
        self._start_timeout_s = float(start_timeout_s)
        ray = self._ray = _ray()
        self._owns_ray = not ray.is_initialized()
        if self._owns_ray:
            ray.init(address=address, include_dashboard=False, log_to_driver=False)
        self._options = _actor_options(resources_per_worker)
        self.dead: set[int] = set()
        self._start()

    def _start(self) -> None:
        remote = _remote_worker(self._ray).options(**self._options)
        self._actors = [remote.remote(r, self.num_workers) for r in range(self.num_workers)]
        self.dead = set()
        refs = [a.pid.remote() for a in self._actors]
        ready, _ = self._ray.wait(refs, num_returns=len(refs), timeout=self._start_timeout_s)
        if len(ready) < len(refs):
            late = [r for r, ref in enumerate(refs) if ref not in ready]
            free = self._ray.available_resources()
            self._kill_actors()
            raise errors.UnavailableError(
                None, None, f"workers {late} of {self.num_workers} did not start within {self._start_timeout_s:g} s "
                f"(each asks for {self._options or 'Ray defaults'}; free in the Ray cluster: {free})"
            )  # fmt: skip
        self.pids = [self._get(r, ref, "start") for r, ref in enumerate(refs)]
        failed = [p for p in self.pids if isinstance(p, Failure)]
        if failed:
            self._kill_actors()
            raise failed[0].error

    def _gather(self, method: str, args: Sequence[tuple], ranks: Sequence[int]) -> list[Any]:
        gone = [r for r in ranks if r in self.dead]
        if gone:
            raise errors.FailedPreconditionError(
                None, None, f"worker {gone[0]} of {self.num_workers} died earlier; call cluster.restart() "
                "(then restore the latest checkpoint) to go on"
            )  # fmt: skip
        refs = [getattr(self._actors[r], method).remote(*a) for r, a in zip(ranks, args)]
        return [self._get(r, ref, method) for r, ref in zip(ranks, refs)]

    def _get(self, rank: int, ref: Any, method: str) -> Any:
        exc = self._ray.exceptions
        try:
            return self._ray.get(ref)
        except exc.RayActorError as e:
            self.dead.add(rank)
            pid = self.pids[rank] if getattr(self, "pids", None) else "?"
            return Failure(rank, WorkerDiedError(
                None, None, f"worker {rank} of {self.num_workers} (Ray actor {self._actors[rank]._actor_id.hex()[:12]}, "
                f"pid {pid}) died during {method}: {type(e).__name__}", rank=rank,
            ), died=True)  # fmt: skip
        except exc.RayTaskError as e:
            cause = getattr(e, "cause", None)
            if isinstance(cause, errors.OpError):
                wrapped = type(cause)(None, None, f"worker {rank}: {cause.message}")
                wrapped.__cause__ = e
                return Failure(rank, wrapped)
            return Failure(rank, e.as_instanceof_cause())

    def _broadcast(self, method: str, value: Any) -> list:
        ref = self._ray.put(value)  # one object, read by every worker
        return self._call(method, [(ref,)] * self.num_workers)

    def restart(self, num_workers: int | None = None) -> None:
        """Replaces every actor (the survivors too) with ``num_workers`` new ones built from the last
        ``build``'s model_fn and seed; restore a checkpoint afterwards to go on training."""
        self._kill_actors()
        if num_workers is not None:
            self.num_workers = int(num_workers)
        self._start()
        if self._model_fn is not None:
            self.build(self._model_fn, self._seed)

    def _kill_actors(self) -> None:
        for actor in getattr(self, "_actors", []):
            try:
                self._ray.kill(actor)
            except Exception:  # already gone
                pass
        self._actors = []

    def shutdown(self) -> None:
        """Kills the actors; stops Ray if this Cluster started it."""
        self._kill_actors()
        if self._owns_ray and self._ray.is_initialized():
            self._ray.shutdown()

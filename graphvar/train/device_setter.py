"""``tf.train.replica_device_setter`` and ``tf.train.ClusterSpec``: TF1's parameter-server placement.

The device function puts every variable op on ``/job:ps/task:K`` (K round-robin, as TF1's
``_RoundRobinStrategy``) and everything else on the worker device. In one process those device
strings name no real device: the Session runs them on the host (job and task are names only),
while ``Saver(sharded=True)`` still writes one shard per ps task, as TensorFlow does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphvar.framework import device as device_lib

__all__ = ["STANDARD_PS_OPS", "ClusterSpec", "replica_device_setter"]

# TF's device_setter.STANDARD_PS_OPS
STANDARD_PS_OPS = ("Variable", "VariableV2", "AutoReloadVariable", "MutableHashTable", "MutableHashTableV2",
                   "MutableHashTableOfTensors", "MutableHashTableOfTensorsV2", "MutableDenseHashTable",
                   "MutableDenseHashTableV2", "VarHandleOp", "BoostedTreesEnsembleResourceHandleOp",
                   "BoostedTreesQuantileStreamResourceHandleOp", "ResourceConditionalAccumulator",
                   "DecisionTreeResource", "TreeEnsembleVariable")  # fmt: skip


class ClusterSpec:
    """TF's ``tf.train.ClusterSpec``: job name -> task addresses (a list, or a dict task index -> address).

    Example:
      >>> tf.train.ClusterSpec({"ps": ["ps0:2222", "ps1:2222"], "worker": ["w0:2222"]}).num_tasks("ps")
      2
    """

    def __init__(self, cluster: Any) -> None:
        if isinstance(cluster, ClusterSpec):
            cluster = cluster.as_dict()
        if not isinstance(cluster, dict):
            raise TypeError(f"`cluster` must be a dictionary mapping one or more job names to lists of network "
                            f"addresses, or a ClusterSpec; got {cluster!r}")  # fmt: skip
        self._jobs: dict[str, dict[int, str]] = {}
        for job, tasks in cluster.items():
            if isinstance(tasks, (list, tuple)):
                tasks = dict(enumerate(tasks))
            elif not isinstance(tasks, dict):
                raise TypeError(f"The tasks for job {job!r} must be a list or a dictionary from integers to strings.")
            self._jobs[str(job)] = {int(k): str(v) for k, v in tasks.items()}

    @property
    def jobs(self) -> list[str]:
        return list(self._jobs)

    def num_tasks(self, job_name: str) -> int:
        return len(self._job(job_name))

    def task_indices(self, job_name: str) -> list[int]:
        return sorted(self._job(job_name))

    def job_tasks(self, job_name: str) -> list[str | None]:
        tasks = self._job(job_name)
        return [tasks.get(i) for i in range(max(tasks) + 1)] if tasks else []

    def as_dict(self) -> dict[str, Any]:
        """Each job's tasks as a list when they are numbered 0..n-1, else as a dict (TF's rule)."""
        out: dict[str, Any] = {}
        for job, tasks in self._jobs.items():
            dense = sorted(tasks) == list(range(len(tasks)))
            out[job] = [tasks[i] for i in range(len(tasks))] if dense else dict(tasks)
        return out

    def _job(self, job_name: str) -> dict[int, str]:
        if job_name not in self._jobs:
            raise ValueError(f"No such job in cluster: {job_name!r}")
        return self._jobs[job_name]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ClusterSpec) and self._jobs == other._jobs

    def __repr__(self) -> str:
        return f"ClusterSpec({self.as_dict()!r})"


class _RoundRobinStrategy:
    """TF's: task 0, 1, ..., n-1, 0, ... in the order the ps ops are created."""

    def __init__(self, num_tasks: int) -> None:
        self._num_tasks, self._next_task = num_tasks, 0

    def __call__(self, unused_op: Any) -> int:
        task = self._next_task
        self._next_task = (self._next_task + 1) % self._num_tasks
        return task


def replica_device_setter(ps_tasks: int = 0, ps_device: str = "/job:ps", worker_device: str = "/job:worker",
                          merge_devices: bool = True, cluster: Any = None, ps_ops: Any = None,
                          ps_strategy: Callable[[Any], int] | None = None) -> Callable[[Any], str] | None:  # fmt: skip
    """A device function for ``tf.device``: variables round-robin on the ps tasks, the rest on the worker.

    Args:
      ps_tasks: the number of ps tasks (ignored when ``cluster`` is given).
      ps_device: the ps job's device ("/job:ps"); the task is added.
      worker_device: where the other ops go.
      merge_devices: an op's own device fields take precedence over the setter's.
      cluster: a ClusterSpec or its dict; the ps task count is its ps job's size.
      ps_ops: op types placed on the ps (default STANDARD_PS_OPS).
      ps_strategy: op -> task index (default round-robin).

    Returns:
      The device function, or None when there are no ps tasks (as TF).

    Raises:
      TypeError: ps_strategy is not callable.

    Example:
      >>> with tf.device(tf.train.replica_device_setter(ps_tasks=2)):
      ...     w = tf.Variable(tf.zeros([4]))     # /job:ps/task:0
      ...     b = tf.Variable(tf.zeros([4]))     # /job:ps/task:1
    """
    if cluster is not None:
        spec = cluster.as_dict() if isinstance(cluster, ClusterSpec) else ClusterSpec(cluster).as_dict()
        ps_job = device_lib.parse(ps_device).get("job")
        if ps_job not in spec or spec[ps_job] is None:
            return None
        ps_tasks = len(spec[ps_job])
    if ps_tasks == 0:
        return None
    if ps_strategy is None:
        ps_strategy = _RoundRobinStrategy(ps_tasks)
    if not callable(ps_strategy):
        raise TypeError("ps_strategy must be callable")
    ps_ops = set(STANDARD_PS_OPS if ps_ops is None else ps_ops)

    def device_function(op: Any) -> str:
        if not merge_devices and op.device:
            return op.device
        current = device_lib.parse(op.device or "")
        if ps_device and op.type in ps_ops:
            ps = device_lib.parse(ps_device)
            if ps.get("job") and (not current.get("job") or current.get("job") == ps.get("job")):
                ps["task"] = str(ps_strategy(op))
            ps.update(current)
            return device_lib.to_string(ps)
        worker = device_lib.parse(worker_device or "")
        worker.update(current)
        return device_lib.to_string(worker)

    return device_function

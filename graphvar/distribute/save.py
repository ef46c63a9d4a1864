"""Parallel save: every worker writes the tensors it owns, the coordinator merges and commits.

Ownership: the Saver's entries in their stable order (sorted checkpoint keys, parts in name
order), entry ``i`` owned by worker ``i % N``; an entry on a ps task K (replica_device_setter) by
worker ``K % N``. Protocol of :meth:`ParallelSaver.save`:

1. every owner opens a ``ShardWriter`` (shard k of K, K = the workers that own anything) and
   returns its temporary prefix, so the coordinator can always discard it;
2. the owners write their entries in parallel and return what they wrote;
3. the coordinator checks that against the plan, then ``merge_bundles`` commits (the merged
   index renamed into place last);
4. only then: the meta graph (worker 0), the ``checkpoint`` state file and ``max_to_keep``.

A failure in 1-3, a dead worker included, aborts: the live writers abort, every shard prefix is
discarded with its temporaries, dead writers' temporaries on this machine are removed, and the
error is raised. A previous checkpoint is never touched before the commit point.
"""

from __future__ import annotations

import os
from typing import Any

from graphvar import checkpoint, errors
from graphvar.checkpoint.merge import merge_bundles
from graphvar.distribute.coordinator import Coordinator, Failure
from graphvar.distribute.worker import discard_shard
from graphvar.framework import device as device_lib
from graphvar.train import checkpoint_files
from graphvar.train.checkpoint_state import update_checkpoint_state

__all__ = ["ParallelSaver", "owners"]


def owners(num_entries: int, num_workers: int, devices: list[str] | None = None) -> list[int]:
    """The owner rank of each entry: an entry on ``/job:ps/task:K`` (tf.train.replica_device_setter) is
    worker ``K % N``'s, so each ps task's variables make one shard as in TF's sharded save; the others
    go round-robin over the stable order."""
    out, rest = [], 0
    for i in range(num_entries):
        fields = device_lib.parse(devices[i]) if devices else {}
        if fields.get("job") == "ps" and fields.get("task", "").isdigit():
            out.append(int(fields["task"]) % num_workers)
        else:
            out.append(rest % num_workers)
            rest += 1
    return out


class ParallelSaver:
    """Saves a cluster's model with every worker writing its share; TF1's Saver call shapes.

    Args:
      max_to_keep: how many recent checkpoints to keep (None or 0: all); only this coordinator
        rotates them and writes the ``checkpoint`` state file.

    Example:
      >>> saver = graphvar.distribute.ParallelSaver(max_to_keep=3)
      >>> path = saver.save(cluster, "/ckpt/model.ckpt", global_step=100)
      >>> saver.restore(other_cluster, tf.train.latest_checkpoint("/ckpt"))   # any number of workers
    """

    def __init__(self, max_to_keep: int | None = 5) -> None:
        self._max_to_keep = max_to_keep
        self.last_checkpoints: list[str] = []

    def save(self, cluster: Coordinator, save_path: str, global_step: int | None = None,
             write_meta_graph: bool = True, latest_filename: str = "checkpoint") -> str:  # fmt: skip
        """Writes a checkpoint of ``cluster``'s model (replica-identical, so each tensor from its owner).

        Returns:
          The prefix written (``save_path`` or ``save_path-N``).

        Raises:
          ValueError: the directory does not exist, or the cluster has no model.
          UnavailableError: a writer died (nothing was committed; no files are left behind).
          InternalError: a writer reported other tensors than it was given.
        """
        if not cluster.save_plan:
            raise ValueError("the cluster has no model: call cluster.build(model_fn) first")
        prefix = os.fspath(save_path) if global_step is None else f"{os.fspath(save_path)}-{int(global_step)}"
        parent = os.path.dirname(prefix) or "."
        if not os.path.isdir(parent):
            raise ValueError(f"Parent directory of {save_path} doesn't exist, can't save.")
        checkpoint.cleanup_stale_temps(parent)
        _write_and_merge(cluster, prefix, parent)
        if write_meta_graph:
            cluster._call("export_meta_graph", [(f"{prefix}.meta",)], ranks=[0])
        self._record(prefix, parent, latest_filename)
        return prefix

    def restore(self, cluster: Coordinator, save_path: str) -> None:
        """Restores every worker from ``save_path`` (saved by any number of workers, or by TensorFlow).

        Raises:
          ValueError: no checkpoint at ``save_path``.
          InternalError: the replicas differ after the restore.
        """
        if save_path is None or checkpoint.resolve(os.fspath(save_path)) is None:
            raise ValueError(f"The passed save_path is not a valid checkpoint: {save_path}")
        digests = cluster._call("restore", [(os.fspath(save_path),)] * cluster.num_workers)
        cluster._check_identical(digests, f"after restoring {save_path}")

    def _record(self, prefix: str, parent: str, latest_filename: str) -> None:
        kept = [p for p in self.last_checkpoints if p != prefix] + [prefix]
        doomed = kept[: -self._max_to_keep] if self._max_to_keep else []
        self.last_checkpoints = kept[len(doomed) :]
        update_checkpoint_state(parent, prefix, self.last_checkpoints, latest_filename)
        for old in doomed:
            checkpoint_files.delete_checkpoint(old, "tf", parent)
            if os.path.isfile(f"{old}.meta"):
                os.remove(f"{old}.meta")


def _write_and_merge(cluster: Coordinator, prefix: str, parent: str) -> None:
    plan = [name for name, _ in cluster.save_plan]
    owner = owners(len(plan), cluster.num_workers, [device for _, device in cluster.save_plan])
    writers = sorted(set(owner))
    opened: list[Any] = []
    try:
        opened = cluster._gather("begin_shard", [(prefix, k, len(writers)) for k in range(len(writers))], writers)
        _raise_first(opened)
        given = [[i for i, o in enumerate(owner) if o == rank] for rank in writers]
        written = cluster._gather("write_shard", [(g,) for g in given], writers)
        _raise_first(written)
        for rank, shard, (path, keys), g in zip(writers, opened, written, given):
            if path != shard or keys != [plan[i] for i in g]:
                raise errors.InternalError(
                    None, None, f"worker {rank} wrote {len(keys)} tensors to {path}; it was given {len(g)} "
                    f"to write to {shard} (nothing was committed to {prefix})"
                )  # fmt: skip
        merge_bundles(opened, prefix)
    except BaseException:
        _abort(cluster, writers, opened, parent)
        raise


def _raise_first(results: list) -> None:
    failures = [r for r in results if isinstance(r, Failure)]
    if failures:
        raise ([f for f in failures if f.died] or failures)[0].error


def _abort(cluster: Coordinator, writers: list[int], opened: list, parent: str) -> None:
    live = [r for r in writers if r not in getattr(cluster, "dead", ())]
    if live:
        cluster._gather("abort_shard", [()] * len(live), live)  # failures ignored: the files are removed below
    for shard in opened:
        if isinstance(shard, str):
            discard_shard(shard)
    checkpoint.cleanup_stale_temps(parent)  # a writer that died before returning its prefix, on this machine

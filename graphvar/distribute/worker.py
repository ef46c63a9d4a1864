"""One replica of a data-parallel model: its own Graph, Session and Saver, in any process.

A :class:`Worker` is plain Python: :class:`graphvar.distribute.Cluster` runs one in each Ray
actor, :class:`graphvar.distribute.SimulatedCluster` runs N of them in one process. Both drive
them through the same methods, so the two give the same numbers.

``build(model_fn, seed)`` makes a new Graph with graph-level seed ``seed`` and calls
``model_fn()``, which returns ``(loss, optimizer)`` (or a dict with ``loss``, ``optimizer`` and
optionally ``global_step``). The worker then adds ``optimizer.compute_gradients(loss)``, one
placeholder per gradient, ``optimizer.apply_gradients`` of those placeholders (so every replica
applies exactly the values it is fed) and a Saver over the global variables.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import os
from collections.abc import Callable
from typing import Any

import numpy as np

from graphvar import errors
from graphvar.checkpoint.merge import ShardWriter, discard_bundle
from graphvar.framework import ops
from graphvar.framework.indexed_slices import IndexedSlices
from graphvar.ops import array_ops
from graphvar.session import Session
from graphvar.train import saver_io
from graphvar.train.optimizer import is_indexed_slices
from graphvar.train.saver import Saver
from graphvar.train.training_util import get_global_step
from graphvar.variables import global_variables_initializer

__all__ = ["SparseGrad", "Worker", "discard_shard"]


class SparseGrad(tuple):
    """An IndexedSlices gradient as arrays: ``(values, indices, dense_shape)``."""

    __slots__ = ()

    def __new__(cls, values: np.ndarray, indices: np.ndarray, dense_shape: tuple) -> SparseGrad:
        return super().__new__(cls, (values, indices, tuple(dense_shape)))

    def __getnewargs__(self) -> tuple:
        return tuple(self)


def discard_shard(prefix: str) -> None:
    """Removes a shard bundle and any temporaries its writer left under ``prefix`` (never raises)."""
    discard_bundle(prefix)
    for path in glob.glob(glob.escape(prefix) + ".*"):  # the writer's own temporaries: prefix.data-...gvtmp-...
        try:
            os.remove(path)
        except OSError:
            pass


def _model_parts(out: Any) -> tuple[Any, Any, Any]:
    if isinstance(out, dict):
        return out["loss"], out["optimizer"], out.get("global_step")
    if isinstance(out, (tuple, list)) and len(out) == 2:
        return out[0], out[1], None
    raise TypeError(f"model_fn must return (loss, optimizer) or a dict with 'loss' and 'optimizer'; got {out!r}")


class Worker:
    """Replica ``rank`` of ``num_workers``.

    Attributes (for functions given to ``Cluster.run``): ``rank``, ``num_workers``, ``graph``,
    ``session``, ``saver``, ``loss``, ``variables`` (the trained variables, in gradient order).
    """

    def __init__(self, rank: int, num_workers: int) -> None:
        self.rank, self.num_workers = rank, num_workers
        self.graph: ops.Graph | None = None
        self.session: Session | None = None
        self.saver: Saver | None = None
        self._hooks: dict[str, Callable[[Worker], None]] = {}
        self._shard: ShardWriter | None = None

    # ---- setup ----
    def pid(self) -> int:
        return os.getpid()

    def build(self, model_fn: Callable[[], Any], seed: int | None) -> dict[str, str]:
        """Builds the model and initializes it; returns a digest of every variable's bytes."""
        if self.session is not None:
            self.session.close()
        self.graph = graph = ops.Graph()
        with graph.as_default():
            graph.seed = seed
            loss, optimizer, global_step = _model_parts(model_fn())
            self.loss = ops.convert_to_tensor(loss)
            pairs = [(g, v) for g, v in optimizer.compute_gradients(self.loss) if g is not None]
            if not pairs:
                raise ValueError(f"No gradients for any variable of loss {self.loss.name}")
            self.variables = [v for _, v in pairs]
            self._grad_fetches = [[g.values, g.indices] if is_indexed_slices(g) else g for g, _ in pairs]
            self._grad_feeds = [self._grad_placeholders(g, v) for g, v in pairs]
            feeds = [IndexedSlices(f[0], f[1], g.dense_shape) if is_indexed_slices(g) else f
                     for f, (g, _) in zip(self._grad_feeds, pairs)]  # fmt: skip
            step = global_step if global_step is not None else get_global_step(graph)
            self.train_op = optimizer.apply_gradients(list(zip(feeds, self.variables)), global_step=step)
            self.saver = Saver(max_to_keep=None)
            self.session = Session(graph=graph)
            self.session.run(global_variables_initializer())
        return self.digests()

    def _grad_placeholders(self, g: Any, v: Any) -> Any:
        name = v.op.name
        if is_indexed_slices(g):
            values = array_ops.placeholder(g.values.dtype, [None, *v.shape.as_list()[1:]], name=f"avg_grad/{name}")
            return [values, array_ops.placeholder(g.indices.dtype, [None], name=f"avg_grad/{name}/indices")]
        return array_ops.placeholder(g.dtype, v.shape, name=f"avg_grad/{name}")

    def digests(self) -> dict[str, str]:
        """SHA-256 of each global variable's bytes, by name (equal across replicas that agree bit for bit)."""
        return {name: hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()
                for name, a in self.values().items()}  # fmt: skip

    def values(self) -> dict[str, np.ndarray]:
        """Every global variable's current value, by op name."""
        entries = self._entries()
        arrays = self.session.run([e.variable for e in entries])
        return {e.op.name: np.asarray(a) for e, a in zip(entries, arrays)}

    def run(self, fn: Callable[..., Any], args: tuple = ()) -> Any:
        with self.graph.as_default() if self.graph is not None else contextlib.nullcontext():
            return fn(self, *args)

    def on(self, point: str, fn: Callable[[Worker], None] | None) -> None:
        """Calls ``fn(worker)`` when this worker reaches ``point`` (fault injection for tests)."""
        if fn is None:
            self._hooks.pop(point, None)
        else:
            self._hooks[point] = fn

    def _reach(self, point: str) -> None:
        hook = self._hooks.get(point)
        if hook is not None:
            hook(self)

    # ---- a data-parallel step ----
    def compute_gradients(self, feed: dict) -> tuple[float, list]:
        """The loss and the gradients on this worker's shard of the batch (SparseGrad for IndexedSlices)."""
        self._reach("compute_gradients")
        feed = {f"{k}:0" if isinstance(k, str) and ":" not in k else k: v for k, v in feed.items()}
        loss, grads = self.session.run([self.loss, self._grad_fetches], feed_dict=feed)
        out = [SparseGrad(g[0], g[1], v.shape.as_list()) if isinstance(g, list) else g
               for g, v in zip(grads, self.variables)]  # fmt: skip
        return float(loss), out

    def apply_gradients(self, averaged: list) -> None:
        """Applies the averaged gradients (the same values on every replica)."""
        self._reach("apply_gradients")
        feed: dict = {}
        for ph, g in zip(self._grad_feeds, averaged):
            if isinstance(ph, list):
                feed[ph[0]], feed[ph[1]] = g[0], g[1]
            else:
                feed[ph] = g
        self.session.run(self.train_op, feed_dict=feed)

    # ---- parallel save ----
    def _entries(self) -> list[saver_io.Entry]:
        return self.saver._entries

    def save_plan(self) -> list[tuple[str, str]]:
        """The Saver's entries in their stable order: ("checkpoint key|part name", device)."""
        return [(f"{e.key}|{e.op.name}", e.op.device) for e in self._entries()]

    def begin_shard(self, prefix: str, shard: int, num_shards: int) -> str:
        """Opens this worker's shard writer; returns its temporary prefix (so the coordinator can discard it)."""
        self._reach("begin_shard")
        self._shard = ShardWriter(prefix, shard, num_shards)
        return self._shard.prefix

    def write_shard(self, indices: list[int]) -> tuple[str, list[str]]:
        """Writes the entries ``indices`` (of ``save_plan``) into the open shard; returns (prefix, what was written)."""
        writer, entries = self._shard, self._entries()
        chosen = [entries[i] for i in indices]
        slots = [self.session._variable_slot(e.variable) for e in chosen]
        try:
            saver_io._saveable_specs(chosen, slots, writer.prefix)
            for n, (entry, slot) in enumerate(zip(chosen, slots)):
                self._reach(f"write_tensor:{n}")
                saver_io._write_slot(writer, entry, slot, None)
            self._reach("finish_shard")
            writer.finish()
        except BaseException:
            self.abort_shard()
            raise
        self._shard = None
        return writer.prefix, [f"{e.key}|{e.op.name}" for e in chosen]

    def abort_shard(self) -> None:
        if self._shard is not None:
            writer, self._shard = self._shard, None
            writer.abort()
            discard_shard(writer.prefix)

    def export_meta_graph(self, path: str) -> None:
        self.saver.export_meta_graph(path)

    def restore(self, path: str) -> dict[str, str]:
        """Restores every variable from checkpoint ``path`` (written by any number of workers)."""
        if not os.path.exists(path + ".index") and not os.path.exists(path):
            raise errors.NotFoundError(None, None, f"worker {self.rank}: no checkpoint {path}")
        self.saver.restore(self.session, path)
        return self.digests()

    def close(self) -> None:
        if self.session is not None:
            self.session.close()
            self.session = None

"""``tf.train.Saver``: TF1's checkpointing of variables, with TF's call shapes.

A Saver adds no ops to the graph: ``save`` and ``restore`` move each variable's buffer in
the Session straight to or from the checkpoint files (see :mod:`graphvar.train.saver_io`),
so nothing grows with the number of saves.

Save protocol (a checkpoint is never lost, even if the process is killed at any moment):
remove temporaries of killed saves, write the data and index under temporary names, fsync,
rename data then index, fsync the directory; only then rewrite the ``checkpoint`` state file
(atomically) and delete the checkpoints that fell out of ``max_to_keep``.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
import weakref
from typing import Any

import numpy as np

from graphvar import checkpoint
from graphvar.framework import ops
from graphvar.train import checkpoint_files, saver_io
from graphvar.train.checkpoint_state import update_checkpoint_state
from graphvar.variables import Variable, global_variables

__all__ = ["Saver"]

log = logging.getLogger("graphvar")
SAVEABLE_OBJECTS = "saveable_objects"  # TF's GraphKeys.SAVEABLE_OBJECTS
_FORMATS = ("tf", "safetensors")


class Saver:
    """Saves and restores variables (TF1's ``tf.compat.v1.train.Saver``).

    Args:
      var_list: None (all global variables and the SAVEABLE_OBJECTS collection), a list /
        tuple / set of Variables (saved under their op names), or a dict name -> Variable.
        Tensors made by a VariableV2 op are accepted in place of Variables.
      reshape: allow restoring a tensor of another shape with the same number of elements.
      sharded: write one data file per device, in TF's order and naming (``P.data-0000K-of-0000N``,
        devices sorted by name, one merged ``P.index``); otherwise one data file.
      max_to_keep: how many recent checkpoints to keep (None or 0: all).
      keep_checkpoint_every_n_hours: also keep one checkpoint per this many hours.
      name, restore_sequentially, filename: accepted for compatibility; no ops are built and
        variables are always restored one at a time.
      saver_def, builder: not supported (NotImplementedError).
      defer_build: resolve the variables only when :meth:`build` is called.
      allow_empty: with no variables, save and restore do nothing (else ValueError).
      write_version: 2 (TF's V2 format); 1 (V1) raises NotImplementedError.
      pad_step_number: name checkpoints ``P-00001000`` instead of ``P-1000``.
      save_relative_paths: store paths relative to the directory in the state file.
      format: "tf" (TF V2 bundle: ``P.index`` + ``P.data-00000-of-00001``) or
        "safetensors" (one file ``P.safetensors``). Restore reads either.
      durable: fsync every file and the directory before ``save`` returns (default). False skips
        the fsyncs, as TensorFlow does: a save is still atomic against a killed process (temporary
        names, renames), but a power loss or OS crash may lose it.

    Raises:
      ValueError: no variables (without allow_empty), two variables with one name, the same
        variable under two names, or an unknown format.
      TypeError: something in var_list that is not a variable.

    Example:
      >>> saver = tf.train.Saver(max_to_keep=3)
      >>> path = saver.save(sess, "/tmp/model.ckpt", global_step=1000)   # "/tmp/model.ckpt-1000"
      >>> saver.restore(sess, tf.train.latest_checkpoint("/tmp"))
    """

    def __init__(self, var_list: Any = None, reshape: bool = False, sharded: bool = False, max_to_keep: int | None = 5,
                 keep_checkpoint_every_n_hours: float = 10000.0, name: str | None = None,
                 restore_sequentially: bool = False, saver_def: Any = None, builder: Any = None,
                 defer_build: bool = False, allow_empty: bool = False, write_version: int = 2,
                 pad_step_number: bool = False, save_relative_paths: bool = False, filename: str | None = None,
                 format: str = "tf", durable: bool = True) -> None:  # fmt: skip
        _check_supported(saver_def, builder, write_version, format)
        self._var_list = var_list
        self._reshape, self._sharded, self._allow_empty = reshape, sharded, allow_empty
        self._max_to_keep = max_to_keep
        self._keep_every_s = keep_checkpoint_every_n_hours * 3600.0
        self._next_checkpoint_time = time.time() + self._keep_every_s
        self._pad_step_number, self._save_relative_paths = pad_step_number, save_relative_paths
        self._name, self._filename, self._format = name, filename, format
        self._durable = bool(durable)
        self._last_checkpoints: list[tuple[str, float]] = []
        self._checkpoints_to_be_deleted: list[tuple[str, float]] = []
        self._lock = threading.Lock()
        self._entries: list[saver_io.Entry] | None = None
        self._is_empty = False
        if not defer_build:
            self.build()

    def build(self) -> None:
        """Resolves the variables to save (done by the constructor unless defer_build=True)."""
        if self._entries is not None:
            return
        var_list = self._var_list
        if var_list is None:
            var_list = global_variables() + ops.get_collection(SAVEABLE_OBJECTS)
        entries = _entries(var_list)
        if not entries:
            if not self._allow_empty:
                raise ValueError("No variables to save")
            self._is_empty = True
        self._entries = entries
        # TF's Saver builds its ops under this scope: the names its SaverDef gives (save/Const:0, ...)
        graph = entries[0].op.graph if entries else ops.get_default_graph()
        with graph.name_scope(None):
            self._scope = graph.unique_name(self._name or "save")
        if not hasattr(graph, "_graphvar_savers"):
            graph._graphvar_savers = weakref.WeakSet()
        graph._graphvar_savers.add(self)

    # ---- save ----
    def save(self, sess: Any, save_path: str, global_step: Any = None, latest_filename: str | None = None,
             meta_graph_suffix: str = "meta", write_meta_graph: bool = True, write_state: bool = True,
             strip_default_attrs: bool = False, save_debug_info: bool = False, progress: bool = False) -> str | None:  # fmt: skip
        """Saves the variables' current values in ``sess`` to a new checkpoint.

        Args:
          sess: the Session holding the values.
          save_path: the checkpoint prefix, e.g. "/tmp/model.ckpt".
          global_step: an int, or a Variable / Tensor evaluated in ``sess``, appended as "-N".
          latest_filename: the state file's name in the prefix's directory (default "checkpoint").
          meta_graph_suffix: the meta graph is written to ``<prefix>.<meta_graph_suffix>``.
          write_meta_graph: also write the graph as TF's MetaGraphDef (``P.meta``, TF's default),
            which TensorFlow's ``import_meta_graph`` and graphvar's read back.
          strip_default_attrs, save_debug_info: accepted.
          write_state: update the state file and delete checkpoints beyond max_to_keep.
          progress: print a progress bar to stderr.

        Returns:
          The prefix written (``save_path`` or ``save_path-N``); None for an empty Saver.

        Raises:
          ValueError: the parent directory does not exist, or a bad latest_filename.
          FailedPreconditionError: a variable is uninitialized (nothing is written).
          TypeError: ``sess`` is not a Session.

        Example:
          >>> saver.save(sess, "/tmp/model.ckpt", global_step=step)
          '/tmp/model.ckpt-1000'
        """
        self._check_built("save")
        if self._is_empty:
            return None
        latest_filename = latest_filename or "checkpoint"
        if os.path.split(latest_filename)[0]:
            raise ValueError("'latest_filename' must not contain path components")
        save_path = os.fspath(save_path)
        self._check_session(sess)
        prefix = self._checkpoint_prefix(sess, save_path, global_step)
        parent = os.path.dirname(save_path)
        if parent and not os.path.isdir(parent):
            raise ValueError(f"Parent directory of {save_path} doesn't exist, can't save.")
        checkpoint.cleanup_stale_temps(parent or ".")
        saver_io.save_tensors(sess, self._entries, prefix, self._format, progress, sharded=self._sharded,
                              durable=self._durable)  # fmt: skip
        if write_meta_graph:
            self._write_meta_graph(f"{prefix}.{meta_graph_suffix}", strip_default_attrs)
        if write_state:
            with self._lock:
                self._record_last_checkpoint(prefix)
                update_checkpoint_state(parent or ".", prefix, self.last_checkpoints, latest_filename,
                                        save_relative_paths=self._save_relative_paths, durable=self._durable)  # fmt: skip
                self._maybe_delete_old_checkpoints(parent or ".")
        return prefix

    def _checkpoint_prefix(self, sess: Any, save_path: str, global_step: Any) -> str:
        if global_step is None:
            return save_path
        if not isinstance(global_step, (int, np.integer)):
            global_step = int(sess.run(global_step))
        return ("%s-%08d" if self._pad_step_number else "%s-%d") % (save_path, global_step)

    # ---- restore ----
    def restore(self, sess: Any, save_path: str | None, progress: bool = False) -> None:
        """Restores the variables from a checkpoint; they need no initializer.

        Every key, dtype and shape is checked before any variable changes. Works in a fresh
        Session or Graph, and reads TF V2 bundles (TensorFlow's own included) and safetensors.

        Args:
          sess: the Session whose variables receive the values.
          save_path: a checkpoint prefix (as returned by save or latest_checkpoint).
          progress: print a progress bar to stderr.

        Raises:
          ValueError: save_path is None, or no checkpoint exists there.
          NotFoundError: keys missing from the checkpoint (all listed, with close matches).
          InvalidArgumentError: dtype or shape mismatches (all listed).
          DataLossError: a damaged file; a variable whose bytes failed their checksum is left
            uninitialized (those restored before it keep their new values).

        Example:
          >>> saver.restore(sess, tf.train.latest_checkpoint("/tmp"))
        """
        self._check_built("restore")
        if self._is_empty:
            return None
        if save_path is None:
            raise ValueError("Can't load save_path when it is None.")
        save_path = os.fspath(save_path)
        if checkpoint.resolve(save_path) is None:
            raise ValueError("The passed save_path is not a valid checkpoint: " + save_path)
        self._check_session(sess)
        log.info("Restoring parameters from %s", save_path)
        saver_io.restore_tensors(sess, self._entries, save_path, self._reshape, progress)
        return None

    # ---- the list of recent checkpoints ----
    @property
    def last_checkpoints(self) -> list[str]:
        """The prefixes of the checkpoints this Saver still keeps, oldest first."""
        return [path for path, _ in self._last_checkpoints]

    def set_last_checkpoints(self, last_checkpoints: list[str]) -> None:
        """DEPRECATED in TF: use set_last_checkpoints_with_time. These checkpoints are never deleted."""
        if not isinstance(last_checkpoints, list):
            raise TypeError(f"last_checkpoints must be a list, got {type(last_checkpoints).__name__}")
        self._last_checkpoints = [(path, math.inf) for path in last_checkpoints]

    def set_last_checkpoints_with_time(self, last_checkpoints_with_time: list[tuple[str, float]]) -> None:
        """Sets the (prefix, timestamp) list of checkpoints, oldest first (e.g. after a restart)."""
        if not isinstance(last_checkpoints_with_time, list):
            raise TypeError(
                f"last_checkpoints_with_time must be a list, got {type(last_checkpoints_with_time).__name__}"
            )
        self._last_checkpoints = [(str(path), float(stamp)) for path, stamp in last_checkpoints_with_time]

    def recover_last_checkpoints(self, checkpoint_paths: list[str]) -> None:
        """Adopts the checkpoints of ``checkpoint_paths`` that exist in this Saver's format, with their
        files' mtimes (rotation later deletes them only if they are in the directory it saves into).

        Example:
          >>> saver.recover_last_checkpoints(tf.train.get_checkpoint_state(d).all_model_checkpoint_paths)
        """
        found = [(p, checkpoint_files.checkpoint_mtime(p, self._format)) for p in checkpoint_paths]
        self.set_last_checkpoints_with_time([(p, t) for p, t in found if t is not None])

    def _record_last_checkpoint(self, prefix: str) -> None:
        if not self._max_to_keep:
            return
        self._last_checkpoints = [p for p in self._last_checkpoints if p[0] != prefix]
        self._last_checkpoints.append((prefix, time.time()))
        while len(self._last_checkpoints) > self._max_to_keep:
            self._checkpoints_to_be_deleted.append(self._last_checkpoints.pop(0))

    def _maybe_delete_old_checkpoints(self, directory: str) -> None:
        while self._checkpoints_to_be_deleted:
            path, stamp = self._checkpoints_to_be_deleted.pop(0)
            if stamp > self._next_checkpoint_time:  # one per keep_checkpoint_every_n_hours is kept
                self._next_checkpoint_time += self._keep_every_s
                continue
            checkpoint_files.delete_checkpoint(path, self._format, directory)
            meta = f"{path}.meta"  # TF deletes the checkpoint's meta graph with it
            if os.path.dirname(os.path.abspath(meta)) == os.path.abspath(directory) and os.path.isfile(meta):
                os.remove(meta)

    # ---- meta graphs ----
    @property
    def saver_def(self) -> Any:
        """TF's SaverDef naming this Saver's save/restore nodes in an exported graph (``save/Const:0``, ...)."""
        from graphvar.proto import meta_graph_pb2

        self._check_built("saver_def")
        scope = self._scope
        return meta_graph_pb2.SaverDef(
            filename_tensor_name=f"{scope}/Const:0", save_tensor_name=f"{scope}/control_dependency:0",
            restore_op_name=f"{scope}/restore_all", max_to_keep=self._max_to_keep or 0,
            keep_checkpoint_every_n_hours=self._keep_every_s / 3600.0, version=meta_graph_pb2.SaverDef.V2,
        )  # fmt: skip

    def as_saver_def(self) -> Any:
        return self.saver_def

    def to_proto(self, export_scope: str | None = None) -> Any:
        return self.saver_def

    def _add_to_graph_def(self, graph_def: Any) -> Any:
        """Adds TF's save/restore nodes for this Saver to an exported GraphDef; returns the SaverDef."""
        from graphvar.framework import meta_graph

        if self._is_empty:
            return None
        return meta_graph.add_saver_nodes(graph_def, self._scope, self._entries, self._max_to_keep,
                                          self._keep_every_s / 3600.0)  # fmt: skip

    def _write_meta_graph(self, filename: str, strip_default_attrs: bool) -> None:
        """Writes P.meta; the serialized meta graph is reused while the graph and its collections are unchanged
        (a training loop saving every N steps exports its graph once, not at every save)."""
        from graphvar.framework.meta_graph_api import write_serialized

        graph = self._entries[0].op.graph if self._entries else ops.get_default_graph()
        key = (graph.version, strip_default_attrs,
               tuple((k, len(graph.get_collection_ref(k))) for k in graph.get_all_collection_keys()))  # fmt: skip
        cached = getattr(self, "_meta_cache", None)
        if cached is None or cached[0] != key:
            mgd = self.export_meta_graph(None, strip_default_attrs=strip_default_attrs)
            cached = self._meta_cache = (key, mgd.SerializeToString())
        write_serialized(filename, cached[1])

    def export_meta_graph(self, filename: str | None = None, collection_list: list | None = None,
                          as_text: bool = False, export_scope: str | None = None, clear_devices: bool = False,
                          clear_extraneous_savers: bool = False, strip_default_attrs: bool = False,
                          save_debug_info: bool = False) -> Any:  # fmt: skip
        """The graph with this Saver's SaverDef as TF's MetaGraphDef (see tf.train.export_meta_graph)."""
        from graphvar.framework.meta_graph_api import export_meta_graph

        self._check_built("export_meta_graph")
        graph = self._entries[0].op.graph if self._entries else ops.get_default_graph()
        return export_meta_graph(filename, collection_list=collection_list, as_text=as_text, graph=graph,
                                 export_scope=export_scope, clear_devices=clear_devices, saver=self)  # fmt: skip

    # ---- checks ----
    def _check_built(self, what: str) -> None:
        if self._entries is None:
            raise RuntimeError(f"`build()` should be called before {what} if defer_build==True")

    def _check_session(self, sess: Any) -> None:
        if not hasattr(sess, "_variable_slot") or not hasattr(sess, "run"):
            raise TypeError(f"'sess' must be a Session; {sess!r}")
        if getattr(sess, "_closed", False):
            raise RuntimeError("Attempted to use a closed Session.")
        for entry in self._entries:
            if entry.op.graph is not sess.graph:
                raise ValueError(f"Variable {entry.op.name} of this Saver is not an element of the Session's graph.")


def _check_supported(saver_def: Any, builder: Any, write_version: int, format: str) -> None:
    if saver_def is not None:
        raise NotImplementedError("Saver(saver_def=...) is not supported: graphvar's Saver builds no graph ops")
    if builder is not None:
        raise NotImplementedError("Saver(builder=...) is not supported: graphvar's Saver builds no graph ops")
    if write_version == 1:
        raise NotImplementedError("write_version=1 (TF's V1 checkpoint format) is not supported; use write_version=2")
    if write_version != 2:
        raise ValueError(f"write_version must be 2 (SaverDef.V2), got {write_version!r}")
    if format not in _FORMATS:
        raise ValueError(f"format must be one of {_FORMATS}, got {format!r}")


def _is_variable(obj: Any) -> bool:
    return isinstance(obj, Variable) or (isinstance(obj, ops.Tensor) and obj.op.type == "VariableV2")


def _parts(var: Any) -> list:
    """A PartitionedVariable or list of parts as its parts; anything else as itself."""
    if hasattr(var, "_get_variable_list"):
        return var._get_variable_list()
    if isinstance(var, (list, tuple)):
        return list(var)
    return [var]


def _slice_info(var: Any) -> Any:
    return getattr(var, "_save_slice_info", None)


def _entries(var_list: Any) -> list[saver_io.Entry]:
    """Checkpoint key -> variable, as TF's op_list_to_dict + validate_and_slice_inputs, sorted by key;
    the parts of a partitioned variable share their full name's key (parts in name order, as TF)."""
    pairs: list[tuple[str, Any, Any]] = []  # (key, variable, SaveSliceInfo or None)
    if isinstance(var_list, dict):
        for name, var in var_list.items():
            if not isinstance(name, str):
                raise TypeError(f"names_to_saveables keys must be strings, got {name!r}")
            parts = _parts(var)
            for part in parts:
                if not _is_variable(part):
                    raise TypeError(f"names_to_saveables must be a dict mapping string names to Tensors/Variables. "
                                    f"Not a variable: {part!r}")  # fmt: skip
                pairs.append((name, part, None if _is_variable(var) else _slice_info(part)))
    elif isinstance(var_list, (list, tuple, set)):
        flat = [p for v in var_list for p in _parts(v)]
        for var in sorted(flat, key=lambda v: v.name if hasattr(v, "name") else str(v)):
            if not _is_variable(var):
                raise TypeError(f"Variable to save is not a Variable: {var!r}")
            info = _slice_info(var)
            pairs.append((info.full_name if info is not None else var.op.name, var, info))
    else:
        raise TypeError(f"Variables to save should be passed in a dict or a list: {var_list!r}")
    by_key: dict[str, list] = {}
    for name, var, info in pairs:
        by_key.setdefault(name, []).append((var, info))
    seen: set[ops.Operation] = set()
    entries = []
    for name in sorted(by_key):
        group = by_key[name]
        sliced = [info is not None for _, info in group]
        if len(group) > 1 and not all(sliced):
            if any(sliced):
                raise ValueError(f"Mixing slices and non-slices with the same name: {name}")
            raise ValueError(f"At least two variables have the same name: {name}")
        for var, info in group:
            if var.op in seen:
                raise ValueError(f"The same saveable will be restored with two names: {name}")
            seen.add(var.op)
            entries.append(saver_io.Entry(name, var, info))
    return entries

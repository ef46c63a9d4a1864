"""``tf.train.export_meta_graph`` / ``import_meta_graph`` / ``write_graph``: TF1's meta-graph workflow.

Example:
  >>> saver.save(sess, "/tmp/model.ckpt")                 # also writes /tmp/model.ckpt.meta
  >>> tf.reset_default_graph()
  >>> saver = tf.train.import_meta_graph("/tmp/model.ckpt.meta")
  >>> with tf.Session() as sess:
  ...     saver.restore(sess, "/tmp/model.ckpt")
  ...     sess.run("y:0", {"x:0": batch})
"""

from __future__ import annotations

import logging
import os
from typing import Any

from graphvar.framework import graph_import, graph_io, meta_graph, ops
from graphvar.proto import meta_graph_pb2

log = logging.getLogger("graphvar")


def export_meta_graph(filename: str | None = None, meta_info_def: Any = None, graph_def: Any = None,
                      saver_def: Any = None, collection_list: list | None = None, as_text: bool = False,
                      graph: Any = None, export_scope: str | None = None, clear_devices: bool = False,
                      clear_extraneous_savers: bool = False, strip_default_attrs: bool = False,
                      save_debug_info: bool = False, saver: Any = None, **kwargs: Any) -> Any:  # fmt: skip
    """The MetaGraphDef of a graph (TF's ``tf.train.export_meta_graph``), written to `filename` if given.

    Args:
      filename: where to write it (binary, or text with as_text=True); None: only return it.
      meta_info_def, graph_def: used as given instead of graphvar's.
      saver_def: a SaverDef (Saver.as_saver_def()); its Saver's save/restore nodes go into the GraphDef.
      collection_list: the collections to export (default: all).
      graph: the graph (default: the default graph).
      export_scope: export only the ops under this name scope, with the scope removed from their names.
      clear_devices: leave out the devices.
      clear_extraneous_savers, strip_default_attrs, save_debug_info: accepted.

    Returns:
      The MetaGraphDef proto (graphvar.proto classes; TF's bytes).

    Raises:
      ValueError: an op graphvar cannot write in TensorFlow's form (named), or a node of export_scope
        with an input outside it.
    """
    graph = graph or ops.get_default_graph()
    mgd = meta_graph_pb2.MetaGraphDef()
    contexts: list = []  # tf.cond's CondContextDefs, as TF writes them in `cond_context`
    if graph_def is None:
        graph_def = graph_io.export_graph_def(graph, clear_devices=clear_devices, cond_contexts=contexts)
        if saver_def is not None or saver is not None:
            saver = saver or _saver_of(graph, saver_def)
            saver_def = saver._add_to_graph_def(graph_def) if saver is not None else saver_def
        if export_scope:
            graph_def = _scoped(graph_def, export_scope)
    mgd.graph_def.CopyFrom(graph_io._as_ours(graph_def))
    if meta_info_def is not None:
        mgd.meta_info_def.MergeFromString(meta_info_def.SerializeToString())
    else:
        from graphvar import __version__

        mgd.meta_info_def.meta_graph_version = f"graphvar {__version__}"
        mgd.meta_info_def.stripped_op_list.CopyFrom(meta_graph.stripped_op_list(mgd.graph_def))
    if saver_def is not None:
        mgd.saver_def.MergeFromString(saver_def.SerializeToString())
    keys = collection_list if collection_list is not None else graph.get_all_collection_keys()
    for key in keys:
        c = meta_graph.collection_def(key, graph.get_collection(key), export_scope)
        if c is not None:
            mgd.collection_def[key].CopyFrom(c)
    if contexts and not export_scope and (collection_list is None or "cond_context" in collection_list):
        mgd.collection_def["cond_context"].bytes_list.value.extend(d.SerializeToString() for d in contexts)
    if filename is not None:
        _write(filename, mgd, as_text)
    return mgd


def _saver_of(graph: Any, saver_def: Any) -> Any:
    for saver in getattr(graph, "_graphvar_savers", ()):
        if saver.saver_def.restore_op_name == saver_def.restore_op_name:
            return saver
    log.info(
        "graphvar: export_meta_graph: no Saver of this graph made saver_def %r; its nodes are not written",
        saver_def.restore_op_name,
    )
    return None


def _scoped(graph_def: Any, scope: str) -> Any:
    prefix = scope.rstrip("/") + "/"
    out = type(graph_def)()
    out.versions.CopyFrom(graph_def.versions)
    for node in graph_def.node:
        if not node.name.startswith(prefix):
            continue
        n = out.node.add()
        n.CopyFrom(node)
        n.name = node.name[len(prefix) :]
        for i, ref in enumerate(node.input):
            ctrl = "^" if ref.startswith("^") else ""
            bare = ref.lstrip("^")
            if not bare.startswith(prefix):
                raise ValueError(f"export_scope {scope!r}: node {node.name!r} has input {ref!r} outside the scope")
            n.input[i] = ctrl + bare[len(prefix) :]
    return out


def _write(filename: str, message: Any, as_text: bool) -> str:
    from google.protobuf import text_format

    return write_serialized(filename, text_format.MessageToString(message) if as_text else message.SerializeToString())


def write_serialized(filename: str, data: str | bytes) -> str:
    """Writes a serialized meta graph (bytes, or text) to `filename` atomically, under this process's temp name."""
    parent = os.path.dirname(filename)
    if parent:
        os.makedirs(parent, exist_ok=True)
    from graphvar.checkpoint.atomic import remove_quietly, temp_path

    tmp = temp_path(filename)  # this process's name: cleanup_stale_temps removes it if the process is killed
    try:
        with open(tmp, "w" if isinstance(data, str) else "wb") as f:
            f.write(data)
        os.replace(tmp, filename)
    except BaseException:
        remove_quietly(tmp)
        raise
    return filename


def write_graph(graph_or_graph_def: Any, logdir: str, name: str, as_text: bool = True) -> str:
    """Writes a Graph's GraphDef (or a GraphDef) to logdir/name, as text by default; returns the path."""
    gd = graph_or_graph_def
    if isinstance(gd, ops.Graph):
        gd = gd.as_graph_def()
    return _write(os.path.join(logdir, name), graph_io._as_ours(gd), as_text)


def import_meta_graph(meta_graph_or_file: Any, clear_devices: bool = False, import_scope: str | None = None,
                      **kwargs: Any) -> Any:  # fmt: skip
    """Imports a meta graph (graphvar's or TensorFlow's) into the default graph; returns a Saver for it.

    The graph's nodes become graphvar ops, its collections are restored (``variables`` and
    ``trainable_variables`` as graphvar Variables), and the saver_def's save/restore nodes are left out:
    the Saver returned is graphvar's (streaming), over the same checkpoint keys.

    Args:
      meta_graph_or_file: a MetaGraphDef (graphvar's or TensorFlow's class) or the path of a .meta file.
      clear_devices: leave out the nodes' devices.
      import_scope: prefix every imported name with this scope.

    Returns:
      A Saver (None when the graph has no variables and no saver_def).

    Raises:
      ValueError: a node graphvar cannot import: the message names its op type and name (control flow
        other than initialized_value()'s cond, ops graphvar has not); the graph is left unchanged.
      OSError: no such file.
    """
    from graphvar.train.saver import Saver

    mgd = meta_graph.as_meta_graph_def(meta_graph_or_file)
    graph = ops.get_default_graph()
    skip, keys = set(), {}
    if mgd.HasField("saver_def") and mgd.saver_def.restore_op_name:
        skip, keys = meta_graph.saver_mapping(mgd.graph_def, mgd.saver_def)
    prefix = graph.unique_name(import_scope) + "/" if import_scope else ""
    graph_import.import_into(graph, mgd.graph_def, None, None, prefix, clear_devices, skip)
    meta_graph.import_collections(graph, mgd, prefix)
    variables = {v.op.name: v for v in graph.get_collection(ops.GraphKeys.GLOBAL_VARIABLES)}
    if keys:
        var_list = {key: variables.get(prefix + name) or graph.get_tensor_by_name(f"{prefix}{name}:0")
                    for key, name in keys.items()}  # fmt: skip
        sd = mgd.saver_def
        return Saver(
            var_list,
            max_to_keep=sd.max_to_keep,
            keep_checkpoint_every_n_hours=sd.keep_checkpoint_every_n_hours or 10000.0,
        )
    if variables:
        return Saver()
    log.info("Saver not created because there are no variables in the graph to restore")
    return None

"""TensorFlow's MetaGraphDef: the GraphDef, the collections, and a Saver's SaverDef with TF's save subgraph.

Export adds, for each Saver, the nodes TensorFlow's Saver would have built (``save/Const``,
``save/SaveV2``, ``save/RestoreV2``, ``save/Assign*``, ``save/control_dependency``,
``save/restore_all``) to the GraphDef only, so TensorFlow's ``import_meta_graph`` returns a working
Saver; graphvar never runs them. Import leaves that subgraph out and returns graphvar's streaming
Saver over the same checkpoint keys.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import numpy as np

from graphvar import dtypes
from graphvar.framework import graph_io, tf_values
from graphvar.framework.ops import GraphKeys, Operation, Tensor
from graphvar.proto import graph_pb2, meta_graph_pb2

log = logging.getLogger("graphvar")

# collections of Variables that TF writes as VariableDef protos (its registered proto functions)
VARIABLE_COLLECTIONS = (GraphKeys.GLOBAL_VARIABLES, GraphKeys.TRAINABLE_VARIABLES, GraphKeys.LOCAL_VARIABLES,
                        GraphKeys.MODEL_VARIABLES, GraphKeys.GLOBAL_STEP, GraphKeys.METRIC_VARIABLES,
                        "moving_average_variables")  # fmt: skip
_SKIPPED_COLLECTIONS = ("savers", "cond_context", "while_context", "queue_runners")


# ---- the save subgraph ----
def add_saver_nodes(graph_def: Any, scope: str, entries: list, max_to_keep: int, keep_hours: float) -> Any:
    """Appends TF's save / restore nodes for `entries` (key, variable) under `scope`; returns the SaverDef."""
    ctx = graph_io.ExportContext.__new__(graph_io.ExportContext)
    ctx.graph_def, ctx.used, ctx.add_shapes, ctx.clear_devices, ctx._op = (
        graph_def,
        {n.name for n in graph_def.node},
        False,
        True,
        None,
    )
    s, scalar = dtypes.string, tf_values.TensorShape([])
    keys = np.array([e.key.encode() for e in entries], dtype=object)
    slices = np.array([b""] * len(entries), dtype=object)
    default = ctx.const(f"{scope}/filename/input", np.array(b"model", dtype=object), s)
    filename = ctx.node(f"{scope}/filename", "PlaceholderWithDefault", [default], {"dtype": s, "shape": scalar}, [s])
    const = ctx.node(f"{scope}/Const", "PlaceholderWithDefault", [(filename, s)], {"dtype": s, "shape": scalar}, [s])
    refs = [(e.variable.op.name, e.dtype) for e in entries]
    save = ctx.node(f"{scope}/SaveV2", "SaveV2", [(const, s), ctx.const(f"{scope}/SaveV2/tensor_names", keys, s),
                    ctx.const(f"{scope}/SaveV2/shape_and_slices", slices, s), *refs], {}, [])  # fmt: skip
    control = ctx.node(f"{scope}/control_dependency", "Identity", [(const, s), (f"^{save}", s)],
                       {"_class": [f"loc:@{const}"]}, [s])  # fmt: skip
    restore = ctx.node(f"{scope}/RestoreV2", "RestoreV2", [(const, s), ctx.const(f"{scope}/RestoreV2/tensor_names", keys, s),
                       ctx.const(f"{scope}/RestoreV2/shape_and_slices", slices, s)], {}, [dt for _, dt in refs])  # fmt: skip
    graph_def.node[-1].attr["dtypes"].list.type[:] = [dt.as_datatype_enum for _, dt in refs]
    assigns = []
    for i, (name, dt) in enumerate(refs):
        out = f"{restore}:{i}" if i else restore
        assign = ctx.unique(f"{scope}/Assign")
        assigns.append(ctx.node(assign, "Assign", [(name, dt), (out, dt)],
                                {"validate_shape": True, "use_locking": True, "_class": [f"loc:@{name}"]}, [dt]))  # fmt: skip
    restore_all = ctx.node(f"{scope}/restore_all", "NoOp", [(f"^{a}", None) for a in assigns], {}, [])
    return meta_graph_pb2.SaverDef(filename_tensor_name=f"{const}:0", save_tensor_name=f"{control}:0",
                                   restore_op_name=restore_all, max_to_keep=max_to_keep or 0,
                                   keep_checkpoint_every_n_hours=keep_hours, version=meta_graph_pb2.SaverDef.V2)  # fmt: skip


def saver_mapping(graph_def: Any, saver_def: Any) -> tuple[set, dict]:
    """The save subgraph's node names and its checkpoint key -> variable node name (from RestoreV2 and the Assigns)."""
    scope = saver_def.restore_op_name.rsplit("/", 1)[0] + "/" if "/" in saver_def.restore_op_name else ""
    nodes = {n.name: n for n in graph_def.node}
    skip = {n.name for n in graph_def.node if scope and n.name.startswith(scope)}
    restores = [n for n in graph_def.node if n.name in skip and n.op == "RestoreV2"]
    keys: dict[str, str] = {}
    for restore in restores:
        names_node = nodes.get(graph_io.parse_ref(restore.input[1])[0])
        if names_node is None or names_node.op != "Const":
            continue
        names = tf_values.tensor_from_proto(names_node.attr["value"].tensor).reshape(-1)
        for n in graph_def.node:
            if n.name in skip and n.op == "Assign" and len(n.input) >= 2:
                src, idx, _ = graph_io.parse_ref(n.input[1])
                if src == restore.name:
                    key = names[idx]
                    keys[key.decode() if isinstance(key, bytes) else str(key)] = graph_io.parse_ref(n.input[0])[0]
    return skip, keys


# ---- collections ----
def variable_def(v: Any, export_scope: str | None = None) -> Any:
    return meta_graph_pb2.VariableDef(
        variable_name=_strip(v.name, export_scope), initializer_name=_strip(v.initializer.name, export_scope),
        snapshot_name=_strip(v.value().name, export_scope), initial_value_name=_strip(v.initial_value.name, export_scope),
        trainable=v.trainable, is_resource=False,
    )  # fmt: skip


def _strip(name: str, scope: str | None) -> str:
    return name[len(scope) + 1 :] if scope and name.startswith(scope + "/") else name


def collection_def(key: str, items: list, export_scope: str | None) -> Any:
    """TF's CollectionDef for a collection, or None for items TF could not write either (logged)."""
    from graphvar.variables import Variable

    if export_scope:
        items = [it for it in items if not hasattr(it, "name") or it.name.startswith(export_scope + "/")]
    if not items:
        return None
    c = meta_graph_pb2.CollectionDef()
    if key in VARIABLE_COLLECTIONS and all(isinstance(it, Variable) for it in items):
        c.bytes_list.value.extend(variable_def(v, export_scope).SerializeToString() for v in items)
    elif all(isinstance(it, (Tensor, Operation, Variable)) for it in items):
        c.node_list.value.extend(_strip(it.name, export_scope) for it in items)
    elif all(isinstance(it, (str, bytes)) for it in items):
        c.bytes_list.value.extend(it.encode() if isinstance(it, str) else it for it in items)
    elif all(isinstance(it, (int, np.integer)) and not isinstance(it, bool) for it in items):
        c.int64_list.value.extend(int(it) for it in items)
    elif all(isinstance(it, (float, np.floating)) for it in items):
        c.float_list.value.extend(float(it) for it in items)
    else:
        log.info("graphvar: collection %r holds objects a MetaGraphDef cannot hold; not exported", key)
        return None
    return c


def import_collections(graph: Any, mgd: Any, prefix: str) -> None:
    from graphvar.variables import Variable

    by_name: dict[str, Any] = {}
    for key, c in mgd.collection_def.items():
        if key in _SKIPPED_COLLECTIONS:
            continue
        kind = c.WhichOneof("kind")
        if kind == "bytes_list" and key in VARIABLE_COLLECTIONS:
            for data in c.bytes_list.value:
                vdef = meta_graph_pb2.VariableDef.FromString(data)
                name = prefix + vdef.variable_name
                if name not in by_name:
                    by_name[name] = Variable(variable_def=vdef, import_scope=prefix.rstrip("/") or None)
                graph.add_to_collection(key, by_name[name])
        elif kind == "node_list":
            for name in c.node_list.value:
                try:
                    graph.add_to_collection(key, graph.as_graph_element(prefix + name))
                except (KeyError, ValueError):
                    log.info("graphvar: collection %r names %r, which is not in the imported graph", key, name)
        elif kind == "bytes_list":
            for data in c.bytes_list.value:
                graph.add_to_collection(key, data)
        elif kind in ("int64_list", "float_list"):
            for value in getattr(c, kind).value:
                graph.add_to_collection(key, value)


def read_meta_graph_file(path: str) -> Any:
    """A .meta file (binary, or text as export_meta_graph(as_text=True) writes) as a MetaGraphDef."""
    from google.protobuf import message, text_format

    from graphvar import errors

    if not os.path.exists(path):
        raise OSError(f"File {path} does not exist.")
    with open(path, "rb") as f:
        data = f.read()
    try:
        return meta_graph_pb2.MetaGraphDef.FromString(data)
    except message.DecodeError:
        try:
            return text_format.Parse(data.decode("utf-8"), meta_graph_pb2.MetaGraphDef())
        except (UnicodeDecodeError, text_format.ParseError) as e:
            raise errors.DataLossError(None, None, f"{path} is not a MetaGraphDef: {e}") from None


def as_meta_graph_def(value: Any) -> Any:
    if isinstance(value, meta_graph_pb2.MetaGraphDef):
        return value
    if isinstance(value, (str, os.PathLike)):
        return read_meta_graph_file(os.fspath(value))
    if isinstance(value, bytes):
        return meta_graph_pb2.MetaGraphDef.FromString(value)
    if hasattr(value, "SerializeToString"):  # TensorFlow's own MetaGraphDef
        return meta_graph_pb2.MetaGraphDef.FromString(value.SerializeToString())
    raise TypeError(f"expected a MetaGraphDef or a path, got {type(value).__name__}")


def stripped_op_list(graph_def: Any) -> Any:
    used = sorted({n.op for n in graph_def.node})
    defs = tf_values.tf_op_defs()
    return graph_pb2.OpList(op=[defs[t] for t in used if t in defs])

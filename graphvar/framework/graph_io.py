"""Graph <-> TensorFlow's GraphDef, through the table in graph_io_table.py.

Export writes one NodeDef per graphvar op (a few ops expand into TF's several nodes: random
generators, initialized_value's cond, tf.cond's Switches and Merges: graph_io_cond.py), with TF's op types, inputs and attrs; import reads TF's
NodeDefs back into graphvar ops, and raises ``ValueError`` naming the op type and the node for
anything it cannot map, before it adds anything to the graph.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from graphvar import dtypes
from graphvar.framework import tf_values
from graphvar.framework.graph_io_table import ALL, IN, KEPT_PRIVATE_ATTRS, RULES, Rule
from graphvar.proto import graph_pb2

# TensorFlow 2.21's GraphDef version: what TF writes, so TF reads ours without upgrades
PRODUCER = 2474
MIN_CONSUMER = 0


class ExportContext:
    """Names and nodes of one GraphDef being written."""

    conds: Any = None  # tf.cond's branches (graph_io_cond.CondExport); None: the graph has no Cond
    _frames: tuple = ()  # the branches the current op is in
    _pivot: str | None = None  # the pivot its input-less nodes wait on
    renamed: dict = {}  # noqa: RUF012 (replaced per instance) tensors written under another name: a Cond's Merges

    def __init__(self, graph: Any, add_shapes: bool = False, clear_devices: bool = False) -> None:
        self.graph_def = graph_pb2.GraphDef()
        self.graph_def.versions.producer = PRODUCER
        self.graph_def.versions.min_consumer = MIN_CONSUMER
        self.used = {op.name for op in graph.get_operations()}
        self.add_shapes = add_shapes
        self.clear_devices = clear_devices
        self._op: Any = None
        self.renamed = {}

    def ref(self, t: Any) -> str:
        if self.renamed and t in self.renamed:
            return self.renamed[t]
        return t.op.name if t.value_index == 0 else f"{t.op.name}:{t.value_index}"

    def input(self, t: Any) -> tuple[str, dtypes.DType]:
        if self._frames:  # inside a cond's branch: read outside tensors through its Switches
            return self.conds.read(self, t, self._frames), t.dtype
        return self.ref(t), t.dtype

    def unique(self, name: str) -> str:
        """`name`, or TF's `name_1`, `name_2`, ... (resuming from the last suffix of this base: 10k saver
        Assigns cost 10k probes, not 50M)."""
        next_suffix = self.__dict__.setdefault("_next_suffix", {})  # base -> last suffix tried
        base, i = name, next_suffix.get(name, 0)
        while name in self.used:
            i += 1
            name = f"{base}_{i}"
        next_suffix[base] = i
        self.used.add(name)
        return name

    def node(self, name: str, tf_type: str, inputs: list, attrs: dict | None = None,
             outputs: list | None = None, shapes: list | None = None) -> str:  # fmt: skip
        """Adds a NodeDef; TF's type attrs (T, N, ...) are filled from its OpDef and the inputs' dtypes."""
        node = self.graph_def.node.add(name=name, op=tf_type)
        node.input.extend(ref for ref, _ in inputs)
        in_dtypes = tuple(dt for ref, dt in inputs if not ref.startswith("^"))
        op = self._op
        if op is not None:
            node.input.extend("^" + c.name for c in op.control_inputs)
            if op.device and not self.clear_devices:
                node.device = op.device
        if self._pivot is not None and not in_dtypes:  # a branch node with no inputs runs when its branch does
            node.input.append("^" + self._pivot)
        node.MergeFrom(_attr_template(tf_type, in_dtypes, tuple(outputs or ()), attrs or {}, op))
        if shapes is not None and self.add_shapes:
            lst = node.attr["_output_shapes"].list
            for s in shapes:
                tf_values.shape_to_proto(s, lst.shape.add())
        return name

    def const(self, name: str, value: Any, dtype: Any = None) -> tuple[str, dtypes.DType]:
        arr = np.asarray(value)
        dt = dtypes.as_dtype(dtype if dtype is not None else arr.dtype)
        name = self.unique(name)
        node = self.graph_def.node.add(name=name, op="Const")
        op = self._op
        if op is not None:
            node.input.extend("^" + c.name for c in op.control_inputs)
            if op.device and not self.clear_devices:
                node.device = op.device
        if self._pivot is not None:
            node.input.append("^" + self._pivot)
        node.attr["dtype"].type = dt.as_datatype_enum
        tf_values.tensor_to_proto(arr, dt, node.attr["value"].tensor)
        return name, dt


_TEMPLATES: dict = {}


def _attr_template(tf_type: str, in_dtypes: tuple, out_dtypes: tuple, attrs: dict, op: Any) -> Any:
    """A NodeDef holding only the attrs (given ones, then TF's type attrs), cached: most nodes of a graph
    share a few attr sets, and one C-level MergeFrom is much cheaper than building the map in Python."""
    try:
        key = (tf_type, in_dtypes, out_dtypes, tuple(attrs.items()))
        hash(key)
    except TypeError:  # an unhashable attr value (a list): build it afresh
        key = None
    node = _TEMPLATES.get(key) if key is not None else None
    if node is not None:
        return node
    node = graph_pb2.NodeDef()
    kinds = tf_values.attr_kinds(tf_type)
    for name, value in attrs.items():
        if name not in kinds and not name.startswith("_"):
            raise ValueError(f"cannot export {op.type if op else tf_type} node {op.name if op else ''!r}: "
                             f"TensorFlow's {tf_type} has no attr {name!r}")  # fmt: skip
        tf_values.encode_attr(value, kinds.get(name), node.attr[name])
    _fill_type_attrs(node, tf_type, list(in_dtypes), list(out_dtypes))
    if key is not None:
        if len(_TEMPLATES) > 4096:
            _TEMPLATES.clear()
        _TEMPLATES[key] = node
    return node


def _fill_type_attrs(node: Any, tf_type: str, in_dtypes: list, out_dtypes: list) -> None:
    op_def = tf_values.tf_op_defs().get(tf_type)
    if op_def is None:
        return  # graphvar's own ops (ReportUninitializedVariables): written as graphvar holds them
    _fill_from_args(node, op_def.input_arg, in_dtypes)
    _fill_from_args(node, op_def.output_arg, out_dtypes)


def _fill_from_args(node: Any, args: Any, arg_dtypes: list) -> None:
    fixed = [a for a in args if not a.number_attr and not a.type_list_attr]
    n_var = len(arg_dtypes) - len(fixed)
    pos = 0
    for arg in args:
        count = n_var if (arg.number_attr or arg.type_list_attr) else 1
        group = arg_dtypes[pos : pos + count]
        pos += count
        if arg.number_attr and arg.number_attr not in node.attr:
            node.attr[arg.number_attr].i = count
        if arg.type_list_attr and arg.type_list_attr not in node.attr:
            node.attr[arg.type_list_attr].list.type.extend(d.as_datatype_enum for d in group)
        if arg.type_attr and arg.type_attr not in node.attr and group:
            node.attr[arg.type_attr].type = group[0].base_dtype.as_datatype_enum


# ---- export ----
def export_graph_def(graph: Any, add_shapes: bool = False, clear_devices: bool = False,
                     ops_to_export: Any = None, cond_contexts: list | None = None) -> Any:  # fmt: skip
    """The GraphDef of `graph` (every op, in creation order); `cond_contexts` (a list) receives the
    CondContextDefs of its conds, for a meta graph's ``cond_context`` collection."""
    from graphvar.framework.graph_io_cond import CondExport

    ctx = ExportContext(graph, add_shapes, clear_devices)
    ops = list(ops_to_export) if ops_to_export is not None else graph.get_operations()
    conds = ctx.conds = CondExport.of(ops)
    for op in ops:
        rule = RULES.get(op.type)
        if rule is None:
            raise ValueError(f"cannot export op {op.name!r}: graphvar has no TensorFlow form for op type {op.type!r}")
        ctx._op = op
        if conds is None:
            (rule.export or export_generic)(op, rule, ctx)
            continue
        conds.enter(ctx, op)
        (rule.export or export_generic)(op, rule, ctx)
        conds.leave(ctx, op)
    ctx._op = None
    if conds is not None and cond_contexts is not None:
        cond_contexts.extend(conds.context_defs())
    return ctx.graph_def


def export_generic(op: Any, rule: Rule, ctx: ExportContext, attrs: dict | None = None) -> str:
    inputs, pos, consts = [], 0, set()
    gv_inputs = op.inputs
    for spec in rule.inputs:
        if spec == IN:
            inputs.append(ctx.input(gv_inputs[pos]))
            pos += 1
        elif spec == ALL:
            inputs.extend(ctx.input(t) for t in gv_inputs[pos:])
            pos = len(gv_inputs)
        else:
            consts.add(spec.attr)
            if spec.tensor_ok and pos < len(gv_inputs):  # graphvar's tensor form (a computed shape / axes)
                inputs.append(ctx.input(gv_inputs[pos]))
                pos += 1
            else:
                inputs.append(ctx.const(f"{op.name}/{spec.arg}", spec.to_tf(op._attrs[spec.attr], op)))
    return ctx.node(op.name, rule.tf, inputs, _export_attrs(op, rule, consts) if attrs is None else attrs,
                    [t.dtype for t in op.outputs], [t.shape for t in op.outputs])  # fmt: skip


def _export_attrs(op: Any, rule: Rule, skip: set) -> dict:
    rename = {gv: tf for tf, gv in rule.rename}
    defaults = dict(rule.defaults)
    out = {}
    for key, value in op._attrs.items():
        if key in skip:
            continue
        if key in rule.drop:
            ok = key not in defaults or _same(value, defaults[key])
            if key == "axis" and not ok:  # Softmax / LogSoftmax: TF's op works on the last axis only
                ok = value == op.inputs[0].shape.ndims - 1
            if not ok:
                raise ValueError(f"cannot export {op.type} {op.name!r}: TensorFlow's {rule.tf} has no {key!r}; "
                                 f"it needs {key}={defaults.get(key)!r}, got {value!r}")  # fmt: skip
            continue
        if key.startswith("_") and key not in KEPT_PRIVATE_ATTRS:
            continue
        out[rename.get(key, key)] = value
    return out


def _same(a: Any, b: Any) -> bool:
    return tuple(a) == tuple(b) if isinstance(a, (list, tuple)) else a == b


# ---- import ----
class ImportError_(ValueError):
    """A node graphvar cannot import (ValueError, naming the op type and the node)."""


def node_error(node: Any, why: str) -> ImportError_:
    return ImportError_(f"cannot import node {node.name!r} (op type {node.op!r}): {why}")


_REF = re.compile(r"^(\^?)(.*?)(?::(\d+))?$")


def parse_ref(ref: str) -> tuple[str, int, bool]:
    """ "name:1" -> (name, 1, False); "^name" -> (name, -1, True)."""
    if ":" not in ref and not ref.startswith("^"):
        return ref, 0, False
    m = _REF.match(ref)
    control, name, idx = m.group(1), m.group(2), m.group(3)
    return name, (-1 if control else int(idx or 0)), bool(control)


def _as_ours(graph_def: Any) -> Any:
    """A GraphDef as graphvar's class (TensorFlow's own is re-read from its bytes: the same format)."""
    if isinstance(graph_def, graph_pb2.GraphDef):
        return graph_def
    if isinstance(graph_def, bytes):
        return graph_pb2.GraphDef.FromString(graph_def)
    return graph_pb2.GraphDef.FromString(graph_def.SerializeToString())

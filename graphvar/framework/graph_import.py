"""TensorFlow's GraphDef -> graphvar ops (``tf.import_graph_def``), the inverse of graph_io's export.

Every node is checked (known op type, control flow only as TF1's cond: graph_import_cond.py, constant
inputs where graphvar keeps an attribute) before the first op is added, so a graph graphvar cannot run raises ``ValueError``
naming the node and its op type and leaves the graph as it was.
"""

from __future__ import annotations

from typing import Any

from graphvar.framework import device as device_lib
from graphvar.framework import tf_values
from graphvar.framework.graph_io import ImportError_, node_error, parse_ref
from graphvar.framework.graph_io_table import ALL, CONTROL_FLOW, FROM_TF, IN, KEPT_PRIVATE_ATTRS, RULES, SAVE_TYPES, C

_CONST_ARGS = {  # the inputs of the special rules that graphvar holds as attributes
    "Fill": (0, 1), "Range": (0, 1, 2), "LinSpace": (0, 1, 2), "StridedSlice": (1, 2, 3),
    "StridedSliceGrad": (1, 2, 3), "RandomStandardNormal": (0,), "TruncatedNormal": (0,), "RandomUniform": (0,),
    "RandomUniformInt": (0, 1, 2),
}  # fmt: skip


def gv_type_of(node: Any) -> str | None:
    return FROM_TF.get(node.op)


_const_args_cache: dict = {}


def const_args(node: Any) -> tuple[int, ...]:
    key = (node.op, len(node.input))
    found = _const_args_cache.get(key)
    if found is None:
        found = _const_args_cache[key] = _const_args(node)
    return found


def _const_args(node: Any) -> tuple[int, ...]:
    gv = gv_type_of(node)
    if gv is None:
        return ()
    if gv in _CONST_ARGS:
        return _CONST_ARGS[gv]
    rule = RULES[gv]
    n_data = sum(1 for i in node.input if not i.startswith("^"))
    return tuple(i for i, spec in _input_specs(rule, n_data) if isinstance(spec, C))


def _input_specs(rule: Any, n_inputs: int) -> list:
    """(TF input position, spec) for each of a node's inputs."""
    out, pos = [], 0
    n_after_all = 0
    for k, spec in enumerate(rule.inputs):
        if spec == ALL:
            n_after_all = len(rule.inputs) - k - 1
    for spec in rule.inputs:
        if spec == ALL:
            count = n_inputs - pos - n_after_all
            out.extend((pos + j, IN) for j in range(count))
            pos += count
        else:
            out.append((pos, spec))
            pos += 1
    return out


class Importer:
    """Imports the nodes of one GraphDef into `graph`, on demand and in dependency order."""

    def __init__(self, graph: Any, graph_def: Any, prefix: str, input_map: dict, clear_devices: bool,
                 skip: set) -> None:  # fmt: skip
        from graphvar.framework import graph_import_cond, graph_io_rules

        self.graph = graph
        self.nodes = {n.name: n for n in graph_def.node}
        self.prefix = prefix
        self.input_map = input_map
        self.clear_devices = clear_devices
        self.skip = skip
        self.ops: dict[str, Any] = {}
        self.patterns = graph_io_rules.find_patterns(self.nodes)
        self.conds = graph_import_cond.CondGraph(self.nodes, self.patterns, skip)
        self.switches = self.conds.switches  # a Switch imports as nothing: its outputs are its data input
        self.patterns.update(self.conds.found)  # a cond's Merge imports as a Cond
        self.absorbed = self._absorbed_nodes() | set(self.switches)

    # ---- checks before anything is built ----
    def _absorbed_nodes(self) -> set:
        """Const nodes read only as attributes, and the cond nodes of initialized_value patterns."""
        attr_uses: dict[str, int] = {}
        data_uses: dict[str, int] = {}
        inner = {n for pat in self.patterns.values() for n in pat.inner}
        for node in self.nodes.values():
            if node.name in self.skip or node.name in inner:
                continue
            pat = self.patterns.get(node.name)
            if pat is not None:
                for ref in pat.consts:
                    attr_uses[parse_ref(ref)[0]] = attr_uses.get(parse_ref(ref)[0], 0) + 1
                for dep in pat.deps:
                    data_uses[dep] = data_uses.get(dep, 0) + 1
                continue
            consts = set(const_args(node))
            pos = 0
            for ref in node.input:
                name, _, control = parse_ref(ref)
                if not control and pos in consts:
                    attr_uses[name] = attr_uses.get(name, 0) + 1
                else:
                    data_uses[name] = data_uses.get(name, 0) + 1
                pos += 0 if control else 1
        consts = {n for n in attr_uses if n not in data_uses and self.nodes.get(n) is not None
                  and self.nodes[n].op == "Const"}  # fmt: skip
        return consts | inner

    def check(self, names: list) -> None:
        from graphvar.framework.graph_import_cond import FUNCTIONAL, WHILE_TYPES

        for name in names:  # a while loop's own nodes first: its Switches and Merges are not a cond's
            node = self.nodes[name]
            if node.op in WHILE_TYPES and name not in self.skip:
                raise node_error(node, "tf.while_loop (Enter / Exit / NextIteration / LoopCond) is not supported by "
                                       "graphvar; only tf.cond's Switch / Merge import")  # fmt: skip
            if node.op in FUNCTIONAL and name not in self.skip:
                raise node_error(node, "control flow v2 (If / While with function branches) is not supported by "
                                       "graphvar; TF1's cond (Switch / Merge) imports")  # fmt: skip
        for name in names:
            node = self.nodes[name]
            if name in self.absorbed or name in self.skip or name in self.patterns:
                continue
            if node.op in CONTROL_FLOW:
                raise node_error(node, "control flow (a Switch / Merge) that is not part of a tf.cond")
            if node.op in SAVE_TYPES and gv_type_of(node) is None:
                raise node_error(node, "save/restore ops import only as a meta graph's saver_def "
                                       "(tf.train.import_meta_graph), where graphvar's Saver runs them")  # fmt: skip
            if gv_type_of(node) is None:
                raise node_error(node, "graphvar has no such op")
            for ref in node.input:
                dep, _, _ = parse_ref(ref)
                if dep not in self.nodes and self._mapped(ref) is None:
                    raise node_error(node, f"its input {ref!r} is not in the GraphDef")

    # ---- building ----
    def import_all(self, names: list) -> None:
        for name in names:
            if name not in self.absorbed and name not in self.skip:
                self.op(name)

    def op(self, name: str) -> Any:
        """The graphvar op of node `name`, importing it and its inputs first (iteratively: deep graphs)."""
        if name in self.ops:
            return self.ops[name]
        stack, visiting = [(name, False)], set()
        while stack:
            n, ready = stack.pop()
            if n in self.ops:
                continue
            if ready:
                self.ops[n] = self._build(self.nodes[n])
                visiting.discard(n)
                continue
            if n in visiting:
                raise node_error(self.nodes[n], "the graph has a cycle through this node")
            if n not in self.nodes:
                raise ImportError_(f"cannot import: no node named {n!r} in the GraphDef")
            visiting.add(n)
            stack.append((n, True))
            for dep in self._deps(self.nodes[n]):
                if dep not in self.ops:
                    stack.append((dep, False))
        return self.ops[name]

    def _deps(self, node: Any) -> list:
        if node.name in self.patterns:
            return [d for d in self.patterns[node.name].deps if self._mapped(d) is None]
        out = []
        consts = set(const_args(node))
        pos = 0
        for ref in node.input:
            dep, _, control = parse_ref(ref)
            attr_const = (
                not control and pos in consts and self.nodes.get(dep) is not None and self.nodes[dep].op == "Const"
            )
            pos += 0 if control else 1
            if not attr_const and self._mapped(ref) is None:
                if dep in self.switches:
                    out.extend(d for d in self.conds.sources(dep) if self._mapped(d) is None)
                else:
                    out.append(dep)
        return out

    def _mapped(self, ref: str) -> Any:
        name, idx, control = parse_ref(ref)
        return None if control else self.input_map.get(f"{name}:{idx}")

    def tensor(self, ref: str) -> Any:
        mapped = self._mapped(ref)
        if mapped is not None:
            return mapped
        name, idx, _ = parse_ref(ref)
        if name in self.switches:
            return self.tensor(self.switches[name][0])
        op = self.op(name)
        if idx >= len(op.outputs):
            raise node_error(self.nodes[name], f"it has no output {idx}")
        return op.outputs[idx]

    def const_value(self, ref: str) -> Any:
        """The value of a Const input (or of Shape(x) for an x of known shape); None if computed."""
        name, idx, _ = parse_ref(ref)
        if name in self.switches:
            return self.const_value(self.switches[name][0])
        node = self.nodes.get(name)
        if node is None or self._mapped(ref) is not None:
            return None
        if node.op == "Const":
            return tf_values.tensor_from_proto(node.attr["value"].tensor, f"node {name!r}")
        if node.op == "Shape" and node.input:
            shape = self.tensor(node.input[0]).shape
            if shape.is_fully_defined():
                import numpy as np

                return np.asarray(shape.as_list(), dtype=tf_values.as_dtype(node.attr["out_type"].type).np)
        return None

    def _build(self, node: Any) -> Any:
        if node.name in self.patterns:
            return self.patterns[node.name].build(self, node)
        gv = gv_type_of(node)
        if gv is None or node.op in CONTROL_FLOW:
            self.check([node.name])
        rule = RULES[gv]
        return (rule.import_ or import_generic)(self, node, gv, rule)

    def create(self, node: Any, gv_type: str, inputs: list, attrs: dict, name: str | None = None) -> Any:
        full = self.prefix + (name or node.name)
        graph = self.graph
        with graph.control_dependencies(None), graph.name_scope(None):
            op = graph.create_op(gv_type, inputs, attrs, name=full + "/")
        graph._names_in_use.setdefault(full.lower(), 1)
        controls = [self.op(n) for n in self._control_names(node)]
        op._control_inputs = tuple(dict.fromkeys(c for c in controls if c is not op))
        op._device = "" if self.clear_devices else device_lib.canonical_name(node.device)
        return op

    def _control_names(self, node: Any) -> list:
        """The nodes `node` waits for: its control inputs, and a Switch's (read or waited on) in their place."""
        names = []
        for r in node.input:
            name, _, control = parse_ref(r)
            if name in self.switches:
                names.extend(self.conds.sources(name)[0 if control else 1 :])
            elif control:
                names.append(name)
        return [n for n in names if self._mapped(n) is None]

    def attrs(self, node: Any, rule: Any, skip: tuple = ()) -> dict:
        """The TF attrs graphvar keeps (TF's defaults filled in, TF's type attrs left out)."""
        op_def = tf_values.tf_op_defs().get(node.op)
        values = {}
        if op_def is not None:
            values = {
                a.name: tf_values.decode_attr(a.default_value) for a in op_def.attr if a.HasField("default_value")
            }
        for key, value in node.attr.items():
            if key.startswith("_") and key not in KEPT_PRIVATE_ATTRS:
                continue
            values[key] = tf_values.decode_attr(value)
        types = tf_values.type_attr_names(node.op)
        rename = dict(rule.rename)
        out = {}
        for key, value in values.items():
            if key in skip or (key in types and key not in rule.keep):
                continue
            out[rename.get(key, key)] = value
        for key, value in getattr(rule, "require", ()):
            if out.pop(key, value) != value:
                raise node_error(node, f"graphvar's op supports only {key}={value!r}")
        for key, value in rule.defaults:
            out.setdefault(key, value)
        for key in rule.drop:
            if key not in dict(rule.defaults):
                out.pop(key, None)
        return out


def import_generic(ctx: Importer, node: Any, gv_type: str, rule: Any) -> Any:
    data = [r for r in node.input if not r.startswith("^")]
    inputs, attrs = [], {}
    for pos, spec in _input_specs(rule, len(data)):
        if pos >= len(data):
            raise node_error(node, f"expected more than {len(data)} inputs")
        if spec == IN:
            inputs.append(ctx.tensor(data[pos]))
            continue
        value = ctx.const_value(data[pos])
        if value is not None:
            attrs[spec.attr] = spec.from_tf(value)
        elif spec.tensor_ok:
            inputs.append(ctx.tensor(data[pos]))
            attrs[spec.attr] = None
        else:
            raise node_error(node, f"graphvar needs a constant {spec.arg!r} (input {pos}: {data[pos]!r} is computed)")
    attrs.update(ctx.attrs(node, rule))
    for spec in rule.inputs:
        if isinstance(spec, C):
            attrs.setdefault(spec.attr, None)
    return ctx.create(node, gv_type, inputs, attrs)


def import_graph_def(graph_def: Any, input_map: dict | None = None, return_elements: list | None = None,
                     name: str | None = None, op_dict: Any = None, producer_op_list: Any = None) -> Any:  # fmt: skip
    """Imports a GraphDef (graphvar's or TensorFlow's) into the default graph (``tf.import_graph_def``).

    Args:
      graph_def: a GraphDef proto (graphvar's or TensorFlow's own class) or its serialized bytes.
      input_map: tensor name in graph_def ("x:0") -> Tensor of the default graph to use instead.
      return_elements: names of tensors ("y:0") or ops ("train") to return, in the new graph.
      name: prefix for the imported names (default "import"; "" for none).
      op_dict, producer_op_list: accepted (TF uses them for custom ops and default attrs).

    Returns:
      The list of return_elements, or None.

    Raises:
      ValueError: a node graphvar cannot import (its op type and name in the message), an input_map key or
        return element not in graph_def; nothing is added to the graph then.

    Example:
      >>> y, = tf.import_graph_def(gd, input_map={"x:0": x2}, return_elements=["y:0"], name="")
    """
    return import_into(None, graph_def, input_map, return_elements, "import" if name is None else name)


def import_into(graph: Any, graph_def: Any, input_map: dict | None, return_elements: list | None, name: str,
                clear_devices: bool = False, skip: set | None = None) -> Any:  # fmt: skip
    from graphvar.framework import ops
    from graphvar.proto import graph_pb2

    graph = graph or ops.get_default_graph()
    graph_def = _as_graph_def(graph_def, graph_pb2)
    mapped = {}
    for key, value in (input_map or {}).items():
        key = key if ":" in key else key + ":0"
        if parse_ref(key)[0] not in {n.name for n in graph_def.node}:
            raise ValueError(f"Attempted to map inputs that were not found in graph_def: [{key}]")
        mapped[key] = ops.convert_to_tensor(value)
    # `name` ending in "/" is a prefix already made unique (import_meta_graph's import_scope)
    prefix = name if name.endswith("/") else (graph.unique_name(name) + "/" if name else "")
    importer = Importer(graph, graph_def, prefix, mapped, clear_devices, skip or set())
    order = [n.name for n in graph_def.node]
    importer.check(order)
    importer.import_all(order)
    if return_elements is None:
        return None
    return [_element(importer, r) for r in return_elements]


def _as_graph_def(graph_def: Any, graph_pb2: Any) -> Any:
    if isinstance(graph_def, graph_pb2.GraphDef):
        return graph_def
    if isinstance(graph_def, bytes):
        return graph_pb2.GraphDef.FromString(graph_def)
    if hasattr(graph_def, "SerializeToString"):  # TensorFlow's own GraphDef: the same bytes
        return graph_pb2.GraphDef.FromString(graph_def.SerializeToString())
    raise TypeError(f"graph_def must be a GraphDef proto, got {type(graph_def).__name__}")


def _element(importer: Importer, ref: str) -> Any:
    name, idx, _ = parse_ref(ref)
    if name not in importer.nodes:
        raise ValueError(f"Requested return_element {ref!r} not found in graph_def.")
    if ":" in ref:
        return importer.tensor(ref)
    return importer.op(name)

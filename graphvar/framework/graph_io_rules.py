"""The table entries of graph_io_table.py that are not one node with renamed attrs.

Each pair is ``export_x(op, rule, ctx)`` (writes TF's nodes; the last one carries the op's name, so
its consumers' inputs stay as they are) and ``import_x(importer, node, gv_type, rule)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from graphvar import dtypes
from graphvar.framework import tf_values


def _io() -> Any:
    from graphvar.framework import graph_io  # graph_io imports the table, which imports this module

    return graph_io


def _data(node: Any) -> list:
    return [r for r in node.input if not r.startswith("^")]


def _const(ctx: Any, node: Any, pos: int, what: str) -> np.ndarray:
    data = _data(node)
    value = ctx.const_value(data[pos]) if pos < len(data) else None
    if value is None:
        raise _io().node_error(node, f"graphvar needs a constant {what} (input {pos} is computed)")
    return value


# ---- Const, Fill, Range, LinSpace, Squeeze ----
def export_const(op: Any, rule: Any, ctx: Any) -> None:
    ctx.node(op.name, "Const", [], {"dtype": op._attrs["dtype"]}, [op.outputs[0].dtype], [op.outputs[0].shape])
    tf_values.tensor_to_proto(op._attrs["value"], op._attrs["dtype"], ctx.graph_def.node[-1].attr["value"].tensor)


def import_const(ctx: Any, node: Any, gv_type: str, rule: Any) -> Any:
    value = tf_values.tensor_from_proto(node.attr["value"].tensor, f"node {node.name!r}")
    return ctx.create(node, "Const", [], {"value": value, "dtype": tf_values.as_dtype(node.attr["dtype"].type)})


def export_fill(op: Any, rule: Any, ctx: Any) -> None:
    a = op._attrs
    dims = ctx.const(f"{op.name}/dims", np.asarray(a["shape"], np.int32).reshape(-1))
    value = ctx.const(f"{op.name}/value", np.asarray(a["value"], a["dtype"].np), a["dtype"])
    ctx.node(op.name, "Fill", [dims, value], {}, [a["dtype"]], [op.outputs[0].shape])


def import_fill(ctx: Any, node: Any, gv_type: str, rule: Any) -> Any:
    dtype = tf_values.as_dtype(node.attr["T"].type)
    shape = tuple(int(d) for d in _const(ctx, node, 0, "dims").reshape(-1))
    value = dtype.np.type(_const(ctx, node, 1, "value").reshape(-1)[0])
    return ctx.create(node, "Fill", [], {"shape": shape, "dtype": dtype, "value": value})


def export_range(op: Any, rule: Any, ctx: Any) -> None:
    dt = op._attrs["Tidx"]
    ins = [
        ctx.const(f"{op.name}/{n}", np.asarray(v, dt.np), dt)
        for n, v in zip(("start", "limit", "delta"), op._attrs["range"])
    ]
    ctx.node(op.name, "Range", ins, {}, [dt], [op.outputs[0].shape])


def import_range(ctx: Any, node: Any, gv_type: str, rule: Any) -> Any:
    dt = tf_values.as_dtype(node.attr["Tidx"].type)
    bounds = tuple(
        dt.np.type(_const(ctx, node, i, n).reshape(-1)[0]) for i, n in enumerate(("start", "limit", "delta"))
    )
    return ctx.create(node, "Range", [], {"range": bounds, "Tidx": dt})


def export_linspace(op: Any, rule: Any, ctx: Any) -> None:
    dt, (start, stop, num) = op._attrs["T"], op._attrs["range"]
    ins = [ctx.const(f"{op.name}/start", np.asarray(start, dt.np), dt), ctx.const(f"{op.name}/stop", np.asarray(stop, dt.np), dt),
           ctx.const(f"{op.name}/num", np.int32(num))]  # fmt: skip
    ctx.node(op.name, "LinSpace", ins, {}, [dt], [op.outputs[0].shape])


def import_linspace(ctx: Any, node: Any, gv_type: str, rule: Any) -> Any:
    dt = tf_values.as_dtype(node.attr["T"].type)
    start, stop, num = (_const(ctx, node, i, n).reshape(-1)[0] for i, n in enumerate(("start", "stop", "num")))
    return ctx.create(node, "LinSpace", [], {"range": (start.item(), stop.item(), int(num)), "T": dt})


def export_squeeze(op: Any, rule: Any, ctx: Any) -> None:
    axis = op._attrs["axis"]
    _io().export_generic(op, rule, ctx, {"squeeze_dims": [] if axis is None else list(axis)})


def import_squeeze(ctx: Any, node: Any, gv_type: str, rule: Any) -> Any:
    dims = tf_values.decode_attr(node.attr["squeeze_dims"]) if "squeeze_dims" in node.attr else ()
    return ctx.create(node, "Squeeze", [ctx.tensor(_data(node)[0])], {"axis": list(dims) if dims else None})


def export_dense_from_slices(op: Any, rule: Any, ctx: Any) -> None:
    """zeros(shape) with the rows added at their indices: TF's UnsortedSegmentSum over shape[0] segments."""
    values, indices = op.inputs
    n = ctx.const(f"{op.name}/num_segments", np.int32(op._attrs["shape"].as_list()[0]))
    ctx.node(op.name, "UnsortedSegmentSum", [ctx.input(values), ctx.input(indices), n], {},
             [op.outputs[0].dtype], [op.outputs[0].shape])  # fmt: skip


# ---- StridedSlice: graphvar's Python key <-> TF's begin / end / strides and masks ----
def key_to_tf(key: Any) -> tuple[list, list, list, dict]:
    begin, end, strides = [], [], []
    masks = dict.fromkeys(("begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask", "shrink_axis_mask"), 0)
    for i, s in enumerate(key if isinstance(key, tuple) else (key,)):
        bit = 1 << i
        if isinstance(s, slice):
            begin.append(0 if s.start is None else int(s.start))
            end.append(0 if s.stop is None else int(s.stop))
            strides.append(1 if s.step is None else int(s.step))
            masks["begin_mask"] |= bit if s.start is None else 0
            masks["end_mask"] |= bit if s.stop is None else 0
        elif s is Ellipsis:
            begin.append(0), end.append(0), strides.append(1)
            masks["ellipsis_mask"] |= bit
        elif s is None:
            begin.append(0), end.append(0), strides.append(1)
            masks["new_axis_mask"] |= bit
        else:
            begin.append(int(s)), end.append(int(s) + 1), strides.append(1)
            masks["shrink_axis_mask"] |= bit
    return begin, end, strides, masks


def key_from_tf(begin: Any, end: Any, strides: Any, masks: dict) -> tuple:
    key = []
    for i, (b, e, s) in enumerate(zip(begin.tolist(), end.tolist(), strides.tolist())):
        bit = 1 << i
        if masks.get("ellipsis_mask", 0) & bit:
            key.append(Ellipsis)
        elif masks.get("new_axis_mask", 0) & bit:
            key.append(None)
        elif masks.get("shrink_axis_mask", 0) & bit:
            key.append(int(b))
        else:
            start = None if masks.get("begin_mask", 0) & bit else int(b)
            stop = None if masks.get("end_mask", 0) & bit else int(e)
            key.append(slice(start, stop, None if s == 1 else int(s)))
    return tuple(key)


def _slice_consts(op: Any, ctx: Any) -> tuple[list, dict]:
    begin, end, strides, masks = key_to_tf(op._attrs["key"])
    names = ("stack", "stack_1", "stack_2")
    return [ctx.const(f"{op.name}/{n}", np.asarray(v, np.int32)) for n, v in zip(names, (begin, end, strides))], masks


def export_strided_slice(op: Any, rule: Any, ctx: Any) -> None:
    consts, masks = _slice_consts(op, ctx)
    ctx.node(op.name, "StridedSlice", [ctx.input(op.inputs[0]), *consts], masks, [op.outputs[0].dtype],
             [op.outputs[0].shape])  # fmt: skip


def export_strided_slice_grad(op: Any, rule: Any, ctx: Any) -> None:
    consts, masks = _slice_consts(op, ctx)
    shape, dy = op.inputs
    ctx.node(op.name, "StridedSliceGrad", [ctx.input(shape), *consts, ctx.input(dy)], masks, [op.outputs[0].dtype],
             [op.outputs[0].shape])  # fmt: skip


def _key(ctx: Any, node: Any) -> tuple:
    masks = {
        k: node.attr[k].i for k in ("begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask", "shrink_axis_mask")
    }
    parts = [_const(ctx, node, i, n).reshape(-1) for i, n in ((1, "begin"), (2, "end"), (3, "strides"))]
    return key_from_tf(*parts, masks)


def import_strided_slice(ctx: Any, node: Any, gv_type: str, rule: Any) -> Any:
    return ctx.create(node, "StridedSlice", [ctx.tensor(_data(node)[0])], {"key": _key(ctx, node)})


def import_strided_slice_grad(ctx: Any, node: Any, gv_type: str, rule: Any) -> Any:
    data = _data(node)
    return ctx.create(node, "StridedSliceGrad", [ctx.tensor(data[0]), ctx.tensor(data[4])], {"key": _key(ctx, node)})


# ---- random generators: graphvar's mean / stddev / bounds are TF's Mul and Add around the generator ----
def _shape_input(op: Any, ctx: Any) -> tuple:
    if op.inputs:
        return ctx.input(op.inputs[0])
    return ctx.const(f"{op.name}/shape", np.asarray(op._attrs["shape"], np.int32).reshape(-1))


def _scaled(op: Any, ctx: Any, tf_type: str, scale: Any, shift: Any, names: tuple) -> None:
    a, dt = op._attrs, op.outputs[0].dtype
    shape = _shape_input(op, ctx)
    scale_c = ctx.const(f"{op.name}/{names[0]}", np.asarray(scale, dt.np), dt)
    shift_c = ctx.const(f"{op.name}/{names[1]}", np.asarray(shift, dt.np), dt)
    gen = ctx.node(
        ctx.unique(f"{op.name}/{tf_type}"),
        tf_type,
        [shape],
        {"dtype": dt, "seed": a["seed"], "seed2": a["seed2"]},
        [dt],
    )
    mul = ctx.node(ctx.unique(f"{op.name}/mul"), "Mul", [(gen, dt), scale_c], {}, [dt])
    ctx.node(op.name, "AddV2", [(mul, dt), shift_c], {}, [dt], [op.outputs[0].shape])


def export_normal(op: Any, rule: Any, ctx: Any) -> None:
    _scaled(op, ctx, op.type, op._attrs["stddev"], op._attrs["mean"], ("stddev", "mean"))


def export_uniform(op: Any, rule: Any, ctx: Any) -> None:
    lo, hi = op._attrs["minval"], op._attrs["maxval"]
    _scaled(op, ctx, "RandomUniform", hi - lo, lo, ("range", "min"))


def import_random(ctx: Any, node: Any, gv_type: str, rule: Any) -> Any:
    attrs = {
        "dtype": tf_values.as_dtype(node.attr["dtype"].type),
        "seed": node.attr["seed"].i,
        "seed2": node.attr["seed2"].i,
    }
    attrs.update({"minval": 0.0, "maxval": 1.0} if gv_type == "RandomUniform" else {"mean": 0.0, "stddev": 1.0})
    data = _data(node)
    shape = ctx.const_value(data[0])
    if shape is not None:
        return ctx.create(node, gv_type, [], {**attrs, "shape": tuple(int(d) for d in shape.reshape(-1))})
    if gv_type != "RandomUniform":
        raise _io().node_error(node, "graphvar needs a constant shape (input 0 is computed)")
    return ctx.create(node, gv_type, [ctx.tensor(data[0])], {**attrs, "shape": None})


def export_uniform_int(op: Any, rule: Any, ctx: Any) -> None:
    a, dt = op._attrs, op.outputs[0].dtype
    ins = [_shape_input(op, ctx), ctx.const(f"{op.name}/min", np.asarray(a["minval"], dt.np), dt),
           ctx.const(f"{op.name}/max", np.asarray(a["maxval"], dt.np), dt)]  # fmt: skip
    ctx.node(op.name, "RandomUniformInt", ins, {"seed": a["seed"], "seed2": a["seed2"]}, [dt], [op.outputs[0].shape])


def import_uniform_int(ctx: Any, node: Any, gv_type: str, rule: Any) -> Any:
    dt = tf_values.as_dtype(node.attr["Tout"].type)
    shape = tuple(int(d) for d in _const(ctx, node, 0, "shape").reshape(-1))
    lo, hi = (int(_const(ctx, node, i, n).reshape(-1)[0]) for i, n in ((1, "minval"), (2, "maxval")))
    attrs = {
        "shape": shape,
        "dtype": dt,
        "minval": lo,
        "maxval": hi,
        "seed": node.attr["seed"].i,
        "seed2": node.attr["seed2"].i,
    }
    return ctx.create(node, gv_type, [], attrs)


# ---- initialized_value(): TF's cond(IsVariableInitialized(v), v.read_value, lambda: initial_value) ----
def export_initialized_value(op: Any, rule: Any, ctx: Any) -> None:
    var, init = op.inputs
    dt, b = var.dtype, dtypes.bool
    base = op.name
    pred = ctx.node(ctx.unique(f"{base}/IsVariableInitialized"), "IsVariableInitialized", [ctx.input(var)], {}, [b])
    switch = ctx.node(ctx.unique(f"{base}/Switch"), "Switch", [(pred, b), (pred, b)], {}, [b, b])
    ctx.node(ctx.unique(f"{base}/switch_t"), "Identity", [(switch + ":1", b)], {}, [b])
    ctx.node(ctx.unique(f"{base}/switch_f"), "Identity", [(switch, b)], {}, [b])
    pred_id = ctx.node(ctx.unique(f"{base}/pred_id"), "Identity", [(pred, b)], {}, [b])
    ref_switch = ctx.node(ctx.unique(f"{base}/read/Switch"), "RefSwitch", [ctx.input(var), (pred_id, b)],
                          {"_class": [f"loc:@{var.op.name}"]}, [dt, dt])  # fmt: skip
    read = ctx.node(ctx.unique(f"{base}/read"), "Identity", [(ref_switch + ":1", dt)], {}, [dt])
    init_switch = ctx.node(ctx.unique(f"{base}/Switch_1"), "Switch", [ctx.input(init), (pred_id, b)], {}, [dt, dt])
    ctx.node(base, "Merge", [(init_switch, dt), (read, dt)], {}, [dt, dtypes.int32], [op.outputs[0].shape])


@dataclass
class InitializedValuePattern:
    var: str
    init: str
    inner: set = field(default_factory=set)
    consts: tuple = ()
    pred: str = ""

    @property
    def deps(self) -> list:
        return [_io().parse_ref(self.var)[0], _io().parse_ref(self.init)[0]]

    def build(self, ctx: Any, node: Any) -> Any:
        return ctx.create(node, "InitializedValue", [ctx.tensor(self.var), ctx.tensor(self.init)], {})


def find_patterns(nodes: dict) -> dict:
    """Node name -> pattern, for the node groups that import as one graphvar op: initialized_value()'s
    cond (a Merge; TF 2.x also guards an initial value made from another variable's initialized_value
    with one more such cond), and a random generator scaled and shifted by constants (TF's
    random_normal / truncated_normal / random_uniform: Add(Mul(generator, c1), c2))."""
    consumers: dict[str, list] = {}
    for n in nodes.values():
        for ref in n.input:
            consumers.setdefault(_io().parse_ref(ref)[0], []).append(n.name)
    found: dict = {}
    merges = [n for n in nodes.values() if n.op == "Merge"]
    while True:  # a guarded cond reads another cond's Merge: match those first
        new = {m.name: pat for m in merges if m.name not in found and (pat := _match(m, nodes, found)) is not None}
        if not new:
            break
        found.update(new)
    inner = {n for pat in found.values() for n in pat.inner}
    allowed = inner | set(found)
    for name, pat in list(found.items()):
        if any(c not in allowed for n in pat.inner for c in consumers.get(n, [])):
            del found[name]  # something else reads the cond's insides: real control flow
    for pat in found.values():
        pred = pat.pred
        if all(c in allowed for c in consumers.get(pred, [])):
            pat.inner.add(pred)
    for n in nodes.values():
        if n.op in ("Add", "AddV2") and (pat := _match_random(n, nodes, consumers)) is not None:
            found[n.name] = pat
    return found


@dataclass
class RandomPattern:
    generator: Any
    scale: str
    shift: str
    inner: set = field(default_factory=set)

    @property
    def consts(self) -> tuple:
        shape = [r for r in self.generator.input if not r.startswith("^")]
        return (self.scale, self.shift, *shape)

    computed_shape: bool = False  # the shape is a tensor (dropout's Shape(x) of a batch of unknown size)

    @property
    def deps(self) -> list:
        return [_io().parse_ref(self.generator.input[0])[0]] if self.computed_shape else []

    def build(self, ctx: Any, node: Any) -> Any:
        g = self.generator
        scale = float(ctx.const_value(self.scale).reshape(-1)[0])
        shift = float(ctx.const_value(self.shift).reshape(-1)[0])
        shape = ctx.const_value(g.input[0])
        if shape is None and g.op != "RandomUniform":
            raise _io().node_error(g, "graphvar needs a constant shape (input 0 is computed)")
        attrs = {"dtype": tf_values.as_dtype(g.attr["dtype"].type), "seed": g.attr["seed"].i, "seed2": g.attr["seed2"].i,
                 "shape": None if shape is None else tuple(int(d) for d in shape.reshape(-1))}  # fmt: skip
        if g.op == "RandomUniform":
            attrs.update(minval=shift, maxval=shift + scale)
        else:
            attrs.update(mean=shift, stddev=scale)
        return ctx.create(node, g.op, [] if shape is not None else [ctx.tensor(g.input[0])], attrs)


def _match_random(add: Any, nodes: dict, consumers: dict) -> RandomPattern | None:
    def const_scalar(ref: str) -> bool:
        n = nodes.get(_io().parse_ref(ref)[0])
        return n is not None and n.op == "Const" and not n.attr["value"].tensor.tensor_shape.dim

    data = [r for r in add.input if not r.startswith("^")]
    if len(data) != 2 or len(data) != len(add.input) or not const_scalar(data[1]):
        return None
    mul = nodes.get(_io().parse_ref(data[0])[0])
    if mul is None or mul.op != "Mul" or len(mul.input) != 2 or not const_scalar(mul.input[1]):
        return None
    gen = nodes.get(_io().parse_ref(mul.input[0])[0])
    if gen is None or gen.op not in ("RandomStandardNormal", "TruncatedNormal", "RandomUniform") or len(gen.input) != 1:
        return None
    if consumers.get(gen.name) != [mul.name] or consumers.get(mul.name) != [add.name]:
        return None
    if gen.device != add.device or mul.device != add.device:
        return None
    shape = nodes.get(_io().parse_ref(gen.input[0])[0])
    return RandomPattern(gen, mul.input[1], data[1], {gen.name, mul.name}, shape is None or shape.op != "Const")


def _match(m: Any, nodes: dict, found: dict) -> InitializedValuePattern | None:
    parse = _io().parse_ref

    def node_at(ref: str, op_types: tuple, index: int | None = None) -> Any:
        name, idx, control = parse(ref)
        n = nodes.get(name)
        ok = n is not None and not control and n.op in op_types and (index is None or idx == index)
        return n if ok else None

    if len(m.input) != 2:
        return None
    init_switch = node_at(m.input[0], ("Switch",), 0)
    read = node_at(m.input[1], ("Identity",))
    ref_switch = (
        node_at(read.input[0], ("RefSwitch", "Switch"), 1) if read is not None and len(read.input) == 1 else None
    )
    if init_switch is None or ref_switch is None or len(init_switch.input) != 2 or len(ref_switch.input) != 2:
        return None
    pred_id = node_at(init_switch.input[1], ("Identity",))
    if pred_id is None or parse(ref_switch.input[1])[0] != pred_id.name or len(pred_id.input) != 1:
        return None
    pred = node_at(pred_id.input[0], ("IsVariableInitialized",))
    if pred is None:
        return None
    var = pred.input[0]
    taken = parse(ref_switch.input[0])[0]  # the variable, or a cond that is its initialized_value
    if taken != parse(var)[0] and not (taken in found and parse(found[taken].var)[0] == parse(var)[0]):
        return None
    inner = {init_switch.name, read.name, ref_switch.name, pred_id.name}
    for n in nodes.values():  # the cond's own Switch(pred, pred) and its switch_t / switch_f
        if n.op == "Switch" and len(n.input) == 2 and all(parse(r)[0] == pred.name for r in n.input):
            inner.add(n.name)
            inner.update(c.name for c in nodes.values() if c.op == "Identity" and len(c.input) == 1
                         and parse(c.input[0])[0] == n.name)  # fmt: skip
    return InitializedValuePattern(var, init_switch.input[0], inner, pred=pred.name)

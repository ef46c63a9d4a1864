"""tf.cond: run one of two branches, chosen by a boolean tensor at run time.

The branches are built in the graph as usual; one `Cond` op takes the predicate, the tensors
the branches capture from outside (computed before the choice, as TF's Switch inputs are), and
the branch outputs as *lazy* inputs: its kernel evaluates only the taken branch's sub-plan, so
ops inside the other branch never run (a dropout mask is not drawn, an assign does not happen).

Its gradient is another cond: the gradients of the taken branch's outputs with respect to the
captured tensors, built inside the branches, so backprop never evaluates the untaken branch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphvar import dtypes
from graphvar.framework import ops
from graphvar.framework.gradient_registry import RegisterGradient
from graphvar.framework.op_registry import get_op_def, register_op
from graphvar.framework.tensor_shape import TensorShape, unknown_shape


def _most_specific(a: TensorShape, b: TensorShape) -> TensorShape:
    """The shape both branches agree on (a dimension they differ in is unknown)."""
    if a.ndims is None or b.ndims is None or a.ndims != b.ndims:
        return unknown_shape()
    return TensorShape([x if x == y else None for x, y in zip(a.as_list(), b.as_list())])


def _cond_spec(op: Any) -> list:
    n, k = op._attrs["num_outputs"], op._attrs["num_captured"]
    pred = op._inputs[0]
    if pred.dtype != dtypes.bool or pred.shape.ndims not in (None, 0):
        raise ValueError(f"pred must be a bool scalar, got {pred.dtype.name} of shape {pred.shape}")
    outs_t, outs_f = op._inputs[1 + k : 1 + k + n], op._inputs[1 + k + n :]
    specs = []
    for i, (t, f) in enumerate(zip(outs_t, outs_f)):
        if t.dtype != f.dtype:
            raise ValueError(
                f"Outputs of true_fn and false_fn must have the same type: output {i} is {t.dtype.name} "
                f"in true_fn and {f.dtype.name} in false_fn"
            )
        specs.append((t.dtype, _most_specific(t.shape, f.shape)))
    return specs


def _lazy_branch_inputs(op: Any) -> tuple[int, ...]:
    k, n = op._attrs["num_captured"], op._attrs["num_outputs"]
    return tuple(range(1 + k, 1 + k + 2 * n))


register_op("Cond", _cond_spec, lazy_inputs=_lazy_branch_inputs)


def _flatten(structure: Any) -> list:
    if isinstance(structure, (list, tuple)):
        return [x for s in structure for x in _flatten(s)]
    if isinstance(structure, dict):
        return [x for k in sorted(structure) for x in _flatten(structure[k])]
    return [structure]


def _pack_as(structure: Any, flat: list) -> Any:
    it = iter(flat)

    def build(s: Any) -> Any:
        if isinstance(s, (list, tuple)):
            items = [build(x) for x in s]
            return type(s)(*items) if hasattr(s, "_fields") else type(s)(items)
        if isinstance(s, dict):
            return {k: build(s[k]) for k in sorted(s)}
        return next(it)

    return build(structure)


def _branch(graph: ops.Graph, fn: Callable[[], Any], scope: str) -> tuple[Any, list[ops.Tensor], list]:
    """Calls `fn` in its own name scope; returns (its structure, its flat outputs, the ops it created)."""
    first = len(graph.get_operations())
    with graph.name_scope(scope):
        structure = fn()
    from graphvar.ops import array_ops

    flat = []
    for v in _flatten(structure):
        if isinstance(v, ops.Operation):
            raise TypeError(
                f"tf.cond: a branch returned the operation {v.name!r}; graphvar's branches return tensors "
                "(wrap side effects as `with tf.control_dependencies([op]): return tf.identity(x)`)"
            )
        with graph.as_default(), graph.name_scope(scope):
            flat.append(ops.convert_to_tensor(v))
    inside = set(graph.get_operations()[first:])
    with graph.as_default(), graph.name_scope(scope):
        # a tensor from outside returned as it is gets an Identity in the branch (TF's Switch output), so the
        # Cond's lazy inputs are always the branch's own ops (a fed placeholder is never a sub-plan)
        flat = [t if t.op in inside else array_ops.identity(t) for t in flat]
    return structure, flat, graph.get_operations()[first:]


def _captured(created: list, outputs: list[ops.Tensor], inside_too: Any = ()) -> list[ops.Tensor]:
    """Tensors from outside the branch that the branch's ops (or outputs) read, in a fixed order.

    `inside_too`: ops that count as inside although created elsewhere (a gradient cond's branch
    reads its forward branch's values, which must stay lazy too).
    """
    inside = set(created) | set(inside_too)
    seen: dict[ops.Tensor, None] = {}
    for op in created:
        for t in op._inputs:
            if t.op not in inside:
                seen.setdefault(t)
    for t in outputs:
        if t.op not in inside:
            seen.setdefault(t)
    return list(seen)


def cond(pred: Any, true_fn: Callable[[], Any] | None = None, false_fn: Callable[[], Any] | None = None,
         strict: bool = False, name: str | None = None, fn1: Any = None, fn2: Any = None) -> Any:  # fmt: skip
    """`true_fn()` if `pred` else `false_fn()`, decided when the graph runs; only that branch runs.

    Args:
      pred: a bool scalar tensor.
      true_fn, false_fn: callables returning the same structure of tensors (same dtypes).
      strict: return one-element lists as lists (default: unpacked, as TF1).
      name: the name scope (default "cond").
      fn1, fn2: TF1's deprecated names of true_fn and false_fn.

    Returns:
      The taken branch's values, in the branches' structure.

    Raises:
      TypeError: pred is a Python bool, or a branch is not callable / returns an operation.
      ValueError: the branches return different structures or dtypes.

    Example:
      >>> y = tf.cond(is_training, lambda: tf.nn.dropout(x, 0.5), lambda: x)
    """
    return _cond(pred, true_fn, false_fn, strict, name, fn1, fn2)


def _cond(pred: Any, true_fn: Any, false_fn: Any, strict: bool, name: str | None, fn1: Any = None, fn2: Any = None,
          inside: tuple = ((), ())) -> Any:  # fmt: skip
    true_fn = true_fn if true_fn is not None else fn1
    false_fn = false_fn if false_fn is not None else fn2
    if not callable(true_fn) or not callable(false_fn):
        raise TypeError("true_fn and false_fn must be callable.")
    if isinstance(pred, bool):
        raise TypeError("pred must not be a Python bool")
    p = ops.convert_to_tensor(pred)
    graph = p.graph
    with graph.as_default(), graph.name_scope(name or "cond") as scope:
        struct_t, flat_t, created_t = _branch(graph, true_fn, "true")
        struct_f, flat_f, created_f = _branch(graph, false_fn, "false")
        if len(flat_t) != len(flat_f) or _shape_of(struct_t) != _shape_of(struct_f):
            raise ValueError(
                f"true_fn and false_fn must return the same structure: {len(flat_t)} and {len(flat_f)} outputs"
            )
        if not flat_t:
            raise ValueError("tf.cond: the branches return no tensors")
        captured = _captured(created_t, flat_t, inside[0]) + _captured(created_f, flat_f, inside[1])
        captured = list(dict.fromkeys(captured))
        attrs = {"num_outputs": len(flat_t), "num_captured": len(captured), "branch_ops": (created_t, created_f)}
        op = graph.create_op("Cond", [p, *captured, *flat_t, *flat_f], attrs, name=scope or "cond/")
    outs = list(op.outputs)
    if not strict and not isinstance(struct_t, (list, tuple, dict)):
        return outs[0]
    result = _pack_as(struct_t, outs)
    if not strict and isinstance(result, list) and len(result) == 1:
        return result[0]
    return result


def _shape_of(structure: Any) -> Any:
    if isinstance(structure, (list, tuple)):
        return tuple(_shape_of(s) for s in structure)
    if isinstance(structure, dict):
        return tuple((k, _shape_of(structure[k])) for k in sorted(structure))
    return None


def case(pred_fn_pairs: Any, default: Callable[[], Any] | None = None, exclusive: bool = False, strict: bool = False,
         name: str = "case") -> Any:  # fmt: skip
    """The first pair whose predicate holds runs its function; else `default` (nested tf.cond, in order)."""
    pairs = list(pred_fn_pairs.items()) if isinstance(pred_fn_pairs, dict) else list(pred_fn_pairs)
    if not pairs:
        if default is None:
            raise ValueError("tf.case needs at least one (pred, fn) pair or a default")
        return default()
    if default is None:
        default = pairs[-1][1]
        pairs = pairs[:-1]
        if not pairs:
            return default()

    def chain(i: int) -> Any:
        if i == len(pairs):
            return default()
        p, fn = pairs[i]
        return cond(p, fn, lambda: chain(i + 1), strict=strict)

    with ops.name_scope(name):
        return chain(0)


@RegisterGradient("Cond")
def _cond_grad(op: ops.Operation, *grads: Any) -> list:
    from graphvar.ops import array_ops, gradients_impl

    n, k = op._attrs["num_outputs"], op._attrs["num_captured"]
    pred, captured = op._inputs[0], op._inputs[1 : 1 + k]
    outs_t, outs_f = op._inputs[1 + k : 1 + k + n], op._inputs[1 + k + n :]
    # a variable's ref is read by stateful ops only (assign...): its gradient flows through its read
    diff = [i for i, c in enumerate(captured)
            if (c.dtype.is_floating or c.dtype.is_complex) and not get_op_def(c.op.type).ref_output]  # fmt: skip
    if not diff:
        return [None] * len(op._inputs)
    targets = [captured[i] for i in diff]
    grads = [g if g is not None else array_ops.zeros_like(t) for g, t in zip(grads, op._outputs)]

    def branch_grads(outs: list) -> Callable[[], list]:
        def build() -> list:
            pairs = [(o, g) for o, g in zip(outs, grads) if o.dtype.is_floating or o.dtype.is_complex]
            gs = gradients_impl.gradients([o for o, _ in pairs], targets, grad_ys=[g for _, g in pairs]) if pairs else [None] * len(targets)  # fmt: skip
            return [gradients_impl.to_dense(g) if g is not None else array_ops.zeros_like(t) for g, t in zip(gs, targets)]  # fmt: skip

        return build

    forward_t, forward_f = op._attrs["branch_ops"]
    result = _cond(pred, branch_grads(outs_t), branch_grads(outs_f), True, None, inside=(forward_t, forward_f))
    out: list = [None] * len(op._inputs)
    for i, g in zip(diff, result):
        out[1 + i] = g
    return out

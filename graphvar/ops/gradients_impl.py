"""tf.gradients: reverse-mode differentiation over the graph.

The ops between `xs` and `ys` are visited in reverse topological order; each op's rule
(graphvar/ops/math_grad.py, array_grad.py, ...; one per op type, see
framework/gradient_registry.py) turns the gradients of its outputs into gradients of its
inputs, as ordinary graph ops under the `gradients/` name scope. Contributions from several
consumers are summed with one AddN in the order the consumers were visited, which depends on
the graph only, so the same graph gives the same sums in every run.
"""

from __future__ import annotations

import collections
from typing import Any

from graphvar import dtypes
from graphvar.framework import ops
from graphvar.framework.gradient_registry import get_gradient_function
from graphvar.framework.indexed_slices import IndexedSlices
from graphvar.ops import array_grad as _array_grad  # noqa: F401  (registers the rules)
from graphvar.ops import array_ops, gradient_ops
from graphvar.ops import math_grad as _math_grad  # noqa: F401


class AggregationMethod:
    """How gradients from several consumers are summed; graphvar always uses one AddN (exact, deterministic)."""

    ADD_N = 0
    DEFAULT = ADD_N
    EXPERIMENTAL_TREE = 1
    EXPERIMENTAL_ACCUMULATE_N = 2


def _backpropagatable(t: ops.Tensor) -> bool:
    return t.dtype.is_floating or t.dtype.is_complex


def _as_list(x: Any) -> list:
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _to_tensors(values: list, graph: ops.Graph | None, as_ref: bool, what: str) -> list[ops.Tensor]:
    out = []
    for v in values:
        if isinstance(v, ops.Tensor):
            out.append(v)
            continue
        ref = getattr(v, "_ref", None)
        if as_ref and ref is not None:
            out.append(ref())
        elif graph is not None:
            with graph.as_default():
                out.append(ops.convert_to_tensor(v, name=what))
        else:
            out.append(ops.convert_to_tensor(v, name=what))
    return out


def _between_ops(from_ops: list, to_ops: list) -> tuple[set, dict]:
    """Ops on a path from from_ops to to_ops through float tensors, and each one's pending consumer count."""
    consumers: dict[ops.Tensor, list] = collections.defaultdict(list)
    graph_ops = to_ops[0].graph.get_operations()
    for op in graph_ops:
        for t in op._inputs:
            consumers[t].append(op)
    reached: set = set()
    queue = collections.deque(from_ops)
    while queue:
        op = queue.popleft()
        if op in reached:
            continue
        reached.add(op)
        for t in op._outputs:
            if _backpropagatable(t):
                queue.extend(c for c in consumers[t] if c not in reached)
    between: set = set()
    queue = collections.deque(op for op in to_ops if op in reached)
    while queue:
        op = queue.popleft()
        if op in between:
            continue
        between.add(op)
        queue.extend(t.op for t in op._inputs if t.op in reached and t.op not in between)
    pending: dict = collections.Counter()
    for op in between:
        for t in op._inputs:
            if t.op in between:
                pending[t.op] += 1
    return between, pending


def gradients(ys: Any, xs: Any, grad_ys: Any = None, name: str = "gradients", colocate_gradients_with_ops: bool = False,
              gate_gradients: bool = False, aggregation_method: Any = None, stop_gradients: Any = None) -> list:  # fmt: skip
    """Symbolic derivatives of sum(ys) with respect to each x in xs.

    Args:
      ys: a Tensor or list of Tensors to differentiate.
      xs: a Tensor, Variable, or list of them.
      grad_ys: gradients of ys (same structure); default ones.
      name: the name scope of the gradient ops ("gradients", then "gradients_1", ...).
      colocate_gradients_with_ops: place each gradient op on the device of the op it differentiates.
      gate_gradients: accepted; graphvar runs one op at a time, so gradients of an op are always
        computed together (TF's gate adds no value there).
      aggregation_method: accepted (AggregationMethod); the sum is always one AddN in a fixed order.
      stop_gradients: tensors treated as constants (no gradient flows through them).

    Returns:
      One entry per x: a Tensor, an IndexedSlices (e.g. through tf.gather), or None when ys do not
      depend on x (or only through integer tensors).

    Raises:
      LookupError: an op on the path has no gradient rule (names the op and its type).
      ValueError: grad_ys does not match ys, or a rule returned the wrong number of gradients.

    Example:
      >>> w = tf.Variable([[1.0, 2.0]])
      >>> loss = tf.reduce_sum(tf.square(w))
      >>> (dw,) = tf.gradients(loss, [w])  # 2 * w
    """
    ys_list = _to_tensors(_as_list(ys), None, False, "y")
    graph = ys_list[0].graph
    xs_list = _to_tensors(_as_list(xs), graph, True, "x")
    stops = {t.op for t in _to_tensors(_as_list(stop_gradients), graph, False, "stop") if t is not None} if stop_gradients is not None else set()  # fmt: skip
    grad_ys_list = _as_list(grad_ys) if grad_ys is not None else [None] * len(ys_list)
    if len(grad_ys_list) != len(ys_list):
        raise ValueError(f"Passed {len(grad_ys_list)} grad_ys for {len(ys_list)} ys")
    with graph.as_default(), graph.name_scope(name or "gradients"):
        grads: dict[ops.Tensor, list] = collections.defaultdict(list)
        for i, (y, gy) in enumerate(zip(ys_list, grad_ys_list)):
            if gy is None:
                if not _backpropagatable(y):
                    raise TypeError(
                        f"Gradients of a {y.dtype.name} tensor ({y.name!r}) are not defined; cast it to a float first"
                    )
                gy = array_ops.ones_like(y, name=f"grad_ys_{i}")
            else:
                gy = ops.convert_to_tensor(gy, dtype=y.dtype, name=f"grad_ys_{i}")
            grads[y].append(gy)
        from_ops = [x.op for x in xs_list]
        to_ops = [y.op for y in ys_list]
        between, pending = _between_ops(from_ops, to_ops)
        _backprop(graph, between, pending, to_ops, grads, set(xs_list), stops, colocate_gradients_with_ops)
        return [_aggregate(grads.get(x, []), x) if x in grads else None for x in xs_list]


def _backprop(graph: ops.Graph, between: set, pending: dict, to_ops: list, grads: dict, xs: set, stops: set,
              colocate: bool) -> None:  # fmt: skip
    ready = collections.deque()
    seen: set = set()
    for op in to_ops:
        if op in between and pending[op] == 0 and op not in seen:
            ready.append(op)
            seen.add(op)
    while ready:
        op = ready.popleft()
        out_grads = [_aggregate(grads[t], t) if t in grads else None for t in op._outputs]
        inputs_between = any(t.op in between for t in op._inputs)
        if any(g is not None for g in out_grads) and inputs_between and op not in stops:
            in_grads = _call_rule(graph, op, out_grads, colocate)
            for t, g in zip(op._inputs, in_grads):
                if g is None or t.op not in between or not _backpropagatable(t):
                    continue
                if isinstance(g, ops.Tensor):
                    try:
                        g.set_shape(t.get_shape())
                    except ValueError as e:
                        raise ValueError(f"Gradient of {op.name!r} ({op.type}) for input {t.name!r}: {e}") from None
                grads[t].append(g)
        for t in op._inputs:
            src = t.op
            if src not in between:
                continue
            pending[src] -= 1
            if pending[src] == 0 and src not in seen:
                seen.add(src)
                ready.append(src)


_SPARSE_PASS_THROUGH = frozenset({"Identity"})  # rules that hand an IndexedSlices on (a variable's read)


def _call_rule(graph: ops.Graph, op: ops.Operation, out_grads: list, colocate: bool) -> list:
    rule = get_gradient_function(op)  # LookupError names the op when there is no rule
    if rule is None:
        return [None] * len(op._inputs)
    out_grads = [
        g if g is not None or not _backpropagatable(t) else array_ops.zeros_like(t)
        for t, g in zip(op._outputs, out_grads)
    ]
    with graph.name_scope(op.name + "_grad"), graph.device(op.device if colocate else ""):
        if op.type not in _SPARSE_PASS_THROUGH:  # the other rules see a gather's IndexedSlices dense, as in TF
            out_grads = [to_dense(g) for g in out_grads]
        result = rule(op, *out_grads)
    result = list(result) if isinstance(result, (list, tuple)) else [result]
    if len(result) != len(op._inputs):
        raise ValueError(
            f"Num gradients {len(result)} generated for op {op.name!r} ({op.type}) do not match num inputs {len(op._inputs)}"
        )
    return result


def _aggregate(contributions: list, t: ops.Tensor) -> Any:
    """The sum of a tensor's gradient contributions: one AddN, or the rows of several IndexedSlices."""
    if not contributions:
        return None
    if len(contributions) == 1:
        return contributions[0]
    if all(isinstance(g, IndexedSlices) for g in contributions):
        from graphvar.ops import shape_ops

        values = shape_ops.concat([g.values for g in contributions], 0)
        indices = shape_ops.concat([array_ops.cast(g.indices, dtypes.int64) for g in contributions], 0)
        agg = IndexedSlices(values, indices, contributions[0].dense_shape)
    else:
        agg = gradient_ops.add_n([to_dense(g) for g in contributions])
    contributions[:] = [agg]
    return agg


def to_dense(g: Any) -> ops.Tensor:
    """An IndexedSlices as a dense tensor (rows summed at their indices); a Tensor unchanged."""
    if not isinstance(g, IndexedSlices):
        return g
    if g.dense_shape is None:
        raise ValueError(f"Cannot convert {g!r} to a dense tensor: its dense_shape is unknown")
    rows = g.dense_shape[0]
    return gradient_ops.unsorted_segment_sum(g.values, g.indices, array_ops.cast(rows, g.indices.dtype))


def _indexed_slices_to_tensor(value: IndexedSlices, dtype: Any = None, name: str | None = None,
                              as_ref: bool = False) -> ops.Tensor:  # fmt: skip
    """As TF: an op given an IndexedSlices (a rule of an op above a gather, e.g. a sharded lookup) sees it dense."""
    if dtype is not None and dtypes.as_dtype(dtype) != value.dtype:
        raise ValueError(f"Tensor conversion requested dtype {dtypes.as_dtype(dtype).name} for IndexedSlices with "
                         f"dtype {value.dtype.name}")  # fmt: skip
    return to_dense(value)


ops.register_tensor_conversion_function(IndexedSlices, _indexed_slices_to_tensor)


def hessians(ys: Any, xs: Any, name: str = "hessians", colocate_gradients_with_ops: bool = False,
             gate_gradients: bool = False, aggregation_method: Any = None) -> list:  # fmt: skip
    """Second derivatives of sum(ys) w.r.t. each x (as TF: the Hessian of each x, shape x.shape + x.shape)."""
    from graphvar.ops import shape_ops

    xs_list = _as_list(xs)
    out = []
    for x, g in zip(xs_list, gradients(ys, xs_list, name=name)):
        if g is None:
            out.append(None)
            continue
        x_t = _to_tensors([x], g.graph, True, "x")[0]
        n = x_t.shape.num_elements()
        if n is None:
            raise ValueError(f"hessians: {x_t.name!r} needs a fully defined shape, got {x_t.shape}")
        flat = array_ops.reshape(to_dense(g), [n])
        rows = [to_dense(gradients(flat[i], x, name=name)[0]) for i in range(n)]
        rows = [r if r is not None else array_ops.zeros_like(x_t) for r in rows]
        out.append(array_ops.reshape(shape_ops.stack(rows), x_t.shape.as_list() * 2))
    return out

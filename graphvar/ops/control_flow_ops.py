"""no_op and group: ops that only order other ops."""

from __future__ import annotations

from typing import Any

from graphvar.framework import ops
from graphvar.framework.op_registry import register_op

register_op("NoOp", lambda op: [])


def no_op(name: str | None = None) -> ops.Operation:
    """An op that does nothing; useful as a control-dependency target."""
    return ops.get_default_graph().create_op("NoOp", [], name=name or "NoOp")


def group(*inputs: Any, name: str | None = None) -> ops.Operation:
    """An op that runs all of `inputs` (ops, tensors or variables) and outputs nothing."""
    graph = ops.get_default_graph()
    flat = [y for x in inputs for y in (x if isinstance(x, (list, set, frozenset)) else [x])]
    deps = [graph.as_graph_element(x) if not isinstance(x, (ops.Tensor, ops.Operation)) else x for x in flat]
    deps = [d.op if isinstance(d, ops.Tensor) else d for d in deps]
    with graph.control_dependencies(deps):
        return no_op(name=name or "group_deps")


def tuple(tensors: Any, name: str | None = None, control_inputs: Any = None) -> list:  # noqa: A001 - TF's name
    """Returns identities of `tensors` that are only ready once all of them are."""
    from graphvar.ops import array_ops

    tensors = [ops.convert_to_tensor(t) if t is not None else None for t in tensors]
    gate = group(*[t for t in tensors if t is not None], *(control_inputs or []))
    with ops.control_dependencies([gate]):
        return [array_ops.identity(t) if t is not None else None for t in tensors]

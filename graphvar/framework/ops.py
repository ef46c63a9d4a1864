"""Graph, the default graph, collections and conversion to tensors: what a program builds before any Session runs it.

Tensor and Operation live in framework/tensor.py and are re-exported here."""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Callable, Iterator
from typing import Any

from graphvar import dtypes
from graphvar.framework import device as device_lib
from graphvar.framework.op_registry import get_op_def
from graphvar.framework.tensor import Operation, Tensor
from graphvar.framework.tensor_shape import as_shape


class GraphKeys:
    """Standard collection names (TF's ``tf.GraphKeys``)."""

    GLOBAL_VARIABLES = "variables"
    VARIABLES = GLOBAL_VARIABLES
    LOCAL_VARIABLES = "local_variables"
    MODEL_VARIABLES = "model_variables"
    TRAINABLE_VARIABLES = "trainable_variables"
    SAVERS = "savers"
    INIT_OP = "init_op"
    LOCAL_INIT_OP = "local_init_op"
    READY_OP = "ready_op"
    UPDATE_OPS = "update_ops"
    SUMMARIES = "summaries"
    GLOBAL_STEP = "global_step"
    LOSSES = "losses"
    REGULARIZATION_LOSSES = "regularization_losses"
    METRIC_VARIABLES = "metric_variables"
    QUEUE_RUNNERS = "queue_runners"
    TRAIN_OP = "train_op"


# TF's rules (tensorflow/python/framework/ops.py): what an op name / a scope name may contain
_VALID_OP_NAME = re.compile(r"^[A-Za-z0-9.][A-Za-z0-9_.\\/>-]*$")
_VALID_SCOPE_NAME = re.compile(r"^[A-Za-z0-9_.\\/>-]*$")


class _ThreadContext(threading.local):
    def __init__(self) -> None:
        self.name_stack = ""
        self.device_stack: list[Any] = []
        self.control_stack: list[list[Operation] | None] = []
        self.gradient_override: dict[str, str] = {}


class Graph:
    """A TensorFlow computation graph: the Operations and the collections of a program.

    Example:
      >>> g = tf.Graph()
      >>> with g.as_default():
      ...     c = tf.constant(30.0)
      >>> c.graph is g
      True
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._ops: list[Operation] = []
        self._ops_by_name: dict[str, Operation] = {}
        self._names_in_use: dict[str, int] = {}
        self._collections: dict[str, list[Any]] = {}
        self._ctx = _ThreadContext()
        self._finalized = False
        self.seed: int | None = None
        self._version = 0

    # ---- building ----
    def create_op(
        self, op_type: str, inputs: list[Tensor], attrs: dict | None = None, name: str | None = None
    ) -> Operation:
        """Adds an op, inferring its output dtypes and shapes; ValueError names the op on a bad shape."""
        op_def = get_op_def(op_type)
        if name and not _VALID_OP_NAME.match(name.rstrip("/")):
            raise ValueError(f"'{name}' is not a valid node name (op type {op_type})")
        for t in inputs:
            if t.graph is not self:
                raise ValueError(
                    f"Tensor {t.name!r} must be from the same graph as the other inputs of the new {op_type!r} op."
                )
        with self._lock:
            if self._finalized:
                raise RuntimeError("Graph is finalized and cannot be modified.")
            full_name = name[:-1] if name and name.endswith("/") else self.unique_name(name or op_type)
            if full_name in self._ops_by_name:
                raise ValueError(f"Duplicate node name in graph: {full_name!r}")
            op = Operation(self, op_type, full_name, inputs, dict(attrs or {}), "")
            override = self._ctx.gradient_override.get(op_type)
            if override is not None:
                op._attrs["_gradient_op_type"] = override
            op._device = self._current_device(op)
            op._control_inputs = self._current_control_inputs(inputs)
            try:
                specs = op_def.shape_fn(op)
            except ValueError as e:
                shapes = ", ".join(str(t.shape) for t in inputs)
                raise ValueError(f"{e} for '{full_name}' (op: '{op_type}') with input shapes: [{shapes}].") from None
            op._outputs = tuple(Tensor(op, i, dt, as_shape(sh)) for i, (dt, sh) in enumerate(specs))
            op._id = len(self._ops)
            self._ops.append(op)
            self._ops_by_name[full_name] = op
            self._version += 1
        return op

    def unique_name(self, name: str, mark_as_used: bool = True) -> str:
        """TF's uniquifying rule: "w", then "w_1", "w_2", under the current name scope."""
        if self._ctx.name_stack:
            name = self._ctx.name_stack + "/" + name
        with self._lock:
            key = name.lower()
            i = self._names_in_use.get(key, 0)
            if mark_as_used:
                self._names_in_use[key] = i + 1
            if i > 0:
                base = key
                while key in self._names_in_use:
                    key = f"{base}_{i}"
                    i += 1
                if mark_as_used:
                    self._names_in_use[key] = 1
                name = f"{name}_{i - 1}"
        return name

    @contextlib.contextmanager
    def name_scope(self, name: str | None) -> Iterator[str]:
        """Opens a name scope; yields the scope name ending in "/" ("" at the root)."""
        old = self._ctx.name_stack
        if name and not _VALID_SCOPE_NAME.match(name):
            raise ValueError(f"'{name}' is not a valid scope name")
        if not name:
            new = ""
        elif name.endswith("/"):
            new = name[:-1]
        else:
            new = self.unique_name(name)
        self._ctx.name_stack = new
        try:
            yield new + "/" if new else ""
        finally:
            self._ctx.name_stack = old

    @contextlib.contextmanager
    def gradient_override_map(self, op_type_map: dict[str, str]) -> Iterator[None]:
        """Ops of the mapped types created inside use the gradient rule registered under the mapped name.

        Example:
          >>> with g.gradient_override_map({"Square": "MyCustomSquareGrad"}):
          ...     y = tf.square(x)
        """
        if not isinstance(op_type_map, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in op_type_map.items()
        ):
            raise TypeError("op_type_map must be a dictionary mapping strings to strings")
        old = self._ctx.gradient_override
        self._ctx.gradient_override = {**old, **op_type_map}
        try:
            yield
        finally:
            self._ctx.gradient_override = old

    def get_name_scope(self) -> str:
        return self._ctx.name_stack

    @contextlib.contextmanager
    def device(self, device_name_or_function: Any) -> Iterator[None]:
        """Places ops created inside on a device ("/cpu:0", "/gpu:0", a function of the op, or None)."""
        self._ctx.device_stack.append(device_name_or_function)
        try:
            yield
        finally:
            self._ctx.device_stack.pop()

    def _current_device(self, op: Operation) -> str:
        spec = ""
        stack = self._ctx.device_stack
        # device(None) hides the scopes outside it: their device functions are not called (TF's reset)
        start = max((i + 1 for i, d in enumerate(stack) if d is None), default=0)
        for d in stack[start:]:
            if callable(d):
                spec = device_lib.merge(spec, d(op) or "")
            else:
                spec = device_lib.merge(spec, d)
        return device_lib.canonical_name(spec)

    @contextlib.contextmanager
    def control_dependencies(self, control_inputs: Any) -> Iterator[None]:
        """Ops created inside run after every op in control_inputs (None clears outer ones)."""
        ops = None if control_inputs is None else [_as_op(c, self) for c in control_inputs]
        self._ctx.control_stack.append(ops)
        try:
            yield
        finally:
            self._ctx.control_stack.pop()

    def _current_control_inputs(self, inputs: list[Tensor]) -> tuple[Operation, ...]:
        deps: list[Operation] = []
        for frame in self._ctx.control_stack:
            if frame is None:
                deps = []
            else:
                deps.extend(op for op in frame if op not in deps)
        input_ops = {t.op for t in inputs}
        return tuple(op for op in deps if op not in input_ops)

    # ---- lookup ----
    def get_operations(self) -> list[Operation]:
        with self._lock:
            return list(self._ops)

    def get_operation_by_name(self, name: str) -> Operation:
        return self.as_graph_element(name, allow_tensor=False)

    def get_tensor_by_name(self, name: str) -> Tensor:
        return self.as_graph_element(name, allow_operation=False)

    def as_graph_element(self, obj: Any, allow_tensor: bool = True, allow_operation: bool = True) -> Any:
        """Resolves a Tensor, Operation, Variable or name ("w:0" / "w") to an element of this graph."""
        if isinstance(obj, str):
            return self._element_by_name(obj, allow_tensor, allow_operation)
        conv = getattr(obj, "_as_graph_element", None)
        if conv is None:
            raise TypeError(f"Can not convert a {type(obj).__name__} into a Tensor or Operation.")
        elem = conv()
        if isinstance(elem, Tensor) and not allow_tensor or isinstance(elem, Operation) and not allow_operation:
            raise TypeError(f"Can not convert {elem!r} to the requested kind of graph element.")
        if elem.graph is not self:
            raise ValueError(f"{elem!r} is not an element of this graph.")
        return elem

    def _element_by_name(self, name: str, allow_tensor: bool, allow_operation: bool) -> Any:
        m = re.fullmatch(r"(.*):(\d+)", name)
        if m and allow_tensor:
            op = self._ops_by_name.get(m.group(1))
            if op is None:
                raise KeyError(
                    f"The name {name!r} refers to a Tensor which does not exist. The operation, {m.group(1)!r}, does not exist in the graph."
                )
            idx = int(m.group(2))
            if idx >= len(op._outputs):
                raise KeyError(
                    f"The name {name!r} refers to a Tensor which does not exist. The operation, {op.name!r}, exists but only has {len(op._outputs)} outputs."
                )
            return op._outputs[idx]
        if not m and allow_operation:
            op = self._ops_by_name.get(name)
            if op is None:
                raise KeyError(f"The name {name!r} refers to an Operation not in the graph.")
            return op
        what = "Tensor" if m else "Operation"
        raise ValueError(f"The name {name!r} looks like a {what} name, which is not allowed here.")

    # ---- collections ----
    def add_to_collection(self, name: str, value: Any) -> None:
        with self._lock:
            self._collections.setdefault(name, []).append(value)

    def add_to_collections(self, names: Any, value: Any) -> None:
        names = (names,) if isinstance(names, str) else set(names)
        for name in names:
            self.add_to_collection(name, value)

    def get_collection_ref(self, name: str) -> list[Any]:
        with self._lock:
            return self._collections.setdefault(name, [])

    def get_collection(self, name: str, scope: str | None = None) -> list[Any]:
        with self._lock:
            items = list(self._collections.get(name, []))
        if scope is None:
            return items
        pattern = re.compile(scope)
        return [it for it in items if hasattr(it, "name") and pattern.match(it.name)]

    def get_all_collection_keys(self) -> list[str]:
        return [k for k, v in self._collections.items() if v]

    def clear_collection(self, name: str) -> None:
        with self._lock:
            self._collections.pop(name, None)

    # ---- TensorFlow's GraphDef ----
    def as_graph_def(self, from_version: int | None = None, add_shapes: bool = False) -> Any:
        """This graph as TensorFlow's GraphDef proto (TF's op types, attrs and inputs; graphvar.proto classes).

        Args:
          from_version: only the ops added after the graph had this `version`.
          add_shapes: add each node's output shapes as its "_output_shapes" attr.

        Example:
          >>> gd = tf.get_default_graph().as_graph_def()
          >>> tf.train.write_graph(gd, "/tmp", "graph.pbtxt")
        """
        from graphvar.framework import graph_io

        ops = self.get_operations()
        if from_version is not None:
            ops = ops[from_version:] if from_version <= len(ops) else []
        return graph_io.export_graph_def(self, add_shapes=add_shapes, ops_to_export=ops)

    # ---- state ----
    def finalize(self) -> None:
        self._finalized = True

    @property
    def finalized(self) -> bool:
        return self._finalized

    @property
    def version(self) -> int:
        return self._version

    @contextlib.contextmanager
    def as_default(self) -> Iterator[Graph]:
        """Makes this graph the default graph of this thread inside the block."""
        _graph_stack().append(self)
        try:
            yield self
        finally:
            _graph_stack().pop()


def _as_op(obj: Any, graph: Graph) -> Operation:
    if isinstance(obj, Operation):
        return obj
    if isinstance(obj, Tensor):
        return obj.op
    elem = graph.as_graph_element(obj)
    return elem.op if isinstance(elem, Tensor) else elem


# ---- the default graph ----
class _DefaultStack(threading.local):
    def __init__(self) -> None:
        self.stack: list[Graph] = []


_stack = _DefaultStack()
_global_default: Graph | None = None
_global_lock = threading.Lock()


def _graph_stack() -> list[Graph]:
    return _stack.stack


def get_default_graph() -> Graph:
    """Returns the innermost `as_default()` graph of this thread, else the global default graph."""
    global _global_default
    if _stack.stack:
        return _stack.stack[-1]
    with _global_lock:
        if _global_default is None:
            _global_default = Graph()
        return _global_default


def reset_default_graph() -> None:
    """Clears the global default graph (not allowed inside a `with g.as_default()` block)."""
    global _global_default
    if _stack.stack:
        raise AssertionError("Do not use tf.reset_default_graph() to clear nested graphs. "
                             "If you need a cleared graph, exit the nesting and create a new graph.")  # fmt: skip
    with _global_lock:
        _global_default = Graph()


def name_scope(name: str | None, default_name: str | None = None, values: Any = None) -> Any:
    """TF1's ``tf.name_scope(name, default_name, values)`` on the default graph (or the values' graph)."""
    graph = _graph_of(values) if values is not None else get_default_graph()
    return graph.name_scope(name if name is not None else default_name)


def _graph_of(values: Any) -> Graph:
    for v in values if isinstance(values, (list, tuple)) else [values]:
        g = getattr(v, "graph", None)
        if isinstance(g, Graph):
            return g
    return get_default_graph()


def control_dependencies(control_inputs: Any) -> Any:
    return get_default_graph().control_dependencies(control_inputs)


def device(device_name_or_function: Any) -> Any:
    return get_default_graph().device(device_name_or_function)


def get_collection(key: str, scope: str | None = None) -> list[Any]:
    return get_default_graph().get_collection(key, scope)


def get_collection_ref(key: str) -> list[Any]:
    return get_default_graph().get_collection_ref(key)


def add_to_collection(name: str, value: Any) -> None:
    get_default_graph().add_to_collection(name, value)


def add_to_collections(names: Any, value: Any) -> None:
    get_default_graph().add_to_collections(names, value)


# ---- conversion to tensors ----
_conversion_functions: list[tuple[type, Callable[..., Tensor]]] = []


def register_tensor_conversion_function(base_type: type, conversion_func: Callable[..., Tensor]) -> None:
    """Registers fn(value, dtype=None, name=None, as_ref=False) -> Tensor for instances of base_type."""
    _conversion_functions.append((base_type, conversion_func))


def convert_to_tensor(value: Any, dtype: Any = None, name: str | None = None, preferred_dtype: Any = None,
                      dtype_hint: Any = None, as_ref: bool = False) -> Tensor:  # fmt: skip
    """Converts a Tensor, Variable, NumPy array or Python value to a Tensor.

    Raises:
      ValueError: a Tensor of another dtype than the one requested.
      TypeError: the value cannot be converted.
    """
    dtype = dtypes.as_dtype(dtype) if dtype is not None else None
    if isinstance(value, Tensor):
        if dtype is not None and value.dtype != dtype:
            raise ValueError(
                f"Tensor conversion requested dtype {dtype.name} for Tensor with dtype {value.dtype.name}: {value!r}"
            )
        return value
    for base, fn in _conversion_functions:
        if isinstance(value, base):
            return fn(value, dtype=dtype, name=name, as_ref=as_ref)
    from graphvar.ops import array_ops

    hint = preferred_dtype if preferred_dtype is not None else dtype_hint
    if dtype is None and hint is not None:
        try:
            return array_ops.constant(value, dtype=hint, name=name or "Const")
        except (TypeError, ValueError):
            pass
    return array_ops.constant(value, dtype=dtype, name=name or "Const")


def _override_operator(name: str, fn: Callable[..., Any]) -> None:
    setattr(Tensor, name, fn)

"""Tensor and Operation: the nodes and values of a Graph (re-exported by framework.ops)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from graphvar import dtypes
from graphvar.framework import device as device_lib
from graphvar.framework.op_registry import get_op_def
from graphvar.framework.tensor_shape import TensorShape, as_shape

if TYPE_CHECKING:
    from graphvar.framework.ops import Graph


class Tensor:
    """One output of an Operation: a symbolic value with a dtype and a static shape.

    Example:
      >>> c = tf.constant([1.0, 2.0], name="c")
      >>> c.name, c.get_shape().as_list()
      ('c:0', [2])
    """

    __slots__ = ("_op", "_value_index", "_dtype", "_shape", "__weakref__")
    __array_priority__ = 100  # NumPy defers to our reflected operators

    def __init__(self, op: Operation, value_index: int, dtype: dtypes.DType, shape: TensorShape) -> None:
        self._op = op
        self._value_index = value_index
        self._dtype = dtype
        self._shape = shape

    op = property(lambda self: self._op)
    value_index = property(lambda self: self._value_index)
    dtype = property(lambda self: self._dtype)
    graph = property(lambda self: self._op.graph)
    device = property(lambda self: self._op.device)
    shape = property(lambda self: self._shape)

    @property
    def name(self) -> str:
        return f"{self._op.name}:{self._value_index}"

    def get_shape(self) -> TensorShape:
        return self._shape

    def set_shape(self, shape: Any) -> None:
        """Narrows the static shape; ValueError when it is incompatible."""
        try:
            self._shape = self._shape.merge_with(as_shape(shape))
        except ValueError:
            raise ValueError(
                f"Tensor {self.name!r} has shape {self._shape}, which is incompatible with {as_shape(shape)}"
            ) from None

    def consumers(self) -> list[Operation]:
        return [op for op in self.graph.get_operations() if any(t is self for t in op.inputs)]

    def eval(self, feed_dict: dict | None = None, session: Any = None) -> Any:
        """Runs the default (or given) Session to compute this tensor's value."""
        return _run_with_default_session(self, feed_dict, session)

    def _as_graph_element(self) -> Tensor:
        return self

    def __bool__(self) -> bool:
        raise TypeError(
            "Using a `tf.Tensor` as a Python `bool` is not allowed. Use `if t is not None:` instead of `if t:`"
        )

    def __iter__(self) -> Iterator[Any]:
        raise TypeError(f"Tensor {self.name!r} is not iterable while building a graph.")

    def __len__(self) -> int:
        raise TypeError(f"len is not well defined for symbolic Tensors ({self.name!r}). Please call `x.shape`.")

    # __eq__ and __hash__ stay object identity, as in TF1: tensors are dict keys (feeds, plan cache).

    def __repr__(self) -> str:
        return f"<tf.Tensor '{self.name}' shape={self._shape} dtype={self._dtype.name}>"


class Operation:
    """A node of the Graph: a type, inputs, attributes, outputs, a device."""

    __slots__ = ("_graph", "_name", "_type", "_inputs", "_outputs", "_control_inputs", "_attrs", "_device", "_id")

    def __init__(self, graph: Graph, op_type: str, name: str, inputs: list[Tensor], attrs: dict, device: str) -> None:
        self._graph = graph
        self._type = op_type
        self._name = name
        self._inputs = tuple(inputs)
        self._attrs = attrs
        self._device = device
        self._control_inputs: tuple[Operation, ...] = ()
        self._outputs: tuple[Tensor, ...] = ()
        self._id = 0

    name = property(lambda self: self._name)
    type = property(lambda self: self._type)
    graph = property(lambda self: self._graph)
    device = property(lambda self: self._device)
    outputs = property(lambda self: list(self._outputs))
    control_inputs = property(lambda self: list(self._control_inputs))

    @property
    def inputs(self) -> list[Tensor]:
        return list(self._inputs)

    @property
    def op_def(self) -> Any:
        return get_op_def(self._type)

    def get_attr(self, name: str) -> Any:
        try:
            return self._attrs[name]
        except KeyError:
            raise ValueError(f"Operation {self._name!r} has no attr named {name!r}.") from None

    def values(self) -> tuple[Tensor, ...]:
        return self._outputs

    def _set_device(self, device: str) -> None:
        self._device = device_lib.canonical_name(device)

    def run(self, feed_dict: dict | None = None, session: Any = None) -> None:
        """Runs this op in the default (or given) Session."""
        _run_with_default_session(self, feed_dict, session)

    def _as_graph_element(self) -> Operation:
        return self

    def __repr__(self) -> str:
        return f"<tf.Operation '{self._name}' type={self._type}>"


def _run_with_default_session(fetch: Any, feed_dict: dict | None, session: Any) -> Any:
    if session is None:
        from graphvar.session import get_default_session

        session = get_default_session()
        if session is None:
            raise ValueError(
                "Cannot evaluate tensor using `eval()`: No default session is registered. "
                "Use `with sess.as_default()` or pass an explicit session to `eval(session=sess)`"
            )
    if session.graph is not fetch.graph:
        raise ValueError(
            "Cannot use the given session to evaluate tensor: the tensor's graph is different from the session's graph."
        )
    return session.run(fetch, feed_dict)

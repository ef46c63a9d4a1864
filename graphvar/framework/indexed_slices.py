"""IndexedSlices: a sparse gradient, rows `indices` of a tensor of `dense_shape` holding `values`.

The gradient of a gather (tf.nn.embedding_lookup) is one: optimizers apply it as a sparse update,
and tf.gradients sums several by concatenating their rows.
"""

from __future__ import annotations

from typing import Any


class IndexedSlices:
    """TF's ``tf.IndexedSlices(values, indices, dense_shape=None)``.

    Example:
      >>> g = tf.gradients(tf.reduce_sum(tf.gather(params, ids)), params)[0]
      >>> isinstance(g, tf.IndexedSlices)
      True
    """

    def __init__(self, values: Any, indices: Any, dense_shape: Any = None) -> None:
        self._values = values
        self._indices = indices
        self._dense_shape = dense_shape

    values = property(lambda self: self._values)
    indices = property(lambda self: self._indices)
    dense_shape = property(lambda self: self._dense_shape)
    dtype = property(lambda self: self._values.dtype)
    graph = property(lambda self: self._values.graph)
    op = property(lambda self: self._values.op)
    name = property(lambda self: self._values.name)
    device = property(lambda self: self._values.device)

    def get_shape(self) -> Any:
        from graphvar.framework.tensor_shape import TensorShape, unknown_shape
        from graphvar.ops.gradient_ops import shape_value

        dims = shape_value(self._dense_shape) if self._dense_shape is not None else None
        return TensorShape(dims) if dims is not None else unknown_shape()

    shape = property(get_shape)

    def __repr__(self) -> str:
        return f"IndexedSlices(indices={self._indices!r}, values={self._values!r}, dense_shape={self._dense_shape!r})"

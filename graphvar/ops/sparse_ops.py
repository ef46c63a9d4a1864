"""tf.sparse_to_dense (TF's SparseToDense op); its kernel is ``backends/sampling_kernels.sparse_kernels``.

sampled_softmax_loss and nce_loss use it to mask accidental hits: values are set, not added, so a
repeated index stays -FLT_MAX instead of overflowing to -inf.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from graphvar import dtypes
from graphvar.framework import ops
from graphvar.framework.op_registry import register_op
from graphvar.framework.tensor_shape import TensorShape, unknown_shape


def _sparse_to_dense_spec(op: Any) -> list:
    indices, shape, values, default = op._inputs
    for t, what in ((indices, "sparse_indices"), (shape, "output_shape")):
        if t.dtype not in (dtypes.int32, dtypes.int64):
            raise TypeError(f"{what} of {op.name!r} (SparseToDense) must be int32 or int64, got {t.dtype.name}")
    if values.dtype != default.dtype:
        raise TypeError(f"sparse_values ({values.dtype.name}) and default_value ({default.dtype.name}) of {op.name!r} "
                        "(SparseToDense) must have the same dtype")  # fmt: skip
    if indices.shape.ndims is not None and indices.shape.ndims > 2:
        raise ValueError(f"sparse_indices of {op.name!r} must be 0-D, 1-D or 2-D, got shape {indices.shape}")
    if default.shape.ndims not in (None, 0):
        raise ValueError(f"default_value of {op.name!r} must be a scalar, got shape {default.shape}")
    if shape.op.type == "Const":
        return [(values.dtype, TensorShape([int(d) for d in np.asarray(shape.op.get_attr("value")).reshape(-1)]))]
    if shape.shape.ndims == 1 and shape.shape.as_list()[0] is not None:
        return [(values.dtype, unknown_shape(shape.shape.as_list()[0]))]
    return [(values.dtype, unknown_shape())]


register_op("SparseToDense", _sparse_to_dense_spec)


def sparse_to_dense(sparse_indices: Any, output_shape: Any, sparse_values: Any, default_value: Any = 0,
                    validate_indices: bool = True, name: str | None = None) -> ops.Tensor:  # fmt: skip
    """A dense tensor of `output_shape` holding `sparse_values` at `sparse_indices`, `default_value` elsewhere.

    Args:
      sparse_indices: int32/int64, 0-D or 1-D (indices into a 1-D output) or [N, rank].
      output_shape: 1-D int tensor or list, the dense shape.
      sparse_values: a scalar (for every index) or a vector of N values.
      default_value: a scalar for the other entries.
      validate_indices: indices must be in lexicographic order without repeats (InvalidArgumentError otherwise).
    Returns:
      A tensor of sparse_values' dtype and shape output_shape.
    Raises:
      InvalidArgumentError: at run time, an index out of bounds (or, when validating, repeated / out of order).
    Example:
      >>> tf.sparse_to_dense([[0, 1], [2, 0]], [3, 2], 5.0)   # [[0, 5], [0, 0], [5, 0]]
    """
    with ops.name_scope(name, "SparseToDense", [sparse_indices, output_shape, sparse_values]) as scope:
        indices = ops.convert_to_tensor(sparse_indices, dtype_hint=dtypes.int32)
        shape = ops.convert_to_tensor(output_shape, dtype_hint=indices.dtype)
        values = ops.convert_to_tensor(sparse_values)
        default = ops.convert_to_tensor(default_value, dtype=values.dtype)
        attrs = {"validate_indices": bool(validate_indices)}
        return indices.graph.create_op("SparseToDense", [indices, shape, values, default], attrs, name=scope).outputs[0]

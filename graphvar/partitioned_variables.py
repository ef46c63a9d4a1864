"""Partitioned variables (TF1's ``tf.get_variable(..., partitioner=...)``) and the partitioners.

A variable ``emb`` [10, 4] split in 3 along axis 0 is three ordinary Variables ``emb/part_0`` [4, 4],
``emb/part_1`` [3, 3 -> 3, 4], ``emb/part_2`` [3, 4] (the first ``dim % n`` parts get one row more, as
TF's ``_compute_slice_dim_and_shape``), each carrying a :class:`SaveSliceInfo` (full name, full shape,
offset, shape). The Saver stores them as slices of one checkpoint tensor ``emb``, so a checkpoint
written with k parts restores into m parts, and TensorFlow reads it (and we read TF's).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from graphvar import dtypes
from graphvar.framework import ops
from graphvar.framework.tensor_shape import TensorShape, as_shape

__all__ = [
    "PartitionedVariable",
    "SaveSliceInfo",
    "fixed_size_partitioner",
    "min_max_variable_partitioner",
    "variable_axis_size_partitioner",
]


class SaveSliceInfo:
    """Where one part lies in its partitioned variable (TF's ``Variable.SaveSliceInfo``)."""

    def __init__(self, full_name: str, full_shape: list[int], var_offset: list[int], var_shape: list[int]) -> None:
        self.full_name = full_name
        self.full_shape = [int(d) for d in full_shape]
        self.var_offset = [int(d) for d in var_offset]
        self.var_shape = [int(d) for d in var_shape]

    @property
    def spec(self) -> str:
        """TF's shape-and-slice string, e.g. ``"10 4 0,4:0,4"``."""
        full = " ".join(str(d) for d in self.full_shape) + " "
        return full + ":".join(f"{o},{s}" for o, s in zip(self.var_offset, self.var_shape))

    @property
    def extents(self) -> tuple[tuple[int, int], ...]:
        return tuple(zip(self.var_offset, self.var_shape))

    def __repr__(self) -> str:
        return f"SaveSliceInfo({self.full_name!r}, {self.spec!r})"


class PartitionedVariable:
    """The parts of one partitioned variable: iterable, ``len()``, convertible to the whole tensor.

    Example:
      >>> emb = tf.get_variable("emb", [10, 4], partitioner=tf.fixed_size_partitioner(3))
      >>> [v.op.name for v in emb]          # ['emb/part_0', 'emb/part_1', 'emb/part_2']
      >>> tf.nn.embedding_lookup(emb, ids)  # a lookup over the parts ("mod" strategy by default)
    """

    def __init__(self, name: str, shape: Any, dtype: Any, variable_list: list, partitions: list[int]) -> None:
        self._name, self._shape = name, as_shape(shape)
        self._dtype = dtypes.as_dtype(dtype)
        self._variable_list = sorted(variable_list, key=lambda v: v._save_slice_info.var_offset)
        self._partitions = list(partitions)
        self._as_tensor: ops.Tensor | None = None

    name = property(lambda self: self._name)
    dtype = property(lambda self: self._dtype)
    shape = property(lambda self: self._shape)
    graph = property(lambda self: self._variable_list[0].graph)

    def get_shape(self) -> TensorShape:
        return self._shape

    def __iter__(self):
        return iter(self._variable_list)

    def __len__(self) -> int:
        return len(self._variable_list)

    def _get_variable_list(self) -> list:
        return list(self._variable_list)

    def _get_partitions(self) -> list[int]:
        return list(self._partitions)

    def _partition_axes(self) -> list[int]:
        return [i for i, n in enumerate(self._partitions) if n > 1] or [0]

    def as_tensor(self) -> ops.Tensor:
        """The whole variable: the parts concatenated along the partition axis."""
        from graphvar.ops import shape_ops

        if len(self._variable_list) == 1:
            return self._variable_list[0].value()
        with ops.name_scope(None), ops.name_scope(self._name + "/ConcatPartitions/"):
            return shape_ops.concat([v.value() for v in self._variable_list], self._partition_axes()[0], name="concat")

    def __repr__(self) -> str:
        return f"<PartitionedVariable '{self._name}' shape={self._shape} parts={len(self)}>"


ops.register_tensor_conversion_function(
    PartitionedVariable, lambda v, dtype=None, name=None, as_ref=False: v.as_tensor()
)


def partition_shapes(full_shape: list[int], partitions: list[int]) -> list[tuple[list[int], list[int]]]:
    """(offset, shape) of each part, as TF's _compute_slice_dim_and_shape (one axis only).

    Raises:
      ValueError: more than one axis partitioned, or a partition count below 1.
    """
    if len(partitions) != len(full_shape) or any(p < 1 for p in partitions):
        raise ValueError(f"Partitions {partitions} do not fit shape {full_shape}")
    axes = [i for i, p in enumerate(partitions) if p > 1]
    if len(axes) > 1:
        raise ValueError(
            f"Can only slice a variable along one dimension: shape: {full_shape}, partitioning: {partitions}"
        )
    axis = axes[0] if axes else 0
    n = partitions[axis] if axes else 1
    base, extra = divmod(full_shape[axis], n) if full_shape else (0, 0)
    out, offset = [], 0
    for i in range(n):
        shape = list(full_shape)
        if full_shape:
            shape[axis] = base + (1 if i < extra else 0)
        start = [0] * len(full_shape)
        if full_shape:
            start[axis] = offset
            offset += shape[axis]
        out.append((start, shape))
    return out


# ---- partitioners: (shape: TensorShape, dtype) -> partitions per axis ----
def fixed_size_partitioner(num_shards: int, axis: int = 0) -> Any:
    """Splits ``axis`` into ``num_shards`` parts (fewer if the axis is shorter)."""

    def _partitioner(shape: Any, **unused: Any) -> list[int]:
        shape = as_shape(shape)
        partitions = [1] * shape.ndims
        partitions[axis] = min(num_shards, shape.as_list()[axis])
        return partitions

    return _partitioner


def _element_size(dtype: Any, bytes_per_string_element: int) -> int:
    dtype = dtypes.as_dtype(dtype)
    return bytes_per_string_element if dtype == dtypes.string else dtype.size


def variable_axis_size_partitioner(max_shard_bytes: int, axis: int = 0, bytes_per_string_element: int = 16,
                                   max_shards: int | None = None) -> Any:  # fmt: skip
    """Parts of at most ``max_shard_bytes`` each along ``axis`` (at least one slice per part).

    Raises:
      ValueError: max_shard_bytes < 1, max_shards < 1 or bytes_per_string_element < 1.
    """
    if max_shard_bytes < 1 or bytes_per_string_element < 1:
        raise ValueError("Both max_shard_bytes and bytes_per_string_element must be positive.")
    if max_shards and max_shards < 1:
        raise ValueError("max_shards must be positive.")

    def _partitioner(shape: Any, dtype: Any) -> list[int]:
        shape = as_shape(shape)
        if not shape.is_fully_defined():
            raise ValueError(f"shape is not fully defined: {shape}")
        dims = shape.as_list()
        partitions = [1] * len(dims)
        bytes_per_slice = 1.0 * (shape.num_elements() / dims[axis]) * _element_size(dtype, bytes_per_string_element)
        slices_per_shard = max(1, math.floor(max_shard_bytes / bytes_per_slice))
        axis_shards = int(math.ceil(1.0 * dims[axis] / slices_per_shard))
        if max_shards:
            axis_shards = min(max_shards, axis_shards)
        partitions[axis] = axis_shards
        return partitions

    return _partitioner


def min_max_variable_partitioner(max_partitions: int = 1, axis: int = 0, min_slice_size: int = 256 << 10,
                                 bytes_per_string_element: int = 16) -> Any:  # fmt: skip
    """As many parts as keep each at least ``min_slice_size`` bytes, at most ``max_partitions``."""

    def _partitioner(shape: Any, dtype: Any) -> list[int]:
        shape = as_shape(shape)
        if axis >= shape.ndims:
            raise ValueError(f"Can not partition variable along axis {axis} when shape is only {shape}")
        total = shape.num_elements() * _element_size(dtype, bytes_per_string_element)
        partitions = [1] * shape.ndims
        partitions[axis] = max(1, min(shape.as_list()[axis], max_partitions, int(math.ceil(total / min_slice_size))))
        return partitions

    return _partitioner


def part_initial_value(initializer: Any, offset: list[int], shape: list[int], full_shape: list[int]) -> Any:
    """The initializer of one part: a callable gets the part's shape (and TF's partition_info); a
    value is sliced."""
    if callable(initializer) and not isinstance(initializer, ops.Tensor):
        info = _PartitionInfo(full_shape, offset)
        return lambda s, dtype=None, partition_info=None: initializer(s, dtype=dtype, partition_info=info)
    index = tuple(slice(o, o + n) for o, n in zip(offset, shape))
    if isinstance(initializer, ops.Tensor):
        return initializer[index]
    return np.asarray(initializer)[index]


class _PartitionInfo:
    """TF's _PartitionInfo: what an initializer learns about the part it fills."""

    def __init__(self, full_shape: list[int], var_offset: list[int]) -> None:
        self.full_shape, self.var_offset = list(full_shape), list(var_offset)

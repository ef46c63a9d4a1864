"""Slot variables: per-variable optimizer state named as TF1's slot_creator names it.

A slot of variable ``v`` made by optimizer ``Adam`` is the variable ``<scope>/v/Adam`` where
``<scope>`` is the variable scope the optimizer runs in; a second slot of the same name
becomes ``v/Adam_1`` (TF uniquifies the default variable-scope name). Slots are global,
non-trainable variables on the primary's device, so ``tf.train.Saver()`` saves them.
"""

from __future__ import annotations

import contextlib
from typing import Any

from graphvar import dtypes
from graphvar.framework import ops
from graphvar.framework.ops import GraphKeys
from graphvar.framework.tensor_shape import as_shape
from graphvar.ops import init_ops
from graphvar.variable_scope import variable_scope
from graphvar.variables import Variable


def create_slot_with_initializer(primary: Variable, initializer: Any, shape: Any, dtype: Any, name: str) -> Variable:
    """A slot for `primary` initialized by `initializer(shape, dtype=dtype)`.

    Args:
      primary: the variable the slot belongs to.
      initializer: a TF initializer (zeros_initializer(), constant_initializer(0.1), ...).
      shape: the slot's shape (fully defined).
      dtype: the slot's dtype.
      name: the slot's name suffix: the optimizer's name ("Adam").

    Returns:
      The slot variable, named "<variable scope>/<primary op name>/<name>[_k]".

    Raises:
      ValueError: the shape is not fully defined.
    """
    dims = as_shape(shape)
    if not dims.is_fully_defined():
        raise ValueError(f"Slot {name!r} of {primary.op.name!r}: shape must be fully defined, got {dims}")
    dtype = dtypes.as_dtype(dtype)
    graph = primary.graph
    with graph.as_default(), graph.control_dependencies(None):
        with variable_scope(None, default_name=primary.op.name + "/" + name) as scope:
            full = scope.name
        with graph.device(None), graph.device(primary.device):
            slot = Variable(
                lambda: initializer(dims.as_list(), dtype=dtype),
                trainable=False,
                collections=[GraphKeys.GLOBAL_VARIABLES],
                name=full + "/",  # absolute: the name is the variable scope's, not the name scope's
                dtype=dtype,
            )
    _partition_like(slot, primary)
    return slot


def _partition_like(slot: Variable, primary: Variable) -> None:
    """A slot of one part of a partitioned variable is the same part of a partitioned slot: the slot
    ``emb/part_0/Adam`` is saved as a slice of ``emb/Adam`` (TF1's slot_creator._create_slot_var)."""
    info = getattr(primary, "_save_slice_info", None)
    n = slot.shape.ndims
    if info is None or n == 0:
        return
    from graphvar.partitioned_variables import SaveSliceInfo

    real_slot_name = slot.op.name[len(primary.op.name + "/") :]
    n = len(info.full_shape) if n is None else n
    slot._set_save_slice_info(SaveSliceInfo(info.full_name + "/" + real_slot_name, info.full_shape[:n],
                                            info.var_offset[:n], info.var_shape[:n]))  # fmt: skip


def create_zeros_slot(primary: Variable, name: str, dtype: Any = None) -> Variable:
    """A slot of zeros with the primary's shape and dtype (Momentum, Adam)."""
    dtype = dtype or primary.dtype
    return create_slot_with_initializer(primary, init_ops.zeros_initializer(), primary.get_shape(), dtype, name)


def var_key(var: Any) -> Any:
    """The key slots are stored under: the variable's op (one per variable)."""
    return (var.graph, var.op.name)


def colocated(var: Any) -> Any:
    """A device scope placing ops with `var` (TF's colocate_with)."""
    graph: ops.Graph = var.graph
    if not var.device:
        return graph.device(None)
    stack = contextlib.ExitStack()  # TF: colocation replaces the device scopes and functions (no ps task is drawn)
    stack.enter_context(graph.device(None))
    stack.enter_context(graph.device(var.device))
    return stack

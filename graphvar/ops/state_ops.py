"""Variable ops: the variable node, assignment, initialization checks.

Inputs listed in `ref_inputs` receive the variable itself (its slot in the Session),
so assignment updates the Session's buffer in place.
"""

from __future__ import annotations

from typing import Any

from graphvar import dtypes
from graphvar.framework import ops
from graphvar.framework.op_registry import register_op
from graphvar.framework.tensor_shape import TensorShape, as_shape


def _variable_spec(op: Any) -> list:
    return [(op._attrs["dtype"], op._attrs["shape"])]


def _assign_spec(op: Any) -> list:
    ref, value = op._inputs
    if ref.dtype != value.dtype:
        raise TypeError(
            f"Op {op.name!r}: cannot assign a {value.dtype.name} value to variable {ref.op.name!r} of dtype {ref.dtype.name}"
        )
    if not op._attrs.get("validate_shape", True):
        return [(ref.dtype, value.shape)]
    if not ref.shape.is_compatible_with(value.shape):
        raise ValueError(
            f"Shapes {ref.shape} and {value.shape} are incompatible (assigning to variable {ref.op.name!r})"
        )
    return [(ref.dtype, ref.shape.merge_with(value.shape))]


def _update_spec(op: Any) -> list:
    out = _assign_spec(op)
    ref, value = op._inputs
    if ref.shape.is_fully_defined() and value.shape.is_fully_defined() and ref.shape != value.shape:
        raise ValueError(f"Shapes {ref.shape} and {value.shape} must be equal (updating variable {ref.op.name!r})")
    return out


def _initialized_value_spec(op: Any) -> list:
    ref, init = op._inputs
    return [(ref.dtype, ref.shape if ref.shape.ndims is not None else init.shape)]


register_op("VariableV2", _variable_spec, stateful=True, aliases=True, ref_output=True, variable=True)
register_op("Assign", _assign_spec, stateful=True, ref_inputs=(0,), aliases=True, ref_output=True, fill_target=1)
register_op("AssignAdd", _update_spec, stateful=True, ref_inputs=(0,), aliases=True, ref_output=True)
register_op("AssignSub", _update_spec, stateful=True, ref_inputs=(0,), aliases=True, ref_output=True)
register_op("IsVariableInitialized", lambda op: [(dtypes.bool, TensorShape([]))], stateful=True, ref_inputs=(0,))
# The initial value (input 1) is computed only when the variable is not yet initialized.
register_op("InitializedValue", _initialized_value_spec, stateful=True, ref_inputs=(0,), aliases=True, lazy_inputs=(1,))
register_op("ReportUninitializedVariables", lambda op: [(dtypes.string, TensorShape([None]))], stateful=True,
            ref_inputs="all")  # fmt: skip
register_op("AssertVariablesInitialized", lambda op: [], stateful=True, ref_inputs="all")


def _scatter_spec(op: Any) -> list:
    ref, indices, updates = op._inputs
    if not indices.dtype.is_integer:
        raise TypeError(f"Op {op.name!r}: indices must be int32 or int64, got {indices.dtype.name}")
    if ref.dtype != updates.dtype:
        raise TypeError(
            f"Op {op.name!r}: updates of dtype {updates.dtype.name} for variable {ref.op.name!r} of dtype {ref.dtype.name}"
        )
    if ref.shape.ndims is not None and indices.shape.ndims is not None:
        want = indices.shape.concatenate(ref.shape[1:])
        if not updates.shape.is_compatible_with(want):
            raise ValueError(
                f"Shapes of updates {updates.shape} must be indices.shape + ref.shape[1:] = {want} (variable {ref.op.name!r})"
            )
    return [(ref.dtype, ref.shape)]


for _t in ("ScatterUpdate", "ScatterAdd", "ScatterSub"):
    register_op(_t, _scatter_spec, stateful=True, ref_inputs=(0,), aliases=True, ref_output=True)


def _scatter(op_type: str, ref: Any, indices: Any, updates: Any, use_locking: bool, name: str | None) -> ops.Tensor:
    r = _ref(ref)
    with r.graph.as_default():
        idx = ops.convert_to_tensor(indices)
        upd = ops.convert_to_tensor(updates, dtype=r.dtype)
        return r.graph.create_op(
            op_type, [r, idx, upd], {"use_locking": bool(use_locking)}, name=name or op_type
        ).outputs[0]


def scatter_update(
    ref: Any, indices: Any, updates: Any, use_locking: bool = True, name: str | None = None
) -> ops.Tensor:
    """ref[indices] = updates along the first dimension, in place; returns the variable's new value.

    Raises:
      ValueError: updates.shape != indices.shape + ref.shape[1:] (at build time).
      errors.InvalidArgumentError: an index outside [0, ref.shape[0]) at run time.
    """
    return _scatter("ScatterUpdate", ref, indices, updates, use_locking, name)


def scatter_add(ref: Any, indices: Any, updates: Any, use_locking: bool = False, name: str | None = None) -> ops.Tensor:
    """ref[indices] += updates (repeated indices add up), in place."""
    return _scatter("ScatterAdd", ref, indices, updates, use_locking, name)


def scatter_sub(ref: Any, indices: Any, updates: Any, use_locking: bool = False, name: str | None = None) -> ops.Tensor:
    """ref[indices] -= updates (repeated indices add up), in place."""
    return _scatter("ScatterSub", ref, indices, updates, use_locking, name)


def variable_op_v2(shape: Any, dtype: Any, name: str) -> ops.Tensor:
    attrs = {"shape": as_shape(shape), "dtype": dtypes.as_dtype(dtype), "container": "", "shared_name": ""}
    return ops.get_default_graph().create_op("VariableV2", [], attrs, name=name).outputs[0]


def _ref(v: Any) -> ops.Tensor:
    ref = getattr(v, "_variable", None)
    if ref is None:
        if isinstance(v, ops.Tensor) and v.op.type == "VariableV2":
            return v
        raise TypeError(f"Expected a tf.Variable, got {v!r}")
    return ref


def _update(op_type: str, ref: Any, value: Any, use_locking: bool, name: str | None, **attrs: Any) -> ops.Tensor:
    r = _ref(ref)
    with r.graph.as_default():
        v = ops.convert_to_tensor(value, dtype=r.dtype)
        return r.graph.create_op(
            op_type, [r, v], {"use_locking": bool(use_locking), **attrs}, name=name or op_type
        ).outputs[0]


def assign(ref: Any, value: Any, validate_shape: bool | None = None, use_locking: bool | None = None,
           name: str | None = None) -> ops.Tensor:  # fmt: skip
    """Writes `value` into the variable `ref`; with validate_shape=False the variable may change shape."""
    vs = True if validate_shape is None else bool(validate_shape)
    return _update("Assign", ref, value, bool(use_locking), name, validate_shape=vs)


def assign_add(ref: Any, value: Any, use_locking: bool | None = None, name: str | None = None) -> ops.Tensor:
    """Adds `value` to the variable in place; use_locking makes concurrent updates exact."""
    return _update("AssignAdd", ref, value, bool(use_locking), name)


def assign_sub(ref: Any, value: Any, use_locking: bool | None = None, name: str | None = None) -> ops.Tensor:
    return _update("AssignSub", ref, value, bool(use_locking), name)


def is_variable_initialized(variable: Any) -> ops.Tensor:
    """A bool scalar: whether the variable has a value in the Session that runs it."""
    r = _ref(variable)
    return r.graph.create_op("IsVariableInitialized", [r], name="IsVariableInitialized").outputs[0]


def initialized_value(variable: Any, initial_value: ops.Tensor) -> ops.Tensor:
    r = _ref(variable)
    return r.graph.create_op("InitializedValue", [r, initial_value], name=r.op.name + "/initialized_value").outputs[0]


def report_uninitialized_variables(var_list: list, name: str = "report_uninitialized_variables") -> ops.Tensor:
    refs = [_ref(v) for v in var_list]
    graph = refs[0].graph if refs else ops.get_default_graph()
    return graph.create_op(
        "ReportUninitializedVariables", refs, {"names": [r.op.name for r in refs]}, name=name
    ).outputs[0]


def assert_variables_initialized(var_list: list) -> ops.Operation:
    refs = [_ref(v) for v in var_list]
    graph = refs[0].graph if refs else ops.get_default_graph()
    return graph.create_op(
        "AssertVariablesInitialized", refs, {"names": [r.op.name for r in refs]}, name="assert_variables_initialized"
    )

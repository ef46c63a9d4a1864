"""Optimizer update ops: TF's ApplyGradientDescent, ApplyMomentum, ApplyAdam, ApplyRMSProp,
ApplyCenteredRMSProp, ApplyAdagrad (tensorflow/core/ops/training_ops.cc).

Each op takes the variable and its slots as refs (the kernels update their buffers in place,
under their locks), scalar hyperparameters and the gradient, in TF's input order; its output
is the variable. Also the small ops the learning-rate schedules need (Floor, Ceil, Select).
"""

from __future__ import annotations

import functools
from typing import Any

from graphvar import dtypes
from graphvar.framework import ops
from graphvar.framework.op_registry import register_op
from graphvar.ops._shapes import broadcast_shapes, same_as_input

# op type -> input names in TF's order; the refs (variable and slots) come first.
APPLY_INPUTS: dict[str, tuple[str, ...]] = {
    "ApplyGradientDescent": ("var", "alpha", "delta"),
    "ApplyMomentum": ("var", "accum", "lr", "grad", "momentum"),
    "ApplyAdam": ("var", "m", "v", "beta1_power", "beta2_power", "lr", "beta1", "beta2", "epsilon", "grad"),
    "ApplyRMSProp": ("var", "ms", "mom", "lr", "rho", "momentum", "epsilon", "grad"),
    "ApplyCenteredRMSProp": ("var", "mg", "ms", "mom", "lr", "rho", "momentum", "epsilon", "grad"),
    "ApplyAdagrad": ("var", "accum", "lr", "grad"),
}
_GRAD = {"ApplyGradientDescent": "delta"}
_SLOTS = {"accum", "m", "v", "ms", "mom", "mg"}


@functools.cache
def ref_positions(op_type: str) -> tuple[int, ...]:
    """Input positions of the variable and its slots for an Apply* op."""
    return tuple(i for i, n in enumerate(APPLY_INPUTS[op_type]) if n == "var" or n in _SLOTS)


@functools.cache
def grad_position(op_type: str) -> int:
    """Input position of the gradient of an Apply* op."""
    return APPLY_INPUTS[op_type].index(_GRAD.get(op_type, "grad"))


def _apply_spec(op: Any) -> list:
    names = APPLY_INPUTS[op.type]
    var = op._inputs[0]
    grad_name = _GRAD.get(op.type, "grad")
    for name, t in zip(names, op._inputs):
        if t.dtype != var.dtype:
            raise TypeError(
                f"Op {op.name!r} ({op.type}): input {name!r} has dtype {t.dtype.name}, "
                f"expected {var.dtype.name} (the dtype of variable {var.op.name!r})"
            )
        if name in _SLOTS or name == grad_name:
            if not var.shape.is_compatible_with(t.shape):
                raise ValueError(f"var and {name} do not have the same shape: {var.shape} vs {t.shape}")
        elif name != "var" and t.shape.ndims not in (None, 0):
            raise ValueError(f"{name} is not a scalar: {t.shape}")
    if not var.dtype.is_floating:
        raise TypeError(
            f"Op {op.name!r} ({op.type}): variable {var.op.name!r} must be floating point, not {var.dtype.name}"
        )
    return [(var.dtype, var.shape)]


for _t in APPLY_INPUTS:
    register_op(_t, _apply_spec, stateful=True, ref_inputs=ref_positions(_t), aliases=True, ref_output=True)


def _apply(op_type: str, args: tuple, name: str | None, **attrs: Any) -> ops.Tensor:
    from graphvar.ops.state_ops import _ref

    names = APPLY_INPUTS[op_type]
    refs = ref_positions(op_type)
    var = _ref(args[0])
    inputs = []
    with var.graph.as_default():
        for i, (n, a) in enumerate(zip(names, args)):
            if i in refs:
                inputs.append(_ref(a))
            else:
                inputs.append(ops.convert_to_tensor(a, dtype=var.dtype, name=n))
        return var.graph.create_op(op_type, inputs, attrs, name=name or op_type).outputs[0]


def apply_gradient_descent(var: Any, alpha: Any, delta: Any, use_locking: bool = False,
                           name: str | None = None) -> ops.Tensor:  # fmt: skip
    """var -= alpha * delta, in place. Returns the variable (a ref)."""
    return _apply("ApplyGradientDescent", (var, alpha, delta), name, use_locking=bool(use_locking))


def apply_momentum(var: Any, accum: Any, lr: Any, grad: Any, momentum: Any, use_locking: bool = False,
                   use_nesterov: bool = False, name: str | None = None) -> ops.Tensor:  # fmt: skip
    """accum = accum * momentum + grad; var -= lr * accum (Nesterov: grad * lr + accum * momentum * lr)."""
    attrs = {"use_locking": bool(use_locking), "use_nesterov": bool(use_nesterov)}
    return _apply("ApplyMomentum", (var, accum, lr, grad, momentum), name, **attrs)


def apply_adam(var: Any, m: Any, v: Any, beta1_power: Any, beta2_power: Any, lr: Any, beta1: Any, beta2: Any,
               epsilon: Any, grad: Any, use_locking: bool = False, use_nesterov: bool = False,
               name: str | None = None) -> ops.Tensor:  # fmt: skip
    """Adam: lr_t = lr * sqrt(1 - beta2_power) / (1 - beta1_power); m += (g - m) * (1 - beta1);
    v += (g * g - v) * (1 - beta2); var -= m * lr_t / (sqrt(v) + epsilon)."""
    attrs = {"use_locking": bool(use_locking), "use_nesterov": bool(use_nesterov)}
    args = (var, m, v, beta1_power, beta2_power, lr, beta1, beta2, epsilon, grad)
    return _apply("ApplyAdam", args, name, **attrs)


def apply_rms_prop(var: Any, ms: Any, mom: Any, lr: Any, rho: Any, momentum: Any, epsilon: Any, grad: Any,
                   use_locking: bool = False, name: str | None = None) -> ops.Tensor:  # fmt: skip
    """ms += (g * g - ms) * (1 - rho); mom = mom * momentum + g * lr / sqrt(ms + epsilon); var -= mom."""
    args = (var, ms, mom, lr, rho, momentum, epsilon, grad)
    return _apply("ApplyRMSProp", args, name, use_locking=bool(use_locking))


def apply_centered_rms_prop(var: Any, mg: Any, ms: Any, mom: Any, lr: Any, rho: Any, momentum: Any, epsilon: Any,
                            grad: Any, use_locking: bool = False, name: str | None = None) -> ops.Tensor:  # fmt: skip
    """RMSProp centered on the mean gradient mg: the denominator is sqrt(ms - mg * mg + epsilon)."""
    args = (var, mg, ms, mom, lr, rho, momentum, epsilon, grad)
    return _apply("ApplyCenteredRMSProp", args, name, use_locking=bool(use_locking))


def apply_adagrad(var: Any, accum: Any, lr: Any, grad: Any, use_locking: bool = False, update_slots: bool = True,
                  name: str | None = None) -> ops.Tensor:  # fmt: skip
    """accum += g * g (when update_slots); var -= g * lr * rsqrt(accum)."""
    attrs = {"use_locking": bool(use_locking), "update_slots": bool(update_slots)}
    return _apply("ApplyAdagrad", (var, accum, lr, grad), name, **attrs)


# ---- small elementwise ops for the learning-rate schedules ----
def _select_spec(op: Any) -> list:
    cond, x, y = op._inputs
    if cond.dtype != dtypes.bool:
        raise TypeError(f"Op {op.name!r} (Select): condition must be bool, got {cond.dtype.name}")
    if x.dtype != y.dtype:
        raise TypeError(f"Op {op.name!r} (Select): x and y must have one dtype, got {x.dtype.name} and {y.dtype.name}")
    return [(x.dtype, broadcast_shapes(cond.shape, broadcast_shapes(x.shape, y.shape)))]


def _float_unary_spec(op: Any) -> list:
    if not op._inputs[0].dtype.is_floating:
        raise TypeError(f"Op {op.name!r} ({op.type}): input must be floating point, got {op._inputs[0].dtype.name}")
    return same_as_input(op)


register_op("Floor", _float_unary_spec)
register_op("Ceil", _float_unary_spec)
# SelectV2 is registered (with its kernel and gradient) in graphvar/ops/gradient_ops.py
from graphvar.ops import gradient_ops as _gradient_ops  # noqa: E402,F401


def floor(x: Any, name: str | None = None) -> ops.Tensor:
    """The largest integer not greater than x, elementwise (floating point in, same dtype out)."""
    t = ops.convert_to_tensor(x)
    return t.graph.create_op("Floor", [t], name=name or "Floor").outputs[0]


def ceil(x: Any, name: str | None = None) -> ops.Tensor:
    """The smallest integer not less than x, elementwise."""
    t = ops.convert_to_tensor(x)
    return t.graph.create_op("Ceil", [t], name=name or "Ceil").outputs[0]


def where_v2(condition: Any, x: Any, y: Any, name: str | None = None) -> ops.Tensor:
    """x where condition holds, else y (broadcasting the three), as tf.where_v2."""
    c = ops.convert_to_tensor(condition)
    xt = ops.convert_to_tensor(x) if isinstance(x, ops.Tensor) or not isinstance(y, ops.Tensor) else None
    if xt is None:
        yt = ops.convert_to_tensor(y)
        xt = ops.convert_to_tensor(x, dtype_hint=yt.dtype)
    else:
        yt = ops.convert_to_tensor(y, dtype_hint=xt.dtype)
    return c.graph.create_op("SelectV2", [c, xt, yt], name=name or "SelectV2").outputs[0]


def _dense_from_slices_spec(op: Any) -> list:
    values, indices = op._inputs
    if not indices.dtype.is_integer:
        raise TypeError(f"Op {op.name!r}: indices must be int32 or int64, got {indices.dtype.name}")
    shape = op._attrs["shape"]
    if values.shape.ndims is not None and indices.shape.ndims is not None:
        want = indices.shape.concatenate(shape[1:])
        if not values.shape.is_compatible_with(want):
            raise ValueError(f"IndexedSlices values of shape {values.shape} do not fit indices {indices.shape} "
                             f"of a variable of shape {shape}")  # fmt: skip
    return [(values.dtype, shape)]


register_op("DenseFromSlices", _dense_from_slices_spec)


def dense_from_slices(values: Any, indices: Any, var: Any) -> ops.Tensor:
    """zeros(var.shape) with values[k] added at row indices[k] (repeats summed): a sparse gradient made dense."""
    v = ops.convert_to_tensor(values)
    i = ops.convert_to_tensor(indices)
    return v.graph.create_op("DenseFromSlices", [v, i], {"shape": var.get_shape()}, name="DenseFromSlices").outputs[0]

"""Optimizer update ops: TF's ApplyGradientDescent, ApplyMomentum, ApplyAdam, ApplyRMSProp,
ApplyCenteredRMSProp, ApplyAdagrad, ApplyAdadelta, ApplyFtrl, ApplyFtrlV2, ApplyProximalGradientDescent,
and the sparse SparseApplyMomentum, SparseApplyAdagrad, SparseApplyRMSProp, SparseApplyCenteredRMSProp
(tensorflow/core/ops/training_ops.cc).

Each op takes the variable and its slots as refs (the kernels update their buffers in place,
under their locks), scalar hyperparameters and the gradient, in TF's input order; its output
is the variable. A SparseApply* op takes gradient rows `grad` [N, *var.shape[1:]] and their row
`indices` [N] and updates only those rows of the variable and its slots. Also the small ops the
learning-rate schedules need (Floor, Ceil, Select) and Unique (deduplicating sparse gradients).
"""

from __future__ import annotations

import functools
from typing import Any

from graphvar import dtypes
from graphvar.framework import ops
from graphvar.framework.op_registry import register_op
from graphvar.framework.tensor_shape import TensorShape
from graphvar.ops._shapes import broadcast_shapes, same_as_input

# op type -> input names in TF's order; the refs (variable and slots) come first.
APPLY_INPUTS: dict[str, tuple[str, ...]] = {
    "ApplyGradientDescent": ("var", "alpha", "delta"),
    "ApplyMomentum": ("var", "accum", "lr", "grad", "momentum"),
    "ApplyAdam": ("var", "m", "v", "beta1_power", "beta2_power", "lr", "beta1", "beta2", "epsilon", "grad"),
    "ApplyRMSProp": ("var", "ms", "mom", "lr", "rho", "momentum", "epsilon", "grad"),
    "ApplyCenteredRMSProp": ("var", "mg", "ms", "mom", "lr", "rho", "momentum", "epsilon", "grad"),
    "ApplyAdagrad": ("var", "accum", "lr", "grad"),
    "ApplyAdadelta": ("var", "accum", "accum_update", "lr", "rho", "epsilon", "grad"),
    "ApplyFtrl": ("var", "accum", "linear", "grad", "lr", "l1", "l2", "lr_power"),
    "ApplyFtrlV2": ("var", "accum", "linear", "grad", "lr", "l1", "l2", "l2_shrinkage", "lr_power"),
    "ApplyProximalGradientDescent": ("var", "alpha", "l1", "l2", "delta"),
}
# SparseApply* ops: the gradient rows and their row indices follow TF's order too.
SPARSE_APPLY_INPUTS: dict[str, tuple[str, ...]] = {
    "SparseApplyMomentum": ("var", "accum", "lr", "grad", "indices", "momentum"),
    "SparseApplyAdagrad": ("var", "accum", "lr", "grad", "indices"),
    "SparseApplyRMSProp": ("var", "ms", "mom", "lr", "rho", "momentum", "epsilon", "grad", "indices"),
    "SparseApplyCenteredRMSProp": ("var", "mg", "ms", "mom", "lr", "rho", "momentum", "epsilon", "grad", "indices"),
}
_GRAD = {"ApplyGradientDescent": "delta", "ApplyProximalGradientDescent": "delta"}
_SLOTS = {"accum", "m", "v", "ms", "mom", "mg", "accum_update", "linear"}


def input_names(op_type: str) -> tuple[str, ...]:
    """TF's input names of an Apply* or SparseApply* op, in order."""
    return APPLY_INPUTS[op_type] if op_type in APPLY_INPUTS else SPARSE_APPLY_INPUTS[op_type]


@functools.cache
def ref_positions(op_type: str) -> tuple[int, ...]:
    """Input positions of the variable and its slots for an Apply* or SparseApply* op."""
    return tuple(i for i, n in enumerate(input_names(op_type)) if n == "var" or n in _SLOTS)


@functools.cache
def grad_position(op_type: str) -> int:
    """Input position of the gradient of an Apply* or SparseApply* op."""
    return input_names(op_type).index(_GRAD.get(op_type, "grad"))


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


def _sparse_apply_spec(op: Any) -> list:
    names = SPARSE_APPLY_INPUTS[op.type]
    var = op._inputs[0]
    where = f"Op {op.name!r} ({op.type})"
    for name, t in zip(names, op._inputs):
        if name == "indices":
            if t.dtype not in (dtypes.int32, dtypes.int64):
                raise TypeError(f"{where}: indices must be int32 or int64, got {t.dtype.name}")
            if t.shape.ndims not in (None, 1):
                raise ValueError(f"{where}: indices must be one-dimensional: {t.shape}")
            continue
        if t.dtype != var.dtype:
            raise TypeError(f"{where}: input {name!r} has dtype {t.dtype.name}, expected {var.dtype.name} "
                            f"(the dtype of variable {var.op.name!r})")  # fmt: skip
        if name in _SLOTS and not var.shape.is_compatible_with(t.shape):
            raise ValueError(f"var and {name} do not have the same shape: {var.shape} vs {t.shape}")
        elif name not in _SLOTS and name not in ("var", "grad") and t.shape.ndims not in (None, 0):
            raise ValueError(f"{name} is not a scalar: {t.shape}")
    if not var.dtype.is_floating:
        raise TypeError(f"{where}: variable {var.op.name!r} must be floating point, not {var.dtype.name}")
    if var.shape.ndims == 0:
        raise ValueError(f"{where}: var must be at least 1 dimensional: {var.shape}")
    grad, indices = op._inputs[names.index("grad")], op._inputs[names.index("indices")]
    if var.shape.ndims is not None and grad.shape.ndims is not None:
        want = indices.shape.concatenate(var.shape[1:]) if indices.shape.ndims == 1 else None
        if want is not None and not grad.shape.is_compatible_with(want):
            raise ValueError(f"{where}: grad of shape {grad.shape} does not fit indices {indices.shape} "
                             f"of variable {var.op.name!r} of shape {var.shape}")  # fmt: skip
    return [(var.dtype, var.shape)]


for _t in SPARSE_APPLY_INPUTS:
    register_op(_t, _sparse_apply_spec, stateful=True, ref_inputs=ref_positions(_t), aliases=True, ref_output=True)


def _apply(op_type: str, args: tuple, name: str | None, **attrs: Any) -> ops.Tensor:
    from graphvar.ops.state_ops import _ref

    names = input_names(op_type)
    refs = ref_positions(op_type)
    var = _ref(args[0])
    inputs = []
    with var.graph.as_default():
        for i, (n, a) in enumerate(zip(names, args)):
            if i in refs:
                inputs.append(_ref(a))
            elif n == "indices":
                inputs.append(ops.convert_to_tensor(a, dtype_hint=dtypes.int32, name=n))
            else:
                inputs.append(ops.convert_to_tensor(a, dtype=var.dtype, name=n))
        if "indices" in names:
            attrs["Tindices"] = inputs[names.index("indices")].dtype
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


def apply_adadelta(var: Any, accum: Any, accum_update: Any, lr: Any, rho: Any, epsilon: Any, grad: Any,
                   use_locking: bool = False, name: str | None = None) -> ops.Tensor:  # fmt: skip
    """accum = accum * rho + g * g * (1 - rho); update = sqrt(accum_update + eps) * rsqrt(accum + eps) * g;
    var -= update * lr; accum_update = accum_update * rho + update * update * (1 - rho)."""
    args = (var, accum, accum_update, lr, rho, epsilon, grad)
    return _apply("ApplyAdadelta", args, name, use_locking=bool(use_locking))


def apply_ftrl(var: Any, accum: Any, linear: Any, grad: Any, lr: Any, l1: Any, l2: Any, lr_power: Any,
               use_locking: bool = False, multiply_linear_by_lr: bool = False,
               name: str | None = None) -> ops.Tensor:  # fmt: skip
    """FTRL-proximal: new_accum = accum + g * g; linear += g - (new_accum^-p - accum^-p) / lr * var;
    var = (sign(linear) * l1 - linear) / (new_accum^-p / lr + 2 * l2) where |linear| > l1, else 0."""
    if multiply_linear_by_lr:
        raise NotImplementedError("apply_ftrl(multiply_linear_by_lr=True) is not implemented in graphvar")
    args = (var, accum, linear, grad, lr, l1, l2, lr_power)
    return _apply("ApplyFtrl", args, name, use_locking=bool(use_locking))


def apply_ftrl_v2(var: Any, accum: Any, linear: Any, grad: Any, lr: Any, l1: Any, l2: Any, l2_shrinkage: Any,
                  lr_power: Any, use_locking: bool = False, name: str | None = None) -> ops.Tensor:  # fmt: skip
    """apply_ftrl with g + 2 * l2_shrinkage * var in linear's update (shrinkage-type L2); accum still adds g * g."""
    args = (var, accum, linear, grad, lr, l1, l2, l2_shrinkage, lr_power)
    return _apply("ApplyFtrlV2", args, name, use_locking=bool(use_locking))


def apply_proximal_gradient_descent(var: Any, alpha: Any, l1: Any, l2: Any, delta: Any, use_locking: bool = False,
                                    name: str | None = None) -> ops.Tensor:  # fmt: skip
    """FOBOS: v = var - alpha * delta; var = sign(v) * max(|v| - alpha * l1, 0) / (1 + alpha * l2)."""
    args = (var, alpha, l1, l2, delta)
    return _apply("ApplyProximalGradientDescent", args, name, use_locking=bool(use_locking))


def sparse_apply_momentum(var: Any, accum: Any, lr: Any, grad: Any, indices: Any, momentum: Any,
                          use_locking: bool = False, use_nesterov: bool = False,
                          name: str | None = None) -> ops.Tensor:  # fmt: skip
    """For each k, row i = indices[k]: accum[i] = accum[i] * momentum + grad[k];
    var[i] -= lr * accum[i] (Nesterov: lr * grad[k] + (lr * momentum) * accum[i]). Other rows keep their values.

    Raises:
      errors.InvalidArgumentError: an index outside [0, var.shape[0]) (at run time; nothing is updated).
    """
    attrs = {"use_locking": bool(use_locking), "use_nesterov": bool(use_nesterov)}
    return _apply("SparseApplyMomentum", (var, accum, lr, grad, indices, momentum), name, **attrs)


def sparse_apply_adagrad(var: Any, accum: Any, lr: Any, grad: Any, indices: Any, use_locking: bool = False,
                         update_slots: bool = True, name: str | None = None) -> ops.Tensor:  # fmt: skip
    """For the listed rows: accum += grad * grad (when update_slots); var -= lr * grad * rsqrt(accum)
    (a 1-D or [N, 1] variable: lr * grad / sqrt(accum), as TF's scalar-row branch)."""
    attrs = {"use_locking": bool(use_locking), "update_slots": bool(update_slots)}
    return _apply("SparseApplyAdagrad", (var, accum, lr, grad, indices), name, **attrs)


def sparse_apply_rms_prop(var: Any, ms: Any, mom: Any, lr: Any, rho: Any, momentum: Any, epsilon: Any, grad: Any,
                          indices: Any, use_locking: bool = False, name: str | None = None) -> ops.Tensor:  # fmt: skip
    """For the listed rows: ms = ms * rho + grad * grad * (1 - rho);
    mom = mom * momentum + rsqrt(ms + epsilon) * lr * grad; var -= mom."""
    args = (var, ms, mom, lr, rho, momentum, epsilon, grad, indices)
    return _apply("SparseApplyRMSProp", args, name, use_locking=bool(use_locking))


def sparse_apply_centered_rms_prop(var: Any, mg: Any, ms: Any, mom: Any, lr: Any, rho: Any, momentum: Any,
                                   epsilon: Any, grad: Any, indices: Any, use_locking: bool = False,
                                   name: str | None = None) -> ops.Tensor:  # fmt: skip
    """As sparse_apply_rms_prop, with mg = mg * rho + grad * (1 - rho) and rsqrt(ms + epsilon - mg * mg)."""
    args = (var, mg, ms, mom, lr, rho, momentum, epsilon, grad, indices)
    return _apply("SparseApplyCenteredRMSProp", args, name, use_locking=bool(use_locking))


def _unique_spec(op: Any) -> list:
    x = op._inputs[0]
    if x.shape.ndims not in (None, 1):
        raise ValueError(f"Op {op.name!r} (Unique): x must be a vector, got shape {x.shape}")
    return [(x.dtype, TensorShape([None])), (op._attrs["out_idx"], x.shape)]


register_op("Unique", _unique_spec)


def unique(x: Any, out_idx: Any = dtypes.int32, name: str | None = None) -> tuple[ops.Tensor, ops.Tensor]:
    """(y, idx): the distinct values of vector `x` in order of first appearance, and x == y[idx], as tf.unique."""
    t = ops.convert_to_tensor(x)
    op = t.graph.create_op("Unique", [t], {"out_idx": dtypes.as_dtype(out_idx)}, name=name or "Unique")
    return op.outputs[0], op.outputs[1]


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

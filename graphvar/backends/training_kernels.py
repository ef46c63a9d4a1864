"""Optimizer update kernels, written once against an array module `xp` (NumPy or CuPy).

Each kernel updates the variable's buffer and its slots' buffers in place, holding their locks
(acquired in one fixed order: by slot name), in the float32 operation order of TF's CPU
functors (tensorflow/core/kernels/training_ops.cc), so that fed the same gradients the result
equals TensorFlow's bit for bit (Adagrad: TF's vectorized rsqrt may differ by a few ULP).
Scalars are NumPy scalars of the variable's dtype, so no intermediate is ever widened;
in-place ufuncs with ``out=`` keep the temporaries to at most two per update.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from typing import Any

import numpy as np

from graphvar import errors
from graphvar.backends.array_kernels import VarSlot, _numpy_errstate
from graphvar.ops.training_ops import APPLY_INPUTS, grad_position, ref_positions


@contextlib.contextmanager
def locked_buffers(step: Any, slots: list[VarSlot]) -> Iterator[list[Any]]:
    """Holds the slots' locks (in name order, so two updates never deadlock) and yields their buffers.

    Raises:
      FailedPreconditionError: a variable or slot is uninitialized (naming it and the op).
    """
    locks = [s.lock for s in sorted({id(s): s for s in slots}.values(), key=_slot_name)]
    held = 0
    try:
        for lock in locks:
            lock.acquire()
            held += 1
        yield [s.read(step.op.name) for s in slots]
    finally:
        for lock in reversed(locks[:held]):
            lock.release()


def _slot_name(s: VarSlot) -> str:
    return s.name


def check_update_shapes(step: Any, slots: list[VarSlot], bufs: list[Any], grad: Any) -> None:
    """The slots and the gradient must have the variable's shape (TF's InvalidArgumentError)."""
    shape = bufs[0].shape
    if grad.shape == shape and all(b.shape == shape for b in bufs):
        return
    names = [n for i, n in enumerate(APPLY_INPUTS[step.op.type]) if i in ref_positions(step.op.type)]
    var = bufs[0]
    for name, s, b in zip(names[1:], slots[1:], bufs[1:]):
        if b.shape != var.shape:
            raise errors.InvalidArgumentError(
                None, step.op,
                f"{step.op.name}: var and {name} do not have the same shape{list(var.shape)} {list(b.shape)} "
                f"(variable {slots[0].name!r}, slot {s.name!r})",
            )  # fmt: skip
    if grad.shape != var.shape:
        raise errors.InvalidArgumentError(
            None, step.op,
            f"{step.op.name}: var and grad do not have the same shape{list(var.shape)} {list(grad.shape)} "
            f"(variable {slots[0].name!r})",
        )  # fmt: skip


def scalar(step: Any, name: str, x: Any, dtype: Any) -> Any:
    """A hyperparameter input as a scalar of the variable's dtype; InvalidArgumentError if not a scalar."""
    if type(x) is np.ndarray and x.ndim == 0 and x.dtype == dtype:
        return x[()]  # the same value as dtype.type(x.item()), without the round trip through a Python float
    if getattr(x, "ndim", 0) != 0:
        raise errors.InvalidArgumentError(None, step.op, f"{step.op.name}: {name} is not a scalar: {list(x.shape)}")
    return dtype.type(x.item() if hasattr(x, "item") else x)


def adam_lr(lr: Any, beta1_power: Any, beta2_power: Any) -> Any:
    """TF's `lr * sqrt(1 - beta2_power) / (1 - beta1_power)`, computed on the host in the scalars' dtype."""
    one = lr.dtype.type(1)
    return lr * np.sqrt(one - beta2_power) / (one - beta1_power)


@functools.cache
def _apply_layout(op_type: str) -> tuple[tuple[int, ...], int, tuple[tuple[int, str], ...]]:
    """(ref positions, gradient position, (position, name) of each scalar hyperparameter) of an Apply* op."""
    refs, grad_at = ref_positions(op_type), grad_position(op_type)
    hyper = tuple((i, n) for i, n in enumerate(APPLY_INPUTS[op_type]) if i not in refs and i != grad_at)
    return refs, grad_at, hyper


def make_training_kernels(xp: Any) -> dict[str, Any]:
    """The table op type -> kernel of the Apply* ops for array module `xp`."""

    def apply_op(update: Any) -> Any:
        def kernel(step: Any, args: list, ctx: Any) -> VarSlot:
            refs, grad_at, hyper = _apply_layout(step.op.type)
            slots = [args[i] for i in refs]
            with locked_buffers(step, slots) as bufs:
                grad = xp.asarray(args[grad_at])
                check_update_shapes(step, slots, bufs, grad)
                dt = bufs[0].dtype
                if grad.dtype != dt:
                    raise errors.InvalidArgumentError(
                        None, step.op, f"{step.op.name}: grad has dtype {grad.dtype}, expected {dt}"
                    )
                if bufs[0].size:
                    # 0-d buffers as 1-element views: in-place ufuncs then never degrade to scalars
                    values = list(args)
                    for i, b in zip(refs, bufs):
                        values[i] = b if b.ndim else b.reshape(1)
                    values[grad_at] = grad if grad.ndim else grad.reshape(1)
                    for i, n in hyper:
                        values[i] = scalar(step, n, args[i], dt)
                    with _numpy_errstate(xp):  # NaN / inf from bad inputs propagate silently, as in TF
                        update(step, *values)
            return slots[0]

        return kernel

    def gradient_descent(step: Any, var: Any, lr: Any, g: Any) -> None:
        # var -= grad * lr()
        var -= xp.multiply(g, lr)

    def momentum(step: Any, var: Any, accum: Any, lr: Any, g: Any, mu: Any) -> None:
        # accum = accum * momentum() + grad
        accum *= mu
        accum += g
        if step.attrs.get("use_nesterov"):
            # var -= grad * lr() + accum * momentum() * lr()
            t = xp.multiply(accum, mu)
            t *= lr
            u = xp.multiply(g, lr)
            u += t
            var -= u
        else:
            # var -= accum * lr()
            var -= xp.multiply(accum, lr)

    def adam(step: Any, var: Any, m: Any, v: Any, b1p: Any, b2p: Any, lr: Any, b1: Any, b2: Any, eps: Any,
             g: Any) -> None:  # fmt: skip
        one = var.dtype.type(1)
        lr_t = adam_lr(lr, b1p, b2p)
        # m += (g - m) * (1 - beta1)
        t = xp.subtract(g, m)
        t *= one - b1
        m += t
        # v += (g.square() - v) * (1 - beta2)
        xp.multiply(g, g, out=t)
        t -= v
        t *= one - b2
        v += t
        if step.attrs.get("use_nesterov"):
            # var -= ((g * (1 - beta1) + beta1 * m) * lr_t) / (v.sqrt() + epsilon)
            xp.multiply(g, one - b1, out=t)
            t += xp.multiply(m, b1)
            t *= lr_t
        else:
            # var -= (m * lr_t) / (v.sqrt() + epsilon)
            xp.multiply(m, lr_t, out=t)
        d = xp.sqrt(v)
        d += eps
        t /= d
        var -= t

    def rms_prop(step: Any, var: Any, ms: Any, mom: Any, lr: Any, rho: Any, mu: Any, eps: Any, g: Any) -> None:
        one = var.dtype.type(1)
        # ms += (grad.square() - ms) * (1 - rho)
        t = xp.multiply(g, g)
        t -= ms
        t *= one - rho
        ms += t
        # mom = mom * momentum + (grad * lr) / (ms + epsilon).sqrt()
        d = xp.add(ms, eps)
        xp.sqrt(d, out=d)
        xp.multiply(g, lr, out=t)
        t /= d
        mom *= mu
        mom += t
        var -= mom

    def centered_rms_prop(step: Any, var: Any, mg: Any, ms: Any, mom: Any, lr: Any, rho: Any, mu: Any, eps: Any,
                          g: Any) -> None:  # fmt: skip
        one = var.dtype.type(1)
        # ms += (grad.square() - ms) * (1 - rho); mg += (grad - mg) * (1 - rho)
        t = xp.multiply(g, g)
        t -= ms
        t *= one - rho
        ms += t
        xp.subtract(g, mg, out=t)
        t *= one - rho
        mg += t
        # denom = (ms - mg.square()) + epsilon; mom = mom * momentum + (grad * lr) / denom.sqrt()
        d = xp.multiply(mg, mg)
        xp.subtract(ms, d, out=d)
        d += eps
        xp.sqrt(d, out=d)
        xp.multiply(g, lr, out=t)
        t /= d
        mom *= mu
        mom += t
        var -= mom

    def adagrad(step: Any, var: Any, accum: Any, lr: Any, g: Any) -> None:
        # accum += grad.square(); var -= grad * lr() * accum.rsqrt()
        if step.attrs.get("update_slots", True):
            accum += xp.multiply(g, g)
        t = xp.multiply(g, lr)
        d = xp.sqrt(accum)
        xp.divide(var.dtype.type(1), d, out=d)
        t *= d
        var -= t

    def dense_from_slices(step: Any, args: list, ctx: Any) -> Any:
        values, indices = args
        shape = tuple(step.attrs["shape"].as_list())
        rows = shape[0] if shape else 0
        bad = (indices < 0) | (indices >= rows)
        if bool(bad.any()):
            raise errors.InvalidArgumentError(
                None, step.op, f"{step.op.name}: gradient indices contain {int(indices[bad].reshape(-1)[0])}, "
                f"not in [0, {rows})"
            )  # fmt: skip
        out = xp.zeros(shape, values.dtype)
        xp.add.at(out, indices, values)
        return out

    from graphvar.backends.sparse_training_kernels import make_sparse_training_kernels  # imports this module
    from graphvar.backends.training_kernels_extra import extra_updates

    return {
        **make_sparse_training_kernels(xp),
        "ApplyGradientDescent": apply_op(gradient_descent),
        "ApplyMomentum": apply_op(momentum),
        "ApplyAdam": apply_op(adam),
        "ApplyRMSProp": apply_op(rms_prop),
        "ApplyCenteredRMSProp": apply_op(centered_rms_prop),
        "ApplyAdagrad": apply_op(adagrad),
        **{op: apply_op(update) for op, update in extra_updates(xp).items()},
        "DenseFromSlices": dense_from_slices,
        "Floor": lambda step, args, ctx: xp.floor(args[0]),
        "Ceil": lambda step, args, ctx: xp.ceil(args[0]),
    }


# ---- the GPU kernels' scalar arguments (kernels/optim.cu), computed on the host in T ----
OPTIM_KERNELS = {
    "ApplyGradientDescent": "apply_gradient_descent",
    "ApplyMomentum": "apply_momentum",
    "ApplyAdam": "apply_adam",
    "ApplyRMSProp": "apply_rms_prop",
    "ApplyCenteredRMSProp": "apply_centered_rms_prop",
    "ApplyAdagrad": "apply_adagrad",
}


def device_scalars(op_type: str, attrs: dict, hyper: dict[str, Any]) -> tuple:
    """The scalar arguments of kernels/optim.cu's kernel for `op_type`, after the buffers.

    Args:
      op_type: an Apply* op type.
      attrs: the op's attributes (use_nesterov, update_slots).
      hyper: the hyperparameter inputs by TF's input name, as NumPy scalars of the variable's dtype.

    Returns:
      The scalars (NumPy scalars of T; flags as np.int32) in the kernel's parameter order; the
      factors TF computes once per update (Adam's lr_t, 1 - beta, 1 - rho) are computed here, in T.
    """
    one = next(iter(hyper.values())).dtype.type(1)
    flag = np.int32
    if op_type == "ApplyGradientDescent":
        return (hyper["alpha"],)
    if op_type == "ApplyMomentum":
        return hyper["lr"], hyper["momentum"], flag(bool(attrs.get("use_nesterov")))
    if op_type == "ApplyAdam":
        lr_t = adam_lr(hyper["lr"], hyper["beta1_power"], hyper["beta2_power"])
        b1, b2 = hyper["beta1"], hyper["beta2"]
        return lr_t, b1, one - b1, one - b2, hyper["epsilon"], flag(bool(attrs.get("use_nesterov")))
    if op_type in ("ApplyRMSProp", "ApplyCenteredRMSProp"):
        return hyper["lr"], one - hyper["rho"], hyper["momentum"], hyper["epsilon"]
    if op_type == "ApplyAdagrad":
        return hyper["lr"], flag(bool(attrs.get("update_slots", True)))
    raise KeyError(f"no optim.cu kernel for op type {op_type!r}")


def hyperparameters(step: Any, args: list, dtype: Any) -> dict[str, Any]:
    """The scalar inputs of an Apply* step by TF's input name, as scalars of `dtype`."""
    op_type = step.op.type
    refs, grad_at = ref_positions(op_type), grad_position(op_type)
    names = APPLY_INPUTS[op_type]
    return {n: scalar(step, n, args[i], dtype) for i, n in enumerate(names) if i not in refs and i != grad_at}

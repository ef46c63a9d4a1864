"""Sparse optimizer updates (SparseApplyMomentum, SparseApplyAdagrad, SparseApplyRMSProp,
SparseApplyCenteredRMSProp) and Unique, written once against an array module `xp`.

Only the rows named by `indices` change, in the variable and in its slots; each row is computed
in the float32 operation order of TF's CPU kernels (tensorflow/core/kernels/training_ops.cc), which
differs from the dense functors' (e.g. RMSProp's `ms * rho + g * g * (1 - rho)` and
`rsqrt(ms + epsilon) * lr * g`). All indices are checked before any row is written. A repeated index
is applied again, after the earlier rows, as TF's sequential loop does: the indices are split into
waves of distinct rows (first occurrences, second occurrences, ...), each one vectorized gather /
update / scatter. TF1's optimizers sum repeats first (``Optimizer._apply_sparse_duplicate_indices``),
so through them there is one wave.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from graphvar import errors
from graphvar.backends.array_kernels import VarSlot, _numpy_errstate
from graphvar.backends.training_kernels import locked_buffers, scalar
from graphvar.ops.training_ops import SPARSE_APPLY_INPUTS, grad_position, input_names, ref_positions


def _bad(step: Any, message: str) -> errors.InvalidArgumentError:
    return errors.InvalidArgumentError(None, step.op, f"{step.op.name}: {message}")


def check_sparse_update(xp: Any, step: Any, slots: list[VarSlot], bufs: list[Any], grad: Any, indices: Any) -> None:
    """TF's checks of a SparseApply* op: slot shapes, grad rows, indices in [0, var.shape[0]).

    Raises:
      InvalidArgumentError: naming the op, and for an index its value and offset (as TF's message).
    """
    var = bufs[0]
    names = [n for i, n in enumerate(input_names(step.op.type)) if i in ref_positions(step.op.type)]
    for name, s, b in zip(names[1:], slots[1:], bufs[1:]):
        if b.shape != var.shape:
            raise _bad(step, f"var and {name} do not have the same shape{list(var.shape)} {list(b.shape)} "
                             f"(variable {slots[0].name!r}, slot {s.name!r})")  # fmt: skip
    if var.ndim < 1:
        raise _bad(step, f"var must be at least 1 dimensional (variable {slots[0].name!r})")
    if indices.ndim != 1:
        raise _bad(step, f"indices must be one-dimensional, got shape {list(indices.shape)}")
    if grad.ndim != var.ndim or grad.shape[1:] != var.shape[1:]:
        raise _bad(step, f"var and grad must match in every dimension but the first: {list(var.shape)} "
                         f"{list(grad.shape)} (variable {slots[0].name!r})")  # fmt: skip
    if grad.shape[0] != indices.shape[0]:
        raise _bad(step, "grad must be the same size as indices in the first dimension: "
                         f"{grad.shape[0]} vs {indices.shape[0]}")  # fmt: skip
    bad = (indices < 0) | (indices >= var.shape[0])
    if indices.size and bool(bad.any()):
        offset = int(xp.argmax(bad))
        raise _bad(step, f"Index {int(indices[offset])} at offset {offset} in indices is out of range "
                         f"[0, {var.shape[0]}) (variable {slots[0].name!r})")  # fmt: skip


def row_size(var: Any) -> int:
    """Elements per row of a variable of rank >= 1."""
    return int(np.prod(var.shape[1:], dtype=np.int64))


def waves(xp: Any, indices: Any) -> list[tuple[Any, Any]]:
    """[(positions in `indices`, their rows)], each wave's rows distinct, in order of occurrence.

    One wave (positions None: all of them) when no index repeats.
    """
    n = indices.shape[0]
    if n == 0:
        return []
    order = xp.argsort(indices, kind="stable")
    ordered = indices[order]
    occurrence = xp.empty(n, dtype=xp.int64)
    occurrence[order] = xp.arange(n) - xp.searchsorted(ordered, ordered, side="left")
    last = int(occurrence.max())
    if last == 0:
        return [(None, indices)]
    out = []
    for w in range(last + 1):
        pos = xp.nonzero(occurrence == w)[0]
        out.append((pos, indices[pos]))
    return out


def make_sparse_training_kernels(xp: Any) -> dict[str, Any]:
    """The table op type -> kernel of the SparseApply* ops and Unique for array module `xp`."""

    def sparse_op(update: Any) -> Any:
        def kernel(step: Any, args: list, ctx: Any) -> VarSlot:
            op_type = step.op.type
            names = SPARSE_APPLY_INPUTS[op_type]
            refs, grad_at, idx_at = ref_positions(op_type), grad_position(op_type), names.index("indices")
            slots = [args[i] for i in refs]
            with locked_buffers(step, slots) as bufs:
                grad, indices = xp.asarray(args[grad_at]), xp.asarray(args[idx_at])
                check_sparse_update(xp, step, slots, bufs, grad, indices)
                dt = bufs[0].dtype
                if grad.dtype != dt:
                    raise _bad(step, f"grad has dtype {grad.dtype}, expected {dt}")
                hyper = sparse_hyperparameters(step, args, dt)
                inner = row_size(bufs[0])
                rows2d = [b.reshape(b.shape[0], inner) for b in bufs]  # views: C-contiguous buffers
                g2d = grad.reshape(grad.shape[0], inner)
                with _numpy_errstate(xp):
                    for pos, rows in waves(xp, indices):
                        state = [b[rows] for b in rows2d]
                        update(step, *state, g2d if pos is None else g2d[pos], **hyper)
                        for b, s in zip(rows2d, state):
                            b[rows] = s
            return slots[0]

        return kernel

    def momentum(step: Any, var: Any, accum: Any, g: Any, lr: Any, momentum: Any) -> None:
        # a = a * momentum + g; v -= lr * a  (Nesterov: v -= lr * g + (lr * momentum) * a)
        accum *= momentum
        accum += g
        if step.attrs.get("use_nesterov"):
            t = xp.multiply(g, lr)
            t += xp.multiply(accum, lr * momentum)
            var -= t
        else:
            var -= xp.multiply(accum, lr)

    def adagrad(step: Any, var: Any, accum: Any, g: Any, lr: Any) -> None:
        # a += g * g; v -= lr * g * rsqrt(a)  (one element per row: v -= lr * g / sqrt(a))
        if step.attrs.get("update_slots", True):
            accum += xp.multiply(g, g)
        t = xp.multiply(g, lr)
        d = xp.sqrt(accum)
        if var.shape[1] == 1:
            t /= d
        else:
            xp.divide(var.dtype.type(1), d, out=d)
            t *= d
        var -= t

    def rms_prop(step: Any, var: Any, ms: Any, mom: Any, g: Any, lr: Any, rho: Any, momentum: Any,
                 epsilon: Any) -> None:  # fmt: skip
        # ms = ms * rho + g * g * (1 - rho); mom = mom * momentum + rsqrt(ms + epsilon) * lr * g; v -= mom
        _decay_square(ms, g, rho)
        d = xp.add(ms, epsilon)
        _momentum_step(mom, d, g, lr, momentum)
        var -= mom

    def centered_rms_prop(step: Any, var: Any, mg: Any, ms: Any, mom: Any, g: Any, lr: Any, rho: Any,
                          momentum: Any, epsilon: Any) -> None:  # fmt: skip
        # as rms_prop, with mg = mg * rho + g * (1 - rho) and the denominator (ms + epsilon) - mg * mg
        _decay_square(ms, g, rho)
        t = xp.multiply(g, rho.dtype.type(1) - rho)
        mg *= rho
        mg += t
        d = xp.add(ms, epsilon)
        xp.multiply(mg, mg, out=t)
        d -= t
        _momentum_step(mom, d, g, lr, momentum)
        var -= mom

    def _decay_square(ms: Any, g: Any, rho: Any) -> None:
        t = xp.multiply(g, g)
        t *= rho.dtype.type(1) - rho
        ms *= rho
        ms += t

    def _momentum_step(mom: Any, d: Any, g: Any, lr: Any, momentum: Any) -> None:
        # d is the denominator, overwritten: mom = mom * momentum + ((1 / sqrt(d)) * lr) * g
        xp.sqrt(d, out=d)
        xp.divide(d.dtype.type(1), d, out=d)
        d *= lr
        d *= g
        mom *= momentum
        mom += d

    def unique(step: Any, args: list, ctx: Any) -> tuple:
        x = xp.asarray(args[0])
        out_idx = step.attrs["out_idx"].np
        if x.size == 0:
            return x[:0], xp.zeros(0, out_idx)
        values, first, inverse = xp.unique(x, return_index=True, return_inverse=True)
        order = xp.argsort(first, kind="stable")  # first-appearance order, as TF
        rank = xp.empty(order.shape[0], dtype=out_idx)
        rank[order] = xp.arange(order.shape[0], dtype=out_idx)
        return values[order], rank[inverse.reshape(-1)]

    return {
        "SparseApplyMomentum": sparse_op(momentum),
        "SparseApplyAdagrad": sparse_op(adagrad),
        "SparseApplyRMSProp": sparse_op(rms_prop),
        "SparseApplyCenteredRMSProp": sparse_op(centered_rms_prop),
        "Unique": unique,
    }


# ---- the GPU kernels' scalar arguments (kernels/optim.cu's sparse_apply_*), computed on the host in T ----
SPARSE_OPTIM_KERNELS = {
    "SparseApplyMomentum": "sparse_apply_momentum",
    "SparseApplyAdagrad": "sparse_apply_adagrad",
    "SparseApplyRMSProp": "sparse_apply_rms_prop",
    "SparseApplyCenteredRMSProp": "sparse_apply_centered_rms_prop",
}


def sparse_device_scalars(op_type: str, attrs: dict, hyper: dict[str, Any]) -> tuple:
    """The scalars of optim.cu's kernel for `op_type`, after the pointers and before rows, inner.

    Args:
      op_type: a SparseApply* op type.
      attrs: the op's attributes (use_nesterov, update_slots).
      hyper: the hyperparameter inputs by TF's input name, as NumPy scalars of the variable's dtype.

    Returns:
      The scalars (of T; flags as np.int32) in the kernel's order; lr * momentum and 1 - rho computed here,
      in T, as TF's kernels compute them once per op.
    """
    flag = np.int32
    if op_type == "SparseApplyMomentum":
        lr, mu = hyper["lr"], hyper["momentum"]
        return lr, mu, lr * mu, flag(bool(attrs.get("use_nesterov")))
    if op_type == "SparseApplyAdagrad":
        return hyper["lr"], flag(bool(attrs.get("update_slots", True)))
    if op_type in ("SparseApplyRMSProp", "SparseApplyCenteredRMSProp"):
        rho = hyper["rho"]
        return hyper["lr"], rho, rho.dtype.type(1) - rho, hyper["momentum"], hyper["epsilon"]
    raise KeyError(f"no optim.cu kernel for op type {op_type!r}")


def sparse_hyperparameters(step: Any, args: list, dtype: Any) -> dict[str, Any]:
    """The scalar inputs of a SparseApply* step by TF's input name, as scalars of `dtype`."""
    names = SPARSE_APPLY_INPUTS[step.op.type]
    skip = {*ref_positions(step.op.type), grad_position(step.op.type), names.index("indices")}
    return {n: scalar(step, n, args[i], dtype) for i, n in enumerate(names) if i not in skip}

"""Kernels written once against an array module `xp` (NumPy or CuPy).

A kernel is ``kernel(step, args, ctx) -> value``: `step.attrs` holds the op's attributes,
`args` the input values (variables arrive as VarSlot where the op takes a ref), `ctx`
the run (its Session). Generators also take ``out=``: a buffer to fill in place; they return
the buffer holding the values (`out`, or a fresh one of the same shape and dtype when that is
cheaper, e.g. lazily zeroed pages), which becomes the variable's buffer.
"""

from __future__ import annotations

import operator
import threading
from typing import Any

from graphvar import errors
from graphvar.backends.control_kernels import make_control_kernels
from graphvar.backends.extra_kernels import extra_kernels
from graphvar.backends.gradient_kernels import make_gradient_kernels
from graphvar.backends.nn_kernels import nn_kernels


class VarSlot:
    """A variable's value in one Session: the buffer (None until initialized), its lock, and ``ready``.

    Every write to the buffer happens under ``lock``. The lock is the backend's (``Backend.slot_lock``):
    on a device it also orders the device's streams (taking it makes the current stream wait for the
    event of the slot's last access, releasing it records a new one into ``ready``); ``read`` makes the
    current stream wait for ``ready`` too. On the host ``ready`` stays None and the lock is a plain one.
    """

    __slots__ = ("name", "value", "lock", "ready", "static_shape", "backend", "__weakref__")

    def __init__(self, name: str, static_shape: Any, backend: Any) -> None:
        self.name = name
        self.value: Any = None
        self.ready: Any = None  # a device backend's marker: .wait() orders the current stream after it
        self.static_shape = static_shape
        self.backend = backend
        self.lock = backend.slot_lock(self) if backend is not None else threading.Lock()

    def read(self, consumer: str = "") -> Any:
        value = self.value
        if value is None:
            node = f"\n\t [[node {consumer}]]" if consumer else ""
            raise errors.FailedPreconditionError(None, None, f"Attempting to use uninitialized value {self.name}{node}")
        if self.ready is not None:
            self.ready.wait()  # a write queued on another stream (thread, user stream) lands first
        return value

    def check_shape(self, shape: tuple, op_name: str) -> None:
        if not self.static_shape.is_compatible_with(shape):
            raise errors.InvalidArgumentError(
                None, None,
                f"{op_name}: Assign requires shapes of both tensors to match. lhs shape= {self.static_shape} "
                f"rhs shape= {list(shape)} (variable {self.name!r})",
            )  # fmt: skip


def _shape_error(op_name: str, var: str, lhs: Any, rhs: Any) -> errors.OpError:
    return errors.InvalidArgumentError(
        None,
        None,
        f"{op_name}: variable {var!r} and the update must have the same shape: lhs shape= {list(lhs)} rhs shape= {list(rhs)}",
    )


def make_kernels(xp: Any) -> dict[str, Any]:
    """The table op type -> kernel for the ops every array module can run."""

    def binary(fn: Any) -> Any:
        return _direct(lambda step, args, ctx: fn(args[0], args[1]), fn)

    def unary(fn: Any) -> Any:
        return _direct(lambda step, args, ctx: fn(args[0]), fn)

    def _direct(kernel: Any, fn: Any) -> Any:
        if isinstance(fn, getattr(xp, "ufunc", ())):  # the plan may call it directly, with out= (plan_codegen)
            kernel.ufunc = fn
        return kernel

    def reduce(fn: Any) -> Any:
        def kernel(step: Any, args: list, ctx: Any) -> Any:
            a = step.attrs
            axis = a["axis"] if len(args) == 1 else tuple(int(i) for i in args[1].reshape(-1).tolist())
            return xp.asarray(fn(args[0], axis=axis, keepdims=a["keep_dims"]))

        return kernel

    def mean(step: Any, args: list, ctx: Any) -> Any:
        x, a = args[0], step.attrs
        if x.dtype.kind in "iu":
            total = xp.sum(x, axis=a["axis"], keepdims=a["keep_dims"], dtype=xp.int64)
            count = x.size // max(total.size, 1) if x.size else 1
            return xp.asarray(xp.trunc(total / count)).astype(x.dtype)
        return xp.asarray(xp.mean(x, axis=a["axis"], keepdims=a["keep_dims"]))

    def matmul(step: Any, args: list, ctx: Any) -> Any:
        a, b = args
        if step.attrs["transpose_a"]:
            a = xp.swapaxes(a, -1, -2)
        if step.attrs["transpose_b"]:
            b = xp.swapaxes(b, -1, -2)
        out = xp.matmul(a, b)
        return out if out.dtype == a.dtype else out.astype(a.dtype)  # bfloat16: NumPy accumulates in float32, as TF

    def softmax(step: Any, args: list, ctx: Any) -> Any:
        x, axis = args[0], step.attrs["axis"]
        e = xp.exp(x - xp.max(x, axis=axis, keepdims=True))
        e /= xp.sum(e, axis=axis, keepdims=True)
        return e

    def sigmoid(x: Any) -> Any:
        return (xp.tanh(x * x.dtype.type(0.5)) + x.dtype.type(1)) * x.dtype.type(0.5)

    def floordiv(x: Any, y: Any) -> Any:
        return xp.floor_divide(x, y)

    def realdiv(x: Any, y: Any) -> Any:
        with _numpy_errstate(xp):
            return xp.true_divide(x, y).astype(x.dtype, copy=False)

    def relu(x: Any) -> Any:
        return xp.maximum(x, x.dtype.type(0))

    return {
        "Add": binary(xp.add), "Sub": binary(xp.subtract), "Mul": binary(xp.multiply), "RealDiv": binary(realdiv),
        "FloorDiv": binary(floordiv), "FloorMod": binary(xp.mod), "Pow": binary(xp.power),
        "Maximum": binary(xp.maximum), "Minimum": binary(xp.minimum),
        "Less": binary(xp.less), "LessEqual": binary(xp.less_equal), "Greater": binary(xp.greater),
        "GreaterEqual": binary(xp.greater_equal), "Equal": binary(xp.equal), "NotEqual": binary(xp.not_equal),
        "LogicalAnd": binary(xp.logical_and), "LogicalOr": binary(xp.logical_or), "LogicalNot": unary(xp.logical_not),
        "Neg": unary(xp.negative), "Abs": unary(xp.abs), "Square": unary(xp.square), "Sqrt": unary(xp.sqrt),
        "Sign": unary(xp.sign), "Exp": unary(xp.exp), "Log": unary(xp.log), "Relu": unary(relu), "Sigmoid": unary(sigmoid),
        "Tanh": unary(xp.tanh), "Softmax": softmax, "MatMul": matmul,
        "Sum": reduce(xp.sum), "Mean": mean, "Max": reduce(xp.max), "Min": reduce(xp.min), "Prod": reduce(xp.prod),
        "Identity": lambda step, args, ctx: args[0],
        "Reshape": lambda step, args, ctx: _reshape(xp, step, args),
        "Cast": lambda step, args, ctx: args[0].astype(step.attrs["DstT"].np),
        "StridedSlice": lambda step, args, ctx: args[0][step.attrs["key"]],
        "ZerosLike": lambda step, args, ctx: xp.zeros_like(args[0]),
        "OnesLike": lambda step, args, ctx: xp.ones_like(args[0]),
        "NoOp": lambda step, args, ctx: None,
        "Shape": lambda step, args, ctx: xp.asarray(args[0].shape, dtype=step.attrs["out_type"].np),
        "Size": lambda step, args, ctx: xp.asarray(args[0].size, dtype=step.attrs["out_type"].np),
        "Rank": lambda step, args, ctx: xp.asarray(args[0].ndim, dtype=xp.int32),
        "Transpose": lambda step, args, ctx: xp.ascontiguousarray(xp.transpose(args[0], step.attrs["perm"])),
        "ConcatV2": lambda step, args, ctx: xp.concatenate(args, axis=step.attrs["axis"]),
        "Pack": lambda step, args, ctx: xp.stack(args, axis=step.attrs["axis"]),
        "ExpandDims": lambda step, args, ctx: xp.expand_dims(args[0], step.attrs["axis"]),
        "Squeeze": lambda step, args, ctx: xp.squeeze(args[0], axis=step.attrs["axis"]),
        "ArgMax": lambda step, args, ctx: xp.argmax(args[0], axis=step.attrs["axis"]).astype(step.attrs["output_type"].np),
        "ArgMin": lambda step, args, ctx: xp.argmin(args[0], axis=step.attrs["axis"]).astype(step.attrs["output_type"].np),
        **variable_kernels(xp),
        **make_gradient_kernels(xp),
        **make_control_kernels(xp),
        **nn_kernels(xp),
        **extra_kernels(xp),
    }  # fmt: skip


def _numpy_errstate(xp: Any) -> Any:
    import contextlib

    import numpy as np

    return np.errstate(divide="ignore", invalid="ignore") if xp is np else contextlib.nullcontext()


def _reshape(xp: Any, step: Any, args: Any) -> Any:
    x = args[0]
    shape = step.attrs["shape"] if len(args) == 1 else tuple(int(d) for d in args[1].tolist())
    try:
        return xp.reshape(x, shape)
    except ValueError as e:
        raise errors.InvalidArgumentError(None, step.op, f"{step.op.name}: Input to reshape is a tensor with {x.size} values, "
                                          f"but the requested shape is {list(shape)} ({e})") from None  # fmt: skip


def variable_kernels(xp: Any) -> dict[str, Any]:
    """Assignment and initialization checks; in place, under the variable's lock."""

    def assign(step: Any, args: list, ctx: Any) -> VarSlot:
        slot, value = args[0], xp.asarray(args[1])
        with slot.lock:
            buf = slot.value
            if buf is not None and buf.shape == value.shape and buf.dtype == value.dtype:
                xp.copyto(buf, value)
                return slot
            if step.attrs.get("validate_shape", True):
                slot.check_shape(value.shape, step.op.name)
            slot.value = xp.array(value, copy=True, order="C")
        return slot

    def update(fn: Any, scalar_fn: Any) -> Any:
        def kernel(step: Any, args: list, ctx: Any) -> VarSlot:
            slot, value = args
            with slot.lock:
                buf = slot.value
                if buf is None:
                    slot.read(step.op.name)  # raises FailedPreconditionError naming the variable
                if buf.shape != value.shape:
                    raise _shape_error(step.op.name, slot.name, buf.shape, value.shape)
                if buf.ndim == 0 and buf.dtype.kind == "f":
                    buf[()] = scalar_fn(buf[()], value[()])  # same IEEE op; a ufunc call on 0-d costs ~4x more
                else:
                    fn(buf, value, out=buf)
            return slot

        return kernel

    def scatter(mode: str) -> Any:
        def kernel(step: Any, args: list, ctx: Any) -> VarSlot:
            slot, indices, updates = args
            with slot.lock:
                buf = slot.read(step.op.name)
                rows = buf.shape[0] if buf.ndim else 0
                bad = (indices < 0) | (indices >= rows)
                if bool(bad.any()):
                    first = int(xp.asarray(indices)[bad].reshape(-1)[0])
                    raise errors.InvalidArgumentError(
                        None,
                        step.op,
                        f"{step.op.name}: indices contain {first}, not in [0, {rows}) (variable {slot.name!r})",
                    )
                if mode == "update":
                    buf[indices] = updates
                else:  # add.at: repeated indices accumulate, as TF's ScatterAdd does (a - b == a + -b exactly)
                    xp.add.at(buf, indices, updates if mode == "add" else -updates)
            return slot

        return kernel

    def initialized_value(step: Any, args: list, ctx: Any) -> Any:
        slot, compute_initial = args
        value = slot.value
        return value if value is not None else compute_initial()

    def report(step: Any, args: list, ctx: Any) -> Any:
        import numpy as np

        return np.array([s.name.encode() for s in args if s.value is None], dtype=object)

    def assert_initialized(step: Any, args: list, ctx: Any) -> None:
        missing = [s.name for s in args if s.value is None]
        if missing:
            raise errors.FailedPreconditionError(
                None, step.op, f"Attempting to use uninitialized value {', '.join(missing)}"
            )

    return {
        "VariableV2": lambda step, args, ctx: ctx.session._variable_slot(step.op),
        "Assign": assign,
        "AssignAdd": update(xp.add, operator.add),
        "AssignSub": update(xp.subtract, operator.sub),
        "ScatterUpdate": scatter("update"),
        "ScatterAdd": scatter("add"),
        "ScatterSub": scatter("sub"),
        "IsVariableInitialized": lambda step, args, ctx: xp.asarray(args[0].value is not None),
        "InitializedValue": initialized_value,
        "ReportUninitializedVariables": report,
        "AssertVariablesInitialized": assert_initialized,
    }

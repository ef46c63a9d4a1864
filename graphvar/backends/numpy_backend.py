"""The host backend: NumPy arrays, NumPy's Philox generator, one table op type -> kernel."""

from __future__ import annotations

from typing import Any

import numpy as np

from graphvar import errors
from graphvar.backends.array_kernels import make_kernels
from graphvar.backends.base import Backend
from graphvar.backends.conv_kernels import make_conv_kernels
from graphvar.backends.nn_kernels import host_random_kernels
from graphvar.backends.summary_kernels import summary_kernels
from graphvar.backends.training_kernels import make_training_kernels
from graphvar.checkpoint import streaming

LAZY_ZEROS_BYTES = 1 << 20  # below this, filling the existing buffer is as cheap as a new one


class NumpyBackend(Backend):
    """Runs ops on the host. Every op has a kernel here; other backends fall back to it."""

    name = "numpy"
    device = "/device:CPU:0"

    def __init__(self) -> None:
        self.kernels: dict[str, Any] = {
            **make_kernels(np),
            **make_conv_kernels(np),
            **make_training_kernels(np),
            **_host_kernels(),
            **summary_kernels(),
        }

    def to_host(self, x: Any) -> Any:
        return x

    def from_host(self, x: Any) -> Any:
        return x

    def empty(self, shape: tuple, dtype: Any) -> np.ndarray:
        return np.empty(shape, dtype)

    def owns(self, x: Any) -> bool:
        return isinstance(x, (np.ndarray, np.generic))

    def copy_from_host(self, dst: np.ndarray, host: np.ndarray) -> None:
        np.copyto(dst, host)

    def reusable(self, buf: Any, shape: tuple, dtype: Any) -> bool:
        return super().reusable(buf, shape, dtype) and bool(buf.flags.writeable)

    def fetch(self, x: Any) -> Any:
        return x[()] if isinstance(x, np.ndarray) and x.ndim == 0 else x

    def fetch_variable(self, slot: Any) -> Any:
        value = slot.read()
        if value.ndim == 0:
            return value[()]  # a NumPy scalar: already a copy, read atomically
        with slot.lock:  # a concurrent in-place assign can't tear the copy
            return value.copy()

    def save_chunks(self, array: np.ndarray, chunk_bytes: int) -> Any:
        return streaming.array_pieces(array)  # from the variable's own memory

    def restore_from(self, reader: Any, name: str, array: np.ndarray) -> None:
        reader.read_into(name, array)  # straight into the variable's memory


def _host_kernels() -> dict[str, Any]:
    from graphvar import random as rnd

    def fill(step: Any, args: list, ctx: Any, out: Any = None) -> np.ndarray:
        a = step.attrs
        if a["value"] == 0 and (out is None or out.nbytes >= LAZY_ZEROS_BYTES):
            # calloc: the OS hands out zero pages lazily, so a large zeros initializer costs no
            # pass over memory now (the first write pays the page faults instead)
            return np.zeros(a["shape"], a["dtype"].np)
        if out is None:
            return np.full(a["shape"], a["value"], a["dtype"].np)
        out.fill(a["value"])
        return out

    def generator(fn: Any, *params: str) -> Any:
        def kernel(step: Any, args: list, ctx: Any, out: Any = None) -> np.ndarray:
            a = step.attrs
            if out is None:  # the shape is an attr, or a run-time tensor (dropout on tf.shape(x))
                out = np.empty(a["shape"] if not args else tuple(args[0].tolist()), a["dtype"].np)
            key, run = ctx.session._random_stream(step)
            fn(out, key, run, *(a[p] for p in params))
            return out

        return kernel

    def placeholder(step: Any, args: list, ctx: Any) -> None:
        a = step.attrs
        shape = a["shape"].as_list() if a["shape"].ndims is not None else "<unknown>"
        raise errors.InvalidArgumentError(
            None, step.op,
            f"You must feed a value for placeholder tensor '{step.op.name}' with dtype {a['dtype'].name} and shape {shape}",
        )  # fmt: skip

    return {
        "Const": lambda step, args, ctx: step.attrs["value"],
        "Placeholder": placeholder,
        "Fill": fill,
        "RandomStandardNormal": generator(rnd.fill_normal, "mean", "stddev"),
        "TruncatedNormal": generator(rnd.fill_truncated_normal, "mean", "stddev"),
        "RandomUniform": generator(rnd.fill_uniform, "minval", "maxval"),
        "RandomUniformInt": generator(rnd.fill_uniform, "minval", "maxval"),
        **host_random_kernels(),
    }

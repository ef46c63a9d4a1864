"""Fetches and feeds: nested fetch structures (list, tuple, namedtuple, dict), the converters that turn
a run's values into what `Session.run` returns, and the checks on fed values."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from graphvar import dtypes, errors
from graphvar.backends.array_kernels import VarSlot
from graphvar.backends.base import Backend, host_scalar
from graphvar.framework.tensor import Tensor


def flatten(fetches: Any, resolve: Callable[[Any], Any]) -> tuple[list[Any], Callable[[list], Any]]:
    """Returns (graph elements in order, a function that rebuilds the structure from their values)."""
    elems: list[Any] = []

    def walk(f: Any) -> Callable[[list], Any]:
        if isinstance(f, dict):
            keys = list(f)
            parts = [walk(f[k]) for k in keys]
            cls = type(f)
            return lambda vals: _make_dict(cls, keys, [p(vals) for p in parts])
        if isinstance(f, tuple) and hasattr(f, "_fields"):  # namedtuple
            parts = [walk(x) for x in f]
            cls = type(f)
            return lambda vals: cls(*[p(vals) for p in parts])
        if isinstance(f, (list, tuple)):
            parts = [walk(x) for x in f]
            cls = type(f)
            return lambda vals: cls(p(vals) for p in parts)
        if f is None:
            raise TypeError(f"Fetch argument {f!r} has invalid type {type(f)!r}")
        i = len(elems)
        elems.append(resolve(f))
        return lambda vals: vals[i]

    return elems, walk(fetches)


def _make_dict(cls: type, keys: list, values: list) -> dict:
    try:
        return cls(zip(keys, values))
    except TypeError:
        return dict(zip(keys, values))


def freeze(fetches: Any) -> Any:
    """A hashable key for a fetch structure (types included, so a list and a tuple differ)."""
    if isinstance(fetches, dict):
        return (type(fetches), tuple((k, freeze(v)) for k, v in fetches.items()))
    if isinstance(fetches, (list, tuple)):
        return (type(fetches), tuple(freeze(x) for x in fetches))
    return fetches


def fetch_none(value: Any) -> None:
    return None


def fetch_fed(value: Any) -> Any:
    """A fetched feed (a host array from feed_converter): 0-d as a NumPy scalar, a string as bytes (b'x'), as TF."""
    return host_scalar(value)


def fetch_ref(slot: VarSlot) -> Any:
    """A fetched variable: a host copy of its value (a NumPy scalar for a 0-d one)."""
    return slot.backend.fetch_variable(slot)


def fetch_variable_of(op: Any) -> Callable[[VarSlot], Any]:
    """`fetch_ref` whose uninitialized error names the variable's op (`FailedPreconditionError.op`)."""

    def fetch(slot: VarSlot) -> Any:
        try:
            return slot.backend.fetch_variable(slot)
        except errors.OpError as e:
            if e.op is None:
                e._op = op
            raise

    return fetch


def fetch_copy(backend: Backend) -> Callable[[Any], Any]:
    """The converter of a value that may share memory with a variable or a constant: a host copy."""
    return backend.fetch_copy


def fetch_value(backend: Backend) -> Callable[[Any], Any]:
    """The converter of a value computed in this run: moved to the host (a NumPy scalar if 0-d)."""
    return backend.fetch


def feed_converter(t: Tensor) -> Callable[[Any], Any]:
    target, shape, name, dtype = t.dtype.np, t.shape, t.name, t.dtype

    def convert(value: Any) -> Any:
        if isinstance(value, Tensor) or hasattr(value, "_as_graph_element"):
            raise TypeError("The value of a feed cannot be a tf.Tensor object. Acceptable feed values include "
                            "Python scalars, strings, lists, numpy ndarrays, or TensorHandles.")  # fmt: skip
        arr = np.asarray(value) if target is not None else _string_feed(value)
        if target is not None and arr.dtype != target:
            if not _feed_castable(arr, target):
                raise TypeError(
                    f"Cannot feed value of dtype {arr.dtype} for Tensor {name!r}, which has dtype {dtype.name}"
                )
            arr = arr.astype(target)
        if not shape.is_compatible_with(arr.shape):
            raise ValueError(f"Cannot feed value of shape {arr.shape!r} for Tensor {name!r}, which has shape {shape}")
        return arr

    return convert


def _feed_castable(arr: np.ndarray, target: np.dtype) -> bool:
    src_kind, target_kind = dtypes.kind(arr.dtype), dtypes.kind(target)
    if src_kind in "USO":
        return False
    if target_kind == "b":
        return src_kind == "b"
    if target_kind in "iu":
        if src_kind == "f":
            if not arr.size:
                return True
            info = np.iinfo(target)  # whole numbers only, and inside the target's range (no wrap)
            return bool(np.all(np.mod(arr, 1) == 0) and arr.min() >= info.min and arr.max() < float(info.max) + 1)
        if src_kind in "iub" and arr.size:
            info = np.iinfo(target)
            return bool(arr.min() >= info.min and arr.max() <= info.max)
        return src_kind in "iub"
    return src_kind in "biufc" and (target_kind == "c" or src_kind != "c")


def _string_feed(value: Any) -> np.ndarray:
    """A fed string value as TF holds it: an object array of bytes (str encoded as UTF-8)."""
    from graphvar.ops.array_ops import as_bytes_array

    return as_bytes_array(np.asarray(value, dtype=object))

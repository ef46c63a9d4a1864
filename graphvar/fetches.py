"""Fetches and feeds: nested fetch structures (list, tuple, namedtuple, dict), the converters that turn
a run's values into what `Session.run` returns, and the checks on fed values."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from graphvar.backends.array_kernels import VarSlot
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
    return value


def _host_value(x: Any) -> Any:
    return x[()] if isinstance(x, np.ndarray) and x.ndim == 0 else x


def fetch_ref(slot: VarSlot) -> Any:
    value = slot.read()
    if value.ndim == 0 and isinstance(value, np.ndarray):
        return value[()]  # a NumPy scalar: already a copy, read atomically
    with slot.lock:  # a concurrent in-place assign can't tear the copy
        host = slot.backend.to_host(value)
        return host.copy() if host is value else host


def fetch_copy(backend: Any) -> Callable:
    def fetch(x: Any) -> Any:
        if x is None:
            return None
        host = backend.to_host(x)
        return _host_value(np.array(host, copy=True) if host is x else host)

    return fetch


def fetch_value(backend: Any) -> Callable:
    return lambda x: _host_value(backend.to_host(x)) if x is not None else None


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
    src = arr.dtype
    if src.kind in "USO":
        return False
    if target.kind == "b":
        return src.kind == "b"
    if target.kind in "iu":
        if src.kind == "f":
            return bool(np.all(np.mod(arr, 1) == 0))
        if src.kind in "iub" and arr.size:
            info = np.iinfo(target)
            return bool(arr.min() >= info.min and arr.max() <= info.max)
        return src.kind in "iub"
    return src.kind in "biufc" and (target.kind == "c" or src.kind != "c")


def _string_feed(value: Any) -> np.ndarray:
    """A fed string value as TF holds it: an object array of bytes (str encoded as UTF-8)."""
    from graphvar.ops.array_ops import as_bytes_array

    return as_bytes_array(np.asarray(value, dtype=object))

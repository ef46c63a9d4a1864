"""Fetch structures: flatten nested fetches (list, tuple, namedtuple, dict) and rebuild results."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


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

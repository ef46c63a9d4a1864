"""Shape rules shared by the op modules (each returns [(dtype, shape), ...])."""

from __future__ import annotations

from typing import Any

from graphvar.framework.tensor_shape import TensorShape, unknown_shape


def same_as_input(op: Any) -> list:
    x = op._inputs[0]
    return [(x.dtype, x.shape)]


def broadcast_shapes(a: TensorShape, b: TensorShape) -> TensorShape:
    """NumPy broadcasting on static shapes; ValueError when two known dims disagree."""
    if a.ndims is None or b.ndims is None:
        return unknown_shape()
    da, db = a.as_list()[::-1], b.as_list()[::-1]
    out = []
    for i in range(max(len(da), len(db))):
        x = da[i] if i < len(da) else 1
        y = db[i] if i < len(db) else 1
        if x == 1:
            out.append(y)
        elif y == 1 or x == y:
            out.append(x)
        elif x is None or y is None:
            out.append(x if y is None else y)
        else:
            raise ValueError(f"Dimensions must be equal, but are {x} and {y}")
    return TensorShape(out[::-1])


def binary(op: Any) -> list:
    x, y = op._inputs
    check_same_dtype(op, x, y)
    return [(x.dtype, broadcast_shapes(x.shape, y.shape))]


def check_same_dtype(op: Any, x: Any, y: Any) -> None:
    if x.dtype != y.dtype:
        raise TypeError(
            f"Input 'y' of '{op.type}' Op has type {y.dtype.name} that does not match type {x.dtype.name} of argument 'x' "
            f"(op {op.name!r})."
        )


def static_shape_value(shape: Any, what: str) -> tuple[int, ...]:
    """A shape argument as a tuple of ints: list/tuple/array/TensorShape or a constant tensor."""
    from graphvar.framework.ops import Tensor

    if isinstance(shape, Tensor):
        if shape.op.type != "Const":
            raise ValueError(f"{what}: graphvar needs a shape known when the graph is built, got tensor {shape.name!r}")
        shape = shape.op.get_attr("value").tolist()
    if isinstance(shape, TensorShape):
        t = shape.as_tuple()
        if t is None:
            raise ValueError(f"{what}: shape {shape} is not fully defined")
        return t
    if isinstance(shape, (int,)) and not isinstance(shape, bool):
        shape = [shape]
    try:
        dims = tuple(int(d) for d in shape)
    except (TypeError, ValueError):
        raise TypeError(f"{what}: expected a shape (list of ints), got {shape!r}") from None
    if any(d < 0 for d in dims):
        raise ValueError(f"{what}: dimensions must be >= 0, got {list(dims)}")
    return dims

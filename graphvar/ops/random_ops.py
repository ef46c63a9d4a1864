"""Random ops: normal, truncated normal, uniform (float and int).

Each op carries (seed, seed2) from TF1's seed rules; the backend turns them into a
Philox key (see docs/random.md). The op is stateful: every run in a Session draws
the next values, and a new Session starts the sequence again.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from graphvar import dtypes
from graphvar.framework import ops, random_seed
from graphvar.framework.op_registry import register_op
from graphvar.framework.tensor_shape import TensorShape, unknown_shape
from graphvar.ops._shapes import static_shape_value


def _spec(op: Any) -> list:
    if op._inputs:  # the shape is a run-time tensor (tf.shape(x)): as much of it as is known now
        from graphvar.ops.gradient_ops import shape_value

        dims = shape_value(op._inputs[0])
        return [(op._attrs["dtype"], unknown_shape() if dims is None else TensorShape(dims))]
    return [(op._attrs["dtype"], TensorShape(op._attrs["shape"]))]


for _t in ("RandomStandardNormal", "TruncatedNormal", "RandomUniform", "RandomUniformInt"):
    register_op(_t, _spec, stateful=True, fills=True)


def _scalar(value: Any, what: str, op_name: str, kind: type = float) -> Any:
    """A scalar argument known at build time, as a Python float or (kind=int) an exact int."""
    if isinstance(value, ops.Tensor):
        if value.op.type != "Const":
            raise ValueError(f"{op_name}: graphvar needs {what} known when the graph is built, got {value.name!r}")
        value = value.op.get_attr("value")
    try:
        return kind(value.item() if hasattr(value, "item") else value)
    except (TypeError, ValueError):
        raise TypeError(f"{op_name}: {what} must be a scalar, got {value!r}") from None


def _random_op(op_type: str, shape: Any, dtype: Any, seed: Any, name: str, **params: Any) -> ops.Tensor:
    dtype = dtypes.as_dtype(dtype)
    inputs = []
    if _is_runtime_shape(shape):
        from graphvar.ops.gradient_ops import _int_tensor

        inputs, dims = [_int_tensor(shape, f"{name}/shape")], None
    else:
        dims = static_shape_value(shape, name)
    seed1, seed2 = random_seed.get_seed(seed)
    attrs = {"shape": dims, "dtype": dtype, "seed": seed1 or 0, "seed2": seed2 or 0, **params}
    return ops.get_default_graph().create_op(op_type, inputs, attrs, name=name).outputs[0]


def _is_runtime_shape(shape: Any) -> bool:
    if isinstance(shape, ops.Tensor):
        return shape.op.type != "Const"
    return isinstance(shape, (list, tuple)) and any(isinstance(d, ops.Tensor) for d in shape)


def _check_float(dtype: Any, op_name: str) -> None:
    if not dtypes.as_dtype(dtype).is_floating:
        raise ValueError(f"{op_name}: dtype must be a floating point type, got {dtypes.as_dtype(dtype).name}")


def random_normal(shape: Any, mean: Any = 0.0, stddev: Any = 1.0, dtype: Any = dtypes.float32, seed: int | None = None,
                  name: str | None = None) -> ops.Tensor:  # fmt: skip
    """Values from a normal distribution N(mean, stddev^2).

    Example:
      >>> w = tf.Variable(tf.random_normal([784, 200], stddev=0.35), name="weights")
    """
    name = name or "random_normal"
    _check_float(dtype, name)
    return _random_op("RandomStandardNormal", shape, dtype, seed, name,
                      mean=_scalar(mean, "mean", name), stddev=_scalar(stddev, "stddev", name))  # fmt: skip


def truncated_normal(shape: Any, mean: Any = 0.0, stddev: Any = 1.0, dtype: Any = dtypes.float32, seed: int | None = None,
                     name: str | None = None) -> ops.Tensor:  # fmt: skip
    """Normal values redrawn when more than two standard deviations from the mean."""
    name = name or "truncated_normal"
    _check_float(dtype, name)
    return _random_op("TruncatedNormal", shape, dtype, seed, name,
                      mean=_scalar(mean, "mean", name), stddev=_scalar(stddev, "stddev", name))  # fmt: skip


def random_uniform(shape: Any, minval: Any = 0, maxval: Any = None, dtype: Any = dtypes.float32, seed: int | None = None,
                   name: str | None = None) -> ops.Tensor:  # fmt: skip
    """Uniform values in [minval, maxval); integer dtypes need maxval.

    Raises:
      ValueError: an integer dtype without maxval, or minval >= maxval for integers.
    """
    name = name or "random_uniform"
    dtype = dtypes.as_dtype(dtype)
    if dtype.is_integer:
        if maxval is None:
            raise ValueError(f"{name}: Must specify maxval for integer dtype {dtype.name}")
        lo, hi = _scalar(minval, "minval", name, int), _scalar(maxval, "maxval", name, int)
        info = dtype.np.type(0).dtype
        if lo < np.iinfo(info).min or hi - 1 > np.iinfo(info).max:
            raise ValueError(f"{name}: [minval, maxval) = [{lo}, {hi}) does not fit {dtype.name}")
        if lo >= hi:
            raise ValueError(f"{name}: Need minval < maxval: {lo} >= {hi}")
        return _random_op("RandomUniformInt", shape, dtype, seed, name, minval=lo, maxval=hi)
    _check_float(dtype, name)
    hi = 1.0 if maxval is None else _scalar(maxval, "maxval", name)
    return _random_op("RandomUniform", shape, dtype, seed, name, minval=_scalar(minval, "minval", name), maxval=hi)

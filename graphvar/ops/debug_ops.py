"""Debugging ops: placeholder_with_default, Print, Assert and the tf.assert_* family, check_numerics,
add_check_numerics_ops, is_nan, is_inf (TF's op types: PlaceholderWithDefault, Print, Assert,
CheckNumerics, IsNan, IsInf). Kernels: ``backends/extra_kernels.py``; gradients below.

Print's and Assert's data is a list of tensors (strings become string Consts, as in TF); their
kernels run on the host (a GPU session moves the values there, with the usual fallback line).
"""

from __future__ import annotations

from typing import Any

from graphvar import dtypes
from graphvar.framework import ops
from graphvar.framework.gradient_registry import NotDifferentiable, RegisterGradient
from graphvar.framework.op_registry import register_op
from graphvar.framework.tensor_shape import as_shape
from graphvar.ops import math_ops
from graphvar.ops._shapes import same_as_input
from graphvar.ops.math_ops_extra import reduce_all


def _placeholder_with_default_spec(op: Any) -> list:
    x, shape = op._inputs[0], op._attrs["shape"]
    if not shape.is_compatible_with(x.shape):
        raise ValueError(f"Shapes must be compatible: the default value has shape {x.shape}, the placeholder {shape}")
    return [(x.dtype, shape)]


def _float_check(op: Any) -> list:
    x = op._inputs[0]
    if not x.dtype.is_floating:
        raise TypeError(f"Value passed to parameter 'x' has DataType {x.dtype.name} not in list of allowed values: "
                        f"float16, bfloat16, float32, float64 (op {op.name!r} of type {op.type})")  # fmt: skip
    return [(dtypes.bool, x.shape)] if op.type != "CheckNumerics" else [(x.dtype, x.shape)]


def _assert_spec(op: Any) -> list:
    cond = op._inputs[0]
    if cond.dtype != dtypes.bool or cond.shape.ndims not in (None, 0):
        raise ValueError(f"Assert {op.name!r}: the condition must be a bool scalar, got {cond.dtype.name} {cond.shape}")
    return []


register_op("PlaceholderWithDefault", _placeholder_with_default_spec, aliases=True)
register_op("Print", same_as_input, stateful=True, aliases=True)
register_op("Assert", _assert_spec, stateful=True)
register_op("CheckNumerics", _float_check, aliases=True)
register_op("IsNan", _float_check)
register_op("IsInf", _float_check)
NotDifferentiable("Assert")
NotDifferentiable("IsNan")
NotDifferentiable("IsInf")


@RegisterGradient("PlaceholderWithDefault")
def _placeholder_with_default_grad(op: Any, grad: Any) -> Any:
    return grad


@RegisterGradient("Print")
def _print_grad(op: Any, grad: Any) -> list:
    return [grad] + [None] * (len(op.inputs) - 1)


@RegisterGradient("CheckNumerics")
def _check_numerics_grad(op: Any, grad: Any) -> Any:
    message = "Not a number (NaN) or infinity (Inf) values detected in gradient. " + op.get_attr("message")
    return check_numerics(grad, message)


def placeholder_with_default(input: Any, shape: Any, name: str | None = None) -> ops.Tensor:  # noqa: A002
    """A placeholder that yields `input` when it is not fed.

    Args:
      input: the default value (a tensor or anything convertible).
      shape: the placeholder's shape (may be less specific than the default's, e.g. [None, 3]).
      name: the op's name.

    Returns:
      A tensor of `input`'s dtype and `shape`.

    Raises:
      ValueError: `shape` is incompatible with the default's shape.

    Example:
      >>> keep_prob = tf.placeholder_with_default(1.0, shape=[])
    """
    x = ops.convert_to_tensor(input)
    attrs = {"dtype": x.dtype, "shape": as_shape(shape)}
    return x.graph.create_op("PlaceholderWithDefault", [x], attrs, name=name or "PlaceholderWithDefault").outputs[0]


def _data_tensors(data: Any) -> list[ops.Tensor]:
    return [ops.convert_to_tensor(item) for item in data or []]


def Print(input_: Any, data: Any, message: str | None = None, first_n: int | None = None,  # noqa: N802 - TF's name
          summarize: int | None = None, name: str | None = None) -> ops.Tensor:  # fmt: skip
    """An identity of `input_` that prints `message` and the values of `data` to stderr when it runs.

    Args:
      input_: the tensor passed through.
      data: tensors (and strings) to print.
      message: printed first.
      first_n: print only the first n runs (None / negative: every run).
      summarize: the number of entries printed per tensor (default 3).
      name: the op's name.

    Returns:
      A tensor equal to `input_` (its gradient is the identity's).

    Example:
      >>> x = tf.Print(x, [tf.shape(x), x], message="x: ", summarize=10)
    """
    x = ops.convert_to_tensor(input_)
    with x.graph.as_default():
        tensors = _data_tensors(data)
    attrs = {"message": message or "", "first_n": -1 if first_n is None else int(first_n),
             "summarize": 3 if summarize is None else int(summarize)}  # fmt: skip
    return x.graph.create_op("Print", [x, *tensors], attrs, name=name or "Print").outputs[0]


def Assert(condition: Any, data: Any, summarize: int | None = None, name: str | None = None) -> ops.Operation:  # noqa: N802
    """An op that raises InvalidArgumentError ("assertion failed: " and `data`) when `condition` is false.

    Args:
      condition: a bool scalar tensor.
      data: tensors (and strings) shown in the error.
      summarize: the number of entries shown per tensor (default 3).
      name: the op's name (default "Assert").

    Returns:
      The Assert op (run it, or add it as a control dependency).

    Example:
      >>> with tf.control_dependencies([tf.Assert(tf.reduce_all(x > 0), [x])]):
      ...     y = tf.log(x)
    """
    cond = ops.convert_to_tensor(condition)
    with cond.graph.as_default(), ops.name_scope(name, "Assert", [cond]) as scope:
        tensors = _data_tensors(data)
        return cond.graph.create_op("Assert", [cond, *tensors], {"summarize": 3 if summarize is None else int(summarize)},
                                    name=scope)  # fmt: skip


def _binary_assert(opname: str, symbol: str, compare: Any, x: Any, y: Any, data: Any, summarize: Any,
                   message: Any, name: Any) -> ops.Operation:  # fmt: skip
    with ops.name_scope(name, opname, [x, y]):
        x = ops.convert_to_tensor(x, name="x")
        y = ops.convert_to_tensor(y, name="y", dtype_hint=x.dtype)
        if data is None:
            data = [f"Condition x {symbol} y did not hold element-wise:", f"x ({x.name}) = ", x, f"y ({y.name}) = ", y]
        if message is not None:
            data = [message, *data]
        return Assert(reduce_all(compare(x, y)), data, summarize=summarize)


def assert_equal(x: Any, y: Any, data: Any = None, summarize: Any = None, message: Any = None,
                 name: Any = None) -> ops.Operation:  # fmt: skip
    """An Assert that `x == y` holds elementwise (broadcasting); raises InvalidArgumentError when run otherwise."""
    return _binary_assert("assert_equal", "==", math_ops.equal, x, y, data, summarize, message, name)


def assert_none_equal(x: Any, y: Any, data: Any = None, summarize: Any = None, message: Any = None,
                      name: Any = None) -> ops.Operation:  # fmt: skip
    """An Assert that `x != y` holds elementwise."""
    return _binary_assert("assert_none_equal", "!=", math_ops.not_equal, x, y, data, summarize, message, name)


def assert_less(x: Any, y: Any, data: Any = None, summarize: Any = None, message: Any = None,
                name: Any = None) -> ops.Operation:  # fmt: skip
    """An Assert that `x < y` holds elementwise."""
    return _binary_assert("assert_less", "<", math_ops.less, x, y, data, summarize, message, name)


def assert_less_equal(x: Any, y: Any, data: Any = None, summarize: Any = None, message: Any = None,
                      name: Any = None) -> ops.Operation:  # fmt: skip
    """An Assert that `x <= y` holds elementwise."""
    return _binary_assert("assert_less_equal", "<=", math_ops.less_equal, x, y, data, summarize, message, name)


def assert_greater(x: Any, y: Any, data: Any = None, summarize: Any = None, message: Any = None,
                   name: Any = None) -> ops.Operation:  # fmt: skip
    """An Assert that `x > y` holds elementwise."""
    return _binary_assert("assert_greater", ">", math_ops.greater, x, y, data, summarize, message, name)


def assert_greater_equal(x: Any, y: Any, data: Any = None, summarize: Any = None, message: Any = None,
                         name: Any = None) -> ops.Operation:  # fmt: skip
    """An Assert that `x >= y` holds elementwise."""
    return _binary_assert("assert_greater_equal", ">=", math_ops.greater_equal, x, y, data, summarize, message, name)


def _unary_assert(opname: str, what: str, compare: Any, x: Any, data: Any, summarize: Any, message: Any,
                  name: Any) -> ops.Operation:  # fmt: skip
    with ops.name_scope(name, opname, [x]):
        x = ops.convert_to_tensor(x, name="x")
        if data is None:
            data = [f"Condition x {what} did not hold element-wise:", f"x ({x.name}) = ", x]
        if message is not None:
            data = [message, *data]
        zero = ops.convert_to_tensor(0, dtype=x.dtype)
        return Assert(reduce_all(compare(x, zero)), data, summarize=summarize)


def assert_non_negative(x: Any, data: Any = None, summarize: Any = None, message: Any = None,
                        name: Any = None) -> ops.Operation:  # fmt: skip
    """An Assert that every entry of `x` is >= 0."""
    return _unary_assert("assert_non_negative", ">= 0", math_ops.greater_equal, x, data, summarize, message, name)


def assert_positive(x: Any, data: Any = None, summarize: Any = None, message: Any = None,
                    name: Any = None) -> ops.Operation:  # fmt: skip
    """An Assert that every entry of `x` is > 0."""
    return _unary_assert("assert_positive", "> 0", math_ops.greater, x, data, summarize, message, name)


def assert_negative(x: Any, data: Any = None, summarize: Any = None, message: Any = None,
                    name: Any = None) -> ops.Operation:  # fmt: skip
    """An Assert that every entry of `x` is < 0."""
    return _unary_assert("assert_negative", "< 0", math_ops.less, x, data, summarize, message, name)


def assert_rank(x: Any, rank: int, data: Any = None, summarize: Any = None, message: Any = None,
                name: Any = None) -> ops.Operation:  # fmt: skip
    """Checks that `x` has rank `rank`: at build time when the rank is known (ValueError, as TF), else at run time.

    Raises:
      ValueError: the static rank is known and differs.
    """
    from graphvar.ops import shape_ops

    with ops.name_scope(name, "assert_rank", [x]):
        x = ops.convert_to_tensor(x, name="x")
        rank = int(rank)
        if x.shape.ndims is not None:
            if x.shape.ndims != rank:
                prefix = f"{message}.  " if message else ""
                raise ValueError(f"{prefix}Tensor {x.name} must have rank {rank}.  Received rank {x.shape.ndims}, "
                                 f"shape {x.shape}")  # fmt: skip
            from graphvar.ops.control_flow_ops import no_op

            return no_op(name="static_checks_determined_all_ok")
        if data is None:
            data = [f"Tensor {x.name} must have rank", rank, "Received shape: ", shape_ops.shape(x)]
        if message is not None:
            data = [message, *data]
        return Assert(math_ops.equal(shape_ops.rank(x), rank), data, summarize=summarize)


def check_numerics(tensor: Any, message: str, name: str | None = None) -> ops.Tensor:
    """`tensor` itself, raising InvalidArgumentError ("<message> : Tensor had NaN values") when it holds NaN or Inf.

    Example:
      >>> loss = tf.check_numerics(loss, "loss")
    """
    t = ops.convert_to_tensor(tensor)
    return t.graph.create_op("CheckNumerics", [t], {"message": str(message)}, name=name or "CheckNumerics").outputs[0]


def add_check_numerics_ops() -> ops.Operation:
    """A group of check_numerics on every floating point output in the default graph (as TF1).

    Each check's message is "<op name>:<output index>". Ops added later are not checked.

    Raises:
      ValueError: the graph has a tf.cond (TF1 refuses control flow here too).
    """
    graph = ops.get_default_graph()
    checks = []
    for op in list(graph.get_operations()):
        if op.type == "Cond":
            raise ValueError(f"`tf.add_check_numerics_ops() is not compatible with TensorFlow control flow "
                             f"operations such as `tf.cond` (found {op.name!r})")  # fmt: skip
        for output in op.outputs:
            if output.dtype.is_floating and op.type not in ("CheckNumerics",):
                with graph.control_dependencies(checks[-1:]):
                    checks.append(check_numerics(output, f"{op.name}:{output.value_index}").op)
    from graphvar.ops.control_flow_ops import group

    return group(*checks, name="CheckNumerics")


def is_nan(x: Any, name: str | None = None) -> ops.Tensor:
    """Whether each entry of `x` is NaN (bool, same shape)."""
    t = ops.convert_to_tensor(x)
    return t.graph.create_op("IsNan", [t], name=name or "IsNan").outputs[0]


def is_inf(x: Any, name: str | None = None) -> ops.Tensor:
    """Whether each entry of `x` is +Inf or -Inf (bool, same shape)."""
    t = ops.convert_to_tensor(x)
    return t.graph.create_op("IsInf", [t], name=name or "IsInf").outputs[0]

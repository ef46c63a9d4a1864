"""Variable: a named value that lives in each Session, plus TF1's variable helpers."""

from __future__ import annotations

from typing import Any

import numpy as np

from graphvar import dtypes
from graphvar.framework import ops
from graphvar.framework.ops import GraphKeys
from graphvar.framework.tensor_shape import TensorShape, as_shape, unknown_shape
from graphvar.ops import array_ops, control_flow_ops, state_ops


class Variable:
    """A TF1 (ref) variable: a graph node whose value lives in each Session.

    Args:
      initial_value: a Tensor, a Python/NumPy value, or a callable returning one.
      trainable: also add the variable to TRAINABLE_VARIABLES (even when `collections` is given).
      collections: the collections to join (default [GLOBAL_VARIABLES]).
      validate_shape: when False the shape may change through assign(validate_shape=False).
      name: the op name (uniquified: "w", "w_1", ...).
      dtype: converts the initial value to this dtype.
      shape: the static shape (default: the initial value's).

    Raises:
      ValueError: no initial value, or (with validate_shape) an initial value of unknown shape.

    Example:
      >>> weights = tf.Variable(tf.random_normal([784, 200], stddev=0.35), name="weights")
      >>> w2 = tf.Variable(weights.initialized_value(), name="w2")
    """

    def __init__(self, initial_value: Any = None, trainable: bool | None = None, collections: Any = None,
                 validate_shape: bool = True, caching_device: Any = None, name: str | None = None,
                 variable_def: Any = None, dtype: Any = None, expected_shape: Any = None, import_scope: Any = None,
                 constraint: Any = None, use_resource: Any = None, synchronization: Any = None,
                 aggregation: Any = None, shape: Any = None) -> None:  # fmt: skip
        if variable_def is not None:
            self._init_from_proto(variable_def, import_scope)
            return
        if initial_value is None:
            raise ValueError("initial_value must be specified.")
        trainable = True if trainable is None else bool(trainable)
        if collections is None:
            collections = [GraphKeys.GLOBAL_VARIABLES]
        if not isinstance(collections, (list, tuple, set)):
            raise ValueError(
                f"collections argument to Variable constructor must be a list, tuple, or set. Got {collections!r}"
            )
        collections = list(collections)
        if trainable and GraphKeys.TRAINABLE_VARIABLES not in collections:
            collections.append(GraphKeys.TRAINABLE_VARIABLES)
        self._trainable = trainable
        self._constraint = constraint
        graph = ops.get_default_graph()
        with graph.name_scope(name or "Variable") as scope:
            self._initial_value = self._convert_initial_value(initial_value, dtype, graph)
            init_shape = self._initial_value.get_shape()
            if validate_shape and shape is None and not init_shape.is_fully_defined():
                raise ValueError(f"initial_value must have a shape specified: {self._initial_value!r}")
            var_shape = as_shape(shape) if shape is not None else (init_shape if validate_shape else unknown_shape())
            self._variable = state_ops.variable_op_v2(var_shape, self._initial_value.dtype, name=scope)
            self._initializer_op = state_ops.assign(self._variable, self._initial_value, validate_shape=validate_shape,
                                                    name="Assign").op  # fmt: skip
            with graph.device(self._variable.device):
                self._snapshot = array_ops.identity(self._variable, name="read")
        graph.add_to_collections(collections, self)

    def _init_from_proto(self, variable_def: Any, import_scope: str | None) -> None:
        """Wraps the ops a VariableDef names (an imported graph's); adds nothing to the graph."""
        graph = ops.get_default_graph()
        prefix = import_scope + "/" if import_scope else ""
        self._variable = graph.get_tensor_by_name(prefix + variable_def.variable_name)
        self._initializer_op = graph.get_operation_by_name(prefix + variable_def.initializer_name)
        self._snapshot = graph.get_tensor_by_name(prefix + variable_def.snapshot_name)
        if variable_def.initial_value_name:
            self._initial_value = graph.get_tensor_by_name(prefix + variable_def.initial_value_name)
        else:  # older graphs: the initializer's value input
            self._initial_value = self._initializer_op.inputs[1]
        self._trainable = bool(variable_def.trainable)
        self._constraint = None

    @staticmethod
    def _convert_initial_value(initial_value: Any, dtype: Any, graph: ops.Graph) -> ops.Tensor:
        if callable(initial_value) and not isinstance(initial_value, (ops.Tensor, Variable)):
            with graph.name_scope("Initializer"), graph.device(None):
                initial_value = initial_value()
        if isinstance(initial_value, Variable):
            initial_value = initial_value.initialized_value()
        if (
            isinstance(initial_value, ops.Tensor)
            and dtype is not None
            and initial_value.dtype != dtypes.as_dtype(dtype)
        ):
            return array_ops.cast(initial_value, dtype, name="initial_value")
        return ops.convert_to_tensor(initial_value, dtype=dtype, name="initial_value")

    # ---- properties ----
    name = property(lambda self: self._variable.name, doc="The tensor name, e.g. 'weights:0'.")
    op = property(lambda self: self._variable.op)
    dtype = property(lambda self: self._variable.dtype)
    device = property(lambda self: self._variable.device)
    graph = property(lambda self: self._variable.graph)
    initializer = property(lambda self: self._initializer_op, doc="The op that writes the initial value.")
    initial_value = property(lambda self: self._initial_value)
    trainable = property(lambda self: self._trainable)
    constraint = property(lambda self: self._constraint)

    @property
    def shape(self) -> TensorShape:
        return self._variable.get_shape()

    def get_shape(self) -> TensorShape:
        return self._variable.get_shape()

    # ---- values ----
    def value(self) -> ops.Tensor:
        """The snapshot tensor ("<name>/read") used when the variable is an op input."""
        return self._snapshot

    def read_value(self) -> ops.Tensor:
        """A new op reading the variable's current value."""
        return array_ops.identity(self._variable, name="read")

    def initialized_value(self) -> ops.Tensor:
        """The variable's value, computing its initial value first if it is not initialized yet.

        Use it to initialize one variable from another: within one run of the initializers
        both see the same draw of a random initial value.
        """
        return state_ops.initialized_value(self, self._initial_value)

    def eval(self, session: Any = None) -> np.ndarray:
        """The variable's value in the default (or given) Session."""
        return self._variable.eval(session=session)

    def load(self, value: Any, session: Any = None) -> None:
        """Writes `value` into the variable without adding ops to the graph."""
        if session is None:
            from graphvar.session import get_default_session

            session = get_default_session()
            if session is None:
                raise ValueError("Either session argument should be provided or default session should be established")
        session.run(self._initializer_op, {self._initializer_op.inputs[1]: value})

    # ---- updates ----
    def assign(self, value: Any, use_locking: bool = False, name: str | None = None, read_value: bool = True) -> Any:
        """An op writing `value` into the variable; returns the new value (or the op if read_value=False)."""
        t = state_ops.assign(self._variable, value, use_locking=use_locking, name=name)
        return t if read_value else t.op

    def assign_add(
        self, delta: Any, use_locking: bool = False, name: str | None = None, read_value: bool = True
    ) -> Any:
        """An op adding `delta` in place; with use_locking concurrent runs add exactly."""
        t = state_ops.assign_add(self._variable, delta, use_locking=use_locking, name=name)
        return t if read_value else t.op

    def assign_sub(
        self, delta: Any, use_locking: bool = False, name: str | None = None, read_value: bool = True
    ) -> Any:
        t = state_ops.assign_sub(self._variable, delta, use_locking=use_locking, name=name)
        return t if read_value else t.op

    # ---- partitioned variables: where this part lies in the whole (graphvar.partitioned_variables) ----
    _save_slice_info: Any = None

    def _set_save_slice_info(self, save_slice_info: Any) -> None:
        self._save_slice_info = save_slice_info

    def _get_save_slice_info(self) -> Any:
        return self._save_slice_info

    # ---- graph plumbing ----
    def _as_graph_element(self) -> ops.Tensor:
        return self._variable

    def _ref(self) -> ops.Tensor:
        return self._variable

    def __repr__(self) -> str:
        return f"<tf.Variable '{self.name}' shape={self.shape} dtype={self.dtype.name}_ref>"

    def __iter__(self) -> Any:
        raise TypeError(f"Variable {self.name!r} is not iterable.")


def _to_tensor(v: Variable, dtype: Any = None, name: Any = None, as_ref: bool = False) -> ops.Tensor:
    t = v._variable if as_ref else v._snapshot
    if dtype is not None and dtypes.as_dtype(dtype) != t.dtype:
        raise ValueError(
            f"Incompatible type conversion requested to type '{dtypes.as_dtype(dtype).name}' for variable of type '{t.dtype.name}'"
        )
    return t


ops.register_tensor_conversion_function(Variable, _to_tensor)
for _op_name in ("__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__", "__truediv__", "__rtruediv__",
                 "__floordiv__", "__rfloordiv__", "__mod__", "__rmod__", "__pow__", "__rpow__", "__matmul__",
                 "__rmatmul__", "__lt__", "__le__", "__gt__", "__ge__", "__and__", "__rand__", "__or__", "__ror__",
                 "__neg__", "__abs__", "__invert__", "__getitem__"):  # fmt: skip
    setattr(Variable, _op_name, getattr(ops.Tensor, _op_name))


# ---- collections and initializers ----
def global_variables(scope: str | None = None) -> list[Variable]:
    """The variables in GLOBAL_VARIABLES (optionally those whose name matches `scope`)."""
    return ops.get_collection(GraphKeys.GLOBAL_VARIABLES, scope)


all_variables = global_variables


def trainable_variables(scope: str | None = None) -> list[Variable]:
    return ops.get_collection(GraphKeys.TRAINABLE_VARIABLES, scope)


def local_variables(scope: str | None = None) -> list[Variable]:
    return ops.get_collection(GraphKeys.LOCAL_VARIABLES, scope)


def model_variables(scope: str | None = None) -> list[Variable]:
    return ops.get_collection(GraphKeys.MODEL_VARIABLES, scope)


def variables_initializer(var_list: list, name: str = "init") -> ops.Operation:
    """An op that runs the initializers of `var_list` (a no-op when it is empty)."""
    if var_list:
        return control_flow_ops.group(*[v.initializer for v in var_list], name=name)
    return control_flow_ops.no_op(name=name)


initialize_variables = variables_initializer


def global_variables_initializer() -> ops.Operation:
    """Initializes the global variables that exist when it is called."""
    return variables_initializer(global_variables())


initialize_all_variables = global_variables_initializer


def local_variables_initializer() -> ops.Operation:
    return variables_initializer(local_variables())


initialize_local_variables = local_variables_initializer


def is_variable_initialized(variable: Variable) -> ops.Tensor:
    return state_ops.is_variable_initialized(variable)


def report_uninitialized_variables(
    var_list: list | None = None, name: str = "report_uninitialized_variables"
) -> ops.Tensor:
    """A 1-D string tensor of the names of the variables in var_list that have no value yet."""
    if var_list is None:
        var_list = global_variables() + local_variables()
    if not var_list:
        return array_ops.constant(np.array([], dtype=object), name=name)
    return state_ops.report_uninitialized_variables(var_list, name=name)


def assert_variables_initialized(var_list: list | None = None) -> ops.Operation | None:
    """An op that raises FailedPreconditionError naming every uninitialized variable in var_list."""
    if var_list is None:
        var_list = global_variables() + local_variables()
    if not var_list:
        return None
    return state_ops.assert_variables_initialized(var_list)

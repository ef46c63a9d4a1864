"""``tf.variable_scope`` and ``tf.get_variable``: variables shared by name within a graph."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from graphvar import dtypes
from graphvar.framework import ops
from graphvar.framework.tensor_shape import as_shape
from graphvar.ops import init_ops
from graphvar.variables import Variable


class _ReuseMode:
    def __repr__(self) -> str:
        return "tf.AUTO_REUSE"


AUTO_REUSE = _ReuseMode()


class VariableScope:
    """A scope for get_variable: a name prefix, a reuse mode and defaults (initializer, dtype)."""

    def __init__(self, reuse: Any, name: str = "", initializer: Any = None, dtype: Any = dtypes.float32,
                 name_scope: str = "", partitioner: Any = None) -> None:  # fmt: skip
        self._reuse, self._name, self._initializer = reuse, name, initializer
        self._dtype, self._name_scope = dtypes.as_dtype(dtype), name_scope
        self._partitioner = partitioner

    name = property(lambda self: self._name)
    original_name_scope = property(lambda self: self._name_scope)
    reuse = property(lambda self: self._reuse)
    initializer = property(lambda self: self._initializer)
    dtype = property(lambda self: self._dtype)
    partitioner = property(lambda self: self._partitioner)

    def set_partitioner(self, partitioner: Any) -> None:
        self._partitioner = partitioner

    def reuse_variables(self) -> None:
        """From now on get_variable in this scope returns existing variables."""
        self._reuse = True

    def set_initializer(self, initializer: Any) -> None:
        self._initializer = initializer

    def get_variable(self, name: str, **kwargs: Any) -> Variable:
        return _get_variable(self, name, **kwargs)


_STATE_ATTR = "_graphvar_variable_scopes"
_state_lock = threading.Lock()


def _stack(graph: ops.Graph) -> list[VariableScope]:
    """This thread's variable-scope stack for ``graph``, kept on the graph object itself (as TF's
    variable scope store is), so it lives and dies with the graph: a new graph never inherits a
    dead one's scopes, whatever id() CPython gives it."""
    local = graph.__dict__.get(_STATE_ATTR)
    if local is None:
        with _state_lock:
            local = graph.__dict__.setdefault(_STATE_ATTR, threading.local())
    stack = getattr(local, "stack", None)
    if stack is None:
        stack = local.stack = [VariableScope(False)]
    return stack


def get_variable_scope() -> VariableScope:
    return _stack(ops.get_default_graph())[-1]


def _store(graph: ops.Graph) -> dict[str, Variable]:
    ref = graph.get_collection_ref("__variable_store")
    if not ref:
        ref.append({})
    return ref[0]


@contextlib.contextmanager
def variable_scope(name_or_scope: Any = None, default_name: str | None = None, values: Any = None,
                   initializer: Any = None, regularizer: Any = None, caching_device: Any = None,
                   partitioner: Any = None, custom_getter: Any = None, reuse: Any = None, dtype: Any = None,
                   use_resource: Any = None, constraint: Any = None,
                   auxiliary_name_scope: bool = True) -> Iterator[VariableScope]:  # fmt: skip
    """Opens a variable scope (and a name scope of the same name).

    reuse=True (inherited by inner scopes) makes get_variable return existing variables;
    reuse=tf.AUTO_REUSE creates them when missing.

    Example:
      >>> with tf.variable_scope("layer1"):
      ...     w = tf.get_variable("w", [784, 200])   # "layer1/w"
    """
    if name_or_scope is None and default_name is None:
        raise TypeError("If default_name is None then name_or_scope is required")
    graph = ops.get_default_graph()
    stack = _stack(graph)
    parent = stack[-1]
    if isinstance(name_or_scope, VariableScope):
        full, scope_name = name_or_scope.name, name_or_scope.original_name_scope
    else:
        base = name_or_scope if name_or_scope is not None else _unique_default(graph, parent, default_name)
        full, scope_name = (f"{parent.name}/{base}" if parent.name else base), base
    inherited = reuse if reuse is not None else parent.reuse
    if parent.reuse is True and reuse is not AUTO_REUSE:
        inherited = True
    with graph.name_scope(scope_name if auxiliary_name_scope else graph.get_name_scope() + "/") as ns:
        scope = VariableScope(inherited, full, initializer if initializer is not None else parent.initializer,
                              dtype if dtype is not None else parent.dtype, ns,
                              partitioner if partitioner is not None else parent.partitioner)  # fmt: skip
        stack.append(scope)
        try:
            yield scope
        finally:
            stack.pop()


def _unique_default(graph: ops.Graph, parent: VariableScope, default_name: str) -> str:
    counts = graph.get_collection_ref("__variable_scope_counts")
    if not counts:
        counts.append({})
    key = f"{parent.name}/{default_name}" if parent.name else default_name
    n = counts[0].get(key, 0)
    counts[0][key] = n + 1
    return default_name if n == 0 else f"{default_name}_{n}"


def get_variable(name: str, shape: Any = None, dtype: Any = None, initializer: Any = None, regularizer: Any = None,
                 trainable: bool | None = None, collections: Any = None, caching_device: Any = None,
                 partitioner: Any = None, validate_shape: bool = True, use_resource: Any = None,
                 custom_getter: Any = None, constraint: Any = None, synchronization: Any = None,
                 aggregation: Any = None) -> Variable:  # fmt: skip
    """Returns the variable `<scope>/name`, creating it unless the scope reuses variables.

    With a ``partitioner`` (or one set on the variable scope) it returns a PartitionedVariable whose
    parts are ``<name>/part_<i>`` (see graphvar.partitioned_variables).

    Raises:
      ValueError: it exists and reuse is off; it is missing and reuse=True; shapes or dtypes differ.
    """
    scope = get_variable_scope()
    partitioner = partitioner if partitioner is not None else scope.partitioner
    if partitioner is not None:
        return _get_partitioned_variable(scope, name, shape, dtype, initializer, trainable, collections,
                                         validate_shape, partitioner)  # fmt: skip
    return _get_variable(scope, name, shape=shape, dtype=dtype, initializer=initializer,
                         trainable=trainable, collections=collections, validate_shape=validate_shape)  # fmt: skip


def _get_partitioned_variable(scope: VariableScope, name: str, shape: Any, dtype: Any, initializer: Any,
                              trainable: Any, collections: Any, validate_shape: bool, partitioner: Any) -> Any:  # fmt: skip
    from graphvar import partitioned_variables as pv

    graph = ops.get_default_graph()
    full = f"{scope.name}/{name}" if scope.name else name
    store = graph.get_collection_ref("__partitioned_variable_store")
    if not store:
        store.append({})
    existing = store[0].get(full)
    if existing is not None:
        if scope.reuse is False or scope.reuse is None:
            raise ValueError(f"Partitioned variable with name {full} already exists. Did you mean to set reuse=True "
                             "or reuse=tf.AUTO_REUSE in VarScope?")  # fmt: skip
        _check_shared(existing, full, shape, dtype)
        return existing
    if scope.reuse is True:
        raise ValueError(f"PartitionedVariable {full} does not exist, or was not created with tf.get_variable(). "
                         "Did you mean to set reuse=tf.AUTO_REUSE in VarScope?")  # fmt: skip
    dims = as_shape(shape) if shape is not None else None
    if dims is None or not dims.is_fully_defined():
        raise ValueError(f"Shape of a new partitioned variable ({full}) must be fully defined, but instead was {dims}.")
    dtype = dtypes.as_dtype(dtype) if dtype is not None else scope.dtype
    full_shape = dims.as_list()
    partitions = list(partitioner(shape=dims, dtype=dtype))
    parts = []
    for i, (offset, part_shape) in enumerate(pv.partition_shapes(full_shape, partitions)):
        init = initializer if initializer is not None else scope.initializer
        if init is not None:
            init = pv.part_initial_value(init, offset, part_shape, full_shape)
        var = _get_variable(scope, f"{name}/part_{i}", shape=part_shape, dtype=dtype, initializer=init,
                            trainable=trainable, collections=collections, validate_shape=validate_shape)  # fmt: skip
        var._set_save_slice_info(pv.SaveSliceInfo(full, full_shape, offset, part_shape))
        parts.append(var)
    result = pv.PartitionedVariable(full, full_shape, dtype, parts, partitions)
    store[0][full] = result
    return result


def _get_variable(scope: VariableScope, name: str, shape: Any = None, dtype: Any = None, initializer: Any = None,
                  trainable: bool | None = None, collections: Any = None, validate_shape: bool = True) -> Variable:  # fmt: skip
    graph = ops.get_default_graph()
    full = f"{scope.name}/{name}" if scope.name else name
    store = _store(graph)
    existing = store.get(full)
    if existing is not None:
        if scope.reuse is False or scope.reuse is None:
            raise ValueError(f"Variable {full} already exists, disallowed. Did you mean to set reuse=True or "
                             "reuse=tf.AUTO_REUSE in VarScope?")  # fmt: skip
        _check_shared(existing, full, shape, dtype)
        return existing
    if scope.reuse is True:
        raise ValueError(f"Variable {full} does not exist, or was not created with tf.get_variable(). "
                         "Did you mean to set reuse=tf.AUTO_REUSE in VarScope?")  # fmt: skip
    return _create(graph, store, scope, full, shape, dtype, initializer, trainable, collections, validate_shape)


def _check_shared(var: Variable, full: str, shape: Any, dtype: Any) -> None:
    if shape is not None and not as_shape(shape).is_compatible_with(var.shape):
        raise ValueError(
            f"Trying to share variable {full}, but specified shape {as_shape(shape)} and found shape {var.shape}."
        )
    if dtype is not None and dtypes.as_dtype(dtype) != var.dtype:
        raise ValueError(f"Trying to share variable {full}, but specified dtype {dtypes.as_dtype(dtype).name} "
                         f"and found dtype {var.dtype.name}.")  # fmt: skip


def _create(graph: ops.Graph, store: dict, scope: VariableScope, full: str, shape: Any, dtype: Any,
            initializer: Any, trainable: Any, collections: Any, validate_shape: bool) -> Variable:  # fmt: skip
    dtype = dtypes.as_dtype(dtype) if dtype is not None else scope.dtype
    initializer = initializer if initializer is not None else scope.initializer
    if initializer is None:
        initializer = init_ops.glorot_uniform_initializer() if dtype.is_floating else init_ops.zeros_initializer()
    if isinstance(initializer, type) and issubclass(initializer, init_ops.Initializer):
        initializer = initializer(dtype=dtype)  # TF1 accepts the class (tf.zeros_initializer) and instantiates it
    if callable(initializer) and not isinstance(initializer, ops.Tensor):
        if shape is None:
            raise ValueError(f"Shape of a new variable ({full}) must be fully defined, but instead was None.")
        dims = as_shape(shape)
        if not dims.is_fully_defined():
            raise ValueError(f"Shape of a new variable ({full}) must be fully defined, but instead was {dims}.")
        init = initializer
        value: Any = lambda: init(dims.as_list(), dtype=dtype)  # noqa: E731
    else:
        value = initializer
    with graph.name_scope(None):
        var = Variable(value, trainable=trainable, collections=collections, validate_shape=validate_shape,
                       name=full, dtype=dtype)  # fmt: skip
    store[full] = var
    return var

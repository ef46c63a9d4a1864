"""``tf.layers.Layer``: TF1's graph-mode layer (a variable scope, lazily built weights, losses, updates).

Naming follows TF1's ``tf.layers``: a layer without a name takes its class's snake-case name made
unique within the enclosing variable scope (``dense``, ``dense_1``, ...; counting starts again each
time a scope is entered, so re-entering a scope with ``reuse=True`` finds the same names). Its
variables are ``<scope>/<layer>/kernel`` etc., created with ``tf.get_variable``; calling the same
layer object again reuses them.
"""

from __future__ import annotations

import re
import weakref
from typing import Any

from graphvar import dtypes
from graphvar.framework import ops
from graphvar.framework.ops import GraphKeys
from graphvar.variable_scope import VariableScope, get_variable, get_variable_scope, variable_scope

# per enclosing VariableScope object (a fresh one each time a scope is entered): base name -> count
_NAME_COUNTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _snake_case(name: str) -> str:
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", s).lower()


def _unique_layer_name(base: str) -> str:
    counts = _NAME_COUNTS.setdefault(get_variable_scope(), {})
    n = counts.get(base, 0)
    counts[base] = n + 1
    return base if n == 0 else f"{base}_{n}"


def instantiate_initializer(init: Any, dtype: dtypes.DType) -> Any:
    """TF1 accepts an initializer class (``tf.zeros_initializer``) and instantiates it with the dtype."""
    if isinstance(init, type):
        try:
            return init(dtype=dtype)
        except TypeError:
            return init()
    return init


class Layer:
    """Base class of the tf.layers classes.

    Args:
      trainable: whether the weights join TRAINABLE_VARIABLES.
      name: the layer's variable scope name (default: the class name, uniquified).
      dtype: the weights' dtype (default: the first input's).
      _reuse: reuse the weights of an existing layer of the same name (TF1's `reuse=`).

    Subclasses define ``build(input_shape)`` (creating weights with `add_weight`) and
    ``call(inputs, **kwargs)``.
    """

    def __init__(self, trainable: bool = True, name: str | None = None, dtype: Any = None, _reuse: Any = None,
                 _scope: Any = None, **kwargs: Any) -> None:  # fmt: skip
        kwargs.pop("activity_regularizer", None)
        kwargs.pop("input_shape", None)
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unexpected keyword argument(s) {sorted(kwargs)}")
        self.trainable = trainable
        self._dtype = dtypes.as_dtype(dtype) if dtype is not None else None
        self._reuse = _reuse
        self._given_name = name
        self._base_name = _snake_case(type(self).__name__)
        self._name = name
        self._scope: VariableScope | None = None
        self.built = False
        self._trainable_weights: list = []
        self._non_trainable_weights: list = []
        self._losses: list = []
        self._updates: list = []

    # ---- properties (TF's names) ----
    name = property(lambda self: self._name or self._base_name)
    dtype = property(lambda self: self._dtype)
    scope_name = property(lambda self: self._scope.name if self._scope else None)
    trainable_weights = property(lambda self: list(self._trainable_weights) if self.trainable else [])
    trainable_variables = trainable_weights
    non_trainable_weights = property(
        lambda self: self._non_trainable_weights + ([] if self.trainable else self._trainable_weights)
    )
    non_trainable_variables = non_trainable_weights
    weights = property(lambda self: self._trainable_weights + self._non_trainable_weights)
    variables = weights
    losses = property(lambda self: list(self._losses))
    updates = property(lambda self: list(self._updates))

    # ---- subclass hooks ----
    def build(self, input_shape: Any) -> None:
        self.built = True

    def call(self, inputs: Any, **kwargs: Any) -> Any:
        return inputs

    # ---- weights, losses, updates ----
    def add_weight(self, name: str, shape: Any, dtype: Any = None, initializer: Any = None, regularizer: Any = None,
                   trainable: bool = True, constraint: Any = None, **kwargs: Any) -> Any:  # fmt: skip
        """A variable `<layer scope>/name` via tf.get_variable; its regularizer loss (if any) joins
        REGULARIZATION_LOSSES once, when the variable is created (not when it is reused)."""
        dtype = dtypes.as_dtype(dtype or self._dtype or dtypes.float32)
        graph = ops.get_default_graph()
        before = set(map(id, graph.get_collection(GraphKeys.GLOBAL_VARIABLES)))
        trainable = trainable and self.trainable
        var = get_variable(name, shape=shape, dtype=dtype, initializer=instantiate_initializer(initializer, dtype),
                           trainable=trainable, constraint=constraint)  # fmt: skip
        trainable = trainable and var.trainable  # a reused variable keeps what it was created as
        (self._trainable_weights if trainable else self._non_trainable_weights).append(var)
        if regularizer is not None and id(var) not in before:
            with ops.name_scope(var.op.name + "/Regularizer/"):
                loss = regularizer(var)
            if loss is not None:
                self.add_loss(loss)
        return var

    def add_loss(self, losses: Any, inputs: Any = None) -> None:
        """Adds loss tensors to the layer and to REGULARIZATION_LOSSES (as TF1's graph-mode layers do)."""
        for loss in losses if isinstance(losses, (list, tuple)) else [losses]:
            self._losses.append(loss)
            ops.add_to_collection(GraphKeys.REGULARIZATION_LOSSES, loss)

    def add_update(self, updates: Any, inputs: Any = None) -> None:
        """Adds update ops to the layer and to UPDATE_OPS (run them with the train op)."""
        for u in updates if isinstance(updates, (list, tuple)) else [updates]:
            self._updates.append(u)
            ops.add_to_collection(GraphKeys.UPDATE_OPS, u)

    # ---- calling ----
    def _open_scope(self) -> Any:
        if self._scope is not None:
            return variable_scope(self._scope, reuse=True if self.built else self._reuse, auxiliary_name_scope=False)
        if self._name is None:
            self._name = self._base_name if self._reuse is True else _unique_layer_name(self._base_name)
        return variable_scope(self._name, reuse=self._reuse)

    def __call__(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        """Builds the weights on first call (under the layer's scope), then applies `call`."""
        with self._open_scope() as scope:
            if self._scope is None:
                self._scope = scope
            with ops.name_scope(self._scope.original_name_scope):
                x = inputs if isinstance(inputs, (list, tuple)) else ops.convert_to_tensor(inputs)
                if self._dtype is None and isinstance(x, ops.Tensor) and x.dtype.is_floating:
                    self._dtype = x.dtype
                if not self.built:
                    self.build(x.shape if isinstance(x, ops.Tensor) else [t.shape for t in x])
                    self.built = True
                return self.call(x, *args, **kwargs)

    apply = __call__

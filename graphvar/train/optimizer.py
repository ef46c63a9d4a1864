"""``tf.train.Optimizer``: TF1's base class (tensorflow/python/training/optimizer.py).

``minimize`` = ``compute_gradients`` (tf.gradients of the loss with respect to the variables)
+ ``apply_gradients``: create the slots (once per variable), then one update op per variable
under ``<name>/update_<var>/``, grouped by ``_finish`` into the train op. A dense gradient
goes to ``_apply_dense``; an IndexedSlices gradient (values, indices, dense_shape) has its
duplicate indices summed (``_apply_sparse_duplicate_indices``, TF's Unique + UnsortedSegmentSum) and
goes to ``_apply_sparse``: the SparseApply* ops, which touch only the rows with a gradient.
"""

from __future__ import annotations

from typing import Any

from graphvar import dtypes
from graphvar.framework import ops
from graphvar.framework.indexed_slices import IndexedSlices
from graphvar.framework.ops import GraphKeys
from graphvar.ops import array_ops, control_flow_ops, state_ops
from graphvar.train import slot_creator
from graphvar.variables import Variable, trainable_variables

_VALID_DTYPES = (dtypes.float16, dtypes.bfloat16, dtypes.float32, dtypes.float64)


def is_indexed_slices(g: Any) -> bool:
    """Whether `g` is an IndexedSlices-like gradient (has values, indices and dense_shape)."""
    return all(hasattr(g, a) for a in ("values", "indices", "dense_shape")) and not isinstance(g, ops.Tensor)


class Optimizer:
    """Base class of the optimizers; subclasses implement _create_slots, _prepare, _apply_dense.

    Args:
      use_locking: passed to the update ops (graphvar always holds the variables' locks).
      name: the name scope of the ops `apply_gradients` creates, and the slots' suffix.

    Raises:
      ValueError: an empty name.
    """

    GATE_NONE = 0
    GATE_OP = 1
    GATE_GRAPH = 2

    def __init__(self, use_locking: bool, name: str) -> None:
        if not name:
            raise ValueError("Must specify the optimizer name")
        self._use_locking = use_locking
        self._name = name
        self._slots: dict[str, dict[Any, Variable]] = {}
        self._non_slot_dict: dict[tuple[str, Any], Variable] = {}

    def get_name(self) -> str:
        return self._name

    # ---- the public API ----
    def minimize(self, loss: Any, global_step: Any = None, var_list: Any = None, gate_gradients: int = GATE_OP,
                 aggregation_method: Any = None, colocate_gradients_with_ops: bool = False, name: str | None = None,
                 grad_loss: Any = None) -> ops.Operation:  # fmt: skip
        """Adds ops that compute the gradients of `loss` and apply them to the variables.

        Args:
          loss: the scalar tensor to minimize.
          global_step: a variable incremented by one after the variables are updated.
          var_list: the variables to update (default: the trainable variables).
          gate_gradients, aggregation_method, colocate_gradients_with_ops: passed to tf.gradients.
          name: the name of the returned op (default: the optimizer's name).
          grad_loss: the gradient of `loss` (default ones).

        Returns:
          The train op (also added to the GraphKeys.TRAIN_OP collection).

        Raises:
          ValueError: no variable has a gradient, or there are no variables.

        Example:
          >>> train_op = tf.train.AdamOptimizer(1e-3).minimize(loss, global_step=tf.train.get_or_create_global_step())
        """
        grads_and_vars = self.compute_gradients(
            loss, var_list=var_list, gate_gradients=gate_gradients, aggregation_method=aggregation_method,
            colocate_gradients_with_ops=colocate_gradients_with_ops, grad_loss=grad_loss,
        )  # fmt: skip
        vars_with_grad = [v for g, v in grads_and_vars if g is not None]
        if not vars_with_grad:
            raise ValueError(
                "No gradients provided for any variable, check your graph for ops that do not support gradients, "
                f"between variables {[str(v) for _, v in grads_and_vars]} and loss {loss}."
            )
        return self.apply_gradients(grads_and_vars, global_step=global_step, name=name)

    def compute_gradients(self, loss: Any, var_list: Any = None, gate_gradients: int = GATE_OP,
                          aggregation_method: Any = None, colocate_gradients_with_ops: bool = False,
                          grad_loss: Any = None) -> list[tuple[Any, Variable]]:  # fmt: skip
        """The gradients of `loss` with respect to the variables in `var_list`.

        Returns:
          A list of (gradient or None, variable) pairs, in var_list's order.

        Raises:
          ValueError: no variables to optimize, gate_gradients is not GATE_NONE/OP/GRAPH, or a
            floating-point dtype is required.
        """
        from graphvar.ops.gradients_impl import gradients  # the autodiff module; imported on use

        if gate_gradients not in (Optimizer.GATE_NONE, Optimizer.GATE_OP, Optimizer.GATE_GRAPH):
            raise ValueError(f"gate_gradients must be one of: Optimizer.GATE_NONE, Optimizer.GATE_OP, "
                             f"Optimizer.GATE_GRAPH. Not {gate_gradients}")  # fmt: skip
        loss = ops.convert_to_tensor(loss)
        self._assert_valid_dtypes([loss])
        if grad_loss is not None:
            self._assert_valid_dtypes([ops.convert_to_tensor(grad_loss)])
        var_list = trainable_variables() if var_list is None else list(_flatten(var_list))
        if not var_list:
            raise ValueError("No variables to optimize.")
        grads = gradients(
            loss, [v._ref() for v in var_list], grad_ys=grad_loss, gate_gradients=gate_gradients == Optimizer.GATE_OP,
            aggregation_method=aggregation_method, colocate_gradients_with_ops=colocate_gradients_with_ops,
        )  # fmt: skip
        if gate_gradients == Optimizer.GATE_GRAPH:
            grads = _gate_all(grads)
        grads_and_vars = list(zip(grads, var_list))
        self._assert_valid_dtypes([v for g, v in grads_and_vars if g is not None])
        return grads_and_vars

    def apply_gradients(self, grads_and_vars: Any, global_step: Any = None, name: str | None = None) -> ops.Operation:
        """Adds the ops that update each variable with its gradient.

        Args:
          grads_and_vars: (gradient, variable) pairs, as compute_gradients returns; a None gradient
            leaves its variable alone.
          global_step: a variable incremented by one after all the updates.
          name: the name of the returned op (default: the optimizer's name).

        Returns:
          The train op (added to the GraphKeys.TRAIN_OP collection).

        Raises:
          TypeError: a gradient that is not a Tensor, IndexedSlices or None.
          ValueError: no pairs, or no pair with a gradient.
        """
        grads_and_vars = tuple(grads_and_vars)
        if not grads_and_vars:
            raise ValueError("No variables provided.")
        converted = []
        for g, v in grads_and_vars:
            if g is not None and not is_indexed_slices(g):
                try:
                    g = ops.convert_to_tensor(g)
                except (TypeError, ValueError) as e:
                    raise TypeError(f"Gradient must be convertible to a Tensor or IndexedSlices, or None: {g}") from e
                if not g.dtype.is_floating:
                    raise TypeError(f"Gradient must be convertible to a Tensor or IndexedSlices, or None: {g} "
                                    f"(for variable {v.op.name!r})")  # fmt: skip
            if not isinstance(v, Variable):
                raise TypeError(f"Trying to update a Tensor {v!r}; graphvar optimizers update tf.Variable objects")
            converted.append((g, v))
        var_list = [v for g, v in converted if g is not None]
        if not var_list:
            raise ValueError(f"No gradients provided for any variable: {[str(v) for _, v in converted]}.")
        graph = var_list[0].graph
        with graph.as_default():
            with graph.control_dependencies(None):
                self._create_slots(var_list)
            with graph.name_scope(name or self._name) as scope:
                self._prepare()
                update_ops = []
                for g, v in converted:
                    if g is None:
                        continue
                    with graph.name_scope("update_" + v.op.name), slot_creator.colocated(v):
                        update_ops.append(self._update_op(g, v))
                return self._finish_train_op(graph, update_ops, scope, global_step)

    def _finish_train_op(self, graph: ops.Graph, update_ops: list, scope: str, global_step: Any) -> ops.Operation:
        if global_step is None:
            train_op = self._finish(update_ops, scope)  # "Adam/": the op is named "Adam"
        else:
            with graph.control_dependencies([self._finish(update_ops, "update")]):
                with slot_creator.colocated(global_step):
                    one = array_ops.constant(1, dtype=global_step.dtype, name="value")
                    train_op = state_ops.assign_add(global_step, one, name=scope).op
        collection = graph.get_collection_ref(GraphKeys.TRAIN_OP)
        if train_op not in collection:
            collection.append(train_op)
        return train_op

    def _update_op(self, g: Any, v: Variable) -> Any:
        if is_indexed_slices(g):
            if v.constraint is not None:
                raise RuntimeError("Cannot use a constraint function on a sparse variable.")
            return self._apply_sparse_duplicate_indices(g, v)
        update = self._apply_dense(g, v)
        if v.constraint is not None:
            with ops.get_default_graph().control_dependencies([update]):
                return state_ops.assign(v, v.constraint(v.read_value()))
        return update

    def get_slot(self, var: Any, name: str) -> Variable | None:
        """The slot `name` ("m", "momentum", ...) of `var`, or None."""
        named = self._slots.get(name)
        return named.get(slot_creator.var_key(var)) if named else None

    def get_slot_names(self) -> list[str]:
        """The names of the slots this optimizer creates, sorted ("m", "v" for Adam)."""
        return sorted(self._slots)

    def variables(self) -> list[Variable]:
        """The optimizer's variables in the default graph (slots and non-slots), sorted by name."""
        graph = ops.get_default_graph()
        found = [v for v in self._non_slot_dict.values() if v.graph is graph]
        found += [v for named in self._slots.values() for v in named.values() if v.graph is graph]
        return sorted(found, key=lambda v: v.name)

    # ---- for subclasses ----
    def _create_slots(self, var_list: list[Variable]) -> None:
        """Creates the slots of the variables (called once per apply_gradients; must be idempotent)."""

    def _prepare(self) -> None:
        """Converts the hyperparameters to tensors, inside the apply_gradients name scope."""

    def _apply_dense(self, grad: ops.Tensor, var: Variable) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not implement _apply_dense")

    def _apply_sparse(self, grad: Any, var: Variable) -> Any:
        """A sparse gradient with distinct indices. Default (an optimizer without sparse kernels):
        densify it (see _densify) and apply it densely."""
        return self._apply_dense(_densify(grad, var), var)

    def _apply_sparse_duplicate_indices(self, grad: Any, var: Variable) -> Any:
        """A sparse gradient that may repeat indices: as TF1, the repeats' rows are summed first
        (Unique + UnsortedSegmentSum) and the result goes to _apply_sparse."""
        summed_values, unique_indices = deduplicate_indexed_slices(grad.values, grad.indices)
        return self._apply_sparse(IndexedSlices(summed_values, unique_indices, grad.dense_shape), var)

    def _finish(self, update_ops: list, name_scope: str) -> ops.Operation:
        return control_flow_ops.group(*update_ops, name=name_scope)

    def _get_or_make_slot_with_initializer(self, var: Variable, initializer: Any, shape: Any, dtype: Any,
                                           slot_name: str, op_name: str) -> Variable:  # fmt: skip
        named = self._slots.setdefault(slot_name, {})
        key = slot_creator.var_key(var)
        if key not in named:
            named[key] = slot_creator.create_slot_with_initializer(var, initializer, shape, dtype, op_name)
        return named[key]

    def _zeros_slot(self, var: Variable, slot_name: str, op_name: str) -> Variable:
        named = self._slots.setdefault(slot_name, {})
        key = slot_creator.var_key(var)
        if key not in named:
            named[key] = slot_creator.create_zeros_slot(var, op_name)
        return named[key]

    def _get_non_slot_variable(self, name: str, graph: ops.Graph | None = None) -> Variable | None:
        return self._non_slot_dict.get((name, graph or ops.get_default_graph()))

    def _create_non_slot_variable(self, initial_value: Any, name: str, colocate_with: Variable) -> Variable:
        """A variable of the optimizer itself (Adam's beta1_power), in the current name scope."""
        graph = colocate_with.graph
        key = (name, graph)
        v = self._non_slot_dict.get(key)
        if v is None:
            with graph.as_default(), slot_creator.colocated(colocate_with):
                v = Variable(initial_value, name=name, trainable=False)
            self._non_slot_dict[key] = v
        return v

    def _call_if_callable(self, param: Any) -> Any:
        return param() if callable(param) else param

    def _assert_valid_dtypes(self, tensors: list) -> None:
        for t in tensors:
            dtype = t.dtype
            if dtype not in _VALID_DTYPES:
                raise ValueError(
                    f"Invalid type {dtype.name} for {t.name}, expected: {[d.name for d in _VALID_DTYPES]}."
                )


def hyper_tensor(value: Any, name: str) -> ops.Tensor:
    """A hyperparameter (Python number, tensor, or callable returning one) as a tensor named `name`."""
    value = value() if callable(value) else value
    return ops.convert_to_tensor(value, name=name)


def as_dtype_of(t: ops.Tensor, var: Variable) -> ops.Tensor:
    """`t` cast to the variable's dtype (TF's math_ops.cast(hyper, var.dtype.base_dtype))."""
    return array_ops.cast(t, var.dtype)


def _flatten(x: Any) -> Any:
    if isinstance(x, (list, tuple)):
        for item in x:
            yield from _flatten(item)
    elif isinstance(x, dict):
        for key in sorted(x):
            yield from _flatten(x[key])
    else:
        yield x


def _gate_all(grads: list) -> list:
    """GATE_GRAPH: every gradient is computed before any is used (TF: control_flow_ops.tuple)."""
    present = [g for g in grads if g is not None and isinstance(g, ops.Tensor)]
    if not present:
        return grads
    gated = iter(control_flow_ops.tuple(present))
    return [next(gated) if g is not None and isinstance(g, ops.Tensor) else g for g in grads]


def deduplicate_indexed_slices(values: Any, indices: Any) -> tuple[ops.Tensor, ops.Tensor]:
    """(summed values, unique indices): the rows of repeated indices added up, as TF1's
    ``_deduplicate_indexed_slices`` (unique, then unsorted_segment_sum in order of occurrence)."""
    from graphvar.ops import gradient_ops, shape_ops, training_ops

    unique_indices, new_index_positions = training_ops.unique(indices)
    summed = gradient_ops.unsorted_segment_sum(values, new_index_positions, shape_ops.shape(unique_indices)[0])
    return summed, unique_indices


def _densify(grad: Any, var: Variable) -> ops.Tensor:
    """An IndexedSlices gradient as a dense tensor of the variable's shape (repeated indices summed),
    for an optimizer without a sparse update: rows without a gradient then get a zero gradient."""
    from graphvar.ops import training_ops

    return training_ops.dense_from_slices(grad.values, grad.indices, var)

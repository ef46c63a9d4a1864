"""The global step: an int64 variable named "global_step" in the GLOBAL_STEP collection."""

from __future__ import annotations

import logging
from typing import Any

from graphvar import dtypes
from graphvar.framework import ops
from graphvar.framework.ops import GraphKeys

log = logging.getLogger("graphvar")


def get_global_step(graph: ops.Graph | None = None) -> Any:
    """The global step of `graph`: the one variable in the GLOBAL_STEP collection, else the tensor
    named "global_step:0", else None (several in the collection: None, as TF).

    Raises:
      TypeError: the global step found is not an integer scalar variable or tensor.
    """
    graph = graph or ops.get_default_graph()
    found = graph.get_collection(GraphKeys.GLOBAL_STEP)
    if len(found) == 1:
        step = found[0]
    elif not found:
        try:
            step = graph.get_tensor_by_name("global_step:0")
        except (KeyError, ValueError):
            return None
    else:
        log.error("Multiple tensors in global_step collection.")
        return None
    assert_global_step(step)
    return step


def assert_global_step(global_step_tensor: Any) -> None:
    """Raises TypeError unless `global_step_tensor` is an integer scalar Variable or Tensor."""
    from graphvar.variables import Variable

    if not isinstance(global_step_tensor, (Variable, ops.Tensor)):
        raise TypeError(f'Existing "global_step" must be a Variable or Tensor: {global_step_tensor}.')
    if not global_step_tensor.dtype.is_integer:
        raise TypeError(f'Existing "global_step" does not have integer type: {global_step_tensor.dtype.name}')
    shape = global_step_tensor.get_shape()
    if shape.ndims != 0 and shape.is_fully_defined():
        raise TypeError(f'Existing "global_step" is not scalar: {shape}')


def create_global_step(graph: ops.Graph | None = None) -> Any:
    """Creates the global step: an int64 scalar variable "global_step" (zeros, not trainable) in
    GLOBAL_VARIABLES and GLOBAL_STEP, at the root name scope (in the current variable scope, as TF).

    Raises:
      ValueError: the graph already has a global step.
    """
    from graphvar.ops import init_ops
    from graphvar.variable_scope import get_variable

    graph = graph or ops.get_default_graph()
    if get_global_step(graph) is not None:
        raise ValueError('"global_step" already exists.')
    with graph.as_default(), graph.name_scope(None):
        return get_variable(GraphKeys.GLOBAL_STEP, shape=[], dtype=dtypes.int64,
                            initializer=init_ops.zeros_initializer(), trainable=False,
                            collections=[GraphKeys.GLOBAL_VARIABLES, GraphKeys.GLOBAL_STEP])  # fmt: skip


def get_or_create_global_step(graph: ops.Graph | None = None) -> Any:
    """The global step of `graph`, created (see create_global_step) when it has none."""
    step = get_global_step(graph)
    return step if step is not None else create_global_step(graph)


def global_step(sess: Any, global_step_tensor: Any) -> int:
    """The value of the global step as a Python int."""
    return int(sess.run(global_step_tensor))


def import_meta_graph(meta_graph_or_file: Any, clear_devices: bool = False, import_scope: Any = None,
                      **kwargs: Any) -> Any:  # fmt: skip
    from graphvar.framework import meta_graph_api

    return meta_graph_api.import_meta_graph(meta_graph_or_file, clear_devices, import_scope, **kwargs)


def export_meta_graph(filename: Any = None, **kwargs: Any) -> Any:
    from graphvar.framework import meta_graph_api

    return meta_graph_api.export_meta_graph(filename, **kwargs)


def write_graph(graph_or_graph_def: Any, logdir: str, name: str, as_text: bool = True) -> str:
    from graphvar.framework import meta_graph_api

    return meta_graph_api.write_graph(graph_or_graph_def, logdir, name, as_text)


for _f, _doc in ((import_meta_graph, "import_meta_graph"), (export_meta_graph, "export_meta_graph"),
                 (write_graph, "write_graph")):  # fmt: skip
    _f.__doc__ = f"TF's tf.train.{_doc}: see graphvar.framework.meta_graph_api.{_doc}."

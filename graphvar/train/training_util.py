"""The global step: an int64 variable named "global_step" in the GLOBAL_STEP collection."""

from __future__ import annotations

from typing import Any

from graphvar import dtypes
from graphvar.framework import ops
from graphvar.framework.ops import GraphKeys


def get_global_step(graph: ops.Graph | None = None) -> Any:
    """The global step variable of `graph`, or None."""
    graph = graph or ops.get_default_graph()
    found = graph.get_collection(GraphKeys.GLOBAL_STEP)
    if len(found) > 1:
        raise TypeError("There should only be one global step tensor, found several.")
    return found[0] if found else None


def create_global_step(graph: ops.Graph | None = None) -> Any:
    """Creates the global step variable (ValueError if it exists)."""
    from graphvar.variables import Variable

    graph = graph or ops.get_default_graph()
    if get_global_step(graph) is not None:
        raise ValueError('"global_step" already exists.')
    with graph.as_default(), graph.name_scope(None):
        return Variable(0, trainable=False, dtype=dtypes.int64, name="global_step",
                        collections=[GraphKeys.GLOBAL_VARIABLES, GraphKeys.GLOBAL_STEP])  # fmt: skip


def get_or_create_global_step(graph: ops.Graph | None = None) -> Any:
    step = get_global_step(graph)
    return step if step is not None else create_global_step(graph)


def global_step(sess: Any, global_step_tensor: Any) -> int:
    """The value of the global step as a Python int."""
    return int(sess.run(global_step_tensor))


def import_meta_graph(
    meta_graph_or_file: Any, clear_devices: bool = False, import_scope: Any = None, **kwargs: Any
) -> Any:
    """Not supported: graphvar writes no meta graphs (`Saver.save` accepts write_meta_graph and skips it).

    Raises:
      NotImplementedError: always; rebuild the graph in Python and restore with a Saver.
    """
    raise NotImplementedError(
        f"graphvar does not read meta graphs ({meta_graph_or_file!r}): build the graph in Python, "
        "then restore its variables with tf.train.Saver().restore(sess, path)"
    )


def export_meta_graph(filename: Any = None, **kwargs: Any) -> Any:
    """Not supported: graphvar graphs are Python objects, not GraphDef protos.

    Raises:
      NotImplementedError: always.
    """
    raise NotImplementedError("graphvar does not write meta graphs; checkpoints hold the variables only")

"""Summary ops: ScalarSummary, HistogramSummary, MergeSummary (TF's op types).

Each yields a string scalar, a serialized ``Summary`` protocol buffer, computed on the host
(``backends/summary_kernels.py``); the GPU backend has no kernel, so the Session runs them on
the host and moves their (small) inputs there. ``tf.summary.*`` names them as TF1 does: the
op is named after the tag's scope and put in ``GraphKeys.SUMMARIES``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from graphvar import dtypes
from graphvar.framework import ops
from graphvar.framework.op_registry import register_op
from graphvar.framework.tensor_shape import TensorShape
from graphvar.ops.array_ops import constant

log = logging.getLogger("graphvar")
_INVALID_TAG_CHARACTERS = re.compile(r"[^-/\w\.]")


def _summary_spec(op: Any) -> list:
    if op.type == "MergeSummary":
        if not op._inputs:
            raise ValueError("MergeSummary needs at least one input")
        inputs = op._inputs
    else:
        tag, values = op._inputs
        if tag.dtype != dtypes.string:
            raise TypeError(f"{op.type} {op.name!r}: the tag must be a string tensor, got {tag.dtype.name}")
        if not (values.dtype.is_floating or values.dtype.is_integer):
            raise TypeError(f"{op.type} {op.name!r}: values must be a real number tensor, got {values.dtype.name}")
        inputs = [tag]
    for t in inputs:
        if t.dtype != dtypes.string:
            raise TypeError(f"{op.type} {op.name!r}: expected string inputs, got {t.dtype.name} from {t.name!r}")
    return [(dtypes.string, TensorShape([]))]


register_op("ScalarSummary", _summary_spec)
register_op("HistogramSummary", _summary_spec)
register_op("MergeSummary", _summary_spec)


def clean_tag(name: str | None) -> str | None:
    """TF's tag cleaning: characters outside [-/\\w.] become "_", leading slashes go (logged)."""
    if name is None:
        return None
    new_name = _INVALID_TAG_CHARACTERS.sub("_", name).lstrip("/")
    if new_name != name:
        log.info("Summary name %s is illegal; using %s instead.", name, new_name)
    return new_name


@contextmanager
def summary_scope(name: str, family: str | None = None, values: Any = None) -> Iterator[tuple[str, str]]:
    """Yields (tag, scope) as TF1's ``summary_op_util.summary_scope``: the family prefixes both."""
    name, family = clean_tag(name), clean_tag(family)
    base = name if family is None else f"{family}/{name}"
    with ops.name_scope(base, values=values) as scope:
        tag = scope.rstrip("/") if family is None else f"{family}/{scope.rstrip('/')}"
        yield tag, scope


def _collect(value: ops.Tensor, collections: Any, default: list[str]) -> None:
    for key in default if collections is None else collections:
        value.graph.add_to_collection(key, value)


def _summary_op(op_type: str, name: str, tensor: Any, collections: Any, family: str | None) -> ops.Tensor:
    values = ops.convert_to_tensor(tensor)
    with values.graph.as_default(), summary_scope(name, family, values=[values]) as (tag, scope):
        tag_input = constant(tag, name="tags" if op_type == "ScalarSummary" else "tag")
        out = values.graph.create_op(op_type, [tag_input, values], name=scope).outputs[0]
    _collect(out, collections, [ops.GraphKeys.SUMMARIES])
    return out


def scalar(name: str, tensor: Any, collections: Any = None, family: str | None = None) -> ops.Tensor:
    """A `Summary` with one simple value, the scalar `tensor` (as float32).

    Args:
      name: the tag (under the current name scope, and `family` if given).
      tensor: a real scalar tensor.
      collections: graph collections to add the op to (default: [GraphKeys.SUMMARIES]).
      family: a tag prefix, shown as a TensorBoard tab.

    Returns:
      A string scalar tensor: the serialized Summary.

    Example:
      >>> tf.summary.scalar("loss", loss)
    """
    return _summary_op("ScalarSummary", name, tensor, collections, family)


def histogram(name: str, values: Any, collections: Any = None, family: str | None = None) -> ops.Tensor:
    """A `Summary` with a histogram of `values` (any shape) in TF's exponential buckets.

    Running it raises InvalidArgumentError if a value is NaN or infinite, as TF.

    Returns:
      A string scalar tensor: the serialized Summary.
    """
    return _summary_op("HistogramSummary", name, values, collections, family)


def merge(inputs: Any, collections: Any = None, name: str | None = None) -> ops.Tensor:
    """One `Summary` holding the values of all `inputs` (string tensors of serialized Summaries).

    Running it raises InvalidArgumentError on a tag found twice, as TF.
    """
    tensors = [ops.convert_to_tensor(t) for t in inputs]
    graph = tensors[0].graph if tensors else ops.get_default_graph()
    with graph.as_default(), ops.name_scope(name, "Merge", tensors):
        out = graph.create_op("MergeSummary", tensors, {"N": len(tensors)}, name=name).outputs[0]
    _collect(out, collections, [])
    return out


def merge_all(key: str = ops.GraphKeys.SUMMARIES, scope: str | None = None, name: str | None = None) -> Any:
    """`merge` of every summary in the collection `key` (optionally filtered by `scope`); None if empty."""
    summaries = ops.get_collection(key, scope=scope)
    if not summaries:
        return None
    return merge(summaries, name=name)

"""Summary ops: ScalarSummary, HistogramSummary, ImageSummary, AudioSummaryV2, TensorSummaryV2 (text),
MergeSummary (TF's op types).

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


def _media_spec(op: Any) -> list:
    """ImageSummary (tag, [batch, h, w, 1|3|4]), AudioSummaryV2 (tag, [batch, frames(, channels)], sample_rate),
    TensorSummaryV2 (tag, tensor, serialized metadata)."""
    tag, values = op._inputs[:2]
    where = f"{op.type} {op.name!r}"
    if tag.dtype != dtypes.string:
        raise TypeError(f"{where}: the tag must be a string tensor, got {tag.dtype.name}")
    dims = values.shape.as_list() if values.shape.ndims is not None else None
    if op.type == "ImageSummary":
        if values.dtype not in (dtypes.uint8, dtypes.float16, dtypes.float32, dtypes.float64):
            raise TypeError(f"{where}: images must be uint8, float16, float32 or float64, got {values.dtype.name}")
        if dims is not None and (len(dims) != 4 or dims[3] not in (None, 1, 3, 4)):
            raise ValueError(f"{where}: Tensor must be 4-D with last dim 1, 3, or 4, not {values.shape}")
    elif op.type == "AudioSummaryV2":
        if values.dtype != dtypes.float32:
            raise TypeError(f"{where}: audio must be float32, got {values.dtype.name}")
        if dims is not None and len(dims) not in (2, 3):
            raise ValueError(f"{where}: Tensor must be 3-D or 2-D, got: {values.shape}")
    return [(dtypes.string, TensorShape([]))]


register_op("ImageSummary", _media_spec)
register_op("AudioSummaryV2", _media_spec)
register_op("TensorSummaryV2", _media_spec)


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


def image(
    name: str, tensor: Any, max_outputs: int = 3, collections: Any = None, family: str | None = None
) -> ops.Tensor:
    """A `Summary` with up to `max_outputs` PNG images of a [batch, height, width, channels] tensor.

    Channels: 1 (grayscale), 3 (RGB) or 4 (RGBA). uint8 images are written as they are; float images are
    rescaled per image as TF does (min >= 0: the max becomes 255; else the largest magnitude becomes 127
    around 128), pixels with a NaN or Inf become red. Tags are "<name>/image/<i>" ("<name>/image" when
    max_outputs is 1).

    Returns:
      A string scalar tensor: the serialized Summary.

    Example:
      >>> tf.summary.image("inputs", tf.reshape(x, [-1, 28, 28, 1]), max_outputs=4)
    """
    images = ops.convert_to_tensor(tensor)
    with images.graph.as_default(), summary_scope(name, family, values=[images]) as (tag, scope):
        tag_input = constant(tag, name="tag")
        attrs = {"max_images": int(max_outputs), "bad_color": (255, 0, 0, 255)}
        out = images.graph.create_op("ImageSummary", [tag_input, images], attrs, name=scope).outputs[0]
    _collect(out, collections, [ops.GraphKeys.SUMMARIES])
    return out


def audio(name: str, tensor: Any, sample_rate: Any, max_outputs: int = 3, collections: Any = None,
          family: str | None = None) -> ops.Tensor:  # fmt: skip
    """A `Summary` with up to `max_outputs` 16-bit WAV clips of a float32 [batch, frames(, channels)] tensor
    of samples in [-1, 1] (clipped), at `sample_rate` Hz. Tags are "<name>/audio/<i>" ("<name>/audio" when
    max_outputs is 1).

    Returns:
      A string scalar tensor: the serialized Summary.
    """
    clips = ops.convert_to_tensor(tensor)
    with clips.graph.as_default(), summary_scope(name, family, values=[clips]) as (tag, scope):
        tag_input = constant(tag, name="tag")
        rate = ops.convert_to_tensor(sample_rate, dtype=dtypes.float32, name="sample_rate")
        attrs = {"max_outputs": int(max_outputs)}
        out = clips.graph.create_op("AudioSummaryV2", [tag_input, clips, rate], attrs, name=scope).outputs[0]
    _collect(out, collections, [ops.GraphKeys.SUMMARIES])
    return out


def text(name: str, tensor: Any, collections: Any = None) -> ops.Tensor:
    """A `Summary` for TensorBoard's text plugin: the string `tensor` (any shape) as a TensorProto.

    Raises:
      ValueError: `tensor` is not a string tensor.
    """
    from graphvar.proto import summary_pb2

    strings = ops.convert_to_tensor(tensor)
    if strings.dtype != dtypes.string:
        raise ValueError(f"Expected tensor {strings.name} to have dtype string, got {strings.dtype.name}")
    metadata = summary_pb2.SummaryMetadata()
    metadata.plugin_data.plugin_name = "text"
    with strings.graph.as_default(), summary_scope(name, None, values=[strings]) as (tag, scope):
        tag_input = constant(tag, name="tag")
        meta = constant(metadata.SerializeToString(), name="serialized_summary_metadata")
        out = strings.graph.create_op("TensorSummaryV2", [tag_input, strings, meta], name=scope).outputs[0]
    _collect(out, collections, [ops.GraphKeys.SUMMARIES])
    return out


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

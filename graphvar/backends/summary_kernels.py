"""Host kernels of the summary ops: each returns a serialized ``Summary`` (a bytes scalar)."""

from __future__ import annotations

from typing import Any

import numpy as np

from graphvar import errors


def _bytes_scalar(data: bytes) -> np.ndarray:
    out = np.empty((), dtype=object)
    out[()] = data
    return out


def _text(tag: Any) -> str:
    return tag.decode("utf-8", "replace") if isinstance(tag, bytes) else str(tag)


def scalar_summary(step: Any, args: list, ctx: Any) -> np.ndarray:
    from graphvar.proto import summary_pb2

    tags, values = np.asarray(args[0], dtype=object), np.asarray(args[1])
    if tags.shape != values.shape:
        raise errors.InvalidArgumentError(
            None, step.op,
            f"tags and values not the same shape: {list(tags.shape)} != {list(values.shape)}"
            + (f" (tag '{_text(tags[()])}')" if tags.ndim == 0 else ""),
        )  # fmt: skip
    summary = summary_pb2.Summary()
    for tag, value in zip(tags.reshape(-1), values.reshape(-1)):
        summary.value.add(tag=_text(tag), simple_value=float(np.float32(value)))
    return _bytes_scalar(summary.SerializeToString())


def histogram_summary(step: Any, args: list, ctx: Any) -> np.ndarray:
    from graphvar.proto import summary_pb2
    from graphvar.summary.buckets import histogram_fields

    tag, values = args[0], np.asarray(args[1])
    x = values.astype(np.float64, copy=False)
    finite = np.isfinite(x)
    if not finite.all():
        first = x.reshape(-1)[np.argmin(finite.reshape(-1))]
        what = "Nan" if np.isnan(first) else "Infinity"
        raise errors.InvalidArgumentError(None, step.op, f"{what} in summary histogram for: {step.op.name}")
    summary = summary_pb2.Summary()
    summary.value.add(tag=_text(np.asarray(tag, dtype=object)[()]), histo=histogram_fields(x))
    return _bytes_scalar(summary.SerializeToString())


def merge_summary(step: Any, args: list, ctx: Any) -> np.ndarray:
    from google.protobuf.message import DecodeError

    from graphvar.proto import summary_pb2

    merged, seen = summary_pb2.Summary(), set()
    for arg in args:
        for data in np.asarray(arg, dtype=object).reshape(-1):
            part = summary_pb2.Summary()
            try:
                part.ParseFromString(bytes(data))
            except DecodeError:
                raise errors.InvalidArgumentError(None, step.op, "Could not parse one of the summary inputs") from None
            for value in part.value:
                if value.tag and value.tag in seen:
                    raise errors.InvalidArgumentError(
                        None, step.op, f"Duplicate tag {value.tag} found in summary inputs"
                    )
                seen.add(value.tag)
                merged.value.append(value)
    return _bytes_scalar(merged.SerializeToString())


def summary_kernels() -> dict[str, Any]:
    return {"ScalarSummary": scalar_summary, "HistogramSummary": histogram_summary, "MergeSummary": merge_summary}

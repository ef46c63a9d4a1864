"""Host kernels of the summary ops: each returns a serialized ``Summary`` (a bytes scalar). Images become
PNGs and audio WAVs through ``graphvar/summary/media.py``."""

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


def _media_tags(tag: str, kind: str, count: int, max_outputs: int) -> list[str]:
    return [f"{tag}/{kind}" if max_outputs == 1 else f"{tag}/{kind}/{i}" for i in range(count)]


def normalize_image(image: np.ndarray, bad_color: np.ndarray) -> np.ndarray:
    """TF's NormalizeFloatImage: [h, w, c] floats to uint8 by one affine map per image (min and max over
    the pixels with no NaN / Inf, in float32), truncated; non-finite pixels become `bad_color`."""
    dtype = np.float64 if image.dtype == np.float64 else np.float32
    values = image.astype(dtype, copy=False)
    finite = np.isfinite(values).all(axis=-1)
    good = values[finite].astype(np.float32)
    lo = good.min() if good.size else np.float32(np.inf)
    hi = good.max() if good.size else np.float32(-np.inf)
    if lo < 0:
        max_val = max(abs(lo), abs(hi))
        scale, offset = (np.float32(0) if max_val < 1e-6 else np.float32(127) / max_val), np.float32(128)
    else:
        scale, offset = (np.float32(0) if hi < 1e-6 else np.float32(255) / hi), np.float32(0)
    with np.errstate(invalid="ignore"):
        out = (values * dtype(scale) + dtype(offset)).astype(np.uint8)
    out[~finite] = bad_color[: image.shape[-1]]
    return out


def image_summary(step: Any, args: list, ctx: Any) -> np.ndarray:
    from graphvar.proto import summary_pb2
    from graphvar.summary.media import encode_png

    tag, images = _text(np.asarray(args[0], dtype=object)[()]), np.asarray(args[1])
    if images.ndim != 4 or images.shape[3] not in (1, 3, 4):
        raise errors.InvalidArgumentError(
            None, step.op, f"{step.op.name}: Tensor must be 4-D with last dim 1, 3, or 4, not {list(images.shape)}"
        )
    a = step.attrs
    count = min(images.shape[0], a["max_images"])
    bad = np.asarray(a["bad_color"], np.uint8)
    summary = summary_pb2.Summary()
    for i, t in enumerate(_media_tags(tag, "image", count, a["max_images"])):
        pixels = images[i] if images.dtype == np.uint8 else normalize_image(images[i], bad)
        h, w, c = pixels.shape
        v = summary.value.add(tag=t)
        v.image.height, v.image.width, v.image.colorspace = h, w, c
        v.image.encoded_image_string = encode_png(pixels)
    return _bytes_scalar(summary.SerializeToString())


def audio_summary(step: Any, args: list, ctx: Any) -> np.ndarray:
    from graphvar.proto import summary_pb2
    from graphvar.summary.media import encode_wav

    tag, clips, rate = _text(np.asarray(args[0], dtype=object)[()]), np.asarray(args[1]), float(args[2])
    if clips.ndim not in (2, 3):
        raise errors.InvalidArgumentError(None, step.op, f"{step.op.name}: Tensor must be 3-D or 2-D, got: "
                                          f"{list(clips.shape)}")  # fmt: skip
    if rate <= 0:
        raise errors.InvalidArgumentError(None, step.op, f"{step.op.name}: sample_rate must be > 0, got {rate}")
    clips = clips if clips.ndim == 3 else clips[:, :, None]
    a = step.attrs
    count = min(clips.shape[0], a["max_outputs"])
    summary = summary_pb2.Summary()
    for i, t in enumerate(_media_tags(tag, "audio", count, a["max_outputs"])):
        v = summary.value.add(tag=t)
        v.audio.sample_rate, v.audio.num_channels, v.audio.length_frames = rate, clips.shape[2], clips.shape[1]
        v.audio.content_type = "audio/wav"
        v.audio.encoded_audio_string = encode_wav(clips[i], int(rate))
    return _bytes_scalar(summary.SerializeToString())


def tensor_summary(step: Any, args: list, ctx: Any) -> np.ndarray:
    from graphvar.summary.media import string_tensor_proto, tensor_summary_value

    tag = _text(np.asarray(args[0], dtype=object)[()])
    values, metadata = np.asarray(args[1], dtype=object), bytes(np.asarray(args[2], dtype=object)[()])
    return _bytes_scalar(tensor_summary_value(tag, string_tensor_proto(values), metadata))


def summary_kernels() -> dict[str, Any]:
    return {"ScalarSummary": scalar_summary, "HistogramSummary": histogram_summary, "MergeSummary": merge_summary,
            "ImageSummary": image_summary, "AudioSummaryV2": audio_summary, "TensorSummaryV2": tensor_summary}  # fmt: skip

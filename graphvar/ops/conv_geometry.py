"""Window geometry shared by the convolution / pooling ops and their kernels (TF's rules).

One spatial dimension at a time: an input of `size`, a window of `k` taps `dilation` apart, moved
`stride` at a time. TF's SAME pads ``max((out - 1) * stride + k_eff - size, 0)`` in total, the
smaller half before (so an odd total puts the extra row at the bottom / right); VALID pads nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

PADDINGS = ("SAME", "VALID", "EXPLICIT")


def effective_size(k: int, dilation: int) -> int:
    return (k - 1) * dilation + 1


def out_and_pads(
    size: int | None, k: int, stride: int, dilation: int, padding: str, explicit: tuple[int, int] = (0, 0)
) -> tuple[int | None, tuple[int, int]]:
    """(output size, (pad before, pad after)) of one spatial dimension; output None when size is.

    Raises:
      ValueError: the window does not fit (a negative output size), as TF's shape function.
    """
    eff = effective_size(k, dilation)
    if size is None:
        return None, (0, 0)
    if padding == "SAME":
        out = -(-size // stride)
        total = max((out - 1) * stride + eff - size, 0)
        return out, (total // 2, total - total // 2)
    before, after = explicit if padding == "EXPLICIT" else (0, 0)
    padded = size + before + after
    if padded < eff:
        raise ValueError(
            f"Computed output size would be negative: {(padded - eff) // stride + 1} "
            f"[input_size: {size}, effective_filter_size: {eff}, stride: {stride}]"
        )
    return (padded - eff) // stride + 1, (before, after)


def spatial_axes(data_format: str) -> tuple[int, int, int]:
    """(height axis, width axis, channel axis) of a 4-D tensor in `data_format`."""
    if data_format == "NHWC":
        return 1, 2, 3
    if data_format == "NCHW":
        return 2, 3, 1
    raise ValueError(f"data_format must be 'NHWC' or 'NCHW', got {data_format!r}")


def four(value: Any, data_format: str, what: str) -> tuple[int, int, int, int]:
    """TF's 1 / 2 / 4-element stride, dilation or ksize argument as four ints in `data_format` order."""
    if isinstance(value, int):
        value = [value]
    vals = [int(v) for v in value]
    h, w, c = spatial_axes(data_format)
    if len(vals) == 1:
        vals = vals * 2
    if len(vals) == 2:
        out = [1, 1, 1, 1]
        out[h], out[w] = vals
        vals = out
    if len(vals) != 4:
        raise ValueError(f"{what} must have 1, 2 or 4 elements, got {list(value)}")
    if vals[0] != 1 or vals[c] != 1:
        raise ValueError(f"{what}: the batch and depth dimensions must be 1 (graphvar does not pool or stride over them), got {vals}")  # fmt: skip
    if min(vals) < 1:
        raise ValueError(f"{what} must be >= 1, got {vals}")
    return tuple(vals)  # type: ignore[return-value]


def padding_attr(padding: Any, data_format: str) -> tuple[str, tuple[int, ...]]:
    """("SAME" | "VALID" | "EXPLICIT", explicit_paddings) from TF's padding argument (a string or 4 pairs)."""
    if isinstance(padding, (str, bytes)):
        p = padding.decode() if isinstance(padding, bytes) else padding
        if p.upper() not in ("SAME", "VALID"):
            raise ValueError(f"padding must be 'SAME', 'VALID' or a list of 4 [before, after] pairs, got {padding!r}")
        return p.upper(), ()
    pairs = [list(map(int, p)) for p in padding]
    if len(pairs) != 4 or any(len(p) != 2 for p in pairs):
        raise ValueError(f"explicit padding must be 4 [before, after] pairs, got {padding!r}")
    _, _, c = spatial_axes(data_format)
    if pairs[0] != [0, 0] or pairs[c] != [0, 0]:
        raise ValueError(f"explicit padding of the batch and depth dimensions must be 0, got {padding!r}")
    if min(min(p) for p in pairs) < 0:
        raise ValueError(f"explicit padding must be >= 0, got {padding!r}")
    return "EXPLICIT", tuple(v for p in pairs for v in p)


def window_2d(
    in_hw: Sequence[int | None], k_hw: Sequence[int], attrs: dict
) -> tuple[list[int | None], list[tuple[int, int]]]:
    """Output (h, w) and pads of a 2-D window op from its attrs (strides, padding, dilations, data_format)."""
    h, w, _ = spatial_axes(attrs["data_format"])
    strides, dil = attrs["strides"], attrs.get("dilations", (1, 1, 1, 1))
    explicit = attrs.get("explicit_paddings", ())
    outs, pads = [], []
    for i, axis in enumerate((h, w)):
        pair = (explicit[2 * axis], explicit[2 * axis + 1]) if explicit else (0, 0)
        o, p = out_and_pads(in_hw[i], k_hw[i], strides[axis], dil[axis], attrs["padding"], pair)
        outs.append(o)
        pads.append(p)
    return outs, pads

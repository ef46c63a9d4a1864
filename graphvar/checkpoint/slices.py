"""Slices of partitioned tensors, as TensorFlow's tensor bundle stores them.

A partitioned variable ``emb`` [10, 4] saved in parts is one *full entry* under ``emb`` (dtype,
full shape, and the list of its slices: ``BundleEntryProto.slices``, no data) plus one data entry
per slice under a *slice key* (``saved_tensor_slice_util.cc``'s ``EncodeTensorNameSlice``):
OrderedCode ``NumIncreasing(0)``, ``String(name)``, ``NumIncreasing(rank)``, then
``SignedNumIncreasing(start), SignedNumIncreasing(length)`` per dimension. Slice keys begin with
a NUL byte, so they sort before every ordinary name.

A slice is a tuple of ``(start, length)`` extents, one per dimension; length -1 is TF's
``kFullExtent`` (the whole dimension, start 0). TF's text form is ``"10 4 0,5:0,4"`` (full
shape, then ``start,length`` or ``-`` per dimension), as ``SaveSliceInfo.spec`` writes it.
"""

from __future__ import annotations

from typing import Any

import crc32c as _crc32c
import numpy as np

from graphvar import errors
from graphvar.checkpoint import streaming
from graphvar.checkpoint.proto import ProtoError, encode_varint, iter_fields

Extent = tuple[int, int]
Slice = tuple[Extent, ...]
FULL = -1  # TF's TensorSlice::kFullExtent

# OrderedCode (tensorflow/core/lib/strings/ordered_code.cc): header bits by encoding length, and
# the encoding length of a signed number by its bit count.
_HEADER_BITS = ((0, 0), (0x80, 0), (0xC0, 0), (0xE0, 0), (0xF0, 0), (0xF8, 0), (0xFC, 0), (0xFE, 0), (0xFF, 0),
                (0xFF, 0x80), (0xFF, 0xC0))  # fmt: skip


def _num_increasing(n: int) -> bytes:
    body = n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b""
    return bytes([len(body)]) + body


def _signed_num_increasing(v: int) -> bytes:
    x = ~v if v < 0 else v
    if x < 64:
        return bytes([(0x80 ^ v) & 0xFF])
    length = x.bit_length() // 7 + 1  # kBitsToLength[bits]
    raw = bytearray((v & ((1 << 80) - 1)).to_bytes(10, "big")[10 - length :])
    raw[0] ^= _HEADER_BITS[length][0]
    raw[1] ^= _HEADER_BITS[length][1]
    return bytes(raw)


def slice_key(name: str, extents: Slice) -> bytes:
    """TF's EncodeTensorNameSlice(name, slice): the key of one slice's data entry."""
    escaped = b"\x00\xff".join(part.replace(b"\xff", b"\xff\x00") for part in name.encode().split(b"\x00"))
    out = bytearray(_num_increasing(0) + escaped + b"\x00\x01" + _num_increasing(len(extents)))
    for start, length in extents:
        out += _signed_num_increasing(start) + _signed_num_increasing(length)
    return bytes(out)


def slice_key_name(key: bytes) -> bytes | None:
    """The tensor name in a slice key, or None if ``key`` is not one (fast: no number is decoded)."""
    if not key.startswith(b"\0"):
        return None
    out, i = bytearray(), 1
    while i + 1 < len(key):
        b, nxt = key[i], key[i + 1]
        if b == 0x00:
            if nxt == 0x01:
                return bytes(out)
            if nxt != 0xFF:
                return None
            out.append(0x00)
            i += 2
        elif b == 0xFF:
            if nxt != 0x00:
                return None
            out.append(0xFF)
            i += 2
        else:
            out.append(b)
            i += 1
    return None


# ---- TensorSliceProto: repeated Extent extent = 1; Extent {int64 start = 1; oneof {int64 length = 2}} ----
def encode_slice(extents: Slice) -> bytes:
    """TensorSliceProto bytes as TensorSlice::AsProto emits them (a full dimension is an empty Extent)."""
    out = bytearray()
    for start, length in extents:
        body = (
            b""
            if length == FULL
            else (b"\x08" + encode_varint(start) if start else b"") + b"\x10" + encode_varint(length)
        )
        out += b"\x0a" + encode_varint(len(body)) + body
    return bytes(out)


def decode_slice(buf: bytes) -> Slice:
    extents = []
    for field, wire, val in iter_fields(buf):
        if field != 1:
            continue
        if wire != 2:
            raise ProtoError("TensorSliceProto.extent is not a message")
        start, length = 0, FULL
        for f2, w2, v2 in iter_fields(val):
            if f2 in (1, 2) and w2 == 0:
                v2 = v2 - (1 << 64) if v2 >= 1 << 63 else v2
                start, length = (v2, length) if f2 == 1 else (start, v2)
        extents.append((start, length))
    return tuple(extents)


# ---- windows ----
def resolve(extents: Slice, full_shape: tuple[int, ...]) -> tuple[tuple[int, int], ...]:
    """(start, length) per dimension with full extents made explicit."""
    return tuple((0, d) if length == FULL else (start, length) for (start, length), d in zip(extents, full_shape))


def is_full(extents: Slice, full_shape: tuple[int, ...]) -> bool:
    """Whether the slice covers the whole tensor (TF's IsFullSlice: then it is saved as a plain entry)."""
    return resolve(extents, full_shape) == tuple((0, d) for d in full_shape)


def check_window(extents: Slice, full_shape: tuple[int, ...]) -> str:
    """'' if the slice lies inside ``full_shape``, else what is wrong with it."""
    if len(extents) != len(full_shape):
        return (
            f"slice {spec_string(full_shape, extents)} has rank {len(extents)}, the tensor has rank {len(full_shape)}"
        )
    for d, ((start, length), size) in enumerate(zip(extents, full_shape)):
        if length == FULL and start == 0:
            continue
        if start < 0 or length < 0 or start + length > size:
            return f"dimension {d}: [{start}, {start + length}) is outside [0, {size})"
    return ""


def intersect(a: tuple[Extent, ...], b: tuple[Extent, ...]) -> tuple[Extent, ...] | None:
    """The intersection of two resolved slices, or None if it is empty."""
    out = []
    for (sa, la), (sb, lb) in zip(a, b):
        lo, hi = max(sa, sb), min(sa + la, sb + lb)
        if hi <= lo:
            return None
        out.append((lo, hi - lo))
    return tuple(out)


def covered(window: tuple[Extent, ...], pieces: list[tuple[Extent, ...]]) -> bool:
    """Whether the union of ``pieces`` covers every element of ``window`` (counts overlap-free volume,
    as TF's TensorSliceSet::QueryMeta does, which also refuses overlapping slices)."""
    need = 1
    for _, length in window:
        need *= length
    got = 0
    for p in pieces:
        part = intersect(window, p)
        if part is not None:
            n = 1
            for _, length in part:
                n *= length
            got += n
    return got >= need


def parse_spec(spec: str) -> tuple[tuple[int, ...], Slice]:
    """TF's shape-and-slice text ``"10 4 0,5:-"`` -> (full shape, slice). ValueError if malformed."""
    parts = spec.split()
    if len(parts) < 1:
        raise ValueError(f"bad slice spec {spec!r}")
    try:
        full = tuple(int(p) for p in parts[:-1])
        extents = []
        for e in parts[-1].split(":"):
            if e == "-":
                extents.append((0, FULL))
            else:
                s, n = e.split(",")
                extents.append((int(s), int(n)))
    except ValueError as err:
        raise ValueError(f"bad slice spec {spec!r}") from err
    if len(extents) != len(full):
        raise ValueError(f"slice spec {spec!r}: {len(extents)} extents for a rank-{len(full)} shape")
    return full, tuple(extents)


def spec_string(full_shape: tuple[int, ...], extents: Slice) -> str:
    """The text form of (full shape, slice), as TF's SaveSliceInfo.spec writes it."""
    body = ":".join("-" if n == FULL else f"{s},{n}" for s, n in extents)
    return " ".join(str(d) for d in full_shape) + " " + body


__all__ = [
    "FULL",
    "assemble",
    "check_window",
    "covered",
    "decode_slice",
    "encode_slice",
    "intersect",
    "is_full",
    "parse_spec",
    "resolve",
    "slice_key",
    "slice_key_name",
    "spec_string",
]


# ---- reading a window ----
def assemble(reader: Any, info: Any, pieces: list[tuple[tuple[Extent, ...], Any]], window: Any, out: Any) -> np.ndarray:
    """Fills ``out`` (or a new array) with ``window`` of tensor ``info`` from its stored ``pieces``
    (resolved extents, TensorInfo of the piece's bytes). Only the pieces that intersect the window
    are read, each whole (its CRC covers all of it), through one chunk buffer.

    Raises:
      InvalidArgumentError: the window lies outside the tensor, or ``out`` does not fit it.
      InternalError: the stored slices do not cover the window (TF's wording).
      DataLossError: a piece fails its CRC or its file is short.
    """
    full = tuple(info.shape)
    if window is None:
        window = tuple((0, d) for d in full)
    window = tuple((int(a), int(b)) for a, b in window)
    problem = check_window(window, full)
    if problem:
        raise errors.InvalidArgumentError(
            None, None, f"read_slice of tensor {info.name} (shape {list(full)}): {problem}"
        )
    window = resolve(window, full)
    wshape = tuple(n for _, n in window)
    if out is None:
        out = np.empty(wshape, info.dtype.np)
    elif tuple(out.shape) != wshape or out.dtype != info.dtype.np:
        raise errors.InvalidArgumentError(
            None, None, f"window {spec_string(full, window)} of tensor {info.name} is {info.dtype.name} "
            f"{list(wshape)}; out is {out.dtype} {tuple(out.shape)}"
        )  # fmt: skip
    if not covered(window, [ext for ext, _ in pieces]):
        raise errors.InternalError(
            None, None, f"Does not have sufficient slices for partitioned tensor {info.name} to restore in "
            f"slice_spec: {spec_string(full, window)}"
        )  # fmt: skip
    for ext, piece in pieces:
        part = intersect(window, ext)
        if part is not None or not window:
            try:
                _copy_piece(reader, piece, ext, window, part or (), out)
            except (OSError, streaming.ShortReadError) as e:
                raise reader._read_error(piece, e) from e
    return out


def _copy_piece(reader: Any, piece: Any, ext: tuple, window: tuple, part: tuple, out: np.ndarray) -> None:
    with reader._open(piece) as fd:
        if ext == window and out.flags.c_contiguous and out.flags.writeable:  # the whole piece: straight in
            view = streaming.byte_view(out.reshape(-1).view(np.uint8), writable=True)
            crc = streaming.read_stream(fd, piece.offset, view, reader._pool)
            reader._check_crc(piece, crc)
            return
        shape = tuple(n for _, n in ext)
        row_bytes = out.dtype.itemsize * int(np.prod(shape[1:], dtype=np.int64))
        rows = max(1, streaming.CHUNK_SIZE // max(row_bytes, 1))
        buf = memoryview(bytearray(min(rows, shape[0]) * row_bytes))
        src = tuple(slice(lo - ps, lo - ps + n) for (lo, n), (ps, _) in zip(part[1:], ext[1:]))
        dst = tuple(slice(lo - ws, lo - ws + n) for (lo, n), (ws, _) in zip(part[1:], window[1:]))
        (lo0, n0), ps0, ws0 = part[0], ext[0][0], window[0][0]
        crc = 0
        for r0 in range(0, shape[0] if row_bytes else 0, rows):
            r1 = min(shape[0], r0 + rows)
            view = buf[: (r1 - r0) * row_bytes]
            streaming.pread_into(fd, view, piece.offset + r0 * row_bytes)
            crc = _crc32c.crc32c(view, crc)
            g0, g1 = max(ps0 + r0, lo0), min(ps0 + r1, lo0 + n0)
            if g1 > g0:
                rows_arr = np.frombuffer(view, out.dtype).reshape((r1 - r0,) + shape[1:])
                out[(slice(g0 - ws0, g1 - ws0),) + dst] = rows_arr[(slice(g0 - ps0 - r0, g1 - ps0 - r0),) + src]
    reader._check_crc(piece, crc)

"""Fast paths for the BundleEntryProto of a plain tensor: the bytes and values of ``proto.BundleEntry``.

An index holds one BundleEntryProto per tensor, so a model of 10,000 small variables encodes
and decodes 10,000 of them per save / restore; the generic field-by-field code in
:mod:`graphvar.checkpoint.proto` costs several microseconds each. A plain tensor's entry, as
TensorFlow and graphvar write it, is always laid out the same way::

    08 dtype | 12 len shape | 18 shard_id | 20 offset | 28 size | 35 crc32c (4 bytes)

(zero scalars omitted, fields in number order). :func:`encode_entry` writes that layout with the
shape's bytes cached per shape; :func:`decode_entry` parses exactly that layout and hands anything
else (slices, unknown fields, repeated or reordered fields, overlong varints, damage) to
``BundleEntry.decode``, so both give what the generic code gives, byte for byte and error for error
(``tests/checkpoint/test_entry_codec.py`` compares them on random and mutated entries).
"""

from __future__ import annotations

import struct

from graphvar.checkpoint.proto import BundleEntry, ProtoError, decode_varint, encode_varint

_MAX_CACHED = 4096  # distinct shapes remembered; a hostile index cannot grow the caches past this
_shape_fields: dict[tuple[int, ...], bytes] = {}  # shape -> field 2 (tag, length, TensorShapeProto)
_shape_values: dict[bytes, tuple[tuple[int, ...], bool]] = {}  # TensorShapeProto bytes -> (dims, unknown_rank)
_pack_crc = struct.Struct("<I").pack


def _varint(n: int) -> bytes:
    if 0 <= n < 0x80:
        return bytes((n,))
    if 0 <= n < 0x4000:
        return bytes(((n & 0x7F) | 0x80, n >> 7))
    if 0 <= n < 0x10000000:
        return (
            bytes(((n & 0x7F) | 0x80, (n >> 7 & 0x7F) | 0x80, (n >> 14 & 0x7F) | 0x80, n >> 21))
            if n >= 0x200000
            else bytes(((n & 0x7F) | 0x80, (n >> 7 & 0x7F) | 0x80, n >> 14))
        )
    return encode_varint(n)


def _shape_field(shape: tuple[int, ...]) -> bytes:
    field = _shape_fields.get(shape)
    if field is None:
        dims = b"".join(b"\x12" + _varint(len(d)) + d for d in (b"\x08" + _varint(n) if n else b"" for n in shape))
        field = b"\x12" + _varint(len(dims)) + dims
        if len(_shape_fields) >= _MAX_CACHED:
            _shape_fields.clear()
        _shape_fields[shape] = field
    return field


def encode_entry(e: BundleEntry) -> bytes:
    """``e.encode()``, faster for a plain (unsliced) tensor's entry."""
    if e.slices:
        return e.encode()
    out = b"\x08" + _varint(e.dtype) + _shape_field(e.shape) if e.dtype else _shape_field(e.shape)
    if e.shard_id:
        out += b"\x18" + _varint(e.shard_id)
    if e.offset:
        out += b"\x20" + _varint(e.offset)
    if e.size:
        out += b"\x28" + _varint(e.size)
    if e.crc32c:
        out += b"\x35" + _pack_crc(e.crc32c)
    return out


def _uvarint(buf: bytes, pos: int) -> tuple[int, int]:
    """A varint of at most 4 bytes inline; longer ones through decode_varint (IndexError past the end)."""
    b = buf[pos]
    if b < 0x80:
        return b, pos + 1
    b1 = buf[pos + 1]
    if b1 < 0x80:
        return (b & 0x7F) | b1 << 7, pos + 2
    b2 = buf[pos + 2]
    if b2 < 0x80:
        return (b & 0x7F) | (b1 & 0x7F) << 7 | b2 << 14, pos + 3
    b3 = buf[pos + 3]
    if b3 < 0x80:  # offsets of 2 to 256 MiB
        return (b & 0x7F) | (b1 & 0x7F) << 7 | (b2 & 0x7F) << 14 | b3 << 21, pos + 4
    value, pos = decode_varint(buf, pos)
    return (value - (1 << 64) if value >= 1 << 63 else value), pos


def _shape_value(raw: bytes) -> tuple[tuple[int, ...], bool]:
    got = _shape_values.get(raw)
    if got is None:
        probe = BundleEntry()
        probe._decode_shape(raw)  # raises ProtoError on damage, as the generic decode would
        got = (probe.shape, probe.unknown_rank)
        if len(_shape_values) >= _MAX_CACHED:
            _shape_values.clear()
        _shape_values[raw] = got
    return got


def decode_entry(buf: bytes) -> BundleEntry:
    """``BundleEntry.decode(buf)``, faster for the layout above.

    Raises:
      ProtoError: malformed bytes (from the generic decoder, with its message).
    """
    try:
        got = _decode_plain(buf)
    except (IndexError, ProtoError):
        got = None
    return got if got is not None else BundleEntry.decode(buf)


def _decode_plain(buf: bytes) -> BundleEntry | None:
    """The entry when ``buf`` has exactly the plain layout, else None (the caller decodes generically)."""
    end, pos, dtype = len(buf), 0, 0
    if end > 1 and buf[0] == 0x08:
        dtype, pos = (buf[1], 2) if buf[1] < 0x80 else _uvarint(buf, 1)
    if pos + 1 >= end or buf[pos] != 0x12:
        return None
    n, pos = (buf[pos + 1], pos + 2) if buf[pos + 1] < 0x80 else _uvarint(buf, pos + 1)
    if n < 0 or n > end - pos:
        return None
    raw = buf[pos : pos + n]
    shape, unknown_rank = _shape_values.get(raw) or _shape_value(raw)
    pos += n
    shard = offset = size = crc = 0
    if pos < end and buf[pos] == 0x18:
        shard, pos = _uvarint(buf, pos + 1)
    if pos < end and buf[pos] == 0x20:
        offset, pos = _uvarint(buf, pos + 1)
    if pos < end and buf[pos] == 0x28:
        size, pos = _uvarint(buf, pos + 1)
    if pos < end and buf[pos] == 0x35 and pos + 5 <= end:
        crc = int.from_bytes(buf[pos + 1 : pos + 5], "little")
        pos += 5
    if pos != end:
        return None
    return BundleEntry(
        dtype=dtype, shape=shape, shard_id=shard, offset=offset, size=size, crc32c=crc, unknown_rank=unknown_rank
    )

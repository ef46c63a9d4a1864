"""Hand-written protobuf wire encoding for the few messages a tensor bundle holds.

Field numbers (``tensorflow/core/protobuf/tensor_bundle.proto``, ``tensor_shape.proto``,
``versions.proto``):

- BundleHeaderProto: num_shards=1 (int32), endianness=2 (enum, LITTLE=0), version=3 (VersionDef)
- VersionDef: producer=1, min_consumer=2, bad_consumers=3 (repeated int32)
- BundleEntryProto: dtype=1 (enum), shape=2 (TensorShapeProto), shard_id=3 (int32), offset=4 (int64),
  size=5 (int64), crc32c=6 (fixed32), slices=7 (repeated TensorSliceProto, see slices.py)
- TensorShapeProto: dim=2 (repeated Dim), unknown_rank=3 (bool); Dim: size=1 (int64), name=2 (string)

Encoding follows proto3 as TensorFlow's C++ serializer emits it: fields in number order, zero
scalars omitted, ``shape`` always present (``12 00`` for a scalar). Decoding skips unknown
fields and raises :class:`ProtoError` on anything malformed; callers turn it into DataLossError.
"""

from __future__ import annotations

import dataclasses
import struct

_VARINT, _FIXED64, _LEN, _FIXED32 = 0, 1, 2, 5


class ProtoError(ValueError):
    """Malformed protobuf bytes."""


def encode_varint(n: int) -> bytes:
    """Encodes a non-negative int, or a negative int64 as its 10-byte two's complement form."""
    if n < 0:
        n += 1 << 64
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def decode_varint(buf: bytes | memoryview, pos: int, limit: int | None = None) -> tuple[int, int]:
    """Decodes a varint at ``buf[pos]``; returns (value, next position)."""
    end = len(buf) if limit is None else limit
    result = shift = 0
    while True:
        if pos >= end or shift > 63:
            raise ProtoError("truncated or overlong varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result & 0xFFFFFFFFFFFFFFFF, pos
        shift += 7


def _signed64(n: int) -> int:
    return n - (1 << 64) if n >= 1 << 63 else n


def _key(field: int, wire: int) -> bytes:
    return encode_varint(field << 3 | wire)


def _len_field(field: int, payload: bytes) -> bytes:
    return _key(field, _LEN) + encode_varint(len(payload)) + payload


def _int_field(field: int, n: int) -> bytes:
    return _key(field, _VARINT) + encode_varint(n) if n else b""


def iter_fields(buf: bytes | memoryview):
    """Yields (field number, wire type, value); LEN values are bytes, others ints."""
    pos, end = 0, len(buf)
    while pos < end:
        tag, pos = decode_varint(buf, pos)
        field, wire = tag >> 3, tag & 7
        if field == 0:
            raise ProtoError("field number 0")
        if wire == _VARINT:
            val, pos = decode_varint(buf, pos)
        elif wire == _FIXED64 or wire == _FIXED32:
            width = 8 if wire == _FIXED64 else 4
            if pos + width > end:
                raise ProtoError("truncated fixed-width field")
            val = int.from_bytes(buf[pos : pos + width], "little")
            pos += width
        elif wire == _LEN:
            n, pos = decode_varint(buf, pos)
            if n > end - pos:
                raise ProtoError("length-delimited field runs past the message")
            val, pos = bytes(buf[pos : pos + n]), pos + n
        else:
            raise ProtoError(f"unsupported wire type {wire}")
        yield field, wire, val


def _expect(wire: int, want: int, what: str) -> None:
    if wire != want:
        raise ProtoError(f"{what} has wire type {wire}, expected {want}")


@dataclasses.dataclass
class BundleHeader:
    """BundleHeaderProto."""

    num_shards: int = 1
    endianness: int = 0
    producer: int = 1
    min_consumer: int = 0
    bad_consumers: tuple[int, ...] = ()

    def encode(self) -> bytes:
        version = _int_field(1, self.producer) + _int_field(2, self.min_consumer)
        if self.bad_consumers:  # proto3 packs repeated scalars
            version += _len_field(3, b"".join(encode_varint(c) for c in self.bad_consumers))
        return _int_field(1, self.num_shards) + _int_field(2, self.endianness) + _len_field(3, version)

    @classmethod
    def decode(cls, buf: bytes) -> BundleHeader:
        h = cls(num_shards=0, producer=0)
        for field, wire, val in iter_fields(buf):
            if field in (1, 2):
                _expect(wire, _VARINT, "BundleHeaderProto field")
                setattr(h, "num_shards" if field == 1 else "endianness", _signed64(val))
            elif field == 3:
                _expect(wire, _LEN, "BundleHeaderProto.version")
                h._decode_version(val)
        return h

    def _decode_version(self, buf: bytes) -> None:
        bad = []
        for field, wire, val in iter_fields(buf):
            if field == 1 or field == 2:
                _expect(wire, _VARINT, "VersionDef field")
                setattr(self, "producer" if field == 1 else "min_consumer", _signed64(val))
            elif field == 3 and wire == _VARINT:
                bad.append(_signed64(val))
            elif field == 3 and wire == _LEN:
                pos = 0
                while pos < len(val):
                    c, pos = decode_varint(val, pos)
                    bad.append(_signed64(c))
        self.bad_consumers = tuple(bad)


@dataclasses.dataclass
class BundleEntry:
    """BundleEntryProto. ``slices``: the TensorSliceProto bytes of a partitioned tensor's full entry."""

    dtype: int = 0
    shape: tuple[int, ...] = ()
    shard_id: int = 0
    offset: int = 0
    size: int = 0
    crc32c: int = 0
    slices: tuple[bytes, ...] = ()
    unknown_rank: bool = False

    @property
    def num_slices(self) -> int:
        return len(self.slices)

    def encode(self) -> bytes:
        dims = b"".join(_len_field(2, _int_field(1, d)) for d in self.shape)
        out = _int_field(1, self.dtype) + _len_field(2, dims) + _int_field(3, self.shard_id)
        out += _int_field(4, self.offset) + _int_field(5, self.size)
        if self.crc32c:  # proto3 omits a zero fixed32 (a partitioned tensor's full entry has none)
            out += _key(6, _FIXED32) + struct.pack("<I", self.crc32c)
        return out + b"".join(_len_field(7, s) for s in self.slices)

    @classmethod
    def decode(cls, buf: bytes) -> BundleEntry:
        e = cls()
        for field, wire, val in iter_fields(buf):
            if field in (1, 3, 4, 5):
                _expect(wire, _VARINT, f"BundleEntryProto field {field}")
                name = {1: "dtype", 3: "shard_id", 4: "offset", 5: "size"}[field]
                setattr(e, name, _signed64(val))
            elif field == 2:
                _expect(wire, _LEN, "BundleEntryProto.shape")
                e._decode_shape(val)
            elif field == 6:
                _expect(wire, _FIXED32, "BundleEntryProto.crc32c")
                e.crc32c = val
            elif field == 7:
                _expect(wire, _LEN, "BundleEntryProto.slices")
                e.slices += (val,)
        return e

    def _decode_shape(self, buf: bytes) -> None:
        dims = []
        for field, wire, val in iter_fields(buf):
            if field == 2:
                _expect(wire, _LEN, "TensorShapeProto.dim")
                size = 0
                for f2, w2, v2 in iter_fields(val):
                    if f2 == 1:
                        _expect(w2, _VARINT, "TensorShapeProto.Dim.size")
                        size = _signed64(v2)
                dims.append(size)
            elif field == 3:
                self.unknown_rank = bool(val)
        self.shape = tuple(dims)

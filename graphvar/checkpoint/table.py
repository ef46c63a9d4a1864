"""The LevelDB-style sorted string table of a tensor bundle's ``.index`` file.

Writer and reader follow TensorFlow's ``core/lib/io/{table_builder,block_builder,format}.cc``
byte for byte: prefix-compressed entries with a restart point every 16 keys (every key in the index block), data blocks cut
once they reach 256 KiB, each block followed by a compression byte and a masked CRC32C,
index separators shortened as LevelDB's bytewise comparator does, an empty metaindex block,
and a 48-byte footer ending in the magic number 0xdb4775248b80fb57.

The reader reads the footer first, then only the blocks it names, and checks every length,
offset and CRC before using it; it raises :class:`TableError` on any damage.
"""

from __future__ import annotations

import operator
import struct
from collections.abc import Callable

from graphvar.checkpoint import crc
from graphvar.checkpoint.proto import ProtoError, decode_varint, encode_varint

MAGIC = 0xDB4775248B80FB57
FOOTER_SIZE = 48
BLOCK_TRAILER_SIZE = 5
BLOCK_SIZE = 256 * 1024
RESTART_INTERVAL = 16
NO_COMPRESSION, SNAPPY_COMPRESSION = 0, 1
MAX_BLOCK = 16 << 20  # blocks are cut at 256 KiB; only one huge entry could exceed that
Reader = Callable[[int, int], bytes]


class TableError(ValueError):
    """The table bytes are damaged; the message says where."""


class BlockBuilder:
    """Builds one block: prefix-compressed entries, then the restart array."""

    def __init__(self, restart_interval: int = RESTART_INTERVAL) -> None:
        self.restart_interval = restart_interval
        self.reset()

    def reset(self) -> None:
        self.buffer = bytearray()
        self.restarts = [0]
        self.counter = 0
        self.last_key = b""

    def add(self, key: bytes, value: bytes) -> None:
        shared = 0
        if self.counter < self.restart_interval:
            shared = _common_prefix(self.last_key, key)
        else:
            self.restarts.append(len(self.buffer))
            self.counter = 0
        buf = self.buffer
        non_shared, vlen = len(key) - shared, len(value)
        if shared < 0x80 and non_shared < 0x80 and vlen < 0x80:  # one byte each: most index entries
            buf += bytes((shared, non_shared, vlen))
        else:
            buf += encode_varint(shared) + encode_varint(non_shared) + encode_varint(vlen)
        buf += key[shared:]
        buf += value
        self.last_key = key
        self.counter += 1

    def size_estimate(self) -> int:
        return len(self.buffer) + 4 * len(self.restarts) + 4

    def empty(self) -> bool:
        return not self.buffer

    def finish(self) -> bytes:
        tail = struct.pack(f"<{len(self.restarts) + 1}I", *self.restarts, len(self.restarts))
        return bytes(self.buffer) + tail


def _common_prefix(a: bytes, b: bytes) -> int:
    """The length of the longest common prefix: the leading zero bytes of a XOR b, computed in C."""
    n = min(len(a), len(b))
    x = int.from_bytes(a[:n], "big") ^ int.from_bytes(b[:n], "big")
    return n - (x.bit_length() + 7) // 8


def _shortest_separator(start: bytes, limit: bytes) -> bytes:
    n = min(len(start), len(limit))
    i = 0
    while i < n and start[i] == limit[i]:
        i += 1
    if i < n and start[i] < 0xFF and start[i] + 1 < limit[i]:
        return start[:i] + bytes([start[i] + 1])
    return start


def _short_successor(key: bytes) -> bytes:
    for i, b in enumerate(key):
        if b != 0xFF:
            return key[:i] + bytes([b + 1])
    return key


def _handle(offset: int, size: int) -> bytes:
    return encode_varint(offset) + encode_varint(size)


class TableBuilder:
    """Accumulates sorted (key, value) pairs and returns the table's bytes from :meth:`finish`."""

    def __init__(self) -> None:
        self._out = bytearray()
        self._data = BlockBuilder()
        self._index = BlockBuilder(restart_interval=1)  # as LevelDB: index entries are not prefix-compressed
        self._last_key: bytes | None = None
        self._pending: tuple[int, int] | None = None

    def add(self, key: bytes, value: bytes) -> None:
        if self._last_key is not None and key <= self._last_key:
            raise ValueError(f"table keys must be added in increasing order: {key!r} after {self._last_key!r}")
        if self._pending is not None:
            self._index.add(_shortest_separator(self._last_key, key), _handle(*self._pending))
            self._pending = None
        self._last_key = key
        self._data.add(key, value)
        if self._data.size_estimate() >= BLOCK_SIZE:
            self._flush()

    def add_sorted(self, pairs) -> None:
        """:meth:`add` for many (key, value) pairs in increasing key order: the same bytes, one loop
        (a merge of 100,000 entries spends most of its time here)."""
        data, cut, interval = self._data, BLOCK_SIZE, RESTART_INTERVAL
        last = self._last_key
        for key, value in pairs:
            if last is not None and key <= last:
                raise ValueError(f"table keys must be added in increasing order: {key!r} after {last!r}")
            if self._pending is not None:
                self._index.add(_shortest_separator(last, key), _handle(*self._pending))
                self._pending = None
            buf = data.buffer
            if data.counter < interval:
                prev = data.last_key
                n = min(len(prev), len(key))
                shared = n - ((int.from_bytes(prev[:n], "big") ^ int.from_bytes(key[:n], "big")).bit_length() + 7) // 8
            else:
                data.restarts.append(len(buf))
                data.counter = shared = 0
            non_shared, vlen = len(key) - shared, len(value)
            if shared < 0x80 and non_shared < 0x80 and vlen < 0x80:
                buf += bytes((shared, non_shared, vlen))
            else:
                buf += encode_varint(shared) + encode_varint(non_shared) + encode_varint(vlen)
            buf += key[shared:]
            buf += value
            data.last_key = last = key
            data.counter += 1
            if len(buf) + 4 * len(data.restarts) + 4 >= cut:
                self._last_key = last
                self._flush()
        self._last_key = last

    def _flush(self) -> None:
        if not self._data.empty():
            self._pending = self._write_block(self._data)

    def _write_block(self, block: BlockBuilder) -> tuple[int, int]:
        raw = block.finish()
        block.reset()
        offset = len(self._out)
        trailer = bytes([NO_COMPRESSION])
        self._out += raw + trailer + struct.pack("<I", crc.mask(crc.extend(crc.value(raw), trailer)))
        return offset, len(raw)

    def finish(self) -> bytes:
        self._flush()
        meta = self._write_block(BlockBuilder())
        if self._pending is not None:
            self._index.add(_short_successor(self._last_key or b""), _handle(*self._pending))
            self._pending = None
        index = self._write_block(self._index)
        footer = (_handle(*meta) + _handle(*index)).ljust(40, b"\0") + struct.pack("<Q", MAGIC)
        return bytes(self._out + footer)


def _read_block(read: Reader, size: int, handle: bytes, what: str) -> bytes:
    try:
        offset, pos = decode_varint(handle, 0)
        length, pos = decode_varint(handle, pos)
    except ProtoError as e:
        raise TableError(f"bad block handle for {what}: {e}") from e
    limit = size - FOOTER_SIZE
    if offset > limit or length > limit - offset or BLOCK_TRAILER_SIZE > limit - offset - length:
        raise TableError(f"{what} block [{offset}, +{length}] runs past the end of the table ({size} bytes)")
    if length > MAX_BLOCK:
        raise TableError(f"{what} block [{offset}, +{length}] is larger than the {MAX_BLOCK}-byte limit")
    data = read(offset, length + BLOCK_TRAILER_SIZE)
    kind = data[length]
    (stored,) = struct.unpack_from("<I", data, length + 1)
    if crc.mask(crc.value(data[: length + 1])) != stored:
        raise TableError(f"block checksum mismatch in {what} block at offset {offset}")
    raw = data[:length]
    if kind == SNAPPY_COMPRESSION:
        return snappy_decompress(raw)
    if kind != NO_COMPRESSION:
        raise TableError(f"{what} block at offset {offset} has unknown compression type {kind}")
    return raw


def _block_entries(block: bytes, what: str) -> list[tuple[bytes, bytes]]:
    if len(block) < 4:
        raise TableError(f"{what} block too short ({len(block)} bytes)")
    (num_restarts,) = struct.unpack_from("<I", block, len(block) - 4)
    if num_restarts == 0 or num_restarts > (len(block) - 4) // 4:
        raise TableError(f"{what} block has a bad restart count {num_restarts}")
    end = len(block) - 4 - 4 * num_restarts
    entries, key, pos = [], b"", 0
    try:
        while pos < end:
            if pos + 3 <= end and block[pos] < 0x80 and block[pos + 1] < 0x80 and block[pos + 2] < 0x80:
                shared, non_shared, vlen = block[pos], block[pos + 1], block[pos + 2]
                pos += 3
            else:
                shared, pos = decode_varint(block, pos, end)
                non_shared, pos = decode_varint(block, pos, end)
                vlen, pos = decode_varint(block, pos, end)
            if shared > len(key) or non_shared > end - pos or vlen > end - pos - non_shared:
                raise TableError(f"bad entry in {what} block at byte {pos}")
            key = key[:shared] + block[pos : pos + non_shared]
            pos += non_shared
            entries.append((key, block[pos : pos + vlen]))
            pos += vlen
    except ProtoError as e:
        raise TableError(f"bad entry header in {what} block: {e}") from e
    return entries


def read_table(read: Reader | bytes, size: int | None = None) -> list[tuple[bytes, bytes]]:
    """Parses a table; returns its (key, value) pairs in order.

    Args:
      read: ``read(offset, n) -> bytes`` of the table file (or the whole table as bytes).
      size: the file's size (needed with a callable).

    The footer is read first, then only the blocks its handles name, each bounded by the file
    size and MAX_BLOCK, so a huge or hostile file costs a few small reads before it is refused.

    Raises:
      TableError: bad footer magic, a block out of range or too large, a checksum mismatch, a
        malformed entry, or keys out of order.
    """
    if isinstance(read, (bytes, bytearray, memoryview)):
        whole = bytes(read)
        read, size = (lambda offset, n: whole[offset : offset + n]), len(whole)
    if size < FOOTER_SIZE:
        raise TableError(f"file is too short to be an sstable ({size} bytes)")
    footer = read(size - FOOTER_SIZE, FOOTER_SIZE)
    if struct.unpack_from("<Q", footer, 40)[0] != MAGIC:
        raise TableError("not an sstable (bad magic number)")
    try:
        _, pos = decode_varint(footer, 0, 40)
        _, pos = decode_varint(footer, pos, 40)
    except ProtoError as e:
        raise TableError(f"bad metaindex handle in footer: {e}") from e
    _block_entries(_read_block(read, size, footer[:pos], "metaindex"), "metaindex")  # unused, but must be intact
    index = _block_entries(_read_block(read, size, footer[pos:40], "index"), "index")
    out: list[tuple[bytes, bytes]] = []
    for n, (_, handle) in enumerate(index):
        start = len(out)
        out += _block_entries(_read_block(read, size, handle, f"data #{n}"), f"data #{n}")
        keys = [k for k, _ in out[max(start - 1, 0) :]]  # per block, so a block named twice is refused at once
        if not all(map(operator.lt, keys, keys[1:])):
            i = next(i for i in range(1, len(keys)) if keys[i - 1] >= keys[i])
            raise TableError(f"table keys out of order: {keys[i]!r} after {keys[i - 1]!r}")
    return out


def snappy_decompress(src: bytes) -> bytes:
    """Decompresses a raw Snappy block (old TensorFlow index files may hold them)."""
    try:
        length, pos = decode_varint(src, 0)
    except ProtoError as e:
        raise TableError(f"bad snappy length: {e}") from e
    if length > 64 * len(src) + 64:  # snappy expands at most ~21x; refuse to allocate more
        raise TableError(f"snappy block claims {length} bytes from {len(src)}")
    out = bytearray()
    while pos < len(src):
        tag = src[pos]
        pos += 1
        kind = tag & 3
        if kind == 0:
            n = tag >> 2
            if n >= 60:
                width = n - 59
                n = int.from_bytes(src[pos : pos + width], "little")
                pos += width
            n += 1
            if n > len(src) - pos or len(out) + n > length:
                raise TableError("snappy literal runs past the block")
            out += src[pos : pos + n]
            pos += n
            continue
        if kind == 1:
            n, off = 4 + ((tag >> 2) & 7), ((tag >> 5) << 8) | (src[pos] if pos < len(src) else 0)
            pos += 1
        else:
            width = 2 if kind == 2 else 4
            n, off = 1 + (tag >> 2), int.from_bytes(src[pos : pos + width], "little")
            pos += width
        if pos > len(src) or off == 0 or off > len(out) or len(out) + n > length:
            raise TableError("bad snappy copy")
        for _ in range(n):  # copies may overlap their own output
            out.append(out[-off])
    if len(out) != length:
        raise TableError(f"snappy block decoded to {len(out)} bytes, header says {length}")
    return bytes(out)

"""The safetensors format, read and written without the ``safetensors`` package.

A checkpoint with prefix ``P`` is the single file ``P.safetensors``::

    u64 little-endian N | N bytes of UTF-8 JSON header | data buffer

The header maps each tensor name to ``{"dtype": "F32", "shape": [2, 3], "data_offsets":
[begin, end]}`` (offsets relative to the data buffer) plus an optional ``"__metadata__"``
str -> str map. As in the reference implementation, the tensors must tile the data buffer
exactly (no holes, no overlaps) and the header is padded with spaces to 8 bytes.

Safetensors stores no checksums: a flipped bit in tensor data cannot be detected (the bundle
format's per-tensor CRC32C can). The header is parsed with ``json.loads`` only.
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Iterable, Sequence

import numpy as np

from graphvar import dtypes, errors
from graphvar.checkpoint import files, streaming
from graphvar.checkpoint.bundle import _AtomicTensorWriter, writable_dtype

__all__ = ["SafetensorsReader", "SafetensorsWriter", "safetensors_path", "is_safetensors_file"]

_CODES = {
    "BOOL": dtypes.bool, "U8": dtypes.uint8, "I8": dtypes.int8, "U16": dtypes.uint16, "I16": dtypes.int16,
    "F16": dtypes.float16, "U32": dtypes.uint32, "I32": dtypes.int32, "F32": dtypes.float32,
    "U64": dtypes.uint64, "I64": dtypes.int64, "F64": dtypes.float64, "C64": dtypes.complex64, "BF16": dtypes.bfloat16,
}  # fmt: skip
_NAMES = {d: code for code, d in _CODES.items()}
# dtypes of the format that graphvar has no NumPy dtype for: listed, refused only when read.
_ODD = {code: dtypes.DType(code.lower(), None, -1) for code in ("F8_E4M3", "F8_E5M2", "F8_E8M0", "F4", "F6_E2M3",
                                                                 "F6_E3M2")}  # fmt: skip
_ODD_BITS = {"F8_E4M3": 8, "F8_E5M2": 8, "F8_E8M0": 8, "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6}
MAX_HEADER = 100_000_000  # the reference implementation's limit


def safetensors_path(prefix: str) -> str:
    """``P.safetensors`` for prefix ``P`` (a path already ending in .safetensors is kept)."""
    return prefix if prefix.endswith(".safetensors") else prefix + ".safetensors"


def is_safetensors_file(path: str) -> bool:
    """Sniffs ``path``: a regular file with a plausible header length followed by ``{``."""
    try:
        fd, fid = files.open_file(path)
    except errors.OpError:
        return False
    try:
        head = os.pread(fd, 9, 0)
    except OSError:
        return False
    finally:
        os.close(fd)
    return len(head) == 9 and head[8:9] == b"{" and struct.unpack("<Q", head[:8])[0] <= fid.size - 8


class SafetensorsWriter(_AtomicTensorWriter):
    """Writes ``P.safetensors`` atomically; the header needs every tensor up front.

    Args:
      prefix: checkpoint prefix ``P`` (or a path ending in ``.safetensors``).
      specs: (name, dtype, shape) of every tensor, in the order of the data buffer. Tensors
        may then be added in any order; :meth:`finish` requires all of them.
      metadata: optional str -> str map stored as ``__metadata__``.
      durable: fsync the file and directory in finish (default); False skips both (TF's behaviour).

    Example:
      >>> with SafetensorsWriter("/tmp/m", [("w", "float32", (2, 3))]) as w:
      ...     w.add("w", np.ones((2, 3), np.float32))
      ...     w.finish()

    Raises:
      TypeError: a dtype safetensors cannot hold (strings, complex128).
      ValueError: duplicate or empty names, or the directory does not exist.
    """

    def __init__(
        self, prefix: str, specs: Sequence[tuple[str, object, Sequence[int]]], metadata: dict[str, str] | None = None,
        durable: bool = True,
    ) -> None:  # fmt: skip
        self._path = safetensors_path(prefix)
        header, self._layout = _layout(specs)
        if metadata:
            if not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
                raise TypeError("safetensors metadata must map str to str")
            header["__metadata__"] = dict(metadata)
        raw = json.dumps(header, separators=(",", ":")).encode()
        raw += b" " * (-len(raw) % 8)
        super().__init__(self._path, durable)
        self._data_start = 8 + len(raw)
        self._written: set[str] = set()
        try:
            streaming.write_stream(self._fd, [struct.pack("<Q", len(raw)), raw], None, self._data_start)
        except BaseException:
            self.abort()
            raise

    def add(self, name: str, array: np.ndarray) -> None:
        """Writes ``array`` (must match its spec's dtype and shape) from its own memory."""
        array = np.asarray(array)
        dtype, shape, _, _ = self._spec(name)
        if writable_dtype(array.dtype) != dtype or tuple(array.shape) != shape:
            raise ValueError(f"tensor {name} is {array.dtype} {array.shape}; its spec is {dtype.name} {shape}")
        self._write(name, streaming.array_pieces(array))

    def add_chunks(self, name: str, dtype, shape: tuple[int, ...], chunks: Iterable) -> None:
        """Writes a tensor from buffer-protocol chunks (same contract as BundleWriter.add_chunks)."""
        want_dtype, want_shape, _, _ = self._spec(name)
        if writable_dtype(dtype) != want_dtype or tuple(shape) != want_shape:
            raise ValueError(f"tensor {name} is {dtype} {tuple(shape)}; its spec is {want_dtype.name} {want_shape}")
        self._write(name, chunks)

    def _spec(self, name: str):
        self._check_open()
        if name not in self._layout:
            raise ValueError(f"tensor {name} is not in the specs given to SafetensorsWriter")
        if name in self._written:
            raise ValueError(f"tensor {name} was already added to {self._path}")
        return self._layout[name]

    def _write(self, name: str, pieces: Iterable) -> None:
        _, _, begin, end = self._layout[name]
        os.lseek(self._fd, self._data_start + begin, os.SEEK_SET)
        total, _ = streaming.write_stream(self._fd, pieces, None, end - begin)
        if total != end - begin:
            raise ValueError(f"chunks of tensor {name} hold {total} bytes; its spec needs {end - begin}")
        self._written.add(name)

    def finish(self) -> None:
        """Checks every spec was added, fsyncs, renames into place, fsyncs the directory."""
        self._check_open()
        missing = [n for n in self._layout if n not in self._written]
        try:
            if missing:
                raise ValueError(f"tensors never added to {self._path}: {missing[:5]}")
            if self._durable:
                os.fsync(self._fd)
            self._close_fd()
            self._commit([(self._temps[0], self._path)])
        except BaseException:
            self.abort()
            raise


def _layout(specs) -> tuple[dict, dict]:
    header, layout, offset = {}, {}, 0
    for name, dtype, shape in specs:
        d = writable_dtype(dtype)
        if d not in _NAMES:
            raise TypeError(f"safetensors cannot hold {d.name} (tensor {name})")
        if not isinstance(name, str) or not name or name == "__metadata__" or name in layout:
            raise ValueError(f"bad or duplicate tensor name {name!r}")
        shape = tuple(int(x) for x in shape)
        n = int(np.prod(shape, dtype=object)) * d.size
        header[name] = {"dtype": _NAMES[d], "shape": list(shape), "data_offsets": [offset, offset + n]}
        layout[name] = (d, shape, offset, offset + n)
        offset += n
    return header, layout


def _no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError("duplicate key in header")
    return dict(pairs)


class SafetensorsReader(streaming.TensorReader):
    """Reads a ``.safetensors`` file after validating its header against the file size.

    Same methods as BundleReader (keys, dtype, shape, read_into, iter_chunks, get_tensor);
    no CRC is checked because the format has none. :meth:`metadata` returns ``__metadata__``.

    Raises:
      NotFoundError: no such file.
      DataLossError: a bad header length, non-JSON header, unknown dtype, bad shape, or
        offsets that overlap, leave holes or run past the end of the file.
    """

    def __init__(self, path: str, hold_files: bool = False) -> None:
        super().__init__(path, hold_files)
        self._path = path
        self._metadata: dict[str, str] = {}
        fd, fid = files.open_file(path)
        try:
            self._load(fd, fid.size)
        except BaseException:
            os.close(fd)
            self.close()
            raise
        self._track(path, fd, fid)

    def metadata(self) -> dict[str, str]:
        return dict(self._metadata)

    def _bad(self, msg: str) -> errors.OpError:
        return errors.DataLossError(None, None, f"{msg} in safetensors file {self._path}")

    def _load(self, fd: int, size: int) -> None:
        if size < 8:
            raise self._bad(f"file of {size} bytes is too short for a header")
        (n,) = struct.unpack("<Q", streaming.read_exactly(fd, 0, 8, self._path))
        if n > size - 8 or n > MAX_HEADER or n < 2:
            raise self._bad(f"header length {n} is invalid for a file of {size} bytes")
        try:
            header = json.loads(streaming.read_exactly(fd, 8, n, self._path).decode(), object_pairs_hook=_no_duplicates)
        except (UnicodeDecodeError, ValueError, RecursionError) as e:  # RecursionError: deeply nested JSON
            raise self._bad(f"header is not valid JSON ({type(e).__name__}: {e})") from e
        if not isinstance(header, dict):
            raise self._bad("header is not a JSON object")
        meta = header.pop("__metadata__", {})
        if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
            raise self._bad("__metadata__ is not a str -> str map")
        self._metadata = meta
        spans = [self._check_tensor(name, spec, 8 + n, size - 8 - n) for name, spec in header.items()]
        pos = 0
        for begin, end, name in sorted(spans):
            if begin != pos:
                raise self._bad(f"tensor {name} starts at {begin}, expected {pos} (overlap or hole)")
            pos = end
        if pos != size - 8 - n:
            raise self._bad(f"tensors cover {pos} bytes of a {size - 8 - n}-byte data buffer")

    def _check_tensor(self, name: str, spec, data_start: int, data_len: int) -> tuple[int, int, str]:
        if not isinstance(spec, dict) or set(spec) != {"dtype", "shape", "data_offsets"}:
            raise self._bad(f"tensor {name} has a malformed entry")
        dtype, shape, offsets = (
            _CODES.get(spec["dtype"]) if isinstance(spec["dtype"], str) else None,
            spec["shape"],
            spec["data_offsets"],
        )
        odd = _ODD.get(spec["dtype"]) if dtype is None and isinstance(spec["dtype"], str) else None
        if dtype is None and odd is None:
            raise self._bad(f"tensor {name} has unsupported dtype {spec['dtype']!r}")
        if not isinstance(shape, list) or not all(type(d) is int and d >= 0 for d in shape):
            raise self._bad(f"tensor {name} has invalid shape {shape!r}")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(type(o) is int for o in offsets)):
            raise self._bad(f"tensor {name} has invalid data_offsets {offsets!r}")
        begin, end = offsets
        if not 0 <= begin <= end <= data_len:
            raise self._bad(f"tensor {name} data_offsets {offsets} run outside the {data_len}-byte data buffer")
        bits = dtype.size * 8 if dtype is not None else _ODD_BITS[spec["dtype"]]
        nbits = streaming.checked_num_bytes(shape, bits, data_len * 8)
        if nbits is None or (nbits + 7) // 8 != end - begin:
            raise self._bad(f"tensor {name} spans {end - begin} bytes but {spec['dtype']} {shape} needs more or less")
        unreadable = None if dtype is not None else f"dtype {spec['dtype']} has no NumPy dtype in graphvar"
        self._infos[name] = streaming.TensorInfo(
            name, dtype or odd, tuple(shape), self._path, data_start + begin, end - begin, None, unreadable
        )
        return begin, end, name

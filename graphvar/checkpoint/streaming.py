"""Chunked tensor I/O with the CRC32C of one chunk overlapped with the I/O of the next.

Shared by the bundle and safetensors readers and writers. Bytes move straight between a
file and the caller's memory (``os.write`` / ``os.preadv`` on memoryviews); only chunks that
must be converted (non-contiguous or big-endian arrays) are copied, one chunk at a time, so
extra memory stays at a few chunk sizes whatever the tensor size.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import crc32c as _crc32c
import numpy as np

from graphvar import dtypes, errors
from graphvar.checkpoint import files

CHUNK_SIZE = 8 << 20
VERIFY_CHUNK = 1 << 20  # verification reads stay in cache: ~6 GB/s here, vs ~2 GB/s into a big buffer
_INLINE_CRC = 256 << 10  # below this a thread hand-off costs more than the CRC itself
SMALL_TENSOR = 64 << 10  # tensors up to this size are written and read in groups (one syscall per group)
GROUP_BYTES = 1 << 20  # bytes per grouped write / read
_GROUP_GAP = 4 << 10  # a grouped read spans gaps up to this between tensors (aligned or foreign layouts)
KEPT_BYTES = 32 << 20  # verified small tensors' bytes a restore keeps in memory between its two passes
_NATIVE_LE = "=|<" if sys.byteorder == "little" else "|<"

NUMERIC_DTYPES = (
    dtypes.float16, dtypes.float32, dtypes.float64, dtypes.int8, dtypes.int16, dtypes.int32, dtypes.int64,
    dtypes.uint8, dtypes.uint16, dtypes.uint32, dtypes.uint64, dtypes.bool, dtypes.complex64, dtypes.complex128,
    dtypes.bfloat16,
)  # fmt: skip


class ShortReadError(EOFError):
    """The file ended before the bytes an entry promised."""


def byte_view(obj, writable: bool = False) -> memoryview:
    """A flat unsigned-byte view of a C-contiguous buffer (ndarray, bytes, pinned memory...)."""
    view = memoryview(obj)
    if not view.c_contiguous:
        raise ValueError("buffer must be C-contiguous")
    if writable and view.readonly:
        raise ValueError("buffer must be writable")
    return view if view.format == "B" and view.ndim == 1 else view.cast("B")


def split(view: memoryview, size: int = CHUNK_SIZE) -> Iterator[memoryview]:
    """Yields consecutive slices of at most ``size`` bytes (none for an empty view)."""
    for start in range(0, view.nbytes, size):
        yield view[start : start + size]


def array_pieces(arr: np.ndarray) -> Iterable[memoryview]:
    """An array's little-endian C-order bytes in chunks, copying only when it must.

    A contiguous little-endian array of at most CHUNK_SIZE bytes is one view of its own memory,
    returned as a 1-tuple (no generator: a small variable's save pays for nothing it does not use).
    """
    if arr.flags.c_contiguous and arr.dtype.byteorder in _NATIVE_LE and arr.nbytes <= CHUNK_SIZE:
        try:
            return (memoryview(arr).cast("B"),)
        except (TypeError, ValueError):  # a buffer format memoryview cannot cast (ml_dtypes' types)
            pass
    return _array_chunks(arr)


def _array_chunks(arr: np.ndarray) -> Iterator[memoryview]:
    le = arr.dtype.newbyteorder("<")
    if arr.flags.c_contiguous and arr.dtype == le and arr.dtype.byteorder != ">":
        yield from split(byte_view(arr.reshape(-1).view(np.uint8)))
        return
    if arr.ndim == 0:
        yield byte_view(np.ascontiguousarray(arr, dtype=le).reshape(-1).view(np.uint8))
        return
    row_bytes = max(1, arr[0:1].nbytes)
    rows = max(1, CHUNK_SIZE // row_bytes)
    for start in range(0, arr.shape[0], rows):
        chunk = np.ascontiguousarray(arr[start : start + rows], dtype=le)
        yield byte_view(chunk.reshape(-1).view(np.uint8))


class CrcPool:
    """One worker thread that computes chained CRC32Cs while the caller does I/O."""

    def __init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None

    def submit(self, data: memoryview, crc: int) -> Future:
        if data.nbytes < _INLINE_CRC:
            fut: Future = Future()
            fut.set_result(_crc32c.crc32c(data, crc))
            return fut
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="graphvar-crc")
        return self._pool.submit(_crc32c.crc32c, data, crc)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None


def write_stream(fd: int, pieces: Iterable, pool: CrcPool | None, limit: int) -> tuple[int, int]:
    """Writes buffer pieces to ``fd``; returns (bytes written, CRC32C, 0 when ``pool`` is None). Each piece is consumed
    (written and checksummed) before the next is requested, so producers may reuse buffers.

    Raises:
      ValueError: the pieces hold more than ``limit`` bytes.
    """
    total = crc = 0
    for piece in pieces:
        for part in split(byte_view(piece)):
            n = part.nbytes
            if n > limit - total:
                raise ValueError(f"chunks hold more than the {limit} bytes the shape needs")
            fut = pool.submit(part, crc) if pool is not None else None
            rest = part
            while rest.nbytes:
                rest = rest[os.write(fd, rest) :]
            crc = fut.result() if fut is not None else 0
            total += n
    return total, crc


class Stager:
    """Small tensors' bytes gathered into one buffer, written with one ``os.write`` per GROUP_BYTES.

    :meth:`add` copies a tensor's pieces into the buffer and computes their CRC32C there, inline;
    the caller holds the variable's lock meanwhile, so the bytes that reach the file are the ones
    checksummed whatever the variable does next (which is why the bytes are copied, not gathered
    as views for a ``writev``: a 1 KiB copy costs less than the syscall it saves).
    """

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._buf: memoryview | None = None
        self._used = 0

    def add(self, pieces: Iterable, need: int) -> tuple[int, int]:
        """Stages ``need`` (<= SMALL_TENSOR) bytes; returns (bytes the pieces held, their CRC32C).
        When that count is not ``need`` nothing is kept.

        Raises:
          ValueError: the pieces hold more than ``need`` bytes (nothing is kept).
          OSError: writing out the full buffer failed.
        """
        if self._buf is None:
            self._buf = memoryview(bytearray(GROUP_BYTES))
        if need > self._buf.nbytes - self._used:
            self.flush()
        buf, start = self._buf, self._used
        pos, end = start, start + need
        for piece in pieces:
            view = piece if type(piece) is memoryview and piece.ndim == 1 and piece.format == "B" else byte_view(piece)
            n = view.nbytes
            if n > end - pos:
                raise ValueError(f"chunks hold more than the {need} bytes the shape needs")
            buf[pos : pos + n] = view
            pos += n
        if pos != end:
            return pos - start, 0
        self._used = end
        return need, _crc32c.crc32c(buf[start:end])

    def flush(self) -> None:
        """Writes the staged bytes to the file (at its current position)."""
        rest = self._buf[: self._used] if self._used else None
        self._used = 0
        while rest is not None and rest.nbytes:
            rest = rest[os.write(self._fd, rest) :]


def pread_into(fd: int, view: memoryview, offset: int) -> None:
    """Fills ``view`` from ``fd`` at ``offset``; raises ShortReadError at end of file."""
    done = 0
    while done < view.nbytes:
        n = os.preadv(fd, [view[done:]], offset + done)
        if n <= 0:
            raise ShortReadError(f"read {done} of {view.nbytes} bytes at offset {offset}")
        done += n


def read_stream(fd: int, offset: int, out: memoryview, pool: CrcPool) -> int:
    """Reads ``out.nbytes`` bytes at ``offset`` into ``out``; returns their CRC32C. The CRC of
    chunk k runs in the worker while chunk k+1 is read."""
    crc, fut = 0, None
    for start in range(0, out.nbytes, CHUNK_SIZE):
        part = out[start : start + CHUNK_SIZE]
        pread_into(fd, part, offset + start)
        if fut is not None:
            crc = fut.result()
        fut = pool.submit(part, crc)
    return fut.result() if fut is not None else crc


@dataclasses.dataclass(frozen=True)
class TensorInfo:
    """Where one tensor's bytes are and how to check them."""

    name: str
    dtype: dtypes.DType
    shape: tuple[int, ...]
    path: str
    offset: int
    size: int
    crc: int | None  # unmasked CRC32C, or None where the format has none
    unreadable: str | None = None  # why reading it raises UnimplementedError

    @classmethod
    def make(cls, name: str, dtype: dtypes.DType, shape: tuple[int, ...], path: str, offset: int, size: int,
             crc: int | None, unreadable: str | None = None) -> TensorInfo:  # fmt: skip
        """The same as ``TensorInfo(...)``, without the frozen ``__init__``'s per-field ``object.__setattr__``
        (an index of 10,000 small tensors builds 10,000 of these per open)."""
        info = object.__new__(cls)
        info.__dict__.update(name=name, dtype=dtype, shape=shape, path=path, offset=offset, size=size, crc=crc,
                             unreadable=unreadable)  # fmt: skip
        return info


MAX_RANK = 64  # NumPy's limit on dimensions
_MAX_BYTES = (1 << 63) - 1  # NumPy refuses shapes whose non-zero dims multiply past this, even with a 0 dim


def checked_num_bytes(shape: Iterable[int], itemsize: int, cap: int) -> int | None:
    """Returns prod(shape) * itemsize, or None when a dim is negative, the rank exceeds MAX_RANK,
    the size exceeds ``cap``, or NumPy could not even describe the shape (non-zero dims
    overflowing int64 next to a 0 dim). Checked dim by dim, so absurd shapes are rejected
    without big arithmetic."""
    shape = tuple(shape)
    if len(shape) > MAX_RANK or (shape and min(shape) < 0):
        return None
    if len(shape) == 1 and 0 <= shape[0] * itemsize <= min(cap, _MAX_BYTES):  # the common case, in one step
        return shape[0] * itemsize
    n = itemsize
    for d in shape:
        n *= d or 1
        if n > _MAX_BYTES:
            return None
    if 0 in shape:
        return 0
    return n if n <= cap else None


class TensorReader:
    """Reader methods shared by the bundle and safetensors readers.

    Subclasses fill ``self._infos`` (name -> TensorInfo) and record every data file with
    :meth:`_track` after validating everything against the files' sizes. A reader holds no
    file descriptor unless opened with ``hold_files=True`` (as ``Saver.restore`` does, so that
    a concurrent rename cannot change what one restore reads); otherwise each read opens the
    file, checks that it is still the file that was validated, and closes it.
    """

    def __init__(self, where: str, hold_files: bool = False) -> None:
        self._where = where
        self._infos: dict[str, TensorInfo] = {}
        self._files: dict[str, files.FileId] = {}
        self._fds: dict[str, int] = {}
        self._loose: set[int] = set()
        self._hold = hold_files
        self._pool = CrcPool()
        self._closed = False
        self._verify_buf: memoryview | None = None
        self._verified: set[str] = set()  # names whose bytes prefetch() read and CRC-checked
        self._kept: dict[str, memoryview] = {}  # of those, the ones whose bytes it kept (bounded by KEPT_BYTES)
        self._kept_bytes = 0

    def _track(self, path: str, fd: int, fid: files.FileId) -> None:
        """Records a validated data file; keeps ``fd`` open only when files are held."""
        self._files[path] = fid
        if self._hold and path not in self._fds:
            self._fds[path] = fd
        elif self._fds.get(path) != fd:
            os.close(fd)

    def keys(self) -> list[str]:
        """The tensor names, sorted."""
        return sorted(self._infos)

    def has_tensor(self, name: str) -> bool:
        return name in self._infos

    def info(self, name: str) -> TensorInfo:
        """The TensorInfo of ``name``; raises NotFoundError if absent."""
        try:
            return self._infos[name]
        except KeyError:
            raise errors.NotFoundError(None, None, f"Key {name} not found in checkpoint {self._where}") from None

    def dtype(self, name: str) -> dtypes.DType:
        return self.info(name).dtype

    def shape(self, name: str) -> tuple[int, ...]:
        return self.info(name).shape

    def _readable(self, name: str) -> TensorInfo:
        info = self.info(name)
        if info.unreadable:
            raise errors.UnimplementedError(None, None, f"Cannot read tensor {name} in {info.path}: {info.unreadable}")
        if self._closed:
            raise ValueError(f"reader of {self._where} is closed")
        return info

    @contextlib.contextmanager
    def _open(self, info: TensorInfo) -> Iterator[int]:
        """The descriptor of ``info``'s file: the held one, or a fresh one checked against the validated file."""
        fd = self._fds.get(info.path)
        if fd is not None:
            yield fd
            return
        fd, fid = files.open_file(info.path)
        self._loose.add(fd)  # closed by close() too, should a caller abandon iter_chunks mid-tensor
        try:
            if fid != self._files[info.path]:
                raise errors.FailedPreconditionError(
                    None, None, f"{info.path} was replaced since the reader opened {self._where}; "
                    f"open the checkpoint again to read tensor {info.name}"
                )  # fmt: skip
            yield fd
        finally:
            if fd in self._loose:
                self._loose.discard(fd)
                os.close(fd)

    def _check_crc(self, info: TensorInfo, crc: int) -> None:
        if info.crc is not None and crc != info.crc:
            raise errors.DataLossError(
                None,
                None,
                f"Checksum does not match: stored {info.crc:#010x} vs. calculated on the restored bytes "
                f"{crc:#010x} for tensor {info.name} in {info.path}",
            )

    def _read_error(self, info: TensorInfo, e: OSError | ShortReadError) -> errors.OpError:
        if isinstance(e, ShortReadError):
            return errors.DataLossError(None, None, f"Truncated data for tensor {info.name} in {info.path}: {e}")
        return files.os_error(e, info.path, f"(reading tensor {info.name})")

    def verify(self, name: str) -> None:
        """Reads tensor ``name`` through a small buffer and checks its CRC, changing nothing.

        Raises:
          DataLossError: the bytes fail their CRC or the file is short.
          OpError: an I/O error (EIO: UnknownError), naming file and tensor.
        """
        info = self._readable(name)
        if name not in self._verified:
            self._verify_info(info)

    def unverified(self, names: Iterable[str]) -> list[str]:
        """The names among ``names`` that :meth:`prefetch` has not verified (their :meth:`verify` reads)."""
        return [name for name in names if name not in self._verified]

    def prefetch(self, names: Iterable[str]) -> None:
        """Reads the small tensors among ``names`` (up to SMALL_TENSOR bytes each) in groups of adjacent
        ones, one ``pread`` per GROUP_BYTES, and checks each one's CRC; keeps the verified bytes (up to
        KEPT_BYTES in all) for the next :meth:`read_into` / :meth:`iter_chunks` of that tensor, and
        makes :meth:`verify` of it free. A tensor that fails (CRC, I/O) is left to the per-tensor
        path, which raises the error naming it. Changes nothing else; safe to skip.
        """
        todo = []
        for name in names:
            info = self._infos.get(name)
            if info is not None and info.crc is not None and not info.unreadable and 0 < info.size <= SMALL_TENSOR:
                if name not in self._verified:
                    todo.append((info.path, info.offset, name, info))
        todo.sort(key=lambda t: (t[0], t[1]))
        for group in _adjacent_groups(todo):
            self._prefetch_group(group)

    def _prefetch_group(self, group: list[tuple[str, int, str, TensorInfo]]) -> None:
        start = group[0][1]
        buf = memoryview(bytearray(max(o + i.size for _, o, _, i in group) - start))
        try:
            with self._open(group[0][3]) as fd:
                pread_into(fd, buf, start)
        except (OSError, ShortReadError, errors.OpError):
            return  # read again tensor by tensor, where the error names the tensor
        keep = buf.nbytes <= KEPT_BYTES - self._kept_bytes
        self._kept_bytes += buf.nbytes if keep else 0
        for _, offset, name, info in group:
            part = buf[offset - start : offset - start + info.size]
            if _crc32c.crc32c(part) == info.crc:
                self._verified.add(name)
                if keep:
                    self._kept[name] = part

    def _verify_info(self, info: TensorInfo) -> None:
        if self._verify_buf is None or self._verify_buf.nbytes < min(VERIFY_CHUNK, info.size):
            self._verify_buf = memoryview(bytearray(min(VERIFY_CHUNK, info.size)))
        crc = 0
        try:
            with self._open(info) as fd:
                step = self._verify_buf.nbytes
                for start in range(0, info.size, step):
                    part = self._verify_buf[: min(step, info.size - start)]
                    pread_into(fd, part, info.offset + start)
                    crc = _crc32c.crc32c(part, crc)
        except (OSError, ShortReadError) as e:
            raise self._read_error(info, e) from e
        self._check_crc(info, crc)

    def read_into(self, name: str, out: np.ndarray) -> None:
        """Reads tensor ``name`` straight into ``out``'s memory, chunk by chunk, checking its CRC.

        Raises:
          NotFoundError: no such tensor.
          InvalidArgumentError: ``out`` has another dtype or shape, or is not C-contiguous and writable.
          DataLossError: the bytes fail their CRC or the file is short.
        """
        info = self._readable(name)
        if not isinstance(out, np.ndarray) or out.dtype != info.dtype.np or tuple(out.shape) != info.shape:
            got = f"{out.dtype} {tuple(out.shape)}" if isinstance(out, np.ndarray) else type(out).__name__
            raise errors.InvalidArgumentError(
                None, None, f"tensor {name} in {info.path} is {info.dtype.name} {list(info.shape)}; out is {got}"
            )
        if not (out.flags.c_contiguous and out.flags.writeable):
            raise errors.InvalidArgumentError(None, None, f"out for tensor {name} must be C-contiguous and writable")
        kept = self._kept.pop(name, None)
        if kept is not None:  # read and verified by prefetch(): a copy from memory
            _writable_bytes(out)[:] = kept
            return
        try:
            with self._open(info) as fd:
                crc = read_stream(fd, info.offset, byte_view(out.reshape(-1).view(np.uint8)), self._pool)
        except (OSError, ShortReadError) as e:
            raise self._read_error(info, e) from e
        self._check_crc(info, crc)

    def iter_chunks(self, name: str, buffer) -> Iterator[memoryview]:
        """Fills ``buffer`` with consecutive parts of tensor ``name`` and yields the filled part.

        ``buffer`` may also be a list of equal-sized buffers, filled round-robin: then a yielded
        view stays valid while the consumer takes ``len(buffer) - 1`` more chunks, so it can copy
        chunk k (e.g. to a GPU) while chunk k+1 is read. The CRC of a chunk is computed while the
        consumer handles it. DataLossError is raised after the last chunk on a CRC mismatch.
        """
        info = self._readable(name)
        buffers = buffer if isinstance(buffer, (list, tuple)) else [buffer]
        views = [byte_view(b, writable=True) for b in buffers]
        if not views or (min(v.nbytes for v in views) == 0 and info.size):
            raise ValueError("iter_chunks needs non-empty buffers")
        kept = self._kept.pop(name, None)
        if kept is not None:  # read and verified by prefetch()
            pos = k = 0
            while pos < info.size:
                view = views[k % len(views)]
                part = view[: min(view.nbytes, info.size - pos)]
                part[:] = kept[pos : pos + part.nbytes]
                yield part
                pos, k = pos + part.nbytes, k + 1
            return
        crc, pos, k = 0, 0, 0
        with self._open(info) as fd:
            while pos < info.size:
                view = views[k % len(views)]
                part = view[: min(view.nbytes, info.size - pos)]
                try:
                    pread_into(fd, part, info.offset + pos)
                except (OSError, ShortReadError) as e:
                    raise self._read_error(info, e) from e
                fut = self._pool.submit(part, crc)
                yield part
                crc = fut.result()
                pos, k = pos + part.nbytes, k + 1
        self._check_crc(info, crc)

    def get_tensor(self, name: str) -> np.ndarray:
        """Returns tensor ``name`` as a new NumPy array."""
        info = self._readable(name)
        out = np.empty(info.shape, dtype=info.dtype.np)
        self.read_into(name, out)
        return out

    def close(self) -> None:
        """Closes the files; idempotent."""
        self._closed = True
        self._kept, self._kept_bytes, self._verified = {}, 0, set()
        fds, self._fds, loose, self._loose = self._fds, {}, self._loose, set()
        for fd in [*fds.values(), *loose]:
            os.close(fd)
        self._pool.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _writable_bytes(out: np.ndarray) -> memoryview:
    try:
        return memoryview(out).cast("B")
    except (TypeError, ValueError):  # formats memoryview cannot cast
        return byte_view(out.reshape(-1).view(np.uint8))


def _adjacent_groups(todo: list) -> Iterator[list]:
    """Runs of (path, offset, name, info), sorted, that one read of at most GROUP_BYTES covers
    (gaps up to _GROUP_GAP included)."""
    group: list = []
    path = end = None
    for item in todo:
        p, offset, _, info = item
        if group and (
            p != path or offset - end > _GROUP_GAP or max(end, offset + info.size) - group[0][1] > GROUP_BYTES
        ):
            yield group
            group = []
        if not group:
            path, end = p, offset
        group.append(item)
        end = max(end, offset + info.size)
    if group:
        yield group


def read_exactly(fd: int, offset: int, n: int, path: str) -> bytes:
    """Reads ``n`` bytes at ``offset`` (the caller checked n against the file size)."""
    buf = bytearray(n)
    try:
        pread_into(fd, memoryview(buf), offset)
    except ShortReadError as e:
        raise errors.DataLossError(None, None, f"{path}: file shrank while reading: {e}") from e
    except OSError as e:
        raise files.os_error(e, path) from e
    return bytes(buf)

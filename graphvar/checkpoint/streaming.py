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
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import crc32c as _crc32c
import numpy as np

from graphvar import dtypes, errors
from graphvar.checkpoint import files

CHUNK_SIZE = 8 << 20
VERIFY_CHUNK = 1 << 20  # verification reads stay in cache: ~6 GB/s here, vs ~2 GB/s into a big buffer
_INLINE_CRC = 256 << 10  # below this a thread hand-off costs more than the CRC itself

NUMERIC_DTYPES = (
    dtypes.float16, dtypes.float32, dtypes.float64, dtypes.int8, dtypes.int16, dtypes.int32, dtypes.int64,
    dtypes.uint8, dtypes.uint16, dtypes.uint32, dtypes.uint64, dtypes.bool, dtypes.complex64, dtypes.complex128,
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


def array_pieces(arr: np.ndarray) -> Iterator[memoryview]:
    """Yields an array's little-endian C-order bytes in chunks, copying only when it must."""
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


MAX_RANK = 64  # NumPy's limit on dimensions
_MAX_BYTES = (1 << 63) - 1  # NumPy refuses shapes whose non-zero dims multiply past this, even with a 0 dim


def checked_num_bytes(shape: Iterable[int], itemsize: int, cap: int) -> int | None:
    """Returns prod(shape) * itemsize, or None when a dim is negative, the rank exceeds MAX_RANK,
    the size exceeds ``cap``, or NumPy could not even describe the shape (non-zero dims
    overflowing int64 next to a 0 dim). Checked dim by dim, so absurd shapes are rejected
    without big arithmetic."""
    shape = tuple(shape)
    if len(shape) > MAX_RANK or any(d < 0 for d in shape):
        return None
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
        self._verify_info(self._readable(name))

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
        fds, self._fds, loose, self._loose = self._fds, {}, self._loose, set()
        for fd in [*fds.values(), *loose]:
            os.close(fd)
        self._pool.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


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

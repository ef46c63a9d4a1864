"""TensorFlow's V2 checkpoint format (tensor bundle): ``P.index`` + ``P.data-00000-of-00001``.

The writer produces the same bytes as TensorFlow's ``BundleWriter`` for the same tensors
added in the same order (no padding, one shard) when the prefix is new; overwriting a prefix
alternates between one shard and two (the second empty) so that no kill loses the old one. The reader validates the whole index
against the data files' real sizes before anything is read or allocated.
"""

from __future__ import annotations

import dataclasses
import glob
import math
import os
from collections.abc import Iterable

import numpy as np

from graphvar import dtypes, errors
from graphvar.checkpoint import crc as crc_mod
from graphvar.checkpoint import files, slices, streaming
from graphvar.checkpoint.atomic import (
    cleanup_stale_temps,
    create_exclusive,
    fsync_dir,
    remove_quietly,
    temp_path,
    write_all,
)
from graphvar.checkpoint.entry_codec import decode_entry, encode_entry
from graphvar.checkpoint.proto import BundleEntry, BundleHeader, ProtoError
from graphvar.checkpoint.table import TableBuilder, TableError, read_table

__all__ = ["BundleWriter", "BundleReader", "cleanup_stale_temps", "data_path", "index_path"]

_READABLE_CODES = {d.as_datatype_enum: d for d in streaming.NUMERIC_DTYPES}
_LISTABLE_CODES = {dtypes.string.as_datatype_enum: "string tensors are not supported"}
_MAX_SHARDS = 1 << 16
_OPEN_ATTEMPTS = 5
# DataType codes of types.proto that graphvar has no NumPy dtype for: listed, refused when read.
_ODD_DTYPES = {
    code: dtypes.DType(name, None, code)
    for code, name in (
        (11, "qint8"), (12, "quint8"), (13, "qint32"), (15, "qint16"), (16, "quint16"), (20, "resource"),
        (21, "variant"), (24, "float8_e5m2"), (25, "float8_e4m3fn"), (26, "float8_e4m3fnuz"),
        (27, "float8_e4m3b11fnuz"), (28, "float8_e5m2fnuz"), (29, "int4"), (30, "uint4"), (31, "int2"), (32, "uint2"),
    )
}  # fmt: skip


def index_path(prefix: str) -> str:
    return f"{prefix}.index"


def data_path(prefix: str, shard: int = 0, num_shards: int = 1) -> str:
    return f"{prefix}.data-{shard:05d}-of-{num_shards:05d}"


_writable: dict = {}  # dtype -> DType, for the dtypes already accepted (a few)


def writable_dtype(dtype) -> dtypes.DType:
    """The DType for ``dtype`` if a checkpoint can hold it; TypeError otherwise (strings, objects)."""
    try:
        return _writable[dtype]
    except (KeyError, TypeError):
        pass
    d = _writable_dtype(dtype)
    if isinstance(dtype, np.dtype):
        _writable[dtype] = d
    return d


def _writable_dtype(dtype) -> dtypes.DType:
    try:
        if isinstance(dtype, np.dtype) and dtype.byteorder not in "=|":
            dtype = dtype.newbyteorder("=")  # big-endian arrays are converted chunk by chunk
        d = dtypes.as_dtype(dtype)
    except TypeError as e:
        raise TypeError(f"cannot save dtype {dtype!r} in a checkpoint") from e
    if d not in streaming.NUMERIC_DTYPES:
        raise TypeError(f"cannot save {d.name} tensors (numeric and bool dtypes only)")
    return d


class _AtomicTensorWriter:
    """State shared by the bundle and safetensors writers: one temporary data file, abort/finish."""

    def __init__(self, final_path: str, durable: bool = True) -> None:
        directory = os.path.dirname(final_path) or "."
        if not os.path.isdir(directory):
            raise ValueError(f"Parent directory of {final_path} doesn't exist, can't save: {directory}")
        self._directory = directory
        self._temps = [temp_path(final_path)]
        self._fd = create_exclusive(self._temps[0])
        self._pool = streaming.CrcPool()
        self._state = "open"
        self._durable = durable  # False: no fsync (TF's behaviour): renames stay atomic, a power loss may lose the save

    def _check_open(self) -> None:
        if self._state != "open":
            raise ValueError(f"writer is {self._state}")

    def _close_fd(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def abort(self) -> None:
        """Closes and removes the temporary files; nothing appears under a final name. Idempotent."""
        if self._state != "open":
            return
        self._state = "aborted"
        self._close_fd()
        self._pool.close()
        for path in self._temps:
            remove_quietly(path)

    def _commit(self, renames: list[tuple[str, str]]) -> None:
        """Renames temporaries to final names, in order, then makes the renames durable."""
        for tmp, final in renames:
            os.replace(tmp, final)
        if self._durable:
            fsync_dir(self._directory)
        self._state = "finished"
        self._pool.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.abort()  # finish() is never implicit: leaving the block without it discards the save


class BundleWriter(_AtomicTensorWriter):
    """Streams tensors into a TF V2 checkpoint with prefix ``prefix``.

    Files are written under temporary names and appear under their final names only when
    :meth:`finish` succeeds (data file first, then the index).

    Example:
      >>> with BundleWriter("/tmp/model.ckpt") as w:
      ...     w.add("weights", np.ones((2, 3), np.float32))
      ...     w.finish()

    Args:
      prefix: the checkpoint prefix.
      durable: fsync the files and the directory before :meth:`finish` returns (default); False
        skips the fsyncs, as TensorFlow does: still atomic against a killed process, not against
        a power loss.

    Tensors of at most ``streaming.SMALL_TENSOR`` bytes are copied (under the caller's lock) into
    a group buffer with their CRC32C computed inline, and each group is written in one syscall.

    Raises:
      ValueError: ``prefix``'s directory does not exist.
    """

    def __init__(self, prefix: str, durable: bool = True) -> None:
        self._prefix = prefix
        super().__init__(data_path(prefix), durable)
        self._entries: dict[bytes, BundleEntry] = {}  # key bytes (slice keys need not be UTF-8)
        self._offset = 0
        self._stager = streaming.Stager(self._fd)

    def add(self, name: str, array: np.ndarray) -> None:
        """Writes ``array``'s bytes from its own memory (chunks of 8 MiB, CRC overlapped).

        Raises:
          TypeError: a string or object dtype.
          ValueError: ``name`` is empty or already added.
        """
        array = np.asarray(array)
        dtype = writable_dtype(array.dtype)
        self._append(name, dtype, array.shape, streaming.array_pieces(array))

    def add_chunks(self, name: str, dtype, shape: tuple[int, ...], chunks: Iterable) -> None:
        """Writes a tensor fed as buffer-protocol chunks (C-order little-endian bytes).

        Each chunk is fully written before the next is requested, so a producer may refill
        one staging buffer. The chunks must hold exactly prod(shape) * itemsize bytes
        (ValueError otherwise, and nothing of the tensor is kept).
        """
        self._append(name, writable_dtype(dtype), tuple(map(int, shape)), chunks)

    def add_slice(self, name: str, full_shape: tuple[int, ...], extents: slices.Slice, dtype, chunks: Iterable) -> None:
        """Writes one slice of the partitioned tensor ``name`` (TF's BundleWriter::AddSlice).

        Args:
          name: the full tensor's name (a partitioned variable's, e.g. "emb").
          full_shape: the full tensor's shape.
          extents: ``(start, length)`` per dimension (length -1: the whole dimension).
          dtype: the slice's dtype (every slice of ``name`` has the same).
          chunks: the slice's C-order bytes, as for :meth:`add_chunks`.

        A slice covering the whole tensor is written as a plain entry, as TF does. Otherwise the
        bytes go under TF's slice key and the full entry ``name`` lists the slice.

        Raises:
          ValueError: a slice outside ``full_shape``, a name already added as a plain tensor or
            with another dtype / full shape, or the same slice twice.
        """
        full_shape = tuple(int(d) for d in full_shape)
        extents = tuple((int(a), int(b)) for a, b in extents)
        dtype = writable_dtype(dtype)
        problem = slices.check_window(extents, full_shape)
        if problem:
            raise ValueError(f"slice of tensor {name} {full_shape}: {problem}")
        if slices.is_full(extents, full_shape):
            return self._append(name, dtype, full_shape, chunks)
        key = name.encode()
        full = self._entries.get(key)
        if full is not None and (not full.slices or full.dtype != dtype.as_datatype_enum or full.shape != full_shape):
            raise ValueError(f"tensor {name} was already added to {self._prefix} as another tensor or partitioning")
        shape = tuple(n for _, n in slices.resolve(extents, full_shape))
        self._append(name, dtype, shape, chunks, key=slices.slice_key(name, extents))
        listed = full.slices if full is not None else ()
        self._entries[key] = BundleEntry(
            dtype.as_datatype_enum, full_shape, slices=listed + (slices.encode_slice(extents),)
        )

    def _append(self, name: str, dtype: dtypes.DType, shape: tuple[int, ...], pieces: Iterable,
                key: bytes | None = None) -> None:  # fmt: skip
        self._check_open()
        if not isinstance(name, str) or not name:
            raise ValueError(f"tensor name must be a non-empty string, got {name!r}")
        key = name.encode() if key is None else key
        if key in self._entries:
            raise ValueError(f"tensor {name} (or this slice of it) was already added to {self._prefix}")
        need = math.prod(shape) * dtype.size
        start = self._offset
        if need <= streaming.SMALL_TENSOR:  # staged: nothing reaches the file unless all bytes came
            try:
                total, crc = self._stager.add(pieces, need)
            except OSError:  # writing out the staged group failed: the tensors in it are gone
                self.abort()
                raise
            if total != need:
                raise _short_chunks(name, dtype, shape, need, total)
        else:
            self._flush_staged()
            try:
                total, crc = streaming.write_stream(self._fd, pieces, self._pool, need)
                if total != need:
                    raise _short_chunks(name, dtype, shape, need, total)
            except BaseException:
                os.ftruncate(self._fd, start)  # drop the partial tensor; the writer stays usable
                os.lseek(self._fd, start, os.SEEK_SET)
                raise
        self._offset += total
        self._entries[key] = BundleEntry(dtype.as_datatype_enum, shape, 0, start, total, crc_mod.mask(crc))

    def _flush_staged(self) -> None:
        try:
            self._stager.flush()
        except BaseException:
            self.abort()
            raise

    def finish(self) -> None:
        """Makes the checkpoint durable and visible: fsync data, write + fsync the index,
        rename data then index into place, fsync the directory.

        Overwriting a prefix is kill-safe: the new data goes to a file name the index in place
        does not use (``-of-00002`` with an empty second shard when the old one is ``-of-00001``,
        and back), so until the index rename the old index still has its own data, and after it
        the new one has; the old data file is removed last.
        """
        self._check_open()
        try:
            self._stager.flush()
            if self._durable:
                os.fsync(self._fd)
            self._close_fd()
            num_shards = 2 if _index_num_shards(index_path(self._prefix)) == 1 else 1
            table = TableBuilder()
            table.add(b"", BundleHeader(num_shards=num_shards).encode())
            entries = self._entries
            table.add_sorted((key, encode_entry(entries[key])) for key in sorted(entries))
            renames = [(self._temps[0], data_path(self._prefix, 0, num_shards))]
            if num_shards == 2:
                renames.append((self._write_temp(data_path(self._prefix, 1, 2), b""), data_path(self._prefix, 1, 2)))
            renames.append((self._write_temp(index_path(self._prefix), table.finish()), index_path(self._prefix)))
            self._commit(renames)
        except BaseException:
            self.abort()
            raise
        _remove_other_shards(self._prefix, num_shards)

    def _write_temp(self, final: str, data: bytes) -> str:
        self._temps.append(temp_path(final))
        fd = create_exclusive(self._temps[-1])
        try:
            write_all(fd, data)
            if self._durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        return self._temps[-1]


def _short_chunks(name: str, dtype: dtypes.DType, shape: tuple[int, ...], need: int, total: int) -> ValueError:
    return ValueError(f"chunks of tensor {name} hold {total} bytes; {dtype.name} {list(shape)} needs {need}")


def _index_num_shards(path: str) -> int | None:
    """num_shards of the index at ``path``, or None if there is none (or it cannot be read)."""
    if not os.path.lexists(path):
        return None
    try:
        fd, fid = files.open_file(path)
        try:
            pairs = read_table(lambda offset, n: streaming.read_exactly(fd, offset, n, path), fid.size)
        finally:
            os.close(fd)
        return BundleHeader.decode(pairs[0][1]).num_shards if pairs and pairs[0][0] == b"" else None
    except (errors.OpError, TableError, ProtoError):
        return None


def _remove_other_shards(prefix: str, num_shards: int) -> None:
    """Removes data files of ``prefix`` that the index just written does not name (best effort)."""
    keep = {data_path(prefix, k, num_shards) for k in range(num_shards)}
    for path in glob.glob(glob.escape(prefix) + ".data-?????-of-?????"):
        if path not in keep:
            try:
                os.remove(path)
            except OSError:
                pass


def _data_loss(path: str, msg: str) -> errors.OpError:
    return errors.DataLossError(None, None, f"{msg} in checkpoint index {path}")


class BundleReader(streaming.TensorReader):
    """Reads a TF V2 checkpoint (``prefix.index`` + data shards), validated up front.

    The index and every data file are opened together; if the index was replaced meanwhile
    (a writer overwriting the prefix), they are opened again, so a reader sees one whole
    checkpoint. Tensors of a dtype graphvar lacks are listed and raise UnimplementedError only
    when read.

    Raises:
      NotFoundError: the index or a data file is missing.
      DataLossError: any damage in the index (footer, block CRCs, entries) or an entry that
        points outside its data file; the message names the file and tensor.
      UnimplementedError: a big-endian bundle.
      FailedPreconditionError: the index or a data file is a directory, FIFO or device.
    """

    def __init__(self, prefix: str, hold_files: bool = False) -> None:
        super().__init__(prefix, hold_files)
        self._prefix = prefix
        self._sliced: dict[str, list] = {}
        try:
            for _ in range(_OPEN_ATTEMPTS):
                if self._load(index_path(prefix)):
                    return
            raise errors.AbortedError(None, None, f"{index_path(prefix)} kept being replaced while it was opened")
        except BaseException:
            self.close()
            raise

    def _load(self, path: str) -> bool:
        """Validates the index and opens its data files; False if the index was replaced meanwhile."""
        self.close()
        self._closed, self._infos, self._files = False, {}, {}
        self._shards: dict[tuple[int, int], tuple[str, int]] = {}  # (shard_id, num_shards) -> (data path, size)
        fd, fid = files.open_file(path)
        try:
            pairs = read_table(lambda offset, n: streaming.read_exactly(fd, offset, n, path), fid.size)
        except TableError as e:
            raise _data_loss(path, str(e)) from e
        finally:
            os.close(fd)
        if not pairs or pairs[0][0] != b"":
            raise _data_loss(path, "missing bundle header (key '')")
        num_shards = self._check_header(path, pairs[0][1])
        entries, slice_values = [], {}
        for key, value in pairs[1:]:
            if slices.slice_key_name(key) is not None:
                slice_values[key] = value  # data of one slice: read through its full entry
                continue
            try:
                entries.append((key.decode(), decode_entry(value)))
            except (UnicodeDecodeError, ProtoError) as e:
                raise _data_loss(path, f"bad entry for key {key!r}: {e}") from e
        self._sliced = {}
        try:
            for name, entry in entries:
                if entry.slices:
                    self._infos[name] = self._check_sliced(path, name, entry, slice_values, num_shards)
                else:
                    self._infos[name] = self._check_entry(path, name, entry, num_shards)
            for key, value in slice_values.items():  # NUL-prefixed keys no full entry lists: ordinary tensors
                try:
                    name, entry = key.decode(), BundleEntry.decode(value)
                except (UnicodeDecodeError, ProtoError):
                    continue  # an orphan slice's data (TF ignores it too)
                if not entry.slices:
                    self._infos[name] = self._check_entry(path, name, entry, num_shards)
        except errors.NotFoundError:
            if _same_file(path, fid):
                raise
            return False  # a writer replaced the checkpoint and removed the old data file
        return _same_file(path, fid)

    def _check_header(self, path: str, value: bytes) -> int:
        try:
            header = BundleHeader.decode(value)
        except ProtoError as e:
            raise _data_loss(path, f"bad bundle header: {e}") from e
        if not 1 <= header.num_shards <= _MAX_SHARDS:
            raise _data_loss(path, f"bad num_shards {header.num_shards}")
        if header.endianness == 1:
            raise errors.UnimplementedError(None, None, f"{path}: big-endian checkpoints are not supported")
        if header.endianness != 0 or header.min_consumer > 1 or 1 in header.bad_consumers:
            raise _data_loss(path, f"unsupported bundle header {header}")
        return header.num_shards

    def _check_sliced(
        self, path: str, name: str, e: BundleEntry, slice_values: dict, num_shards: int
    ) -> streaming.TensorInfo:
        """Validates a partitioned tensor's full entry and every slice it lists (each slice's own entry
        is checked as a tensor); records the pieces for :meth:`read_slice`."""
        where = f"tensor {name}"
        if e.unknown_rank or len(e.shape) > streaming.MAX_RANK or any(d < 0 for d in e.shape):
            raise _data_loss(path, f"{where} has invalid shape {list(e.shape[:10])} (rank {len(e.shape)})")
        pieces = []
        for raw in e.slices:
            try:
                extents = slices.decode_slice(raw)
            except ProtoError as err:
                raise _data_loss(path, f"{where} has a bad slice: {err}") from err
            problem = slices.check_window(extents, e.shape)
            if problem:
                raise _data_loss(path, f"{where} lists a slice outside its shape: {problem}")
            spec = slices.spec_string(e.shape, extents)
            value = slice_values.pop(slices.slice_key(name, extents), None)
            if value is None:
                raise _data_loss(path, f"slice {spec} of {where} has no entry")
            try:
                piece = BundleEntry.decode(value)
            except ProtoError as err:
                raise _data_loss(path, f"bad entry for slice {spec} of {where}: {err}") from err
            shape = tuple(n for _, n in slices.resolve(extents, e.shape))
            if piece.dtype != e.dtype or piece.shape != shape or piece.slices:
                raise _data_loss(path, f"slice {spec} of {where} is stored with dtype {piece.dtype} shape "
                                       f"{list(piece.shape)}, expected dtype {e.dtype} shape {list(shape)}")  # fmt: skip
            info = self._check_entry(path, f"{name} (slice {spec})", piece, num_shards)
            pieces.append((slices.resolve(extents, e.shape), info))
        self._sliced[name] = pieces
        first = pieces[0][1]
        nbytes = first.dtype.size * int(np.prod(e.shape, dtype=object)) if first.dtype.np is not None else 0
        return dataclasses.replace(first, name=name, shape=e.shape, offset=0, size=nbytes, crc=None)

    def read_slice(self, name: str, window=None, out: np.ndarray | None = None) -> np.ndarray:
        """Returns the window ``((start, length), ...)`` of tensor ``name`` (None: all of it), assembled
        from whichever slices, in whichever data files, hold it; a plain tensor works too.

        Example:
          >>> r.read_slice("emb", [(2, 5), (0, 4)])   # rows 2..6 of a partitioned [10, 4] variable

        Raises:
          InvalidArgumentError: the window lies outside the tensor (the message names both).
          InternalError: the checkpoint's slices do not cover the window.
          DataLossError: a slice fails its CRC.
        """
        info = self._readable(name)
        pieces = self._sliced.get(name) or [(tuple((0, d) for d in info.shape), info)]
        return slices.assemble(self, info, pieces, window, out)

    def read_into(self, name: str, out: np.ndarray) -> None:
        if name not in self._sliced:
            return super().read_into(name, out)
        self.read_slice(name, None, out)

    def verify(self, name: str) -> None:
        if name not in self._sliced:
            return super().verify(name)
        self._readable(name)
        for _, piece in self._sliced[name]:
            self._verify_info(piece)

    def iter_chunks(self, name: str, buffer):
        if name not in self._sliced:
            yield from super().iter_chunks(name, buffer)
            return
        whole = streaming.byte_view(self.read_slice(name).reshape(-1).view(np.uint8))  # one host copy
        views = [
            streaming.byte_view(b, writable=True) for b in (buffer if isinstance(buffer, (list, tuple)) else [buffer])
        ]
        pos = k = 0
        while pos < whole.nbytes:
            view = views[k % len(views)]
            part = view[: min(view.nbytes, whole.nbytes - pos)]
            part[:] = whole[pos : pos + part.nbytes]
            yield part
            pos, k = pos + part.nbytes, k + 1

    def _shard(self, shard_id: int, num_shards: int) -> tuple[str, int]:
        known = self._shards.get((shard_id, num_shards))
        if known is not None and known[0] in self._files:
            return known
        path = data_path(self._prefix, shard_id, num_shards)
        if path not in self._files:
            fd, fid = files.open_file(path)
            self._track(path, fd, fid)
        self._shards[(shard_id, num_shards)] = known = (path, self._files[path].size)
        return known

    def _check_entry(self, path: str, name: str, e: BundleEntry, num_shards: int) -> streaming.TensorInfo:
        where = f"tensor {name}"
        if not 0 <= e.shard_id < num_shards:
            raise _data_loss(path, f"{where} has shard_id {e.shard_id} of {num_shards}")
        if e.unknown_rank or len(e.shape) > streaming.MAX_RANK or (e.shape and min(e.shape) < 0):
            raise _data_loss(path, f"{where} has invalid shape {list(e.shape[:10])} (rank {len(e.shape)})")
        dtype = _READABLE_CODES.get(e.dtype)
        unreadable = _LISTABLE_CODES.get(e.dtype)
        if unreadable is None and e.dtype in _ODD_DTYPES:
            unreadable = f"dtype {_ODD_DTYPES[e.dtype].name} is not supported by graphvar"
        if dtype is None and unreadable is None:
            raise _data_loss(path, f"{where} has invalid dtype code {e.dtype}")
        data, data_size = self._shard(e.shard_id, num_shards)
        if e.offset < 0 or e.size < 0 or e.offset > data_size or e.size > data_size - e.offset:
            raise _data_loss(
                path, f"{where} [offset {e.offset}, size {e.size}] runs past the end of {data} ({data_size} bytes)"
            )
        if dtype is not None:
            nbytes = streaming.checked_num_bytes(e.shape, dtype.size, e.size)
            if nbytes != e.size:
                raise _data_loss(path, f"{where} has size {e.size} but {dtype.name} {list(e.shape)} needs more or less")
        return streaming.TensorInfo.make(
            name,
            dtype or _ODD_DTYPES.get(e.dtype) or dtypes.as_dtype(e.dtype),
            e.shape,
            data,
            e.offset,
            e.size,
            crc_mod.unmask(e.crc32c),
            unreadable,
        )


def _same_file(path: str, fid: files.FileId) -> bool:
    try:
        return files.FileId.of(os.stat(path)) == fid
    except OSError:
        return False

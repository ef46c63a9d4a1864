"""Sharded checkpoints: per-shard bundle writers and TensorFlow's ``MergeV2Checkpoints``.

A sharded save of prefix ``P`` in N shards writes each shard as its own one-shard bundle
(:class:`ShardWriter`, any process sharing the directory), then one :func:`merge_bundles` call
(the coordinator) turns them into ``P.data-0000K-of-0000N`` plus one ``P.index``. The merged index
is byte for byte what TensorFlow's ``MergeBundles`` (``tensor_bundle.cc``) writes for the same
inputs: header ``num_shards`` the sum of the inputs', endianness and version of the first;
entries in key order, each data file numbered in the order its first entry is met (inputs in
the order given, keys sorted within each); the ``slices`` of a partitioned tensor's full entry
concatenated across inputs in that order.

Commit protocol of :func:`merge_bundles`: every input index is read and checked and the merged
index is written and fsynced under a temporary name first; then an existing ``P.index`` is
removed, the data files are renamed to their final names, and the merged index is renamed into
place last: that rename is the commit point. On an error before it the data files are renamed
back and nothing new is left under ``P``; the caller discards the shards (:func:`discard_bundle`).

Shard bundles live beside ``P`` under temporary names of this process
(``P.shard-00001-of-00004.gvtmp-<machine>-<pid>-<id>.tmp`` + ``.index`` / ``.data-00000-of-00001``),
so :func:`graphvar.checkpoint.cleanup_stale_temps` removes those of a writer that died.
"""

from __future__ import annotations

import dataclasses
import glob
import os
from collections.abc import Sequence

from graphvar import errors
from graphvar.checkpoint import files, streaming
from graphvar.checkpoint.atomic import fsync_dir, remove_quietly, temp_path
from graphvar.checkpoint.bundle import BundleWriter, data_path, index_path
from graphvar.checkpoint.proto import BundleHeader, ProtoError, decode_varint, encode_varint, iter_fields
from graphvar.checkpoint.table import TableBuilder, TableError, read_table

__all__ = ["ShardWriter", "discard_bundle", "merge_bundles", "shard_prefix"]

_SLICES_TAG = 0x3A  # BundleEntryProto.slices (field 7, length-delimited)
_SHARD_TAG = 0x18  # BundleEntryProto.shard_id (field 3, varint)
_PLAIN_TAIL_TAGS = (0x20, 0x28, 0x35)  # offset, size, crc32c


def shard_prefix(prefix: str, shard: int, num_shards: int) -> str:
    """A fresh temporary prefix, owned by this process, for shard ``shard`` of ``num_shards`` of ``prefix``."""
    return temp_path(f"{prefix}.shard-{shard:05d}-of-{num_shards:05d}")


class ShardWriter(BundleWriter):
    """Writes one shard of a sharded checkpoint as a one-shard bundle under a temporary prefix.

    The same calls as :class:`BundleWriter` (``add``, ``add_chunks``, ``add_slice``, ``finish``,
    ``abort``); after ``finish`` the shard is ``self.prefix``, ready for :func:`merge_bundles`. The
    writer needs nothing but the directory, so shards can be written by other processes (or
    hosts sharing the file system) and only their prefixes sent to the coordinator.

    Example:
      >>> w = ShardWriter("/tmp/model.ckpt", 0, 2)
      >>> w.add("a", np.ones(3, np.float32)); w.finish()
      >>> merge_bundles([w.prefix, other.prefix], "/tmp/model.ckpt")
    """

    def __init__(self, prefix: str, shard: int, num_shards: int) -> None:
        if not 0 <= shard < num_shards:
            raise ValueError(f"shard {shard} of {num_shards}")
        self.prefix = shard_prefix(prefix, shard, num_shards)
        super().__init__(self.prefix)


def discard_bundle(prefix: str) -> None:
    """Removes a bundle's index and data files (a shard that will not be merged). Never raises."""
    for path in [index_path(prefix), *glob.glob(glob.escape(prefix) + ".data-?????-of-?????")]:
        try:
            remove_quietly(path)
        except OSError:
            pass


@dataclasses.dataclass
class _MergeState:
    num_shards: int = 0
    header: BundleHeader | None = None
    entries: dict[bytes, bytes] = dataclasses.field(default_factory=dict)
    sliced: set[bytes] = dataclasses.field(default_factory=set)
    shard_ids: dict[str, int] = dataclasses.field(default_factory=dict)  # input data file -> merged shard id


def merge_bundles(prefixes: Sequence[str], merged_prefix: str) -> None:
    """Merges the bundles ``prefixes`` into one checkpoint ``merged_prefix`` (TF's MergeV2Checkpoints).

    Args:
      prefixes: the input bundles, in shard order (their data files must be in ``merged_prefix``'s
        directory's file system: they are renamed, not copied).
      merged_prefix: the checkpoint to create; an existing one there is replaced.

    Raises:
      InvalidArgumentError: a tensor in two inputs (other than slices of one partitioned tensor),
        slices of one tensor with different dtypes or shapes, or inputs with different endianness
        or format versions (nothing was changed).
      NotFoundError / DataLossError: a missing or damaged input (nothing was changed).

    Example:
      >>> merge_bundles([w0.prefix, w1.prefix], "/tmp/model.ckpt")   # model.ckpt.data-0000{0,1}-of-00002
    """
    state = _MergeState()
    for prefix in prefixes:
        _merge_one(prefix, state)
    n = len(state.shard_ids)  # as TF: data files are numbered over the files referenced
    renames = [(src, data_path(merged_prefix, k, n)) for src, k in state.shard_ids.items()]
    for src, _ in renames:
        if not os.path.isfile(src):
            raise errors.NotFoundError(
                None, None, f"{src}: data file of a bundle to merge into {merged_prefix} is missing"
            )
    table = TableBuilder()
    header = dataclasses.replace(state.header or BundleHeader(), num_shards=state.num_shards)
    table.add(b"", header.encode())
    entries = state.entries
    table.add_sorted([(key, entries[key]) for key in sorted(entries)])
    _commit(table.finish(), renames, merged_prefix)
    for prefix in prefixes:
        if prefix != merged_prefix:
            remove_quietly(index_path(prefix))
    keep = {dst for _, dst in renames}
    for path in glob.glob(glob.escape(merged_prefix) + ".data-?????-of-?????"):
        if path not in keep:
            remove_quietly(path)  # an older checkpoint's data under this prefix


def _commit(index_bytes: bytes, renames: list[tuple[str, str]], merged_prefix: str) -> None:
    final = index_path(merged_prefix)
    tmp = temp_path(final)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o644)
    done: list[tuple[str, str]] = []
    try:
        try:
            view = memoryview(index_bytes)
            while view.nbytes:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        remove_quietly(final)  # the old index must never name the new data
        for src, dst in renames:
            os.replace(src, dst)
            done.append((src, dst))
        os.replace(tmp, final)  # the commit point
    except BaseException:
        for src, dst in reversed(done):
            try:
                os.replace(dst, src)
            except OSError:
                pass
        remove_quietly(tmp)
        raise
    fsync_dir(os.path.dirname(final))


def _merge_one(prefix: str, state: _MergeState) -> None:
    """MergeOneBundle: adds the entries of bundle ``prefix`` to ``state``."""
    path = index_path(prefix)
    fd, fid = files.open_file(path)
    try:
        pairs = read_table(lambda offset, n: streaming.read_exactly(fd, offset, n, path), fid.size)
        if not pairs or pairs[0][0] != b"":
            raise TableError("missing bundle header (key '')")
        header = BundleHeader.decode(pairs[0][1])
    except (TableError, ProtoError) as e:
        raise errors.DataLossError(None, None, f"{e} in checkpoint index {path} (merging into a checkpoint)") from e
    finally:
        os.close(fd)
    if state.header is None:
        state.header = header
    elif header.endianness != state.header.endianness:
        raise errors.InvalidArgumentError(None, None, "Merging bundles with conflicting endianness; inputs corrupted?")
    elif _version(header) != _version(state.header):
        raise errors.InvalidArgumentError(
            None, None, f"Merging bundles with different format versions: merged {_version(state.header)} vs. "
            f"curr {_version(header)} ({prefix})"
        )  # fmt: skip
    state.num_shards += header.num_shards
    entries, sliced, shard_ids = state.entries, state.sliced, state.shard_ids
    srcs: dict[int, str] = {}
    for key, value in pairs[1:]:
        try:
            value, is_sliced, shard, start, end = _scan(value)
        except ProtoError as e:
            raise errors.DataLossError(None, None, f"Entry for key {key!r} not parseable in {path}: {e}") from e
        existing = entries.get(key)
        if existing is not None:
            if key not in sliced:
                raise errors.InvalidArgumentError(
                    None, None, f"Duplicate tensor keyed by {key.decode(errors='replace')} encountered, when "
                    f"merging prefix: {prefix}"
                )  # fmt: skip
            entries[key] = _append_slices(key, existing, value, is_sliced, start, end, prefix)
            continue
        src = srcs.get(shard)
        if src is None:
            src = srcs[shard] = data_path(prefix, shard, header.num_shards)
        new_id = shard_ids.setdefault(src, len(shard_ids))
        if new_id != shard:
            value = value[:start] + (bytes([_SHARD_TAG]) + encode_varint(new_id) if new_id else b"") + value[end:]
        entries[key] = value
        if is_sliced:
            sliced.add(key)


def _version(h: BundleHeader) -> tuple:
    return h.producer, h.min_consumer, tuple(h.bad_consumers)


def _append_slices(
    key: bytes, existing: bytes, value: bytes, is_sliced: bool, start: int, end: int, prefix: str
) -> bytes:
    """The full entry ``existing`` with the slices of ``value`` appended (TF: add_slices, re-serialized)."""
    if not is_sliced:
        raise errors.InternalError(
            None, None, f"Duplicate tensor keyed by {key.decode(errors='replace')}; attempting to merge in a "
            f"non-slice bundle entry ({prefix})"
        )  # fmt: skip
    _, _, _, e_start, _ = _scan(existing)
    if existing[:e_start] != value[:start]:  # dtype and shape
        raise errors.InvalidArgumentError(
            None, None, f"Slices of tensor {key.decode(errors='replace')} have different dtypes or shapes in {prefix}"
        )
    return existing + value[end:]


def _scan(v: bytes) -> tuple[bytes, bool, int, int, int]:
    """(entry, has slices, shard_id, start, end) of a serialized BundleEntryProto; ``entry[start:end]``
    is its shard_id field (empty where there is none, at the place one would go).

    Entries as TensorFlow (or graphvar) serializes them are recognized from their first bytes and
    returned as they are; any other layout is re-serialized in field order first, as TF would.
    """
    n = len(v)
    if n > 4 and v[0] == 0x08 and v[1] < 0x80 and v[2] == 0x12 and v[3] < 0x80:
        pos = 4 + v[3]
        if pos < n and v[pos] == _SHARD_TAG:
            shard, end = decode_varint(v, pos + 1)
        else:
            shard, end = 0, pos
        if end < n and v[end] == _SLICES_TAG:
            return v, True, shard, pos, end
        if end == n or (v[end] in _PLAIN_TAIL_TAGS and v[-5] == 0x35):
            return v, False, shard, pos, end
    v = _canonical(v)
    shard, start, end, is_sliced, pos = 0, None, None, False, 0
    while pos < len(v):
        tag, after = _skip_field(v, pos)
        field = tag >> 3
        if field == 3:
            shard, start, end = decode_varint(v, pos + 1)[0], pos, after
        elif field > 3 and start is None:
            start = end = pos
        is_sliced |= field == 7
        pos = after
    if start is None:
        start = end = len(v)
    return v, is_sliced, shard, start, end


def _canonical(v: bytes) -> bytes:
    """``v`` re-serialized as protobuf's C++ serializer would: known fields in number order, zero
    scalars dropped, unknown fields last in their order."""
    records: list[tuple[int, bytes]] = []
    pos = 0
    for field, wire, val in iter_fields(v):
        _, after = _skip_field(v, pos)
        if not (field in (1, 3, 4, 5, 6) and wire in (0, 5) and val == 0):
            records.append((field if field <= 7 else 8, v[pos:after]))
        pos = after
    records.sort(key=lambda r: r[0])  # stable: repeated fields keep their order
    return b"".join(r for _, r in records)


def _skip_field(v: bytes, pos: int) -> tuple[int, int]:
    tag, pos = decode_varint(v, pos)
    wire = tag & 7
    if wire == 0:
        _, pos = decode_varint(v, pos)
    elif wire == 1:
        pos += 8
    elif wire == 5:
        pos += 4
    else:
        length, pos = decode_varint(v, pos)
        pos += length
    return tag, pos

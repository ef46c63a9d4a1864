"""Moving a Saver's variables between a Session and checkpoint files, one variable at a time.

Save: every variable is checked first (initialized, a dtype the format can hold); then each
is written straight from its own buffer while its lock is held, so a concurrent assign can
neither tear it nor be torn. Restore: every key, dtype and shape is checked before any
variable is touched; then each tensor is read straight into the variable's buffer (or a new
one of the right shape), again under the variable's lock. Extra memory is a few I/O chunks.

Every backend streams through its ``save_chunks(array, chunk_bytes) -> Iterator[memoryview]`` and
``restore_from(reader, name, array)`` (``graphvar.backends.base.Backend``): the host backend from and
into the variable's own memory, the GPU backend through its pinned staging ring; the defaults of a
backend that has no streaming of its own cost one host copy of the variable being moved (never of
the model).
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import logging
import math
import sys
from typing import Any, TextIO

import numpy as np

from graphvar import dtypes, errors
from graphvar.backends.array_kernels import VarSlot
from graphvar.checkpoint import BundleWriter, SafetensorsWriter, open_reader
from graphvar.checkpoint.bundle import writable_dtype
from graphvar.checkpoint.merge import ShardWriter, discard_bundle, merge_bundles
from graphvar.checkpoint.streaming import CHUNK_SIZE, TensorReader
from graphvar.framework import ops
from graphvar.framework.tensor_shape import TensorShape

log = logging.getLogger("graphvar")


@dataclasses.dataclass(frozen=True)
class Entry:
    """One variable of a Saver: its checkpoint key and the variable (a Variable or its ref Tensor);
    a part of a partitioned variable also has its SaveSliceInfo (the key is the full name)."""

    key: str
    variable: Any
    slice_info: Any = None

    # cached: a restore of 10,000 variables reads each of these ~10 times per variable
    @functools.cached_property
    def op(self) -> ops.Operation:
        return self.variable.op

    @functools.cached_property
    def dtype(self) -> dtypes.DType:
        return self.op._attrs["dtype"]

    @functools.cached_property
    def shape(self) -> TensorShape:
        return self.op._attrs["shape"]

    @functools.cached_property
    def static_shape(self) -> tuple[int, ...] | None:
        """The static shape as a tuple when fully defined, else None."""
        return self.shape.as_tuple() if self.shape.is_fully_defined() else None


class Progress:
    """A one-line progress bar on stderr, redrawn per variable; silent unless enabled."""

    def __init__(self, verb: str, total_bytes: int, enabled: bool, stream: TextIO | None = None) -> None:
        self._verb, self._total, self._enabled = verb, max(total_bytes, 1), enabled
        self._done = 0
        self._stream = stream or sys.stderr

    def advance(self, nbytes: int, name: str) -> None:
        if not self._enabled:
            return
        self._done += nbytes
        frac = min(self._done / self._total, 1.0)
        bar = "#" * int(frac * 30)
        self._stream.write(
            f"\r{self._verb} [{bar:<30}] {frac:4.0%} {self._done / 2**20:,.0f}/{self._total / 2**20:,.0f} MiB {name[-40:]:<40}"
        )
        self._stream.flush()

    def close(self) -> None:
        if self._enabled:
            self._stream.write("\n")
            self._stream.flush()


# ---- save ----
def save_tensors(sess: Any, entries: list[Entry], prefix: str, fmt: str, progress: bool = False,
                 sharded: bool = False, durable: bool = True) -> None:  # fmt: skip
    """Writes every entry's current value to checkpoint ``prefix`` (nothing appears unless all succeed).

    With ``sharded`` (format "tf") the entries are grouped by device, sorted by device name as TF's
    ``_GroupByDevices``; group K is written by a ShardWriter and the shards are merged into
    ``prefix.data-0000K-of-0000N`` + ``prefix.index`` (graphvar.checkpoint.merge).

    ``durable=False`` skips the fsyncs (TF's behaviour); the files still appear atomically.

    Raises:
      FailedPreconditionError: a variable is uninitialized (checked before any file is created).
      TypeError: a dtype the format cannot hold (also before any file is created).
    """
    slots = [sess._variable_slot(e.variable) for e in entries]
    specs = _saveable_specs(entries, slots, prefix)
    if fmt != "tf" and any(e.slice_info is not None for e in entries):
        raise ValueError("safetensors checkpoints cannot hold partitioned variables; use format='tf'")
    if fmt == "tf" and sharded:
        return _save_sharded(entries, slots, prefix)
    writer = BundleWriter(prefix, durable) if fmt == "tf" else SafetensorsWriter(prefix, specs, durable=durable)
    sizes = [math.prod(shape) * dtype.itemsize for _, dtype, shape in specs]  # once per tensor
    bar = Progress("Saving", sum(sizes), progress)
    with writer:
        for entry, slot, spec, size in zip(entries, slots, specs, sizes):
            _write_slot(writer, entry, slot, spec if fmt != "tf" else None)
            bar.advance(size, entry.key)
        writer.finish()
    bar.close()


def _saveable_specs(entries: list[Entry], slots: list[VarSlot], prefix: str) -> list[tuple[str, Any, tuple]]:
    values = [slot.value for slot in slots]
    missing = [e.op.name for e, v in zip(entries, values) if v is None]
    if missing:
        raise errors.FailedPreconditionError(
            None, None, f"Attempting to use uninitialized value {', '.join(missing)} (nothing was saved to {prefix})"
        )
    for entry, value in zip(entries, values):
        try:
            writable_dtype(value.dtype)
        except TypeError as e:
            raise TypeError(f"Cannot save variable {entry.op.name}: {e}") from e
    return [(e.key, v.dtype, tuple(v.shape)) for e, v in zip(entries, values)]


def _save_sharded(entries: list[Entry], slots: list[VarSlot], prefix: str) -> None:
    groups: dict[str, list] = {}
    for entry, slot in zip(entries, slots):
        groups.setdefault(entry.op.device or "", []).append((entry, slot))
    writers: list[ShardWriter] = []
    try:
        for k, device in enumerate(sorted(groups)):
            writers.append(ShardWriter(prefix, k, len(groups)))
            for entry, slot in groups[device]:
                _write_slot(writers[-1], entry, slot, None)
            writers[-1].finish()
        merge_bundles([w.prefix for w in writers], prefix)
    except BaseException:
        for w in writers:
            w.abort()
            discard_bundle(w.prefix)
        raise


def _write_slot(writer: Any, entry: Entry, slot: VarSlot, spec: tuple | None) -> None:
    with slot.lock:
        value = slot.value
        if value is None:
            raise errors.FailedPreconditionError(None, None, f"Attempting to use uninitialized value {slot.name}")
        if spec is not None and (value.dtype != spec[1] or tuple(value.shape) != spec[2]):
            raise errors.InvalidArgumentError(
                None, None, f"Variable {slot.name} changed to {value.dtype} {tuple(value.shape)} while being saved"
            )
        chunks = slot.backend.save_chunks(value, CHUNK_SIZE)
        info = entry.slice_info
        if info is None:
            writer.add_chunks(entry.key, value.dtype, tuple(value.shape), chunks)
        elif list(value.shape) != info.var_shape:
            raise errors.InvalidArgumentError(
                None, None, f"Part {slot.name} of partitioned variable {entry.key} has shape {list(value.shape)}; "
                f"its slice {info.spec} needs {info.var_shape}"
            )  # fmt: skip
        else:
            writer.add_slice(entry.key, info.full_shape, info.extents, value.dtype, chunks)


# ---- restore ----
def restore_tensors(sess: Any, entries: list[Entry], path: str, reshape: bool = False, progress: bool = False) -> None:
    """Restores every entry from the checkpoint at ``path``, all or nothing.

    The files stay open for the whole call, so a concurrent rename cannot change what is read.
    Every key, dtype and shape is checked first; then every tensor that goes into an existing
    buffer has its bytes read and CRC-checked (through a small buffer); tensors that need a new
    buffer are read into it and kept aside; only then are existing buffers overwritten and the
    new ones installed. Extra memory: a few I/O chunks (plus, for a variable whose buffer
    cannot be reused, its old buffer until the end).

    Raises:
      NotFoundError: keys missing from the checkpoint (all of them, with close matches).
      InvalidArgumentError: dtype or shape mismatches (all of them).
      DataLossError: a tensor failed its checksum or its file is short.
      OpError: an I/O error (EIO: UnknownError) or no memory (ResourceExhaustedError).
      In every case no variable was changed, except after an I/O error in the final pass over
      bytes that had just been verified (a failing disk): see the message.
    """
    with open_reader(path, hold_files=True) as reader:
        shapes = _validate(reader, entries, path, reshape)
        slots = [sess._variable_slot(e.variable) for e in entries]
        in_place = [e.slice_info is None and _reusable(s.value, t, e.dtype.np)
                    for e, s, (_, t) in zip(entries, slots, shapes)]  # fmt: skip
        sizes = [reader.info(e.key).size for e in entries]
        bar = Progress("Restoring", sum(sizes), progress)
        reader.prefetch([e.key for e in entries if e.slice_info is None])  # small tensors: grouped reads, CRCs checked
        unverified = set(reader.unverified([e.key for e, reuse in zip(entries, in_place) if reuse]))
        for entry, reuse in zip(entries, in_place):
            if reuse and entry.key in unverified:
                _guarded(entry, path, reader.verify, entry.key)
        fresh = {}
        for i, (entry, slot, (ckpt_shape, target)) in enumerate(zip(entries, slots, shapes)):
            if entry.slice_info is not None:  # a part: its window of the checkpoint's tensor, read and kept aside
                fresh[i] = _guarded(entry, path, _read_part, reader, entry, slot.backend)
                bar.advance(sizes[i], entry.key)
            elif not in_place[i]:
                fresh[i] = _guarded(entry, path, _read_tensor, reader, entry.key, None, slot.backend, ckpt_shape,
                                    target, entry.dtype.np)  # fmt: skip
                bar.advance(sizes[i], entry.key)
        done: list[str] = []
        for i, (entry, slot, (ckpt_shape, target)) in enumerate(zip(entries, slots, shapes)):
            if in_place[i]:
                _overwrite(reader, entry, slot, ckpt_shape, target, path, done)
                bar.advance(sizes[i], entry.key)
        for i, buf in fresh.items():
            with slots[i].lock:
                slots[i].value = buf
        bar.close()


def _guarded(entry: Entry, path: str, fn: Any, *args: Any) -> Any:
    """Calls ``fn``; an error says which variable failed and that no variable was changed."""
    try:
        return fn(*args)
    except errors.OpError as e:
        raise type(e)(
            None, None, f"{e.message}; restoring variable {entry.op.name} from {path} failed (no variable was changed)"
        ) from e
    except MemoryError as e:
        raise errors.ResourceExhaustedError(
            None, None, f"OOM allocating {entry.dtype.name} {list(entry.shape.as_list() or [])} to restore variable "
            f"{entry.op.name} (key {entry.key}) from {path} (no variable was changed)"
        ) from e  # fmt: skip


def _overwrite(reader: TensorReader, entry: Entry, slot: VarSlot, ckpt_shape: tuple, target: tuple, path: str,
               done: list[str]) -> None:  # fmt: skip
    """Reads verified bytes into the variable's own buffer; on failure (a disk error between
    the two reads) the torn variable is left uninitialized and the message lists what changed."""
    with slot.lock:
        buf = slot.value if _reusable(slot.value, target, entry.dtype.np) else None
        try:
            slot.value = _read_tensor(reader, entry.key, buf, slot.backend, ckpt_shape, target, entry.dtype.np)
        except errors.OpError as e:
            slot.value = None
            changed = ", ".join(done) or "none"
            raise type(e)(
                None, None, f"{e.message}; the bytes had passed verification: variable {entry.op.name} is left "
                f"uninitialized, variables already restored from {path}: {changed}"
            ) from e  # fmt: skip
        except BaseException:
            slot.value = None
            raise
    done.append(entry.op.name)


def _validate(reader: TensorReader, entries: list[Entry], path: str, reshape: bool) -> list[tuple[tuple, tuple]]:
    keys = reader.keys()
    missing = [e.key for e in entries if not reader.has_tensor(e.key)]
    if missing:
        raise errors.NotFoundError(None, None, _missing_message(missing, keys, path))
    problems, shapes = [], []
    for e in entries:
        info = reader.info(e.key)
        if info.unreadable:
            raise errors.UnimplementedError(None, None, f"Cannot restore variable {e.op.name}: {info.unreadable}")
        target, problem = _target_shape(e, info.dtype, info.shape, reshape) if e.slice_info is None else (
            _part_shape(e, info.dtype, info.shape))  # fmt: skip
        if problem:
            problems.append(problem)
        shapes.append((info.shape, target))
    if problems:
        raise errors.InvalidArgumentError(
            None,
            None,
            f"Restoring from checkpoint {path} failed (no variable was changed):\n  " + "\n  ".join(problems),
        )
    return shapes


_MAX_HINTED_KEYS = 20  # "did you mean" for the first few missing keys; the rest are only listed
_MAX_CANDIDATES = 200


def _missing_message(missing: list[str], keys: list[str], path: str) -> str:
    """Lists every missing key; close matches for at most _MAX_HINTED_KEYS of them, each compared
    with at most _MAX_CANDIDATES keys (those with the same last name component), so the message
    costs O(keys + missing) however many keys miss (e.g. a whole model under another scope)."""
    by_base: dict[str, list[str]] = {}
    for k in keys:
        by_base.setdefault(k.rsplit("/", 1)[-1], []).append(k)
    lines = []
    for n, key in enumerate(missing):
        hint = ""
        if n < _MAX_HINTED_KEYS:
            candidates = by_base.get(key.rsplit("/", 1)[-1]) or (keys if len(keys) <= _MAX_CANDIDATES else [])
            close = difflib.get_close_matches(key, candidates[:_MAX_CANDIDATES], n=3, cutoff=0.6)
            hint = f" (did you mean: {', '.join(close)}?)" if close else ""
        lines.append(f"Key {key} not found in checkpoint{hint}")
    head = f"Restoring from checkpoint {path} failed: {len(missing)} key(s) not found (no variable was changed)"
    return head + ":\n  " + "\n  ".join(lines)


def _target_shape(e: Entry, dtype: dtypes.DType, shape: tuple, reshape: bool) -> tuple[tuple, str]:
    """The shape the variable will have, and a description of what does not fit ('' if it fits)."""
    if dtype == e.dtype and e.static_shape == shape:  # the common case, without building a message
        return shape, ""
    where = f"variable {e.op.name} (checkpoint key {e.key})"
    if dtype != e.dtype:
        return shape, f"{where}: expected dtype {e.dtype.name} does not equal original dtype {dtype.name}"
    static = e.shape
    if not static.is_fully_defined():
        if reshape or static.is_compatible_with(shape):
            return shape, ""
    elif static.as_tuple() == tuple(shape):
        return shape, ""
    elif reshape and static.num_elements() == int(np.prod(shape, dtype=np.int64)):
        return static.as_tuple(), ""
    want = static.as_list() if static.ndims is not None else "<unknown>"
    return shape, (
        f"{where}: Assign requires shapes of both tensors to match. lhs shape= {want} rhs shape= {list(shape)}"
    )


def _part_shape(e: Entry, dtype: dtypes.DType, shape: tuple) -> tuple[tuple, str]:
    """A part restores from any partitioning of a tensor with its full shape (k parts into m)."""
    info = e.slice_info
    where = f"variable {e.op.name} (part {info.spec} of checkpoint key {e.key})"
    if dtype != e.dtype:
        problem = f"{where}: expected dtype {e.dtype.name} does not equal original dtype {dtype.name}"
        return tuple(info.var_shape), problem
    if list(shape) != info.full_shape:
        return tuple(info.var_shape), (
            f"{where}: the partitioned variable's full shape is {info.full_shape} but the checkpoint's "
            f"tensor {e.key} has shape {list(shape)}"
        )  # fmt: skip
    return tuple(info.var_shape), ""


def _read_part(reader: TensorReader, entry: Entry, backend: Any) -> Any:
    window = entry.slice_info.extents
    if hasattr(reader, "read_slice"):
        host = reader.read_slice(entry.key, window)
    else:  # safetensors: the whole tensor, then the window
        host = np.ascontiguousarray(reader.get_tensor(entry.key)[tuple(slice(s, s + n) for s, n in window)])
    return backend.from_host(host)  # the host backend keeps this fresh array itself


def _reusable(buf: Any, shape: tuple, dtype: np.dtype) -> bool:
    # every variable buffer is one the Session allocated (writable); shape, dtype and layout decide
    return buf is not None and tuple(buf.shape) == shape and buf.dtype == dtype and bool(buf.flags.c_contiguous)


def _read_tensor(
    reader: TensorReader, key: str, buf: Any, backend: Any, ckpt_shape: tuple, target_shape: tuple, dtype: np.dtype
) -> Any:
    """Fills ``buf`` (or a new buffer) with tensor ``key`` and returns it."""
    if buf is None:
        buf = backend.empty(target_shape, dtype)
    view = buf if ckpt_shape == target_shape else buf.reshape(ckpt_shape)  # a view: buf is C-contiguous
    backend.restore_from(reader, key, view)
    return buf

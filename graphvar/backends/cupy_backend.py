"""The GPU backend: CuPy arrays on one CUDA device, our kernels for initializers and assignments.

Imported only by ``graphvar.backends.gpu()``; this is the one module that imports CuPy at top level.

Kernels (``CupyBackend.kernels``, op type -> kernel), all run under ``cupy.cuda.Device(index)``:
  * Generic ops (Add, MatMul, Sum, Reshape, ...): ``array_kernels.make_kernels(cupy)``, the NumPy
    backend's own code run with CuPy as the array module.
  * Ours (``kernels/init.cu``, ``kernels/assign.cu``) for float16/32/64, int32/64: Fill,
    RandomUniform, RandomUniformInt, RandomStandardNormal, TruncatedNormal, Assign, AssignAdd,
    AssignSub. Random ops give the NumPy backend's numbers for the same seeds (uniform and int
    bit for bit, normals within docs/random.md's ULP bound). Fill and assignments of other dtypes
    (bool, int8, complex, ...) use CuPy's own elementwise code; the checks and errors are the
    NumPy kernels'.
  * Const: uploaded once per Session and cached (its value is immutable). String tensors (Consts,
    string variables' values) stay in host memory, as in TF.
  * Left out, so the Session runs them on the host and says so (a log line and
    ``Session.host_fallbacks``): Placeholder (its kernel only raises), ReportUninitializedVariables
    (a string output).
Each kernel source becomes one ``cupy.RawModule(code, options=("--std=c++17", "-I<kernels>"))`` per
device, compiled on first use; the code starts with a ``#define`` of the SHA-256 of every file in
``kernels/``, so CuPy's on-disk cache (keyed on the code text) never serves a build of old headers.

Saver streaming (``save_chunks`` / ``restore_from``, called by ``graphvar/train/saver_io.py``):
a ring of ``staging_slots`` (3) pinned host buffers (``cupy.cuda.alloc_pinned_memory``, at most
``staging_bytes`` = 64 MiB together) and a dedicated non-blocking stream, kept by the backend for
the next transfer (a concurrent transfer gets a ring of its own for its duration).
  * Save: the copy stream first waits for the work queued on the current stream, which, under the
    variable's lock, has just waited for the variable's last write (``VarSlot.ready``: see
    ``_OrderedLock`` and docs/architecture.md, "Streams"), then up to ``slots`` device-to-host chunk copies are in flight; chunk k is yielded
    once its event has completed, and its buffer is refilled (chunk k + slots) only after the
    consumer asks for chunk k + 1, i.e. after the file write of chunk k. So the copies of the next
    chunks overlap the write of this one.
  * Restore: ``reader.iter_chunks(name, ring.views)`` reads chunk k into pinned buffer k % slots
    (round-robin); the chunk is copied asynchronously into its slice of the variable, and before
    the reader refills a buffer the copy out of it must have completed (its event), so up to
    ``slots - 1`` copies overlap the reads and CRCs of the next chunks.
  Both copy straight between the variable's own device memory and the staging buffers: no extra
  device memory for a contiguous variable (a non-contiguous one is first made contiguous).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from typing import Any

import cupy
import numpy as np

from graphvar import errors
from graphvar.backends.array_kernels import VarSlot, _shape_error, make_kernels, variable_kernels
from graphvar.backends.base import Backend
from graphvar.backends.conv_kernels import make_conv_kernels
from graphvar.backends.cupy_training import make_cupy_training_kernels
from graphvar.backends.kernels_src import module_source
from graphvar.backends.launch import BLOCK, PER_THREAD, launch_shape, resident_blocks
from graphvar.checkpoint import streaming
from graphvar.checkpoint.streaming import CHUNK_SIZE

_SUFFIX = {np.dtype(t): s for t, s in [(np.float16, "f16"), (np.float32, "f32"), (np.float64, "f64"),
                                        (np.int32, "i32"), (np.int64, "i64")]}  # fmt: skip
_SCALAR = {"f16": np.uint16, "f32": np.float32, "f64": np.float64, "i32": np.int32, "i64": np.int64}
_RANDOM_KIND = {"RandomUniform": "uniform", "RandomUniformInt": "uniform",
                "RandomStandardNormal": "normal", "TruncatedNormal": "truncated_normal"}  # fmt: skip
_SOURCES = {"fill": "init.cu", "uniform": "init.cu", "normal": "init.cu", "truncated_normal": "init.cu",
            "assign": "assign.cu", "assign_add": "assign.cu", "assign_sub": "assign.cu"}  # fmt: skip
_M64 = (1 << 64) - 1


def device_count() -> int:
    """The CUDA devices CuPy sees (raises CuPy's error where there is no driver)."""
    return int(cupy.cuda.runtime.getDeviceCount())


def random_kernel_args(op_type: str, dtype: np.dtype, attrs: dict, key: int, run: int, n: int) -> tuple[str, tuple]:
    """(kernel name, scalar arguments after ``out``) of a random op filling ``n`` elements of ``dtype``.

    The scalars are NumPy scalars of the kernel's parameter types: CuPy passes Python ints and
    floats as int64 / float64, which a ``float`` or ``unsigned long long`` parameter would misread.

    Raises:
      InvalidArgumentError: a dtype the op does not support, or integer minval >= maxval
        (the NumPy backend's messages).
    """
    kind, dtype = _RANDOM_KIND[op_type], np.dtype(dtype)
    suffix = _SUFFIX.get(dtype)
    if suffix is None or suffix not in PER_THREAD[kind]:
        raise errors.InvalidArgumentError(None, None, f"random fill does not support dtype {dtype}")
    stream = (np.int64(n), np.int64(0), np.uint64(key & _M64), np.uint64((key >> 64) & _M64), np.uint64(run & _M64))
    if suffix in ("i32", "i64"):
        lo, hi = int(attrs["minval"]), int(attrs["maxval"])
        if lo >= hi:
            raise errors.InvalidArgumentError(None, None, f"uniform ints need minval < maxval, got [{lo}, {hi})")
        return f"{kind}_{suffix}", (*stream, np.int64(lo), np.uint64(hi - lo))
    names = ("minval", "maxval") if kind == "uniform" else ("mean", "stddev")
    p0, p1 = (attrs[k] for k in names)
    if suffix == "f16" and kind == "uniform":  # the parameters are float16 values, widened (docs/random.md)
        p0, p1 = float(np.float16(p0)), float(np.float16(p1))
    ftype = np.float64 if suffix == "f64" else np.float32
    return f"{kind}_{suffix}", (*stream, ftype(p0), ftype(p1))


def fill_value(dtype: np.dtype, value: Any) -> Any:
    """The ``value`` argument of ``fill_<suffix>``: float16 as its IEEE bits."""
    suffix = _SUFFIX[np.dtype(dtype)]
    scalar = np.asarray(value, dtype=dtype).reshape(())
    return scalar.view(np.uint16)[()] if suffix == "f16" else _SCALAR[suffix](scalar[()])


def _error_class(cuda: Any, module: str, name: str) -> tuple:
    """CuPy's exception class `cuda.<module>.<name>` as a 1-tuple for isinstance, () where this CuPy lacks it."""
    cls = getattr(getattr(cuda, module, None), name, None)
    return (cls,) if isinstance(cls, type) else ()


class CupyBackend(Backend):
    """Runs ops on CUDA device ``index`` with CuPy arrays; see the module docstring.

    Args:
      index: the CUDA device ordinal.
      staging_slots: pinned staging buffers per Saver transfer (2 to 4 make sense).
      staging_bytes: the most pinned host memory one Saver transfer uses.
    """

    name = "cupy"

    def __init__(self, index: int = 0, staging_slots: int = 3, staging_bytes: int = 64 << 20) -> None:
        self.index = index
        self.device = f"/device:GPU:{index}"
        self._device = cupy.cuda.Device(index)
        self._sm_count = int(self._device.attributes["MultiProcessorCount"])
        self._lock = threading.Lock()
        self._modules: dict[str, Any] = {}
        self._functions: dict[str, Any] = {}
        self._resident: dict[str, int] = {}  # kernel name -> blocks per SM, from its registers
        self._consts: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._staging_slots, self._staging_bytes = max(1, staging_slots), staging_bytes
        self._ring: _Ring | None = None
        self._host_assign = variable_kernels(np)["Assign"]
        self.kernels: dict[str, Any] = self._kernel_table()

    # ---- arrays ----
    def to_host(self, x: Any) -> Any:
        return cupy.asnumpy(x) if isinstance(x, cupy.ndarray) else x

    def from_host(self, x: Any) -> Any:
        if isinstance(x, np.ndarray) and x.dtype.kind in "OSUV":
            return x  # strings stay in host memory, as in TF
        with self._device:
            return cupy.asarray(x)

    def empty(self, shape: tuple, dtype: Any) -> Any:
        with self._device:
            return cupy.empty(shape, dtype)

    def release(self, session: Any) -> None:
        """Frees what this backend cached for `session` (its uploaded constants); called by Session.close."""
        with self._lock:
            self._consts.pop(session, None)

    def failure(self, e: BaseException) -> tuple[str, str]:
        cuda = cupy.cuda
        if isinstance(e, _error_class(cuda, "memory", "OutOfMemoryError")):
            return "oom", str(e)  # "Out of memory allocating N bytes (allocated so far: M bytes)."
        if isinstance(
            e, _error_class(cuda, "runtime", "CUDARuntimeError") + _error_class(cuda, "driver", "CUDADriverError")
        ):
            return "fault", f"{type(e).__name__}: {e}"
        return super().failure(e)

    def owns(self, x: Any) -> bool:
        return isinstance(x, cupy.ndarray) and x.device.id == self.index

    def copy_from_host(self, dst: Any, host: np.ndarray) -> None:
        with self._device:
            dst.set(np.ascontiguousarray(host))

    def synchronize(self) -> None:
        with self._device:
            cupy.cuda.get_current_stream().synchronize()

    def slot_lock(self, slot: Any) -> _OrderedLock:
        return _OrderedLock(slot, self._device)

    # ---- kernels ----
    def _kernel_table(self) -> dict[str, Any]:
        generic = make_kernels(cupy) | make_conv_kernels(cupy)
        del generic["ReportUninitializedVariables"]  # string output: the Session runs it on the host
        table = {op: self._on_device(kernel) for op, kernel in generic.items()}
        table.update({op: self._random_kernel(op) for op in _RANDOM_KIND})
        table.update(Const=self._const, Fill=self._fill, Assign=self._assign)
        table.update(make_cupy_training_kernels(self))  # kernels/optim.cu (graphvar/backends/cupy_training.py)
        table.update(
            AssignAdd=self._update("assign_add", cupy.add), AssignSub=self._update("assign_sub", cupy.subtract)
        )
        return table

    def _on_device(self, kernel: Any) -> Any:
        device = self._device

        def run(step: Any, args: list, ctx: Any, **kw: Any) -> Any:
            with device:
                return kernel(step, args, ctx, **kw)

        return run

    def _function(self, name: str) -> Any:
        fn = self._functions.get(name)
        if fn is None:
            source = _SOURCES[name.rsplit("_", 1)[0]]
            with self._lock:
                module = self._modules.get(source)
                if module is None:
                    code, options = module_source(source)
                    module = self._modules[source] = cupy.RawModule(code=code, options=options)
                with self._device:
                    fn = self._functions[name] = module.get_function(name)
        return fn

    def _launch(self, name: str, out: Any, n: int, args: tuple) -> None:
        """Runs kernel ``name`` over ``n`` elements (the caller is inside ``self._device``)."""
        if n == 0:
            return
        kind, suffix = name.rsplit("_", 1)
        fn = self._function(name)
        grid, block = launch_shape(kind, suffix, n, self._sm_count, self._blocks_per_sm(name, fn))
        fn(grid, block, (out, *args))

    def _blocks_per_sm(self, name: str, fn: Any) -> int:
        """Resident blocks of kernel ``name`` per SM: from the loaded function's own register count."""
        blocks = self._resident.get(name)
        if blocks is None:
            a = self._device.attributes
            blocks = self._resident[name] = resident_blocks(
                int(fn.num_regs), BLOCK, int(a.get("MaxRegistersPerMultiprocessor", 65536)),
                int(a.get("MaxThreadsPerMultiProcessor", 2048)), int(a.get("MaxBlocksPerMultiprocessor", 32)),
            )  # fmt: skip
        return blocks

    def _out(self, out: Any, shape: Any, dtype: Any, op_name: str) -> Any:
        if out is None:
            return cupy.empty(tuple(shape), dtype)
        if not (isinstance(out, cupy.ndarray) and out.flags.c_contiguous and out.device.id == self.index):
            raise errors.InvalidArgumentError(
                None, None, f"{op_name}: out must be a C-contiguous array on {self.device}"
            )
        return out

    def _const(self, step: Any, args: list, ctx: Any) -> Any:
        with self._lock:
            cache = self._consts.get(ctx.session)
            if cache is None:
                cache = self._consts[ctx.session] = {}
            value = cache.get(step.op)
        if value is None:
            value = self.from_host(step.attrs["value"])
            with self._lock:
                cache[step.op] = value
        return value

    def _fill(self, step: Any, args: list, ctx: Any, out: Any = None) -> Any:
        a = step.attrs
        with self._device:
            out = self._out(out, a["shape"], a["dtype"].np, step.op.name)
            suffix = _SUFFIX.get(out.dtype)
            if suffix is None:
                out.fill(a["value"])  # bool, int8, complex, ...: CuPy's own kernel
            else:
                self._launch(f"fill_{suffix}", out, out.size, (np.int64(out.size), fill_value(out.dtype, a["value"])))
        return out

    def _random_kernel(self, op_type: str) -> Any:
        def kernel(step: Any, args: list, ctx: Any, out: Any = None) -> Any:
            a = step.attrs
            with self._device:
                shape = a["shape"] if not args else tuple(args[0].tolist())  # attr, or a run-time shape tensor
                out = self._out(out, shape, a["dtype"].np, step.op.name)
                key, run = ctx.session._random_stream(step)
                name, scalars = random_kernel_args(op_type, out.dtype, a, key, run, out.size)
                self._launch(name, out, out.size, scalars)
            return out

        return kernel

    def _assign(self, step: Any, args: list, ctx: Any) -> VarSlot:
        slot = args[0]
        if isinstance(args[1], np.ndarray) and args[1].dtype.kind in "OSUV":
            return self._host_assign(step, args, ctx)  # a string variable keeps its value in host memory
        with self._device:
            value = cupy.asarray(args[1])
            with slot.lock:
                buf = slot.value
                if buf is None or buf.shape != value.shape or buf.dtype != value.dtype:
                    if step.attrs.get("validate_shape", True):
                        slot.check_shape(value.shape, step.op.name)
                    buf = cupy.empty(value.shape, value.dtype)  # a new buffer, never the value's own
                self._elementwise("assign", buf, value, cupy.copyto)
                slot.value = buf
        return slot

    def _update(self, kernel: str, ufunc: Any) -> Any:
        def update(step: Any, args: list, ctx: Any) -> VarSlot:
            slot = args[0]
            with self._device:
                value = cupy.asarray(args[1])
                with slot.lock:
                    buf = slot.read(step.op.name)
                    if buf.shape != value.shape:
                        raise _shape_error(step.op.name, slot.name, buf.shape, value.shape)
                    self._elementwise(kernel, buf, value, lambda dst, src: ufunc(dst, src, out=dst))
            return slot

        return update

    def _elementwise(self, kernel: str, dst: Any, src: Any, fallback: Any) -> None:
        """dst op= src with our kernel where it applies (same dtype, contiguous), else CuPy's."""
        suffix = _SUFFIX.get(dst.dtype)
        if suffix is None or src.dtype != dst.dtype or not dst.flags.c_contiguous:
            fallback(dst, src)
            return
        self._launch(f"{kernel}_{suffix}", dst, dst.size, (cupy.ascontiguousarray(src), np.int64(dst.size)))

    # ---- Saver streaming ----
    def save_chunks(self, array: Any, chunk_bytes: int) -> Iterator[memoryview]:
        """Yields ``array``'s C-order bytes in chunks of at most ``chunk_bytes``, each a pinned
        host buffer valid until the next chunk is requested (see the module docstring)."""
        if not self.owns(array):  # a string variable's value, kept in host memory
            yield from streaming.array_pieces(np.asarray(array))
            return
        with self._device:
            src = array if array.flags.c_contiguous else cupy.ascontiguousarray(array)
        if src.nbytes == 0:
            return
        ring = self._take_ring(chunk_bytes)
        try:
            yield from ring.download(src.data.ptr, src.nbytes)
        finally:
            ring.quiesce()
            self._give_ring(ring)

    def restore_from(self, reader: Any, name: str, array: Any) -> None:
        """Fills the contiguous device ``array`` with tensor ``name`` of ``reader``, chunk by chunk.

        Raises:
          InvalidArgumentError: ``array`` is not a C-contiguous array of this device, or the
            tensor holds more bytes than it.
          DataLossError: the tensor holds fewer bytes, or fails its checksum (from the reader).
        """
        if not (isinstance(array, cupy.ndarray) and array.flags.c_contiguous and array.device.id == self.index):
            raise errors.InvalidArgumentError(
                None, None, f"restore of {name}: needs a C-contiguous array on {self.device}"
            )
        if array.nbytes == 0:
            for _ in reader.iter_chunks(name, bytearray(1)):
                pass  # still checks the (empty) tensor's checksum
            return
        ring = self._take_ring(CHUNK_SIZE)  # the size save_chunks gets: one ring serves both
        try:
            ring.upload(reader.iter_chunks(name, ring.views), array.data.ptr, array.nbytes, name)
        finally:
            ring.quiesce()
            self._give_ring(ring)

    def _take_ring(self, chunk_bytes: int) -> _Ring:
        slot_bytes = max(1, min(chunk_bytes, self._staging_bytes // self._staging_slots))
        with self._lock:
            ring, self._ring = self._ring, None
        if ring is not None and ring.slot_bytes == slot_bytes:
            return ring
        return _Ring(self._device, self._staging_slots, slot_bytes)  # first use, busy, or another size

    def _give_ring(self, ring: _Ring) -> None:
        with self._lock:
            if self._ring is None:
                self._ring = ring  # kept for the next transfer: pinned allocations are slow


class _Ready:
    """A device variable's ``VarSlot.ready``: one CUDA event, re-recorded after each access under the
    slot's lock, and the stream it was last recorded on."""

    __slots__ = ("event", "stream_ptr", "device")

    def __init__(self, device: Any) -> None:
        self.device, self.stream_ptr = device, None
        with device:
            self.event = cupy.cuda.Event(disable_timing=True)

    def record(self) -> None:
        with self.device:
            stream = cupy.cuda.get_current_stream()
            self.event.record(stream)
            self.stream_ptr = stream.ptr

    def wait(self) -> None:
        """Orders the work queued next on the current stream after the recorded access (no host wait)."""
        with self.device:
            stream = cupy.cuda.get_current_stream()
            if stream.ptr != self.stream_ptr:  # the same stream is in order already
                stream.wait_event(self.event)


class _OrderedLock:
    """A device variable's lock (``Backend.slot_lock``): a ``threading.Lock`` whose holder's stream waits for
    the slot's last access, and whose release records a new event, so GPU work is ordered as the lock orders
    host threads: a thread's kernels may still be queued when it releases the lock (nothing waits on the host)."""

    __slots__ = ("_lock", "_slot", "_device")

    def __init__(self, slot: Any, device: Any) -> None:
        self._lock, self._slot, self._device = threading.Lock(), slot, device

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        if not self._lock.acquire(blocking, timeout):
            return False
        try:
            if self._slot.ready is not None:
                self._slot.ready.wait()
        except BaseException:
            self._lock.release()
            raise
        return True

    def release(self) -> None:
        try:
            if self._slot.ready is None:
                self._slot.ready = _Ready(self._device)
            self._slot.ready.record()
        finally:
            self._lock.release()

    def locked(self) -> bool:
        return self._lock.locked()

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc: Any) -> None:
        self.release()


class _Ring:
    """Pinned host staging buffers, one event each, and a non-blocking copy stream on one device."""

    def __init__(self, device: Any, slots: int, slot_bytes: int) -> None:
        self.device, self.slot_bytes = device, slot_bytes
        with device:
            self.stream = cupy.cuda.Stream(non_blocking=True)
            self.buffers = [cupy.cuda.alloc_pinned_memory(slot_bytes) for _ in range(slots)]
            self.events = [cupy.cuda.Event(disable_timing=True) for _ in range(slots)]
        self.views = [memoryview(np.ndarray((slot_bytes,), np.uint8, buffer=b)) for b in self.buffers]

    def _after_current_stream(self) -> None:
        """Orders this ring's copies after the work already queued on the current stream."""
        queued = cupy.cuda.Event(disable_timing=True)
        queued.record(cupy.cuda.get_current_stream())
        self.stream.wait_event(queued)

    def _copy(self, slot: int, dst: int, src: int, nbytes: int, kind: int) -> None:
        cupy.cuda.runtime.memcpyAsync(dst, src, nbytes, kind, self.stream.ptr)
        self.events[slot].record(self.stream)

    def download(self, ptr: int, nbytes: int) -> Iterator[memoryview]:
        """Yields the bytes at device ``ptr`` chunk by chunk; up to len(buffers) copies in flight."""
        size, slots = self.slot_bytes, len(self.buffers)
        count = -(-nbytes // size)
        d2h = cupy.cuda.runtime.memcpyDeviceToHost

        def enqueue(k: int) -> None:
            with self.device:
                self._copy(k % slots, self.buffers[k % slots].ptr, ptr + k * size, min(size, nbytes - k * size), d2h)

        with self.device:
            self._after_current_stream()
        for k in range(min(slots, count)):
            enqueue(k)
        for k in range(count):
            with self.device:
                self.events[k % slots].synchronize()
            yield self.views[k % slots][: min(size, nbytes - k * size)]
            if k + slots < count:  # the consumer is done with this buffer: refill it
                enqueue(k + slots)

    def upload(self, chunks: Iterator[memoryview], ptr: int, nbytes: int, name: str) -> None:
        """Copies host chunks to device ``ptr``, in order, nbytes in all. Chunk k must sit in
        views[k % slots] (the reader fills the ring round-robin), so up to slots-1 copies stay in
        flight while the reader fills the next buffer."""
        h2d, pos, slots = cupy.cuda.runtime.memcpyHostToDevice, 0, len(self.views)
        with self.device:
            self._after_current_stream()  # queued kernels may still read the old value
        for k, part in enumerate(chunks):
            n = part.nbytes
            if n > nbytes - pos:
                raise errors.InvalidArgumentError(
                    None, None, f"restore of {name}: the checkpoint holds more than the variable's {nbytes} bytes"
                )
            if n == 0:
                continue
            src = np.frombuffer(part, np.uint8).ctypes.data  # where the reader put it (our pinned buffer)
            with self.device:
                self._copy(k % slots, ptr + pos, src, n, h2d)
                # the reader fills views[(k+1) % slots] next: its earlier copy must have landed
                self.events[(k + 1) % slots].synchronize()
            pos += n
        if pos != nbytes:
            raise errors.DataLossError(None, None, f"restore of {name}: read {pos} of {nbytes} bytes")

    def quiesce(self) -> None:
        """Waits for every copy in flight, so the buffers may be reused (also after an abandoned transfer)."""
        with self.device:
            self.stream.synchronize()

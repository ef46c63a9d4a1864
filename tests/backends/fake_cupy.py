"""A stand-in for the parts of CuPy that graphvar/backends/cupy_backend.py uses, for hosts without a GPU.

Not a mock of the backend: the kernels it launches are the real ``kernels/*.cu`` built for the
host (``tests/kernels/host_kernels.py``), run with the grid the backend asks for, after every
argument is checked against the kernel's C signature as the GPU would read it (exact scalar
types, device arrays of this device, large enough for ``n``). Device memory is a distinct
ndarray subclass, so host memory passed where device memory is due is caught. Copies queued
on a non-default stream run only when an event recorded after them (or the stream) is
synchronized, so a missing synchronization shows up as wrong bytes.
"""

from __future__ import annotations

import ctypes
import importlib.util
import itertools
import pathlib
import re
import threading
import types
import weakref
from typing import Any

import numpy as np

_HERE = pathlib.Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("gv_host_kernels", _HERE.parent / "kernels" / "host_kernels.py")
host_kernels = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(host_kernels)

_SCALAR_TYPES = {"long long": np.int64, "unsigned long long": np.uint64, "float": np.float32, "double": np.float64,
                 "int": np.int32, "unsigned short": np.uint16}  # fmt: skip
_POINTER_DTYPES = {"unsigned short": (np.float16, np.uint16), "float": (np.float32,), "double": (np.float64,),
                   "int": (np.int32,), "long long": (np.int64,)}  # fmt: skip
MEMCPY_H2D, MEMCPY_D2H = 1, 2


class FakeCudaError(RuntimeError):
    pass


class FakeCuda:
    """The state of the fake: devices, streams, pinned buffers, and a log of what was done."""

    def __init__(self, dll: ctypes.CDLL, device_count: int = 1, sm_count: int = 2) -> None:
        self.dll, self.device_count, self.sm_count = dll, device_count, sm_count
        self.local = threading.local()
        self.streams: dict[int, Stream] = {}
        self.pinned_refs: list[weakref.ref] = []
        self.log: list[tuple] = []
        self.modules: list[tuple[str, tuple]] = []
        self.num_regs: dict[str, int] = {}  # kernel name -> what its Function reports (default 40)
        self.null = Stream(self, null=True)

    @property
    def current(self) -> int:
        return getattr(self.local, "device", 0)

    @property
    def pinned(self) -> list[np.ndarray]:
        """The pinned buffers still alive (a dropped PinnedMemoryPointer frees its memory)."""
        return [b for b in (r() for r in self.pinned_refs) if b is not None]

    def pinned_bytes(self) -> int:
        return sum(b.nbytes for b in self.pinned)

    def in_pinned(self, ptr: int, size: int) -> bool:
        return any(b.ctypes.data <= ptr and ptr + size <= b.ctypes.data + b.nbytes for b in self.pinned)


class DeviceArray(np.ndarray):
    """Device memory: host bytes tagged with the device they belong to."""

    _fake: FakeCuda  # set by build()

    def __array_finalize__(self, obj: Any) -> None:
        self.device_id = getattr(obj, "device_id", DeviceArray._fake.current)

    @property
    def data(self) -> Any:
        return types.SimpleNamespace(ptr=self.__array_interface__["data"][0])

    @property
    def device(self) -> Any:
        return types.SimpleNamespace(id=self.device_id)

    def set(self, arr: np.ndarray) -> None:
        """An upload into this array (CuPy: same shape and dtype, C-contiguous host memory)."""
        if arr.shape != self.shape or arr.dtype != self.dtype:
            raise FakeCudaError(f"set: {arr.dtype} {arr.shape} into {self.dtype} {self.shape}")
        self.view(np.ndarray)[...] = arr

    def get(self, out: np.ndarray | None = None) -> np.ndarray:
        if out is None:
            return np.array(self.view(np.ndarray), copy=True)
        out[...] = self.view(np.ndarray)
        return out


class PinnedMemory(np.ndarray):
    """Page-locked host memory: exposes ``ptr`` and the buffer protocol, like CuPy's PinnedMemoryPointer."""

    @property
    def ptr(self) -> int:
        return self.__array_interface__["data"][0]


class Stream:
    _ids = itertools.count(1000)

    def __init__(self, fake: FakeCuda, null: bool = False, non_blocking: bool = False) -> None:
        self.fake, self.null, self.non_blocking = fake, null, non_blocking
        self.ptr = 0 if null else next(Stream._ids)
        self.pending: list[Any] = []
        self.done = 0
        fake.streams[self.ptr] = self

    def enqueue(self, op: Any) -> None:
        if self.null:
            op()
            self.done += 1
        else:
            self.pending.append(op)

    @property
    def total(self) -> int:
        return self.done + len(self.pending)

    def run_until(self, target: int) -> None:
        while self.done < target:
            self.pending.pop(0)()
            self.done += 1

    def synchronize(self) -> None:
        self.fake.log.append(("stream_sync", self.ptr))
        self.run_until(self.total)

    def wait_event(self, event: Event) -> None:
        self.fake.log.append(("wait_event", self.ptr, event.stream.ptr if event.stream else None))
        event.synchronize()  # simplest correct model: the waited-for work is done first


class Event:
    def __init__(self, fake: FakeCuda, disable_timing: bool = False) -> None:
        self.fake, self.stream, self.target = fake, None, 0

    def record(self, stream: Stream | None = None) -> None:
        self.stream = stream if stream is not None else self.fake.null  # CuPy: the null stream by default
        self.target = self.stream.total

    def synchronize(self) -> None:
        if self.stream is not None:
            self.stream.run_until(self.target)

    @property
    def done(self) -> bool:
        return self.stream is None or self.stream.done >= self.target


class Kernel:
    """A function of a fake RawModule: checks the arguments, then runs the host build of the kernel."""

    def __init__(self, fake: FakeCuda, name: str) -> None:
        self.fake, self.name = fake, name
        self.params = host_kernels.SIGNATURES[name]
        self.num_regs = fake.num_regs.get(name, 40)  # CuPy: cuFuncGetAttribute(CU_FUNC_ATTRIBUTE_NUM_REGS)

    def __call__(self, grid: tuple, block: tuple, args: tuple) -> None:
        if not (isinstance(grid, tuple) and isinstance(block, tuple) and len(grid) == len(block) == 1):
            raise FakeCudaError(f"{self.name}: grid and block must be 1-tuples, got {grid!r} {block!r}")
        if not (1 <= grid[0] < 2**31 and 1 <= block[0] <= 1024):
            raise FakeCudaError(f"{self.name}: bad launch shape {grid} x {block}")
        if len(args) != len(self.params):
            raise FakeCudaError(f"{self.name}: {len(args)} arguments for {len(self.params)} parameters")
        n = next((int(a) for a, (c, _) in zip(args, self.params) if c == "long long" and type(a) is np.int64), None)
        conv = [self._check(i, a, c, n) for i, (a, (c, _)) in enumerate(zip(args, self.params))]
        self.fake.log.append(("launch", self.name, grid[0], block[0]))
        host_kernels.launch(self.fake.dll, self.name, grid[0], block[0], *conv)

    def _check(self, i: int, arg: Any, ctype: str, n: int | None) -> Any:
        where = f"{self.name} argument {i} ({ctype})"
        if ctype.endswith("*"):
            base = ctype.removeprefix("const ").removesuffix("*")
            if not isinstance(arg, DeviceArray):
                raise FakeCudaError(f"{where}: not device memory: {type(arg).__name__}")
            if arg.device_id != self.fake.current:
                raise FakeCudaError(f"{where}: array of device {arg.device_id} used on device {self.fake.current}")
            if arg.dtype.type not in _POINTER_DTYPES[base] or not arg.flags.c_contiguous:
                raise FakeCudaError(f"{where}: got a {arg.dtype} array (contiguous: {arg.flags.c_contiguous})")
            if n is not None and arg.size < n:
                raise FakeCudaError(f"{where}: {arg.size} elements for n = {n}")
            return arg
        if type(arg) is not _SCALAR_TYPES[ctype]:
            raise FakeCudaError(f"{where}: got {type(arg).__name__}, the GPU would misread it")
        return arg.item()


class RawModule:
    def __init__(self, fake: FakeCuda, code: str, options: tuple = ()) -> None:
        self.fake, self.code, self.options = fake, code, tuple(options)
        fake.modules.append((code, self.options))

    def get_function(self, name: str) -> Kernel:
        base, suffix = name.rsplit("_", 1)  # defined by name, or by a macro pasting base_##SUFFIX
        if not re.search(rf"\b{base}_(##|{suffix}\b)", self.code):
            raise FakeCudaError(f"no kernel {name} in this module")
        if name not in host_kernels.SIGNATURES:
            raise FakeCudaError(f"unknown kernel {name}")
        return Kernel(self.fake, name)


def build(dll: ctypes.CDLL, device_count: int = 1, sm_count: int = 2) -> tuple[types.ModuleType, FakeCuda]:
    """A module object to install as ``sys.modules["cupy"]``, and the fake's state."""
    fake = FakeCuda(dll, device_count, sm_count)
    DeviceArray._fake = fake
    cupy = types.ModuleType("cupy")
    cuda = types.ModuleType("cupy.cuda")
    runtime = types.ModuleType("cupy.cuda.runtime")
    cupy.cuda, cuda.runtime = cuda, runtime
    cupy.__fake__ = fake
    _fill_runtime(fake, runtime)
    _fill_cuda(fake, cuda)
    _fill_arrays(fake, cupy)
    cupy.RawModule = lambda code, options=(): RawModule(fake, code, options)
    return cupy, fake


def _fill_runtime(fake: FakeCuda, runtime: types.ModuleType) -> None:
    runtime.memcpyHostToDevice, runtime.memcpyDeviceToHost = MEMCPY_H2D, MEMCPY_D2H
    runtime.getDeviceCount = lambda: fake.device_count
    runtime.getDevice = lambda: fake.current

    def memcpy_async(dst: int, src: int, size: int, kind: int, stream: int) -> None:
        host, dev = (dst, src) if kind == MEMCPY_D2H else (src, dst)
        if kind not in (MEMCPY_H2D, MEMCPY_D2H) or not fake.in_pinned(host, size) or fake.in_pinned(dev, size):
            raise FakeCudaError(f"memcpyAsync kind {kind}: host side must be pinned, device side must not")
        fake.log.append(("memcpy", kind, size, stream))
        fake.streams[stream].enqueue(lambda: ctypes.memmove(dst, src, size))

    runtime.memcpyAsync = memcpy_async


def _fill_cuda(fake: FakeCuda, cuda: types.ModuleType) -> None:
    class Device:
        def __init__(self, index: int = 0) -> None:
            if not 0 <= index < fake.device_count:
                raise FakeCudaError(f"cudaErrorInvalidDevice: {index}")
            self.id = index
            self.attributes = {"MultiProcessorCount": fake.sm_count, "MaxRegistersPerMultiprocessor": 65536,
                               "MaxThreadsPerMultiProcessor": 2048, "MaxBlocksPerMultiprocessor": 32}  # fmt: skip

        def __enter__(self) -> Device:
            stack = fake.local.__dict__.setdefault("stack", [])
            stack.append(fake.current)
            fake.local.device = self.id
            return self

        def __exit__(self, *exc: Any) -> None:
            fake.local.device = fake.local.stack.pop()

    def alloc_pinned_memory(size: int) -> PinnedMemory:
        buf = np.zeros(size, np.uint8).view(PinnedMemory)
        fake.pinned_refs.append(weakref.ref(buf))
        return buf

    cuda.Device = Device
    cuda.Stream = lambda null=False, non_blocking=False: Stream(fake, null, non_blocking)
    cuda.Event = lambda disable_timing=False: Event(fake, disable_timing)
    cuda.get_current_stream = lambda: fake.null
    cuda.alloc_pinned_memory = alloc_pinned_memory


def _device(x: Any) -> DeviceArray:
    """A new device array holding a copy of x (an upload)."""
    return np.array(np.asarray(x), copy=True, order="C").view(DeviceArray)


def _fill_arrays(fake: FakeCuda, cupy: types.ModuleType) -> None:
    def empty(shape: Any, dtype: Any = float) -> DeviceArray:
        out = np.empty(shape, dtype)
        out.reshape(-1).view(np.uint8)[:] = 0xCD  # garbage, as fresh device memory may hold
        return out.view(DeviceArray)

    cupy.ndarray = DeviceArray
    cupy.empty = empty
    cupy.asarray = lambda x, dtype=None: (
        x if isinstance(x, DeviceArray) and dtype is None else _device(np.asarray(x, dtype))
    )
    cupy.asnumpy = lambda x: x.get() if isinstance(x, DeviceArray) else np.asarray(x)
    cupy.ascontiguousarray = lambda x: x if x.flags.c_contiguous else _device(x)
    cupy.array = lambda x, copy=True, order="C", dtype=None: _device(np.asarray(x, dtype))

    def delegate(name: str) -> Any:  # everything else: NumPy's function, results as device arrays
        fn = getattr(np, name)
        if not callable(fn) or isinstance(fn, type):
            return fn

        def call(*args: Any, **kwargs: Any) -> Any:
            out = fn(*args, **kwargs)
            return out.view(DeviceArray) if type(out) is np.ndarray else out

        return call

    cupy.__getattr__ = delegate

"""A stand-in for the parts of CuPy that graphvar/backends/cupy_backend.py uses, for hosts without a GPU.

Not a mock of the backend: the kernels it launches are the real ``kernels/*.cu`` built for the
host (``tests/kernels/host_kernels.py``), run with the grid the backend asks for, after every
argument is checked against the kernel's C signature as the GPU would read it (exact scalar
types, device arrays of this device, large enough for ``n``). Device memory is opaque (not an
ndarray), so host memory passed where device memory is due is caught, and belongs to the fake
that made it: each ``build()`` is one process's CUDA, and an array of another fake is refused.
Kernel launches and copies queue on their stream (the null stream too) and run only when the
stream, or an event recorded after them, is synchronized, or a host read on that stream needs
them; so a missing wait or synchronization shows up as wrong bytes.
"""

from __future__ import annotations

import ctypes
import importlib.util
import itertools
import mmap
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


def _address(a: np.ndarray) -> int:
    """Where ``a``'s data starts. Not ``a.ctypes.data`` or ``a.__array_interface__``: both leave small
    blocks in caches that tracemalloc charges to the caller, and the fake runs under
    test_resources' memory-growth bound; ``c_char.from_buffer`` allocates nothing that outlives it."""
    if a.nbytes and a.flags.writeable and a.flags.c_contiguous:
        return ctypes.addressof(ctypes.c_char.from_buffer(a))
    return a.ctypes.data


class FakeCuda:
    """The state of the fake: devices, streams, pinned buffers, and a log of what was done."""

    def __init__(self, dll: ctypes.CDLL, device_count: int = 1, sm_count: int = 2, per_thread: bool = False) -> None:
        self.dll, self.device_count, self.sm_count = dll, device_count, sm_count
        self.per_thread = per_thread  # CUPY_CUDA_PER_THREAD_DEFAULT_STREAM=1: each thread its own default stream
        self.local = threading.local()
        self.streams: dict[int, Stream] = {}
        self.pinned_refs: list[weakref.ref] = []
        self.log: list[tuple] = []
        self.modules: list[tuple[str, tuple]] = []
        self.num_regs: dict[str, int] = {}  # kernel name -> what its Function reports (default 40)
        self.lock = threading.RLock()  # one queue per stream, shared by the threads that use it
        self.null = Stream(self, null=True)

    @property
    def current(self) -> int:
        return getattr(self.local, "device", 0)

    def current_stream(self) -> Stream:
        """This thread's current stream (``with stream:`` sets it); by default the null stream, or with
        ``per_thread`` the thread's own default stream (unordered with other threads' work, as in CUDA)."""
        stack = getattr(self.local, "streams", None)
        if stack:
            return stack[-1]
        if not self.per_thread:
            return self.null
        default = getattr(self.local, "default", None)
        if default is None:
            default = self.local.default = Stream(self)
        return default

    def flush(self) -> None:
        """Runs the work queued on the current stream: what a host read of device memory waits for."""
        self.current_stream().run_until(None)

    def synchronize(self) -> None:
        """Runs every stream's queued work (cudaDeviceSynchronize)."""
        for stream in list(self.streams.values()):
            stream.run_until(None)

    @property
    def pinned(self) -> list[np.ndarray]:
        """The pinned buffers still alive (a dropped PinnedMemoryPointer frees its memory)."""
        return [b for b in (r() for r in self.pinned_refs) if b is not None]

    def pinned_bytes(self) -> int:
        return sum(b.nbytes for b in self.pinned)

    def in_pinned(self, ptr: int, size: int) -> bool:
        return any(_address(b) <= ptr and ptr + size <= _address(b) + b.nbytes for b in self.pinned)


class NoLog(list):
    """A log that keeps nothing (the whole-suite run of fake_gpu_plugin: no growth across a test)."""

    def append(self, entry: Any) -> None:
        pass


class DeviceArray:
    """Device memory, opaque as CuPy's: not an ndarray, ``numpy.asarray(x)`` raises TypeError, a NumPy
    array operand raises TypeError; data moves only through ``get`` / ``set`` / the cupy functions.
    Reading it from the host (``get``, ``int(x)``, CuPy functions, which run on the current stream)
    first runs the work queued on the current stream, as CUDA's in-order streams would."""

    __slots__ = ("_a", "_fake", "device_id", "__weakref__")
    __array_ufunc__ = None  # NumPy ufuncs refuse device arrays (and ndarray <op> DeviceArray -> TypeError)

    def __init__(self, a: np.ndarray, fake: FakeCuda, device_id: int | None = None) -> None:
        # the fake (the "process's CUDA") that made it: its host reads wait on that fake's streams, never
        # on another test's fake (a module-scoped Session outlives the fake_gpu_plugin's per-test fake)
        self._a, self._fake = a, fake
        self.device_id = fake.current if device_id is None else device_id

    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    nbytes = property(lambda self: self._a.nbytes)
    itemsize = property(lambda self: self._a.itemsize)
    strides = property(lambda self: self._a.strides)
    T = property(lambda self: DeviceArray(self._a.T, self._fake, self.device_id))

    @property
    def flags(self) -> Any:  # CuPy's flags: no "writeable"
        f = self._a.flags
        return types.SimpleNamespace(c_contiguous=f.c_contiguous, f_contiguous=f.f_contiguous, owndata=f.owndata)

    @property
    def data(self) -> Any:
        return types.SimpleNamespace(ptr=_address(self._a))

    @property
    def device(self) -> Any:
        return types.SimpleNamespace(id=self.device_id)

    def get(self, stream: Any = None, out: np.ndarray | None = None) -> np.ndarray:
        self._fake.flush()
        if out is None:
            return np.array(self._a, copy=True)
        out[...] = self._a
        return out

    def set(self, arr: np.ndarray, stream: Any = None) -> None:
        """An upload into this array (CuPy: same shape and dtype)."""
        if not isinstance(arr, np.ndarray) or arr.shape != self.shape or arr.dtype != self.dtype:
            raise FakeCudaError(
                f"set: {getattr(arr, 'dtype', type(arr))} {getattr(arr, 'shape', '')} into {self.dtype} {self.shape}"
            )
        self._fake.flush()
        self._a[...] = arr

    def __array__(self, *args: Any, **kwargs: Any) -> np.ndarray:
        raise TypeError(
            "Implicit conversion to a NumPy array is not allowed. Please use `.get()` to construct a NumPy array explicitly."
        )

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        attr = getattr(self._a, name)
        return _device_call(attr, self._fake) if callable(attr) else _wrap(attr, self._fake)

    def __getitem__(self, key: Any) -> Any:
        return _wrap(self._a[_unwrap(key, strict=False)], self._fake)

    def __setitem__(self, key: Any, value: Any) -> None:
        self._fake.flush()
        self._a[_unwrap(key, strict=False)] = _unwrap(value, strict=True)

    def __len__(self) -> int:
        return len(self._a)

    def __iter__(self) -> Any:
        return (self[i] for i in range(len(self)))

    def _scalar(self) -> Any:
        self._fake.flush()
        return self._a

    def __bool__(self) -> bool:
        return bool(self._scalar())

    def __int__(self) -> int:
        return int(self._scalar())

    def __float__(self) -> float:
        return float(self._scalar())

    def __complex__(self) -> complex:
        return complex(self._scalar())

    def __index__(self) -> int:
        return self._scalar().__index__()

    def __repr__(self) -> str:
        return f"fake_cupy.array({self._a!r}, device={self.device_id})"


def _binary(name: str) -> Any:
    def op(self: DeviceArray, other: Any) -> Any:
        self._fake.flush()
        result = getattr(self._a, name)(_unwrap(other, strict=True))
        return self if name.startswith("__i") else _wrap(result, self._fake)

    return op


def _unary(name: str) -> Any:
    def op(self: DeviceArray) -> Any:
        self._fake.flush()
        return _wrap(getattr(self._a, name)(), self._fake)

    return op


for _n in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and", "or", "xor", "lshift", "rshift"):
    for _f in (f"__{_n}__", f"__r{_n}__", f"__i{_n}__"):
        setattr(DeviceArray, _f, _binary(_f))
for _f in ("__lt__", "__le__", "__gt__", "__ge__", "__eq__", "__ne__"):
    setattr(DeviceArray, _f, _binary(_f))
for _f in ("__neg__", "__pos__", "__abs__", "__invert__"):
    setattr(DeviceArray, _f, _unary(_f))
DeviceArray.__hash__ = None  # as ndarray


def _unwrap(x: Any, strict: bool) -> Any:
    """A CuPy function's argument as NumPy sees it; host arrays are refused where CuPy refuses them."""
    if isinstance(x, DeviceArray):
        return x._a
    if isinstance(x, np.ndarray) and not isinstance(x, PinnedMemory):
        if strict and x.dtype.kind not in "OSUV":
            raise TypeError(f"Unsupported type {type(x)}")
        return x
    if isinstance(x, (list, tuple)) and not hasattr(x, "_fields"):
        return type(x)(_unwrap(v, strict) for v in x)
    if isinstance(x, slice):
        return slice(_unwrap(x.start, strict), _unwrap(x.stop, strict), _unwrap(x.step, strict))
    return x


def _wrap(x: Any, fake: FakeCuda) -> Any:
    """A NumPy result as CuPy returns it: arrays (0-d for scalars) on the current device of ``fake``."""
    if isinstance(x, np.ndarray) and not isinstance(x, PinnedMemory):
        return x if x.dtype.kind in "OSUV" else DeviceArray(x, fake)
    if isinstance(x, np.generic) and not isinstance(x, (np.str_, np.bytes_, np.void)):
        return DeviceArray(np.asarray(x), fake)
    if isinstance(x, (list, tuple)) and not hasattr(x, "_fields"):
        return type(x)(_wrap(v, fake) for v in x)
    return x


def _device_call(fn: Any, fake: FakeCuda) -> Any:
    """``fn`` (a NumPy function or method) as a CuPy one: runs after the work queued on the current
    stream, on unwrapped device arrays (host arrays refused), with device-array results."""

    def call(*args: Any, **kwargs: Any) -> Any:
        fake.flush()
        out = kwargs.get("out")
        kwargs = {k: _unwrap(v, strict=True) for k, v in kwargs.items()}
        result = fn(*_unwrap(args, strict=True), **kwargs)
        return out if out is not None and isinstance(out, DeviceArray) else _wrap(result, fake)

    return call


class _UFunc:
    """A NumPy ufunc as a CuPy one (``cupy.add(x, y)``, ``cupy.add.at(x, i, y)``, ``cupy.add.reduce``)."""

    def __init__(self, ufunc: np.ufunc, fake: FakeCuda) -> None:
        self._ufunc, self._fake = ufunc, fake
        self.__name__ = ufunc.__name__

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return _device_call(self._ufunc, self._fake)(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._ufunc, name)
        return _device_call(attr, self._fake) if callable(attr) else attr


class PinnedMemory(np.ndarray):
    """Page-locked host memory: exposes ``ptr`` and the buffer protocol, like CuPy's PinnedMemoryPointer."""

    @property
    def ptr(self) -> int:
        return _address(self)


class Stream:
    _ids = itertools.count(1000)

    def __init__(self, fake: FakeCuda, null: bool = False, non_blocking: bool = False) -> None:
        self.fake, self.null, self.non_blocking = fake, null, non_blocking
        self.ptr = 0 if null else next(Stream._ids)
        self.pending: list[Any] = []
        self.done = 0
        fake.streams[self.ptr] = self

    def enqueue(self, op: Any) -> None:
        """Queues ``op``: it runs when this stream is synchronized, or an event after it is, or a host
        read on this stream needs it (in order, like a CUDA stream; the null stream too)."""
        with self.fake.lock:
            self.pending.append(op)

    @property
    def total(self) -> int:
        return self.done + len(self.pending)

    def run_until(self, target: int | None) -> None:
        with self.fake.lock:
            target = self.total if target is None else target
            while self.done < target:
                self.pending.pop(0)()
                self.done += 1

    def synchronize(self) -> None:
        self.fake.log.append(("stream_sync", self.ptr))
        self.run_until(None)

    def wait_event(self, event: Event) -> None:
        self.fake.log.append(("wait_event", self.ptr, event.stream.ptr if event.stream else None))
        event.synchronize()  # simplest correct model: the waited-for work is done first

    def __enter__(self) -> Stream:
        self.fake.local.__dict__.setdefault("streams", []).append(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.fake.local.streams.pop()


class Event:
    def __init__(self, fake: FakeCuda, disable_timing: bool = False) -> None:
        self.fake, self.stream, self.target = fake, None, 0

    def record(self, stream: Stream | None = None) -> None:
        self.stream = stream if stream is not None else self.fake.current_stream()  # CuPy: the current stream
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
        # looked up once: a getattr with a fresh name string per launch leaves that string in CPython's
        # type attribute cache, which test_resources' memory-growth bound then counts against graphvar
        self._host_fn = getattr(fake.dll, f"host_{name}")

    def __call__(self, grid: tuple, block: tuple, args: tuple) -> None:
        if not (isinstance(grid, tuple) and isinstance(block, tuple) and len(grid) == len(block) == 1):
            raise FakeCudaError(f"{self.name}: grid and block must be 1-tuples, got {grid!r} {block!r}")
        if not (1 <= grid[0] < 2**31 and 1 <= block[0] <= 1024):
            raise FakeCudaError(f"{self.name}: bad launch shape {grid} x {block}")
        if len(args) != len(self.params):
            raise FakeCudaError(f"{self.name}: {len(args)} arguments for {len(self.params)} parameters")
        n = next((int(a) for a, (c, _) in zip(args, self.params) if c == "long long" and type(a) is np.int64), None)
        conv = [self._check(i, a, c, n) for i, (a, (c, _)) in enumerate(zip(args, self.params))]
        stream = self.fake.current_stream()
        self.fake.log.append(("launch", self.name, grid[0], block[0], stream.ptr))
        fn, ptrs = self._host_fn, [_address(a) if isinstance(a, np.ndarray) else a for a in conv]
        stream.enqueue(lambda: (conv, fn(grid[0], block[0], *ptrs)))  # conv: the arrays live until it runs

    def _check(self, i: int, arg: Any, ctype: str, n: int | None) -> Any:
        where = f"{self.name} argument {i} ({ctype})"
        if ctype.endswith("*"):
            base = ctype.removeprefix("const ").removesuffix("*")
            if not isinstance(arg, DeviceArray):
                raise FakeCudaError(f"{where}: not device memory: {type(arg).__name__}")
            if arg._fake is not self.fake:
                raise FakeCudaError(f"{where}: an array of another fake CUDA (another test's) passed to this one")
            if arg.device_id != self.fake.current:
                raise FakeCudaError(f"{where}: array of device {arg.device_id} used on device {self.fake.current}")
            if arg.dtype.type not in _POINTER_DTYPES[base] or not arg.flags.c_contiguous:
                raise FakeCudaError(f"{where}: got a {arg.dtype} array (contiguous: {arg.flags.c_contiguous})")
            if n is not None and arg.size < n:
                raise FakeCudaError(f"{where}: {arg.size} elements for n = {n}")
            return arg._a  # the kernel gets the pointer
        if type(arg) is not _SCALAR_TYPES[ctype]:
            raise FakeCudaError(f"{where}: got {type(arg).__name__}, the GPU would misread it")
        # int() / float(), not .item(): .item() goes through NumPy's small-allocation caches, whose
        # blocks tracemalloc charges to the launch (test_resources' growth bound saw them)
        return float(arg) if ctype in ("float", "double") else int(arg)


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


def build(
    dll: ctypes.CDLL, device_count: int = 1, sm_count: int = 2, per_thread: bool = False
) -> tuple[types.ModuleType, FakeCuda]:
    """A module object to install as ``sys.modules["cupy"]``, and the fake's state."""
    fake = FakeCuda(dll, device_count, sm_count, per_thread)
    cupy = types.ModuleType("cupy")
    cuda = types.ModuleType("cupy.cuda")
    runtime = types.ModuleType("cupy.cuda.runtime")
    cupy.cuda, cuda.runtime = cuda, runtime
    cupy.__fake__ = fake
    _fill_runtime(fake, runtime)
    _fill_cuda(fake, cuda, runtime)
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
        if kind == MEMCPY_D2H:  # the pinned bytes are undefined until the copy has completed
            ctypes.memset(dst, 0xCD, size)
        fake.streams[stream].enqueue(lambda: ctypes.memmove(dst, src, size))

    runtime.memcpyAsync = memcpy_async


def _fill_cuda(fake: FakeCuda, cuda: types.ModuleType, runtime: types.ModuleType) -> None:
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
        # page-locked memory comes from the OS (cudaHostAlloc), not Python's heap: mmap, untraced
        buf = np.frombuffer(mmap.mmap(-1, max(1, size)), np.uint8)[:size].view(PinnedMemory)
        fake.pinned_refs.append(weakref.ref(buf))
        return buf

    cuda.Device = Device
    cuda.Stream = lambda null=False, non_blocking=False: Stream(fake, null, non_blocking)
    cuda.Event = lambda disable_timing=False: Event(fake, disable_timing)
    cuda.get_current_stream = fake.current_stream
    cuda.Stream.null = fake.null
    cuda.Device.synchronize = lambda self: fake.synchronize()
    runtime.deviceSynchronize = fake.synchronize
    cuda.alloc_pinned_memory = alloc_pinned_memory


def _upload(fake: FakeCuda, x: Any, dtype: Any = None) -> Any:
    """A new device array holding a copy of host data ``x`` (an upload, in order on the current stream)."""
    fake.flush()
    host = np.array(x, dtype=dtype, copy=True, order="C")
    return host if host.dtype.kind in "OSUV" else DeviceArray(host, fake)  # CuPy has no string arrays


def _fill_arrays(fake: FakeCuda, cupy: types.ModuleType) -> None:
    def empty(shape: Any, dtype: Any = float, order: str = "C") -> DeviceArray:
        out = np.empty(shape, dtype, order=order)
        out.reshape(-1, order="A").view(np.uint8)[:] = 0xCD  # garbage, as fresh device memory may hold
        return DeviceArray(out, fake)

    def asarray(x: Any, dtype: Any = None, order: Any = None) -> Any:
        if isinstance(x, DeviceArray):
            return x if dtype is None or np.dtype(dtype) == x.dtype else x.astype(dtype)
        return _upload(fake, x, dtype)

    def array(x: Any, dtype: Any = None, copy: bool = True, order: str = "K", ndmin: int = 0) -> Any:
        if isinstance(x, DeviceArray):
            fake.flush()
            return DeviceArray(
                np.array(x._a, dtype=dtype, copy=True, order="C" if order == "K" else order, ndmin=ndmin), fake
            )
        return _upload(fake, x, dtype)

    def asnumpy(x: Any, stream: Any = None, order: str = "C") -> np.ndarray:
        return x.get() if isinstance(x, DeviceArray) else np.asarray(x)

    def ascontiguousarray(x: Any, dtype: Any = None) -> Any:
        if isinstance(x, DeviceArray):
            if x.flags.c_contiguous and (dtype is None or np.dtype(dtype) == x.dtype):
                return x
            return array(x, dtype=dtype, order="C")
        return _upload(fake, x, dtype)

    cupy.ndarray = DeviceArray
    cupy.empty = empty
    cupy.asarray = cupy.asanyarray = asarray
    cupy.array = array
    cupy.asnumpy = asnumpy
    cupy.ascontiguousarray = ascontiguousarray
    cupy.get_array_module = lambda *args: cupy if any(isinstance(a, DeviceArray) for a in args) else np

    def delegate(name: str) -> Any:  # everything else: NumPy's, on unwrapped device arrays
        attr = getattr(np, name)
        if isinstance(attr, np.ufunc):
            return _UFunc(attr, fake)
        return _delegate_attr(attr, fake)

    cupy.__getattr__ = delegate


def _delegate_attr(attr: Any, fake: FakeCuda) -> Any:
    if isinstance(attr, np.ufunc):
        return _UFunc(attr, fake)
    if isinstance(attr, types.ModuleType):  # cupy.linalg, cupy.lib.stride_tricks, ...
        module = types.ModuleType(f"fake_cupy:{attr.__name__}")
        module.__getattr__ = lambda n: _delegate_attr(getattr(attr, n), fake)
        return module
    if callable(attr) and not isinstance(attr, type):
        return _device_call(attr, fake)
    return attr  # dtypes, scalar types, constants


def cupyx_modules(cupy: types.ModuleType) -> dict[str, types.ModuleType]:
    """``cupyx``, ``cupyx.scipy`` and ``cupyx.scipy.special`` (erf / erfc, elementwise), for sys.modules."""
    import math

    cupyx, scipy, special = (types.ModuleType(n) for n in ("cupyx", "cupyx.scipy", "cupyx.scipy.special"))
    cupyx.scipy, scipy.special = scipy, special

    def elementwise(fn: Any) -> Any:
        vec = np.vectorize(fn, otypes=[np.float64])
        return _device_call(lambda x: vec(x).astype(x.dtype if x.dtype.kind == "f" else np.float64), cupy.__fake__)

    special.erf, special.erfc = elementwise(math.erf), elementwise(math.erfc)
    return {"cupyx": cupyx, "cupyx.scipy": scipy, "cupyx.scipy.special": special}

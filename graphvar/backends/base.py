"""The contract every backend implements; the rest of graphvar talks to backends only through it.

Code outside ``graphvar/backends/`` never asks what kind of array it holds (no ``isinstance`` on
NumPy or CuPy arrays, no ``hasattr``): the plan moves values with ``from_host`` / ``to_host``, a
fetch returns ``fetch`` / ``fetch_copy`` / ``fetch_variable`` (0-d values become NumPy scalars on
every backend, as in TF), and the Saver streams with ``save_chunks`` / ``restore_from``.

Kernels (``kernels``: op type -> ``kernel(step, args, ctx)``) follow ``array_kernels``'s rules;
the kernel of a value generator (an op registered with ``fills=True``) also takes ``out=``: a
buffer from ``empty`` (or a reusable old one, see ``reusable``) to fill in place. It returns the
buffer holding the values, ``out`` or a fresh one it found cheaper (lazily zeroed pages).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import numpy as np

from graphvar.checkpoint import streaming


def host_scalar(host: Any) -> Any:
    """A fetched host value as ``Session.run`` returns it: a 0-d array becomes a NumPy scalar."""
    return host[()] if isinstance(host, np.ndarray) and host.ndim == 0 else host


class Backend:
    """Runs ops on one device. Subclasses implement ``empty``, ``from_host``, ``to_host``,
    ``copy_from_host`` and ``owns``; the rest has host-copy defaults a device backend overrides.

    Attributes:
      name: the backend's kind ("numpy", "cupy"), used in log lines and fallbacks.
      device: the full device name its ops report ("/device:GPU:0").
      kernels: op type -> kernel.
    """

    name: str = ""
    device: str = ""
    kernels: dict[str, Any]

    # ---- arrays ----
    def empty(self, shape: tuple, dtype: Any) -> Any:
        """A new uninitialized C-contiguous buffer of this device."""
        raise NotImplementedError

    def from_host(self, x: Any) -> Any:
        """``x`` (a host array or value) as a value of this device (may be ``x`` itself on the host)."""
        raise NotImplementedError

    def to_host(self, x: Any) -> Any:
        """``x`` in host memory; may share memory with ``x`` (it is ``x`` on the host)."""
        raise NotImplementedError

    def copy_from_host(self, dst: Any, host: np.ndarray) -> None:
        """Writes ``host`` (same shape and dtype) into this device's buffer ``dst``."""
        raise NotImplementedError

    def owns(self, x: Any) -> bool:
        """Whether ``x`` is a value of this device."""
        raise NotImplementedError

    def host_copy(self, x: Any) -> Any:
        """``x`` in host memory, never sharing memory with ``x``."""
        host = self.to_host(x)
        return np.array(host, copy=True) if host is x else host

    def reusable(self, buf: Any, shape: tuple, dtype: Any) -> bool:
        """Whether ``buf`` (a variable's buffer, or None) can be overwritten in place with a
        value of ``shape`` and ``dtype`` (same shape and dtype, C-contiguous, writable)."""
        if buf is None or tuple(buf.shape) != tuple(shape) or buf.dtype != dtype:
            return False
        return bool(buf.flags.c_contiguous)

    def slot_lock(self, slot: Any) -> Any:
        """The lock of variable ``slot`` (a ``VarSlot`` of this backend): every write holds it.

        A device backend returns a lock that also orders its streams: acquiring it makes the current
        stream wait for ``slot.ready`` (the event recorded after the slot's last access, on whichever
        stream made it), releasing it records that event again on the current stream. So a kernel, a
        save's copy stream or a restore that takes the lock runs after every earlier writer, whatever
        thread or stream (per-thread default streams, a user's ``with cupy.cuda.Stream():``) queued it.
        The host's is a plain ``threading.Lock``."""
        return threading.Lock()

    def synchronize(self) -> None:
        """Waits until the work queued on this device by the calling thread has finished."""

    def release(self, session: Any) -> None:
        """Frees what this backend keeps for ``session``; called by ``Session.close``."""

    def failure(self, e: BaseException) -> tuple[str, str]:
        """What a kernel's exception means: ("oom", the allocation asked for) when memory ran out,
        ("fault", what the device said) for a device fault, ("", "") for anything else (a bad argument).
        The Session raises ResourceExhaustedError, InternalError or InvalidArgumentError for them."""
        if isinstance(e, MemoryError):
            shape, dtype = getattr(e, "shape", None), getattr(e, "dtype", None)  # NumPy's _ArrayMemoryError
            if shape is not None and dtype is not None:
                nbytes = int(np.prod(shape, dtype=np.float64) * np.dtype(dtype).itemsize)
                return "oom", f"{nbytes:,} bytes (shape {list(shape)}, {np.dtype(dtype).name})"
            return "oom", str(e) or "memory"
        return "", ""

    # ---- fetches: what Session.run returns ----
    def fetch(self, x: Any) -> Any:
        """A computed value as returned to the user (None stays None)."""
        return None if x is None else host_scalar(self.to_host(x))

    def fetch_copy(self, x: Any) -> Any:
        """Like ``fetch``, but never sharing memory with ``x`` (a value that may alias a variable)."""
        return None if x is None else host_scalar(self.host_copy(x))

    def fetch_variable(self, slot: Any) -> Any:
        """A copy of variable ``slot``'s value, taken under its lock so an in-place assign cannot tear it.

        Raises:
          FailedPreconditionError: the variable is uninitialized.
        """
        with slot.lock:
            return host_scalar(self.host_copy(slot.read()))

    # ---- Saver streaming ----
    def save_chunks(self, array: Any, chunk_bytes: int) -> Iterator[memoryview]:
        """Yields ``array``'s C-order little-endian bytes in chunks, each valid until the next is
        requested. Default: through one host copy of ``array``."""
        yield from streaming.array_pieces(np.asarray(self.to_host(array)))

    def restore_from(self, reader: Any, name: str, array: Any) -> None:
        """Fills the C-contiguous buffer ``array`` with tensor ``name`` of checkpoint ``reader``
        (checking its CRC). Default: through one host copy of the tensor.

        Raises:
          InvalidArgumentError: ``array``'s shape or dtype is not the tensor's.
          DataLossError: the tensor fails its checksum or the file is short.
        """
        self.copy_from_host(array, reader.get_tensor(name).reshape(array.shape))

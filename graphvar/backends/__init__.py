"""Backends: one per device kind, found by name, CuPy imported lazily in one place.

A backend has `name`, `device`, `kernels` (op type -> kernel), `to_host(x)`,
`from_host(x)`, `empty(shape, dtype)` and `owns(x)` (is x one of its arrays).
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from graphvar.backends.numpy_backend import NumpyBackend

log = logging.getLogger("graphvar")

_lock = threading.Lock()
_host: NumpyBackend | None = None
_gpus: dict[int, Any] = {}
_cuda: bool | None = None


def host() -> NumpyBackend:
    global _host
    with _lock:
        if _host is None:
            _host = NumpyBackend()
        return _host


def cuda_available() -> bool:
    """True when CuPy imports and sees at least one CUDA device (GRAPHVAR_BACKEND=numpy forces False)."""
    global _cuda
    if _cuda is None:
        if os.environ.get("GRAPHVAR_BACKEND", "").lower() in ("numpy", "cpu", "host"):
            _cuda = False
        else:
            _cuda = _probe_cuda()
    return _cuda


def _probe_cuda() -> bool:
    """Whether CuPy sees a CUDA device; says so once, in one log line, where CuPy is there but unusable."""
    try:
        import cupy

        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as e:  # CuPy without its CUDA libraries, or no driver, or no device
        if isinstance(e, ModuleNotFoundError) and e.name == "cupy":
            return False  # the host-only install: nothing to say
        why = f"{type(e).__name__}: {e}"
    else:
        if count > 0:
            return True
        why = "0 devices"
    log.warning("graphvar: CuPy is installed but no CUDA device is usable (%s); every op runs on the host", why)
    return False


def gpu(index: int = 0) -> Any:
    """The CuPy backend of GPU `index` (created once)."""
    with _lock:
        backend = _gpus.get(index)
        if backend is None:
            from graphvar.backends.cupy_backend import CupyBackend

            backend = _gpus[index] = CupyBackend(index)
        return backend


def for_device(device_type: str | None, index: int) -> tuple[Any, str]:
    """The backend that runs ops placed on (device_type, index), and a note if placement was softened."""
    if device_type is None:
        device_type = "GPU" if cuda_available() else "CPU"
    if device_type == "GPU":
        if cuda_available():
            import cupy

            if index < cupy.cuda.runtime.getDeviceCount():
                return gpu(index), ""
            return host(), f"GPU:{index} does not exist; running on the host"
        return host(), "CUDA is not available; running on the host"
    return host(), ""

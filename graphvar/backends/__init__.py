"""Backends: one per device kind, found by name; CuPy is imported only by `cupy_backend`, lazily.

Every backend implements `base.Backend` (allocation, host transfers, fetches, Saver streaming, kernels).
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from graphvar.backends.base import Backend
from graphvar.backends.numpy_backend import NumpyBackend

log = logging.getLogger("graphvar")

_lock = threading.Lock()
_host: NumpyBackend | None = None
_gpus: dict[int, Any] = {}
_cuda: bool | None = None  # None: not probed yet
_gpu_count = 0


def host() -> NumpyBackend:
    global _host
    with _lock:
        if _host is None:
            _host = NumpyBackend()
        return _host


def cuda_available() -> bool:
    """True when CuPy imports and sees at least one CUDA device (GRAPHVAR_BACKEND=numpy forces False)."""
    global _cuda, _gpu_count
    if _cuda is None:
        if os.environ.get("GRAPHVAR_BACKEND", "").lower() in ("numpy", "cpu", "host"):
            _gpu_count = 0
        else:
            _gpu_count = _probe_cuda()
        _cuda = _gpu_count > 0
    return _cuda


def gpu_count() -> int:
    """The CUDA devices graphvar can use (0 without CuPy, a driver or a device, or with GRAPHVAR_BACKEND=numpy)."""
    return _gpu_count if cuda_available() else 0


def _probe_cuda() -> int:
    """How many devices CuPy sees; says why, once, in one log line, where CuPy is there but unusable."""
    try:
        from graphvar.backends import cupy_backend

        count = cupy_backend.device_count()
    except Exception as e:  # CuPy without its CUDA libraries, or no driver, or no device
        if isinstance(e, ModuleNotFoundError) and e.name == "cupy":
            return 0  # the host-only install: nothing to say
        why = f"{type(e).__name__}: {e}"
    else:
        if count > 0:
            return count
        why = "0 devices"
    log.warning("graphvar: CuPy is installed but no CUDA device is usable (%s); every op runs on the host", why)
    return 0


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
            if index < gpu_count():
                return gpu(index), ""
            return host(), f"GPU:{index} does not exist; running on the host"
        return host(), "CUDA is not available; running on the host"
    return host(), ""

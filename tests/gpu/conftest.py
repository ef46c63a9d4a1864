"""tests/gpu: the CuPy backend on a real CUDA device, compared with the NumPy backend.

Every test here is skipped, cleanly, where CuPy is not installed or sees no CUDA device (the test
modules start with ``pytest.importorskip("cupy")``; the fixture below checks the device count).
"""

from __future__ import annotations

import pytest


def _why_no_gpu() -> str | None:
    try:
        import cupy
    except ImportError:
        return "CuPy is not installed"
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as e:  # CUDA runtime without a driver or device
        return f"no CUDA device ({type(e).__name__}: {e})"
    return None if count > 0 else "no CUDA device"


@pytest.fixture(autouse=True)
def _needs_gpu(monkeypatch):
    reason = _why_no_gpu()
    if reason:
        pytest.skip(reason)
    from graphvar import backends

    monkeypatch.delenv("GRAPHVAR_BACKEND", raising=False)
    monkeypatch.setattr(backends, "_cuda", None)  # decide again, with the real CuPy

"""Fixtures for backend tests: the host build of kernels/*.cu and a fake CuPy made from it."""

from __future__ import annotations

import os
import sys

import pytest

from tests.backends import fake_cupy


@pytest.fixture(scope="session")
def kernel_dll(tmp_path_factory):
    try:
        dll = fake_cupy.host_kernels.build(tmp_path_factory.mktemp("cupy_fake_kernels"))
    except Exception as e:  # a compile error is a test failure, not a skip
        pytest.fail(f"host kernel build failed: {getattr(e, 'stderr', e)}")
    if dll is None:
        pytest.skip("g++ not found: the fake CuPy runs the kernels' host build")
    return dll


def forget_cupy_backend(monkeypatch) -> None:
    """Drops graphvar.backends.cupy_backend so the next import binds the `cupy` of this test; the
    module imported during the test (bound to it) is dropped again after the test."""
    from graphvar import backends

    # setitem/setattr first: monkeypatch's undo then restores the state before the test, and removes
    # what the test imported (delitem/delattr of an absent key would leave that behind)
    monkeypatch.setitem(sys.modules, "graphvar.backends.cupy_backend", None)
    del sys.modules["graphvar.backends.cupy_backend"]
    monkeypatch.setitem(vars(backends), "cupy_backend", None)  # (setattr's undo fails on an absent attribute)
    del vars(backends)["cupy_backend"]


def install_fake_cupy(monkeypatch, dll, device_count: int = 1, sm_count: int = 2, per_thread: bool = False):
    """Makes `import cupy` give the fake and graphvar.backends see `device_count` GPUs; returns the fake's state.
    ``per_thread``: each thread has its own default stream (CUPY_CUDA_PER_THREAD_DEFAULT_STREAM=1)."""
    from graphvar import backends

    module, fake = fake_cupy.build(dll, device_count, sm_count, per_thread)
    monkeypatch.setitem(sys.modules, "cupy", module)
    for name, sub in fake_cupy.cupyx_modules(module).items():
        monkeypatch.setitem(sys.modules, name, sub)
    forget_cupy_backend(monkeypatch)
    monkeypatch.delenv("GRAPHVAR_BACKEND", raising=False)
    monkeypatch.setattr(backends, "_cuda", None)
    monkeypatch.setattr(backends, "_gpus", {})
    return fake


@pytest.fixture
def fake_gpu(monkeypatch, kernel_dll):
    """One fake GPU (2 SMs); yields the fake's state (its log, pinned buffers, modules)."""
    yield install_fake_cupy(monkeypatch, kernel_dll)


# ---- one test body under every backend (CuPy's numpy_cupy_allclose pattern) ----
BACKENDS = ("numpy", "fake_cupy", "cupy")


def _why_no_real_gpu() -> str | None:
    module = sys.modules.get("cupy")
    if module is not None and getattr(module, "__fake__", None) is not None:
        return "the fake CuPy is installed (fake_gpu_plugin)"
    try:
        import cupy
    except ImportError:
        return "CuPy is not installed"
    try:
        return None if cupy.cuda.runtime.getDeviceCount() > 0 else "no CUDA device"
    except Exception as e:  # CUDA runtime without a driver or device
        return f"no CUDA device ({type(e).__name__}: {e})"


@pytest.fixture(params=BACKENDS)
def device(request, monkeypatch):
    """The device a backend-parametrized test builds its graph under, with that backend in place:
    "/cpu:0" for NumPy, "/gpu:0" on the fake CuPy (host build of our kernels), "/gpu:0" on the real
    device (skipped without CUDA). GRAPHVAR_TEST_BACKENDS=numpy,cupy (ci/gpu_check.sh) picks some."""
    from graphvar import backends

    wanted = os.environ.get("GRAPHVAR_TEST_BACKENDS")
    if wanted and request.param not in wanted.split(","):
        pytest.skip(f"GRAPHVAR_TEST_BACKENDS={wanted}")
    if request.param == "numpy":
        return "/cpu:0"
    if request.param == "fake_cupy":
        install_fake_cupy(monkeypatch, request.getfixturevalue("kernel_dll"))
        return "/gpu:0"
    reason = _why_no_real_gpu()
    if reason:
        pytest.skip(reason)
    monkeypatch.delenv("GRAPHVAR_BACKEND", raising=False)
    monkeypatch.setattr(backends, "_cuda", None)  # decide again, with the real CuPy
    return "/gpu:0"


def on_device_and_host(make, device: str):
    """make() built under ``device`` and under /cpu:0 (the NumPy reference), in one graph."""
    import graphvar as tf

    with tf.device(device):
        on_device = make()
    with tf.device("/cpu:0"):
        on_host = make()
    return on_device, on_host

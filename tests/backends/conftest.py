"""Fixtures for backend tests: the host build of kernels/*.cu and a fake CuPy made from it."""

from __future__ import annotations

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


def install_fake_cupy(monkeypatch, dll, device_count: int = 1, sm_count: int = 2):
    """Makes `import cupy` give the fake and graphvar.backends see `device_count` GPUs; returns the fake's state."""
    from graphvar import backends

    module, fake = fake_cupy.build(dll, device_count, sm_count)
    monkeypatch.setitem(sys.modules, "cupy", module)
    # a fresh import binds the fake: drop the module and the package's attribute for it
    monkeypatch.delitem(sys.modules, "graphvar.backends.cupy_backend", raising=False)
    monkeypatch.delattr(backends, "cupy_backend", raising=False)
    monkeypatch.delenv("GRAPHVAR_BACKEND", raising=False)
    monkeypatch.setattr(backends, "_cuda", None)
    monkeypatch.setattr(backends, "_gpus", {})
    return fake


@pytest.fixture
def fake_gpu(monkeypatch, kernel_dll):
    """One fake GPU (2 SMs); yields the fake's state (its log, pinned buffers, modules)."""
    yield install_fake_cupy(monkeypatch, kernel_dll)

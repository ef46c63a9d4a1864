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


def install_fake_cupy(monkeypatch, dll, device_count: int = 1, sm_count: int = 2):
    """Makes `import cupy` give the fake and graphvar.backends see `device_count` GPUs; returns the fake's state."""
    from graphvar import backends

    module, fake = fake_cupy.build(dll, device_count, sm_count)
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

"""CuPy installed but no usable GPU (``pip install 'graphvar[cuda12]'`` on a laptop): graphvar imports,
runs everything on the host and says why in exactly one log line."""

from __future__ import annotations

import logging
import sys
import types

import numpy as np

import graphvar as tf
from graphvar import backends
from tests.backends.conftest import forget_cupy_backend, install_fake_cupy


def _run_twice() -> list[np.ndarray]:
    results = []
    for _ in range(2):
        tf.reset_default_graph()
        v = tf.Variable(tf.random_uniform([4], seed=3))
        g = tf.Variable(tf.zeros([2]))
        with tf.device("/gpu:0"):
            h = tf.Variable(tf.ones([3]))
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            results.append(sess.run([v, g, h]))
            assert {type(sess._variable_slot(x).value) for x in (v, g, h)} == {np.ndarray}
    return results


def _use_cupy(monkeypatch, module) -> None:
    """Makes `import cupy` give `module` (None: not installed) and graphvar probe CUDA again."""
    monkeypatch.setitem(sys.modules, "cupy", module)
    forget_cupy_backend(monkeypatch)
    monkeypatch.delenv("GRAPHVAR_BACKEND", raising=False)
    monkeypatch.setattr(backends, "_cuda", None)


def _warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING and r.name == "graphvar"]


def test_zero_devices_runs_on_host_with_one_log_line(monkeypatch, kernel_dll, caplog):
    install_fake_cupy(monkeypatch, kernel_dll, device_count=0)
    caplog.set_level(logging.INFO, "graphvar")
    first, second = _run_twice()
    assert [a.tobytes() for a in first] == [a.tobytes() for a in second]
    (line,) = _warnings(caplog)
    assert "CuPy is installed but no CUDA device is usable (0 devices)" in line and "host" in line
    assert backends._gpus == {}  # never built a GPU backend


def test_cuda_error_runs_on_host_with_one_log_line(monkeypatch, caplog):
    def no_driver() -> int:
        raise RuntimeError("cudaErrorInsufficientDriver: CUDA driver version is insufficient")

    cupy = types.ModuleType("cupy")
    cupy.cuda = types.SimpleNamespace(runtime=types.SimpleNamespace(getDeviceCount=no_driver))
    _use_cupy(monkeypatch, cupy)
    caplog.set_level(logging.INFO, "graphvar")
    _run_twice()
    (line,) = _warnings(caplog)
    assert "RuntimeError: cudaErrorInsufficientDriver" in line


def test_no_cupy_at_all_is_silent(monkeypatch, caplog):
    _use_cupy(monkeypatch, None)  # import cupy -> ModuleNotFoundError(name="cupy")
    caplog.set_level(logging.INFO, "graphvar")
    assert backends.cuda_available() is False
    assert _warnings(caplog) == []


def test_list_devices_without_gpu(monkeypatch, kernel_dll):
    install_fake_cupy(monkeypatch, kernel_dll, device_count=0)
    with tf.Session() as sess:
        assert [d.device_type for d in sess.list_devices()] == ["CPU"]

"""``pytest -p tests.backends.fake_gpu_plugin``: the whole suite with the fake CuPy as GPU 0.

Every test starts with ``tests/backends/fake_cupy.py`` installed as ``cupy`` and one fake device,
so ``/gpu:0`` (every op's default device) runs the GPU backend: our kernels' host build, CuPy's
functions on opaque device arrays, copies on modelled streams. CI runs the suite once without and
once with this plugin (.ci/run). A test that pins the host (``GRAPHVAR_BACKEND=numpy``,
``tf.device("/cpu:0")``) or installs its own fake is unaffected.
"""

from __future__ import annotations

import pytest

from tests.backends import fake_cupy


@pytest.fixture(scope="session")
def _fake_gpu_dll(tmp_path_factory):
    dll = fake_cupy.host_kernels.build(tmp_path_factory.mktemp("fake_gpu_plugin"))
    if dll is None:
        pytest.exit("fake_gpu_plugin: g++ not found, the fake GPU needs the kernels' host build", returncode=1)
    return dll


@pytest.fixture(autouse=True)
def _fake_default_gpu(monkeypatch, _fake_gpu_dll):
    from tests.backends.conftest import install_fake_cupy

    fake = install_fake_cupy(monkeypatch, _fake_gpu_dll)
    fake.log = fake_cupy.NoLog()  # tests that inspect the log install a fake of their own (fake_gpu)
    yield fake

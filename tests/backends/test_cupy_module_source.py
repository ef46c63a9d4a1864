"""The code and options the CuPy backend gives cupy.RawModule; compiled with NVRTC itself where
libnvrtc is found (the test extra installs nvidia-cuda-nvrtc-cu12; GRAPHVAR_NVRTC=/path/to/libnvrtc.so.N
points at another; no GPU needed)."""

from __future__ import annotations

import ctypes
import os
import re
import shutil

import pytest

from ci import nvrtc
from graphvar.backends import kernels_src
from tests.backends import fake_cupy


@pytest.fixture
def cb(fake_gpu):
    from graphvar.backends import cupy_backend

    return cupy_backend


def test_module_source_is_the_file_plus_a_digest_of_every_header(cb, monkeypatch, tmp_path):
    code, options = cb.module_source("init.cu")
    assert options == ("--std=c++17", f"-I{kernels_src.kernel_dir()}")
    first, rest = code.split("\n", 1)
    assert re.fullmatch(r'#define GRAPHVAR_KERNELS_SHA256 "[0-9a-f]{64}"', first)
    assert rest == kernels_src.read_kernel("init.cu")
    # CuPy's disk cache is keyed on the code text: a header change must change the text
    copy = tmp_path / "kernels"
    shutil.copytree(kernels_src.kernel_dir(), copy)
    monkeypatch.setattr(kernels_src, "kernel_dir", lambda: copy)
    assert cb.module_source("init.cu")[0] == code
    (copy / "philox.cuh").write_text((copy / "philox.cuh").read_text() + "\n// changed\n")
    changed_first, changed_rest = cb.module_source("init.cu")[0].split("\n", 1)
    assert changed_first != first and changed_rest == rest


@pytest.mark.parametrize("source", ["init.cu", "assign.cu"])
@pytest.mark.parametrize("arch", ["compute_80", "compute_90"])
def test_nvrtc_compiles_every_kernel_the_backend_calls(cb, source, arch):
    path = nvrtc.find_nvrtc()
    if path is None:
        if os.environ.get("CI"):  # CI installs the test extra: a skip there would hide a compile error
            pytest.fail("libnvrtc not found in CI (the test extra installs nvidia-cuda-nvrtc-cu12)")
        pytest.skip("libnvrtc not found (pip install nvidia-cuda-nvrtc-cu12, or set GRAPHVAR_NVRTC)")
    code, options = cb.module_source(source)
    ptx = nvrtc.compile_ptx(ctypes.CDLL(path), code, options + (f"-arch={arch}", *nvrtc.CUPY_OPTIONS))
    entries = nvrtc.entries(ptx)
    wanted = {n for n in fake_cupy.host_kernels.SIGNATURES if cb._SOURCES.get(n.rsplit("_", 1)[0]) == source}
    assert wanted and wanted <= entries

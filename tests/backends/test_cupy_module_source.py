"""The code and options the CuPy backend gives cupy.RawModule; compiled with NVRTC itself where
libnvrtc is found (set GRAPHVAR_NVRTC=/path/to/libnvrtc.so.N to point at one; no GPU needed)."""

from __future__ import annotations

import ctypes
import ctypes.util
import glob
import os
import re
import shutil
import sys

import pytest

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
    monkeypatch.setattr(cb, "kernel_dir", lambda: copy)
    monkeypatch.setattr(kernels_src, "kernel_dir", lambda: copy)
    assert cb.module_source("init.cu")[0] == code
    (copy / "philox.cuh").write_text((copy / "philox.cuh").read_text() + "\n// changed\n")
    changed_first, changed_rest = cb.module_source("init.cu")[0].split("\n", 1)
    assert changed_first != first and changed_rest == rest


def _find_nvrtc() -> str | None:
    explicit = os.environ.get("GRAPHVAR_NVRTC")
    if explicit:
        return explicit
    found = ctypes.util.find_library("nvrtc")
    if found:
        return found
    for base in sys.path:  # the nvidia-cuda-nvrtc wheel that CuPy installs use
        hits = sorted(glob.glob(os.path.join(base, "nvidia", "cu*", "lib", "libnvrtc.so.*")))
        hits += sorted(glob.glob(os.path.join(base, "nvidia", "cuda_nvrtc", "lib", "libnvrtc.so.*")))
        hits = [h for h in hits if "builtins" not in h]
        if hits:
            return hits[0]
    return None


def nvrtc_ptx(lib: ctypes.CDLL, code: str, options: tuple[str, ...]) -> str:
    prog = ctypes.c_void_p()
    assert lib.nvrtcCreateProgram(ctypes.byref(prog), code.encode(), b"kern.cu", 0, None, None) == 0
    opts = (ctypes.c_char_p * len(options))(*[o.encode() for o in options])
    status = lib.nvrtcCompileProgram(prog, len(options), opts)
    size = ctypes.c_size_t()
    lib.nvrtcGetProgramLogSize(prog, ctypes.byref(size))
    log = ctypes.create_string_buffer(size.value)
    lib.nvrtcGetProgramLog(prog, log)
    assert status == 0, log.value.decode(errors="replace")
    lib.nvrtcGetPTXSize(prog, ctypes.byref(size))
    ptx = ctypes.create_string_buffer(size.value)
    lib.nvrtcGetPTX(prog, ptx)
    lib.nvrtcDestroyProgram(ctypes.byref(prog))
    return ptx.value.decode()


@pytest.mark.parametrize("source", ["init.cu", "assign.cu"])
@pytest.mark.parametrize("arch", ["compute_80", "compute_90"])
def test_nvrtc_compiles_every_kernel_the_backend_calls(cb, source, arch):
    path = _find_nvrtc()
    if path is None:
        pytest.skip("libnvrtc not found (pip install nvidia-cuda-nvrtc and set GRAPHVAR_NVRTC)")
    lib = ctypes.CDLL(path)
    code, options = cb.module_source(source)
    # what CuPy's RawModule adds (cupy/cuda/compiler.py): the architecture, -ftz=true, device default
    ptx = nvrtc_ptx(lib, code, options + (f"-arch={arch}", "--device-as-default-execution-space", "-ftz=true"))
    entries = set(re.findall(r"\.entry (\w+)", ptx))
    wanted = {name for name in fake_cupy.host_kernels.SIGNATURES if cb._SOURCES[name.rsplit("_", 1)[0]] == source}
    assert wanted and wanted <= entries

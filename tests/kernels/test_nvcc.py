"""kernels/*.cu compile with nvcc for sm_80 and sm_90, warnings as errors (no GPU needed)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from graphvar.backends.kernels_src import kernel_dir

NVCC = shutil.which("nvcc")
SOURCES = sorted(p.name for p in kernel_dir().glob("*.cu"))


@pytest.mark.skipif(NVCC is None, reason="nvcc not found")
@pytest.mark.parametrize("name", SOURCES)
def test_compiles_for_sm80_sm90(name, tmp_path):
    cmd = [NVCC, "--std=c++17", "-Werror", "all-warnings", f"-I{kernel_dir()}"]
    cmd += ["-gencode", "arch=compute_80,code=sm_80", "-gencode", "arch=compute_90,code=sm_90"]
    cmd += ["-c", str(kernel_dir() / name), "-o", str(tmp_path / (name + ".o"))]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr


def test_sources_found():
    assert {"init.cu", "assign.cu"} <= set(SOURCES)
    assert (kernel_dir() / "philox.cuh").is_file() and (kernel_dir() / "host_shim.h").is_file()

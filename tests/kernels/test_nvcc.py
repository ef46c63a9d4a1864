"""kernels/*.cu compile with nvcc for sm_80 and sm_90, warnings as errors, without register spills
(ptxas's own report, ci/kernel_resources.py; no GPU needed)."""

from __future__ import annotations

import shutil

import pytest

from ci import kernel_resources
from graphvar.backends.kernels_src import kernel_dir
from graphvar.backends.launch import resident_blocks

NVCC = shutil.which("nvcc")
SOURCES = sorted(p.name for p in kernel_dir().glob("*.cu"))


@pytest.mark.skipif(NVCC is None, reason="nvcc not found")
@pytest.mark.parametrize("name", SOURCES)
def test_compiles_for_sm80_sm90_without_spills(name):
    table = kernel_resources.report(kernel_dir() / name, ["80", "90"], NVCC)  # -Werror all-warnings
    assert set(table) == {"sm_80", "sm_90"}
    for arch, kernels in table.items():
        assert kernels, f"no kernel entries found in {name} for {arch}"
        for kernel, r in kernels.items():
            assert r["registers"] > 0, (arch, kernel, r)
            assert r["spill_stores"] == r["spill_loads"] == 0, f"{kernel} spills on {arch}: {r}"
            # our launch geometry assumes a full block of 256 threads fits (<= 255 registers)
            assert resident_blocks(r["registers"]) >= 1


def test_sources_found():
    assert {"init.cu", "assign.cu"} <= set(SOURCES)
    assert (kernel_dir() / "philox.cuh").is_file() and (kernel_dir() / "host_shim.h").is_file()


def test_ptxas_report_is_parsed():
    out = """ptxas info    : Compiling entry function 'normal_f32' for 'sm_80'
ptxas info    : Function properties for normal_f32
    32 bytes stack frame, 8 bytes spill stores, 4 bytes spill loads
ptxas info    : Used 30 registers, used 0 barriers, 32 bytes cumulative stack size
ptxas info    : Function properties for __internal_trig_reduction_slowpathd
    40 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
ptxas info    : Compiling entry function 'fill_f32' for 'sm_90'
ptxas info    : Function properties for fill_f32
    0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
ptxas info    : Used 24 registers, used 0 barriers
"""
    assert kernel_resources.parse(out) == {
        "sm_80": {"normal_f32": {"registers": 30, "stack": 32, "spill_stores": 8, "spill_loads": 4}},
        "sm_90": {"fill_f32": {"registers": 24, "stack": 0, "spill_stores": 0, "spill_loads": 0}},
    }

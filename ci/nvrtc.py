"""NVRTC through ctypes, for checks that compile the kernels without CuPy or a GPU.

Used by tests/backends/test_cupy_module_source.py and ci/wheel_smoke.py. The library is found at
$GRAPHVAR_NVRTC, on the loader's path, or in the ``nvidia-cuda-nvrtc-cu12`` wheel (the ``test``
extra installs it; CuPy's CUDA 12 wheels use the same one).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import glob
import os
import re
import sys

# What CuPy's RawModule adds to our options (cupy/cuda/compiler.py).
CUPY_OPTIONS = ("--device-as-default-execution-space", "-ftz=true")


def find_nvrtc() -> str | None:
    """A path (or loader name) of libnvrtc, or None."""
    explicit = os.environ.get("GRAPHVAR_NVRTC")
    if explicit:
        return explicit
    found = ctypes.util.find_library("nvrtc")
    if found:
        return found
    for base in sys.path:
        hits = sorted(glob.glob(os.path.join(base, "nvidia", "cu*", "lib", "libnvrtc.so.*")))
        hits += sorted(glob.glob(os.path.join(base, "nvidia", "cuda_nvrtc", "lib", "libnvrtc.so.*")))
        hits = [h for h in hits if "builtins" not in h and ".alt." not in h]
        if hits:
            return hits[0]
    return None


def compile_ptx(lib: ctypes.CDLL, code: str, options: tuple[str, ...]) -> str:
    """The PTX NVRTC makes of ``code``; raises RuntimeError with NVRTC's log if it does not compile."""
    prog = ctypes.c_void_p()
    if lib.nvrtcCreateProgram(ctypes.byref(prog), code.encode(), b"kern.cu", 0, None, None) != 0:
        raise RuntimeError("nvrtcCreateProgram failed")
    try:
        opts = (ctypes.c_char_p * len(options))(*[o.encode() for o in options])
        status = lib.nvrtcCompileProgram(prog, len(options), opts)
        size = ctypes.c_size_t()
        lib.nvrtcGetProgramLogSize(prog, ctypes.byref(size))
        log = ctypes.create_string_buffer(size.value)
        lib.nvrtcGetProgramLog(prog, log)
        if status != 0:
            raise RuntimeError(log.value.decode(errors="replace"))
        lib.nvrtcGetPTXSize(prog, ctypes.byref(size))
        ptx = ctypes.create_string_buffer(size.value)
        lib.nvrtcGetPTX(prog, ptx)
        return ptx.value.decode()
    finally:
        lib.nvrtcDestroyProgram(ctypes.byref(prog))


def entries(ptx: str) -> set[str]:
    """The kernel names (``.entry``) defined in ``ptx``."""
    return set(re.findall(r"\.entry (\w+)", ptx))

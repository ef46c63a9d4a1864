"""Builds kernels/*.cu with g++ through kernels/host_shim.h and exposes them via ctypes.

Each kernel K gets a C wrapper ``host_K(grid, block, args...)`` that runs every (block, thread)
of the grid sequentially (``gv_launch``), so the CUDA sources are tested without a GPU.
"""

from __future__ import annotations

import ctypes
import pathlib
import shutil
import subprocess

import numpy as np

from graphvar.backends.kernels_src import kernel_dir

_C = {"f16": "unsigned short", "f32": "float", "f64": "double", "i32": "int", "i64": "long long"}
_CT = {
    "f16": ctypes.c_uint16,
    "f32": ctypes.c_float,
    "f64": ctypes.c_double,
    "i32": ctypes.c_int32,
    "i64": ctypes.c_int64,
}
NP = {"f16": np.float16, "f32": np.float32, "f64": np.float64, "i32": np.int32, "i64": np.int64}
_LL, _ULL = ("long long", ctypes.c_int64), ("unsigned long long", ctypes.c_uint64)
_STREAM = [_LL, _LL, _ULL, _ULL, _ULL]  # n, base, key_lo, key_hi, run


def _signatures() -> dict[str, list[tuple[str, object]]]:
    """Kernel name -> [(C type, ctypes type)] of its parameters (as documented in the .cu files)."""
    sig: dict[str, list[tuple[str, object]]] = {}
    for t in _C:
        ptr = (_C[t] + "*", ctypes.c_void_p)
        sig[f"fill_{t}"] = [ptr, _LL, (_C[t], _CT[t])]
        for op in ("assign", "assign_add", "assign_sub"):
            sig[f"{op}_{t}"] = [ptr, ("const " + _C[t] + "*", ctypes.c_void_p), _LL]
        if t in ("i32", "i64"):
            sig[f"uniform_{t}"] = [ptr, *_STREAM, _LL, _ULL]
            continue
        param = ("double", ctypes.c_double) if t == "f64" else ("float", ctypes.c_float)
        for kind in ("uniform", "normal", "truncated_normal"):
            sig[f"{kind}_{t}"] = [ptr, *_STREAM, param, param]
    sig.update(_optim_signatures())
    return sig


# kernels/optim.cu: name -> parameters after the pointers ("p" slot/var pointer, "g" const grad,
# "s" scalar of T, "i" int flag), then n.
OPTIM = {
    "apply_gradient_descent": "pgs",
    "apply_momentum": "ppgssi",
    "apply_adam": "pppgsssssi",
    "apply_rms_prop": "pppgssss",
    "apply_centered_rms_prop": "ppppgssss",
    "apply_adagrad": "ppgsi",
}


# the sparse updates: "x" the const long long* row indices; then rows and inner.
SPARSE_OPTIM = {
    "sparse_apply_momentum": "ppgxsssi",
    "sparse_apply_adagrad": "ppgxsi",
    "sparse_apply_rms_prop": "pppgxsssss",
    "sparse_apply_centered_rms_prop": "ppppgxsssss",
}


def _optim_signatures() -> dict[str, list[tuple[str, object]]]:
    sig: dict[str, list[tuple[str, object]]] = {}
    for t in ("f32", "f64"):
        kinds = {
            "p": (_C[t] + "*", ctypes.c_void_p),
            "g": ("const " + _C[t] + "*", ctypes.c_void_p),
            "x": ("const long long*", ctypes.c_void_p),
            "s": (_C[t], _CT[t]),
            "i": ("int", ctypes.c_int),
        }
        for name, params in OPTIM.items():
            sig[f"{name}_{t}"] = [kinds[k] for k in params] + [_LL]
        for name, params in SPARSE_OPTIM.items():
            sig[f"{name}_{t}"] = [kinds[k] for k in params] + [_LL, _LL]
    return sig


SIGNATURES = _signatures()


def _wrapper_source() -> str:
    lines = ['#include "init.cu"', '#include "assign.cu"', '#include "optim.cu"']
    for name, params in SIGNATURES.items():
        decl = ", ".join(f"{c} a{i}" for i, (c, _) in enumerate(params))
        args = ", ".join(f"a{i}" for i in range(len(params)))
        lines.append(
            f'extern "C" void host_{name}(unsigned grid, unsigned block, {decl}) '
            f"{{ gv_launch(grid, block, {name}, {args}); }}"
        )
    return "\n".join(lines) + "\n"


def build(tmp: pathlib.Path) -> ctypes.CDLL | None:
    """Compiles the shared library into ``tmp``; None if g++ is absent."""
    gxx = shutil.which("g++")
    if gxx is None:
        return None
    src = tmp / "host_kernels.cpp"
    src.write_text(_wrapper_source())
    lib = tmp / "host_kernels.so"
    cmd = [gxx, "-x", "c++", "-std=c++17", "-O2", "-ffp-contract=off", "-fPIC", "-shared"]
    cmd += ["-Wall", "-Wextra", "-Werror", f"-I{kernel_dir()}", str(src), "-o", str(lib)]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    dll = ctypes.CDLL(str(lib))
    for name, params in SIGNATURES.items():
        fn = getattr(dll, f"host_{name}")
        fn.argtypes = [ctypes.c_uint, ctypes.c_uint] + [ct for _, ct in params]
        fn.restype = None
    return dll


def launch(dll: ctypes.CDLL, name: str, grid: int, block: int, *args) -> None:
    """Runs kernel ``name``; numpy arrays are passed as pointers."""
    conv = [a.ctypes.data if isinstance(a, np.ndarray) else a for a in args]
    getattr(dll, f"host_{name}")(grid, block, *conv)

"""Finds the CUDA kernel sources (``kernels/*.cu``, ``*.cuh``, ``*.h``) and builds what NVRTC compiles.

An installed wheel ships them as the regular package ``graphvar.kernels`` (``pyproject.toml`` maps
``kernels/`` there); a source checkout (editable install, or ``pythonpath = .``) has ``<repo>/kernels``.
NVRTC needs a real directory for ``-I``: when the package is not on disk (a zip import), its files are
copied once to a temporary directory.
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import importlib.resources
import pathlib
import shutil
import tempfile
from typing import Any

_MARKER = "philox.cuh"
SUFFIXES = (".cu", ".cuh", ".h")


@functools.lru_cache(maxsize=1)
def kernel_dir() -> pathlib.Path:
    """The directory holding the kernel sources (pass it to NVRTC as ``-I``).

    Raises:
      FileNotFoundError: neither a checkout's ``kernels/`` nor the ``graphvar.kernels`` package exists.

    Example:
      >>> (kernel_dir() / "init.cu").is_file()
      True
    """
    checkout = pathlib.Path(__file__).resolve().parents[2] / "kernels"
    if (checkout / _MARKER).is_file():  # the sources next to this graphvar (an editable install may map elsewhere)
        return checkout
    try:
        package = importlib.resources.files("graphvar.kernels")
    except ModuleNotFoundError:
        package = None
    if package is not None and package.joinpath(_MARKER).is_file():
        return package if isinstance(package, pathlib.Path) else _materialize(package)
    raise FileNotFoundError(f"CUDA kernel sources not found (looked in package graphvar.kernels and {checkout})")


def _materialize(package: Any) -> pathlib.Path:
    """Copies the kernel sources of a package that is not a directory (a zip) to a temporary one."""
    out = pathlib.Path(tempfile.mkdtemp(prefix="graphvar-kernels-"))
    atexit.register(shutil.rmtree, out, ignore_errors=True)
    for entry in package.iterdir():
        if entry.name.endswith(SUFFIXES):
            (out / entry.name).write_bytes(entry.read_bytes())
    return out


def source_names() -> list[str]:
    """The names of every kernel source file, sorted (``["assign.cu", "host_shim.h", ...]``)."""
    return sorted(p.name for p in kernel_dir().iterdir() if p.suffix in SUFFIXES)


def read_kernel(name: str) -> str:
    """The text of kernel source ``name`` (e.g. ``"init.cu"``).

    Raises:
      FileNotFoundError: no such kernel source.
    """
    path = kernel_dir() / name
    if path.parent != kernel_dir() or not path.is_file():
        raise FileNotFoundError(f"no kernel source named {name!r} in {kernel_dir()}")
    return path.read_text(encoding="utf-8")


def module_source(filename: str) -> tuple[str, tuple[str, ...]]:
    """The (code, NVRTC options) that ``cupy.RawModule`` compiles for kernel source ``filename``.

    The code starts with a ``#define`` of the SHA-256 of every kernel source, so CuPy's on-disk
    cache (keyed on the code text) never serves a build made with old headers.

    Raises:
      FileNotFoundError: no such kernel source.
    """
    digest = hashlib.sha256()
    for name in source_names():
        digest.update(name.encode() + b"\0" + (kernel_dir() / name).read_bytes())
    code = f'#define GRAPHVAR_KERNELS_SHA256 "{digest.hexdigest()}"\n' + read_kernel(filename)
    return code, ("--std=c++17", f"-I{kernel_dir()}")

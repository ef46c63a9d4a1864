"""Finds the CUDA kernel sources (``kernels/*.cu``, ``*.cuh``, ``*.h``) for ``cupy.RawModule``.

In a source checkout they are ``<repo>/kernels``; an installed wheel ships the same directory
as the package ``graphvar.kernels`` (see ``pyproject.toml``).
"""

from __future__ import annotations

import importlib.resources
import pathlib

_MARKER = "philox.cuh"


def kernel_dir() -> pathlib.Path:
    """The directory holding the kernel sources (pass it to NVRTC as ``-I``).

    Raises:
      FileNotFoundError: neither a checkout's ``kernels/`` nor the ``graphvar.kernels`` package exists.

    Example:
      >>> (kernel_dir() / "init.cu").is_file()
      True
    """
    checkout = pathlib.Path(__file__).resolve().parents[2] / "kernels"
    if (checkout / _MARKER).is_file():
        return checkout
    try:
        installed = pathlib.Path(str(importlib.resources.files("graphvar.kernels")))
    except (ModuleNotFoundError, TypeError) as e:
        raise FileNotFoundError(f"CUDA kernel sources not found (looked in {checkout} and graphvar.kernels)") from e
    if not (installed / _MARKER).is_file():
        raise FileNotFoundError(f"CUDA kernel sources not found (looked in {checkout} and {installed})")
    return installed


def read_kernel(name: str) -> str:
    """The text of kernel source ``name`` (e.g. ``"init.cu"``).

    Raises:
      FileNotFoundError: no such kernel source.
    """
    path = kernel_dir() / name
    if path.parent != kernel_dir() or not path.is_file():
        raise FileNotFoundError(f"no kernel source named {name!r} in {kernel_dir()}")
    return path.read_text(encoding="utf-8")

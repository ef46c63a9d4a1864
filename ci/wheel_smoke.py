"""Run by ci/check_wheel.sh with a fresh venv's Python, outside the checkout, after installing the wheel.

    python ci/wheel_smoke.py CHECKOUT [LIBNVRTC]

Checks that graphvar comes from the venv (not the checkout) with every module of the checkout's
graphvar/ (a subpackage missing from pyproject.toml's list would be left out), runs a tiny Session, finds
every kernel source through the installed package (the same files, byte for byte, as the checkout's
kernels/) and, given libnvrtc, compiles every ``*.cu`` with NVRTC as cupy.RawModule would.
"""

from __future__ import annotations

import ctypes
import pathlib
import sys

import nvrtc  # ci/nvrtc.py: this script's directory is sys.path[0]


def main(checkout: str, libnvrtc: str | None) -> None:
    import graphvar as tf
    from graphvar.backends import kernels_src

    where = pathlib.Path(tf.__file__).resolve()
    if not where.is_relative_to(pathlib.Path(sys.prefix).resolve()):
        sys.exit(f"wheel_smoke: graphvar was imported from {where}, not from the venv {sys.prefix}")
    source = pathlib.Path(checkout) / "graphvar"
    missing = [
        str(p.relative_to(source)) for p in source.rglob("*.py") if not (where.parent / p.relative_to(source)).is_file()
    ]
    if missing:
        sys.exit(f"wheel_smoke: the wheel lacks {sorted(missing)} (add the package to pyproject.toml)")
    with tf.Session() as sess:
        w = tf.Variable(tf.random_uniform([3, 4], seed=1))
        sess.run(tf.global_variables_initializer())
        total = sess.run(tf.reduce_sum(w) + tf.constant(1.0))
    print(f"wheel_smoke: graphvar {where.parent}: a Session ran (sum + 1 = {total:.4f})")

    kdir, checkout_kernels = kernels_src.kernel_dir(), pathlib.Path(checkout) / "kernels"
    expected = sorted(p.name for p in checkout_kernels.iterdir() if p.suffix in kernels_src.SUFFIXES)
    if kernels_src.source_names() != expected:
        sys.exit(f"wheel_smoke: the wheel ships {kernels_src.source_names()}, the checkout has {expected}")
    for name in expected:
        if kernels_src.read_kernel(name) != (checkout_kernels / name).read_text(encoding="utf-8"):
            sys.exit(f"wheel_smoke: {name} in the wheel differs from the checkout's")
    print(f"wheel_smoke: {len(expected)} kernel sources found in {kdir}")

    if libnvrtc is None:
        print("wheel_smoke: no libnvrtc given, NVRTC compile skipped")
        return
    lib = ctypes.CDLL(libnvrtc)
    for name in (n for n in expected if n.endswith(".cu")):
        code, options = kernels_src.module_source(name)
        ptx = nvrtc.compile_ptx(lib, code, options + ("-arch=compute_80", *nvrtc.CUPY_OPTIONS))
        print(f"wheel_smoke: NVRTC compiled {name} from the installed package: {len(nvrtc.entries(ptx))} kernels")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None)

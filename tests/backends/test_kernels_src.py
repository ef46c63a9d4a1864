"""Kernel sources found as a user's install has them: a directory, or a package that is not one (a zip)."""

from __future__ import annotations

import pathlib
import zipfile

from graphvar.backends import kernels_src


def test_kernel_dir_is_a_real_directory_with_every_source():
    kdir = kernels_src.kernel_dir()
    assert isinstance(kdir, pathlib.Path) and kdir.is_dir()
    assert {"init.cu", "assign.cu", "philox.cuh", "host_shim.h"} <= set(kernels_src.source_names())
    assert "__init__.py" not in kernels_src.source_names()


def test_a_zipped_package_is_copied_to_a_directory_nvrtc_can_include(tmp_path):
    archive = tmp_path / "site.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for name in kernels_src.source_names() + ["__init__.py"]:
            z.writestr(f"graphvar/kernels/{name}", (kernels_src.kernel_dir() / name).read_bytes())
    package = zipfile.Path(archive, "graphvar/kernels/")
    out = kernels_src._materialize(package)
    assert sorted(p.name for p in out.iterdir()) == kernels_src.source_names()
    assert (out / "init.cu").read_bytes() == (kernels_src.kernel_dir() / "init.cu").read_bytes()

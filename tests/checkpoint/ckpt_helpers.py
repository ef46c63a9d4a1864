"""Shared helpers for checkpoint tests: the TF-made fixtures and their expected values.

(A plain module rather than conftest.py so that tests/train can import it too.)
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures", "tf_checkpoints")


def _load_maker():
    path = os.path.join(os.path.dirname(__file__), "..", "fixtures", "make_tf_fixtures.py")
    spec = importlib.util.spec_from_file_location("make_tf_fixtures", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


maker = _load_maker()


def manifest() -> dict:
    with open(os.path.join(FIXTURES, "manifest.json")) as f:
        return json.load(f)


def copy_fixture(rel_prefix: str, dest_dir) -> str:
    """Copies a fixture checkpoint's files (by relative prefix) into dest_dir; returns the new prefix."""
    src_dir = os.path.join(FIXTURES, os.path.dirname(rel_prefix))
    base = os.path.basename(rel_prefix)
    for name in os.listdir(src_dir):
        if name.startswith(base + "."):
            shutil.copy(os.path.join(src_dir, name), os.path.join(str(dest_dir), name))
    return os.path.join(str(dest_dir), base)


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


DATA = ".data-00000-of-00001"


def valid_files(prefix: str, values: dict) -> dict[str, dict[str, bytes]]:
    """Writes `values` at `prefix` in both formats; returns {kind: {suffix: file bytes}}."""
    from graphvar.checkpoint import BundleWriter, SafetensorsWriter

    with BundleWriter(prefix) as w:
        for k, v in values.items():
            w.add(k, v)
        w.finish()
    with SafetensorsWriter(prefix, [(k, v.dtype, v.shape) for k, v in values.items()]) as w:
        for k, v in values.items():
            w.add(k, v)
        w.finish()

    def read(suffix: str) -> bytes:
        with open(prefix + suffix, "rb") as f:
            return f.read()

    return {
        "bundle": {".index": read(".index"), DATA: read(DATA)},
        "safetensors": {".safetensors": read(".safetensors")},
    }


class FullDiskOS:
    """Stands in for the `os` module of graphvar.checkpoint.streaming: every write fails with ENOSPC."""

    def __getattr__(self, name: str):
        return getattr(os, name)

    @staticmethod
    def write(fd: int, data) -> int:
        raise OSError(28, "No space left on device")

"""Checkpoint file formats: TF's V2 tensor bundle (default) and safetensors.

``open_reader(path)`` opens either, whichever the path names.
"""

from __future__ import annotations

import os
import re

from graphvar import errors
from graphvar.checkpoint.atomic import cleanup_stale_temps
from graphvar.checkpoint.bundle import BundleReader, BundleWriter
from graphvar.checkpoint.files import exists
from graphvar.checkpoint.safetensors import SafetensorsReader, SafetensorsWriter, is_safetensors_file

__all__ = [
    "BundleReader",
    "BundleWriter",
    "SafetensorsReader",
    "SafetensorsWriter",
    "cleanup_stale_temps",
    "open_reader",
    "resolve",
]

_DATA_RE = re.compile(r"^(.*)\.data-\d{5}-of-\d{5}$")


def resolve(path: str) -> tuple[str, str] | None:
    """Returns ("bundle", prefix) or ("safetensors", file) for ``path``, or None if nothing matches.

    Accepts a prefix ``P`` (``P.index`` or ``P.safetensors`` must exist), ``P.index``,
    ``P.data-00000-of-00001``, ``P.safetensors``, or any file that is itself safetensors.
    Something at one of those names that is not a readable file (a directory, FIFO, symlink
    loop) counts as a match, so that opening it says what is wrong with it.
    """
    if path.endswith(".index") and exists(path):
        return "bundle", path[: -len(".index")]
    m = _DATA_RE.match(path)
    if m and exists(path) and exists(m.group(1) + ".index"):
        return "bundle", m.group(1)
    if exists(path + ".index"):
        return "bundle", path
    if path.endswith(".safetensors") and exists(path):
        return "safetensors", path
    if exists(path + ".safetensors"):
        return "safetensors", path + ".safetensors"
    if os.path.isfile(path) and is_safetensors_file(path):
        return "safetensors", path
    return None


def open_reader(path: str, hold_files: bool = False) -> BundleReader | SafetensorsReader:
    """Opens the checkpoint that ``path`` names, detecting its format.

    Args:
      path: a prefix or a file of the checkpoint.
      hold_files: keep the data files open until ``close()`` (one consistent version for a
        whole restore); otherwise each read opens and closes them.

    Example:
      >>> with open_reader("/tmp/model.ckpt-10") as r:
      ...     w = r.get_tensor("weights")

    Raises:
      NotFoundError: nothing matches (TF's wording).
      DataLossError: the files are damaged.
      FailedPreconditionError: a directory, FIFO or device where a file should be.
    """
    found = resolve(path)
    if found is None:
        raise errors.NotFoundError(
            None, None, f"Unsuccessful TensorSliceReader constructor: Failed to find any matching files for {path}"
        )
    kind, where = found
    return BundleReader(where, hold_files) if kind == "bundle" else SafetensorsReader(where, hold_files)

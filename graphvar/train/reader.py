"""TF's checkpoint reading helpers: ``tf.train.NewCheckpointReader``, ``load_checkpoint``,
``list_variables``, ``load_variable``, over bundle and safetensors files alike."""

from __future__ import annotations

import os

import numpy as np

from graphvar import dtypes
from graphvar.checkpoint import open_reader
from graphvar.train.checkpoint_state import latest_checkpoint

__all__ = ["CheckpointReader", "NewCheckpointReader", "list_variables", "load_checkpoint", "load_variable"]


class CheckpointReader:
    """Reads the tensors of one checkpoint (TF's ``py_checkpoint_reader.CheckpointReader``).

    Raises:
      NotFoundError: no checkpoint matches ``filepattern``.
      DataLossError: the checkpoint is damaged.
    """

    def __init__(self, filepattern: str) -> None:
        self._reader = open_reader(filepattern)

    def has_tensor(self, name: str) -> bool:
        return self._reader.has_tensor(name)

    def get_tensor(self, name: str) -> np.ndarray:
        """The tensor's value; NotFoundError naming the key if it is absent."""
        return self._reader.get_tensor(name)

    def get_variable_to_shape_map(self) -> dict[str, list[int]]:
        return {k: list(self._reader.shape(k)) for k in self._reader.keys()}

    def get_variable_to_dtype_map(self) -> dict[str, dtypes.DType]:
        return {k: self._reader.dtype(k) for k in self._reader.keys()}

    def debug_string(self) -> bytes:
        """One line per tensor, ``name (DT_FLOAT) [2,3]``, as bytes like TF's."""
        lines = []
        for k in self._reader.keys():
            shape = ",".join(str(d) for d in self._reader.shape(k))
            lines.append(f"{k} (DT_{self._reader.dtype(k).name.upper()}) [{shape}]\n")
        return "".join(lines).encode()

    def close(self) -> None:
        self._reader.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def NewCheckpointReader(filepattern: str) -> CheckpointReader:  # noqa: N802 - TF's name
    """Opens a checkpoint by prefix (or index / data / safetensors file name)."""
    return CheckpointReader(filepattern)


def _checkpoint_path(ckpt_dir_or_file: str) -> str:
    if os.path.isdir(ckpt_dir_or_file):
        latest = latest_checkpoint(ckpt_dir_or_file)
        if latest is None:
            raise ValueError(f"Couldn't find 'checkpoint' file or checkpoints in given directory {ckpt_dir_or_file}")
        return latest
    return ckpt_dir_or_file


def load_checkpoint(ckpt_dir_or_file: str) -> CheckpointReader:
    """A reader for a checkpoint prefix, or for the latest checkpoint of a directory.

    Raises:
      ValueError: a directory with no checkpoint.
      NotFoundError: no checkpoint matches.
    """
    return CheckpointReader(_checkpoint_path(ckpt_dir_or_file))


def list_variables(ckpt_dir_or_file: str) -> list[tuple[str, list[int]]]:
    """(name, shape) of every tensor, sorted by name."""
    with load_checkpoint(ckpt_dir_or_file) as reader:
        shapes = reader.get_variable_to_shape_map()
    return [(name, shapes[name]) for name in sorted(shapes)]


def load_variable(ckpt_dir_or_file: str, name: str) -> np.ndarray:
    """The value of tensor ``name`` (``"name:0"`` accepted, as in TF)."""
    if name.endswith(":0"):
        name = name[:-2]
    with load_checkpoint(ckpt_dir_or_file) as reader:
        return reader.get_tensor(name)

"""``tf.gfile``: TF1's file API on local paths (os, shutil, glob)."""

from __future__ import annotations

import glob as _glob
import os
import shutil
from typing import IO, Any

from graphvar import errors


def _not_found(path: str, e: OSError) -> errors.NotFoundError:
    return errors.NotFoundError(None, None, f"{path}; {e.strerror or e}")


def Exists(filename: str) -> bool:  # noqa: N802 - TF's names
    return os.path.exists(filename)


def IsDirectory(dirname: str) -> bool:  # noqa: N802
    return os.path.isdir(dirname)


def MakeDirs(dirname: str) -> None:  # noqa: N802
    """Creates dirname and its parents (no error when it exists)."""
    os.makedirs(dirname, exist_ok=True)


def MkDir(dirname: str) -> None:  # noqa: N802
    try:
        os.mkdir(dirname)
    except FileExistsError as e:
        raise errors.AlreadyExistsError(None, None, f"{dirname}; File exists") from e


def DeleteRecursively(dirname: str) -> None:  # noqa: N802
    """Removes a directory tree (NotFoundError when missing)."""
    try:
        shutil.rmtree(dirname) if os.path.isdir(dirname) else os.remove(dirname)
    except OSError as e:
        raise _not_found(dirname, e) from e


def Remove(filename: str) -> None:  # noqa: N802
    try:
        os.remove(filename)
    except OSError as e:
        raise _not_found(filename, e) from e


def Rename(oldname: str, newname: str, overwrite: bool = False) -> None:  # noqa: N802
    """Renames; AlreadyExistsError when newname exists and overwrite is False."""
    if not overwrite and os.path.exists(newname):
        raise errors.AlreadyExistsError(None, None, f"{newname}; File exists")
    try:
        os.replace(oldname, newname)
    except OSError as e:
        raise _not_found(oldname, e) from e


def Copy(oldpath: str, newpath: str, overwrite: bool = False) -> None:  # noqa: N802
    if not overwrite and os.path.exists(newpath):
        raise errors.AlreadyExistsError(None, None, f"{newpath}; File exists")
    try:
        shutil.copyfile(oldpath, newpath)
    except OSError as e:
        raise _not_found(oldpath, e) from e


def Glob(filename: str) -> list[str]:  # noqa: N802
    return sorted(_glob.glob(filename))


def ListDirectory(dirname: str) -> list[str]:  # noqa: N802
    """The entries of dirname (names, not paths); NotFoundError when it is not a directory."""
    try:
        return sorted(os.listdir(dirname))
    except OSError as e:
        raise _not_found(dirname, e) from e


def Walk(top: str, in_order: bool = True) -> Any:  # noqa: N802
    yield from os.walk(top, topdown=in_order)


class FileStatistics:
    def __init__(self, length: int, mtime_nsec: int, is_directory: bool) -> None:
        self.length, self.mtime_nsec, self.is_directory = length, mtime_nsec, is_directory


def Stat(filename: str) -> FileStatistics:  # noqa: N802
    try:
        st = os.stat(filename)
    except OSError as e:
        raise _not_found(filename, e) from e
    return FileStatistics(st.st_size, st.st_mtime_ns, os.path.isdir(filename))


class GFile:
    """tf.gfile.GFile(name, mode="r"): a file object (text modes decode UTF-8; "b" modes give bytes).

    Raises:
      NotFoundError: opening a missing file for reading.
    """

    def __init__(self, name: str, mode: str = "r") -> None:
        self.name, self.mode = name, mode
        try:
            self._f: IO[Any] = open(name, mode, **({} if "b" in mode else {"encoding": "utf-8"}))  # noqa: SIM115
        except FileNotFoundError as e:
            raise _not_found(name, e) from e

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._f, attr)

    def __iter__(self) -> Any:
        return iter(self._f)

    def __enter__(self) -> GFile:
        return self

    def __exit__(self, *exc: Any) -> None:
        self._f.close()

    def size(self) -> int:
        return os.path.getsize(self.name)


Open = GFile
FastGFile = GFile

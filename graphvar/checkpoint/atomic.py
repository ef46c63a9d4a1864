"""Temporary file names, durable renames and the cleanup of saves that were killed.

A save writes every file under a temporary name ``FINAL.<pid>.<token>.tmp`` in the final
file's directory, fsyncs it, renames it into place and fsyncs the directory. A process that
dies mid-save leaves only temporaries, which :func:`cleanup_stale_temps` recognises by the
pid in their name.
"""

from __future__ import annotations

import os
import re
import secrets

_TEMP_RE = re.compile(r"\.(\d+)\.[0-9a-f]{16}\.tmp$")


def temp_path(final_path: str) -> str:
    """Returns a fresh temporary name for ``final_path``, in the same directory."""
    return f"{final_path}.{os.getpid()}.{secrets.token_hex(8)}.tmp"


def create_exclusive(path: str) -> int:
    """Opens a new file for writing (fails if it exists); returns its descriptor."""
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o644)


def write_all(fd: int, data: bytes | memoryview) -> None:
    """Writes all of ``data`` to ``fd`` (os.write may write less than asked)."""
    view = memoryview(data)
    while view.nbytes:
        n = os.write(fd, view)
        view = view[n:]


def fsync_dir(directory: str) -> None:
    """Makes renames in ``directory`` durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(directory or ".", os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def remove_quietly(path: str) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


def atomic_write_bytes(path: str, data: bytes) -> None:
    """Writes ``data`` to ``path`` through a temporary file, fsync and rename."""
    tmp = temp_path(path)
    fd = create_exclusive(tmp)
    try:
        write_all(fd, data)
        os.fsync(fd)
        os.close(fd)
        fd = -1
        os.replace(tmp, path)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        remove_quietly(tmp)
        raise
    fsync_dir(os.path.dirname(path))


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def cleanup_stale_temps(directory: str) -> int:
    """Removes the temporary files of saves whose process is no longer alive.

    Args:
      directory: the checkpoint directory.

    Returns:
      The number of files removed. Temporaries of live processes (this one included) are kept.

    Example:
      >>> cleanup_stale_temps("/tmp/train")
      0
    """
    removed = 0
    for entry in os.scandir(directory):
        m = _TEMP_RE.search(entry.name)
        if m and entry.is_file(follow_symlinks=False) and not _pid_alive(int(m.group(1))):
            remove_quietly(entry.path)
            removed += 1
    return removed

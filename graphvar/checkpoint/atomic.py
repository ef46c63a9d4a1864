"""Temporary file names, durable renames and the cleanup of saves that were killed.

A save writes every file under a temporary name in the final file's directory, fsyncs it,
renames it into place and fsyncs the directory. A temporary's name says who owns it::

    FINAL.gvtmp-<machine>-<pid>-<save id>.tmp[.index | .data-0000K-of-0000N]

``machine`` is a hash of this kernel's boot id and pid namespace (so two hosts, or two
containers, sharing a volume never have the same one) and ``save id`` is 64 random bits.
:func:`cleanup_stale_temps` deletes a temporary only when it is provably dead: made on this
machine by a process id that no longer exists. Another host's or container's temporaries, and
names it cannot parse, are left alone.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import socket

# A temporary prefix (a shard bundle of a sharded save) owns its ".index" and ".data-*" files too.
_TEMP_RE = re.compile(r"\.gvtmp-([0-9a-f]{12})-(\d+)-[0-9a-f]{16}\.tmp(?:\.index|\.data-\d{5}-of-\d{5})?$")


def _read_quietly(path: str) -> str:
    try:
        with open(path, "rb") as f:
            return f.read(256).decode(errors="replace").strip()
    except OSError:
        return ""


def _machine_tag() -> str:
    """12 hex digits naming this kernel boot and pid namespace (the hostname where /proc is absent)."""
    boot = _read_quietly("/proc/sys/kernel/random/boot_id") or socket.gethostname()
    try:
        st = os.stat("/proc/self/ns/pid")
        pidns = f"{st.st_dev}:{st.st_ino}"
    except OSError:
        pidns = ""
    return hashlib.sha256(f"{boot}|{pidns}".encode()).hexdigest()[:12]


_MACHINE = _machine_tag()


def temp_path(final_path: str) -> str:
    """Returns a fresh temporary name for ``final_path``, in the same directory."""
    return f"{final_path}.gvtmp-{_MACHINE}-{os.getpid()}-{secrets.token_hex(8)}.tmp"


def temp_owner(name: str) -> tuple[str, int] | None:
    """(machine tag, pid) of a temporary file's name, or None if it is not one of ours."""
    m = _TEMP_RE.search(name)
    return (m.group(1), int(m.group(2))) if m else None


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


def atomic_write_bytes(path: str, data: bytes, durable: bool = True) -> None:
    """Writes ``data`` to ``path`` through a temporary file, fsync and rename (no fsyncs unless ``durable``)."""
    tmp = temp_path(path)
    fd = create_exclusive(tmp)
    try:
        write_all(fd, data)
        if durable:
            os.fsync(fd)
        os.close(fd)
        fd = -1
        os.replace(tmp, path)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        remove_quietly(tmp)
        raise
    if durable:
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
    """Removes the temporary files of saves that provably died: made on this machine (same boot
    and pid namespace) by a process that no longer exists.

    Args:
      directory: the checkpoint directory.

    Returns:
      The number of files removed. Temporaries of live processes (this one included), of other
      hosts or containers, and unrecognised names are kept.

    Example:
      >>> cleanup_stale_temps("/tmp/train")
      0
    """
    removed = 0
    for entry in os.scandir(directory):
        owner = temp_owner(entry.name)
        if owner is None or owner[0] != _MACHINE or owner[1] == os.getpid() or _pid_alive(owner[1]):
            continue
        if entry.is_file(follow_symlinks=False):
            remove_quietly(entry.path)
            removed += 1
    return removed

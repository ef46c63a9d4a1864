"""Opening checkpoint files safely: OSErrors as TF's error classes, and no surprises from odd files.

Every open is non-blocking (a FIFO cannot hang a reader) and is followed by a check that the
file is a regular file (a directory or a device is refused, naming the file). An ``OSError``
becomes the error class TensorFlow's ``errno`` mapping gives it (``ENOENT`` NotFoundError,
``EISDIR`` / ``ENOTDIR`` FailedPreconditionError, ``EACCES`` PermissionDeniedError, ``EIO`` /
``ELOOP`` UnknownError, ...), with the file and the errno text in the message.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import stat

from graphvar import errors

# TensorFlow's ErrnoToCode (tsl/platform/default/posix_file_system / errors.cc), by error class.
_ERRNO_CLASSES: dict[int, type] = {}
for _cls, _names in (
    (errors.InvalidArgumentError, "EINVAL ENAMETOOLONG E2BIG EDOM EFAULT EILSEQ ENOTTY ESPIPE"),
    (errors.NotFoundError, "ENODEV ENOENT ENXIO ESRCH"),
    (errors.AlreadyExistsError, "EEXIST"),
    (errors.PermissionDeniedError, "EPERM EACCES EROFS"),
    (errors.FailedPreconditionError, "ENOTEMPTY EISDIR ENOTDIR EBADF EBUSY ETXTBSY"),
    (errors.ResourceExhaustedError, "ENOSPC EMFILE EMLINK ENFILE ENOBUFS ENOMEM EDQUOT"),
    (errors.OutOfRangeError, "EFBIG EOVERFLOW ERANGE"),
    (errors.UnimplementedError, "ENOSYS ENOTSUP EXDEV"),
    (errors.UnavailableError, "EAGAIN EINTR ENOLCK"),
    (errors.AbortedError, "EDEADLK ESTALE"),
):
    for _name in _names.split():
        if hasattr(errno, _name):
            _ERRNO_CLASSES[getattr(errno, _name)] = _cls


def os_error(e: OSError, path: str, what: str = "") -> errors.OpError:
    """The TF error for ``e`` (UnknownError for errnos TF does not map, such as EIO and ELOOP)."""
    cls = _ERRNO_CLASSES.get(e.errno, errors.UnknownError)
    detail = e.strerror or str(e)
    return cls(None, None, f"{path}: {detail}{' ' + what if what else ''}")


@dataclasses.dataclass(frozen=True)
class FileId:
    """What identifies one version of a file: a rename over the path gives another inode."""

    dev: int
    ino: int
    size: int

    @classmethod
    def of(cls, st: os.stat_result) -> FileId:
        return cls(st.st_dev, st.st_ino, st.st_size)


def open_file(path: str) -> tuple[int, FileId]:
    """Opens a regular file for reading without blocking; returns (fd, its FileId).

    Raises:
      NotFoundError: it does not exist.
      FailedPreconditionError: it is a directory, FIFO, socket or device.
      OpError: the class TF maps the OSError's errno to, naming the file.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as e:
        raise os_error(e, path) from e
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = "a directory" if stat.S_ISDIR(st.st_mode) else "not a regular file (FIFO, socket or device)"
            raise errors.FailedPreconditionError(None, None, f"{path}: is {kind}; a checkpoint file must be a file")
    except BaseException:
        os.close(fd)
        raise
    return fd, FileId.of(st)


def exists(path: str) -> bool:
    """True if something is at ``path`` (a dangling or looping symlink included), so that opening it
    reports what is wrong with it instead of "not found"."""
    return os.path.lexists(path)

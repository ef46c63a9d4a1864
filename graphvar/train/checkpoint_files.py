"""The files of one checkpoint of a Saver's format: finding them and deleting them on rotation.

Rotation (``max_to_keep``) deletes only what the Saver's own format writes (``P.index`` and
``P.data-*`` for "tf", ``P.safetensors`` for "safetensors"; a user's export of the other format
beside it is left alone) and only under the directory the Saver is saving into, so a tampered
state file adopted through ``recover_last_checkpoints`` cannot make it delete files elsewhere.
"""

from __future__ import annotations

import glob
import logging
import os

from graphvar.checkpoint.safetensors import safetensors_path

log = logging.getLogger("graphvar")


def checkpoint_files(prefix: str, fmt: str) -> list[str]:
    """The files of checkpoint ``prefix`` in format ``fmt`` that exist, the one that makes it visible first."""
    if fmt == "safetensors":
        paths = [safetensors_path(prefix)]
    else:
        paths = [prefix + ".index"] + sorted(glob.glob(glob.escape(prefix) + ".data-?????-of-?????"))
    return [p for p in paths if os.path.lexists(p)]


def checkpoint_mtime(prefix: str, fmt: str) -> float | None:
    """The modification time of a ``fmt`` checkpoint (its index or safetensors file), or None if absent."""
    path = safetensors_path(prefix) if fmt == "safetensors" else prefix + ".index"
    try:
        return os.path.getmtime(path)
    except OSError:
        return None


def _inside(path: str, directory: str) -> bool:
    return os.path.realpath(os.path.dirname(os.path.abspath(path))) == os.path.realpath(directory or ".")


def delete_checkpoint(prefix: str, fmt: str, directory: str) -> None:
    """Removes checkpoint ``prefix``'s ``fmt`` files, the index first so it never looks half there.

    A prefix outside ``directory`` is refused with a warning; OS errors are logged.
    """
    if not _inside(prefix, directory):
        log.warning("Not deleting checkpoint %s: it is not in the checkpoint directory %s", prefix, directory)
        return
    for path in checkpoint_files(prefix, fmt):
        try:
            os.remove(path)
        except FileNotFoundError:
            pass
        except OSError as e:
            log.warning("Ignoring: could not delete %s: %s", path, e)

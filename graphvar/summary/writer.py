"""``tf.summary.FileWriter``: Event protos in TFRecord files, written by a background thread.

The caller serializes each event and puts it on a bounded queue (``max_queue``); a writer
thread appends it to ``<logdir>/events.out.tfevents.<seconds>.<hostname><suffix>``, flushing
every ``flush_secs``. The first record is the ``file_version`` event TensorBoard looks for.
``flush()`` and ``close()`` wait until everything added before them is on disk; writers still
open at interpreter exit are closed, so a normal exit loses no event.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import socket
import threading
import time
import weakref
from typing import Any

from graphvar.summary.record import encode_record

log = logging.getLogger("graphvar")
FILE_VERSION = "brain.Event:2"
_open_writers: weakref.WeakSet = weakref.WeakSet()


def _pb2() -> Any:
    from graphvar.proto import event_pb2

    return event_pb2


class EventFileWriter:
    """Appends serialized Events to one new event file from a writer thread."""

    def __init__(self, logdir: str, max_queue: int = 10, flush_secs: float = 120, filename_suffix: str | None = None):
        os.makedirs(logdir, exist_ok=True)
        self._logdir, self._flush_secs = str(logdir), float(flush_secs)
        self._path = _new_event_path(self._logdir, filename_suffix or "")
        self._file = open(self._path, "xb")  # noqa: SIM115 - closed by the writer thread
        self._queue: queue.Queue = queue.Queue(max(1, int(max_queue)))
        self._closed = False
        self._error: BaseException | None = None
        version = _pb2().Event(wall_time=time.time(), file_version=FILE_VERSION)
        self._file.write(encode_record(version.SerializeToString()))
        self._file.flush()  # TF writes the version record at once: a new file is recognizable
        self._thread = threading.Thread(target=self._run, name=f"graphvar-events-{self._path}", daemon=True)
        self._thread.start()
        _open_writers.add(self)

    @property
    def path(self) -> str:
        return self._path

    def get_logdir(self) -> str:
        return self._logdir

    def add_event(self, event: Any) -> None:
        """Queues `event` (an Event proto, or its serialized bytes); blocks only while the queue is full."""
        if self._closed:
            log.warning("graphvar: FileWriter for %s is closed; event dropped", self._logdir)
            return
        self._raise_error()
        data = event if isinstance(event, bytes) else event.SerializeToString()
        self._queue.put(encode_record(data))

    def flush(self) -> None:
        """Returns once every event added so far is written and flushed to the OS."""
        if self._closed:
            return
        done = threading.Event()
        self._queue.put(done)
        done.wait()
        self._raise_error()

    def close(self) -> None:
        if self._closed:
            return
        self.flush()
        self._closed = True
        self._queue.put(None)
        self._thread.join()
        self._raise_error()

    def _run(self) -> None:
        next_flush = time.monotonic() + self._flush_secs
        while True:
            try:
                item = self._queue.get(timeout=max(0.0, next_flush - time.monotonic()))
            except queue.Empty:
                item = "flush"
            try:
                if item is None:
                    self._file.close()
                    return
                if isinstance(item, bytes):
                    self._file.write(item)
                else:  # a flush request (threading.Event) or flush_secs elapsed
                    self._file.flush()
                    next_flush = time.monotonic() + self._flush_secs
            except OSError as e:  # reported to the next caller; later events are dropped
                self._error = e
            finally:
                if isinstance(item, threading.Event):
                    item.set()

    def _raise_error(self) -> None:
        if self._error is not None:
            e, self._error = self._error, None
            raise OSError(f"writing events to {self._path} failed: {e}") from e


def _new_event_path(logdir: str, suffix: str) -> str:
    base = os.path.join(logdir, f"events.out.tfevents.{int(time.time()):010d}.{socket.gethostname()}")
    path, n = base + suffix, 0
    while os.path.exists(path):  # two writers in one second: TF would overwrite, we keep both
        n += 1
        path = f"{base}.{n}{suffix}"
    return path


@atexit.register
def _close_open_writers() -> None:
    for w in list(_open_writers):
        try:
            w.close()
        except OSError as e:
            log.error("graphvar: %s", e)

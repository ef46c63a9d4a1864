"""``tf.train.Coordinator`` and ``tf.train.start_queue_runners`` (TF1's training/coordinator.py, queue_runner).

graphvar has no queues (no FIFOQueue, no QueueRunner): input comes from feed_dict, so
``start_queue_runners`` starts nothing and returns []. The Coordinator itself is TF's: threads
poll ``should_stop()``, any of them may ``request_stop(exception)``, and ``join`` re-raises the
first exception reported.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

from graphvar import errors
from graphvar import tf_logging as logging


class Coordinator:
    """Coordinates the termination of a set of threads.

    Args:
      clean_stop_exception_types: exceptions that request a stop without being reported
        (default: OutOfRangeError, as TF).

    Example:
      >>> coord = tf.train.Coordinator()
      >>> threads = tf.train.start_queue_runners(sess=sess, coord=coord)  # [] in graphvar
      >>> while not coord.should_stop():
      ...     sess.run(train_op)
      >>> coord.request_stop(); coord.join(threads)
    """

    def __init__(self, clean_stop_exception_types: Any = None) -> None:
        if clean_stop_exception_types is None:
            clean_stop_exception_types = (errors.OutOfRangeError,)
        self._clean_stop_exception_types = tuple(clean_stop_exception_types)
        self._lock = threading.Lock()
        self._stop_event = threading.Event()
        self._exc_info_to_raise: Any = None
        self._joined = False
        self._registered_threads: set[threading.Thread] = set()

    def request_stop(self, ex: Any = None) -> None:
        """Asks every thread to stop; `ex` (an exception or sys.exc_info() triple) is re-raised by join()."""
        with self._lock:
            if self._joined:
                return
            if ex is not None and not self._stop_event.is_set():
                exc = ex[1] if isinstance(ex, tuple) else ex
                if not isinstance(exc, self._clean_stop_exception_types):
                    self._exc_info_to_raise = ex if isinstance(ex, tuple) else (type(ex), ex, ex.__traceback__)
                    logging.info("Error reported to Coordinator: %s", exc)
            self._stop_event.set()

    def clear_stop(self) -> None:
        """Clears the stop flag and the reported exception, so the coordinator can be reused."""
        with self._lock:
            self._joined = False
            self._exc_info_to_raise = None
            self._stop_event.clear()

    def should_stop(self) -> bool:
        return self._stop_event.is_set()

    @contextlib.contextmanager
    def stop_on_exception(self) -> Iterator[None]:
        """A context manager that reports an exception raised in its body through request_stop."""
        try:
            yield
        except Exception:  # noqa: BLE001 - reported to the coordinator, re-raised by join
            self.request_stop(ex=sys.exc_info())

    def wait_for_stop(self, timeout: float | None = None) -> bool:
        """Waits until a stop is requested (or `timeout` seconds); returns whether one was."""
        return self._stop_event.wait(timeout)

    def register_thread(self, thread: threading.Thread) -> None:
        with self._lock:
            self._registered_threads.add(thread)

    def join(self, threads: Any = None, stop_grace_period_secs: float = 120, ignore_live_threads: bool = False) -> None:
        """Waits for `threads` (and the registered ones) to end, then re-raises a reported exception.

        Raises:
          RuntimeError: threads still running stop_grace_period_secs after the stop request.
        """
        with self._lock:
            threads = set(threads or []) | self._registered_threads
        while any(t.is_alive() for t in threads) and not self.wait_for_stop(1.0):
            pass
        deadline = time.monotonic() + stop_grace_period_secs
        for t in threads:
            t.join(max(0.0, deadline - time.monotonic()))
        with self._lock:
            self._joined = True
            self._registered_threads = set()
            if self._exc_info_to_raise:
                _, value, tb = self._exc_info_to_raise
                raise value.with_traceback(tb)
        alive = [t.name for t in threads if t.is_alive()]
        if alive and not ignore_live_threads:
            raise RuntimeError(f"Coordinator stopped with threads still running: {' '.join(alive)}")

    @property
    def joined(self) -> bool:
        return self._joined

    def raise_requested_exception(self) -> None:
        with self._lock:
            if self._exc_info_to_raise:
                _, value, tb = self._exc_info_to_raise
                raise value.with_traceback(tb)


def start_queue_runners(sess: Any = None, coord: Any = None, daemon: bool = True, start: bool = True,
                        collection: str = "queue_runners") -> list:  # fmt: skip
    """TF1's start_queue_runners: graphvar has no queues or QueueRunners, so there is nothing to start.

    Returns:
      [] (no threads).
    """
    return []

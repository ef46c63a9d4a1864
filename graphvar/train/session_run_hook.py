"""``tf.train.SessionRunHook``, ``SessionRunArgs``, ``SessionRunContext``, ``SessionRunValues``
(TF1's training/session_run_hook.py): what a MonitoredSession calls around each ``run``."""

from __future__ import annotations

from collections import namedtuple
from typing import Any


class SessionRunHook:
    """Hook into a MonitoredSession: begin() before the graph is finalized, after_create_session(session,
    coord) once the variables are initialized or restored, before_run(run_context) -> SessionRunArgs or None
    and after_run(run_context, run_values) around each run, end(session) when it closes cleanly."""

    def begin(self) -> None:
        pass

    def after_create_session(self, session: Any, coord: Any) -> None:
        pass

    def before_run(self, run_context: Any) -> Any:
        return None

    def after_run(self, run_context: Any, run_values: Any) -> None:
        pass

    def end(self, session: Any) -> None:
        pass


class SessionRunArgs(namedtuple("SessionRunArgs", ["fetches", "feed_dict", "options"])):
    """What a hook adds to a run: more fetches (any structure Session.run takes) and feeds."""

    def __new__(cls, fetches: Any, feed_dict: Any = None, options: Any = None) -> SessionRunArgs:
        return super().__new__(cls, fetches, feed_dict, options)


class SessionRunContext:
    """The run in progress: the caller's SessionRunArgs, the raw Session, and a stop request flag."""

    def __init__(self, original_args: SessionRunArgs, session: Any) -> None:
        self._original_args, self._session, self._stop_requested = original_args, session, False

    @property
    def original_args(self) -> SessionRunArgs:
        return self._original_args

    @property
    def session(self) -> Any:
        return self._session

    @property
    def stop_requested(self) -> bool:
        return self._stop_requested

    def request_stop(self) -> None:
        """Asks the MonitoredSession to stop: should_stop() is True after this run."""
        self._stop_requested = True


class SessionRunValues(namedtuple("SessionRunValues", ["results", "options", "run_metadata"])):
    """What a hook gets back: the values of the fetches its before_run asked for."""

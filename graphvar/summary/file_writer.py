"""``tf.summary.FileWriter`` and ``FileWriterCache``: TF1's event-file API over EventFileWriter."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from graphvar.summary.writer import EventFileWriter

log = logging.getLogger("graphvar")


def _pb2() -> tuple[Any, Any]:
    from graphvar.proto import event_pb2, summary_pb2

    return event_pb2, summary_pb2


def _as_proto(message: Any, cls: Any) -> Any:
    """`message` as graphvar's class: bytes are parsed, other protos (TF's own) re-read from their bytes."""
    if isinstance(message, cls):
        return message
    proto = cls()
    proto.ParseFromString(message if isinstance(message, bytes) else message.SerializeToString())
    return proto


class FileWriter:
    """Writes Summary protos and events to an event file in `logdir`, for TensorBoard.

    Args:
      logdir: directory for the event file (created if needed).
      graph: a Graph (or Session.graph) to write as the first graph event.
      max_queue: events queued before `add_*` waits for the writer thread.
      flush_secs: how often the writer thread flushes the file.
      graph_def: a GraphDef to write (deprecated in TF1; prefer `graph`).
      filename_suffix: appended to the event file's name.
      session: not supported (TF's SummaryWriter resource); must be None.

    Example:
      >>> writer = tf.summary.FileWriter("/tmp/logs", sess.graph)
      >>> summ = sess.run(merged); writer.add_summary(summ, step)
      >>> writer.close()
    """

    def __init__(self, logdir: str, graph: Any = None, max_queue: int = 10, flush_secs: float = 120,
                 graph_def: Any = None, filename_suffix: str | None = None, session: Any = None) -> None:  # fmt: skip
        if session is not None:
            raise NotImplementedError("FileWriter(session=...) (TF's summary writer resource) is not supported")
        self._args = (max_queue, flush_secs, filename_suffix)
        self._writer = EventFileWriter(logdir, max_queue, flush_secs, filename_suffix)
        self._seen_summary_tags: set[str] = set()
        if graph is not None or graph_def is not None:
            self.add_graph(graph, graph_def=graph_def)

    def get_logdir(self) -> str:
        return self._writer.get_logdir()

    def add_summary(self, summary: Any, global_step: Any = None) -> None:
        """Adds a Summary (a proto, or the bytes a summary op returned) at `global_step`.

        A value's plugin metadata is kept only the first time its tag is seen, as TF does.
        """
        _, summary_pb2 = _pb2()
        summary = _as_proto(summary, summary_pb2.Summary)
        if not isinstance(summary, summary_pb2.Summary):
            raise TypeError(f"add_summary expects a Summary or its serialized bytes, got {type(summary).__name__}")
        for value in summary.value:
            if value.HasField("metadata"):
                if value.tag in self._seen_summary_tags:
                    value.ClearField("metadata")
                else:
                    self._seen_summary_tags.add(value.tag)
        event_pb2, _ = _pb2()
        self._add_event(event_pb2.Event(summary=summary), global_step)

    def add_session_log(self, session_log: Any, global_step: Any = None) -> None:
        event_pb2, _ = _pb2()
        self._add_event(event_pb2.Event(session_log=_as_proto(session_log, event_pb2.SessionLog)), global_step)

    def add_graph(self, graph: Any = None, global_step: Any = None, graph_def: Any = None) -> None:
        """Writes the graph TensorBoard shows (a Graph, or a GraphDef proto / its bytes)."""
        if graph is not None and graph_def is not None:
            raise ValueError("Please pass only graph, or graph_def (deprecated), but not both.")
        if graph is not None:
            from graphvar.framework import ops

            if not isinstance(graph, ops.Graph):
                raise TypeError(f"add_graph expects a Graph, got {type(graph).__name__} (pass graph_def=...)")
            graph_def = graph.as_graph_def(add_shapes=True)
        if graph_def is None:
            return
        event_pb2, _ = _pb2()
        data = graph_def if isinstance(graph_def, bytes) else graph_def.SerializeToString()
        self._add_event(event_pb2.Event(graph_def=data), global_step)

    def add_meta_graph(self, meta_graph_def: Any, global_step: Any = None) -> None:
        event_pb2, _ = _pb2()
        data = meta_graph_def if isinstance(meta_graph_def, bytes) else meta_graph_def.SerializeToString()
        self._add_event(event_pb2.Event(meta_graph_def=data), global_step)

    def add_run_metadata(self, run_metadata: Any, tag: str, global_step: Any = None) -> None:
        """Accepted; graphvar's RunMetadata carries no step stats, so nothing is written."""
        log.info("graphvar: FileWriter.add_run_metadata(%r): graphvar records no run metadata; skipped", tag)

    def add_event(self, event: Any) -> None:
        """Adds an Event proto as it is (its wall_time and step are the caller's)."""
        event_pb2, _ = _pb2()
        self._writer.add_event(_as_proto(event, event_pb2.Event))

    def _add_event(self, event: Any, step: Any) -> None:
        event.wall_time = time.time()
        if step is not None:
            event.step = int(step)
        self._writer.add_event(event)

    def flush(self) -> None:
        """Writes every event added so far to disk."""
        self._writer.flush()

    def close(self) -> None:
        """Flushes and closes the file; `reopen()` starts a new one in the same logdir."""
        self._writer.close()

    def reopen(self) -> None:
        if self._writer._closed:
            self._writer = EventFileWriter(self.get_logdir(), *self._args)

    def __enter__(self) -> FileWriter:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class FileWriterCache:
    """One FileWriter per logdir, shared (TF1's ``tf.summary.FileWriterCache``)."""

    _cache: dict[str, FileWriter] = {}
    _lock = threading.Lock()

    @staticmethod
    def get(logdir: str) -> FileWriter:
        with FileWriterCache._lock:
            writer = FileWriterCache._cache.get(logdir)
            if writer is None:
                from graphvar.framework import ops

                writer = FileWriterCache._cache[logdir] = FileWriter(logdir, graph=ops.get_default_graph())
            return writer

    @staticmethod
    def clear() -> None:
        with FileWriterCache._lock:
            for writer in FileWriterCache._cache.values():
                writer.close()
            FileWriterCache._cache.clear()


def summary_iterator(path: str) -> Any:
    """Yields the Event protos of an event file (``tf.train.summary_iterator``).

    Raises:
      errors.NotFoundError / errors.DataLossError: no such file; a truncated or corrupted record.
    """
    from graphvar.summary.record import tf_record_iterator

    event_pb2, _ = _pb2()
    for data in tf_record_iterator(path):
        yield event_pb2.Event.FromString(data)

"""``tf.train.MonitoredTrainingSession``, ``MonitoredSession``, ``SingularMonitoredSession``, ``Scaffold``,
``ChiefSessionCreator``, ``WorkerSessionCreator`` (TF1's training/monitored_session.py, session_manager.py).

A MonitoredSession calls every hook's begin(), finalizes the Scaffold (default init / ready /
local-init / summary ops and a Saver, each taken from its graph collection when there is one) and
the graph, then creates the Session as TF1's SessionManager does: restore the latest checkpoint of
checkpoint_dir when there is one, else run the init op (and init_fn); run the local init op; check
that every variable is initialized. Each run() merges the hooks' SessionRunArgs into one
Session.run. Only the chief / single-process case exists: there are no remote targets, so a
session is not re-created after AbortedError (TF's _RecoverableSession) and a worker never waits
for a chief.
"""

from __future__ import annotations

from typing import Any

from graphvar import errors
from graphvar import tf_logging as logging
from graphvar.framework import ops
from graphvar.framework.ops import GraphKeys
from graphvar.train import basic_session_run_hooks as hooks_lib
from graphvar.train.coordinator import Coordinator
from graphvar.train.session_run_hook import SessionRunArgs, SessionRunContext, SessionRunValues

USE_DEFAULT = object()
_SUMMARY_OP = "summary_op"  # TF's GraphKeys.SUMMARY_OP
_READY_FOR_LOCAL_INIT_OP = "ready_for_local_init_op"


class Scaffold:
    """The ops and Saver a MonitoredSession needs; any left None gets TF1's default at finalize().

    Args:
      init_op, init_feed_dict, init_fn: how to initialize a model not restored (init_fn(scaffold, session)).
      ready_op: a string tensor of the uninitialized variables' names (empty when ready).
      ready_for_local_init_op, local_init_op: the local variables' check and initializer.
      summary_op: what SummarySaverHook runs (default: tf.summary.merge_all()).
      saver: the Saver restoring and saving (default: the one in GraphKeys.SAVERS, else a new Saver()).
    """

    def __init__(self, init_op: Any = None, init_feed_dict: Any = None, init_fn: Any = None, ready_op: Any = None,
                 ready_for_local_init_op: Any = None, local_init_op: Any = None, summary_op: Any = None,
                 saver: Any = None, copy_from_scaffold: Any = None) -> None:  # fmt: skip
        if copy_from_scaffold is not None:
            base = copy_from_scaffold
            init_op = init_op or base.init_op
            init_feed_dict = init_feed_dict or base.init_feed_dict
            init_fn = init_fn or base._user_init_fn
            ready_op, local_init_op = ready_op or base.ready_op, local_init_op or base.local_init_op
            ready_for_local_init_op = ready_for_local_init_op or base.ready_for_local_init_op
            summary_op, saver = summary_op or base.summary_op, saver or base.saver
        self._init_op, self._init_feed_dict, self._user_init_fn = init_op, init_feed_dict, init_fn
        self._init_fn = (lambda sess: init_fn(self, sess)) if init_fn else None
        self._ready_op, self._ready_for_local_init_op = ready_op, ready_for_local_init_op
        self._local_init_op, self._summary_op, self._saver = local_init_op, summary_op, saver

    def finalize(self) -> Scaffold:
        """Creates the missing ops and the Saver, then finalizes the default graph."""
        from graphvar import variables
        from graphvar.initializers import tables_initializer
        from graphvar.ops.control_flow_ops import group
        from graphvar.summary import merge_all

        if self._init_op is None:
            self._init_op = _get_or_default("init_op", GraphKeys.INIT_OP, variables.global_variables_initializer)
        if self._ready_op is None:
            self._ready_op = _get_or_default("ready_op", GraphKeys.READY_OP, variables.report_uninitialized_variables)
        if self._ready_for_local_init_op is None:
            self._ready_for_local_init_op = _get_or_default(
                "ready_for_local_init_op", _READY_FOR_LOCAL_INIT_OP,
                lambda: variables.report_uninitialized_variables(variables.global_variables()),
            )  # fmt: skip
        if self._local_init_op is None:
            self._local_init_op = _get_or_default(
                "local_init_op", GraphKeys.LOCAL_INIT_OP,
                lambda: group(variables.local_variables_initializer(), tables_initializer()),
            )  # fmt: skip
        if self._summary_op is None:
            self._summary_op = _get_or_default("summary_op", _SUMMARY_OP, merge_all)
        if self._saver is None:
            self._saver = _get_saver_or_default()
        self._saver.build()
        ops.get_default_graph().finalize()
        return self

    init_op = property(lambda self: self._init_op)
    init_feed_dict = property(lambda self: self._init_feed_dict)
    init_fn = property(lambda self: self._init_fn)
    ready_op = property(lambda self: self._ready_op)
    ready_for_local_init_op = property(lambda self: self._ready_for_local_init_op)
    local_init_op = property(lambda self: self._local_init_op)
    summary_op = property(lambda self: self._summary_op)
    saver = property(lambda self: self._saver)

    @staticmethod
    def get_or_default(arg_name: str, collection_key: str, default_constructor: Any) -> Any:
        return _get_or_default(arg_name, collection_key, default_constructor)


def _get_or_default(arg_name: str, collection_key: str, default_constructor: Any) -> Any:
    elements = ops.get_collection(collection_key)
    if elements:
        if len(elements) > 1:
            raise RuntimeError(f'More than one item in the collection "{collection_key}". Please indicate which one '
                               f"to use by passing it to the tf.Scaffold constructor as: "
                               f"tf.Scaffold({arg_name}=item to use)")  # fmt: skip
        return elements[0]
    op = default_constructor()
    if op is not None:
        ops.add_to_collection(collection_key, op)
    return op


def _get_saver_or_default() -> Any:
    from graphvar.train.saver import Saver

    savers = ops.get_collection(GraphKeys.SAVERS)
    if savers:
        if len(savers) > 1:
            raise RuntimeError(f"More than one item in collection {GraphKeys.SAVERS}. Please indicate which one to "
                               "use by passing it to the constructor.")  # fmt: skip
        return savers[0]
    saver = Saver(sharded=True, allow_empty=True)
    ops.add_to_collection(GraphKeys.SAVERS, saver)
    return saver


def _uninitialized(sess: Any, op: Any) -> str | None:
    """None when `op` (report_uninitialized_variables) reports nothing, else the names it reports."""
    if op is None:
        return None
    names = sess.run(op)
    if getattr(names, "size", len(names)) == 0:
        return None
    return "Variables not initialized: " + ", ".join(n.decode() if isinstance(n, bytes) else str(n) for n in names)


class ChiefSessionCreator:
    """Creates a Session that restores `checkpoint_dir`'s latest checkpoint (or the given file) if any,
    else initializes the model (SessionManager.prepare_session)."""

    def __init__(self, scaffold: Scaffold | None = None, master: str = "", config: Any = None,
                 checkpoint_dir: str | None = None, checkpoint_filename_with_path: str | None = None) -> None:  # fmt: skip
        if checkpoint_dir and checkpoint_filename_with_path:
            raise ValueError("Can not provide both checkpoint_dir and checkpoint_filename_with_path.")
        self._scaffold = scaffold or Scaffold()
        self._master, self._config = master, config
        self._checkpoint_dir, self._checkpoint_file = checkpoint_dir, checkpoint_filename_with_path

    def create_session(self) -> Any:
        from graphvar.session import Session

        s = self._scaffold.finalize()
        sess = Session(self._master, graph=ops.get_default_graph(), config=self._config)
        if not self._restore(sess, s.saver):
            if s.init_op is None and not s.init_fn and s.local_init_op is None:
                raise RuntimeError("Model is not initialized and no init_op or init_fn or local_init_op was given")
            if s.init_op is not None:
                sess.run(s.init_op, feed_dict=s.init_feed_dict)
            if s.init_fn:
                s.init_fn(sess)
        _local_init(sess, s)
        not_ready = _uninitialized(sess, s.ready_op)
        if not_ready:
            raise RuntimeError(f"Init operations did not make model ready.  Init op: {_name(s.init_op)}, init fn: "
                               f"{s.init_fn}, local_init_op: {_name(s.local_init_op)}, error: {not_ready}")  # fmt: skip
        return sess

    def _restore(self, sess: Any, saver: Any) -> bool:
        from graphvar.train.checkpoint_state import get_checkpoint_state

        if saver is None:
            return False
        if self._checkpoint_file:
            saver.restore(sess, self._checkpoint_file)
            return True
        if not self._checkpoint_dir:
            return False
        state = get_checkpoint_state(self._checkpoint_dir)
        if state is None or not state.model_checkpoint_path:
            return False
        logging.info("Restoring parameters from %s", state.model_checkpoint_path)
        saver.restore(sess, state.model_checkpoint_path)
        saver.recover_last_checkpoints(list(state.all_model_checkpoint_paths))
        return True


class WorkerSessionCreator:
    """A non-chief's Session: runs the local init op and expects the model ready. graphvar has no
    chief in another process to initialize it, so an uninitialized model raises RuntimeError at once."""

    def __init__(self, scaffold: Scaffold | None = None, master: str = "", config: Any = None,
                 max_wait_secs: float = 30 * 60) -> None:  # fmt: skip
        self._scaffold, self._master, self._config = scaffold or Scaffold(), master, config

    def create_session(self) -> Any:
        from graphvar.session import Session

        s = self._scaffold.finalize()
        sess = Session(self._master, graph=ops.get_default_graph(), config=self._config)
        _local_init(sess, s)
        not_ready = _uninitialized(sess, s.ready_op)
        if not_ready:
            raise RuntimeError(f"Session was not ready (no chief initializes it in graphvar): {not_ready}")
        return sess


def _local_init(sess: Any, s: Scaffold) -> None:
    if s.local_init_op is None:
        return
    not_ready = _uninitialized(sess, s.ready_for_local_init_op)
    if not_ready:
        raise RuntimeError(f"Init operations did not make model ready for local_init.  Init op: {_name(s.init_op)}, "
                           f"init fn: {s.init_fn}, error: {not_ready}")  # fmt: skip
    sess.run(s.local_init_op)


def _name(op: Any) -> str | None:
    return None if op is None else op.name


class _StepContext:
    """What MonitoredSession.run_step_fn's step_fn receives."""

    def __init__(self, monitored: MonitoredSession, session: Any) -> None:
        self._monitored, self._session = monitored, session

    @property
    def session(self) -> Any:
        return self._session

    def run_with_hooks(self, *args: Any, **kwargs: Any) -> Any:
        return self._monitored.run(*args, **kwargs)

    def request_stop(self) -> None:
        self._monitored._should_stop = True


class MonitoredSession:
    """A Session that initializes or restores itself and calls hooks around every run.

    Args:
      session_creator: a ChiefSessionCreator (default) or WorkerSessionCreator.
      hooks: SessionRunHooks.
      stop_grace_period_secs: passed to Coordinator.join on close.

    Example:
      >>> with tf.train.MonitoredSession(hooks=[tf.train.StopAtStepHook(last_step=100)]) as sess:
      ...     while not sess.should_stop():
      ...         sess.run(train_op)
    """

    def __init__(self, session_creator: Any = None, hooks: Any = None, stop_grace_period_secs: float = 120) -> None:
        self._graph = ops.get_default_graph()
        self._hooks = list(hooks or [])
        self._stop_grace_period_secs = stop_grace_period_secs
        for h in self._hooks:
            h.begin()
        self._sess = (session_creator or ChiefSessionCreator()).create_session()
        self._coord = Coordinator()
        self._should_stop = False
        self._closed = False
        for h in self._hooks:
            h.after_create_session(self._sess, self._coord)

    @property
    def graph(self) -> ops.Graph:
        return self._graph

    def run(self, fetches: Any, feed_dict: Any = None, options: Any = None, run_metadata: Any = None) -> Any:
        """Runs `fetches` together with what the hooks ask for; returns the value of `fetches`.

        Raises:
          RuntimeError: the session is closed, or a hook feeds a tensor the caller feeds too.
        """
        if self._closed:
            raise RuntimeError("Run called even after should_stop requested.")
        context = SessionRunContext(SessionRunArgs(fetches, feed_dict, options), self._sess)
        all_fetches: dict[str, Any] = {"caller": fetches}
        feeds = dict(feed_dict or {})
        for i, h in enumerate(self._hooks):
            request = h.before_run(context)
            if request is None:
                continue
            if request.fetches is not None:
                all_fetches[f"hook_{i}"] = request.fetches
            for key, value in (request.feed_dict or {}).items():
                if key in feeds:
                    raise RuntimeError("Same tensor is fed by two hooks." if feed_dict is None or key not in feed_dict
                                       else "Same tensor is fed by a SessionRunHook and user.")  # fmt: skip
                feeds[key] = value
        results = self._sess.run(all_fetches, feed_dict=feeds or None, options=options, run_metadata=run_metadata)
        for i, h in enumerate(self._hooks):
            h.after_run(context, SessionRunValues(results.get(f"hook_{i}"), options, run_metadata))
        self._should_stop = self._should_stop or context.stop_requested
        return results["caller"]

    def run_step_fn(self, step_fn: Any) -> Any:
        """Calls step_fn(step_context); step_context.run_with_hooks runs as run() does."""
        return step_fn(_StepContext(self, self._sess))

    def should_stop(self) -> bool:
        return self._closed or self._should_stop or self._coord.should_stop()

    def close(self) -> None:
        self._close(None)

    def _close(self, exception_type: Any) -> None:
        if self._closed:
            return
        try:
            if exception_type is None:
                for h in self._hooks:
                    h.end(self._sess)
        finally:
            try:
                self._coord.request_stop()
                self._coord.join(stop_grace_period_secs=self._stop_grace_period_secs)
            finally:
                self._sess.close()
                self._closed = True

    def __enter__(self) -> MonitoredSession:
        return self

    def __exit__(self, exception_type: Any, exception_value: Any, traceback: Any) -> bool:
        if exception_type in (errors.OutOfRangeError, StopIteration):
            exception_type = None  # the end of the input, as TF: close cleanly and swallow it
        self._close(exception_type)
        return exception_type is None

    def _tf_sess(self) -> Any:
        return self._sess


class SingularMonitoredSession(MonitoredSession):
    """A MonitoredSession with a ChiefSessionCreator built from the arguments; raw_session() is the Session."""

    def __init__(self, hooks: Any = None, scaffold: Scaffold | None = None, master: str = "", config: Any = None,
                 checkpoint_dir: str | None = None, stop_grace_period_secs: float = 120,
                 checkpoint_filename_with_path: str | None = None) -> None:  # fmt: skip
        creator = ChiefSessionCreator(scaffold, master, config, checkpoint_dir, checkpoint_filename_with_path)
        super().__init__(creator, hooks, stop_grace_period_secs)

    def raw_session(self) -> Any:
        return self._sess


def MonitoredTrainingSession(master: str = "", is_chief: bool = True, checkpoint_dir: str | None = None,  # noqa: N802
                             scaffold: Scaffold | None = None, hooks: Any = None, chief_only_hooks: Any = None,
                             save_checkpoint_secs: Any = USE_DEFAULT, save_summaries_steps: Any = USE_DEFAULT,
                             save_summaries_secs: Any = USE_DEFAULT, config: Any = None,
                             stop_grace_period_secs: float = 120, log_step_count_steps: int = 100,
                             max_wait_secs: float = 7200, save_checkpoint_steps: Any = USE_DEFAULT,
                             summary_dir: str | None = None) -> MonitoredSession:  # fmt: skip
    """TF1's MonitoredTrainingSession: a MonitoredSession that restores from / checkpoints into checkpoint_dir
    (every 600 s by default, or every save_checkpoint_steps), writes summaries (every 100 steps by
    default) and steps per second there, and runs `hooks` (and, on the chief, `chief_only_hooks`).

    Returns:
      A MonitoredSession (use it as a context manager; loop until should_stop()).

    Example:
      >>> hooks = [tf.train.StopAtStepHook(last_step=1000)]
      >>> with tf.train.MonitoredTrainingSession(checkpoint_dir="/tmp/train", hooks=hooks) as sess:
      ...     while not sess.should_stop():
      ...         sess.run(train_op)
    """
    if save_summaries_steps is USE_DEFAULT and save_summaries_secs is USE_DEFAULT:
        save_summaries_steps, save_summaries_secs = 100, None
    save_summaries_steps = None if save_summaries_steps is USE_DEFAULT else save_summaries_steps
    save_summaries_secs = None if save_summaries_secs is USE_DEFAULT else save_summaries_secs
    if save_checkpoint_steps is USE_DEFAULT and save_checkpoint_secs is USE_DEFAULT:
        save_checkpoint_steps, save_checkpoint_secs = None, 600
    save_checkpoint_steps = None if save_checkpoint_steps is USE_DEFAULT else save_checkpoint_steps
    save_checkpoint_secs = None if save_checkpoint_secs is USE_DEFAULT else save_checkpoint_secs
    scaffold = scaffold or Scaffold()
    if not is_chief:
        return MonitoredSession(WorkerSessionCreator(scaffold, master, config, max_wait_secs), list(hooks or []),
                                stop_grace_period_secs)  # fmt: skip
    all_hooks = list(chief_only_hooks or [])
    creator = ChiefSessionCreator(scaffold, master, config, checkpoint_dir)
    summary_dir = summary_dir or checkpoint_dir
    if summary_dir:
        if log_step_count_steps and log_step_count_steps > 0:
            all_hooks.append(hooks_lib.StepCounterHook(output_dir=summary_dir, every_n_steps=log_step_count_steps))
        if (save_summaries_steps and save_summaries_steps > 0) or (save_summaries_secs and save_summaries_secs > 0):
            all_hooks.append(hooks_lib.SummarySaverHook(scaffold=scaffold, save_steps=save_summaries_steps,
                                                        save_secs=save_summaries_secs, output_dir=summary_dir))  # fmt: skip
    if checkpoint_dir and ((save_checkpoint_secs and save_checkpoint_secs > 0)
                           or (save_checkpoint_steps and save_checkpoint_steps > 0)):  # fmt: skip
        all_hooks.append(hooks_lib.CheckpointSaverHook(checkpoint_dir, save_steps=save_checkpoint_steps,
                                                       save_secs=save_checkpoint_secs, scaffold=scaffold))  # fmt: skip
    all_hooks.extend(hooks or [])
    return MonitoredSession(creator, all_hooks, stop_grace_period_secs)

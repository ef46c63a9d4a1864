"""MonitoredSession / MonitoredTrainingSession, Scaffold, the basic hooks, Coordinator."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import graphvar as tf


def _model():
    x = tf.constant(np.ones((4, 3), np.float32))
    w = tf.get_variable("w", [3, 1], initializer=tf.zeros_initializer())
    loss = tf.reduce_mean(tf.square(tf.matmul(x, w) - 1.0), name="loss")
    gs = tf.train.get_or_create_global_step()
    return loss, gs, tf.train.GradientDescentOptimizer(0.1).minimize(loss, global_step=gs)


class Recorder(tf.train.SessionRunHook):
    def __init__(self):
        self.calls = []

    def begin(self):
        self.calls.append("begin")

    def after_create_session(self, session, coord):
        self.calls.append("after_create_session")

    def before_run(self, run_context):
        self.calls.append("before_run")
        return tf.train.SessionRunArgs({"gs": tf.train.get_global_step()})

    def after_run(self, run_context, run_values):
        self.calls.append(("after_run", int(run_values.results["gs"])))

    def end(self, session):
        self.calls.append("end")


def test_hook_protocol_and_stop_at_step():
    with tf.Graph().as_default():
        loss, gs, train = _model()
        rec = Recorder()
        with tf.train.MonitoredSession(hooks=[rec, tf.train.StopAtStepHook(num_steps=3)]) as sess:
            assert tf.get_default_graph().finalized
            steps = 0
            while not sess.should_stop():
                sess.run(train)
                steps += 1
        assert steps == 3
        assert rec.calls[:3] == ["begin", "after_create_session", "before_run"]
        seen = [c[1] for c in rec.calls if isinstance(c, tuple)]  # read before or after the train op's increment
        assert len(seen) == 3 and all(s in (i, i + 1) for i, s in enumerate(seen))
        assert rec.calls[-1] == "end"
        with pytest.raises(RuntimeError, match="finalized"):
            tf.constant(1.0)


def test_monitored_training_session_checkpoints_and_resumes(tmp_path):
    ckpt = str(tmp_path)
    for last in (4, 9):
        with tf.Graph().as_default():
            loss, gs, train = _model()
            hooks = [tf.train.StopAtStepHook(last_step=last)]
            with tf.train.MonitoredTrainingSession(checkpoint_dir=ckpt, hooks=hooks, save_checkpoint_steps=2) as sess:
                start = sess.run(gs)
                while not sess.should_stop():
                    sess.run(train)
                final = sess.run(gs)
        assert (start, final) == ((0, 4) if last == 4 else (4, 9))
    assert tf.train.latest_checkpoint(ckpt).endswith("model.ckpt-9")
    assert tf.train.load_variable(ckpt, "global_step") == 9


def test_scaffold_init_fn_and_ready_check():
    with tf.Graph().as_default():
        v = tf.Variable(1.0, name="v")
        called = []
        scaffold = tf.train.Scaffold(init_fn=lambda scaffold, sess: called.append(sess.run(v)))
        with tf.train.SingularMonitoredSession(scaffold=scaffold) as sess:
            assert sess.run(v) == 1.0 and called == [1.0]
            assert sess.raw_session() is not None
    with tf.Graph().as_default():
        tf.Variable(1.0, name="v")
        scaffold = tf.train.Scaffold(init_op=tf.no_op())
        with pytest.raises(RuntimeError, match="did not make model ready.*v"):
            tf.train.MonitoredSession(tf.train.ChiefSessionCreator(scaffold))


def test_logging_nan_and_step_counter_hooks(tmp_path, caplog):
    with tf.Graph().as_default():
        loss, gs, train = _model()
        bad = tf.placeholder_with_default(1.0, [])
        hooks = [tf.train.LoggingTensorHook({"loss": loss, "step": gs}, every_n_iter=2),
                 tf.train.NanTensorHook(bad), tf.train.StepCounterHook(every_n_steps=1, output_dir=str(tmp_path))]  # fmt: skip
        with caplog.at_level("INFO", logger="tensorflow"), tf.train.MonitoredSession(hooks=hooks) as sess:
            for _ in range(3):
                sess.run(train)
            with pytest.raises(tf.train.NanLossDuringTrainingError):
                sess.run(train, {bad: np.nan})
        assert sum("loss = " in r.getMessage() and "step = " in r.getMessage() for r in caplog.records) == 2


def test_summary_saver_hook_writes_at_the_global_step(tmp_path):
    with tf.Graph().as_default():
        loss, gs, train = _model()
        tf.summary.scalar("loss", loss)
        with tf.train.MonitoredTrainingSession(checkpoint_dir=str(tmp_path), save_summaries_steps=2,
                                               hooks=[tf.train.StopAtStepHook(last_step=5)]) as sess:  # fmt: skip
            while not sess.should_stop():
                sess.run(train)
        tf.summary.FileWriterCache.get(str(tmp_path)).flush()
    import glob

    steps = []
    for path in glob.glob(str(tmp_path / "events.out.tfevents.*")):
        for event in tf.train.summary_iterator(path):
            if event.summary.value and event.summary.value[0].tag.startswith("loss"):  # "loss_1": the op "loss" exists
                steps.append(event.step)
    assert sorted(steps) == [1, 3, 5]


def test_hook_feed_conflict_and_out_of_range_is_swallowed():
    with tf.Graph().as_default():
        p = tf.placeholder(tf.float32, [])
        tf.train.get_or_create_global_step()
        doubled = p * 2.0
        hook = tf.train.FeedFnHook(lambda: {p: 1.0})
        with tf.train.MonitoredSession(hooks=[hook]) as sess:
            assert sess.run(doubled) == 2.0
            with pytest.raises(RuntimeError, match="fed by a SessionRunHook and user"):
                sess.run(p, {p: 3.0})
            raise tf.errors.OutOfRangeError(None, None, "end of input")


def test_coordinator():
    coord = tf.train.Coordinator()
    assert tf.train.start_queue_runners(coord=coord) == []

    def worker():
        with coord.stop_on_exception():
            raise ValueError("boom")

    t = threading.Thread(target=worker)
    coord.register_thread(t)
    t.start()
    assert coord.wait_for_stop(5.0)
    with pytest.raises(ValueError, match="boom"):
        coord.join()
    coord.clear_stop()
    assert not coord.should_stop()
    coord.request_stop(tf.errors.OutOfRangeError(None, None, "done"))  # a clean stop: nothing re-raised
    coord.join()

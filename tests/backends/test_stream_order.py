"""The stream protocol of device variables (docs/architecture.md, "Streams"), on the fake CuPy.

Each variable's lock orders GPU work as it orders threads: taking it makes the current stream wait for
the event recorded after the slot's last access, releasing it records a new one (``VarSlot.ready``), and
an unlocked read waits for it too. The writes below are left queued (nothing reads them back) on another
thread's default stream or on a user's stream; a save or a read on a different stream must still see
them. Each test runs once as it is and once with the wait removed, and must fail then.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

import graphvar as tf
from tests.backends.conftest import install_fake_cupy

N = 1000


@pytest.fixture
def per_thread_gpu(monkeypatch, kernel_dll):
    """One fake GPU where each thread has its own default stream (CUPY_CUDA_PER_THREAD_DEFAULT_STREAM=1)."""
    return install_fake_cupy(monkeypatch, kernel_dll, per_thread=True)


def _break_waits(monkeypatch, where: str) -> None:
    from graphvar.backends import cupy_backend as cb

    if where == "lock":  # the lock's holder no longer waits for the slot's last access
        monkeypatch.setattr(cb._OrderedLock, "acquire", lambda self, *a: self._lock.acquire(*a))
    else:  # nothing waits for the event: locked or not
        monkeypatch.setattr(cb._Ready, "wait", lambda self: None)


def _model():
    with tf.device("/gpu:0"):
        v = tf.Variable(tf.zeros([N]), name="v")
        inc = v.assign_add(tf.ones([N]))
        twice = v * 2.0
    return v, inc, twice


def _in_thread(fn) -> None:
    errors = []

    def run():
        try:
            fn()
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    t = threading.Thread(target=run)
    t.start()
    t.join()
    if errors:
        raise errors[0]


@pytest.mark.parametrize("broken", [None, "lock", "event"])
def test_a_save_waits_for_another_threads_queued_update(per_thread_gpu, tmp_path, monkeypatch, broken):
    v, inc, _ = _model()
    saver = tf.train.Saver()
    with tf.Session() as sess:
        _in_thread(lambda: (sess.run(v.initializer), sess.run(inc.op)))  # queued on that thread's stream
        if broken:
            _break_waits(monkeypatch, broken)
        path = saver.save(sess, str(tmp_path / "m"))
    assert np.array_equal(tf.train.load_variable(path, "v"), np.ones(N, np.float32)) != bool(broken)


@pytest.mark.parametrize("broken", [None, "lock", "event"])
def test_a_save_waits_for_an_update_on_a_users_stream(fake_gpu, tmp_path, monkeypatch, broken):
    import cupy

    v, inc, _ = _model()
    saver = tf.train.Saver()
    with tf.Session() as sess:
        sess.run(v.initializer)
        sess.run(v)  # the initializer has run: only the update below is queued
        with cupy.cuda.Stream(non_blocking=True):
            sess.run(inc.op)
        if broken:
            _break_waits(monkeypatch, broken)
        path = saver.save(sess, str(tmp_path / "m"))  # on the null stream
    assert np.array_equal(tf.train.load_variable(path, "v"), np.ones(N, np.float32)) != bool(broken)


@pytest.mark.parametrize("broken", [False, True])
def test_a_read_on_another_stream_waits_for_the_last_write(per_thread_gpu, monkeypatch, broken):
    v, inc, twice = _model()
    with tf.Session() as sess:
        _in_thread(lambda: (sess.run(v.initializer), sess.run(inc.op)))
        if broken:
            _break_waits(monkeypatch, "event")
        got = sess.run(twice)  # reads v without its lock, on this thread's stream
    assert np.array_equal(got, np.full(N, 2.0, np.float32)) != broken


@pytest.mark.parametrize("broken", [False, True])
def test_an_update_on_another_stream_waits_for_the_last_write(per_thread_gpu, monkeypatch, broken):
    v, inc, _ = _model()
    with tf.Session() as sess:
        _in_thread(lambda: (sess.run(v.initializer), sess.run(inc.op)))
        if broken:
            _break_waits(monkeypatch, "event")
        _in_thread(lambda: sess.run(inc.op))  # a third stream: runs after the second's update
        got = sess.run(v)
    # broken, the second update reads the variable before the first update (and the fill) ran
    assert np.array_equal(got, np.full(N, 2.0, np.float32)) != broken


def test_a_restore_is_in_place_before_the_variable_is_used(per_thread_gpu, tmp_path):
    v, inc, twice = _model()
    saver = tf.train.Saver()
    with tf.Session() as sess:
        sess.run(v.initializer)
        sess.run(inc.op)
        path = saver.save(sess, str(tmp_path / "m"))
        sess.run(inc.op)
        _in_thread(lambda: saver.restore(sess, path))  # its own stream (the ring's, then the thread's)
        ready = sess._variable_slot(v).ready
        assert ready is not None and ready.event.done  # the restore's copies have landed
        np.testing.assert_array_equal(sess.run(twice), np.full(N, 2.0, np.float32))


def test_scalars_fetch_as_numpy_scalars_from_every_stream(per_thread_gpu):
    import cupy

    with tf.device("/gpu:0"):
        s = tf.Variable(1.5, name="s")
        bump = s.assign_add(1.0)
    with tf.Session() as sess:
        sess.run(s.initializer)
        with cupy.cuda.Stream():
            sess.run(bump.op)
        got = []
        _in_thread(lambda: got.append(sess.run(s)))
        got.append(sess.run(s + 0.0))
    assert [type(x) for x in got] == [np.float32, np.float32] and got == [2.5, 2.5]

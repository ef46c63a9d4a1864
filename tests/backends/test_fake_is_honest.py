"""The fake CuPy is strict enough to catch what the GPU would: each guarded behaviour is run once as
it is (passes) and once broken on purpose (must fail), so these tests cannot pass vacuously.

- device arrays are opaque: no implicit conversion to or from NumPy;
- the plan's host <-> device moves are needed (without them a run fails);
- the Saver's copy stream must wait for the kernels queued before it (else it saves garbage);
- a pinned staging buffer read before its copy's event has completed holds garbage;
- the GPU Saver path streams through the pinned ring (device -> host and back);
- a fetched GPU scalar variable is a NumPy scalar.
"""

from __future__ import annotations

import numpy as np
import pytest

import graphvar as tf
from graphvar.backends.base import Backend
from tests.backends import fake_cupy
from tests.backends.fake_cupy import MEMCPY_D2H, MEMCPY_H2D


@pytest.fixture
def cb(fake_gpu):
    from graphvar.backends import cupy_backend

    return cupy_backend


def test_device_arrays_are_opaque(fake_gpu):
    import cupy

    dev = cupy.asarray(np.arange(4, dtype=np.float32))
    assert not isinstance(dev, np.ndarray)
    with pytest.raises(TypeError, match="Implicit conversion"):
        np.asarray(dev)
    for bad in (lambda: dev + np.ones(4, np.float32), lambda: np.ones(4) * dev, lambda: cupy.add(dev, np.ones(4))):
        with pytest.raises(TypeError):
            bad()
    assert (dev * 2).get().tolist() == [0.0, 2.0, 4.0, 6.0] and type(cupy.sum(dev)) is fake_cupy.DeviceArray


def _cross_device() -> np.ndarray:
    with tf.device("/gpu:0"):
        x = tf.constant([1.0, 2.0, 3.0]) * 2.0
    with tf.device("/cpu:0"):
        y = x + 1.0  # the host reads a GPU value
    with tf.device("/gpu:0"):
        z = y * 3.0  # the GPU reads a host value
    with tf.Session() as sess:
        return sess.run(z)


@pytest.mark.parametrize("broken", [None, "to_host", "from_host"])
def test_the_plans_device_moves_are_needed(fake_gpu, cb, monkeypatch, broken):
    if broken is None:
        np.testing.assert_array_equal(_cross_device(), [9.0, 15.0, 21.0])
        return
    monkeypatch.setattr(cb.CupyBackend, broken, lambda self, x: x)  # the move hands the value over as is
    with pytest.raises((tf.errors.OpError, TypeError)):
        _cross_device()


def _save_right_after_an_update(tmp_path) -> np.ndarray:
    with tf.device("/gpu:0"):
        v = tf.Variable(tf.zeros([1000]), name="v")
        inc = v.assign_add(tf.ones([1000]))
    saver = tf.train.Saver()
    with tf.Session() as sess:
        sess.run(v.initializer)
        sess.run(inc.op)  # nothing read back: the kernels are still queued on the current stream
        path = saver.save(sess, str(tmp_path / "m"))
    return tf.train.load_variable(path, "v")


@pytest.mark.parametrize("broken", [False, True])
def test_the_copy_stream_waits_for_queued_kernels(fake_gpu, cb, monkeypatch, tmp_path, broken):
    if broken:
        monkeypatch.setattr(cb._Ring, "_after_current_stream", lambda self: None)
    saved = _save_right_after_an_update(tmp_path)
    assert np.array_equal(saved, np.ones(1000, np.float32)) != broken


@pytest.mark.parametrize("broken", [False, True])
def test_pinned_buffers_hold_garbage_until_their_copy_completes(fake_gpu, cb, monkeypatch, tmp_path, broken):
    if broken:  # the ring hands out a chunk without waiting for the event of its copy
        monkeypatch.setattr(fake_cupy.Event, "synchronize", lambda self: None)
    saved = _save_right_after_an_update(tmp_path)
    assert np.array_equal(saved, np.ones(1000, np.float32)) != broken


def _memcpys(fake, kind: int) -> int:
    return sum(1 for e in fake.log if e[0] == "memcpy" and e[1] == kind)


@pytest.mark.parametrize("broken", [False, True])
def test_the_gpu_saver_streams_through_the_pinned_ring(fake_gpu, cb, monkeypatch, tmp_path, broken):
    if broken:  # the Backend defaults: one host copy of each variable, no ring
        monkeypatch.setattr(cb.CupyBackend, "save_chunks", Backend.save_chunks)
        monkeypatch.setattr(cb.CupyBackend, "restore_from", Backend.restore_from)
    with tf.device("/gpu:0"):
        w = tf.Variable(tf.random_normal([64, 33], seed=1), name="w")
    saver = tf.train.Saver()
    with tf.Session() as sess:
        sess.run(w.initializer)
        want = sess.run(w)
        path = saver.save(sess, str(tmp_path / "m"))
        sess.run(w.assign(tf.zeros([64, 33])))
        saver.restore(sess, path)
        np.testing.assert_array_equal(sess.run(w), want)  # right either way
    streamed = _memcpys(fake_gpu, MEMCPY_D2H) > 0 and _memcpys(fake_gpu, MEMCPY_H2D) > 0
    assert streamed != broken


@pytest.mark.parametrize("broken", [False, True])
def test_a_gpu_scalar_variable_fetches_as_a_numpy_scalar(fake_gpu, cb, monkeypatch, broken):
    if broken:  # what fetches.py did before the backend contract: index the device value
        monkeypatch.setattr(cb.CupyBackend, "fetch_variable", lambda self, slot: slot.read()[()])
    with tf.device("/gpu:0"):
        v = tf.Variable(2.5)
    with tf.Session() as sess:
        sess.run(v.initializer)
        got = sess.run(v)
    assert (type(got) is np.float32 and got == 2.5) != broken


@pytest.mark.parametrize("broken", [False, True])
def test_a_session_outliving_its_fake_reads_its_own_streams(monkeypatch, kernel_dll, broken):
    """fake_gpu_plugin installs a fresh fake per test while a module-scoped Session lives on (test_fuzz's
    ``model``): its arrays and queued kernels belong to the first fake, so its host reads must wait on that
    fake's streams. Broken (the old fake: one class-wide fake), the read waits on the newest fake's streams
    and sees what the variable held before the queued fill: here an earlier restore's values."""
    from tests.backends.conftest import install_fake_cupy

    first = install_fake_cupy(monkeypatch, kernel_dll)
    with tf.device("/gpu:0"):
        v = tf.Variable(tf.zeros([300]), name="v")
        load = v.assign(tf.range(300.0))
    sess = tf.Session()
    sess.run(v.initializer)
    sess.run(load.op)
    np.testing.assert_array_equal(sess.run(v), np.arange(300.0))
    newest = install_fake_cupy(monkeypatch, kernel_dll)  # the next test's fake
    if broken:
        monkeypatch.setattr(first, "flush", newest.flush)
    sess.run(v.initializer)  # zeros queued on the first fake's null stream, nothing read back yet
    got = sess.run(v)
    sess.close()
    assert np.array_equal(got, np.zeros(300, np.float32)) != broken

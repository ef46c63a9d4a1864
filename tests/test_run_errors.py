"""Issue 12, items 10 and 14: one tensor fed under two keys, and errors that say what happened."""

import logging
import threading

import numpy as np
import pytest

import graphvar as tf
from graphvar.backends.numpy_backend import NumpyBackend


# ---- item 10: one tensor under two keys ----
def test_one_tensor_fed_under_two_keys_computes_the_right_result():
    x = tf.placeholder(tf.float32, [2], name="x")
    c = tf.constant([10.0, 20.0])
    y = x * 2.0 + c
    with tf.Session() as sess:
        a = np.array([1.0, 2.0], np.float32)
        np.testing.assert_array_equal(sess.run(y, {x: a, "x:0": a}), [12.0, 24.0])
        np.testing.assert_array_equal(sess.run([y, c], {x: a, "x:0": a})[1], [10.0, 20.0])  # no slot collision
        # two different values: the last one wins, as TF 2.21's compat.v1 Session.run does
        np.testing.assert_array_equal(sess.run(y, {x: a, "x:0": a * 0}), [10.0, 20.0])
        np.testing.assert_array_equal(sess.run(y, {"x:0": a * 0, x: a}), [12.0, 24.0])


def test_one_tensor_in_a_feed_list_twice():
    x = tf.placeholder(tf.float32, [], name="x")
    k = tf.constant(5.0)
    y = x * 3.0
    with tf.Session() as sess:
        f = sess.make_callable([y, k, x], [x, "x:0"])
        assert f(1.0, 1.0) == [3.0, 5.0, 1.0]
        assert f(1.0, 2.0) == [6.0, 5.0, 2.0]  # the last value, as TF's make_callable


# ---- item 14: errors ----
def test_memory_error_is_resource_exhausted_naming_op_shape_and_bytes():
    a = tf.placeholder(tf.float32, [None, 1], name="a")
    big = tf.matmul(a, a, transpose_b=True, name="outer")  # [n, n]: 2**46 elements
    with tf.Session() as sess:
        with pytest.raises(tf.errors.ResourceExhaustedError) as e:
            sess.run(big, {a: np.ones((1 << 23, 1), np.float32)})
    msg = str(e.value)
    assert "outer" in msg and "MatMul" in msg and "8388608, 8388608" in msg and "bytes" in msg
    assert e.value.op is big.op


class _FaultyBackend(NumpyBackend):
    """A host backend whose Tanh kernel fails the way a device does."""

    name = "faulty"

    def __init__(self, exc):
        super().__init__()

        def tanh(step, args, ctx):
            raise exc

        self.kernels["Tanh"] = tanh

    def failure(self, e):
        if isinstance(e, RuntimeError) and "illegal address" in str(e):
            return "fault", str(e)
        return super().failure(e)


def _run_on(backend, t):
    with tf.Session() as sess:
        sess._backend_for = lambda op: backend
        return sess.run(t)


def test_device_fault_is_internal_error_and_oom_through_the_backend_contract():
    t = tf.tanh(tf.constant([1.0]), name="t")
    with pytest.raises(tf.errors.InternalError, match=r"t \(Tanh\).*illegal address"):
        _run_on(_FaultyBackend(RuntimeError("cudaErrorIllegalAddress: an illegal address was encountered")), t)
    with pytest.raises(tf.errors.ResourceExhaustedError, match="Out of memory allocating 1,024 bytes"):
        _run_on(_FaultyBackend(MemoryError("Out of memory allocating 1,024 bytes (allocated so far: 0 bytes).")), t)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"t \(Tanh\): ValueError"):
        _run_on(_FaultyBackend(ValueError("bad")), t)


def test_failed_precondition_error_has_its_op():
    v = tf.Variable(1.0, name="v")
    y = v * 2.0
    with tf.Session() as sess:
        with pytest.raises(tf.errors.FailedPreconditionError) as e:
            sess.run(y)
        assert e.value.op is not None and e.value.op.graph is y.graph
        with pytest.raises(tf.errors.FailedPreconditionError) as e:
            sess.run(v)
        assert e.value.op is not None


def test_unknown_device_type_is_logged_and_counted(caplog):
    with tf.device("/xpu:0"):
        y = tf.constant(1.0) + tf.constant(2.0)
    with tf.Session() as sess:
        with caplog.at_level(logging.WARNING, logger="graphvar"):
            assert sess.run(y) == 3.0
        assert sess.host_fallbacks.get("Add") == 1
        assert "XPU" in caplog.text and "host" in caplog.text


@pytest.mark.parametrize("device", ["/xpu:0", "/gpu:7"])
def test_no_soft_placement_refuses_a_device_that_does_not_exist(device):
    with tf.device(device):
        y = tf.constant(1.0) * 2.0
    config = tf.ConfigProto(allow_soft_placement=False)
    with tf.Session(config=config) as sess:
        with pytest.raises(tf.errors.InvalidArgumentError, match="Cannot assign a device for operation"):
            sess.run(y)
    with tf.Session(config=tf.ConfigProto(allow_soft_placement=True)) as sess:
        assert sess.run(y) == 2.0


def test_use_locking_updates_are_exact_under_concurrency():
    """Threads assign_add into one large variable at once: with the lock no update is lost (NumPy
    releases the GIL inside the add, so without it two read-modify-writes interleave)."""
    n, threads, reps = 1 << 21, 4, 12
    v = tf.Variable(tf.zeros([n]), name="acc")
    inc = tf.assign_add(v, tf.ones([n]), use_locking=True)
    with tf.Session() as sess:
        sess.run(v.initializer)
        start = threading.Barrier(threads)

        def work():
            start.wait()
            for _ in range(reps):
                sess.run(inc.op)

        pool = [threading.Thread(target=work) for _ in range(threads)]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        got = sess.run(v)
    assert got.min() == got.max() == threads * reps

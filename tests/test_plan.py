"""The plan compiler and executor: caching, fusion, in-place updates, fallbacks."""

import logging
import tracemalloc

import numpy as np
import pytest

import graphvar as tf


def _slot(sess, v):
    return sess._variable_slot(v)


def test_plan_is_compiled_once_per_fetch_and_feed_keys():
    x = tf.placeholder(tf.float32, name="x")
    y = x + 1
    with tf.Session() as sess:
        for i in range(50):
            sess.run(y, {x: float(i)})
            sess.run([y, x], {x: 1.0})
        assert len(sess._runners) == 2


def test_initializer_writes_straight_into_the_variable_buffer():
    n = 16 * 1024 * 1024  # 64 MiB of float32; the generators work in bounded chunks
    v = tf.Variable(tf.random_normal([n]), name="big")
    with tf.Session() as sess:
        sess.run(v.initializer)
        buf = _slot(sess, v).value
        tracemalloc.start()
        sess.run(v.initializer)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert _slot(sess, v).value is buf  # same buffer, refilled in place
        assert peak < n * 4 // 4, f"re-initializing allocated {peak} bytes"


def test_large_zeros_initializer_takes_lazily_zeroed_pages():
    n = 4 * 1024 * 1024
    z = tf.Variable(tf.zeros([n]), name="z")
    small = tf.Variable(tf.zeros([10]), name="small")
    with tf.Session() as sess:
        sess.run([z.initializer, small.initializer])
        sess.run([z.assign(tf.ones([n])), small.assign(tf.ones([10]))])
        small_buf = _slot(sess, small).value
        sess.run([z.initializer, small.initializer])
        assert not sess.run(z).any() and not sess.run(small).any()
        assert _slot(sess, small).value is small_buf  # small: refilled in place


def test_assign_ops_update_in_place():
    v = tf.Variable(np.zeros(1000, np.float32), name="v")
    add = v.assign_add(np.ones(1000, np.float32))
    put = v.assign(np.full(1000, 3, np.float32))
    with tf.Session() as sess:
        sess.run(v.initializer)
        buf = _slot(sess, v).value
        sess.run(add)
        sess.run(put)
        assert _slot(sess, v).value is buf
        assert sess.run(v)[0] == 3


def test_fetching_a_variable_returns_a_copy():
    v = tf.Variable([1.0, 2.0], name="v")
    with tf.Session() as sess:
        sess.run(v.initializer)
        out = sess.run(v)
        out[0] = 100
        read = sess.run(v.value())
        read[1] = 100
        np.testing.assert_array_equal(sess.run(v), [1, 2])


def test_random_generator_read_twice_is_not_fused_and_runs_once():
    r = tf.random_uniform([100], seed=3)
    a = tf.Variable(r, name="a")
    b = tf.Variable(r * 1.0, name="b")
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        np.testing.assert_array_equal(sess.run(a), sess.run(b))


def test_missing_backend_kernel_falls_back_to_host_visibly(caplog):
    from graphvar import backends
    from graphvar.backends.numpy_backend import NumpyBackend

    class Partial(NumpyBackend):
        name = "partial"

        def __init__(self):
            super().__init__()
            del self.kernels["Add"]

    partial = Partial()
    c = tf.constant(1.0) + tf.constant(2.0)
    with tf.Session() as sess:
        sess._backend_for = lambda op: partial
        sess._host = backends.host()
        with caplog.at_level(logging.WARNING, logger="graphvar"):
            assert sess.run(c) == 3.0
        assert sess.host_fallbacks == {"Add": 1}
        assert "no partial kernel for Add" in caplog.text


def test_unexpected_kernel_failure_becomes_invalid_argument_naming_op():
    a = tf.placeholder(tf.float32, [None, None], name="a")
    b = tf.placeholder(tf.float32, [None, None], name="b")
    mm = tf.matmul(a, b, name="the_matmul")
    with tf.Session() as sess:
        with pytest.raises(tf.errors.InvalidArgumentError, match="the_matmul"):
            sess.run(mm, {a: np.ones((2, 3)), b: np.ones((4, 2))})

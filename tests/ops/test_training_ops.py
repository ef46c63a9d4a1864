"""The Apply* update ops (graphvar/ops/training_ops.py) and their NumPy kernels: shapes, errors, in-place updates."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import graphvar as tf
from graphvar import errors
from graphvar.ops import training_ops as T


def _init(sess):
    sess.run(tf.global_variables_initializer())


def test_build_time_shape_and_dtype_rules_name_the_op():
    v = tf.Variable(np.zeros(3, np.float32), name="v")
    m = tf.Variable(np.zeros(4, np.float32), name="m")
    with pytest.raises(ValueError, match=r"var and accum do not have the same shape.*'mom'.*ApplyMomentum"):
        T.apply_momentum(v, m, 0.1, np.ones(3, np.float32), 0.9, name="mom")
    acc = tf.Variable(np.zeros(3, np.float32), name="acc")
    with pytest.raises(ValueError, match=r"lr is not a scalar.*'ada'"):
        T.apply_adagrad(v, acc, tf.constant([0.1, 0.2]), np.ones(3, np.float32), name="ada")
    with pytest.raises(ValueError, match="requested dtype float32 for Tensor with dtype float64"):
        T.apply_gradient_descent(v, 0.1, tf.constant(np.ones(3)))
    i = tf.Variable(np.zeros(3, np.int32), name="i")
    with pytest.raises(TypeError, match="variable 'i' must be floating point"):
        T.apply_gradient_descent(i, 1, tf.constant(np.ones(3, np.int32)))
    with pytest.raises(TypeError, match="Expected a tf.Variable"):
        T.apply_gradient_descent(tf.constant([1.0]), 0.1, [1.0])


def test_run_time_shape_and_scalar_errors():
    v = tf.Variable(np.zeros(3, np.float32), name="v")
    g = tf.placeholder(tf.float32)  # unknown shape: checked when it runs
    lr = tf.placeholder(tf.float32)
    op = T.apply_gradient_descent(v, lr, g, name="sgd")
    with tf.Session() as sess:
        _init(sess)
        with pytest.raises(
            errors.InvalidArgumentError, match=r"sgd: var and grad do not have the same shape\[3\] \[2\]"
        ):
            sess.run(op, {g: np.ones(2, np.float32), lr: 0.1})
        with pytest.raises(errors.InvalidArgumentError, match=r"sgd: alpha is not a scalar: \[2\]"):
            sess.run(op, {g: np.ones(3, np.float32), lr: [0.1, 0.2]})
        np.testing.assert_array_equal(sess.run(v), 0)  # nothing was written


def test_uninitialized_variable_or_slot_is_named():
    v = tf.Variable(np.ones(3, np.float32), name="v")
    m = tf.Variable(np.zeros(3, np.float32), name="v_slot")
    op = T.apply_momentum(v, m, 0.1, np.ones(3, np.float32), 0.9, name="mom")
    with tf.Session() as sess:
        sess.run(v.initializer)
        with pytest.raises(errors.FailedPreconditionError, match=r"uninitialized value v_slot\s+\[\[node mom\]\]"):
            sess.run(op)
    with tf.Session() as sess:
        with pytest.raises(errors.FailedPreconditionError, match="uninitialized value v"):
            sess.run(op)


def test_updates_in_place_and_returns_the_variable():
    init = np.arange(6, dtype=np.float32).reshape(2, 3)
    v = tf.Variable(init, name="v")
    m, vv = (tf.Variable(np.zeros((2, 3), np.float32), name=n) for n in ("m", "vv"))
    g = np.full((2, 3), 0.5, np.float32)
    out = T.apply_adam(v, m, vv, 0.9, 0.999, 0.1, 0.9, 0.999, 1e-8, g)
    assert out.dtype == tf.float32 and out.get_shape() == tf.TensorShape([2, 3])
    with tf.Session() as sess:
        _init(sess)
        buffers = [sess._variable_slot(x).value for x in (v, m, vv)]
        got = sess.run(out)
        assert all(sess._variable_slot(x).value is b for x, b in zip((v, m, vv), buffers))
        np.testing.assert_array_equal(got, sess.run(v))
        np.testing.assert_allclose(sess.run(m), 0.05, rtol=1e-6)
        got[0, 0] = 123  # a fetched value is a copy
        assert sess.run(v)[0, 0] != 123


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_scalar_variables_and_dtypes(dtype):
    v = tf.Variable(dtype(2.0), name="v")
    acc = tf.Variable(dtype(0.1), name="acc")
    op = T.apply_adagrad(v, acc, tf.constant(dtype(0.5)), tf.constant(dtype(1.0)))
    with tf.Session() as sess:
        _init(sess)
        got = sess.run(op)
        assert got.dtype == dtype and got.shape == ()
        one = dtype(1)
        a = dtype(0.1) + one * one
        assert sess.run(acc) == a
        assert got == dtype(2.0) - one * dtype(0.5) * (one / np.sqrt(a))


def test_adagrad_update_slots_false_leaves_the_accumulator():
    v = tf.Variable(np.ones(3, np.float32), name="v")
    acc = tf.Variable(np.full(3, 4.0, np.float32), name="acc")
    op = T.apply_adagrad(v, acc, 0.5, np.ones(3, np.float32), update_slots=False)
    with tf.Session() as sess:
        _init(sess)
        np.testing.assert_array_equal(sess.run(op), np.float32(1) - np.float32(0.5) * np.float32(0.5))
        np.testing.assert_array_equal(sess.run(acc), 4.0)


def test_concurrent_updates_hold_the_lock():
    # 4 threads x 200 updates of +1 each: exact only if no two read-modify-writes interleave
    v = tf.Variable(np.zeros(1000, np.float32), name="v")
    m = tf.Variable(np.zeros(1000, np.float32), name="m")
    op = T.apply_momentum(v, m, -1.0, np.ones(1000, np.float32), 0.0)
    with tf.Session() as sess:
        _init(sess)

        def work():
            for _ in range(200):
                sess.run(op)

        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        np.testing.assert_array_equal(sess.run(v), 800.0)


def test_floor_ceil_select():
    x = tf.constant(np.float32([-1.5, -0.5, 0.0, 0.5, 2.0]))
    with tf.Session() as sess:
        np.testing.assert_array_equal(sess.run(T.floor(x)), np.floor([-1.5, -0.5, 0.0, 0.5, 2.0]))
        np.testing.assert_array_equal(sess.run(T.ceil(x)), np.ceil([-1.5, -0.5, 0.0, 0.5, 2.0]))
        picked = sess.run(T.where_v2(x > 0, x, tf.constant(np.float32(-7))))
        np.testing.assert_array_equal(picked, np.float32([-7, -7, -7, 0.5, 2.0]))
    with pytest.raises(TypeError, match="must be bool"):
        T.where_v2(x, x, x)
    with pytest.raises(TypeError, match="floating point"):
        T.floor(tf.constant([1, 2]))


def test_dense_from_slices_sums_repeats_and_checks_indices():
    v = tf.Variable(np.zeros((4, 2), np.float32), name="v")
    idx = tf.placeholder(tf.int32, [3])
    dense = T.dense_from_slices(tf.constant(np.float32([[1, 2], [3, 4], [5, 6]])), idx, v)
    with tf.Session() as sess:
        np.testing.assert_array_equal(sess.run(dense, {idx: [3, 0, 3]}), [[3, 4], [0, 0], [0, 0], [6, 8]])
        with pytest.raises(errors.InvalidArgumentError, match=r"indices contain 4, not in \[0, 4\)"):
            sess.run(dense, {idx: [0, 4, 1]})
    with pytest.raises(ValueError, match="do not fit indices"):
        T.dense_from_slices(tf.constant(np.ones((3, 3), np.float32)), idx, v)

import numpy as np
import pytest

import graphvar as tf


def test_scatter_update_add_sub_in_place():
    v = tf.Variable(np.zeros((4, 2), np.float32), name="table")
    up = tf.scatter_update(v, [1, 3], [[1.0, 1.0], [3.0, 3.0]])
    add = tf.scatter_add(v, [0, 0, 2], np.ones((3, 2), np.float32))  # repeated indices add up
    sub = tf.scatter_sub(v, tf.constant([3], dtype=tf.int64), [[1.0, 2.0]])
    with tf.Session() as sess:
        sess.run(v.initializer)
        buf = sess._variable_slot(v).value
        np.testing.assert_array_equal(sess.run(up), [[0, 0], [1, 1], [0, 0], [3, 3]])
        sess.run(add)
        np.testing.assert_array_equal(sess.run(sub), [[2, 2], [1, 1], [1, 1], [2, 1]])
        assert sess._variable_slot(v).value is buf


def test_scatter_checks_shapes_and_indices():
    v = tf.Variable(np.zeros((3, 2), np.float32), name="table")
    with pytest.raises(ValueError, match="indices.shape"):
        tf.scatter_update(v, [0, 1], np.ones((2, 3), np.float32))
    with pytest.raises(TypeError, match="indices"):
        tf.scatter_add(v, [0.5], np.ones((1, 2), np.float32))
    idx = tf.placeholder(tf.int32, [None], name="idx")
    bad = tf.scatter_update(v, idx, tf.ones([1, 2]))
    with tf.Session() as sess:
        sess.run(v.initializer)
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"indices contain 7, not in \[0, 3\)"):
            sess.run(bad, {idx: [7]})
        np.testing.assert_array_equal(sess.run(v), np.zeros((3, 2)))  # unchanged
    with tf.Session() as fresh, pytest.raises(tf.errors.FailedPreconditionError):
        fresh.run(bad, {idx: [0]})

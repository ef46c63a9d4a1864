import numpy as np
import pytest

import graphvar as tf


def test_int64_bounds_are_exact_beyond_2_to_53():
    lo = 2**60
    r = tf.random_uniform([1000], lo, lo + 3, dtype=tf.int64, seed=1)
    full = tf.random_uniform([1000], -(2**63), 2**63 - 1, dtype=tf.int64, seed=2)
    with tf.Session() as sess:
        a, b = sess.run([r, full])
    assert set(a.tolist()) == {lo, lo + 1, lo + 2}
    assert b.min() < -(2**62) and b.max() > 2**62


def test_int_bounds_that_do_not_fit_the_dtype_are_rejected():
    with pytest.raises(ValueError, match="does not fit int32"):
        tf.random_uniform([1], 0, 2**40, dtype=tf.int32)
    with pytest.raises(ValueError, match="minval < maxval"):
        tf.random_uniform([1], 3, 3, dtype=tf.int32)


def test_bounds_may_be_constant_tensors():
    r = tf.random_uniform([500], tf.constant(5.0), tf.constant(6.0), seed=4)
    with tf.Session() as sess:
        v = sess.run(r)
    assert v.min() >= 5.0 and v.max() < 6.0
    with pytest.raises(ValueError, match="known when the graph is built"):
        tf.random_normal([2], stddev=tf.placeholder(tf.float32))


def test_same_seed_same_values_across_graphs():
    def draw():
        with tf.Graph().as_default():
            r = tf.truncated_normal([300], seed=11)
            with tf.Session() as sess:
                return sess.run(r)

    np.testing.assert_array_equal(draw(), draw())

import numpy as np
import pytest

import graphvar as tf


def run(x, feed=None):
    with tf.Session() as sess:
        return sess.run(x, feed)


def test_constant_values_dtypes_and_padding():
    assert run(tf.constant(2.5)) == np.float32(2.5)
    assert isinstance(run(tf.constant(2.5)), np.float32)
    np.testing.assert_array_equal(run(tf.constant([1, 2, 3], dtype=tf.int64)), np.array([1, 2, 3], np.int64))
    np.testing.assert_array_equal(run(tf.constant(7, shape=[2, 2])), np.full((2, 2), 7, np.int32))
    # TF1: a short list is padded with its last element
    np.testing.assert_array_equal(run(tf.constant([1, 2], shape=[4])), [1, 2, 2, 2])
    with pytest.raises(TypeError, match="Too many elements"):
        tf.constant([1, 2, 3], shape=[2])
    with pytest.raises(TypeError, match="Expected int32"):
        tf.constant(1.5, dtype=tf.int32)


def test_fetched_constant_is_a_copy():
    c = tf.constant([1.0, 2.0])
    with tf.Session() as sess:
        out = sess.run(c)
        out[0] = 99
        assert sess.run(c)[0] == 1.0


def test_zeros_ones_fill_like():
    np.testing.assert_array_equal(run(tf.zeros([2, 3])), np.zeros((2, 3), np.float32))
    np.testing.assert_array_equal(run(tf.ones([2], dtype=tf.int64)), np.ones(2, np.int64))
    np.testing.assert_array_equal(run(tf.fill([2, 2], 9)), np.full((2, 2), 9, np.int32))
    x = tf.constant([[1.0, 2.0]])
    np.testing.assert_array_equal(run(tf.zeros_like(x)), [[0, 0]])
    np.testing.assert_array_equal(run(tf.ones_like(x)), [[1, 1]])
    assert tf.zeros([3]).op.name == "zeros_1" and tf.ones([3]).op.name == "ones_1"
    with pytest.raises(ValueError, match=">= 0"):
        tf.zeros([-1])


def test_placeholder_must_be_fed():
    x = tf.placeholder(tf.float32, [2], name="x")
    with pytest.raises(tf.errors.InvalidArgumentError, match="You must feed a value for placeholder tensor 'x'"):
        run(x * 2)
    np.testing.assert_array_equal(run(x * 2, {x: [1, 2]}), [2, 4])


def test_identity_reshape_cast():
    x = tf.constant(np.arange(6, dtype=np.float32))
    np.testing.assert_array_equal(run(tf.identity(x)), np.arange(6))
    r = tf.reshape(x, [2, -1])
    assert r.shape.as_list() == [2, 3]
    np.testing.assert_array_equal(run(r), np.arange(6).reshape(2, 3))
    with pytest.raises(ValueError, match="Cannot reshape a tensor with 6 elements"):
        tf.reshape(x, [4], name="bad_reshape")
    c = tf.cast(tf.constant([1.7, -1.7]), tf.int32)
    assert c.dtype == tf.int32
    np.testing.assert_array_equal(run(c), [1, -1])


def test_reshape_error_at_run_time_names_op():
    p = tf.placeholder(tf.float32, name="p")
    r = tf.reshape(p, [4], name="needs_four")
    with pytest.raises(tf.errors.InvalidArgumentError, match="needs_four"):
        run(r, {p: [1.0, 2.0, 3.0]})


def test_slicing():
    x = tf.constant(np.arange(12).reshape(3, 4))
    s = x[1:, ::2]
    assert s.shape.as_list() == [2, 2]
    np.testing.assert_array_equal(run(s), np.arange(12).reshape(3, 4)[1:, ::2])
    np.testing.assert_array_equal(run(x[0]), [0, 1, 2, 3])
    with pytest.raises(ValueError, match="does not fit"):
        x[5]

import numpy as np
import pytest

import graphvar as tf

X = np.arange(6.0, dtype=np.float32).reshape(2, 3)


def run(t, feed=None):
    with tf.Session() as sess:
        return sess.run(t, feed)


def test_shape_size_rank_at_run_time():
    p = tf.placeholder(tf.float32, [None, 3])
    assert tf.shape(p).shape.as_list() == [2]
    np.testing.assert_array_equal(run(tf.shape(p), {p: np.zeros((5, 3))}), [5, 3])
    assert run(tf.size(p), {p: np.zeros((5, 3))}) == 15
    assert run(tf.rank(p), {p: np.zeros((5, 3))}) == 2


def test_transpose_concat_stack_expand_squeeze():
    x = tf.constant(X)
    np.testing.assert_array_equal(run(tf.transpose(x)), X.T)
    np.testing.assert_array_equal(run(tf.transpose(tf.expand_dims(x, 0), [1, 0, 2])), X[:, None, :])
    np.testing.assert_array_equal(run(tf.concat([x, x], 1)), np.concatenate([X, X], 1))
    np.testing.assert_array_equal(run(tf.stack([x, x], axis=1)), np.stack([X, X], 1))
    np.testing.assert_array_equal(run(tf.squeeze(tf.expand_dims(x, -1), [2])), X)
    assert tf.concat([x, x], 0).shape.as_list() == [4, 3]
    with pytest.raises(ValueError, match="must be equal"):
        tf.concat([x, tf.constant(np.zeros((2, 2), np.float32))], 0)
    with pytest.raises(ValueError, match="squeeze"):
        tf.squeeze(x, [0])
    with pytest.raises(ValueError, match="permutation"):
        tf.transpose(x, [0, 0])


def test_argmax_accuracy_pattern():
    y = tf.constant([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]])
    labels = tf.constant([[0.0, 1.0], [0.0, 1.0], [0.0, 1.0]])
    correct = tf.equal(tf.argmax(y, 1), tf.argmax(labels, 1))
    accuracy = tf.reduce_mean(tf.cast(correct, tf.float32))
    assert tf.argmax(y, 1).dtype == tf.int64
    assert abs(run(accuracy) - 2 / 3) < 1e-6
    np.testing.assert_array_equal(run(tf.argmin(y, axis=1)), [0, 1, 0])


def test_expand_dims_of_a_variable_is_copied_on_fetch():
    v = tf.Variable([1.0, 2.0], name="v")
    with tf.Session() as sess:
        sess.run(v.initializer)
        out = sess.run(tf.expand_dims(v, 0))
        out[0, 0] = 50
        assert sess.run(v)[0] == 1.0

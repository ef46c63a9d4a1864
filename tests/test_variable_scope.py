import numpy as np
import pytest

import graphvar as tf


def test_get_variable_names_and_sharing():
    with tf.variable_scope("layer1"):
        w = tf.get_variable("w", [3, 2], initializer=tf.zeros_initializer())
        c = tf.constant(1.0, name="c")
    assert w.op.name == "layer1/w" and c.op.name == "layer1/c"
    with tf.variable_scope("layer1", reuse=True):
        assert tf.get_variable("w", [3, 2]) is w
        with pytest.raises(ValueError, match="does not exist"):
            tf.get_variable("missing", [1])
    with tf.variable_scope("layer1"):
        with pytest.raises(ValueError, match="already exists"):
            tf.get_variable("w", [3, 2])
    with tf.variable_scope("layer1", reuse=tf.AUTO_REUSE):
        assert tf.get_variable("w") is w
        with pytest.raises(ValueError, match="specified shape"):
            tf.get_variable("w", [5])
        new = tf.get_variable("b", [2], initializer=tf.ones_initializer())
    assert new.op.name == "layer1/b"


def test_reuse_variables_and_nesting():
    with tf.variable_scope("outer") as scope:
        with tf.variable_scope("inner"):
            v = tf.get_variable("v", [1])
        scope.reuse_variables()
        with tf.variable_scope("inner"):
            assert tf.get_variable("v", [1]) is v
    assert v.op.name == "outer/inner/v"
    with tf.variable_scope(scope, reuse=True):
        with tf.variable_scope("inner"):
            assert tf.get_variable("v") is v


def test_initializers_values_and_defaults():
    tf.set_random_seed(3)
    a = tf.get_variable("a", [2, 2], initializer=tf.constant_initializer(7.0))
    b = tf.get_variable("b", [100, 50])  # glorot uniform by default
    n = tf.get_variable("n", [2000], initializer=tf.truncated_normal_initializer(stddev=0.1))
    i = tf.get_variable("i", [3], dtype=tf.int32)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        av, bv, nv, iv = sess.run([a, b, n, i])
    np.testing.assert_array_equal(av, np.full((2, 2), 7.0))
    limit = np.sqrt(6.0 / 150)
    assert np.abs(bv).max() <= limit and bv.std() > limit / 3
    assert np.abs(nv).max() <= 0.2 + 1e-6
    np.testing.assert_array_equal(iv, [0, 0, 0])
    with pytest.raises(ValueError, match="must be fully defined"):
        tf.get_variable("nos", initializer=tf.zeros_initializer())


def test_global_step_helpers():
    step = tf.train.get_or_create_global_step()
    assert tf.train.get_or_create_global_step() is step and step.op.name == "global_step" and step.dtype == tf.int64
    assert not step.trainable and tf.train.get_global_step() is step
    with tf.Session() as sess:
        sess.run(step.initializer)
        sess.run(step.assign_add(5))
        assert tf.train.global_step(sess, step) == 5
    with pytest.raises(ValueError, match="already exists"):
        tf.train.create_global_step()


def test_meta_graph_of_a_missing_file_names_it():  # meta graphs themselves: tests/train/test_meta_graph.py
    with pytest.raises(OSError, match="nope.meta"):
        tf.train.import_meta_graph("/nonexistent/nope.meta")

"""tf.cond / tf.case: only the taken branch runs; values, structures, errors and gradients."""

from __future__ import annotations

import numpy as np
import pytest

import graphvar as tf
from tests.gradcheck import check_gradients


def test_cond_picks_the_branch_at_run_time():
    p = tf.placeholder(tf.bool, [])
    x = tf.constant(3.0)
    y = tf.cond(p, lambda: x * 2.0, lambda: x - 1.0)
    assert y.shape.as_list() == [] and y.dtype == tf.float32
    with tf.Session() as sess:
        assert sess.run(y, {p: True}) == 6.0
        assert sess.run(y, {p: False}) == 2.0


def test_the_untaken_branch_does_not_run():
    v = tf.Variable(0.0)
    p = tf.placeholder(tf.bool, [])
    x = tf.placeholder(tf.float32, [])
    y = tf.cond(p, lambda: tf.identity(v.assign_add(1.0)), lambda: x * 2.0)
    with tf.Session() as sess:
        sess.run(v.initializer)
        assert sess.run(y, {p: True, x: 0.0}) == 1.0
        assert sess.run(y, {p: False, x: 5.0}) == 10.0
        assert sess.run(v) == 1.0  # the assign ran once, in the run that took its branch
        # as in TF, tensors the branches read from outside (x) are inputs of the cond: they must be fed
        with pytest.raises(tf.errors.InvalidArgumentError, match="Placeholder"):
            sess.run(y, {p: True})


def test_structures_shapes_and_fn1_fn2():
    p = tf.constant(False)
    a, b = tf.cond(p, lambda: (tf.zeros([2, 3]), tf.constant(1)), lambda: (tf.ones([2, 3]), tf.constant(2)))
    d = tf.cond(p, fn1=lambda: {"k": tf.zeros([4])}, fn2=lambda: {"k": tf.ones([5])})
    assert a.shape.as_list() == [2, 3] and b.dtype == tf.int32
    assert d["k"].shape.as_list() == [None]  # the branches disagree: unknown
    single = tf.cond(p, lambda: [tf.constant(1.0)], lambda: [tf.constant(2.0)])
    strict = tf.cond(p, lambda: [tf.constant(1.0)], lambda: [tf.constant(2.0)], strict=True)
    with tf.Session() as sess:
        av, bv, dv, sv, stv = sess.run([a, b, d, single, strict])
    np.testing.assert_array_equal(av, np.ones((2, 3)))
    assert bv == 2 and dv["k"].shape == (5,) and sv == 2.0 and stv == [2.0]


def test_errors_name_the_cause():
    x = tf.constant(1.0)
    with pytest.raises(TypeError, match="Python bool"):
        tf.cond(True, lambda: x, lambda: x)
    with pytest.raises(TypeError, match="callable"):
        tf.cond(tf.constant(True), x, lambda: x)
    with pytest.raises(ValueError, match="same type"):
        tf.cond(tf.constant(True), lambda: x, lambda: tf.constant(1))
    with pytest.raises(ValueError, match="same structure"):
        tf.cond(tf.constant(True), lambda: (x, x), lambda: x)
    with pytest.raises(ValueError, match="bool scalar"):
        tf.cond(tf.constant([True, False]), lambda: x, lambda: x)


def test_case_takes_the_first_true_predicate():
    i = tf.placeholder(tf.int32, [])
    out = tf.case([(tf.equal(i, 0), lambda: tf.constant(10)), (tf.equal(i, 1), lambda: tf.constant(20))],
                  default=lambda: tf.constant(-1))  # fmt: skip
    with tf.Session() as sess:
        assert [sess.run(out, {i: k}) for k in (0, 1, 7)] == [10, 20, -1]


@pytest.mark.parametrize("take", [True, False])
def test_gradients_through_cond(take):
    def build(a, b):
        return tf.cond(
            tf.constant(take), lambda: tf.sin(a) * b if hasattr(tf, "sin") else a * a * b, lambda: a * 3.0 + b * b
        )

    rng = np.random.default_rng(1)
    check_gradients(build, [rng.uniform(-1, 1, (2, 3)), rng.uniform(-1, 1, (2, 3))])


def test_backprop_does_not_evaluate_the_untaken_branch():
    w = tf.Variable([1.0, 2.0])
    calls = tf.Variable(0.0)
    p = tf.placeholder(tf.bool, [])
    y = tf.reduce_sum(tf.cond(p, lambda: w * w, lambda: w * (3.0 + 0.0 * calls.assign_add(1.0))))
    (g,) = tf.gradients(y, w)
    train = tf.train.GradientDescentOptimizer(0.5).minimize(y, var_list=[w])
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        np.testing.assert_allclose(sess.run(g, {p: True}), [2.0, 4.0])
        sess.run(train, {p: True})
        np.testing.assert_allclose(sess.run(w), [0.0, 0.0])
        assert sess.run(calls) == 0.0  # neither the forward nor the backward pass ran the false branch
        np.testing.assert_allclose(sess.run(g, {p: False}), [3.0, 3.0])
        assert sess.run(calls) == 1.0


def test_dropout_under_a_training_flag():
    x = tf.ones([4, 8])
    training = (
        tf.placeholder_with_default(False, [])
        if hasattr(tf, "placeholder_with_default")
        else tf.placeholder(tf.bool, [])
    )
    y = tf.cond(training, lambda: tf.nn.dropout(x, keep_prob=0.5, seed=3), lambda: x)
    feed = {} if hasattr(tf, "placeholder_with_default") else {training: False}
    with tf.Session() as sess:
        np.testing.assert_array_equal(sess.run(y, feed), np.ones((4, 8)))
        dropped = sess.run(y, {training: True})
    assert set(np.unique(dropped)) <= {0.0, 2.0}

"""placeholder_with_default, Print, Assert / assert_*, check_numerics, add_check_numerics_ops, is_nan, is_inf."""

from __future__ import annotations

import numpy as np
import pytest

import graphvar as tf
from tests.gradcheck import check_gradients


def test_placeholder_with_default():
    with tf.Graph().as_default():
        p = tf.placeholder_with_default(tf.constant([1.0, 2.0]), shape=[None], name="p")
        assert p.op.type == "PlaceholderWithDefault" and p.shape.as_list() == [None]
        y = p * 2.0
        with tf.Session() as sess:
            np.testing.assert_array_equal(sess.run(y), [2.0, 4.0])
            np.testing.assert_array_equal(sess.run(y, {p: [5.0, 6.0, 7.0]}), [10.0, 12.0, 14.0])
        with pytest.raises(ValueError, match="PlaceholderWithDefault"):
            tf.placeholder_with_default([1.0, 2.0], shape=[3])
    check_gradients(lambda x: tf.placeholder_with_default(x, [2, 3]) ** 2, [np.arange(6.0).reshape(2, 3)])


def test_print_writes_to_stderr_and_passes_gradient(capfd):
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [4])
        y = tf.Print(x, [x, "shape:", tf.shape(x)], message="x: ", first_n=2, summarize=2)
        with tf.Session() as sess:
            for _ in range(3):
                np.testing.assert_array_equal(sess.run(y, {x: [1.5, 2.0, 3.0, 0.25]}), [1.5, 2.0, 3.0, 0.25])
    err = capfd.readouterr().err
    assert err.count("x: [1.5 2...][shape:][4]\n") == 2  # first_n=2: the third run prints nothing
    check_gradients(lambda x: tf.Print(x * 3.0, [x]), [np.array([1.0, -2.0])])


def test_assert_ops_raise_invalid_argument_naming_the_assertion():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.int32, [3])
        checks = {
            "assert_equal": tf.assert_equal(x, [1, 2, 3]),
            "assert_less": tf.assert_less(x, 4),
            "assert_greater": tf.debugging.assert_greater(x, 0),
            "assert_non_negative": tf.assert_non_negative(x),
            "assert_positive": tf.debugging.assert_positive(x, message="must be positive"),
        }
        with tf.control_dependencies([checks["assert_equal"]]):
            y = tf.identity(x)
        with tf.Session() as sess:
            sess.run(list(checks.values()), {x: [1, 2, 3]})
            np.testing.assert_array_equal(sess.run(y, {x: [1, 2, 3]}), [1, 2, 3])
            with pytest.raises(tf.errors.InvalidArgumentError, match=r"assert_equal/Assert.*") as e:
                sess.run(y, {x: [1, 2, 4]})
            assert "Condition x == y did not hold element-wise:" in e.value.message and "[1 2 4]" in e.value.message
            with pytest.raises(tf.errors.InvalidArgumentError, match=r"(?s)\[must be positive\].*assert_positive"):
                sess.run(checks["assert_positive"], {x: [1, 0, 3]})
            with pytest.raises(tf.errors.InvalidArgumentError, match="assert_less"):
                sess.run(checks["assert_less"], {x: [1, 5, 3]})


def test_assert_rank_static_and_dynamic():
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match="must have rank 2"):
            tf.assert_rank(tf.zeros([3]), 2)
        tf.assert_rank(tf.zeros([3, 1]), 2)  # known and right: nothing to run
        p = tf.placeholder(tf.float32)
        check = tf.assert_rank(p, 1)
        with tf.Session() as sess:
            sess.run(check, {p: [1.0]})
            with pytest.raises(tf.errors.InvalidArgumentError, match="must have rank"):
                sess.run(check, {p: [[1.0]]})


def test_check_numerics():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [2])
        y = tf.check_numerics(x * 2.0, "doubled")
        with tf.Session() as sess:
            np.testing.assert_array_equal(sess.run(y, {x: [1.0, 2.0]}), [2.0, 4.0])
            for value, what in (([np.nan, 1.0], "NaN"), ([np.inf, 1.0], "Inf"), ([np.nan, -np.inf], "NaN and Inf")):
                with pytest.raises(tf.errors.InvalidArgumentError, match=f"doubled : Tensor had {what} values"):
                    sess.run(y, {x: value})
        g = tf.gradients(tf.reduce_sum(tf.check_numerics(x, "x") * np.inf), x)[0]
        with tf.Session() as sess, pytest.raises(tf.errors.InvalidArgumentError, match="detected in gradient"):
            sess.run(g, {x: [1.0, 2.0]})
    check_gradients(lambda x: tf.check_numerics(x * x, "sq"), [np.array([1.0, -3.0])])


def test_add_check_numerics_ops():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [2], name="x")
        tf.log(x, name="logx")
        check = tf.add_check_numerics_ops()
        with tf.Session() as sess:
            sess.run(check, {x: [1.0, 2.0]})
            with pytest.raises(tf.errors.InvalidArgumentError, match="logx:0 : Tensor had (NaN|Inf) values"):
                sess.run(check, {x: [-1.0, 2.0]})


def test_is_nan_is_inf_match_numpy():
    values = np.array([0.0, np.nan, np.inf, -np.inf, 1e38, -1.0], np.float32)
    with tf.Graph().as_default(), tf.Session() as sess:
        nan, inf, fin = sess.run([tf.is_nan(values), tf.is_inf(values), tf.debugging.is_finite(values)])
    np.testing.assert_array_equal(nan, np.isnan(values))
    np.testing.assert_array_equal(inf, np.isinf(values))
    np.testing.assert_array_equal(fin, np.isfinite(values))
    with tf.Graph().as_default(), pytest.raises(TypeError, match="IsNan"):
        tf.is_nan(tf.constant([1, 2]))

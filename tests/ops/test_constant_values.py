"""Issue 12: constants copy the caller's array; out-of-range values raise (or infer uint64, as TF)."""

from __future__ import annotations

import numpy as np
import pytest

import graphvar as tf


def test_constant_and_variable_copy_the_callers_array():
    arr = np.ones(3, np.float32)
    c = tf.constant(arr)
    v = tf.Variable(arr)
    arr *= 0.5  # the caller's array stays writable
    base = np.arange(6.0)
    view_const = tf.constant(base[:3])
    base[0] = 9.0  # a constant made from a view does not follow its base
    with tf.Session() as sess:
        sess.run(v.initializer)
        np.testing.assert_array_equal(sess.run(c), np.ones(3))
        np.testing.assert_array_equal(sess.run(v), np.ones(3))
        np.testing.assert_array_equal(sess.run(view_const), [0.0, 1.0, 2.0])


def test_python_ints_beyond_int64_are_uint64_or_refused_as_tf():
    big = tf.constant(2**63)
    assert big.dtype == tf.uint64
    with tf.Session() as sess:
        assert int(sess.run(big)) == 2**63
    for value in (2**64, -(2**63) - 1):
        with pytest.raises(TypeError, match="out of range"):
            tf.constant(value)
    assert tf.constant(2**63 - 1).dtype == tf.int64


@pytest.mark.parametrize(
    "value,dtype",
    [(1e20, tf.int32), (2.0**31, tf.int32), (2.0**63, tf.int64), (2**63, tf.int64), (-3.0, tf.uint8),
     (np.float64(1e20), tf.int32), (np.array([1.0, 1e20]), tf.int32)],
)  # fmt: skip
def test_values_out_of_range_of_the_dtype_raise(value, dtype):
    with pytest.raises(TypeError, match=f"out of range for dtype {dtype.name}"):
        tf.constant(value, dtype)


def test_values_in_range_still_convert():
    assert tf.constant(2.0**31 - 1, tf.int32).op.get_attr("value") == 2**31 - 1
    assert tf.constant(-(2.0**31), tf.int32).op.get_attr("value") == -(2**31)
    assert tf.constant(2**63, tf.uint64).op.get_attr("value") == 2**63

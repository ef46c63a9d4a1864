"""Fetching a fed tensor returns what TF returns: bytes for a string scalar, NumPy scalars for 0-d numbers."""

import numpy as np

import graphvar as tf


def test_fed_string_scalar_is_bytes():
    s = tf.placeholder(tf.string, [])
    with tf.Session() as sess:
        out = sess.run(s, {s: "x"})
        assert out == b"x" and type(out) is bytes
        assert sess.run(s, {s: b"\xff"}) == b"\xff"


def test_fed_string_vector_and_numeric_scalar():
    s = tf.placeholder(tf.string, [None])
    x = tf.placeholder(tf.float32, [])
    with tf.Session() as sess:
        strings, value = sess.run([s, x], {s: ["a", "bc"], x: 2.5})
    assert strings.dtype == object and strings.tolist() == [b"a", b"bc"]
    assert isinstance(value, np.float32) and value == 2.5

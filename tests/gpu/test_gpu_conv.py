"""Convolution and pooling on a real GPU (cuDNN when CuPy has it, else im2col on the device) against
the host kernels: the same graph built under the default device (/gpu:0) and under /cpu:0."""

from __future__ import annotations

import numpy as np
import pytest

cupy = pytest.importorskip("cupy")

import graphvar as tf  # noqa: E402

pytestmark = pytest.mark.gpu
RNG = np.random.default_rng(2)


def both(make):
    on_gpu = make()
    with tf.device("/cpu:0"):
        on_host = make()
    return on_gpu, on_host


CASES = [
    ((2, 9, 8, 3), (3, 3, 3, 4), [1, 1, 1, 1], "SAME", [1, 1, 1, 1], "NHWC"),
    ((2, 9, 8, 3), (4, 3, 3, 5), [1, 2, 2, 1], "SAME", [1, 1, 1, 1], "NHWC"),  # asymmetric SAME padding
    ((2, 9, 8, 3), (3, 3, 3, 2), [1, 1, 2, 1], "VALID", [1, 1, 1, 1], "NHWC"),
    ((1, 11, 10, 2), (3, 3, 2, 2), [1, 1, 1, 1], "SAME", [1, 2, 2, 1], "NHWC"),
    ((2, 3, 9, 8), (3, 3, 3, 4), [1, 1, 2, 2], "SAME", [1, 1, 1, 1], "NCHW"),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("xs, fs, strides, padding, dil, fmt", CASES)
def test_conv2d_and_gradients_match_the_host(xs, fs, strides, padding, dil, fmt, dtype):
    xv, wv = RNG.standard_normal(xs).astype(dtype), RNG.standard_normal(fs).astype(dtype)

    def make():
        x, w = tf.constant(xv), tf.constant(wv)
        y = tf.nn.conv2d(x, w, strides, padding, data_format=fmt, dilations=dil)
        return [y, *tf.gradients(tf.reduce_sum(y * y), [x, w])]

    gpu, host = both(make)
    with tf.Session() as sess:
        got, want = sess.run([gpu, host])
    tol = 1e-4 if dtype == np.float32 else 1e-10
    for g, h in zip(got, want):
        np.testing.assert_allclose(g, h, rtol=tol, atol=tol * np.abs(h).max())


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("padding", ["SAME", "VALID"])
def test_pooling_and_depthwise_match_the_host(kind, padding):
    xv = RNG.permutation(2 * 7 * 7 * 3).reshape(2, 7, 7, 3).astype(np.float32)
    wv = RNG.standard_normal((3, 3, 3, 2)).astype(np.float32)
    pool = tf.nn.max_pool if kind == "max" else tf.nn.avg_pool

    def make():
        x = tf.constant(xv)
        p = pool(x, [1, 3, 3, 1], [1, 2, 2, 1], padding)
        d = tf.nn.depthwise_conv2d(x, tf.constant(wv), [1, 1, 1, 1], padding)
        return [p, d, *tf.gradients(tf.reduce_sum(p * p) + tf.reduce_sum(d * d), [x])]

    gpu, host = both(make)
    with tf.Session() as sess:
        got, want = sess.run([gpu, host])
    for g, h in zip(got, want):
        np.testing.assert_allclose(g, h, rtol=1e-4, atol=1e-3)

"""Gradients of the convolution and pooling ops against float64 central finite differences."""

import numpy as np
import pytest

import graphvar as tf
from tests.gradcheck import check_gradients

RNG = np.random.default_rng(11)


def _n(*shape):
    return RNG.standard_normal(shape)


@pytest.mark.parametrize("fmt", ["NHWC", "NCHW"])
@pytest.mark.parametrize(
    "xs, fs, strides, padding, dil",
    [
        ((2, 5, 4, 2), (3, 3, 2, 3), (1, 1), "SAME", (1, 1)),
        ((1, 6, 5, 2), (3, 2, 2, 2), (2, 2), "SAME", (1, 1)),
        ((1, 6, 6, 2), (2, 2, 2, 2), (2, 1), "VALID", (1, 1)),
        ((1, 7, 6, 1), (3, 2, 1, 2), (1, 1), "SAME", (2, 2)),
    ],
)  # fmt: skip
def test_conv2d_gradients(xs, fs, strides, padding, dil, fmt):
    x = _n(*xs) if fmt == "NHWC" else _n(*xs).transpose(0, 3, 1, 2).copy()
    s4 = [1, *strides, 1] if fmt == "NHWC" else [1, 1, *strides]
    d4 = [1, *dil, 1] if fmt == "NHWC" else [1, 1, *dil]
    check_gradients(lambda a, b: tf.nn.conv2d(a, b, s4, padding, data_format=fmt, dilations=d4), [x, _n(*fs)])


def test_conv2d_gradient_with_unknown_batch():
    check_gradients(lambda a, b: tf.nn.conv2d(a, b, [1, 1, 1, 1], "SAME"), [_n(3, 4, 4, 1), _n(3, 3, 1, 2)],
                    shapes=[[None, 4, 4, 1], [3, 3, 1, 2]])  # fmt: skip


def test_conv2d_transpose_gradients():
    def build(x, w):
        return tf.nn.conv2d_transpose(x, w, [1, 6, 6, 3], [1, 2, 2, 1], "SAME")

    check_gradients(build, [_n(1, 3, 3, 2), _n(3, 3, 3, 2)])


def test_backprop_filter_gradients():
    def build(x, dy):
        return tf.nn.conv2d_backprop_filter(x, [2, 2, 2, 3], dy, [1, 1, 1, 1], "SAME")

    check_gradients(build, [_n(1, 4, 4, 2), _n(1, 4, 4, 3)])


@pytest.mark.parametrize("fmt", ["NHWC", "NCHW"])
@pytest.mark.parametrize("k, strides, padding", [((2, 2), (2, 2), "SAME"), ((3, 3), (2, 2), "SAME"),
                                                 ((3, 2), (1, 2), "VALID")])  # fmt: skip
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pool_gradients(k, strides, padding, fmt, kind):
    # distinct values spaced well apart: the finite difference never moves a maximum to another tap
    x = RNG.permutation(2 * 5 * 5 * 2).reshape(2, 5, 5, 2).astype(np.float64) * 0.1
    if fmt == "NCHW":
        x = x.transpose(0, 3, 1, 2).copy()
    k4 = [1, *k, 1] if fmt == "NHWC" else [1, 1, *k]
    s4 = [1, *strides, 1] if fmt == "NHWC" else [1, 1, *strides]
    fn = tf.nn.max_pool if kind == "max" else tf.nn.avg_pool
    check_gradients(lambda a: fn(a, k4, s4, padding, data_format=fmt), [x], h=1e-4)


def test_max_pool_gradient_goes_to_the_first_maximum_only():
    x = tf.constant(np.ones((1, 2, 2, 1)))
    (g,) = tf.gradients(tf.reduce_sum(tf.nn.max_pool(x, [1, 2, 2, 1], [1, 2, 2, 1], "VALID")), [x])
    with tf.Session() as sess:
        np.testing.assert_array_equal(sess.run(g)[0, :, :, 0], [[1.0, 0.0], [0.0, 0.0]])


@pytest.mark.parametrize("strides, padding, rate", [((1, 1), "SAME", None), ((2, 2), "VALID", None),
                                                    ((1, 1), "SAME", [2, 1])])  # fmt: skip
def test_depthwise_conv2d_gradients(strides, padding, rate):
    def build(x, w):
        return tf.nn.depthwise_conv2d(x, w, [1, *strides, 1], padding, rate=rate)

    check_gradients(build, [_n(1, 5, 5, 2), _n(2, 3, 2, 2)])

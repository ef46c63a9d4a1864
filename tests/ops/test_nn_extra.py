"""tf.norm, tf.nn.xw_plus_b / zero_fraction / lrn / conv1d / separable_conv2d, tf.layers.conv1d: values
against NumPy references written here (LRN also against TensorFlow's, tests/fixtures/tf_extra.npz) and
gradients against float64 central differences."""

from __future__ import annotations

import numpy as np
import pytest

import graphvar as tf
from tests.fixtures import make_tf_extra_fixtures as fx
from tests.fixtures.make_tf_optimizer_fixtures import key
from tests.gradcheck import check_gradients

RNG = np.random.default_rng(3)


def run(t, feed=None):
    with tf.Session() as sess:
        return sess.run(t, feed)


@pytest.mark.parametrize(("ord_", "axis"), [("euclidean", None), (1, None), (np.inf, 1), (3, 0), (2, -1),
                                             ("fro", (0, 1)), (1, (0, 1)), (np.inf, (0, 1))])  # fmt: skip
def test_norm_matches_numpy(ord_, axis):
    x = RNG.standard_normal((3, 4))
    with tf.Graph().as_default():
        got = run(tf.norm(x, ord=ord_, axis=list(axis) if isinstance(axis, tuple) else axis))
    if axis is None:
        want = np.linalg.norm(x.reshape(-1), 2 if ord_ == "euclidean" else ord_)
    else:
        want = np.linalg.norm(x, "fro" if ord_ == "fro" else ord_, axis=axis)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    check_gradients(lambda t: tf.norm(t, ord=ord_, axis=list(axis) if isinstance(axis, tuple) else axis), [x])


def test_norm_keepdims_and_errors():
    with tf.Graph().as_default():
        assert tf.norm(tf.zeros([2, 3]), axis=1, keepdims=True).shape.as_list() == [2, 1]
        with pytest.raises(ValueError, match="ord"):
            tf.norm(tf.zeros([2, 3]), ord=2, axis=[0, 1])
        with pytest.raises(ValueError, match="ord"):
            tf.norm(tf.zeros([2]), ord=-1)


def test_xw_plus_b_and_zero_fraction():
    x, w, b = RNG.standard_normal((2, 3)), RNG.standard_normal((3, 4)), RNG.standard_normal(4)
    with tf.Graph().as_default():
        y = tf.nn.xw_plus_b(x, w, b)
        assert y.op.type == "BiasAdd" and y.op.name == "xw_plus_b"
        np.testing.assert_allclose(run(y), x @ w + b, rtol=1e-12)
        z = tf.nn.zero_fraction(tf.constant([0.0, 1.0, 0.0, 2.0]))
        assert z.dtype == tf.float32 and run(z) == 0.5
    check_gradients(lambda a, m, c: tf.nn.xw_plus_b(a, m, c), [x, w, b])


def lrn_reference(x: np.ndarray, r: int, bias: float, alpha: float, beta: float) -> np.ndarray:
    depth = x.shape[-1]
    out = np.empty_like(x)
    for d in range(depth):
        lo, hi = max(0, d - r), min(depth, d + r + 1)
        sqr = (x[..., lo:hi] ** 2).sum(-1)
        out[..., d] = x[..., d] / (bias + alpha * sqr) ** beta
    return out


@pytest.mark.parametrize("case", list(fx.LRN_CASES))
def test_lrn_matches_reference_and_tensorflow(case):
    _, r, bias, alpha, beta = fx.LRN_CASES[case]
    x, w = fx.lrn_inputs(case)
    F = np.load(fx.NPZ, allow_pickle=False)
    with tf.Graph().as_default():
        xt = tf.constant(x)
        y = tf.nn.local_response_normalization(xt, r, bias, alpha, beta)
        g = tf.gradients(tf.reduce_sum(y * w), xt)[0]
        out, grad = run([y, g])
    np.testing.assert_allclose(out, lrn_reference(x.astype(np.float64), r, bias, alpha, beta), rtol=1e-5)
    np.testing.assert_allclose(out, F[key("lrn", case, "out")], rtol=2e-6, atol=1e-7)
    np.testing.assert_allclose(grad, F[key("lrn", case, "grad")], rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize(("r", "bias", "alpha", "beta"), [(2, 1.0, 0.5, 0.75), (1, 2.0, 1.0, 0.5), (5, 1.0, 1.0, 0.5)])
def test_lrn_gradient(r, bias, alpha, beta):
    x = RNG.standard_normal((1, 2, 2, 6))
    check_gradients(lambda t: tf.nn.lrn(t, r, bias, alpha, beta), [x])


def conv1d_reference(x: np.ndarray, f: np.ndarray, stride: int, padding: str) -> np.ndarray:
    n, width, _ = x.shape
    k = f.shape[0]
    if padding == "SAME":
        out_w = -(-width // stride)
        pad = max((out_w - 1) * stride + k - width, 0)
        x = np.pad(x, ((0, 0), (pad // 2, pad - pad // 2), (0, 0)))
    else:
        out_w = (width - k) // stride + 1
    return np.stack([np.einsum("nkc,kco->no", x[:, i * stride : i * stride + k], f) for i in range(out_w)], 1)


@pytest.mark.parametrize(("stride", "padding"), [(1, "VALID"), (2, "SAME"), (1, "SAME")])
def test_conv1d(stride, padding):
    x, f = RNG.standard_normal((2, 7, 3)), RNG.standard_normal((3, 3, 4))
    with tf.Graph().as_default():
        y = tf.nn.conv1d(x, f, stride, padding)
        np.testing.assert_allclose(run(y), conv1d_reference(x, f, stride, padding), rtol=1e-10)
    check_gradients(lambda a, b: tf.nn.conv1d(a, b, stride=stride, padding=padding), [x, f])


def test_layers_conv1d_names_and_shapes():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None, 10, 3])
        y = tf.layers.conv1d(x, 5, 3, strides=2, padding="same", activation=tf.nn.relu)
        z = tf.layers.conv1d(y, 2, 2)
        assert y.shape.as_list() == [None, 5, 5] and z.shape.as_list() == [None, 4, 2]
        names = [(v.op.name, v.shape.as_list()) for v in tf.trainable_variables()]
        assert names == [("conv1d/kernel", [3, 3, 5]), ("conv1d/bias", [5]), ("conv1d_1/kernel", [2, 5, 2]),
                         ("conv1d_1/bias", [2])]  # fmt: skip


def separable_reference(x: np.ndarray, dw: np.ndarray, pw: np.ndarray) -> np.ndarray:
    n, h, w, c = x.shape
    kh, kw, _, m = dw.shape
    oh, ow = h - kh + 1, w - kw + 1
    depth = np.zeros((n, oh, ow, c * m))
    for i in range(oh):
        for j in range(ow):
            patch = x[:, i : i + kh, j : j + kw, :]
            depth[:, i, j] = np.einsum("nhwc,hwcm->ncm", patch, dw).reshape(n, c * m)
    return np.einsum("nijk,ko->nijo", depth, pw[0, 0])


def test_separable_conv2d():
    x, dw, pw = RNG.standard_normal((1, 4, 5, 2)), RNG.standard_normal((2, 2, 2, 2)), RNG.standard_normal((1, 1, 4, 3))
    with tf.Graph().as_default():
        y = tf.nn.separable_conv2d(x, dw, pw, [1, 1, 1, 1], "VALID")
        np.testing.assert_allclose(run(y), separable_reference(x, dw, pw), rtol=1e-10)
        with pytest.raises(ValueError, match="pointwise"):
            tf.nn.separable_conv2d(x, dw, np.zeros((1, 1, 3, 3)), [1, 1, 1, 1], "VALID")
    check_gradients(lambda a, b, c: tf.nn.separable_conv2d(a, b, c, [1, 1, 1, 1], "VALID"), [x, dw, pw])

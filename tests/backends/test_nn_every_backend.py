"""tf.nn, convolution and pooling under every backend (tests/backends/conftest.py ``device``): one body,
built on the backend's device and on /cpu:0 in one Session, compared with the NumPy result. NumPy and the
fake CuPy run the same array code, so they must equal the host exactly; a real GPU (cuDNN, CuPy's own
kernels) within the tolerances below. Every op, gradients included, must run on the device's own table.

Replaces tests/gpu/test_gpu_nn_ops.py, tests/gpu/test_gpu_conv.py and tests/backends/test_conv_fake_gpu.py.
"""

from __future__ import annotations

import numpy as np
import pytest

import graphvar as tf
from tests.backends.conftest import on_device_and_host

RNG = np.random.default_rng(0)
X = RNG.normal(size=(8, 6)).astype(np.float32)
LABELS = np.eye(6, dtype=np.float32)[RNG.integers(0, 6, 8)]

BUILDERS = {
    "relu6": lambda: tf.nn.relu6(X * 4),
    "elu": lambda: tf.nn.elu(X),
    "selu": lambda: tf.nn.selu(X),
    "softplus": lambda: tf.nn.softplus(X),
    "log_softmax": lambda: tf.nn.log_softmax(X),
    "bias_add": lambda: tf.nn.bias_add(X, np.arange(6, dtype=np.float32)),
    "l2_loss": lambda: tf.nn.l2_loss(X),
    "xent": lambda: tf.nn.softmax_cross_entropy_with_logits_v2(labels=LABELS, logits=X),
    "sparse_xent": lambda: tf.nn.sparse_softmax_cross_entropy_with_logits(labels=LABELS.argmax(1), logits=X),
    "top_k": lambda: tf.nn.top_k(X, 3)[1],
    "in_top_k": lambda: tf.nn.in_top_k(X, LABELS.argmax(1).astype(np.int32), 2),
    "gather": lambda: tf.gather(X, [3, 1, 3]),
    "one_hot": lambda: tf.one_hot([1, 5, 0], 6),
    "pad": lambda: tf.pad(X, [[1, 0], [0, 2]]),
    "cumsum": lambda: tf.cumsum(X, 1, exclusive=True),
    "einsum": lambda: tf.einsum("ij,kj->ik", X, X),
    "erf": lambda: tf.erf(X),
    "dropout": lambda: tf.nn.dropout(X, rate=0.3, seed=4),
}

CONV_CASES = [
    ((2, 9, 8, 3), (3, 3, 3, 4), [1, 1, 1, 1], "SAME", [1, 1, 1, 1], "NHWC"),
    ((2, 9, 8, 3), (4, 3, 3, 5), [1, 2, 2, 1], "SAME", [1, 1, 1, 1], "NHWC"),  # asymmetric SAME padding
    ((2, 9, 8, 3), (3, 3, 3, 2), [1, 1, 2, 1], "VALID", [1, 1, 1, 1], "NHWC"),
    ((1, 11, 10, 2), (3, 3, 2, 2), [1, 1, 1, 1], "SAME", [1, 2, 2, 1], "NHWC"),
    ((2, 3, 9, 8), (3, 3, 3, 4), [1, 1, 2, 2], "SAME", [1, 1, 1, 1], "NCHW"),
]


def _real_gpu(device: str) -> bool:
    import sys

    module = sys.modules.get("cupy")
    return device.startswith("/gpu") and module is not None and getattr(module, "__fake__", None) is None


def assert_matches_host(device: str, got: list, want: list, rtol: float, atol_scale: float | None = None) -> None:
    """Exactly the host's on NumPy and the fake CuPy; within rtol (and atol, scaled by |want|) on a GPU."""
    for g, h in zip(got, want):
        if not _real_gpu(device):
            np.testing.assert_array_equal(g, h)
        else:
            atol = rtol * np.abs(h).max() if atol_scale is None else atol_scale
            np.testing.assert_allclose(g, h, rtol=rtol, atol=atol)


def _run(device: str, make) -> tuple[list, list]:
    on_device, on_host = on_device_and_host(make, device)
    with tf.Session() as sess:
        got, want = sess.run([on_device, on_host])
        assert sess.host_fallbacks == {}  # every op, gradients included, ran on the device's table
    return got, want


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_nn_ops_match_the_host(device, name):
    got, want = _run(device, lambda: [BUILDERS[name]()])
    assert_matches_host(device, got, want, rtol=2e-6, atol_scale=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("xs, fs, strides, padding, dil, fmt", CONV_CASES)
def test_conv2d_and_gradients_match_the_host(device, xs, fs, strides, padding, dil, fmt, dtype):
    rng = np.random.default_rng(2)
    xv, wv = rng.standard_normal(xs).astype(dtype), rng.standard_normal(fs).astype(dtype)

    def make():
        x, w = tf.constant(xv), tf.constant(wv)
        y = tf.nn.conv2d(x, w, strides, padding, data_format=fmt, dilations=dil)
        return [y, *tf.gradients(tf.reduce_sum(y * y), [x, w])]

    got, want = _run(device, make)
    assert_matches_host(device, got, want, rtol=1e-4 if dtype == np.float32 else 1e-10)


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("padding", ["SAME", "VALID"])
def test_pooling_and_depthwise_match_the_host(device, kind, padding):
    rng = np.random.default_rng(2)
    xv = rng.permutation(2 * 7 * 7 * 3).reshape(2, 7, 7, 3).astype(np.float32)
    wv = rng.standard_normal((3, 3, 3, 2)).astype(np.float32)
    pool = tf.nn.max_pool if kind == "max" else tf.nn.avg_pool

    def make():
        x = tf.constant(xv)
        p = pool(x, [1, 3, 3, 1], [1, 2, 2, 1], padding)
        d = tf.nn.depthwise_conv2d(x, tf.constant(wv), [1, 1, 1, 1], padding)
        return [p, d, *tf.gradients(tf.reduce_sum(p * p) + tf.reduce_sum(d * d), [x])]

    got, want = _run(device, make)
    assert_matches_host(device, got, want, rtol=1e-4, atol_scale=1e-3)


def test_mixed_conv_pool_depthwise_model_matches_the_host(device):
    rng = np.random.default_rng(0)
    xv, wv, dv = rng.standard_normal((2, 7, 6, 3)), rng.standard_normal((3, 3, 3, 4)), rng.standard_normal((3, 3, 3, 2))

    def make():
        x, w, dw = tf.constant(xv), tf.constant(wv), tf.constant(dv)
        y = tf.nn.conv2d(x, w, [1, 2, 2, 1], "SAME")
        p = (tf.nn.max_pool(x, [1, 3, 3, 1], [1, 2, 2, 1], "SAME")
             + tf.nn.avg_pool(x, [1, 2, 2, 1], [1, 1, 1, 1], "VALID")[:, :4, :3])  # fmt: skip
        d = tf.nn.depthwise_conv2d(x, dw, [1, 1, 1, 1], "SAME")
        loss = tf.reduce_sum(y * y) + tf.reduce_sum(p * p) + tf.reduce_sum(d * d)
        return [y, p, d, *tf.gradients(loss, [x, w, dw])]

    got, want = _run(device, make)
    assert_matches_host(device, got, want, rtol=1e-10)

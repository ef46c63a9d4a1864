"""The convolution kernels on the GPU table (im2col through CuPy's API, as when CuPy lacks cuDNN), driven by
the fake CuPy: the graph built under /gpu:0 must run on the device table and match the host exactly."""

from __future__ import annotations

import numpy as np

import graphvar as tf


def _build(rng_seed: int = 0):
    rng = np.random.default_rng(rng_seed)
    x = tf.constant(rng.standard_normal((2, 7, 6, 3)))
    w = tf.constant(rng.standard_normal((3, 3, 3, 4)))
    dw = tf.constant(rng.standard_normal((3, 3, 3, 2)))
    y = tf.nn.conv2d(x, w, [1, 2, 2, 1], "SAME")
    p = (
        tf.nn.max_pool(x, [1, 3, 3, 1], [1, 2, 2, 1], "SAME")
        + tf.nn.avg_pool(x, [1, 2, 2, 1], [1, 1, 1, 1], "VALID")[:, :4, :3]
    )
    d = tf.nn.depthwise_conv2d(x, dw, [1, 1, 1, 1], "SAME")
    loss = tf.reduce_sum(y * y) + tf.reduce_sum(p * p) + tf.reduce_sum(d * d)
    return [y, p, d, *tf.gradients(loss, [x, w, dw])]


def test_conv_ops_run_on_the_gpu_table_and_match_the_host(fake_gpu):
    results = {}
    for device in ("/gpu:0", "/cpu:0"):
        with tf.Graph().as_default(), tf.device(device):
            fetches = _build()
            with tf.Session() as sess:
                results[device] = sess.run(fetches)
                if device == "/gpu:0":
                    assert sess.host_fallbacks == {}  # every op, gradients included, ran on the device table
    for got, want in zip(results["/gpu:0"], results["/cpu:0"]):
        np.testing.assert_array_equal(got, want)

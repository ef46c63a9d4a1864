"""tf.layers: TF1 names, reuse, initializers, regularizers, and values against NumPy."""

import numpy as np
import pytest

import graphvar as tf
from tests.ops.test_nn_conv import ref_conv, ref_pool

RNG = np.random.default_rng(3)


def names():
    return [v.op.name for v in tf.global_variables()]


def test_dense_names_and_values_match_tf1():
    x = tf.placeholder(tf.float32, [None, 4])
    h = tf.layers.dense(x, 3, activation=tf.nn.relu)
    y = tf.layers.dense(h, 2, use_bias=False, name="out")
    z = tf.layers.dense(x, 2)
    assert names() == ["dense/kernel", "dense/bias", "out/kernel", "dense_1/kernel", "dense_1/bias"]
    assert h.op.name == "dense/Relu" and y.op.name == "out/MatMul"
    assert [v.op.name for v in tf.trainable_variables()] == names()
    xv = RNG.standard_normal((5, 4)).astype(np.float32)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        k, b, k2, hv, yv, zv = sess.run(["dense/kernel:0", "dense/bias:0", "out/kernel:0", h, y, z], {x: xv})
    np.testing.assert_array_equal(b, np.zeros(3, np.float32))  # bias: zeros
    limit = np.sqrt(6.0 / (4 + 3))  # kernel: glorot_uniform
    assert np.all(np.abs(k) <= limit) and np.abs(k).max() > limit / 4
    np.testing.assert_allclose(hv, np.maximum(xv @ k + b, 0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(yv, hv @ k2, rtol=1e-5, atol=1e-6)
    assert zv.shape == (5, 2)


def test_dense_reuse_in_variable_scope_and_by_name():
    x = tf.placeholder(tf.float32, [None, 4])
    with tf.variable_scope("model"):
        a = tf.layers.dense(x, 2)
        tf.layers.dense(x, 2, name="fc")
    with tf.variable_scope("model", reuse=True):
        b = tf.layers.dense(x, 2)
        tf.layers.dense(x, 2, name="fc")
    with tf.variable_scope("model"):
        tf.layers.dense(x, 2, name="fc", reuse=True)
    assert names() == ["model/dense/kernel", "model/dense/bias", "model/fc/kernel", "model/fc/bias"]
    with pytest.raises(ValueError, match="already exists"):
        with tf.variable_scope("model"):
            tf.layers.dense(x, 2, name="fc")
    xv = RNG.standard_normal((3, 4)).astype(np.float32)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        av, bv = sess.run([a, b], {x: xv})
    np.testing.assert_array_equal(av, bv)


def test_layer_object_called_twice_shares_its_weights():
    layer = tf.layers.Dense(3, kernel_initializer=tf.ones_initializer(), bias_initializer=tf.zeros_initializer)
    x1, x2 = tf.constant(np.ones((1, 2), np.float32)), tf.constant(np.full((1, 2), 2.0, np.float32))
    y1, y2 = layer(x1), layer(x2)
    assert names() == ["dense/kernel", "dense/bias"] and len(layer.trainable_weights) == 2
    assert y2.op.name.startswith("dense/")
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        np.testing.assert_array_equal(sess.run(y1), [[2.0, 2.0, 2.0]])
        np.testing.assert_array_equal(sess.run(y2), [[4.0, 4.0, 4.0]])


def test_kernel_regularizer_joins_regularization_losses_once():
    x = tf.placeholder(tf.float32, [None, 3])
    reg = lambda w: 0.5 * tf.reduce_sum(tf.square(w))  # noqa: E731
    tf.layers.dense(x, 2, kernel_regularizer=reg, kernel_initializer=tf.constant_initializer(2.0), name="fc")
    tf.layers.dense(x, 2, kernel_regularizer=reg, name="fc", reuse=True)
    losses = tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)
    assert len(losses) == 1 and losses[0].op.name.startswith("fc/kernel/Regularizer/")
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        assert sess.run(losses[0]) == pytest.approx(0.5 * 6 * 4.0)


def test_dense_errors_and_rank3_inputs():
    with pytest.raises(ValueError, match="last dimension of the inputs to `Dense` should be defined"):
        tf.layers.dense(tf.placeholder(tf.float32, [None, None]), 2)
    x = tf.placeholder(tf.float32, [None, 3, 4])
    y = tf.layers.dense(x, 5, kernel_initializer=tf.ones_initializer())
    assert y.shape.as_list() == [None, 3, 5]
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        np.testing.assert_array_equal(sess.run(y, {x: np.ones((2, 3, 4))}), np.full((2, 3, 5), 4.0))


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_conv2d_and_pooling_layers(data_format):
    xv = RNG.standard_normal((2, 8, 7, 3)).astype(np.float32)
    feed = xv if data_format == "channels_last" else xv.transpose(0, 3, 1, 2)
    x = tf.placeholder(tf.float32, [None, *feed.shape[1:]])
    c = tf.layers.conv2d(x, 4, [3, 3], strides=2, padding="same", data_format=data_format, activation=tf.nn.relu,
                         bias_initializer=tf.constant_initializer(0.1))  # fmt: skip
    m = tf.layers.max_pooling2d(c, 2, 2, padding="same", data_format=data_format)
    a = tf.layers.average_pooling2d(c, [3, 3], 1, data_format=data_format)
    f = tf.layers.flatten(m, data_format=data_format)
    assert names() == ["conv2d/kernel", "conv2d/bias"]
    assert (
        c.op.name == "conv2d/Relu"
        and m.op.name == "max_pooling2d/MaxPool"
        and a.op.name.startswith("average_pooling2d/")
    )
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        k, cv, mv, av, fv = sess.run(["conv2d/kernel:0", c, m, a, f], {x: feed})
    to_nhwc = (lambda v: v) if data_format == "channels_last" else (lambda v: v.transpose(0, 2, 3, 1))
    want_c = np.maximum(ref_conv(xv, k, (2, 2), "SAME") + 0.1, 0)
    np.testing.assert_allclose(to_nhwc(cv), want_c, rtol=1e-4, atol=1e-5)
    want_m = ref_pool(want_c, (2, 2), (2, 2), "SAME", "max")
    np.testing.assert_allclose(to_nhwc(mv), want_m, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(to_nhwc(av), ref_pool(want_c, (3, 3), (1, 1), "VALID", "avg"), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(fv, want_m.reshape(2, -1), rtol=1e-4, atol=1e-5)


def test_dropout_training_flag():
    x = tf.constant(np.ones((200, 50), np.float32))
    assert tf.layers.dropout(x, 0.3).op.type == "Identity"  # training=False by default
    on = tf.layers.dropout(x, rate=0.3, training=True, seed=1)
    flag = tf.placeholder(tf.bool, [])
    maybe = tf.layers.dropout(x, rate=0.3, training=flag, seed=2)
    with tf.Session() as sess:
        v = sess.run(on)
        assert set(np.unique(v)) <= {0.0, np.float32(1 / 0.7)}
        assert abs((v == 0).mean() - 0.3) < 0.02
        np.testing.assert_array_equal(sess.run(maybe, {flag: False}), np.ones((200, 50)))
        assert (sess.run(maybe, {flag: True}) == 0).mean() > 0.25


def test_batch_normalization_training_updates_and_inference():
    xv = RNG.standard_normal((6, 3, 3, 2)) * 2.0 + 1.0
    x = tf.placeholder(tf.float64, [None, 3, 3, 2])
    y = tf.layers.batch_normalization(x, momentum=0.9, training=True)
    assert names() == ["batch_normalization/gamma", "batch_normalization/beta",
                       "batch_normalization/moving_mean", "batch_normalization/moving_variance"]  # fmt: skip
    assert [v.op.name for v in tf.trainable_variables()] == names()[:2]
    updates = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
    assert len(updates) == 2
    y_inf = tf.layers.batch_normalization(x, training=False, name="batch_normalization", reuse=True)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        yv, _ = sess.run([y, updates], {x: xv})
        mm, mv = sess.run(["batch_normalization/moving_mean:0", "batch_normalization/moving_variance:0"])
        yi = sess.run(y_inf, {x: xv})
    mean, var = xv.mean(axis=(0, 1, 2)), xv.var(axis=(0, 1, 2))
    np.testing.assert_allclose(yv, (xv - mean) / np.sqrt(var + 1e-3), rtol=1e-10)
    n = 6 * 3 * 3
    np.testing.assert_allclose(mm, 0.1 * mean, rtol=1e-10)
    np.testing.assert_allclose(mv, 0.9 + 0.1 * var * n / (n - 1), rtol=1e-10)  # fused TF1: Bessel-corrected
    np.testing.assert_allclose(yi, (xv - mm) / np.sqrt(mv + 1e-3), rtol=1e-10)


def test_batch_normalization_2d_with_a_training_tensor():
    xv = RNG.standard_normal((8, 3))
    x, flag = tf.placeholder(tf.float64, [None, 3]), tf.placeholder(tf.bool, [])
    y = tf.layers.batch_normalization(x, training=flag, center=False)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        np.testing.assert_allclose(sess.run(y, {x: xv, flag: False}), xv / np.sqrt(1 + 1e-3), rtol=1e-10)
        sess.run(tf.get_collection(tf.GraphKeys.UPDATE_OPS), {x: xv, flag: False})
        np.testing.assert_array_equal(sess.run("batch_normalization/moving_mean:0"), np.zeros(3))
        yt, _ = sess.run([y, tf.get_collection(tf.GraphKeys.UPDATE_OPS)], {x: xv, flag: True})
        np.testing.assert_allclose(sess.run("batch_normalization/moving_variance:0"), 0.99 + 0.01 * xv.var(0))
    np.testing.assert_allclose(yt, (xv - xv.mean(0)) / np.sqrt(xv.var(0) + 1e-3), rtol=1e-10)

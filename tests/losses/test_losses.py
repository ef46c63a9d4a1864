"""tf.losses against NumPy formulas, with TF1's weights and reductions and the LOSSES collection."""

import numpy as np
import pytest

import graphvar as tf

RNG = np.random.default_rng(5)
L = RNG.standard_normal((4, 3)).astype(np.float32)
P = RNG.standard_normal((4, 3)).astype(np.float32)
W = np.array([[1.0], [0.0], [2.0], [0.5]], np.float32)  # broadcasts over the 3 columns; one row weighs 0


def run(t, feed=None):
    with tf.Session() as sess:
        return sess.run(t, feed)


def _by_nonzero(elem, w):
    wb = np.broadcast_to(w, elem.shape)
    return (elem * wb).sum() / np.count_nonzero(wb)


@pytest.mark.parametrize(
    "fn, ref",
    [
        (tf.losses.absolute_difference, lambda y, p: np.abs(p - y)),
        (tf.losses.mean_squared_error, lambda y, p: (p - y) ** 2),
        (tf.losses.huber_loss, lambda y, p: np.where(np.abs(p - y) <= 1, 0.5 * (p - y) ** 2, np.abs(p - y) - 0.5)),
    ],
)
def test_regression_losses_default_reduction(fn, ref):
    got = run(fn(labels=tf.constant(L), predictions=tf.constant(P)))
    np.testing.assert_allclose(got, ref(L, P).mean(), rtol=1e-6)
    tf.reset_default_graph()
    loss = fn(tf.constant(L), tf.constant(P), weights=tf.constant(W))
    np.testing.assert_allclose(run(loss), _by_nonzero(ref(L, P), W), rtol=1e-6)
    assert tf.get_collection(tf.GraphKeys.LOSSES) == [loss]


def test_reductions_follow_tf1():
    elem = np.abs(P - L)
    wb = np.broadcast_to(W, elem.shape)
    R = tf.losses.Reduction
    want = {
        R.NONE: elem * wb,
        R.SUM: (elem * wb).sum(),
        R.MEAN: (elem * wb).sum() / wb.sum(),
        R.SUM_OVER_BATCH_SIZE: (elem * wb).sum() / elem.size,
        R.SUM_BY_NONZERO_WEIGHTS: (elem * wb).sum() / 9,
    }
    for reduction, value in want.items():
        t = tf.losses.absolute_difference(tf.constant(L), tf.constant(P), weights=W, reduction=reduction)
        np.testing.assert_allclose(run(t), value, rtol=1e-6, err_msg=reduction)
    zero = tf.losses.absolute_difference(tf.constant(L), tf.constant(P), weights=0.0)
    assert run(zero) == 0.0  # all weights zero: 0, not NaN
    with pytest.raises(ValueError, match="Invalid Reduction Key"):
        tf.losses.absolute_difference(tf.constant(L), tf.constant(P), reduction="mean")
    with pytest.raises(ValueError, match="incompatible"):
        tf.losses.mean_squared_error(tf.constant(L), tf.constant(P[:, :2]))


def test_log_loss():
    y = (RNG.random((5, 2)) > 0.5).astype(np.float32)
    p = RNG.uniform(0.05, 0.95, (5, 2)).astype(np.float32)
    want = (-y * np.log(p + 1e-7) - (1 - y) * np.log(1 - p + 1e-7)).mean()
    np.testing.assert_allclose(run(tf.losses.log_loss(y, tf.constant(p))), want, rtol=1e-5)


def _log_softmax(z):
    z = z - z.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


def test_softmax_cross_entropy_with_label_smoothing_and_weights():
    logits = RNG.standard_normal((4, 5)).astype(np.float32)
    onehot = np.eye(5, dtype=np.float32)[[0, 3, 1, 4]]
    w = np.array([1.0, 0.0, 2.0, 1.0], np.float32)
    per = -(onehot * _log_softmax(logits.astype(np.float64))).sum(-1)
    np.testing.assert_allclose(run(tf.losses.softmax_cross_entropy(onehot, tf.constant(logits))), per.mean(), rtol=1e-5)
    smooth = onehot * 0.8 + 0.2 / 5
    per_s = -(smooth * _log_softmax(logits.astype(np.float64))).sum(-1)
    got = run(tf.losses.softmax_cross_entropy(onehot, tf.constant(logits), weights=w, label_smoothing=0.2))
    np.testing.assert_allclose(got, (per_s * w).sum() / 3, rtol=1e-5)


def test_sparse_softmax_and_sigmoid_cross_entropy():
    logits = RNG.standard_normal((4, 5)).astype(np.float32)
    labels = np.array([[2], [0], [4], [1]], np.int32)  # [batch, 1] is squeezed, as TF1 does
    per = -_log_softmax(logits.astype(np.float64))[np.arange(4), labels[:, 0]]
    np.testing.assert_allclose(run(tf.losses.sparse_softmax_cross_entropy(labels, tf.constant(logits))), per.mean(),
                               rtol=1e-5)  # fmt: skip
    y = (RNG.random((4, 5)) > 0.5).astype(np.float32)
    ys = y * 0.9 + 0.05
    x = logits.astype(np.float64)
    want = (np.maximum(x, 0) - x * ys + np.log1p(np.exp(-np.abs(x)))).mean()
    got = run(tf.losses.sigmoid_cross_entropy(y, tf.constant(logits), label_smoothing=0.1))
    np.testing.assert_allclose(got, want, rtol=1e-5)


def test_total_and_regularization_losses():
    with pytest.raises(ValueError, match="no losses"):
        tf.losses.get_total_loss()
    assert run(tf.losses.get_regularization_loss()) == 0.0
    a = tf.losses.mean_squared_error(tf.constant(L), tf.constant(P))
    tf.losses.add_loss(tf.constant(2.0))
    tf.losses.absolute_difference(tf.constant(L), tf.constant(P), loss_collection=None)  # not collected
    tf.add_to_collection(tf.GraphKeys.REGULARIZATION_LOSSES, tf.constant(0.25))
    assert len(tf.losses.get_losses()) == 2 and len(tf.losses.get_regularization_losses()) == 1
    total = tf.losses.get_total_loss()
    no_reg = tf.losses.get_total_loss(add_regularization_losses=False, name="data_loss")
    assert total.op.name == "total_loss" and no_reg.op.name == "data_loss"
    av, tv, nv, rv = run([a, total, no_reg, tf.losses.get_regularization_loss()])
    np.testing.assert_allclose([tv, nv, rv], [av + 2.25, av + 2.0, 0.25], rtol=1e-6)


def test_losses_are_differentiable():
    x = tf.Variable(P)
    loss = tf.losses.huber_loss(tf.constant(L), x, weights=W) + tf.losses.softmax_cross_entropy(
        tf.constant(np.eye(3, dtype=np.float32)[[0, 1, 2, 0]]), x, label_smoothing=0.1
    )
    (g,) = tf.gradients(loss, [x])
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        gv = sess.run(g)
    e = P - L
    huber = np.clip(e, -1, 1) * np.broadcast_to(W, e.shape) / 9
    onehot = np.eye(3)[[0, 1, 2, 0]] * 0.9 + 0.1 / 3
    sm = np.exp(_log_softmax(P.astype(np.float64)))
    np.testing.assert_allclose(gv, huber + (sm - onehot) / 4, rtol=1e-4, atol=1e-6)

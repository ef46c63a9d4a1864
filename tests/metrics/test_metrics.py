"""tf.metrics: streaming values over batches against NumPy, TF1 variable names, local variables."""

import numpy as np
import pytest

import graphvar as tf

RNG = np.random.default_rng(9)


def stream(value, update, feeds):
    with tf.Session() as sess:
        sess.run(tf.local_variables_initializer())
        ups = [sess.run(update, f) for f in feeds]
        return ups, sess.run(value)


def test_mean_and_accuracy_stream_over_batches():
    v = tf.placeholder(tf.float32, [None])
    w = tf.placeholder(tf.float32, [None])
    m, m_up = tf.metrics.mean(v)
    wm, wm_up = tf.metrics.mean(v, weights=w)
    batches = [RNG.standard_normal(5).astype(np.float32), RNG.standard_normal(3).astype(np.float32)]
    weights = [np.array([1, 0, 2, 1, 1], np.float32), np.array([0.5, 0.5, 0], np.float32)]
    ups, final = stream([m, wm], [m_up, wm_up], [{v: b, w: ww} for b, ww in zip(batches, weights)])
    allv, allw = np.concatenate(batches), np.concatenate(weights)
    np.testing.assert_allclose(ups[0][0], batches[0].mean(), rtol=1e-6)
    np.testing.assert_allclose(final, [allv.mean(), (allv * allw).sum() / allw.sum()], rtol=1e-6)
    assert [x.op.name for x in tf.local_variables()] == ["mean/total", "mean/count", "mean_1/total", "mean_1/count"]
    assert tf.trainable_variables() == [] and len(tf.get_collection(tf.GraphKeys.METRIC_VARIABLES)) == 4

    tf.reset_default_graph()
    labels, preds = tf.placeholder(tf.int64, [None]), tf.placeholder(tf.int64, [None])
    acc, acc_up = tf.metrics.accuracy(labels, preds, metrics_collections=["m"], updates_collections=["u"])
    assert tf.get_collection("m") == [acc] and tf.get_collection("u") == [acc_up]
    ys = [RNG.integers(0, 3, 10), RNG.integers(0, 3, 6)]
    ps = [RNG.integers(0, 3, 10), RNG.integers(0, 3, 6)]
    _, final = stream(acc, acc_up, [{labels: a, preds: b} for a, b in zip(ys, ps)])
    np.testing.assert_allclose(final, np.mean(np.concatenate(ys) == np.concatenate(ps)), rtol=1e-6)
    assert [x.op.name for x in tf.local_variables()] == ["accuracy/total", "accuracy/count"]


def test_empty_mean_is_zero_and_shapes_are_checked():
    m, _ = tf.metrics.mean(tf.constant([1.0]))
    with tf.Session() as sess:
        sess.run(tf.local_variables_initializer())
        assert sess.run(m) == 0.0
    with pytest.raises(ValueError, match="incompatible"):
        tf.metrics.accuracy(tf.constant([1, 2]), tf.constant([1, 2, 3]))


def test_precision_and_recall():
    labels, preds = tf.placeholder(tf.bool, [None]), tf.placeholder(tf.bool, [None])
    p, p_up = tf.metrics.precision(labels, preds)
    r, r_up = tf.metrics.recall(labels, preds)
    ys = [RNG.random(20) > 0.5, RNG.random(15) > 0.4]
    ps = [RNG.random(20) > 0.5, RNG.random(15) > 0.6]
    _, (pv, rv) = stream([p, r], [p_up, r_up], [{labels: a, preds: b} for a, b in zip(ys, ps)])
    y, q = np.concatenate(ys), np.concatenate(ps)
    tp, fp, fn = np.sum(y & q), np.sum(~y & q), np.sum(y & ~q)
    np.testing.assert_allclose([pv, rv], [tp / (tp + fp), tp / (tp + fn)], rtol=1e-6)
    assert "precision/true_positives/count" in [v.op.name for v in tf.local_variables()]
    assert "recall/false_negatives/count" in [v.op.name for v in tf.local_variables()]


@pytest.mark.parametrize("curve", ["ROC", "PR"])
def test_auc_matches_the_trapezoidal_rule(curve):
    y = (RNG.random(300) > 0.5).astype(np.int64)
    p = np.clip(0.3 * y + RNG.random(300) * 0.7, 0, 1).astype(np.float32)
    labels, preds = tf.placeholder(tf.int64, [None]), tf.placeholder(tf.float32, [None])
    a, a_up = tf.metrics.auc(labels, preds, curve=curve, num_thresholds=50)
    _, got = stream(a, a_up, [{labels: y[:150], preds: p[:150]}, {labels: y[150:], preds: p[150:]}])
    eps = 1e-7
    th = np.array([-eps, *[(i + 1) / 49 for i in range(48)], 1 + eps])
    above = p[None, :] > th[:, None]
    tp, fn = (above & (y == 1)).sum(1), (~above & (y == 1)).sum(1)
    fp, tn = (above & (y == 0)).sum(1), (~above & (y == 0)).sum(1)
    rec = (tp + eps) / (tp + fn + eps)
    x, yy = (fp / (fp + tn + eps), rec) if curve == "ROC" else (rec, (tp + eps) / (tp + fp + eps))
    want = np.sum((x[:-1] - x[1:]) * (yy[:-1] + yy[1:]) / 2)
    np.testing.assert_allclose(got, want, rtol=1e-5)
    assert 0.7 < got <= 1.0

"""tf.nn ops against NumPy references written here; gradients against float64 central differences."""

import numpy as np
import pytest

import graphvar as tf
from tests.gradcheck import check_gradients

RNG = np.random.default_rng(7)
X = RNG.normal(size=(4, 5)).astype(np.float32) * 3


def run(x, feed=None):
    with tf.Session() as sess:
        return sess.run(x, feed)


def ref_log_softmax(x, axis=-1):
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


ALPHA, SCALE = 1.6732632423543772, 1.0507009873554805


@pytest.mark.parametrize(
    "fn, ref",
    [
        (tf.nn.relu6, lambda x: np.clip(x, 0, 6)),
        (tf.nn.elu, lambda x: np.where(x > 0, x, np.exp(x) - 1)),
        (tf.nn.selu, lambda x: SCALE * np.where(x > 0, x, ALPHA * (np.exp(x) - 1))),
        (tf.nn.softplus, lambda x: np.log1p(np.exp(x))),
        (tf.nn.softsign, lambda x: x / (1 + np.abs(x))),
        (tf.nn.leaky_relu, lambda x: np.where(x > 0, x, 0.2 * x)),
        (tf.nn.log_softmax, ref_log_softmax),
        (tf.nn.log_sigmoid, lambda x: np.log(1 / (1 + np.exp(-x)))),
        (tf.nn.l2_loss, lambda x: (x.astype(np.float64) ** 2).sum() / 2),
    ],
)  # fmt: skip
def test_activations_match_numpy(fn, ref):
    out = run(fn(tf.constant(X)))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, ref(X.astype(np.float64)), rtol=2e-6, atol=1e-6)


def test_activations_refuse_integers_naming_the_op():
    with pytest.raises(TypeError, match=r"'bad'.*Relu6"):
        tf.nn.relu6(tf.constant([1, 2]), name="bad")


def test_log_softmax_axis_and_dim():
    np.testing.assert_allclose(run(tf.nn.log_softmax(tf.constant(X), axis=0)), ref_log_softmax(X, 0), rtol=1e-5)
    np.testing.assert_allclose(run(tf.nn.log_softmax(tf.constant(X), dim=0)), ref_log_softmax(X, 0), rtol=1e-5)


def test_bias_add_nhwc_nchw_and_errors():
    v = RNG.normal(size=(2, 3, 4, 5)).astype(np.float32)
    np.testing.assert_allclose(run(tf.nn.bias_add(v, np.arange(5, dtype=np.float32))), v + np.arange(5))
    out = run(tf.nn.bias_add(v, np.arange(3, dtype=np.float32), data_format="NCHW"))
    np.testing.assert_allclose(out, v + np.arange(3).reshape(3, 1, 1))
    with pytest.raises(ValueError, match=r"Dimensions must be equal, but are 5 and 4 for 'b' \(op: 'BiasAdd'\)"):
        tf.nn.bias_add(v, np.zeros(4, np.float32), name="b")


LABELS = np.eye(5, dtype=np.float32)[[0, 3, 4, 1]]


def test_softmax_cross_entropy_v1_and_v2_values():
    want = -(LABELS * ref_log_softmax(X.astype(np.float64))).sum(-1)
    for fn in (tf.nn.softmax_cross_entropy_with_logits, tf.nn.softmax_cross_entropy_with_logits_v2):
        loss = fn(labels=LABELS, logits=X)
        assert loss.shape.as_list() == [4]
        np.testing.assert_allclose(run(loss), want, rtol=1e-5)
    dim0 = tf.nn.softmax_cross_entropy_with_logits(labels=LABELS.T, logits=X.T, dim=0)
    np.testing.assert_allclose(run(dim0), want, rtol=1e-5)
    with pytest.raises(ValueError, match="named arguments"):
        tf.nn.softmax_cross_entropy_with_logits(LABELS, X)


def test_sparse_softmax_cross_entropy_and_label_range_checked_at_run_time():
    labels = tf.placeholder(tf.int32, [4])
    loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=X, name="xent")
    want = -ref_log_softmax(X.astype(np.float64))[np.arange(4), [0, 3, 4, 1]]
    np.testing.assert_allclose(run(loss, {labels: [0, 3, 4, 1]}), want, rtol=1e-5)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"xent.*label value of 5.*\[0, 5\)"):
        run(loss, {labels: [0, 5, 1, 1]})
    with pytest.raises(ValueError, match="Rank mismatch"):
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=[[1]], logits=X)


def test_v1_passes_no_gradient_into_labels_v2_does():
    lab = tf.constant(LABELS)
    logits = tf.constant(X)
    g1 = tf.gradients(tf.nn.softmax_cross_entropy_with_logits(labels=lab, logits=logits), [lab, logits])
    g2 = tf.gradients(tf.nn.softmax_cross_entropy_with_logits_v2(labels=lab, logits=logits), [lab, logits])
    assert g1[0] is None and g2[0] is not None
    np.testing.assert_allclose(run(g2[0]), -ref_log_softmax(X.astype(np.float64)), rtol=1e-5)
    softmax = np.exp(ref_log_softmax(X.astype(np.float64)))
    np.testing.assert_allclose(run(g1[1]), softmax - LABELS, rtol=1e-5, atol=1e-6)


def test_top_k_values_indices_and_ties():
    x = np.array([[1.0, 3.0, 3.0, 2.0], [5.0, 4.0, 6.0, 0.0]], np.float32)
    values, indices = tf.nn.top_k(x, k=2)
    assert values.shape.as_list() == [2, 2] and indices.dtype == tf.int32
    v, i = run([values, indices])
    np.testing.assert_array_equal(i, [[1, 2], [2, 0]])
    np.testing.assert_array_equal(v, [[3, 3], [6, 5]])
    with pytest.raises(ValueError, match="at least k=5"):
        tf.nn.top_k(x, 5)


def test_in_top_k_ties_and_non_finite():
    p = np.array([[0.1, 0.5, 0.5, 0.2], [0.3, np.nan, 0.1, 0.2], [0.4, 0.3, 0.2, 0.1]], np.float32)
    out = run(tf.nn.in_top_k(p, [2, 1, 3], 1))
    np.testing.assert_array_equal(out, [True, False, False])
    np.testing.assert_array_equal(run(tf.nn.in_top_k(p, [0, 0, 3], 2)), [False, True, False])


@pytest.mark.parametrize(
    "name, build, values",
    [
        ("relu6", lambda x: tf.nn.relu6(x * 4), [RNG.uniform(-2, 2, (3, 4))]),
        ("elu", tf.nn.elu, [RNG.normal(size=(3, 4))]),
        ("selu", tf.nn.selu, [RNG.normal(size=(3, 4))]),
        ("softplus", tf.nn.softplus, [RNG.normal(size=(3, 4))]),
        ("softsign", tf.nn.softsign, [RNG.normal(size=(3, 4))]),
        ("leaky_relu", lambda x: tf.nn.leaky_relu(x, 0.1), [RNG.normal(size=(3, 4))]),
        ("log_softmax", tf.nn.log_softmax, [RNG.normal(size=(3, 4))]),
        ("l2_loss", tf.nn.l2_loss, [RNG.normal(size=(3, 4))]),
        ("bias_add", tf.nn.bias_add, [RNG.normal(size=(3, 4)), RNG.normal(size=(4,))]),
        ("xent_v2", lambda a, b: tf.nn.softmax_cross_entropy_with_logits_v2(labels=a / tf.reduce_sum(a, 1, keepdims=True),
                                                                             logits=b),
         [RNG.uniform(0.1, 1, (3, 4)), RNG.normal(size=(3, 4))]),
        ("sparse_xent", lambda x: tf.nn.sparse_softmax_cross_entropy_with_logits(labels=[1, 0, 3], logits=x),
         [RNG.normal(size=(3, 4))]),
        ("sigmoid_xent", lambda a, b: tf.nn.sigmoid_cross_entropy_with_logits(labels=a, logits=b),
         [RNG.uniform(0, 1, (3, 4)), RNG.normal(size=(3, 4))]),
        ("weighted_xent", lambda a, b: tf.nn.weighted_cross_entropy_with_logits(labels=a, logits=b, pos_weight=2.5),
         [RNG.uniform(0, 1, (3, 4)), RNG.normal(size=(3, 4))]),
        ("top_k", lambda x: tf.nn.top_k(x, 2)[0], [RNG.permutation(12).reshape(3, 4) / 3.0]),
        ("l2_normalize", lambda x: tf.nn.l2_normalize(x, axis=1), [RNG.normal(size=(3, 4))]),
        ("moments", lambda x: sum(tf.nn.moments(x, [0])), [RNG.normal(size=(3, 4))]),
        ("batch_norm", lambda x, m, v, o, s: tf.nn.batch_normalization(x, m, v, o, s, 1e-3),
         [RNG.normal(size=(3, 4)), RNG.normal(size=4), RNG.uniform(0.5, 2, 4), RNG.normal(size=4), RNG.normal(size=4)]),
    ],
)  # fmt: skip
def test_nn_gradients(name, build, values):
    check_gradients(build, values, rtol=1e-5, atol=1e-7)

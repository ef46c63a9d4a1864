"""Extra array, math, clip and sampling ops against NumPy references; gradients against central differences."""

import math

import numpy as np
import pytest

import graphvar as tf
from tests.gradcheck import check_gradients

RNG = np.random.default_rng(3)
P = RNG.normal(size=(5, 3)).astype(np.float32)


def run(x, feed=None):
    with tf.Session() as sess:
        return sess.run(x, feed)


def test_gather_axes_and_index_errors():
    np.testing.assert_array_equal(run(tf.gather(P, [4, 0, 4])), P[[4, 0, 4]])
    np.testing.assert_array_equal(run(tf.gather(P, [[2, 1]], axis=1)), np.take(P, [[2, 1]], axis=1))
    ids = tf.placeholder(tf.int32, [None])
    g = tf.gather(P, ids, name="g")
    assert g.shape.as_list() == [None, 3]
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"g.*indices\[1\] = 7 is not in \[0, 5\)"):
        run(g, {ids: [0, 7]})


def test_gather_nd_one_hot_where():
    idx = np.array([[0, 1], [4, 2]])
    np.testing.assert_array_equal(run(tf.gather_nd(P, idx)), P[idx[:, 0], idx[:, 1]])
    np.testing.assert_array_equal(run(tf.gather_nd(P, [[3]])), P[[3]])
    np.testing.assert_array_equal(
        run(tf.one_hot([0, 2, 5, -1], 3)), np.eye(3, dtype=np.float32)[[0, 2]].tolist() + [[0] * 3] * 2
    )
    oh = tf.one_hot([1, 0], 3, on_value=5, off_value=-1, axis=0)
    assert oh.dtype == tf.int32 and oh.shape.as_list() == [3, 2]
    np.testing.assert_array_equal(run(oh), [[-1, 5], [5, -1], [-1, -1]])
    cond = P > 0
    np.testing.assert_array_equal(run(tf.where(cond)), np.argwhere(cond))
    np.testing.assert_array_equal(run(tf.where(cond, P, -P)), np.abs(P))
    np.testing.assert_array_equal(
        run(tf.where([True, False, True, False, True], P, P * 0)), P * np.array([1, 0, 1, 0, 1])[:, None]
    )
    with pytest.raises(ValueError, match="both"):
        tf.where(cond, P)


def test_pad_split_unstack_reverse():
    np.testing.assert_array_equal(run(tf.pad(P, [[1, 0], [0, 2]])), np.pad(P, [[1, 0], [0, 2]]))
    np.testing.assert_array_equal(run(tf.pad(P, [[1, 1], [2, 2]], "REFLECT")), np.pad(P, [[1, 1], [2, 2]], "reflect"))
    np.testing.assert_array_equal(
        run(tf.pad(P, [[0, 1], [1, 0]], constant_values=7)), np.pad(P, [[0, 1], [1, 0]], constant_values=7)
    )
    parts = tf.split(P, [2, -1], axis=0)
    assert [p.shape.as_list() for p in parts] == [[2, 3], [3, 3]]
    for got, want in zip(run(parts), np.split(P, [2])):
        np.testing.assert_array_equal(got, want)
    with pytest.raises(ValueError, match="evenly divisible by 2 but is 5"):
        tf.split(P, 2)
    rows = tf.unstack(P, axis=1)
    assert len(rows) == 3
    np.testing.assert_array_equal(run(rows[2]), P[:, 2])
    np.testing.assert_array_equal(run(tf.reverse(P, [0, -1])), P[::-1, ::-1])


def test_range_linspace_cumsum():
    np.testing.assert_array_equal(run(tf.range(5)), np.arange(5))
    r = tf.range(1.0, 2.0, 0.25)
    assert r.dtype == tf.float32
    np.testing.assert_allclose(run(r), np.arange(1.0, 2.0, 0.25))
    np.testing.assert_allclose(run(tf.linspace(0.0, 1.0, 5)), np.linspace(0, 1, 5))
    x = np.array([1, 2, 3, 4])
    np.testing.assert_array_equal(run(tf.cumsum(x)), np.cumsum(x))
    np.testing.assert_array_equal(run(tf.cumsum(x, exclusive=True)), [0, 1, 3, 6])
    np.testing.assert_array_equal(run(tf.cumsum(x, reverse=True)), [10, 9, 7, 4])
    np.testing.assert_array_equal(run(tf.cumsum(x, exclusive=True, reverse=True)), [9, 7, 4, 0])


@pytest.mark.parametrize(
    "fn, ref",
    [
        (tf.floor, np.floor), (tf.ceil, np.ceil), (tf.round, np.round), (tf.sign, np.sign),
        (tf.log1p, np.log1p), (tf.expm1, np.expm1), (tf.sin, np.sin), (tf.cos, np.cos),
        (tf.erf, np.vectorize(math.erf)), (tf.reciprocal, lambda x: 1 / x),
        (lambda x: tf.rsqrt(tf.abs(x)), lambda x: 1 / np.sqrt(np.abs(x))),
    ],
)  # fmt: skip
def test_unary_math_matches_numpy(fn, ref):
    x = np.array([-2.5, -0.5, 0.5, 1.5, 2.5, 0.3, -1.7], np.float32)
    if fn is tf.log1p:
        x = np.abs(x)
    np.testing.assert_allclose(run(fn(tf.constant(x))), ref(x.astype(np.float64)), rtol=1e-6)


def test_reductions():
    b = np.array([[True, False], [True, True]])
    assert run(tf.reduce_any(b)) and not run(tf.reduce_all(b))
    np.testing.assert_array_equal(run(tf.reduce_all(b, axis=1)), [False, True])
    x = np.array([[1.0, 2.0, 3.0], [1000.0, 1000.0, -np.inf]], np.float64)
    want = np.log(np.exp(x - x.max(1, keepdims=True)).sum(1)) + x.max(1)
    np.testing.assert_allclose(run(tf.reduce_logsumexp(x, axis=1)), want)
    assert run(tf.reduce_logsumexp(x, axis=1, keepdims=True)).shape == (2, 1)
    z = np.array([[0, 1, 2], [0, 0, 3]])
    assert run(tf.count_nonzero(z)) == 3 and run(tf.count_nonzero(z)).dtype == np.int64
    np.testing.assert_array_equal(run(tf.count_nonzero(z, axis=0)), [0, 1, 2])


def test_einsum_tensordot_matmul_rank3_and_aliases():
    a, b = RNG.normal(size=(2, 3, 4)), RNG.normal(size=(4, 5))
    np.testing.assert_allclose(run(tf.einsum("bij,jk->bik", a, b)), np.einsum("bij,jk->bik", a, b))
    np.testing.assert_allclose(run(tf.tensordot(a, b, 1)), np.tensordot(a, b, 1))
    np.testing.assert_allclose(run(tf.tensordot(a, a, [[0, 1], [0, 1]])), np.tensordot(a, a, [[0, 1], [0, 1]]))
    c = RNG.normal(size=(2, 4, 3))
    np.testing.assert_allclose(run(tf.matmul(a, c)), a @ c)
    np.testing.assert_allclose(run(tf.batch_matmul(a, a, adj_y=True)), a @ np.swapaxes(a, 1, 2))
    assert run(tf.matrix_transpose(a)).shape == (2, 4, 3)
    assert run(tf.arg_max(P, 1)).tolist() == P.argmax(1).tolist()
    assert run(tf.arg_min(P, 0)).tolist() == P.argmin(0).tolist()
    assert tf.to_int32(P).dtype == tf.int32 and tf.to_int64(P).dtype == tf.int64 and tf.to_double(P).dtype == tf.float64
    with pytest.raises(ValueError, match="Dimension 'j' has sizes 4 and 3"):
        tf.einsum("ij,jk->ik", a[0], a[0])


def test_clip_ops():
    x = np.array([[-3.0, 0.5], [4.0, 1.0]], np.float32)
    np.testing.assert_array_equal(run(tf.clip_by_value(x, -1.0, 2.0)), np.clip(x, -1, 2))
    norm = np.sqrt((x**2).sum())
    np.testing.assert_allclose(run(tf.clip_by_norm(x, 1.0)), x / norm, rtol=1e-6)
    np.testing.assert_allclose(run(tf.clip_by_norm(x, 100.0)), x)
    np.testing.assert_allclose(
        run(tf.clip_by_norm(x, 1.0, axes=[1])), x / np.sqrt((x**2).sum(1, keepdims=True)), rtol=1e-6
    )
    y = np.array([3.0, 4.0], np.float32)
    clipped, gnorm = tf.clip_by_global_norm([x, None, y], 2.0)
    got = run([clipped[0], clipped[2], gnorm])
    total = np.sqrt((x**2).sum() + 25.0)
    np.testing.assert_allclose(got[2], total, rtol=1e-6)
    np.testing.assert_allclose(got[0], x * 2.0 / total, rtol=1e-6)
    assert clipped[1] is None
    np.testing.assert_allclose(run(tf.global_norm([y])), 5.0)


def test_multinomial_shuffle_seeded_and_distribution():
    logits = np.log(np.array([[0.2, 0.8, 0.0], [0.5, 0.25, 0.25]], np.float32) + 1e-30)
    draws = tf.multinomial(logits, 4000, seed=3)
    first = run(draws)
    assert first.shape == (2, 4000) and first.dtype == np.int64
    np.testing.assert_array_equal(first, run(draws))  # a new Session replays the stream
    freq = np.stack([np.bincount(r, minlength=3) / 4000 for r in first])
    np.testing.assert_allclose(freq, np.exp(logits), atol=0.03)
    assert (first[0] != 2).all()
    cat = tf.random.categorical(logits, 10, seed=1)
    assert run(cat).shape == (2, 10)
    x = np.arange(50)
    shuffled = tf.random_shuffle(x, seed=5)
    with tf.Session() as sess:
        a, b = sess.run(shuffled), sess.run(shuffled)
    assert sorted(a.tolist()) == x.tolist() and a.tolist() != x.tolist() and a.tolist() != b.tolist()


def test_dropout_seeded_scaled_and_rate_or_keep_prob():
    x = tf.placeholder(tf.float32, [None, 1000])
    d = tf.nn.dropout(x, keep_prob=0.75, seed=11)
    ones = np.ones((4, 1000), np.float32)
    out = run(d, {x: ones})
    assert set(np.unique(out).tolist()) <= {0.0, np.float32(1 / 0.75)}
    assert abs((out == 0).mean() - 0.25) < 0.03
    np.testing.assert_array_equal(out, run(d, {x: ones}))  # same seed, new Session: same mask
    with tf.Graph().as_default():
        x2 = tf.placeholder(tf.float32, [None, 1000])
        out2 = run(tf.nn.dropout(x2, rate=0.25, seed=11), {x2: ones})
    np.testing.assert_array_equal(out, out2)
    assert tf.nn.dropout(x, keep_prob=1.0) is x
    with pytest.raises(ValueError, match="range"):
        tf.nn.dropout(x, rate=1.5)
    with pytest.raises(ValueError, match="exactly one"):
        tf.nn.dropout(x)


def test_moments_batch_norm_l2_normalize_embedding_lookup():
    x = RNG.normal(size=(6, 4)).astype(np.float32)
    mean, var = run(tf.nn.moments(tf.constant(x), [0]))
    np.testing.assert_allclose(mean, x.mean(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(var, x.var(0), rtol=1e-5)
    bn = tf.nn.batch_normalization(x, mean, var, 0.5, 2.0, 1e-3)
    np.testing.assert_allclose(run(bn), (x - mean) * 2.0 / np.sqrt(var + 1e-3) + 0.5, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(run(tf.nn.l2_normalize(x, 1)), x / np.linalg.norm(x, axis=1, keepdims=True), rtol=1e-6)
    table = tf.Variable(P)
    emb = tf.nn.embedding_lookup(table, [[1, 4], [0, 0]])
    shards = [tf.constant(P[0::2]), tf.constant(P[1::2])]
    mod = tf.nn.embedding_lookup(shards, [1, 4, 3, 0])
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        np.testing.assert_array_equal(sess.run(emb), P[[[1, 4], [0, 0]]])
        np.testing.assert_array_equal(sess.run(mod), P[[1, 4, 3, 0]])


def test_embedding_gradient_is_indexed_slices():
    table = tf.Variable(P)
    loss = tf.reduce_sum(tf.nn.embedding_lookup(table, [1, 4, 1]) * 2.0)
    (g,) = tf.gradients(loss, [table])
    assert isinstance(g, tf.IndexedSlices)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        values, indices = sess.run([g.values, g.indices])
    assert indices.tolist() == [1, 4, 1]
    np.testing.assert_array_equal(values, np.full((3, 3), 2.0))


@pytest.mark.parametrize(
    "name, build, values",
    [
        ("gather1", lambda p: tf.gather(p, [[2, 0], [2, 1]], axis=1), [RNG.normal(size=(2, 3, 2))]),
        ("gather_nd", lambda p: tf.gather_nd(p, [[0, 1], [1, 2], [0, 1]]), [RNG.normal(size=(2, 3, 2))]),
        ("pad", lambda p: tf.pad(p, [[1, 0], [2, 1]], constant_values=3), [RNG.normal(size=(2, 3))]),
        ("split", lambda p: tf.split(p, [1, 2], axis=1)[1] * 2, [RNG.normal(size=(2, 3))]),
        ("unstack", lambda p: tf.unstack(p)[1], [RNG.normal(size=(2, 3))]),
        ("reverse", lambda p: tf.reverse(p, [1]) * tf.constant([1.0, 2.0, 3.0], tf.float64), [RNG.normal(size=(2, 3))]),
        ("cumsum", lambda p: tf.cumsum(p, 1, exclusive=True, reverse=True), [RNG.normal(size=(2, 3))]),
        ("rsqrt", tf.rsqrt, [RNG.uniform(0.5, 2, (2, 3))]),
        ("reciprocal", tf.reciprocal, [RNG.uniform(0.5, 2, (2, 3))]),
        ("log1p", tf.log1p, [RNG.uniform(0.5, 2, (2, 3))]),
        ("expm1", tf.expm1, [RNG.normal(size=(2, 3))]),
        ("sin", tf.sin, [RNG.normal(size=(2, 3))]),
        ("cos", tf.cos, [RNG.normal(size=(2, 3))]),
        ("erf", tf.erf, [RNG.normal(size=(2, 3))]),
        ("logsumexp", lambda p: tf.reduce_logsumexp(p, axis=1), [RNG.normal(size=(2, 3))]),
        ("einsum", lambda a, b: tf.einsum("ij,jk->ik", a, b), [RNG.normal(size=(2, 3)), RNG.normal(size=(3, 2))]),
        ("einsum_sum", lambda a, b: tf.einsum("ij,k->i", a, b), [RNG.normal(size=(2, 3)), RNG.normal(size=(4,))]),
        ("tensordot", lambda a, b: tf.tensordot(a, b, [[1], [0]]), [RNG.normal(size=(2, 3)), RNG.normal(size=(3, 2))]),
        ("clip_by_norm", lambda p: tf.clip_by_norm(p, 1.0), [RNG.normal(size=(2, 3))]),
        ("clip_by_value", lambda p: tf.clip_by_value(p, -0.5, 0.5), [np.array([[-1.0, 0.1, 0.7], [0.3, -0.2, 2.0]])]),
    ],
)  # fmt: skip
def test_extra_gradients(name, build, values):
    check_gradients(build, values, rtol=1e-5, atol=1e-7)

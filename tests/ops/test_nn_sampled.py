"""tf.nn.nce_loss / sampled_softmax_loss, the candidate samplers, compute_accidental_hits, tf.sparse_to_dense.

With the sampled classes fixed (sampled_values=), losses and gradients are checked against a NumPy
reference written here, against TensorFlow's own outputs (tests/fixtures/tf_sampled_losses.npz,
written by make_tf_sampled_fixtures.py) and against float64 central differences.
"""

import numpy as np
import pytest

import graphvar as tf
from graphvar.ops.gradients_impl import to_dense
from tests.fixtures import make_tf_sampled_fixtures as fx
from tests.gradcheck import check_gradients

TF = np.load(fx.NPZ, allow_pickle=False)
FLT_MAX = np.finfo(np.float32).max


def run(x, feed=None):
    with tf.Session() as sess:
        return sess.run(x, feed)


def reference_logits(v, num_true, remove_hits):
    """_compute_sampled_logits in NumPy: [true logits | sampled logits] - log(expected counts), hits masked."""
    w, b, x, labels = v["weights"].astype(np.float64), v["biases"].astype(np.float64), v["inputs"], v["labels"]
    sampled, true_count, sampled_count = v["sampled_values"]
    true_logits = np.einsum("bd,btd->bt", x, w[labels]) + b[labels] - np.log(true_count)
    sampled_logits = x @ w[sampled].T + b[sampled]
    if remove_hits:
        hit = (labels[:, :, None] == sampled[None, None, :]).any(axis=1)
        sampled_logits = np.where(hit, sampled_logits - FLT_MAX, sampled_logits)
    sampled_logits = sampled_logits - np.log(sampled_count)
    labels_out = np.concatenate([np.full(true_logits.shape, 1.0 / num_true), np.zeros(sampled_logits.shape)], 1)
    return np.concatenate([true_logits, sampled_logits], 1), labels_out


def reference_nce(v, num_true, remove_hits):
    z, t = reference_logits(v, num_true, remove_hits)
    return (np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z)))).sum(1)


def reference_sampled_softmax(v, num_true, remove_hits):
    z, t = reference_logits(v, num_true, remove_hits)
    z = z - z.max(1, keepdims=True)
    return -(t * (z - np.log(np.exp(z).sum(1, keepdims=True)))).sum(1)


def build_case(case, dtype=np.float32, **feeds):
    loss_name, num_true, remove, n_shards, strategy = fx.CASES[case]
    v = fx.inputs(num_true, dtype)
    w, b, x = tf.constant(v["weights"]), tf.constant(v["biases"]), tf.constant(v["inputs"])
    if n_shards > 1:
        params = [tf.constant(s) for s in fx.shard(v["weights"], n_shards, strategy)]
    else:
        params = w
    fn = getattr(tf.nn, loss_name)
    loss = fn(params, b, v["labels"], x, len(fx.SAMPLED), fx.NUM_CLASSES, num_true=num_true,
              sampled_values=v["sampled_values"], remove_accidental_hits=remove, partition_strategy=strategy)  # fmt: skip
    return v, loss, params, (w, b, x)


@pytest.mark.parametrize("case", [c for c in fx.CASES if fx.CASES[c][3] == 1])
def test_losses_match_numpy_reference(case):
    loss_name, num_true, remove, _, _ = fx.CASES[case]
    v, loss, _, _ = build_case(case, np.float64)
    assert loss.shape.as_list() == [fx.BATCH] and loss.dtype == tf.float64
    ref = reference_nce if loss_name == "nce_loss" else reference_sampled_softmax
    np.testing.assert_allclose(run(loss), ref(v, num_true, remove), rtol=1e-12)


@pytest.mark.parametrize("case", list(fx.CASES))
def test_losses_and_gradients_match_tensorflow(case):
    """TF's nn_impl.py math to float32 rounding, on the same inputs and sampled classes (shards: mod and div)."""
    _, num_true, _, n_shards, strategy = fx.CASES[case]
    with tf.Graph().as_default():
        v = fx.inputs(num_true)
        w, b, x = (tf.constant(v[k]) for k in ("weights", "biases", "inputs"))
        if n_shards == 1:
            params = w
        elif strategy == "mod":
            params = [tf.gather(w, np.arange(k, fx.NUM_CLASSES, n_shards)) for k in range(n_shards)]
        else:
            params = tf.split(w, [len(s) for s in fx.shard(v["weights"], n_shards, "div")], 0)
        loss_name = fx.CASES[case][0]
        loss = getattr(tf.nn, loss_name)(params, b, v["labels"], x, len(fx.SAMPLED), fx.NUM_CLASSES,
                                         num_true=num_true, sampled_values=v["sampled_values"],
                                         remove_accidental_hits=fx.CASES[case][2], partition_strategy=strategy)  # fmt: skip
        grads = tf.gradients(tf.reduce_sum(loss * fx.LOSS_WEIGHTS), [w, b, x])
        if n_shards == 1:
            assert isinstance(grads[0], tf.IndexedSlices)  # one lookup of the true and sampled rows, as TF
        got = run([loss] + [to_dense(g) for g in grads])
    for key, value in zip(("loss", "d_weights", "d_biases", "d_inputs"), got):
        want = TF[f"{case}|{key}"]
        np.testing.assert_allclose(value, want, rtol=2e-6, atol=2e-6 * np.abs(want).max(), err_msg=f"{case} {key}")


@pytest.mark.parametrize("case", ["nce_hits_true2", "softmax_true2", "softmax_no_removal"])
def test_gradients_against_central_differences(case):
    """float64, sampled classes held fixed: gradients into weights (through the gather), biases and inputs."""
    loss_name, num_true, remove, _, _ = fx.CASES[case]
    v = fx.inputs(num_true, np.float64)

    def build(w, b, x):
        fn = getattr(tf.nn, loss_name)
        return fn(w, b, v["labels"], x, len(fx.SAMPLED), fx.NUM_CLASSES, num_true=num_true,
                  sampled_values=v["sampled_values"], remove_accidental_hits=remove)  # fmt: skip

    check_gradients(build, [v["weights"], v["biases"], v["inputs"]], rtol=1e-6)


def test_dynamic_batch_and_default_sampler_seeded():
    """A batch known only at run time; the default log-uniform sampler is seeded (same ids in a new Session)."""
    rng = np.random.default_rng(0)
    w = tf.constant(rng.normal(size=(50, 3)).astype(np.float32))
    b = tf.zeros([50])
    x = tf.placeholder(tf.float32, [None, 3])
    labels = tf.placeholder(tf.int64, [None, 1])
    tf.set_random_seed(5)
    nce = tf.nn.nce_loss(w, b, labels, x, num_sampled=10, num_classes=50)
    soft = tf.nn.sampled_softmax_loss(w, b, labels, x, num_sampled=10, num_classes=50, seed=3)
    assert nce.shape.as_list() == [None] and soft.shape.as_list() == [None]
    feed = {x: rng.normal(size=(7, 3)), labels: rng.integers(0, 50, (7, 1))}
    first = run([nce, soft], feed)
    again = run([nce, soft], feed)
    for a, c in zip(first, again):
        assert a.shape == (7,) and np.all(np.isfinite(a))
        np.testing.assert_array_equal(a, c)
    with tf.Session() as sess:  # the second run of the op draws new classes
        one, two = sess.run(nce, feed), sess.run(nce, feed)
    assert not np.array_equal(one, two)


def test_samplers_expected_counts_match_tensorflow():
    for sampler in ("log_uniform_candidate_sampler", "uniform_candidate_sampler"):
        fn = getattr(tf.nn, sampler)
        ids, true_count, sampled_count = fn(fx.TRUE_CLASSES, 1, 6, False, fx.NUM_CLASSES, seed=1)
        assert ids.shape.as_list() == [6] and true_count.shape.as_list() == [fx.BATCH, 1]
        assert ids.dtype == tf.int64 and true_count.dtype == tf.float32
        got_ids, got_true, got_sampled = run([ids, true_count, sampled_count])
        np.testing.assert_allclose(got_true, TF[f"expected|{sampler}|False"], rtol=1e-6)
        if sampler == "log_uniform_candidate_sampler":
            p = np.log((got_ids + 2.0) / (got_ids + 1.0)) / np.log(fx.NUM_CLASSES + 1.0)
        else:
            p = np.full(6, 1.0 / fx.NUM_CLASSES)
        np.testing.assert_allclose(got_sampled, p * 6, rtol=1e-6)
    assert tf.random.uniform_candidate_sampler is tf.nn.uniform_candidate_sampler


def test_unique_sampler_distinct_and_counts():
    labels = np.array([[0], [5]], np.int64)
    ids, true_count, sampled_count = tf.nn.log_uniform_candidate_sampler(labels, 1, 20, True, 40, seed=2)
    got_ids, got_true, got_sampled = run([ids, true_count, sampled_count])
    assert len(set(got_ids.tolist())) == 20 and got_ids.min() >= 0 and got_ids.max() < 40
    # 1 - (1 - p) ** tries, with the same number of tries for every class
    p = np.log((got_ids + 2.0) / (got_ids + 1.0)) / np.log(41.0)
    tries = np.log1p(-got_sampled.astype(np.float64)) / np.log1p(-p)
    np.testing.assert_allclose(tries, tries[0], rtol=1e-4)
    assert tries[0] >= 20
    with pytest.raises(ValueError, match="range is too small"):
        tf.nn.log_uniform_candidate_sampler(labels, 1, 41, True, 40)


def test_log_uniform_distribution():
    ids, _, _ = tf.nn.log_uniform_candidate_sampler([[0]], 1, 20000, False, 10, seed=4)
    counts = np.bincount(run(ids), minlength=10) / 20000
    p = np.log((np.arange(10) + 2.0) / (np.arange(10) + 1.0)) / np.log(11.0)
    np.testing.assert_allclose(counts, p, atol=0.012)


def test_compute_accidental_hits_matches_tensorflow():
    indices, ids, weights = tf.nn.compute_accidental_hits(fx.HIT_TRUE, fx.HIT_SAMPLED, num_true=2)
    got = run([indices, ids, weights])
    for key, value in zip(("indices", "ids", "weights"), got):
        np.testing.assert_array_equal(value, TF[f"hits|{key}"])
    assert [t.dtype for t in (indices, ids, weights)] == [tf.int32, tf.int64, tf.float32]
    with pytest.raises(ValueError, match="num_true is 3"):
        tf.nn.compute_accidental_hits(fx.HIT_TRUE, fx.HIT_SAMPLED, num_true=3)


def test_sparse_to_dense():
    d = tf.sparse_to_dense([[0, 1], [2, 0]], [3, 2], 5.0)
    assert d.shape.as_list() == [3, 2] and d.dtype == tf.float32
    np.testing.assert_array_equal(run(d), [[0, 5], [0, 0], [5, 0]])
    np.testing.assert_array_equal(run(tf.sparse_to_dense([1, 3], [5], [7, 8], default_value=-1)), [-1, 7, -1, 8, -1])
    # unvalidated repeats are set, not added
    np.testing.assert_array_equal(run(tf.sparse_to_dense([[1], [1]], [3], -FLT_MAX, validate_indices=False)),
                                  np.array([0, -FLT_MAX, 0], np.float32))  # fmt: skip
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"s2d.*indices\[1\] = \[1\] is repeated"):
        run(tf.sparse_to_dense([[1], [1]], [3], 1.0, name="s2d"))
    with pytest.raises(tf.errors.InvalidArgumentError, match="out of order"):
        run(tf.sparse_to_dense([2, 1], [3], 1.0))
    with pytest.raises(tf.errors.InvalidArgumentError, match="out of bounds"):
        run(tf.sparse_to_dense([[0, 2]], [3, 2], 1.0))
    shape = tf.placeholder(tf.int32, [2])
    assert tf.sparse_to_dense([[0, 0]], shape, 1.0).shape.as_list() == [None, None]

"""Plan passes (fold, identities, liveness + in-place, fill fusion) and the generated function: every pass
changes how a plan runs, never what it computes."""

import re
import tracemalloc

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import graphvar as tf
from graphvar import plan_passes

UNARY = [tf.tanh, tf.negative, tf.square, tf.abs, tf.exp, tf.sigmoid, tf.nn.relu, tf.identity, tf.stop_gradient,
         lambda x: tf.reshape(x, [-1, 4]), lambda x: tf.cast(x, tf.float64) * 0.5]  # fmt: skip
BINARY = [tf.add, tf.subtract, tf.multiply, tf.maximum, tf.minimum, lambda a, b: tf.matmul(a, b, transpose_b=True),
          lambda a, b: tf.concat([a, b], 0)[:3] * 1.0]  # fmt: skip
REDUCE = [lambda x: tf.reduce_sum(x, 1, keepdims=True), lambda x: tf.reduce_max(x, 0), lambda x: tf.reduce_mean(x)]
PASS_SETS = (
    [plan_passes.ALL, frozenset()]
    + [plan_passes.ALL - {p} for p in sorted(plan_passes.ALL)]
    + [frozenset({p}) for p in sorted(plan_passes.ALL)]
)


def _fit(t):
    """`t` as a [3, 4] float32 tensor (broadcast, sliced or tiled), so any two values combine."""
    t = tf.cast(t, tf.float32)
    if t.shape.ndims == 0:
        return t + tf.zeros([3, 4])
    if t.shape.as_list() == [3, 4]:
        return t
    flat = tf.reshape(t, [-1])
    return tf.reshape(tf.tile(flat, [12])[:12], [3, 4])


@st.composite
def graphs(draw):
    """A recipe for a random graph: sources (constants, a placeholder, a variable) then ops over them."""
    n_ops = draw(st.integers(1, 14))
    ops = []
    for _ in range(n_ops):
        kind = draw(st.sampled_from(["unary", "binary", "reduce"]))
        table = {"unary": UNARY, "binary": BINARY, "reduce": REDUCE}[kind]
        ops.append(
            (kind, draw(st.integers(0, len(table) - 1)), draw(st.integers(0, 10**6)), draw(st.integers(0, 10**6)))
        )
    fetch = draw(st.lists(st.integers(0, 10**6), min_size=1, max_size=3))
    return ops, fetch


def _build(recipe):
    ops, fetch = recipe
    rng = np.random.default_rng(len(ops))
    x = tf.placeholder(tf.float32, [3, 4], name="x")
    v = tf.Variable(rng.standard_normal((3, 4)).astype(np.float32), name="v")
    values = [x, v, tf.constant(rng.standard_normal((3, 4)).astype(np.float32)), tf.constant(0.5) * 2.0]
    for kind, which, a, b in ops:
        table = {"unary": UNARY, "binary": BINARY, "reduce": REDUCE}[kind]
        args = [values[a % len(values)]] + ([values[b % len(values)]] if kind == "binary" else [])
        values.append(_fit(table[which](*[_fit(t) for t in args])))
    fetched = [values[4 + f % len(ops)] for f in fetch]
    return x, v, fetched, rng.standard_normal((3, 4)).astype(np.float32)


def _run(recipe, passes, interpreted=False):
    with tf.Graph().as_default():
        x, v, fetched, feed = _build(recipe)
        with tf.Session() as sess:
            sess._plan_passes = passes
            sess.run(v.initializer)
            first = sess.run(fetched, {x: feed})
            again = sess.run(fetched, {x: feed})
            assert feed.flags.writeable
        return first, again, feed


def _same(a, b):
    for p, q in zip(a, b):
        np.testing.assert_array_equal(p, q)  # bit for bit (NaNs in the same places)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graphs())
def test_every_pass_keeps_every_result_bit_for_bit(recipe):
    reference, _, feed0 = _run(recipe, frozenset())
    for passes in PASS_SETS:
        first, again, feed = _run(recipe, passes)
        _same(first, reference)
        _same(again, reference)  # a second run of the same plan: nothing stale, nothing overwritten
        np.testing.assert_array_equal(feed, feed0)  # a fed array is never written into


def test_constant_subgraph_is_folded_once_per_session_and_device():
    c = tf.constant(np.arange(4, dtype=np.float32))
    for _ in range(50):
        c = c + 1.0
    v = tf.Variable(1.0, name="v")
    y = c * v
    with tf.Session() as sess:
        sess.run(v.initializer)
        np.testing.assert_array_equal(sess.run(y), np.arange(4) + 50)
        runner = sess._compile(y, (), None)
        assert [s.op.type for s in runner.steps] == ["Mul"]  # the 50 Adds ran at compile time
        folded = dict(sess._folded)
        sess._compile([y, c], (), None)
        assert all(sess._folded[k] is value for k, value in folded.items())  # cached: not recomputed
        out = sess.run(c)
        out[0] = -1  # a fetched folded value is a copy
        assert sess.run(c)[0] == 50


def test_variables_placeholders_and_stateful_ops_are_not_folded():
    x = tf.placeholder(tf.float32, [], name="x")
    r = tf.random_uniform([2], seed=1)
    v = tf.Variable(2.0, name="v")
    ys = [x + 1.0, r + 1.0, v + 1.0]
    with tf.Session() as sess:
        sess.run(v.initializer)
        a = sess.run(ys, {x: 1.0})
        b = sess.run(ys, {x: 5.0})
        assert a[0] == 2.0 and b[0] == 6.0
        assert not np.array_equal(a[1], b[1])  # the random op runs every time
        sess.run(v.assign(10.0))
        assert sess.run(ys[2]) == 11.0


def test_a_failing_constant_subgraph_raises_at_run_time_as_before():
    bad = tf.reshape(tf.constant([1.0, 2.0, 3.0]), tf.constant([2, 2]) + 0)  # the shape is known only when run
    with tf.Session() as sess:
        with pytest.raises(tf.errors.InvalidArgumentError, match="reshape"):
            sess.run(bad)


def test_identity_reads_are_eliminated_and_still_name_the_reader():
    v = tf.Variable(np.ones((2, 2), np.float32), name="w")
    y = tf.matmul(v, v) + tf.stop_gradient(v)
    with tf.Session() as sess:
        runner = sess._compile(y, (), None)
        assert "Identity" not in [s.op.type for s in runner.steps]
        with pytest.raises(tf.errors.FailedPreconditionError, match=r"uninitialized value w[\s\S]*w/read") as e:
            sess.run(y)
        assert e.value.op is not None
        sess.run(v.initializer)
        np.testing.assert_array_equal(sess.run(y), np.full((2, 2), 3.0))


def test_intermediates_are_released_after_their_last_reader():
    n = 1 << 20  # 4 MiB of float32 per value
    x = tf.placeholder(tf.float32, [n], name="x")
    y = x
    for _ in range(24):
        y = tf.tanh(y) * 1.0
    feed = np.zeros(n, np.float32)
    with tf.Session() as sess:
        sess.run(y, {x: feed})
        tracemalloc.start()
        sess.run(y, {x: feed})
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert peak < 3 * 4 * n, f"a 48-op chain held {peak / 2**20:.0f} MiB"
        sess._plan_passes = plan_passes.ALL - {"liveness"}
        sess._runners.clear()
        sess.run(y, {x: feed})
        tracemalloc.start()
        sess.run(y, {x: feed})
        _, peak_without = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert peak_without > 40 * 4 * n  # every intermediate alive until the end


def test_in_place_never_writes_into_a_value_that_is_fetched_or_aliased():
    x = tf.placeholder(tf.float32, [3], name="x")
    a = tf.tanh(x)
    view = tf.reshape(a, [3])  # shares a's memory
    b = tf.exp(a) + 1.0
    with tf.Session() as sess:
        feed = np.array([0.0, 1.0, 2.0], np.float32)
        got_a, got_view, got_b = sess.run([a, view, b], {x: feed})
        np.testing.assert_array_equal(got_a, np.tanh(feed))
        np.testing.assert_array_equal(got_view, np.tanh(feed))
        np.testing.assert_array_equal(got_b, np.exp(np.tanh(feed)) + np.float32(1))
        got_view2, got_b2 = sess.run([view, b], {x: feed})
        np.testing.assert_array_equal(got_view2, np.tanh(feed))


def test_generated_function_is_straight_line_code():
    with tf.device("/cpu:0"):  # in-place ufunc calls are the host's (NumPy ufuncs), also under fake_gpu_plugin
        x = tf.placeholder(tf.float32, [2], name="x")
        y = tf.tanh(tf.tanh(x) + 1.0)
    with tf.Session() as sess:
        sess.run(y, {x: [0.0, 1.0]})
        source = next(iter(sess._runners.values())).run.source
        assert "for " not in source and source.count("\n") < 20
        assert re.search(r"= u\d+\((v\d+), \1\)", source)  # the second tanh writes into the dead sum


def test_each_op_runs_once_per_run_with_lazy_inputs():
    w = tf.Variable(tf.random_normal([5], seed=4), name="w")
    w2 = tf.Variable(w.initialized_value() * 1.0, name="w2")
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        np.testing.assert_array_equal(sess.run(w), sess.run(w2))

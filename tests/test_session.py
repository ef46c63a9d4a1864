import collections
import threading

import numpy as np
import pytest

import graphvar as tf


def test_nested_fetch_structures():
    a, b = tf.constant(1.0, name="a"), tf.constant(2, name="b")
    Pair = collections.namedtuple("Pair", "x y")
    with tf.Session() as sess:
        out = sess.run({"a": a, "rest": [b, (a, b)], "p": Pair(a, b), "op": tf.no_op()})
    assert out["a"] == 1.0 and out["rest"][0] == 2 and out["rest"][1] == (1.0, 2)
    assert isinstance(out["p"], Pair) and out["p"].y == 2 and out["op"] is None
    with tf.Session() as sess:
        assert sess.run((a, b)) == (1.0, 2)
        assert sess.run(Pair(a, b)) == Pair(1.0, 2)  # a tuple and a namedtuple don't share a cached plan
        assert isinstance(sess.run(Pair(a, b)), Pair)


def test_fetch_by_name_and_variable():
    v = tf.Variable(3, name="v")
    with tf.Session() as sess:
        sess.run("v/Assign")
        assert sess.run("v:0") == 3 and sess.run(v) == 3 and sess.run("v") is None


def test_fetch_errors():
    other = tf.Graph()
    with other.as_default():
        foreign = tf.constant(1)
    with tf.Session() as sess:
        with pytest.raises(ValueError, match="not an element of this graph"):
            sess.run(foreign)
        with pytest.raises(TypeError):
            sess.run(None)
        with pytest.raises(TypeError):
            sess.run(3)


def test_feeds_by_tensor_name_variable_and_intermediate():
    x = tf.placeholder(tf.float32, [None, 2], name="x")
    y = x * 2
    z = y + 1
    v = tf.Variable(1.0, name="v")
    with tf.Session() as sess:
        np.testing.assert_array_equal(sess.run(z, {x: [[1, 2]]}), [[3, 5]])
        np.testing.assert_array_equal(sess.run(z, {"x:0": [[1, 1]]}), [[3, 3]])
        np.testing.assert_array_equal(sess.run(z, {y: [[0, 0]]}), [[1, 1]])  # feeding a non-placeholder
        assert sess.run(v * 2, {v: 5.0}) == 10.0  # feeding a variable needs no initializer


def test_feed_checks_shape_and_dtype():
    x = tf.placeholder(tf.float32, [2], name="x")
    i = tf.placeholder(tf.int32, name="i")
    with tf.Session() as sess:
        with pytest.raises(ValueError, match=r"Cannot feed value of shape \(3,\) for Tensor 'x:0'"):
            sess.run(x, {x: [1, 2, 3]})
        with pytest.raises(TypeError, match="dtype"):
            sess.run(i, {i: [1.5]})
        with pytest.raises(TypeError, match="dtype"):
            sess.run(x, {x: ["a", "b"]})
        with pytest.raises(TypeError, match="cannot be a tf.Tensor"):
            sess.run(x, {x: tf.constant([1.0, 2.0])})
        assert sess.run(i, {i: np.int64(7)}) == 7
        assert sess.run(i, {i: 2.0}) == 2


def test_make_callable_with_and_without_feeds():
    v = tf.Variable(0, name="v")
    x = tf.placeholder(tf.int32, name="x")
    with tf.Session() as sess:
        sess.run(v.initializer)
        inc = sess.make_callable(v.assign_add(1))
        for _ in range(5):
            inc()
        assert sess.make_callable(v)() == 5
        f = sess.make_callable([v + x, x], feed_list=[x])
        assert f(10) == [15, 10]
        with pytest.raises(TypeError):
            f()


def test_closed_session_raises_runtime_error():
    c = tf.constant(1)
    sess = tf.Session()
    call = sess.make_callable(c)
    sess.close()
    with pytest.raises(RuntimeError, match="closed Session"):
        sess.run(c)
    with pytest.raises(RuntimeError, match="closed Session"):
        call()


def test_default_session_eval_and_run():
    c = tf.constant([1, 2])
    v = tf.Variable(1, name="v")
    with pytest.raises(ValueError, match="No default session"):
        c.eval()
    with tf.Session() as sess:
        assert tf.get_default_session() is sess
        v.initializer.run()
        assert c.eval().tolist() == [1, 2] and v.eval() == 1
    assert tf.get_default_session() is None
    sess = tf.Session()
    with sess.as_default():
        assert c.eval().tolist() == [1, 2]
    sess.close()


def test_session_on_another_graph_and_interactive():
    g = tf.Graph()
    with g.as_default():
        c = tf.constant(5)
    with tf.Session(graph=g) as sess:
        assert sess.run(c) == 5 and sess.graph is g
    isess = tf.InteractiveSession()
    d = tf.constant(4)
    assert d.eval() == 4 and tf.get_default_session() is isess
    isess.close()
    assert tf.get_default_session() is None


def test_each_op_runs_at_most_once_per_run():
    v = tf.Variable(0, name="v")
    inc = v.assign_add(1)
    with tf.Session() as sess:
        sess.run(v.initializer)
        sess.run([inc, inc, inc + 0, tf.identity(inc)])
        assert sess.run(v) == 1


def test_random_ops_stateful_and_sessions_restart():
    tf.set_random_seed(42)
    r = tf.random_uniform([5])
    with tf.Session() as s1:
        a1, a2 = s1.run(r), s1.run(r)
    with tf.Session() as s2:
        b1 = s2.run(r)
    assert not np.array_equal(a1, a2)
    np.testing.assert_array_equal(a1, b1)


def test_random_seed_rules():
    def draw(graph_seed, op_seed, extra_ops=0):
        with tf.Graph().as_default():
            if graph_seed is not None:
                tf.set_random_seed(graph_seed)
            for _ in range(extra_ops):
                tf.constant(0)
            r = tf.random_normal([4], seed=op_seed)
            with tf.Session() as sess:
                return sess.run(r)

    np.testing.assert_array_equal(draw(1, None), draw(1, None))
    assert not np.array_equal(draw(1, None), draw(1, None, extra_ops=1))  # op seed from the op count
    np.testing.assert_array_equal(draw(1, 5), draw(1, 5, extra_ops=3))
    np.testing.assert_array_equal(draw(None, 5), draw(87654321, 5))  # op seed alone: default graph seed
    assert not np.array_equal(draw(None, None), draw(None, None))  # nondeterministic


def test_random_op_attributes_and_ranges():
    tf.set_random_seed(7)
    ints = tf.random_uniform([1000], minval=-3, maxval=4, dtype=tf.int32)
    u = tf.random_uniform([1000], minval=2.0, maxval=3.0)
    t = tf.truncated_normal([20000], mean=1.0, stddev=2.0)
    with tf.Session() as sess:
        iv, uv, tv = sess.run([ints, u, t])
    assert iv.dtype == np.int32 and iv.min() == -3 and iv.max() == 3
    assert uv.min() >= 2.0 and uv.max() < 3.0
    assert np.all(np.abs(tv - 1.0) <= 4.0) and abs(tv.mean() - 1.0) < 0.05
    with pytest.raises(ValueError, match="maxval"):
        tf.random_uniform([2], dtype=tf.int32)
    with pytest.raises(ValueError, match="floating"):
        tf.random_normal([2], dtype=tf.int32)


def test_concurrent_runs_on_different_fetches():
    x = tf.placeholder(tf.float32, [None], name="x")
    outs = [x * k for k in range(8)]
    errors = []
    with tf.Session() as sess:

        def work(k):
            for i in range(200):
                val = np.full(3, i, np.float32)
                if not np.array_equal(sess.run(outs[k], {x: val}), val * k):
                    errors.append((k, i))

        threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []


def test_concurrent_locked_assign_add_is_exact():
    v = tf.Variable(0, name="counter")
    inc = v.assign_add(1, use_locking=True)
    with tf.Session() as sess:
        sess.run(v.initializer)
        call = sess.make_callable(inc)

        def work():
            for _ in range(2000):
                call()

        threads = [threading.Thread(target=work) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sess.run(v) == 16000


def test_run_options_and_metadata_are_accepted():
    c = tf.constant(1)
    with tf.Session(config=tf.ConfigProto(allow_soft_placement=True)) as sess:
        md = tf.RunMetadata()
        assert sess.run(c, options=tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE), run_metadata=md) == 1


def test_compat_v1_namespace_is_the_same_api():
    assert tf.compat.v1.Session is tf.Session and tf.compat.v1.train.Saver is tf.train.Saver
    v = tf.compat.v1.Variable(3, name="v")
    with tf.compat.v1.Session() as sess:
        sess.run(tf.compat.v1.global_variables_initializer())
        assert sess.run(v) == 3


def test_tf2_only_api_is_refused_clearly():
    with pytest.raises(NotImplementedError, match="tf.gradients"):
        getattr(tf, "GradientTape")  # noqa: B009 - the attribute access is what is tested
    with pytest.raises(AttributeError):
        getattr(tf, "no_such_thing")  # noqa: B009

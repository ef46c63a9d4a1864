import numpy as np
import pytest

import graphvar as tf


def test_seed_workflow_initialized_value_is_exact():
    weights = tf.Variable(tf.random_normal([784, 200], stddev=0.35), name="weights")
    biases = tf.Variable(tf.zeros([200]), name="biases")
    w2 = tf.Variable(weights.initialized_value(), name="w2")
    w_twice = tf.Variable(weights.initialized_value() * 0.2, name="w_twice")
    init_op = tf.initialize_all_variables()
    with tf.Session() as sess:
        sess.run(init_op)
        w, b, v2, vt = sess.run([weights, biases, w2, w_twice])
    assert w.shape == (784, 200) and w.dtype == np.float32
    assert abs(w.std() - 0.35) < 0.01 and abs(w.mean()) < 0.01
    np.testing.assert_array_equal(b, np.zeros(200, np.float32))
    np.testing.assert_array_equal(v2, w)
    np.testing.assert_array_equal(vt, w * np.float32(0.2))


def test_initialized_value_reads_an_initialized_variable_without_redrawing():
    weights = tf.Variable(tf.random_normal([50]), name="weights")
    w2 = tf.Variable(weights.initialized_value(), name="w2")
    with tf.Session() as sess:
        sess.run(weights.initializer)
        sess.run(weights.assign(tf.ones([50])))
        sess.run(w2.initializer)
        np.testing.assert_array_equal(sess.run(w2), np.ones(50, np.float32))


def test_variable_naming_and_properties():
    v = tf.Variable([1.0, 2.0], name="weights")
    v1 = tf.Variable([1.0, 2.0], name="weights")
    assert v.name == "weights:0" and v.op.name == "weights" and v1.op.name == "weights_1"
    assert v.dtype == tf.float32 and v.shape.as_list() == [2] and v.get_shape().as_list() == [2]
    assert v.initializer.name == "weights/Assign" and v.value().name == "weights/read:0"
    assert v.graph is tf.get_default_graph() and v.device == ""
    assert v.initial_value.op.name == "weights/initial_value"
    with tf.name_scope("layer"):
        s = tf.Variable(0, name="b")
    assert s.op.name == "layer/b"
    with tf.device("/cpu:0"):
        d = tf.Variable(0)
    assert d.device == "/device:CPU:0" and d.op.name == "Variable"


def test_initial_value_kinds_and_dtype():
    a = tf.Variable(np.arange(3, dtype=np.int64), name="a")
    b = tf.Variable(lambda: tf.ones([2, 2]), name="b")
    c = tf.Variable(3, dtype=tf.float64, name="c")
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        np.testing.assert_array_equal(sess.run(a), [0, 1, 2])
        np.testing.assert_array_equal(sess.run(b), np.ones((2, 2)))
        assert sess.run(c) == 3.0 and c.dtype == tf.float64
    with pytest.raises(ValueError, match="initial_value must be specified"):
        tf.Variable()


def test_collections_trainable_and_local():
    v = tf.Variable(1.0, name="v")
    nt = tf.Variable(1.0, trainable=False, name="nt")
    loc = tf.Variable(1.0, collections=[tf.GraphKeys.LOCAL_VARIABLES], name="loc")
    assert tf.global_variables() == [v, nt] and tf.all_variables() == [v, nt]
    assert tf.trainable_variables() == [v, loc]  # trainable joins even with collections=
    assert tf.local_variables() == [loc]
    with pytest.raises(ValueError, match="must be a list"):
        tf.Variable(1.0, collections="x")


def test_initializer_covers_only_variables_existing_when_called():
    a = tf.Variable(1, name="a")
    init = tf.global_variables_initializer()
    b = tf.Variable(2, name="b")
    with tf.Session() as sess:
        sess.run(init)
        assert sess.run(a) == 1
        with pytest.raises(tf.errors.FailedPreconditionError, match="uninitialized value b"):
            sess.run(b)
        sess.run(tf.variables_initializer([b]))
        assert sess.run(b) == 2
        assert sess.run(tf.local_variables_initializer()) is None


def test_uninitialized_read_names_the_variable_and_reports():
    a = tf.Variable(1, name="alpha")
    tf.Variable(2, name="beta")
    with tf.Session() as sess:
        with pytest.raises(tf.errors.FailedPreconditionError, match="Attempting to use uninitialized value alpha"):
            sess.run(a + 1)
        assert list(sess.run(tf.report_uninitialized_variables())) == [b"alpha", b"beta"]
        assert not sess.run(tf.is_variable_initialized(a))
        with pytest.raises(tf.errors.FailedPreconditionError, match="alpha, beta"):
            sess.run(tf.assert_variables_initialized())
        sess.run(a.initializer)
        assert sess.run(tf.is_variable_initialized(a))
        assert list(sess.run(tf.report_uninitialized_variables())) == [b"beta"]


def test_values_live_in_the_session():
    v = tf.Variable(5, name="v")
    with tf.Session() as s1:
        s1.run(v.initializer)
        s1.run(v.assign(7))
        with tf.Session() as s2:
            with pytest.raises(tf.errors.FailedPreconditionError):
                s2.run(v)
            s2.run(v.initializer)
            assert s2.run(v) == 5
        assert s1.run(v) == 7


def test_assign_add_sub_read_value_and_locking():
    v = tf.Variable([1.0, 2.0], name="v")
    with tf.Session() as sess:
        sess.run(v.initializer)
        np.testing.assert_array_equal(sess.run(v.assign([3.0, 4.0])), [3, 4])
        np.testing.assert_array_equal(sess.run(v.assign_add([1.0, 1.0], use_locking=True)), [4, 5])
        np.testing.assert_array_equal(sess.run(tf.assign_sub(v, [2.0, 2.0])), [2, 3])
        op = v.assign([0.0, 0.0], read_value=False)
        assert isinstance(op, tf.Operation) and sess.run(op) is None
        np.testing.assert_array_equal(v.eval(sess), [0, 0])
        np.testing.assert_array_equal(sess.run(v.read_value()), [0, 0])
        np.testing.assert_array_equal(sess.run(v.value()), [0, 0])


def test_assign_shape_checks():
    v = tf.Variable([1.0, 2.0], name="v")
    with pytest.raises(ValueError, match="incompatible"):
        v.assign([1.0, 2.0, 3.0])
    p = tf.placeholder(tf.float32, name="p")
    grow = tf.assign(v, p, validate_shape=False)
    checked = tf.assign(v, p)
    with tf.Session() as sess:
        sess.run(v.initializer)
        with pytest.raises(tf.errors.InvalidArgumentError, match="lhs shape"):
            sess.run(checked, {p: [1.0, 2.0, 3.0]})
        np.testing.assert_array_equal(sess.run(v), [1, 2])  # nothing changed by the failed call
        with pytest.raises(tf.errors.InvalidArgumentError, match="same shape"):
            sess.run(v.assign_add(p), {p: [1.0]})
        np.testing.assert_array_equal(sess.run(grow, {p: [1.0, 2.0, 3.0]}), [1, 2, 3])
        assert sess.run(v).shape == (3,)


def test_assign_add_on_uninitialized_variable_fails():
    v = tf.Variable(0, name="counter")
    with tf.Session() as sess:
        with pytest.raises(tf.errors.FailedPreconditionError, match="counter"):
            sess.run(v.assign_add(1))


def test_load_writes_without_new_ops():
    v = tf.Variable([0.0, 0.0], name="v")
    with tf.Session() as sess:
        sess.run(v.initializer)
        n = len(tf.get_default_graph().get_operations())
        v.load([5.0, 6.0], sess)
        assert len(tf.get_default_graph().get_operations()) == n
        np.testing.assert_array_equal(sess.run(v), [5, 6])
        with sess.as_default():
            v.load([1.0, 1.0])
        assert v.eval(session=sess).tolist() == [1, 1]


def test_variable_operators_and_conversion():
    v = tf.Variable(2.0, name="v")
    w = tf.Variable([[1.0, 2.0]], name="w")
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        assert sess.run(v * 3 + 1) == 7.0
        assert sess.run(1 - v) == -1.0
        assert sess.run(-v) == -2.0
        assert sess.run(v > 1.0)
        np.testing.assert_array_equal(sess.run(w @ tf.constant([[1.0], [1.0]])), [[3.0]])
        np.testing.assert_array_equal(sess.run(w[0]), [1, 2])
        assert sess.run(tf.convert_to_tensor(v)) == 2.0

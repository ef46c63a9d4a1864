"""tf.gradients: every rule against float64 central differences, and the engine's TF1 semantics."""

from __future__ import annotations

import numpy as np
import pytest

import graphvar as tf
from tests.gradcheck import check_gradients

rng = np.random.default_rng(42)


def r(*shape: int, lo: float = -2.0, hi: float = 2.0) -> np.ndarray:
    return rng.uniform(lo, hi, size=shape)


def pos(*shape: int) -> np.ndarray:
    return rng.uniform(0.5, 2.0, size=shape)


BINARY_CASES = [
    ("add", lambda a, b: a + b, [r(2, 3), r(3)], None),
    ("add_batch_none", lambda a, b: a + b, [r(4, 3), r(3)], [[None, 3], [3]]),
    ("add_both_none", lambda a, b: a + b, [r(4, 3), r(4, 1)], [[None, None], [None, None]]),
    ("sub_col", lambda a, b: a - b, [r(2, 3), r(2, 1)], None),
    ("mul_scalar", lambda a, b: a * b, [r(2, 3), r()], None),
    ("mul_none", lambda a, b: a * b, [r(5, 3), r(1, 3)], [[None, 3], [1, 3]]),
    ("div", lambda a, b: a / b, [r(2, 3), pos(3)], None),
    ("pow", lambda a, b: tf.pow(a, b), [pos(2, 3), r(2, 3)], None),
    ("maximum", lambda a, b: tf.maximum(a, b), [r(3, 4), r(4)], None),
    ("minimum", lambda a, b: tf.minimum(a, b), [r(3, 4), r(3, 4)], None),
    ("matmul", lambda a, b: tf.matmul(a, b), [r(2, 3), r(3, 4)], None),
    ("matmul_ta", lambda a, b: tf.matmul(a, b, transpose_a=True), [r(3, 2), r(3, 4)], None),
    ("matmul_tb", lambda a, b: tf.matmul(a, b, transpose_b=True), [r(2, 3), r(4, 3)], None),
    ("matmul_tab", lambda a, b: tf.matmul(a, b, transpose_a=True, transpose_b=True), [r(3, 2), r(4, 3)], None),
    ("matmul_none", lambda a, b: tf.matmul(a, b), [r(5, 3), r(3, 2)], [[None, 3], [3, 2]]),
    ("batch_matmul_bcast", lambda a, b: tf.matmul(a, b), [r(2, 3, 4), r(4, 2)], None),
    ("floormod", lambda a, b: tf.floormod(a, b), [r(2, 3, lo=0.1, hi=0.9) + 3.0, pos(3) + 0.3], None),
]


@pytest.mark.parametrize("name,build,values,shapes", BINARY_CASES, ids=[c[0] for c in BINARY_CASES])
def test_binary_gradients(name, build, values, shapes):
    check_gradients(build, values, shapes)


UNARY_CASES = [
    ("neg", tf.negative, r(2, 3)),
    ("abs", tf.abs, r(2, 3)),
    ("square", tf.square, r(2, 3)),
    ("sqrt", tf.sqrt, pos(2, 3)),
    ("exp", tf.exp, r(2, 3)),
    ("log", tf.log, pos(2, 3)),
    ("relu", tf.nn.relu, r(3, 4)),
    ("sigmoid", tf.sigmoid, r(3, 4)),
    ("tanh", tf.tanh, r(3, 4)),
    ("softmax", tf.nn.softmax, r(3, 4)),
    ("softmax_axis0", lambda x: tf.nn.softmax(x, axis=0), r(3, 4)),
    ("identity", tf.identity, r(3)),
    ("reduce_sum", tf.reduce_sum, r(2, 3)),
    ("reduce_sum_axis", lambda x: tf.reduce_sum(x, axis=1), r(2, 3)),
    ("reduce_sum_keep", lambda x: tf.reduce_sum(x, axis=[0], keepdims=True), r(2, 3)),
    ("reduce_mean", tf.reduce_mean, r(2, 3)),
    ("reduce_mean_axis", lambda x: tf.reduce_mean(x, axis=-1, keep_dims=True), r(2, 3, 2)),
    ("reduce_max", lambda x: tf.reduce_max(x, axis=1), r(3, 4)),
    ("reduce_min", tf.reduce_min, r(3, 4)),
    ("reduce_prod", lambda x: tf.reduce_prod(x, axis=0), r(3, 4)),
    ("reshape", lambda x: tf.reshape(x, [3, 2]), r(2, 3)),
    ("transpose", lambda x: tf.transpose(x, [1, 2, 0]), r(2, 3, 4)),
    ("expand_dims", lambda x: tf.expand_dims(x, 1), r(2, 3)),
    ("squeeze", lambda x: tf.squeeze(x, [1]), r(2, 1, 3)),
    ("slice", lambda x: x[1:, ::2], r(3, 5)),
    ("slice_index", lambda x: x[:, 1], r(3, 5)),
    ("concat", lambda x: tf.concat([x, 2.0 * x, x[:, :1]], axis=1), r(2, 3)),
    ("stack", lambda x: tf.stack([x, x * x], axis=1), r(2, 3)),
    ("tile", lambda x: tf.tile(x, [2, 3]), r(2, 3)),
    ("broadcast_to", lambda x: tf.broadcast_to(x, [4, 2, 3]), r(2, 1)[:, :1] * np.ones((2, 3))),
    ("add_n", lambda x: tf.add_n([x, x * x, tf.sin(x) if hasattr(tf, "sin") else x]), r(3)),
]


@pytest.mark.parametrize("name,build,value", UNARY_CASES, ids=[c[0] for c in UNARY_CASES])
def test_unary_gradients(name, build, value):
    check_gradients(build, [value])


def test_cast_gradient_goes_back_to_the_source_dtype():
    check_gradients(lambda x: tf.cast(tf.cast(x, tf.float32), tf.float64) * 3.0, [r(3)], h=1e-2, rtol=1e-3)
    c = tf.constant([1.5])
    (g,) = tf.gradients(tf.cast(c, tf.float64), c)
    assert g.dtype == tf.float32


def test_reduce_prod_with_zeros():
    x = r(3, 4)
    x[0, 1] = 0.0
    x[2, 0] = x[2, 3] = 0.0
    check_gradients(lambda t: tf.reduce_prod(t, axis=1), [x])


def test_mean_over_runtime_batch():
    check_gradients(lambda t: tf.reduce_mean(t, axis=0), [r(5, 3)], [[None, 3]])
    check_gradients(lambda t: tf.reduce_mean(t), [r(5, 3)], [[None, 3]])


def test_reshape_to_runtime_shape():
    check_gradients(lambda a, b: tf.reshape(a, tf.shape(b)) * b, [r(2, 3), r(3, 2)], [[None, 3], [None, 2]])


def test_select_gradients():
    c = np.array([[True, False, True]])
    check_gradients(lambda a, b: tf.where_v2(c, a, b) if hasattr(tf, "where_v2") else a, [r(2, 3), r(2, 3)])


def test_two_layer_mlp_with_runtime_batch():
    def mlp(x, w1, b1, w2):
        h = tf.tanh(tf.matmul(x, w1) + b1)
        return tf.nn.softmax(tf.matmul(h, w2))

    check_gradients(mlp, [r(4, 3), r(3, 5), r(5), r(5, 2)], [[None, 3], [3, 5], [5], [5, 2]])


def test_second_order_through_rules():
    x = tf.constant([0.3, -1.2], tf.float64)
    y = tf.reduce_sum(tf.tanh(x) * tf.sigmoid(x))
    (g,) = tf.gradients(y, x)
    (gg,) = tf.gradients(tf.reduce_sum(g), x)
    with tf.Session() as sess:
        got = sess.run(gg)
    xv = np.array([0.3, -1.2])
    f2 = lambda v: np.tanh(v) / (1 + np.exp(-v))  # noqa: E731
    h = 1e-4
    want = (f2(xv + h) - 2 * f2(xv) + f2(xv - h)) / h**2
    np.testing.assert_allclose(got, want, rtol=1e-5)


# ---- the engine ----
def test_variables_and_names():
    g = tf.Graph()
    with g.as_default():
        w = tf.Variable([[1.0, 2.0]], name="w")
        loss = tf.reduce_sum(tf.square(w))
        (dw,) = tf.gradients(loss, [w])
        assert dw.op.name.startswith("gradients/")
        (dw2,) = tf.gradients(loss, w)
        assert dw2.op.name.startswith("gradients_1/")
        with tf.Session() as sess:
            sess.run(w.initializer)
            np.testing.assert_array_equal(sess.run(dw), [[2.0, 4.0]])


def test_unconnected_and_integer_paths_give_none():
    x = tf.constant(1.0)
    z = tf.constant(2.0)
    i = tf.cast(x, tf.int32)
    y = x * 3.0 + tf.cast(i, tf.float32)
    gx, gz = tf.gradients(y, [x, z])
    assert gz is None
    with tf.Session() as sess:
        assert sess.run(gx) == 3.0  # the integer path contributes nothing


def test_stop_gradient_and_stop_gradients_arg():
    a = tf.constant(2.0)
    b = a * a
    y = tf.stop_gradient(b) * a + b
    (ga,) = tf.gradients(y, a)
    (ga2,) = tf.gradients(a * b, a, stop_gradients=[b])
    with tf.Session() as sess:
        assert sess.run(ga) == pytest.approx(4.0 + 4.0)  # d/da [const(4) * a + a^2]
        assert sess.run(ga2) == pytest.approx(4.0)


def test_grad_ys_and_several_ys():
    x = tf.constant([1.0, 2.0])
    y1, y2 = x * 2.0, x * x
    (g,) = tf.gradients([y1, y2], x, grad_ys=[tf.constant([1.0, 1.0]), tf.constant([0.5, 2.0])])
    with tf.Session() as sess:
        np.testing.assert_allclose(sess.run(g), [2.0 + 1.0, 2.0 + 8.0])


def test_several_consumers_are_summed_once_in_a_fixed_order():
    x = tf.constant(3.0)
    y = x * x + tf.sin(x) if hasattr(tf, "sin") else x * x + x
    (g1,) = tf.gradients(y, x)
    (g2,) = tf.gradients(y, x)
    assert [o.type for o in g1.graph.get_operations() if o.name.startswith("gradients/")].count("AddN") == 1
    with tf.Session() as sess:
        assert sess.run(g1) == sess.run(g2)


def test_missing_rule_names_the_op():
    x = tf.constant([1.0, 2.0])
    y = tf.reduce_sum(tf.floordiv(x, 1.0) * x + tf.cast(tf.argmax(x), tf.float32))
    (g,) = tf.gradients(y, x)  # FloorDiv and ArgMax are not differentiable: no error
    with tf.Session() as sess:
        np.testing.assert_allclose(sess.run(g), [1.0, 2.0])
    with tf.get_default_graph().gradient_override_map({"Square": "NoSuchRule"}):
        s = tf.square(x)
    with pytest.raises(LookupError, match="NoSuchRule"):
        tf.gradients(s, x)


def test_register_gradient_and_override_map():
    @tf.RegisterGradient("TestDoubleGrad")
    def _double(op, grad):
        return grad * 2.0 * op.inputs[0] * 10.0

    with pytest.raises(KeyError):
        tf.RegisterGradient("TestDoubleGrad")(_double)
    x = tf.constant(3.0)
    with tf.get_default_graph().gradient_override_map({"Square": "TestDoubleGrad"}):
        y = tf.square(x)
    (g,) = tf.gradients(y, x)
    with tf.Session() as sess:
        assert sess.run(g) == pytest.approx(60.0)


def test_rule_returning_wrong_count_is_a_value_error():
    @tf.RegisterGradient("TestBadCount")
    def _bad(op, grad):
        return [grad, grad]

    x = tf.constant(1.0)
    with tf.get_default_graph().gradient_override_map({"Exp": "TestBadCount"}):
        y = tf.exp(x)
    with pytest.raises(ValueError, match="Num gradients 2"):
        tf.gradients(y, x)


def test_not_differentiable_registration():
    tf.NotDifferentiable("TestNoGrad")
    with pytest.raises(KeyError):
        tf.NotDifferentiable("TestNoGrad")


def test_gradient_of_integer_y_is_a_type_error():
    with pytest.raises(TypeError, match="int32"):
        tf.gradients(tf.constant(1), tf.constant(1.0))


def test_hessians():
    x = tf.constant([1.0, 2.0], tf.float64)
    (h,) = tf.hessians(tf.reduce_sum(x * x * x), x)
    with tf.Session() as sess:
        np.testing.assert_allclose(sess.run(h), np.diag([6.0, 12.0]))


def test_gradient_runs_on_the_ops_backend_and_is_deterministic():
    x = tf.placeholder(tf.float32, [None, 4])
    w = tf.Variable(tf.random_normal([4, 3], seed=1))
    loss = tf.reduce_mean(tf.nn.softmax(tf.matmul(x, w)) * 3.0)
    (g,) = tf.gradients(loss, w)
    data = np.random.default_rng(0).standard_normal((7, 4)).astype(np.float32)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        first = sess.run(g, {x: data})
        assert first.dtype == np.float32 and first.shape == (4, 3)
        assert np.array_equal(first, sess.run(g, {x: data}))

import numpy as np
import pytest

import graphvar as tf


def run(x, feed=None):
    with tf.Session() as sess:
        return sess.run(x, feed)


A = np.array([[1.0, -2.0], [3.0, 4.0]], np.float32)
B = np.array([[0.5, 1.0], [-1.0, 2.0]], np.float32)


@pytest.mark.parametrize(
    "fn, ref",
    [
        (tf.add, np.add), (tf.subtract, np.subtract), (tf.multiply, np.multiply), (tf.divide, np.true_divide),
        (tf.maximum, np.maximum), (tf.minimum, np.minimum), (tf.less, np.less), (tf.greater_equal, np.greater_equal),
        (tf.equal, np.equal), (tf.not_equal, np.not_equal),
    ],
)  # fmt: skip
def test_binary_ops_match_numpy(fn, ref):
    np.testing.assert_allclose(run(fn(tf.constant(A), tf.constant(B))), ref(A, B))


def test_operators_on_tensors():
    a, b = tf.constant(A), tf.constant(B)
    np.testing.assert_allclose(run(a + b), A + B)
    np.testing.assert_allclose(run(a - 1), A - 1)
    np.testing.assert_allclose(run(2 * a), 2 * A)
    np.testing.assert_allclose(run(1 / b), 1 / B)
    np.testing.assert_allclose(run(a @ b), A @ B, rtol=1e-6)
    np.testing.assert_allclose(run(-a), -A)
    np.testing.assert_array_equal(run(a < b), A < B)
    np.testing.assert_array_equal(run(a >= 1), A >= 1)
    np.testing.assert_allclose(run(abs(a)), np.abs(A))
    np.testing.assert_allclose(run(a**2), A**2)


def test_numpy_on_the_left_uses_our_reflected_operator():
    out = np.float32(2) * tf.constant(A)
    assert isinstance(out, tf.Tensor)


def test_broadcasting_and_shape_errors_name_the_op():
    x = tf.constant(np.ones((2, 3), np.float32))
    assert (x + tf.constant(np.ones(3, np.float32))).shape.as_list() == [2, 3]
    with pytest.raises(ValueError, match=r"Dimensions must be equal, but are 3 and 4 for 'bad_add' \(op: 'Add'\)"):
        tf.add(x, tf.constant(np.ones(4, np.float32)), name="bad_add")


def test_dtype_mismatch_is_a_type_error():
    with pytest.raises(TypeError, match="does not match"):
        tf.add(tf.constant(1), tf.constant(1.0))


def test_integer_true_division_casts_like_tf():
    out = run(tf.constant(7) / tf.constant(2))
    assert out == 3.5 and out.dtype == np.float64
    assert run(tf.constant(7) // tf.constant(2)) == 3
    assert run(tf.div(tf.constant(7), 2)) == 3


def test_matmul_shapes_transpose_and_errors():
    a = tf.constant(np.ones((2, 3), np.float32))
    b = tf.constant(np.ones((4, 3), np.float32))
    assert tf.matmul(a, b, transpose_b=True).shape.as_list() == [2, 4]
    np.testing.assert_allclose(run(tf.matmul(a, b, transpose_b=True)), np.full((2, 4), 3.0))
    with pytest.raises(ValueError, match="Dimensions must be equal, but are 3 and 4 for 'mm'"):
        tf.matmul(a, b, name="mm")
    with pytest.raises(ValueError, match="rank"):
        tf.matmul(tf.constant([1.0]), a)


def test_reductions():
    x = tf.constant(A)
    assert run(tf.reduce_sum(x)) == A.sum()
    np.testing.assert_allclose(run(tf.reduce_sum(x, axis=0)), A.sum(0))
    np.testing.assert_allclose(run(tf.reduce_mean(x, 1, keepdims=True)), A.mean(1, keepdims=True))
    assert tf.reduce_mean(x, 1, keepdims=True).shape.as_list() == [2, 1]
    np.testing.assert_allclose(run(tf.reduce_sum(x, reduction_indices=[1], keep_dims=True)), A.sum(1, keepdims=True))
    assert run(tf.reduce_mean(tf.constant([1, 2]))) == 1  # integer mean truncates, as TF
    assert run(tf.reduce_max(x)) == 4.0
    with pytest.raises(ValueError, match="Invalid reduction dimension"):
        tf.reduce_sum(x, axis=2)


def test_activations():
    x = tf.constant(A)
    np.testing.assert_allclose(run(tf.nn.relu(x)), np.maximum(A, 0))
    np.testing.assert_allclose(run(tf.sigmoid(x)), 1 / (1 + np.exp(-A)), rtol=1e-6)
    np.testing.assert_allclose(run(tf.tanh(x)), np.tanh(A), rtol=1e-6)
    e = np.exp(A - A.max(1, keepdims=True))
    np.testing.assert_allclose(run(tf.nn.softmax(x)), e / e.sum(1, keepdims=True), rtol=1e-6)
    with pytest.raises(ValueError, match="rank"):
        tf.nn.softmax(tf.constant(1.0))

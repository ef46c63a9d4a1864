"""TF1's remaining initializers: tf.uniform_unit_scaling_initializer, tf.orthogonal_initializer, the Glorot /
He / LeCun variance scalings and the tf.initializers namespace (TF1's parameterisation, seeded)."""

import math

import numpy as np
import pytest

import graphvar as tf


def value(init, shape, dtype=tf.float32):
    with tf.Graph().as_default():
        v = tf.get_variable("v", shape, dtype=dtype, initializer=init)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            return sess.run(v)


def test_namespace_is_tf1s():
    i = tf.initializers
    assert i.zeros is tf.zeros_initializer and i.ones is tf.ones_initializer and i.constant is tf.constant_initializer
    assert i.random_normal is tf.random_normal_initializer and i.truncated_normal is tf.truncated_normal_initializer
    assert i.random_uniform is tf.random_uniform_initializer and i.variance_scaling is tf.variance_scaling_initializer
    assert i.glorot_uniform is tf.glorot_uniform_initializer and i.glorot_normal is tf.glorot_normal_initializer
    assert i.orthogonal is tf.orthogonal_initializer and i.uniform_unit_scaling is tf.uniform_unit_scaling_initializer
    assert i.global_variables is tf.global_variables_initializer and i.variables is tf.variables_initializer
    assert i.tables_initializer is tf.tables_initializer
    for name in ("he_normal", "he_uniform", "lecun_normal", "lecun_uniform", "identity", "local_variables"):
        assert callable(getattr(i, name))


def test_uniform_unit_scaling_bound_and_seed():
    shape = [3, 5, 40]  # input_size 15
    a = value(tf.uniform_unit_scaling_initializer(factor=2.0, seed=1), shape)
    bound = 2.0 * math.sqrt(3 / 15)
    assert a.shape == tuple(shape) and np.abs(a).max() <= bound and np.abs(a).max() > 0.95 * bound
    np.testing.assert_array_equal(a, value(tf.uniform_unit_scaling_initializer(factor=2.0, seed=1), shape))
    # the same draw as random_uniform(-bound, bound) under the same seed
    np.testing.assert_allclose(a, value(tf.random_uniform_initializer(-bound, bound, seed=1), shape), rtol=1e-6)


@pytest.mark.parametrize("shape", [[6, 4], [4, 6], [2, 3, 5]])
def test_orthogonal(shape):
    gain = 1.5
    a = value(tf.orthogonal_initializer(gain=gain, seed=3), shape, tf.float64).reshape(-1, shape[-1])
    rows, cols = a.shape
    gram = a.T @ a if rows >= cols else a @ a.T
    np.testing.assert_allclose(gram, gain**2 * np.eye(min(rows, cols)), atol=1e-12)
    # TF's construction in NumPy from the same normal draw: QR, signs of R's diagonal, transposed when wide
    flat = (cols, rows) if rows < cols else (rows, cols)
    g = value(tf.random_normal_initializer(seed=3), list(flat), tf.float64)
    q, r = np.linalg.qr(g)
    q = q * np.sign(np.diag(r))
    want = gain * (q.T if rows < cols else q)
    np.testing.assert_allclose(a, want.reshape(a.shape), atol=1e-12)
    with pytest.raises(ValueError, match="at least two-dimensional"):
        tf.orthogonal_initializer()([4])


def test_identity_and_float_checks():
    np.testing.assert_array_equal(value(tf.initializers.identity(gain=2.0), [2, 3]), 2 * np.eye(2, 3))
    with pytest.raises(ValueError, match="2D matrices"):
        tf.initializers.identity()([2, 2, 2])
    with pytest.raises(ValueError, match="Expected floating point type, got int32"):
        tf.orthogonal_initializer(dtype=tf.int32)


@pytest.mark.parametrize(
    "name, scale, mode, distribution",
    [("he_normal", 2.0, "fan_in", "truncated_normal"), ("he_uniform", 2.0, "fan_in", "uniform"),
     ("lecun_normal", 1.0, "fan_in", "truncated_normal"), ("lecun_uniform", 1.0, "fan_in", "uniform")],
)  # fmt: skip
def test_he_lecun_are_variance_scaling(name, scale, mode, distribution):
    init = getattr(tf.initializers, name)(seed=4)
    assert (init.scale, init.mode, init.distribution, init.seed) == (scale, mode, distribution, 4)
    np.testing.assert_array_equal(
        value(init, [30, 20]), value(tf.variance_scaling_initializer(scale, mode, distribution, seed=4), [30, 20])
    )


def test_glorot_classes():
    """TF1's glorot_* are classes (get_variable instantiates them); uniform limit sqrt(6 / (fan_in + fan_out))."""
    assert isinstance(tf.glorot_uniform_initializer(), tf.variance_scaling_initializer)
    a = value(tf.glorot_uniform_initializer, [20, 30])  # the class itself
    limit = math.sqrt(6 / 50)
    assert np.abs(a).max() <= limit and np.abs(a).max() > 0.9 * limit
    b = value(tf.initializers.glorot_normal(seed=2), [200, 300], tf.float64)
    assert np.abs(b).max() <= 2 * math.sqrt(2 / 500) / 0.87962566103423978
    np.testing.assert_allclose(b.std(), math.sqrt(2 / 500), rtol=0.02)
    assert tf.glorot_normal_initializer(seed=1).get_config() == {"seed": 1, "dtype": "float32"}

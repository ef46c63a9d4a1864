"""The optimizer updates on a real GPU (kernels/optim.cu) against the NumPy backend, bit for bit, and
against the TensorFlow-written fixtures. Skipped without CuPy or a CUDA device."""

from __future__ import annotations

import numpy as np
import pytest

cupy = pytest.importorskip("cupy")

import graphvar as tf  # noqa: E402

pytestmark = pytest.mark.gpu

OPTIMIZERS = {
    "sgd": lambda: tf.train.GradientDescentOptimizer(0.1),
    "momentum": lambda: tf.train.MomentumOptimizer(0.01, 0.9),
    "nesterov": lambda: tf.train.MomentumOptimizer(0.01, 0.9, use_nesterov=True),
    "adam": lambda: tf.train.AdamOptimizer(0.001),
    "rmsprop": lambda: tf.train.RMSPropOptimizer(0.01, momentum=0.5),
    "rmsprop_centered": lambda: tf.train.RMSPropOptimizer(0.01, momentum=0.5, centered=True),
    "adagrad": lambda: tf.train.AdagradOptimizer(0.1),
}


def _run(name: str, device: str, dtype, init: np.ndarray, grads: np.ndarray) -> list[np.ndarray]:
    with tf.Graph().as_default(), tf.device(device):
        v = tf.Variable(init, name="v")
        g = tf.placeholder(dtype, init.shape)
        train = OPTIMIZERS[name]().apply_gradients([(g, v)], global_step=tf.train.get_or_create_global_step())
        all_vars = sorted(tf.global_variables(), key=lambda x: x.op.name)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for step in grads:
                sess.run(train, {g: step})
            return sess.run(all_vars)


@pytest.mark.parametrize("dtype", [tf.float32, tf.float64])
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_gpu_optimizer_equals_host(name, dtype):
    rng = np.random.default_rng(3)
    n = (1 << 20) + 3  # many blocks, grid-stride tail
    init = (rng.standard_normal(n) * 3).astype(dtype.np)
    grads = (rng.standard_normal((3, n)) * 10.0 ** rng.integers(-4, 3, (3, n))).astype(dtype.np)
    on_gpu, on_host = _run(name, "/gpu:0", dtype, init, grads), _run(name, "/cpu:0", dtype, init, grads)
    for got, want in zip(on_gpu, on_host):
        assert got.tobytes() == want.tobytes(), name
    assert not np.array_equal(on_host[-1], init)


def test_gpu_matches_tensorflow_fixtures():
    import sys

    sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1] / "train"))
    from optimizer_helpers import fixtures, run_case

    from tests.fixtures import make_tf_optimizer_fixtures as fx

    for case in ("sgd", "nesterov", "adam", "rmsprop_centered"):
        history = run_case(case, device="/gpu:0")
        for name, values in history.items():
            assert np.stack(values).tobytes() == fixtures()[fx.key(case, "value", name)].tobytes(), (case, name)

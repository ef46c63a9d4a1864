"""minimize() end to end: the resume guarantee, sparse (IndexedSlices) gradients, and TensorFlow resuming
graphvar's training checkpoints (live, where TensorFlow is installed)."""

from __future__ import annotations

import numpy as np
import pytest

import graphvar as tf
from tests.fixtures import make_tf_optimizer_fixtures as fx

pytest.importorskip("graphvar.ops.gradients_impl", reason="needs tf.gradients (graphvar/ops/gradients_impl.py)")

OPTIMIZERS = {
    "sgd": ("GradientDescentOptimizer", {"learning_rate": 0.1}),
    "nesterov": ("MomentumOptimizer", {"learning_rate": 0.05, "momentum": 0.9, "use_nesterov": True}),
    "adam": ("AdamOptimizer", {"learning_rate": 0.01}),
    "rmsprop_centered": ("RMSPropOptimizer", {"learning_rate": 0.01, "momentum": 0.5, "centered": True}),
    "adagrad": ("AdagradOptimizer", {"learning_rate": 0.1}),
}


def _model(tfm, data: dict, cls: str, kwargs: dict):
    """The fixture model (tanh MLP, mean squared error) built with module `tfm` (graphvar or TF)."""
    params = {}
    for layer in ("layer1", "layer2"):
        with tfm.variable_scope(layer):
            for p in ("W", "b"):
                init = data[f"{layer}/{p}"]
                params[f"{layer}/{p}"] = tfm.get_variable(p, init.shape, initializer=tfm.constant_initializer(init))
    h = tfm.tanh(tfm.matmul(tfm.constant(data["x"]), params["layer1/W"]) + params["layer1/b"])
    loss = tfm.reduce_mean(tfm.square(tfm.matmul(h, params["layer2/W"]) + params["layer2/b"] - tfm.constant(data["y"])))
    return getattr(tfm.train, cls)(**kwargs).minimize(loss, global_step=tfm.train.get_or_create_global_step()), loss


def _train(opt: str, steps: int, restore: str | None = None, save: str | None = None) -> dict[str, np.ndarray]:
    cls, kwargs = OPTIMIZERS[opt]
    with tf.Graph().as_default():
        train, loss = _model(tf, fx.model_data(), cls, kwargs)
        saver = tf.train.Saver()
        with tf.Session() as sess:
            if restore:
                saver.restore(sess, restore)
            else:
                sess.run(tf.global_variables_initializer())
            first = sess.run(loss)
            for _ in range(steps):
                sess.run(train)
            assert sess.run(loss) < first  # it trains
            if save:
                saver.save(sess, save)
            return {v.op.name: sess.run(v) for v in tf.global_variables()}


@pytest.mark.parametrize("opt", sorted(OPTIMIZERS))
def test_resume_equals_uninterrupted_bit_for_bit(opt, tmp_path):
    k = 5
    uninterrupted = _train(opt, 2 * k)
    _train(opt, k, save=str(tmp_path / "model.ckpt"))
    resumed = _train(opt, k, restore=str(tmp_path / "model.ckpt"))
    assert sorted(resumed) == sorted(uninterrupted)
    for name, value in uninterrupted.items():
        assert resumed[name].tobytes() == value.tobytes(), name
    assert uninterrupted["global_step"] == 2 * k


@pytest.mark.parametrize("cls", ["GradientDescentOptimizer", "AdamOptimizer", "MomentumOptimizer"])
def test_embedding_gradient_is_applied_sparsely(cls):
    table = np.arange(20, dtype=np.float32).reshape(5, 4) / 10
    ids = np.int32([3, 0, 3])
    emb = tf.Variable(table, name="emb")
    loss = tf.reduce_sum(tf.square(tf.nn.embedding_lookup(emb, tf.constant(ids))))
    ((grad, _),) = tf.train.GradientDescentOptimizer(0.1).compute_gradients(loss, [emb])
    assert isinstance(grad, tf.IndexedSlices)
    kwargs = {"momentum": 0.9} if cls == "MomentumOptimizer" else {}
    train = getattr(tf.train, cls)(0.1, **kwargs).minimize(loss)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(train)
        got = sess.run(emb)
    dense = np.zeros_like(table)
    np.add.at(dense, ids, 2 * table[ids])
    untouched = [1, 2, 4]
    np.testing.assert_array_equal(got[untouched], table[untouched])  # rows without a gradient: unchanged
    if cls == "GradientDescentOptimizer":
        np.testing.assert_allclose(got, table - np.float32(0.1) * dense, rtol=1e-6)
    assert not np.array_equal(got[[0, 3]], table[[0, 3]])


def test_tensorflow_resumes_a_graphvar_checkpoint(tmp_path):
    real = pytest.importorskip("tensorflow", reason="live TensorFlow interop check")
    tf1 = real.compat.v1
    tf1.disable_v2_behavior()
    k = 3
    path = str(tmp_path / "model.ckpt")
    for opt in ("adam", "nesterov", "rmsprop_centered"):
        cls, kwargs = OPTIMIZERS[opt]
        ours = _train(opt, k, save=path)
        with tf1.Graph().as_default():
            train, _ = _model(tf1, fx.model_data(), cls, kwargs)
            with tf1.Session() as sess:
                tf1.train.Saver().restore(sess, path)
                values = {v.op.name: sess.run(v) for v in tf1.global_variables()}
                assert sorted(values) == sorted(ours)
                for name, value in ours.items():
                    assert values[name].tobytes() == value.tobytes(), name
                for _ in range(k):
                    sess.run(train)
                theirs = {v.op.name: sess.run(v) for v in tf1.global_variables()}
        full = _train(opt, 2 * k)
        for name, value in full.items():
            np.testing.assert_allclose(theirs[name], value, rtol=2e-5, atol=2e-6, err_msg=f"{opt} {name}")

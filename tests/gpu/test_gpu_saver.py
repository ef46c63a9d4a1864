"""tf.train.Saver with variables on the GPU: saved from the GPU, restored on the host, and back."""

from __future__ import annotations

import numpy as np
import pytest

cupy = pytest.importorskip("cupy")

import graphvar as tf  # noqa: E402

pytestmark = pytest.mark.gpu


@pytest.fixture(autouse=True)
def _needs_saver():
    if not hasattr(tf.train, "Saver"):
        pytest.skip("tf.train.Saver is not there yet")


def build(device, shape=(1000, 1037)):
    tf.reset_default_graph()
    with tf.device(device):
        w = tf.Variable(tf.random_normal(list(shape), seed=1), name="w")
        b = tf.Variable(tf.random_uniform([3001], 0, 9, tf.int64, seed=2), name="b")
        h = tf.Variable(tf.truncated_normal([7], dtype=tf.float16, seed=3), name="h")
        s = tf.Variable(3.5, name="scalar")
    return [w, b, h, s]


@pytest.mark.parametrize("fmt", ["tf", "safetensors"])
@pytest.mark.parametrize("source,target", [("", "/cpu:0"), ("/cpu:0", ""), ("", "")])
def test_save_restore_across_devices(tmp_path, fmt, source, target):
    variables = build(source)
    saver = tf.train.Saver(format=fmt)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        saved = sess.run(variables)
        path = saver.save(sess, str(tmp_path / "model"), global_step=7)
    variables = build(target)
    saver = tf.train.Saver(format=fmt)
    with tf.Session() as sess:
        saver.restore(sess, path)
        restored = sess.run(variables)
        on_gpu = {isinstance(sess._variable_slot(v).value, cupy.ndarray) for v in variables}
    assert on_gpu == {target == ""}
    for a, b in zip(saved, restored):
        assert np.asarray(a).dtype == np.asarray(b).dtype and np.asarray(a).tobytes() == np.asarray(b).tobytes()


@pytest.mark.slow
def test_checkpoint_larger_than_2_gib(tmp_path):
    cupy.get_default_memory_pool().free_all_blocks()
    n = (1 << 29) + 3  # float32: 2 GiB + 12 bytes
    if cupy.cuda.Device().mem_info[0] < 3 * 4 * n:
        pytest.skip("not enough GPU memory")
    tf.reset_default_graph()
    v = tf.Variable(tf.random_uniform([n], seed=4), name="big")
    saver = tf.train.Saver()
    with tf.Session() as sess:
        sess.run(v.initializer)
        before = float(cupy.sum(sess._variable_slot(v).value, dtype=cupy.float64))
        path = saver.save(sess, str(tmp_path / "big"))
    with tf.Session() as sess:
        saver.restore(sess, path)
        value = sess._variable_slot(v).value
        assert isinstance(value, cupy.ndarray) and value.size == n
        assert float(cupy.sum(value, dtype=cupy.float64)) == before
        sess.run(v.initializer)  # the same draw again: compare element by element on the device
        fresh = sess._variable_slot(v).value.copy()
        saver.restore(sess, path)
        assert bool(cupy.array_equal(sess._variable_slot(v).value, fresh))

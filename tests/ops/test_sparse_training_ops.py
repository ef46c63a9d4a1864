"""SparseApply* ops and Unique on the host: TF's semantics for repeats, bad indices and shapes."""

from __future__ import annotations

import numpy as np
import pytest

import graphvar as tf
from graphvar.ops import training_ops as T


def test_unique_keeps_first_appearance_order():
    y, idx = T.unique(tf.constant([5, 3, 5, 7, 3, 3]))
    y64, idx64 = T.unique(tf.constant(np.int64([2, 2])), out_idx=tf.int64)
    with tf.Session() as sess:
        got = sess.run([y, idx, y64, idx64])
    assert got[0].tolist() == [5, 3, 7] and got[1].tolist() == [0, 1, 0, 2, 1, 1] and got[1].dtype == np.int32
    assert got[2].tolist() == [2] and got[3].dtype == np.int64


def test_repeated_indices_apply_one_after_another():
    """TF's SparseApplyMomentum loops over indices in order: a repeat sees the row the earlier one wrote."""
    v = tf.Variable(np.float32([[1, 2], [3, 4], [5, 6]]), name="v")
    acc = tf.Variable(np.zeros((3, 2), np.float32), name="acc")
    g = np.float32([[1, 1], [2, 2], [4, 4]])
    op = T.sparse_apply_momentum(v, acc, 0.5, tf.constant(g), tf.constant([2, 0, 2]), 0.9)
    want_v, want_a = np.float32([[1, 2], [3, 4], [5, 6]]), np.zeros((3, 2), np.float32)
    for k, i in enumerate([2, 0, 2]):
        want_a[i] = want_a[i] * np.float32(0.9) + g[k]
        want_v[i] -= np.float32(0.5) * want_a[i]
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(op)
        got_v, got_a = sess.run([v, acc])
    assert got_v.tobytes() == want_v.tobytes() and got_a.tobytes() == want_a.tobytes()
    assert got_v[1].tolist() == [3, 4]


@pytest.mark.parametrize("bad", [-1, 3])
def test_bad_index_names_op_and_writes_nothing(bad):
    v = tf.Variable(np.ones((3, 2), np.float32), name="v")
    ms, mom = tf.Variable(np.ones((3, 2), np.float32), name="ms"), tf.Variable(np.zeros((3, 2), np.float32), name="mom")
    op = T.sparse_apply_rms_prop(v, ms, mom, 0.1, 0.9, 0.0, 1e-7, tf.constant(np.ones((2, 2), np.float32)),
                                 tf.constant([0, bad]), name="rms")  # fmt: skip
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        with pytest.raises(
            tf.errors.InvalidArgumentError, match=rf"rms: Index {bad} at offset 1 in indices is out of range"
        ):
            sess.run(op)
        assert sess.run(v).tolist() == [[1, 1]] * 3 and sess.run(ms).tolist() == [[1, 1]] * 3


def test_build_time_checks():
    v = tf.Variable(np.ones((3, 2), np.float32), name="v")
    acc = tf.Variable(np.ones((3, 2), np.float32), name="acc")
    with pytest.raises(ValueError, match="does not fit indices"):
        T.sparse_apply_adagrad(v, acc, 0.1, tf.constant(np.ones((2, 3), np.float32)), tf.constant([0, 1]))
    with pytest.raises(TypeError, match="indices must be int32 or int64"):
        T.sparse_apply_adagrad(v, acc, 0.1, tf.constant(np.ones((2, 2), np.float32)), tf.constant([0.0, 1.0]))
    s = tf.Variable(np.float32(1), name="s")
    with pytest.raises(ValueError, match="at least 1 dimensional"):
        T.sparse_apply_adagrad(s, s, 0.1, tf.constant(np.ones(1, np.float32)), tf.constant([0]))
    op = T.sparse_apply_adagrad(v, acc, 0.1, tf.constant(np.ones((1, 2), np.float32)), tf.constant(np.int64([1])))
    assert op.op.type == "SparseApplyAdagrad" and op.op.get_attr("Tindices") == tf.int64

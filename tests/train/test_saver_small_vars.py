"""Saver with many small variables (grouped writes and reads) and Saver(durable=False)."""

from __future__ import annotations

import os

import numpy as np
import pytest

import graphvar as tf
from graphvar.checkpoint import BundleReader


def _model(n: int = 300):
    g = tf.Graph()
    with g.as_default():
        rng = np.random.default_rng(3)
        variables = [tf.Variable(rng.random(int(rng.integers(1, 600)), dtype=np.float32), name=f"v{i:04d}")
                     for i in range(n)]  # fmt: skip
        variables.append(tf.Variable(np.arange(100_000, dtype=np.float64), name="big"))  # past SMALL_TENSOR
        init = tf.global_variables_initializer()
    sess = tf.Session(graph=g)
    sess.run(init)
    return g, sess, variables


def _fsyncs(monkeypatch) -> list:
    calls: list = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append(fd), real(fd))[1])
    return calls


@pytest.mark.parametrize("durable", [True, False])
def test_small_variables_round_trip(tmp_path, monkeypatch, durable):
    g, sess, variables = _model()
    with g.as_default():
        saver = tf.train.Saver(variables, durable=durable)
    want = sess.run(variables)
    calls = _fsyncs(monkeypatch)
    prefix = saver.save(sess, str(tmp_path / "m.ckpt"), write_meta_graph=False)
    assert bool(calls) == durable  # durable: data, index, directory and the state file
    with g.as_default():
        sess.run([tf.assign(v, tf.zeros_like(v)) for v in variables])
    saver.restore(sess, prefix)
    for got, w in zip(sess.run(variables), want):
        np.testing.assert_array_equal(got, w)
    assert tf.train.latest_checkpoint(str(tmp_path)) == prefix


def test_a_damaged_small_variable_changes_nothing(tmp_path):
    g, sess, variables = _model()
    with g.as_default():
        saver = tf.train.Saver(variables)
    prefix = saver.save(sess, str(tmp_path / "m.ckpt"), write_meta_graph=False)
    with BundleReader(prefix) as r:
        victim = r.info("v0150")
        data = victim.path
    with open(data, "r+b") as f:
        f.seek(victim.offset)
        f.write(b"\x00\x01\x02\x03")
    with g.as_default():
        sess.run([tf.assign(v, tf.ones_like(v)) for v in variables])
    with pytest.raises(tf.errors.DataLossError, match="v0150"):
        saver.restore(sess, prefix)
    for got in sess.run(variables):  # every variable keeps the value it had
        assert (got == 1).all()


def test_restore_with_a_small_keep_budget(tmp_path, monkeypatch):
    from graphvar.checkpoint import streaming

    monkeypatch.setattr(streaming, "KEPT_BYTES", 10_000)  # most verified bytes are read a second time
    g, sess, variables = _model()
    with g.as_default():
        saver = tf.train.Saver(variables, durable=False)
    want = sess.run(variables)
    prefix = saver.save(sess, str(tmp_path / "m.ckpt"), write_meta_graph=False)
    sess2 = tf.Session(graph=g)
    saver.restore(sess2, prefix)
    for got, w in zip(sess2.run(variables), want):
        np.testing.assert_array_equal(got, w)

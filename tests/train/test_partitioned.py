"""Partitioned variables, their optimizer slots, and sharded Savers: k parts restore into m, TF's files both ways."""

from __future__ import annotations

import json
import os
import subprocess
import textwrap

import numpy as np
import pytest

import graphvar as tf
from graphvar import errors
from tests.fixtures.make_tf_partitioned_fixtures import HERE

TF_PYTHON = os.environ.get("GRAPHVAR_TF_PYTHON", "/work/tfvenv/bin/python")
MANIFEST = json.load(open(os.path.join(HERE, "manifest.json")))


def _model(parts: int, sharded: bool = False, seed: int = 3):
    g = tf.Graph()
    with g.as_default():
        init = tf.random_uniform_initializer(-1, 1, seed=seed)
        if parts:
            emb = tf.get_variable("emb", [10, 4], initializer=init, partitioner=tf.fixed_size_partitioner(parts))
        else:
            emb = tf.get_variable("emb", [10, 4], initializer=init)
        with tf.device("/cpu:1" if sharded else None):
            bias = tf.get_variable("bias", [4], initializer=tf.constant_initializer(0.5))
        loss = tf.reduce_sum(tf.square(tf.nn.embedding_lookup(emb, tf.constant([1, 5, 9, 2])) + bias))
        train = tf.train.AdamOptimizer(0.1).minimize(loss)
        saver = tf.train.Saver(sharded=sharded)
    return g, emb, train, saver, tf.Session(graph=g)


def _whole(sess, emb):
    return sess.run(emb.as_tensor() if hasattr(emb, "as_tensor") else emb)


def test_parts_names_shapes_and_slots():
    g, emb, _, _, _ = _model(3)
    assert [v.op.name for v in emb] == ["emb/part_0", "emb/part_1", "emb/part_2"] and len(emb) == 3
    assert [v.shape.as_list() for v in emb._get_variable_list()] == [[4, 4], [3, 4], [3, 4]]
    assert [v._save_slice_info.spec for v in emb] == ["10 4 0,4:0,4", "10 4 4,3:0,4", "10 4 7,3:0,4"]
    with g.as_default():
        names = {v.op.name: v._save_slice_info for v in tf.global_variables()}
    assert names["emb/part_1/Adam"].full_name == "emb/Adam" and names["emb/part_1/Adam_1"].spec == "10 4 4,3:0,4"


def test_partitioners_match_tensorflows_rules():
    shape = tf.TensorShape([1000, 64])
    assert tf.fixed_size_partitioner(4)(shape=shape, dtype=tf.float32) == [4, 1]
    assert tf.fixed_size_partitioner(5, axis=1)(shape=tf.TensorShape([3, 2]), dtype=tf.float32) == [1, 2]
    assert tf.min_max_variable_partitioner(max_partitions=8)(shape=shape, dtype=tf.float32) == [1, 1]
    assert tf.min_max_variable_partitioner(8, min_slice_size=64 << 10)(shape=shape, dtype=tf.float32) == [4, 1]
    assert tf.variable_axis_size_partitioner(64 << 10)(shape=shape, dtype=tf.float32) == [4, 1]
    assert tf.variable_axis_size_partitioner(1000, max_shards=3)(shape=shape, dtype=tf.float32) == [3, 1]


@pytest.mark.parametrize("k", [0, 1, 3])
@pytest.mark.parametrize("m", [0, 2, 4])
def test_k_parts_restore_into_m_parts(tmp_path, k, m):
    g, emb, train, saver, sess = _model(k, sharded=k == 3)
    with g.as_default():
        sess.run(tf.global_variables_initializer())
        sess.run(train)
        want = {"emb": _whole(sess, emb), "beta1_power": sess.run(tf.global_variables()[-1])}
        path = saver.save(sess, str(tmp_path / "m"))
    g2, emb2, train2, saver2, sess2 = _model(m, seed=9)
    with g2.as_default():
        saver2.restore(sess2, path)
        np.testing.assert_array_equal(_whole(sess2, emb2), want["emb"])
        sess2.run(train2)  # the restored Adam slots are usable
    r = tf.train.NewCheckpointReader(path)
    assert sorted(r.get_variable_to_shape_map()) == ["beta1_power", "beta2_power", "bias", "bias/Adam", "bias/Adam_1",
                                                     "emb", "emb/Adam", "emb/Adam_1"]  # fmt: skip


def test_sharded_saver_writes_one_data_file_per_device_in_tfs_order(tmp_path):
    g, _, train, saver, sess = _model(3, sharded=True)
    with g.as_default():
        sess.run(tf.global_variables_initializer())
        saver = tf.train.Saver(sharded=True, max_to_keep=2)
        for step in range(3):
            saver.save(sess, str(tmp_path / "m"), global_step=step, write_meta_graph=False)
    assert sorted(p for p in os.listdir(tmp_path) if "gvtmp" not in p) == [
        "checkpoint", "m-1.data-00000-of-00002", "m-1.data-00001-of-00002", "m-1.index",
        "m-2.data-00000-of-00002", "m-2.data-00001-of-00002", "m-2.index"]  # fmt: skip
    assert not [p for p in os.listdir(tmp_path) if "gvtmp" in p]
    # TF's layout for this graph: shard 0 is device "" (emb's parts and slots), shard 1 is /cpu:1 (bias, betas)
    ours = tf.train.NewCheckpointReader(str(tmp_path / "m-2"))._reader
    theirs = tf.train.NewCheckpointReader(os.path.join(HERE, "sharded", "model"))._reader
    for key in theirs.keys():
        assert ours.info(key).shape == theirs.info(key).shape
        assert ours.info(key).path.endswith(theirs.info(key).path[-len("data-00000-of-00002") :]), key


def test_k_to_m_full_shape_mismatch_names_the_variable(tmp_path):
    g, emb, _, saver, sess = _model(2)
    with g.as_default():
        sess.run(tf.global_variables_initializer())
        path = saver.save(sess, str(tmp_path / "m"))
    g2 = tf.Graph()
    with g2.as_default():
        tf.get_variable("emb", [12, 4], partitioner=tf.fixed_size_partitioner(3))
        with pytest.raises(
            errors.InvalidArgumentError, match=r"emb/part_0 \(part 12 4 0,4:0,4.*full shape is \[12, 4\]"
        ):
            tf.train.Saver(var_list=tf.global_variables()).restore(tf.Session(graph=g2), path)


@pytest.mark.parametrize("which", ["plain", "sharded"])
@pytest.mark.parametrize("m", [0, 2, 3])
def test_we_restore_tensorflows_partitioned_checkpoints(which, m):
    g, emb, train, saver, sess = _model(m)
    with g.as_default():
        saver.restore(sess, os.path.join(HERE, which, "model"))
        np.testing.assert_array_equal(_whole(sess, emb), np.array(MANIFEST[which]["emb"], np.float32))
        opt_slot = [v for v in tf.global_variables() if v.op.name.startswith("emb") and v.op.name.endswith("/Adam")]
        got = np.concatenate([sess.run(v) for v in opt_slot]) if m else sess.run(opt_slot[0])
        np.testing.assert_array_equal(got, np.array(MANIFEST[which]["emb/Adam"], np.float32))


_TF_READS = """
import json, sys
import numpy as np
import tensorflow as tf
v1 = tf.compat.v1
v1.disable_eager_execution()
prefix, parts = sys.argv[1], int(sys.argv[2])
r = v1.train.NewCheckpointReader(prefix)
out = {k: np.asarray(r.get_tensor(k)).tolist() for k in r.get_variable_to_shape_map()}
g = tf.Graph()
with g.as_default():
    emb = v1.get_variable("emb", [10, 4], partitioner=v1.fixed_size_partitioner(parts))
    bias = v1.get_variable("bias", [4])
    loss = v1.reduce_sum(v1.square(v1.nn.embedding_lookup(emb, v1.constant([1, 5, 9, 2])) + bias))
    v1.train.AdamOptimizer(0.1).minimize(loss)
    with v1.Session(graph=g) as sess:
        v1.train.Saver().restore(sess, prefix)
        out["restored_emb"] = sess.run(v1.concat(list(emb), 0)).tolist()
print(json.dumps(out))
"""


@pytest.mark.skipif(not os.path.exists(TF_PYTHON), reason="no TensorFlow venv (GRAPHVAR_TF_PYTHON)")
@pytest.mark.parametrize("sharded", [False, True])
def test_tensorflow_reads_and_restores_ours(tmp_path, sharded):
    g, emb, train, saver, sess = _model(3, sharded=sharded)
    with g.as_default():
        sess.run(tf.global_variables_initializer())
        sess.run(train)
        want = _whole(sess, emb)
        path = saver.save(sess, str(tmp_path / "m"), write_meta_graph=False)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    proc = subprocess.run([TF_PYTHON, "-c", textwrap.dedent(_TF_READS), path, "2"], capture_output=True, text=True,
                          env=env, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = json.loads(proc.stdout.splitlines()[-1])
    np.testing.assert_array_equal(np.array(got["emb"], np.float32), want)
    np.testing.assert_array_equal(np.array(got["restored_emb"], np.float32), want)  # 3 parts into TF's 2

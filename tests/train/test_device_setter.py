"""tf.train.replica_device_setter and ClusterSpec: TF1's ps placement, in one process."""

from __future__ import annotations

import json
import os
import subprocess

import numpy as np
import pytest

import graphvar as tf

HERE = os.path.dirname(os.path.abspath(__file__))
TF_PYTHON = os.environ.get("GRAPHVAR_TF_PYTHON", "/work/tfvenv/bin/python")
MAKE_TF = os.path.join(os.path.dirname(HERE), "fixtures", "make_tf_replica_devices.py")

# TensorFlow 2.21's devices for the graph below (tests/fixtures/make_tf_replica_devices.py)
TF_DEVICES = {
    "MatMul": "/job:worker", "b": "/job:ps/task:1", "b/Adam": "/job:ps/task:1", "b/Adam_1": "/job:ps/task:1",
    "beta1_power": "/job:ps/task:1", "beta2_power": "/job:ps/task:1", "emb/part_0": "/job:ps/task:0",
    "emb/part_0/Adam": "/job:ps/task:0", "emb/part_0/Adam_1": "/job:ps/task:0", "emb/part_1": "/job:ps/task:1",
    "emb/part_1/Adam": "/job:ps/task:1", "emb/part_1/Adam_1": "/job:ps/task:1", "emb/part_2": "/job:ps/task:0",
    "emb/part_2/Adam": "/job:ps/task:0", "emb/part_2/Adam_1": "/job:ps/task:0", "global_step": "/job:ps/task:1",
    "m": "/job:worker/task:0", "q": "/job:ps/task:7/device:CPU:0", "r": "/job:ps/task:1/device:GPU:1",
    "s": "/job:worker/device:GPU:1", "w": "/job:ps/task:0", "w/Adam": "/job:ps/task:0",
    "w/Adam_1": "/job:ps/task:0", "x": "/job:worker", "z": "/job:ps/task:0", "z2": "/job:ps/task:1",
}  # fmt: skip


def _build() -> tuple:
    """The graph of make_tf_replica_devices.py, in graphvar."""
    with tf.device(tf.train.replica_device_setter(ps_tasks=2)):
        w = tf.get_variable("w", [4, 3])
        b = tf.Variable(tf.zeros([3]), name="b")
        emb = tf.get_variable("emb", [10, 3], partitioner=tf.fixed_size_partitioner(3))
        x = tf.placeholder(tf.float32, [None, 4], name="x")
        loss = tf.reduce_sum(tf.matmul(x, w) + b) + tf.reduce_sum(tf.nn.embedding_lookup(emb, [1, 2]))
        gs = tf.train.get_or_create_global_step()
        train = tf.train.AdamOptimizer(0.1).minimize(loss, global_step=gs)
    cluster = {"ps": ["a:1", "b:1", "c:1"], "worker": ["w:1"]}
    with tf.device(tf.train.replica_device_setter(cluster=cluster, worker_device="/job:worker/task:0")):
        z = tf.Variable(1.0, name="z")
        z2 = tf.Variable(1.0, name="z2")
        tf.multiply(z, z2, name="m")
    with tf.device(tf.train.replica_device_setter(ps_tasks=2, ps_device="/job:ps/device:CPU:0")):
        with tf.device("/job:ps/task:7"):
            tf.Variable(1.0, name="q")
        with tf.device("/device:GPU:1"):
            r = tf.Variable(1.0, name="r")
            tf.add(r, 1.0, name="s")
    return x, loss, train


def _devices(graph) -> dict:
    return {op.name: op.device for op in graph.get_operations() if op.name in TF_DEVICES}


def test_placement_is_tensorflows():
    _build()
    assert _devices(tf.get_default_graph()) == TF_DEVICES


@pytest.mark.skipif(not os.path.exists(TF_PYTHON), reason="no TensorFlow venv (GRAPHVAR_TF_PYTHON)")
def test_placement_is_tensorflows_live():
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    proc = subprocess.run([TF_PYTHON, MAKE_TF], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout.splitlines()[-1]) == TF_DEVICES


def test_ps_devices_run_on_the_host_and_shard_the_checkpoint_per_task(tmp_path):
    with tf.device(tf.train.replica_device_setter(ps_tasks=2)):
        w = tf.Variable(tf.ones([3, 2]), name="w")
        b = tf.Variable(tf.zeros([2]), name="b")
        loss = tf.reduce_sum(tf.square(tf.matmul(tf.ones([1, 3]), w) + b))
        train = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
    saver = tf.train.Saver(sharded=True)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(train)
        want = sess.run(w)
        path = saver.save(sess, str(tmp_path / "m"), write_meta_graph=False)
    assert sorted(f for f in os.listdir(tmp_path) if ".data-" in f) == [
        "m.data-00000-of-00002",
        "m.data-00001-of-00002",
    ]
    np.testing.assert_array_equal(tf.train.NewCheckpointReader(path).get_tensor("w"), want)


def test_no_ps_tasks_and_options():
    assert tf.train.replica_device_setter(ps_tasks=0) is None
    assert tf.train.replica_device_setter(cluster={"worker": ["w:1"]}) is None
    with pytest.raises(TypeError, match="ps_strategy must be callable"):
        tf.train.replica_device_setter(ps_tasks=1, ps_strategy=3)
    with tf.device(tf.train.replica_device_setter(ps_tasks=3, ps_strategy=lambda op: 2, ps_ops=["VariableV2"])):
        v = tf.Variable(1.0, name="v")
    assert v.op.device == "/job:ps/task:2"
    with tf.device("/job:worker/task:1"):
        with tf.device(tf.train.replica_device_setter(ps_tasks=2, merge_devices=False)):
            c = tf.constant(1.0, name="c")
    assert c.op.device == "/job:worker/task:1"


def test_cluster_spec():
    spec = tf.train.ClusterSpec({"ps": ["a:1", "b:1"], "worker": {0: "w0:1", 3: "w3:1"}})
    assert spec.jobs == ["ps", "worker"] and spec.num_tasks("ps") == 2 and spec.task_indices("worker") == [0, 3]
    assert spec.job_tasks("worker") == ["w0:1", None, None, "w3:1"]
    assert spec.as_dict() == {"ps": ["a:1", "b:1"], "worker": {0: "w0:1", 3: "w3:1"}}
    assert tf.train.ClusterSpec(spec) == spec
    with pytest.raises(ValueError, match="No such job"):
        spec.num_tasks("chief")
    with pytest.raises(TypeError, match="must be a dictionary"):
        tf.train.ClusterSpec(["a"])

"""Models and batches the distribute tests share (pickled by value into Ray workers)."""

from __future__ import annotations

import os

import numpy as np

import graphvar as tf

TF_PYTHON = os.environ.get("GRAPHVAR_TF_PYTHON", "/work/tfvenv/bin/python")  # a TensorFlow venv, if any

BATCH = 24  # divisible by 1, 2, 3 and 4 workers


def mlp_model():
    """A dense layer pair, an embedding (IndexedSlices gradient) and a partitioned variable, trained by Adam."""
    x = tf.placeholder(tf.float32, [None, 8], name="x")
    y = tf.placeholder(tf.int32, [None], name="y")
    ids = tf.placeholder(tf.int32, [None], name="ids")
    emb = tf.get_variable("emb", [20, 3], partitioner=tf.fixed_size_partitioner(2))
    h = tf.layers.dense(x, 16, activation=tf.nn.relu)
    logits = tf.layers.dense(h, 3) + tf.nn.embedding_lookup(emb, ids)
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
    tf.train.get_or_create_global_step()
    return loss, tf.train.AdamOptimizer(0.05)


def batches(n: int, seed: int = 0) -> list[dict]:
    rng = np.random.RandomState(seed)
    return [
        {
            "x": rng.randn(BATCH, 8).astype(np.float32),
            "y": rng.randint(0, 3, BATCH).astype(np.int32),
            "ids": rng.randint(0, 20, BATCH).astype(np.int32),
        }
        for _ in range(n)
    ]


def simulate(num_workers: int, steps: int, seed: int = 3) -> dict[str, np.ndarray]:
    """The variables after ``steps`` steps of ``mlp_model`` on ``num_workers`` simulated workers."""
    from graphvar.distribute import SimulatedCluster

    with SimulatedCluster(num_workers) as sim:
        sim.build(mlp_model, seed=seed)
        for b in batches(steps):
            sim.step(b)
        return sim.values()


def assert_same_bits(a: dict, b: dict) -> None:
    assert sorted(a) == sorted(b)
    for k in a:
        assert a[k].dtype == b[k].dtype and a[k].tobytes() == b[k].tobytes(), k


def die(_worker) -> None:
    """A fault hook: the worker's process exits at once (as if killed)."""
    import os

    os._exit(1)


def whoami(worker) -> tuple[int, int, int]:
    import os

    return worker.rank, worker.num_workers, os.getpid()

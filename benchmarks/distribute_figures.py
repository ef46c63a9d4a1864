"""graphvar.distribute on Ray, measured: cluster start, data-parallel step time, parallel save.

A standalone script (needs the ``graphvar[ray]`` extra), not a registered benchmark case: its
figures go into docs/distributed.md. Model: an MLP 784-512-512-10 (0.67 M float32 parameters,
2.6 MiB of gradients per worker per step) trained by Adam on batches of 256.

    python -m benchmarks.distribute_figures [--steps 20] [--workers 2 4]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time

import numpy as np

import graphvar as tf

BATCH = 256


def model_fn():
    x = tf.placeholder(tf.float32, [None, 784], name="x")
    y = tf.placeholder(tf.int32, [None], name="y")
    h = tf.layers.dense(x, 512, activation=tf.nn.relu)
    h = tf.layers.dense(h, 512, activation=tf.nn.relu)
    logits = tf.layers.dense(h, 10)
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
    tf.train.get_or_create_global_step()
    return loss, tf.train.AdamOptimizer(1e-3)


def batch(rng: np.random.RandomState) -> dict:
    return {"x": rng.rand(BATCH, 784).astype(np.float32), "y": rng.randint(0, 10, BATCH).astype(np.int32)}


def one_process(steps: int) -> dict:
    rng = np.random.RandomState(0)
    g = tf.Graph()
    with g.as_default():
        loss, opt = model_fn()
        train = opt.minimize(loss, global_step=tf.train.get_global_step())
        saver = tf.train.Saver()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            times = []
            for _ in range(steps + 2):
                feed = {f"{k}:0": v for k, v in batch(rng).items()}
                t = time.perf_counter()
                sess.run(train, feed)
                times.append(time.perf_counter() - t)
            with tempfile.TemporaryDirectory() as d:
                t = time.perf_counter()
                saver.save(sess, f"{d}/m", write_meta_graph=False)
                save = time.perf_counter() - t
    return {"step_ms": 1e3 * statistics.median(times[2:]), "save_ms": 1e3 * save}


def cluster(n: int, steps: int) -> dict:
    from graphvar.distribute import Cluster, ParallelSaver

    rng = np.random.RandomState(0)
    t = time.perf_counter()
    c = Cluster(n)
    start = time.perf_counter() - t
    try:
        t = time.perf_counter()
        c.build(model_fn, seed=0)
        build = time.perf_counter() - t
        times = []
        for _ in range(steps + 2):
            b = batch(rng)
            t = time.perf_counter()
            c.step(b)
            times.append(time.perf_counter() - t)
        with tempfile.TemporaryDirectory() as d:
            t = time.perf_counter()
            ParallelSaver().save(c, f"{d}/m", write_meta_graph=False)
            save = time.perf_counter() - t
        c.check_replicas()
    finally:
        c.shutdown()
    return {"actors_start_s": start, "build_s": build, "step_ms": 1e3 * statistics.median(times[2:]),
            "save_ms": 1e3 * save}  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--workers", type=int, nargs="+", default=[2, 4])
    p.add_argument("--num-cpus", type=int, default=None)
    args = p.parse_args()
    import ray

    t = time.perf_counter()
    ray.init(num_cpus=args.num_cpus, include_dashboard=False, log_to_driver=False)
    out = {"ray_init_s": time.perf_counter() - t, "one_process": one_process(args.steps)}
    for n in args.workers:
        out[f"cluster_{n}"] = cluster(n, args.steps)
    ray.shutdown()
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()

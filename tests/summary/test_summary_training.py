"""A TF1 training script with TensorBoard summaries, as written for TensorFlow, runs unchanged."""

from __future__ import annotations

import glob
import os

import numpy as np

import graphvar as tf


def test_training_loop_with_merge_all_and_file_writer(tmp_path):
    tf.reset_default_graph()
    rng = np.random.RandomState(0)
    features = rng.randn(64, 3).astype(np.float32)
    labels = features @ np.array([[1.0], [-2.0], [0.5]], np.float32) + 0.3

    x = tf.placeholder(tf.float32, [None, 3], name="x")
    y = tf.placeholder(tf.float32, [None, 1], name="y")
    with tf.variable_scope("model"):
        w = tf.get_variable("w", [3, 1], initializer=tf.zeros_initializer())
        b = tf.get_variable("b", [1], initializer=tf.zeros_initializer())
    loss = tf.reduce_mean(tf.square(tf.matmul(x, w) + b - y))
    global_step = tf.train.get_or_create_global_step()
    train_op = tf.train.GradientDescentOptimizer(0.1).minimize(loss, global_step=global_step)
    with tf.name_scope("summaries"):
        tf.summary.scalar("loss", loss)
        tf.summary.histogram("weights", w)
    merged = tf.summary.merge_all()

    logdir = str(tmp_path / "run1")
    losses = []
    with tf.Session() as sess:
        writer = tf.summary.FileWriter(logdir, sess.graph)
        sess.run(tf.global_variables_initializer())
        for _ in range(30):
            step = sess.run(global_step)
            summ, loss_value, _ = sess.run([merged, loss, train_op], {x: features, y: labels})
            writer.add_summary(summ, step)
            losses.append(float(loss_value))
        writer.close()

    (path,) = glob.glob(os.path.join(logdir, "events.out.tfevents.*"))
    scalars = [(e.step, v.simple_value) for e in tf.train.summary_iterator(path) for v in e.summary.value
               if v.tag == "summaries/loss"]  # fmt: skip
    assert [s for s, _ in scalars] == list(range(30))
    assert [v for _, v in scalars] == [float(np.float32(v)) for v in losses]
    assert losses[-1] < losses[0] / 10
    histos = [v.histo for e in tf.train.summary_iterator(path) for v in e.summary.value if v.tag == "summaries/weights"]
    assert len(histos) == 30 and all(h.num == 3 for h in histos)

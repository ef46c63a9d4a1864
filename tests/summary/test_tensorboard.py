"""TensorBoard itself reads graphvar's event files: its event loader, and once its HTTP server.

`tensorboard` is in the `test` extra (it does not need TensorFlow); without it these tests skip.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pytest

import graphvar as tf

event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")


def _train_with_summaries(logdir: str, steps: int = 5) -> tuple[list[float], np.ndarray]:
    graph = tf.Graph()
    with graph.as_default():
        x = tf.placeholder(tf.float32, [None, 3], name="x")
        w = tf.Variable(tf.constant([[0.5], [-1.0], [2.0]]), name="w")
        loss = tf.reduce_mean(tf.square(tf.matmul(x, w) - 1.0), name="mse")
        train_op = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
        tf.summary.scalar("loss", loss)
        tf.summary.histogram("weights", w)
        merged = tf.summary.merge_all()
        data = np.arange(12, dtype=np.float32).reshape(4, 3) / 10.0
        losses = []
        with tf.Session() as sess, tf.summary.FileWriter(logdir, sess.graph) as writer:
            sess.run(tf.global_variables_initializer())
            for step in range(steps):
                summ, value, _ = sess.run([merged, loss, train_op], {x: data})
                writer.add_summary(summ, step)
                losses.append(float(value))
            last_w = sess.run(w)
    return losses, last_w


def test_tensorboard_event_loader_reads_exact_scalars_and_histograms(tmp_path):
    losses, _ = _train_with_summaries(str(tmp_path))
    acc = event_accumulator.EventAccumulator(str(tmp_path), size_guidance={"scalars": 0, "histograms": 0})
    acc.Reload()
    assert "loss" in acc.Tags()["scalars"] and "weights" in acc.Tags()["histograms"]
    scalars = acc.Scalars("loss")
    assert [s.step for s in scalars] == list(range(5))
    assert [s.value for s in scalars] == [np.float32(v) for v in losses]  # exact float32 values
    hist = acc.Histograms("weights")
    assert [h.step for h in hist] == list(range(5))
    assert all(h.histogram_value.num == 3 for h in hist)
    assert sum(hist[0].histogram_value.bucket) == 3


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_tensorboard_server_serves_the_scalars(tmp_path):
    losses, _ = _train_with_summaries(str(tmp_path))
    port = _free_port()
    cmd = [sys.executable, "-m", "tensorboard.main", "--logdir", str(tmp_path), "--host", "127.0.0.1",
           "--port", str(port), "--load_fast", "false"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ})
    try:
        url = f"http://127.0.0.1:{port}/data/plugin/scalars/scalars?run=.&tag=loss"
        deadline, body = time.monotonic() + 60, None
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url, timeout=5) as resp:
                    body = json.loads(resp.read())
                if body:
                    break
            except OSError:
                pass
            time.sleep(0.5)
        assert body, "tensorboard served no scalars within 60 s"
        assert [row[1] for row in body] == list(range(5))
        assert [row[2] for row in body] == pytest.approx(losses, rel=1e-7)
    finally:
        proc.terminate()
        proc.wait(timeout=30)

"""The README's first command: `python -m graphvar demo` trains, saves, restores and resumes."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np

import graphvar as tf
from graphvar import demo


def test_dataset_is_generated_deterministically():
    (a, la), (b, lb) = demo.make_dataset(n_train=50, n_test=20)
    (a2, la2), _ = demo.make_dataset(n_train=50, n_test=20)
    assert a.shape == (50, 784) and a.dtype == np.float32 and b.shape == (20, 784)
    assert np.array_equal(a, a2) and np.array_equal(la, la2)
    assert set(np.unique(la)) <= set(range(10))


def test_demo_trains_restores_and_resumes(tmp_path):
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    out = subprocess.run(
        [sys.executable, "-m", "graphvar", "demo", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=600, env=env,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    assert "demo: all checks passed" in out.stdout
    assert "w2 == weights: True" in out.stdout
    assert "resumed to step 800" in out.stdout
    assert f"tensorboard --logdir {tmp_path / 'logs'}" in out.stdout
    events = [f for f in os.listdir(tmp_path / "logs") if f.startswith("events.out.tfevents.")]
    steps = [e.step for f in events for e in tf.train.summary_iterator(str(tmp_path / "logs" / f)) if e.summary.value]
    assert sorted(steps) == list(range(9, 800, 10))  # every 10th step, the resumed run continuing the first
    kept = sorted(f for f in os.listdir(tmp_path) if f.endswith(".index"))
    assert kept == ["model.ckpt-400.index", "model.ckpt-600.index", "model.ckpt-800.index"]  # max_to_keep=3


def test_demo_reports_bad_arguments():
    assert demo.run(["--steps", "0"]) == 2

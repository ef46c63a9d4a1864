"""`python -m graphvar demo`: the TF1 variable workflow, then a model trained, saved, restored and resumed.

Part 1 is the variables how-to (initialize, chain with initialized_value, run, save, restore).
Part 2 trains a 784-256-256-10 MLP with Adam on a generated 10-class data set (nothing is
downloaded), saving every `--save-every` steps with `max_to_keep=3`; a fresh graph then
restores the latest checkpoint and must reproduce the test accuracy exactly, and resumes
training from the restored global step. Any failed check makes the command exit with 1.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from typing import Any

import numpy as np

TARGET_ACCURACY = 0.90
N_CLASSES, SIDE = 10, 28


def make_dataset(n_train: int = 6000, n_test: int = 2000, seed: int = 0) -> tuple:
    """A 10-class 28x28 "blobs of strokes" data set: each class a smooth random template, samples shifted and noisy."""
    rng = np.random.default_rng(seed)
    grid = np.linspace(-1.0, 1.0, SIDE)
    yy, xx = np.meshgrid(grid, grid, indexing="ij")
    templates = np.zeros((N_CLASSES, SIDE, SIDE))
    for c in range(N_CLASSES):
        for _ in range(3):  # three gaussian strokes per class
            cy, cx = rng.uniform(-0.6, 0.6, 2)
            sy, sx = rng.uniform(0.12, 0.35, 2)
            templates[c] += np.exp(-((yy - cy) ** 2) / (2 * sy**2) - ((xx - cx) ** 2) / (2 * sx**2))
    templates /= templates.max(axis=(1, 2), keepdims=True)

    def sample(n: int) -> tuple[np.ndarray, np.ndarray]:
        labels = rng.integers(0, N_CLASSES, n)
        shifts = rng.integers(-2, 3, size=(n, 2))
        images = np.stack([np.roll(templates[c], tuple(s), axis=(0, 1)) for c, s in zip(labels, shifts)])
        images = images * rng.uniform(0.6, 1.2, (n, 1, 1)) + rng.normal(0.0, 0.35, images.shape)
        return images.reshape(n, SIDE * SIDE).astype(np.float32), labels.astype(np.int64)

    return sample(n_train), sample(n_test)


def build_model(tf: Any, learning_rate: float = 1e-3) -> dict:
    """The TF1 program: placeholders, a tf.layers 784-256-256-10 MLP, sparse softmax cross-entropy, Adam, a global step."""
    tf.set_random_seed(2026)
    x = tf.placeholder(tf.float32, [None, SIDE * SIDE], name="x")
    labels = tf.placeholder(tf.int64, [None], name="labels")

    h1 = tf.layers.dense(x, 256, tf.nn.relu)  # dense/kernel, dense/bias (glorot_uniform, zeros)
    h2 = tf.layers.dense(h1, 256, tf.nn.relu)  # dense_1/...
    logits = tf.layers.dense(h2, N_CLASSES)  # dense_2/...
    xent = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    loss = tf.reduce_mean(xent, name="loss")
    predictions = tf.argmax(logits, axis=1)
    accuracy = tf.reduce_mean(tf.cast(tf.equal(predictions, labels), tf.float32))
    global_step = tf.train.get_or_create_global_step()
    train_op = tf.train.AdamOptimizer(learning_rate).minimize(loss, global_step=global_step)
    tf.summary.scalar("train_loss", loss)
    tf.summary.scalar("batch_accuracy", accuracy)
    tf.summary.histogram("dense_1_kernel", tf.trainable_variables()[2])
    return {"x": x, "labels": labels, "loss": loss, "accuracy": accuracy, "predictions": predictions,
            "train_op": train_op, "global_step": global_step, "summaries": tf.summary.merge_all()}  # fmt: skip


class Progress:
    """A one-line progress bar: step, loss, steps/s."""

    def __init__(self, total: int, label: str) -> None:
        self.total, self.label, self.start = total, label, time.perf_counter()
        self.tty = sys.stdout.isatty()

    def update(self, done: int, loss: float, final: bool = False) -> None:
        rate = done / max(time.perf_counter() - self.start, 1e-9)
        width = 28
        bar = "#" * int(width * done / self.total) + "." * (width - int(width * done / self.total))
        line = f"  {self.label} [{bar}] step {done:5d}/{self.total}  loss {loss:7.4f}  {rate:7.1f} steps/s"
        if self.tty:
            print("\r" + line, end="\n" if final else "", flush=True)
        elif final or done % max(self.total // 4, 1) == 0:
            print(line, flush=True)


def train(tf: Any, sess: Any, m: dict, data: tuple, steps: int, batch: int, saver: Any, prefix: str,
          save_every: int, label: str, writer: Any) -> float:  # fmt: skip
    (x_train, y_train), _ = data
    start = int(sess.run(m["global_step"]))
    rng = np.random.default_rng(start)
    progress, loss = Progress(steps, label), float("nan")
    feeds = [m["x"], m["labels"]]
    run_step = sess.make_callable([m["loss"], m["train_op"]], feeds)
    run_logged = sess.make_callable([m["loss"], m["train_op"], m["summaries"]], feeds)
    for i in range(1, steps + 1):
        idx = rng.integers(0, len(x_train), batch)
        if i % 10 == 0:  # summaries every 10 steps (the step they describe: before this update)
            value, _, summary = run_logged(x_train[idx], y_train[idx])
            writer.add_summary(summary, start + i - 1)
        else:
            value, _ = run_step(x_train[idx], y_train[idx])
        loss = float(value)
        if i % save_every == 0 or i == steps:
            saver.save(sess, prefix, global_step=m["global_step"])
        if i % 10 == 0 or i == steps:
            progress.update(i, loss, final=i == steps)
    return loss


def evaluate(sess: Any, m: dict, data: tuple) -> tuple[float, np.ndarray]:
    _, (x_test, y_test) = data
    preds = sess.run(m["predictions"], {m["x"]: x_test})
    return float(np.mean(preds == y_test)), preds


def training_demo(tf: Any, steps: int, batch: int, out_dir: str, device: str | None) -> list[str]:
    """Trains, saves, restores into a fresh graph and resumes; returns the failed checks."""
    failures: list[str] = []
    data = make_dataset()
    prefix = os.path.join(out_dir, "model.ckpt")
    save_every = max(steps // 3, 1)
    logdir = os.path.join(out_dir, "logs")
    with tf.Graph().as_default(), tf.device(device):
        m = build_model(tf)
        saver = tf.train.Saver(max_to_keep=3)
        with tf.Session() as sess, tf.summary.FileWriter(logdir, sess.graph) as writer:
            sess.run(tf.global_variables_initializer())
            train(tf, sess, m, data, steps, batch, saver, prefix, save_every, "train ", writer)
            acc, preds = evaluate(sess, m, data)
            step = int(sess.run(m["global_step"]))
    print(f"    test accuracy after {step} steps: {acc:.4f} (target >= {TARGET_ACCURACY:.2f})")
    if acc < TARGET_ACCURACY:
        failures.append(f"test accuracy {acc:.4f} < {TARGET_ACCURACY}")
    latest = tf.train.latest_checkpoint(out_dir)
    kept = tf.train.get_checkpoint_state(out_dir).all_model_checkpoint_paths
    sizes = sum(os.path.getsize(os.path.join(out_dir, f)) for f in os.listdir(out_dir) if f.startswith(os.path.basename(latest) + "."))  # fmt: skip
    print(f"    checkpoints kept: {[os.path.basename(p) for p in kept]}; latest {os.path.basename(latest)}: {sizes / 2**20:.2f} MiB")  # fmt: skip
    with tf.Graph().as_default(), tf.device(device):
        m = build_model(tf)
        saver = tf.train.Saver(max_to_keep=3)
        with tf.Session() as sess, tf.summary.FileWriter(logdir) as writer:
            saver.restore(sess, latest)  # no initializer: every variable, Adam's slots included, comes from the file
            saver.recover_last_checkpoints(list(kept))  # keep rotating the files the first Saver wrote
            acc2, preds2 = evaluate(sess, m, data)
            restored_step = int(sess.run(m["global_step"]))
            print(
                f"    fresh graph restored {os.path.basename(latest)}: step {restored_step}, test accuracy {acc2:.4f}"
            )
            if restored_step != step or not np.array_equal(preds, preds2):
                failures.append(f"restore changed the model: step {restored_step} vs {step}, accuracy {acc2} vs {acc}")
            more = max(steps // 3, 1)
            train(tf, sess, m, data, more, batch, saver, prefix, save_every, "resume", writer)
            acc3, _ = evaluate(sess, m, data)
            final_step = int(sess.run(m["global_step"]))
            print(f"    resumed to step {final_step}: test accuracy {acc3:.4f}")
            if final_step != step + more:
                failures.append(f"resumed global_step {final_step} != {step + more}")
            if acc3 < TARGET_ACCURACY:
                failures.append(f"accuracy after resuming {acc3:.4f} < {TARGET_ACCURACY}")
    return failures


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m graphvar demo", description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=600, help="training steps (default 600)")
    p.add_argument("--batch", type=int, default=64, help="batch size (default 64)")
    p.add_argument("--device", default=None, help='"cpu", "gpu" or a TF device string (default: the default backend)')
    p.add_argument("--out", default=None, help="checkpoint directory (default: a temporary directory)")
    p.add_argument("--skip-variables", action="store_true", help="skip part 1 (the variables workflow)")
    return p.parse_args(argv)


def device_spec(device: str | None) -> str | None:
    if device is None:
        return None
    return {"cpu": "/cpu:0", "gpu": "/gpu:0"}.get(device.lower(), device)


def run(argv: list[str] | None = None, variables_part: Any = None) -> int:
    args = parse_args(list(argv or []))
    import graphvar as tf
    from graphvar import backends

    if args.steps < 1 or args.batch < 1:
        print("--steps and --batch must be >= 1", file=sys.stderr)
        return 2
    spec = device_spec(args.device)
    on_gpu = backends.cuda_available() and (spec is None or "gpu" in spec.lower())
    print(f"graphvar {tf.__version__}: device = {'GPU (cupy)' if on_gpu else 'host (numpy)'}"
          f"{'' if spec is None else f' [{spec}]'}")  # fmt: skip
    if not args.skip_variables and variables_part is not None:
        print("part 1: variables, sessions, savers")
        variables_part()
    print(f"part 2: train a 784-256-256-10 MLP with Adam, {args.steps} steps of batch {args.batch}")
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        failures = training_demo(tf, args.steps, args.batch, args.out, spec)
        print(f"    TensorBoard: tensorboard --logdir {os.path.join(args.out, 'logs')}")
    else:
        with tempfile.TemporaryDirectory() as tmp:
            failures = training_demo(tf, args.steps, args.batch, tmp, spec)
        print("    (checkpoints and TensorBoard logs were in a temporary directory: keep them with --out DIR)")
    for f in failures:
        print(f"CHECK FAILED: {f}")
    print("demo: all checks passed" if not failures else f"demo: {len(failures)} check(s) failed")
    return 1 if failures else 0

"""Command line: `python -m graphvar demo | inspect PATH | convert SRC DST --to FORMAT`."""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

USAGE = """usage: python -m graphvar COMMAND ...

commands:
  demo [--steps N] [--batch B] [--device cpu|gpu] [--out DIR]
                                         the TF1 variable workflow, then train / save / restore / resume
  inspect PATH [--tensor NAME] [--all]   list a checkpoint's tensors (and values)
  convert SRC DST --to safetensors|tf    convert a checkpoint between formats
"""


def _step(label: str, fn: Callable[[], Any]) -> Any:
    t0 = time.perf_counter()
    out = fn()
    print(f"  {label:<58} {1e3 * (time.perf_counter() - t0):8.2f} ms")
    return out


def demo(argv: list[str] | None = None) -> int:
    """Part 1 (the variables workflow, below), then part 2: training (graphvar/demo.py)."""
    from graphvar import demo as demo_lib

    return demo_lib.run(argv, variables_part=variables_demo)


def variables_demo() -> int:
    """The seed workflow: create, initialize, chain with initialized_value, run, save, restore."""
    import numpy as np

    import graphvar as tf

    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(1234)
        weights = tf.Variable(tf.random_normal([784, 200], stddev=0.35), name="weights")
        biases = tf.Variable(tf.zeros([200]), name="biases")
        w2 = tf.Variable(weights.initialized_value(), name="w2")
        w_twice = tf.Variable(weights.initialized_value() * 0.2, name="w_twice")
        init_op = tf.initialize_all_variables()
        x = tf.placeholder(tf.float32, [None, 784], name="x")
        y = tf.nn.relu(tf.matmul(x, weights) + biases)
        with tf.Session() as sess:
            _step("sess.run(init_op)", lambda: sess.run(init_op))
            w, v2, vt = _step("fetch weights, w2, w_twice", lambda: sess.run([weights, w2, w_twice]))
            print(
                f"    w2 == weights: {np.array_equal(w, v2)};  w_twice == 0.2 * weights: {np.array_equal(vt, w * np.float32(0.2))}"
            )
            print(f"    weights: mean {w.mean():+.4f}, std {w.std():.4f} (stddev 0.35)")
            out = _step(
                "y = relu(x @ weights + biases), batch of 64", lambda: sess.run(y, {x: np.ones((64, 784), np.float32)})
            )
            print(f"    y: shape {out.shape}, mean {out.mean():.4f}")
            _step("1000 x sess.run(biases.assign_add(...))", _assign_loop(sess, biases.assign_add(tf.ones([200]))))
            saved = sess.run([weights, biases])
            if hasattr(tf.train, "Saver"):
                _save_and_restore(tf, sess, saved)
    return 0


def _assign_loop(sess: Any, op: Any) -> Callable[[], None]:
    def loop() -> None:
        for _ in range(1000):
            sess.run(op)

    return loop


def _save_and_restore(tf: Any, sess: Any, saved: list) -> None:
    import numpy as np

    with tempfile.TemporaryDirectory() as tmp:
        saver = tf.train.Saver()
        path = _step(
            "saver.save(sess, model.ckpt, global_step=1)", lambda: saver.save(sess, f"{tmp}/model.ckpt", global_step=1)
        )
        with tf.Graph().as_default():
            weights = tf.Variable(tf.zeros([784, 200]), name="weights")
            biases = tf.Variable(tf.zeros([200]), name="biases")
            with tf.Session() as fresh:
                _step(
                    "restore into a fresh graph (no initializer)",
                    lambda: tf.train.Saver([weights, biases]).restore(fresh, path),
                )
                w, b = fresh.run([weights, biases])
        same = np.array_equal(w, saved[0]) and np.array_equal(b, saved[1])
        print(f"    checkpoint {path}: restored values identical: {same}")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command == "demo":
        return demo(rest)
    if command in ("inspect", "convert"):
        from graphvar.checkpoint import cli

        return cli.inspect_main(rest) if command == "inspect" else cli.convert_main(rest)
    print(f"unknown command {command!r}\n{USAGE}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())

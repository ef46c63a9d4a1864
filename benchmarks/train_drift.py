"""How far graphvar's training trajectory drifts from TensorFlow's on the demo model.

graphvar builds and initializes the demo's MLP (784-256-256-10, Adam) and saves every variable
(weights, Adam slots, beta powers, global step) to a TF V2 checkpoint; TF builds the same graph
with `tf.compat.v1` and restores that checkpoint, so both start from identical weights. Both then
train the same batches for `--steps` steps and the weights are compared: per variable the largest
absolute difference relative to the variable's largest magnitude, and the largest elementwise
relative difference.

Run with the TF venv and graphvar on the path:
    PYTHONPATH=. /work/tfvenv/bin/python benchmarks/train_drift.py --steps 100 --batch 64
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from typing import Any

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _session(tf: Any) -> tuple[Any, dict]:
    from graphvar.demo import build_model

    g = tf.Graph()
    with g.as_default():
        m = build_model(tf)
        m["init"] = tf.global_variables_initializer()
        m["saver"] = tf.train.Saver()
        m["trainable"] = tf.trainable_variables()
    config = tf.ConfigProto(intra_op_parallelism_threads=1, inter_op_parallelism_threads=1)
    return tf.Session(graph=g, config=config), m


def _train(sess: Any, m: dict, batches: list) -> list[float]:
    step = sess.make_callable([m["loss"], m["train_op"]], [m["x"], m["labels"]])
    return [float(step(x, y)[0]) for x, y in batches]


def _weights(sess: Any, m: dict) -> dict[str, np.ndarray]:
    return {v.op.name: np.asarray(sess.run(v)) for v in m["trainable"]}


def drift(steps: int, batch: int, seed: int = 0) -> dict:
    """Trains both from the same checkpoint on the same batches; returns the differences."""
    import tensorflow as tf2

    import graphvar
    from graphvar.demo import make_dataset

    tf = tf2.compat.v1
    tf.disable_eager_execution()
    (x_train, y_train), _ = make_dataset(seed=seed)
    rng = np.random.default_rng(seed)
    batches = [(x_train[i], y_train[i]) for i in (rng.integers(0, len(x_train), batch) for _ in range(steps))]

    gv_sess, gv = _session(graphvar)
    tf_sess, tfm = _session(tf)
    with tempfile.TemporaryDirectory() as d:
        gv_sess.run(gv["init"])
        prefix = gv["saver"].save(gv_sess, os.path.join(d, "start"))
        tfm["saver"].restore(tf_sess, prefix)
    start = {k: float(np.max(np.abs(a - b))) for (k, a), b in zip(_weights(gv_sess, gv).items(),
                                                                  _weights(tf_sess, tfm).values())}  # fmt: skip
    gv_loss, tf_loss = _train(gv_sess, gv, batches), _train(tf_sess, tfm, batches)
    a, b = _weights(gv_sess, gv), _weights(tf_sess, tfm)
    per_var = {}
    for name, w_gv in a.items():
        w_tf = b[name]
        diff = np.abs(w_gv.astype(np.float64) - w_tf)
        scale = float(np.max(np.abs(w_tf))) or 1.0
        nonzero = np.abs(w_tf) > 1e-3 * scale  # elementwise ratios of near-zero weights say little
        per_var[name] = {
            "max_abs": float(diff.max()),
            "rel_to_scale": float(diff.max()) / scale,
            "max_elementwise_rel": float(np.max(diff[nonzero] / np.abs(w_tf[nonzero]))) if nonzero.any() else 0.0,
        }
    return {
        "steps": steps,
        "batch": batch,
        "start_max_abs_diff": max(start.values()),
        "loss_first": (gv_loss[0], tf_loss[0]),
        "loss_last": (gv_loss[-1], tf_loss[-1]),
        "max_loss_rel": max(abs(p - q) / abs(q) for p, q in zip(gv_loss, tf_loss)),
        "per_variable": per_var,
        "max_rel_to_scale": max(v["rel_to_scale"] for v in per_var.values()),
        "max_elementwise_rel": max(v["max_elementwise_rel"] for v in per_var.values()),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--batch", type=int, default=64)
    args = p.parse_args(argv)
    try:
        r = drift(args.steps, args.batch)
    except ImportError as e:
        print(f"missing: tensorflow not installed ({e})", file=sys.stderr)
        return 2
    print(f"{r['steps']} Adam steps, batch {r['batch']}; start weights equal: max |diff| {r['start_max_abs_diff']:.3g}")
    print(f"loss step 1: graphvar {r['loss_first'][0]:.7f}  tf {r['loss_first'][1]:.7f}")
    print(f"loss step {r['steps']}: graphvar {r['loss_last'][0]:.7f}  tf {r['loss_last'][1]:.7f}; "
          f"max relative loss difference {r['max_loss_rel']:.3g}")  # fmt: skip
    for name, v in r["per_variable"].items():
        print(f"  {name:16s} max |diff| {v['max_abs']:.3g}  / max |w| {v['rel_to_scale']:.3g}  "
              f"max elementwise rel {v['max_elementwise_rel']:.3g}")  # fmt: skip
    print(f"max relative difference (|diff| / max |w|): {r['max_rel_to_scale']:.3g}; "
          f"elementwise (|w| > 1e-3 max |w|): {r['max_elementwise_rel']:.3g}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())

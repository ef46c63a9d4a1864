"""Child process of test_saver's kill test: saves forever, every variable holding the step number.

Usage: saver_kill_child.py DIR FIRST_STEP. Prints each step once its save returned.
"""

from __future__ import annotations

import os
import sys

import numpy as np

import graphvar as tf

SHAPE = (256, 1024)
NUM_LAYERS = 4


def build() -> tuple[list, object]:
    """The model both processes use: NUM_LAYERS float32 layers and an int64 global_step."""
    layers = [tf.Variable(tf.zeros(SHAPE), name=f"layer{i}/w") for i in range(NUM_LAYERS)]
    step = tf.Variable(np.int64(0), name="global_step")
    return layers, step


def main() -> None:
    directory, step = sys.argv[1], int(sys.argv[2])
    layers, step_var = build()
    saver = tf.train.Saver(max_to_keep=3)
    sess = tf.Session()
    state = tf.train.get_checkpoint_state(directory)
    if state is not None:
        saver.recover_last_checkpoints(state.all_model_checkpoint_paths)
    while True:
        for v in layers:
            v.load(np.full(SHAPE, step, np.float32), sess)
        step_var.load(np.int64(step), sess)
        saver.save(sess, os.path.join(directory, "model.ckpt"), global_step=step_var)
        print(step, flush=True)
        step += 1


if __name__ == "__main__":
    main()

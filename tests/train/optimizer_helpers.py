"""Shared by the optimizer tests: the TF fixture file and building the fixture cases in graphvar."""

from __future__ import annotations

import functools

import numpy as np

import graphvar as tf
from tests.fixtures import make_tf_optimizer_fixtures as fx


@functools.cache
def fixtures() -> dict[str, np.ndarray]:
    with np.load(fx.NPZ, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def build_case(case: str) -> tuple:
    """The fixture case as a graphvar graph: (train op, {var name: placeholder}, lr placeholder, optimizer)."""
    cls, kwargs, dtype, fed = fx.CASES[case]
    grads, pairs = {}, []
    for name, shape in fx.VARS.items():
        scope, _, base = name.rpartition("/")
        with tf.variable_scope(scope or tf.get_variable_scope()):
            var = tf.Variable(fx.initial_value(name, shape, dtype), name=base)
        grads[name] = tf.placeholder(dtype, shape)
        pairs.append((grads[name], var))
    lr = tf.placeholder(tf.float32, []) if fed else None
    opt = getattr(tf.train, cls)(**({"learning_rate": lr} if fed else {}), **kwargs)
    train = opt.apply_gradients(pairs, global_step=tf.train.get_or_create_global_step())
    return train, grads, lr, opt


def feed_for(case: str, step: int, grads: dict, lr) -> dict:
    feed = {grads[n]: fx.gradients(n, shape, fx.CASES[case][2])[step] for n, shape in fx.VARS.items()}
    if lr is not None:
        feed[lr] = fx.fed_learning_rates()[step]
    return feed


def run_case(case: str, steps: int = fx.STEPS, device: str | None = None) -> dict[str, list[np.ndarray]]:
    """Runs the case in a fresh graph (on `device`); {variable op name: [value after each step]}."""
    with tf.Graph().as_default(), tf.device(device):
        train, grads, lr, _ = build_case(case)
        all_vars = sorted(tf.global_variables(), key=lambda v: v.op.name)
        history: dict[str, list] = {v.op.name: [] for v in all_vars}
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for step in range(steps):
                sess.run(train, feed_for(case, step, grads, lr))
                for v, value in zip(all_vars, sess.run(all_vars)):
                    history[v.op.name].append(value)
        return history

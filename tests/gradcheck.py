"""Gradient checks: tf.gradients against float64 central finite differences.

`check_gradients(build, inputs)` builds `y = build(*placeholders)` on float64 placeholders (or
on the given static shapes, `None` dims allowed), evaluates tf.gradients(sum(y * w)) for a fixed
random weighting w (so every output element matters), and compares each input's gradient with
(f(x + h e_i) - f(x - h e_i)) / 2h computed from the forward graph alone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

import graphvar as tf
from graphvar.ops.gradients_impl import to_dense


def numeric_gradient(f: Callable[[list[np.ndarray]], float], values: list[np.ndarray], k: int, h: float) -> np.ndarray:
    x = values[k]
    out = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        plus = [v.copy() for v in values]
        minus = [v.copy() for v in values]
        plus[k][i] += h
        minus[k][i] -= h
        out[i] = (f(plus) - f(minus)) / (2 * h)
    return out


def check_gradients(
    build: Callable[..., tf.Tensor],
    values: Sequence[np.ndarray],
    shapes: Sequence[Sequence[int | None]] | None = None,
    h: float = 1e-6,
    rtol: float = 1e-6,
    atol: float = 1e-8,
    seed: int = 0,
) -> list[np.ndarray]:
    """Asserts that tf.gradients of build(*inputs) matches central differences; returns the analytic gradients."""
    values = [np.asarray(v, dtype=np.float64) for v in values]
    graph = tf.Graph()
    with graph.as_default():
        phs = [
            tf.placeholder(tf.float64, shape=(shapes[i] if shapes else v.shape), name=f"x{i}")
            for i, v in enumerate(values)
        ]
        y = build(*phs)
        rng = np.random.default_rng(seed)
        w = tf.placeholder(tf.float64, shape=y.shape, name="w")
        loss = tf.reduce_sum(y * w)
        grads = tf.gradients(loss, phs)
        with tf.Session(graph=graph) as sess:
            y_value = sess.run(y, dict(zip(phs, values)))
            w_value = rng.uniform(0.5, 1.5, size=np.shape(y_value))
            feed = {**dict(zip(phs, values)), w: w_value}
            fetch = [to_dense(g) for g in grads if g is not None]  # a gather's IndexedSlices, summed into rows
            got = iter(sess.run(fetch, feed))
            analytic = [next(got) if g is not None else None for g in grads]

            def f(vals: list[np.ndarray]) -> float:
                return float(sess.run(loss, {**dict(zip(phs, vals)), w: w_value}))

            for k, a in enumerate(analytic):
                num = numeric_gradient(f, values, k, h)
                if a is None:
                    np.testing.assert_allclose(
                        num, 0.0, atol=1e-6, err_msg=f"input {k}: no gradient, but f depends on it"
                    )
                    continue
                a = np.asarray(a)
                assert a.shape == values[k].shape, (
                    f"input {k}: gradient shape {a.shape} != input shape {values[k].shape}"
                )
                np.testing.assert_allclose(a, num, rtol=rtol, atol=atol * max(1.0, np.abs(num).max()) + 1e-7,
                                           err_msg=f"input {k} of {y.op.type}")  # fmt: skip
    return analytic

"""Convolution and pooling against TensorFlow itself: values, output shapes and gradients.

Run with a Python that has both graphvar and tensorflow (the suite itself never needs TF):

    PYTHONPATH=. /work/tfvenv/bin/python ci/conv_vs_tf.py

For every configuration (input sizes, window sizes, strides, dilations, SAME / VALID / explicit
padding) it builds the same float64 graph in tf.compat.v1 and in graphvar, fetches the output and
the gradients of sum(y^2) with respect to every input, and requires equal shapes and a relative
difference below 1e-9. TF's CPU Conv2D has no dilations (tf.nn.convolution's dilation_rate stands
in) and its depthwise kernel needs equal strides; those cases are built accordingly. Exits 1 on
the first mismatch.
"""

from __future__ import annotations

import itertools
import os
import sys

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import tensorflow as _tf  # noqa: E402

import graphvar as gv  # noqa: E402

tf1 = _tf.compat.v1
tf1.disable_eager_execution()
RNG = np.random.default_rng(0)


def compare(build, values: list) -> float:
    """Relative difference of build(lib, *placeholders) and its gradients, TF against graphvar."""
    results = []
    for lib in (tf1, gv):
        graph = lib.Graph()
        with graph.as_default():
            phs = [lib.placeholder(lib.float64, v.shape) for v in values]
            y = build(lib, *phs)
            fetch = [y] + [g for g in lib.gradients(lib.reduce_sum(y * y), phs) if g is not None]
            with lib.Session(graph=graph) as sess:
                results.append(sess.run(fetch, dict(zip(phs, values))))
    worst = 0.0
    for a, b in zip(*results):
        if a.shape != b.shape:
            raise AssertionError(f"shape: TF {a.shape}, graphvar {b.shape}")
        worst = max(worst, float(np.abs(a - b).max() / max(1.0, np.abs(a).max())))
    if worst > 1e-9:
        raise AssertionError(f"relative difference {worst}")
    return worst


def cases():
    n = lambda *s: RNG.standard_normal(s)  # noqa: E731
    for (h, w), k, s, d, p in itertools.product([(7, 6), (8, 8), (5, 9)], [(1, 1), (2, 2), (3, 2), (5, 5)],
                                                [(1, 1), (2, 2), (3, 1)], [(1, 1), (2, 2)], ["SAME", "VALID"]):  # fmt: skip
        eff = [(k[i] - 1) * d[i] + 1 for i in range(2)]
        if (max(s) > 1 and max(d) > 1) or (p == "VALID" and (eff[0] > h or eff[1] > w)):
            continue

        def conv(lib, a, b, s=s, p=p, d=d):
            if lib is tf1:
                return lib.nn.convolution(a, b, p, strides=list(s), dilation_rate=list(d))
            return lib.nn.conv2d(a, b, [1, *s, 1], p, dilations=[1, *d, 1])

        yield f"conv2d {h}x{w} k{k} s{s} d{d} {p}", conv, [n(2, h, w, 3), n(*k, 3, 4)]
        if d == (1, 1) and s[0] == s[1]:
            x = RNG.permutation(2 * h * w * 3).reshape(2, h, w, 3) * 0.1  # distinct values: one max per window
            yield (f"depthwise {h}x{w} k{k} s{s} {p}",
                   lambda lib, a, b, s=s, p=p: lib.nn.depthwise_conv2d(a, b, [1, *s, 1], p), [n(2, h, w, 3), n(*k, 3, 2)])  # fmt: skip
            yield f"max_pool {h}x{w} k{k} s{s} {p}", lambda lib, a, k=k, s=s, p=p: lib.nn.max_pool(a, [1, *k, 1], [1, *s, 1], p), [x]  # fmt: skip
            yield f"avg_pool {h}x{w} k{k} s{s} {p}", lambda lib, a, k=k, s=s, p=p: lib.nn.avg_pool(a, [1, *k, 1], [1, *s, 1], p), [x]  # fmt: skip
    for (h, w), s, p in itertools.product([(4, 4), (3, 5)], [(1, 1), (2, 2)], ["SAME", "VALID"]):
        oh = h * s[0] if p == "SAME" else (h - 1) * s[0] + 3
        ow = w * s[1] if p == "SAME" else (w - 1) * s[1] + 3
        yield (f"conv2d_transpose {h}x{w} s{s} {p}",
               lambda lib, a, b, s=s, p=p, oh=oh, ow=ow: lib.nn.conv2d_transpose(a, b, [2, oh, ow, 5], [1, *s, 1], p),
               [n(2, h, w, 3), n(3, 3, 5, 3)])  # fmt: skip
    for p in ("SAME", "VALID"):
        yield (f"depthwise rate 2 {p}", lambda lib, a, b, p=p: lib.nn.depthwise_conv2d(a, b, [1, 1, 1, 1], p, rate=[2, 2]),
               [n(2, 9, 8, 3), n(3, 3, 3, 2)])  # fmt: skip
    yield ("conv2d explicit padding",
           lambda lib, a, b: lib.nn.conv2d(a, b, [1, 1, 1, 1], [[0, 0], [2, 0], [1, 3], [0, 0]]),
           [n(2, 5, 5, 3), n(3, 3, 3, 4)])  # fmt: skip


def main() -> int:
    worst, count = 0.0, 0
    for name, build, values in cases():
        try:
            worst = max(worst, compare(build, values))
        except AssertionError as e:
            print(f"MISMATCH {name}: {e}")
            return 1
        count += 1
    print(f"{count} configurations match TensorFlow {_tf.__version__}; worst relative difference {worst:.2e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

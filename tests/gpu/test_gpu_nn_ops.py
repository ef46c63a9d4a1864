"""tf.nn and the extra array/math ops on a real GPU against the NumPy backend (same graph, same seeds).

Skipped where CuPy or a CUDA device is missing (see conftest.py); unrun on this project's CI so far.
"""

from __future__ import annotations

import numpy as np
import pytest

cupy = pytest.importorskip("cupy")

import graphvar as tf  # noqa: E402

pytestmark = pytest.mark.gpu
RNG = np.random.default_rng(0)
X = RNG.normal(size=(8, 6)).astype(np.float32)
LABELS = np.eye(6, dtype=np.float32)[RNG.integers(0, 6, 8)]

BUILDERS = {
    "relu6": lambda: tf.nn.relu6(X * 4),
    "elu": lambda: tf.nn.elu(X),
    "selu": lambda: tf.nn.selu(X),
    "softplus": lambda: tf.nn.softplus(X),
    "log_softmax": lambda: tf.nn.log_softmax(X),
    "bias_add": lambda: tf.nn.bias_add(X, np.arange(6, dtype=np.float32)),
    "l2_loss": lambda: tf.nn.l2_loss(X),
    "xent": lambda: tf.nn.softmax_cross_entropy_with_logits_v2(labels=LABELS, logits=X),
    "sparse_xent": lambda: tf.nn.sparse_softmax_cross_entropy_with_logits(labels=LABELS.argmax(1), logits=X),
    "top_k": lambda: tf.nn.top_k(X, 3)[1],
    "in_top_k": lambda: tf.nn.in_top_k(X, LABELS.argmax(1).astype(np.int32), 2),
    "gather": lambda: tf.gather(X, [3, 1, 3]),
    "one_hot": lambda: tf.one_hot([1, 5, 0], 6),
    "pad": lambda: tf.pad(X, [[1, 0], [0, 2]]),
    "cumsum": lambda: tf.cumsum(X, 1, exclusive=True),
    "einsum": lambda: tf.einsum("ij,kj->ik", X, X),
    "erf": lambda: tf.erf(X),
    "dropout": lambda: tf.nn.dropout(X, rate=0.3, seed=4),
}


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_gpu_matches_host(name):
    on_gpu = BUILDERS[name]()
    with tf.device("/cpu:0"):
        on_host = BUILDERS[name]()
    with tf.Session() as sess:
        g, h = sess.run([on_gpu, on_host])
        assert sess.host_fallbacks == {}
    np.testing.assert_allclose(g, h, rtol=2e-6, atol=1e-6)

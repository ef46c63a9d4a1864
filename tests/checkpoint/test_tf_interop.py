"""Live interoperability with TensorFlow (skipped where TensorFlow is not installed)."""

from __future__ import annotations

import numpy as np
import pytest

from graphvar.checkpoint import BundleReader, BundleWriter

tf = pytest.importorskip("tensorflow")

VALUES = {
    "w": np.arange(12, dtype=np.float32).reshape(3, 4),
    "scope/b": np.array([1, -2, 3], np.int64),
    "flag": np.array(True),
    "h": np.array([0.5, -1.25], np.float16),
    "u": np.arange(5, dtype=np.uint8),
}


def test_tensorflow_reads_ours(tmp_path):
    prefix = str(tmp_path / "ours")
    with BundleWriter(prefix) as w:
        for k, v in VALUES.items():
            w.add(k, v)
        w.finish()
    assert dict(tf.train.list_variables(prefix)) == {k: list(v.shape) for k, v in VALUES.items()}
    for k, v in VALUES.items():
        np.testing.assert_array_equal(tf.train.load_variable(prefix, k), v)


def test_we_read_tensorflows(tmp_path):
    prefix = str(tmp_path / "theirs")
    names = list(VALUES)
    tf.raw_ops.SaveV2(prefix=prefix, tensor_names=names, shape_and_slices=[""] * len(names),
                      tensors=[tf.constant(VALUES[k]) for k in names])  # fmt: skip
    with BundleReader(prefix) as r:
        for k, v in VALUES.items():
            np.testing.assert_array_equal(r.get_tensor(k), v)

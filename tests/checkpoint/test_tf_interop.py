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


def test_tensorflow_reads_many_small_tensors_written_in_groups(tmp_path):
    # 3,000 tensors of 4 to 4,000 bytes: grouped writes, an index of several blocks, no fsync
    rng = np.random.default_rng(15)
    values = {
        f"layer_{i // 10}/v{i % 10}": rng.random(int(rng.integers(1, 1000)), dtype=np.float32) for i in range(3000)
    }
    prefix = str(tmp_path / "many")
    with BundleWriter(prefix, durable=False) as w:
        for k, v in values.items():
            w.add(k, v)
        w.finish()
    reader = tf.train.load_checkpoint(prefix)
    assert reader.get_variable_to_shape_map() == {k: list(v.shape) for k, v in values.items()}
    for k in list(values)[::97]:
        np.testing.assert_array_equal(reader.get_tensor(k), values[k])

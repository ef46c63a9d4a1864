"""tf.train-style readers over TF-made fixtures, our bundles and safetensors."""

from __future__ import annotations

import os

import numpy as np
import pytest

from graphvar import dtypes, errors
from graphvar.checkpoint import BundleWriter, SafetensorsWriter
from graphvar.train import reader as tr

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures", "tf_checkpoints")


def test_fixture_directory_and_prefix():
    d = os.path.join(FIXTURES, "saver")
    names = [n for n, _ in tr.list_variables(d)]
    assert names == sorted(names) and "scope/inner/w" in names
    assert dict(tr.list_variables(d))["scope/inner/w"] == [4, 5]
    r = tr.load_checkpoint(d)
    assert r.get_variable_to_dtype_map()["v_int8"] == dtypes.int8
    assert r.get_variable_to_shape_map()["scalar_f32"] == []
    assert b"v_float16 (DT_FLOAT16) [2,3]\n" in r.debug_string()
    np.testing.assert_array_equal(tr.load_variable(d, "scope/inner/w:0"), r.get_tensor("scope/inner/w"))
    r.close()
    for path in ("raw", "raw.index", "raw.data-00000-of-00001"):
        assert tr.NewCheckpointReader(os.path.join(FIXTURES, path)).has_tensor("big/weights")


def test_missing_things(tmp_path):
    with pytest.raises(errors.NotFoundError, match="Failed to find any matching files for"):
        tr.NewCheckpointReader(str(tmp_path / "nope"))
    with pytest.raises(ValueError, match="Couldn't find 'checkpoint' file"):
        tr.load_checkpoint(str(tmp_path))
    with pytest.raises(errors.NotFoundError, match="Key missing not found"):
        tr.load_variable(os.path.join(FIXTURES, "raw"), "missing")


def test_safetensors_and_bundle_read_alike(tmp_path):
    v = np.arange(12, dtype=np.int16).reshape(3, 4)
    with BundleWriter(str(tmp_path / "b")) as w:
        w.add("v", v)
        w.finish()
    with SafetensorsWriter(str(tmp_path / "s"), [("v", v.dtype, v.shape)]) as w:
        w.add("v", v)
        w.finish()
    for p in ("b", "s", "s.safetensors"):
        np.testing.assert_array_equal(tr.load_variable(str(tmp_path / p), "v"), v)
        assert tr.list_variables(str(tmp_path / p)) == [("v", [3, 4])]

"""Files written by TensorFlow itself: read their values, and rewrite them byte for byte."""

from __future__ import annotations

import os

import numpy as np
import pytest
from ckpt_helpers import FIXTURES, maker, manifest

from graphvar.checkpoint import BundleReader, BundleWriter

CASES = ["saver/model.ckpt-1", "saver/model.ckpt-2", "raw", "many"]


def _specs(manifest, case):
    if case == "many":
        return maker.many_specs()
    return manifest["saver" if case.startswith("saver") else case]


@pytest.mark.parametrize("case", CASES)
def test_reads_exactly_what_tf_saved(case):
    specs = _specs(manifest(), case)
    with BundleReader(os.path.join(FIXTURES, case)) as r:
        assert r.keys() == sorted(s[0] for s in specs)
        for name, dtype, shape in specs:
            assert r.dtype(name).name == dtype
            assert r.shape(name) == tuple(shape)
            got = r.get_tensor(name)
            want = maker.expected_value(name, dtype, shape)
            assert got.dtype == want.dtype
            np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("case", CASES)
def test_writer_is_byte_identical_to_tf(case, tmp_path):
    # TF's writer adds tensors in its own order (SaveV2 keeps the caller's, the Saver its
    # variable order); the data file's offsets record it, so replay that order.
    src = os.path.join(FIXTURES, case)
    with BundleReader(src) as r:
        order = sorted(r.keys(), key=lambda k: r.info(k).offset)
        with BundleWriter(str(tmp_path / "ours")) as w:
            for name in order:
                w.add(name, r.get_tensor(name))
            w.finish()
    for suffix in (".index", ".data-00000-of-00001"):
        with open(src + suffix, "rb") as a, open(str(tmp_path / "ours") + suffix, "rb") as b:
            assert a.read() == b.read(), suffix


def test_many_fixture_spans_several_index_blocks():
    from graphvar.checkpoint.table import BLOCK_SIZE

    assert os.path.getsize(os.path.join(FIXTURES, "many.index")) > BLOCK_SIZE


def test_golden_bytes_of_a_tiny_bundle(tmp_path):
    # Hand-checked against TF's saver fixture layout: header entry, one entry, one restart,
    # trailer, empty metaindex, index block with separator "x" (short successor of "w").
    with BundleWriter(str(tmp_path / "t")) as w:
        w.add("w", np.array([1.0, 2.0], np.float32))
        w.finish()
    data = (tmp_path / "t.data-00000-of-00001").read_bytes()
    assert data == np.array([1.0, 2.0], "<f4").tobytes()
    index = (tmp_path / "t.index").read_bytes()
    assert index.startswith(
        b"\x00\x00\x06\x08\x01\x1a\x02\x08\x01\x00\x01\x0f" + b"w\x08\x01\x12\x04\x12\x02\x08\x02(\x085"
    )
    assert index.endswith(bytes.fromhex("57fb808b247547db"))
    assert b"\x00\x01\x02x\x00$" in index  # index entry: key "x" -> handle (offset 0, size 36)

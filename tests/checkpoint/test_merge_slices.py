"""Sharded bundles (merge_bundles, ShardWriter) and sliced entries, against TensorFlow-written fixtures."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

from graphvar import errors
from graphvar.checkpoint import BundleReader, BundleWriter, cleanup_stale_temps, slices
from graphvar.checkpoint.merge import ShardWriter, discard_bundle, merge_bundles
from graphvar.checkpoint.streaming import array_pieces
from tests.fixtures.make_tf_partitioned_fixtures import HERE, MERGE_INPUTS, value, window

IN, OUT = os.path.join(HERE, "merge_in"), os.path.join(HERE, "merge_out")


def _inputs(tmp_path) -> list[str]:
    work = tmp_path / "in"
    shutil.copytree(IN, work)
    return [str(work / f"part-{k:05d}-of-00003") for k in range(3)]


def test_merge_is_byte_identical_to_tensorflows(tmp_path):
    merge_bundles(_inputs(tmp_path), str(tmp_path / "in" / "merged"))
    got = sorted(p for p in os.listdir(tmp_path / "in") if p.startswith("merged"))
    want = sorted(p for p in os.listdir(OUT) if p.startswith("merged"))
    assert got == want
    for name in want:
        assert (tmp_path / "in" / name).read_bytes() == open(os.path.join(OUT, name), "rb").read(), name
    assert not [p for p in os.listdir(tmp_path / "in") if p.endswith(".index") and p.startswith("part")]


def test_reader_assembles_partitioned_tensors_across_shards():
    with BundleReader(os.path.join(OUT, "merged")) as r:
        assert r.keys() == ["a", "b", "emb", "w", "z/c"]
        for name, shape, _, _ in MERGE_INPUTS:
            np.testing.assert_array_equal(r.get_tensor(name), value(name, shape))
        np.testing.assert_array_equal(r.read_slice("emb", [(2, 6), (1, 2)]), value("emb", [10, 4])[2:8, 1:3])
        np.testing.assert_array_equal(r.read_slice("a", [(1, 2)]), value("a", [3])[1:])
        with pytest.raises(errors.InvalidArgumentError, match=r"emb.*dimension 0: \[8, 12\) is outside \[0, 10\)"):
            r.read_slice("emb", [(8, 4), (0, 4)])


def test_our_slices_are_tensorflows_bytes(tmp_path):
    for shard in range(3):
        prefix = str(tmp_path / f"part-{shard:05d}-of-00003")
        with BundleWriter(prefix) as w:
            for name, shape, where, spec in MERGE_INPUTS:
                if where != shard:
                    continue
                data = window(value(name, shape), spec)
                if spec:
                    w.add_slice(name, shape, slices.parse_spec(spec)[1], data.dtype, array_pieces(data))
                else:
                    w.add(name, data)
            w.finish()
        for suffix in (".index", ".data-00000-of-00001"):
            assert (
                open(prefix + suffix, "rb").read()
                == open(os.path.join(IN, os.path.basename(prefix) + suffix), "rb").read()
            )


def test_slice_keys_match_tensorflow():
    assert slices.slice_key("emb", ((0, 100), (0, 3))) == b"\x00emb\x00\x01\x01\x02\x80\xc0d\x80\x83"
    assert slices.slice_key("emb", ((100, 69900), (0, -1))) == b"\x00emb\x00\x01\x01\x02\xc0d\xe1\x11\x0c\x80\x7f"
    assert slices.slice_key_name(slices.slice_key("a\x00\u00ffb", ((1, 2),))) == "a\x00\u00ffb".encode()


def test_shard_writers_merge_and_leave_nothing_behind(tmp_path):
    final = str(tmp_path / "model.ckpt")
    shards = []
    for k in range(2):
        w = ShardWriter(final, k, 2)
        w.add(f"t{k}", np.full(3, k, np.float32))
        w.add_slice("p", (4,), ((2 * k, 2),), np.float32, array_pieces(np.arange(2 * k, 2 * k + 2, dtype=np.float32)))
        w.finish()
        shards.append(w.prefix)
    merge_bundles(shards, final)
    assert sorted(os.listdir(tmp_path)) == ["model.ckpt.data-00000-of-00002", "model.ckpt.data-00001-of-00002",
                                            "model.ckpt.index"]  # fmt: skip
    with BundleReader(final) as r:
        np.testing.assert_array_equal(r.get_tensor("p"), np.arange(4, dtype=np.float32))
        np.testing.assert_array_equal(r.get_tensor("t1"), np.ones(3, np.float32))


def test_failed_merge_changes_nothing(tmp_path):
    final = str(tmp_path / "m")
    shards = []
    for k in range(2):
        w = ShardWriter(final, k, 2)
        w.add("same", np.zeros(2, np.float32))
        w.finish()
        shards.append(w.prefix)
    before = sorted(os.listdir(tmp_path))
    with pytest.raises(errors.InvalidArgumentError, match="Duplicate tensor keyed by same"):
        merge_bundles(shards, final)
    assert sorted(os.listdir(tmp_path)) == before
    for p in shards:
        discard_bundle(p)
    assert os.listdir(tmp_path) == []


def test_shard_files_of_a_dead_writer_are_stale_temps(tmp_path):
    w = ShardWriter(str(tmp_path / "m"), 0, 1)
    w.add("x", np.zeros(1, np.float32))
    w.finish()
    dead = {p: p.replace(f"-{os.getpid()}-", "-999999999-") for p in os.listdir(tmp_path)}
    for old, new in dead.items():
        os.rename(tmp_path / old, tmp_path / new)
    assert cleanup_stale_temps(str(tmp_path)) == 2 and os.listdir(tmp_path) == []


def test_merge_replaces_an_existing_checkpoint(tmp_path):
    final = str(tmp_path / "m")
    with BundleWriter(final) as w:
        w.add("old", np.zeros(1, np.float32))
        w.finish()
    w = ShardWriter(final, 0, 1)
    w.add("new", np.ones(1, np.float32))
    w.finish()
    merge_bundles([w.prefix], final)
    with BundleReader(final) as r:
        assert r.keys() == ["new"]
    assert sorted(os.listdir(tmp_path)) == ["m.data-00000-of-00001", "m.index"]

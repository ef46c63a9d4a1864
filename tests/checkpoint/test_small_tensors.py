"""Many small tensors: the index codec fast paths, grouped writes and grouped, verified reads.

Each fast path is checked against the generic one it replaces: same bytes, same values, same errors.
"""

from __future__ import annotations

import os
import random

import numpy as np
import pytest

from graphvar import errors
from graphvar.checkpoint import BundleReader, BundleWriter, streaming
from graphvar.checkpoint.entry_codec import _varint, decode_entry, encode_entry
from graphvar.checkpoint.proto import BundleEntry, ProtoError, encode_varint


def _random_entry(rng: random.Random) -> BundleEntry:
    return BundleEntry(
        rng.choice([0, 1, 2, 9, 19, 100, 300]),
        tuple(rng.choice([0, 1, 3, 256, 70_000, 2**40]) for _ in range(rng.randrange(5))),
        rng.choice([0, 0, 1, 3]),
        rng.choice([0, 5, 300, 2**22, 2**30, 2**45]),
        rng.choice([0, 4, 1024, 2**22, 2**33]),
        rng.choice([0, 1, 2**32 - 1, rng.randrange(2**32)]),
    )


def _mutated(rng: random.Random, raw: bytes) -> bytes:
    m = bytearray(raw)
    for _ in range(rng.randrange(1, 3)):
        op = rng.randrange(3)
        if op == 0 and m:
            m[rng.randrange(len(m))] = rng.randrange(256)
        elif op == 1 and m:
            del m[rng.randrange(len(m))]
        else:
            m.insert(rng.randrange(len(m) + 1), rng.randrange(256))
    return bytes(m)


def _decoded(fn, raw: bytes):
    try:
        return fn(raw)
    except ProtoError as e:
        return ("ProtoError", str(e))


def test_varint_matches_the_generic_encoder():
    for n in [*range(70_000), 2**21 - 1, 2**21, 2**28 - 1, 2**28, 2**35, 2**63 - 1, -1, -300]:
        assert _varint(n) == encode_varint(n), n


def test_entry_codec_equals_the_generic_one_on_random_and_damaged_entries():
    rng = random.Random(15)
    for _ in range(5000):
        e = _random_entry(rng)
        raw = encode_entry(e)
        assert raw == e.encode()
        assert decode_entry(raw) == BundleEntry.decode(raw) == e
        bad = _mutated(rng, raw)
        assert _decoded(decode_entry, bad) == _decoded(BundleEntry.decode, bad), bad


def test_entry_codec_passes_sliced_and_unusual_entries_to_the_generic_code():
    sliced = BundleEntry(1, (4, 2), slices=(b"\x0a\x02\x08\x02",))
    assert encode_entry(sliced) == sliced.encode()
    assert decode_entry(sliced.encode()) == sliced
    twice = BundleEntry(1, (3,), 0, 8, 12, 7).encode() + b"\x20\x10"  # offset repeated: the last one wins
    assert decode_entry(twice) == BundleEntry.decode(twice)
    unknown = BundleEntry(1, (3,), 0, 8, 12, 7).encode() + b"\x40\x01"  # field 8, unknown: skipped
    assert decode_entry(unknown) == BundleEntry.decode(unknown)


def _write(prefix: str, arrays: dict[str, np.ndarray], chunked: bool = False) -> None:
    with BundleWriter(prefix) as w:
        for name, arr in arrays.items():
            if chunked:  # the pieces of a tensor may arrive in several chunks
                flat = np.ascontiguousarray(arr, arr.dtype.newbyteorder("<")).reshape(-1).view(np.uint8)
                w.add_chunks(name, arr.dtype, arr.shape, [flat[: len(flat) // 2], flat[len(flat) // 2 :]])
            else:
                w.add(name, arr)
        w.finish()


def _mixed_arrays() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    sizes = [1, 256, 0, 3, 16 << 10, 100_000, 7, 300_000, 2, (streaming.SMALL_TENSOR // 4) + 1, 5]
    arrays = {f"t{i:03d}": rng.random(n, dtype=np.float32) for i, n in enumerate(sizes)}
    arrays["scalar"] = np.float64(2.5) * np.ones(())
    arrays["ints"] = np.arange(12, dtype=">i4").reshape(3, 4)  # big-endian: converted chunk by chunk
    return arrays


@pytest.mark.parametrize("chunked", [False, True])
def test_grouped_writes_give_the_bytes_of_one_write_per_tensor(tmp_path, monkeypatch, chunked):
    arrays = _mixed_arrays()
    _write(str(tmp_path / "grouped"), arrays, chunked)
    monkeypatch.setattr(streaming, "SMALL_TENSOR", -1)  # every tensor through write_stream, as before
    _write(str(tmp_path / "plain"), arrays, chunked)
    for suffix in (".index", ".data-00000-of-00001"):
        assert (tmp_path / f"grouped{suffix}").read_bytes() == (tmp_path / f"plain{suffix}").read_bytes()
    with BundleReader(str(tmp_path / "grouped")) as r:
        for name, arr in arrays.items():
            np.testing.assert_array_equal(r.get_tensor(name), arr)


def test_a_short_small_tensor_is_dropped_and_the_writer_stays_usable(tmp_path):
    prefix = str(tmp_path / "m")
    with BundleWriter(prefix) as w:
        w.add("a", np.arange(4, dtype=np.float32))
        with pytest.raises(ValueError, match="chunks of tensor b hold 8 bytes"):
            w.add_chunks("b", np.float32, (4,), [b"\0" * 8])
        with pytest.raises(ValueError, match="more than"):
            w.add_chunks("b", np.float32, (1,), [b"\0" * 8])
        w.add("c", np.arange(3, dtype=np.int64))
        w.finish()
    with BundleReader(prefix) as r:
        assert r.keys() == ["a", "c"]
        np.testing.assert_array_equal(r.get_tensor("a"), np.arange(4, dtype=np.float32))
        np.testing.assert_array_equal(r.get_tensor("c"), np.arange(3, dtype=np.int64))
    assert os.path.getsize(prefix + ".data-00000-of-00001") == 16 + 24


def test_no_fsync_when_not_durable(tmp_path, monkeypatch):
    calls = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append(fd), real(fd))[1])
    with BundleWriter(str(tmp_path / "fast"), durable=False) as w:
        w.add("a", np.ones(3, np.float32))
        w.finish()
    assert calls == []
    with BundleWriter(str(tmp_path / "safe")) as w:
        w.add("a", np.ones(3, np.float32))
        w.finish()
    assert len(calls) >= 3  # data, index, directory
    for name in ("fast", "safe"):
        with BundleReader(str(tmp_path / name)) as r:
            np.testing.assert_array_equal(r.get_tensor("a"), np.ones(3, np.float32))


def _small_bundle(tmp_path, n: int = 50) -> tuple[str, dict[str, np.ndarray]]:
    rng = np.random.default_rng(1)
    arrays = {f"v{i:03d}": rng.random(rng.integers(1, 300), dtype=np.float32) for i in range(n)}
    prefix = str(tmp_path / "small")
    _write(prefix, arrays)
    return prefix, arrays


@pytest.mark.parametrize("kept", [None, 0, 2000])
def test_prefetched_tensors_read_back_exactly(tmp_path, monkeypatch, kept):
    if kept is not None:  # a budget smaller than the model: some verified bytes are read again
        monkeypatch.setattr(streaming, "KEPT_BYTES", kept)
    monkeypatch.setattr(streaming, "GROUP_BYTES", 3000)  # several groups
    prefix, arrays = _small_bundle(tmp_path)
    with BundleReader(prefix, hold_files=True) as r:
        r.prefetch(list(arrays))
        assert r._verified == set(arrays)
        assert (len(r._kept) == len(arrays)) if kept is None else len(r._kept) < len(arrays)
        for name, arr in arrays.items():
            r.verify(name)
            out = np.empty_like(arr)
            r.read_into(name, out)
            np.testing.assert_array_equal(out, arr)
        for name, arr in list(arrays.items())[:5]:  # read again (no longer kept): from the file
            got = b"".join(bytes(p) for p in r.iter_chunks(name, [bytearray(64), bytearray(64)]))
            assert got == arr.tobytes()


def test_prefetch_leaves_a_damaged_tensor_to_the_checked_path(tmp_path):
    prefix, arrays = _small_bundle(tmp_path)
    with BundleReader(prefix) as r:
        victim = r.info("v010")
    with open(prefix + ".data-00000-of-00001", "r+b") as f:
        f.seek(victim.offset)
        f.write(b"\xff\xfe")
    with BundleReader(prefix, hold_files=True) as r:
        r.prefetch(list(arrays))
        assert "v010" not in r._verified and "v011" in r._verified
        with pytest.raises(errors.DataLossError, match="v010"):
            r.verify("v010")
        with pytest.raises(errors.DataLossError, match="v010"):
            r.read_into("v010", np.empty_like(arrays["v010"]))
        out = np.empty_like(arrays["v011"])
        r.read_into("v011", out)
        np.testing.assert_array_equal(out, arrays["v011"])


def test_prefetch_of_a_truncated_file_changes_nothing(tmp_path):
    prefix, arrays = _small_bundle(tmp_path)
    with BundleReader(prefix, hold_files=True) as r:
        os.truncate(prefix + ".data-00000-of-00001", r.info("v040").offset)  # after validation
        r.prefetch(list(arrays))  # one group, cut short: left to the per-tensor path
        assert "v045" not in r._verified
        with pytest.raises(errors.DataLossError, match="v045"):
            r.verify("v045")
        r.verify("v000")
        out = np.empty_like(arrays["v000"])
        r.read_into("v000", out)
        np.testing.assert_array_equal(out, arrays["v000"])

"""Safetensors reader/writer: round trip, golden bytes, damaged headers."""

from __future__ import annotations

import json
import os
import struct

import numpy as np
import pytest
from ckpt_helpers import open_fds

from graphvar import errors
from graphvar.checkpoint import SafetensorsReader, SafetensorsWriter, open_reader


def _write(path, header: dict, data: bytes, pad: bool = True) -> None:
    raw = json.dumps(header).encode()
    if pad:
        raw += b" " * (-len(raw) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)) + raw + data)


def test_round_trip_any_add_order_and_metadata(tmp_path):
    values = {
        "a": np.arange(6, dtype=np.float32).reshape(2, 3),
        "b/c": np.array([True, False]),
        "s": np.float64(3.5),
        "z": np.zeros((0,), np.int8),
        "cx": np.array([1 + 2j], np.complex64),
    }
    specs = [(k, v.dtype, np.shape(v)) for k, v in values.items()]
    with SafetensorsWriter(str(tmp_path / "m"), specs, metadata={"format": "pt"}) as w:
        for k in reversed(list(values)):
            w.add(k, values[k])
        w.finish()
    assert os.listdir(tmp_path) == ["m.safetensors"]
    with SafetensorsReader(str(tmp_path / "m.safetensors")) as r:
        assert r.keys() == sorted(values) and r.metadata() == {"format": "pt"}
        for k, v in values.items():
            np.testing.assert_array_equal(r.get_tensor(k), v)
            assert r.shape(k) == np.shape(v)


def test_golden_bytes(tmp_path):
    with SafetensorsWriter(str(tmp_path / "g"), [("w", "float32", (2,)), ("b", "uint8", ())]) as w:
        w.add("w", np.array([1.0, 2.0], np.float32))
        w.add("b", np.uint8(7))
        w.finish()
    header = (
        b'{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"U8","shape":[],"data_offsets":[8,9]}}'
    )
    header += b" " * (-len(header) % 8)
    want = struct.pack("<Q", len(header)) + header + struct.pack("<2f", 1.0, 2.0) + b"\x07"
    assert (tmp_path / "g.safetensors").read_bytes() == want


def test_writer_contract(tmp_path):
    with pytest.raises(TypeError):
        SafetensorsWriter(str(tmp_path / "x"), [("c", "complex128", (1,))])
    with pytest.raises(ValueError):
        SafetensorsWriter(str(tmp_path / "x"), [("a", "float32", (1,)), ("a", "float32", (1,))])
    w = SafetensorsWriter(str(tmp_path / "x"), [("a", "float32", (2,)), ("b", "int32", (1,))])
    with pytest.raises(ValueError, match="spec"):
        w.add("a", np.zeros(3, np.float32))
    w.add("a", np.zeros(2, np.float32))
    with pytest.raises(ValueError, match="never added"):
        w.finish()
    assert os.listdir(tmp_path) == []
    with SafetensorsWriter(str(tmp_path / "y"), [("a", "int64", (4,))]) as w:
        w.add_chunks("a", "int64", (4,), [np.arange(2, dtype=np.int64), np.arange(2, 4, dtype=np.int64)])
        w.finish()
    with open_reader(str(tmp_path / "y")) as r:
        np.testing.assert_array_equal(r.get_tensor("a"), np.arange(4))


F32 = {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}
BAD = {
    "offset out of range": ({"a": {**F32, "data_offsets": [0, 16]}}, 8),
    "overlap": ({"a": F32, "b": {**F32, "data_offsets": [4, 12]}}, 12),
    "hole": ({"a": F32, "b": {**F32, "data_offsets": [12, 20]}}, 20),
    "trailing bytes": ({"a": F32}, 12),
    "size/shape mismatch": ({"a": {**F32, "shape": [3]}}, 8),
    "unknown dtype": ({"a": {**F32, "dtype": "Q7"}}, 8),
    "negative dim": ({"a": {**F32, "shape": [-2]}}, 8),
    "float dim": ({"a": {**F32, "shape": [2.0]}}, 8),
    "absurd dims": ({"a": {**F32, "shape": [2**62, 2**62]}}, 8),
    "extra field": ({"a": {**F32, "x": 1}}, 8),
    "not an object": ([1, 2], 0),
    "bad metadata": ({"__metadata__": {"k": 1}, "a": F32}, 8),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_headers(tmp_path, case):
    header, nbytes = BAD[case]
    path = str(tmp_path / "bad.safetensors")
    _write(path, header, b"\0" * nbytes)
    before = open_fds()
    with pytest.raises(errors.DataLossError, match="bad.safetensors"):
        SafetensorsReader(path)
    assert open_fds() == before


def test_bad_lengths_and_json(tmp_path):
    path = str(tmp_path / "bad.safetensors")
    for blob in (b"", b"\x01\x02", struct.pack("<Q", 1 << 60) + b"{}", struct.pack("<Q", 4) + b"{no}",
                 struct.pack("<Q", 2) + b"\xff\xfe", struct.pack("<Q", 11) + b'{"a":1,"a":2}'[:11]):  # fmt: skip
        with open(path, "wb") as f:
            f.write(blob)
        with pytest.raises(errors.DataLossError):
            SafetensorsReader(path)
    _write(path, {"a": F32, "a ": F32}, b"\0" * 8)
    with pytest.raises(errors.DataLossError):
        SafetensorsReader(path)
    with pytest.raises(errors.NotFoundError):
        SafetensorsReader(str(tmp_path / "missing.safetensors"))


def test_duplicate_keys_rejected(tmp_path):
    path = str(tmp_path / "dup.safetensors")
    raw = b'{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}'
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)) + raw + b"\0")
    with pytest.raises(errors.DataLossError, match="JSON"):
        SafetensorsReader(path)


def test_truncated_data_is_data_loss(tmp_path):
    with SafetensorsWriter(str(tmp_path / "t"), [("a", "float64", (100,))]) as w:
        w.add("a", np.ones(100))
        w.finish()
    path = str(tmp_path / "t.safetensors")
    full = open(path, "rb").read()
    for n in range(0, len(full), 37):
        with open(path, "wb") as f:
            f.write(full[:n])
        with pytest.raises(errors.DataLossError):
            SafetensorsReader(path)


def test_one_odd_dtype_is_listed_and_refused_only_when_read(tmp_path):
    """An F8 tensor does not sink the file: the others read (BF16 too), it raises when asked for."""
    path = str(tmp_path / "bf.safetensors")
    header = {
        "a": {"dtype": "BF16", "shape": [2], "data_offsets": [0, 4]},
        "b": {"dtype": "F8_E4M3", "shape": [4], "data_offsets": [4, 8]},
        "c": {"dtype": "F32", "shape": [1], "data_offsets": [8, 12]},
    }
    _write(path, header, b"\0" * 8 + np.float32(2.5).tobytes())
    with SafetensorsReader(path) as r:
        assert r.keys() == ["a", "b", "c"]
        assert r.dtype("a").name == "bfloat16" and r.dtype("b").name == "f8_e4m3"
        assert r.get_tensor("c")[0] == 2.5
        assert r.get_tensor("a").view(np.uint16).tolist() == [0, 0]
        with pytest.raises(errors.UnimplementedError, match="tensor b .*F8_E4M3"):
            r.get_tensor("b")
    bad = {"a": {"dtype": "BF16", "shape": [3], "data_offsets": [0, 4]}}  # sizes are still checked
    _write(path, bad, b"\0" * 4)
    with pytest.raises(errors.DataLossError, match="tensor a spans"):
        SafetensorsReader(path)

"""TFRecord framing of event files: golden bytes, CRCs, and every way a record can be damaged."""

from __future__ import annotations

import io

import pytest

from graphvar import errors
from graphvar.checkpoint import crc
from graphvar.summary import record


def test_masked_crc_golden():
    # CRC32C("123456789") = 0xE3069283 (the standard check value); TF's mask rotates and adds 0xA282EAD8
    assert crc.value(b"123456789") == 0xE3069283
    assert record.masked_crc(b"123456789") == (((0xE3069283 >> 15) | (0xE3069283 << 17)) + 0xA282EAD8) & 0xFFFFFFFF
    assert crc.unmask(record.masked_crc(b"abc")) == crc.value(b"abc")


def test_record_golden_bytes():
    # written by TensorFlow 2.21's tf.io.TFRecordWriter: b"hello" then b""
    tf_bytes = bytes.fromhex("0500000000000000eab2043e68656c6c6fbb1f1c19000000000000000029039807d8ea82a2")
    assert record.encode_record(b"hello") + record.encode_record(b"") == tf_bytes
    assert list(record.read_records(io.BytesIO(tf_bytes))) == [b"hello", b""]


def test_round_trip_many_records(tmp_path):
    path = str(tmp_path / "r.tfrecord")
    payloads = [b"", b"x", bytes(range(256)) * 50]
    with record.TFRecordWriter(path) as w:
        for p in payloads:
            w.write(p)
    assert list(record.tf_record_iterator(path)) == payloads


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda b: b[:5], "truncated record header"),
        (lambda b: b[:-1], "truncated record"),
        (lambda b: b[:8] + bytes([b[8] ^ 1]) + b[9:], "length's CRC"),
        (lambda b: b[:13] + bytes([b[13] ^ 1]) + b[14:], "data's CRC"),
    ],
)
def test_damaged_records_raise_data_loss(damage, message):
    good = record.encode_record(b"payload!")
    with pytest.raises(errors.DataLossError, match=message):
        list(record.read_records(io.BytesIO(damage(good)), "f"))


def test_missing_file_is_not_found(tmp_path):
    with pytest.raises(errors.NotFoundError):
        list(record.tf_record_iterator(str(tmp_path / "nope")))

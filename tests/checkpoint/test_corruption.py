"""Damaged bundles: every kind of damage is a DataLossError (NotFoundError for missing files),
no allocation beyond the file's size, and no file descriptor left open."""

from __future__ import annotations

import os
import tracemalloc

import numpy as np
import pytest
from ckpt_helpers import copy_fixture, open_fds

from graphvar import errors
from graphvar.checkpoint import BundleReader, crc
from graphvar.checkpoint.proto import BundleEntry, BundleHeader
from graphvar.checkpoint.table import FOOTER_SIZE, TableBuilder, snappy_decompress

SMALL = "saver/model.ckpt-1"


def _open_all(prefix: str) -> None:
    with BundleReader(prefix) as r:
        for k in r.keys():
            r.get_tensor(k)


def _expect_data_loss(prefix: str) -> None:
    before = open_fds()
    with pytest.raises(errors.DataLossError):
        _open_all(prefix)
    assert open_fds() == before


def test_truncated_index_anywhere(tmp_path):
    prefix = copy_fixture(SMALL, tmp_path)
    full = open(prefix + ".index", "rb").read()
    for n in range(len(full)):
        with open(prefix + ".index", "wb") as f:
            f.write(full[:n])
        _expect_data_loss(prefix)


def test_bit_flips_in_blocks_and_footer(tmp_path):
    prefix = copy_fixture(SMALL, tmp_path)
    full = open(prefix + ".index", "rb").read()
    # Every block byte is covered by a CRC (the metaindex too, which TF itself never reads);
    # in the footer both handles and the magic are checked, only the zero padding is not.
    footer_start = len(full) - FOOTER_SIZE
    positions = list(range(footer_start + 4)) + list(range(len(full) - 8, len(full)))
    for pos in positions:
        damaged = bytearray(full)
        damaged[pos] ^= 0x10
        with open(prefix + ".index", "wb") as f:
            f.write(damaged)
        _expect_data_loss(prefix)


def test_truncated_or_flipped_data(tmp_path):
    prefix = copy_fixture("raw", tmp_path)
    data_path = prefix + ".data-00000-of-00001"
    full = open(data_path, "rb").read()
    for n in (0, 1, len(full) // 2, len(full) - 1):
        with open(data_path, "wb") as f:
            f.write(full[:n])
        _expect_data_loss(prefix)
    for pos in (0, 100, len(full) // 2, len(full) - 1):
        damaged = bytearray(full)
        damaged[pos] ^= 1
        with open(data_path, "wb") as f:
            f.write(damaged)
        with pytest.raises(errors.DataLossError, match=r"Checksum does not match.*for tensor .* in .*data-00000"):
            _open_all(prefix)


def _write_index(prefix: str, entries: dict[str, BundleEntry], data: bytes = b"\0" * 64, header=None) -> None:
    table = TableBuilder()
    table.add(b"", (header or BundleHeader()).encode())
    for name in sorted(entries):
        table.add(name.encode(), entries[name].encode())
    with open(prefix + ".index", "wb") as f:
        f.write(table.finish())
    with open(prefix + ".data-00000-of-00001", "wb") as f:
        f.write(data)


BAD_ENTRIES = {
    "offset past end": BundleEntry(1, (4,), 0, 60, 16),
    "size past end": BundleEntry(1, (100,), 0, 0, 400),
    "absurd size": BundleEntry(1, (1 << 40, 1 << 40), 0, 0, 1 << 62),
    "absurd dims, small size": BundleEntry(1, (1 << 62, 1 << 62, 1 << 62), 0, 0, 16),
    "negative dim": BundleEntry(1, (-4,), 0, 0, 16),
    "negative offset": BundleEntry(1, (4,), 0, -16, 16),
    "size/shape mismatch": BundleEntry(1, (3,), 0, 0, 16),
    "wrong dtype code": BundleEntry(99, (4,), 0, 0, 16),
    "ref dtype code": BundleEntry(101, (4,), 0, 0, 16),
    "invalid dtype 0": BundleEntry(0, (4,), 0, 0, 16),
    "bad shard": BundleEntry(1, (4,), 3, 0, 16),
}


@pytest.mark.parametrize("case", sorted(BAD_ENTRIES))
def test_bad_entries(tmp_path, case):
    prefix = str(tmp_path / "m")
    _write_index(
        prefix, {"good": BundleEntry(1, (4,), 0, 0, 16, crc.mask(crc.value(b"\0" * 16))), "bad": BAD_ENTRIES[case]}
    )
    tracemalloc.start()
    try:
        with pytest.raises(errors.DataLossError, match=r"tensor bad.*m\.index"):
            BundleReader(prefix)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20


def test_bad_headers(tmp_path):
    prefix = str(tmp_path / "m")
    for header in (BundleHeader(num_shards=0), BundleHeader(min_consumer=5), BundleHeader(endianness=7)):
        _write_index(prefix, {}, header=header)
        _expect_data_loss(prefix)
    _write_index(prefix, {}, header=BundleHeader(endianness=1))
    with pytest.raises(errors.UnimplementedError, match="big-endian"):
        BundleReader(prefix)


def test_string_tensor_is_listed_but_unimplemented(tmp_path):
    prefix = str(tmp_path / "m")
    _write_index(prefix, {"s": BundleEntry(7, (2,), 0, 0, 10)})
    with BundleReader(prefix) as r:
        assert r.keys() == ["s"] and r.dtype("s").name == "string"
        with pytest.raises(errors.UnimplementedError, match="string"):
            r.get_tensor("s")


def test_missing_files_are_not_found(tmp_path):
    before = open_fds()
    with pytest.raises(errors.NotFoundError):
        BundleReader(str(tmp_path / "nothing"))
    prefix = copy_fixture(SMALL, tmp_path)
    os.remove(prefix + ".data-00000-of-00001")
    with pytest.raises(errors.NotFoundError):
        BundleReader(prefix)
    assert open_fds() == before


def test_snappy_block_is_read(tmp_path):
    # A hand-made snappy stream: literal "abcd", then copy (offset 4, length 8) -> "abcdabcdabcd".
    assert snappy_decompress(bytes([12, 3 << 2]) + b"abcd" + bytes([(4 << 2) | 1, 4])) == b"abcdabcdabcd"
    for bad in (b"\x05", bytes([12, 3 << 2]) + b"ab", bytes([12, (4 << 2) | 1, 9]), b"\xff\xff\xff\xff\x0f"):
        with pytest.raises(ValueError):
            snappy_decompress(bad)


def test_absurd_snappy_length_is_refused():
    with pytest.raises(ValueError, match="claims"):
        snappy_decompress(b"\xff\xff\xff\xff\x07" + b"\0")


def test_reader_values_survive_independent_reads(tmp_path):
    prefix = copy_fixture("raw", tmp_path)
    with BundleReader(prefix) as r:
        a = r.get_tensor("big/weights")
        b = np.empty_like(a)
        r.read_into("big/weights", b)
        np.testing.assert_array_equal(a, b)

"""TFRecord framing, the container of TensorFlow's event files.

Each record is::

    uint64 length        little-endian
    uint32 masked_crc32c(length bytes)
    byte   data[length]
    uint32 masked_crc32c(data)

with TF's CRC masking (``graphvar.checkpoint.crc``). Readers check both CRCs and that every
record is complete, raising ``DataLossError`` naming the file and offset.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import Any, BinaryIO

from graphvar import errors
from graphvar.checkpoint import crc

_LENGTH = struct.Struct("<Q")
_CRC = struct.Struct("<I")
HEADER_BYTES = _LENGTH.size + _CRC.size
FOOTER_BYTES = _CRC.size


def masked_crc(data: bytes) -> int:
    return crc.mask(crc.value(data))


def encode_record(data: bytes) -> bytes:
    """One framed record: header (length, its masked CRC), the data, the data's masked CRC."""
    length = _LENGTH.pack(len(data))
    return b"".join((length, _CRC.pack(masked_crc(length)), data, _CRC.pack(masked_crc(data))))


def read_records(f: BinaryIO, path: str = "<stream>") -> Iterator[bytes]:
    """Yields each record's data from an open binary file, checking lengths and CRCs.

    Raises:
      errors.DataLossError: a truncated record or a CRC mismatch (the message names path and offset).
    """
    offset = 0
    while True:
        header = f.read(HEADER_BYTES)
        if not header:
            return
        if len(header) < HEADER_BYTES:
            raise _loss(path, offset, f"truncated record header ({len(header)} of {HEADER_BYTES} bytes)")
        length_bytes, (length_crc,) = header[: _LENGTH.size], _CRC.unpack(header[_LENGTH.size :])
        if masked_crc(length_bytes) != length_crc:
            raise _loss(path, offset, "corrupted record: the length's CRC does not match")
        (length,) = _LENGTH.unpack(length_bytes)
        data = f.read(length)
        footer = f.read(FOOTER_BYTES)
        if len(data) < length or len(footer) < FOOTER_BYTES:
            raise _loss(path, offset, f"truncated record: {length} data bytes announced, file ends first")
        if masked_crc(data) != _CRC.unpack(footer)[0]:
            raise _loss(path, offset, "corrupted record: the data's CRC does not match")
        yield data
        offset += HEADER_BYTES + length + FOOTER_BYTES


def tf_record_iterator(path: str, options: Any = None) -> Iterator[bytes]:
    """TF1's ``tf.python_io.tf_record_iterator``: the records of an uncompressed TFRecord file.

    Raises:
      errors.NotFoundError: no such file.
      errors.UnimplementedError: compression options (graphvar reads uncompressed files only).
      errors.DataLossError: a truncated or corrupted record.
    """
    if options is not None and getattr(options, "compression_type", None) not in (None, 0, ""):
        raise errors.UnimplementedError(None, None, f"tf_record_iterator({path!r}): compressed TFRecord files")
    try:
        f = open(path, "rb")  # noqa: SIM115 - closed by the generator's with
    except FileNotFoundError:
        raise errors.NotFoundError(None, None, f"{path}; No such file or directory") from None
    with f:
        yield from read_records(f, path)


class TFRecordWriter:
    """TF1's ``tf.python_io.TFRecordWriter``: writes framed records to a new file.

    Example:
      >>> with TFRecordWriter("/tmp/x.tfrecord") as w:
      ...     w.write(b"payload")
    """

    def __init__(self, path: str, options: Any = None) -> None:
        if options is not None and getattr(options, "compression_type", None) not in (None, 0, ""):
            raise errors.UnimplementedError(None, None, f"TFRecordWriter({path!r}): compressed TFRecord files")
        self._file = open(path, "wb")  # noqa: SIM115 - closed in close()

    def write(self, record: bytes) -> None:
        self._file.write(encode_record(bytes(record)))

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> TFRecordWriter:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _loss(path: str, offset: int, what: str) -> errors.DataLossError:
    return errors.DataLossError(None, None, f"{path}: {what} at offset {offset}")

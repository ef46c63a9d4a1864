"""``tf.python_io``: TF1's TFRecord reader and writer (uncompressed files; graphvar/summary/record.py)."""

from __future__ import annotations

from typing import Any

from graphvar.summary.record import TFRecordWriter, tf_record_iterator


class TFRecordCompressionType:
    """TF1's compression kinds; graphvar reads and writes NONE only (the others raise UnimplementedError)."""

    NONE = 0
    ZLIB = 1
    GZIP = 2


class TFRecordOptions:
    """TF1's ``tf.python_io.TFRecordOptions(compression_type)``; anything but NONE is refused by the reader / writer."""

    compression_type_map = {TFRecordCompressionType.NONE: "", TFRecordCompressionType.ZLIB: "ZLIB",
                            TFRecordCompressionType.GZIP: "GZIP"}  # fmt: skip

    def __init__(self, compression_type: Any = None) -> None:
        if isinstance(compression_type, str):
            names = {"": 0, "ZLIB": 1, "GZIP": 2}
            compression_type = names.get(compression_type.upper(), compression_type)
        self.compression_type = compression_type or 0


__all__ = ["TFRecordCompressionType", "TFRecordOptions", "TFRecordWriter", "tf_record_iterator"]

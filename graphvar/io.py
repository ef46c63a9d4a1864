"""``tf.io``: the TFRecord reader / writer (``tf.python_io``'s) and ``tf.io.gfile``."""

from __future__ import annotations

from graphvar import gfile_v2 as gfile
from graphvar.python_io import TFRecordCompressionType, TFRecordOptions, TFRecordWriter, tf_record_iterator

__all__ = ["TFRecordCompressionType", "TFRecordOptions", "TFRecordWriter", "gfile", "tf_record_iterator"]

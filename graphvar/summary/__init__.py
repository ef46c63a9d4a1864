"""``tf.summary``: TensorBoard summary ops and event-file writers (TF1's API)."""

from graphvar.ops.summary_ops import audio, histogram, image, merge, merge_all, scalar, text
from graphvar.proto.event_pb2 import Event, SessionLog, TaggedRunMetadata
from graphvar.proto.summary_pb2 import HistogramProto, Summary, SummaryDescription, SummaryMetadata
from graphvar.summary.file_writer import FileWriter, FileWriterCache, summary_iterator

__all__ = [
    "Event",
    "FileWriter",
    "FileWriterCache",
    "HistogramProto",
    "SessionLog",
    "Summary",
    "SummaryDescription",
    "SummaryMetadata",
    "TaggedRunMetadata",
    "audio",
    "histogram",
    "image",
    "merge",
    "merge_all",
    "scalar",
    "summary_iterator",
    "text",
]

"""tf.summary.image / audio / text against TensorFlow 2.21's own summaries (tests/fixtures/tf_extra.npz):
decoded pixels and tags equal, WAV and text Summary bytes identical; PNG chunks and CRCs checked."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest

import graphvar as tf
from graphvar.summary.media import PNG_SIGNATURE, encode_png, encode_wav
from tests.fixtures import make_tf_extra_fixtures as fx
from tests.fixtures.make_tf_optimizer_fixtures import key

F = np.load(fx.NPZ, allow_pickle=False)


def decode_png(data: bytes) -> np.ndarray:
    """Our PNGs (8-bit, filter 0): every chunk's CRC checked."""
    assert data[:8] == PNG_SIGNATURE
    pos, chunks = 8, {}
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF, kind
        chunks[kind] = body
        pos += 12 + length
    w, h, depth, color = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    channels = {0: 1, 4: 2, 2: 3, 6: 4}[color]
    rows = np.frombuffer(zlib.decompress(chunks[b"IDAT"]), np.uint8).reshape(h, 1 + w * channels)
    assert depth == 8 and (rows[:, 0] == 0).all() and b"IEND" in chunks
    return rows[:, 1:].reshape(h, w, channels)


def _run(summary: tf.Tensor) -> tf.Summary:
    with tf.Session() as sess:
        return tf.Summary.FromString(sess.run(summary))


@pytest.mark.parametrize("case", list(fx.images()))
def test_image_pixels_and_tags_match_tensorflow(case):
    with tf.Graph().as_default():
        summ = _run(tf.summary.image(case, tf.constant(fx.images()[case]), max_outputs=fx.IMAGE_MAX_OUTPUTS[case]))
    assert [v.tag for v in summ.value] == list(F[key("image", case, "tags")])
    for i, v in enumerate(summ.value):
        pixels = decode_png(v.image.encoded_image_string)
        np.testing.assert_array_equal(pixels, F[key("image", case, str(i))], err_msg=f"{case} image {i}")
        assert (v.image.height, v.image.width, v.image.colorspace) == pixels.shape


@pytest.mark.parametrize("case", list(fx.audio()))
def test_audio_summary_bytes_equal_tensorflow(case):
    samples, rate, n = fx.audio()[case]
    with tf.Graph().as_default(), tf.Session() as sess:
        got = sess.run(tf.summary.audio(case, tf.constant(samples), rate, max_outputs=n))
    assert got == F[key("audio", case)].tobytes()


@pytest.mark.parametrize("case", list(fx.TEXTS))
def test_text_summary_bytes_equal_tensorflow(case):
    with tf.Graph().as_default(), tf.Session() as sess:
        got = sess.run(tf.summary.text(case, tf.constant(fx.TEXTS[case])))
    assert got == F[key("text", case)].tobytes()


def test_media_summaries_merge_and_collect():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None, 4, 4, 3])
        tf.summary.image("img", x, family="inputs")
        tf.summary.text("note", tf.constant("hello"))
        merged = tf.summary.merge_all()
        with tf.Session() as sess:
            summ = tf.Summary.FromString(sess.run(merged, {x: np.ones((2, 4, 4, 3), np.float32)}))
    assert [v.tag for v in summ.value] == ["inputs/inputs/img/image/0", "inputs/inputs/img/image/1", "note"]
    assert summ.value[2].metadata.plugin_data.plugin_name == "text"


def test_build_and_run_errors_name_the_op():
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match="4-D with last dim 1, 3, or 4"):
            tf.summary.image("bad", tf.zeros([2, 3, 3, 2]))
        with pytest.raises(TypeError, match="float32"):
            tf.summary.audio("bad", tf.zeros([1, 3], tf.float64), 8000)
        with pytest.raises(ValueError, match="dtype string"):
            tf.summary.text("bad", tf.zeros([2]))
        s = tf.summary.image("dyn", tf.placeholder(tf.float32), max_outputs=1)
        with tf.Session() as sess, pytest.raises(tf.errors.InvalidArgumentError, match="dyn"):
            sess.run(s, {s.op.inputs[1]: np.zeros((2, 2), np.float32)})


def test_encoders_golden_bytes():
    png = encode_png(np.array([[[0], [255]]], np.uint8))
    assert png[:16] == PNG_SIGNATURE + b"\x00\x00\x00\x0dIHDR"
    np.testing.assert_array_equal(decode_png(png), [[[0], [255]]])
    wav = encode_wav(np.array([[0.5], [-1.0], [2.0]], np.float32), 8000)
    assert wav == (b"RIFF" + struct.pack("<I", 42) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 1, 8000, 16000, 2, 16)
                   + b"data" + struct.pack("<I", 6) + struct.pack("<hhh", 16384, -32768, 32767))  # fmt: skip


def test_tfrecord_aliases_round_trip(tmp_path):
    path = str(tmp_path / "r.tfrecord")
    with tf.python_io.TFRecordWriter(path) as w:
        w.write(b"a")
        w.write(b"bc")
    assert list(tf.io.tf_record_iterator(path)) == [b"a", b"bc"]
    assert tf.io.TFRecordWriter is tf.python_io.TFRecordWriter
    with pytest.raises(tf.errors.UnimplementedError):
        tf.python_io.TFRecordWriter(path, tf.python_io.TFRecordOptions("GZIP"))
    assert tf.io.gfile.exists(path) and not tf.io.gfile.isdir(path)
    tf.io.gfile.makedirs(str(tmp_path / "d" / "e"))
    assert tf.io.gfile.listdir(str(tmp_path / "d")) == ["e"]
    with tf.io.gfile.GFile(str(tmp_path / "f.txt"), "w") as f:
        f.write("x")
    assert tf.io.gfile.glob(str(tmp_path / "*.txt")) == [str(tmp_path / "f.txt")]

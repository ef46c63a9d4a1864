"""Encoders for the media summaries, on the standard library alone: PNG (zlib + struct) for
``tf.summary.image``, 16-bit PCM WAV for ``tf.summary.audio``, and the few protocol-buffer bytes of a
string ``TensorProto`` for ``tf.summary.text`` (summary.proto does not carry TensorProto).

PNG: signature, IHDR (8-bit, colour type 0 / 2 / 6 for 1 / 3 / 4 channels), one zlib IDAT of
scanlines each prefixed by filter byte 0, IEND; every chunk with its CRC-32 (zlib.crc32).
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_COLOR_TYPE = {1: 0, 2: 4, 3: 2, 4: 6}  # channels -> PNG colour type (gray, gray+alpha, RGB, RGBA)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def encode_png(image: np.ndarray, level: int = 6) -> bytes:
    """A PNG of an [height, width, channels] uint8 image (1, 2, 3 or 4 channels).

    Raises:
      ValueError: not a 3-D uint8 array of 1 to 4 channels.
    """
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] not in _COLOR_TYPE:
        raise ValueError(f"encode_png needs a [h, w, 1..4] uint8 image, got {image.dtype} {list(image.shape)}")
    h, w, c = image.shape
    header = struct.pack(">IIBBBBB", w, h, 8, _COLOR_TYPE[c], 0, 0, 0)
    rows = np.zeros((h, 1 + w * c), np.uint8)  # filter byte 0 ("None") before each scanline
    rows[:, 1:] = np.ascontiguousarray(image).reshape(h, w * c)
    return PNG_SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(rows.tobytes(), level)) + \
        _chunk(b"IEND", b"")  # fmt: skip


def float_to_pcm16(samples: np.ndarray) -> np.ndarray:
    """TF's FloatToInt16Sample: roundf(x * 32768) (halves away from zero) clamped to [-32768, 32767]."""
    scaled = np.asarray(samples, np.float32) * np.float32(32768.0)
    x = np.sign(scaled) * np.floor(np.abs(scaled) + np.float32(0.5))  # exact below 2**23
    return np.clip(x, -32768, 32767).astype("<i2")


def encode_wav(samples: np.ndarray, sample_rate: int) -> bytes:
    """A 16-bit PCM WAV of [frames, channels] float samples in [-1, 1] (TF's EncodeAudioAsS16LEWav)."""
    frames, channels = samples.shape
    data = float_to_pcm16(samples).tobytes()
    byte_rate, block_align = sample_rate * channels * 2, channels * 2
    fmt = struct.pack("<HHIIHH", 1, channels, sample_rate, byte_rate, block_align, 16)
    return b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + \
        b"data" + struct.pack("<I", len(data)) + data  # fmt: skip


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited protocol-buffer field."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


DT_STRING = 7


def string_tensor_proto(values: np.ndarray) -> bytes:
    """The bytes of a TensorProto {dtype: DT_STRING, tensor_shape, string_val...} holding `values`."""
    shape = b"".join(_field(2, _varint(1 << 3 | 0) + _varint(int(d))) for d in values.shape)
    strings = b"".join(_field(8, v if isinstance(v, bytes) else str(v).encode()) for v in values.reshape(-1))
    return _varint(1 << 3 | 0) + _varint(DT_STRING) + _field(2, shape) + strings


def tensor_summary_value(tag: str, tensor_proto: bytes, metadata: bytes) -> bytes:
    """The bytes of a Summary holding one Value {tag, tensor, metadata}, in TF's field order."""
    value = _field(1, tag.encode()) + _field(8, tensor_proto) + _field(9, metadata)
    return _field(1, value)

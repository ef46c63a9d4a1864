"""CRC32C (Castagnoli) and TensorFlow's CRC masking.

TensorFlow stores *masked* CRCs so that a CRC computed over data that itself contains
CRCs stays well distributed (``tensorflow/core/lib/hash/crc32c.h``). The CRC itself comes
from the ``crc32c`` package, which is hardware accelerated and releases the GIL, so a
worker thread can checksum one chunk while the main thread does I/O on the next.
"""

from __future__ import annotations

import crc32c as _crc32c

_MASK_DELTA = 0xA282EAD8
_U32 = 0xFFFFFFFF


def value(data: bytes | bytearray | memoryview) -> int:
    """Returns the CRC32C of ``data``."""
    return _crc32c.crc32c(data)


def extend(crc: int, data: bytes | bytearray | memoryview) -> int:
    """Returns the CRC32C of ``A + data`` given ``crc`` = CRC32C(A)."""
    return _crc32c.crc32c(data, value=crc)


def mask(crc: int) -> int:
    """Returns TF's masked form of ``crc``: rotate right by 15 bits, add a constant (mod 2**32)."""
    return ((((crc >> 15) | (crc << 17)) & _U32) + _MASK_DELTA) & _U32


def unmask(masked: int) -> int:
    """Inverse of :func:`mask`."""
    rot = (masked - _MASK_DELTA) & _U32
    return ((rot >> 17) | (rot << 15)) & _U32

"""``tf.compat``: ``tf.compat.v1`` is graphvar itself (TF1's API), plus TF's text helpers."""

from __future__ import annotations

import os
import sys
from typing import Any

v1 = sys.modules["graphvar"]


def as_bytes(bytes_or_text: Any, encoding: str = "utf-8") -> bytes:
    """bytes unchanged; str encoded (UTF-8 by default).

    Raises:
      TypeError: neither bytes nor str.
    """
    if isinstance(bytes_or_text, (bytes, bytearray)):
        return bytes(bytes_or_text)
    if isinstance(bytes_or_text, str):
        return bytes_or_text.encode(encoding)
    raise TypeError(f"Expected binary or unicode string, got {bytes_or_text!r}")


def as_text(bytes_or_text: Any, encoding: str = "utf-8") -> str:
    """str unchanged; bytes decoded (UTF-8 by default).

    Raises:
      TypeError: neither bytes nor str.
    """
    if isinstance(bytes_or_text, str):
        return bytes_or_text
    if isinstance(bytes_or_text, (bytes, bytearray)):
        return bytes(bytes_or_text).decode(encoding)
    raise TypeError(f"Expected binary or unicode string, got {bytes_or_text!r}")


as_str = as_text
as_str_any = lambda value: as_str(value) if isinstance(value, (bytes, str)) else str(value)  # noqa: E731
path_to_str = os.fspath

"""The ``checkpoint`` state file: TF's CheckpointState proto in text format.

Example file (oldest checkpoint first)::

    model_checkpoint_path: "model.ckpt-2"
    all_model_checkpoint_paths: "model.ckpt-1"
    all_model_checkpoint_paths: "model.ckpt-2"

Parsing accepts only CheckpointState's four fields; anything else makes the file invalid,
which (as in TF) logs a warning and reads as "no checkpoint". Nothing is evaluated.
"""

from __future__ import annotations

import dataclasses
import glob
import logging
import os
import re

from graphvar import errors
from graphvar.checkpoint import files
from graphvar.checkpoint.atomic import atomic_write_bytes
from graphvar.checkpoint.safetensors import is_safetensors_file
from graphvar.checkpoint.streaming import read_exactly

__all__ = [
    "CheckpointState",
    "checkpoint_exists",
    "get_checkpoint_state",
    "latest_checkpoint",
    "update_checkpoint_state",
]

_log = logging.getLogger(__name__)
_MAX_STATE_BYTES = 64 << 20  # a state file holds a few paths; refuse a huge (or sparse) one unread
_STRING_FIELDS = ("model_checkpoint_path", "all_model_checkpoint_paths")
_FLOAT_FIELDS = ("all_model_checkpoint_timestamps", "last_preserved_timestamp")
_TOKEN = re.compile(
    r"""\s+|\#[^\n]*|(?P<ident>[A-Za-z_][A-Za-z0-9_]*)|(?P<colon>:)|(?P<str>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')"""
    r"""|(?P<num>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?(?:inf|nan))"""
)
_ESCAPES = {"n": 10, "r": 13, "t": 9, "\\": 92, "'": 39, '"': 34, "a": 7, "b": 8, "f": 12, "v": 11, "?": 63}


class ParseError(ValueError):
    """The state file is not a valid CheckpointState text proto."""


@dataclasses.dataclass
class CheckpointState:
    """TF's CheckpointState: the latest checkpoint and those still kept (oldest first)."""

    model_checkpoint_path: str = ""
    all_model_checkpoint_paths: list[str] = dataclasses.field(default_factory=list)
    all_model_checkpoint_timestamps: list[float] = dataclasses.field(default_factory=list)
    last_preserved_timestamp: float = 0.0

    def to_text(self) -> str:
        """The text-format serialization, as TF's ``text_format.MessageToString``."""
        lines = []
        if self.model_checkpoint_path:
            lines.append(f"model_checkpoint_path: {_quote(self.model_checkpoint_path)}")
        lines += [f"all_model_checkpoint_paths: {_quote(p)}" for p in self.all_model_checkpoint_paths]
        lines += [f"all_model_checkpoint_timestamps: {float(t)!r}" for t in self.all_model_checkpoint_timestamps]
        if self.last_preserved_timestamp:
            lines.append(f"last_preserved_timestamp: {float(self.last_preserved_timestamp)!r}")
        return "".join(line + "\n" for line in lines)

    @classmethod
    def from_text(cls, text: str) -> CheckpointState:
        """Parses the text format. Raises ParseError on anything but the four known fields."""
        state, tokens = cls(), _tokens(text)
        for i in range(0, len(tokens), 3):
            group = tokens[i : i + 3]
            if len(group) < 3 or group[0][0] != "ident" or group[1][0] != "colon":
                raise ParseError(f"expected 'field: value' near {group!r}")
            (_, field), _, (kind, raw) = group
            if field in _STRING_FIELDS and kind == "str":
                value = _unquote(raw)
            elif field in _FLOAT_FIELDS and kind == "num":
                value = float(raw)
            else:
                raise ParseError(f"unexpected field or value {field}: {raw}")
            if field.startswith("all_"):
                getattr(state, field).append(value)
            else:
                setattr(state, field, value)
        return state


def _tokens(text: str) -> list[tuple[str, str]]:
    """The tokens of ``text``; adjacent strings are joined (as protobuf's text format does), in
    time linear in the text."""
    out: list[tuple[str, str]] = []
    pending: list[str] = []  # bodies of adjacent string literals, joined when the run ends
    quote = '"'
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise ParseError(f"unexpected character {text[pos]!r} at {pos}")
        pos = m.end()
        if m.lastgroup is None:
            continue
        kind, value = m.lastgroup, m.group(m.lastgroup)
        if kind == "str":
            if not pending:
                quote = value[0]
            pending.append(_requote(value, quote))
            continue
        if pending:
            out.append(("str", quote + "".join(pending) + quote))
            pending = []
        out.append((kind, value))
    if pending:
        out.append(("str", quote + "".join(pending) + quote))
    return out


def _requote(literal: str, quote: str) -> str:
    """The body of a string literal, escaped for a literal delimited by ``quote``."""
    body = literal[1:-1]
    if literal[0] == quote:
        return body
    return re.sub(r"\\.|" + re.escape(quote), lambda m: "\\" + quote if m.group() == quote else m.group(), body)


def _quote(s: str) -> str:
    out = []
    for b in s.encode("utf-8"):
        c = chr(b)
        if c in "\\\"'":
            out.append("\\" + c)
        elif c in "\n\r\t":
            out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t"}[c])
        elif b < 0x20 or b >= 0x7F:
            out.append(f"\\{b:03o}")
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


_ESCAPE = re.compile(rb"\\(?:([0-7]{1,3})|[xX]([0-9a-fA-F]{1,2})|(.)|\Z)", re.S)


def _unescape(m: re.Match) -> bytes:
    if m.group(1):
        return bytes([int(m.group(1), 8) & 0xFF])
    if m.group(2):
        return bytes([int(m.group(2), 16)])
    c = m.group(3)
    if c is not None and chr(c[0]) in _ESCAPES:
        return bytes([_ESCAPES[chr(c[0])]])
    raise ParseError(f"bad escape {m.group()!r}")


def _unquote(raw: str) -> str:
    try:
        return _ESCAPE.sub(_unescape, raw[1:-1].encode("utf-8")).decode("utf-8")
    except UnicodeDecodeError as e:
        raise ParseError(f"string is not UTF-8: {raw[:80]}") from e


def _state_path(checkpoint_dir: str, latest_filename: str | None) -> str:
    return os.path.join(checkpoint_dir, latest_filename or "checkpoint")


def get_checkpoint_state(checkpoint_dir: str, latest_filename: str | None = None) -> CheckpointState | None:
    """Reads ``checkpoint_dir/checkpoint``; relative paths come back joined to ``checkpoint_dir``.

    Returns:
      The state, or None when the file is absent or unparsable (a warning is logged, as in TF).

    Raises:
      ValueError: the file parses but names no model_checkpoint_path.
    """
    path = _state_path(checkpoint_dir, latest_filename)
    if not os.path.lexists(path):
        return None
    try:
        text = _read_state_file(path)
    except (errors.OpError, UnicodeDecodeError) as e:
        _log.warning("%s: %s: Checkpoint ignored", path, e)
        return None
    try:
        state = CheckpointState.from_text(text)
    except ParseError as e:
        _log.warning("%s: %s: Checkpoint ignored", path, e)
        return None
    if not state.model_checkpoint_path:
        raise ValueError("Invalid checkpoint state loaded from " + checkpoint_dir)
    state.model_checkpoint_path = _absolute(checkpoint_dir, state.model_checkpoint_path)
    state.all_model_checkpoint_paths = [_absolute(checkpoint_dir, p) for p in state.all_model_checkpoint_paths]
    return state


def _read_state_file(path: str) -> str:
    """The state file's text: opened without blocking (a FIFO cannot hang), a regular file only,
    at most _MAX_STATE_BYTES."""
    fd, fid = files.open_file(path)
    try:
        if fid.size > _MAX_STATE_BYTES:
            raise errors.ResourceExhaustedError(
                None, None, f"{path}: {fid.size} bytes is too large for a checkpoint state file"
            )
        return read_exactly(fd, 0, fid.size, path).decode("utf-8")
    finally:
        os.close(fd)


def _absolute(directory: str, path: str) -> str:
    return path if os.path.isabs(path) else os.path.join(directory, path)


def update_checkpoint_state(
    save_dir: str,
    model_checkpoint_path: str,
    all_model_checkpoint_paths: list[str] | None = None,
    latest_filename: str | None = None,
    all_model_checkpoint_timestamps: list[float] | None = None,
    last_preserved_timestamp: float | None = None,
    save_relative_paths: bool = False,
    durable: bool = True,
) -> None:
    """Writes the state file atomically (temporary file, fsync, rename; no fsync unless ``durable``).

    ``model_checkpoint_path`` is appended to ``all_model_checkpoint_paths`` when it is not
    already last. With ``save_relative_paths`` absolute paths are stored relative to
    ``save_dir``; with a relative ``save_dir``, relative paths are stored relative to it (TF).

    Raises:
      ValueError: timestamps and paths differ in number.
      RuntimeError: the checkpoint path is the state file's own path.
    """
    paths = list(all_model_checkpoint_paths or [])
    if not paths or paths[-1] != model_checkpoint_path:
        paths.append(model_checkpoint_path)
    stamps = list(all_model_checkpoint_timestamps or [])
    if stamps and len(stamps) != len(paths):
        raise ValueError(
            f"Checkpoint timestamps, if provided, must match checkpoint paths ({len(stamps)} vs {len(paths)})"
        )
    if save_relative_paths:
        model_checkpoint_path = _relative(model_checkpoint_path, save_dir, os.path.isabs)
        paths = [_relative(p, save_dir, os.path.isabs) for p in paths]
    elif not os.path.isabs(save_dir):
        model_checkpoint_path = _relative(model_checkpoint_path, save_dir, lambda p: not os.path.isabs(p))
        paths = [_relative(p, save_dir, lambda p: not os.path.isabs(p)) for p in paths]
    state_path = _state_path(save_dir, latest_filename)
    if state_path == model_checkpoint_path:
        raise RuntimeError(
            f"Save path '{model_checkpoint_path}' conflicts with path used for checkpoint state. "
            "Please use a different save path."
        )
    state = CheckpointState(model_checkpoint_path, paths, stamps, last_preserved_timestamp or 0.0)
    atomic_write_bytes(state_path, state.to_text().encode("utf-8"), durable)


def _relative(path: str, directory: str, when) -> str:
    return os.path.relpath(path, directory) if when(path) else path


def checkpoint_exists(checkpoint_prefix: str) -> bool:
    """True if ``P.index`` or ``P.safetensors`` exists (glob patterns allowed, as in TF), or P is safetensors."""
    if glob.glob(checkpoint_prefix + ".index") or glob.glob(checkpoint_prefix + ".safetensors"):
        return True
    return os.path.isfile(checkpoint_prefix) and is_safetensors_file(checkpoint_prefix)


def latest_checkpoint(checkpoint_dir: str, latest_filename: str | None = None) -> str | None:
    """The prefix of the newest checkpoint named by the state file, or None if none exists.

    Example:
      >>> saver.restore(sess, latest_checkpoint("/tmp/train"))
    """
    state = get_checkpoint_state(checkpoint_dir, latest_filename)
    if state and state.model_checkpoint_path:
        if checkpoint_exists(state.model_checkpoint_path):
            return state.model_checkpoint_path
        _log.error("Couldn't match files for checkpoint %s", state.model_checkpoint_path)
    return None

"""Device strings: parse, merge and print them TF's way ("/gpu:0" -> "/device:GPU:0")."""

from __future__ import annotations

import re

_FIELD = re.compile(r"^(job|replica|task|device):(.+)$", re.IGNORECASE)
_SHORT = re.compile(r"^(cpu|gpu|xpu|tpu):(\d+|\*)$", re.IGNORECASE)


def parse(spec: str) -> dict[str, str]:
    """Returns the fields of a device string: job, replica, task, type, index."""
    out: dict[str, str] = {}
    for part in (p for p in (spec or "").split("/") if p):
        short = _SHORT.match(part)
        if short:
            out["type"], out["index"] = short.group(1).upper(), short.group(2)
            continue
        m = _FIELD.match(part)
        if not m:
            raise ValueError(f"Unknown attribute: {part!r} in {spec!r}")
        key, val = m.group(1).lower(), m.group(2)
        if key == "device":
            dev_type, _, index = val.partition(":")
            out["type"] = dev_type.upper()
            if index:
                out["index"] = index
        else:
            out[key] = val
    return out


def to_string(fields: dict[str, str]) -> str:
    s = "".join(f"/{k}:{fields[k]}" for k in ("job", "replica", "task") if k in fields)
    if "type" in fields:
        s += f"/device:{fields['type']}:{fields.get('index', '*')}"
    return s


def merge(outer: str, inner: str) -> str:
    fields = parse(outer)
    fields.update(parse(inner))
    return to_string(fields)


def canonical_name(spec: str) -> str:
    return to_string(parse(spec)) if spec else ""


def device_type_and_index(spec: str) -> tuple[str | None, int]:
    """("GPU", 1) for "/device:GPU:1"; (None, 0) when no device type is set."""
    f = parse(spec)
    index = f.get("index", "0")
    return f.get("type"), int(index) if index.isdigit() else 0

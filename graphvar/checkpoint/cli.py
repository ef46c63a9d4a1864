"""Command-line tools: ``python -m graphvar inspect`` and ``python -m graphvar convert``.

Both stream tensor by tensor, so memory stays bounded by the largest tensor (inspect with
values) or by one 8 MiB buffer (convert), whatever the checkpoint size.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import numpy as np

from graphvar import errors
from graphvar.checkpoint import BundleWriter, SafetensorsWriter, open_reader
from graphvar.checkpoint.streaming import CHUNK_SIZE

_PROGRESS_MIN_BYTES = 64 << 20


def _human(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def inspect_main(argv: list[str]) -> int:
    """``inspect PATH [--tensor NAME] [--all]``: lists name, dtype, shape and size of every
    tensor; prints values of one tensor (--tensor) or of all (--all). Returns the exit code."""
    parser = argparse.ArgumentParser(prog="graphvar inspect", description="List or print checkpoint tensors.")
    parser.add_argument("path", help="checkpoint prefix, .index, .data-*, or .safetensors file")
    parser.add_argument("--tensor", help="print this tensor's value")
    parser.add_argument("--all", action="store_true", help="print every tensor's value")
    args = parser.parse_args(argv)
    try:
        with open_reader(args.path) as reader:
            if args.tensor is not None:
                _print_value(args.tensor, reader.get_tensor(args.tensor))
                return 0
            total = 0
            for name in reader.keys():
                info = reader.info(name)
                total += info.size
                print(f"{printable(name)}\t{info.dtype.name}\t{list(info.shape)}\t{_human(info.size)}")
                if args.all:
                    _print_value(name, reader.get_tensor(name))
            print(f"# {len(reader.keys())} tensors, {_human(total)}")
        meta = _meta_path(args.path)
        if meta is not None:
            print_meta_summary(meta)
    except (errors.OpError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


def _meta_path(path: str) -> str | None:
    """The `.meta` beside a checkpoint given as prefix, .index or .data-* file (None if there is none)."""
    import os
    import re

    prefix = re.sub(r"\.(index|data-\d{5}-of-\d{5})$", "", path)
    meta = prefix + ".meta"
    return meta if os.path.isfile(meta) else None


def print_meta_summary(path: str) -> None:
    """The meta graph's summary: ops by type, variables, collections, placeholders and the saver."""
    from graphvar.framework.meta_graph import read_meta_graph_file

    mgd = read_meta_graph_file(path)
    nodes = mgd.graph_def.node
    by_type: dict[str, int] = {}
    for n in nodes:
        by_type[n.op] = by_type.get(n.op, 0) + 1
    print(f"# meta graph {printable(path)}: {len(nodes)} ops")
    print(
        "#   ops by type: " + ", ".join(f"{t} {c}" for t, c in sorted(by_type.items(), key=lambda kv: (-kv[1], kv[0])))
    )
    shapes = {n.name: _shape_text(n.attr["shape"].shape) for n in nodes if n.op in ("VariableV2", "Placeholder")}
    dtypes_ = {n.name: _dtype_text(n.attr["dtype"].type) for n in nodes if n.op in ("VariableV2", "Placeholder")}
    for n in nodes:
        if n.op == "Placeholder":
            print(f"#   placeholder {printable(n.name)}: {dtypes_[n.name]} {shapes[n.name]}")
    from graphvar.proto import meta_graph_pb2

    for key in sorted(mgd.collection_def):
        c = mgd.collection_def[key]
        kind = c.WhichOneof("kind")
        items = list(getattr(c, kind).value) if kind else []
        if kind == "bytes_list" and key in ("variables", "trainable_variables", "local_variables", "model_variables"):
            names = []
            for raw in items:
                vd = meta_graph_pb2.VariableDef.FromString(raw)
                op = vd.variable_name.split(":")[0]
                names.append(f"{printable(op)} {dtypes_.get(op, '?')} {shapes.get(op, '?')}")
            print(f"#   collection {printable(key)} ({len(items)}): " + "; ".join(names))
        else:
            shown = [printable(x.decode() if isinstance(x, bytes) else str(x)) for x in items[:8]]
            more = f" ... (+{len(items) - 8})" if len(items) > 8 else ""
            print(
                f"#   collection {printable(key)} ({len(items)}): {', '.join(shown) if kind != 'bytes_list' else '<protos>'}{more}"
            )
    if mgd.HasField("saver_def"):
        sd = mgd.saver_def
        print(
            f"#   saver: save {printable(sd.save_tensor_name)}, restore {printable(sd.restore_op_name)}, max_to_keep {sd.max_to_keep}"
        )


def _shape_text(shape: Any) -> str:
    if shape.unknown_rank:
        return "<unknown>"
    return str([d.size if d.size >= 0 else None for d in shape.dim])


def _dtype_text(code: int) -> str:
    from graphvar import dtypes

    try:
        return dtypes.as_dtype(code).name
    except (TypeError, ValueError, KeyError):
        return f"dtype {code}"


def printable(name: str) -> str:
    """``name`` with control and other non-printable characters (and backslashes) escaped, so a
    hostile tensor name cannot move the cursor, rewrite the terminal or fake extra lines."""
    if name.isprintable() and "\\" not in name:
        return name
    return "".join(c if c.isprintable() and c != "\\" else c.encode("unicode_escape").decode("ascii") for c in name)


def _print_value(name: str, value: np.ndarray) -> None:
    print(f"tensor_name:  {printable(name)}")
    with np.printoptions(threshold=sys.maxsize if value.size <= 10000 else 1000):
        print(value)


class _Progress:
    """A one-line progress bar on stderr, shown only for big conversions."""

    def __init__(self, total: int) -> None:
        self.total, self.done, self.start = total, 0, time.monotonic()
        self.enabled = total >= _PROGRESS_MIN_BYTES

    def advance(self, n: int) -> None:
        self.done += n
        if self.enabled:
            frac = self.done / self.total
            rate = self.done / max(time.monotonic() - self.start, 1e-9)
            bar = "#" * int(frac * 30)
            print(f"\r[{bar:<30}] {frac:6.1%} {_human(self.done)} {_human(int(rate))}/s", end="", file=sys.stderr)

    def close(self) -> None:
        if self.enabled:
            print(file=sys.stderr)


def convert_main(argv: list[str]) -> int:
    """``convert SRC DST --to safetensors|tf``: copies every tensor, streaming through one
    8 MiB buffer. DST is a checkpoint prefix (``DST.safetensors`` or ``DST.index`` + data).
    Returns the exit code."""
    parser = argparse.ArgumentParser(prog="graphvar convert", description="Convert a checkpoint's format.")
    parser.add_argument("src")
    parser.add_argument("dst")
    parser.add_argument("--to", choices=["safetensors", "tf"], required=True)
    args = parser.parse_args(argv)
    try:
        with open_reader(args.src) as reader:
            _convert(reader, args.dst, args.to)
    except (errors.OpError, ValueError, TypeError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


def _convert(reader, dst: str, to: str) -> None:
    names = reader.keys()
    if to == "safetensors":
        writer = SafetensorsWriter(dst, [(n, reader.dtype(n), reader.shape(n)) for n in names])
    else:
        writer = BundleWriter(dst)
    progress = _Progress(sum(reader.info(n).size for n in names))
    buffer = memoryview(bytearray(CHUNK_SIZE))
    with writer:
        for name in names:
            chunks = _counted(reader.iter_chunks(name, buffer), progress)
            writer.add_chunks(name, reader.dtype(name), reader.shape(name), chunks)
        writer.finish()
    progress.close()


def _counted(chunks, progress: _Progress):
    for chunk in chunks:
        yield chunk
        progress.advance(chunk.nbytes)

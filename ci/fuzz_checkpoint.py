"""Coverage-guided fuzzing of the checkpoint readers with atheris (longer runs than tests/checkpoint/test_fuzz.py).

Each input is split by its first byte into a format and file contents:

- even: a bundle; the rest is split at a 2-byte little-endian length into ``P.index`` and
  ``P.data-00000-of-00001`` (seeded with a valid checkpoint, so mutations start from real files);
- odd: a safetensors file ``P.safetensors``.

Every tensor is then read through ``open_reader`` and also restored with ``Saver.restore``.
Anything but success or a documented error (DataLossError, NotFoundError, UnimplementedError,
InvalidArgumentError) is a finding, and so is a peak allocation above 8x the input size + 256 KiB
(tracemalloc, every 100th input, since it slows the run).

Usage (atheris is the ``fuzz`` extra: ``.venv/bin/pip install -e '.[fuzz]'``)::

    .venv/bin/python ci/fuzz_checkpoint.py -max_total_time=300 -rss_limit_mb=2048 ci/fuzz_corpus
    .venv/bin/python ci/fuzz_checkpoint.py --make-seeds ci/fuzz_corpus   # valid seed files first
"""

from __future__ import annotations

import os
import struct
import sys
import tempfile
import tracemalloc

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

import numpy as np  # noqa: E402

import graphvar as tf  # noqa: E402
from graphvar import errors  # noqa: E402
from graphvar.checkpoint import open_reader  # noqa: E402
from tests.checkpoint.ckpt_helpers import DATA, valid_files  # noqa: E402

ALLOWED = (errors.DataLossError, errors.NotFoundError, errors.UnimplementedError, errors.InvalidArgumentError)
VALUES = {
    "a": np.arange(12, dtype=np.float32).reshape(3, 4),
    "b/c": np.array([1, -2, 3, 2**40, -5], np.int64),
    "flag": np.array(True),
}
_DIR = tempfile.mkdtemp(prefix="graphvar-fuzz-")
_PREFIX = os.path.join(_DIR, "ckpt")
_count = 0


def _model():
    graph = tf.Graph()
    with graph.as_default():
        variables = {k: tf.Variable(np.zeros_like(v), name=k.replace("/", "_")) for k, v in VALUES.items()}
        saver = tf.train.Saver(variables)
    return saver, tf.Session(graph=graph)


_SAVER, _SESS = _model()


def split(data: bytes) -> dict[str, bytes]:
    """Input bytes -> {suffix: file contents}."""
    if not data:
        return {}
    body = data[1:]
    if data[0] % 2:
        return {".safetensors": body}
    n = struct.unpack("<H", body[:2].ljust(2, b"\0"))[0]
    return {".index": body[2 : 2 + n], DATA: body[2 + n :]}


def join(files: dict[str, bytes]) -> bytes:
    """Inverse of split (for seeds)."""
    if ".safetensors" in files:
        return b"\x01" + files[".safetensors"]
    return b"\x00" + struct.pack("<H", len(files[".index"])) + files[".index"] + files[DATA]


def make_seeds(directory: str) -> None:
    os.makedirs(directory, exist_ok=True)
    files = valid_files(os.path.join(tempfile.mkdtemp(), "s"), VALUES)
    seeds = {kind: join(parts) for kind, parts in files.items()}
    for name, data in seeds.items():
        with open(os.path.join(directory, name), "wb") as f:
            f.write(data)


def one_input(data: bytes) -> None:
    global _count
    _count += 1
    files = split(data)
    for suffix in (".index", DATA, ".safetensors"):
        try:
            os.remove(_PREFIX + suffix)
        except FileNotFoundError:
            pass
    for suffix, body in files.items():
        with open(_PREFIX + suffix, "wb") as f:
            f.write(body)
    traced = _count % 100 == 0
    if traced:
        tracemalloc.start()
    try:
        try:
            with open_reader(_PREFIX) as r:
                for k in r.keys():
                    r.get_tensor(k)
        except ALLOWED:
            pass
        try:
            _SAVER.restore(_SESS, _PREFIX)
        except ALLOWED:
            pass
        except ValueError as e:
            if "not a valid checkpoint" not in str(e):  # no file at all: Saver's documented ValueError
                raise
    finally:
        if traced:
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            if peak > 8 * len(data) + (256 << 10):
                raise MemoryError(f"peak allocation {peak} bytes for a {len(data)}-byte input")


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--make-seeds":
        make_seeds(sys.argv[2])
        return
    import atheris

    atheris.instrument_all()
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()

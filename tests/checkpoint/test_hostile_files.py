"""Issue 12: readers hold no descriptors, hostile files are cheap to refuse, odd dtypes are listed,
temporaries of other writers are left alone."""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
import time
import tracemalloc

import numpy as np
import pytest

import graphvar as tf
from graphvar import errors
from graphvar.checkpoint import BundleWriter, atomic, cleanup_stale_temps, cli, open_reader
from graphvar.checkpoint.proto import BundleEntry
from graphvar.checkpoint.table import TableBuilder, read_table
from graphvar.train.checkpoint_state import CheckpointState


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@contextlib.contextmanager
def _deadline(seconds: int):
    def fire(*_):
        raise TimeoutError(f"took more than {seconds} s (a hang)")

    old = signal.signal(signal.SIGALRM, fire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def _bundle(tmp_path, name="m", **tensors) -> str:
    prefix = str(tmp_path / name)
    with BundleWriter(prefix) as w:
        for k, v in tensors.items():
            w.add(k, v)
        w.finish()
    return prefix


# ---- 4. readers hold no descriptors they were not asked to ----
@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts /proc/self/fd")
def test_a_thousand_unclosed_readers_hold_no_descriptor(tmp_path):
    prefix = _bundle(tmp_path, w=np.arange(6, dtype=np.float32))
    st = tf.train.Saver  # noqa: F841 - the import of graphvar.train is what TF1 code has done by now
    before = _fds()
    readers = [tf.train.NewCheckpointReader(prefix) for _ in range(500)]
    readers += [tf.train.load_checkpoint(prefix) for _ in range(500)]
    assert _fds() == before
    assert all(r.get_tensor("w")[5] == 5 for r in readers[::97])
    assert _fds() == before


def test_a_reader_notices_that_its_checkpoint_was_replaced(tmp_path):
    prefix = _bundle(tmp_path, w=np.zeros(3, np.float32))
    reader = tf.train.NewCheckpointReader(prefix)
    _bundle(tmp_path, w=np.ones(3, np.float32))  # overwrite: new data file, old one removed
    with pytest.raises((errors.NotFoundError, errors.FailedPreconditionError), match="m.data"):
        reader.get_tensor("w")
    assert tf.train.NewCheckpointReader(prefix).get_tensor("w")[0] == 1


# ---- 5. hostile files are cheap to refuse ----
def test_a_sparse_2gib_index_is_refused_after_reading_its_footer(tmp_path):
    path = tmp_path / "big.index"
    with open(path, "wb") as f:
        f.truncate(2 << 30)
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(errors.DataLossError, match="big.index"):
            open_reader(str(tmp_path / "big"))
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak < 1 << 20 and time.perf_counter() - start < 2


def test_blocks_are_read_one_by_one_within_their_handles():
    table = TableBuilder()
    table.add(b"", b"h")
    table.add(b"k", b"v")
    data = table.finish()
    reads = []

    def read(offset, n):
        reads.append(n)
        return data[offset : offset + n]

    assert read_table(read, len(data)) == [(b"", b"h"), (b"k", b"v")]
    assert max(reads) < len(data) and sum(reads) <= len(data)


def test_the_state_file_parser_is_linear():
    def parse_time(n: int) -> float:
        text = 'model_checkpoint_path: "' + "\\101" * n + '"\n' + "all_model_checkpoint_paths: " + '"ab" ' * n
        start = time.perf_counter()
        state = CheckpointState.from_text(text)
        assert state.model_checkpoint_path == "A" * n and state.all_model_checkpoint_paths == ["ab" * n]
        return time.perf_counter() - start

    small, big = parse_time(10_000), parse_time(80_000)  # 8x the input: 64x the time when quadratic
    assert big < 20 * small + 0.2, (small, big)  # (800 kB took 6 s)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_directories_fifos_and_symlink_loops_are_tf_errors_naming_the_file(tmp_path):
    os.mkdir(tmp_path / "d.index")
    os.mkfifo(tmp_path / "f.index")
    os.symlink("loop.index", tmp_path / "loop.index")
    os.mkfifo(tmp_path / "s.safetensors")
    cases = {"d": errors.FailedPreconditionError, "f": errors.FailedPreconditionError,
             "loop": errors.UnknownError, "s": errors.FailedPreconditionError}  # fmt: skip
    v = tf.Variable(np.float32(1), name="v")
    with _deadline(10), tf.Session() as sess:
        for name, cls in cases.items():
            with pytest.raises(cls, match=name):
                open_reader(str(tmp_path / name))
            with pytest.raises(cls, match=name):
                tf.train.Saver([v]).restore(sess, str(tmp_path / name))
        os.mkfifo(tmp_path / "checkpoint")
        assert tf.train.latest_checkpoint(str(tmp_path)) is None  # a warning, not a hang


def test_inspect_escapes_control_characters_in_names(tmp_path):
    prefix = _bundle(tmp_path, **{"a\x1b[2J\nfake\tline": np.zeros(1, np.float32)})
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.inspect_main([prefix]) == 0
    text = out.getvalue()
    assert "\x1b" not in text and "a\\x1b[2J\\nfake\\tline\tfloat32" in text
    assert text.count("\n") == 2


# ---- 7. one odd tensor does not sink a file ----
def test_a_bundle_tensor_of_an_unsupported_dtype_is_listed_and_refused_only_when_read(tmp_path):
    prefix = _bundle(tmp_path, a=np.arange(3, dtype=np.float32), q=np.zeros(4, np.int8))
    pairs = read_table(open(prefix + ".index", "rb").read())
    table = TableBuilder()
    for key, value in pairs:
        if key == b"q":
            e = BundleEntry.decode(value)
            value = BundleEntry(11, e.shape, e.shard_id, e.offset, e.size, e.crc32c).encode()  # DT_QINT8
        table.add(key, value)
    with open(prefix + ".index", "wb") as f:
        f.write(table.finish())
    reader = tf.train.NewCheckpointReader(prefix)
    assert reader.get_variable_to_dtype_map()["q"].name == "qint8"
    assert b"q (DT_QINT8) [4]" in reader.debug_string()
    assert reader.get_tensor("a")[2] == 2
    with pytest.raises(errors.UnimplementedError, match="tensor q.*qint8"):
        reader.get_tensor("q")
    a = tf.Variable(np.zeros(3, np.float32), name="a")
    with tf.Session() as sess:
        tf.train.Saver([a]).restore(sess, prefix)
        assert sess.run(a)[2] == 2
        q = tf.Variable(np.zeros(4, np.int8), name="q")
        with pytest.raises(errors.UnimplementedError, match="variable q.*qint8"):
            tf.train.Saver([q]).restore(sess, prefix)


# ---- 2. cleanup never touches another writer's files ----
def test_cleanup_removes_only_temporaries_provably_dead_on_this_machine(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)
    mine = atomic.temp_path(str(tmp_path / "m.index"))
    other_machine = str(tmp_path / f"m.index.gvtmp-{'0' * 12}-{pid}-{'a' * 16}.tmp")
    dead_here = mine.replace(f"-{os.getpid()}-", f"-{pid}-")
    legacy = str(tmp_path / f"m.index.{pid}.{'b' * 16}.tmp")  # an older graphvar's name: ownership unknown
    for path in (mine, other_machine, dead_here, legacy):
        open(path, "wb").close()
    assert atomic.temp_owner(os.path.basename(mine)) == (atomic._MACHINE, os.getpid())
    assert cleanup_stale_temps(str(tmp_path)) == 1
    assert sorted(os.listdir(tmp_path)) == sorted(os.path.basename(p) for p in (mine, other_machine, legacy))

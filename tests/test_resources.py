"""Resources: buffers freed by Session.close, no growth over many sessions, no descriptor or
thread left behind by any error path of the readers, writers and the Saver."""

from __future__ import annotations

import gc
import os
import threading
import tracemalloc
import weakref

import numpy as np
import pytest

import graphvar as tf
from graphvar import errors
from graphvar.checkpoint import BundleReader, BundleWriter, SafetensorsReader, SafetensorsWriter, open_reader, streaming
from tests.checkpoint.ckpt_helpers import FullDiskOS

MiB = 1 << 20


def _fds() -> list[str]:
    return sorted(os.listdir("/proc/self/fd"))


def _slot_buffer(sess, variable):
    return sess._variable_slot(variable).value


# ---- Session buffers ----
def test_close_frees_the_variables_buffers():
    v = tf.Variable(tf.zeros([1024, 1024]), name="big")  # 4 MiB
    total = tf.reduce_sum(v)
    gc.collect()
    tracemalloc.start()
    try:
        sess = tf.Session()
        sess.run(v.initializer)
        assert sess.run(total) == 0.0
        buf = weakref.ref(_slot_buffer(sess, v))
        held = tracemalloc.get_traced_memory()[0]
        sess.close()
        gc.collect()
        assert buf() is None, "the variable's buffer outlived Session.close()"
        assert tracemalloc.get_traced_memory()[0] < held - 3 * MiB
    finally:
        tracemalloc.stop()


def test_a_dropped_session_is_collected_with_its_buffers():
    v = tf.Variable(tf.ones([256, 1024]), name="w")
    sess = tf.Session()
    sess.run(v.initializer)
    call = sess.make_callable(v.read_value())
    assert call().sum() == 256 * 1024
    refs = weakref.ref(sess), weakref.ref(_slot_buffer(sess, v))
    with sess.as_default():
        v.eval()
    del sess, call
    gc.collect()
    assert refs[0]() is None and refs[1]() is None


def test_a_thousand_sessions_do_not_grow_memory():
    v = tf.Variable(tf.random_normal([64, 64], seed=1), name="w")
    step = v.assign_add(tf.ones([64, 64]))

    def one() -> None:
        sess = tf.Session()
        sess.run(v.initializer)
        sess.run(step)
        sess.close()

    for _ in range(50):  # warm caches (op defs, backends, NumPy)
        one()
    gc.collect()
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        for _ in range(1000):
            one()
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - start
    finally:
        tracemalloc.stop()
    assert grown < 64 * 1024, f"1000 sessions grew traced memory by {grown} bytes"


# ---- descriptors and threads on error paths ----
@pytest.fixture
def ckpt(tmp_path):
    """A bundle and a safetensors file holding w (float32 [512, 256], 512 KiB: the CRC uses its thread)."""
    value = np.arange(512 * 256, dtype=np.float32).reshape(512, 256)
    prefix = str(tmp_path / "m")
    with BundleWriter(prefix) as w:
        w.add("w", value)
        w.finish()
    with SafetensorsWriter(prefix, [("w", value.dtype, value.shape)]) as w:
        w.add("w", value)
        w.finish()
    return prefix, value


class _NoLeaks:
    """Asserts that a block leaves the same descriptors and threads open as before."""

    def __enter__(self):
        gc.collect()
        self.fds, self.threads = _fds(), threading.active_count()
        return self

    def __exit__(self, *exc):
        gc.collect()
        assert _fds() == self.fds, "a file descriptor was left open"
        assert threading.active_count() == self.threads, "a thread was left running"


def _corrupt(path: str, at: int) -> None:
    with open(path, "r+b") as f:
        f.seek(at)
        b = f.read(1)
        f.seek(at)
        f.write(bytes([b[0] ^ 1]))


def test_reader_error_paths_close_everything(ckpt):
    prefix, value = ckpt
    data = prefix + ".data-00000-of-00001"
    with _NoLeaks():
        for reader in (BundleReader(prefix), SafetensorsReader(prefix + ".safetensors")):
            with reader:
                with pytest.raises(errors.NotFoundError):
                    reader.get_tensor("nope")
                with pytest.raises(errors.InvalidArgumentError):
                    reader.read_into("w", np.empty((2, 2), np.float32))
                chunks = reader.iter_chunks("w", bytearray(300 << 10))
                next(chunks)  # abandoned mid-tensor
            with pytest.raises(ValueError, match="closed"):
                reader.get_tensor("w")
        _corrupt(data, 4 * value.size - 1)
        with BundleReader(prefix) as reader:
            with pytest.raises(errors.DataLossError, match="Checksum"):
                reader.get_tensor("w")
            with pytest.raises(errors.DataLossError, match="Checksum"):
                for _ in reader.iter_chunks("w", bytearray(300 << 10)):
                    pass
        os.truncate(data, 1000)
        with pytest.raises(errors.DataLossError):
            BundleReader(prefix)  # entry past the end of the data file: refused while opening
        os.remove(data)
        with pytest.raises(errors.NotFoundError):
            BundleReader(prefix)  # the index was opened, then the data file was missing
        _corrupt(prefix + ".index", 3)
        with pytest.raises(errors.DataLossError):
            BundleReader(prefix)
        os.truncate(prefix + ".safetensors", 100)
        with pytest.raises(errors.DataLossError):
            open_reader(prefix + ".safetensors")
        with pytest.raises(errors.NotFoundError):
            open_reader(prefix + "-nothing")


def test_writer_error_paths_close_everything(tmp_path, monkeypatch):
    prefix = str(tmp_path / "w")
    with _NoLeaks():
        with BundleWriter(prefix) as w:
            w.add("a", np.ones((512, 256), np.float32))
            with pytest.raises(ValueError):
                w.add("a", np.ones(3))
            with pytest.raises(TypeError):
                w.add("s", np.array(["x"], object))
        # Left without finish(): aborted.
        with pytest.raises(ValueError):
            SafetensorsWriter(prefix, [("a", np.float32, (2,)), ("a", np.float32, (2,))])
        with SafetensorsWriter(prefix, [("a", np.float32, (2,)), ("b", np.float32, (2,))]) as w:
            w.add("a", np.ones(2, np.float32))
            with pytest.raises(ValueError, match="never added"):
                w.finish()

        monkeypatch.setattr(streaming, "os", FullDiskOS())
        with pytest.raises(OSError):
            with BundleWriter(prefix) as w:
                w.add("a", np.ones((512, 256), np.float32))
        monkeypatch.undo()
    assert os.listdir(tmp_path) == []


def test_saver_error_paths_close_everything(ckpt, tmp_path):
    prefix, value = ckpt
    w = tf.Variable(np.zeros((512, 256), np.float32), name="w")
    u = tf.Variable(1.0, name="u")
    s = tf.Variable("text", name="s")
    wrong = tf.Variable(np.zeros(3, np.float32), name="wrong")
    sess = tf.Session()
    sess.run([w.initializer, s.initializer, wrong.initializer])
    out = str(tmp_path / "out" / "m")
    os.mkdir(tmp_path / "out")
    with _NoLeaks():
        with pytest.raises(errors.FailedPreconditionError):
            tf.train.Saver([w, u]).save(sess, out)
        with pytest.raises(TypeError):
            tf.train.Saver([w, s]).save(sess, out)
        with pytest.raises(ValueError):
            tf.train.Saver([w]).save(sess, str(tmp_path / "missing" / "m"))
        with pytest.raises(errors.NotFoundError):
            tf.train.Saver([w, wrong]).restore(sess, prefix)
        with pytest.raises(errors.InvalidArgumentError):
            tf.train.Saver({"w": wrong}).restore(sess, prefix)
        for path in (prefix, prefix + ".safetensors"):
            tf.train.Saver([w]).restore(sess, path)
        np.testing.assert_array_equal(sess.run(w), value)
        _corrupt(prefix + ".data-00000-of-00001", 10)
        with pytest.raises(errors.DataLossError):
            tf.train.Saver([w]).restore(sess, prefix)
        with pytest.raises(errors.DataLossError):
            tf.train.load_variable(prefix, "w")
        with pytest.raises(errors.NotFoundError):
            tf.train.list_variables(str(tmp_path / "nothing"))
    assert os.listdir(tmp_path / "out") == []
    sess.close()

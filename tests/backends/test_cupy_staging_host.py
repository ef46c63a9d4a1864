"""The CuPy backend's Saver streaming (pinned staging ring, copy stream, events) on the fake CuPy:
copies queued on the ring's stream land only when an event after them is synchronized, so a
missing synchronization or a buffer refilled too early shows up as wrong bytes."""

from __future__ import annotations

import os

import numpy as np
import pytest

import graphvar as tf
from graphvar import backends
from graphvar.checkpoint import BundleWriter, open_reader
from graphvar.train import saver_io
from tests.backends.fake_cupy import MEMCPY_D2H, DeviceArray


@pytest.fixture
def cb(fake_gpu):
    from graphvar.backends import cupy_backend

    return cupy_backend


def memcpys(fake, kind):
    return sum(1 for e in fake.log if e[0] == "memcpy" and e[1] == kind)


@pytest.mark.parametrize("n", [0, 1, 15, 16, 17, 48, 49, 1000])
def test_save_chunks_bytes_and_overlap(fake_gpu, cb, n):
    backend = cb.CupyBackend(0, staging_slots=3, staging_bytes=3 * 64)
    host = np.random.default_rng(n).standard_normal(n).astype(np.float32)
    dev = backend.from_host(host)
    count = -(-host.nbytes // 64)
    got, in_flight = [], []
    for chunk in backend.save_chunks(dev, chunk_bytes=1000):  # the ring caps chunks at 64 bytes
        in_flight.append(memcpys(fake_gpu, MEMCPY_D2H))
        got.append(bytes(chunk))
    assert b"".join(got) == host.tobytes()
    assert all(len(c) == 64 for c in got[:-1])
    # chunk k is handed out while chunks k+1 .. k+2 are already being copied into the other buffers
    assert in_flight == [min(3 + k, count) for k in range(count)]
    if n:
        first_copy = next(i for i, e in enumerate(fake_gpu.log) if e[0] == "memcpy")
        assert any(e[0] == "wait_event" for e in fake_gpu.log[:first_copy])  # after the variable's writers
    assert fake_gpu.pinned_bytes() <= 3 * 64


def test_save_chunks_non_contiguous_and_default_budget(fake_gpu, cb):
    backend = backends.gpu(0)
    host = np.arange(60, dtype=np.int64).reshape(6, 10)
    dev = backend.from_host(host)[:, ::3]
    assert b"".join(bytes(c) for c in backend.save_chunks(dev, 8 << 20)) == np.ascontiguousarray(host[:, ::3]).tobytes()
    big = backend.from_host(np.arange(3 << 20, dtype=np.float32))
    chunks = [bytes(c) for c in backend.save_chunks(big, 64 << 20)]
    assert b"".join(chunks) == np.arange(3 << 20, dtype=np.float32).tobytes()
    assert fake_gpu.pinned_bytes() <= 64 << 20 and len(chunks) == 1


def test_abandoned_and_concurrent_transfers(fake_gpu, cb):
    backend = cb.CupyBackend(0, staging_slots=2, staging_bytes=2 * 32)
    a, b = (np.arange(k, k + 100, dtype=np.float32) for k in (0, 1000))
    gen = backend.save_chunks(backend.from_host(a), 32)
    assert bytes(next(gen)) == a.tobytes()[:32]
    gen.close()  # e.g. the file write failed
    ring = backend._ring
    assert ring is not None and all(not s.pending for s in fake_gpu.streams.values())
    first, second = backend.save_chunks(backend.from_host(a), 32), backend.save_chunks(backend.from_host(b), 32)
    got_a, got_b = [], []
    for ca, cb_ in zip(first, second):  # interleaved: the second transfer must get a ring of its own
        got_a.append(bytes(ca))
        got_b.append(bytes(cb_))
    assert b"".join(got_a) == a.tobytes() and b"".join(got_b) == b.tobytes()
    assert backend._ring is ring


def write_bundle(tmp_path, arrays):
    prefix = str(tmp_path / "ckpt")
    with BundleWriter(prefix) as writer:
        for name, arr in arrays.items():
            writer.add(name, arr)
        writer.finish()
    return prefix


@pytest.mark.parametrize("n", [0, 1, 16, 17, 1000])
def test_restore_from_reader(fake_gpu, cb, monkeypatch, tmp_path, n):
    monkeypatch.setattr(cb, "CHUNK_SIZE", 64)
    backend = cb.CupyBackend(0, staging_slots=3, staging_bytes=3 * 64)
    host = np.random.default_rng(n).standard_normal(n)
    prefix = write_bundle(tmp_path, {"t": host})
    with open_reader(prefix) as reader:
        guarded = backend.empty((n + 2,), np.float64)
        guarded[0] = guarded[-1] = 77.0
        backend.restore_from(reader, "t", guarded[1:-1])
    assert isinstance(guarded, DeviceArray)
    out = backend.to_host(guarded)
    assert out[0] == 77.0 and out[-1] == 77.0 and out[1:-1].tobytes() == host.tobytes()
    assert all(not s.pending for s in fake_gpu.streams.values())
    if n:  # the copies wait for kernels queued before them (they may still read the old value)
        first_copy = next(i for i, e in enumerate(fake_gpu.log) if e[0] == "memcpy")
        assert any(e[0] == "wait_event" for e in fake_gpu.log[:first_copy])


def test_restore_overlaps_reading_with_copies(fake_gpu, cb, monkeypatch, tmp_path):
    monkeypatch.setattr(cb, "CHUNK_SIZE", 64)
    backend = cb.CupyBackend(0, staging_slots=3, staging_bytes=3 * 64)
    host = np.arange(200, dtype=np.float64)  # 1600 bytes: 25 chunks of 64
    prefix = write_bundle(tmp_path, {"t": host})
    outstanding = []
    with open_reader(prefix) as reader:
        orig = reader.iter_chunks

        def spy(name, buffers):
            for part in orig(name, buffers):
                yield part
                # the reader is about to refill a buffer: copies still queued on the ring's stream
                outstanding.append(max(st.total - st.done for st in fake_gpu.streams.values()))

        monkeypatch.setattr(reader, "iter_chunks", spy)
        dev = backend.empty((200,), np.float64)
        backend.restore_from(reader, "t", dev)
    assert backend.to_host(dev).tobytes() == host.tobytes()
    assert max(outstanding) == 2  # slots - 1 copies in flight while the next chunk is read


def test_restore_from_size_and_crc_errors(fake_gpu, cb, monkeypatch, tmp_path):
    monkeypatch.setattr(cb, "CHUNK_SIZE", 64)
    backend = backends.gpu(0)
    prefix = write_bundle(tmp_path, {"t": np.arange(100, dtype=np.float32)})
    with open_reader(prefix) as reader:
        guarded = backend.from_host(np.full(52, 5.0, np.float32))
        with pytest.raises(tf.errors.InvalidArgumentError, match="more than the variable's 200 bytes"):
            backend.restore_from(reader, "t", guarded[1:51])
        assert backend.to_host(guarded)[51] == 5.0  # nothing written past the variable
        with pytest.raises(tf.errors.DataLossError, match="read 400 of 404 bytes"):
            backend.restore_from(reader, "t", backend.empty((101,), np.float32))
        with pytest.raises(tf.errors.InvalidArgumentError, match="C-contiguous"):
            backend.restore_from(reader, "t", backend.empty((200,), np.float32)[::2])
    data = prefix + ".data-00000-of-00001"
    with open(data, "r+b") as f:
        f.seek(os.path.getsize(data) - 3)
        f.write(b"\xff")
    with open_reader(prefix) as reader, pytest.raises(tf.errors.DataLossError, match="Checksum"):
        backend.restore_from(reader, "t", backend.empty((100,), np.float32))


@pytest.mark.parametrize("fmt", ["tf", "safetensors"])
def test_saver_gpu_to_host_and_back(fake_gpu, cb, monkeypatch, tmp_path, fmt):
    monkeypatch.setattr(saver_io, "CHUNK_SIZE", 4096)  # several chunks per variable
    monkeypatch.setattr(cb, "CHUNK_SIZE", 4096)

    def build(device):
        tf.reset_default_graph()
        with tf.device(device):
            w = tf.Variable(tf.random_normal([100, 37], seed=1), name="w")
            b = tf.Variable(tf.random_uniform([3001], 0, 9, tf.int64, seed=2), name="b")
            h = tf.Variable(tf.truncated_normal([7], dtype=tf.float16, seed=3), name="h")
            s = tf.Variable(3.5, name="scalar")
        return [w, b, h, s], tf.train.Saver(format=fmt)

    for source, target in (("", "/cpu:0"), ("/cpu:0", "")):
        variables, saver = build(source)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            saved = sess.run(variables)
            path = saver.save(sess, str(tmp_path / f"m{source[1:4]}"), global_step=1)
        variables, saver = build(target)
        with tf.Session() as sess:
            saver.restore(sess, path)
            restored = sess.run(variables)
            kinds = {type(sess._variable_slot(v).value) for v in variables}
        assert kinds == ({DeviceArray} if target == "" else {np.ndarray})
        assert all(np.asarray(a).tobytes() == np.asarray(b).tobytes() for a, b in zip(saved, restored))
        assert [np.asarray(a).dtype for a in saved] == [np.asarray(b).dtype for b in restored]
    assert fake_gpu.pinned_bytes() <= 64 << 20

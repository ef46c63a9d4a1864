"""Issue 12: kill-safe overwrites, all-or-nothing restores, rotation limits, bounded hints, odd keys."""

from __future__ import annotations

import errno
import os
import threading
import time

import numpy as np
import pytest

import graphvar as tf
from graphvar import errors
from graphvar.checkpoint import bundle

SHAPE = (64, 64)


def _model(n: int = 3):
    vs = [tf.Variable(tf.zeros(SHAPE), name=f"v{i}") for i in range(n)]
    return vs, tf.train.Saver(vs)


def _load(sess, vs, value):
    for v in vs:
        v.load(np.full(SHAPE, value, np.float32), sess)


def _values(sess, vs):
    return [float(x.mean()) for x in sess.run(vs)]


# ---- 1. overwriting a prefix is kill-safe ----
class _Killed(BaseException):
    """Stands for SIGKILL: raised from os.replace, so nothing after that rename runs."""


def test_a_kill_between_the_renames_of_an_overwrite_keeps_the_old_checkpoint(tmp_path, monkeypatch):
    prefix = str(tmp_path / "model.ckpt")
    vs, saver = _model()
    with tf.Session() as sess:
        _load(sess, vs, 1.0)
        saver.save(sess, prefix)
        _load(sess, vs, 2.0)
        real_replace, calls = os.replace, []

        def replace_then_die(src, dst):
            calls.append(dst)
            if dst.endswith(".index"):
                raise _Killed  # after the data rename, before the index rename
            real_replace(src, dst)

        monkeypatch.setattr(bundle.os, "replace", replace_then_die)
        with pytest.raises(_Killed):
            saver.save(sess, prefix)
        monkeypatch.setattr(bundle.os, "replace", real_replace)
        assert any(".data-" in c for c in calls)
        _load(sess, vs, 0.0)
        saver.restore(sess, tf.train.latest_checkpoint(str(tmp_path)))  # no DataLossError
        assert _values(sess, vs) == [1.0] * 3  # the old checkpoint, whole
        saver.save(sess, prefix)  # and the next overwrite works and tidies up
        assert sorted(f for f in os.listdir(tmp_path) if ".data-" in f) in (
            ["model.ckpt.data-00000-of-00001"],
            ["model.ckpt.data-00000-of-00002", "model.ckpt.data-00001-of-00002"],
        )


def test_readers_racing_an_overwriting_writer_see_whole_checkpoints(tmp_path):
    prefix = str(tmp_path / "model.ckpt")
    g_w, g_r = tf.Graph(), tf.Graph()
    with g_w.as_default():
        wv, wsaver = _model()
    with g_r.as_default():
        rv, rsaver = _model()
    wsess, rsess = tf.Session(graph=g_w), tf.Session(graph=g_r)
    _load(wsess, wv, 0.0)
    wsaver.save(wsess, prefix)
    stop, seen, failures = threading.Event(), set(), []

    def writer():
        step = 0
        while not stop.is_set():
            step += 1
            _load(wsess, wv, float(step))
            wsaver.save(wsess, prefix)

    t = threading.Thread(target=writer)
    t.start()
    try:
        end = time.monotonic() + 1.5
        while time.monotonic() < end:
            try:
                rsaver.restore(rsess, prefix)
            except errors.OpError as e:
                failures.append(e)
                continue
            vals = _values(rsess, rv)
            assert len(set(vals)) == 1, f"a mix of steps: {vals}"
            seen.add(vals[0])
    finally:
        stop.set()
        t.join()
    assert not failures, failures[:3]
    assert len(seen) > 1  # the writer really overwrote the prefix meanwhile


# ---- 6. a failed restore changes nothing ----
def _damage_second(prefix: str) -> None:
    with tf.train.NewCheckpointReader(prefix)._reader as r:
        info = r.info("v1")
    with open(info.path, "r+b") as f:
        f.seek(info.offset + 7)
        b = f.read(1)
        f.seek(info.offset + 7)
        f.write(bytes([b[0] ^ 1]))


def test_a_crc_failure_in_the_second_of_three_variables_changes_nothing(tmp_path):
    vs, saver = _model()
    with tf.Session() as sess:
        _load(sess, vs, 5.0)
        path = saver.save(sess, str(tmp_path / "m"))
        _damage_second(path)
        _load(sess, vs, 7.0)
        with pytest.raises(errors.DataLossError, match=r"v1 in .*m\.data.*no variable was changed"):
            saver.restore(sess, path)
        assert _values(sess, vs) == [7.0] * 3
    with tf.Session() as fresh:
        with pytest.raises(errors.DataLossError):
            saver.restore(fresh, path)
        assert not any(fresh.run(tf.is_variable_initialized(v)) for v in vs)


def test_an_io_error_during_restore_is_an_op_error_and_changes_nothing(tmp_path, monkeypatch):
    vs, saver = _model()
    with tf.Session() as sess:
        _load(sess, vs, 5.0)
        path = saver.save(sess, str(tmp_path / "m"))
        _load(sess, vs, 7.0)
        with tf.train.NewCheckpointReader(path)._reader as r:
            bad_offset = r.info("v1").offset
        real = os.preadv

        def eio(fd, bufs, offset):  # a bad block at v1's first byte fails every read that covers it
            if offset <= bad_offset < offset + sum(memoryview(b).nbytes for b in bufs):
                raise OSError(errno.EIO, "Input/output error")
            return real(fd, bufs, offset)

        monkeypatch.setattr(os, "preadv", eio)
        with pytest.raises(
            errors.UnknownError, match=r"m\.data.*Input/output error.*tensor v1.*no variable was changed"
        ):
            saver.restore(sess, path)
        monkeypatch.setattr(os, "preadv", real)
        assert _values(sess, vs) == [7.0] * 3


# ---- 3. rotation deletes only what this Saver's format wrote, only in its directory ----
def test_rotation_leaves_other_formats_and_other_directories_alone(tmp_path):
    (tmp_path / "ckpt").mkdir()
    (tmp_path / "elsewhere").mkdir()
    d = str(tmp_path / "ckpt")
    vs, saver = _model(1)
    export = tf.train.Saver(vs, format="safetensors")
    victim = tmp_path / "elsewhere" / "precious.index"
    victim.write_bytes(b"user data")
    with tf.Session() as sess:
        _load(sess, vs, 1.0)
        export.save(sess, os.path.join(d, "m-1"), write_state=False)  # a user's export beside it
        saver = tf.train.Saver(vs, max_to_keep=1)
        saver.recover_last_checkpoints([str(tmp_path / "elsewhere" / "precious")])  # not a checkpoint: ignored
        saver.set_last_checkpoints_with_time([(str(tmp_path / "elsewhere" / "precious"), 0.0)])  # tampered
        for step in (1, 2, 3):
            saver.save(sess, os.path.join(d, "m"), global_step=step)
    assert victim.read_bytes() == b"user data"
    assert os.path.exists(os.path.join(d, "m-1.safetensors"))
    assert not os.path.exists(os.path.join(d, "m-1.index")) and os.path.exists(os.path.join(d, "m-3.index"))


def test_prefixes_ending_in_safetensors_rotate_and_recover(tmp_path):
    vs, _ = _model(1)
    saver = tf.train.Saver(vs, max_to_keep=2, format="safetensors")
    with tf.Session() as sess:
        _load(sess, vs, 1.0)
        for step in range(4):
            saver.save(sess, str(tmp_path / f"m-{step}.safetensors"))
        # each checkpoint's meta graph (written by default, as TF) rotates out with it
        assert sorted(os.listdir(tmp_path)) == [
            "checkpoint",
            "m-2.safetensors",
            "m-2.safetensors.meta",
            "m-3.safetensors",
            "m-3.safetensors.meta",
        ]
        state = tf.train.get_checkpoint_state(str(tmp_path))
        again = tf.train.Saver(vs, max_to_keep=2, format="safetensors")
        again.recover_last_checkpoints(state.all_model_checkpoint_paths)
        assert again.last_checkpoints == state.all_model_checkpoint_paths
        again.save(sess, str(tmp_path / "m-4.safetensors"))
    assert sorted(os.listdir(tmp_path)) == [
        "checkpoint",
        "m-3.safetensors",
        "m-3.safetensors.meta",
        "m-4.safetensors",
        "m-4.safetensors.meta",
    ]


# ---- 8. bounded "did you mean" hints ----
def test_a_restore_where_every_key_misses_is_fast(tmp_path):
    n = 2000
    with tf.Graph().as_default():
        vs = [tf.Variable(np.float32(i), name=f"old_scope/layer{i}/w") for i in range(n)]
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            path = tf.train.Saver(vs).save(sess, str(tmp_path / "m"))
    with tf.Graph().as_default():
        vs = [tf.Variable(np.float32(0), name=f"new_scope/layer{i}/w") for i in range(n)]
        with tf.Session() as sess:
            start = time.perf_counter()
            with pytest.raises(errors.NotFoundError) as info:
                tf.train.Saver(vs).restore(sess, path)
            elapsed = time.perf_counter() - start
    msg = str(info.value)
    assert f"{n} key(s) not found" in msg and "new_scope/layer1999/w" in msg
    assert "did you mean: old_scope/layer0/w" in msg
    assert elapsed < 5, elapsed  # was 326 s


# ---- 9. keys round-trip ----
def test_a_key_starting_with_nul_round_trips(tmp_path):
    v = tf.Variable(np.float32(3), name="v")
    saver = tf.train.Saver({"\0w": v, "\0\0\1x": tf.Variable(np.float32(4), name="x")})
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        path = saver.save(sess, str(tmp_path / "nul"))
        assert sorted(n for n, _ in tf.train.list_variables(path)) == ["\0\0\1x", "\0w"]
        v.load(0.0, sess)
        saver.restore(sess, path)
        assert sess.run(v) == 3.0

"""tf.train.Saver: round trips, TF1 naming and state-file semantics, errors, TF-made checkpoints,
kills during saves and saves during concurrent assigns."""

from __future__ import annotations

import importlib.util
import os
import random
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import graphvar as tf
from graphvar import errors
from graphvar.backends.base import Backend
from graphvar.train import saver_io

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
FIXTURES = os.path.join(REPO, "tests", "fixtures", "tf_checkpoints")
DTYPES = ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
          "uint64", "bool", "complex64", "complex128"]  # fmt: skip


def _load(name: str, path: str):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


maker = _load("make_tf_fixtures", os.path.join(REPO, "tests", "fixtures", "make_tf_fixtures.py"))
child = _load("saver_kill_child", os.path.join(HERE, "saver_kill_child.py"))


def _value(dtype: str, shape, k: int = 0) -> np.ndarray:
    return maker.expected_value(f"v{k}_{dtype}", dtype, list(shape))


def _model(k: int = 0, formats: str = "tf") -> dict[str, tuple[tf.Variable, np.ndarray]]:
    """Variables of every dtype, scalars, scoped and zero-size ones, built in the default graph."""
    dts = [d for d in DTYPES if formats == "tf" or d != "complex128"]
    specs = [(f"v_{d}", d, (2, 3)) for d in dts] + [("scalar", "float64", ()), ("scalar_b", "bool", ())]
    specs += [("scope/inner/w", "float32", (4, 5)), ("empty", "int32", (0, 3))]
    out = {}
    for name, dtype, shape in specs:
        value = _value(dtype, shape, k)
        if "/" in name:
            with tf.name_scope("scope/inner/"):
                v = tf.Variable(value, name=name.rsplit("/", 1)[1])
        else:
            v = tf.Variable(value, name=name)
        assert v.op.name == name
        out[name] = (v, value)
    return out


def _files(d) -> list[str]:
    return sorted(os.listdir(d))


@pytest.mark.parametrize("fmt", ["tf", "safetensors"])
def test_round_trip_every_dtype_into_a_new_graph(tmp_path, fmt):
    model = _model(0, fmt)
    saver = tf.train.Saver(format=fmt)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        path = saver.save(sess, str(tmp_path / "model.ckpt"))
    assert path == str(tmp_path / "model.ckpt")
    expect = {"tf": ["checkpoint", "model.ckpt.data-00000-of-00001", "model.ckpt.index", "model.ckpt.meta"],
              "safetensors": ["checkpoint", "model.ckpt.meta", "model.ckpt.safetensors"]}[fmt]  # fmt: skip
    assert _files(tmp_path) == expect
    with tf.Graph().as_default():
        other = _model(1, fmt)  # same names and shapes, other values
        saver2 = tf.train.Saver()
        with tf.Session() as sess:
            saver2.restore(sess, tf.train.latest_checkpoint(str(tmp_path)))  # no initializer
            for name, (v, _) in other.items():
                got = sess.run(v)
                assert got.dtype == model[name][1].dtype
                np.testing.assert_array_equal(got, model[name][1], err_msg=name)


def test_global_step_names_and_state_file(tmp_path):
    v = tf.Variable(1.0, name="v")
    step = tf.Variable(np.int64(1000), name="global_step")
    saver = tf.train.Saver(max_to_keep=2)
    prefix = str(tmp_path / "model.ckpt")
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        assert saver.save(sess, prefix, global_step=7) == prefix + "-7"
        assert saver.save(sess, prefix, global_step=step) == prefix + "-1000"
        assert saver.save(sess, prefix, global_step=step + 1) == prefix + "-1001"
        assert saver.last_checkpoints == [prefix + "-1000", prefix + "-1001"]
        padded = tf.train.Saver([v], pad_step_number=True).save(sess, prefix, global_step=5, write_state=False)
        assert padded == prefix + "-00000005"
    with open(tmp_path / "checkpoint") as f:
        text = f.read()
    assert text == (f'model_checkpoint_path: "{prefix}-1001"\nall_model_checkpoint_paths: "{prefix}-1000"\n'
                    f'all_model_checkpoint_paths: "{prefix}-1001"\n')  # fmt: skip
    assert not os.path.exists(prefix + "-7.index")  # fell out of max_to_keep
    assert tf.train.latest_checkpoint(str(tmp_path)) == prefix + "-1001"


def test_max_to_keep_relative_paths_and_latest_filename(tmp_path, monkeypatch):
    tf.Variable(np.arange(3.0), name="w")
    saver = tf.train.Saver(max_to_keep=3, save_relative_paths=True, format="safetensors")
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for i in range(6):
            saver.save(sess, str(tmp_path / "m"), global_step=i, latest_filename="state")
    # the meta graphs (TF's write_meta_graph=True default) rotate with their checkpoints
    assert _files(tmp_path) == [f"m-{i}.{ext}" for i in (3, 4, 5) for ext in ("meta", "safetensors")] + ["state"]
    state = tf.train.get_checkpoint_state(str(tmp_path), "state")
    assert state.all_model_checkpoint_paths == [str(tmp_path / f"m-{i}") for i in (3, 4, 5)]
    assert 'model_checkpoint_path: "m-5"' in (tmp_path / "state").read_text()
    monkeypatch.chdir(tmp_path)  # a save_path without a directory
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        assert tf.train.Saver().save(sess, "here", global_step=1) == "here-1"
    assert tf.train.latest_checkpoint(".") == os.path.join(".", "here-1")


def test_keep_every_n_hours_and_last_checkpoint_setters(tmp_path):
    tf.Variable(1.0, name="v")
    prefix = str(tmp_path / "m")
    saver = tf.train.Saver(max_to_keep=1, keep_checkpoint_every_n_hours=1e-7)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for i in range(3):
            saver.save(sess, prefix, global_step=i)
            time.sleep(0.01)
        assert saver.last_checkpoints == [prefix + "-2"]
        assert all(os.path.exists(f"{prefix}-{i}.index") for i in range(3))  # kept by the hours rule
        saver2 = tf.train.Saver(max_to_keep=2)
        saver2.recover_last_checkpoints([prefix + "-0", prefix + "-1", prefix + "-gone"])
        assert saver2.last_checkpoints == [prefix + "-0", prefix + "-1"]
        saver2.save(sess, prefix, global_step=3)
        assert not os.path.exists(prefix + "-0.index") and os.path.exists(prefix + "-1.index")
        saver2.set_last_checkpoints_with_time([(prefix + "-1", 1.0)])
        saver2.set_last_checkpoints([prefix + "-2"])  # TF: +inf timestamps, never deleted
        saver2.save(sess, prefix, global_step=4)
        saver2.save(sess, prefix, global_step=5)
        assert saver2.last_checkpoints == [prefix + "-4", prefix + "-5"]
        assert os.path.exists(prefix + "-2.index")  # fell out of max_to_keep but kept (+inf)
        with pytest.raises(TypeError):
            saver2.set_last_checkpoints((prefix,))


def test_dict_names_subsets_and_renames(tmp_path):
    layers = [tf.Variable(np.full((3, 3), i, np.float32), name=f"layer{i}") for i in range(5)]
    prefix = str(tmp_path / "five")
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        tf.train.Saver(layers).save(sess, prefix)
        tf.train.Saver({"my_layer": layers[2]}).save(sess, str(tmp_path / "one"))
    assert tf.train.list_variables(str(tmp_path / "one")) == [("my_layer", [3, 3])]
    with tf.Graph().as_default():
        six = [tf.Variable(np.full((3, 3), -1, np.float32), name=f"layer{i}") for i in range(6)]
        params = tf.Variable(np.zeros((3, 3), np.float32), name="params")
        with tf.Session() as sess:
            sess.run(six[5].initializer)
            tf.train.Saver(six[:5]).restore(sess, prefix)  # 5-layer checkpoint into a 6-layer model
            tf.train.Saver({"layer3": params}).restore(sess, prefix)  # saved as "layer3", restored as "params"
            for i in range(5):
                np.testing.assert_array_equal(sess.run(six[i]), np.full((3, 3), i))
            np.testing.assert_array_equal(sess.run(six[5]), np.full((3, 3), -1))
            np.testing.assert_array_equal(sess.run(params), np.full((3, 3), 3))


def test_several_savers_and_the_same_variable_in_several(tmp_path):
    a, b = tf.Variable([1.0, 2.0], name="a"), tf.Variable([3, 4], name="b")
    s_all, s_a, s_ab = tf.train.Saver(), tf.train.Saver([a]), tf.train.Saver({"x": a, "y": b})
    assign = a.assign([9.0, 9.0])
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        p_all = s_all.save(sess, str(tmp_path / "all"))
        p_a = s_a.save(sess, str(tmp_path / "a"))
        p_ab = s_ab.save(sess, str(tmp_path / "ab"))
        sess.run(assign)
        s_a.restore(sess, p_a)
        np.testing.assert_array_equal(sess.run(a), [1.0, 2.0])
        sess.run(assign)
        s_ab.restore(sess, p_ab)
        np.testing.assert_array_equal(sess.run(a), [1.0, 2.0])
        s_all.restore(sess, p_all)
    assert [n for n, _ in tf.train.list_variables(p_ab)] == ["x", "y"]


def test_saving_many_times_adds_no_ops(tmp_path):
    w = tf.Variable(tf.zeros([10, 10]), name="w")
    step = tf.Variable(0, name="global_step")
    saver = tf.train.Saver(max_to_keep=2)
    init = tf.global_variables_initializer()
    graph = tf.get_default_graph()
    n_ops = len(graph.get_operations())
    with tf.Session() as sess:
        sess.run(init)
        for i in range(200):
            saver.save(sess, str(tmp_path / "m"), global_step=i if i % 2 else step)
            if i % 50 == 0:
                saver.restore(sess, tf.train.latest_checkpoint(str(tmp_path)))
    assert len(graph.get_operations()) == n_ops
    # m-0 was overwritten 100 times: it alternates between one data shard and two (kill-safe overwrite)
    assert [f for f in _files(tmp_path) if f.endswith(".index")] == ["m-0.index", "m-199.index"]
    assert len(_files(tmp_path)) in (7, 8) and w.op.name == "w"  # + m-0.meta, m-199.meta


def test_constructor_errors():
    with pytest.raises(ValueError, match="No variables to save"):
        tf.train.Saver()
    empty = tf.train.Saver(allow_empty=True)
    v = tf.Variable(1.0, name="v")
    with tf.Session() as sess:
        assert empty.save(sess, "/nonexistent/x") is None and empty.restore(sess, None) is None
    with pytest.raises(ValueError, match="At least two variables have the same name: v"):
        tf.train.Saver([v, v])
    with pytest.raises(ValueError, match="same saveable will be restored with two names"):
        tf.train.Saver({"a": v, "b": v})
    with pytest.raises(TypeError, match="not a Variable"):
        tf.train.Saver([v, tf.constant(1.0, name="c")])
    with pytest.raises(NotImplementedError, match="V1"):
        tf.train.Saver(write_version=1)
    with pytest.raises(NotImplementedError, match="saver_def"):
        tf.train.Saver(saver_def=object())
    with pytest.raises(NotImplementedError, match="builder"):
        tf.train.Saver(builder=object())
    with pytest.raises(ValueError, match="format"):
        tf.train.Saver(format="hdf5")
    assert tf.train.Saver([v._ref()]) is not None  # a VariableV2 tensor is a variable
    deferred = tf.train.Saver(defer_build=True)
    with tf.Session() as sess, pytest.raises(RuntimeError, match="build"):
        deferred.save(sess, "/tmp/x")


def test_save_errors_write_nothing(tmp_path):
    tf.Variable(1.0, name="ready")
    late = tf.Variable(2.0, name="late")
    saver = tf.train.Saver()
    with tf.Session() as sess:
        missing = str(tmp_path / "no" / "such" / "model.ckpt")
        with pytest.raises(ValueError, match=f"Parent directory of {missing} doesn't exist, can't save."):
            saver.save(sess, missing)
        sess.run(tf.global_variables()[0].initializer)
        with pytest.raises(errors.FailedPreconditionError, match="uninitialized value late"):
            saver.save(sess, str(tmp_path / "model.ckpt"))
        assert _files(tmp_path) == []
        with pytest.raises(ValueError, match="path components"):
            saver.save(sess, str(tmp_path / "m"), latest_filename="a/b")
        with pytest.raises(TypeError, match="must be a Session"):
            saver.save(object(), str(tmp_path / "m"))
    with tf.Graph().as_default(), tf.Session() as other:
        with pytest.raises(ValueError, match="not an element of the Session's graph"):
            saver.save(other, str(tmp_path / "m"))
    assert late.op.name == "late"


@pytest.fixture
def saved(tmp_path):
    """A checkpoint of weights [2,3] f32 and bias [3] f32, plus a fresh graph to restore into."""
    with tf.Graph().as_default():
        tf.Variable(np.ones((2, 3), np.float32), name="weights")
        tf.Variable(np.ones(3, np.float32), name="bias")
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            return tf.train.Saver().save(sess, str(tmp_path / "model.ckpt"))


def _restore_fails(sess, saver, path, variables, error, *patterns):
    before = sess.run(variables)
    with pytest.raises(error) as info:
        saver.restore(sess, path)
    for p in patterns:
        assert p in str(info.value), str(info.value)
    for b, a in zip(before, sess.run(variables)):
        np.testing.assert_array_equal(a, b)  # nothing changed
    return str(info.value)


def test_restore_errors_name_the_culprit_and_change_nothing(saved, tmp_path):
    w = tf.Variable(np.zeros((2, 3), np.float32), name="weights_1")
    b = tf.Variable(np.zeros(3, np.float32), name="bias")
    big = tf.Variable(np.zeros((3, 2), np.float32), name="weights")
    d = tf.Variable(np.zeros(3, np.float64), name="d")
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        with pytest.raises(ValueError, match="Can't load save_path when it is None."):
            tf.train.Saver([w]).restore(sess, None)
        with pytest.raises(ValueError, match="The passed save_path is not a valid checkpoint: "):
            tf.train.Saver([w]).restore(sess, str(tmp_path / "nothing"))
        msg = _restore_fails(sess, tf.train.Saver([w, b, d]), saved, [w, b, d], errors.NotFoundError,
                             "Key weights_1 not found in checkpoint (did you mean: weights?)",
                             "Key d not found in checkpoint")  # fmt: skip
        assert "bias" not in msg
        _restore_fails(sess, tf.train.Saver([big, b]), saved, [big, b], errors.InvalidArgumentError,
                       "variable weights", "lhs shape= [3, 2] rhs shape= [2, 3]")  # fmt: skip
        _restore_fails(sess, tf.train.Saver({"bias": d, "weights": w}), saved, [d, w], errors.InvalidArgumentError,
                       "variable d (checkpoint key bias)", "float64", "float32")  # fmt: skip
        tf.train.Saver([big], reshape=True).restore(sess, saved)
        np.testing.assert_array_equal(sess.run(big), np.ones((3, 2)))


def test_corrupted_data_file_is_data_loss(saved):
    data = saved + ".data-00000-of-00001"
    with open(data, "r+b") as f:  # data order is sorted by key: bias (12 bytes), then weights
        f.seek(20)
        byte = f.read(1)
        f.seek(20)
        f.write(bytes([byte[0] ^ 0x40]))
    w = tf.Variable(np.zeros((2, 3), np.float32), name="weights")
    b = tf.Variable(np.zeros(3, np.float32), name="bias")
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        with pytest.raises(errors.DataLossError) as info:
            tf.train.Saver().restore(sess, saved)
        assert "weights" in str(info.value) and data in str(info.value)
        assert "no variable was changed" in str(info.value)
        np.testing.assert_array_equal(sess.run(b), np.zeros(3))  # all or nothing: bias was not restored
        np.testing.assert_array_equal(sess.run(w), np.zeros((2, 3)))  # nor weights half-written
    with tf.Session() as fresh:  # uninitialized variables stay uninitialized
        with pytest.raises(errors.DataLossError):
            tf.train.Saver().restore(fresh, saved)
        for v in (w, b):
            with pytest.raises(errors.FailedPreconditionError, match=v.op.name):
                fresh.run(v)


def test_restores_a_checkpoint_written_by_tensorflow(tmp_path):
    specs = maker.saver_specs()
    variables = {}
    for name, dtype, shape in specs:
        scope, _, base = name.rpartition("/")
        with tf.name_scope(scope + "/" if scope else None):
            variables[name] = tf.Variable(np.zeros(shape, dtype), name=base)
    src = os.path.join(FIXTURES, "saver")
    with tf.Session() as sess:
        tf.train.Saver().restore(sess, tf.train.latest_checkpoint(src))
        for name, dtype, shape in specs:
            np.testing.assert_array_equal(sess.run(variables[name]), maker.expected_value(name, dtype, shape))
        ours = tf.train.Saver().save(sess, str(tmp_path / "model.ckpt"), global_step=2)
    for suffix in (".index", ".data-00000-of-00001"):  # byte-identical to TensorFlow's Saver
        with open(ours + suffix, "rb") as a, open(os.path.join(src, "model.ckpt-2" + suffix), "rb") as b:
            assert a.read() == b.read(), suffix


def test_progress_bar_goes_to_stderr_only_when_asked(tmp_path, capsys):
    tf.Variable(tf.zeros([100]), name="w")
    saver = tf.train.Saver()
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        path = saver.save(sess, str(tmp_path / "m"))
        saver.restore(sess, path)
        assert capsys.readouterr().err == ""
        saver.save(sess, str(tmp_path / "m"), progress=True)
        saver.restore(sess, path, progress=True)
    err = capsys.readouterr().err
    assert "Saving [" in err and "Restoring [" in err and "100%" in err


class _FakeDeviceArray:
    """A stand-in for a device array: no buffer protocol, so only the backend can move its bytes."""

    def __init__(self, host: np.ndarray) -> None:
        self.host = host
        self.shape, self.dtype, self.flags = host.shape, host.dtype, host.flags

    def reshape(self, shape):
        return _FakeDeviceArray(self.host.reshape(shape))


class _StreamingBackend(Backend):
    name = "fake"

    def __init__(self) -> None:
        self.calls: list[str] = []

    def empty(self, shape, dtype):
        return _FakeDeviceArray(np.empty(shape, dtype))

    def save_chunks(self, array, chunk_bytes):
        self.calls.append("save_chunks")
        staging = np.empty(chunk_bytes // 2, np.uint8)  # a reused staging buffer
        flat = array.host.reshape(-1).view(np.uint8)
        for start in range(0, flat.nbytes, staging.nbytes):
            n = min(staging.nbytes, flat.nbytes - start)
            staging[:n] = flat[start : start + n]
            yield memoryview(staging)[:n]

    def restore_from(self, reader, name, array):
        self.calls.append("restore_from")
        reader.read_into(name, array.host)


class _CopyingBackend(Backend):
    """A backend without streaming methods of its own: Backend's defaults copy via the host."""

    name = "fake"

    def empty(self, shape, dtype):
        return _FakeDeviceArray(np.empty(shape, dtype))

    def to_host(self, x):
        return x.host.copy()

    def from_host(self, x):
        return _FakeDeviceArray(np.array(x))

    def copy_from_host(self, dst, host):
        dst.host[...] = host


def test_non_numpy_backend_without_streaming_methods_copies_via_host(tmp_path):
    value = np.arange(12, dtype=np.int64).reshape(3, 4)
    v = tf.Variable(np.zeros((3, 4), np.int64), name="v")
    saver = tf.train.Saver()
    with tf.Session() as sess:
        slot = sess._variable_slot(v)
        slot.backend, slot.value = _CopyingBackend(), _FakeDeviceArray(value.copy())
        path = saver.save(sess, str(tmp_path / "m"))
        slot.value = None
        saver.restore(sess, path)
        assert isinstance(slot.value, _FakeDeviceArray)
        np.testing.assert_array_equal(slot.value.host, value)


def test_non_numpy_backend_streams_through_its_methods(tmp_path, monkeypatch):
    monkeypatch.setattr("graphvar.checkpoint.streaming.CHUNK_SIZE", 64)
    monkeypatch.setattr(saver_io, "CHUNK_SIZE", 64)
    value = np.arange(100, dtype=np.float32).reshape(10, 10)
    v = tf.Variable(np.zeros((10, 10), np.float32), name="v")
    saver = tf.train.Saver()
    with tf.Session() as sess:
        slot = sess._variable_slot(v)
        slot.backend, slot.value = _StreamingBackend(), _FakeDeviceArray(value.copy())
        path = saver.save(sess, str(tmp_path / "m"))
        slot.value = _FakeDeviceArray(np.zeros((10, 10), np.float32))
        saver.restore(sess, path)
        np.testing.assert_array_equal(slot.value.host, value)
        assert slot.backend.calls == ["save_chunks", "restore_from"]
    np.testing.assert_array_equal(tf.train.load_variable(path, "v"), value)


def _check_checkpoint(sess, saver, layers, step_var, path) -> int:
    saver.restore(sess, path)
    step = int(sess.run(step_var))
    assert path.endswith(f"-{step}")
    for v in layers:
        arr = sess.run(v)
        assert arr.min() == arr.max() == step, (path, v.op.name)
    return step


def test_killed_saves_never_lose_a_checkpoint(tmp_path):
    layers, step_var = child.build()
    saver = tf.train.Saver(max_to_keep=3)
    env = {**os.environ, "PYTHONPATH": REPO + os.pathsep + os.environ.get("PYTHONPATH", "")}
    rng, step, d = random.Random(1234), 1, str(tmp_path)
    with tf.Session() as sess:
        for _ in range(5):
            proc = subprocess.Popen([sys.executable, os.path.join(HERE, "saver_kill_child.py"), d, str(step)],
                                    stdout=subprocess.PIPE, env=env)  # fmt: skip
            watchdog = threading.Timer(15, proc.kill)
            watchdog.start()
            assert proc.stdout.readline(), "child died before its first save"
            time.sleep(rng.uniform(0.0, 0.3))
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            watchdog.cancel()
            proc.stdout.close()
            latest = tf.train.latest_checkpoint(d)
            step = _check_checkpoint(sess, saver, layers, step_var, latest) + 1
            state = tf.train.get_checkpoint_state(d)
            assert len(state.all_model_checkpoint_paths) <= 3
            for path in state.all_model_checkpoint_paths:
                _check_checkpoint(sess, saver, layers, step_var, path)
        saver.save(sess, os.path.join(d, "model.ckpt"), global_step=step)
    assert not [f for f in os.listdir(d) if f.endswith(".tmp")]  # the killed saves' temporaries are gone


def test_saves_during_assigns_are_never_torn(tmp_path):
    v = tf.Variable(tf.zeros([512, 1024]), name="v")
    value = tf.placeholder(tf.float32, [512, 1024])
    assign = tf.assign(v, value)
    saver = tf.train.Saver([v])
    stop = threading.Event()
    with tf.Session() as sess:
        sess.run(v.initializer)

        def assigner() -> None:
            i = 1
            while not stop.is_set():
                sess.run(assign, {value: np.full((512, 1024), i, np.float32)})
                i += 1

        thread = threading.Thread(target=assigner)
        thread.start()
        try:
            seen = set()
            for k in range(25):
                path = saver.save(sess, str(tmp_path / "m"), global_step=k, write_state=False)
                arr = tf.train.load_variable(path, "v")
                assert arr.min() == arr.max(), f"torn tensor in {path}"
                seen.add(float(arr[0, 0]))
        finally:
            stop.set()
            thread.join()
    assert len(seen) > 1  # the assigns really ran between the saves

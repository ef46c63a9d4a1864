"""The user mistakes catalogued in docs/errors.md: each gets its error type, a message that names
the culprit, and leaves variables and files as they were."""

from __future__ import annotations

import os

import numpy as np
import pytest

import graphvar as tf
from graphvar import errors
from graphvar.checkpoint import streaming
from tests.checkpoint.ckpt_helpers import FullDiskOS


@pytest.fixture
def model():
    """weights (2x3 ones, initialized), a float placeholder x [?, 3], y = x * 2, a session."""
    w = tf.Variable(np.ones((2, 3), np.float32), name="weights")
    x = tf.placeholder(tf.float32, [None, 3], name="x")
    y = tf.multiply(x, 2.0, name="y")
    sess = tf.Session()
    sess.run(w.initializer)
    yield w, x, y, sess
    sess.close()


def _unchanged(sess, w) -> None:
    np.testing.assert_array_equal(sess.run(w), np.ones((2, 3), np.float32))


def _files(d) -> list[str]:
    return sorted(os.listdir(d))


# ---- graph building ----
def test_op_shape_mismatch_names_the_op_and_both_shapes():
    before = len(tf.get_default_graph().get_operations())
    with pytest.raises(ValueError, match=r"'mm' \(op: 'MatMul'\).*\(2, 3\).*\(4, 3\)"):
        tf.matmul(tf.zeros([2, 3]), tf.zeros([4, 3]), name="mm")
    assert len(tf.get_default_graph().get_operations()) == before + 2  # the two zeros, not the MatMul


def test_op_dtype_mismatch_names_the_op_and_both_dtypes():
    with pytest.raises(TypeError, match=r"'Add'.*float32.*int32"):
        tf.add(tf.constant(1), tf.constant(1.0))


def test_unsupported_dtype_names_it():
    with pytest.raises(TypeError, match="'foo'"):
        tf.Variable(1, dtype="foo")


def test_assign_of_another_static_shape_fails_at_build_time(model):
    w, _, _, sess = model
    with pytest.raises(ValueError, match=r"weights.*\(2, 3\).*\(3, 3\)"):
        w.assign(np.zeros((3, 3), np.float32))
    _unchanged(sess, w)


def test_variable_without_initial_value():
    with pytest.raises(ValueError, match="initial_value"):
        tf.Variable()


# ---- running ----
def test_uninitialized_read_names_the_variable_and_the_reader():
    w = tf.Variable(np.ones(3, np.float32), name="weights")
    with tf.Session() as sess:
        with pytest.raises(errors.FailedPreconditionError, match="uninitialized value weights"):
            sess.run(w)
        with pytest.raises(
            errors.FailedPreconditionError, match=r"uninitialized value weights[\s\S]*node weights/read"
        ):
            sess.run(tf.add(w, 1.0, name="plus"))
        with pytest.raises(errors.FailedPreconditionError, match="weights"):
            sess.run(w.assign_add(np.ones(3, np.float32)))
        assert sess.run(tf.is_variable_initialized(w)) == False  # noqa: E712 - a NumPy bool


def test_placeholder_not_fed_names_it(model):
    _, _, y, sess = model
    with pytest.raises(errors.InvalidArgumentError, match="placeholder tensor 'x'"):
        sess.run(y)


@pytest.mark.parametrize(
    "value,error,match",
    [(np.ones((2, 4), np.float32), ValueError, r"shape \(2, 4\).*'x:0'.*\(\?, 3\)"),
     (np.array([["a", "b", "c"]]), TypeError, r"dtype <U1.*'x:0'.*float32"),
     (np.ones(3, np.float32), ValueError, r"shape \(3,\).*'x:0'")],
)  # fmt: skip
def test_feed_of_wrong_shape_or_dtype_names_the_tensor(model, value, error, match):
    w, x, y, sess = model
    with pytest.raises(error, match=match):
        sess.run([y, w.assign_add(np.ones((2, 3), np.float32))], {x: value})
    _unchanged(sess, w)  # rejected before anything ran


def test_feed_of_a_value_that_does_not_fit_an_int_placeholder():
    ip = tf.placeholder(tf.int32, [2], name="ip")
    with tf.Session() as sess:
        with pytest.raises(TypeError, match="'ip:0'.*int32"):
            sess.run(ip, {ip: [1.5, 2]})
        with pytest.raises(TypeError, match="'ip:0'.*int32"):
            sess.run(ip, {ip: [2**40, 2]})
        with pytest.raises(TypeError, match="'ip:0'.*int32"):
            sess.run(ip, {ip: np.array([1e20, 2.0])})  # a whole-number float out of range: no wrap
        with pytest.raises(TypeError, match="'ip:0'.*int32"):
            sess.run(ip, {ip: np.array([2.0**31, 0.0])})
        np.testing.assert_array_equal(sess.run(ip, {ip: np.array([2.0**31 - 1, -(2.0**31)])}), [2**31 - 1, -(2**31)])


def test_fetch_or_feed_from_another_graph(model):
    _, x, y, sess = model
    with tf.Graph().as_default():
        other = tf.constant(1.0, name="other")
    with pytest.raises(ValueError, match="other:0.*not an element of this graph"):
        sess.run(other)
    with pytest.raises(ValueError, match="other:0.*not an element of this graph"):
        sess.run(y, {other: 1.0})


def test_fetch_of_a_name_that_does_not_exist(model):
    _, _, _, sess = model
    with pytest.raises(KeyError, match="nope"):
        sess.run("nope:0")
    with pytest.raises(TypeError, match="None"):
        sess.run(None)


def test_assign_shape_mismatch_at_run_time_keeps_the_value(model):
    w, _, _, sess = model
    p = tf.placeholder(tf.float32, None, name="p")
    with pytest.raises(errors.InvalidArgumentError, match=r"\(2, 3\).*\[3, 3\].*weights"):
        sess.run(tf.assign(w, p), {p: np.zeros((3, 3), np.float32)})
    with pytest.raises(errors.InvalidArgumentError, match=r"weights.*\[2, 3\].*\[3, 3\]"):
        sess.run(tf.assign_add(w, p), {p: np.zeros((3, 3), np.float32)})
    with pytest.raises(ValueError, match=r"\(3, 3\).*weights"):
        w.load(np.zeros((3, 3), np.float32), sess)
    _unchanged(sess, w)


def test_runtime_reshape_of_the_wrong_size_names_the_op():
    p = tf.placeholder(tf.float32, None, name="p")
    with tf.Session() as sess:
        with pytest.raises(errors.InvalidArgumentError, match=r"Reshape.*4 values.*\[5\]"):
            sess.run(tf.reshape(p, [5]), {p: np.ones(4, np.float32)})


def test_closed_session(model, tmp_path):
    w, _, _, sess = model
    saver = tf.train.Saver([w])
    sess.close()
    with pytest.raises(RuntimeError, match="closed Session"):
        sess.run(w)
    with pytest.raises(RuntimeError, match="closed Session"):
        sess.make_callable(w)
    with pytest.raises(RuntimeError, match="closed Session"):
        saver.save(sess, str(tmp_path / "m"))
    assert _files(tmp_path) == []


def test_session_with_a_remote_target():
    with pytest.raises(errors.UnimplementedError, match="grpc://host"):
        tf.Session("grpc://host:2222")


def test_eval_without_a_default_session(model):
    w, _, _, _ = model
    with pytest.raises(ValueError, match="No default session"):
        w.eval()


# ---- Saver: save ----
def test_saver_with_no_variables():
    with pytest.raises(ValueError, match="No variables to save"):
        tf.train.Saver()
    with pytest.raises(TypeError, match="Const"):
        tf.train.Saver([tf.constant(1.0)])


def test_saver_with_one_variable_under_two_names(model):
    w, _, _, _ = model
    with pytest.raises(ValueError, match="two names"):
        tf.train.Saver({"a": w, "b": w})


def test_save_into_a_missing_directory(model, tmp_path):
    w, _, _, sess = model
    missing = tmp_path / "no" / "such"
    with pytest.raises(ValueError, match=f"{missing}.*doesn't exist"):
        tf.train.Saver([w]).save(sess, str(missing / "model.ckpt"))
    assert _files(tmp_path) == []


def test_save_of_an_uninitialized_variable_writes_nothing(model, tmp_path):
    w, _, _, sess = model
    u = tf.Variable(1.0, name="later")
    with pytest.raises(errors.FailedPreconditionError, match="uninitialized value later"):
        tf.train.Saver([w, u]).save(sess, str(tmp_path / "m"))
    assert _files(tmp_path) == []


def test_save_of_an_unsupported_dtype_writes_nothing(model, tmp_path):
    w, _, _, sess = model
    s = tf.Variable("text", name="words")
    sess.run(s.initializer)
    with pytest.raises(TypeError, match="words"):
        tf.train.Saver([w, s]).save(sess, str(tmp_path / "m"))
    with pytest.raises(TypeError, match="complex128.*c"):
        c = tf.Variable(np.ones(2, np.complex128), name="c")
        sess.run(c.initializer)
        tf.train.Saver([c], format="safetensors").save(sess, str(tmp_path / "m"))
    assert _files(tmp_path) == []


@pytest.mark.parametrize("fmt", ["tf", "safetensors"])
def test_disk_full_during_save_leaves_the_previous_checkpoint(model, tmp_path, monkeypatch, fmt):
    w, _, _, sess = model
    saver = tf.train.Saver([w], format=fmt)
    first = saver.save(sess, str(tmp_path / "m"), global_step=1)
    before = _files(tmp_path)
    state = (tmp_path / "checkpoint").read_bytes()

    monkeypatch.setattr(streaming, "os", FullDiskOS())
    with pytest.raises(OSError, match="No space left"):
        saver.save(sess, str(tmp_path / "m"), global_step=2)
    monkeypatch.undo()
    assert _files(tmp_path) == before  # no temporary, no partial checkpoint
    assert (tmp_path / "checkpoint").read_bytes() == state
    assert tf.train.latest_checkpoint(str(tmp_path)) == first


# ---- Saver: restore ----
@pytest.fixture
def saved(tmp_path):
    """A checkpoint of weights (2x3 float32, all 5) and bias (3, all 7), made in its own graph."""
    os.makedirs(tmp_path / "ckpt")
    with tf.Graph().as_default():
        w = tf.Variable(np.full((2, 3), 5, np.float32), name="weights")
        b = tf.Variable(np.full(3, 7, np.float32), name="bias")
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            return tf.train.Saver([w, b]).save(sess, str(tmp_path / "ckpt" / "m"))


def test_restore_of_a_missing_variable_names_it_and_changes_nothing(model, saved):
    w, _, _, sess = model
    extra = tf.Variable(np.zeros(2, np.float32), name="weigths_typo")
    sess.run(extra.initializer)
    with pytest.raises(errors.NotFoundError, match=r"weigths_typo not found.*did you mean: weights"):
        tf.train.Saver([w, extra]).restore(sess, saved)
    _unchanged(sess, w)


@pytest.mark.parametrize(
    "value,match",
    [(np.ones((3, 2), np.float32), r"weights.*lhs shape= \[3, 2\] rhs shape= \[2, 3\]"),
     (np.ones((2, 3), np.float64), r"weights.*expected dtype float64.*float32")],
)  # fmt: skip
def test_restore_of_a_mismatched_variable_names_it_and_changes_nothing(saved, value, match):
    w = tf.Variable(value, name="weights")
    b = tf.Variable(np.zeros(3, np.float32), name="bias")
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        with pytest.raises(errors.InvalidArgumentError, match=match):
            tf.train.Saver([w, b]).restore(sess, saved)
        np.testing.assert_array_equal(sess.run(w), value)
        np.testing.assert_array_equal(sess.run(b), np.zeros(3, np.float32))  # bias fits, but was not restored


def test_restore_from_a_path_with_no_checkpoint(model, tmp_path):
    w, _, _, sess = model
    with pytest.raises(ValueError, match="not a valid checkpoint.*nothing-here"):
        tf.train.Saver([w]).restore(sess, str(tmp_path / "nothing-here"))
    with pytest.raises(ValueError, match="None"):
        tf.train.Saver([w]).restore(sess, None)
    _unchanged(sess, w)


def test_restore_of_a_damaged_index_changes_nothing(model, saved):
    w, _, _, sess = model
    with open(saved + ".index", "r+b") as f:
        f.seek(5)
        byte = f.read(1)
        f.seek(5)
        f.write(bytes([byte[0] ^ 0x40]))
    with pytest.raises(errors.DataLossError, match=r"m\.index"):
        tf.train.Saver([w]).restore(sess, saved)
    _unchanged(sess, w)


def test_restore_of_damaged_data_names_the_variable(model, saved):
    w, _, _, sess = model
    data = saved + ".data-00000-of-00001"
    size = os.path.getsize(data)
    with open(data, "r+b") as f:
        f.seek(size - 1)
        f.write(b"\x99")  # weights is written after bias (sorted keys): its last byte
    before = sess.run(w) if sess.run(tf.is_variable_initialized(w)) else None
    with pytest.raises(errors.DataLossError, match=f"weights in {data}.*no variable was changed"):
        tf.train.Saver([w]).restore(sess, saved)
    if before is None:
        assert not sess.run(tf.is_variable_initialized(w))
    else:
        np.testing.assert_array_equal(sess.run(w), before)  # all or nothing: the old value is kept


def test_reading_a_missing_key(saved):
    with pytest.raises(errors.NotFoundError, match="Key nope not found"):
        tf.train.load_variable(saved, "nope")


def test_reading_a_missing_checkpoint(tmp_path):
    with pytest.raises(errors.NotFoundError, match="nothing-here"):
        tf.train.NewCheckpointReader(str(tmp_path / "nothing-here"))

"""Meta graphs: graphvar -> graphvar through P.meta, TensorFlow-written fixtures imported, and live
TensorFlow interop both ways (TF runs in a subprocess of a TF venv; skipped when there is none)."""

import os
import subprocess
import sys

import numpy as np
import pytest

import graphvar as tf

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures", "tf_meta_graphs")
TF_PYTHON = os.environ.get("GRAPHVAR_TF_PYTHON", "/work/tfvenv/bin/python")
FEED = np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4)
LABELS = np.eye(3, dtype=np.float32)


def _program():
    """The program of tests/fixtures/make_tf_meta_graphs.py, in graphvar."""
    x = tf.placeholder(tf.float32, [None, 4], name="x")
    labels = tf.placeholder(tf.float32, [None, 3], name="labels")
    with tf.name_scope("layer"):
        w = tf.Variable(tf.random_normal([4, 3], stddev=0.5, seed=1), name="w")
        w2 = tf.Variable(w.initialized_value() * 2.0, name="w2")
        b = tf.Variable(tf.zeros([3]), name="b")
        logits = tf.add(tf.matmul(x, w) + b, tf.reduce_sum(w2, axis=0), name="logits")
    y = tf.nn.softmax(logits, name="y")
    loss = tf.reduce_mean(tf.square(y - labels), name="loss")
    tf.summary.scalar("loss", loss)
    tf.add_to_collection(tf.GraphKeys.LOSSES, loss)
    step = tf.train.get_or_create_global_step()
    train = tf.train.AdamOptimizer(0.05).minimize(loss, global_step=step, name="train")
    tf.identity(y[:, 0], name="first")
    return train


def _feed():
    return {"x:0": FEED, "labels:0": LABELS}


def _save_graphvar_model(d):
    train = _program()
    saver = tf.train.Saver()
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(train, _feed())
        prefix = saver.save(sess, os.path.join(d, "model.ckpt"))
        values = sess.run(["y:0", "loss:0", "first:0"], _feed())
        sess.run(train, _feed())
        after = sess.run("loss:0", _feed())
    return prefix, values, after


def _import_and_run(meta, prefix):
    saver = tf.train.import_meta_graph(meta)
    with tf.Session() as sess:
        saver.restore(sess, prefix)
        values = sess.run(["y:0", "loss:0", "first:0"], _feed())
        (train_op,) = tf.get_collection(tf.GraphKeys.TRAIN_OP)
        sess.run(train_op, _feed())
        after = sess.run("loss:0", _feed())
        sess.run(tf.global_variables_initializer())  # the imported initializers run (initialized_value's cond)
    return values, after


def test_graphvar_round_trip_through_the_meta_file(tmp_path):
    prefix, want, want_after = _save_graphvar_model(str(tmp_path))
    assert os.path.exists(prefix + ".meta")
    n_ops = len(tf.get_default_graph().get_operations())
    tf.reset_default_graph()
    got, after = _import_and_run(prefix + ".meta", prefix)
    assert len(tf.get_default_graph().get_operations()) == n_ops + 1  # + the init op _import_and_run made
    for a, b in zip(want, got):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(after, want_after)
    names = sorted(v.op.name for v in tf.trainable_variables())
    assert names == ["layer/b", "layer/w", "layer/w2"]
    assert tf.train.get_global_step().op.name == "global_step"
    assert [t.name for t in tf.get_collection(tf.GraphKeys.LOSSES)] == ["loss:0"]
    assert len(tf.get_collection(tf.GraphKeys.SUMMARIES)) == 1


def test_import_scope_and_clear_devices(tmp_path):
    prefix, _, _ = _save_graphvar_model(str(tmp_path))
    tf.reset_default_graph()
    saver = tf.train.import_meta_graph(prefix + ".meta", import_scope="m", clear_devices=True)
    assert tf.get_default_graph().get_operation_by_name("m/layer/w").type == "VariableV2"
    with tf.Session() as sess:
        saver.restore(sess, prefix)
        assert sess.run("m/loss:0", {"m/x:0": FEED, "m/labels:0": LABELS}) > 0


def test_saver_def_names_tf_save_subgraph(tmp_path):
    _program()
    saver = tf.train.Saver(max_to_keep=3)
    sd = saver.as_saver_def()
    assert (sd.filename_tensor_name, sd.save_tensor_name, sd.restore_op_name) == (
        "save/Const:0", "save/control_dependency:0", "save/restore_all")  # fmt: skip
    mgd = saver.export_meta_graph()
    nodes = {n.name: n for n in mgd.graph_def.node}
    assert nodes["save/SaveV2"].op == "SaveV2" and nodes["save/RestoreV2"].op == "RestoreV2"
    assert nodes["save/restore_all"].op == "NoOp" and mgd.saver_def.max_to_keep == 3
    assert all(i.startswith("^save/Assign") for i in nodes["save/restore_all"].input)
    assert set(mgd.collection_def) >= {"variables", "trainable_variables", "train_op", "global_step", "losses"}


def test_tensorflow_written_fixture_imports_restores_and_trains():
    expected = np.load(os.path.join(FIXTURES, "expected.npz"))
    values, after = _import_and_run(os.path.join(FIXTURES, "model.ckpt.meta"), os.path.join(FIXTURES, "model.ckpt"))
    np.testing.assert_allclose(values[0], expected["y"], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(values[1], expected["loss"], rtol=1e-6)
    np.testing.assert_allclose(values[2], expected["first"], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(after, expected["loss_after_step"], rtol=1e-5)
    # TF's save subgraph was left out; its initialized_value conds became one graphvar op each
    types = {op.type for op in tf.get_default_graph().get_operations()}
    assert not types & {"SaveV2", "RestoreV2", "Switch", "Merge"} and "InitializedValue" in types


def test_missing_file_and_control_flow_errors(tmp_path):
    with pytest.raises(OSError, match="does not exist"):
        tf.train.import_meta_graph(str(tmp_path / "nope.meta"))


# ---- live TensorFlow ----
def _run_tf(script, *args):
    if not os.path.exists(TF_PYTHON):
        pytest.skip(f"no TensorFlow venv at {TF_PYTHON} (set GRAPHVAR_TF_PYTHON)")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    out = subprocess.run([TF_PYTHON, "-c", script, *args], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


TF_IMPORTS = """
import sys, numpy as np
import tensorflow.compat.v1 as tf
tf.disable_v2_behavior()
prefix, out = sys.argv[1], sys.argv[2]
saver = tf.train.import_meta_graph(prefix + ".meta")
feed = {"x:0": np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4), "labels:0": np.eye(3, dtype=np.float32)}
with tf.Session() as sess:
    saver.restore(sess, prefix)
    y, loss, first = sess.run(["y:0", "loss:0", "first:0"], feed)
    sess.run(tf.get_collection("train_op")[0], feed)
    after = sess.run("loss:0", feed)
    sess.run(tf.global_variables_initializer())
    saver.save(sess, out)
np.savez(out + ".npz", y=y, loss=loss, first=first, after=after)
"""


def test_tensorflow_imports_graphvars_meta_graph_restores_and_trains(tmp_path):
    prefix, want, want_after = _save_graphvar_model(str(tmp_path))
    _run_tf(TF_IMPORTS, prefix, str(tmp_path / "by_tf"))
    got = np.load(str(tmp_path / "by_tf.npz"))
    np.testing.assert_allclose(got["y"], want[0], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(got["loss"], want[1], rtol=1e-6)
    np.testing.assert_allclose(got["first"], want[2], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(got["after"], want_after, rtol=1e-5)
    # TensorFlow's Saver (built from graphvar's saver_def) wrote a checkpoint graphvar reads back
    tf.reset_default_graph()
    _program()
    with tf.Session() as sess:
        tf.train.Saver().restore(sess, str(tmp_path / "by_tf"))


def test_tensorflow_written_meta_graph_live(tmp_path):
    script = open(os.path.join(os.path.dirname(FIXTURES), "make_tf_meta_graphs.py")).read()
    _run_tf(script.replace('if __name__ == "__main__":', "if True:"), str(tmp_path))
    expected = np.load(str(tmp_path / "expected.npz"))
    values, after = _import_and_run(str(tmp_path / "model.ckpt.meta"), str(tmp_path / "model.ckpt"))
    np.testing.assert_allclose(values[1], expected["loss"], rtol=1e-6)
    np.testing.assert_allclose(after, expected["loss_after_step"], rtol=1e-5)


def test_file_writer_writes_the_graph_event(tmp_path):
    _program()
    with tf.summary.FileWriter(str(tmp_path), tf.get_default_graph()) as writer:
        logdir = writer.get_logdir()
    events = [e for f in os.listdir(logdir) for e in tf.train.summary_iterator(os.path.join(logdir, f))]
    graphs = [e for e in events if e.graph_def]
    assert len(graphs) == 1
    gd = tf.get_default_graph().as_graph_def()
    assert len(type(gd).FromString(graphs[0].graph_def).node) == len(gd.node)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))

"""tf.cond in meta graphs: graphvar -> graphvar through P.meta (both branches, the untaken branch not
run, gradients and a train op), the TensorFlow-written cond fixture (dropout under is_training, a cond
with gradients and a train op, piecewise_constant, a nested cond) imported without TensorFlow, and live
TensorFlow both ways (TF in a subprocess of its venv; skipped when there is none)."""

import os
import subprocess

import numpy as np
import pytest

import graphvar as tf

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures", "tf_meta_graphs")
TF_PYTHON = os.environ.get("GRAPHVAR_TF_PYTHON", "/work/tfvenv/bin/python")

USE_TANH = (True, False, True, False, True)
FEED = np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4)
LABELS = np.eye(3, dtype=np.float32)


def _program():
    """The program of tests/fixtures/make_tf_cond_meta_graphs.py, in graphvar."""
    x = tf.placeholder(tf.float32, [None, 4], name="x")
    labels = tf.placeholder(tf.float32, [None, 3], name="labels")
    is_training = tf.placeholder_with_default(False, [], name="is_training")
    use_tanh = tf.placeholder_with_default(True, [], name="use_tanh")
    dropped = tf.cond(is_training, lambda: tf.nn.dropout(x, rate=0.5, seed=7), lambda: tf.identity(x))
    dropped = tf.identity(dropped, name="dropped")
    w = tf.Variable(tf.random_normal([4, 3], stddev=0.5, seed=1), name="w")
    b = tf.Variable(tf.zeros([3]), name="b")
    h = tf.cond(use_tanh, lambda: tf.tanh(tf.matmul(dropped, w) + b), lambda: 0.5 * tf.square(tf.matmul(dropped, w)))
    h = tf.identity(h, name="h")
    loss = tf.reduce_mean(tf.square(h - labels), name="loss")
    nested = tf.cond(use_tanh, lambda: tf.cond(is_training, lambda: loss * 2.0, lambda: loss + 1.0), lambda: loss)
    tf.identity(nested, name="nested")
    step = tf.train.get_or_create_global_step()
    lr = tf.identity(tf.train.piecewise_constant(step, [2, 4], [0.1, 0.05, 0.01]), name="lr")
    tf.train.GradientDescentOptimizer(lr).minimize(loss, global_step=step, name="train")


def _feed(**kw):
    return {"x:0": FEED, "labels:0": LABELS, **{f"{k}:0": v for k, v in kw.items()}}


def _run(sess):
    """What the fixture generator records, from a session of the imported graph."""
    out = {}
    for flag in (True, False):
        out[f"h_{flag}"], out[f"loss_{flag}"], out[f"nested_{flag}"] = sess.run(
            ["h:0", "loss:0", "nested:0"], _feed(use_tanh=flag))  # fmt: skip
    out["nested_training"], out["loss_training"] = sess.run(["nested:0", "loss:0"], _feed(is_training=True))
    out["dropped_eval"] = sess.run("dropped:0", _feed())
    out["dropped_train"] = sess.run("dropped:0", _feed(is_training=True))
    losses, lrs = [], []
    for flag in USE_TANH:
        lrs.append(sess.run("lr:0"))
        sess.run("train", _feed(use_tanh=flag))
        losses.append(sess.run("loss:0", _feed(use_tanh=flag)))
    out["losses"], out["lrs"] = np.array(losses), np.array(lrs)
    return out


def _check(got, want, rtol=1e-5):
    for flag in (True, False):
        for k in ("h", "loss", "nested"):
            np.testing.assert_allclose(got[f"{k}_{flag}"], want[f"{k}_{flag}"], rtol=rtol, atol=1e-7)
    np.testing.assert_allclose(got["nested_training"], 2 * got["loss_training"], rtol=1e-6)  # the inner true branch
    np.testing.assert_array_equal(got["dropped_eval"], want["dropped_eval"])
    kept = got["dropped_train"] != 0  # dropout's draws are the backend's: each entry is 0 or x / keep_prob
    np.testing.assert_allclose(got["dropped_train"][kept], 2 * FEED[kept], rtol=1e-6)
    np.testing.assert_allclose(got["losses"], want["losses"], rtol=rtol)
    np.testing.assert_allclose(got["lrs"], want["lrs"], rtol=1e-7)


def _import(meta, prefix):
    saver = tf.train.import_meta_graph(meta)
    with tf.Session() as sess:
        saver.restore(sess, prefix)
        return _run(sess)


def test_tensorflow_written_cond_fixture_imports_and_trains():
    want = np.load(os.path.join(FIXTURES, "cond_expected.npz"))
    got = _import(os.path.join(FIXTURES, "cond_model.ckpt.meta"), os.path.join(FIXTURES, "cond_model.ckpt"))
    _check(got, want)
    types = [op.type for op in tf.get_default_graph().get_operations()]
    assert not {"Switch", "RefSwitch", "Merge"} & set(types)
    # 4 conds of the program, 4 of piecewise_constant (case + its Assert guard), 4 Merges of TF's gradient conds
    assert types.count("Cond") >= 10


def _save_graphvar(d):
    _program()
    saver = tf.train.Saver()
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        prefix = saver.save(sess, os.path.join(d, "model.ckpt"))
        want = _run(sess)
    return prefix, want


def test_graphvar_round_trip_with_conds(tmp_path):
    prefix, want = _save_graphvar(str(tmp_path))
    tf.reset_default_graph()
    got = _import(prefix + ".meta", prefix)
    _check(got, want, rtol=1e-6)
    np.testing.assert_array_equal(got["losses"], want["losses"])


def test_the_untaken_branch_does_not_run_after_import(tmp_path):
    p = tf.placeholder(tf.bool, [], name="p")
    counter = tf.Variable(0, name="counter")
    zero = tf.constant(0)
    y = tf.cond(p, lambda: tf.identity(tf.assign_add(counter, 1)), lambda: tf.identity(zero))
    tf.identity(y, name="y")
    mgd = tf.train.export_meta_graph()
    tf.reset_default_graph()
    tf.train.import_meta_graph(mgd)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        assert [sess.run("y:0", {"p:0": False}) for _ in range(3)] == [0, 0, 0]
        assert sess.run("counter:0") == 0
        assert sess.run("y:0", {"p:0": True}) == 1 and sess.run("counter:0") == 1


# ---- live TensorFlow ----
def _run_tf(script, *args):
    if not os.path.exists(TF_PYTHON):
        pytest.skip(f"no TensorFlow venv at {TF_PYTHON} (set GRAPHVAR_TF_PYTHON)")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    out = subprocess.run([TF_PYTHON, "-c", script, *args], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


TF_IMPORTS_CONDS = """
import sys, numpy as np
import tensorflow.compat.v1 as tf
tf.disable_v2_behavior()
tf.disable_control_flow_v2()
prefix, out = sys.argv[1], sys.argv[2]
saver = tf.train.import_meta_graph(prefix + ".meta")
x, labels = np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4), np.eye(3, dtype=np.float32)
def feed(**kw):
    return {"x:0": x, "labels:0": labels, **{k + ":0": v for k, v in kw.items()}}
r = {}
g = tf.get_default_graph()
assert len(tf.get_collection("cond_context")) >= 8, tf.get_collection("cond_context")
# TF's own gradient through graphvar's cond (its CondContext read back from cond_context)
w = g.get_tensor_by_name("w:0")
dw = tf.gradients(g.get_tensor_by_name("loss:0"), [w])[0]
with tf.Session() as sess:
    saver.restore(sess, prefix)
    for flag in (True, False):
        r["h_%s" % flag], r["loss_%s" % flag], r["nested_%s" % flag], r["dw_%s" % flag] = sess.run(
            ["h:0", "loss:0", "nested:0", dw], feed(use_tanh=flag))
    r["nested_training"], r["loss_training"] = sess.run(["nested:0", "loss:0"], feed(is_training=True))
    r["dropped_eval"] = sess.run("dropped:0", feed())
    r["dropped_train"] = sess.run("dropped:0", feed(is_training=True))
    losses, lrs = [], []
    for flag in (True, False, True, False, True):
        lrs.append(sess.run("lr:0"))
        sess.run("train", feed(use_tanh=flag))
        losses.append(sess.run("loss:0", feed(use_tanh=flag)))
    r["losses"], r["lrs"] = np.array(losses), np.array(lrs)
np.savez(out, **r)
"""


def test_tensorflow_imports_graphvars_conds_gradients_and_train_op(tmp_path):
    prefix, want = _save_graphvar(str(tmp_path))
    with tf.Session() as sess:  # graphvar's own gradient of the loss through the cond, at the saved values
        tf.train.Saver().restore(sess, prefix)
        dw = tf.gradients(tf.get_default_graph().get_tensor_by_name("loss:0"), [tf.trainable_variables()[0]])[0]
        want_dw = {flag: sess.run(dw, _feed(use_tanh=flag)) for flag in (True, False)}
    _run_tf(TF_IMPORTS_CONDS, prefix, str(tmp_path / "by_tf.npz"))
    got = dict(np.load(str(tmp_path / "by_tf.npz")))
    _check(got, want)
    for flag in (True, False):
        np.testing.assert_allclose(got[f"dw_{flag}"], want_dw[flag], rtol=1e-5, atol=1e-7)


def test_tensorflow_written_cond_meta_graph_live(tmp_path):
    script = open(os.path.join(os.path.dirname(FIXTURES), "make_tf_cond_meta_graphs.py")).read()
    _run_tf(script.replace('if __name__ == "__main__":', "if True:"), str(tmp_path))
    want = np.load(str(tmp_path / "cond_expected.npz"))
    _check(_import(str(tmp_path / "cond_model.ckpt.meta"), str(tmp_path / "cond_model.ckpt")), want)


if __name__ == "__main__":
    raise SystemExit(pytest.main([__file__, "-q"]))

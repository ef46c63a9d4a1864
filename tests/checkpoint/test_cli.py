"""inspect / convert command-line functions."""

from __future__ import annotations

import os
import re

import numpy as np
from ckpt_helpers import FIXTURES

from graphvar.checkpoint import open_reader
from graphvar.checkpoint.cli import convert_main, inspect_main


def test_inspect_lists_and_prints(capsys):
    prefix = os.path.join(FIXTURES, "saver", "model.ckpt-2")
    assert inspect_main([prefix]) == 0
    out = capsys.readouterr().out
    assert "scope/inner/w\tfloat32\t[4, 5]\t80 B" in out and "# 15 tensors" in out
    assert inspect_main([prefix, "--tensor", "v_int8"]) == 0
    assert "tensor_name:  v_int8" in capsys.readouterr().out
    assert inspect_main([prefix, "--all"]) == 0
    assert capsys.readouterr().out.count("tensor_name:") == 15
    assert inspect_main([prefix, "--tensor", "nope"]) == 1
    assert "not found" in capsys.readouterr().err
    assert inspect_main([prefix + "_missing"]) == 1


def test_convert_round_trip(tmp_path, capsys):
    src = os.path.join(FIXTURES, "raw")
    assert convert_main([src, str(tmp_path / "st"), "--to", "safetensors"]) == 1  # complex128 has no safetensors dtype
    assert "complex128" in capsys.readouterr().err and os.listdir(tmp_path) == []
    ours = str(tmp_path / "src")
    with open_reader(src) as r, __import__("graphvar.checkpoint", fromlist=["BundleWriter"]).BundleWriter(ours) as w:
        for k in r.keys():
            if r.dtype(k).name != "complex128":
                w.add(k, r.get_tensor(k))
        w.finish()
    assert convert_main([ours, str(tmp_path / "st"), "--to", "safetensors"]) == 0
    assert convert_main([str(tmp_path / "st.safetensors"), str(tmp_path / "back"), "--to", "tf"]) == 0
    with open_reader(ours) as a, open_reader(str(tmp_path / "back")) as b:
        assert a.keys() == b.keys()
        for k in a.keys():
            assert a.dtype(k) == b.dtype(k)
            np.testing.assert_array_equal(a.get_tensor(k), b.get_tensor(k))


def test_inspect_prints_the_meta_graph_summary(tmp_path, capsys):
    import graphvar as tf
    from graphvar.checkpoint import cli

    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None, 3], name="inputs")
        w = tf.Variable(tf.zeros([3, 2]), name="w")
        loss = tf.reduce_sum(tf.matmul(x, w))
        tf.train.GradientDescentOptimizer(0.1).minimize(loss)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            path = tf.train.Saver().save(sess, str(tmp_path / "m.ckpt"), global_step=3)
    assert cli.inspect_main([path + ".index"]) == 0
    out = capsys.readouterr().out
    assert f"# meta graph {path}.meta:" in out
    assert "#   placeholder inputs: float32 [None, 3]" in out
    assert "#   collection trainable_variables (1): w float32 [3, 2]" in out
    assert "#   collection train_op (1): GradientDescent" in out
    assert re.search(r"ops by type: .*\bMatMul \d", out) and "ApplyGradientDescent 1" in out

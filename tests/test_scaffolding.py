"""tf.app.run / tf.app.flags, tf.gfile, tf.compat text helpers, tf.logging, and the TF1 fixes
(initializer classes in get_variable, string fetches as bytes)."""

import logging

import numpy as np
import pytest

import graphvar as tf
from graphvar import flags as flags_lib


@pytest.fixture
def flags():
    flags_lib.FLAGS.reset()
    yield tf.app.flags
    flags_lib.FLAGS.reset()


def test_flags_parse_known_and_app_run_passes_the_rest(flags):
    flags.DEFINE_string("data_dir", "/tmp/data", "where")
    flags.DEFINE_integer("steps", 10, "how many")
    flags.DEFINE_float("lr", 0.5, "rate")
    flags.DEFINE_boolean("fake", False, "fake data")
    flags.DEFINE_list("layers", "3,4", "sizes")
    seen = {}

    def main(argv):
        seen.update(argv=argv, **flags.FLAGS.flag_values_dict())
        return 0

    with pytest.raises(SystemExit) as e:
        tf.app.run(main=main, argv=["prog", "--steps=3", "--fake", "--lr", "0.25", "extra", "--unknown=1"])
    assert e.value.code == 0
    assert seen == {"argv": ["prog", "extra", "--unknown=1"], "data_dir": "/tmp/data", "steps": 3, "lr": 0.25,
                    "fake": True, "layers": ["3", "4"]}  # fmt: skip
    assert tf.flags.FLAGS.steps == 3
    flags.FLAGS(["prog", "--nofake", "--layers=1,2"])
    assert flags.FLAGS.fake is False and flags.FLAGS.layers == ["1", "2"]
    with pytest.raises(flags_lib.DuplicateFlagError):
        flags.DEFINE_string("data_dir", "", "")
    with pytest.raises(flags_lib.IllegalFlagValueError):
        flags.FLAGS(["prog", "--steps=many"])


def test_gfile(tmp_path):
    d = str(tmp_path / "a" / "b")
    tf.gfile.MakeDirs(d)
    assert tf.gfile.IsDirectory(d) and tf.gfile.Exists(d)
    with tf.gfile.GFile(d + "/f.txt", "w") as f:
        f.write("hello\n")
    with tf.gfile.Open(d + "/f.txt", "rb") as f:
        assert f.read() == b"hello\n"
    tf.gfile.Copy(d + "/f.txt", d + "/g.txt")
    assert tf.gfile.ListDirectory(d) == ["f.txt", "g.txt"]
    assert tf.gfile.Glob(d + "/*.txt") == [d + "/f.txt", d + "/g.txt"]
    assert tf.gfile.Stat(d + "/g.txt").length == 6
    with pytest.raises(tf.errors.AlreadyExistsError):
        tf.gfile.Rename(d + "/f.txt", d + "/g.txt")
    tf.gfile.Rename(d + "/f.txt", d + "/g.txt", overwrite=True)
    tf.gfile.Remove(d + "/g.txt")
    with pytest.raises(tf.errors.NotFoundError):
        tf.gfile.GFile(d + "/g.txt")
    tf.gfile.DeleteRecursively(str(tmp_path / "a"))
    assert not tf.gfile.Exists(d)


def test_compat_and_logging(caplog):
    assert tf.compat.as_bytes("é") == "é".encode() and tf.compat.as_str(b"abc") == "abc"
    assert tf.compat.as_text("x") == "x" and tf.compat.v1 is tf
    with pytest.raises(TypeError):
        tf.compat.as_bytes(3)
    tf.logging.set_verbosity(tf.logging.INFO)
    assert tf.logging.get_verbosity() == logging.INFO
    with caplog.at_level(logging.INFO, logger="tensorflow"):
        tf.logging.info("step %d", 5)
        tf.logging.warn("careful")
    assert "step 5" in caplog.text and "careful" in caplog.text


def test_initializer_classes_and_string_fetches():
    v = tf.get_variable("v", [2, 3], initializer=tf.zeros_initializer)
    w = tf.get_variable("w", [2], dtype=tf.int64, initializer=tf.ones_initializer)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        np.testing.assert_array_equal(sess.run(v), np.zeros((2, 3), np.float32))
        assert sess.run(w).dtype == np.int64
        assert sess.run(tf.constant("Hello")) == b"Hello"
        assert sess.run(tf.constant(["a", "bé"])).tolist() == [b"a", "bé".encode()]
        s = tf.placeholder(tf.string, [2])
        assert sess.run(s, {s: ["x", "y"]}).tolist() == [b"x", b"y"]

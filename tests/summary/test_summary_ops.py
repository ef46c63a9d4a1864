"""Summary ops: TF1 names and tags, TF's histogram buckets (against a TF-written file), run-time errors."""

from __future__ import annotations

import os

import numpy as np
import pytest

import graphvar as tf
from graphvar.summary.buckets import DBL_MAX, default_bucket_limits, histogram_fields
from tests.fixtures.make_tf_summaries import FILE_NAME, HERE, STEPS, fixture_values

FIXTURE = os.path.join(HERE, FILE_NAME)


@pytest.fixture(autouse=True)
def fresh_graph():
    tf.reset_default_graph()


def test_names_tags_and_collections_follow_tf1():
    x = tf.placeholder(tf.float32, [None])
    with tf.name_scope("train"):
        s = tf.summary.scalar("loss", tf.reduce_mean(x))
    s2 = tf.summary.scalar("loss", tf.reduce_mean(x))  # "loss": unique at the root
    s3 = tf.summary.scalar("loss", tf.reduce_mean(x))
    h = tf.summary.histogram("w", x, family="fam")
    odd = tf.summary.scalar("bad name:1", tf.reduce_mean(x), collections=["mine"])
    m = tf.summary.merge_all()
    assert (s.op.type, s.name, s.op.inputs[0].op.name) == ("ScalarSummary", "train/loss:0", "train/loss/tags")
    assert (s2.name, s3.name, h.op.type, h.name) == ("loss:0", "loss_1:0", "HistogramSummary", "fam/w:0")
    assert odd.name == "bad_name_1:0"
    assert m.op.type == "MergeSummary" and m.name == "Merge/MergeSummary:0"
    assert tf.get_collection(tf.GraphKeys.SUMMARIES) == [s, s2, s3, h] and tf.get_collection("mine") == [odd]
    with tf.Session() as sess:
        summary = tf.Summary.FromString(sess.run(m, {x: [1.0, 2.0]}))
    assert [v.tag for v in summary.value] == ["train/loss", "loss", "loss_1", "fam/fam/w"]  # TF repeats the family
    assert summary.value[0].simple_value == 1.5


def test_merge_all_of_an_empty_collection_is_none():
    assert tf.summary.merge_all() is None


def test_bucket_limits_are_tfs():
    limits = default_bucket_limits()
    assert limits.size == 1551 and limits[775] == 0.0 and limits[-1] == DBL_MAX and limits[0] == -DBL_MAX
    assert limits[776] == 1e-12 and np.all(np.diff(limits) > 0) and np.array_equal(limits[:775], -limits[776:][::-1])


def test_empty_histogram_encodes_as_tf():
    f = histogram_fields(np.zeros(0))
    assert (f["min"], f["max"], f["num"], f["bucket_limit"], f["bucket"]) == (DBL_MAX, -DBL_MAX, 0.0, [DBL_MAX], [0.0])


def _tf_fixture_summaries() -> dict[int, list]:
    by_step: dict[int, list] = {}
    for event in tf.train.summary_iterator(FIXTURE):
        if event.HasField("summary"):
            by_step.setdefault(event.step, []).extend(event.summary.value)
    return by_step


def test_same_summaries_as_tensorflow_bit_for_bit():
    """The fixture's summaries (TensorFlow 2.21) recomputed by graphvar from the same inputs."""
    loss = tf.placeholder(tf.float32, [], name="loss_in")
    weights = tf.placeholder(tf.float32, [None], name="weights_in")
    ints = tf.placeholder(tf.int32, [None], name="ints_in")
    tf.summary.scalar("loss", loss)
    tf.summary.histogram("weights", weights)
    tf.summary.histogram("ints", ints, family="counts")
    merged = tf.summary.merge_all()
    expected = _tf_fixture_summaries()
    assert sorted(expected) == list(STEPS)
    with tf.Session() as sess:
        for step in STEPS:
            v = fixture_values(step)
            ours = tf.Summary.FromString(sess.run(merged, {loss: v["loss"], weights: v["weights"], ints: v["ints"]}))
            ours.value.add(tag="lr", simple_value=v["lr"])
            assert [x.tag for x in ours.value] == [x.tag for x in expected[step]]
            for mine, theirs in zip(ours.value, expected[step]):
                assert mine == theirs, mine.tag  # every field, each bucket limit and count exactly


@pytest.mark.parametrize("bad, what", [(np.nan, "Nan"), (np.inf, "Infinity"), (-np.inf, "Infinity")])
def test_histogram_of_non_finite_values_fails_as_tf(bad, what):
    x = tf.placeholder(tf.float32, [None])
    h = tf.summary.histogram("h", x)
    with (
        tf.Session() as sess,
        pytest.raises(tf.errors.InvalidArgumentError, match=f"{what} in summary histogram for: h"),
    ):
        sess.run(h, {x: [1.0, bad]})


def test_scalar_of_a_vector_fails_at_run_time():
    x = tf.placeholder(tf.float32, [None])
    s = tf.summary.scalar("s", x)  # TF accepts it when building
    with (
        tf.Session() as sess,
        pytest.raises(tf.errors.InvalidArgumentError, match=r"not the same shape: \[\] != \[2\]"),
    ):
        sess.run(s, {x: [1.0, 2.0]})


def test_merge_rejects_duplicate_tags():
    x = tf.constant(1.0)
    a = tf.summary.scalar("a", x)
    m = tf.summary.merge([a, a])
    with tf.Session() as sess, pytest.raises(tf.errors.InvalidArgumentError, match="Duplicate tag a"):
        sess.run(m)


def test_summary_ops_check_input_types():
    with pytest.raises(TypeError, match="real number"):
        tf.summary.scalar("s", tf.constant("text"))
    with pytest.raises(TypeError, match="string inputs"):
        tf.summary.merge([tf.constant(1.0)])

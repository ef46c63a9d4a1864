"""Event files: what FileWriter writes, read back by graphvar and by TensorFlow's own reader."""

from __future__ import annotations

import glob
import os
import socket

import numpy as np
import pytest

import graphvar as tf
from graphvar.summary.record import tf_record_iterator
from tests.fixtures.make_tf_summaries import FILE_NAME, HERE
from tests.summary.tf_python import run_tf


@pytest.fixture(autouse=True)
def fresh_graph():
    tf.reset_default_graph()


def _events(logdir) -> list:
    (path,) = glob.glob(os.path.join(str(logdir), "events.out.tfevents.*"))
    return list(tf.train.summary_iterator(path))


def test_file_name_and_version_record(tmp_path):
    with tf.summary.FileWriter(str(tmp_path / "logs"), filename_suffix=".v1") as w:
        path = w._writer.path
    name = os.path.basename(path)
    prefix, seconds, host_suffix = name[:20], name[20:30], name[31:]
    assert prefix == "events.out.tfevents." and seconds.isdigit() and host_suffix == socket.gethostname() + ".v1"
    (first,) = _events(tmp_path / "logs")
    assert first.file_version == "brain.Event:2" and first.wall_time > 0


def test_add_summary_bytes_and_protos_with_steps(tmp_path):
    with tf.summary.FileWriter(str(tmp_path)) as w:
        w.add_summary(tf.Summary(value=[tf.Summary.Value(tag="lr", simple_value=0.5)]), global_step=3)
        w.add_summary(tf.Summary(value=[tf.Summary.Value(tag="x", simple_value=2.0)]).SerializeToString(), np.int64(4))
        w.add_session_log(tf.SessionLog(status=tf.SessionLog.START), 5)
    events = _events(tmp_path)
    assert [e.step for e in events] == [0, 3, 4, 5]
    assert [e.summary.value[0].simple_value for e in events[1:3]] == [0.5, 2.0]
    assert events[3].session_log.status == tf.SessionLog.START


def test_flush_makes_events_readable_before_close(tmp_path):
    w = tf.summary.FileWriter(str(tmp_path), flush_secs=3600, max_queue=2)
    for step in range(20):  # more than the queue holds: add_summary waits, nothing is lost
        w.add_summary(tf.Summary(value=[tf.Summary.Value(tag="s", simple_value=step)]), step)
    w.flush()
    assert [e.step for e in _events(tmp_path)][1:] == list(range(20))
    w.close()
    w.close()  # idempotent


def test_reopen_starts_a_new_file(tmp_path):
    w = tf.summary.FileWriter(str(tmp_path))
    w.close()
    w.reopen()
    w.add_summary(tf.Summary(value=[tf.Summary.Value(tag="s", simple_value=1.0)]), 1)
    w.close()
    assert len(glob.glob(str(tmp_path / "events.*"))) == 2


def test_writer_cache_shares_one_writer(tmp_path):
    a, b = tf.summary.FileWriterCache.get(str(tmp_path)), tf.summary.FileWriterCache.get(str(tmp_path))
    assert a is b
    tf.summary.FileWriterCache.clear()


def test_graphvar_reads_a_tensorflow_event_file():
    events = list(tf.train.summary_iterator(os.path.join(HERE, FILE_NAME)))
    assert events[0].file_version == "brain.Event:2"
    assert any(e.WhichOneof("what") == "graph_def" for e in events)
    lr = [(e.step, v.simple_value) for e in events for v in e.summary.value if v.tag == "lr"]
    assert lr == [(0, pytest.approx(0.1)), (1, pytest.approx(0.05)), (2, pytest.approx(0.025))]
    assert len(list(tf_record_iterator(os.path.join(HERE, FILE_NAME)))) == len(events)


_TF_READ = """
import glob, json, sys
import tensorflow as tf
out = []
for e in tf.compat.v1.train.summary_iterator(glob.glob(sys.argv[1] + "/events.out.tfevents.*")[0]):
    vals = [[v.tag, v.simple_value if v.HasField("simple_value") else None,
             [v.histo.min, v.histo.max, v.histo.num, v.histo.sum, v.histo.sum_squares,
              list(v.histo.bucket_limit), list(v.histo.bucket)] if v.HasField("histo") else None]
            for v in e.summary.value]
    out.append([e.step, e.file_version, vals])
print(json.dumps(out))
"""


def test_tensorflow_reads_a_graphvar_event_file(tmp_path):
    x = tf.placeholder(tf.float32, [None])
    tf.summary.scalar("avg", tf.reduce_mean(x))
    tf.summary.histogram("x", x)
    merged = tf.summary.merge_all()
    feeds = [np.array([1.0, 2.0, 4.0], np.float32), np.array([-1.5, 0.0, 1e-3, 9.0], np.float32)]
    with tf.Session() as sess, tf.summary.FileWriter(str(tmp_path), sess.graph) as w:
        ours = [tf.Summary.FromString(sess.run(merged, {x: f})) for f in feeds]
        for step, s in enumerate(ours):
            w.add_summary(s, step * 10)
    read = run_tf(_TF_READ, str(tmp_path))
    assert read[0][1] == "brain.Event:2"
    summaries = [r for r in read if r[2]]
    assert [r[0] for r in summaries] == [0, 10]
    for (_step, _, values), mine in zip(summaries, ours):
        assert values[0][:2] == ["avg", mine.value[0].simple_value]
        h = mine.value[1].histo
        assert values[1][2] == [h.min, h.max, h.num, h.sum, h.sum_squares, list(h.bucket_limit), list(h.bucket)]


def test_events_of_an_unclosed_writer_survive_a_normal_exit(tmp_path):
    import subprocess
    import sys

    code = (
        "import graphvar as tf, sys\n"
        "w = tf.summary.FileWriter(sys.argv[1], flush_secs=3600)\n"
        "w.add_summary(tf.Summary(value=[tf.Summary.Value(tag='a', simple_value=1.0)]), 7)\n"
    )
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=True, cwd=root, timeout=120)
    assert [(e.step, e.WhichOneof("what")) for e in _events(tmp_path)] == [(0, "file_version"), (7, "summary")]

"""Saver.save writes P.meta every time, exporting the graph again only when it (or a collection) changed."""

from __future__ import annotations

from unittest import mock

import graphvar as tf
from graphvar.framework import meta_graph_api


def _ops_in_meta(path: str) -> set[str]:
    from graphvar.framework.meta_graph import read_meta_graph_file

    return {n.name for n in read_meta_graph_file(path).graph_def.node}


def test_meta_graph_is_exported_once_per_graph_version(tmp_path):
    with tf.Graph().as_default():
        v = tf.Variable(tf.zeros([3]), name="v")
        saver = tf.train.Saver()
        with tf.Session() as sess:
            sess.run(v.initializer)
            with mock.patch.object(meta_graph_api.graph_io, "export_graph_def",
                                   wraps=meta_graph_api.graph_io.export_graph_def) as export:  # fmt: skip
                first = saver.save(sess, str(tmp_path / "m"), global_step=1)
                second = saver.save(sess, str(tmp_path / "m"), global_step=2)
                assert export.call_count == 1  # same graph: the serialized meta graph is reused
                assert _ops_in_meta(first + ".meta") == _ops_in_meta(second + ".meta")
                tf.identity(v, name="added_later")  # the graph changed
                third = saver.save(sess, str(tmp_path / "m"), global_step=3)
                assert export.call_count == 2
                assert "added_later" in _ops_in_meta(third + ".meta")
                tf.add_to_collection("my_things", v)  # only a collection changed
                fourth = saver.save(sess, str(tmp_path / "m"), global_step=4)
                assert export.call_count == 3
    from graphvar.framework.meta_graph import read_meta_graph_file

    assert "my_things" in read_meta_graph_file(fourth + ".meta").collection_def

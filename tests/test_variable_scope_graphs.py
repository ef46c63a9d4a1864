"""Issue 12: variable-scope state belongs to its graph (not to an id() CPython may reuse)."""

from __future__ import annotations

import gc

import graphvar as tf


def test_fresh_graphs_never_inherit_a_dead_graphs_reuse():
    for _ in range(300):
        g = tf.Graph()
        with g.as_default():
            tf.get_variable_scope().reuse_variables()
            assert tf.get_variable_scope().reuse is True
        del g
        with tf.Graph().as_default():
            assert tf.get_variable_scope().reuse is False
            tf.get_variable("w", [1])  # refused when a dead graph's reuse=True leaked in


def test_reset_default_graph_starts_with_fresh_scopes():
    for _ in range(100):
        tf.reset_default_graph()
        with tf.variable_scope("s"):
            tf.get_variable_scope().reuse_variables()
        tf.get_variable_scope().reuse_variables()
        tf.reset_default_graph()
        gc.collect()
        assert tf.get_variable_scope().reuse is False
        tf.get_variable("w", [1])
    tf.reset_default_graph()


def test_scope_state_dies_with_its_graph():
    import weakref

    g = tf.Graph()
    with g.as_default(), tf.variable_scope("a"):
        tf.get_variable("w", [1])
    ref = weakref.ref(g)
    del g
    gc.collect()
    assert ref() is None

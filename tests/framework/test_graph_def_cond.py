"""tf.cond in GraphDefs: TF1's Switch / Merge form on export, Cond ops back on import (nested conds,
tf.case, several outputs, gradients), and the control flow that still is refused by name."""

import numpy as np
import pytest

import graphvar as tf
from graphvar.proto import graph_pb2


def _round_trip(fetches, feeds):
    """(values before, values after a GraphDef round trip into a new graph) for each feed dict."""
    g = tf.get_default_graph()
    # a several-output Cond comes back as one Cond per Merge (`cond/Merge`, `cond/Merge_1`): fetch by identities
    names = [tf.identity(t, name=f"out{i}").name for i, t in enumerate(fetches)]
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        want = [sess.run(names, f) for f in feeds]
    gd = g.as_graph_def()
    with tf.Graph().as_default() as g2:
        tf.import_graph_def(gd, name="")
        assert not {op.type for op in g2.get_operations()} & {"Switch", "Merge"}
        with tf.Session() as sess:  # a GraphDef has no variables collection: run the initializers by name
            sess.run([op for op in g2.get_operations() if op.name.endswith("/Assign")])
            got = [sess.run(names, f) for f in feeds]
    return gd, want, got


def test_export_is_tf1s_cond():
    p = tf.placeholder(tf.bool, [], name="p")
    x = tf.placeholder(tf.float32, [2], name="x")
    tf.cond(p, lambda: x * 2.0, lambda: tf.constant([0.0, 1.0]))
    nodes = {n.name: n for n in tf.get_default_graph().as_graph_def().node}
    assert nodes["cond"].op == "Merge" and nodes["cond/pred_id"].input == ["p"]
    assert nodes["cond/Switch"].op == "Switch" and list(nodes["cond/Switch"].input) == ["p", "p"]
    assert nodes["cond/switch_t"].input == ["cond/Switch:1"] and nodes["cond/switch_f"].input == ["cond/Switch"]
    false_in, true_in = nodes["cond"].input
    assert nodes[true_in].op == "Mul" and nodes[nodes[true_in].input[0].split(":")[0]].op == "Switch"
    assert nodes[true_in].input[0].endswith(":1") and list(nodes[false_in].input) == ["^cond/switch_f"]


def test_both_branches_nested_and_case_round_trip():
    p = tf.placeholder(tf.bool, [], name="p")
    q = tf.placeholder(tf.bool, [], name="q")
    x = tf.placeholder(tf.float32, [None, 2], name="x")
    v = tf.Variable([1.0, -2.0], name="v")
    nested = tf.cond(p, lambda: tf.cond(q, lambda: x * v, lambda: x - 1.0), lambda: tf.tanh(x))
    pair = tf.cond(q, lambda: (x + 1.0, tf.reduce_sum(x)), lambda: (x * 3.0, tf.constant(7.0)))
    k = tf.placeholder(tf.int32, [], name="k")
    case = tf.case([(tf.equal(k, 0), lambda: x * 10.0), (tf.equal(k, 1), lambda: x * 20.0)], default=lambda: x)
    loss = tf.reduce_sum(nested * pair[0] + case)
    grad = tf.gradients(loss, [v, x])
    xs = np.array([[0.5, -1.5], [2.0, 0.25]], np.float32)
    feeds = [{"p:0": a, "q:0": b, "k:0": c, "x:0": xs} for a in (True, False) for b in (True, False) for c in (0, 1, 2)]
    _, want, got = _round_trip([nested, pair[0], pair[1], case, *grad], feeds)
    for w, g in zip(want, got):
        for a, b in zip(w, g):
            np.testing.assert_array_equal(a, b)


def _graph_def(*nodes):
    gd = graph_pb2.GraphDef()
    for name, op, inputs in nodes:
        n = gd.node.add(name=name, op=op, input=inputs)
        n.attr["T"].type = n.attr["dtype"].type = 1
    return gd


def test_while_loop_is_refused_naming_its_node():
    gd = _graph_def(("x", "Placeholder", []), ("while/Enter", "Enter", ["x"]),
                    ("while/Merge", "Merge", ["while/Enter", "while/NextIteration"]),
                    ("while/NextIteration", "NextIteration", ["while/Merge"]))  # fmt: skip
    with tf.Graph().as_default() as g:
        with pytest.raises(ValueError, match=r"'while/Enter' \(op type 'Enter'\): tf.while_loop"):
            tf.import_graph_def(gd)
        assert g.get_operations() == []


def test_merge_that_is_no_cond_and_branch_index_reads_are_refused():
    gd = _graph_def(("a", "Placeholder", []), ("b", "Placeholder", []), ("m", "Merge", ["a", "b"]))
    with tf.Graph().as_default(), pytest.raises(ValueError, match=r"'m' \(op type 'Merge'\): its inputs are not"):
        tf.import_graph_def(gd)
    with tf.Graph().as_default():
        p = tf.placeholder(tf.bool, [], name="p")
        x = tf.placeholder(tf.float32, [], name="x")
        tf.cond(p, lambda: x + 1.0, lambda: x)
        gd = tf.get_default_graph().as_graph_def()
    gd.node.add(name="idx", op="Identity", input=["cond:1"]).attr["T"].type = 3
    with tf.Graph().as_default(), pytest.raises(ValueError, match=r"'idx'.*branch index"):
        tf.import_graph_def(gd)

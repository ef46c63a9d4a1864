"""GraphDef export / import: TF's op types and attrs, graphvar -> graphvar round trips, import errors."""

import numpy as np
import pytest

import graphvar as tf
from graphvar.framework import graph_io_rules, tf_values
from graphvar.framework.graph_io_table import NOT_YET_EXPORTED, RULES
from graphvar.framework.op_registry import OP_DEFS
from graphvar.proto import graph_pb2


def test_every_graphvar_op_type_has_an_entry():
    assert sorted(set(OP_DEFS) - set(RULES) - set(NOT_YET_EXPORTED)) == []


def _program():
    x = tf.placeholder(tf.float32, [None, 4], name="x")
    with tf.name_scope("layer"), tf.device("/cpu:0"):
        w = tf.Variable(tf.random_uniform([4, 3], -0.5, 0.5, seed=3), name="w")
        w2 = tf.Variable(w.initialized_value() + 1.0, name="w2")
        b = tf.Variable(tf.zeros([3]), name="b")
        h = tf.nn.relu(tf.matmul(x, w) + b)
    y = tf.nn.softmax(h, name="y")
    parts = [
        tf.reduce_sum(y, axis=1, keepdims=True), tf.reduce_mean(y), tf.reshape(y, [-1]), tf.transpose(y),
        tf.concat([y, y], 1), tf.expand_dims(y, 0), tf.argmax(y, 1), tf.cumsum(y, axis=1), tf.reverse(y, [1]),
        tf.pad(y, [[1, 0], [0, 2]]), tf.pad(y, [[1, 0], [0, 2]], constant_values=2.0), tf.split(y, 3, axis=1)[1],
        tf.one_hot(tf.argmax(y, 1), 3), tf.gather(y, [0, 0], axis=1), y[:, 1], y[::-1, 1:], y[..., None, 0],
        tf.squeeze(tf.expand_dims(y, 2)), tf.squeeze(tf.expand_dims(y, 2), [2]), tf.range(3), tf.linspace(0.0, 1.0, 4),
        tf.fill([2, 2], 7.0), tf.cast(y > 0.3, tf.int32), tf.shape(y), tf.nn.log_softmax(y), w2,
        tf.constant(["a", "bc"]), tf.constant(np.arange(6, dtype=np.int64).reshape(2, 3)), tf.constant(2.5, tf.float16),
    ]  # fmt: skip
    loss = tf.reduce_mean(tf.square(y - 0.25), name="loss")
    train = tf.train.MomentumOptimizer(0.1, 0.9).minimize(loss, global_step=tf.train.get_or_create_global_step())
    return x, parts, loss, train


def _values(sess, fetches, feed):
    sess.run(tf.global_variables_initializer())
    return sess.run(fetches, feed)


def test_round_trip_into_a_new_graph_computes_the_same():
    feed = np.linspace(-1, 1, 8, dtype=np.float32).reshape(2, 4)
    x, parts, loss, train = _program()
    names = [t.name for t in parts]
    with tf.Session() as sess:
        want = _values(sess, parts + [loss], {x: feed})
        sess.run(train, {x: feed})
    gd = tf.get_default_graph().as_graph_def(add_shapes=True)
    assert gd.versions.producer > 0
    by_name = {n.name: n for n in gd.node}
    assert by_name["layer/w"].op == "VariableV2" and by_name["layer/w"].device == "/device:CPU:0"
    assert by_name["Sum"].input[1] == "Sum/reduction_indices" and by_name["Sum"].attr["keep_dims"].b
    assert any(n.op == "Merge" and n.name.endswith("w/initialized_value") for n in gd.node)
    assert by_name["layer/Add"].op == "AddV2" and by_name["layer/Add"].attr["T"].type == tf.float32.as_datatype_enum
    with tf.Graph().as_default() as g2:
        tf.import_graph_def(gd, name="")
        assert len(g2.get_operations()) == len(tf.Graph.get_operations(x.graph))
        feed_t = g2.get_tensor_by_name("x:0")
        fetches = [g2.get_tensor_by_name(n) for n in names] + [g2.get_tensor_by_name("loss:0")]
        with tf.Session() as sess:
            sess.run([g2.get_operation_by_name(f"layer/{v}/Assign") for v in ("w", "b")])
            sess.run(g2.get_operation_by_name("layer/w2/Assign"))
            got = sess.run(fetches, {feed_t: feed})
    # random draws are the same op with the same seeds, so the same values
    for a, b in zip(want, got):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_export_again_after_import_is_the_same_graph_def():
    _program()
    gd = tf.get_default_graph().as_graph_def()
    with tf.Graph().as_default() as g2:
        tf.import_graph_def(gd, name="")
        again = g2.as_graph_def()
    assert [n.name for n in again.node] == [n.name for n in gd.node]
    for a, b in zip(gd.node, again.node):  # the same nodes; import fills in TF's defaults (MatMul's grad_a, ...)
        assert (a.op, list(a.input), a.device) == (b.op, list(b.input), b.device), a.name
        assert all(b.attr[k] == v for k, v in a.attr.items()), a.name


def test_import_scope_input_map_and_return_elements():
    x = tf.placeholder(tf.float32, [2], name="x")
    y = tf.multiply(x, 3.0, name="y")
    gd = y.graph.as_graph_def()
    with tf.Graph().as_default():
        z = tf.constant([1.0, 2.0], name="z")
        (out, op) = tf.import_graph_def(gd, input_map={"x:0": z}, return_elements=["y:0", "y"])
        assert out.name == "import/y:0" and op.name == "import/y"
        with tf.Session() as sess:
            np.testing.assert_array_equal(sess.run(out), [3.0, 6.0])
        with pytest.raises(ValueError, match="not found in graph_def"):
            tf.import_graph_def(gd, input_map={"nope:0": z})


def test_unknown_op_type_names_the_node_and_adds_nothing():
    gd = graph_pb2.GraphDef()
    gd.node.add(name="a", op="Placeholder").attr["dtype"].type = 1
    gd.node.add(name="fancy", op="FancyTFOp", input=["a"])
    with tf.Graph().as_default() as g:
        with pytest.raises(ValueError, match=r"node 'fancy' \(op type 'FancyTFOp'\): graphvar has no such op"):
            tf.import_graph_def(gd)
        assert g.get_operations() == []


def test_control_flow_is_refused_with_a_clear_error():
    gd = graph_pb2.GraphDef()
    p = gd.node.add(name="p", op="Placeholder")
    p.attr["dtype"].type = 10
    gd.node.add(name="cond/Switch", op="Switch", input=["p", "p"]).attr["T"].type = 10
    with tf.Graph().as_default(), pytest.raises(ValueError, match=r"'cond/Switch' \(op type 'Switch'\): control flow"):
        tf.import_graph_def(gd)


def test_computed_axis_where_graphvar_needs_a_constant():
    gd = graph_pb2.GraphDef()
    for n in ("x", "a"):
        gd.node.add(name=n, op="Placeholder").attr["dtype"].type = 3
    node = gd.node.add(name="t", op="Transpose", input=["x", "a"])
    node.attr["T"].type = node.attr["Tperm"].type = 3
    with tf.Graph().as_default(), pytest.raises(ValueError, match=r"'t' \(op type 'Transpose'\).*constant 'perm'"):
        tf.import_graph_def(gd)


@pytest.mark.parametrize("key", [2, (slice(None), 1), (slice(1, None, 2), Ellipsis, None, -1), (slice(None, -1),)])
def test_strided_slice_keys_round_trip(key):
    begin, end, strides, masks = graph_io_rules.key_to_tf(key)
    back = graph_io_rules.key_from_tf(np.array(begin), np.array(end), np.array(strides), masks)
    x = np.arange(60).reshape(3, 4, 5)
    np.testing.assert_array_equal(x[key], x[back])


@pytest.mark.parametrize("value", [np.float32(1.5), np.arange(6, dtype=np.int32).reshape(2, 3), np.array([True, False]),
                                   np.array([b"a", b"xyz"], dtype=object), np.array(1 + 2j, np.complex64),
                                   np.array([0.5, 2], np.float16), np.array(7, np.int64)])  # fmt: skip
def test_tensor_proto_round_trip(value):
    arr = np.asarray(value)
    dt = tf.string if arr.dtype == object else tf.as_dtype(arr.dtype)
    back = tf_values.tensor_from_proto(tf_values.tensor_to_proto(arr, dt))
    assert back.shape == arr.shape
    np.testing.assert_array_equal(back, arr)


def test_short_typed_list_is_padded_as_tf_reads_it():
    proto = tf_values.tensor_to_proto(np.float32(0), tf.float32)
    proto.tensor_shape.dim.add(size=3)
    np.testing.assert_array_equal(tf_values.tensor_from_proto(proto), [0, 0, 0])


def test_write_graph_text_and_binary(tmp_path):
    tf.constant(1.0, name="c")
    path = tf.train.write_graph(tf.get_default_graph(), str(tmp_path), "g.pbtxt")
    assert 'name: "c"' in open(path).read()
    path = tf.train.write_graph(tf.get_default_graph().as_graph_def(), str(tmp_path), "g.pb", as_text=False)
    assert graph_pb2.GraphDef.FromString(open(path, "rb").read()).node[0].name == "c"

import threading

import numpy as np
import pytest

import graphvar as tf


def test_op_and_tensor_naming_follows_tf():
    a = tf.constant(1.0, name="w")
    b = tf.constant(2.0, name="w")
    c = tf.constant(3.0, name="w")
    assert (a.op.name, b.op.name, c.op.name) == ("w", "w_1", "w_2")
    assert a.name == "w:0" and a.value_index == 0
    d = tf.constant(1.0)
    assert d.op.name == "Const" and d.op.type == "Const"


def test_uniquified_names_do_not_collide_with_explicit_suffixes():
    tf.constant(1, name="w_1")
    assert tf.constant(1, name="w").op.name == "w"
    assert tf.constant(1, name="w").op.name == "w_2"


def test_name_scope_nesting_and_reuse():
    with tf.name_scope("outer") as scope:
        assert scope == "outer/"
        with tf.name_scope("inner"):
            t = tf.constant(1.0, name="c")
    assert t.op.name == "outer/inner/c"
    with tf.name_scope("outer") as scope2:
        assert scope2 == "outer_1/"
    with tf.name_scope("outer/"):  # an absolute scope is reused as-is
        assert tf.constant(1.0, name="c").op.name == "outer/c"


def test_graph_default_and_get_by_name():
    g = tf.Graph()
    with g.as_default():
        assert tf.get_default_graph() is g
        c = tf.constant([1.0, 2.0], name="c")
    assert tf.get_default_graph() is not g
    assert c.graph is g
    assert g.get_tensor_by_name("c:0") is c
    assert g.get_operation_by_name("c") is c.op
    with pytest.raises(KeyError, match="does not exist"):
        g.get_tensor_by_name("nope:0")
    with pytest.raises(KeyError, match="only has 1 outputs"):
        g.get_tensor_by_name("c:3")


def test_reset_default_graph_inside_nested_graph_is_refused():
    with tf.Graph().as_default():
        with pytest.raises(AssertionError):
            tf.reset_default_graph()


def test_static_shapes_partial_and_full():
    x = tf.placeholder(tf.float32, [None, 3])
    assert x.get_shape().as_list() == [None, 3]
    assert x.shape.ndims == 2 and not x.shape.is_fully_defined()
    assert x.shape[1].value == 3 and x.shape[0].value is None
    u = tf.placeholder(tf.float32)
    assert u.shape.ndims is None
    with pytest.raises(ValueError):
        u.shape.as_list()
    x.set_shape([4, 3])
    assert x.shape.as_list() == [4, 3]
    with pytest.raises(ValueError, match="incompatible"):
        x.set_shape([4, 5])


def test_collections_and_scope_filter():
    tf.add_to_collection("stuff", tf.constant(1, name="a/x"))
    tf.add_to_collection("stuff", tf.constant(2, name="b/x"))
    assert len(tf.get_collection("stuff")) == 2
    assert [t.name for t in tf.get_collection("stuff", scope="a")] == ["a/x:0"]
    ref = tf.get_collection_ref("other")
    ref.append(1)
    assert tf.get_collection("other") == [1]
    assert tf.get_collection("missing") == []


def test_control_dependencies_order_and_clearing():
    v = tf.Variable(0, name="v")
    with tf.Session() as sess:
        sess.run(v.initializer)
        inc = v.assign_add(1)
        with tf.control_dependencies([inc]):
            read = tf.identity(v)
            with tf.control_dependencies(None):
                free = tf.identity(v)
        assert inc.op in read.op.control_inputs
        assert free.op.control_inputs == []
        assert sess.run(read) == 1
        assert sess.run(free) == 1
        assert sess.run(read) == 2


def test_group_and_no_op_run_everything():
    a = tf.Variable(0, name="a")
    b = tf.Variable(0, name="b")
    with tf.Session() as sess:
        sess.run([a.initializer, b.initializer])
        g = tf.group(a.assign(5), b.assign(7))
        assert g.type == "NoOp" and sess.run(g) is None
        assert sess.run([a, b]) == [5, 7]
        assert sess.run(tf.no_op()) is None


def test_device_scopes_are_canonical_and_nest():
    with tf.device("/cpu:0"):
        a = tf.constant(1.0)
        with tf.device("/gpu:1"):
            b = tf.constant(1.0)
        with tf.device(None):
            c = tf.constant(1.0)
    assert a.device == "/device:CPU:0" and a.op.device == "/device:CPU:0"
    assert b.device == "/device:GPU:1"
    assert c.device == ""
    with tf.device(lambda op: "/cpu:0" if op.type == "Const" else ""):
        assert tf.constant(1).device == "/device:CPU:0"


def test_gpu_placed_ops_run_on_host_without_cuda(monkeypatch, capsys):
    from graphvar import backends

    monkeypatch.setattr(backends, "_cuda", False)
    with tf.device("/gpu:0"):
        v = tf.Variable(tf.ones([3]), name="v")
    with tf.Session(config=tf.ConfigProto(log_device_placement=True)) as sess:
        sess.run(v.initializer)
        np.testing.assert_array_equal(sess.run(v), np.ones(3, np.float32))
    assert "/device:CPU:0" in capsys.readouterr().err


def test_convert_to_tensor_python_and_numpy_values():
    assert tf.convert_to_tensor(1.5).dtype == tf.float32
    assert tf.convert_to_tensor(3).dtype == tf.int32
    assert tf.convert_to_tensor(2**40).dtype == tf.int64
    assert tf.convert_to_tensor(True).dtype == tf.bool
    assert tf.convert_to_tensor(np.zeros(2, np.float64)).dtype == tf.float64
    assert tf.convert_to_tensor([[1, 2], [3, 4]]).shape.as_list() == [2, 2]
    t = tf.constant(1, dtype=tf.int32)
    assert tf.convert_to_tensor(t) is t
    with pytest.raises(ValueError, match="requested dtype float32"):
        tf.convert_to_tensor(t, dtype=tf.float32)


def test_tensor_is_not_a_python_bool_and_hashable():
    t = tf.constant(1)
    with pytest.raises(TypeError):
        bool(t)
    assert {t: 1}[t] == 1


def test_mixing_graphs_is_an_error():
    g1, g2 = tf.Graph(), tf.Graph()
    with g1.as_default():
        a = tf.constant(1.0)
    with g2.as_default():
        b = tf.constant(1.0)
        with pytest.raises(ValueError, match="same graph"):
            tf.add(a, b)


def test_finalized_graph_refuses_new_ops():
    g = tf.Graph()
    with g.as_default():
        tf.constant(1)
        g.finalize()
        with pytest.raises(RuntimeError, match="finalized"):
            tf.constant(2)


def test_graph_construction_from_several_threads_gives_unique_names():
    g = tf.Graph()
    names = []

    def build():
        with g.as_default():
            for _ in range(200):
                names.append(tf.constant(1.0, name="c").op.name)

    threads = [threading.Thread(target=build) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(names) == 800 and len(set(names)) == 800
    assert len(g.get_operations()) == 800


def test_invalid_names_are_rejected_like_tf():
    for bad in ("a:b", "x y", "_hidden"):
        with pytest.raises(ValueError, match="not a valid node name"):
            tf.constant(1, name=bad)
    with pytest.raises(ValueError, match="not a valid scope name"):
        with tf.name_scope("bad scope"):
            pass
    with pytest.raises(ValueError, match="not a valid"):
        tf.Variable(1, name="w:0")
    assert tf.constant(1, name="a/b-c.d").op.name == "a/b-c.d"

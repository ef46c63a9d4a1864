"""Threads: concurrent Session.run, locked assign_add, saves during assigns, graph building."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import graphvar as tf
from graphvar import errors


def _run_threads(n: int, target, *args) -> None:
    """Runs target(i, *args) in n threads started together; re-raises the first failure."""
    failures: list[BaseException] = []
    barrier = threading.Barrier(n)

    def body(i: int) -> None:
        try:
            barrier.wait()
            target(i, *args)
        except BaseException as e:  # noqa: BLE001 - handed to the main thread
            failures.append(e)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    if failures:
        raise failures[0]


def test_concurrent_runs_of_different_fetches_are_correct():
    x = tf.placeholder(tf.float32, [None], name="x")
    w = tf.Variable(np.arange(4, dtype=np.float32), name="w")
    fetches = [x * float(k) + tf.reduce_sum(w) for k in range(6)]
    sess = tf.Session()
    sess.run(w.initializer)

    def work(i: int) -> None:
        rng = np.random.default_rng(i)
        for n in range(300):
            k = (i + n) % len(fetches)
            feed = rng.standard_normal(rng.integers(1, 50)).astype(np.float32)
            if n % 3 == 0:  # also several fetches at once, nested
                got = sess.run({"a": fetches[k], "b": [fetches[0], w]}, {x: feed})
                np.testing.assert_array_equal(got["a"], feed * np.float32(k) + np.float32(6))
                np.testing.assert_array_equal(got["b"][1], np.arange(4, dtype=np.float32))
            else:
                np.testing.assert_array_equal(sess.run(fetches[k], {x: feed}), feed * np.float32(k) + np.float32(6))

    _run_threads(6, work)


def test_locked_assign_add_from_8_threads_is_exact():
    # The vector is big enough for NumPy to release the GIL inside the add: only the lock keeps it exact.
    counter = tf.Variable(np.int64(0), name="counter")
    vector = tf.Variable(np.zeros(4096, np.int64), name="vector")
    inc = tf.group(counter.assign_add(np.int64(1), use_locking=True),
                   vector.assign_add(np.ones(4096, np.int64), use_locking=True))  # fmt: skip
    sess = tf.Session()
    sess.run(tf.global_variables_initializer())
    step = sess.make_callable(inc)

    def work(i: int) -> None:
        for _ in range(10_000):
            step()

    _run_threads(8, work)
    assert sess.run(counter) == 80_000
    v = sess.run(vector)
    assert v.min() == v.max() == 80_000


@pytest.mark.parametrize("fmt", ["tf", "safetensors"])
def test_saves_during_assigns_hold_values_the_variables_really_had(tmp_path, fmt):
    shape = (256, 512)
    names = ["a", "b", "c"]
    variables = {n: tf.Variable(tf.zeros(shape), name=n) for n in names}
    value = tf.placeholder(tf.float32, shape)
    assigns = {n: v.assign(value) for n, v in variables.items()}
    saver = tf.train.Saver(list(variables.values()), format=fmt)
    stop = threading.Event()
    sess = tf.Session()
    sess.run(tf.global_variables_initializer())
    written: dict[str, set[float]] = {n: {0.0} for n in names}

    def assigner(i: int) -> None:
        name, k = names[i], 1
        run = sess.make_callable(assigns[name], [value])
        while not stop.is_set():
            val = float(1000 * i + k)
            written[name].add(val)  # recorded before the assign: a saved value must be in here
            run(np.full(shape, val, np.float32))
            k += 1

    threads = [threading.Thread(target=assigner, args=(i,)) for i in range(len(names))]
    for t in threads:
        t.start()
    try:
        saved: dict[str, set[float]] = {n: set() for n in names}
        for k in range(15):
            path = saver.save(sess, str(tmp_path / "m"), global_step=k, write_state=False)
            with tf.train.load_checkpoint(path) as reader:
                for n in names:
                    arr = reader.get_tensor(n)
                    assert arr.min() == arr.max(), f"torn tensor {n} in {path}: {arr.min()}..{arr.max()}"
                    assert float(arr[0, 0]) in written[n], f"{n} saved as {arr[0, 0]}, a value it never had"
                    saved[n].add(float(arr[0, 0]))
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert any(len(s) > 1 for s in saved.values())  # assigns really ran between the saves


def test_graph_construction_from_several_threads_gives_unique_names_and_a_consistent_graph():
    graph = tf.Graph()
    per_thread = 150

    def build(i: int) -> None:
        with graph.as_default():  # the default-graph stack is per thread, as in TF
            for k in range(per_thread):
                c = tf.constant(float(k), name="c")
                tf.add(c, c, name="sum")
                if k % 10 == 0:
                    tf.Variable(float(k), name="w")
                with tf.name_scope("scope"):
                    tf.constant(1.0, name="inner")

    _run_threads(6, build)
    ops = graph.get_operations()
    names = [op.name for op in ops]
    assert len(names) == len(set(names)), "duplicate op names"
    assert [op._id for op in ops] == list(range(len(ops)))
    by_type = {}
    for op in ops:
        by_type[op.type] = by_type.get(op.type, 0) + 1
        for t in op.inputs:
            assert graph.get_operation_by_name(t.op.name) is t.op
        assert graph.get_operation_by_name(op.name) is op
    assert by_type["Add"] == 6 * per_thread
    variables = graph.get_collection(tf.GraphKeys.GLOBAL_VARIABLES)
    assert len(variables) == 6 * per_thread // 10
    assert len({v.op.name for v in variables}) == len(variables)
    with tf.Session(graph=graph) as sess:
        sess.run(tf.variables_initializer(variables))
        assert sorted(sess.run(variables)) == sorted(float(k) for _ in range(6) for k in range(0, per_thread, 10))


def test_a_finalized_graph_refuses_ops_from_any_thread():
    graph = tf.Graph()
    graph.finalize()

    def build(i: int) -> None:
        with graph.as_default():
            with pytest.raises(RuntimeError, match="finalized"):
                tf.constant(1.0)

    _run_threads(4, build)
    assert graph.get_operations() == []


def test_runs_racing_a_close_get_results_or_a_clear_error():
    v = tf.Variable(np.ones(1000, np.float32), name="v")
    total = tf.reduce_sum(v)
    sess = tf.Session()
    sess.run(v.initializer)
    results: list[object] = []

    def work(i: int) -> None:
        for _ in range(500):
            try:
                results.append(float(sess.run(total)))
            except RuntimeError as e:
                assert "closed" in str(e)
                results.append("closed")
            except errors.FailedPreconditionError as e:  # the buffer was dropped mid-run
                assert "v" in e.message
                results.append("closed")
            if i == 0 and len(results) > 300:
                sess.close()

    _run_threads(4, work)
    assert set(results) <= {1000.0, "closed"} and 1000.0 in results and "closed" in results

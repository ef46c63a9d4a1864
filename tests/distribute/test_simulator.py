"""graphvar.distribute without Ray: the simulator, data-parallel steps and the parallel save."""

from __future__ import annotations

import os

import numpy as np
import pytest
from dist_models import assert_same_bits, batches, mlp_model, simulate

import graphvar as tf
from graphvar import errors
from graphvar.distribute import ParallelSaver, SimulatedCluster, owners, rank_ordered_mean, split_batch


def _single_process(steps: int, seed: int = 3) -> dict:
    """TF1's own loop: minimize on the whole batch in one Session."""
    g = tf.Graph()
    with g.as_default():
        g.seed = seed
        loss, opt = mlp_model()
        train = opt.minimize(loss, global_step=tf.train.get_global_step())
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for b in batches(steps):
                sess.run(train, {f"{k}:0": v for k, v in b.items()})
            return {v.op.name: sess.run(v) for v in tf.global_variables()}


def test_one_worker_is_tf1s_own_training_bit_for_bit():
    assert_same_bits(simulate(1, 4), _single_process(4))


@pytest.mark.parametrize("n", [2, 3, 4])
def test_replicas_stay_bit_identical(n):
    with SimulatedCluster(n) as sim:
        sim.build(mlp_model, seed=3)
        losses = [sim.step(b) for b in batches(4)]
        sim.check_replicas()
        assert losses[-1] < losses[0]
        assert int(sim.values()["global_step"]) == 4


def test_workers_see_their_shard_and_apply_the_rank_ordered_mean():
    b = batches(1)[0]
    with SimulatedCluster(2) as sim:
        sim.build(mlp_model, seed=3)
        assert sim.run(lambda w, k: (w.rank, w.num_workers, k), "k") == [(0, 2, "k"), (1, 2, "k")]
        shards = split_batch(b, 2)
        grads = [sim.workers[r].compute_gradients(shards[r])[1] for r in range(2)]
        before = sim.values()
        sim.step(b)
        after = sim.values()
    kernel = [v.op.name for v in sim.workers[0].variables].index("dense_1/kernel")
    mean = (grads[0][kernel] + grads[1][kernel]) / np.float32(2)
    assert rank_ordered_mean(grads)[kernel].tobytes() == mean.tobytes()
    assert not np.array_equal(before["dense_1/kernel"], after["dense_1/kernel"])


def test_split_batch_contiguous_in_rank_order():
    parts = split_batch({"x": np.arange(10), "lr": np.float32(0.1)}, 3)
    assert [p["x"].tolist() for p in parts] == [[0, 1, 2, 3], [4, 5, 6], [7, 8, 9]]
    assert all(p["lr"] == np.float32(0.1) for p in parts)
    with pytest.raises(errors.InvalidArgumentError, match="cannot be split over 3 workers"):
        split_batch({"x": np.arange(2)}, 3)
    with pytest.raises(errors.InvalidArgumentError, match="different batch sizes"):
        split_batch({"x": np.arange(4), "y": np.arange(5)}, 2)


def test_a_nondeterministic_model_fn_is_refused():
    state = np.random.RandomState(0)

    def drifting():
        v = tf.Variable(state.randn(3).astype(np.float32), name="v")
        return tf.reduce_sum(v * v), tf.train.GradientDescentOptimizer(0.1)

    with SimulatedCluster(2) as sim, pytest.raises(errors.InternalError, match="worker 1 and worker 0 disagree on v"):
        sim.build(drifting)


def test_owners_round_robin_and_by_ps_task():
    assert owners(5, 2) == [0, 1, 0, 1, 0]
    assert owners(2, 4) == [0, 1]
    devices = ["/job:ps/task:1", "", "/job:ps/task:0", "/job:worker", "/job:ps/task:3"]
    assert owners(5, 2, devices) == [1, 0, 0, 1, 1]


def _ps_model():
    with tf.device(tf.train.replica_device_setter(ps_tasks=2)):
        return mlp_model()


def test_variables_on_ps_tasks_are_saved_one_shard_per_task(tmp_path):
    with SimulatedCluster(4) as sim:
        sim.build(_ps_model, seed=3)
        sim.step(batches(1)[0])
        tasks = {v.op.name: v.op.device for v in sim.workers[0].graph.get_collection("variables")}
        path = ParallelSaver().save(sim, str(tmp_path / "m"), write_meta_graph=False)
        want = sim.values()
    assert set(tasks.values()) == {"/job:ps/task:0", "/job:ps/task:1"}
    assert sorted(f for f in _files(tmp_path) if ".data-" in f) == ["m.data-00000-of-00002", "m.data-00001-of-00002"]
    with SimulatedCluster(3) as other:
        other.build(mlp_model, seed=0)  # no ps placement: the keys are the same
        ParallelSaver().restore(other, path)
        assert_same_bits(other.values(2), want)


def _files(d) -> list[str]:
    return sorted(os.listdir(d))


def test_parallel_save_restores_onto_other_worker_counts(tmp_path):
    with SimulatedCluster(4) as sim:
        sim.build(mlp_model, seed=3)
        for b in batches(3):
            sim.step(b)
        want = sim.values()
        saver = ParallelSaver(max_to_keep=2)
        paths = [saver.save(sim, str(tmp_path / "model.ckpt"), global_step=k) for k in range(3)]
    assert saver.last_checkpoints == paths[1:]
    assert tf.train.latest_checkpoint(str(tmp_path)) == paths[-1]
    assert not any(f.startswith("model.ckpt-0.") for f in _files(tmp_path))  # rotated out, meta graph too
    assert [f for f in _files(tmp_path) if f.startswith("model.ckpt-2.data")] == [
        f"model.ckpt-2.data-0000{k}-of-00004" for k in range(4)
    ]
    for n in (1, 2, 3):
        with SimulatedCluster(n) as other:
            other.build(mlp_model, seed=99)  # other initial values: the restore replaces them all
            ParallelSaver().restore(other, paths[-1])
            assert_same_bits(other.values(n - 1), want)
    reader = tf.train.NewCheckpointReader(paths[-1])
    np.testing.assert_array_equal(reader.get_tensor("emb"), np.concatenate([want["emb/part_0"], want["emb/part_1"]]))


def test_plain_saver_reads_a_parallel_save(tmp_path):
    with SimulatedCluster(3) as sim:
        sim.build(mlp_model, seed=3)
        sim.step(batches(1)[0])
        want = sim.values()
        path = ParallelSaver().save(sim, str(tmp_path / "m"))
    g = tf.Graph()
    with g.as_default():
        mlp_model()
        with tf.Session() as sess:
            tf.train.Saver().restore(sess, path)  # no slots in this graph: the Saver takes what it names
            got = {v.op.name: sess.run(v) for v in tf.global_variables()}
    for k, v in got.items():
        np.testing.assert_array_equal(v, want[k])


class _Boom(RuntimeError):
    pass


def _raise(_worker):
    raise _Boom("injected")


@pytest.mark.parametrize("point", ["begin_shard", "write_tensor:0", "write_tensor:2", "finish_shard"])
@pytest.mark.parametrize("rank", [0, 3])
def test_a_failed_writer_aborts_and_keeps_the_previous_checkpoint(tmp_path, point, rank):
    with SimulatedCluster(4) as sim:
        sim.build(mlp_model, seed=3)
        saver = ParallelSaver()
        first = saver.save(sim, str(tmp_path / "m"), global_step=1)
        before = _files(tmp_path)
        want = sim.values()
        sim.step(batches(1)[0])
        sim.on(rank, point, _raise)
        with pytest.raises(_Boom):
            saver.save(sim, str(tmp_path / "m"), global_step=2)
        assert _files(tmp_path) == before  # no shard, temporary or state change left behind
        with pytest.raises(_Boom):
            saver.save(sim, str(tmp_path / "m"), global_step=1)  # over the previous one: still intact
        assert _files(tmp_path) == before
        assert tf.train.latest_checkpoint(str(tmp_path)) == first
        sim.on(rank, point, None)
        ParallelSaver().restore(sim, first)
        assert_same_bits(sim.values(), want)


def test_save_before_build_and_missing_checkpoint(tmp_path):
    with SimulatedCluster(2) as sim:
        with pytest.raises(ValueError, match="cluster.build"):
            ParallelSaver().save(sim, str(tmp_path / "m"))
        sim.build(mlp_model)
        with pytest.raises(ValueError, match="not a valid checkpoint"):
            ParallelSaver().restore(sim, str(tmp_path / "nothing"))

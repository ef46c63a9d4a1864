"""graphvar.distribute.Cluster on a real Ray cluster (one per test session: conftest.ray_session).

Actors are costly on a 2-core box (~2 s each), so one module-wide Cluster is resized as the
tests go: 4 actors, then 3 after a writer dies, then 2 after a worker dies mid-step.
"""

from __future__ import annotations

import json
import os
import subprocess
import textwrap

import numpy as np
import pytest
from dist_models import TF_PYTHON, assert_same_bits, batches, die, mlp_model, simulate, whoami

import graphvar as tf
from graphvar import errors

pytestmark = pytest.mark.ray


@pytest.fixture(scope="module")
def cluster(ray_session):
    from graphvar.distribute import Cluster

    c = Cluster(4)
    yield c
    c.shutdown()


@pytest.fixture(scope="module")
def ckpt_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("ray_ckpt")


def _ready(cluster, n: int) -> None:
    if cluster.num_workers != n or cluster.dead:
        cluster.restart(n)
    cluster.build(mlp_model, seed=3)


def test_4_actors_stay_bit_identical_and_equal_the_simulator(cluster):
    _ready(cluster, 4)
    for b in batches(3):
        cluster.step(b)
    cluster.check_replicas()
    assert_same_bits(cluster.values(3), simulate(4, 3))


def test_run_reaches_every_actor_of_an_attached_cluster(cluster):
    assert not cluster._owns_ray  # ray was already initialized: attached, shutdown leaves Ray running
    got = cluster.run(whoami)
    assert [g[:2] for g in got] == [(r, 4) for r in range(4)]
    assert len({g[2] for g in got}) == 4 and [g[2] for g in got] == cluster.pids


def test_actors_that_cannot_be_placed_time_out(ray_session):
    from graphvar.distribute import Cluster

    with pytest.raises(errors.UnavailableError, match=r"workers \[0\] of 1 did not start within 1 s .*num_cpus"):
        Cluster(1, resources_per_worker={"CPU": 64}, start_timeout_s=1)


_TF_READS = """
import json, sys
import numpy as np
import tensorflow as tf
r = tf.compat.v1.train.NewCheckpointReader(sys.argv[1])
print(json.dumps({k: np.asarray(r.get_tensor(k)).tolist() for k in r.get_variable_to_shape_map()}))
"""


def _tf_reads(path: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    proc = subprocess.run([TF_PYTHON, "-c", textwrap.dedent(_TF_READS), path], capture_output=True, text=True,
                          env=env, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.splitlines()[-1])


def test_4_actor_save_survives_a_dying_writer_and_restores_onto_3(cluster, ckpt_dir):
    from graphvar.distribute import ParallelSaver, WorkerDiedError

    _ready(cluster, 4)
    for b in batches(2):
        cluster.step(b)
    want = cluster.values()
    saver = ParallelSaver()
    path = saver.save(cluster, str(ckpt_dir / "model.ckpt"), global_step=2)
    assert len([f for f in os.listdir(ckpt_dir) if ".data-" in f]) == 4
    if os.path.exists(TF_PYTHON):  # TensorFlow reads the merged 4-shard checkpoint as we do
        ours = tf.train.NewCheckpointReader(path)
        for key, value in _tf_reads(path).items():
            np.testing.assert_array_equal(np.asarray(value, ours.get_tensor(key).dtype), ours.get_tensor(key))
    before = sorted(os.listdir(ckpt_dir))
    cluster.step(batches(1, seed=1)[0])
    cluster.on(2, "write_tensor:1", die)
    with pytest.raises(WorkerDiedError, match=r"worker 2 of 4 \(Ray actor .*\) died during write_shard") as e:
        saver.save(cluster, str(ckpt_dir / "model.ckpt"), global_step=3)
    assert e.value.rank == 2
    assert sorted(os.listdir(ckpt_dir)) == before  # the other shards and the dead writer's files removed
    assert tf.train.latest_checkpoint(str(ckpt_dir)) == path
    cluster.restart(3)
    saver.restore(cluster, path)
    assert_same_bits(cluster.values(2), want)


def test_worker_killed_mid_step_is_named_and_training_restarts_on_2(cluster, ckpt_dir):
    from graphvar.distribute import ParallelSaver, WorkerDiedError

    path = tf.train.latest_checkpoint(str(ckpt_dir))  # the 4-actor save
    assert path is not None
    want = tf.train.NewCheckpointReader(path).get_tensor("dense/kernel")
    _ready(cluster, 3)
    cluster.on(1, "compute_gradients", die)
    with pytest.raises(WorkerDiedError, match=r"worker 1 of 3 .* died during compute_gradients"):
        cluster.step(batches(1)[0])
    with pytest.raises(errors.FailedPreconditionError, match="worker 1 of 3 died earlier; call cluster.restart"):
        cluster.step(batches(1)[0])
    cluster.restart(2)
    ParallelSaver().restore(cluster, path)
    np.testing.assert_array_equal(cluster.values(1)["dense/kernel"], want)
    cluster.build(mlp_model, seed=3)  # 2 actors from scratch equal the 2-worker simulator
    for b in batches(3):
        cluster.step(b)
    cluster.check_replicas()
    assert_same_bits(cluster.values(1), simulate(2, 3))

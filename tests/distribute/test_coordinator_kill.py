"""A save killed at 10 points (a writer or the coordinator; simulated workers, so one process dies):
the previous checkpoint restores, and resuming (the next save) leaves no file behind."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from dist_models import assert_same_bits, batches, mlp_model, simulate

import graphvar as tf
from graphvar.distribute import ParallelSaver, SimulatedCluster

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
CHILD = os.path.join(HERE, "coordinator_kill_child.py")
# writers: opening, mid-write, closing, renaming a finished shard; coordinator: the merge's first and a middle
# data rename, the merged index's rename (the commit point), the meta graph, the state file
POINTS = ["worker:0:begin_shard", "worker:1:write_tensor:0", "worker:3:write_tensor:2", "worker:2:finish_shard",
          "replace:.shard-00001-of-00004", "replace:m-2.data-00000-of-00004", "replace:m-2.data-00002-of-00004",
          "replace:m-2.index", "replace:m-2.meta", "state"]  # fmt: skip


@pytest.fixture(scope="module")
def expected():
    return simulate(4, 1), simulate(4, 2)


def _restored(path: str) -> dict:
    with SimulatedCluster(1) as one:
        one.build(mlp_model, seed=0)
        ParallelSaver().restore(one, path)
        return one.values()


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="needs /proc to prove a dead writer's temporaries stale")
@pytest.mark.parametrize("point", POINTS)
def test_killed_save_keeps_the_previous_checkpoint_and_resumes_clean(tmp_path, point, expected):
    step1, step2 = expected
    env = {**os.environ, "PYTHONPATH": REPO}
    proc = subprocess.run([sys.executable, CHILD, str(tmp_path), point], capture_output=True, text=True, env=env,
                          timeout=120)  # fmt: skip
    assert proc.stdout.splitlines() == ["saved 1"], proc.stdout + proc.stderr[-2000:]
    assert proc.returncode != 0
    d = str(tmp_path)
    assert_same_bits(_restored(os.path.join(d, "m-1")), step1)  # the previous checkpoint is intact
    latest = tf.train.latest_checkpoint(d)
    assert latest in (os.path.join(d, "m-1"), os.path.join(d, "m-2"))
    assert_same_bits(_restored(latest), step1 if latest.endswith("m-1") else step2)
    with SimulatedCluster(4) as sim:  # resume from the latest checkpoint and save step 2 again
        sim.build(mlp_model, seed=3)
        ParallelSaver().restore(sim, latest)
        if latest.endswith("m-1"):
            sim.step(batches(2)[1])
        ParallelSaver().save(sim, os.path.join(d, "m"), global_step=2)
    names = sorted(os.listdir(d))
    want = ["checkpoint"] + sorted(
        [f"m-{s}.index" for s in (1, 2)] + [f"m-{s}.meta" for s in (1, 2)]
        + [f"m-{s}.data-0000{k}-of-00004" for s in (1, 2) for k in range(4)]
    )  # fmt: skip
    assert names == want
    assert_same_bits(_restored(os.path.join(d, "m-2")), step2)

"""Kill test: SIGKILL a training process at random moments and check that no checkpoint is lost.

A child process trains (``assign_add(1)`` on a few variables and on ``global_step``, so after
step N every element of every variable equals N) and saves after every step twice: with
``global_step`` and ``max_to_keep=3``, and over one fixed prefix (``overwrite.ckpt``, no
``global_step``: the TF1 tutorial pattern), printing each returned prefix (stdout flushed).
Each new child resumes from ``latest_checkpoint``. While the child runs, the parent restores
``overwrite.ckpt`` again and again (a reader racing the writer); every restore must give one
whole step (or, before the first save, a NotFoundError), never a DataLossError. After each
SIGKILL the parent checks:

- ``latest_checkpoint`` exists (once any save returned) and restores through ``Saver.restore``;
- every variable in it holds the same step, the one in its name;
- it is no older than the last save that returned (the last line the child printed);
- every checkpoint listed in the state file restores and is consistent the same way;
- ``overwrite.ckpt`` (and its state file) restores to a whole step no older than its last returned save;
- temporaries of killed saves do not pile up: once a child has saved, only its own remain (at most 3).

Usage::

    .venv/bin/python ci/kill_test.py --kills 40 --seed 1       # long version (ci/README.md)
    .venv/bin/python ci/kill_test.py --child DIR               # the child (started by the parent)

The bounded version in the normal suite is ``tests/train/test_kill_during_save.py``.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

import numpy as np  # noqa: E402

import graphvar as tf  # noqa: E402
from graphvar.checkpoint.atomic import temp_owner  # noqa: E402

SHAPE = (128, 1024)  # 512 KiB float32: a save takes a few ms, so kills land inside saves
NUM_VARS = 3
PREFIX = "model.ckpt"
OVERWRITE = "overwrite.ckpt"
OVERWRITE_STATE = "checkpoint_overwrite"


def build() -> tuple[list, object, object, object]:
    """The model of child and parent: NUM_VARS float32 variables, global_step, a train op, a Saver."""
    weights = [tf.Variable(tf.zeros(SHAPE), name=f"layer{i}/w") for i in range(NUM_VARS)]
    step = tf.Variable(np.int64(0), name="global_step")
    train = tf.group(*[w.assign_add(tf.ones(SHAPE)) for w in weights], step.assign_add(np.int64(1)))
    return weights, step, train, tf.train.Saver(max_to_keep=3)


def child(directory: str) -> None:
    """Trains and saves forever; prints each prefix once its save has returned."""
    weights, step, train, saver = build()
    sess = tf.Session()
    latest = tf.train.latest_checkpoint(directory)
    if latest is None:
        sess.run(tf.global_variables_initializer())
    else:
        saver.restore(sess, latest)
        state = tf.train.get_checkpoint_state(directory)
        saver.recover_last_checkpoints(state.all_model_checkpoint_paths)
    overwriter = tf.train.Saver(max_to_keep=1)  # its own list of checkpoints: one prefix, rewritten in place
    run_train = sess.make_callable(train)
    while True:
        run_train()
        path = saver.save(sess, os.path.join(directory, PREFIX), global_step=step)
        print(path, flush=True)
        overwriter.save(sess, os.path.join(directory, OVERWRITE), latest_filename=OVERWRITE_STATE)
        print(f"{OVERWRITE} {int(sess.run(step))}", flush=True)


def step_of(prefix: str) -> int:
    return int(prefix.rsplit("-", 1)[1])


def saves(printed: list[str], overwrite: bool) -> list[str]:
    return [p for p in printed if p.startswith(OVERWRITE) == overwrite]


class Checker:
    """Restores checkpoints in the parent through the same model and checks them."""

    def __init__(self) -> None:
        self.graph = tf.Graph()
        with self.graph.as_default():
            self.weights, self.step, _, self.saver = build()
        self.sess = tf.Session(graph=self.graph)

    def check(self, prefix: str, want: int | None = None) -> int:
        """Restores ``prefix``; asserts every variable holds one step (the one in its name, if it
        has one); returns it."""
        self.saver.restore(self.sess, prefix)
        values = self.sess.run([self.step] + self.weights)
        want = int(values[0]) if want is None else want
        assert int(values[0]) == want, f"{prefix}: global_step {values[0]} != {want}"
        for w, v in zip(self.weights, values[1:]):
            assert v.min() == v.max() == want, f"{prefix}: {w.op.name} holds {v.min()}..{v.max()}, not {want}"
        return want


class Child:
    """A running child and the prefixes it has printed (read by a thread)."""

    def __init__(self, directory: str) -> None:
        env = {**os.environ, "PYTHONPATH": REPO + os.pathsep + os.environ.get("PYTHONPATH", "")}
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--child", directory],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
        )
        self.printed: list[str] = []
        self.saved = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.printed.append(line.strip())
            self.saved.set()

    def kill(self) -> str:
        """SIGKILLs the child; returns its stderr (empty unless it failed by itself)."""
        alive = self.proc.poll() is None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self._reader.join(10)
        err = self.proc.stderr.read()
        self.proc.stdout.close()
        self.proc.stderr.close()
        return "" if alive else err or f"child exited by itself with {self.proc.returncode}"


def temps(directory: str) -> list[tuple[int, str]]:
    return [(owner[1], n) for n in os.listdir(directory) if (owner := temp_owner(n))]


def race_restores(directory: str, checker: Checker, seconds: float) -> int:
    """Restores the overwritten prefix for ``seconds`` while the child rewrites it; returns how
    many restores succeeded. Each must hold one whole step; the only error allowed is "not there yet"."""
    prefix, done, end = os.path.join(directory, OVERWRITE), 0, time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            checker.check(prefix)
            done += 1
        except ValueError as e:  # Saver.restore: "not a valid checkpoint" (no save yet)
            assert "not a valid checkpoint" in str(e), e
            time.sleep(0.002)
    return done


def check_overwrite(directory: str, checker: Checker, last_returned: int) -> None:
    """The overwritten prefix and its state file: a whole step, no older than the last returned save."""
    latest = tf.train.latest_checkpoint(directory, OVERWRITE_STATE)
    if last_returned < 0 and latest is None:
        return
    assert latest == os.path.join(directory, OVERWRITE), f"{OVERWRITE_STATE} names {latest}"
    got = checker.check(latest)
    assert got >= last_returned, f"{OVERWRITE} holds step {got}, older than its last returned save {last_returned}"


def kill_once(directory: str, rng: random.Random, checker: Checker, last: tuple[int, int]) -> tuple[tuple, int, int]:
    """Starts a child, kills it at a random moment (restoring the overwritten prefix meanwhile),
    checks the directory.

    ``last`` and the first value returned: the steps of the last returned global_step save and
    overwrite. Also returns the saves this child made and the step of latest_checkpoint.
    """
    child_proc = Child(directory)
    try:
        if rng.random() < 0.2:
            time.sleep(rng.uniform(0.0, 0.5))  # sometimes during start-up or restore
        else:
            assert child_proc.saved.wait(30), "child made no save in 30 s"
            race_restores(directory, checker, rng.uniform(0.0, 0.15))
    finally:
        err = child_proc.kill()
    assert not err, f"child failed on its own:\n{err}"
    last_returned, last_overwrite = last
    if saves(child_proc.printed, overwrite=True):
        last_overwrite = int(saves(child_proc.printed, overwrite=True)[-1].split()[1])
    check_overwrite(directory, checker, last_overwrite)
    printed = saves(child_proc.printed, overwrite=False)
    if printed:
        last_returned = step_of(printed[-1])
    latest = tf.train.latest_checkpoint(directory)
    if last_returned < 0:
        assert latest is None or checker.check(latest, step_of(latest)) >= 0
        return (last_returned, last_overwrite), 0, -1
    assert latest is not None, f"no latest checkpoint although step {last_returned} was saved"
    latest_step = checker.check(latest, step_of(latest))
    assert latest_step >= last_returned, f"latest {latest} is older than the last returned save {last_returned}"
    state = tf.train.get_checkpoint_state(directory)
    assert state.all_model_checkpoint_paths[-1] == latest
    assert 1 <= len(state.all_model_checkpoint_paths) <= 3, state.all_model_checkpoint_paths
    for path in state.all_model_checkpoint_paths:
        checker.check(path, step_of(path))
    left = temps(directory)
    if child_proc.printed:  # its first save cleaned up every earlier child's temporaries
        assert all(pid == child_proc.proc.pid for pid, _ in left), f"stale temporaries left: {left}"
    assert len(left) <= 3 * (1 + (not child_proc.printed)), f"temporaries pile up: {left}"
    return (last_returned, last_overwrite), len(child_proc.printed), latest_step


def run(directory: str, kills: int, seed: int, log=None) -> dict:
    """Kills ``kills`` children in ``directory``; returns a summary (raises AssertionError on a failure)."""
    rng, checker = random.Random(seed), Checker()
    last, total, killed_mid_run = (-1, -1), 0, 0
    for k in range(kills):
        last, n, latest = kill_once(directory, rng, checker, last)
        total += n
        killed_mid_run += latest > last[0]  # the kill fell between the state file update and the print
        if log:
            log(f"kill {k + 1}/{kills}: last returned save {last[0]} (overwrite {last[1]}), latest {latest}, "
                f"{n} saves by this child")  # fmt: skip
    indexes = [n for n in os.listdir(directory) if n.endswith(".index")]
    return {"kills": kills, "saves": total, "last_step": last[0], "last_overwrite": last[1], "index_files": len(indexes),
            "temps_left": len(temps(directory)), "killed_after_state_update": killed_mid_run}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--child", metavar="DIR", help="run as the child process, saving into DIR")
    parser.add_argument("--kills", type=int, default=40)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--dir", help="checkpoint directory (default: a new temporary one)")
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    directory = args.dir or tempfile.mkdtemp(prefix="graphvar-kill-")
    print(f"kill test: {args.kills} kills, seed {args.seed}, directory {directory}", flush=True)
    start = time.perf_counter()
    summary = run(directory, args.kills, args.seed, log=lambda s: print(s, flush=True))
    print(f"OK in {time.perf_counter() - start:.1f} s: {summary}")


if __name__ == "__main__":
    main()

"""Bounded kill test: 5 SIGKILLs of a child that trains and saves in a loop (long version: ci/kill_test.py)."""

from __future__ import annotations

import importlib.util
import os

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def _load_kill_test():
    spec = importlib.util.spec_from_file_location("kill_test", os.path.join(REPO, "ci", "kill_test.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


kill_test = _load_kill_test()


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="needs SIGKILL and /proc")
def test_kills_during_training_never_lose_or_mix_a_checkpoint(tmp_path):
    summary = kill_test.run(str(tmp_path), kills=5, seed=20240607)
    assert summary["last_step"] > 0  # saves really happened between the kills
    # The next save cleans the killed saves' temporaries.
    checker = kill_test.Checker()
    latest = kill_test.tf.train.latest_checkpoint(str(tmp_path))
    checker.check(latest)
    checker.saver.save(checker.sess, os.path.join(str(tmp_path), "model.ckpt"), global_step=checker.step)
    assert kill_test.temps(str(tmp_path)) == []


def test_checker_catches_a_mixed_checkpoint(tmp_path):
    """The check itself can fail: a checkpoint whose variables come from two steps is caught."""
    checker, np = kill_test.Checker(), kill_test.np
    checker.step.load(7, checker.sess)
    for k, w in enumerate(checker.weights):
        w.load(np.full(kill_test.SHAPE, 6 if k == 1 else 7, np.float32), checker.sess)
    path = checker.saver.save(checker.sess, os.path.join(str(tmp_path), "model.ckpt"), global_step=7)
    with pytest.raises(AssertionError, match="layer1/w"):
        checker.check(path)

"""The `checkpoint` state file: TF's text format, relative paths, atomic updates."""

from __future__ import annotations

import os

import numpy as np
import pytest

from graphvar.checkpoint import BundleWriter
from graphvar.train import checkpoint_state as cs

FIXTURE_DIR = os.path.join(os.path.dirname(__file__), "..", "fixtures", "tf_checkpoints", "saver")


def _save(prefix: str) -> None:
    with BundleWriter(prefix) as w:
        w.add("x", np.ones(2))
        w.finish()


def test_reads_tf_written_state_file():
    state = cs.get_checkpoint_state(FIXTURE_DIR)
    assert state.model_checkpoint_path == os.path.join(FIXTURE_DIR, "model.ckpt-2")
    assert state.all_model_checkpoint_paths == [os.path.join(FIXTURE_DIR, f"model.ckpt-{i}") for i in (1, 2)]
    assert cs.latest_checkpoint(FIXTURE_DIR) == os.path.join(FIXTURE_DIR, "model.ckpt-2")


def test_text_matches_tf_bytes(tmp_path):
    cs.update_checkpoint_state(str(tmp_path), "model.ckpt-2", ["model.ckpt-1"])
    with open(os.path.join(FIXTURE_DIR, "checkpoint"), "rb") as want:
        assert (tmp_path / "checkpoint").read_bytes() == want.read()


def test_round_trip_with_timestamps_and_escapes(tmp_path):
    d = str(tmp_path)
    odd = os.path.join(d, 'we"ird\\na\tme é')
    cs.update_checkpoint_state(d, odd, [os.path.join(d, "a"), odd], all_model_checkpoint_timestamps=[1.5, 1700000000.25],
                               last_preserved_timestamp=3.0)  # fmt: skip
    state = cs.get_checkpoint_state(d)
    assert state.model_checkpoint_path == odd
    assert state.all_model_checkpoint_paths == [os.path.join(d, "a"), odd]
    assert state.all_model_checkpoint_timestamps == [1.5, 1700000000.25]
    assert state.last_preserved_timestamp == 3.0
    with pytest.raises(ValueError, match="timestamps"):
        cs.update_checkpoint_state(d, "x", ["a", "b"], all_model_checkpoint_timestamps=[1.0])


def test_relative_paths(tmp_path):
    d = str(tmp_path)
    cs.update_checkpoint_state(d, os.path.join(d, "m-2"), [os.path.join(d, "m-1")], save_relative_paths=True)
    text = (tmp_path / "checkpoint").read_text()
    assert 'model_checkpoint_path: "m-2"' in text and d not in text
    assert cs.get_checkpoint_state(d).all_model_checkpoint_paths == [os.path.join(d, "m-1"), os.path.join(d, "m-2")]
    cs.update_checkpoint_state(d, os.path.join(d, "m-3"))  # absolute stays absolute by default
    assert f'"{d}/m-3"' in (tmp_path / "checkpoint").read_text()


def test_latest_checkpoint_absent_or_missing_files(tmp_path, caplog):
    d = str(tmp_path)
    assert cs.get_checkpoint_state(d) is None and cs.latest_checkpoint(d) is None
    cs.update_checkpoint_state(d, os.path.join(d, "gone"))
    assert cs.latest_checkpoint(d) is None  # state names a checkpoint whose files are missing
    _save(os.path.join(d, "m-1"))
    cs.update_checkpoint_state(d, os.path.join(d, "m-1"), latest_filename="other")
    assert cs.latest_checkpoint(d, latest_filename="other") == os.path.join(d, "m-1")
    assert cs.checkpoint_exists(os.path.join(d, "m-1")) and cs.checkpoint_exists(os.path.join(d, "m-*"))
    assert not cs.checkpoint_exists(os.path.join(d, "m-2"))


@pytest.mark.parametrize(
    "text",
    [
        'model_checkpoint_path: "a"\nbogus_field: "b"\n',
        "model_checkpoint_path: 'a\n",
        "model_checkpoint_path: 3\n",
        'model_checkpoint_path "a"\n',
        "__import__('os')\n",
        'model_checkpoint_path: "\\q"\n',
    ],  # fmt: skip
)
def test_garbage_state_reads_as_none(tmp_path, text):
    (tmp_path / "checkpoint").write_text(text)
    assert cs.get_checkpoint_state(str(tmp_path)) is None


def test_empty_model_path_is_value_error(tmp_path):
    (tmp_path / "checkpoint").write_text('all_model_checkpoint_paths: "a"  # comment\n')
    with pytest.raises(ValueError, match="Invalid checkpoint state"):
        cs.get_checkpoint_state(str(tmp_path))


def test_update_is_atomic(tmp_path, monkeypatch):
    d = str(tmp_path)
    cs.update_checkpoint_state(d, "m-1")
    before = (tmp_path / "checkpoint").read_bytes()

    def fail(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError):
        cs.update_checkpoint_state(d, "m-2")
    assert (tmp_path / "checkpoint").read_bytes() == before and os.listdir(d) == ["checkpoint"]
    with pytest.raises(RuntimeError, match="conflicts"):
        monkeypatch.undo()
        cs.update_checkpoint_state(d, os.path.join(d, "checkpoint"))

"""The benchmark harness works end to end on tiny sizes (graphvar only). No timing assertions."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

from benchmarks.harness import Goal, Row, Stat, measure  # noqa: E402
from benchmarks.report import markdown_table, table_lines  # noqa: E402


def test_suite_runs_tiny_cases_and_writes_json(tmp_path):
    out = tmp_path / "results.json"
    cases = ["run_variable", "init_zeros", "saver", "saver_memory", "gpu"]
    cmd = [sys.executable, "-m", "benchmarks", "--smoke", "--graphvar-only", "--json", str(out),
           "--tmpdir", str(tmp_path)] + [a for c in cases for a in ("--only", c)]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "Session.run fetching one variable" in proc.stdout
    doc = json.loads(out.read_text())
    rows = {r["figure"]: r for r in doc["rows"]}
    assert {r["case"] for r in doc["rows"]} == set(cases)
    for r in doc["rows"]:
        if r["case"] == "gpu":
            assert isinstance(r["graphvar"], str) or r["graphvar_display"] is not None
            continue
        assert isinstance(r["graphvar"], dict), r  # measured, not an error string
        assert r["graphvar"]["median"] >= 0 and r["graphvar"]["min"] <= r["graphvar"]["median"]
    run_row = rows["Session.run fetching one variable (cached plan)"]
    assert run_row["refs"]["tf"].startswith("skipped")
    assert run_row["goals"] == [{"text": "≥ 20× faster than TF", "met": None}]
    save = next(r for r in doc["rows"] if r["figure"].startswith("Saver save"))
    assert isinstance(save["refs"]["limit: plain write+fsync"], dict)
    assert doc["machine"]["cores"] >= 1


def test_measure_interleaves_and_passes_missing_through():
    calls = []
    stats = measure({"a": lambda: calls.append("a"), "b": lambda: calls.append("b"), "tf": "missing: tf"},
                    reps=3, number=2, warmup=0)  # fmt: skip
    assert calls == ["a", "a", "b", "b"] * 3
    assert stats["tf"] == "missing: tf" and stats["a"].reps == 3


@pytest.mark.parametrize(("kind", "gv", "ref", "ratio"), [("time", 1.0, 4.0, 4.0), ("rate", 2.0, 1.0, 0.5)])
def test_ratio_is_graphvars_advantage(kind, gv, ref, ratio):
    row = Row("x", "x", kind, Stat(gv, gv), {"tf": Stat(ref, ref)}, amount=1e6, unit="M/s",
              goals=[Goal("tf", ">=", 1.0, "≥ TF")])  # fmt: skip
    assert row.ratio("tf") == pytest.approx(ratio)
    assert row.goals[0].check(row) is (ratio >= 1.0)
    assert ("met" if ratio >= 1 else "NOT MET") in table_lines([row])[1]
    assert markdown_table([row]).count("\n") == 2


def test_memory_goal_is_absolute():
    row = Row("m", "peak", "memory", Stat(10 * 2**20, 10 * 2**20), {"tf": "missing: tensorflow"},
              goals=[Goal(None, "<=", 64, "≤ 64 MiB")])  # fmt: skip
    assert row.goals[0].check(row) is True
    assert row.ratio("tf") is None


def test_train_case_runs_without_tensorflow(tmp_path):
    out = tmp_path / "results.json"
    cmd = [sys.executable, "-m", "benchmarks", "--smoke", "--graphvar-only", "--json", str(out),
           "--tmpdir", str(tmp_path), "--only", "train"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(out.read_text())["rows"]
    assert [r["case"] for r in rows] == ["train"] * 4
    steps, overhead = rows[0], rows[1]
    assert isinstance(steps["graphvar"], dict) and steps["refs"]["tf"].startswith("skipped")
    assert steps["goals"] == [{"text": "≥ 1.5× TF's steps/s", "met": None}]
    assert isinstance(overhead["graphvar"], dict) and "MatMul" in overhead["note"]

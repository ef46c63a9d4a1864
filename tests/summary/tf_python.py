"""Runs a snippet under a TensorFlow venv's Python in a subprocess (PYTHONPATH unset), if one exists."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

_CANDIDATES = (os.environ.get("GRAPHVAR_TF_PYTHON", ""), "/work/tfvenv/bin/python", "/tmp/tfvenv/bin/python")


def tf_python() -> str:
    for path in _CANDIDATES:
        if path and os.access(path, os.X_OK):
            return path
    pytest.skip("no TensorFlow venv (set GRAPHVAR_TF_PYTHON to its python)")


def run_tf(code: str, *args: str) -> object:
    """Runs `code` (which prints one JSON document last) with TensorFlow; returns the parsed JSON."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    proc = subprocess.run([tf_python(), "-c", code, *args], capture_output=True, text=True, env=env, timeout=300,
                          cwd="/")  # fmt: skip
    if proc.returncode != 0:
        raise AssertionError(f"TensorFlow snippet failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])
